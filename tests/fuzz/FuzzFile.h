#pragma once
// The fuzzers' input as a file (the readers under test take paths): rewritten for every input,
// one per process, removed at exit; in memory (/dev/shm) unless TMPDIR says otherwise, since
// writing to disk every input would be most of the time spent.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace fuzz {

inline const std::string& writeInput(const std::uint8_t* data, std::size_t size,
                                     const char* extension) {
    static const std::string path = [&] {
        const char* dir = std::getenv("TMPDIR");
        if (!dir) dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        std::string p = std::string(dir) + "/lucida-fuzz-" + std::to_string(::getpid()) + extension;
        static std::string removeAtExit;
        removeAtExit = p;
        std::atexit([] { std::remove(removeAtExit.c_str()); });
        return p;
    }();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();
    if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
    return path;
}

}  // namespace fuzz
