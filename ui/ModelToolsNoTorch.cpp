// ModelTools of a build without LibTorch: no models to run. The viewer works as ever; opening a
// model says why it cannot.
#include "ModelTools.h"

#include "ModelSession.h"

#include <QMainWindow>
#include <QtConcurrent>

namespace lucida::ui {

namespace {

class NoModelTools final : public ModelTools {
public:
    explicit NoModelTools(QMainWindow* window)
        : ModelTools(window), session_(new ModelSession(&cannotOpen, this)) {
        connect(session_, &ModelSession::modelFailed, this,
                [this](const QString&, const QString& message, bool) {
                    emit errorOccurred(tr("Cannot open model"), message);
                    emit modelFailed(message);
                });
    }

    ModelSession* session() const override { return session_; }
    AnalysisPanel* panel() const override { return nullptr; }
    void addDocks(QDockWidget*, QDockWidget*) override {}
    QList<QAction*> addMenus() override { return {}; }
    void attach(SlideView*) override {}
    void setCurrentView(SlideView*) override {}
    AnalysisController* controller(const SlideView*) const override { return nullptr; }
    void attachPane(SlideView*, ModelSession*) override {}
    void openModel(const QString& path) override { session_->open(path); }
    void analyseCurrent() override {}
    void setAnalyseOnOpen(bool) override {}
    bool isBusy() const override { return false; }
    bool mayClose() override { return true; }
    void exportReport(SlideView*) override {
        emit errorOccurred(
            tr("Export Report"),
            tr("This build of Lucida has no LibTorch: it has no analysis to report."));
    }

private:
    static QFuture<ModelLoad> cannotOpen(const QString& path) {
        return QtConcurrent::run([path] {
            return ModelLoad{
                path, nullptr,
                tr("%1: this build of Lucida has no LibTorch, so it cannot run models.").arg(path)};
        });
    }

    ModelSession* session_;
};

}  // namespace

ModelTools* ModelTools::create(QMainWindow* window, QTabWidget*) {
    return new NoModelTools(window);
}

}  // namespace lucida::ui
