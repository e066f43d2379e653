// Comparison figures made the way a user makes them: the real window with the demo model and a
// small demo slide, File ▸ Export Figure…, Panels "Methods: Grad-CAM | Grad-CAM++ | Score-CAM",
// exported as PNG and SVG by the dialog. The PNG's panels are found from its pixels (columns of
// the figure's white between them), each has its label drawn above it, their heat differs while
// the slide under them is the same where no heat is drawn (below the threshold); the SVG has each
// method's name as text and exactly one scale bar path.
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "AnalysisSettingKeys.h"
#include "ExportFigureDialog.h"
#include "FigureRenderer.h"
#include "MainWindow.h"
#include "ModelSession.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewWaits.h"
#include "demo/DemoData.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace lucida;
using namespace lucida::ui;

namespace {

constexpr char kDemoModel[] = LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth";
const QStringList kLabels{"Grad-CAM", "Grad-CAM++", "Score-CAM"};

bool white(QRgb p) { return (p & 0xFFFFFF) == 0xFFFFFF; }

// Runs of columns, within rows [top, bottom], that hold a pixel other than pure white.
std::vector<std::pair<int, int>> inkColumns(const QImage& image, int top, int bottom) {
    std::vector<std::pair<int, int>> runs;
    for (int x = 0; x < image.width(); ++x) {
        bool ink = false;
        for (int y = top; y <= bottom && !ink; ++y) ink = !white(image.pixel(x, y));
        if (!ink) continue;
        if (!runs.empty() && runs.back().second == x - 1)
            runs.back().second = x;
        else
            runs.emplace_back(x, x);
    }
    return runs;
}

// Bounding boxes of the SVG's paths ("d" coordinates; the figure sets no transforms on them).
std::vector<QRectF> svgPathBoxes(const QString& svg) {
    std::vector<QRectF> boxes;
    static const QRegularExpression pathD(QStringLiteral("<path[^>]* d=\"([^\"]*)\""));
    static const QRegularExpression number(QStringLiteral("-?[0-9]+(\\.[0-9]+)?"));
    for (auto m = pathD.globalMatch(svg); m.hasNext();) {
        std::vector<double> v;
        for (auto n = number.globalMatch(m.next().captured(1)); n.hasNext();)
            v.push_back(n.next().captured(0).toDouble());
        if (v.size() < 4) continue;
        double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
        for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
            x0 = std::min(x0, v[i]), x1 = std::max(x1, v[i]);
            y0 = std::min(y0, v[i + 1]), y1 = std::max(y1, v[i + 1]);
        }
        boxes.emplace_back(QPointF(x0, y0), QPointF(x1, y1));
    }
    return boxes;
}

QStringList svgTexts(const QString& svg) {
    QStringList texts;
    static const QRegularExpression text(QStringLiteral("<text[^>]*>([^<]*)</text>"));
    for (auto m = text.globalMatch(svg); m.hasNext();) texts << m.next().captured(1).trimmed();
    return texts;
}

}  // namespace

class FigureCompareDialogTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<QTemporaryDir> tmp_;
    std::unique_ptr<TileService> tiles_;
    QString slide_;
    QPointF lesionCentre_;

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("figure_compare_dialog_test");
        QSettings().clear();
        QSettings().setValue(analysis_keys::kLive, false);
        QSettings().setValue(analysis_keys::kResultsBesideImage, true);  // in the temporary folder
        qRegisterMetaType<SlideView*>("SlideView*");
        tmp_ = std::make_unique<QTemporaryDir>();
        QVERIFY(tmp_->isValid());
        tiles_ = std::make_unique<TileService>(std::size_t{128} << 20, 2);
        demo::DemoSlideOptions options;  // 0.5 µm/px, the demo model's scale
        options.width = 1024;
        options.height = 1024;
        options.lossless = true;  // the slide pixels of the panels compared exactly
        slide_ = tmp_->filePath("demo.tiff");
        const auto made = demo::writeDemoSlide(slide_.toStdString(),
                                               tmp_->filePath("mask.png").toStdString(), options);
        QVERIFY(!made.lesions.empty());
        const demo::DemoLesion& l = made.lesions.front();
        lesionCentre_ = QPointF(l.x + l.width / 2.0, l.y + l.height / 2.0);
    }

    void methodsComparisonFromTheDialog() {
        MainWindow window(tiles_.get());
        window.resize(900, 650);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        ModelSession* session = window.analysisPanel()->session();
        session->setColourMap(ColourMap::Jet);
        session->setOpacity(0.7);
        session->setThreshold(0.5);  // low heat is a hole: the slide shows through unchanged
        QSignalSpy modelOpened(&window, &MainWindow::modelOpened);
        window.openModel(kDemoModel);
        QVERIFY(modelOpened.wait(60000));
        QSignalSpy opened(&window, &MainWindow::documentOpened);
        window.openPath(slide_);
        QVERIFY(opened.wait(20000));
        SlideView* view = window.currentView();
        QVERIFY(viewtest::waitLoaded(view));
        // A small view around a lesion: a few patches per method (Score-CAM is slow).
        view->showActualPixels();
        view->setScale(2.0);
        view->setCentre(lesionCentre_.x(), lesionCentre_.y());
        QVERIFY(viewtest::waitLoaded(view));

        window.findChild<QAction*>("exportFigureAction")->trigger();
        ExportFigureDialog* dialog = nullptr;
        for (auto* d : window.findChildren<ExportFigureDialog*>())
            if (d->isVisible()) dialog = d;
        QVERIFY(dialog);
        auto* region = dialog->findChild<QComboBox*>("figureRegion");
        region->setCurrentIndex(region->findData("view"));
        auto* unit = dialog->findChild<QComboBox*>("figureUnit");
        unit->setCurrentIndex(unit->findData("px"));
        dialog->findChild<QSpinBox*>("figureWidthPx")->setValue(1200);
        QComboBox* panels = nullptr;
        for (auto* c : dialog->findChildren<QComboBox*>())
            if (c->findData("methods") >= 0) panels = c;
        QVERIFY2(panels, "the dialog offers no comparison of methods with a model open");
        panels->setCurrentIndex(panels->findData("methods"));
        QCOMPARE(panels->currentText(), "Methods: " + kLabels.join(" | "));
        for (auto* b : dialog->findChildren<QCheckBox*>()) {
            const QString t = b->text().remove('&');
            if (t.startsWith("Scale bar")) b->setChecked(true);
            if (t.startsWith("Caption") || t.startsWith("Overview")) b->setChecked(false);
        }
        const RectF visible = view->viewGeometry().visibleImageRect();

        const QString png = tmp_->filePath("methods.png"), svg = tmp_->filePath("methods.svg");
        QCOMPARE(dialog->exportTo(png), QString());
        QVERIFY(!dialog->exportCancelled());
        QCOMPARE(dialog->exportTo(svg), QString());  // the panels' maps reused, not recomputed
        const FigureOptions o = dialog->options();
        QVERIFY(o.scaleBar);
        QCOMPARE(int(o.panels.size()), 3);
        QVERIFY(std::abs(o.region.width - visible.width) < 2);

        // The panels, found from the PNG: three runs of non-white columns across the panels' rows,
        // equal widths, white between them.
        const QImage image = QImage(png).convertToFormat(QImage::Format_RGB32);
        QVERIFY(!image.isNull());
        if (const QString shots = qEnvironmentVariable("LUCIDA_SCREENSHOT_DIR"); !shots.isEmpty())
            image.save(shots + "/figure-compare-dialog.png");
        QCOMPARE(image.width(), 1200);
        FigureRenderer renderer({view->document(), tiles_.get()});
        const FigureLayout l = renderer.layout(o);
        QCOMPARE(image.size(), l.size);
        const int top = l.panels[0].top() + 2, bottom = l.panels[0].bottom() - 2;
        const auto runs = inkColumns(image, top, bottom);
        QCOMPARE(int(runs.size()), 3);
        const int w = runs[0].second - runs[0].first + 1;
        QVERIFY2(w > 300, qPrintable(QString::number(w)));
        std::vector<QRect> found;
        for (const auto& [from, to] : runs) {
            QVERIFY(std::abs((to - from + 1) - w) <= 1);
            found.emplace_back(from, l.panels[0].top(), w, l.panels[0].height());
        }
        QVERIFY(runs[1].first - runs[0].second > 5 && runs[2].first - runs[1].second > 5);
        for (int i = 0; i < 3; ++i) QVERIFY(std::abs(found[i].left() - l.panels[i].left()) <= 1);

        // Each label: ink in the band above its panel, left-aligned, none above the gaps.
        for (int i = 0; i < 3; ++i) {
            int ink = 0;
            for (int y = std::max(0, found[i].top() - int(l.unit * 1.6)); y < found[i].top() - 1;
                 ++y)
                for (int x = found[i].left(); x < found[i].left() + w / 2; ++x)
                    ink += !white(image.pixel(x, y));
            QVERIFY2(ink > 30, qPrintable(QStringLiteral("panel %1 label: %2").arg(i).arg(ink)));
        }

        // The heat differs between panels; where neither draws heat the slide is the same.
        // The scale bar sits on the first panel only: left out.
        const QRect bar = l.scaleBar.toAlignedRect().adjusted(-2, -2, 2, 2);
        QVERIFY(found[0].intersects(bar));
        for (int i = 1; i < 3; ++i) {
            double sum = 0;
            long same = 0, all = 0;
            for (int y = 0; y < found[0].height(); ++y)
                for (int x = 0; x < w; ++x) {
                    if (bar.contains(found[0].left() + x, found[0].top() + y)) continue;
                    const QRgb a = image.pixel(found[0].left() + x, found[0].top() + y);
                    const QRgb b = image.pixel(found[i].left() + x, found[i].top() + y);
                    const int d = std::abs(qRed(a) - qRed(b)) + std::abs(qGreen(a) - qGreen(b)) +
                                  std::abs(qBlue(a) - qBlue(b));
                    sum += d / 3.0;
                    same += d == 0;
                    ++all;
                }
            const double mean = sum / all, sameShare = double(same) / all;
            qInfo("panel %d vs 0: mean difference %.2f, %.3f identical", i, mean, sameShare);
            // Score-CAM's map is unlike Grad-CAM's here; Grad-CAM++'s is close to it (the same
            // gradients, reweighted) but not the same.
            QVERIFY2(mean > (i == 2 ? 4 : 0.02),
                     qPrintable(QStringLiteral("panel %1 vs 0: mean %2").arg(i).arg(mean)));
            QVERIFY2(
                sameShare > 0.02 && sameShare < (i == 2 ? 0.9 : 0.999),
                qPrintable(QStringLiteral("panel %1 vs 0: %2 identical").arg(i).arg(sameShare)));
        }

        // The SVG: valid, each method's name as text, one raster per panel, one scale bar.
        QVERIFY(QSvgRenderer(svg).isValid());
        QFile file(svg);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QString svgText = QString::fromUtf8(file.readAll());
        if (const QString shots = qEnvironmentVariable("LUCIDA_SCREENSHOT_DIR"); !shots.isEmpty())
            QFile::copy(svg, shots + "/figure-compare-dialog.svg");
        const QStringList texts = svgTexts(svgText);
        for (const QString& label : kLabels)
            QVERIFY2(texts.contains(label), qPrintable(label + " not in " + texts.join(", ")));
        QCOMPARE(svgText.count("<image"), 3);
        const int barPixels = renderer.scaleBar(o).pixels;
        int bars = 0;
        for (const QRectF& box : svgPathBoxes(svgText))
            bars += std::abs(box.width() - barPixels) < 0.5 && box.height() > 0 &&
                    box.height() < barPixels / 4.0;  // a bar, not the box behind it
        QCOMPARE(bars, 1);
        dialog->reject();
    }
};

QTEST_MAIN(FigureCompareDialogTest)
#include "figure_compare_dialog_test.moc"
