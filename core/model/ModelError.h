#pragma once

#include "image/FileError.h"

namespace lucida {

// A model that cannot be opened or run: names the file and says why.
class ModelError : public FileError {
public:
    using FileError::FileError;
};

}  // namespace lucida
