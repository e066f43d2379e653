#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lucida {

// What format detection may look at: the path, whether it is a folder, its size and first bytes.
struct FileProbe {
    std::string path;
    bool isDirectory = false;
    std::uintmax_t size = 0;
    std::vector<std::uint8_t> head;  // up to the first 4 KiB

    static FileProbe of(const std::string& path);  // throws ImageError when it cannot be read
    bool startsWith(const char* magic, std::size_t length, std::size_t offset = 0) const;
};

}  // namespace lucida
