#pragma once

#include "image/FileProbe.h"
#include "image/ImageSource.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lucida {

// One registered image format: how to recognise its content and how to open it.
struct ImageFormat {
    std::string name;
    std::vector<std::string> extensions;  // for file dialogs only; detection goes by content
    std::function<bool(const FileProbe&)> recognises;
    std::function<std::unique_ptr<ImageSource>(const FileProbe&)> open;
};

// The format table, in detection order. Adding a format is one line in ImageFormats.cpp.
const std::vector<ImageFormat>& imageFormats();

}  // namespace lucida
