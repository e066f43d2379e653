// One DICOM window for the model and the screen: a Gray16 buffer windowed for the model input
// (preprocess) and for display (GrayLut, toDisplayImage) gives the same grey value per pixel, for
// windows inside the range, clipping on both sides and narrower than one stored step.
#include <QtTest>

#include "TileImage.h"
#include "image/Windowing.h"
#include "model/Preprocess.h"

#include <cmath>

using namespace lucida;

class WindowingTest : public QObject {
    Q_OBJECT

private slots:
    void modelAndScreenAgree_data() {
        QTest::addColumn<double>("centre");
        QTest::addColumn<double>("width");
        QTest::newRow("soft tissue") << 40.0 << 400.0;
        QTest::newRow("bone") << 300.0 << 1500.0;
        QTest::newRow("narrow") << -200.0 << 1.0;
        QTest::newRow("full range") << 31743.5 << 65535.0;
    }

    void modelAndScreenAgree() {
        QFETCH(double, centre);
        QFETCH(double, width);
        // CT-like: value = stored - 1024 (HU); a ramp over every value the windows touch.
        const GrayMapping mapping{1.0, -1024.0, "HU"};
        const Window window{"test", centre, width};
        PixelBuffer image(64, 48, PixelFormat::Gray16);
        for (int y = 0; y < image.height; ++y) {
            auto* row = reinterpret_cast<std::uint16_t*>(image.row(y));
            for (int x = 0; x < image.width; ++x)
                row[x] = static_cast<std::uint16_t>((y * image.width + x) * 97 % 4096);
        }

        // The model path, with mean 0 and std 1 so the input is grey / 255.
        ModelSpec spec;
        spec.inputWidth = image.width;
        spec.inputHeight = image.height;
        spec.mean = {0, 0, 0};
        spec.std = {1, 1, 1};
        const FloatTensor input = preprocess(image, spec, &window, &mapping);
        // The screen path.
        const QImage shown = ui::toDisplayImage(image, ui::GrayLut(mapping, window));

        const std::size_t plane = static_cast<std::size_t>(image.width) * image.height;
        int mismatches = 0;
        for (int y = 0; y < image.height; ++y)
            for (int x = 0; x < image.width; ++x) {
                const int screen = qGray(shown.pixel(x, y));
                const std::size_t i = static_cast<std::size_t>(y) * image.width + x;
                for (std::size_t c = 0; c < 3; ++c) {
                    const long model = std::lround(input.data[c * plane + i] * 255.0f);
                    mismatches += model != screen;
                }
                const double value = mapping.toValue(image.grayAt(x, y));
                mismatches += windowedGray(value, window) != screen;
            }
        QCOMPARE(mismatches, 0);
    }
};

QTEST_APPLESS_MAIN(WindowingTest)
#include "windowing_test.moc"
