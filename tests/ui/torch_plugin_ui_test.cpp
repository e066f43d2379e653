// LibTorch is loaded when a model is (core/engine/ModelEngine.h): the viewer with a slide open and
// no model has neither LibTorch nor the plugin mapped (this process's /proc/self/maps); opening a
// model loads both, and the model analyses the slide to the end. This program links lucida_ui
// only (no lucida_model), as the viewer does.
#include "AnalysisController.h"
#include "MainWindow.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewWaits.h"
#include "engine/ModelEngine.h"

#include <QFile>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <string>

using namespace lucida;
using namespace lucida::ui;

namespace {

// Whether a file whose name contains `name` is mapped into this process.
bool mapped(const std::string& name) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line))
        if (const auto slash = line.rfind('/');
            slash != std::string::npos && line.find(name, slash) != std::string::npos)
            return true;
    return false;
}

QString env(const char* name) { return QString::fromLocal8Bit(qgetenv(name)); }

}  // namespace

class TorchPluginUiTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("torch_plugin_ui_test");
        QSettings().clear();  // no last model to reopen at start
        qRegisterMetaType<SlideView*>("SlideView*");
    }

    void viewerWithoutModelHasNoLibTorch() {
        QVERIFY(mapped("libQt6Widgets"));  // the check sees this process's libraries
        TileService tiles(std::size_t{128} << 20, 2);
        MainWindow window(&tiles);
        window.resize(1200, 800);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy opened(&window, &MainWindow::documentOpened);
        window.openPath(env("LUCIDA_FIXTURES") + "/slides/aperio.svs");
        QVERIFY(opened.wait(20000));
        auto* view = opened.takeFirst().at(0).value<SlideView*>();
        QVERIFY(viewtest::waitLoaded(view));
        QVERIFY(!mapped("libtorch"));
        QVERIFY(!mapped("libc10"));
        QVERIFY(!mapped("liblucida-torch"));
        QVERIFY(!loadedModelEngine());

        // A model: the plugin and LibTorch come in, and the slide is analysed to the end.
        QTemporaryDir tmp;
        const QString model = tmp.filePath("cnn.pt");
        QVERIFY(QFile::copy(env("LUCIDA_REFERENCE_DIR") + "/smallcnn.traced.pt", model));
        QFile sidecar(tmp.filePath("cnn.json"));
        QVERIFY(sidecar.open(QIODevice::WriteOnly));
        sidecar.write(R"({"classes": ["benign", "malignant"], "output": "sigmoid",
                          "input_size": [128, 128], "microns_per_pixel": 0.998})");
        sidecar.close();
        QSignalSpy modelOpened(&window, &MainWindow::modelOpened);
        window.openModel(model);
        QVERIFY(modelOpened.wait(60000));
        QVERIFY(window.hasModel());
        QVERIFY(mapped("liblucida-torch.so"));
        QVERIFY(mapped("libtorch"));
        QVERIFY(loadedModelEngine());

        window.analyseCurrent();
        AnalysisController* c = window.analysisController(view);
        QVERIFY(c);
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 120000);
        QVERIFY(c->progress().total > 0);
        QCOMPARE(c->progress().done, c->progress().total);
    }
};

QTEST_MAIN(TorchPluginUiTest)
#include "torch_plugin_ui_test.moc"
