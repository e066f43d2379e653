#include "analysis/SlideAnalysis.h"

#include "analysis/DenseAnalysis.h"
#include "cam/Batching.h"
#include "cam/Explainer.h"
#include "image/ImageError.h"
#include "io/AtomicFile.h"
#include "model/Model.h"
#include "model/ModelError.h"
#include "model/Preprocess.h"
#include "model/QuantisedTrunk.h"
#include "tiles/CentreOut.h"
#include "tiles/TileCache.h"
#include "tiles/TileLoader.h"
#include "tiles/TileRegionReader.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

namespace lucida {
namespace {

namespace fs = std::filesystem;

std::uint64_t fnv1a(const std::string& text) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
    return h;
}

int defaultClass(const Model& model, const AnalysisSettings& settings) {
    const int count = model.spec().classCount();
    if (settings.classIndex) {
        if (*settings.classIndex < 0 || *settings.classIndex >= count)
            throw std::invalid_argument("class " + std::to_string(*settings.classIndex) +
                                        " out of range: the model has " + std::to_string(count) +
                                        " classes");
        return *settings.classIndex;
    }
    return count - 1;  // a binary model's positive class
}

PatchGridOptions gridOptions(const ImageInfo& image, const Model& model,
                             const AnalysisSettings& settings,
                             std::vector<std::string>* notices = nullptr) {
    PatchGridOptions o;
    o.wholeImage = usesWholeImage(image, model.spec(), settings.fit);
    o.inputSize = model.spec().inputWidth;
    o.micronsPerPixel = model.spec().micronsPerPixel;
    o.magnification = model.spec().magnification;
    o.overlap = settings.overlap;
    // A radiology image (mm) and a microscope model (µm): no common scale. Auto fits the whole
    // image (usesWholeImage); patches are cut at the image's own pixels.
    const std::string unmappable = unmappableScale(image, o);
    if (!unmappable.empty()) {
        o.micronsPerPixel.reset();
        o.magnification.reset();
        if (notices)
            notices->push_back(unmappable + (o.wholeImage
                                                 ? "; the whole image is resized to the model "
                                                   "input instead"
                                                 : "; patches are cut at the image's own pixels "
                                                   "instead"));
    }
    o.minTissue = settings.detectTissue && !o.wholeImage ? settings.minTissue : 0;
    return o;
}

// Patch pixels as the model sees them; beyond the slide's edge is white glass, not black. The whole
// image is read as `lucida-cli explain` reads it, so both give the same answer.
FloatTensor readPatch(const ImageSource& source, TileRegionReader& tiles, const PatchGrid& grid,
                      const Patch& patch, const ModelSpec& spec, int slice) {
    if (grid.wholeImage)
        return preprocess(readWholeImage(source, spec.inputWidth, spec.inputHeight, slice), spec);
    const double ds = source.info().level(patch.level).downsample;
    const Rect rect{
        static_cast<std::int64_t>(std::floor(patch.x / ds)),
        static_cast<std::int64_t>(std::floor(patch.y / ds)),
        std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(patch.width / ds))),
        std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(patch.height / ds)))};
    PixelBuffer pixels = tiles.read(patch.level, rect, slice);  // the same pixels, shared
    if (pixels.format == PixelFormat::Rgba8) {
        for (std::size_t i = 0; i + 3 < pixels.bytes.size(); i += 4) {
            if (pixels.bytes[i + 3] == 0) {
                pixels.bytes[i] = pixels.bytes[i + 1] = pixels.bytes[i + 2] = 255;
                pixels.bytes[i + 3] = 255;
            }
        }
        return preprocess(pixels, spec);
    }
    const auto& info = source.info();
    const auto windows = source.windowsForSlice(slice);  // the first, as training and explain use
    return preprocess(pixels, spec, windows.empty() ? nullptr : &windows.front(),
                      &info.grayMapping);
}

// Sets up the analysis (tissue, grid, key, results folder) without running the model.
SlideAnalysis prepare(const ImageSource& source, const Model& model,
                      const AnalysisSettings& settings, const std::string& resultsRoot) {
    SlideAnalysis a;
    a.slidePath = source.info().path;
    a.modelPath = model.path();
    a.settings = settings;
    a.classes = model.spec().classes;
    a.explainedClass = defaultClass(model, settings);
    a.layer = settings.layer.empty() ? model.defaultTargetLayer() : settings.layer;
    if (settings.slice < 0 || settings.slice >= source.info().sliceCount)
        throw std::invalid_argument(source.info().path + ": no slice " +
                                    std::to_string(settings.slice + 1) + " (the image has " +
                                    std::to_string(source.info().sliceCount) + ")");
    const PatchGridOptions options = gridOptions(source.info(), model, settings, &a.notices);
    const bool tissue = settings.detectTissue && !options.wholeImage;
    if (tissue) a.tissue = detectTissue(source);
    a.grid = planPatchGrid(source.info(), options, tissue ? &a.tissue : nullptr);
    if (settings.mode == AnalysisMode::Dense) {
        std::string why = denseRefusal(model, a);
        if (why.empty() && (settings.eigenSmooth || settings.augmentSmooth))
            why = "smoothing explains each patch on its own";
        if (!why.empty()) {
            a.settings.mode = AnalysisMode::Patch;
            a.notices.push_back("dense mode does not apply (" + why + "): patches as trained");
        }
    }
    if (a.settings.int8) {  // dense mode's trunk only; else fp32, keyed and stored as such
        std::string why = a.settings.mode == AnalysisMode::Dense ? int8Refusal(model)
                                                                 : "int8 runs in dense mode only";
        if (!why.empty()) {
            a.settings.int8 = false;
            a.notices.push_back("int8 does not apply (" + why + "): fp32");
        }
    }
    AnalysisSettings keyed = a.settings;
    keyed.layer = a.layer;
    a.key = analysisKey(source.info().path, model.path(), keyed, options, a.explainedClass);
    // A pixel size given from outside the file (a project's, cohort/PixelSizeOverride.h) changes
    // the plan: its results are kept apart (keys of the file's own scale stay as they were).
    if (const auto given = source.info().property("lucida.given_pixel_size_um")) {
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx",
                      static_cast<unsigned long long>(fnv1a(a.key + "|pixel-size=" + *given)));
        a.key = hex;
    }
    a.resultsDir = (fs::path(resultsRoot) / a.key).string();
    a.outcomes.resize(a.grid.patches.size());
    return a;
}

StoreLayout storeLayout(const SlideAnalysis& a) {
    return {a.key, a.grid.patches.size(), static_cast<int>(a.classes.size())};
}

std::string storePath(const SlideAnalysis& a) {
    return (fs::path(a.resultsDir) / "patches.bin").string();
}

// Reads what is stored without changing anything (another process may be writing it).
void readStored(SlideAnalysis& a) {
    const StoreReport report = PatchStore(storePath(a), storeLayout(a)).read(a.outcomes);
    a.reused = report.loaded;
    if (report.camWidth > 0) {
        a.camWidth = report.camWidth;
        a.camHeight = report.camHeight;
    }
}

// What each patch is explained with: the analysis's method, class, layer and smoothing.
ExplainOptions explainOptionsOf(const SlideAnalysis& a) {
    ExplainOptions o;
    o.method = a.settings.method;
    o.classIndex = a.explainedClass;
    o.layer = a.layer;
    o.eigenSmooth = a.settings.eigenSmooth;
    o.augmentSmooth = a.settings.augmentSmooth;
    return o;
}

void writeSettings(const SlideAnalysis& a) {
    nlohmann::json j = {{"slide", a.slidePath},
                        {"model", a.modelPath},
                        {"key", a.key},
                        {"method", a.settings.method},
                        {"class", a.explainedClass},
                        {"layer", a.layer},
                        {"overlap", a.settings.overlap},
                        {"min_tissue", a.settings.minTissue},
                        {"tissue_detection", a.settings.detectTissue},
                        {"whole_image", a.grid.wholeImage},
                        {"slice", a.settings.slice},
                        {"mode", a.settings.mode == AnalysisMode::Dense ? "dense" : "patch"},
                        {"precision", a.settings.int8 ? "int8" : "fp32"},
                        {"eigen_smooth", a.settings.eigenSmooth},
                        {"flip_smooth", a.settings.augmentSmooth}};
    const std::string path = (fs::path(a.resultsDir) / "settings.json").string();
    writeFileAtomically(path, j.dump(2) + "\n");
}

// Orders todo[from..] for a view: patches intersecting it first, each group by distance of the
// patch centre from the view centre (ties by grid order).
void prioritise(std::vector<std::size_t>& todo, std::size_t from, const PatchGrid& grid,
                const std::array<double, 4>& view) {
    const auto first = todo.begin() + static_cast<std::ptrdiff_t>(from);
    std::sort(first, todo.end());  // grid order, which breaks distance ties
    const auto outside = std::stable_partition(first, todo.end(), [&](std::size_t i) {
        return grid.patches[i].intersects(view[0], view[1], view[2], view[3]);
    });
    const PointF centre{view[0] + view[2] / 2, view[1] + view[3] / 2};
    auto centreOf = [&](std::size_t i) { return patchCentre(grid.patches[i]); };
    sortCentreOut(first, outside, centre, centreOf);
    sortCentreOut(outside, todo.end(), centre, centreOf);
}

// The request queue of one run: positions in `todo` before nextToConsume were consumed, those
// up to nextToDecode are being decoded or wait decoded in `ready`, the rest are requests not yet
// started, which a new view or scope replaces. Decoder threads fill `ready` in todo order, at
// most `capacity` ahead; the run's thread batches and runs the model, so decoding the next batch
// overlaps inference.
struct PatchQueue {
    struct Decoded {
        std::size_t index;
        FloatTensor input;
        std::string error;
    };
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::size_t> todo;
    std::map<std::size_t, Decoded> ready;  // by position in `todo`
    std::size_t nextToDecode = 0, nextToConsume = 0, capacity = 0;
    bool stop = false;
    std::vector<std::thread> decoders;

    void start(int threads, const std::function<FloatTensor(std::size_t index)>& decode) {
        for (int t = 0; t < threads; ++t)
            decoders.emplace_back([this, decode] {
                for (;;) {
                    std::size_t position, index;
                    {
                        std::unique_lock lock(mutex);
                        changed.wait(lock, [&] {
                            return stop || (nextToDecode < todo.size() &&
                                            nextToDecode < nextToConsume + capacity);
                        });
                        if (stop) return;
                        position = nextToDecode++;
                        index = todo[position];
                    }
                    Decoded d{index, {}, {}};
                    try {
                        d.input = decode(index);
                    } catch (const std::exception& e) {
                        d.error = e.what();
                    }
                    std::lock_guard lock(mutex);
                    ready.emplace(position, std::move(d));
                    changed.notify_all();
                }
            });
    }

    void shutdown() {
        {
            std::lock_guard lock(mutex);
            stop = true;
            changed.notify_all();
        }
        for (auto& t : decoders) t.join();
        decoders.clear();
    }

    // The next `count` requests in order, waiting for their decodes; those `keep` refuses are
    // dropped and counted in `dropped`.
    std::vector<Decoded> take(std::size_t count, const std::function<bool(std::size_t)>& keep,
                              std::size_t& dropped) {
        std::vector<Decoded> batch;
        std::unique_lock lock(mutex);
        const std::size_t end = std::min(todo.size(), nextToConsume + count);
        for (std::size_t p = nextToConsume; p < end; ++p) {
            changed.wait(lock, [&] { return ready.count(p) > 0; });
            Decoded d = std::move(ready.at(p));
            ready.erase(p);
            if (keep(d.index))
                batch.push_back(std::move(d));
            else
                ++dropped;
        }
        nextToConsume = end;
        changed.notify_all();
        return batch;
    }
};

int decodeThreads(const AnalysisSettings& settings) {
    return settings.decodeThreads > 0
               ? settings.decodeThreads
               : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// The tiles patches are read through: the caller's loader and cache (a viewer's, shared with the
// screen), or a loader and a small cache of the run's own (the CLI), enough for the tiles of the
// patches in flight and of the rows of patches around them.
// LUCIDA_DIRECT_PATCH_READS=1: every patch read straight from the source, as before the tiles
// were shared (benchmarks compare both in one run).
struct PatchTiles {
    static constexpr std::size_t kOwnCacheBytes = std::size_t{256} << 20;
    static bool direct() {
        const char* v = std::getenv("LUCIDA_DIRECT_PATCH_READS");
        return v && *v && std::string(v) != "0";
    }
    PatchTiles(const ImageSource& source, TileLoader* shared, int threads)
        : cache(shared || direct() ? nullptr : std::make_unique<TileCache>(kOwnCacheBytes)),
          loader(cache ? std::make_unique<TileLoader>(*cache, threads) : nullptr),
          reader(direct() ? TileRegionReader(source)
                          : TileRegionReader(source, shared ? *shared : *loader)) {}
    std::unique_ptr<TileCache> cache;
    std::unique_ptr<TileLoader> loader;  // joins its threads before the cache goes
    TileRegionReader reader;
};

// One writer per results folder. Another one (a second `analyse`, a viewer): show what it has
// stored and wait for it; its results are then reused, so no patch is computed twice. Null when
// cancelled while waiting (then `a` holds what the other writer stored, and who it is).
std::unique_ptr<ResultsLock> waitForResultsLock(SlideAnalysis& a,
                                                const AnalysisCallbacks& callbacks) {
    std::string holder;
    auto lock = ResultsLock::tryAcquire(a.resultsDir, &holder);
    if (!lock) {
        using WaitClock = std::chrono::steady_clock;
        WaitClock::time_point lastShown{};
        for (;;) {
            const std::uint64_t seen = callbacks.wake ? callbacks.wake->generation() : 0;
            if (callbacks.cancelled && callbacks.cancelled()) {
                readStored(a);
                a.writer = holder;
                return nullptr;
            }
            if (WaitClock::now() - lastShown >= std::chrono::seconds(1)) {
                lastShown = WaitClock::now();
                readStored(a);
                if (callbacks.onWaiting)
                    callbacks.onWaiting(a, holder + " is writing the results in " + a.resultsDir +
                                               ": waiting for it (" + std::to_string(a.reused) +
                                               " of " + std::to_string(a.outcomes.size()) +
                                               " patches stored so far)");
            }
            // Another process's file lock tells no one when it goes: tried again every 100 ms,
            // and at once on a cancel.
            constexpr std::chrono::milliseconds kRetry{100};
            if (callbacks.wake)
                callbacks.wake->waitAfter(seen, kRetry);
            else
                std::this_thread::sleep_for(kRetry);
            lock = ResultsLock::tryAcquire(a.resultsDir, &holder);
            if (lock) break;
        }
    }
    return lock;
}

// Checks one patch's explanation, appends it to the store and to `a`.
void storeOutcome(SlideAnalysis& a, PatchStore& store, std::size_t index, const Explanation& e) {
    PatchOutcome o{true, e.probabilities, e.map.data};
    const int height = static_cast<int>(e.map.size(0)), width = static_cast<int>(e.map.size(1));
    // Never stored, never shown: what the store would refuse to read back.
    const std::string why =
        PatchStore::implausible(o, static_cast<int>(a.classes.size()), std::size_t(width) * height);
    if (!why.empty()) {
        const Patch& p = a.grid.patches[index];
        throw ModelError(a.modelPath, "impossible output for patch " + std::to_string(index) +
                                          " at (" + std::to_string(std::lround(p.x)) + ", " +
                                          std::to_string(std::lround(p.y)) + ") of " + a.slidePath +
                                          ": " + why);
    }
    store.append(index, o, width, height);
    a.outcomes[index] = std::move(o);
    a.camHeight = height;
    a.camWidth = width;
}

}  // namespace

double waitWhileIdle(const AnalysisCallbacks& callbacks, bool& idle,
                     const std::function<AnalysisProgress()>& progress, const SlideAnalysis& a,
                     std::uint64_t seen) {
    if (!idle) {
        idle = true;
        if (callbacks.onProgress) callbacks.onProgress(progress());
        if (callbacks.onIdle) callbacks.onIdle(a);
    }
    const auto from = std::chrono::steady_clock::now();
    if (callbacks.wake)
        callbacks.wake->waitAfter(seen);  // until the view, scope or cancel changes
    else
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
}

std::string analysisKey(const std::string& imagePath, const std::string& modelPath,
                        const AnalysisSettings& s, const PatchGridOptions& g, int explainedClass) {
    std::error_code ec;
    const auto canonical = fs::weakly_canonical(modelPath, ec).string();
    const auto size = fs::file_size(modelPath, ec);
    const auto mtime = fs::last_write_time(modelPath, ec).time_since_epoch().count();
    // The sidecar too: editing a model's description (classes, normalisation, scale) must not
    // reuse results computed under the old one.
    const std::string sidecar = sidecarPathFor(modelPath);
    const auto sidecarSize = fs::is_regular_file(sidecar, ec) ? fs::file_size(sidecar, ec) : 0;
    const auto sidecarTime = fs::last_write_time(sidecar, ec).time_since_epoch().count();
    const auto imageName = fs::path(imagePath).filename().string();
    const auto imageSize = fs::is_regular_file(imagePath, ec) ? fs::file_size(imagePath, ec) : 0;
    const auto imageTime = fs::last_write_time(imagePath, ec).time_since_epoch().count();
    char text[1024];
    std::snprintf(text, sizeof text,
                  "%s|%ju|%lld|%ju|%lld|%s|%ju|%lld|%s|%d|%s|%d|%.6g|%.6g|%.6g|%.6g|%d|%d|%d",
                  canonical.c_str(), static_cast<std::uintmax_t>(size),
                  static_cast<long long>(mtime), static_cast<std::uintmax_t>(sidecarSize),
                  static_cast<long long>(sidecarTime), imageName.c_str(),
                  static_cast<std::uintmax_t>(imageSize), static_cast<long long>(imageTime),
                  s.method.c_str(), explainedClass, s.layer.c_str(), g.inputSize,
                  g.micronsPerPixel.value_or(0), g.magnification.value_or(0), g.overlap,
                  g.minTissue, s.detectTissue ? 1 : 0, g.wholeImage ? 1 : 0, s.slice);
    std::string keyText = text;
    if (s.mode == AnalysisMode::Dense) keyText += "|dense";  // patch mode's keys stay as they were
    if (s.mode == AnalysisMode::Dense && s.int8) keyText += "|int8";  // never mixed with fp32
    if (s.eigenSmooth) keyText += "|eigen-smooth";                    // as do unsmoothed keys
    if (s.augmentSmooth) keyText += "|flip-smooth";
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(keyText)));
    return hex;
}

bool usesWholeImage(const ImageInfo& image, const ModelSpec& spec, ImageFit fit) {
    if (fit != ImageFit::Auto) return fit == ImageFit::WholeImage;
    auto scale = [](const std::optional<double>& v) { return v && std::isfinite(*v) && *v > 0; };
    // A radiology image (pixel spacing in mm) meets a microscope model: no common scale.
    if (image.displayUnit == LengthUnit::Millimetre &&
        (scale(spec.micronsPerPixel) || scale(spec.magnification)))
        return true;
    // A microscope slide: objective power, or µm per pixel at microscope scale (DICOM spacing
    // is in mm: an MRI slice is a single image).
    const bool slide = scale(image.objectivePower) ||
                       (scale(image.mppX) && image.displayUnit == LengthUnit::Micrometre);
    return !scale(spec.micronsPerPixel) && !scale(spec.magnification) && !slide;
}

std::optional<SlideAnalysis> loadSlideAnalysis(const ImageSource& source, const Model& model,
                                               const AnalysisSettings& settings,
                                               const std::string& resultsRoot) {
    SlideAnalysis a = prepare(source, model, settings, resultsRoot);
    readStored(a);
    if (a.reused == 0) return std::nullopt;
    return a;
}

SlideAnalysis analyseSlide(const ImageSource& source, const Model& model,
                           const AnalysisSettings& settings, const std::string& resultsRoot,
                           const AnalysisCallbacks& callbacks) {
    SlideAnalysis a = prepare(source, model, settings, resultsRoot);
    fs::create_directories(a.resultsDir);
    std::unique_ptr<ResultsLock> lock = waitForResultsLock(a, callbacks);
    if (!lock) return a;  // cancelled while another writer held the folder
    writeSettings(a);
    PatchStore store(storePath(a), storeLayout(a));
    const StoreReport report = store.openForWriting(a.outcomes);
    a.reused = report.loaded;
    a.camWidth = report.camWidth;
    a.camHeight = report.camHeight;
    if (const std::string damage = report.describe(store.path()); !damage.empty())
        a.notices.push_back(damage);
    if (callbacks.onLoaded) callbacks.onLoaded(a);
    const std::size_t total = a.outcomes.size();
    std::size_t doneTotal = a.reused;
    if (doneTotal == total) {
        if (callbacks.onProgress) callbacks.onProgress({total, total, 0, 0, 0, 0, true, false, {}});
        return a;
    }

    if (a.settings.mode == AnalysisMode::Dense) {
        PatchTiles tiles(source, callbacks.tiles, decodeThreads(settings));
        analyseDense(source, tiles.reader, model, a, store, callbacks, doneTotal);
        a.reads = tiles.reader.counts();
        return a;
    }
    const ExplainOptions explainOptions = explainOptionsOf(a);
    int batchSize = settings.batchSize > 0 ? settings.batchSize
                                           : chooseBatchSize(model, explainOptions).batchSize;
    PatchQueue q;
    q.capacity = static_cast<std::size_t>(batchSize) * 3;

    auto inView = [&](std::size_t i, const std::array<double, 4>& view) {
        return a.grid.patches[i].intersects(view[0], view[1], view[2], view[3]);
    };
    bool whole = callbacks.wholeSlide ? callbacks.wholeSlide() : true;
    std::optional<std::array<double, 4>> focused =
        callbacks.focus ? callbacks.focus() : std::nullopt;
    std::size_t cancelled = 0;
    // Replaces the requests not yet started with those of the scope and view now (under q.mutex).
    std::vector<char> mark(total, 0);
    auto requeue = [&] {
        std::fill(mark.begin(), mark.end(), 0);
        for (std::size_t p = q.nextToConsume; p < q.nextToDecode; ++p) mark[q.todo[p]] = 1;
        std::vector<std::size_t> dropped(
            q.todo.begin() + static_cast<std::ptrdiff_t>(q.nextToDecode), q.todo.end());
        q.todo.resize(q.nextToDecode);
        for (std::size_t i = 0; i < total; ++i)
            if (!a.outcomes[i].done && !mark[i] && (whole || (focused && inView(i, *focused)))) {
                q.todo.push_back(i);
                mark[i] = 2;
            }
        if (focused) prioritise(q.todo, q.nextToDecode, a.grid, *focused);
        for (std::size_t i : dropped) cancelled += mark[i] != 2;
    };
    requeue();

    const int threads = decodeThreads(settings);
    PatchTiles tiles(source, callbacks.tiles, threads);
    q.start(threads, [&](std::size_t index) {
        return readPatch(source, tiles.reader, a.grid, a.grid.patches[index], model.spec(),
                         settings.slice);
    });

    RunRate rate;
    bool idle = false;
    auto progress = [&] {
        AnalysisProgress p;
        rate.fill(p, doneTotal, total, q.todo.size() - q.nextToConsume);
        p.cancelled = cancelled;
        p.wholeSlide = whole;
        p.idle = idle;
        p.reads = tiles.reader.counts();
        return p;
    };
    try {
        while (doneTotal < total) {
            // Taken before the callbacks are asked: a change told after this wakes the wait below.
            const std::uint64_t seen = callbacks.wake ? callbacks.wake->generation() : 0;
            if (callbacks.cancelled && callbacks.cancelled()) break;
            const bool wholeNow = callbacks.wholeSlide ? callbacks.wholeSlide() : true;
            const auto view = callbacks.focus ? callbacks.focus() : std::nullopt;
            if (wholeNow != whole || (view && view != focused)) {
                whole = wholeNow;
                if (view) focused = view;
                std::lock_guard lock(q.mutex);
                requeue();
                q.changed.notify_all();
            }
            if (q.nextToConsume == q.todo.size()) {  // view scope, all in view done: wait
                rate.idleSeconds += waitWhileIdle(callbacks, idle, progress, a, seen);
                continue;
            }
            idle = false;
            // Decoded for a view the user has left: dropped before the expensive part.
            std::vector<PatchQueue::Decoded> batch = q.take(
                std::size_t(batchSize),
                [&](std::size_t index) { return whole || !focused || inView(index, *focused); },
                cancelled);
            for (const auto& d : batch)
                if (!d.error.empty()) throw ImageError(a.slidePath, d.error);
            if (!batch.empty()) {
                std::vector<FloatTensor> inputs;
                for (auto& d : batch) inputs.push_back(std::move(d.input));
                const auto explanations = runInBatches(
                    static_cast<std::int64_t>(inputs.size()), batchSize,
                    [&](std::int64_t first, std::int64_t count) {
                        return explain(
                            model,
                            stackBatch({inputs.begin() + first, inputs.begin() + first + count}),
                            explainOptions);
                    });
                for (std::size_t i = 0; i < batch.size(); ++i)
                    storeOutcome(a, store, batch[i].index, explanations[i]);
                store.flush();
                rate.doneNow += batch.size();
                doneTotal += batch.size();
            }
            if (callbacks.onProgress) callbacks.onProgress(progress());
            if (!batch.empty() && callbacks.onBatch) callbacks.onBatch(a);
        }
    } catch (...) {
        q.shutdown();
        throw;
    }
    q.shutdown();
    a.reads = tiles.reader.counts();
    return a;
}

}  // namespace lucida
