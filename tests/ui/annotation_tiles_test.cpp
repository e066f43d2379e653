// The annotation layer's tile cache: a paint from cached tiles (after pans, other scales, quarter
// turns, a pixel ratio of 2) equals one with the cache cleared, pixel for pixel; an edit or a
// selection shows at the next paint; a render at another scale keeps the view's tiles.
#include "AnnotationDocument.h"
#include "AnnotationLayer.h"
#include "ImageDocument.h"
#include "SceneRenderer.h"
#include "fixtures/Fixtures.h"
#include "image/ImageSource.h"

#include <QImage>
#include <QPainter>
#include <QtTest>

#include <cmath>
#include <random>

using namespace lucida;
using namespace lucida::ui;

namespace {

QImage paintLayer(AnnotationLayer& layer, const ViewGeometry& view, double pixelRatio = 1.0) {
    QImage out(int(view.viewWidth * pixelRatio), int(view.viewHeight * pixelRatio),
               QImage::Format_ARGB32_Premultiplied);
    out.setDevicePixelRatio(pixelRatio);
    out.fill(Qt::black);
    QPainter painter(&out);
    SceneRenderer::paintLayers(painter, {&layer}, view);
    return out;
}

Annotation polygon(const std::string& id, double cx, double cy, double radius, int corners) {
    Annotation a;
    a.id = id;
    a.className = "Tumor";
    a.tool = "polygon";
    Ring ring;
    for (int k = 0; k < corners; ++k)
        ring.push_back({cx + radius * std::cos(k * 2 * M_PI / corners),
                        cy + radius * std::sin(k * 2 * M_PI / corners)});
    a.geometry.polygons.push_back({ring, {}});
    return a;
}

// Cells of every size class (dots, boxes, outlines) and one of each other kind of object.
AnnotationSet manyAnnotations() {
    AnnotationSet set;
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> x(0, 3000), y(0, 2000), r(1, 40);
    for (int i = 0; i < 6000; ++i) {
        Annotation a = polygon("cell-" + std::to_string(i), x(rng), y(rng), r(rng), 7);
        a.className = i % 3 ? "Immune cells" : "Tumor";
        a.detection = true;
        set.items.push_back(std::move(a));
    }
    Annotation point;
    point.id = "point";
    point.tool = "point";
    point.geometry.type = Geometry::Type::Point;
    point.geometry.points = {{1510.5, 1003.25}};
    Annotation arrow;
    arrow.id = "arrow";
    arrow.tool = "arrow";
    arrow.colour = 0x00FF00;
    arrow.geometry.type = Geometry::Type::LineString;
    arrow.geometry.points = {{1300, 900}, {1700.5, 1100.5}};
    Annotation text = point;
    text.id = "text";
    text.tool = "text";
    text.text = "A callout";
    text.geometry.points = {{1450, 980}};
    set.items.insert(set.items.end(), {point, arrow, text, polygon("big", 1500, 1000, 300, 40)});
    return set;
}

struct Scene {
    ImageDocument image{openImage(fixtures::path("slides/aperio.svs"))};
    AnnotationDocument annotations{image.info()};
    AnnotationLayer layer{&annotations, &image};
    ViewGeometry view;

    Scene() {
        annotations.import(manyAnnotations());
        view.viewWidth = 900;
        view.viewHeight = 700;
        view.scale = 0.73;  // not a round zoom, centre off the pixel grid
        view.centreX = 1500.3;
        view.centreY = 1000.6;
    }
    // The view as painted from the cache, then with the cache cleared.
    void compareWithUncached(double pixelRatio = 1.0) {
        const QImage cached = paintLayer(layer, view, pixelRatio);
        layer.clearCache();
        const QImage fresh = paintLayer(layer, view, pixelRatio);
        QCOMPARE(cached, fresh);
    }
};

}  // namespace

class AnnotationTilesTest : public QObject {
    Q_OBJECT

private slots:
    void cachedPaintEqualsUncached() {
        Scene s;
        s.annotations.select({"arrow"});
        for (const double scale : {0.73, 0.1, 2.5}) {
            s.view.scale = scale;
            s.view.centreX = 1500.3;
            s.view.centreY = 1000.6;
            paintLayer(s.layer, s.view);
            for (int i = 0; i < 6; ++i) {  // pans across tile borders, tiles kept
                s.view.panByScreen(97, -61);
                paintLayer(s.layer, s.view);
            }
            QVERIFY(s.layer.cachedTiles() > 0);
            QVERIFY(s.layer.lastPainted() > 0);
            s.compareWithUncached();
        }
        s.view.scale = 0.73;
        s.view.quarterTurns = 1;
        paintLayer(s.layer, s.view);
        s.view.panByScreen(300, 200);
        paintLayer(s.layer, s.view);
        s.compareWithUncached();
        s.view.quarterTurns = 0;
        paintLayer(s.layer, s.view, 2.0);
        s.view.panByScreen(-250, 40);
        paintLayer(s.layer, s.view, 2.0);
        s.compareWithUncached(2.0);
    }

    void editAndSelectionShowAtNextPaint() {
        Scene s;
        const QImage before = paintLayer(s.layer, s.view);
        // A large object in a colour no other has, over the view's centre.
        Annotation added = polygon("added", s.view.centreX, s.view.centreY, 100, 4);
        added.colour = 0xFF00FF;
        added.className.clear();
        s.annotations.add(added);  // and selected
        const QImage after = paintLayer(s.layer, s.view);
        QVERIFY(after != before);
        s.compareWithUncached();
        s.annotations.select({});
        const QImage unselected = paintLayer(s.layer, s.view);
        QVERIFY(unselected != after && unselected != before);
        s.compareWithUncached();
        s.annotations.select({"added"});
        QCOMPARE(paintLayer(s.layer, s.view), after);
        s.annotations.remove({"added"});
        QCOMPARE(paintLayer(s.layer, s.view), before);
    }

    void renderAtAnotherScaleKeepsTheViewsTiles() {
        Scene s;
        paintLayer(s.layer, s.view);
        const int viewTiles = s.layer.cachedTiles();
        ViewGeometry exported = s.view;  // an export, larger and at another scale
        exported.viewWidth = 4000;
        exported.viewHeight = 3000;
        exported.scale = 1.3;
        paintLayer(s.layer, exported);
        const int all = s.layer.cachedTiles();
        QVERIFY(all >= viewTiles + 48);
        paintLayer(s.layer, s.view);
        QCOMPARE(s.layer.cachedTiles(), all);  // the view's tiles were all there still
        s.compareWithUncached();
    }
};

QTEST_MAIN(AnnotationTilesTest)
#include "annotation_tiles_test.moc"
