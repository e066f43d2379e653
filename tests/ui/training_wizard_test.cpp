// Drives the real training wizard offscreen on a tiny two-class image set: the folder scan (counts,
// thumbnails, unreadable files), small CNN at 32 px for 3 epochs, live curves, the confusion
// matrix and the files written; cancelling keeps a checkpoint; bad folders block Next; closing
// while training cancels and waits; Tools ▸ Train a Model opens it from the main window.
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "HeatmapOverlay.h"
#include "MainWindow.h"
#include "TileService.h"
#include "TrainingCharts.h"
#include "TrainingDataPage.h"
#include "TrainingFinishPage.h"
#include "TrainingModelPage.h"
#include "TrainingRunPage.h"
#include "TrainingSettingsPage.h"
#include "TrainingWizard.h"
#include "model/Model.h"
#include "train/TrainingReport.h"

#include <QAbstractButton>
#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QMessageBox>
#include <QPainter>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QTreeWidget>
#include <QValueAxis>
#include <QtTest>

#include <memory>

using namespace lucida;
using namespace lucida::ui;

namespace {

// `perClass` 32x32 PNGs per class: a bright square of the class colour, at a random place and
// size, on a dark noisy background.
void makeClass(const QString& dir, const QColor& colour, int count, quint32 seed) {
    QVERIFY(QDir().mkpath(dir));
    QRandomGenerator rng(seed);
    for (int i = 0; i < count; ++i) {
        QImage image(32, 32, QImage::Format_RGB32);
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 32; ++x) {
                const int v = rng.bounded(40);
                image.setPixel(x, y, qRgb(v, v, v));
            }
        QPainter painter(&image);
        const int size = 12 + rng.bounded(12);
        painter.fillRect(rng.bounded(32 - size), rng.bounded(32 - size), size, size, colour);
        painter.end();
        QVERIFY(
            image.save(QDir(dir).filePath(QStringLiteral("img%1.png").arg(i, 2, 10, QChar('0')))));
    }
}

void makeDataset(const QString& root, int perClass) {
    makeClass(QDir(root).filePath("A_red"), QColor(250, 30, 30), perClass, 1);
    makeClass(QDir(root).filePath("B_blue"), QColor(30, 30, 250), perClass, 2);
}

int tableSum(const QTableWidget* table) {
    int sum = 0;
    for (int r = 0; r < table->rowCount(); ++r)
        for (int c = 0; c < table->columnCount(); ++c)
            if (const QTableWidgetItem* item = table->item(r, c)) sum += item->text().toInt();
    return sum;
}

// Clicks Yes on the next modal message box (the wizard's "cancel the training?").
void answerYesSoon() {
    QTimer::singleShot(200, [] {
        if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget()))
            box->button(QMessageBox::Yes)->click();
    });
}

// Clicks the button named `name` on the next modal message box that has one (polling for up to
// ten seconds); `asked` (when given) counts the boxes answered.
void clickSoon(const QString& name, int* asked = nullptr) {
    auto* timer = new QTimer;
    auto tries = std::make_shared<int>(0);
    QObject::connect(timer, &QTimer::timeout, [timer, tries, name, asked] {
        auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
        auto* button = box ? box->findChild<QAbstractButton*>(name) : nullptr;
        if (button) {
            if (asked) ++*asked;
            button->click();
        }
        if (button || ++*tries > 200) timer->deleteLater();
    });
    timer->start(50);
}

QByteArray contents(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

}  // namespace

class TrainingWizardTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<QTemporaryDir> tmp_;
    std::unique_ptr<TrainingWizard> wizard_;

    QString tmp(const QString& relative) const { return QDir(tmp_->path()).filePath(relative); }

    // Scans `folder`, chooses small CNN at 32 px, `epochs` epochs of batch `batch`, and stops on
    // the run page.
    bool setUp(const QString& folder, int epochs, int batch, const QString& out,
               TrainingWizard* wizard = nullptr) {
        if (!wizard) wizard = wizard_.get();
        if (!toSettings(wizard, folder)) return false;
        TrainingSettingsPage* settings = wizard->settingsPage();
        settings->epochsBox()->setValue(epochs);
        settings->batchBox()->setValue(batch);
        settings->outputFolderEdit()->setText(out);
        settings->modelNameEdit()->setText("tiny");
        wizard->next();
        return wizard->currentId() == TrainingWizard::RunPageId;
    }

    // Scans `folder`, chooses small CNN at 32 px, and stops on the settings page.
    static bool toSettings(TrainingWizard* wizard, const QString& folder) {
        TrainingDataPage* data = wizard->dataPage();
        data->setTrainFolder(folder);
        if (!QTest::qWaitFor([&] { return data->isComplete(); }, 30000)) return false;
        wizard->next();
        if (wizard->currentId() != TrainingWizard::ModelPageId) return false;
        wizard->modelPage()->setArchitecture("smallcnn");
        wizard->modelPage()->inputSizeBox()->setValue(32);
        wizard->next();
        return wizard->currentId() == TrainingWizard::SettingsPageId;
    }

    // Starts the run page's training, waits for it, goes on to the finish page and clicks "Open
    // the Model in the Viewer"; the trained model's path once `window` has it open, else empty.
    static QString trainAndOpen(TrainingWizard* wizard, MainWindow* window) {
        TrainingRunPage* run = wizard->runPage();
        run->startButton()->click();
        if (!QTest::qWaitFor([run] { return !run->isRunning(); }, 120000) || !run->result() ||
            run->result()->modelPath.empty()) {
            qWarning("training failed: %s", qPrintable(run->lastError()));
            return {};
        }
        const QString path = QString::fromStdString(run->result()->modelPath);
        wizard->next();
        if (wizard->currentId() != TrainingWizard::FinishPageId) return {};
        QSignalSpy opened(window, &MainWindow::modelOpened);
        wizard->finishPage()->openButton()->click();
        if (!opened.wait(60000)) {
            qWarning("the viewer did not open %s", qPrintable(path));
            return {};
        }
        return opened.at(0).at(0).toString() == path ? path : QString();
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("training_wizard_test");
        QSettings().clear();
    }

    void init() {
        tmp_ = std::make_unique<QTemporaryDir>();
        QVERIFY(tmp_->isValid());
        wizard_ = std::make_unique<TrainingWizard>();
        wizard_->show();
        QVERIFY(QTest::qWaitForWindowExposed(wizard_.get()));
    }

    void cleanup() {
        wizard_.reset();
        tmp_.reset();
        QSettings().clear();
    }

    void trainsSmallCnnAndShowsResults() {
        const QString data = tmp("data");
        makeDataset(data, 8);
        // An unreadable file: listed with its reason, and left out.
        QFile broken(QDir(data).filePath("A_red/broken.png"));
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write("this is not a PNG");
        broken.close();

        TrainingDataPage* page = wizard_->dataPage();
        QVERIFY(!wizard_->button(QWizard::NextButton)->isEnabled());
        page->setTrainFolder(data);
        QTRY_COMPARE_WITH_TIMEOUT(page->imagesPerClass(), QList<int>({8, 8}), 30000);
        QVERIFY(page->isComplete());
        QVERIFY(wizard_->button(QWizard::NextButton)->isEnabled());
        QCOMPARE(page->classes(), QStringList({"A_red", "B_blue"}));
        QTableWidget* counts = page->countsTable();
        QCOMPARE(counts->rowCount(), 3);  // two classes and the total
        QCOMPARE(counts->item(0, 1)->text(), QString("8"));
        QCOMPARE(counts->item(2, 1)->text(), QString("16"));
        // 20% of 8 per class, rounded: 2 validation images per class.
        QCOMPARE(page->validationPerClass(), QList<int>({2, 2}));
        QCOMPARE(page->trainingPerClass(), QList<int>({6, 6}));
        QCOMPARE(page->skippedCount(), 1);
        QCOMPARE(page->skippedList()->topLevelItemCount(), 1);
        QVERIFY(page->skippedList()->topLevelItem(0)->text(0).endsWith("broken.png"));
        QVERIFY(!page->skippedList()->topLevelItem(0)->text(1).isEmpty());
        QTRY_COMPARE_WITH_TIMEOUT(page->thumbnailCount(), 12, 20000);
        QVERIFY(page->errorText().isEmpty());

        wizard_->next();
        QCOMPARE(wizard_->currentId(), int(TrainingWizard::ModelPageId));
        TrainingModelPage* model = wizard_->modelPage();
        QVERIFY(model->binaryChoiceVisible());  // two classes: sigmoid or softmax
        model->setArchitecture("smallcnn");
        QCOMPARE(model->inputSizeBox()->value(), 128);  // the small CNN's default
        model->inputSizeBox()->setValue(32);
        wizard_->next();
        QCOMPARE(wizard_->currentId(), int(TrainingWizard::SettingsPageId));
        TrainingSettingsPage* settings = wizard_->settingsPage();
        settings->epochsBox()->setValue(3);
        settings->batchBox()->setValue(4);
        const QString out = tmp("out");
        settings->outputFolderEdit()->setText(out);
        settings->modelNameEdit()->setText("tiny");
        const TrainOptions options = wizard_->options();
        QCOMPARE(options.architecture, std::string("smallcnn"));
        QCOMPARE(options.inputSize, 32);
        QCOMPARE(options.epochs, 3);
        QCOMPARE(options.batchSize, 4);
        QCOMPARE(QString::fromStdString(options.dataDir), data);
        wizard_->next();
        QCOMPARE(wizard_->currentId(), int(TrainingWizard::RunPageId));

        TrainingRunPage* run = wizard_->runPage();
        QVERIFY(!wizard_->button(QWizard::NextButton)->isEnabled());
        run->startButton()->click();
        QVERIFY(run->isRunning());
        QVERIFY(wizard_->button(QWizard::BackButton)->isHidden());  // no going back meanwhile
        QTRY_VERIFY_WITH_TIMEOUT(!run->isRunning(), 120000);
        QVERIFY2(run->lastError().isEmpty(), qPrintable(run->lastError()));
        QVERIFY(run->result().has_value());
        const TrainResult& result = *run->result();
        QCOMPARE(int(result.history.size()), 3);
        QVERIFY(result.outcome == TrainOutcome::Finished);

        for (CurveChart* chart : {run->lossChart(), run->accuracyChart()}) {
            QCOMPARE(chart->seriesCount(), 2);
            for (int s = 0; s < 2; ++s) QCOMPARE(chart->series(s)->count(), 3);
        }
        QVERIFY(run->rocChart()->curve()->count() >= 2);
        QCOMPARE(run->metricsTable()->rowCount(), 3);
        QCOMPARE(run->confusionTable()->rowCount(), 2);
        QCOMPARE(run->confusionTable()->columnCount(), 2);
        QCOMPARE(tableSum(run->confusionTable()), 4);  // the validation images
        QCOMPARE(run->progressBar()->value(), run->progressBar()->maximum());

        // Precision, recall and F1 say which class is positive (the second, as for the ROC) and
        // are that class's figures.
        QTableWidget* table = run->metricsTable();
        const ClassificationMetrics& last = result.history.back().metrics;
        const std::pair<QString, double> figures[] = {{"Precision (B_blue +)", last.precision[1]},
                                                      {"Recall (B_blue +)", last.recall[1]},
                                                      {"F1 (B_blue +)", last.f1[1]}};
        for (const auto& [header, value] : figures) {
            int column = -1;
            for (int i = 0; i < table->columnCount(); ++i)
                if (table->horizontalHeaderItem(i)->text() == header) column = i;
            QVERIFY2(column >= 0, qPrintable(header));
            QVERIFY(table->horizontalHeaderItem(column)->toolTip().contains("B_blue"));
            QVERIFY(std::abs(table->item(2, column)->text().toDouble() - value) <= 5e-4);
        }
        // ROC ticks at 0, 0.2, …, 1.
        for (QAbstractAxis* axis : run->rocChart()->chart()->axes()) {
            auto* values = qobject_cast<QValueAxis*>(axis);
            QVERIFY(values);
            QCOMPARE(values->min(), 0.0);
            QCOMPARE(values->max(), 1.0);
            QCOMPARE(values->tickCount(), 6);
        }
        // The live curves in the colours of curves.png, which has them.
        for (CurveChart* chart : {run->lossChart(), run->accuracyChart()}) {
            QCOMPARE(chart->series(0)->color(), QColor(QRgb(kTrainCurveRgb)));
            QCOMPARE(chart->series(1)->color(), QColor(QRgb(kValidationCurveRgb)));
        }
        const QImage curves(QString::fromStdString(result.curvesPath));
        QVERIFY(!curves.isNull());
        int trainPixels = 0, validationPixels = 0, bestPixels = 0;
        for (int y = 0; y < curves.height(); ++y)
            for (int x = 0; x < curves.width(); ++x) {
                const QRgb p = curves.pixel(x, y) & 0xffffff;
                trainPixels += p == kTrainCurveRgb;
                validationPixels += p == kValidationCurveRgb;
                bestPixels += p == kBestEpochRgb;
            }
        QVERIFY2(
            trainPixels > 50 && validationPixels > 50 && bestPixels > 20,
            qPrintable(QString("%1 %2 %3").arg(trainPixels).arg(validationPixels).arg(bestPixels)));

        for (const std::string& p :
             {result.modelPath, result.sidecarPath, result.reportPath, result.curvesPath}) {
            const QString file = QString::fromStdString(p);
            QVERIFY2(QFileInfo(file).isFile(), qPrintable(file));
            QVERIFY2(QFileInfo(file).absolutePath() == QFileInfo(out).absoluteFilePath(),
                     qPrintable(file));
            QVERIFY2(run->log()->toPlainText().contains(QDir::toNativeSeparators(file)),
                     qPrintable(file));
        }
        QVERIFY(QFileInfo(QDir(out).filePath("report.json")).isFile() ||
                QString::fromStdString(result.reportPath).endsWith(".json"));
        QVERIFY(wizard_->button(QWizard::NextButton)->isEnabled());
        QVERIFY(!wizard_->button(QWizard::BackButton)->isHidden());

        if (const QByteArray dir = qgetenv("LUCIDA_SCREENSHOT_DIR"); !dir.isEmpty()) {
            QTest::qWait(200);  // charts lay out on the next paint
            const QString shot =
                QDir(QString::fromLocal8Bit(dir)).filePath("screenshot-training.png");
            QVERIFY2(wizard_->grab().save(shot), qPrintable(shot));
        }

        wizard_->next();
        QCOMPARE(wizard_->currentId(), int(TrainingWizard::FinishPageId));
        QSignalSpy trained(wizard_.get(), &TrainingWizard::modelTrained);
        wizard_->finishPage()->openButton()->click();
        QCOMPARE(trained.count(), 1);
        QCOMPARE(trained.at(0).at(0).toString(), QString::fromStdString(result.modelPath));

        // Choices persist.
        wizard_->accept();
        QSettings s;
        QCOMPARE(s.value("training/trainFolder").toString(), data);
        QCOMPARE(s.value("training/architecture").toString(), QString("smallcnn"));
        QCOMPARE(s.value("training/inputSize").toInt(), 32);
        QCOMPARE(s.value("training/epochs").toInt(), 3);
    }

    void cancelKeepsCheckpoint() {
        const QString data = tmp("data");
        makeDataset(data, 12);
        QVERIFY(setUp(data, 500, 2, tmp("out")));
        TrainingRunPage* run = wizard_->runPage();
        QSignalSpy epochs(run, &TrainingRunPage::epochShown);
        run->startButton()->click();
        QVERIFY(epochs.wait(60000));  // one complete epoch: a best model exists
        run->pauseButton()->click();
        QVERIFY(run->isPaused());
        QVERIFY(run->resumeButton()->isEnabled());
        run->cancelButton()->click();  // a paused training cancels too
        QTRY_VERIFY_WITH_TIMEOUT(!run->isRunning(), 60000);
        QVERIFY(run->result().has_value());
        QVERIFY(run->result()->outcome == TrainOutcome::Cancelled);
        const QString log = run->log()->toPlainText();
        const QRegularExpression line("Checkpoint \\(resume from here\\): (.+)");
        const QRegularExpressionMatch match = line.match(log);
        QVERIFY2(match.hasMatch(), qPrintable(log));
        const QString checkpoint = match.captured(1).trimmed();
        QVERIFY2(QFileInfo(checkpoint).isFile(), qPrintable(checkpoint));
        QVERIFY(QFileInfo(QString::fromStdString(run->result()->modelPath)).isFile());
        QVERIFY(run->startButton()->isEnabled());
    }

    void badFoldersBlockNext_data() {
        QTest::addColumn<QString>("kind");
        QTest::newRow("empty") << "empty";
        QTest::newRow("one class") << "one";
        QTest::newRow("missing") << "missing";
    }

    void badFoldersBlockNext() {
        QFETCH(QString, kind);
        const QString folder = tmp(kind);
        if (kind == "empty") QVERIFY(QDir().mkpath(folder));
        if (kind == "one") makeClass(QDir(folder).filePath("only"), Qt::red, 4, 3);
        TrainingDataPage* page = wizard_->dataPage();
        page->setTrainFolder(folder);
        QTRY_VERIFY_WITH_TIMEOUT(!page->isScanning(), 30000);
        QVERIFY(!page->isComplete());
        QVERIFY2(page->errorText().contains(folder), qPrintable(page->errorText()));
        const QLabel* label = wizard_->findChild<QLabel*>("dataError");
        QVERIFY(label && label->isVisible());
        QVERIFY(!wizard_->button(QWizard::NextButton)->isEnabled());
        wizard_->next();
        QCOMPARE(wizard_->currentId(), int(TrainingWizard::DataPageId));
    }

    // Tools ▸ Train a Model opens the wizard (non-modal); its model shows in the status bar.
    void mainWindowOpensWizard() {
        TileService tiles(std::size_t{64} << 20, 1);
        MainWindow window(&tiles);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* action = window.findChild<QAction*>("trainModelAction");
        QVERIFY(action);
        QCOMPARE(action->shortcut(), QKeySequence("Ctrl+Shift+T"));
        action->trigger();
        auto* wizard = window.findChild<TrainingWizard*>();
        QVERIFY(wizard);
        QTRY_VERIFY(wizard->isVisible());
        QVERIFY(!wizard->isModal());
        action->trigger();  // the same wizard again
        QCOMPARE(window.findChildren<TrainingWizard*>().size(), 1);
        emit wizard->modelTrained("/models/tiny.pth");
        QVERIFY(window.statusBar()->currentMessage().contains("tiny.pth"));
        wizard->reject();
        QTRY_VERIFY(window.findChildren<TrainingWizard*>().isEmpty());  // deleted on close
    }

    // "Open the Model in the Viewer" switches the viewer to the trained model, twice in a row:
    // the Analysis panel shows it, the heat on the open image comes from it, and it heads the
    // recent models. The second run does not overwrite the first model: it is asked, and the
    // default answer is a new name.
    void openingTheTrainedModelSwitchesTheViewer() {
        TileService tiles(std::size_t{64} << 20, 1);
        MainWindow window(&tiles);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QImage photo(64, 64, QImage::Format_RGB32);
        photo.fill(QColor(40, 40, 40));
        QPainter(&photo).fillRect(16, 16, 24, 24, QColor(250, 30, 30));
        const QString photoPath = tmp("photo.png");
        QVERIFY(photo.save(photoPath));
        QSignalSpy documents(&window, &MainWindow::documentOpened);
        window.openPath(photoPath);
        QVERIFY(documents.wait(20000));
        AnalysisController* c = window.analysisController(window.currentView());
        QVERIFY(c && c->isLive());
        AnalysisPanel* panel = window.analysisPanel();

        window.findChild<QAction*>("trainModelAction")->trigger();
        auto* wizard = window.findChild<TrainingWizard*>();
        QVERIFY(wizard);
        const QString data = tmp("data");
        makeDataset(data, 8);
        const QString out = tmp("out");
        QVERIFY(setUp(data, 2, 4, out, wizard));

        auto shows = [&](const QString& path) {
            QCOMPARE(window.modelPath(), path);
            QCOMPARE(panel->modelCombo()->currentData().toString(), path);
            QVERIFY(c->model());
            QCOMPARE(QString::fromStdString(c->model()->path()), path);
            QCOMPARE(panel->classCombo()->currentText(), QString("B_blue"));
            // The heat on the image is the trained model's (live analysis of the photo).
            QTRY_VERIFY_WITH_TIMEOUT(c->results() && !c->overlay()->isEmpty(), 60000);
            QCOMPARE(c->results()->modelPath, path);
            QCOMPARE(QSettings().value("analysis/recentModels").toStringList().value(0), path);
            QCOMPARE(panel->modelCombo()->itemData(0).toString(), path);
        };
        const QString first = trainAndOpen(wizard, &window);
        QVERIFY(!first.isEmpty());
        QCOMPARE(first, QDir(out).filePath("tiny.pth"));
        shows(first);
        if (QTest::currentTestFailed()) return;
        const QByteArray firstBytes = contents(first);
        QVERIFY(!firstBytes.isEmpty());

        // Again: back to the run page, Start Again. tiny.pth exists: the wizard asks, and the
        // answer offered first is a new name.
        wizard->back();
        QCOMPARE(wizard->currentId(), int(TrainingWizard::RunPageId));
        int asked = 0;
        clickSoon("newNameButton", &asked);
        const QString second = trainAndOpen(wizard, &window);
        QCOMPARE(asked, 1);
        QCOMPARE(second, QDir(out).filePath("tiny-2.pth"));
        QCOMPARE(contents(first), firstBytes);  // the first model is untouched
        shows(second);
        if (QTest::currentTestFailed()) return;
        const QStringList recent = QSettings().value("analysis/recentModels").toStringList();
        QCOMPARE(recent.mid(0, 2), QStringList({second, first}));
        wizard->reject();
    }

    // A model name that is taken is never overwritten without asking: a new wizard proposes the
    // next free name; typing the taken one asks on Next (Cancel stays on the page, Replace goes
    // on and lets the run replace it).
    void takenModelNameIsNotOverwritten() {
        const QString data = tmp("data");
        makeDataset(data, 6);
        const QString out = tmp("out");
        QVERIFY(QDir().mkpath(out));
        for (const char* name : {"tiny.pth", "tiny.json", "tiny-2.report.json"}) {
            QFile f(QDir(out).filePath(name));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("an earlier run's");
        }
        QSettings().setValue("training/outputFolder", out);
        QSettings().setValue("training/modelName", "tiny");
        wizard_ = std::make_unique<TrainingWizard>();  // reads the remembered name
        wizard_->show();
        QVERIFY(toSettings(wizard_.get(), data));
        TrainingSettingsPage* settings = wizard_->settingsPage();
        // tiny and tiny-2 have outputs there: the proposal is tiny-3.
        QCOMPARE(settings->modelNameEdit()->text(), QString("tiny-3"));
        QVERIFY(!wizard_->options().overwrite);

        settings->modelNameEdit()->setText("tiny");
        int asked = 0;
        clickSoon("cancelButton", &asked);
        wizard_->next();
        QCOMPARE(asked, 1);
        QCOMPARE(wizard_->currentId(), int(TrainingWizard::SettingsPageId));
        QCOMPARE(contents(QDir(out).filePath("tiny.pth")), QByteArray("an earlier run's"));

        clickSoon("replaceButton", &asked);
        wizard_->next();
        QCOMPARE(asked, 2);
        QCOMPARE(wizard_->currentId(), int(TrainingWizard::RunPageId));
        QVERIFY(wizard_->options().overwrite);
        // The confirmation is for that name only.
        wizard_->back();
        settings->modelNameEdit()->setText("tiny-3");
        QVERIFY(!wizard_->options().overwrite);
    }

    void closingWhileTrainingCancelsAndWaits() {
        const QString data = tmp("data");
        makeDataset(data, 12);
        QVERIFY(setUp(data, 500, 2, tmp("out")));
        TrainingRunPage* run = wizard_->runPage();
        run->startButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(run->progressBar()->value() > 0, 60000);
        answerYesSoon();
        wizard_->reject();              // the Cancel button or the window's close box
        QVERIFY(wizard_->isVisible());  // stays until the thread is over
        QTRY_VERIFY_WITH_TIMEOUT(!run->isRunning(), 60000);
        QTRY_VERIFY(!wizard_->isVisible());
        QVERIFY(run->result().has_value());
        QVERIFY(run->result()->outcome == TrainOutcome::Cancelled);
    }
};

QTEST_MAIN(TrainingWizardTest)
#include "training_wizard_test.moc"
