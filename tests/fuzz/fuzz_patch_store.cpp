// libFuzzer target: the analysis results store (patches.bin) read back by PatchStore::read, as
// the viewer and the CLI do before reusing stored patches. With LUCIDA_FUZZ_SEEDS=DIR set it first
// writes valid stores there (through PatchStore itself) as seeds, then exits.
#include "FuzzFile.h"
#include "analysis/PatchStore.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace {
const lucida::StoreLayout kLayout{"fuzz-analysis-key", 64, 3};

void writeSeeds(const std::string& dir) {
    std::filesystem::create_directories(dir);
    const int sides[][2] = {{7, 7}, {1, 1}, {3, 2}};
    for (int s = 0; s < 3; ++s) {
        lucida::PatchStore store(dir + "/store" + std::to_string(s) + ".bin", kLayout);
        std::vector<lucida::PatchOutcome> outcomes;
        store.openForWriting(outcomes);
        const int w = sides[s][0], h = sides[s][1];
        for (std::size_t i = 0; i < 6; ++i) {
            lucida::PatchOutcome o;
            o.done = true;
            o.probabilities = {0.25f, 0.25f, 0.5f};
            o.cam.assign(static_cast<std::size_t>(w * h), 0.1f * static_cast<float>(i));
            store.append(i * 7 % 64, o, w, h);
        }
        store.flush();
    }
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (const char* dir = std::getenv("LUCIDA_FUZZ_SEEDS")) {
        writeSeeds(dir);
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = fuzz::writeInput(data, size, ".bin");
    const lucida::PatchStore store(path, kLayout);
    std::vector<lucida::PatchOutcome> outcomes;
    try {
        const lucida::StoreReport report = store.read(outcomes);
        (void)report.describe(path);
    } catch (const std::runtime_error&) {
        // an unreadable file, named
    }
    return 0;
}
