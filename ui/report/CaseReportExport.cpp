#include "CaseReportExport.h"

#include "AnalysisController.h"
#include "CaseReport.h"
#include "SlideView.h"
#include "model/Model.h"
#include "report/CaseReportData.h"

#include <QCheckBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QLabel>
#include <QMessageBox>
#include <QProgressDialog>
#include <QSettings>
#include <QVBoxLayout>
#include <QtConcurrent>

#include <atomic>

namespace lucida::ui {
namespace {

bool hasPatientDetails(const ImageInfo& info) {
    for (const std::string& key : patientPropertyKeys())
        if (!info.property(key).value_or("").empty()) return true;
    return false;
}

// Asks whether this export carries the patient details; never remembered: each export decides.
bool askPatientDetails(QWidget* parent, bool* include) {
    QDialog dialog(parent);
    dialog.setWindowTitle(QObject::tr("Export Report"));
    auto* layout = new QVBoxLayout(&dialog);
    layout->addWidget(new QLabel(
        QObject::tr("This DICOM image names its patient. Reports leave the patient's name, ID "
                    "and birth date out unless you include them for this report.")));
    auto* box = new QCheckBox(QObject::tr("&Include patient details (name, ID, birth date)"));
    box->setObjectName("includePatientDetails");
    layout->addWidget(box);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    QObject::connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    QObject::connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    layout->addWidget(buttons);
    if (dialog.exec() != QDialog::Accepted) return false;
    *include = box->isChecked();
    return true;
}

}  // namespace

void exportCaseReport(QWidget* parent, SlideView* view, AnalysisController* controller,
                      std::optional<AnnotationSet> annotations) {
    const QString title = QObject::tr("Export Report");
    std::shared_ptr<const SlideAnalysis> analysis = controller ? controller->analysis() : nullptr;
    if (!view || !controller || !controller->model() || !analysis || analysis->doneCount() == 0) {
        QMessageBox::information(parent, title,
                                 QObject::tr("A report needs an analysis of this image: open a "
                                             "model and analyse the slide first."));
        return;
    }
    const ImageInfo& info = view->document()->info();
    QSettings settings;
    const QString folder = settings.value("report/lastFolder").toString();
    const QString suggested =
        QFileInfo(folder,
                  QFileInfo(QString::fromStdString(info.path)).completeBaseName() + ".report.pdf")
            .filePath();
    const QString path =
        QFileDialog::getSaveFileName(parent, title, suggested, QObject::tr("PDF (*.pdf)"));
    if (path.isEmpty()) return;
    settings.setValue("report/lastFolder", QFileInfo(path).absolutePath());
    bool includePatient = false;
    if (hasPatientDetails(info) && !askPatientDetails(parent, &includePatient)) return;

    CaseReportRequest request;
    request.source = view->document()->source();
    request.analysis = analysis;
    request.model = controller->model()->spec();
    request.modelPath = controller->session()->path().toStdString();
    request.annotations = std::move(annotations);
    request.includePatientDetails = includePatient;
    request.colours = controller->session()->colourMap();
    request.opacity = controller->session()->opacity();
    request.outputPath = path.toStdString();

    auto* progress = new QProgressDialog(QObject::tr("Writing the report…"), QObject::tr("Cancel"),
                                         0, 0, parent);
    progress->setWindowTitle(title);
    progress->setMinimumDuration(300);
    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    QObject::connect(progress, &QProgressDialog::canceled, progress,
                     [cancelled] { *cancelled = true; });
    auto* watcher = new QFutureWatcher<QString>(progress);
    QObject::connect(watcher, &QFutureWatcher<QString>::progressValueChanged, progress,
                     &QProgressDialog::setValue);
    QObject::connect(watcher, &QFutureWatcher<QString>::progressRangeChanged, progress,
                     &QProgressDialog::setRange);
    QObject::connect(watcher, &QFutureWatcher<QString>::finished, progress,
                     [watcher, progress, parent, title] {
                         const QString error = watcher->result();
                         progress->deleteLater();
                         if (!error.isEmpty()) QMessageBox::warning(parent, title, error);
                     });
    // Decoding and rendering on a worker: the renderer, its tiles and the PDF are made there.
    watcher->setFuture(QtConcurrent::run([request, cancelled](QPromise<QString>& promise) {
        CaseReportProgress steps;
        steps.step = [&promise](int done, int total) {
            promise.setProgressRange(0, total);
            promise.setProgressValue(done);
        };
        steps.cancelled = [cancelled] { return cancelled->load(); };
        try {
            writeCaseReport(request, steps);
            promise.addResult(QString());
        } catch (const std::exception& e) {
            promise.addResult(QString::fromStdString(request.outputPath) + ": " +
                              QString::fromUtf8(e.what()));
        }
    }));
}

}  // namespace lucida::ui
