// libFuzzer target: a torch.save file (zip or legacy pickle stream) through the torch-free
// reader that Model::open uses first: the layout (pickle, zip directory, every limit), then the
// bytes of every storage the state_dict uses (inflated, CRC-checked).
#include "model/ModelError.h"
#include "model/StateDictLayout.h"

#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const char* bytes = reinterpret_cast<const char*>(data);
    try {
        const lucida::StateDictLayout layout = lucida::readStateDictLayout("fuzz.pth", bytes, size);
        std::vector<char> used(layout.storages.size(), 0);
        for (const lucida::TensorLayout& t : layout.tensors) used[layout.views[t.view].storage] = 1;
        std::vector<char> scratch;
        for (std::size_t i = 0; i < layout.storages.size(); ++i) {
            if (!used[i]) continue;
            scratch.resize(layout.storages[i].bytes);
            lucida::readStorageBytes("fuzz.pth", bytes, size, layout, layout.storages[i],
                                     scratch.data());
        }
    } catch (const lucida::ModelError&) {
        // refused, naming the file: the expected outcome for almost every input
    }
    return 0;
}
