// Dense mode over a slide's patch grid (see DenseAnalysis.h and cam/DenseCam.h).
#include "analysis/DenseAnalysis.h"

#include "cam/DenseCam.h"
#include "image/ImageError.h"
#include "model/Model.h"
#include "model/ModelError.h"
#include "model/Preprocess.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>

namespace lucida {
namespace {

// The plan in model pixels and feature cells.
struct DenseLayout {
    int stride = 0;             // model pixels per cell
    int patchStep = 0;          // cells between patch origins
    int window = 0;             // cells per patch side
    int width = 0, height = 0;  // model pixels covered by the grid
    int tile = 0;               // model pixels per tile side (a multiple of the stride)
    int tileCells = 0;
};

DenseLayout layoutOf(const SlideAnalysis& a, const DenseCam& dense, const ModelSpec& spec,
                     int tileSetting) {
    DenseLayout l;
    l.stride = dense.stride();
    const int step = static_cast<int>(std::lround(a.grid.stride / a.grid.downsample));
    l.patchStep = step / l.stride;
    l.window = dense.windowCells();
    l.width = (a.grid.columns - 1) * step + spec.inputWidth;
    l.height = (a.grid.rows - 1) * step + spec.inputHeight;
    // Large tiles keep the halo's share small; a stride-32 trunk (ResNets) needs the larger ones.
    // Tiles beyond ~1.5k px lose more to cache misses than the halo costs (measured here).
    const int wanted = tileSetting > 0 ? tileSetting : (l.stride >= 16 ? 1024 : 512);
    l.tileCells = std::max(l.window, (wanted + l.stride - 1) / l.stride);
    l.tile = l.tileCells * l.stride;
    return l;
}

// Model pixels (x, y, w, h) of the grid's area as the model sees them: read from the patches'
// level, resized to the model's scale, glass beyond the slide white (as patch mode reads).
FloatTensor readModelRect(const ImageSource& source, const SlideAnalysis& a, const ModelSpec& spec,
                          const DenseRect& r) {
    const int level = a.grid.patches.empty() ? 0 : a.grid.patches.front().level;
    const double ds = a.grid.downsample / source.info().level(level).downsample;
    const Rect rect{static_cast<std::int64_t>(std::floor(r.x * ds)),
                    static_cast<std::int64_t>(std::floor(r.y * ds)),
                    std::max<std::int64_t>(1, std::lround(r.width * ds)),
                    std::max<std::int64_t>(1, std::lround(r.height * ds))};
    PixelBuffer pixels = source.readRegion(level, rect, a.settings.slice);
    ModelSpec sized = spec;
    sized.inputWidth = r.width;
    sized.inputHeight = r.height;
    if (pixels.format == PixelFormat::Rgba8) {
        for (std::size_t i = 0; i + 3 < pixels.bytes.size(); i += 4)
            if (pixels.bytes[i + 3] == 0)
                pixels.bytes[i] = pixels.bytes[i + 1] = pixels.bytes[i + 2] = pixels.bytes[i + 3] =
                    255;
        return preprocess(pixels, sized);
    }
    const auto windows = source.windowsForSlice(a.settings.slice);
    return preprocess(pixels, sized, windows.empty() ? nullptr : &windows.front(),
                      &source.info().grayMapping);
}

// Two consecutive tile rows of maps [K + 1][tileCells][cells wide]: a patch window (at most one
// tile high) lies within them.
struct MapBand {
    int channels = 0, rowsPerStripe = 0, widthCells = 0;
    int currentRow = -1;  // tile row held in `current`
    std::vector<float> previous, current;

    void startRow(int row) {
        previous.swap(current);
        if (row != currentRow + 1) std::fill(previous.begin(), previous.end(), 0.0f);
        current.assign(std::size_t(channels) * rowsPerStripe * widthCells, 0.0f);
        currentRow = row;
    }
    // `maps` of cells from (cellX, cellY) of the current stripe on.
    void put(const FloatTensor& maps, int cellX, int cellY) {
        const auto h = maps.size(1), w = maps.size(2);
        for (int c = 0; c < channels; ++c)
            for (std::int64_t y = 0; y < h; ++y)
                std::copy_n(
                    &maps.data[static_cast<std::size_t>((c * h + y) * w)], w,
                    &current[(std::size_t(c) * rowsPerStripe + cellY + y) * widthCells + cellX]);
    }
    float at(int c, int cellY, int cellX) const {
        const int stripe = cellY / rowsPerStripe, y = cellY % rowsPerStripe;
        const auto& rows = stripe == currentRow ? current : previous;
        return rows[(std::size_t(c) * rowsPerStripe + y) * widthCells + cellX];
    }
};

// The cells of a tile that not-yet-done patches' windows cover, as a box (tiles are fitted to
// the tissue: glass around it is neither read nor run, beyond the halo).
struct CellBox {
    int x0 = std::numeric_limits<int>::max(), y0 = std::numeric_limits<int>::max(), x1 = -1,
        y1 = -1;
    bool empty() const { return x1 < x0; }
    void add(int ax0, int ay0, int ax1, int ay1) {
        x0 = std::min(x0, ax0), y0 = std::min(y0, ay0), x1 = std::max(x1, ax1),
        y1 = std::max(y1, ay1);
    }
};

struct DenseTile {
    int row = 0;
    DenseRect inner;  // model pixels, multiples of the stride
    DenseRect read;   // inner grown by the halo
};

// The tiles to run, tile row by tile row, and the patches each tile row completes.
struct DensePlan {
    std::vector<DenseTile> tiles;
    std::vector<std::vector<std::size_t>> completes;  // per tile row
};

DensePlan planTiles(const SlideAnalysis& a, const DenseCam& dense, const DenseLayout& l) {
    const int tilesX = (l.width + l.tile - 1) / l.tile, tilesY = (l.height + l.tile - 1) / l.tile;
    std::vector<CellBox> boxes(std::size_t(tilesX) * tilesY);
    DensePlan plan;
    plan.completes.resize(static_cast<std::size_t>(tilesY));
    for (std::size_t i = 0; i < a.grid.patches.size(); ++i) {
        if (a.outcomes[i].done) continue;
        const Patch& p = a.grid.patches[i];
        const int cx0 = p.column * l.patchStep, cy0 = p.row * l.patchStep;
        const int cx1 = cx0 + l.window - 1, cy1 = cy0 + l.window - 1;  // inclusive
        for (int ty = cy0 / l.tileCells; ty <= cy1 / l.tileCells; ++ty)
            for (int tx = cx0 / l.tileCells; tx <= cx1 / l.tileCells; ++tx) {
                const int bx = tx * l.tileCells, by = ty * l.tileCells;
                boxes[std::size_t(ty) * tilesX + tx].add(std::max(cx0, bx), std::max(cy0, by),
                                                         std::min(cx1, bx + l.tileCells - 1),
                                                         std::min(cy1, by + l.tileCells - 1));
            }
        plan.completes[std::size_t(cy1 / l.tileCells)].push_back(i);
    }
    const DenseRect region{0, 0, l.width, l.height};
    for (int ty = 0; ty < tilesY; ++ty)
        for (int tx = 0; tx < tilesX; ++tx) {
            const CellBox& b = boxes[std::size_t(ty) * tilesX + tx];
            if (b.empty()) continue;
            DenseTile t;
            t.row = ty;
            t.inner = {b.x0 * l.stride, b.y0 * l.stride,
                       std::min((b.x1 + 1) * l.stride, l.width) - b.x0 * l.stride,
                       std::min((b.y1 + 1) * l.stride, l.height) - b.y0 * l.stride};
            t.read = dense.readRect(region, t.inner);
            plan.tiles.push_back(t);
        }
    return plan;
}

PatchOutcome outcomeOf(const Model& model, const DenseCam& dense, const MapBand& band,
                       const DenseLayout& l, const Patch& p) {
    const int cx = p.column * l.patchStep, cy = p.row * l.patchStep, k = dense.logitCount();
    PatchOutcome o;
    o.done = true;
    o.cam.resize(std::size_t(l.window) * l.window);
    FloatTensor logits({1, k});
    std::vector<double> sums(std::size_t(k), 0.0);
    for (int y = 0; y < l.window; ++y)
        for (int x = 0; x < l.window; ++x) {
            for (int c = 0; c < k; ++c) sums[std::size_t(c)] += band.at(c, cy + y, cx + x);
            o.cam[std::size_t(y) * l.window + x] = std::max(0.0f, band.at(k, cy + y, cx + x));
        }
    for (int c = 0; c < k; ++c)
        logits.data[std::size_t(c)] =
            static_cast<float>(sums[std::size_t(c)] / (l.window * l.window)) +
            dense.bias()[std::size_t(c)];
    o.probabilities = model.probabilities(logits).front();
    return o;
}

}  // namespace

std::string denseRefusal(const Model& model, const SlideAnalysis& a) {
    if (a.grid.wholeImage) return "the whole image is resized to the model input (no patch grid)";
    const DenseSupport s = denseSupport(model, a.layer, a.settings.method);
    if (!s.supported) return s.reason;
    const double step = a.grid.stride / a.grid.downsample;
    if (std::abs(step - std::round(step)) > 1e-6 || std::lround(step) % s.stride != 0)
        return "the patch stride (" + std::to_string(step) +
               " model pixels) is not a whole number "
               "of feature cells (" +
               std::to_string(s.stride) + " pixels): choose another overlap";
    if (model.spec().inputWidth != model.spec().inputHeight) return "the model input is not square";
    return {};
}

void analyseDense(const ImageSource& source, const Model& model, SlideAnalysis& a,
                  PatchStore& store, const AnalysisCallbacks& callbacks, std::size_t& doneTotal) {
    const DenseCam dense(model, a.layer, a.settings.method, a.explainedClass);
    const DenseLayout l = layoutOf(a, dense, model.spec(), a.settings.denseTile);
    const int tilesX = (l.width + l.tile - 1) / l.tile;
    const DensePlan plan = planTiles(a, dense, l);
    const auto& completes = plan.completes;
    MapBand band{dense.logitCount() + 1, l.tileCells, tilesX * l.tileCells, -1, {}, {}};
    // The next tile is read and preprocessed on another thread while the trunk runs over this one.
    const auto readAsync = [&](std::size_t t) {
        return std::async(std::launch::async, [&, t] {
            return readModelRect(source, a, model.spec(), plan.tiles[t].read);
        });
    };
    std::future<FloatTensor> next;
    if (!plan.tiles.empty()) next = readAsync(0);
    std::size_t tileIndex = 0;
    const std::size_t total = a.outcomes.size();
    std::size_t doneNow = 0;
    const auto started = std::chrono::steady_clock::now();
    for (int ty = 0; ty < static_cast<int>(completes.size()); ++ty) {
        const bool hasTiles = tileIndex < plan.tiles.size() && plan.tiles[tileIndex].row == ty;
        if (completes[std::size_t(ty)].empty() && !hasTiles) continue;
        band.startRow(ty);
        for (; tileIndex < plan.tiles.size() && plan.tiles[tileIndex].row == ty; ++tileIndex) {
            if (callbacks.cancelled && callbacks.cancelled()) return;  // `next` waits its read
            const DenseTile& tile = plan.tiles[tileIndex];
            const FloatTensor input = next.get();
            if (tileIndex + 1 < plan.tiles.size()) next = readAsync(tileIndex + 1);
            band.put(dense.tileMaps(input, tile.read, tile.inner), tile.inner.x / l.stride,
                     tile.inner.y / l.stride - ty * l.tileCells);
        }
        for (std::size_t i : completes[std::size_t(ty)]) {
            PatchOutcome o = outcomeOf(model, dense, band, l, a.grid.patches[i]);
            const std::string why =
                PatchStore::implausible(o, static_cast<int>(a.classes.size()), o.cam.size());
            if (!why.empty())
                throw ModelError(a.modelPath, "impossible dense output for patch " +
                                                  std::to_string(i) + " of " + a.slidePath + ": " +
                                                  why);
            store.append(i, o, l.window, l.window);
            a.outcomes[i] = std::move(o);
        }
        store.flush();
        a.camWidth = a.camHeight = l.window;
        doneNow += completes[std::size_t(ty)].size();
        doneTotal += completes[std::size_t(ty)].size();
        if (callbacks.onProgress) {
            AnalysisProgress progress;
            progress.done = doneTotal;
            progress.total = total;
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            progress.patchesPerSecond = seconds > 0 ? doneNow / seconds : 0;
            progress.queued = total - doneTotal;
            progress.secondsLeft =
                progress.patchesPerSecond > 0 ? progress.queued / progress.patchesPerSecond : 0;
            callbacks.onProgress(progress);
        }
        if (callbacks.onBatch) callbacks.onBatch(a);
    }
}

}  // namespace lucida
