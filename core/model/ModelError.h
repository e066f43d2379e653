#pragma once

#include <stdexcept>
#include <string>

namespace lucida {

// A model that cannot be opened or run: names the file and says why.
class ModelError : public std::runtime_error {
public:
    ModelError(const std::string& path, const std::string& reason)
        : std::runtime_error(path + ": " + reason), path_(path), reason_(reason) {}
    const std::string& path() const { return path_; }
    const std::string& reason() const { return reason_; }

private:
    std::string path_;
    std::string reason_;
};

}  // namespace lucida
