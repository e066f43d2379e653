// libFuzzer target: the model sidecar (JSON) parser, readModelSpec.
#include "FuzzFile.h"
#include "model/ModelSpec.h"

#include <stdexcept>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = fuzz::writeInput(data, size, ".json");
    try {
        const lucida::ModelSpec spec = lucida::readModelSpec(path);
        (void)spec.classCount();
    } catch (const std::runtime_error&) {
        // refused, naming the file and the field
    }
    return 0;
}
