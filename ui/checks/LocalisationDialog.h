#pragma once
// Analysis ▸ Localisation…: how well each CAM method points at the user's area annotations on
// the image on screen — the pointing game (hits / regions) and the energy-based pointing game
// (mean share of the heat inside) per ticked method, over the annotations of one class or all.
// Scored on a worker (scoreLocalisation: stored heat reused, missing patches explained) with
// progress and Cancel; the table can be copied or exported as CSV; a region's row centres the
// view on it.

#include "LocalisationScore.h"

#include <QDialog>
#include <QFutureWatcher>
#include <QPointer>

#include <atomic>
#include <memory>
#include <optional>

class QComboBox;
class QLabel;
class QListWidget;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace lucida::ui {

class ModelSession;
class SlideView;

class LocalisationDialog : public QDialog {
    Q_OBJECT
public:
    LocalisationDialog(SlideView* view, const ModelSession& session, QWidget* parent = nullptr);
    ~LocalisationDialog() override;  // cancels and waits for the worker

    void run();
    void cancel();
    bool isRunning() const;
    // The last finished scores (empty: none yet) and the regions they are of.
    const std::vector<MethodScore>& scores() const { return scores_; }
    const std::vector<LocalisationRegion>& regions() const { return scored_; }
    // The method table as CSV: method,hits,regions,pointing_accuracy,energy_pointing_mean.
    QString csv() const;
    QString exportTo(const QString& path) const;  // empty on success, else why

signals:
    void finished();  // scores() holds the outcome (also after a failure: then empty)

protected:
    void reject() override;

private:
    // The image's area annotations (on the current slice) of `className`; empty: of every class.
    std::vector<LocalisationRegion> regionsOf(const std::string& className) const;
    void fillClasses();
    void showScores();
    void finish();
    void setRunning(bool running);
    void centreOn(int region);
    void chooseExport();

    QPointer<SlideView> view_;
    LocalisationRequest base_;  // settings, results root, image size from the session and view
    std::shared_ptr<const ImageSource> source_;
    std::shared_ptr<const Model> model_;
    std::vector<MethodScore> scores_;
    std::vector<LocalisationRegion> scored_;
    QFutureWatcher<std::optional<std::vector<MethodScore>>> watcher_;
    std::shared_ptr<std::atomic<bool>> cancel_;
    std::shared_ptr<std::string> failure_;

    QComboBox* class_;
    QListWidget* methods_;
    QPushButton *runButton_, *cancelButton_, *copyButton_, *exportButton_;
    QProgressBar* progress_;
    QLabel* status_;
    QTableWidget *table_, *regionTable_;
};

// Opens the dialog for `view` (deleted when closed); says why not when there is no image or no
// model.
void openLocalisationDialog(QWidget* parent, SlideView* view, const ModelSession& session);

}  // namespace lucida::ui
