#pragma once

#include "image/FileError.h"

namespace lucida {

// A failure to read or write an annotation file: names the file and says why.
class AnnotationError : public FileError {
public:
    using FileError::FileError;
};

}  // namespace lucida
