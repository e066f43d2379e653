// Moving a figure's items: a place is a fraction of the figure, clamped inside it; the PNG has the
// scale bar's black bar there (pixels) and the SVG its path; dragging in the Export Figure
// dialog's preview with mouse events stores the fraction, a new dialog restores it, Reset clears
// it; `lucida-cli figure --place` with the same fractions writes the same pixels.
#include "ExportFigureDialog.h"
#include "FigurePreview.h"
#include "FigureRenderer.h"
#include "FigureWriter.h"
#include "ImageDocument.h"
#include "MainWindow.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewWaits.h"
#include "fixtures/Fixtures.h"
#include "image/ImageSource.h"

#include <QAction>
#include <QComboBox>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace lucida;
using namespace lucida::ui;

namespace {

// The longest run of pure black pixels on one row inside `area`.
int longestBlackRun(const QImage& image, const QRect& area) {
    int best = 0;
    const QRect inside = area.intersected(image.rect());
    for (int y = inside.top(); y <= inside.bottom(); ++y) {
        int run = 0;
        for (int x = inside.left(); x <= inside.right(); ++x) {
            run = (image.pixel(x, y) & 0xFFFFFF) == 0 ? run + 1 : 0;
            best = std::max(best, run);
        }
    }
    return best;
}

// Bounding boxes of the SVG's paths (their "d" coordinates, untransformed: the figure sets none).
std::vector<QRectF> svgPathBoxes(const QByteArray& svg) {
    std::vector<QRectF> boxes;
    static const QRegularExpression pathD(QStringLiteral("<path[^>]* d=\"([^\"]*)\""));
    static const QRegularExpression number(QStringLiteral("-?[0-9]+(\\.[0-9]+)?"));
    for (auto m = pathD.globalMatch(QString::fromUtf8(svg)); m.hasNext();) {
        std::vector<double> values;
        for (auto n = number.globalMatch(m.next().captured(1)); n.hasNext();)
            values.push_back(n.next().captured(0).toDouble());
        if (values.size() < 4) continue;
        double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
        for (std::size_t i = 0; i + 1 < values.size(); i += 2) {
            x0 = std::min(x0, values[i]), x1 = std::max(x1, values[i]);
            y0 = std::min(y0, values[i + 1]), y1 = std::max(y1, values[i + 1]);
        }
        boxes.emplace_back(QPointF(x0, y0), QPointF(x1, y1));
    }
    return boxes;
}

// The SVG path that is the scale bar: `pixels` wide and thinner than a tenth of that.
std::optional<QRectF> svgBar(const QByteArray& svg, int pixels) {
    for (const QRectF& box : svgPathBoxes(svg))
        if (std::abs(box.width() - pixels) < 0.5 && box.height() > 0 &&
            box.height() < pixels / 10.0)
            return box;
    return std::nullopt;
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

void drag(QWidget* widget, QPointF from, QPointF to) {
    QTest::mousePress(widget, Qt::LeftButton, {}, from.toPoint());
    for (int i = 1; i <= 4; ++i)
        QTest::mouseMove(widget, (from + (to - from) * (i / 4.0)).toPoint());
    QTest::mouseRelease(widget, Qt::LeftButton, {}, to.toPoint());
}

}  // namespace

class FigurePlaceTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<TileService> tiles_;
    QTemporaryDir dir_;
    std::shared_ptr<const ImageSource> slide_;

    ExportFigureDialog* openDialog(MainWindow& window) {
        window.findChild<QAction*>("exportFigureAction")->trigger();
        ExportFigureDialog* dialog = nullptr;
        for (auto* d : window.findChildren<ExportFigureDialog*>())
            if (d->isVisible()) dialog = d;
        return dialog;
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QSettings().remove("figure");
        tiles_ = std::make_unique<TileService>(std::size_t{256} << 20, 2);
        slide_ = openImage(fixtures::path("slides/aperio.svs"));
        QVERIFY(dir_.isValid());
    }

    void placeIsAFractionClampedInside() {
        const QSize figure(800, 600);
        const QRectF box(0, 0, 100, 40);
        QCOMPARE(placedBox(box, {0.25, 0.5}, figure), QRectF(200, 300, 100, 40));
        QCOMPARE(placedBox(box, {1, 1}, figure), QRectF(700, 560, 100, 40));
        QCOMPARE(placementFraction({200, 300}, figure), QPointF(0.25, 0.5));
        FigurePlacement p;
        parseFigurePlace("caption=0.05,0.92", p);
        QCOMPARE(*p[FigureItem::Caption], QPointF(0.05, 0.92));
        QVERIFY(!p[FigureItem::ScaleBar]);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parseFigurePlace("legend=0.1,0.1", p));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parseFigurePlace("caption=1.5,0.1", p));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parseFigurePlace("caption=0.1", p));
    }

    // The PNG's bar pixels and the SVG's bar path both go to the placed box, at two sizes.
    void scaleBarGoesWherePlaced() {
        ImageDocument document(slide_);
        FigureRenderer renderer({&document, tiles_.get()});
        for (int width : {800, 1500}) {
            FigureOptions o;
            o.region = RectF{500, 300, 1700, 1100};
            o.widthPx = width;
            o.annotations = o.colourBar = o.caption = false;
            const FigureLayout before = renderer.layout(o);
            o.placement[FigureItem::ScaleBar] = QPointF(0.6, 0.1);
            const FigureLayout after = renderer.layout(o);
            QCOMPARE(after.size, before.size);
            QCOMPARE(after.scaleBar.size(), before.scaleBar.size());
            QCOMPARE(after.scaleBar.topLeft(),
                     QPointF(std::round(0.6 * width), std::round(0.1 * after.size.height())));
            const FigureScaleBar bar = renderer.scaleBar(o);
            const QString path = dir_.filePath(QStringLiteral("placed%1.png").arg(width));
            writeFigure(path, renderer, o);
            const QImage png(path);
            QVERIFY(std::abs(longestBlackRun(png, after.scaleBar.toAlignedRect()) - bar.pixels) <=
                    1);
            QVERIFY(longestBlackRun(png, before.scaleBar.toAlignedRect()) < bar.pixels / 2);

            const auto svgMoved = svgBar(encodeFigure(renderer, o, FigureFormat::Svg), bar.pixels);
            o.placement = {};
            const auto svgDefault =
                svgBar(encodeFigure(renderer, o, FigureFormat::Svg), bar.pixels);
            QVERIFY(svgMoved && svgDefault);
            QVERIFY(after.scaleBar.contains(*svgMoved));
            QVERIFY(before.scaleBar.contains(*svgDefault));
            const QPointF shift = svgMoved->topLeft() - svgDefault->topLeft();
            const QPointF expected = after.scaleBar.topLeft() - before.scaleBar.topLeft();
            QVERIFY(std::abs(shift.x() - expected.x()) < 0.01);
            QVERIFY(std::abs(shift.y() - expected.y()) < 0.01);
        }
    }

    // A caption moved onto the slide gets a light box behind it (readable on tissue); in its own
    // band below the panels it gets none.
    void captionOnTheImageGetsABackdrop() {
        ImageDocument document(slide_);
        FigureRenderer renderer({&document, tiles_.get()});
        FigureOptions o;
        o.region = RectF{500, 300, 1700, 1100};
        o.widthPx = 800;
        o.annotations = o.colourBar = o.scaleBar = false;
        o.captionText = "Caption";
        o.caption = false;
        const QImage bare = renderer.renderImage(o);
        o.caption = true;
        o.placement[FigureItem::Caption] = QPointF(0.0, 0.45);
        const FigureLayout l = renderer.layout(o);
        QVERIFY(l.caption.intersects(QRectF(l.panels.front())));
        const QImage placed = renderer.renderImage(o);
        // Pixels the backdrop lightened: darker than 200 on the bare slide, near white under it.
        int lightened = 0, darkOnSlide = 0;
        const QRect box = l.caption.toAlignedRect().intersected(l.panels.front());
        for (int y = box.top(); y <= box.bottom(); ++y)
            for (int x = box.left(); x <= box.right(); ++x) {
                if (qGray(bare.pixel(x, y)) >= 200) continue;
                ++darkOnSlide;
                if (qGray(placed.pixel(x, y)) >= 225) ++lightened;
            }
        QVERIFY2(darkOnSlide > 100, qPrintable(QString::number(darkOnSlide)));
        // "Caption" at this size covers ~70 × 15 px: most of its box was dark tissue. Black text
        // alone lightens nothing.
        QVERIFY2(lightened > 150,
                 qPrintable(QStringLiteral("%1 of %2").arg(lightened).arg(darkOnSlide)));
    }

    // Dragging in the preview stores the fraction; the export draws it there; a new dialog
    // restores it; the CLI's --place gives the same pixels; Reset Positions clears it.
    void dragInTheDialogPreview() {
        MainWindow window(tiles_.get());
        window.resize(1000, 700);
        window.show();
        QSignalSpy opened(&window, &MainWindow::documentOpened);
        window.openPath(QString::fromStdString(fixtures::path("slides/aperio.svs")));
        QVERIFY(opened.wait(20000));
        QVERIFY(viewtest::waitLoaded(window.currentView()));
        ExportFigureDialog* dialog = openDialog(window);
        QVERIFY(dialog);
        auto* region = dialog->findChild<QComboBox*>("figureRegion");
        region->setCurrentIndex(region->findData("whole"));
        dialog->findChild<QPlainTextEdit*>()->setPlainText("Placed caption");
        auto* preview = dialog->findChild<FigurePreview*>();
        QVERIFY(preview);
        QTRY_VERIFY_WITH_TIMEOUT(preview->hasFigure(), 20000);
        QTRY_VERIFY(preview->itemRect(FigureItem::Caption).width() > 0);
        QTest::qWait(600);  // the last option change's render
        QTRY_VERIFY(preview->hasFigure());

        const QRectF caption = preview->itemRect(FigureItem::Caption);
        const QRectF bar = preview->itemRect(FigureItem::ScaleBar);
        QVERIFY(!caption.isEmpty() && !bar.isEmpty());
        QSignalSpy moved(preview, &FigurePreview::moved);
        // The scale bar up and to the right, onto the panel.
        const double dx = preview->width() * 0.3, dy = -preview->height() * 0.3;
        drag(preview, bar.center(), bar.center() + QPointF(dx, dy));
        QCOMPARE(moved.count(), 1);
        const QRectF barNow = preview->itemRect(FigureItem::ScaleBar);
        QVERIFY(std::abs(barNow.left() - (bar.left() + dx)) <= 3);
        QVERIFY(std::abs(barNow.top() - (bar.top() + dy)) <= 3);
        // The stored fraction: the new top-left over the figure's size.
        const FigurePlacement stored = readFigurePlacement(QSettings());
        QVERIFY(stored[FigureItem::ScaleBar]);
        const QPointF f = *stored[FigureItem::ScaleBar];
        QCOMPARE(f, *dialog->placement()[FigureItem::ScaleBar]);
        // The caption up onto the panel.
        drag(preview, caption.center(), caption.center() + QPointF(0, -preview->height() * 0.2));
        QCOMPARE(moved.count(), 2);
        const QPointF fc = *readFigurePlacement(QSettings())[FigureItem::Caption];
        QVERIFY(fc.y() < 0.9);

        QTRY_VERIFY(preview->hasFigure());
        if (const QString shots = qEnvironmentVariable("LUCIDA_SCREENSHOT_DIR"); !shots.isEmpty()) {
            QTest::qWait(1500);  // the preview re-rendered with the moved items
            dialog->grab().save(shots + "/export-dialog-moved.png");
        }
        // The exported PNG has the bar where the fraction puts it.
        const FigureOptions o = dialog->options();
        QCOMPARE(o.placement[FigureItem::ScaleBar], stored[FigureItem::ScaleBar]);
        const QString path = dir_.filePath("dialog-placed.png");
        QCOMPARE(dialog->exportTo(path), QString());
        const QImage png(path);
        FigureRenderer renderer({window.currentView()->document(), tiles_.get()});
        const FigureLayout l = renderer.layout(o);
        QCOMPARE(png.size(), l.size);
        QCOMPARE(l.scaleBar.topLeft(),
                 QPointF(std::round(f.x() * l.size.width()), std::round(f.y() * l.size.height())));
        const int pixels = renderer.scaleBar(o).pixels;
        QVERIFY(std::abs(longestBlackRun(png, l.scaleBar.toAlignedRect()) - pixels) <= 1);

        // The CLI with the same fractions: the same figure.
        const QString cliPath = dir_.filePath("cli-placed.png");
        QProcess cli;
        cli.start(LUCIDA_CLI,
                  {"figure", QString::fromStdString(fixtures::path("slides/aperio.svs")), "--out",
                   cliPath, "--width-px", QString::number(o.widthPx), "--dpi",
                   QString::number(o.dpi), "--caption", "Placed caption", "--place",
                   "scaleBar=" + figurePlaceText(f), "--place", "caption=" + figurePlaceText(fc)});
        QVERIFY(cli.waitForFinished(60000));
        QVERIFY2(cli.exitCode() == 0, cli.readAllStandardError().constData());
        QVERIFY(maxDifference(QImage(cliPath).convertToFormat(QImage::Format_RGB32),
                              png.convertToFormat(QImage::Format_RGB32)) <= 2);
        dialog->reject();

        // A new dialog restores the places; Reset Positions puts them back.
        ExportFigureDialog* again = openDialog(window);
        QVERIFY(again && again != dialog);
        QCOMPARE(again->placement()[FigureItem::ScaleBar], stored[FigureItem::ScaleBar]);
        QCOMPARE(*again->placement()[FigureItem::Caption], fc);
        again->findChild<QPushButton*>("figureResetPositions")->click();
        QVERIFY(again->placement().empty());
        QVERIFY(readFigurePlacement(QSettings()).empty());
        again->reject();
    }
};

QTEST_MAIN(FigurePlaceTest)
#include "figure_place_test.moc"
