#pragma once

#include "image/FileError.h"

namespace lucida {

// Every failure to open or read an image: names the file and says why.
class ImageError : public FileError {
public:
    using FileError::FileError;
};

}  // namespace lucida
