// Where analysis results go: the user's own store by default (the image's folder untouched),
// keyed by the image's identity; beside the image only when chosen; a folder that cannot be
// written (read-only or immutable) falls back to the user store, analyses with no error, and the
// results are found again by a later session.
#include "ResultsLocation.h"
#include "analysis/SlideAnalysis.h"
#include "fixtures/Fixtures.h"
#include "image/ImageSource.h"
#include "model/Model.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <unistd.h>

using namespace lucida;
using namespace lucida::ui;

namespace {

QStringList entries(const QString& dir) {
    return QDir(dir).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden);
}

QString referenceDir() { return qEnvironmentVariable("LUCIDA_REFERENCE_DIR"); }

}  // namespace

class ResultsLocationTest : public QObject {
    Q_OBJECT
    std::unique_ptr<QTemporaryDir> tmp_;
    QString lockedDir_;

    QString copySlide(const QString& folder, const QString& name = "aperio.svs") {
        QDir().mkpath(folder);
        const QString path = QDir(folder).filePath(name);
        QFile::remove(path);
        return QFile::copy(QString::fromStdString(fixtures::path("slides/aperio.svs")), path)
                   ? path
                   : QString();
    }

    // Makes `dir` unwritable for this process: chmod for a user, the immutable attribute for root
    // (to whom permission bits do not apply).
    bool lock(const QString& dir) {
        lockedDir_ = dir;
        if (geteuid() != 0) return QFile::setPermissions(dir, QFile::ReadOwner | QFile::ExeOwner);
        return QProcess::execute("chattr", {"+i", dir}) == 0;
    }
    void unlock() {
        if (lockedDir_.isEmpty()) return;
        if (geteuid() == 0)
            QProcess::execute("chattr", {"-i", lockedDir_});
        else
            QFile::setPermissions(lockedDir_,
                                  QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
        lockedDir_.clear();
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("results_location_test");
        QSettings().clear();
        tmp_ = std::make_unique<QTemporaryDir>();
        QVERIFY(tmp_->isValid());
    }
    void cleanup() { unlock(); }
    void cleanupTestCase() {
        unlock();
        QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).removeRecursively();
    }

    void defaultIsTheUserStoreAndLeavesTheImageFolderAlone() {
        QCOMPARE(savedResultsPlace(), ResultsPlace::UserStore);
        const QString folder = tmp_->filePath("shared");
        const QString slide = copySlide(folder);
        QVERIFY(!slide.isEmpty());
        const QStringList before = entries(folder);
        const QString root = resultsRootFor(slide, savedResultsPlace());
        const QString data = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
        QVERIFY2(root.startsWith(data + "/analyses/aperio.svs-"), qPrintable(root));
        QVERIFY(root.endsWith(".lucida"));
        QCOMPARE(entries(folder), before);
    }

    void theStoreFollowsTheImageNotItsPath() {
        const QString a = copySlide(tmp_->filePath("one"));
        const QString b = copySlide(tmp_->filePath("two"));  // the same slide elsewhere
        QCOMPARE(userStoreRoot(a), userStoreRoot(b));
        // Same name and size, one byte different: another image.
        const QString c = copySlide(tmp_->filePath("three"));
        QFile file(c);
        QVERIFY(file.open(QIODevice::ReadWrite));
        QVERIFY(file.seek(100));
        const char byte = file.peek(1).at(0);
        QVERIFY(file.write(QByteArray(1, char(byte ^ 0x5a))) == 1);
        file.close();
        QCOMPARE(QFileInfo(c).size(), QFileInfo(a).size());
        QVERIFY(userStoreRoot(c) != userStoreRoot(a));
    }

    void besideTheImageWhenChosen() {
        saveResultsPlace(ResultsPlace::BesideImage);
        QCOMPARE(savedResultsPlace(), ResultsPlace::BesideImage);
        const QString slide = copySlide(tmp_->filePath("mine"));
        bool fellBack = true;
        QCOMPARE(resultsRootFor(slide, ResultsPlace::BesideImage, &fellBack), slide + ".lucida");
        QVERIFY(!fellBack);
        QVERIFY(QFileInfo(slide + ".lucida").isDir());
        saveResultsPlace(ResultsPlace::UserStore);
    }

    // An image in a folder nobody may write: chosen "beside", it falls back to the user store;
    // the analysis runs with no error, writes nothing there, and a later session finds it all.
    void readOnlyFolderAnalysesAndFindsResultsAgain() {
        const QString folder = tmp_->filePath("readonly");
        const QString slide = copySlide(folder);
        QVERIFY(!slide.isEmpty());
        QVERIFY2(lock(folder), "cannot make the folder read-only (chattr/chmod)");
        QFile probe(QDir(folder).filePath("probe"));
        QVERIFY2(!probe.open(QIODevice::WriteOnly), "the folder is still writable");
        const QStringList before = entries(folder);

        bool fellBack = false;
        const QString root = resultsRootFor(slide, ResultsPlace::BesideImage, &fellBack);
        QVERIFY(fellBack);
        QCOMPARE(root, userStoreRoot(slide));

        // The reference small CNN (binary, input 128) at 0.998 µm/px: 256-pixel patches.
        const QString model = tmp_->filePath("cnn.pt");
        QVERIFY(QFile::copy(referenceDir() + "/smallcnn.traced.pt", model));
        QFile sidecar(tmp_->filePath("cnn.json"));
        QVERIFY(sidecar.open(QIODevice::WriteOnly));
        sidecar.write(R"({"classes": ["benign", "malignant"], "output": "sigmoid",
                          "input_size": [128, 128], "microns_per_pixel": 0.998})");
        sidecar.close();
        const auto m = Model::open(model.toStdString());
        const auto source = openImage(slide.toStdString());
        AnalysisSettings settings;
        settings.batchSize = 8;
        const SlideAnalysis done = analyseSlide(*source, *m, settings, root.toStdString());
        QVERIFY(done.complete());
        QVERIFY(done.doneCount() > 10);
        QCOMPARE(entries(folder), before);

        // A later session: the root is found again from the image alone, and the stored
        // analysis is complete with the same outcomes.
        const QString again = resultsRootFor(slide, ResultsPlace::BesideImage);
        QCOMPARE(again, root);
        const auto stored = loadSlideAnalysis(*source, *m, settings, again.toStdString());
        QVERIFY(stored.has_value());
        QVERIFY(stored->complete());
        QCOMPARE(stored->doneCount(), done.doneCount());
        for (std::size_t i = 0; i < done.outcomes.size(); ++i)
            QCOMPARE(stored->outcomes[i].probabilities, done.outcomes[i].probabilities);
    }
};

QTEST_GUILESS_MAIN(ResultsLocationTest)
#include "results_location_test.moc"
