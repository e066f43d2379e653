// View ▸ Split from the real window, on a demo slide with the bundled demo model: two panes with
// two CAM methods paint different heat over the same image (pixels grabbed from the screen, the
// same once the heat is hidden); a pan, zoom or rotation in one pane leaves the other's
// ViewGeometry exactly equal; an unlinked pane moves alone and takes the others' view when linked
// again; four panes link the same way; the split and each pane's method persist in QSettings.
#include "AnalysisController.h"
#include "MainWindow.h"
#include "PaneHeader.h"
#include "SlideView.h"
#include "SplitPane.h"
#include "SplitView.h"
#include "TileService.h"
#include "ViewWaits.h"
#include "demo/DemoData.h"

#include <QAction>
#include <QComboBox>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

#include <memory>

using namespace lucida;
using namespace lucida::ui;

namespace {

const char* const kModel = LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth";

bool sameView(const ViewGeometry& a, const ViewGeometry& b) {
    return a.centreX == b.centreX && a.centreY == b.centreY && a.scale == b.scale &&
           a.quarterTurns == b.quarterTurns;
}

QString describe(const ViewGeometry& g) {
    return QStringLiteral("centre %1,%2 scale %3 turns %4")
        .arg(g.centreX, 0, 'g', 17)
        .arg(g.centreY, 0, 'g', 17)
        .arg(g.scale, 0, 'g', 17)
        .arg(g.quarterTurns);
}

// Pixels whose colour differs by more than `tolerance` in some channel.
int differingPixels(const QImage& a, const QImage& b, int tolerance) {
    if (a.size() != b.size()) return -1;
    const QImage x = a.convertToFormat(QImage::Format_RGB32);
    const QImage y = b.convertToFormat(QImage::Format_RGB32);
    int count = 0;
    for (int row = 0; row < x.height(); ++row) {
        const auto* p = reinterpret_cast<const QRgb*>(x.constScanLine(row));
        const auto* q = reinterpret_cast<const QRgb*>(y.constScanLine(row));
        for (int col = 0; col < x.width(); ++col)
            if (std::abs(qRed(p[col]) - qRed(q[col])) > tolerance ||
                std::abs(qGreen(p[col]) - qGreen(q[col])) > tolerance ||
                std::abs(qBlue(p[col]) - qBlue(q[col])) > tolerance)
                ++count;
    }
    return count;
}

// The pane's analysis has shown heat for everything in view and is idle.
bool heatShown(SlideView* view) {
    const AnalysisController* c = AnalysisController::of(view);
    return c && c->results() && c->results()->done > 0 && !c->isBusy();
}

void choose(QComboBox* combo, const QString& text) {
    const int i = combo->findText(text);
    QVERIFY2(i >= 0, qPrintable(text));
    combo->setCurrentIndex(i);
    emit combo->activated(i);
}

void drag(SlideView* view, QPoint from, QPoint to) {
    QTest::mousePress(view, Qt::LeftButton, Qt::NoModifier, from);
    QMouseEvent move(QEvent::MouseMove, QPointF(to), view->mapToGlobal(QPointF(to)), Qt::NoButton,
                     Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(view, &move);
    QTest::mouseRelease(view, Qt::LeftButton, Qt::NoModifier, to);
}

}  // namespace

class SplitViewTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("split_view_test");
        QSettings().clear();
        qRegisterMetaType<SlideView*>("SlideView*");
        QVERIFY(dir_.isValid());
        demo::DemoSlideOptions options;
        options.width = 3072;
        options.height = 2048;
        slide_ = QString::fromStdString(
            demo::writeDemoSlide(dir_.filePath("slide.tiff").toStdString(),
                                 dir_.filePath("mask.png").toStdString(), options)
                .path);
    }

    void twoPanesTwoMethodsLinked() {
        TileService tiles(std::size_t{256} << 20, 2);
        MainWindow window(&tiles);
        window.resize(1400, 800);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy modelOpened(&window, &MainWindow::modelOpened);
        window.openModel(kModel);
        QVERIFY(modelOpened.wait(60000));
        QSignalSpy opened(&window, &MainWindow::documentOpened);
        window.openPath(slide_);
        QVERIFY(opened.wait(20000));
        auto* view = opened.takeFirst().at(0).value<SlideView*>();

        auto* two = window.findChild<QAction*>("splitTwoAction");
        QVERIFY(two);
        two->trigger();
        auto* split = qobject_cast<SplitView*>(window.tabs()->currentWidget());
        QVERIFY(split);
        QCOMPARE(split->paneCount(), 2);
        QCOMPARE(window.currentView(), view);  // the window's menus still act on the first pane
        QCOMPARE(split->pane(0)->view(), view);
        SlideView* other = split->pane(1)->view();
        QVERIFY(other != view);
        QVERIFY(two->isChecked());
        QCOMPARE(QSettings().value("split/panes").toInt(), 2);

        // Pane 2 with another method; pane 1 keeps the window's (Grad-CAM).
        QCOMPARE(split->pane(0)->header()->methodCombo()->currentText(), QString("gradcam"));
        choose(split->pane(1)->header()->methodCombo(), "eigencam");
        QCOMPARE(split->pane(1)->session()->method(), QString("eigencam"));
        QCOMPARE(AnalysisController::of(other)->method(), QString("eigencam"));
        QCOMPARE(AnalysisController::of(view)->method(), QString("gradcam"));
        QCOMPARE(QSettings().value("split/pane2/method").toString(), QString("eigencam"));
        QCOMPARE(QSettings().value("analysis/method", "gradcam").toString(), QString("gradcam"));

        // Heat in both: the same image under it, different heat on it.
        QTRY_VERIFY_WITH_TIMEOUT(heatShown(view) && heatShown(other), 60000);
        QVERIFY(sameView(view->viewGeometry(), other->viewGeometry()));
        // Same-sized panes (an odd width splits into panes a pixel apart, and the image would be
        // half a pixel off): then the same screen pixel shows the same image pixel in both.
        for (int w = 1400; w < 1404 && view->size() != other->size(); ++w) {
            window.resize(w, 800);
            QTest::qWait(50);
        }
        QCOMPARE(view->size(), other->size());
        QVERIFY(sameView(view->viewGeometry(), other->viewGeometry()));
        QVERIFY(viewtest::waitLoaded(view));
        QVERIFY(viewtest::waitLoaded(other));
        const QImage heatA = view->grab().toImage(), heatB = other->grab().toImage();
        const int differing = differingPixels(heatA, heatB, 24);
        QVERIFY2(differing > heatA.width() * heatA.height() / 50,
                 qPrintable(QString::number(differing)));
        auto* heatAction = window.findChild<QAction*>("showHeatmapAction");
        QVERIFY(heatAction);
        heatAction->setChecked(false);  // every pane's heat goes: the same pixels are left
        QCOMPARE(differingPixels(view->grab().toImage(), other->grab().toImage(), 0), 0);
        heatAction->setChecked(true);

        // A pan in either pane, a zoom, a rotation: the other's geometry is exactly the same.
        const ViewGeometry before = view->viewGeometry();
        drag(view, QPoint(300, 300), QPoint(220, 260));
        QVERIFY2(view->viewGeometry().centreX != before.centreX, qPrintable(describe(before)));
        QVERIFY2(
            sameView(view->viewGeometry(), other->viewGeometry()),
            qPrintable(describe(view->viewGeometry()) + " / " + describe(other->viewGeometry())));
        drag(other, QPoint(200, 200), QPoint(260, 150));
        QVERIFY(sameView(view->viewGeometry(), other->viewGeometry()));
        other->zoomAt(QPointF(100, 120), 1.6);
        QVERIFY(sameView(view->viewGeometry(), other->viewGeometry()));
        other->rotateClockwise();
        QCOMPARE(view->viewGeometry().quarterTurns, 1);
        QVERIFY(sameView(view->viewGeometry(), other->viewGeometry()));

        // Unlinked, pane 2 moves alone, and pane 1 moves without it; linked again, it follows.
        QToolButton* link = split->pane(1)->header()->linkButton();
        link->click();
        QVERIFY(!split->pane(1)->isLinked());
        const ViewGeometry kept = other->viewGeometry();
        drag(view, QPoint(300, 300), QPoint(200, 250));
        QVERIFY(!sameView(view->viewGeometry(), kept));
        QVERIFY(sameView(other->viewGeometry(), kept));
        const ViewGeometry main = view->viewGeometry();
        drag(other, QPoint(300, 300), QPoint(350, 330));
        QVERIFY(sameView(view->viewGeometry(), main));
        QVERIFY(!sameView(other->viewGeometry(), main));
        link->click();
        QVERIFY(sameView(other->viewGeometry(), main));
        drag(other, QPoint(300, 300), QPoint(250, 330));
        QVERIFY(sameView(view->viewGeometry(), other->viewGeometry()));

        // Four panes: every one follows a move in the last.
        window.findChild<QAction*>("splitFourAction")->trigger();
        QCOMPARE(split->paneCount(), 4);
        QCOMPARE(window.tabs()->currentWidget(), split);
        QCOMPARE(split->pane(1)->view(), other);  // the panes there stay as they were
        SlideView* last = split->pane(3)->view();
        drag(last, QPoint(150, 150), QPoint(100, 90));
        for (int i = 0; i < 3; ++i)
            QVERIFY2(sameView(split->pane(i)->view()->viewGeometry(), last->viewGeometry()),
                     qPrintable(QString::number(i)));
        QCOMPARE(QSettings().value("split/panes").toInt(), 4);
        window.findChild<QAction*>("splitSingleAction")->trigger();
        QCOMPARE(split->paneCount(), 1);
        QVERIFY(split->pane(0)->header()->isHidden());
        window.findChild<QAction*>("splitFourAction")->trigger();  // what the next window opens
    }

    // A model opened after the split: every pane analyses with it.
    void modelAfterSplit() {
        QSettings().setValue("split/panes", 2);
        TileService tiles(std::size_t{256} << 20, 2);
        MainWindow window(&tiles);
        window.resize(1400, 800);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy opened(&window, &MainWindow::documentOpened);
        window.openPath(slide_);
        QVERIFY(opened.wait(20000));
        auto* split = qobject_cast<SplitView*>(window.tabs()->currentWidget());
        QVERIFY(split);
        QCOMPARE(split->paneCount(), 2);
        QSignalSpy modelOpened(&window, &MainWindow::modelOpened);
        window.openModel(kModel);
        QVERIFY(modelOpened.wait(60000));
        QTRY_VERIFY_WITH_TIMEOUT(heatShown(split->pane(0)->view()), 60000);
        QTRY_VERIFY_WITH_TIMEOUT(heatShown(split->pane(1)->view()), 60000);
        QSettings().setValue("split/panes", 4);
    }

    // The next window opens images in the last split, pane 2 with its method.
    void splitPersists() {
        TileService tiles(std::size_t{128} << 20, 2);
        MainWindow window(&tiles);
        window.resize(1400, 800);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy opened(&window, &MainWindow::documentOpened);
        window.openPath(slide_);
        QVERIFY(opened.wait(20000));
        auto* split = qobject_cast<SplitView*>(window.tabs()->currentWidget());
        QVERIFY(split);
        QCOMPARE(split->paneCount(), 4);
        QVERIFY(window.findChild<QAction*>("splitFourAction")->isChecked());
        QCOMPARE(split->pane(1)->session()->method(), QString("eigencam"));
        QCOMPARE(split->pane(1)->header()->methodCombo()->currentText(), QString("eigencam"));
        window.tabs()->tabCloseRequested(0);
        QCOMPARE(window.documentCount(), 0);
        QVERIFY(!window.currentView());
    }

private:
    QTemporaryDir dir_;
    QString slide_;
};

QTEST_MAIN(SplitViewTest)
#include "split_view_test.moc"
