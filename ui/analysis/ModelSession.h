#pragma once

#include "analysis/AnalysisOutputs.h"
#include "analysis/SlideAnalysis.h"
#include "cam/CamMaps.h"

#include <QFuture>
#include <QObject>
#include <QString>
#include <QVariant>

#include <functional>
#include <memory>

namespace lucida {
class Model;
}

namespace lucida::ui {

class RecentFiles;

// A model opened off the GUI thread: the model, or the error naming the file.
struct ModelLoad {
    QString path;
    std::shared_ptr<const Model> model;
    QString error;
};
// Opens a model off the GUI thread (the LibTorch build's AnalysisController::openModelAsync; a
// build without it answers with an error).
using ModelLoader = std::function<QFuture<ModelLoad>(const QString& path)>;

enum class ShownHeat { Cam, Probability };

// The one open model and the analysis settings of the window, which the analysis panel and every
// image's AnalysisController observe (no one else keeps a model). What is analysed (method, class,
// fit, overlap) and how heat is shown (layer, CAM scale, colours, opacity, threshold) hold for
// every image; the settings, the last model and the recent models persist in QSettings under the
// keys of AnalysisSettingKeys.h. No LibTorch here: models are opened through the loader.
class ModelSession : public QObject {
    Q_OBJECT
public:
    explicit ModelSession(ModelLoader loader, QObject* parent = nullptr);

    // Opening: the old model goes at once (modelChanged), the new one comes with modelChanged and
    // modelOpened, or modelFailed. A later open() wins over one still loading. A missing file
    // fails at once; `reportErrors` is passed on (false for the model remembered at start-up).
    void open(const QString& path, bool reportErrors = true);
    const std::shared_ptr<const Model>& model() const { return model_; }
    QString path() const { return path_; }    // the model open, being opened, or last failed
    QString error() const { return error_; }  // why the last open failed; empty otherwise
    bool isLoading() const { return loading_; }
    RecentFiles* recentModels() const { return recent_; }
    static QString lastModel();  // the model of the last session (empty: none)
    // A split view's pane (ui/split) has a session of its own: false keeps its choices out of
    // QSettings and the recent models, so they never become the window's.
    void setRemembered(bool remembered) { remembered_ = remembered; }
    const ModelLoader& loader() const { return loader_; }

    QString method() const { return method_; }
    void setMethod(const QString& method);
    // Smoothing of every patch's map (core/cam/CamSmoothing.h); either means patch mode.
    bool eigenSmooth() const { return eigenSmooth_; }
    void setEigenSmooth(bool on);
    bool flipSmooth() const { return flipSmooth_; }
    void setFlipSmooth(bool on);
    int classIndex() const { return classIndex_; }  // -1: the model's default (last class)
    void setClassIndex(int index);
    ImageFit fit() const { return fit_; }
    void setFit(ImageFit fit);
    double overlap() const { return overlap_; }
    void setOverlap(double overlap);
    // Dense (default) where the model and method allow it, else core falls back to patches and
    // says why (SlideAnalysis::notices); Patch: every patch on its own, as trained.
    AnalysisMode mode() const { return mode_; }
    void setMode(AnalysisMode mode);
    // Dense mode's trunk in int8 (AnalysisSettings::int8), else fp32 (the default); where int8
    // does not apply (patch mode, TorchScript, a GPU) core runs fp32 and says why in its notices.
    bool int8() const { return int8_; }
    void setInt8(bool on);
    // What is analysed, as core takes it: method, smoothing, class (when one is chosen), fit,
    // overlap, mode and precision. Callers add the slice, batch size and their own merges; the
    // view's controllers keep a snapshot of their own (to restart only on a real change).
    AnalysisSettings analysisSettings() const;

    ShownHeat layer() const { return layer_; }
    void setLayer(ShownHeat layer);
    CamNormalisation normalisation() const { return normalisation_; }
    void setNormalisation(CamNormalisation normalisation);
    ColourMap colourMap() const { return colourMap_; }
    void setColourMap(ColourMap colours);
    double opacity() const { return opacity_; }  // 0..1
    void setOpacity(double opacity);
    double threshold() const { return threshold_; }  // 0..1
    void setThreshold(double threshold);

    bool isLive() const { return live_; }  // analyse what is in view while a model is open
    void setLive(bool live);

signals:
    void modelChanged();  // model() or its state (loading, failed) changed
    void modelOpened(const QString& path);
    void modelFailed(const QString& path, const QString& error, bool reportErrors);
    void analysisChanged();  // method, smoothing, class, fit, overlap, mode or precision
    void displayChanged();   // layer, CAM scale, colours, opacity or threshold
    void liveChanged(bool live);

private:
    void displayEdited();
    void remember(const char* key, const QVariant& value);  // in QSettings unless not remembered

    ModelLoader loader_;
    RecentFiles* recent_;
    std::shared_ptr<const Model> model_;
    QString path_, error_;
    bool loading_ = false;
    int request_ = 0;  // the latest open(); older loads are dropped

    QString method_;
    bool eigenSmooth_ = false, flipSmooth_ = false;
    int classIndex_ = -1;
    ImageFit fit_ = ImageFit::Auto;
    double overlap_ = 0;
    AnalysisMode mode_ = AnalysisMode::Dense;
    bool int8_ = false;
    ShownHeat layer_ = ShownHeat::Cam;
    CamNormalisation normalisation_ = CamNormalisation::Slide;
    ColourMap colourMap_ = ColourMap::Jet;
    double opacity_ = 0.5, threshold_ = 0.2;
    bool live_ = true;
    bool remembered_ = true;
};

// The name of a colour map as colourMapFromName reads it ("jet", …).
QString colourMapName(ColourMap colours);

}  // namespace lucida::ui
