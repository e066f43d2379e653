// Drives the real training wizard offscreen on a tiny two-class image set: the folder scan (counts,
// thumbnails, unreadable files), small CNN at 32 px for 3 epochs, live curves, the confusion
// matrix and the files written; cancelling keeps a checkpoint; bad folders block Next; closing
// while training cancels and waits; Tools ▸ Train a Model opens it from the main window.
#include "MainWindow.h"
#include "TileService.h"
#include "TrainingCharts.h"
#include "TrainingDataPage.h"
#include "TrainingFinishPage.h"
#include "TrainingModelPage.h"
#include "TrainingRunPage.h"
#include "TrainingSettingsPage.h"
#include "TrainingWizard.h"

#include <QAbstractButton>
#include <QAction>
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
#include <QtTest>

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

}  // namespace

class TrainingWizardTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<QTemporaryDir> tmp_;
    std::unique_ptr<TrainingWizard> wizard_;

    QString tmp(const QString& relative) const { return QDir(tmp_->path()).filePath(relative); }

    // Scans `folder`, chooses small CNN at 32 px, `epochs` epochs of batch `batch`, and stops on
    // the run page.
    bool setUp(const QString& folder, int epochs, int batch, const QString& out) {
        TrainingDataPage* data = wizard_->dataPage();
        data->setTrainFolder(folder);
        if (!QTest::qWaitFor([&] { return data->isComplete(); }, 30000)) return false;
        wizard_->next();
        if (wizard_->currentId() != TrainingWizard::ModelPageId) return false;
        wizard_->modelPage()->setArchitecture("smallcnn");
        wizard_->modelPage()->inputSizeBox()->setValue(32);
        wizard_->next();
        if (wizard_->currentId() != TrainingWizard::SettingsPageId) return false;
        TrainingSettingsPage* settings = wizard_->settingsPage();
        settings->epochsBox()->setValue(epochs);
        settings->batchBox()->setValue(batch);
        settings->outputFolderEdit()->setText(out);
        settings->modelNameEdit()->setText("tiny");
        wizard_->next();
        return wizard_->currentId() == TrainingWizard::RunPageId;
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
