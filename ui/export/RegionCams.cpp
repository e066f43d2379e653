#include "RegionCams.h"

#include "cam/CamMethod.h"
#include "engine/ModelEngine.h"
#include "model/Model.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <stdexcept>

namespace lucida {

namespace {

bool meets(const Patch& p, const RectF& r) { return p.intersects(r.x, r.y, r.width, r.height); }

bool regionDone(const SlideAnalysis& a, const RectF& region) {
    for (std::size_t i = 0; i < a.grid.patches.size(); ++i)
        if (meets(a.grid.patches[i], region) && !a.outcomes[i].done) return false;
    return true;
}

std::size_t regionPatches(const SlideAnalysis& a, const RectF& region, bool doneOnly) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < a.grid.patches.size(); ++i)
        n += meets(a.grid.patches[i], region) && (!doneOnly || a.outcomes[i].done);
    return n;
}

// One analysis in view scope on the region: returns when every patch meeting it is done, when
// cancelled, or at once when another run holds the results folder (`busy`).
SlideAnalysis analyseRegion(const ImageSource& source, const Model& model,
                            const AnalysisSettings& settings, const RectF& region,
                            const std::string& root, const std::function<bool()>& cancelled,
                            const std::function<void(std::size_t, std::size_t)>& progress,
                            bool& busy) {
    bool idle = false;
    busy = false;
    AnalysisCallbacks cb;
    cb.wholeSlide = [] { return false; };
    cb.focus = [&] {
        return std::optional<std::array<double, 4>>{
            std::array<double, 4>{region.x, region.y, region.width, region.height}};
    };
    cb.onIdle = [&](const SlideAnalysis&) { idle = true; };
    cb.onWaiting = [&](const SlideAnalysis&, const std::string&) { busy = true; };
    cb.cancelled = [&] { return idle || busy || (cancelled && cancelled()); };
    cb.onBatch = [&](const SlideAnalysis& a) {
        if (progress) progress(regionPatches(a, region, true), regionPatches(a, region, false));
    };
    SlideAnalysis a = modelEngine().analyseSlide(source, model, settings, root, cb);
    busy = busy || !a.writer.empty();
    return a;
}

}  // namespace

std::string canonicalCamMethod(const std::string& name) {
    std::string key;
    for (char c : name)
        if (c != '-' && c != '_' && c != ' ') key += char(std::tolower((unsigned char)c));
    if (key.size() > 2 && key.compare(key.size() - 2, 2, "pp") == 0)
        key.replace(key.size() - 2, 2, "++");
    const auto names = camMethodNames();
    if (std::find(names.begin(), names.end(), key) != names.end()) return key;
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown CAM method '" + name + "' (known: " + known + ")");
}

std::string camMethodTitle(const std::string& method) {
    static const std::map<std::string, std::string> titles{{"cam", "CAM"},
                                                           {"gradcam", "Grad-CAM"},
                                                           {"gradcam++", "Grad-CAM++"},
                                                           {"xgradcam", "XGrad-CAM"},
                                                           {"hirescam", "HiResCAM"},
                                                           {"layercam", "LayerCAM"},
                                                           {"eigencam", "Eigen-CAM"},
                                                           {"scorecam", "Score-CAM"}};
    const auto it = titles.find(method);
    return it == titles.end() ? method : it->second;
}

RegionCam regionCamOf(const SlideAnalysis& analysis, const RectF& region) {
    SlideAnalysis inRegion = analysis;
    for (std::size_t i = 0; i < inRegion.grid.patches.size(); ++i)
        if (!meets(inRegion.grid.patches[i], region)) inRegion.outcomes[i] = PatchOutcome{};
    RegionCam cam;
    cam.raster = stitchCam(inRegion, CamNormalisation::Slide, &cam.rawLow, &cam.rawHigh);
    cam.method = analysis.settings.method;
    cam.explainedClass = analysis.explainedClass;
    if (cam.explainedClass >= 0 && cam.explainedClass < int(analysis.classes.size()))
        cam.className = analysis.classes[std::size_t(cam.explainedClass)];
    cam.patches = regionPatches(analysis, region, false);
    return cam;
}

std::optional<std::vector<RegionCam>> computeRegionCams(
    const ImageSource& source, const Model& model, const AnalysisSettings& base,
    const std::vector<RegionCamRequest>& requests, const RectF& region,
    const std::string& resultsRoot, const RegionCamCallbacks& callbacks) {
    std::vector<RegionCam> cams;
    auto cancelled = [&] { return callbacks.cancelled && callbacks.cancelled(); };
    for (std::size_t r = 0; r < requests.size(); ++r) {
        AnalysisSettings settings = base;
        settings.method = canonicalCamMethod(requests[r].method);
        settings.classIndex = requests[r].classIndex;
        if (cancelled()) return std::nullopt;
        // What the viewer or `analyse` stored is used as it is (read without the folder's lock).
        const auto stored = modelEngine().loadSlideAnalysis(source, model, settings, resultsRoot);
        if (stored && regionDone(*stored, region)) {
            cams.push_back(regionCamOf(*stored, region));
            cams.back().stored = cams.back().patches;
            if (callbacks.progress) callbacks.progress(r, cams.back().patches, cams.back().patches);
            continue;
        }
        const std::size_t reused = stored ? regionPatches(*stored, region, true) : 0;
        auto progress = [&](std::size_t done, std::size_t total) {
            if (callbacks.progress) callbacks.progress(r, done, total);
        };
        bool busy = false;
        SlideAnalysis a =
            analyseRegion(source, model, settings, region, resultsRoot, cancelled, progress, busy);
        if (busy)  // the viewer's own live analysis holds the folder: compute beside it
            a = analyseRegion(source, model, settings, region, resultsRoot + "/figure-panels",
                              cancelled, progress, busy);
        if (cancelled()) return std::nullopt;
        if (busy)
            throw std::runtime_error("another run is writing the results in " + resultsRoot +
                                     "/figure-panels; try again when it has finished");
        cams.push_back(regionCamOf(a, region));
        cams.back().stored = reused;
    }
    return cams;
}

}  // namespace lucida
