#pragma once

#include <stdexcept>
#include <string>

namespace lucida {

// Every failure to open or read an image: names the file and says why.
class ImageError : public std::runtime_error {
public:
    ImageError(std::string path, std::string reason)
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
