#include "analysis/SlideAnalysis.h"

#include "cam/Batching.h"
#include "cam/Explainer.h"
#include "image/ImageError.h"
#include "model/Model.h"
#include "model/Preprocess.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

namespace lucida {
namespace {

namespace fs = std::filesystem;
constexpr char kMagic[8] = {'L', 'U', 'C', 'P', 'A', 'T', 'C', '1'};

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
                             const AnalysisSettings& settings) {
    PatchGridOptions o;
    o.wholeImage = usesWholeImage(image, model.spec(), settings.fit);
    o.inputSize = model.spec().inputWidth;
    o.micronsPerPixel = model.spec().micronsPerPixel;
    o.magnification = model.spec().magnification;
    o.overlap = settings.overlap;
    o.minTissue = settings.detectTissue && !o.wholeImage ? settings.minTissue : 0;
    return o;
}

// Patch pixels as the model sees them; beyond the slide's edge is white glass, not black. The whole
// image is read as `lucida-cli explain` reads it, so both give the same answer.
FloatTensor readPatch(const ImageSource& source, const PatchGrid& grid, const Patch& patch,
                      const ModelSpec& spec, int slice) {
    if (grid.wholeImage)
        return preprocess(readWholeImage(source, spec.inputWidth, spec.inputHeight, slice), spec);
    const double ds = source.info().level(patch.level).downsample;
    const Rect rect{
        static_cast<std::int64_t>(std::floor(patch.x / ds)),
        static_cast<std::int64_t>(std::floor(patch.y / ds)),
        std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(patch.width / ds))),
        std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(patch.height / ds)))};
    PixelBuffer pixels = source.readRegion(patch.level, rect, slice);
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

// The append-only record file: header (magic, classes, cam width, cam height), then per patch
// its index, probabilities and map. A torn last record (an interrupted run) is dropped.
class PatchStore {
public:
    explicit PatchStore(std::string path) : path_(std::move(path)) {}

    // Reads what is there into `analysis` (outcomes must be sized); returns the count.
    std::size_t load(SlideAnalysis& analysis) {
        std::ifstream in(path_, std::ios::binary);
        if (!in) return 0;
        char magic[8];
        std::int32_t header[3];
        in.read(magic, 8);
        in.read(reinterpret_cast<char*>(header), sizeof header);
        if (!in || std::memcmp(magic, kMagic, 8) != 0 ||
            header[0] != static_cast<std::int32_t>(analysis.classes.size()) || header[1] <= 0 ||
            header[2] <= 0 || header[1] > 4096 || header[2] > 4096)
            return 0;
        analysis.camWidth = header[1];
        analysis.camHeight = header[2];
        const std::size_t k = analysis.classes.size(),
                          cells = static_cast<std::size_t>(header[1]) * header[2];
        std::size_t loaded = 0;
        std::streamoff good = in.tellg();
        for (;;) {
            std::int32_t index = -1;
            PatchOutcome o;
            o.probabilities.resize(k);
            o.cam.resize(cells);
            in.read(reinterpret_cast<char*>(&index), sizeof index);
            in.read(reinterpret_cast<char*>(o.probabilities.data()),
                    static_cast<std::streamsize>(k * sizeof(float)));
            in.read(reinterpret_cast<char*>(o.cam.data()),
                    static_cast<std::streamsize>(cells * sizeof(float)));
            if (!in || index < 0 || static_cast<std::size_t>(index) >= analysis.outcomes.size())
                break;
            o.done = true;
            if (!analysis.outcomes[index].done) ++loaded;
            analysis.outcomes[index] = std::move(o);
            good = in.tellg();
        }
        in.close();
        std::error_code ec;
        if (fs::file_size(path_, ec) != static_cast<std::uintmax_t>(good))
            fs::resize_file(path_, static_cast<std::uintmax_t>(good), ec);
        headerWritten_ = true;
        return loaded;
    }

    void append(const SlideAnalysis& analysis, std::size_t index) {
        if (!out_.is_open()) {
            out_.open(path_, std::ios::binary | std::ios::app);
            if (!out_) throw std::runtime_error(path_ + ": cannot write analysis results");
        }
        if (!headerWritten_) {
            const std::int32_t header[3] = {static_cast<std::int32_t>(analysis.classes.size()),
                                            analysis.camWidth, analysis.camHeight};
            out_.write(kMagic, 8);
            out_.write(reinterpret_cast<const char*>(header), sizeof header);
            headerWritten_ = true;
        }
        const auto& o = analysis.outcomes[index];
        const auto i = static_cast<std::int32_t>(index);
        out_.write(reinterpret_cast<const char*>(&i), sizeof i);
        out_.write(reinterpret_cast<const char*>(o.probabilities.data()),
                   static_cast<std::streamsize>(o.probabilities.size() * sizeof(float)));
        out_.write(reinterpret_cast<const char*>(o.cam.data()),
                   static_cast<std::streamsize>(o.cam.size() * sizeof(float)));
    }

    void flush() {
        if (out_.is_open()) {
            out_.flush();
            if (!out_)
                throw std::runtime_error(path_ + ": cannot write analysis results (disk full?)");
        }
    }

private:
    std::string path_;
    std::ofstream out_;
    bool headerWritten_ = false;
};

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
    const PatchGridOptions options = gridOptions(source.info(), model, settings);
    const bool tissue = settings.detectTissue && !options.wholeImage;
    if (tissue) a.tissue = detectTissue(source);
    a.grid = planPatchGrid(source.info(), options, tissue ? &a.tissue : nullptr);
    AnalysisSettings keyed = settings;
    keyed.layer = a.layer;
    a.key = analysisKey(source.info().path, model.path(), keyed, options, a.explainedClass);
    a.resultsDir = (fs::path(resultsRoot) / a.key).string();
    a.outcomes.resize(a.grid.patches.size());
    return a;
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
                        {"slice", a.settings.slice}};
    const std::string path = (fs::path(a.resultsDir) / "settings.json").string();
    std::ofstream(path + ".tmp") << j.dump(2) << "\n";
    fs::rename(path + ".tmp", path);
}

// Orders todo[from..] for a view: patches intersecting it first, each group by distance of the
// patch centre from the view centre (ties by grid order).
void prioritise(std::vector<std::size_t>& todo, std::size_t from, const PatchGrid& grid,
                const std::array<double, 4>& view) {
    const double cx = view[0] + view[2] / 2, cy = view[1] + view[3] / 2;
    auto key = [&](std::size_t i) {
        const Patch& p = grid.patches[i];
        const bool inView = p.intersects(view[0], view[1], view[2], view[3]);
        const double dx = p.x + p.width / 2 - cx, dy = p.y + p.height / 2 - cy;
        return std::make_tuple(!inView, dx * dx + dy * dy, i);
    };
    std::sort(todo.begin() + static_cast<std::ptrdiff_t>(from), todo.end(),
              [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
}

}  // namespace

std::size_t SlideAnalysis::doneCount() const {
    return static_cast<std::size_t>(
        std::count_if(outcomes.begin(), outcomes.end(), [](const auto& o) { return o.done; }));
}

std::string analysisKey(const std::string& imagePath, const std::string& modelPath,
                        const AnalysisSettings& s, const PatchGridOptions& g, int explainedClass) {
    std::error_code ec;
    const auto canonical = fs::weakly_canonical(modelPath, ec).string();
    const auto size = fs::file_size(modelPath, ec);
    const auto mtime = fs::last_write_time(modelPath, ec).time_since_epoch().count();
    const auto imageName = fs::path(imagePath).filename().string();
    const auto imageSize = fs::is_regular_file(imagePath, ec) ? fs::file_size(imagePath, ec) : 0;
    const auto imageTime = fs::last_write_time(imagePath, ec).time_since_epoch().count();
    char text[1024];
    std::snprintf(
        text, sizeof text, "%s|%ju|%lld|%s|%ju|%lld|%s|%d|%s|%d|%.6g|%.6g|%.6g|%.6g|%d|%d|%d",
        canonical.c_str(), static_cast<std::uintmax_t>(size), static_cast<long long>(mtime),
        imageName.c_str(), static_cast<std::uintmax_t>(imageSize),
        static_cast<long long>(imageTime), s.method.c_str(), explainedClass, s.layer.c_str(),
        g.inputSize, g.micronsPerPixel.value_or(0), g.magnification.value_or(0), g.overlap,
        g.minTissue, s.detectTissue ? 1 : 0, g.wholeImage ? 1 : 0, s.slice);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(text)));
    return hex;
}

std::string defaultResultsRoot(const std::string& slidePath) { return slidePath + ".lucida"; }

bool usesWholeImage(const ImageInfo& image, const ModelSpec& spec, ImageFit fit) {
    if (fit != ImageFit::Auto) return fit == ImageFit::WholeImage;
    auto scale = [](const std::optional<double>& v) { return v && *v > 0; };
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
    PatchStore store((fs::path(a.resultsDir) / "patches.bin").string());
    a.reused = store.load(a);
    if (a.reused == 0) return std::nullopt;
    return a;
}

SlideAnalysis analyseSlide(const ImageSource& source, const Model& model,
                           const AnalysisSettings& settings, const std::string& resultsRoot,
                           const AnalysisCallbacks& callbacks) {
    SlideAnalysis a = prepare(source, model, settings, resultsRoot);
    fs::create_directories(a.resultsDir);
    writeSettings(a);
    PatchStore store((fs::path(a.resultsDir) / "patches.bin").string());
    a.reused = store.load(a);
    if (callbacks.onLoaded) callbacks.onLoaded(a);
    const std::size_t total = a.outcomes.size();
    std::size_t doneTotal = a.reused;
    if (doneTotal == total) {
        if (callbacks.onProgress) callbacks.onProgress({total, total, 0, 0, 0, 0, true, false});
        return a;
    }

    // `todo` is the request queue: positions before nextToConsume were consumed, those up to
    // nextToDecode are being decoded or wait decoded in `ready`, the rest are requests not yet
    // started, which a new view or scope replaces. Decoders fill `ready` in todo order (bounded);
    // this thread batches and runs the model, so decoding the next batch overlaps inference.
    struct Decoded {
        std::size_t index;
        FloatTensor input;
        std::string error;
    };
    ExplainOptions explainOptions;
    explainOptions.method = settings.method;
    explainOptions.classIndex = a.explainedClass;
    explainOptions.layer = a.layer;
    int batchSize = settings.batchSize > 0 ? settings.batchSize
                                           : chooseBatchSize(model, explainOptions).batchSize;
    const std::size_t capacity = static_cast<std::size_t>(batchSize) * 3;
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::size_t> todo;
    std::map<std::size_t, Decoded> ready;  // by position in `todo`
    std::size_t nextToDecode = 0, nextToConsume = 0;
    bool stop = false;

    auto inView = [&](std::size_t i, const std::array<double, 4>& view) {
        return a.grid.patches[i].intersects(view[0], view[1], view[2], view[3]);
    };
    bool whole = callbacks.wholeSlide ? callbacks.wholeSlide() : true;
    std::optional<std::array<double, 4>> focused =
        callbacks.focus ? callbacks.focus() : std::nullopt;
    std::size_t cancelled = 0;
    // Replaces the requests not yet started with those of the scope and view now (under `mutex`).
    std::vector<char> mark(total, 0);
    auto requeue = [&] {
        std::fill(mark.begin(), mark.end(), 0);
        for (std::size_t p = nextToConsume; p < nextToDecode; ++p) mark[todo[p]] = 1;  // started
        std::vector<std::size_t> dropped(todo.begin() + static_cast<std::ptrdiff_t>(nextToDecode),
                                         todo.end());
        todo.resize(nextToDecode);
        for (std::size_t i = 0; i < total; ++i)
            if (!a.outcomes[i].done && !mark[i] && (whole || (focused && inView(i, *focused)))) {
                todo.push_back(i);
                mark[i] = 2;
            }
        if (focused) prioritise(todo, nextToDecode, a.grid, *focused);
        for (std::size_t i : dropped) cancelled += mark[i] != 2;
    };
    requeue();

    const int threads = settings.decodeThreads > 0
                            ? settings.decodeThreads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::thread> decoders;
    for (int t = 0; t < threads; ++t) {
        decoders.emplace_back([&] {
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
                    d.input = readPatch(source, a.grid, a.grid.patches[d.index], model.spec(),
                                        settings.slice);
                } catch (const std::exception& e) {
                    d.error = e.what();
                }
                std::lock_guard lock(mutex);
                ready.emplace(position, std::move(d));
                changed.notify_all();
            }
        });
    }
    auto shutdown = [&] {
        {
            std::lock_guard lock(mutex);
            stop = true;
            changed.notify_all();
        }
        for (auto& t : decoders) t.join();
    };

    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    double idleSeconds = 0;  // the rate counts working time only, not waiting for the view
    std::size_t doneNow = 0;
    bool idle = false;
    auto progress = [&] {
        AnalysisProgress p;
        p.done = doneTotal;
        p.total = total;
        const double busy =
            std::chrono::duration<double>(Clock::now() - started).count() - idleSeconds;
        p.patchesPerSecond = busy > 0 ? doneNow / busy : 0;
        p.queued = todo.size() - nextToConsume;
        p.secondsLeft = p.patchesPerSecond > 0 ? p.queued / p.patchesPerSecond : 0;
        p.cancelled = cancelled;
        p.wholeSlide = whole;
        p.idle = idle;
        return p;
    };
    try {
        while (doneTotal < total) {
            if (callbacks.cancelled && callbacks.cancelled()) break;
            const bool wholeNow = callbacks.wholeSlide ? callbacks.wholeSlide() : true;
            const auto view = callbacks.focus ? callbacks.focus() : std::nullopt;
            if (wholeNow != whole || (view && view != focused)) {
                whole = wholeNow;
                if (view) focused = view;
                std::lock_guard lock(mutex);
                requeue();
                changed.notify_all();
            }
            if (nextToConsume == todo.size()) {  // view scope, all in view done: wait for a move
                if (!idle) {
                    idle = true;
                    if (callbacks.onProgress) callbacks.onProgress(progress());
                    if (callbacks.onIdle) callbacks.onIdle(a);
                }
                const auto idleFrom = Clock::now();
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                idleSeconds += std::chrono::duration<double>(Clock::now() - idleFrom).count();
                continue;
            }
            idle = false;
            std::vector<Decoded> batch;
            {
                std::unique_lock lock(mutex);
                const std::size_t end = std::min(todo.size(), nextToConsume + batchSize);
                for (std::size_t p = nextToConsume; p < end; ++p) {
                    changed.wait(lock, [&] { return ready.count(p) > 0; });
                    Decoded d = std::move(ready.at(p));
                    ready.erase(p);
                    // Decoded for a view the user has left: dropped before the expensive part.
                    if (!whole && focused && !inView(d.index, *focused)) {
                        ++cancelled;
                        continue;
                    }
                    batch.push_back(std::move(d));
                }
                nextToConsume = end;
                changed.notify_all();
            }
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
                for (std::size_t i = 0; i < batch.size(); ++i) {
                    const auto& e = explanations[i];
                    auto& o = a.outcomes[batch[i].index];
                    o.probabilities = e.probabilities;
                    o.cam = e.map.data;
                    o.done = true;
                    a.camHeight = static_cast<int>(e.map.size(0));
                    a.camWidth = static_cast<int>(e.map.size(1));
                    store.append(a, batch[i].index);
                }
                store.flush();
                doneNow += batch.size();
                doneTotal += batch.size();
            }
            if (callbacks.onProgress) callbacks.onProgress(progress());
            if (!batch.empty() && callbacks.onBatch) callbacks.onBatch(a);
        }
    } catch (...) {
        shutdown();
        throw;
    }
    shutdown();
    return a;
}

}  // namespace lucida
