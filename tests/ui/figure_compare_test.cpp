// Comparison figures: one region of a demo slide under Grad-CAM, Grad-CAM++ and Score-CAM (and
// under two classes). Each panel's heat is checked against the explainer run directly on the
// region's patches (read, preprocessed and explained here, scaled to their range), both as values
// and as pixels (the viewer's heat layer drawing the reference map); the panels' places, and their
// labels in the SVG's and the PDF's text (QSvgRenderer, pdftotext).
#include "ComparisonPanels.h"
#include "FigureRenderer.h"
#include "FigureWriter.h"
#include "HeatmapOverlay.h"
#include "ImageDocument.h"
#include "RegionCams.h"
#include "TileService.h"
#include "demo/DemoData.h"
#include "engine/ModelEngine.h"
#include "image/ImageSource.h"
#include "model/Model.h"
#include "model/Preprocess.h"

#include <QFile>
#include <QProcess>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <map>

using namespace lucida;
using namespace lucida::ui;

namespace {

constexpr int kPatch = 128;  // the demo model's input at its 0.5 µm/px: level-0 pixels

QString pdfText(const QString& path) {
    QProcess p;
    p.start("pdftotext", {path, "-"});
    if (!p.waitForFinished(60000) || p.exitCode() != 0) return "pdftotext failed";
    return QString::fromUtf8(p.readAllStandardOutput());
}

int maxDifference(const QImage& a, const QImage& b) {
    if (a.size() != b.size()) return 1000;
    int worst = 0;
    for (int y = 0; y < a.height(); ++y)
        for (int x = 0; x < a.width(); ++x) {
            const QRgb p = a.pixel(x, y), q = b.pixel(x, y);
            worst = std::max({worst, std::abs(qRed(p) - qRed(q)), std::abs(qGreen(p) - qGreen(q)),
                              std::abs(qBlue(p) - qBlue(q))});
        }
    return worst;
}

}  // namespace

class FigureCompareTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    std::shared_ptr<const ImageSource> slide_;
    std::unique_ptr<Model> model_;
    std::unique_ptr<TileService> tiles_;
    const RectF region_{150, 150, 200, 200};         // meets patch columns 1..2, rows 1..2
    std::map<std::string, FloatRaster> references_;  // Score-CAM is slow: each computed once
    AnalysisSettings settings_;

    // The reference: the region's patches explained directly with `method`, each map's cells in
    // the slide's CAM raster geometry of `like`, scaled to the maps' joint range.
    FloatRaster explainedDirectly(const std::string& method, std::optional<int> classIndex,
                                  const FloatRaster& like) {
        const std::string key = method + std::to_string(classIndex.value_or(-1));
        if (!references_.count(key)) references_[key] = explainOnce(method, classIndex, like);
        return references_[key];
    }

    FloatRaster explainOnce(const std::string& method, std::optional<int> classIndex,
                            const FloatRaster& like) {
        std::vector<FloatTensor> inputs;
        std::vector<std::pair<int, int>> origins;
        for (int row = int(region_.y) / kPatch; row * kPatch < region_.y + region_.height; ++row)
            for (int col = int(region_.x) / kPatch; col * kPatch < region_.x + region_.width;
                 ++col) {
                PixelBuffer pixels =
                    slide_->readRegion(0, Rect{col * kPatch, row * kPatch, kPatch, kPatch});
                inputs.push_back(preprocess(pixels, model_->spec()));
                origins.emplace_back(col, row);
            }
        ExplainOptions options;
        options.method = method;
        options.classIndex = classIndex ? classIndex : std::optional<int>(1);
        const auto explanations = modelEngine().explain(*model_, stackBatch(inputs), options);
        float low = INFINITY, high = -INFINITY;
        for (const auto& e : explanations)
            for (float v : e.map.data) low = std::min(low, v), high = std::max(high, v);
        FloatRaster r = like;
        std::fill(r.values.begin(), r.values.end(), NAN);
        for (std::size_t i = 0; i < explanations.size(); ++i) {
            const FloatTensor& map = explanations[i].map;
            const int h = int(map.size(0)), w = int(map.size(1));
            if (std::abs(like.cellSize * w - kPatch) > 1e-9) return {};  // not one cell per value
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x)
                    r.values[std::size_t(origins[i].second * h + y) * r.width +
                             std::size_t(origins[i].first * w + x)] =
                        (map.data[std::size_t(y * w + x)] - low) / (high - low);
        }
        return r;
    }

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        demo::DemoSlideOptions options;
        options.width = 1280;
        options.height = 1024;
        options.lossless = true;
        const auto made = demo::writeDemoSlide(dir_.filePath("demo.tiff").toStdString(),
                                               dir_.filePath("mask.png").toStdString(), options);
        slide_ = openImage(made.path);
        model_ =
            modelEngine().openModel(LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth");
        tiles_ = std::make_unique<TileService>(std::size_t{128} << 20, 2);
        settings_.detectTissue = false;  // every patch: the reference needs no tissue mask
        settings_.batchSize = 8;
        settings_.mode = AnalysisMode::Patch;  // the explainer's reference maps are per patch
    }

    // Each method's map of the region equals the explainer's own maps of its patches, scaled to
    // their range; a second run reads them back from the store.
    void eachPanelIsTheExplainersMap() {
        const std::vector<RegionCamRequest> requests{
            {"gradcam", {}}, {"gradcampp", {}}, {"Score-CAM", {}}};
        const std::string root = dir_.filePath("results").toStdString();
        const auto cams = computeRegionCams(*slide_, *model_, settings_, requests, region_, root);
        QVERIFY(cams && cams->size() == 3);
        const char* methods[] = {"gradcam", "gradcam++", "scorecam"};
        for (std::size_t m = 0; m < 3; ++m) {
            const RegionCam& cam = (*cams)[m];
            QCOMPARE(cam.method, std::string(methods[m]));
            QCOMPARE(cam.className, std::string("tumour"));
            QCOMPARE(cam.patches, std::size_t(4));  // 2 columns x 2 rows
            const FloatRaster reference = explainedDirectly(methods[m], {}, cam.raster);
            QVERIFY2(!reference.values.empty(), "one raster cell per map value expected");
            int compared = 0;
            for (std::size_t i = 0; i < reference.values.size(); ++i) {
                const float want = reference.values[i], got = cam.raster.values[i];
                QVERIFY2(std::isnan(want) == std::isnan(got),
                         qPrintable(QStringLiteral("%1: cell %2").arg(methods[m]).arg(i)));
                if (std::isnan(want)) continue;
                QVERIFY2(std::abs(want - got) < 2e-4,
                         qPrintable(QStringLiteral("%1: cell %2 is %3, explainer %4")
                                        .arg(methods[m])
                                        .arg(i)
                                        .arg(got)
                                        .arg(want)));
                ++compared;
            }
            const double side = kPatch / cam.raster.cellSize;
            QCOMPARE(compared, int(std::lround(4 * side * side)));
        }
        const auto again = computeRegionCams(*slide_, *model_, settings_, requests, region_, root);
        QVERIFY(again);
        for (std::size_t m = 0; m < 3; ++m) {
            QCOMPARE((*again)[m].stored, std::size_t(4));
            QVERIFY((*again)[m].raster.values.size() == (*cams)[m].raster.values.size());
        }
    }

    // Three panels side by side, equal, each drawing its method's reference map as the viewer's
    // heat layer draws it; their labels are text in the SVG and the PDF.
    void panelsSideBySideLabelled() {
        const std::vector<RegionCamRequest> requests{
            {"gradcam", {}}, {"gradcam++", {}}, {"scorecam", {}}};
        const auto cams = computeRegionCams(*slide_, *model_, settings_, requests, region_,
                                            dir_.filePath("results").toStdString());
        QVERIFY(cams);
        ImageDocument document(slide_);
        const QSizeF size(slide_->info().width(), slide_->info().height());
        const ComparisonPanels panels(*cams, size, ColourMap::Jet, 0.6, 0);
        QCOMPARE(panels.labels(), QStringList({"Grad-CAM", "Grad-CAM++", "Score-CAM"}));
        FigureOptions o;
        o.region = region_;
        o.widthPx = 1500;
        o.annotations = o.scaleBar = o.caption = false;
        panels.apply(o);
        QCOMPARE(int(o.panels.size()), 3);
        QVERIFY(o.colourBarLabel.contains("class tumour"));
        FigureRenderer renderer({&document, tiles_.get()});
        const FigureLayout l = renderer.layout(o);
        QCOMPARE(int(l.panels.size()), 3);
        for (int i = 1; i < 3; ++i) {
            QCOMPARE(l.panels[i].size(), l.panels[0].size());
            QCOMPARE(l.panels[i].top(), l.panels[0].top());
            QVERIFY(l.panels[i].left() > l.panels[i - 1].right());
        }
        QVERIFY(l.panels[2].right() < l.size.width());
        QVERIFY(!l.colourBar.isEmpty());
        const QImage figure = renderer.renderImage(o);
        const char* methods[] = {"gradcam", "gradcam++", "scorecam"};
        QImage previous;
        for (int i = 0; i < 3; ++i) {
            HeatmapOverlay reference;
            reference.setImageSize(size);
            reference.setRasters(std::make_shared<const FloatRaster>(explainedDirectly(
                                     methods[i], {}, (*cams)[std::size_t(i)].raster)),
                                 nullptr);
            reference.setLayer(HeatmapOverlay::Layer::Cam);
            reference.setColourMap(ColourMap::Jet);
            reference.setOpacity(0.6);
            const QImage expected =
                renderer.renderPanel(o, l.panels[i].size(), reference.layers().front())
                    .convertToFormat(QImage::Format_RGB32);
            const QImage shown = figure.copy(l.panels[i]).convertToFormat(QImage::Format_RGB32);
            QVERIFY2(maxDifference(shown, expected) <= 2,
                     qPrintable(QStringLiteral("panel %1 differs by %2")
                                    .arg(i)
                                    .arg(maxDifference(shown, expected))));
            if (!previous.isNull()) QVERIFY(maxDifference(shown, previous) > 20);
            previous = shown;
        }
        const QString svg = dir_.filePath("compare.svg"), pdf = dir_.filePath("compare.pdf");
        writeFigure(svg, renderer, o);
        writeFigure(pdf, renderer, o);
        QSvgRenderer parsed(svg);
        QVERIFY(parsed.isValid());
        QFile file(svg);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QString svgText = QString::fromUtf8(file.readAll());
        QCOMPARE(svgText.count("<image"), 3);
        const QString text = pdfText(pdf);
        for (const QString& label : panels.labels() + QStringList{"class tumour"}) {
            QVERIFY2(svgText.contains(">" + label + "<") || svgText.contains(label),
                     qPrintable(label));
            QVERIFY2(text.contains(label), qPrintable(label + " not in: " + text));
        }
    }

    // Two classes under one method: the panels are named by class, the colour bar by method.
    void classesComparison() {
        const std::vector<RegionCamRequest> requests{{"gradcam", 0}, {"gradcam", 1}};
        const auto cams = computeRegionCams(*slide_, *model_, settings_, requests, region_,
                                            dir_.filePath("results").toStdString());
        QVERIFY(cams);
        QCOMPARE((*cams)[0].className, std::string("normal"));
        const FloatRaster reference = explainedDirectly("gradcam", 0, (*cams)[0].raster);
        double worst = 0;
        for (std::size_t i = 0; i < reference.values.size(); ++i)
            if (!std::isnan(reference.values[i]))
                worst = std::max(
                    worst, double(std::abs(reference.values[i] - (*cams)[0].raster.values[i])));
        QVERIFY2(worst < 2e-4, qPrintable(QString::number(worst)));
        const ComparisonPanels panels(*cams, QSizeF(1280, 1024), ColourMap::Jet, 0.5, 0);
        QCOMPARE(panels.labels(), QStringList({"normal", "tumour"}));
        QVERIFY(panels.colourBarLabel().startsWith("Grad-CAM"));
        QCOMPARE(panels.classes(), QString("normal | tumour"));
    }

    void badMethodsAreRefused() {
        bool refused = false;
        try {
            canonicalCamMethod("gradcam+");
        } catch (const std::invalid_argument& e) {
            refused = std::string(e.what()).find("gradcam+'") != std::string::npos;
        }
        QVERIFY(refused);
        QCOMPARE(canonicalCamMethod("Grad-CAM++"), std::string("gradcam++"));
        QCOMPARE(canonicalCamMethod("gradcampp"), std::string("gradcam++"));
    }
};

QTEST_MAIN(FigureCompareTest)
#include "figure_compare_test.moc"
