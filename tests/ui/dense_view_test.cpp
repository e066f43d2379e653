// Dense mode in the viewer (issue 16): the demo slide analysed with the demo model in the
// default, seamless mode shows no patch grid at a 20 µm scale — across a patch border inside a
// lesion the heat on screen steps no more than between neighbouring cells inside the patches —
// while "Per patch, as trained" without overlap shows the seam at the same place on screen. The
// two modes' results are kept apart (their keys differ), and the mode chosen in the panel
// persists across a restart.
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "AnalysisSettingKeys.h"
#include "MainWindow.h"
#include "ModelSession.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewWaits.h"
#include "demo/DemoData.h"

#include <QComboBox>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace lucida;
using namespace lucida::ui;

namespace {

constexpr char kDemoModel[] = LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth";

// The heat on screen along rows of CAM cells across one vertical patch border: grey levels
// (grey colour map, opacity 1) at the centres of the cells of the patch left of the border and
// the one right of it, one profile per row of cells away from the patches' top and bottom.
using Profiles = std::vector<std::vector<int>>;

Profiles screenProfiles(SlideView* view, double borderX, double top, int cells, double cell) {
    const QImage shot = view->grab().toImage();
    ViewGeometry g = view->viewGeometry();
    g.viewWidth = view->width();
    g.viewHeight = view->height();
    Profiles rows;
    for (int row = cells / 4; row < cells - cells / 4; ++row) {
        const double y = top + (row + 0.5) * cell;
        std::vector<int> v;
        for (int k = -cells; k < cells; ++k) {
            const PointF p = g.toScreen({borderX + (k + 0.5) * cell, y});
            v.push_back(qGray(shot.pixel(int(p.x), int(p.y))));
        }
        rows.push_back(std::move(v));
    }
    return rows;
}

// How far the two cells beside the split before cell k lie below the line through their outer
// neighbours: a patch seam is a valley along the border (each patch's map is weak at its edge).
int dip(const std::vector<int>& v, int k) {
    return (v[k - 2] + v[k + 1]) / 2 - (v[k - 1] + v[k]) / 2;
}

// Per row: the dip at the border (the split before cell `cells`) and the largest dip at a split
// inside either patch (its four cells in one patch). Rows where the heat beside the border is
// low in `hot` (the dense profiles) are left out: a cold area has no valley to see.
struct BorderDips {
    std::vector<int> border, inside;
    int seamless() const {  // rows whose border dips no deeper than their patches' insides
        int n = 0;
        for (std::size_t i = 0; i < border.size(); ++i) n += border[i] <= inside[i];
        return n;
    }
    QString text() const {
        QStringList rows;
        for (std::size_t i = 0; i < border.size(); ++i)
            rows << QString("%1/%2").arg(border[i]).arg(inside[i]);
        return rows.join(' ');
    }
};

BorderDips borderDips(const Profiles& rows, const Profiles& hot, int cells) {
    BorderDips d;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const auto& h = hot[r];
        if (*std::max_element(h.begin() + cells - 2, h.begin() + cells + 2) < 64) continue;
        int inside = std::numeric_limits<int>::min();
        for (int k = 2; k + 1 < 2 * cells; ++k)
            if (k + 1 < cells || k - 2 >= cells) inside = std::max(inside, dip(rows[r], k));
        d.border.push_back(dip(rows[r], cells));
        d.inside.push_back(inside);
    }
    return d;
}

}  // namespace

class DenseViewTest : public QObject {
    Q_OBJECT
    std::unique_ptr<QTemporaryDir> tmp_;
    std::unique_ptr<TileService> tiles_;
    QString slide_;

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("dense_view_test");
        QSettings().clear();
        QSettings().setValue(analysis_keys::kLive, false);
        QSettings().setValue(analysis_keys::kResultsBesideImage, true);  // in the temporary folder
        qRegisterMetaType<SlideView*>("SlideView*");
        tmp_ = std::make_unique<QTemporaryDir>();
        QVERIFY(tmp_->isValid());
        tiles_ = std::make_unique<TileService>(std::size_t{128} << 20, 2);
        demo::DemoSlideOptions options;  // 0.5 µm/px, the demo model's scale
        options.width = 2048;
        options.height = 2048;
        slide_ = tmp_->filePath("demo.tiff");
        demo::writeDemoSlide(slide_.toStdString(), tmp_->filePath("mask.png").toStdString(),
                             options);
    }

    void denseHeatShowsNoGridPatchModeDoes() {
        MainWindow window(tiles_.get());
        window.resize(1400, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        AnalysisPanel* panel = window.analysisPanel();
        ModelSession* session = panel->session();
        QCOMPARE(session->mode(), AnalysisMode::Dense);  // the default
        auto* modeCombo = panel->findChild<QComboBox*>("modeCombo");
        QVERIFY(modeCombo);
        QCOMPARE(modeCombo->currentText(), QString("Seamless (dense)"));
        session->setColourMap(ColourMap::Grey);  // heat = grey level
        session->setOpacity(1.0);
        session->setThreshold(0.0);
        QSignalSpy modelOpened(&window, &MainWindow::modelOpened);
        window.openModel(kDemoModel);
        QVERIFY(modelOpened.wait(60000));
        QSignalSpy opened(&window, &MainWindow::documentOpened);
        window.openPath(slide_);
        QVERIFY(opened.wait(20000));
        auto* view = opened.takeFirst().at(0).value<SlideView*>();
        AnalysisController* c = AnalysisController::of(view);
        QVERIFY(c);
        c->start();
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 120000);
        const auto dense = c->analysis();
        QVERIFY(dense);
        QCOMPARE(dense->settings.mode, AnalysisMode::Dense);  // not refused for the demo model

        // Two side-by-side patches, the hottest pair: a border inside a lesion.
        std::size_t left = 0, right = 0;
        float best = -1;
        const auto meanCam = [&](std::size_t i) {
            const auto& cam = dense->outcomes[i].cam;
            double sum = 0;
            for (float v : cam) sum += v;
            return cam.empty() ? 0.0f : float(sum / double(cam.size()));
        };
        for (std::size_t i = 0; i < dense->grid.patches.size(); ++i)
            for (std::size_t j = 0; j < dense->grid.patches.size(); ++j) {
                const Patch &a = dense->grid.patches[i], &b = dense->grid.patches[j];
                if (b.row != a.row || b.column != a.column + 1) continue;
                const float heat = std::min(meanCam(i), meanCam(j));
                if (heat > best) best = heat, left = i, right = j;
            }
        QVERIFY(best > 0);
        const Patch& l = dense->grid.patches[left];
        const double borderX = dense->grid.patches[right].x;
        const int cells = dense->camWidth;  // per patch side
        const double cell = l.width / cells;
        QVERIFY(cells >= 8);
        view->setScale(2.0);  // 0.25 µm per screen pixel: the 20 µm scale bar
        view->setCentre(borderX, l.y + l.height / 2);
        QVERIFY(viewtest::waitLoaded(view));
        const Profiles denseRows = screenProfiles(view, borderX, l.y, cells, cell);
        const BorderDips seamless = borderDips(denseRows, denseRows, cells);
        qInfo("dense, dip at the border / inside per row: %s", qPrintable(seamless.text()));
        QVERIFY2(seamless.border.size() >= 3, "too few rows with heat beside the border");
        QCOMPARE(seamless.seamless(), int(seamless.border.size()));

        // "Per patch, as trained", overlap none: the same place on screen shows the seam.
        QCOMPARE(panel->findChild<QComboBox*>("overlapCombo")->currentData().toDouble(), 0.0);
        modeCombo->setCurrentIndex(modeCombo->findText("Per patch, as trained"));
        QCOMPARE(session->mode(), AnalysisMode::Patch);
        QCOMPARE(c->mode(), AnalysisMode::Patch);
        c->start();
        QTRY_VERIFY_WITH_TIMEOUT(c->state() == AnalysisController::State::Complete, 120000);
        const auto patch = c->analysis();
        QVERIFY(patch && patch != dense);
        QCOMPARE(patch->settings.mode, AnalysisMode::Patch);
        QVERIFY(patch->key != dense->key);  // dense and patch results are never mixed
        QVERIFY(patch->resultsDir != dense->resultsDir);
        QVERIFY(viewtest::waitLoaded(view));
        const BorderDips seams =
            borderDips(screenProfiles(view, borderX, l.y, cells, cell), denseRows, cells);
        qInfo("patch, dip at the border / inside per row: %s", qPrintable(seams.text()));
        QVERIFY2(seams.seamless() <= int(seams.border.size()) / 2,
                 "patch mode shows no seam where dense mode is checked");
    }

    // The mode chosen in the panel is the next session's (a restart reads QSettings).
    void modePersistsAcrossARestart() {
        QSettings().remove(analysis_keys::kLastModel);  // no model loading at start-up
        {
            MainWindow window(tiles_.get());
            auto* combo = window.analysisPanel()->findChild<QComboBox*>("modeCombo");
            combo->setCurrentIndex(combo->findText("Seamless (dense)"));
            QCOMPARE(QSettings().value(analysis_keys::kMode).toString(), QString("dense"));
            combo->setCurrentIndex(combo->findText("Per patch, as trained"));
            QCOMPARE(QSettings().value(analysis_keys::kMode).toString(), QString("patch"));
        }
        {
            MainWindow window(tiles_.get());
            auto* combo = window.analysisPanel()->findChild<QComboBox*>("modeCombo");
            QCOMPARE(combo->currentText(), QString("Per patch, as trained"));
            QCOMPARE(window.analysisPanel()->session()->mode(), AnalysisMode::Patch);
            combo->setCurrentIndex(combo->findText("Seamless (dense)"));
        }
        MainWindow window(tiles_.get());
        QCOMPARE(window.analysisPanel()->session()->mode(), AnalysisMode::Dense);
        QCOMPARE(QSettings().value(analysis_keys::kMode).toString(), QString("dense"));
    }
};

QTEST_MAIN(DenseViewTest)
#include "dense_view_test.moc"
