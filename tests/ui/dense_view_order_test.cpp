// Dense mode in the viewer follows the view (issue 16): zoomed in on the lower-right lesion of the
// demo slide, "Analyse Slide" in dense mode publishes heat over the visible area before any far
// from it (tiles under the view first, then outwards), whereas the plan's order would run the
// slide from the top.
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "AnalysisSettingKeys.h"
#include "MainWindow.h"
#include "ModelSession.h"
#include "SlideView.h"
#include "TileService.h"
#include "demo/DemoData.h"

#include <QComboBox>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <array>
#include <vector>

using namespace lucida;
using namespace lucida::ui;

namespace {

constexpr char kDemoModel[] = LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth";

using View = std::array<double, 4>;

bool inView(const Patch& p, const View& v) { return p.intersects(v[0], v[1], v[2], v[3]); }

// What one published heat held: patches done in view, and done far from it.
struct Published {
    std::size_t inView = 0, far = 0, done = 0;
};

}  // namespace

class DenseViewOrderTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("dense_view_order_test");
        QSettings().clear();
        QSettings().setValue(analysis_keys::kLive, false);
        QSettings().setValue(analysis_keys::kResultsBesideImage, true);  // in the temporary folder
        qRegisterMetaType<SlideView*>("SlideView*");
    }

    void heatInViewIsPublishedFirst() {
        QTemporaryDir tmp;
        demo::DemoSlideOptions options;  // 0.5 µm/px, the demo model's scale
        options.width = 4096;
        options.height = 3072;
        const QString slide = tmp.filePath("demo.tiff");
        const auto demoSlide = demo::writeDemoSlide(
            slide.toStdString(), tmp.filePath("mask.png").toStdString(), options);
        QVERIFY(!demoSlide.lesions.empty());
        const demo::DemoLesion* lesion = &demoSlide.lesions.front();
        for (const auto& l : demoSlide.lesions)
            if (l.x + l.width + l.y + l.height >
                lesion->x + lesion->width + lesion->y + lesion->height)
                lesion = &l;

        TileService tiles(std::size_t{128} << 20, 2);
        MainWindow window(&tiles);
        window.resize(1400, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        AnalysisPanel* panel = window.analysisPanel();
        auto* modeCombo = panel->findChild<QComboBox*>("modeCombo");
        QVERIFY(modeCombo);
        modeCombo->setCurrentIndex(modeCombo->findText("Seamless (dense)"));
        QCOMPARE(panel->session()->mode(), AnalysisMode::Dense);
        QSignalSpy modelOpened(&window, &MainWindow::modelOpened);
        window.openModel(kDemoModel);
        QVERIFY(modelOpened.wait(60000));
        QSignalSpy opened(&window, &MainWindow::documentOpened);
        window.openPath(slide);
        QVERIFY(opened.wait(20000));
        auto* view = opened.takeFirst().at(0).value<SlideView*>();
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c);
        view->setScale(1.0);  // 1:1, about a 1000-px square of the slide on screen
        view->setCentre(double(lesion->x + lesion->width / 2),
                        double(lesion->y + lesion->height / 2));
        const QPointF a = view->screenToImage(QPointF(0, 0));
        const QPointF b = view->screenToImage(QPointF(view->width(), view->height()));
        const View visible{a.x(), a.y(), b.x() - a.x(), b.y() - a.y()};
        QVERIFY(visible[0] > options.width / 4.0 && visible[1] > options.height / 4.0);

        c->setPartialIntervalMs(0);  // every tile's heat is published
        std::vector<Published> published;
        View near{};
        std::size_t inViewTotal = 0;
        connect(c, &AnalysisController::resultsChanged, this, [&] {
            const auto analysis = c->analysis();
            if (!analysis || analysis->settings.mode != AnalysisMode::Dense) return;
            // A patch is near when a 512-px tile (the small CNN's) touching the view completes it.
            const double margin = 512 * analysis->grid.downsample + analysis->grid.patchSize;
            near = {visible[0] - margin, visible[1] - margin, visible[2] + 2 * margin,
                    visible[3] + 2 * margin};
            Published p;
            inViewTotal = 0;
            for (std::size_t i = 0; i < analysis->grid.patches.size(); ++i) {
                const Patch& patch = analysis->grid.patches[i];
                inViewTotal += inView(patch, visible);
                if (!analysis->outcomes[i].done) continue;
                ++p.done;
                p.inView += inView(patch, visible);
                p.far += !inView(patch, near);
            }
            if (p.done > 0) published.push_back(p);
        });
        c->start();
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 120000);
        QCOMPARE(c->analysis()->settings.mode, AnalysisMode::Dense);
        QVERIFY(inViewTotal >= 4);
        QVERIFY(published.size() >= 2);
        QVERIFY2(published.front().inView > 0, "the first heat published is not in view");
        // Until every patch in view has heat, nothing far from the view has.
        std::size_t firstComplete = published.size();
        for (std::size_t k = 0; k < published.size(); ++k)
            if (published[k].inView == inViewTotal) {
                firstComplete = k;
                break;
            }
        QVERIFY(firstComplete < published.size());
        const Published& p = published[firstComplete];
        qInfo(
            "%zu patches in view all had heat after %zu publications, with %zu of %zu done "
            "(%zu far from the view)",
            inViewTotal, firstComplete + 1, p.done, published.back().done, p.far);
        QCOMPARE(p.far, std::size_t(0));
        QVERIFY(p.done < published.back().done / 2);
    }
};

QTEST_MAIN(DenseViewOrderTest)
#include "dense_view_order_test.moc"
