#pragma once

#include <QFutureWatcher>
#include <QImage>
#include <QWizardPage>

class QLabel;
class QPushButton;

namespace lucida::ui {

class TrainingRunPage;

// Page 5: where the model, its sidecar, report.json and curves.png were written, a preview of
// the curves, and a button that hands the model to the viewer.
class TrainingFinishPage : public QWizardPage {
    Q_OBJECT
public:
    explicit TrainingFinishPage(const TrainingRunPage* run, QWidget* parent = nullptr);

    void initializePage() override;
    QString modelPath() const { return modelPath_; }
    QPushButton* openButton() const { return open_; }

signals:
    void openModelRequested(const QString& modelPath);

private:
    const TrainingRunPage* run_;
    QLabel* outcome_;
    QLabel* files_;
    QLabel* curves_;
    QPushButton* open_;
    QPushButton* showFolder_;
    QString modelPath_;
    QFutureWatcher<QImage>* preview_;
};

}  // namespace lucida::ui
