#include "AnalysisController.h"

#include "HeatmapOverlay.h"
#include "ImageDocument.h"
#include "ResultsLocation.h"
#include "SlideView.h"
#include "TileService.h"
#include "engine/ModelEngine.h"
#include "model/AllocatorMode.h"
#include "model/Model.h"
#include "tiles/ViewGeometry.h"

#include <QDir>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QStringList>
#include <QtConcurrent>

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace lucida::ui {

// One run as the controller asked for it (the InferenceWorker runs it and owns its cancel, focus
// and scope flags), and how its heat is shown, which the GUI thread changes while it runs.
struct AnalysisController::Run {
    quint64 generation = 0;  // the controller's, for messages to it
    std::shared_ptr<const ImageSource> source;
    std::shared_ptr<const Model> model;
    AnalysisSettings settings;
    std::string resultsRoot;
    TileLoader* tiles = nullptr;  // the view's: patches read through the screen's tile cache
    int partialIntervalMs = 1000;
    std::atomic<bool> wholeSlide{true};  // else the view only (live); widened by start()
    std::atomic<int> normalisation{0};
    // The overlay's colours now, so heatmaps come colourised (the GUI thread only draws them).
    std::atomic<int> colours{0};
    std::atomic<double> threshold{0};
    // The slide-wide CAM scale, fixed by the first heat shown (or the user's Rescale): later
    // heatmaps keep it, so colours already on screen do not change while patches arrive.
    std::mutex scaleMutex;
    std::optional<CamRange> scale;

    std::optional<CamRange> currentScale() {
        std::lock_guard lock(scaleMutex);
        return scale;
    }
    // The first heat made fixes the scale (a no-op once fixed).
    void offerScale(const AnalysisResults& r) {
        std::lock_guard lock(scaleMutex);
        if (!scale && r.normalisation == CamNormalisation::Slide && r.done > 0)
            scale = CamRange{r.camLow, r.camHigh};
    }
    void setScale(std::optional<CamRange> s) {
        std::lock_guard lock(scaleMutex);
        scale = s;
    }
};

namespace {

using Clock = std::chrono::steady_clock;

// The level-0 bounding box of what the view shows (any rotation), for the widget's size now.
std::array<double, 4> visibleRect(const SlideView& view) {
    ViewGeometry geometry = view.viewGeometry();
    geometry.viewWidth = view.width();
    geometry.viewHeight = view.height();
    const RectF r = geometry.visibleImageRect();
    return {r.x, r.y, r.width, r.height};
}
constexpr auto kProgressInterval = std::chrono::milliseconds(100);

// Whether two settings analyse the same (the class resolved: -1 and the last class are one).
bool sameAnalysis(const AnalysisSettings& a, const AnalysisSettings& b, int classCount) {
    return a.method == b.method && a.eigenSmooth == b.eigenSmooth &&
           a.augmentSmooth == b.augmentSmooth && a.fit == b.fit && a.overlap == b.overlap &&
           a.mode == b.mode && a.int8 == b.int8 && a.layer == b.layer &&
           a.minTissue == b.minTissue &&
           a.classIndex.value_or(classCount - 1) == b.classIndex.value_or(classCount - 1);
}

CamNormalisation normalisationOf(int value) {
    return value == 1 ? CamNormalisation::Patch : CamNormalisation::Slide;
}

// Heatmaps (stitched and colourised), summary and outlines of what is done, for the GUI (called on
// the analysing thread or a pool thread, never the GUI's: a large slide takes a while).
std::shared_ptr<const AnalysisResults> makeResults(
    const SlideAnalysis& a, CamNormalisation normalisation, ColourMap colours, double threshold,
    std::optional<CamRange> scale, std::shared_ptr<const SlideAnalysis> source = {}) {
    auto r = std::make_shared<AnalysisResults>();
    r->source = std::move(source);
    r->modelPath = QString::fromStdString(a.modelPath);
    r->normalisation = normalisation;
    r->scaleFixed = scale.has_value() && normalisation == CamNormalisation::Slide;
    const CamRange data = camDataRange(a);
    r->camDataLow = data.low;
    r->camDataHigh = data.high;
    r->cam = std::make_shared<FloatRaster>(
        stitchCam(a, normalisation, &r->camLow, &r->camHigh, scale ? &*scale : nullptr));
    r->probability = std::make_shared<FloatRaster>(probabilityRaster(a, a.explainedClass));
    r->camSmooth = smoothWholeImageCam(a, *r->cam, r->camLow, r->camHigh);
    r->camImage = colouriseWithReductions(*r->cam, colours, threshold);
    r->probabilityImage = colouriseWithReductions(*r->probability, colours, threshold);
    r->summary = summarise(a);
    for (const auto& outline : a.tissue.outlines) {
        QPolygonF polygon;
        polygon.reserve(static_cast<qsizetype>(outline.size()));
        for (const auto& [x, y] : outline) polygon << QPointF(x, y);
        r->outlines.push_back(std::move(polygon));
    }
    r->done = a.doneCount();
    r->total = a.outcomes.size();
    r->complete = r->done == r->total;
    return r;
}

}  // namespace

// One run's listener on the InferenceWorker's thread: the analysis callbacks post progress and
// results to the controller through the worker's publish() (nothing once a newer request came)
// and queued (messages of an older controller generation are ignored there).
struct AnalysisController::RunListener {
    RunListener(std::shared_ptr<Run> r, AnalysisController* controller, InferenceWorker* w)
        : run(std::move(r)), self(controller), worker(w), generation(run->generation) {}
    ~RunListener() { waitStitching(); }  // a superseded run hears no end: its stitch goes here

    std::shared_ptr<Run> run;
    AnalysisController* self;
    InferenceWorker* worker;  // the controller's, which outlives its requests
    quint64 generation;
    InferenceWorker::Generation request = 0;  // the worker's, from onStarted
    // Partial heatmaps are stitched on a thread of their own, overlapping the next batches (one
    // at a time: while one is being made, later batches do not start another). Final ones are made
    // on the worker thread, after the partial one in flight, so they arrive last. The run's end
    // waits for the stitching thread, and the controller's destructor for the worker.
    std::future<void> stitching;
    AnalysisProgress last;
    Clock::time_point lastProgress{}, lastPartial{};
    QString notes;                // of this run (AnalysisProgressInfo::note)
    std::size_t noticesSeen = 0;  // of the run's SlideAnalysis::notices, in `notes`
    bool storedShown = false;     // what was stored is shown
    std::size_t waitingShown = 0;

    template <typename F>
    void post(F function) {
        worker->publish(request, [&] {
            QMetaObject::invokeMethod(self, std::move(function), Qt::QueuedConnection);
        });
    }
    void waitStitching() {
        if (stitching.valid()) stitching.wait();
    }
    // `wholeSlide`: the complete analysis, shown at the whole slide's range (the one change of
    // scale a run makes by itself, once it is over; the legend says so).
    void postResults(const SlideAnalysis& a, bool wholeSlide = false) {
        waitStitching();
        auto results = makeResults(
            a, normalisationOf(run->normalisation), static_cast<ColourMap>(run->colours.load()),
            run->threshold.load(), wholeSlide ? std::nullopt : run->currentScale());
        if (wholeSlide) run->setScale(CamRange{results->camLow, results->camHigh});
        run->offerScale(*results);
        post([self = self, generation = generation, results] {
            self->applyResults(generation, results);
        });
    }
    bool postPartialResults(const SlideAnalysis& a) {
        if (stitching.valid() &&
            stitching.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
            return false;
        stitching = std::async(
            std::launch::async, [self = self, generation = generation, run = run, worker = worker,
                                 request = request, copy = std::make_shared<const SlideAnalysis>(a),
                                 n = normalisationOf(run->normalisation),
                                 colours = static_cast<ColourMap>(run->colours.load()),
                                 threshold = run->threshold.load()] {
                // The copy goes along for Rescale while the run goes on (restitch needs what is
                // done now).
                auto results = makeResults(*copy, n, colours, threshold, run->currentScale(), copy);
                run->offerScale(*results);
                worker->publish(request, [&] {
                    QMetaObject::invokeMethod(
                        self,
                        [self, generation, results] { self->applyResults(generation, results); },
                        Qt::QueuedConnection);
                });
            });
        return true;
    }
    void postProgress(AnalysisProgressInfo p) {
        post([self = self, generation = generation, p] { self->applyProgress(generation, p); });
    }
    void finish(State state, QString message, std::shared_ptr<const SlideAnalysis> a) {
        post([self = self, generation = generation, state, message, a] {
            self->runFinished(generation, state, message, a);
        });
    }
    AnalysisProgressInfo info(const SlideAnalysis& a) const {
        return AnalysisProgressInfo{last.done,
                                    last.total,
                                    a.reused,
                                    last.done - a.reused,
                                    last.patchesPerSecond,
                                    last.secondsLeft,
                                    last.queued,
                                    last.cancelled,
                                    last.idle,
                                    notes,
                                    last.reads};
    }
    AnalysisCallbacks callbacks();
    void finished(const AnalysisEnd& end);
    // The run's listeners, on `request`, sharing one RunListener.
    static void attach(AnalysisRequest& request, std::shared_ptr<RunListener> listener);
};

AnalysisCallbacks AnalysisController::RunListener::callbacks() {
    AnalysisCallbacks callbacks;
    // What is stored shows at once (a complete store runs no model at all).
    callbacks.onLoaded = [this](const SlideAnalysis& a) {
        QStringList lines;
        for (const auto& notice : a.notices) lines << QString::fromStdString(notice);
        notes = lines.join('\n');
        noticesSeen = a.notices.size();
        if (a.reused == 0) {
            if (!notes.isEmpty())
                postProgress({0, a.outcomes.size(), 0, 0, 0, 0, 0, 0, false, notes, {}});
            return;
        }
        postResults(a);
        postProgress({a.reused, a.outcomes.size(), a.reused, 0, 0, 0, 0, 0, false, notes, {}});
        storedShown = true;
    };
    // Another process (a `lucida-cli analyse`, another window) writes these results: show what it
    // has stored as it grows, say so, and take over when it is done.
    callbacks.onWaiting = [this](const SlideAnalysis& a, const std::string& message) {
        if (a.reused > waitingShown) {
            waitingShown = a.reused;
            postResults(a);
        }
        postProgress({a.reused,
                      a.outcomes.size(),
                      a.reused,
                      0,
                      0,
                      0,
                      0,
                      0,
                      false,
                      QString::fromStdString(message),
                      {}});
    };
    callbacks.onProgress = [this](const AnalysisProgress& p) { last = p; };
    callbacks.onIdle = [this](const SlideAnalysis& a) {
        postProgress(info(a));
        postResults(a);
        lastPartial = lastProgress = Clock::now();
    };
    callbacks.onBatch = [this](const SlideAnalysis& a) {
        // Notices the run adds as it goes (int8 calibrated again) join the progress line.
        for (; noticesSeen < a.notices.size(); ++noticesSeen)
            notes += (notes.isEmpty() ? "" : "\n") + QString::fromStdString(a.notices[noticesSeen]);
        const auto now = Clock::now();
        if (now - lastProgress >= kProgressInterval || last.done == last.total) {
            lastProgress = now;
            postProgress(info(a));
        }
        // Partial heatmaps about once a second (the complete one follows the run).
        if (last.done < last.total &&
            now - lastPartial >= std::chrono::milliseconds(run->partialIntervalMs) &&
            postPartialResults(a))
            lastPartial = now;
    };
    return callbacks;
}

void AnalysisController::RunListener::finished(const AnalysisEnd& end) {
    if (end.state == AnalysisEnd::State::Failed) {
        waitStitching();
        finish(State::Failed,
               end.error.empty() ? AnalysisController::tr("The analysis failed.")
                                 : QString::fromStdString(end.error),
               nullptr);
        return;
    }
    if (!end.analysis) {  // cancelled before it started
        finish(State::Cancelled, {}, nullptr);
        return;
    }
    const std::shared_ptr<const SlideAnalysis>& analysis = end.analysis;
    const std::size_t done = analysis->doneCount();
    if (!analysis->writer.empty())
        notes = AnalysisController::tr("%1 is writing these results; shown as stored.")
                    .arg(QString::fromStdString(analysis->writer));
    postProgress({done, analysis->outcomes.size(), analysis->reused, done - analysis->reused,
                  last.patchesPerSecond, 0, 0, last.cancelled, false, notes, analysis->reads});
    if (!(storedShown && done == analysis->reused))  // else shown
        postResults(*analysis, analysis->complete() && run->wholeSlide.load());
    finish(analysis->complete() ? State::Complete : State::Cancelled, {}, analysis);
    waitStitching();  // a cancelled run returns without a final stitch
}

void AnalysisController::RunListener::attach(AnalysisRequest& request,
                                             std::shared_ptr<RunListener> listener) {
    request.callbacks = listener->callbacks();
    // The callbacks point at the listener: each holds it, so it lives as long as the request.
    const auto hold = [listener](auto callback) -> decltype(callback) {
        if (!callback) return {};
        return [listener, callback](const auto&... args) { callback(args...); };
    };
    request.callbacks.onLoaded = hold(request.callbacks.onLoaded);
    request.callbacks.onWaiting = hold(request.callbacks.onWaiting);
    request.callbacks.onProgress = hold(request.callbacks.onProgress);
    request.callbacks.onBatch = hold(request.callbacks.onBatch);
    request.callbacks.onIdle = hold(request.callbacks.onIdle);
    request.onStarted = [listener](InferenceWorker::Generation g) { listener->request = g; };
    request.onFinished = [listener](const AnalysisEnd& end) { listener->finished(end); };
}

AnalysisController::AnalysisController(SlideView* view, ModelSession* session)
    : QObject(view), view_(view), session_(session), overlay_(new HeatmapOverlay(this)) {
    setObjectName("analysisController");
    const ImageInfo& info = view->document()->info();
    overlay_->setImageSize(QSizeF(double(info.width()), double(info.height())));
    overlay_->setTileCache(&view->tileService()->cache());  // heat tiles beside image tiles
    connect(overlay_, &HeatmapOverlay::changed, view, qOverload<>(&QWidget::update));
    // Panning and zooming steer a running analysis to what is on screen.
    connect(view, &SlideView::viewChanged, this, [this] {
        if (worker_) worker_->setFocus(visibleRect(*view_));
        resumeLive();
    });
    // MRI and other series: the heat follows the slice shown (each slice has its own results).
    connect(view->document(), &ImageDocument::sliceChanged, this, &AnalysisController::restart);
    connect(overlay_, &HeatmapOverlay::changed, this, [this] {
        if (!run_) return;
        run_->colours = int(overlay_->colourMap());
        run_->threshold = overlay_->threshold();
    });
    view->setOverlay(overlay_);
    // What the session holds now, then as it changes.
    method_ = session_->method();
    eigenSmooth_ = session_->eigenSmooth();
    flipSmooth_ = session_->flipSmooth();
    classIndex_ = session_->classIndex();
    fit_ = session_->fit();
    overlap_ = session_->overlap();
    mode_ = session_->mode();
    int8_ = session_->int8();
    live_ = session_->isLive();
    displayChanged();
    connect(session_, &ModelSession::modelChanged, this, &AnalysisController::modelChanged);
    connect(session_, &ModelSession::analysisChanged, this, &AnalysisController::analysisChanged);
    connect(session_, &ModelSession::displayChanged, this, &AnalysisController::displayChanged);
    connect(session_, &ModelSession::liveChanged, this, &AnalysisController::setLive);
    modelChanged();
}

AnalysisController::~AnalysisController() {
    if (view_->overlay() == overlay_) view_->setOverlay(nullptr);
    worker_.reset();  // cancels: the run stops at its next batch, the thread is joined
}

AnalysisController* AnalysisController::of(const SlideView* view) {
    return view ? view->findChild<AnalysisController*>(QString(), Qt::FindDirectChildrenOnly)
                : nullptr;
}

QFuture<ModelLoad> AnalysisController::openModelAsync(const QString& path) {
    return QtConcurrent::run([path] {
        ModelLoad load;
        load.path = path;
        try {
            load.model = std::shared_ptr<const Model>(modelEngine().openModel(path.toStdString()));
        } catch (const std::exception& e) {
            load.error = QString::fromStdString(e.what());
        }
        return load;
    });
}

int AnalysisController::effectiveClassIndex() const {
    if (!model()) return -1;
    const int count = model()->spec().classCount();
    return classIndex_ >= 0 && classIndex_ < count ? classIndex_ : count - 1;
}

QString AnalysisController::resultsRoot() const {
    if (!resultsRoot_.isEmpty()) return resultsRoot_;
    // The user store by default; beside the image only when chosen and writable (ResultsLocation).
    const ResultsPlace place = savedResultsPlace();
    if (cachedRoot_.isEmpty() || cachedPlace_ != int(place)) {
        cachedRoot_ = resultsRootFor(view_->document()->path(), place);
        cachedPlace_ = int(place);
    }
    return cachedRoot_;
}

void AnalysisController::modelChanged() {
    if (model().get() == shownModel_) return;
    shownModel_ = model().get();
    restart();
}

void AnalysisController::restart() {
    stopRun(true);
    scale_.reset();  // other settings: the first heat of the new run fixes a new scale
    if (model() && (wanted_ || live_))
        launch(wanted_);
    else
        setState(State::Idle);
}

void AnalysisController::analysisChanged() {
    const auto before = settingsOrNone();
    method_ = session_->method();
    eigenSmooth_ = session_->eigenSmooth();
    flipSmooth_ = session_->flipSmooth();
    fit_ = session_->fit();
    overlap_ = session_->overlap();
    mode_ = session_->mode();
    int8_ = session_->int8();
    classIndex_ = session_->classIndex();
    restartIfChanged(before);
}

void AnalysisController::setImageSettings(const ImageSettings& own) {
    if (own == own_) return;
    const auto before = settingsOrNone();
    own_ = own;
    emit imageSettingsChanged();
    restartIfChanged(before);
}

// A setting the image overrides is not this view's to change: only what it analyses counts.
void AnalysisController::restartIfChanged(const std::optional<AnalysisSettings>& before) {
    const auto after = settingsOrNone();
    const int classes = model() ? model()->spec().classCount() : 0;
    if (!before || !after || !sameAnalysis(*before, *after, classes)) restart();
}

AnalysisSettings AnalysisController::analysisSettings() const {
    AnalysisSettings s;
    s.method = method_.toStdString();
    s.eigenSmooth = eigenSmooth_;
    s.augmentSmooth = flipSmooth_;
    if (classIndex_ >= 0 && effectiveClassIndex() == classIndex_)  // else the model's default
        s.classIndex = classIndex_;
    s.batchSize = batchSize_;
    s.fit = fit_;
    s.overlap = overlap_;
    s.mode = mode_;  // core falls back to patches where dense does not apply
    s.int8 = int8_;  // and to fp32 where int8 does not (patch mode, TorchScript, a GPU)
    s.slice = view_->document()->slice();
    if (own_.empty()) return s;
    // The queue's and batch's own merge (ImageSettings.h), so the results key is theirs.
    return effectiveSettings(std::move(s), own_,
                             model() ? model()->spec().classes : std::vector<std::string>{});
}

std::optional<AnalysisSettings> AnalysisController::settingsOrNone() const {
    try {
        return analysisSettings();
    } catch (const std::invalid_argument&) {
        return std::nullopt;
    }
}

void AnalysisController::displayChanged() {
    overlay_->setLayer(session_->layer() == ShownHeat::Probability
                           ? HeatmapOverlay::Layer::Probability
                           : HeatmapOverlay::Layer::Cam);
    overlay_->setColourMap(session_->colourMap());
    overlay_->setOpacity(session_->opacity());
    overlay_->setThreshold(session_->threshold());
    setNormalisation(session_->normalisation());
}

void AnalysisController::setNormalisation(CamNormalisation normalisation) {
    if (normalisation == normalisation_) return;
    normalisation_ = normalisation;
    if (run_) run_->normalisation = normalisation == CamNormalisation::Patch ? 1 : 0;
    if (!isRunning() && analysis_) restitch();  // a running analysis sends the next one so
}

void AnalysisController::restitch() {
    auto* watcher = new QFutureWatcher<std::shared_ptr<const AnalysisResults>>(this);
    const quint64 generation = generation_;
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, generation] {
        applyResults(generation, watcher->result());
        watcher->deleteLater();
    });
    // What is done now: the latest partial analysis while a run goes on, else the last finished.
    auto analysis = results_ && results_->source ? results_->source : analysis_;
    if (!analysis) return;
    watcher->setFuture(
        QtConcurrent::run([analysis, n = normalisation_, colours = overlay_->colourMap(),
                           threshold = overlay_->threshold(), scale = scale_] {
            return makeResults(*analysis, n, colours, threshold, scale);
        }));
}

void AnalysisController::rescale() {
    if (!results_ || results_->normalisation != CamNormalisation::Slide) return;
    scale_ = CamRange{results_->camDataLow, results_->camDataHigh};
    if (run_) run_->setScale(scale_);
    restitch();  // what is done now at the new scale; what comes next keeps it
}

bool AnalysisController::isBusy() const {
    if (state_ == State::Live) return !progress_.idle;
    return state_ == State::Running || workerBusy_;
}

void AnalysisController::setLive(bool live) {
    if (live == live_) return;
    live_ = live;
    if (live_) {
        resumeLive();
    } else if (state_ == State::Live) {
        if (worker_) worker_->cancel();  // what is done stays shown
        if (!workerBusy_) ++generation_;
        setState(State::Idle);
    }
}

// A live run for the view, unless one runs, all is done, or the last one failed (a pan does not
// retry a broken model; changing the settings does).
void AnalysisController::resumeLive() {
    if (!live_ || !model()) return;
    if (state_ != State::Idle && state_ != State::Cancelled) return;
    launch(false);
}

void AnalysisController::start() {
    if (!model()) {
        emit failed(tr("Open a model first (Analysis ▸ Open Model…)."));
        return;
    }
    wanted_ = true;
    if (state_ == State::Running) return;
    if (state_ == State::Live && run_ && worker_) {
        run_->wholeSlide = true;
        worker_->widenToWholeSlide();  // the live run goes on to every tissue patch
        setState(State::Running);
        return;
    }
    launch(true);
}

void AnalysisController::cancel() {
    wanted_ = false;
    if (state_ != State::Running && state_ != State::Live) return;
    // The run stops at its next batch; its last (partial) results still arrive and stay shown.
    if (worker_) worker_->cancel();
    if (!workerBusy_) ++generation_;
    setState(State::Cancelled);
}

void AnalysisController::stopRun(bool dropResults) {
    ++generation_;  // what the old run still sends is ignored
    if (worker_) worker_->cancel();
    if (dropResults) {
        results_.reset();
        analysis_.reset();
        overlay_->clear();
        progress_ = {};
        error_.clear();
        emit resultsChanged();
        emit progressChanged();
    }
}

void AnalysisController::launch(bool wholeSlide) {
    AnalysisSettings settings;
    try {
        settings = analysisSettings();
    } catch (const std::invalid_argument& e) {  // the project's class for it is not the model's
        stopRun(false);
        wanted_ = false;
        error_ = tr("%1: project settings: %2")
                     .arg(view_->document()->path(), QString::fromUtf8(e.what()));
        setState(State::Failed);
        emit failed(error_);
        return;
    }
    ++generation_;
    error_.clear();
    progress_ = {};
    emit progressChanged();
    setState(wholeSlide ? State::Running : State::Live);
    // The worker runs one request at a time: this one starts once a cancelled run has stopped at
    // its next batch, so two never write one store.
    auto run = std::make_shared<Run>();
    run->generation = generation_;
    run->source = view_->document()->source();
    run->model = model();
    run->scale = scale_;  // a live run resumed, or Analyse Slide after live heat: same colours
    run->settings = std::move(settings);
    run->wholeSlide = wholeSlide;
    run->resultsRoot = resultsRoot().toStdString();
    run->tiles = &view_->tileService()->loader();  // pixels decoded once for screen and model
    run->partialIntervalMs = partialIntervalMs_;
    run->normalisation = normalisation_ == CamNormalisation::Patch ? 1 : 0;
    run->colours = int(overlay_->colourMap());
    run->threshold = overlay_->threshold();
    run_ = run;

    AnalysisRequest request;
    request.source = run->source;
    request.model = run->model;
    request.settings = run->settings;
    request.resultsRoot = run->resultsRoot;
    request.tiles = run->tiles;
    request.wholeSlide = wholeSlide;
    request.focus = visibleRect(*view_);
    if (!worker_) {
        // Started with the first run; this object joins it before it goes, so the posts reach it.
        worker_ = std::make_unique<InferenceWorker>();
        worker_->setOnDrained([this] {
            QMetaObject::invokeMethod(this, &AnalysisController::workerDrained,
                                      Qt::QueuedConnection);
        });
    }
    RunListener::attach(request, std::make_shared<RunListener>(run, this, worker_.get()));
    workerBusy_ = true;
    worker_->request(std::move(request));
}

// Queued after everything the worker's last run posted.
void AnalysisController::workerDrained() { workerBusy_ = worker_ && worker_->busy(); }

void AnalysisController::applyResults(quint64 generation,
                                      std::shared_ptr<const AnalysisResults> results) {
    if (generation != generation_ || !results) return;
    results_ = std::move(results);
    if (results_->normalisation == CamNormalisation::Slide && results_->done > 0 &&
        (results_->scaleFixed || results_->complete || !scale_))
        scale_ = CamRange{results_->camLow, results_->camHigh};
    overlay_->setRasters(results_->cam, results_->probability, results_->camImage,
                         results_->probabilityImage, results_->camSmooth);
    if (overlay_->outlines().size() != results_->outlines.size())
        overlay_->setOutlines(results_->outlines);
    emit resultsChanged();
}

void AnalysisController::applyProgress(quint64 generation, AnalysisProgressInfo progress) {
    if (generation != generation_) return;
    progress_ = progress;
    emit progressChanged();
}

void AnalysisController::runFinished(quint64 generation, State state, QString message,
                                     std::shared_ptr<const SlideAnalysis> analysis) {
    if (generation != generation_) return;
    if (analysis) analysis_ = std::move(analysis);
    if (state == State::Failed) {
        wanted_ = false;
        error_ = message;
        setState(state);
        emit failed(message);
        return;
    }
    if (state == State::Complete) progress_.secondsLeft = 0;
    setState(state);
    emit progressChanged();
}

void AnalysisController::setState(State state) {
    if (state == state_) return;
    state_ = state;
    emit stateChanged();
}

}  // namespace lucida::ui
