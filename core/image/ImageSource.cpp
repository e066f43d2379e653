#include "image/ImageSource.h"

#include "image/ImageError.h"
#include "image/ImageFormat.h"

#include <atomic>
#include <filesystem>
#include <fstream>

namespace lucida {

namespace {
std::atomic<std::uint64_t> nextSourceId{1};
}

std::optional<std::string> ImageInfo::property(const std::string& key) const {
    for (const auto& [k, v] : properties)
        if (k == key) return v;
    return std::nullopt;
}

ImageSource::ImageSource() : id_(nextSourceId.fetch_add(1)) {}

PixelBuffer ImageSource::readAssociatedImage(const std::string& name) const {
    throw ImageError(info().path, "no associated image named '" + name + "'");
}

std::vector<Window> ImageSource::windowsForSlice(int) const { return info().windows; }

FileProbe FileProbe::of(const std::string& path) {
    namespace fs = std::filesystem;
    FileProbe probe;
    probe.path = path;
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) throw ImageError(path, "no such file or folder");
    if (fs::is_directory(status)) {
        probe.isDirectory = true;
        return probe;
    }
    if (!fs::is_regular_file(status)) throw ImageError(path, "not a regular file");
    probe.size = fs::file_size(path, ec);
    if (ec) throw ImageError(path, "cannot read file size: " + ec.message());
    if (probe.size == 0) throw ImageError(path, "file is empty");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ImageError(path, "cannot open file for reading (permission denied?)");
    probe.head.resize(static_cast<std::size_t>(std::min<std::uintmax_t>(probe.size, 4096)));
    in.read(reinterpret_cast<char*>(probe.head.data()),
            static_cast<std::streamsize>(probe.head.size()));
    probe.head.resize(static_cast<std::size_t>(in.gcount()));
    return probe;
}

bool FileProbe::startsWith(const char* magic, std::size_t length, std::size_t offset) const {
    if (head.size() < offset + length) return false;
    return std::equal(magic, magic + length, head.begin() + static_cast<std::ptrdiff_t>(offset),
                      [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; });
}

std::unique_ptr<ImageSource> openImage(const std::string& path) {
    const FileProbe probe = FileProbe::of(path);
    for (const ImageFormat& format : imageFormats())
        if (format.recognises(probe)) return format.open(probe);
    if (probe.isDirectory) throw ImageError(path, "folder holds no DICOM series");
    throw ImageError(path, "unrecognised or unsupported image format");
}

std::vector<std::string> imageFormatNames() {
    std::vector<std::string> names;
    for (const auto& f : imageFormats()) names.push_back(f.name);
    return names;
}

std::vector<std::string> imageFileExtensions() {
    std::vector<std::string> all;
    for (const auto& f : imageFormats())
        for (const auto& e : f.extensions)
            if (std::find(all.begin(), all.end(), e) == all.end()) all.push_back(e);
    return all;
}

}  // namespace lucida
