#pragma once

#include "HeatmapOverlay.h"
#include "ModelSession.h"
#include "analysis/AnalysisOutputs.h"
#include "analysis/InferenceWorker.h"
#include "analysis/SlideAnalysis.h"
#include "cohort/ImageSettings.h"

#include <QFuture>
#include <QObject>
#include <QPolygonF>
#include <QString>

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

namespace lucida {
class Model;
}

namespace lucida::ui {

class SlideView;

// What an analysis has given so far, prepared on the analysing thread for the GUI.
struct AnalysisResults {
    QString modelPath;  // the model the heat comes from
    std::shared_ptr<const FloatRaster> cam, probability;
    std::shared_ptr<const FloatRaster> camSmooth;  // whole images: the CAM drawn (HeatTiles)
    ColouredRaster camImage, probabilityImage;  // colourised there too, with the overlay's colours
    CamNormalisation normalisation = CamNormalisation::Slide;
    float camLow = 0, camHigh = 1;  // raw CAM range of the slide-wide scale
    // The scale was fixed by the first heat shown (or Rescale), not re-estimated: colours on
    // screen stay as they are while patches arrive. camData* is the done patches' own range.
    bool scaleFixed = false;
    float camDataLow = 0, camDataHigh = 1;
    std::shared_ptr<const SlideAnalysis> source;  // a partial result's analysis (for Rescale)
    AnalysisSummary summary;
    std::vector<QPolygonF> outlines;  // tissue, level-0
    std::size_t done = 0, total = 0;
    bool complete = false;
};

struct AnalysisProgressInfo {
    std::size_t done = 0, total = 0;
    std::size_t reused = 0;    // read back from an earlier run
    std::size_t inferred = 0;  // run through the model in this run
    double patchesPerSecond = 0;
    double secondsLeft = 0;
    std::size_t queued = 0;     // requested, not yet done
    std::size_t cancelled = 0;  // stale requests dropped in this run (patches that left the view)
    bool idle = false;          // live: everything in view is done
    // What the user should know, one line each: another process writing these results (the run
    // waits and shows what it has stored), damaged stored records recomputed, scales not mapped.
    QString note;
    // This run's patch reads through the view's tile cache: served by tiles already decoded
    // (for the screen or earlier patches: decodes saved), or waiting for a decode.
    RegionReads reads;
};

// The analysis of one document (a child of its SlideView, whose overlay it installs). It observes
// the window's ModelSession: the model (opened off the GUI thread by openModelAsync), what is
// analysed and how heat is shown come from there. With a model, the controller is live: it
// analyses the patches on screen, centre first, as the user pans and zooms, and requests that
// leave the view are cancelled (counted). start() ("Analyse slide") widens that run to every
// tissue patch. A run first shows what is stored (loadSlideAnalysis), then runs analyseSlide for
// the rest on the image's InferenceWorker (one thread, started by the first run; this class is its
// Qt adapter, as TileService is TileLoader's); partial heatmaps arrive about once a second,
// stitched beside that thread. Changing model, method or class cancels the run at once and drops
// the heatmap; the run then restarts with the new settings (after the old one has stopped at its
// next batch, so two never write one store). Live and whole-slide runs share the stored results.
class AnalysisController : public QObject {
    Q_OBJECT
public:
    // Live: analysing what is in view (or waiting for the view to move); Running: the whole slide.
    enum class State { Idle, Live, Running, Complete, Cancelled, Failed };

    AnalysisController(SlideView* view, ModelSession* session);
    ~AnalysisController() override;  // cancels and waits for the current batch

    static AnalysisController* of(const SlideView* view);
    static QFuture<ModelLoad> openModelAsync(const QString& path);

    SlideView* view() const { return view_; }
    HeatmapOverlay* overlay() const { return overlay_; }

    ModelSession* session() const { return session_; }
    // The session's model (the one whose heat is shown, or none); what is analysed: the session's
    // method, class (-1: the model's default, positive / last class), fit (how the image is cut
    // into model inputs) and overlap of sliding patches, and CAM scale.
    const std::shared_ptr<const Model>& model() const { return session_->model(); }
    QString method() const { return method_; }
    int classIndex() const { return classIndex_; }
    int effectiveClassIndex() const;  // -1 without a model
    ImageFit fit() const { return fit_; }
    double overlap() const { return overlap_; }
    AnalysisMode mode() const { return mode_; }  // asked for; the run's may be Patch (notices)
    bool int8() const { return int8_; }          // asked for; the run's may be fp32 (notices)
    CamNormalisation normalisation() const { return normalisation_; }
    // A project image's own settings (core/cohort/ImageSettings.h), over the session's for this
    // view alone, as the project queue and `lucida-cli batch` apply them (effectiveSettings): the
    // view finds the queue's stored results and writes under the same key. Empty (the default):
    // the session's settings. A change of what is analysed restarts the run.
    void setImageSettings(const ImageSettings& own);
    const ImageSettings& imageSettings() const { return own_; }
    // What a run of this view analyses: the session's settings (above) with the image's own over
    // them. Throws std::invalid_argument for an own class the model lacks.
    AnalysisSettings analysisSettings() const;
    // Where results are kept; default: the user's results store, or beside the image when that
    // is chosen (Analysis ▸ Keep Results Beside the Image) and writable (ResultsLocation.h).
    void setResultsRoot(const QString& root) { resultsRoot_ = root; }
    QString resultsRoot() const;
    // The results place setting changed: the run restarts on the results kept there.
    void resultsPlaceChanged() {
        cachedRoot_.clear();
        restart();
    }
    void setBatchSize(int batchSize) { batchSize_ = batchSize; }
    void setPartialIntervalMs(int ms) { partialIntervalMs_ = ms; }  // default 1000

    // Live analysis of the view while a model is set (the session's; default on). Off: only
    // start() runs.
    bool isLive() const { return live_; }

    void start();   // the whole slide: stored results at once, then the rest; needs a model
    void cancel();  // stops after the current batch; what is done stays shown
    bool isRunning() const { return state_ == State::Running; }
    // Working: a whole-slide run, a live one with patches queued, or a stopping thread.
    bool isBusy() const;
    State state() const { return state_; }
    QString error() const { return error_; }
    const AnalysisProgressInfo& progress() const { return progress_; }
    // The slide-wide CAM scale is fixed by the first heat shown, so colours never change under
    // the user during a run; this re-fixes it to the range of what is done now (panel: Rescale).
    void rescale();
    // The latest results (null before any).
    const std::shared_ptr<const AnalysisResults>& results() const { return results_; }
    // What is analysed now (the latest partial analysis while a run goes on, else the last
    // finished one); null before any. For reports of what the view shows.
    std::shared_ptr<const SlideAnalysis> analysis() const {
        return results_ && results_->source ? results_->source : analysis_;
    }

signals:
    void stateChanged();
    void progressChanged();
    void resultsChanged();  // also when dropped (results() null)
    void failed(const QString& message);
    void imageSettingsChanged();  // setImageSettings (the panel shows them)

private:
    struct Run;
    struct RunListener;
    void launch(bool wholeSlide);
    void resumeLive();
    void stopRun(bool dropResults);
    void applyResults(quint64 generation, std::shared_ptr<const AnalysisResults> results);
    void applyProgress(quint64 generation, AnalysisProgressInfo progress);
    void runFinished(quint64 generation, State state, QString message,
                     std::shared_ptr<const SlideAnalysis> analysis);
    void workerDrained();
    void setState(State state);
    void restitch();
    void restart();  // after a change of what is analysed: drop the heat, run the new settings
    // The session's settings, as they change.
    void modelChanged();
    void analysisChanged();
    void displayChanged();
    void setLive(bool live);
    void setNormalisation(CamNormalisation normalisation);
    // analysisSettings(), or nullopt when the image's own class is not the model's.
    std::optional<AnalysisSettings> settingsOrNone() const;
    // Restarts when `before` and what is analysed now differ.
    void restartIfChanged(const std::optional<AnalysisSettings>& before);

    SlideView* view_;
    ModelSession* session_;
    HeatmapOverlay* overlay_;
    const Model* shownModel_ = nullptr;  // the model of the current settings (restart on change)
    QString method_ = "gradcam";
    bool eigenSmooth_ = false, flipSmooth_ = false;
    int classIndex_ = -1;
    ImageFit fit_ = ImageFit::Auto;
    double overlap_ = 0;
    AnalysisMode mode_ = AnalysisMode::Dense;
    bool int8_ = false;
    CamNormalisation normalisation_ = CamNormalisation::Slide;
    ImageSettings own_;  // the project image's own settings (empty: none)
    QString resultsRoot_;
    mutable QString cachedRoot_;  // resultsRoot() for cachedPlace_ (hashing the image once)
    mutable int cachedPlace_ = -1;
    int batchSize_ = 16;
    int partialIntervalMs_ = 1000;

    State state_ = State::Idle;
    bool live_ = true;
    bool wanted_ = false;     // the user asked for an analysis with the current settings
    quint64 generation_ = 0;  // of the current run; older messages are ignored
    std::unique_ptr<InferenceWorker> worker_;  // the analysis thread (newest request wins)
    bool workerBusy_ = false;                  // a request of ours is waiting or running
    std::shared_ptr<Run> run_;
    QString error_;
    AnalysisProgressInfo progress_;
    std::shared_ptr<const AnalysisResults> results_;
    std::shared_ptr<const SlideAnalysis> analysis_;  // the last finished one, for restitching
    std::optional<CamRange> scale_;  // the fixed slide-wide CAM scale (reset by restart())
};

}  // namespace lucida::ui
