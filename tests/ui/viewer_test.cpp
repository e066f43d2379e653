// Drives the real viewer offscreen: open, 1:1 pixels against libvips, zoom at the cursor, pan,
// rotation, overview clicks, slices and window/level, errors, recent files, drag and drop.
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "DicomControls.h"
#include "MainWindow.h"
#include "OverviewWidget.h"
#include "PropertiesPanel.h"
#include "RecentFiles.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewWaits.h"
#include "fixtures/Fixtures.h"
#include "image/ImageSource.h"

#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QMimeData>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QToolBar>
#include <QTreeWidget>
#include <QWidgetAction>
#include <QtTest>

#include <chrono>
#include <thread>

using namespace lucida;
using namespace lucida::ui;

namespace {

QString fixture(const char* relative) { return QString::fromStdString(fixtures::path(relative)); }

// A source that is slow for one level, so a test can look at the screen before that level arrives.
class SlowLevelSource final : public ImageSource {
public:
    SlowLevelSource(std::unique_ptr<ImageSource> inner, int slowLevel, int delayMs)
        : inner_(std::move(inner)), slowLevel_(slowLevel), delayMs_(delayMs) {}
    const ImageInfo& info() const override { return inner_->info(); }
    PixelBuffer readRegion(int level, const Rect& r, int slice) const override {
        if (level == slowLevel_) std::this_thread::sleep_for(std::chrono::milliseconds(delayMs_));
        return inner_->readRegion(level, r, slice);
    }

private:
    std::unique_ptr<ImageSource> inner_;
    int slowLevel_;
    int delayMs_;
};

int maxChannelDiff(QRgb a, QRgb b) {
    return std::max({std::abs(qRed(a) - qRed(b)), std::abs(qGreen(a) - qGreen(b)),
                     std::abs(qBlue(a) - qBlue(b))});
}

}  // namespace

class ViewerTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<TileService> tiles_;
    std::unique_ptr<MainWindow> window_;

    SlideView* openAndWait(const QString& path) {
        QSignalSpy opened(window_.get(), &MainWindow::documentOpened);
        window_->openPath(path);
        if (!opened.wait(20000)) return nullptr;
        auto* view = opened.takeFirst().at(0).value<SlideView*>();
        return view;
    }
    static bool waitLoaded(SlideView* view, int ms = 20000) {
        return viewtest::waitLoaded(view, ms);
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("viewer_test");
        QSettings().clear();
        qRegisterMetaType<SlideView*>("SlideView*");  // the signal names it unqualified
    }

    void init() {
        tiles_ = std::make_unique<TileService>(std::size_t{256} << 20, 2);
        window_ = std::make_unique<MainWindow>(tiles_.get());
        window_->resize(1200, 800);
        window_->show();
        QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
    }

    void cleanup() {
        window_.reset();
        tiles_.reset();
    }

    // At 1:1 with whole-pixel alignment the screen shows exactly the decoded slide: compare with
    // the region libvips decoded from the same file.
    void actualPixelsMatchLibvips() {
        SlideView* view = openAndWait(fixture("slides/generic.tif"));
        QVERIFY(view);
        const QImage ref = QImage(fixture("slides/refs/generic_L0_1000_700_512_384.png"))
                               .convertToFormat(QImage::Format_RGB32);
        QVERIFY(!ref.isNull());
        view->showActualPixels();
        // Put image point (1000, 700) at screen (0, 0).
        view->setCentre(1000 + view->width() / 2.0, 700 + view->height() / 2.0);
        QVERIFY(waitLoaded(view));
        QCOMPARE(view->displayedLevel(), 0);
        const QImage shot = view->grab().toImage().convertToFormat(QImage::Format_RGB32);
        const int w = std::min(ref.width(), shot.width() - 40),
                  h = std::min(ref.height(), shot.height() - 60);
        int worst = 0;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                worst = std::max(worst, maxChannelDiff(shot.pixel(x, y), ref.pixel(x, y)));
        QVERIFY2(worst <= 2, qPrintable(QStringLiteral("max channel difference %1").arg(worst)));
    }

    void wheelZoomKeepsPointUnderCursor() {
        SlideView* view = openAndWait(fixture("slides/generic.tif"));
        QVERIFY(view);
        const QPointF cursor(150, 120);
        const QPointF before = view->screenToImage(cursor);
        const double scale = view->viewGeometry().scale;
        QWheelEvent wheel(cursor, view->mapToGlobal(cursor), QPoint(), QPoint(0, 120), Qt::NoButton,
                          Qt::NoModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(view, &wheel);
        QCOMPARE(view->viewGeometry().scale, scale * 1.25);
        const QPointF after = view->screenToImage(cursor);
        QVERIFY(std::abs(after.x() - before.x()) < 1e-6 && std::abs(after.y() - before.y()) < 1e-6);
        // Zoom keys act around the centre.
        QTest::keyClick(view, Qt::Key_Minus);
        QCOMPARE(view->viewGeometry().scale, scale);
    }

    void dragPansTheImage() {
        SlideView* view = openAndWait(fixture("slides/generic.tif"));
        QVERIFY(view);
        view->setScale(0.5);
        const double cx = view->viewGeometry().centreX, cy = view->viewGeometry().centreY;
        QTest::mousePress(view, Qt::LeftButton, {}, QPoint(300, 300));
        QMouseEvent move(QEvent::MouseMove, QPointF(350, 320), view->mapToGlobal(QPointF(350, 320)),
                         Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(view, &move);
        QTest::mouseRelease(view, Qt::LeftButton, {}, QPoint(350, 320));
        QCOMPARE(view->viewGeometry().centreX, cx - 50 / 0.5);
        QCOMPARE(view->viewGeometry().centreY, cy - 20 / 0.5);
        QTest::keyClick(view, Qt::Key_Right);  // arrow keys pan too: the view moves right
        QVERIFY(view->viewGeometry().centreX > cx - 100);
    }

    void rotationTurnsTheImage() {
        SlideView* view = openAndWait(fixture("slides/generic.tif"));
        QVERIFY(view);
        view->setScale(0.2);
        const QPointF centre =
            view->screenToImage(QPointF(view->width() / 2.0, view->height() / 2.0));
        view->rotateClockwise();
        const QPointF still =
            view->screenToImage(QPointF(view->width() / 2.0, view->height() / 2.0));
        QVERIFY(std::abs(still.x() - centre.x()) < 1e-6);
        // After a clockwise quarter turn the image's top-left corner is at the top-right.
        const QPointF corner = view->imageToScreen(QPointF(0, 0));
        QVERIFY(corner.x() > view->width() / 2.0);
        QVERIFY(corner.y() < view->height() / 2.0);
        QVERIFY(waitLoaded(view));
    }

    // While level 0 is slow, the screen shows the coarser levels already there, not a hole.
    void coarserLevelShowsUntilFinerArrives() {
        auto inner = openImage(fixtures::path("slides/generic.tif"));
        auto source = std::make_shared<SlowLevelSource>(std::move(inner), 0, 400);
        ImageDocument document(source);
        SlideView view(&document, tiles_.get());
        view.resize(600, 400);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QVERIFY(waitLoaded(&view));  // fitted: a coarse level
        view.showActualPixels();
        view.repaint();
        QVERIFY(!view.isFullyLoaded());
        const QImage early = view.grab().toImage();
        const QRgb background = qRgb(0x2b, 0x2b, 0x2b);
        int painted = 0;
        for (int y = 0; y < early.height(); y += 10)
            for (int x = 0; x < early.width(); x += 10) painted += early.pixel(x, y) != background;
        const int samples = ((early.height() + 9) / 10) * ((early.width() + 9) / 10);
        QVERIFY2(painted > samples * 9 / 10,
                 qPrintable(QStringLiteral("%1 of %2 painted").arg(painted).arg(samples)));
        QVERIFY(waitLoaded(&view, 30000));
        QCOMPARE(view.displayedLevel(), 0);
        // Neighbours of the view were prefetched.
        const TilePlan plan = planTiles(source->info(), source->id(), 0, view.viewGeometry(),
                                        SlideView::kTileSize, 1);
        QVERIFY(!plan.prefetch.empty());
        QTRY_VERIFY_WITH_TIMEOUT(tiles_->cache().contains(plan.prefetch.front()), 20000);
    }

    void overviewClickMovesTheView() {
        SlideView* view = openAndWait(fixture("slides/aperio.svs"));
        QVERIFY(view);
        view->setScale(1.0);
        OverviewWidget* overview = window_->overview();
        QTRY_VERIFY_WITH_TIMEOUT(overview->hasThumbnail(), 10000);
        const QRectF area = overview->imageArea();
        const QPoint click =
            (area.topLeft() + QPointF(area.width() * 0.25, area.height() * 0.75)).toPoint();
        QTest::mouseClick(overview, Qt::LeftButton, {}, click);
        const QPointF expected = overview->widgetToImage(click);
        QVERIFY(std::abs(view->viewGeometry().centreX - expected.x()) < 1e-6);
        QVERIFY(std::abs(view->viewGeometry().centreX - 3000 * 0.25) < 3000.0 / area.width() + 1);
        QVERIFY(std::abs(view->viewGeometry().centreY - 2000 * 0.75) < 2000.0 / area.height() + 1);
    }

    void magnificationPresetsUseObjectivePower() {
        SlideView* view = openAndWait(fixture("slides/aperio.svs"));
        QVERIFY(view);
        view->setMagnification(10);
        QCOMPARE(view->viewGeometry().scale, 0.5);  // AppMag 20
        QCOMPARE(*view->magnification(), 10.0);
        QVERIFY(waitLoaded(view));
        QCOMPARE(view->displayedLevel(), 1);
    }

    void propertiesShowVendorFieldsAndLabel() {
        SlideView* view = openAndWait(fixture("slides/aperio.svs"));
        QVERIFY(view);
        QTreeWidget* tree = window_->properties()->tree();
        const auto aperio = tree->findItems("AppMag", Qt::MatchRecursive | Qt::MatchExactly, 0);
        QCOMPARE(aperio.size(), 1);
        QCOMPARE(aperio.first()->text(1), QString("20"));
        QTRY_COMPARE_WITH_TIMEOUT(window_->properties()->associatedImageCount(), 1, 10000);
    }

    // Slice slider and window: what is on screen is the stored value through the window.
    void sliceAndWindowChangeWhatIsShown() {
        SlideView* view = openAndWait(fixture("dicom/series"));
        QVERIFY(view);
        ImageDocument* doc = view->document();
        QCOMPARE(doc->info().sliceCount, 6);
        QVERIFY(waitLoaded(view));
        const int ix = 32, iy = 30;
        const QPoint at = view->imageToScreen(QPointF(ix + 0.5, iy + 0.5)).toPoint();
        auto expectedGray = [&](int slice) {
            const PixelBuffer px = doc->source()->readRegion(0, {ix, iy, 1, 1}, slice);
            return windowedGray(doc->info().grayMapping.toValue(px.grayAt(0, 0)), doc->window());
        };
        auto shownGray = [&] { return qRed(view->grab().toImage().pixel(at)); };
        QVERIFY(std::abs(shownGray() - expectedGray(0)) <= 8);

        window_->dicomControls()->sliceSlider()->setValue(3);
        QCOMPARE(doc->slice(), 3);
        QVERIFY(waitLoaded(view));
        QVERIFY(std::abs(expectedGray(3) - expectedGray(0)) > 20);  // the check below can fail
        QVERIFY(std::abs(shownGray() - expectedGray(3)) <= 8);

        // Ctrl+wheel steps through slices.
        QWheelEvent wheel(QPointF(50, 50), view->mapToGlobal(QPointF(50, 50)), QPoint(),
                          QPoint(0, -120), Qt::NoButton, Qt::ControlModifier, Qt::NoScrollPhase,
                          false);
        QApplication::sendEvent(view, &wheel);
        QCOMPARE(doc->slice(), 4);

        // Right-drag to the right widens the window; the screen follows.
        const double width = doc->window().width;
        QTest::mousePress(view, Qt::RightButton, {}, QPoint(100, 100));
        QMouseEvent move(QEvent::MouseMove, QPointF(180, 100), view->mapToGlobal(QPointF(180, 100)),
                         Qt::NoButton, Qt::RightButton, Qt::NoModifier);
        QApplication::sendEvent(view, &move);
        QTest::mouseRelease(view, Qt::RightButton, {}, QPoint(180, 100));
        QVERIFY(doc->window().width > width * 1.3);
        QVERIFY(waitLoaded(view));
        QVERIFY(std::abs(shownGray() - expectedGray(4)) <= 8);

        // Presets: choosing one applies it.
        QComboBox* presets = window_->dicomControls()->presets();
        QVERIFY(presets->count() >= 2);
        presets->activated(presets->count() - 1);
        QVERIFY(std::abs(doc->window().width - doc->windowPresets().last().width) < 1e-9);
    }

    void badFileShowsErrorAndViewerStaysUsable() {
        QSignalSpy failed(window_.get(), &MainWindow::openFailed);
        window_->openPath(fixture("bad/truncated.png"));
        QVERIFY(failed.wait(10000));
        const QString message = failed.takeFirst().at(0).toString();
        QVERIFY2(message.contains("truncated.png") && message.contains("truncated"),
                 qPrintable(message));
        QCOMPARE(window_->documentCount(), 0);
        const auto boxes = window_->findChildren<QMessageBox*>();
        QCOMPARE(boxes.size(), 1);
        QVERIFY(boxes.first()->isVisible());
        QVERIFY(boxes.first()->text().contains("truncated.png"));
        boxes.first()->accept();
        QVERIFY(openAndWait(fixture("raster/ihc.png")));
        QCOMPARE(window_->documentCount(), 1);
    }

    void recentFilesAndTabs() {
        window_->recentFiles()->clear();
        QVERIFY(openAndWait(fixture("raster/ihc.png")));
        QVERIFY(openAndWait(fixture("slides/generic.tif")));
        QCOMPARE(window_->documentCount(), 2);
        const QStringList recent = window_->recentFiles()->files();
        QCOMPARE(recent.size(), 2);
        QCOMPARE(recent.first(), QFileInfo(fixture("slides/generic.tif")).absoluteFilePath());
        // Reopening moves to the front without duplicating.
        QVERIFY(openAndWait(fixture("raster/ihc.png")));
        QCOMPARE(window_->recentFiles()->files().size(), 2);
        QCOMPARE(window_->recentFiles()->files().first(),
                 QFileInfo(fixture("raster/ihc.png")).absoluteFilePath());
        window_->tabs()->tabCloseRequested(0);
        QCOMPARE(window_->documentCount(), 2);
    }

    // On a bare desktop (no icon theme, as offscreen here) every toolbar button still shows an
    // icon of its own: Lucida's SVGs through the SVG icon engine, not blank squares or text.
    void everyToolbarActionHasAnIcon() {
        const QList<QToolBar*> bars = window_->findChildren<QToolBar*>();
        QVERIFY(bars.size() >= 1);
        QSet<QByteArray> seen;
        int checked = 0;
        for (QToolBar* bar : bars)
            for (QAction* action : bar->actions()) {
                if (action->isSeparator() || qobject_cast<QWidgetAction*>(action)) continue;
                const QString what = action->text();
                QVERIFY2(!action->icon().isNull(), qPrintable(what));
                const QImage image =
                    action->icon().pixmap(24, 24).toImage().convertToFormat(QImage::Format_ARGB32);
                QVERIFY2(image.width() == 24, qPrintable(what));
                int opaque = 0;
                for (int y = 0; y < image.height(); ++y)
                    for (int x = 0; x < image.width(); ++x)
                        opaque += qAlpha(image.pixel(x, y)) > 128;
                // A drawn glyph, neither empty nor a filled square.
                QVERIFY2(opaque >= 20 && opaque < 24 * 24,
                         qPrintable(QString("%1: %2 opaque pixels").arg(what).arg(opaque)));
                const QByteArray bytes(reinterpret_cast<const char*>(image.constBits()),
                                       image.sizeInBytes());
                QVERIFY2(!seen.contains(bytes), qPrintable(what + ": same icon as another action"));
                seen.insert(bytes);
                ++checked;
            }
        QVERIFY2(checked >= 7, qPrintable(QString::number(checked)));
        QVERIFY(!window_->windowIcon().isNull());
        QVERIFY(!window_->windowIcon().pixmap(64, 64).isNull());
    }

    // The magnification box shows the magnification at any zoom (not only at a preset, where it
    // looked disabled before), enabled; a typed one is applied.
    void magnificationBoxShowsAnyZoom() {
        SlideView* view = openAndWait(fixture("slides/aperio.svs"));
        QVERIFY(view);
        auto* box = window_->findChild<QComboBox*>("magnificationBox");
        QVERIFY(box);
        view->setScale(0.37);  // AppMag 20: 7.4×
        QVERIFY(box->isEnabled());
        QCOMPARE(box->currentText(), QString("7.4×"));
        view->setMagnification(10);
        QCOMPARE(box->currentText(), QString("10×"));
        QCOMPARE(box->currentData().toDouble(), 10.0);
        box->lineEdit()->setText("15");
        QTest::keyClick(box->lineEdit(), Qt::Key_Return);
        QCOMPARE(*view->magnification(), 15.0);
        QCOMPARE(box->currentText(), QString("15×"));
        QVERIFY(openAndWait(fixture("raster/ihc.png")));  // no objective power: nothing to show
        QVERIFY(!box->isEnabled());
        QCOMPARE(box->currentText(), QString());
    }

    // Page Up/Down change the slice wherever the focus is: in a panel's combo box too (before,
    // the box took the key and changed its own choice).
    void pageDownChangesTheSliceWithFocusInAPanel() {
        SlideView* view = openAndWait(fixture("dicom/series"));
        QVERIFY(view);
        ImageDocument* doc = view->document();
        QCOMPARE(doc->slice(), 0);
        window_->activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(window_.get()));
        QList<QComboBox*> boxes;
        if (window_->analysisPanel()) boxes << window_->analysisPanel()->layerCombo();
        boxes << window_->dicomControls()->presets();
        for (QComboBox* box : boxes) {
            QVERIFY(box->count() >= 2);
            box->setCurrentIndex(0);
            box->setFocus();
            QVERIFY(box->hasFocus());
            const int slice = doc->slice();
            QTest::keyClick(box, Qt::Key_PageDown);
            QCOMPARE(doc->slice(), slice + 1);
            QCOMPARE(box->currentIndex(), 0);
            QTest::keyClick(box, Qt::Key_PageDown);
            QTest::keyClick(box, Qt::Key_PageUp);
            QCOMPARE(doc->slice(), slice + 1);
            QCOMPARE(box->currentIndex(), 0);
        }
        view->setFocus();
        const int slice = doc->slice();
        QTest::keyClick(view, Qt::Key_PageDown);  // and in the view, as before
        QCOMPARE(doc->slice(), slice + 1);
        QAction* next = window_->findChild<QAction*>("nextSliceAction");
        QVERIFY(next);
        QCOMPARE(next->shortcut(), QKeySequence(Qt::Key_PageDown));
    }

    // A position in mm on a DICOM tab is not left in the status bar when a photo's tab shows.
    void statusBarForgetsTheLastTabsPosition() {
        SlideView* dicom = openAndWait(fixture("dicom/CT_small.dcm"));
        QVERIFY(dicom);
        QVERIFY(dicom->document()->info().mppX.has_value());
        auto* position = window_->findChild<QLabel*>("positionLabel");
        QVERIFY(position);
        emit dicom->cursorMoved(QPointF(10, 10), true);
        QVERIFY2(position->text().contains("mm"), qPrintable(position->text()));
        SlideView* photo = openAndWait(fixture("raster/ihc.png"));
        QVERIFY(photo);
        QCOMPARE(window_->currentView(), photo);
        QCOMPARE(position->text(), QString());
        window_->tabs()->setCurrentIndex(0);  // and back: nothing until the cursor moves there
        QCOMPARE(window_->currentView(), dicom);
        QCOMPARE(position->text(), QString());
    }

    // The window preset box shows the preset applied (CT Bone), not the first ("Auto"); a window
    // of the user's own shows "Custom".
    void presetBoxShowsTheAppliedPreset() {
        SlideView* view = openAndWait(fixture("dicom/CT_small.dcm"));
        QVERIFY(view);
        ImageDocument* doc = view->document();
        const QList<Window> presets = doc->windowPresets();
        int bone = -1;
        for (int i = 0; i < presets.size(); ++i)
            if (presets[i].name == "CT Bone") bone = i;
        QVERIFY(bone > 0);
        QComboBox* box = window_->dicomControls()->presets();
        QCOMPARE(box->currentIndex(), 0);  // the file's own window, applied at opening
        emit box->activated(bone);
        QCOMPARE(doc->window().centre, 400.0);
        QCOMPARE(doc->window().width, 1800.0);
        QCOMPARE(box->currentIndex(), bone);
        QVERIFY2(box->currentText().startsWith("CT Bone"), qPrintable(box->currentText()));
        doc->setSlice(0);  // a later sync keeps it
        QCOMPARE(box->currentIndex(), bone);
        doc->setWindow(123, 456);
        QCOMPARE(box->currentIndex(), -1);
        QCOMPARE(box->placeholderText(), QString("Custom"));
    }

    // The View menu names the dock "Slice & Window" (not "Slice _window": "&" as a mnemonic).
    void sliceDockMenuText() {
        auto* dock = window_->findChild<QDockWidget*>("dicomDock");
        QVERIFY(dock);
        QCOMPARE(dock->toggleViewAction()->text(), QString("Slice && &Window"));
    }

    // A laptop screen holds the window with a slide open: the docks do not stack past 600 px
    // (the Annotations dock is a tab), and choosing a drawing tool brings that tab up.
    void windowFitsASmallScreenAndToolsRaiseAnnotations() {
        openAndWait(fixture("slides/generic.tif"));
        window_->resize(1000, 600);
        QTRY_COMPARE(window_->size(), QSize(1000, 600));
        QVERIFY(window_->minimumSizeHint().height() <= 600);
        auto* annotations = window_->findChild<QDockWidget*>("annotationsDock");
        auto* properties = window_->findChild<QDockWidget*>("propertiesDock");
        QVERIFY(annotations && properties);
        QVERIFY(window_->tabifiedDockWidgets(properties).contains(annotations));
        properties->raise();
        QTRY_VERIFY(annotations->visibleRegion().isEmpty());
        auto* rectangle = window_->findChild<QAction*>("annotationTool5");
        QVERIFY(rectangle);
        rectangle->trigger();
        QTRY_VERIFY(!annotations->visibleRegion().isEmpty());
        rectangle->trigger();  // back to panning
    }

    // The overview's viewport outline shows on a red image: white on black, not red.
    void overviewOutlineShowsOnRed() {
        QTemporaryDir dir;
        const QString path = dir.filePath("red.png");
        QImage red(1600, 1200, QImage::Format_RGB32);
        red.fill(QColor(220, 30, 30));
        QVERIFY(red.save(path));
        SlideView* view = openAndWait(path);
        QVERIFY(view);
        view->setScale(1.0);
        view->setCentre(800, 600);
        OverviewWidget* overview = window_->overview();
        QTRY_VERIFY_WITH_TIMEOUT(overview->hasThumbnail(), 10000);
        const QImage shot = overview->grab().toImage();
        const QRectF area = overview->imageArea();
        int white = 0, black = 0;
        for (int y = int(area.top()) + 3; y < int(area.bottom()) - 3; ++y)
            for (int x = int(area.left()) + 3; x < int(area.right()) - 3; ++x) {
                const QColor c = shot.pixelColor(int(x * shot.devicePixelRatio()),
                                                 int(y * shot.devicePixelRatio()));
                white += c.red() > 235 && c.green() > 235 && c.blue() > 235;
                black += c.red() < 30 && c.green() < 30 && c.blue() < 30;
            }
        QVERIFY2(white > 40 && black > 40,
                 qPrintable(QString("%1 white, %2 black pixels").arg(white).arg(black)));
    }

    // A folder with a DICOMDIR: its largest series opens, File ▸ DICOM Series… is offered with
    // all three, and the chosen CT series opens in a tab of its own, named by its own folder
    // (which is what the recent files keep).
    void dicomdirFolderOffersItsSeries() {
        SlideView* view = openAndWait(fixture("dicom/dicomdir"));
        QVERIFY(view);
        QCOMPARE(view->document()->info().sliceCount, 6);
        QAction* series = nullptr;
        for (QAction* a : window_->findChildren<QAction*>())
            if (a->text() == QStringLiteral("DICOM &Series…")) series = a;
        QVERIFY(series);
        QVERIFY(series->isEnabled());
        const QList<SeriesOffer> offers = dicomSeriesOf(view->document()->info());
        QCOMPARE(offers.size(), 3);
        QVERIFY(offers[0].shown);
        QString ct;
        for (const SeriesOffer& o : offers)
            if (o.label.contains(QStringLiteral(": CT"))) ct = o.uid;
        QVERIFY(!ct.isEmpty());
        QSignalSpy opened(window_.get(), &MainWindow::documentOpened);
        window_->openSeries(view->document()->path(), ct);
        QVERIFY(opened.wait(20000));
        SlideView* ctView = opened.takeFirst().at(0).value<SlideView*>();
        QCOMPARE(window_->documentCount(), 2);
        QCOMPARE(ctView->document()->info().sliceCount, 1);
        QCOMPARE(ctView->document()->info().property("dicom.Modality").value_or(""),
                 std::string("CT"));
        QVERIFY2(ctView->document()->path().endsWith("SE000000"),
                 qPrintable(ctView->document()->path()));
        QCOMPARE(window_->recentFiles()->files().value(0),
                 QFileInfo(ctView->document()->path()).absoluteFilePath());
        // A single file offers no series.
        QVERIFY(openAndWait(fixture("dicom/CT_small.dcm")));
        QVERIFY(!series->isEnabled());
    }

    void dropOpensFiles() {
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(fixture("raster/ihc.jpg"))});
        QDragEnterEvent enter(QPoint(100, 100), Qt::CopyAction, &mime, Qt::LeftButton,
                              Qt::NoModifier);
        QApplication::sendEvent(window_.get(), &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(100, 100), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QSignalSpy opened(window_.get(), &MainWindow::documentOpened);
        QApplication::sendEvent(window_.get(), &drop);
        QVERIFY(opened.wait(10000));
        QCOMPARE(window_->currentView()->document()->displayName(), QString("ihc.jpg"));
    }
};

QTEST_MAIN(ViewerTest)
#include "viewer_test.moc"
