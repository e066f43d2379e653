#pragma once
// Synthetic H&E-like histology for demos and tests: a labelled patch set (normal / tumour, with
// lesion masks) and a whole slide with tissue islands and lesions, both from one deterministic
// generator (same seed and options: byte-identical files with the same build and libraries).
//
// Tissue is pink eosin stroma with wavy collagen fibres, pale clefts and lighter areas, scattered
// small purple nuclei (spindle fibroblasts, round lymphocytes). A lesion is an irregular region
// where nuclei are 3-5x more crowded, 1.5-2.5x larger, darker and pleomorphic (irregular outlines,
// coarse chromatin, nucleoli), with a slightly purple background. Scale: 0.5 um per pixel (20x);
// normal nuclei are 6-12 px across, lesion nuclei 13-20 px, so 128-px patches show them.
//
// Colour is made as in a real slide: haematoxylin and eosin densities per pixel, turned into RGB by
// Beer-Lambert absorption with standard stain vectors. Everything is a function of global pixel
// coordinates and the seed (nuclei come from per-cell hashes), so a slide is rendered tile by tile
// and stays continuous across tile borders. Randomness: std::mt19937_64 seeded explicitly for the
// layout, SplitMix64 hashes for per-cell draws, and our own uniform/normal transforms (the standard
// distributions are implementation-defined).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lucida::demo {

constexpr std::uint64_t kDefaultSeed = 20240917;

struct DemoSetOptions {
    std::uint64_t seed = kDefaultSeed;
    int patchSize = 128;  // 32..1024
    int trainPerClass = 400;
    int valPerClass = 100;
    int testPerClass = 100;
    // Called after each patch with (patches written, total).
    std::function<void(int, int)> progress;
};

struct DemoSetSummary {
    int patches = 0;
    double meanLesionShare = 0;  // mean mask area share of the tumour patches
};

// Writes outDir/{train,val,test}/{normal,tumour}/<class>_NNNN.png (RGB, patchSize square), the
// lesion masks as outDir/masks/<split>/<class>/<same name>.png (8-bit, 255 inside the lesion;
// all zero for normal patches; 10-35% of a tumour patch) and outDir/README.txt. Folders are
// created; existing files with the same names are replaced. Throws std::invalid_argument for bad
// options, std::runtime_error naming the file when writing fails.
DemoSetSummary writeDemoSet(const std::string& outDir, const DemoSetOptions& options = {});

// One patch in memory (as writeDemoSet writes it): rgb is patchSize^2 x 3 bytes (R, G, B),
// mask patchSize^2 bytes (0 or 255). split: 0 train, 1 val, 2 test.
struct DemoPatch {
    int size = 0;
    std::vector<std::uint8_t> rgb;
    std::vector<std::uint8_t> mask;
};
DemoPatch renderDemoPatch(std::uint64_t seed, int split, bool tumour, int index,
                          int patchSize = 128);

struct DemoSlideOptions {
    std::uint64_t seed = kDefaultSeed;
    std::int64_t width = 24576;  // level 0, at least 1024 x 1024
    std::int64_t height = 20480;
    double micronsPerPixel = 0.5;
    double objectivePower = 20;
    int tileSize = 256;
    int jpegQuality = 90;
    bool lossless = false;  // deflate instead of JPEG (for pixel-exact tests)
    // The JSON description; empty: `path` with its extension replaced by ".json".
    std::string jsonPath;
    // Called after each band of tiles with the fraction of level 0 done.
    std::function<void(double)> progress;
};

// Lesion mask scale: one mask pixel per 16 x 16 level-0 pixels.
constexpr int kDemoMaskScale = 16;

struct DemoLesion {
    int id = 0;  // 1, 2, …
    // Bounding box of the lesion's mask pixels, in level-0 pixels.
    std::int64_t x = 0;
    std::int64_t y = 0;
    std::int64_t width = 0;
    std::int64_t height = 0;
    std::int64_t areaPixels = 0;  // level-0 pixels inside the lesion (from the mask)
};

// The layout of a demo slide (tissue islands, 3-5 lesions 600-2000 px across on a full-size
// slide, scaled down on smaller ones) and its renderer.
class DemoSlide {
public:
    explicit DemoSlide(const DemoSlideOptions& options);
    ~DemoSlide();
    DemoSlide(const DemoSlide&) = delete;
    DemoSlide& operator=(const DemoSlide&) = delete;

    std::int64_t width() const;
    std::int64_t height() const;
    const std::vector<DemoLesion>& lesions() const;
    double tissueShare() const;  // fraction of the slide covered by tissue

    // The lesion mask: ceil(width/16) x ceil(height/16) bytes, 0 or 255, row-major.
    int maskWidth() const;
    int maskHeight() const;
    const std::vector<std::uint8_t>& mask() const;

    // RGB of the level-0 rectangle into dst (rows `stride` bytes apart). Pure: the same pixel gets
    // the same value whatever rectangle it is rendered in.
    void render(std::int64_t x, std::int64_t y, int width, int height, std::uint8_t* dst,
                std::size_t stride) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct DemoSlideResult {
    std::string path;
    std::string maskPath;
    std::string jsonPath;
    std::int64_t width = 0;
    std::int64_t height = 0;
    std::vector<DemoLesion> lesions;
};

// Writes the slide as a pyramidal TIFF (PyramidTiffWriter, JPEG Q90 unless lossless, Aperio-style
// description so OpenSlide reports 0.5 um/px and 20x), the lesion mask as a PNG at level-0/16
// scale (maskPath) and a JSON (seed, sizes, pixel size, mask scale and file, lesion bounding boxes
// in level-0 pixels). Every file is written under a temporary name and renamed.
DemoSlideResult writeDemoSlide(const std::string& path, const std::string& maskPath,
                               const DemoSlideOptions& options = {});

}  // namespace lucida::demo
