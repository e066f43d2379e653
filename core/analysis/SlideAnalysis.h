#pragma once

#include "analysis/AnalysisWake.h"
#include "analysis/PatchGrid.h"
#include "analysis/PatchStore.h"
#include "analysis/TissueMask.h"
#include "image/ImageSource.h"
#include "model/ModelSpec.h"
#include "tiles/TileRegionReader.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lucida {

class Model;
class TileLoader;

// How an image is cut into model inputs.
enum class ImageFit {
    // Whole image when the model has no physical scale and the image is not a microscope slide
    // (a photo or MRI model meets a photo or MRI slice), else patches at the model's scale.
    Auto,
    WholeImage,  // the whole image (slice) resized to the model input
    Patches,     // sliding patches at the model's scale (the image's pixels when it has none)
};

// How the model meets the slide. Dense: its trunk runs once over large tiles (with halos of its
// receptive field) and each patch's map and probability come from the one continuous feature map —
// no seams, a fraction of 50 % overlap's cost (DenseAnalysis.h); only for GAP + linear heads and
// CAM, Grad-CAM, HiResCAM, LayerCAM, else patch mode is used with a notice saying why.
// Patch: every patch run on its own, as the model was trained ("Per patch, as trained").
enum class AnalysisMode { Patch, Dense };

// What a whole-slide analysis runs; together with the model file it forms the results' key.
struct AnalysisSettings {
    AnalysisMode mode = AnalysisMode::Dense;  // the default: patch mode where dense does not apply
    int denseTile = 0;  // dense mode's tile side in model pixels; 0: 2048 (ResNets), 1024 (others)
    // Dense mode's trunk in int8 (model/QuantisedTrunk), calibrated on the image's own tissue
    // tiles; forward-only, CPU, native .pth models. Recorded in the key ("|int8") and settings.
    bool int8 = false;
    std::string method = "gradcam";
    // Smoothing of each patch's map (ExplainOptions): eigen smoothing, test-time flips. Either
    // needs patch mode.
    bool eigenSmooth = false;
    bool augmentSmooth = false;
    // The class explained in every patch (one class for the whole slide, so heat means the same
    // everywhere). nullopt: the positive class of a binary model, else the last class.
    std::optional<int> classIndex;
    std::string layer;   // empty: the model's default target layer
    double overlap = 0;  // between neighbouring patches, 0 .. 0.75
    double minTissue = 0.25;
    bool detectTissue = true;
    ImageFit fit = ImageFit::Auto;
    int slice = 0;  // of a DICOM series / multi-frame image
    // Patches per model call; 0: what fits the free memory (chooseBatchSize). A batch that runs
    // out of memory is split in halves either way (and later batches stay smaller).
    int batchSize = 16;
    int decodeThreads = 0;  // 0: one per core
};

// Whether `fit` means the whole image for this image and model.
bool usesWholeImage(const ImageInfo& image, const ModelSpec& spec, ImageFit fit);

// What dense mode's trunk ran over in a run: model pixels read by its tiles, and how many tiles
// continued the one before them (streamed: their halo towards it was not read again).
struct DenseWork {
    std::size_t tiles = 0, streamedTiles = 0;  // streamed: from the tile before or the rows above
    std::size_t streamedDown = 0;              // from the rows above
    std::size_t keptBytes = 0;                 // the most rows kept for the bands below
    double pixelsRead = 0;
    // Seconds of the run's own thread: waiting for a tile's pixels (read ahead on another thread),
    // the trunk and maps, and the patches' outcomes and storing them.
    double waitSeconds = 0, trunkSeconds = 0, outcomeSeconds = 0;
    // Per trunk step, the model pixels its outputs covered as computed (DenseCam::tileMaps);
    // empty with the whole trunk per tile (LUCIDA_DENSE_NO_CROP=1).
    std::vector<double> stepPixels;
};

struct SlideAnalysis {
    std::string slidePath, modelPath, key, resultsDir;
    AnalysisSettings settings;
    PatchGrid grid;
    TissueMask tissue;  // empty when tissue detection was off
    std::vector<std::string> classes;
    int explainedClass = 0;
    std::string layer;
    int camWidth = 0, camHeight = 0;
    std::vector<PatchOutcome> outcomes;  // parallel to grid.patches
    std::size_t reused = 0;              // outcomes read back from an earlier run
    // What the user should know about this run, in words: scales that cannot be mapped (and the
    // fit used instead), stored records that were damaged and are recomputed.
    std::vector<std::string> notices;
    // Set when the run ended (cancelled) while another process was writing these results: who;
    // the outcomes are what that writer had stored.
    std::string writer;
    // How this run's patch reads were served: from tiles already cached (decodes saved) or
    // decoded through the loader (AnalysisCallbacks::tiles).
    RegionReads reads;
    DenseWork dense;  // dense mode's tiles in this run

    // Inline: the torch-free outputs (AnalysisOutputs) count done patches without this TU.
    std::size_t doneCount() const {
        return static_cast<std::size_t>(
            std::count_if(outcomes.begin(), outcomes.end(), [](const auto& o) { return o.done; }));
    }
    bool complete() const { return doneCount() == outcomes.size(); }
};

struct AnalysisProgress {
    std::size_t done = 0, total = 0;  // over the whole slide, stored results included
    double patchesPerSecond = 0;      // of this run, over the time it was working
    double secondsLeft = 0;           // for what is queued now
    std::size_t queued = 0;           // patches requested and not yet done
    std::size_t cancelled = 0;        // stale requests dropped (patches that left the view)
    bool wholeSlide = true;           // the scope: every tissue patch, or only those in view
    bool idle = false;                // view scope: everything in view is done
    RegionReads reads;                // this run's patch reads: from the cache, decoded
};

struct AnalysisCallbacks {
    // Once, after tissue detection, planning and reading what is stored (`reused` outcomes done),
    // before any inference: a viewer shows stored results from here, without a second plan.
    std::function<void(const SlideAnalysis&)> onLoaded;
    // While another process writes the same results (their folder's lock is held): about once a
    // second, with what it has stored so far (read-only) and a message naming it. The run waits
    // for it (cancellable), then reuses what it wrote and does the rest.
    std::function<void(const SlideAnalysis&, const std::string&)> onWaiting;
    std::function<void(const AnalysisProgress&)> onProgress;  // after every batch
    std::function<bool()> cancelled;                          // polled between batches
    // After every batch (after onProgress), with the outcomes so far, on the analysing thread: a
    // caller may copy or stitch them there (e.g. a viewer's partial heatmap).
    std::function<void(const SlideAnalysis&)> onBatch;
    // The level-0 rectangle on screen {x, y, width, height}, polled between batches. Patches not
    // yet decoded are reordered whenever it moves: those in view first, nearest its centre first,
    // then the rest outwards from it, so heat appears where the user looks.
    std::function<std::optional<std::array<double, 4>>()> focus;
    // The scope, polled between batches: true (or unset) = every tissue patch; false = only the
    // patches in the focus rectangle, as the viewer wants while the user looks around. Then
    // queued patches that leave the view are cancelled (counted in AnalysisProgress::cancelled,
    // decoded ones dropped before inference), and once all in view are done the analysis waits
    // for the view to move; it returns when cancelled or when the whole slide is done.
    std::function<bool()> wholeSlide;
    // View scope: called once each time everything in view is done (with onProgress before it).
    std::function<void(const SlideAnalysis&)> onIdle;
    // Set by a caller that changes the answers above while the run goes on (a viewer): it calls
    // wake->notify() after each change, and the run sleeps until then when it has nothing to do
    // (view scope, all in view done) and wakes at once from waiting for another writer. Unset,
    // such waits look at the callbacks again every 20 ms (100 ms for another writer).
    AnalysisWake* wake = nullptr;
    // The tile machinery patches are read through (TileRegionReader): a viewer's loader and its
    // cache, so tiles decoded for the screen feed the model and those decoded for the model stay
    // cached for the screen. Unset: the run makes a loader and a small cache of its own.
    TileLoader* tiles = nullptr;
};

// View scope with everything in view done: tells the caller once (onProgress, then onIdle; `idle`
// remembers it), then sleeps until `wake` moves past `seen` (20 ms without one). Returns the
// seconds slept. Shared by patch and dense mode's loops.
double waitWhileIdle(const AnalysisCallbacks& callbacks, bool& idle,
                     const std::function<AnalysisProgress()>& progress, const SlideAnalysis& a,
                     std::uint64_t seen);

// The rate and ETA of a run over the time it was working (waits for the view are not counted).
// Shared by patch and dense mode's loops.
struct RunRate {
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    double idleSeconds = 0;   // added by the loop after each waitWhileIdle
    std::size_t doneNow = 0;  // patches this run inferred
    // `p` with done, total, queued, the rate and the seconds left for what is queued.
    void fill(AnalysisProgress& p, std::size_t done, std::size_t total, std::size_t queued) const {
        const double busy =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() -
            idleSeconds;
        p.done = done, p.total = total, p.queued = queued;
        p.patchesPerSecond = busy > 0 ? doneNow / busy : 0;
        p.secondsLeft = p.patchesPerSecond > 0 ? queued / p.patchesPerSecond : 0;
    }
};

// The key of an analysis: the image file (name, size, modification time: results stay valid when
// the slide moves with its results folder; several images may share one results folder), the
// model file (path, size, modification time), method, class, layer, slice and patch settings, as
// 16 hex digits.
std::string analysisKey(const std::string& imagePath, const std::string& modelPath,
                        const AnalysisSettings& settings, const PatchGridOptions& grid,
                        int explainedClass);

// Where results of a slide are kept by default: "<slide>.lucida/" beside the slide.
inline std::string defaultResultsRoot(const std::string& slidePath) {
    return slidePath + ".lucida";
}

// Analyses every tissue patch of `source` with `model` (or those in view: see
// AnalysisCallbacks::wholeSlide): tissue detection on a thumbnail, patches at the model's scale,
// decoding on a thread pool overlapped with batched inference + CAM on the calling thread. Outcomes
// are appended to "<resultsRoot>/<key>/patches.bin" (PatchStore: checksummed, damaged records
// recomputed) as they come, so an interrupted run resumes and a repeated one reuses them. One
// writer per results folder (ResultsLock): a second run waits for the first (onWaiting) and then
// reuses its results. Returns what is done (complete unless cancelled). Throws
// ImageError/ModelError/std::runtime_error naming the file and reason; std::invalid_argument for a
// plan that cannot be right (scales, patch counts: planPatchGrid).
SlideAnalysis analyseSlide(const ImageSource& source, const Model& model,
                           const AnalysisSettings& settings, const std::string& resultsRoot,
                           const AnalysisCallbacks& callbacks = {});

// A stored analysis without running anything (nullopt when there is none for the key). Reads
// only: it neither waits for nor disturbs a writer.
std::optional<SlideAnalysis> loadSlideAnalysis(const ImageSource& source, const Model& model,
                                               const AnalysisSettings& settings,
                                               const std::string& resultsRoot);

}  // namespace lucida
