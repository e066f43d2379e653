#include "HeatRasterFile.h"

#include <tiffio.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <stdexcept>

namespace lucida::ui {

namespace {

constexpr std::uint64_t kMaxCells = std::uint64_t{1} << 28;  // 1 GiB of floats
constexpr std::uintmax_t kMaxJsonBytes = 64u << 20;

[[noreturn]] void fail(const std::string& path, const std::string& why) {
    throw std::runtime_error(path + ": " + why);
}

void silence(const char*, const char*, va_list) {}

}  // namespace

FloatRaster readFloatRasterTiff(const std::string& path, double cellSize) {
    TIFFSetWarningHandler(silence);
    TIFFSetErrorHandler(silence);
    std::unique_ptr<TIFF, void (*)(TIFF*)> tif(TIFFOpen(path.c_str(), "r"), TIFFClose);
    if (!tif) fail(path, "not a TIFF file Lucida can open");
    std::uint32_t width = 0, height = 0;
    std::uint16_t samples = 1, bits = 0, format = SAMPLEFORMAT_UINT;
    TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &width);
    TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &height);
    TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetFieldDefaulted(tif.get(), TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLEFORMAT, &format);
    if (samples != 1 || bits != 32 || format != SAMPLEFORMAT_IEEEFP)
        fail(path, "not a one-sample float32 raster (as lucida-cli analyse writes)");
    if (width == 0 || height == 0 || std::uint64_t{width} * height > kMaxCells)
        fail(path, "raster size " + std::to_string(width) + "x" + std::to_string(height) +
                       " is empty or too large");
    FloatRaster r;
    r.width = int(width);
    r.height = int(height);
    r.cellSize = cellSize;
    r.values.assign(std::size_t{width} * height, std::numeric_limits<float>::quiet_NaN());
    if (TIFFIsTiled(tif.get())) {
        std::uint32_t tw = 0, th = 0;
        TIFFGetField(tif.get(), TIFFTAG_TILEWIDTH, &tw);
        TIFFGetField(tif.get(), TIFFTAG_TILELENGTH, &th);
        if (tw == 0 || th == 0 || std::uint64_t{tw} * th > (1u << 24)) fail(path, "bad tile size");
        std::vector<float> tile(std::size_t{tw} * th);
        for (std::uint32_t y = 0; y < height; y += th)
            for (std::uint32_t x = 0; x < width; x += tw) {
                if (TIFFReadTile(tif.get(), tile.data(), x, y, 0, 0) < 0)
                    fail(path,
                         "cannot read the tile at " + std::to_string(x) + "," + std::to_string(y));
                for (std::uint32_t j = 0; j < th && y + j < height; ++j)
                    for (std::uint32_t i = 0; i < tw && x + i < width; ++i)
                        r.values[std::size_t{y + j} * width + x + i] =
                            tile[std::size_t{j} * tw + i];
            }
    } else {
        if (std::uint64_t(TIFFScanlineSize64(tif.get())) != std::uint64_t{width} * 4)
            fail(path, "unexpected row size");
        for (std::uint32_t y = 0; y < height; ++y)
            if (TIFFReadScanline(tif.get(), r.values.data() + std::size_t{y} * width, y, 0) < 0)
                fail(path, "cannot read row " + std::to_string(y));
    }
    for (float& v : r.values)  // the writer stores unanalysed cells as 0
        if (!(v > 0)) v = std::numeric_limits<float>::quiet_NaN();
    return r;
}

AnalysisHeat readAnalysisHeat(const std::string& analysisJson, const std::string& layer) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto bytes = fs::file_size(analysisJson, ec);
    if (ec) fail(analysisJson, "cannot read: " + ec.message());
    if (bytes > kMaxJsonBytes) fail(analysisJson, "larger than an analysis summary can be");
    std::ifstream in(analysisJson, std::ios::binary);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
        fail(analysisJson, std::string("not JSON: ") + e.what());
    }
    if (layer != "cam" && layer != "probability")
        throw std::invalid_argument("--heat-layer must be cam or probability, not " + layer);
    AnalysisHeat heat;
    heat.cam = layer == "cam";
    try {
        const nlohmann::json& map = j.at(heat.cam ? "cam_map" : "probability_map");
        const std::string file = map.at("file").get<std::string>();
        if (file.empty()) fail(analysisJson, "has no " + layer + " map");
        const fs::path raster = fs::path(analysisJson).parent_path() / fs::path(file).filename();
        heat.raster = readFloatRasterTiff(raster.string(), map.at("cell_size").get<double>());
        heat.model = j.value("model", "");
        heat.method = j.value("method", "");
        heat.layer = j.value("layer", "");
        heat.className = j.value("explained_class_name", "");
    } catch (const nlohmann::json::exception& e) {
        fail(analysisJson, std::string("not an analysis summary: ") + e.what());
    }
    return heat;
}

}  // namespace lucida::ui
