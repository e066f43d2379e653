#pragma once

#include "train/ImageFolder.h"
#include "train/TrainOptions.h"

#include <QFutureWatcher>
#include <QImage>
#include <QList>
#include <QString>
#include <QStringList>
#include <QWizardPage>

#include <vector>

class QButtonGroup;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QRadioButton;
class QSpinBox;
class QTableWidget;
class QTimer;
class QTreeWidget;

namespace lucida::ui {

// What a scan of the chosen folder(s) found; made on Qt's thread pool.
struct FolderScan {
    quint64 generation = 0;
    QString error;  // empty: the folders are usable
    bool separate = false;
    std::vector<std::string> classes;
    std::vector<LabelledImage> train;       // all images of the training folder
    std::vector<LabelledImage> validation;  // separate validation folder only
    std::vector<SkippedFile> skipped;
};

// A small picture of any image Lucida opens (plain images through QImageReader at a reduced
// size, others through the image sources' smallest level); null when it cannot be read. For
// worker threads: it decodes.
QImage loadThumbnail(const QString& path, int maxSide);

// Page 1: the image folder (one sub-folder per class), split into training and validation by a
// fraction and a seed, or separate training and validation folders. The folders are scanned off
// the GUI thread; the page shows the images per class, a few thumbnails of each class and the
// files that cannot be read. Next stays disabled until the scan succeeded.
class TrainingDataPage : public QWizardPage {
    Q_OBJECT
public:
    explicit TrainingDataPage(QWidget* parent = nullptr);
    ~TrainingDataPage() override;

    bool isComplete() const override;
    bool validatePage() override;

    bool separateValidation() const;
    QString trainFolder() const;
    QString validationFolder() const;
    double validationFraction() const;
    QSpinBox* seedBox() const { return seed_; }

    // The latest successful scan.
    QStringList classes() const;
    QList<int> imagesPerClass() const;      // in the training folder (split: before the split)
    QList<int> trainingPerClass() const;    // after the split
    QList<int> validationPerClass() const;  // after the split, or the validation folder's
    int skippedCount() const;

    // For the wizard and tests; scanning starts at once.
    void setTrainFolder(const QString& path);
    void setValidationFolder(const QString& path);
    void setSeparateValidation(bool separate);
    void setValidationFraction(double fraction);
    bool isScanning() const { return scanning_; }
    QString errorText() const;
    QTableWidget* countsTable() const { return counts_; }
    QTreeWidget* skippedList() const { return skippedList_; }
    int thumbnailCount() const { return thumbnailsShown_; }

    void apply(TrainOptions& options) const;  // data folders, split and seed
    void saveSettings() const;

signals:
    void scanFinished();  // after every scan, successful or not
    void thumbnailsShown();

private:
    void restoreSettings();  // the last training's folders, split and seed
    void connectControls(QPushButton* trainBrowse);
    void chooseFolder(QLineEdit* edit, const QString& title);
    void scheduleScan();
    void startScan();
    void showScan(const FolderScan& scan);
    void updateSplit();
    void showThumbnails(const QList<QImage>& images);
    void setError(const QString& message);
    void setBusy(bool scanning);

    QRadioButton* splitMode_;
    QRadioButton* separateMode_;
    QLineEdit* trainEdit_;
    QLineEdit* validationEdit_;
    QPushButton* validationBrowse_;
    QDoubleSpinBox* fraction_;
    QSpinBox* seed_;
    QLabel* status_;
    QLabel* error_;
    QTableWidget* counts_;
    QWidget* thumbnails_;
    QGridLayout* thumbnailGrid_;
    QLabel* skippedLabel_;
    QTreeWidget* skippedList_;
    QTimer* debounce_;

    FolderScan scan_;  // latest successful scan
    QString scanSummary_;
    bool scanOk_ = false;
    bool scanning_ = false;
    quint64 generation_ = 0;
    int thumbnailsShown_ = 0;
    std::vector<int> thumbnailClass_;  // class of each requested thumbnail
    QFutureWatcher<FolderScan>* scanWatcher_;
    QFutureWatcher<QList<QImage>>* thumbWatcher_;
    quint64 thumbGeneration_ = 0;
};

}  // namespace lucida::ui
