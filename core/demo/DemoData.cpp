#include "demo/DemoData.h"

#include "demo/DemoRenderer.h"
#include "image/PyramidTiffWriter.h"

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

namespace lucida::demo {

namespace fs = std::filesystem;
using namespace detail;

namespace {

// ---------------------------------------------------------------------------------------------
// Files.

// Not core/io/AtomicFile: demo data is thousands of small, regenerable files, for which an fsync
// of each file and folder would cost more than the data is worth. Still never half a file.
void writeBytesAtomically(const std::string& path, const void* data, std::size_t size) {
    const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error(path + ": cannot create " + temporary);
        out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
        out.flush();
        if (!out) {
            out.close();
            std::error_code ec;
            fs::remove(temporary, ec);
            throw std::runtime_error(path + ": cannot write (disk full?)");
        }
    }
    std::error_code ec;
    fs::rename(temporary, path, ec);
    if (ec) {
        fs::remove(temporary, ec);
        throw std::runtime_error(path + ": cannot rename the temporary file: " + ec.message());
    }
}

std::vector<std::uint8_t> encodePng(const cv::Mat& image, const std::string& forPath) {
    std::vector<std::uint8_t> png;
    try {
        if (!cv::imencode(".png", image, png)) throw std::runtime_error("encoder failed");
    } catch (const std::exception& e) {
        throw std::runtime_error(forPath + ": cannot encode PNG: " + e.what());
    }
    return png;
}

void writeRgbPng(const std::string& path, const std::uint8_t* rgb, int w, int h) {
    cv::Mat bgr;
    cv::cvtColor(cv::Mat(h, w, CV_8UC3, const_cast<std::uint8_t*>(rgb)), bgr, cv::COLOR_RGB2BGR);
    const auto png = encodePng(bgr, path);
    writeBytesAtomically(path, png.data(), png.size());
}

void writeGreyPng(const std::string& path, const std::uint8_t* grey, int w, int h) {
    const auto png = encodePng(cv::Mat(h, w, CV_8UC1, const_cast<std::uint8_t*>(grey)), path);
    writeBytesAtomically(path, png.data(), png.size());
}

void makeFolder(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error(dir.string() + ": cannot create folder: " + ec.message());
}

// ---------------------------------------------------------------------------------------------
// Patches.

constexpr const char* kSplits[] = {"train", "val", "test"};
constexpr const char* kClasses[] = {"normal", "tumour"};

DemoPatch makePatch(const Renderer& renderer, std::uint64_t seed, int split, bool tumour, int index,
                    int size) {
    Random r(hashKey(seed ^ 0xDA7A5E7ULL, split * 2 + (tumour ? 1 : 0), index, 0x9A7C));
    const Style style = randomStyle(r);
    // Somewhere in an endless tissue: different texture and nuclei for every patch.
    const auto ox = static_cast<std::int64_t>(r.uniform(0.0, 4.0e6));
    const auto oy = static_cast<std::int64_t>(r.uniform(0.0, 4.0e6));
    PatchFields fields;
    DemoPatch patch;
    patch.size = size;
    const std::size_t n = static_cast<std::size_t>(size) * size;
    patch.mask.assign(n, 0);
    if (tumour) {
        std::vector<float> t(n), l(n);
        for (int attempt = 0;; ++attempt) {
            const double share = r.uniform(0.13, 0.30);
            const double radius = std::sqrt(share * size * size / kPi);
            const double cx = double(ox) + size * r.uniform(0.32, 0.68);
            const double cy = double(oy) + size * r.uniform(0.32, 0.68);
            fields.blob = randomBlob(r, cx, cy, radius, 0.6, {0.14, 0.10, 0.06, 0.04}, 0.12, 3.0);
            fields.forget();
            fields.region(ox, oy, size, size, t.data(), l.data());
            const auto inside = std::count_if(l.begin(), l.end(), [](float v) { return v > 0.5f; });
            const double got = double(inside) / double(n);
            if ((got >= 0.10 && got <= 0.35) || attempt >= 200) {
                for (std::size_t i = 0; i < n; ++i) patch.mask[i] = l[i] > 0.5f ? 255 : 0;
                break;
            }
        }
    }
    patch.rgb.resize(n * 3);
    renderer.render(fields, style, ox, oy, size, size, patch.rgb.data(),
                    static_cast<std::size_t>(size) * 3);
    return patch;
}

std::string patchName(const char* cls, int index, int count) {
    std::ostringstream s;
    const int digits = std::max(4, static_cast<int>(std::to_string(std::max(count - 1, 0)).size()));
    s << cls << "_";
    s.width(digits);
    s.fill('0');
    s << index << ".png";
    return s.str();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

DemoPatch renderDemoPatch(std::uint64_t seed, int split, bool tumour, int index, int patchSize) {
    if (patchSize < 32 || patchSize > 1024)
        throw std::invalid_argument("patch size must be 32..1024");
    const Renderer renderer(seed);
    return makePatch(renderer, seed, split, tumour, index, patchSize);
}

DemoSetSummary writeDemoSet(const std::string& outDir, const DemoSetOptions& options) {
    if (options.patchSize < 32 || options.patchSize > 1024)
        throw std::invalid_argument("patch size must be 32..1024, not " +
                                    std::to_string(options.patchSize));
    const int counts[3] = {options.trainPerClass, options.valPerClass, options.testPerClass};
    for (int c : counts)
        if (c < 0 || c > 1000000)
            throw std::invalid_argument("patch counts must be 0..1000000, not " +
                                        std::to_string(c));
    const fs::path root(outDir);
    for (int split = 0; split < 3; ++split)
        for (const char* cls : kClasses) {
            makeFolder(root / kSplits[split] / cls);
            makeFolder(root / "masks" / kSplits[split] / cls);
        }
    const Renderer renderer(options.seed);
    const int total = 2 * (counts[0] + counts[1] + counts[2]);
    DemoSetSummary summary;
    double shareSum = 0;
    int tumourPatches = 0;
    for (int split = 0; split < 3; ++split)
        for (int c = 0; c < 2; ++c)
            for (int i = 0; i < counts[split]; ++i) {
                const DemoPatch p =
                    makePatch(renderer, options.seed, split, c == 1, i, options.patchSize);
                const std::string name = patchName(kClasses[c], i, counts[split]);
                writeRgbPng((root / kSplits[split] / kClasses[c] / name).string(), p.rgb.data(),
                            p.size, p.size);
                writeGreyPng((root / "masks" / kSplits[split] / kClasses[c] / name).string(),
                             p.mask.data(), p.size, p.size);
                if (c == 1) {
                    shareSum += double(std::count(p.mask.begin(), p.mask.end(), 255)) /
                                double(p.mask.size());
                    ++tumourPatches;
                }
                ++summary.patches;
                if (options.progress) options.progress(summary.patches, total);
            }
    summary.meanLesionShare = tumourPatches ? shareSum / tumourPatches : 0.0;

    std::ostringstream readme;
    readme
        << "Lucida synthetic H&E demo patch set\n"
        << "===================================\n\n"
        << "Generated by `lucida-cli make-demo` (core/demo/DemoData.cpp), seed " << options.seed
        << ". The same seed and options give byte-identical files.\n\n"
        << "Layout (PyTorch ImageFolder convention, classes sorted: normal = 0, tumour = 1):\n"
        << "  train/{normal,tumour}/  " << counts[0] << " patches per class\n"
        << "  val/{normal,tumour}/    " << counts[1] << " patches per class\n"
        << "  test/{normal,tumour}/   " << counts[2] << " patches per class\n"
        << "  masks/<split>/<class>/<same name>.png  lesion masks (255 inside the lesion; all "
           "zero for normal patches)\n\n"
        << "Patches are " << options.patchSize << " x " << options.patchSize
        << " RGB PNGs at 0.5 um/px (20x). Synthetic, not real tissue: pink eosin stroma with\n"
        << "wavy collagen fibres, pale clefts and lighter areas, scattered small nuclei (spindle\n"
        << "fibroblasts, round lymphocytes, occasional lymphoid aggregates). A tumour patch holds\n"
        << "one irregular lesion covering 10-35% of it (mean "
        << static_cast<int>(std::round(summary.meanLesionShare * 100))
        << "% here) where nuclei are 3-5x more crowded, 1.5-2.5x larger (13-20 px),\n"
        << "darker and pleomorphic (irregular outlines, coarse chromatin, nucleoli). Stain\n"
        << "strength, fibre direction and nuclear density vary from patch to patch.\n";
    const std::string text = readme.str();
    writeBytesAtomically((root / "README.txt").string(), text.data(), text.size());
    return summary;
}

// ---------------------------------------------------------------------------------------------
// Slide.

struct DemoSlide::Impl {
    DemoSlideOptions options;
    Renderer renderer;
    Style style;
    GridFields fields;
    std::vector<Blob> islands;
    std::vector<Blob> lesionBlobs;
    std::vector<DemoLesion> lesions;
    std::vector<std::uint8_t> mask;
    double tissueShare = 0;

    explicit Impl(const DemoSlideOptions& o) : options(o), renderer(o.seed) {}

    // Evaluates `blob` on the nodes it can reach, keeping the maximum in `grid`.
    void rasterise(const Blob& blob, std::vector<float>& grid) const {
        const int step = GridFields::kStep;
        const double reach = blob.reach();
        const int i0 = std::max(0, static_cast<int>(std::floor((blob.cx - reach) / step)));
        const int j0 = std::max(0, static_cast<int>(std::floor((blob.cy - reach) / step)));
        const int i1 =
            std::min(fields.cols - 1, static_cast<int>(std::ceil((blob.cx + reach) / step)));
        const int j1 =
            std::min(fields.rows - 1, static_cast<int>(std::ceil((blob.cy + reach) / step)));
        for (int j = j0; j <= j1; ++j)
            for (int i = i0; i <= i1; ++i) {
                float& g = grid[static_cast<std::size_t>(j) * fields.cols + i];
                g = std::max(g, blob.value((i + 0.5) * step, (j + 0.5) * step));
            }
    }

    void layout() {
        const double W = double(options.width);
        const double H = double(options.height);
        const double side = std::min(W, H);
        Random r(mix64(options.seed ^ 0x511DE5EEDULL));
        style = randomStyle(r);
        fields.cols = static_cast<int>((options.width + GridFields::kStep - 1) / GridFields::kStep);
        fields.rows =
            static_cast<int>((options.height + GridFields::kStep - 1) / GridFields::kStep);
        const std::size_t nodes = static_cast<std::size_t>(fields.cols) * fields.rows;
        fields.t.assign(nodes, 0.0f);
        fields.l.assign(nodes, 0.0f);

        // Tissue islands, well inside the glass.
        const int islandCount = 3 + r.below(2);
        const double margin = 0.04 * side;
        for (int attempt = 0; static_cast<int>(islands.size()) < islandCount && attempt < 5000;
             ++attempt) {
            const double shrink = attempt < 2500 ? 1.0 : 0.7;
            const double radius = shrink * side * r.uniform(0.16, 0.25);
            const double extent = radius * 1.45;
            if (W - 2 * (margin + extent) <= 0 || H - 2 * (margin + extent) <= 0) continue;
            const double cx = r.uniform(margin + extent, W - margin - extent);
            const double cy = r.uniform(margin + extent, H - margin - extent);
            bool apart = true;
            for (const Blob& b : islands)
                if (std::hypot(b.cx - cx, b.cy - cy) <
                    0.95 * (radius + std::sqrt(b.rx * b.ry)) + 0.03 * side)
                    apart = false;
            if (!apart) continue;
            islands.push_back(randomBlob(r, cx, cy, radius, 0.55, {0.16, 0.10, 0.06, 0.04}, 0.14,
                                         std::max(24.0, side / 500)));
        }
        for (const Blob& b : islands) rasterise(b, fields.t);

        // Lesions, wholly inside tissue and apart from each other.
        const double scale = std::min(1.0, side / 20480.0);
        const int lesionCount = 3 + r.below(3);
        for (int attempt = 0; static_cast<int>(lesionBlobs.size()) < lesionCount && attempt < 20000;
             ++attempt) {
            const double radius = scale * r.uniform(330.0, 820.0) * (attempt < 10000 ? 1.0 : 0.7);
            const double cx = r.uniform(0.0, W);
            const double cy = r.uniform(0.0, H);
            if (fields.tissue(cx, cy) < 0.95f) continue;
            bool inside = true;
            for (int k = 0; k < 24 && inside; ++k) {
                const double a = 2 * kPi * k / 24;
                const double rr = radius * 1.5 + 64 * scale;
                inside = fields.tissue(cx + rr * std::cos(a), cy + rr * std::sin(a)) >= 0.9f;
            }
            if (!inside) continue;
            for (const Blob& b : lesionBlobs)
                if (std::hypot(b.cx - cx, b.cy - cy) <
                    1.5 * (radius + std::sqrt(b.rx * b.ry)) + 400 * scale)
                    inside = false;
            if (!inside) continue;
            lesionBlobs.push_back(randomBlob(r, cx, cy, radius, 0.6, {0.14, 0.10, 0.06, 0.04}, 0.12,
                                             24.0 * scale + 8));
        }
        for (const Blob& b : lesionBlobs) rasterise(b, fields.l);

        mask.resize(nodes);
        std::size_t tissueNodes = 0;
        for (std::size_t i = 0; i < nodes; ++i) {
            mask[i] = fields.l[i] > 0.5f ? 255 : 0;
            tissueNodes += fields.t[i] > 0.5f ? 1 : 0;
        }
        tissueShare = double(tissueNodes) / double(nodes);

        // Bounding boxes from each lesion's own mask pixels.
        const int step = GridFields::kStep;
        for (std::size_t n = 0; n < lesionBlobs.size(); ++n) {
            std::vector<float> own;  // only this lesion, on its reach
            const Blob& b = lesionBlobs[n];
            const double reach = b.reach();
            const int i0 = std::max(0, static_cast<int>(std::floor((b.cx - reach) / step)));
            const int j0 = std::max(0, static_cast<int>(std::floor((b.cy - reach) / step)));
            const int i1 =
                std::min(fields.cols - 1, static_cast<int>(std::ceil((b.cx + reach) / step)));
            const int j1 =
                std::min(fields.rows - 1, static_cast<int>(std::ceil((b.cy + reach) / step)));
            int minI = fields.cols, minJ = fields.rows, maxI = -1, maxJ = -1;
            std::int64_t count = 0;
            for (int j = j0; j <= j1; ++j)
                for (int i = i0; i <= i1; ++i)
                    if (b.value((i + 0.5) * step, (j + 0.5) * step) > 0.5f) {
                        minI = std::min(minI, i);
                        maxI = std::max(maxI, i);
                        minJ = std::min(minJ, j);
                        maxJ = std::max(maxJ, j);
                        ++count;
                    }
            if (count == 0) continue;
            DemoLesion lesion;
            lesion.id = static_cast<int>(lesions.size()) + 1;
            lesion.x = std::int64_t(minI) * step;
            lesion.y = std::int64_t(minJ) * step;
            lesion.width =
                std::min<std::int64_t>(std::int64_t(maxI + 1) * step, options.width) - lesion.x;
            lesion.height =
                std::min<std::int64_t>(std::int64_t(maxJ + 1) * step, options.height) - lesion.y;
            lesion.areaPixels = count * step * step;
            lesions.push_back(lesion);
        }
    }
};

DemoSlide::DemoSlide(const DemoSlideOptions& options) {
    if (options.width < 1024 || options.height < 1024 || options.width > 200000 ||
        options.height > 200000)
        throw std::invalid_argument("demo slide size must be 1024..200000 pixels a side, not " +
                                    std::to_string(options.width) + " x " +
                                    std::to_string(options.height));
    if (!(options.micronsPerPixel > 0))
        throw std::invalid_argument("demo slide pixel size must be positive");
    impl_ = std::make_unique<Impl>(options);
    impl_->layout();
}

DemoSlide::~DemoSlide() = default;

std::int64_t DemoSlide::width() const { return impl_->options.width; }
std::int64_t DemoSlide::height() const { return impl_->options.height; }
const std::vector<DemoLesion>& DemoSlide::lesions() const { return impl_->lesions; }
double DemoSlide::tissueShare() const { return impl_->tissueShare; }
int DemoSlide::maskWidth() const { return impl_->fields.cols; }
int DemoSlide::maskHeight() const { return impl_->fields.rows; }
const std::vector<std::uint8_t>& DemoSlide::mask() const { return impl_->mask; }

void DemoSlide::render(std::int64_t x, std::int64_t y, int width, int height, std::uint8_t* dst,
                       std::size_t stride) const {
    impl_->renderer.render(impl_->fields, impl_->style, x, y, width, height, dst, stride);
}

DemoSlideResult writeDemoSlide(const std::string& path, const std::string& maskPath,
                               const DemoSlideOptions& options) {
    const DemoSlide slide(options);
    DemoSlideResult result;
    result.path = path;
    result.maskPath = maskPath;
    result.jsonPath = options.jsonPath.empty() ? fs::path(path).replace_extension(".json").string()
                                               : options.jsonPath;
    result.width = slide.width();
    result.height = slide.height();
    result.lesions = slide.lesions();

    PyramidTiffOptions tiff;
    tiff.tileSize = options.tileSize;
    tiff.compression = options.lossless ? PyramidCompression::Deflate : PyramidCompression::Jpeg;
    tiff.jpegQuality = options.jpegQuality;
    tiff.micronsPerPixel = options.micronsPerPixel;
    tiff.objectivePower = options.objectivePower;
    tiff.description = "Lucida synthetic H&E demo slide, seed " + std::to_string(options.seed);
    PyramidTiffWriter writer(path, slide.width(), slide.height(), PyramidSampleType::Rgb8, tiff);
    const int ts = writer.tileSize();
    const std::size_t stride = static_cast<std::size_t>(slide.width()) * 3;
    std::vector<std::uint8_t> band(stride * static_cast<std::size_t>(ts));
    for (std::int64_t y = 0; y < slide.height(); y += ts) {
        const int h = static_cast<int>(std::min<std::int64_t>(ts, slide.height() - y));
        for (std::int64_t x = 0; x < slide.width(); x += ts) {
            const int w = static_cast<int>(std::min<std::int64_t>(ts, slide.width() - x));
            slide.render(x, y, w, h, band.data() + static_cast<std::size_t>(x) * 3, stride);
        }
        writer.appendRows({band.data(), static_cast<int>(slide.width()), h, stride});
        if (options.progress) options.progress(double(y + h) / double(slide.height()));
    }
    writer.finish();

    writeGreyPng(maskPath, slide.mask().data(), slide.maskWidth(), slide.maskHeight());

    nlohmann::json j;
    j["generator"] = "Lucida demo slide (core/demo/DemoData.cpp)";
    j["seed"] = options.seed;
    j["slide"] = fs::path(path).filename().string();
    j["width"] = slide.width();
    j["height"] = slide.height();
    j["microns_per_pixel"] = options.micronsPerPixel;
    j["objective_power"] = options.objectivePower;
    j["tissue_share"] = slide.tissueShare();
    j["mask"] = {{"file", fs::path(maskPath).filename().string()},
                 {"scale", kDemoMaskScale},
                 {"width", slide.maskWidth()},
                 {"height", slide.maskHeight()}};
    nlohmann::json list = nlohmann::json::array();
    for (const DemoLesion& l : slide.lesions())
        list.push_back({{"id", l.id},
                        {"x", l.x},
                        {"y", l.y},
                        {"width", l.width},
                        {"height", l.height},
                        {"area_px", l.areaPixels}});
    j["lesions"] = list;
    j["lesion_units"] = "level-0 pixels; boxes bound the lesion mask";
    const std::string text = j.dump(2) + "\n";
    writeBytesAtomically(result.jsonPath, text.data(), text.size());
    return result;
}

}  // namespace lucida::demo
