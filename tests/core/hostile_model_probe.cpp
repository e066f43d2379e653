// The reader's child process for hostile_model_test: checks one model file with the torch-free
// reader (checkStateDictFile: the layout and every limit, then every storage read and
// CRC-checked) and prints "OK <n> tensors" or "REFUSED\t<what>" (exit code 0 or 3), then
// "SECONDS <s>" and "PEAK_KB <VmHWM>". Without LibTorch in the process, its peak memory is the
// reader's own.
#include "model/ModelError.h"
#include "model/StateDictLayout.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace {
// Peak resident memory of this process since its exec, in kB (/proc/self/status VmHWM). wait4's
// ru_maxrss cannot be used: posix_spawn's child starts in the parent's address space and the
// kernel keeps that (the test's) high-water mark across the exec.
long peakKilobytes() {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::atol(line + 6);
    std::fclose(f);
    return kb;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: hostile_model_probe FILE\n");
        return 2;
    }
    const auto start = std::chrono::steady_clock::now();
    int code = 0;
    try {
        std::printf("OK %zu tensors\n", lucida::checkStateDictFile(argv[1]));
    } catch (const lucida::FileError& e) {
        std::printf("REFUSED\t%s\n", e.what());
        code = 3;
    } catch (const std::exception& e) {
        std::printf("ERROR\t%s\n", e.what());
        code = 4;
    }
    std::printf("SECONDS %.3f\nPEAK_KB %ld\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                peakKilobytes());
    return code;
}
