// Dense mode over a slide's patch grid (see DenseAnalysis.h and cam/DenseCam.h).
#include "analysis/DenseAnalysis.h"

#include "analysis/DenseOrder.h"

#include "cam/DenseCam.h"
#include "image/ImageError.h"
#include "model/Model.h"
#include "model/ModelError.h"
#include "model/Preprocess.h"
#include "model/QuantisedTrunk.h"
#include "tiles/TileRegionReader.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <thread>
#include <unordered_map>

namespace lucida {
namespace {

// The plan in model pixels and feature cells.
struct DenseLayout {
    int stride = 0;             // model pixels per cell
    int patchStep = 0;          // cells between patch origins
    int window = 0;             // cells per patch side
    int width = 0, height = 0;  // model pixels covered by the grid
    int maxSide = 0;            // model pixels a tile may read per side (memory and cache)
    int tileCells = 0;          // cells per tile row (band), chosen by planTiles
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
    // A tile reads at most maxSide² pixels. Stride-32 trunks (ResNets) need their large halos
    // shared by large tiles, but ResNet-18's activations must stay well within the 256 MiB of heap
    // DenseCam keeps for reuse: from 1792 px on the heap was trimmed and page-faulted in again for
    // every layer (8192 × 6144 demo slide: 1280 and 1536 px 10.3–10.5 s, 1792 px 16.0 s, 1984 px
    // 22 s, with 2.4× the page faults and one core mostly idle). The small CNN's full-resolution
    // activations ran out of cache beyond 512 px. On CUDA the side follows the free device memory
    // (denseTileSideForDevice, `--batch auto`'s rule).
    l.maxSide = tileSetting > 0 ? tileSetting : (l.stride >= 16 ? 1536 : 512);
    return l;
}

// Model pixels (x, y, w, h) of the grid's area as the model sees them: read from the patches'
// level through the run's tiles (the viewer's cache and loader when it gives them, as patch mode
// reads), resized to the model's scale, glass beyond the slide white.
FloatTensor readModelRect(const ImageSource& source, TileRegionReader& tiles,
                          const SlideAnalysis& a, const ModelSpec& spec, const DenseRect& r) {
    const int level = a.grid.patches.empty() ? 0 : a.grid.patches.front().level;
    const double ds = a.grid.downsample / source.info().level(level).downsample;
    const Rect rect{static_cast<std::int64_t>(std::floor(r.x * ds)),
                    static_cast<std::int64_t>(std::floor(r.y * ds)),
                    std::max<std::int64_t>(1, std::lround(r.width * ds)),
                    std::max<std::int64_t>(1, std::lround(r.height * ds))};
    PixelBuffer pixels = tiles.read(level, rect, a.settings.slice);
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

struct DenseTile {
    int row = 0;      // band (tile row)
    DenseRect inner;  // model pixels, multiples of the stride
    DenseRect read;   // inner grown by the halo
};

// The tiles to run, band by band, and the patches each band completes.
struct DensePlan {
    int bandCells = 0;
    std::vector<DenseTile> tiles;
    std::vector<std::vector<std::size_t>> completes;  // per band
    double readPixels = 0;                            // what the trunk runs over
    int tallest = 0;                                  // the highest read, model pixels
};

// The rows [y0, y1] of one column's cells that not-yet-done patches' windows cover in a band.
struct ColumnSpan {
    int y0 = std::numeric_limits<int>::max(), y1 = -1;
    bool empty() const { return y1 < y0; }
    void add(const ColumnSpan& o) { y0 = std::min(y0, o.y0), y1 = std::max(y1, o.y1); }
};

// Cells [x0, x1] × span of a band as a tile: inner (clipped to the grid's area) and what it reads.
DenseTile tileOf(const DenseCam& dense, const DenseLayout& l, int band, int x0, int x1,
                 const ColumnSpan& span) {
    const int s = l.stride;
    DenseTile t;
    t.row = band;
    t.inner = {x0 * s, span.y0 * s, std::min((x1 + 1) * s, l.width) - x0 * s,
               std::min((span.y1 + 1) * s, l.height) - span.y0 * s};
    t.read = dense.readRect({0, 0, l.width, l.height}, t.inner);
    return t;
}

double areaOf(const DenseTile& t) { return double(t.read.width) * t.read.height; }

// One piece of a band (columns [x0, x1] with the rows they need), cut into tiles of at most
// maxSide² pixels read, of equal widths and the piece's rows, so that each tile continues the one
// before it (DenseCarry: the halo between them is computed once when they run in this order).
// Without streaming (LUCIDA_DENSE_NO_STREAM=1) each tile is shrunk to the rows its own columns
// need instead, as before streaming.
void addPiece(DensePlan& plan, const DenseCam& dense, const DenseLayout& l, int band, int x0,
              int x1, const std::vector<ColumnSpan>& columns, const std::vector<DenseRect>& above) {
    ColumnSpan all;
    for (int x = x0; x <= x1; ++x) all.add(columns[std::size_t(x)]);
    const DenseTile whole = tileOf(dense, l, band, x0, x1, all);
    const double budget = double(l.maxSide) * l.maxSide;
    const int fit = std::max(
        1, static_cast<int>(budget / whole.read.height - dense.halo() - dense.support().haloAfter) /
               l.stride);
    const int count = (x1 - x0 + 1 + fit - 1) / fit;
    const int width = (x1 - x0 + 1 + count - 1) / count;
    const DenseRect region{0, 0, l.width, l.height};
    for (int cx = x0; cx <= x1; cx += width) {
        const int cx1 = std::min(x1, cx + width - 1);
        ColumnSpan span = all;
        if (!denseStreaming()) {
            span = {};
            for (int x = cx; x <= cx1; ++x) span.add(columns[std::size_t(x)]);
            if (span.empty()) continue;
        }
        DenseTile t = tileOf(dense, l, band, cx, cx1, span);
        const DenseRect streamed =
            dense.readRect(region, t.inner, cx == x0 ? nullptr : &plan.tiles.back().inner, &above);
        plan.readPixels += double(streamed.width) * streamed.height;
        plan.tallest = std::max(plan.tallest, t.read.height);
        plan.tiles.push_back(t);
    }
}

// The plan for bands of `bandCells` cell rows. In each band the columns that patches need are
// joined into pieces while one tile over both costs no more pixels than two (the halo between
// them is shared instead of computed twice), so that tissue is covered by few large tiles and
// glass far from it is neither read nor run.
DensePlan planBands(const SlideAnalysis& a, const DenseCam& dense, const DenseLayout& l,
                    int bandCells) {
    const int s = l.stride;
    const int cellsWide = (l.width + s - 1) / s, cellsHigh = (l.height + s - 1) / s;
    const int bands = (cellsHigh + bandCells - 1) / bandCells;
    DensePlan plan;
    plan.bandCells = bandCells;
    plan.completes.resize(std::size_t(bands));
    std::vector<std::vector<std::size_t>> inBand(static_cast<std::size_t>(bands));
    for (std::size_t i = 0; i < a.grid.patches.size(); ++i) {
        if (a.outcomes[i].done) continue;
        const Patch& p = a.grid.patches[i];
        const int cy0 = p.row * l.patchStep, cy1 = cy0 + l.window - 1;
        for (int b = cy0 / bandCells; b <= cy1 / bandCells; ++b)
            inBand[std::size_t(b)].push_back(i);
        plan.completes[std::size_t(cy1 / bandCells)].push_back(i);
    }
    std::vector<ColumnSpan> columns(static_cast<std::size_t>(cellsWide));
    std::vector<DenseRect> above;  // the band above's tiles: those under them may stream down
    std::size_t bandStart = 0;
    for (int b = 0; b < bands; ++b) {
        above.clear();
        for (std::size_t t = bandStart; t < plan.tiles.size(); ++t)
            above.push_back(plan.tiles[t].inner);
        bandStart = plan.tiles.size();
        if (inBand[std::size_t(b)].empty()) continue;
        std::fill(columns.begin(), columns.end(), ColumnSpan{});
        const int top = b * bandCells, bottom = top + bandCells - 1;
        for (std::size_t i : inBand[std::size_t(b)]) {
            const Patch& p = a.grid.patches[i];
            const int cx0 = p.column * l.patchStep, cy0 = p.row * l.patchStep;
            const ColumnSpan rows{std::max(top, cy0), std::min(bottom, cy0 + l.window - 1)};
            for (int x = cx0; x < cx0 + l.window; ++x) columns[std::size_t(x)].add(rows);
        }
        // Runs of needed columns, joined greedily left to right while that reads no more.
        int pieceX0 = -1, pieceX1 = -1;
        ColumnSpan piece;
        for (int x = 0; x <= cellsWide; ++x) {
            if (x < cellsWide && !columns[std::size_t(x)].empty()) continue;
            // x ends a run [runX0, x - 1] (or is the end of the band)
            int runX0 = x;
            ColumnSpan run;
            while (runX0 > 0 && !columns[std::size_t(runX0 - 1)].empty())
                run.add(columns[std::size_t(--runX0)]);
            if (run.empty()) continue;
            if (pieceX0 >= 0) {
                ColumnSpan joined = piece;
                joined.add(run);
                const double apart = areaOf(tileOf(dense, l, b, pieceX0, pieceX1, piece)) +
                                     areaOf(tileOf(dense, l, b, runX0, x - 1, run));
                if (areaOf(tileOf(dense, l, b, pieceX0, x - 1, joined)) <= apart) {
                    pieceX1 = x - 1, piece = joined;
                    continue;
                }
            }
            if (pieceX0 >= 0) addPiece(plan, dense, l, b, pieceX0, pieceX1, columns, above);
            pieceX0 = runX0, pieceX1 = x - 1, piece = run;
        }
        if (pieceX0 >= 0) addPiece(plan, dense, l, b, pieceX0, pieceX1, columns, above);
    }
    return plan;
}

// The band height that reads the fewest pixels, among multiples of a patch window (a window
// must lie within two consecutive bands) whose tiles stay within maxSide; ties go to the higher
// band (fewer, larger tiles).
DensePlan planTiles(const SlideAnalysis& a, const DenseCam& dense, DenseLayout& l) {
    const int cellsHigh = (l.height + l.stride - 1) / l.stride;
    DensePlan best = planBands(a, dense, l, l.window);
    for (int cells = 2 * l.window; cells < cellsHigh + l.window; cells += l.window) {
        if (cells * l.stride > l.maxSide) break;
        DensePlan plan = planBands(a, dense, l, std::min(cells, cellsHigh));
        if (plan.tallest <= l.maxSide && plan.readPixels <= best.readPixels) best = std::move(plan);
    }
    l.tileCells = best.bandCells;
    return best;
}

// A tile's cells on the region's grid of cells.
CellBox cellsOf(const DenseTile& t, int stride) {
    return {t.inner.x / stride, t.inner.y / stride, (t.inner.width + stride - 1) / stride,
            (t.inner.height + stride - 1) / stride};
}

// The maps [channels][window][window] under a patch's window, gathered from the maps of the
// tiles it touches (kept per tile, so that tiles may run in any order).
std::vector<float> windowMaps(const DenseSchedule& schedule, std::size_t slot,
                              const std::unordered_map<std::size_t, FloatTensor>& maps,
                              int channels) {
    const CellBox& w = schedule.window(slot);
    std::vector<float> out(std::size_t(channels) * w.width * w.height, 0.0f);
    for (std::size_t t : schedule.tilesOf(slot)) {
        const CellBox& b = schedule.tile(t);
        const FloatTensor& m = maps.at(t);
        const int x0 = std::max(w.x, b.x), x1 = std::min(w.x + w.width, b.x + b.width);
        const int y0 = std::max(w.y, b.y), y1 = std::min(w.y + w.height, b.y + b.height);
        for (int c = 0; c < channels; ++c)
            for (int y = y0; y < y1; ++y)
                std::copy_n(&m.data[(std::size_t(c) * b.height + (y - b.y)) * b.width + (x0 - b.x)],
                            x1 - x0,
                            &out[(std::size_t(c) * w.height + (y - w.y)) * w.width + (x0 - w.x)]);
    }
    return out;
}

// A patch's outcome from the maps under its window: the CAM the method map's crop, the logits
// the mean of W · F over the window plus the bias.
PatchOutcome outcomeOf(const Model& model, const DenseCam& dense, const std::vector<float>& maps,
                       int window) {
    const int k = dense.logitCount();
    const std::size_t area = std::size_t(window) * window;
    PatchOutcome o;
    o.done = true;
    o.cam.resize(area);
    FloatTensor logits({1, k});
    std::vector<double> sums(std::size_t(k), 0.0);
    for (std::size_t cell = 0; cell < area; ++cell) {
        for (int c = 0; c < k; ++c) sums[std::size_t(c)] += maps[std::size_t(c) * area + cell];
        o.cam[cell] = std::max(0.0f, maps[std::size_t(k) * area + cell]);
    }
    for (int c = 0; c < k; ++c)
        logits.data[std::size_t(c)] =
            static_cast<float>(sums[std::size_t(c)] / double(area)) + dense.bias()[std::size_t(c)];
    o.probabilities = model.probabilities(logits).front();
    return o;
}

// The plan's tiles and the windows of the patches still to do, in cells, for ordering.
DenseSchedule scheduleOf(const SlideAnalysis& a, const DensePlan& plan, const DenseLayout& l) {
    std::vector<CellBox> tiles;
    tiles.reserve(plan.tiles.size());
    for (const DenseTile& t : plan.tiles) tiles.push_back(cellsOf(t, l.stride));
    std::vector<std::pair<std::size_t, CellBox>> windows;
    for (std::size_t i = 0; i < a.grid.patches.size(); ++i) {
        if (a.outcomes[i].done) continue;
        const Patch& p = a.grid.patches[i];
        windows.push_back({i, {p.column * l.patchStep, p.row * l.patchStep, l.window, l.window}});
    }
    return DenseSchedule(std::move(tiles), std::move(windows));
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

namespace {
// The pieces the int8 trunk is calibrated on, from this image's own tissue: the central 512²
// model pixels of up to four of the plan's tiles, spread over it (about a megapixel of fp32
// trunk, once per run).
std::vector<FloatTensor> calibrationPieces(const ImageSource& source, TileRegionReader& tiles,
                                           const Model& model, const SlideAnalysis& a,
                                           const DensePlan& plan) {
    constexpr int kSide = 512;
    const std::size_t n = std::min<std::size_t>(4, plan.tiles.size());
    std::vector<FloatTensor> inputs;
    for (std::size_t i = 0; i < n; ++i) {
        DenseRect r = plan.tiles[i * plan.tiles.size() / n].read;
        r.x += std::max(0, (r.width - kSide) / 2), r.width = std::min(r.width, kSide);
        r.y += std::max(0, (r.height - kSide) / 2), r.height = std::min(r.height, kSide);
        inputs.push_back(readModelRect(source, tiles, a, model.spec(), r));
    }
    return inputs;
}

// A tile whose int8 activations reach the ends of their range in more than this share (0.1 %)
// of the values at some layer passed what calibration saw, with its headroom: the trunk is
// calibrated again with that tile included and the tile run again, at most kRecalibrations
// times a run (each costs the fp32 trunk over every calibration piece).
constexpr double kSaturated = 1e-3;
constexpr int kRecalibrations = 3;
}  // namespace

void analyseDense(const ImageSource& source, TileRegionReader& tiles, const Model& model,
                  SlideAnalysis& a, PatchStore& store, const AnalysisCallbacks& callbacks,
                  std::size_t& doneTotal) {
    DenseCam dense(model, a.layer, a.settings.method, a.explainedClass);
    DenseLayout l = layoutOf(a, dense, model.spec(), a.settings.denseTile);
    if (a.settings.denseTile <= 0)  // on CUDA: the largest tile the free device memory holds
        if (const int side = denseTileSideForDevice(dense, model, 8192); side > 0) l.maxSide = side;
    const DensePlan plan = planTiles(a, dense, l);
    std::vector<FloatTensor> calibration;
    if (a.settings.int8 && !plan.tiles.empty()) {
        calibration = calibrationPieces(source, tiles, model, a, plan);
        dense.setInt8Trunk(calibratedTrunk(model, a.layer, calibration));
    }
    int recalibrated = 0;
    DenseSchedule schedule = scheduleOf(a, plan, l);
    const int channels = dense.logitCount() + 1;
    // The view in cells: level-0 pixels ÷ (level-0 pixels per model pixel × model pixels per cell).
    const double cellSide = a.grid.downsample * l.stride;
    bool whole = callbacks.wholeSlide ? callbacks.wholeSlide() : true;
    std::optional<std::array<double, 4>> focused =
        callbacks.focus ? callbacks.focus() : std::nullopt;
    const auto reorder = [&] {
        std::optional<std::array<double, 4>> cells;
        if (focused) {
            const auto& v = *focused;
            cells = {v[0] / cellSide, v[1] / cellSide, v[2] / cellSide, v[3] / cellSide};
        }
        schedule.order(cells, whole);
    };
    reorder();

    // The maps of the tiles run, kept until every patch they touch is done.
    std::unordered_map<std::size_t, FloatTensor> maps;
    // The next tile is read and preprocessed on another thread while the trunk runs over this one.
    // Where it continues this one's row it reads only what its new cells need (DenseCarry).
    const DenseRect region{0, 0, l.width, l.height};
    DenseCarry carry;
    std::optional<std::size_t> ahead, running;
    DenseRect aheadRead;
    std::future<FloatTensor> next;
    const auto readAhead = [&] {
        ahead = schedule.take();
        if (!ahead) return;
        aheadRead = dense.readRect(region, plan.tiles[*ahead].inner,
                                   running ? &plan.tiles[*running].inner : nullptr, carry);
        next = std::async(std::launch::async, [&, r = aheadRead] {
            return readModelRect(source, tiles, a, model.spec(), r);
        });
    };
    const std::size_t total = a.outcomes.size();
    using Clock = std::chrono::steady_clock;
    const auto secondsSince = [](Clock::time_point t0) {
        return std::chrono::duration<double>(Clock::now() - t0).count();
    };
    RunRate rate;
    bool idle = false;
    const auto progress = [&] {
        AnalysisProgress p;
        rate.fill(p, doneTotal, total, schedule.queuedPatches());
        p.reads = tiles.counts();
        p.wholeSlide = whole;
        p.idle = idle;
        return p;
    };
    while (doneTotal < total) {
        // Taken before the callbacks are asked: a change told after this wakes the wait below.
        const std::uint64_t seen = callbacks.wake ? callbacks.wake->generation() : 0;
        if (callbacks.cancelled && callbacks.cancelled()) return;  // `next` waits its read
        // A new view or scope re-orders the tiles not yet taken (the one read ahead stays).
        const bool wholeNow = callbacks.wholeSlide ? callbacks.wholeSlide() : true;
        const auto view = callbacks.focus ? callbacks.focus() : std::nullopt;
        if (wholeNow != whole || (view && view != focused)) {
            whole = wholeNow;
            if (view) focused = view;
            reorder();
        }
        if (!ahead) readAhead();
        if (!ahead) {  // view scope, everything in view done: wait for the view to move
            rate.idleSeconds += waitWhileIdle(callbacks, idle, progress, a, seen);
            continue;
        }
        idle = false;
        const std::size_t t = *ahead;
        auto t0 = Clock::now();
        FloatTensor input = next.get();
        a.dense.waitSeconds += secondsSince(t0);
        DenseRect read = aheadRead;
        running = t;
        readAhead();
        const DenseTile& tile = plan.tiles[t];
        const auto readWhole = [&] {
            if (read.x == tile.read.x && read.y == tile.read.y) return;
            input = readModelRect(source, tiles, a, model.spec(), tile.read);
            read = tile.read;
        };
        if (!dense.continues(carry, read, tile.inner)) readWhole();  // e.g. after a recalibration
        carry.keepFrom(tile.inner.x, tile.row * plan.bandCells * l.stride);
        t0 = Clock::now();
        // Saturation is counted (a pass over every int8 output) only while it can still act.
        double saturated = 0;
        const bool watch = a.settings.int8 && recalibrated < kRecalibrations;
        FloatTensor tileMaps = dense.tileMaps(input, read, tile.inner, watch ? &saturated : nullptr,
                                              carry, &a.dense.stepPixels);
        ++a.dense.tiles;
        a.dense.streamedTiles += read.x != tile.read.x || read.y != tile.read.y;
        a.dense.streamedDown += read.y != tile.read.y;
        a.dense.keptBytes = std::max(a.dense.keptBytes, carry.keptBytes());
        a.dense.pixelsRead += double(read.width) * read.height;
        if (saturated > kSaturated && recalibrated < kRecalibrations) {
            readWhole();
            calibration.push_back(input);
            dense.setInt8Trunk(calibratedTrunk(model, a.layer, calibration));
            tileMaps = dense.tileMaps(input, read, tile.inner, nullptr, carry, &a.dense.stepPixels);
            if (++recalibrated == 1)
                a.notices.push_back(
                    "int8 calibrated again: a region's activations passed the calibrated range");
        }
        a.dense.trunkSeconds += secondsSince(t0);
        t0 = Clock::now();
        const CellBox& cells = schedule.tile(t);
        if (tileMaps.dims() != 3 || tileMaps.size(0) != channels ||
            tileMaps.size(1) != cells.height || tileMaps.size(2) != cells.width)
            throw ModelError(a.modelPath, "dense maps of an unexpected size for " + a.slidePath);
        maps.emplace(t, std::move(tileMaps));
        std::vector<std::size_t> released;
        const std::vector<std::size_t> complete = schedule.finish(t, released);
        for (std::size_t slot : complete) {
            const std::size_t i = schedule.gridIndex(slot);
            PatchOutcome o =
                outcomeOf(model, dense, windowMaps(schedule, slot, maps, channels), l.window);
            const std::string why =
                PatchStore::implausible(o, static_cast<int>(a.classes.size()), o.cam.size());
            if (!why.empty())
                throw ModelError(a.modelPath, "impossible dense output for patch " +
                                                  std::to_string(i) + " of " + a.slidePath + ": " +
                                                  why);
            store.append(i, o, l.window, l.window);
            a.outcomes[i] = std::move(o);
        }
        for (std::size_t r : released) maps.erase(r);
        store.flush();
        a.dense.outcomeSeconds += secondsSince(t0);
        a.camWidth = a.camHeight = l.window;
        rate.doneNow += complete.size();
        doneTotal += complete.size();
        if (callbacks.onProgress) callbacks.onProgress(progress());
        if (!complete.empty() && callbacks.onBatch) callbacks.onBatch(a);
    }
}

}  // namespace lucida
