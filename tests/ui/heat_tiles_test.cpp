// Heat as a tiled layer (issue 12) drawn with explain's smooth upsampling (issue 16): a whole
// image's heat in the viewer equals `lucida-cli explain`'s overlay upsampling (the map resized by
// OpenCV's INTER_LINEAR, half-pixel centres, then coloured), across tile borders; heat tiles live
// in the shared TileCache under its budget, are remade identically after eviction, and go with
// the overlay.
#include "HeatmapOverlay.h"
#include "SceneRenderer.h"
#include "analysis/AnalysisOutputs.h"
#include "cam/CamMaps.h"
#include "tiles/TileCache.h"

#include <QPainter>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <stdexcept>

using namespace lucida;
using namespace lucida::ui;

namespace {

constexpr int kWidth = 448, kHeight = 336;  // 7 x 7 map cells of 64 x 48 px: not square
constexpr int kCam = 7;

// A whole-image analysis of a kWidth x kHeight photo whose 7 x 7 CAM is smooth noise.
SlideAnalysis wholeImage() {
    SlideAnalysis a;
    a.grid.wholeImage = true;
    a.grid.columns = a.grid.rows = 1;
    Patch p;
    p.width = kWidth;
    p.height = kHeight;
    a.grid.patches.push_back(p);
    a.camWidth = a.camHeight = kCam;
    PatchOutcome o;
    o.done = true;
    o.probabilities = {0.3f, 0.7f};
    for (int y = 0; y < kCam; ++y)
        for (int x = 0; x < kCam; ++x)
            o.cam.push_back(float(std::sin(0.9 * x) * std::cos(0.7 * y) + 0.2 * x));
    a.outcomes.push_back(o);
    return a;
}

// The heat layer alone, opaque, at one screen pixel per image pixel, on a transparent canvas.
QImage paintAtActualPixels(HeatmapOverlay& overlay) {
    QImage canvas(kWidth, kHeight, QImage::Format_ARGB32_Premultiplied);
    canvas.fill(Qt::transparent);
    QPainter painter(&canvas);
    ViewGeometry view;
    view.scale = 1;
    view.centreX = kWidth / 2.0;
    view.centreY = kHeight / 2.0;
    view.viewWidth = kWidth;
    view.viewHeight = kHeight;
    SceneRenderer::paintLayers(painter, {overlay.layers().front()}, view);
    return canvas;
}

// explain's picture of the map: normalised, resized with INTER_LINEAR, coloured.
PixelBuffer explainUpsampling(const SlideAnalysis& a, float low, float high) {
    FloatTensor map({kCam, kCam});
    const std::vector<float>& cam = a.outcomes.front().cam;
    if (cam.size() != map.data.size()) throw std::runtime_error("unexpected CAM size");
    std::copy_n(cam.begin(), std::min(cam.size(), map.data.size()), map.data.begin());
    return colouriseMap(upsample(normalise(map, {low, high}), kWidth, kHeight), ColourMap::Jet);
}

// Pixels whose colour differs from the reference by more than `tolerance` in some channel.
int differing(const QImage& canvas, const PixelBuffer& reference, int tolerance) {
    int count = 0;
    for (int y = 0; y < kHeight; ++y)
        for (int x = 0; x < kWidth; ++x) {
            const QRgb c = canvas.pixel(x, y);
            const std::uint8_t* r = reference.rgbaAt(x, y);
            const int d = std::max({std::abs(qRed(c) - r[0]), std::abs(qGreen(c) - r[1]),
                                    std::abs(qBlue(c) - r[2]), std::abs(qAlpha(c) - r[3])});
            count += d > tolerance;
        }
    return count;
}

}  // namespace

class HeatTilesTest : public QObject {
    Q_OBJECT

private slots:
    void wholeImageHeatIsExplainsUpsampling() {
        const SlideAnalysis a = wholeImage();
        float low = 0, high = 0;
        auto cam =
            std::make_shared<const FloatRaster>(stitchCam(a, CamNormalisation::Slide, &low, &high));
        const PixelBuffer reference = explainUpsampling(a, low, high);

        HeatmapOverlay overlay;
        overlay.setImageSize(QSizeF(kWidth, kHeight));
        overlay.setOpacity(1);
        overlay.setRasters(cam, nullptr, {}, {}, smoothWholeImageCam(a, *cam, low, high));
        const QImage smooth = paintAtActualPixels(overlay);
        // Jet turns a 1/255 step of the value into up to 4 levels of a channel; the map's cells
        // are sampled at a quarter cell before the tiles interpolate them again.
        const int off = differing(smooth, reference, 8);
        QVERIFY2(off <= kWidth * kHeight / 500, qPrintable(QString::number(off)));
        QCOMPARE(differing(smooth, reference, 24), 0);

        // The test tells: the per-cell raster alone (blocks of the map's cells) is far off.
        HeatmapOverlay blocks;
        blocks.setImageSize(QSizeF(kWidth, kHeight));
        blocks.setOpacity(1);
        blocks.setRasters(cam, nullptr);
        QVERIFY(differing(paintAtActualPixels(blocks), reference, 8) > kWidth * kHeight / 20);
    }

    void heatTilesLiveInTheSharedCacheUnderItsBudget() {
        const SlideAnalysis a = wholeImage();
        float low = 0, high = 0;
        auto cam =
            std::make_shared<const FloatRaster>(stitchCam(a, CamNormalisation::Slide, &low, &high));
        TileCache cache(std::size_t{64} << 20);
        const std::size_t tileBytes = std::size_t{HeatTiles::kTileSize} * HeatTiles::kTileSize * 4;
        auto overlay = std::make_unique<HeatmapOverlay>();
        overlay->setTileCache(&cache);
        overlay->setImageSize(QSizeF(kWidth, kHeight));
        overlay->setOpacity(1);
        overlay->setRasters(cam, nullptr, {}, {}, smoothWholeImageCam(a, *cam, low, high));
        const QImage first = paintAtActualPixels(*overlay);
        QCOMPARE(cache.tileCount(), std::size_t{4});  // 448 x 336 at level 0: 2 x 2 tiles
        QCOMPARE(cache.usedBytes(), 4 * tileBytes);
        const auto key = overlay->shownTiles().key(0, 1, 1);
        QVERIFY(cache.contains(key));

        // A budget of one tile evicts the rest; painting again makes them the same.
        cache.setBudget(tileBytes);
        QCOMPARE(cache.tileCount(), std::size_t{1});
        const QImage again = paintAtActualPixels(*overlay);
        QVERIFY(again == first);
        QVERIFY(cache.usedBytes() <= tileBytes);

        // New colours: the old tiles go at once; the overlay gone, its tiles go with it.
        cache.setBudget(std::size_t{64} << 20);
        overlay->setColourMap(ColourMap::Viridis);
        QVERIFY(!cache.contains(key));
        QVERIFY(paintAtActualPixels(*overlay) != first);
        QVERIFY(cache.tileCount() > 0);
        overlay.reset();
        QCOMPARE(cache.tileCount(), std::size_t{0});
    }
};

QTEST_MAIN(HeatTilesTest)
#include "heat_tiles_test.moc"
