// Export Figure: what the files hold, checked with readers other than the writer's — the PNG's
// pHYs chunk read byte by byte, the slide against libvips' decode of the same level, SVG through
// QSvgRenderer and its text, PDF text through pdftotext, the DICOM patient from pydicom — and
// the dialog opened from the real window.
#include "ExportFigureDialog.h"
#include "FigureRenderer.h"
#include "FigureWriter.h"
#include "HeatmapOverlay.h"
#include "ImageDocument.h"
#include "MainWindow.h"
#include "SceneRenderer.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewWaits.h"
#include "annotations/Annotation.h"
#include "fixtures/Fixtures.h"
#include "image/ImageSource.h"

#include <QAction>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace lucida;
using namespace lucida::ui;

namespace {

// The pHYs chunk of a PNG file: pixels per unit x, y and the unit (1: metre); -1 when absent.
std::array<qint64, 3> pngPhys(const QByteArray& png) {
    auto be32 = [&](int at) {
        return (quint32(quint8(png[at])) << 24) | (quint32(quint8(png[at + 1])) << 16) |
               (quint32(quint8(png[at + 2])) << 8) | quint32(quint8(png[at + 3]));
    };
    for (int at = 8; at + 12 <= png.size();) {
        const quint32 length = be32(at);
        const QByteArray type = png.mid(at + 4, 4);
        if (type == "pHYs" && length == 9)
            return {be32(at + 8), be32(at + 12), quint8(png[at + 16])};
        at += 12 + int(length);
    }
    return {-1, -1, -1};
}

QStringList pngTextChunks(const QByteArray& png) {
    QStringList found;
    for (const char* t : {"tEXt", "iTXt", "zTXt", "eXIf"})
        if (png.contains(t)) found << t;
    return found;
}

QString run(const QString& program, const QStringList& args) {
    QProcess p;
    p.start(program, args);
    if (!p.waitForFinished(60000) || p.exitCode() != 0)
        return QStringLiteral("FAILED: ") + program + " " + p.readAllStandardError();
    return QString::fromUtf8(p.readAllStandardOutput());
}

// The longest run of pure black pixels on one row inside `area`.
int longestBlackRun(const QImage& image, const QRect& area) {
    int best = 0;
    for (int y = area.top(); y <= area.bottom(); ++y) {
        int run = 0;
        for (int x = area.left(); x <= area.right(); ++x) {
            run = (image.pixel(x, y) & 0xFFFFFF) == 0 ? run + 1 : 0;
            best = std::max(best, run);
        }
    }
    return best;
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

std::shared_ptr<const FloatRaster> rampHeat(const ImageInfo& info, double cell) {
    auto r = std::make_shared<FloatRaster>();
    r->cellSize = cell;
    r->width = int(std::ceil(info.width() / cell));
    r->height = int(std::ceil(info.height() / cell));
    for (int y = 0; y < r->height; ++y)
        for (int x = 0; x < r->width; ++x)
            r->values.push_back(float(x + y) / float(r->width + r->height));
    return r;
}

AnnotationSet someAnnotations(const ImageInfo& info) {
    AnnotationSet set;
    set.useClass("Tumor", 0xC80000);
    Annotation a;
    a.name = "Region A";
    a.className = "Tumor";
    const double w = info.width(), h = info.height();
    a.geometry.polygons = {PolygonRings{
        {{w * 0.3, h * 0.3}, {w * 0.6, h * 0.32}, {w * 0.55, h * 0.6}, {w * 0.32, h * 0.55}}, {}}};
    set.items.push_back(a);
    return set;
}

FigureOptions plainOptions(const ImageInfo& info) {
    FigureOptions o;
    o.region = RectF{0, 0, double(info.width()), double(info.height())};
    o.annotations = o.scaleBar = o.colourBar = o.caption = false;
    return o;
}

}  // namespace

class FigureExportTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<TileService> tiles_;
    QTemporaryDir dir_;
    std::shared_ptr<const ImageSource> slide_;

private slots:
    void initTestCase() {
        tiles_ = std::make_unique<TileService>(std::size_t{256} << 20, 2);
        slide_ = openImage(fixtures::path("slides/aperio.svs"));
        QVERIFY(dir_.isValid());
    }

    void png300DpiRecordsPhys() {
        ImageDocument document(slide_);
        FigureRenderer renderer({&document, tiles_.get()});
        FigureOptions o = plainOptions(document.info());
        o.widthPx = pixelsForMillimetres(80, 300);
        QCOMPARE(o.widthPx, 945);
        const QString path = dir_.filePath("dpi.png");
        writeFigure(path, renderer, o);
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray png = f.readAll();
        const auto phys = pngPhys(png);
        QCOMPARE(phys[0], qint64(11811));
        QCOMPARE(phys[1], qint64(11811));
        QCOMPARE(phys[2], qint64(1));
        QVERIFY2(pngTextChunks(png).isEmpty(), qPrintable(pngTextChunks(png).join(',')));
        QCOMPARE(QImage(path).width(), 945);
    }

    // The bar's black run is its length in µm over the output's µm per pixel, within a pixel.
    void scaleBarIsExactAtSeveralSizes() {
        ImageDocument document(slide_);
        FigureRenderer renderer({&document, tiles_.get()});
        const double mpp = *document.info().mppX;
        for (int width : {400, 777, 1300, 2400}) {
            FigureOptions o = plainOptions(document.info());
            o.region = RectF{500, 300, 1700, 1100};
            o.widthPx = width;
            o.scaleBar = true;
            const FigureLayout l = renderer.layout(o);
            const FigureScaleBar bar = renderer.scaleBar(o);
            QVERIFY(bar.lengthUm > 0);
            const double umPerPixel = mpp / l.scale;
            QVERIFY(std::abs(bar.pixels - bar.lengthUm / umPerPixel) <= 1.0);
            // The label says the same length.
            const QString number = bar.label.section(' ', 0, 0);
            const double labelled =
                bar.label.endsWith("mm") ? number.toDouble() * 1000 : number.toDouble();
            QCOMPARE(labelled, bar.lengthUm);
            const QImage image = renderer.renderImage(o);
            const QRect panel = l.panels.front();
            const QRect corner(panel.left(), panel.center().y(), panel.width() / 2,
                               panel.height() / 2);
            const int run = longestBlackRun(image, corner);
            QVERIFY2(std::abs(run - bar.lengthUm / umPerPixel) <= 1.0,
                     qPrintable(QStringLiteral("width %1: bar %2 px, expected %3")
                                    .arg(width)
                                    .arg(run)
                                    .arg(bar.lengthUm / umPerPixel)));
        }
    }

    // At level 1's own scale the panel is level 1's pixels as libvips decodes them.
    void slidePixelsAreTheLevelsOwn() {
        ImageDocument document(slide_);
        FigureRenderer renderer({&document, tiles_.get()});
        FigureOptions o = plainOptions(document.info());
        o.widthPx = 700;
        const int panelW = renderer.layout(o).panels.front().width();
        const int x1 = 130, y1 = 90, h1 = 300;  // level-1 pixels (downsample 2)
        o.region = RectF{2.0 * x1, 2.0 * y1, 2.0 * panelW, 2.0 * h1};
        const FigureLayout l = renderer.layout(o);
        QCOMPARE(l.scale, 0.5);
        QCOMPARE(l.panels.front().height(), h1);
        const QImage figure = renderer.renderImage(o).copy(l.panels.front());
        const QString ref = dir_.filePath("vips-level1.png");
        const QString out =
            run("vips",
                {"crop", QString::fromStdString(fixtures::path("slides/aperio.svs")) + "[level=1]",
                 ref, QString::number(x1), QString::number(y1), QString::number(panelW),
                 QString::number(h1)});
        QVERIFY2(!out.startsWith("FAILED"), qPrintable(out));
        const QImage decoded = QImage(ref).convertToFormat(QImage::Format_RGB32);
        QVERIFY(maxDifference(figure, decoded) <= 2);
        // Not an upscale of a coarser level: level 2 scaled up differs.
        const QImage coarse =
            renderer.renderPanel(o, QSize(panelW / 2, h1 / 2), false)
                .scaled(panelW, h1, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
        QVERIFY(maxDifference(coarse, decoded) > 20);
    }

    // Heat: the figure's panel is the viewer's renderer for the same view, heat on.
    void heatIsWhatTheViewerRenders() {
        ImageDocument document(slide_);
        const ImageInfo& info = document.info();
        HeatmapOverlay overlay;
        overlay.setImageSize(QSizeF(double(info.width()), double(info.height())));
        overlay.setRasters(rampHeat(info, 64), nullptr);
        overlay.setOpacity(0.6);
        overlay.setThreshold(0.3);
        overlay.setColourMap(ColourMap::Viridis);
        FigureSources sources{&document, tiles_.get(), overlay.layers().front(), ColourMap::Viridis,
                              0.3};
        FigureRenderer renderer(sources);
        FigureOptions o = plainOptions(info);
        o.region = RectF{400, 200, 2000, 1500};
        o.widthPx = 900;
        const FigureLayout l = renderer.layout(o);
        const QImage figure = renderer.renderImage(o).copy(l.panels.front());

        SceneRenderer viewer(&document, tiles_.get());
        viewer.setBackground(Qt::white);
        viewer.scaleBarLayer().setVisible(false);
        viewer.addLayer(overlay.layers().front(), SceneRenderer::kAnalysisDepth);
        ViewGeometry view;
        view.viewWidth = l.panels.front().width();
        view.viewHeight = l.panels.front().height();
        view.scale = l.scale;
        view.centreX = o.region.x + o.region.width / 2;
        view.centreY = o.region.y + o.region.height / 2;
        const QImage shown = viewer.render(view).convertToFormat(QImage::Format_RGB32);
        QCOMPARE(maxDifference(figure.convertToFormat(QImage::Format_RGB32), shown), 0);
        // And the heat is there: without it the panel differs.
        const QImage plain =
            renderer.renderPanel(o, view.viewWidth > 0 ? l.panels.front().size() : QSize(), false);
        QVERIFY(maxDifference(plain.convertToFormat(QImage::Format_RGB32), shown) > 30);
    }

    void svgHasVectorAnnotationsAndScaleBar() {
        ImageDocument document(slide_);
        const AnnotationSet set = someAnnotations(document.info());
        FigureRenderer renderer({&document, tiles_.get(), nullptr, ColourMap::Jet, 0, &set});
        FigureOptions o = plainOptions(document.info());
        o.widthPx = 800;
        auto paths = [&](bool annotations, bool scaleBar) {
            o.annotations = annotations;
            o.scaleBar = scaleBar;
            const QByteArray svg = encodeFigure(renderer, o, FigureFormat::Svg);
            QSvgRenderer parsed(svg);
            if (!parsed.isValid()) return -1;
            return int(svg.count("<path"));
        };
        const int none = paths(false, false);
        QVERIFY(none >= 0);
        QVERIFY2(paths(true, false) >= none + 1, "no path for the annotation");
        QVERIFY2(paths(false, true) >= none + 2, "no paths for the scale bar (box and bar)");
        o.annotations = true;
        const QByteArray svg = encodeFigure(renderer, o, FigureFormat::Svg);
        QVERIFY(svg.contains("Region A"));  // the label is text, not pixels
        QVERIFY(svg.contains("<image"));    // the slide is an embedded raster
    }

    void pdfTextHasCaptionModelMethodClass() {
        ImageDocument document(slide_);
        const ImageInfo& info = document.info();
        HeatmapOverlay overlay;
        overlay.setImageSize(QSizeF(double(info.width()), double(info.height())));
        overlay.setRasters(rampHeat(info, 64), nullptr);
        FigureRenderer renderer({&document, tiles_.get(), overlay.layers().front()});
        FigureOptions o = plainOptions(info);
        o.widthPx = 1000;
        o.caption = o.colourBar = o.scaleBar = true;
        o.captionText = defaultFigureCaption(document, "/models/demo-smallcnn.pth", "gradcam++",
                                             "features.6", "tumour");
        o.colourBarLabel = "gradcam++ · class tumour · slide-wide scale";
        const QString path = dir_.filePath("figure.pdf");
        writeFigure(path, renderer, o);
        const QString text = run("pdftotext", {path, "-"});
        for (const char* expected : {"aperio.svs", "demo-smallcnn.pth", "gradcam++", "tumour",
                                     "features.6", "slide-wide scale", "µm"})
            QVERIFY2(text.contains(QString::fromUtf8(expected)),
                     qPrintable(QStringLiteral("'%1' not in: %2").arg(expected, text)));
        // The page is the figure's size at its DPI.
        const QString info2 = run("pdfinfo", {path});
        const QSize size = renderer.layout(o).size;
        const QRegularExpressionMatch m =
            QRegularExpression("Page size:\\s+([0-9.]+) x ([0-9.]+) pts").match(info2);
        QVERIFY2(m.hasMatch(), qPrintable(info2));
        QVERIFY(std::abs(m.captured(1).toDouble() - size.width() * 72.0 / 300) < 1);
    }

    // The patient's name and ID (as pydicom reads them) are nowhere in the bytes by default.
    void dicomPatientOnlyWhenAskedFor() {
        const QString file = QString::fromStdString(fixtures::path("dicom/CT_small.dcm"));
        const QString tags =
            run("/usr/bin/python3", {"-c",
                                     "import sys, pydicom; d = pydicom.dcmread(sys.argv[1]); "
                                     "print(str(d.PatientName).split('^')[0]); print(d.PatientID)",
                                     file});
        QVERIFY2(!tags.startsWith("FAILED"), qPrintable(tags));
        const QStringList patient = tags.trimmed().split('\n');
        QCOMPARE(patient.size(), 2);
        ImageDocument document(openImage(file.toStdString()));
        FigureRenderer renderer({&document, tiles_.get()});
        FigureOptions o = plainOptions(document.info());
        o.widthPx = 600;
        o.caption = true;
        o.captionText = "CT_small.dcm";
        for (bool include : {false, true}) {
            o.includePatientDetails = include;
            const QByteArray svg = encodeFigure(renderer, o, FigureFormat::Svg);
            const QString pdf = dir_.filePath(include ? "with.pdf" : "without.pdf");
            writeFigure(pdf, renderer, o);
            QFile pdfFile(pdf);
            QVERIFY(pdfFile.open(QIODevice::ReadOnly));
            const QByteArray pdfBytes = pdfFile.readAll();
            const QString pdfText = run("pdftotext", {pdf, "-"});
            const QByteArray png = encodeFigure(renderer, o, FigureFormat::Png);
            QVERIFY(pngTextChunks(png).isEmpty());
            for (const QString& p : patient) {
                QCOMPARE(svg.contains(p.toUtf8()), include);
                QCOMPARE(pdfText.contains(p), include);
                if (!include) QVERIFY(!pdfBytes.contains(p.toUtf8()));
            }
        }
    }

    // File ▸ Export Figure… in the real window: the dialog writes the view's region.
    void dialogFromTheWindow() {
        MainWindow window(tiles_.get());
        window.resize(1000, 700);
        window.show();
        QSignalSpy opened(&window, &MainWindow::documentOpened);
        window.openPath(QString::fromStdString(fixtures::path("slides/aperio.svs")));
        QVERIFY(opened.wait(20000));
        SlideView* view = window.currentView();
        QVERIFY(view);
        QVERIFY(viewtest::waitLoaded(view));
        auto* action = window.findChild<QAction*>("exportFigureAction");
        QVERIFY(action);
        QCOMPARE(action->shortcut(), QKeySequence("Ctrl+E"));
        action->trigger();
        auto* dialog = window.findChild<ExportFigureDialog*>();
        QVERIFY(dialog);
        QTRY_VERIFY(dialog->isVisible());
        const FigureOptions o = dialog->options();
        const RectF shown = view->viewGeometry().visibleImageRect();
        QCOMPARE(o.region.x, shown.x);
        QCOMPARE(o.region.width, shown.width);
        const QString path = dir_.filePath("from-dialog.png");
        QCOMPARE(dialog->exportTo(path), QString());
        const QImage written(path);
        QVERIFY(!written.isNull());
        QCOMPARE(written.width(), o.widthPx);
        QCOMPARE(written.dotsPerMeterX(), qRound(o.dpi / 0.0254));
        dialog->reject();
    }
};

QTEST_MAIN(FigureExportTest)
#include "figure_export_test.moc"
