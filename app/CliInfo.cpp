#include "CliInfo.h"

#include "image/ImageSource.h"

#include <nlohmann/json.hpp>

namespace lucida::cli {

int runInfo(const std::string& path, bool asJson, std::ostream& out) {
    const auto source = openImage(path);
    const ImageInfo& info = source->info();
    nlohmann::ordered_json j;
    j["path"] = info.path;
    j["format"] = info.format;
    j["width"] = info.width();
    j["height"] = info.height();
    j["pixel_format"] = info.pixelFormat == PixelFormat::Rgba8 ? "rgba8" : "gray16";
    j["slices"] = info.sliceCount;
    if (info.mppX) j["mpp_x"] = *info.mppX;
    if (info.mppY) j["mpp_y"] = *info.mppY;
    if (info.objectivePower) j["objective_power"] = *info.objectivePower;
    for (const Level& l : info.levels)
        j["levels"].push_back(
            {{"width", l.width}, {"height", l.height}, {"downsample", l.downsample}});
    for (const Window& w : info.windows)
        j["windows"].push_back({{"name", w.name}, {"centre", w.centre}, {"width", w.width}});
    j["associated_images"] = info.associatedImages;
    for (const auto& [k, v] : info.properties) j["properties"][k] = v;
    if (asJson) {
        out << j.dump(2) << "\n";
        return 0;
    }
    out << info.path << "\n  format: " << info.format << "\n  size: " << info.width() << " x "
        << info.height()
        << (info.sliceCount > 1 ? " x " + std::to_string(info.sliceCount) + " slices" : "") << "\n";
    if (info.mppX)
        out << "  pixel size: " << *info.mppX << " x " << info.mppY.value_or(*info.mppX) << " µm\n";
    if (info.objectivePower) out << "  objective power: " << *info.objectivePower << "x\n";
    for (std::size_t i = 0; i < info.levels.size(); ++i)
        out << "  level " << i << ": " << info.levels[i].width << " x " << info.levels[i].height
            << " (downsample " << info.levels[i].downsample << ")\n";
    for (const auto& name : info.associatedImages) out << "  associated image: " << name << "\n";
    for (const auto& [k, v] : info.properties) out << "  " << k << " = " << v << "\n";
    return 0;
}

}  // namespace lucida::cli
