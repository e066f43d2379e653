#pragma once

#include <stdexcept>
#include <string>

namespace lucida {

// A failure tied to one file: names it and says why. ImageError and ModelError are its kinds.
class FileError : public std::runtime_error {
public:
    FileError(std::string path, std::string reason)
        : std::runtime_error(path + ": " + reason),
          path_(std::move(path)),
          reason_(std::move(reason)) {}

    const std::string& path() const { return path_; }
    const std::string& reason() const { return reason_; }

private:
    std::string path_;
    std::string reason_;
};

}  // namespace lucida
