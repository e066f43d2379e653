// The one renderer: what it renders off-screen, without a window, for a region at the view's
// scale is what the view paints, pixel for pixel, with the heat and tissue outlines on; and an
// off-screen render waits for the tiles it needs from the shared loader.
#include "HeatmapOverlay.h"
#include "SceneRenderer.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewWaits.h"
#include "analysis/AnalysisOutputs.h"
#include "fixtures/Fixtures.h"
#include "image/ImageSource.h"

#include <QtTest>

#include <cmath>
#include <limits>

using namespace lucida;
using namespace lucida::ui;

namespace {

// A heat raster over the whole image: a diagonal ramp, a hole without values in one corner.
std::shared_ptr<const FloatRaster> syntheticHeat(const ImageInfo& info, double cell) {
    auto r = std::make_shared<FloatRaster>();
    r->cellSize = cell;
    r->width = int(std::ceil(info.width() / cell));
    r->height = int(std::ceil(info.height() / cell));
    for (int y = 0; y < r->height; ++y)
        for (int x = 0; x < r->width; ++x)
            r->values.push_back(x < 3 && y < 3 ? std::numeric_limits<float>::quiet_NaN()
                                               : float(x + y) / float(r->width + r->height));
    return r;
}

// How many pixels differ, and the first that does.
QString difference(const QImage& a, const QImage& b) {
    if (a.size() != b.size())
        return QStringLiteral("sizes %1x%2 vs %3x%4")
            .arg(a.width())
            .arg(a.height())
            .arg(b.width())
            .arg(b.height());
    int count = 0;
    QString first;
    for (int y = 0; y < a.height(); ++y)
        for (int x = 0; x < a.width(); ++x)
            if (a.pixel(x, y) != b.pixel(x, y) && count++ == 0)
                first = QStringLiteral(" first at (%1, %2): %3 vs %4")
                            .arg(x)
                            .arg(y)
                            .arg(a.pixel(x, y), 8, 16)
                            .arg(b.pixel(x, y), 8, 16);
    return count ? QStringLiteral("%1 pixels differ;").arg(count) + first : QString();
}

QImage shotOf(SlideView& view) {
    return view.grab().toImage().convertToFormat(QImage::Format_ARGB32_Premultiplied);
}

}  // namespace

class SceneRendererTest : public QObject {
    Q_OBJECT

private slots:
    void offscreenRegionEqualsTheViewWithHeat() {
        TileService tiles(std::size_t{256} << 20, 2);
        std::shared_ptr<const ImageSource> source = openImage(fixtures::path("slides/aperio.svs"));
        ImageDocument document(source);
        const ImageInfo& info = document.info();
        SlideView view(&document, &tiles);
        HeatmapOverlay overlay;
        overlay.setImageSize(QSizeF(double(info.width()), double(info.height())));
        overlay.setRasters(syntheticHeat(info, 48.0), nullptr);
        overlay.setOpacity(0.6);
        const double w = info.width(), h = info.height();
        overlay.setOutlines({QPolygonF(
            {QPointF(w * 0.2, h * 0.2), QPointF(w * 0.7, h * 0.25), QPointF(w * 0.5, h * 0.8)})});
        overlay.setOutlineVisible(true);
        connect(&overlay, &HeatmapOverlay::changed, &view, qOverload<>(&QWidget::update));
        view.setOverlay(&overlay);
        QCOMPARE(view.renderer().layers().size(), std::size_t{4});  // image, heat, outline, bar

        view.resize(600, 400);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));

        // A region at half scale, centred on whole pixels, so its mapping is exact.
        const double scale = 0.5;
        const double cx = std::floor(w / 4) * 2, cy = std::floor(h / 4) * 2;
        const RectF region{cx - 300 / scale, cy - 200 / scale, 600 / scale, 400 / scale};
        // Off-screen first, before the view has asked for these tiles: the render waits for them.
        const int paintsBefore = overlay.heatmapPaints();
        const QImage offscreen = view.renderer().renderRegion(region, QSize(600, 400));
        QVERIFY(view.renderer().imageLayer().complete());
        QVERIFY(overlay.heatmapPaints() > paintsBefore);

        view.setScale(scale);
        view.setCentre(cx, cy);
        QVERIFY(viewtest::waitLoaded(&view));
        const RectF shown = view.viewGeometry().visibleImageRect();
        QCOMPARE(shown.x, region.x);
        QCOMPARE(shown.width, region.width);
        const QImage screen = shotOf(view);
        QVERIFY2(difference(offscreen, screen).isEmpty(),
                 qPrintable(difference(offscreen, screen)));

        // The heat is really in both: without it, the render differs.
        overlay.setHeatmapVisible(false);
        const QImage plain = view.renderer().renderRegion(region, QSize(600, 400));
        QVERIFY(!difference(plain, offscreen).isEmpty());
        overlay.setHeatmapVisible(true);

        // Turned a quarter: the same for the view's own geometry.
        view.rotateClockwise();
        QVERIFY(viewtest::waitLoaded(&view));
        const QImage turned = view.renderer().render(view.viewGeometry());
        const QImage turnedScreen = shotOf(view);
        QVERIFY2(difference(turned, turnedScreen).isEmpty(),
                 qPrintable(difference(turned, turnedScreen)));

        // Any region at any size, without the view: the whole slide as a small thumbnail.
        const QImage thumbnail = view.renderer().renderRegion({0, 0, w, h}, QSize(160, 120));
        QCOMPARE(thumbnail.size(), QSize(160, 120));
        QVERIFY(thumbnail.pixel(80, 60) != view.renderer().background().rgb());
        QVERIFY(view.renderer().imageLayer().complete());
        view.setOverlay(nullptr);
        QCOMPARE(view.renderer().layers().size(), std::size_t{2});
    }
};

QTEST_MAIN(SceneRendererTest)
#include "scene_renderer_test.moc"
