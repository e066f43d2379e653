#include "analysis/AnalysisOutputs.h"

#include "cam/CamMaps.h"
#include "image/PyramidTiffWriter.h"
#include "io/AtomicFile.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

namespace lucida {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

void writeFloatPyramid(const std::string& path, const FloatRaster& raster,
                       std::optional<double> slideMpp) {
    PyramidTiffOptions options;
    options.tileSize = 256;
    if (slideMpp) options.micronsPerPixel = *slideMpp * raster.cellSize;
    options.aperioDescription = false;
    options.description = "Lucida analysis raster";
    PyramidTiffWriter writer(path, raster.width, raster.height, PyramidSampleType::Float32,
                             options);
    // Unanalysed cells are 0 in the file (viewers show NaN inconsistently); the JSON says which
    // patches were analysed.
    std::vector<float> rows(raster.values.size());
    std::transform(raster.values.begin(), raster.values.end(), rows.begin(),
                   [](float v) { return std::isnan(v) ? 0.0f : v; });
    writer.appendRows({rows.data(), raster.width, raster.height, raster.width * sizeof(float)});
    writer.finish();
}

// The same raster as 8-bit colours (jet; glass white) for OpenSlide and plain viewers, which do
// not read float TIFFs.
void writeHeatPyramid(const std::string& path, const FloatRaster& raster,
                      std::optional<double> slideMpp) {
    FloatTensor map({raster.height, raster.width});
    map.data = raster.values;
    const PixelBuffer colours = colouriseMap(map, ColourMap::Jet);
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(raster.width) * raster.height * 3);
    for (std::size_t i = 0; i < rgb.size() / 3; ++i) {
        const std::uint8_t* p = colours.bytes.data() + 4 * i;
        for (int c = 0; c < 3; ++c) rgb[3 * i + c] = p[3] ? p[c] : 255;
    }
    PyramidTiffOptions options;
    options.compression = PyramidCompression::Deflate;
    if (slideMpp) options.micronsPerPixel = *slideMpp * raster.cellSize;
    options.description = "Lucida analysis heatmap (jet)";
    PyramidTiffWriter writer(path, raster.width, raster.height, PyramidSampleType::Rgb8, options);
    writer.appendRows(
        {rgb.data(), raster.width, raster.height, static_cast<std::size_t>(raster.width) * 3});
    writer.finish();
}

}  // namespace

FloatRaster halveRaster(const FloatRaster& from) {
    FloatRaster half;
    half.width = (from.width + 1) / 2;
    half.height = (from.height + 1) / 2;
    half.cellSize = from.cellSize * 2;
    half.values.resize(static_cast<std::size_t>(half.width) * half.height);
    for (int y = 0; y < half.height; ++y)
        for (int x = 0; x < half.width; ++x) {
            double sum = 0;
            int n = 0;
            for (int dy = 0; dy < 2; ++dy)
                for (int dx = 0; dx < 2; ++dx) {
                    const int sx = 2 * x + dx, sy = 2 * y + dy;
                    if (sx >= from.width || sy >= from.height) continue;
                    const float v = from.at(sx, sy);
                    if (!std::isnan(v)) sum += v, ++n;
                }
            half.values[static_cast<std::size_t>(y) * half.width + x] =
                n ? static_cast<float>(sum / n) : kNaN;
        }
    return half;
}

FloatRaster probabilityRaster(const SlideAnalysis& a, int classIndex) {
    FloatRaster r;
    r.width = a.grid.columns;
    r.height = a.grid.rows;
    r.cellSize = a.grid.stride;
    r.values.assign(static_cast<std::size_t>(r.width) * r.height, kNaN);
    for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
        const auto& o = a.outcomes[i];
        if (!o.done) continue;
        const auto& p = a.grid.patches[i];
        r.values[static_cast<std::size_t>(p.row) * r.width + p.column] =
            o.probabilities.at(classIndex);
    }
    return r;
}

namespace {

FloatRaster stitchWholeImage(const SlideAnalysis& a, CamNormalisation, float* scaleLow,
                             float* scaleHigh) {
    FloatRaster r;
    const Patch& p = a.grid.patches.front();
    const auto& o = a.outcomes.front();
    const double cellX = p.width / a.camWidth, cellY = p.height / a.camHeight;
    r.cellSize = std::min(cellX, cellY) / 4;
    r.width = static_cast<int>(std::ceil(p.width / r.cellSize - 1e-9));
    r.height = static_cast<int>(std::ceil(p.height / r.cellSize - 1e-9));
    r.values.assign(static_cast<std::size_t>(r.width) * r.height, kNaN);
    float low = 0, high = 1;
    if (o.done) {
        const auto [mn, mx] = std::minmax_element(o.cam.begin(), o.cam.end());
        low = *mn, high = *mx;  // one image: its own range is the slide-wide one
    }
    if (scaleLow) *scaleLow = low;
    if (scaleHigh) *scaleHigh = high;
    if (!o.done) return r;
    const float range = high - low;
    for (int y = 0; y < r.height; ++y) {
        const int cy = std::min(a.camHeight - 1, static_cast<int>((y + 0.5) * r.cellSize / cellY));
        for (int x = 0; x < r.width; ++x) {
            const int cx =
                std::min(a.camWidth - 1, static_cast<int>((x + 0.5) * r.cellSize / cellX));
            const float raw = o.cam[static_cast<std::size_t>(cy) * a.camWidth + cx];
            r.values[static_cast<std::size_t>(y) * r.width + x] =
                range > 0 ? (raw - low) / range : 0.0f;
        }
    }
    return r;
}

}  // namespace

CamRange camDataRange(const SlideAnalysis& a) {
    float low = std::numeric_limits<float>::max(), high = std::numeric_limits<float>::lowest();
    for (const auto& o : a.outcomes) {
        if (!o.done) continue;
        for (float v : o.cam) low = std::min(low, v), high = std::max(high, v);
    }
    if (low > high) return {0, 1};
    return {low, high};
}

FloatRaster stitchCam(const SlideAnalysis& a, CamNormalisation normalisation, float* scaleLow,
                      float* scaleHigh, const CamRange* fixedScale) {
    FloatRaster r;
    if (a.camWidth <= 0 || a.camHeight <= 0 || a.grid.patches.empty()) return r;
    if (a.grid.wholeImage) return stitchWholeImage(a, normalisation, scaleLow, scaleHigh);
    r.cellSize = a.grid.patchSize / a.camWidth;
    const double cellY = a.grid.patchSize / a.camHeight;
    const double extentX = (a.grid.columns - 1) * a.grid.stride + a.grid.patchSize;
    const double extentY = (a.grid.rows - 1) * a.grid.stride + a.grid.patchSize;
    r.width = static_cast<int>(std::ceil(extentX / r.cellSize - 1e-9));
    r.height = static_cast<int>(std::ceil(extentY / cellY - 1e-9));

    const bool fixed = fixedScale && normalisation == CamNormalisation::Slide;
    const CamRange scale = fixed ? *fixedScale : camDataRange(a);
    const float low = scale.low, high = scale.high;
    if (scaleLow) *scaleLow = low;
    if (scaleHigh) *scaleHigh = high;

    // Raised-sine weights, never zero, so a cell covered by one patch keeps that patch's value.
    auto weight = [](int i, int n) { return 0.05 + std::sin(M_PI * (i + 0.5) / n); };
    std::vector<double> sum(static_cast<std::size_t>(r.width) * r.height, 0.0),
        weights(sum.size(), 0.0);
    // Cells some planned patch still to come covers: their blend would change when it arrives
    // (at the border of what is done, a patch's border cells alone, a bright strip where the
    // CAM is high at patch borders), so they stay empty until then.
    std::vector<std::uint8_t> pending(sum.size(), 0);
    for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
        const auto& o = a.outcomes[i];
        const auto& p = a.grid.patches[i];
        const int ox = static_cast<int>(std::lround(p.column * a.grid.stride / r.cellSize));
        const int oy = static_cast<int>(std::lround(p.row * a.grid.stride / cellY));
        if (!o.done) {
            for (int ry = std::max(0, oy); ry < std::min(r.height, oy + a.camHeight); ++ry)
                for (int rx = std::max(0, ox); rx < std::min(r.width, ox + a.camWidth); ++rx)
                    pending[static_cast<std::size_t>(ry) * r.width + rx] = 1;
            continue;
        }
        float pl = low, ph = high;
        if (normalisation == CamNormalisation::Patch) {
            const auto [mn, mx] = std::minmax_element(o.cam.begin(), o.cam.end());
            pl = *mn, ph = *mx;
        }
        const float range = ph - pl;
        for (int y = 0; y < a.camHeight; ++y) {
            const int ry = oy + y;
            if (ry < 0 || ry >= r.height) continue;
            for (int x = 0; x < a.camWidth; ++x) {
                const int rx = ox + x;
                if (rx < 0 || rx >= r.width) continue;
                const float raw = o.cam[static_cast<std::size_t>(y) * a.camWidth + x];
                double v = range > 0 ? (raw - pl) / range : 0.0;
                if (fixed) v = std::clamp(v, 0.0, 1.0);
                const double w = weight(x, a.camWidth) * weight(y, a.camHeight);
                const std::size_t k = static_cast<std::size_t>(ry) * r.width + rx;
                sum[k] += w * v;
                weights[k] += w;
            }
        }
    }
    r.values.resize(sum.size());
    for (std::size_t k = 0; k < sum.size(); ++k)
        r.values[k] =
            weights[k] > 0 && !pending[k] ? static_cast<float>(sum[k] / weights[k]) : kNaN;
    return r;
}

AnalysisSummary summarise(const SlideAnalysis& a, int topK, double threshold, std::size_t regions) {
    AnalysisSummary s;
    s.threshold = threshold;
    s.wholeImage = a.grid.wholeImage;
    s.histogram.assign(20, 0);
    std::vector<std::pair<float, std::size_t>> scored;
    for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
        if (!a.outcomes[i].done) continue;
        const float p = a.outcomes[i].probabilities.at(a.explainedClass);
        scored.push_back({p, i});
        s.histogram[std::clamp(static_cast<int>(p * 20), 0, 19)]++;
        if (p >= threshold) s.shareAbove += 1;
    }
    s.patches = scored.size();
    if (scored.empty()) return s;
    s.shareAbove /= static_cast<double>(scored.size());
    std::sort(scored.begin(), scored.end(), [](const auto& l, const auto& r) {
        return l.first > r.first || (l.first == r.first && l.second < r.second);
    });
    s.topK = std::min<int>(topK, static_cast<int>(scored.size()));
    for (int i = 0; i < s.topK; ++i) s.topMean += scored[i].first;
    s.topMean /= s.topK;
    s.topRegions = findRegions(a, a.explainedClass, threshold, regions);
    return s;
}

std::vector<AnalysisSummary::Region> findRegions(const SlideAnalysis& a, int classIndex,
                                                 double threshold, std::size_t maxRegions) {
    using Region = AnalysisSummary::Region;
    // The patches above the threshold, by grid cell.
    auto cellKey = [&](std::int64_t column, std::int64_t row) {
        return row * a.grid.columns + column;
    };
    std::unordered_map<std::int64_t, std::size_t> above;
    for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
        const auto& o = a.outcomes[i];
        if (!o.done || o.probabilities.at(classIndex) < threshold) continue;
        above.emplace(cellKey(a.grid.patches[i].column, a.grid.patches[i].row), i);
    }
    std::vector<Region> regions;
    std::unordered_set<std::size_t> seen;
    std::vector<std::size_t> queue;
    // Seeds in grid order, so that the result does not depend on the hash map's order.
    std::vector<std::size_t> seeds;
    seeds.reserve(above.size());
    for (const auto& [key, i] : above) seeds.push_back(i);
    std::sort(seeds.begin(), seeds.end());
    for (std::size_t seed : seeds) {
        if (!seen.insert(seed).second) continue;
        Region r;
        double x1 = 0, y1 = 0;
        float peak = -1;
        std::size_t peakIndex = 0;
        queue.assign(1, seed);
        while (!queue.empty()) {  // flood fill with an explicit stack: no recursion
            const std::size_t i = queue.back();
            queue.pop_back();
            const Patch& p = a.grid.patches[i];
            const float v = a.outcomes[i].probabilities.at(classIndex);
            if (r.patches == 0) r.x = p.x, r.y = p.y, x1 = p.x + p.width, y1 = p.y + p.height;
            r.x = std::min(r.x, p.x), r.y = std::min(r.y, p.y);
            x1 = std::max(x1, p.x + p.width), y1 = std::max(y1, p.y + p.height);
            if (v > peak || (v == peak && i < peakIndex)) {  // ties: the first in grid order
                peak = v;
                peakIndex = i;
                r.peakX = p.x + p.width / 2;
                r.peakY = p.y + p.height / 2;
            }
            ++r.patches;
            for (int dy = -1; dy <= 1; ++dy)
                for (int dx = -1; dx <= 1; ++dx) {
                    const int column = p.column + dx, row = p.row + dy;
                    if (column < 0 || row < 0 || column >= a.grid.columns || row >= a.grid.rows)
                        continue;
                    const auto it = above.find(cellKey(column, row));
                    if (it != above.end() && seen.insert(it->second).second)
                        queue.push_back(it->second);
                }
        }
        r.width = x1 - r.x;
        r.height = y1 - r.y;
        r.probability = peak;
        const Patch& first = a.grid.patches[seed];
        r.area = a.grid.wholeImage ? first.width * first.height
                                   : double(r.patches) * a.grid.stride * a.grid.stride;
        regions.push_back(r);
    }
    std::sort(regions.begin(), regions.end(), [](const Region& l, const Region& r) {
        if (l.probability != r.probability) return l.probability > r.probability;
        if (l.area != r.area) return l.area > r.area;
        return l.peakY < r.peakY || (l.peakY == r.peakY && l.peakX < r.peakX);
    });
    if (regions.size() > maxRegions) regions.resize(maxRegions);
    return regions;
}

std::string regionAreaText(double areaPixels, std::optional<double> mppX,
                           std::optional<double> mppY) {
    char text[64];
    if (mppX) {
        const double um2 = areaPixels * *mppX * mppY.value_or(*mppX);
        const double mm2 = um2 / 1e6;
        if (um2 >= 1e4)
            std::snprintf(text, sizeof text, mm2 >= 100 ? "%.0f mm²" : "%.3g mm²", mm2);
        else
            std::snprintf(text, sizeof text, "%.0f µm²", um2);
    } else {
        std::snprintf(text, sizeof text, "%.0f px²", areaPixels);
    }
    return text;
}

namespace {
// "x.cam.tiff" -> "x.cam.heat.tiff"
std::string heatPath(const std::string& path) {
    return path.substr(0, path.size() - 5) + ".heat.tiff";
}
}  // namespace

std::string writeAnalysisOutputs(const SlideAnalysis& a, const ImageInfo& slide,
                                 const std::string& outDir, const std::string& stem) {
    namespace fs = std::filesystem;
    fs::create_directories(outDir);
    const auto probabilityPath = (fs::path(outDir) / (stem + ".probability.tiff")).string();
    const auto camPath = (fs::path(outDir) / (stem + ".cam.tiff")).string();
    const auto jsonPath = (fs::path(outDir) / (stem + ".analysis.json")).string();

    const FloatRaster probability = probabilityRaster(a, a.explainedClass);
    float low = 0, high = 0;
    const FloatRaster cam = stitchCam(a, CamNormalisation::Slide, &low, &high);
    writeFloatPyramid(probabilityPath, probability, slide.mppX);
    writeHeatPyramid(heatPath(probabilityPath), probability, slide.mppX);
    if (cam.width > 0) {
        writeFloatPyramid(camPath, cam, slide.mppX);
        writeHeatPyramid(heatPath(camPath), cam, slide.mppX);
    }

    const AnalysisSummary s = summarise(a);
    nlohmann::json regions = nlohmann::json::array();
    for (const auto& r : s.topRegions) {
        nlohmann::json region = {{"x", r.x},
                                 {"y", r.y},
                                 {"width", r.width},
                                 {"height", r.height},
                                 {"probability", r.probability},
                                 {"peak", {{"x", r.peakX}, {"y", r.peakY}}},
                                 {"patches", r.patches},
                                 {"area_px2", r.area}};
        region["area_um2"] =
            slide.mppX ? nlohmann::json(r.area * *slide.mppX * slide.mppY.value_or(*slide.mppX))
                       : nlohmann::json(nullptr);
        regions.push_back(std::move(region));
    }
    nlohmann::json j = {
        {"slide", a.slidePath},
        {"model", a.modelPath},
        {"key", a.key},
        {"results", a.resultsDir},
        {"method", a.settings.method},
        {"classes", a.classes},
        {"explained_class", a.explainedClass},
        {"explained_class_name", a.classes.at(a.explainedClass)},
        {"layer", a.layer},
        {"grid",
         {{"patch_size", a.grid.patchSize},
          {"stride", a.grid.stride},
          {"columns", a.grid.columns},
          {"rows", a.grid.rows},
          {"downsample", a.grid.downsample},
          {"tissue_patches", a.grid.patches.size()},
          {"overlap", a.settings.overlap}}},
        {"analysed_patches", a.doneCount()},
        {"complete", a.complete()},
        {"probability_map",
         {{"file", fs::path(probabilityPath).filename().string()},
          {"heat_file", fs::path(heatPath(probabilityPath)).filename().string()},
          {"cell_size", probability.cellSize},
          {"width", probability.width},
          {"height", probability.height}}},
        {"cam_map",
         {{"file", cam.width > 0 ? fs::path(camPath).filename().string() : ""},
          {"heat_file", cam.width > 0 ? fs::path(heatPath(camPath)).filename().string() : ""},
          {"cell_size", cam.cellSize},
          {"width", cam.width},
          {"height", cam.height},
          {"normalisation", "slide"},
          {"raw_low", low},
          {"raw_high", high}}},
        {"summary",
         {{"top_k", s.topK},
          {"top_k_mean", s.topMean},
          {"threshold", s.threshold},
          {"share_above_threshold", s.shareAbove},
          {"histogram", s.histogram},
          {"top_regions", regions}}}};
    writeFileAtomically(jsonPath, j.dump(2) + "\n");
    return jsonPath;
}

}  // namespace lucida
