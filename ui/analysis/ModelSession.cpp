#include "ModelSession.h"

#include "AnalysisSettingKeys.h"
#include "RecentFiles.h"

#include <QFileInfo>
#include <QFutureWatcher>
#include <QSettings>

#include <algorithm>
#include <stdexcept>

namespace lucida::ui {

namespace {
constexpr int kRecentModels = 8;
constexpr ColourMap kColourMaps[] = {ColourMap::Jet, ColourMap::Viridis, ColourMap::Turbo,
                                     ColourMap::Inferno, ColourMap::Grey};
constexpr const char* kColourMapNames[] = {"jet", "viridis", "turbo", "inferno", "grey"};
}  // namespace

QString colourMapName(ColourMap colours) {
    for (std::size_t i = 0; i < std::size(kColourMaps); ++i)
        if (kColourMaps[i] == colours) return QString::fromLatin1(kColourMapNames[i]);
    return QStringLiteral("jet");
}

ModelSession::ModelSession(ModelLoader loader, QObject* parent)
    : QObject(parent),
      loader_(std::move(loader)),
      recent_(new RecentFiles(analysis_keys::kRecentModels, kRecentModels, this)) {
    using namespace analysis_keys;
    const QSettings settings;
    method_ = settings.value(kMethod, "gradcam").toString();
    eigenSmooth_ = settings.value(kEigenSmooth, false).toBool();
    flipSmooth_ = settings.value(kFlipSmooth, false).toBool();
    fit_ = static_cast<ImageFit>(std::clamp(settings.value(kFit, 0).toInt(), 0, 2));
    overlap_ = settings.value(kOverlap, 0.0).toDouble();
    // Dense unless the user chose per patch: the same default as `lucida-cli analyse`, `batch`
    // and the Project dock, so all of them share results (one key) by default.
    mode_ = settings.value(kMode, "dense").toString() == QLatin1String("patch")
                ? AnalysisMode::Patch
                : AnalysisMode::Dense;
    // fp32 unless the user chose int8 (the CLI's `--precision` default too): exact by default.
    int8_ = settings.value(kPrecision, "fp32").toString() == QLatin1String("int8");
    layer_ = settings.value(kLayer, 0).toInt() == 1 ? ShownHeat::Probability : ShownHeat::Cam;
    normalisation_ = settings.value(kNormalisation, 0).toInt() == 1 ? CamNormalisation::Patch
                                                                    : CamNormalisation::Slide;
    try {
        colourMap_ = colourMapFromName(settings.value(kColourMap, "jet").toString().toStdString());
    } catch (const std::invalid_argument&) {  // a name from elsewhere: the default
        colourMap_ = ColourMap::Jet;
    }
    opacity_ = std::clamp(settings.value(kOpacity, 0.5).toDouble(), 0.0, 1.0);
    threshold_ = std::clamp(settings.value(kThreshold, 0.2).toDouble(), 0.0, 1.0);
    live_ = settings.value(kLive, true).toBool();
}

QString ModelSession::lastModel() {
    return QSettings().value(analysis_keys::kLastModel).toString();
}

void ModelSession::open(const QString& path, bool reportErrors) {
    const int request = ++request_;
    loading_ = true;
    path_ = path;
    error_.clear();
    // The old model goes at once: its heat, classes and score never show under the new name.
    model_.reset();
    emit modelChanged();
    if (!reportErrors && !QFileInfo::exists(path)) {  // a remembered model that is gone
        loading_ = false;
        error_ = tr("no such file");
        emit modelChanged();
        emit modelFailed(path, tr("%1: no such file").arg(path), reportErrors);
        return;
    }
    auto* watcher = new QFutureWatcher<ModelLoad>(this);
    connect(watcher, &QFutureWatcher<ModelLoad>::finished, this,
            [this, watcher, request, reportErrors] {
                watcher->deleteLater();
                if (request != request_) return;  // another model was asked for since
                loading_ = false;
                const ModelLoad load = watcher->result();
                if (!load.model) {
                    error_ = load.error;
                    emit modelChanged();
                    emit modelFailed(load.path, load.error, reportErrors);
                    return;
                }
                model_ = load.model;
                if (remembered_) {
                    remember(analysis_keys::kLastModel, load.path);
                    recent_->add(load.path);
                }
                emit modelChanged();
                emit modelOpened(load.path);
            });
    watcher->setFuture(loader_(path));
}

void ModelSession::setMethod(const QString& method) {
    if (method == method_) return;
    method_ = method;
    remember(analysis_keys::kMethod, method_);
    emit analysisChanged();
}

void ModelSession::setEigenSmooth(bool on) {
    if (on == eigenSmooth_) return;
    eigenSmooth_ = on;
    remember(analysis_keys::kEigenSmooth, on);
    emit analysisChanged();
}

void ModelSession::setFlipSmooth(bool on) {
    if (on == flipSmooth_) return;
    flipSmooth_ = on;
    remember(analysis_keys::kFlipSmooth, on);
    emit analysisChanged();
}

void ModelSession::setClassIndex(int index) {
    if (index == classIndex_) return;
    classIndex_ = index;
    emit analysisChanged();
}

void ModelSession::setFit(ImageFit fit) {
    if (fit == fit_) return;
    fit_ = fit;
    remember(analysis_keys::kFit, int(fit_));
    emit analysisChanged();
}

void ModelSession::setOverlap(double overlap) {
    if (overlap == overlap_) return;
    overlap_ = overlap;
    remember(analysis_keys::kOverlap, overlap_);
    emit analysisChanged();
}

AnalysisSettings ModelSession::analysisSettings() const {
    AnalysisSettings s;
    s.method = method_.toStdString();
    s.eigenSmooth = eigenSmooth_;
    s.augmentSmooth = flipSmooth_;
    if (classIndex_ >= 0) s.classIndex = classIndex_;
    s.fit = fit_;
    s.overlap = overlap_;
    s.mode = mode_;  // core falls back to patches where dense does not apply
    s.int8 = int8_;  // and to fp32 where int8 does not (patch mode, TorchScript, a GPU)
    return s;
}

void ModelSession::setMode(AnalysisMode mode) {
    if (mode == mode_) return;
    mode_ = mode;
    remember(analysis_keys::kMode,
             mode_ == AnalysisMode::Patch ? QStringLiteral("patch") : QStringLiteral("dense"));
    emit analysisChanged();
}

void ModelSession::setInt8(bool on) {
    if (on == int8_) return;
    int8_ = on;
    remember(analysis_keys::kPrecision, int8_ ? QStringLiteral("int8") : QStringLiteral("fp32"));
    emit analysisChanged();
}

void ModelSession::setLayer(ShownHeat layer) {
    if (layer == layer_) return;
    layer_ = layer;
    displayEdited();
}

void ModelSession::setNormalisation(CamNormalisation normalisation) {
    if (normalisation == normalisation_) return;
    normalisation_ = normalisation;
    displayEdited();
}

void ModelSession::setColourMap(ColourMap colours) {
    if (colours == colourMap_) return;
    colourMap_ = colours;
    displayEdited();
}

void ModelSession::setOpacity(double opacity) {
    opacity = std::clamp(opacity, 0.0, 1.0);
    if (opacity == opacity_) return;
    opacity_ = opacity;
    displayEdited();
}

void ModelSession::setThreshold(double threshold) {
    threshold = std::clamp(threshold, 0.0, 1.0);
    if (threshold == threshold_) return;
    threshold_ = threshold;
    displayEdited();
}

void ModelSession::remember(const char* key, const QVariant& value) {
    if (remembered_) QSettings().setValue(key, value);
}

void ModelSession::displayEdited() {
    using namespace analysis_keys;
    if (!remembered_) {
        emit displayChanged();
        return;
    }
    QSettings settings;
    settings.setValue(kLayer, layer_ == ShownHeat::Probability ? 1 : 0);
    settings.setValue(kNormalisation, normalisation_ == CamNormalisation::Patch ? 1 : 0);
    settings.setValue(kColourMap, colourMapName(colourMap_));
    settings.setValue(kOpacity, opacity_);
    settings.setValue(kThreshold, threshold_);
    emit displayChanged();
}

void ModelSession::setLive(bool live) {
    if (live == live_) return;
    live_ = live;
    remember(analysis_keys::kLive, live_);
    emit liveChanged(live_);
}

}  // namespace lucida::ui
