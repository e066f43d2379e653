// The broken-file corpus (tests/fixtures/make_bad_inputs.py), as OpenSlide's test cases: every
// file in bad/expected.tsv either opens as the format its content says, or fails with an
// ImageError that names the file and whose reason matches the expected pattern. Nothing else may
// escape: no other exception type, no crash.
#include "fixtures/Fixtures.h"

#include "image/ImageError.h"
#include "image/ImageLimits.h"
#include "image/ImageSource.h"

#include <QFile>
#include <QRegularExpression>
#include <QTemporaryDir>

#include <exception>

using namespace lucida;

namespace {

// What openImage did with a file: opened (format), threw ImageError, or threw something else.
struct Outcome {
    enum Kind { Opened, Error, Other } kind = Other;
    std::string format;
    std::string path, reason, what;
};

Outcome tryOpen(const std::string& path) {
    Outcome out;
    try {
        const auto src = openImage(path);
        out.format = src->info().format;
        // Opening is not enough: the coarsest level must read too, or fail as an ImageError.
        const int last = int(src->info().levels.size()) - 1;
        const Level& lv = src->info().level(last);
        src->readRegion(last, {0, 0, std::min<std::int64_t>(lv.width, 64),
                               std::min<std::int64_t>(lv.height, 64)});
        out.kind = Outcome::Opened;
    } catch (const ImageError& e) {
        out.kind = Outcome::Error;
        out.path = e.path();
        out.reason = e.reason();
        out.what = e.what();
    } catch (const std::exception& e) {
        out.what = std::string("std::exception: ") + e.what();
    } catch (...) {
        out.what = "an exception of unknown type";
    }
    return out;
}

QString describe(const Outcome& o) {
    switch (o.kind) {
        case Outcome::Opened:
            return QString("opened as \"%1\"").arg(QString::fromStdString(o.format));
        case Outcome::Error:
            return QString("ImageError: %1").arg(QString::fromStdString(o.what));
        default:
            return QString("threw %1").arg(QString::fromStdString(o.what));
    }
}

}  // namespace

class BadInputTest : public QObject {
    Q_OBJECT

private slots:
    void corpus_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("expectation");
        QFile tsv(QString::fromStdString(fixtures::path("bad/expected.tsv")));
        QVERIFY2(tsv.open(QIODevice::ReadOnly | QIODevice::Text), qPrintable(tsv.fileName()));
        int rows = 0;
        while (!tsv.atEnd()) {
            const QString line = QString::fromUtf8(tsv.readLine()).trimmed();
            if (line.isEmpty()) continue;
            const QStringList cols = line.split('\t');
            QVERIFY2(cols.size() == 2, qPrintable("bad line in expected.tsv: " + line));
            QTest::newRow(qPrintable(cols[0])) << cols[0] << cols[1];
            ++rows;
        }
        QVERIFY2(rows >= 15, qPrintable(QString("only %1 cases in expected.tsv").arg(rows)));
    }
    void corpus() {
        QFETCH(QString, name);
        QFETCH(QString, expectation);
        const std::string path = fixtures::path("bad/" + name.toStdString());
        QVERIFY2(QFileInfo::exists(QString::fromStdString(path)), path.c_str());
        const Outcome o = tryOpen(path);
        qInfo("%s: %s", qPrintable(name), qPrintable(describe(o)));
        QVERIFY2(o.kind != Outcome::Other, qPrintable(describe(o)));

        if (expectation.startsWith("OK:")) {
            const std::string prefix = expectation.mid(3).toStdString();
            QVERIFY2(o.kind == Outcome::Opened, qPrintable(describe(o)));
            QVERIFY2(o.format.rfind(prefix, 0) == 0,
                     qPrintable(QString("format \"%1\" does not start with \"%2\"")
                                    .arg(QString::fromStdString(o.format), expectation.mid(3))));
            return;
        }
        if (expectation == "ANY") {  // may open or fail, but only ever as an ImageError naming it
            if (o.kind == Outcome::Error)
                QVERIFY2(o.what.find(path) != std::string::npos, o.what.c_str());
            return;
        }
        QVERIFY2(o.kind == Outcome::Error, qPrintable("expected an error, " + describe(o)));
        QCOMPARE(o.path, path);
        QVERIFY2(o.what.find(name.toStdString()) != std::string::npos, o.what.c_str());
        QVERIFY2(!o.reason.empty(), o.what.c_str());
        const QRegularExpression pattern(expectation, QRegularExpression::CaseInsensitiveOption);
        QVERIFY2(pattern.isValid(), qPrintable(pattern.errorString()));
        QVERIFY2(pattern.match(QString::fromStdString(o.reason)).hasMatch(),
                 qPrintable(QString("reason \"%1\" does not match /%2/")
                                .arg(QString::fromStdString(o.reason), expectation)));
    }

    void missingFile() {
        const std::string path = fixtures::path("bad/there-is-no-such-file.svs");
        const Outcome o = tryOpen(path);
        QVERIFY2(o.kind == Outcome::Error, qPrintable(describe(o)));
        QCOMPARE(o.path, path);
        QVERIFY2(o.reason.find("no such file") != std::string::npos, o.what.c_str());
        QVERIFY2(o.what.find("there-is-no-such-file.svs") != std::string::npos, o.what.c_str());
    }

    void emptyFolderIsNoSeries() {
        QTemporaryDir tmp;
        const Outcome o = tryOpen(tmp.path().toStdString());
        QVERIFY2(o.kind == Outcome::Error, qPrintable(describe(o)));
        QCOMPARE(o.path, tmp.path().toStdString());
        QVERIFY2(QString::fromStdString(o.reason).contains("no DICOM", Qt::CaseInsensitive),
                 o.what.c_str());
    }

    // Inputs the fuzz targets found (tests/fuzz/regressions/<target>/, see its README): each is
    // refused naming the file and the reason.
    void fuzzedInputsAreRefused_data() {
        QTest::addColumn<QString>("target");
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("reason");
        // 4.6 KB of deflated dataset declaring a 1.3 GB element: refused before DCMTK allocates.
        QTest::newRow("deflated DICOM") << "fuzz_image_dicom"
                                        << "oom-element-length-1.3GB.dcm"
                                        << "deflated transfer syntax";
        // An RLE segment offset past its fragment crashed DCMTK's decoder.
        QTest::newRow("RLE segment offset")
            << "fuzz_image_dicom"
            << "dcmtk-rle-segment-offset.dcm"
            << "cannot decode RLE frame 6: segment 3 starts at byte 851968, outside 112..330";
        QTest::newRow("png overflow") << "fuzz_image_raster"
                                      << "png-4e9x2e9-overflow.png"
                                      << "over the limit of";
        QTest::newRow("pixel data VR") << "fuzz_image_raster"
                                       << "dicom-pixeldata-ob-ow-type.dcm"
                                       << "";
        // Pixel data read as a string of a declared 4 GB: measured from the length field.
        QTest::newRow("pixel data 4 GB string")
            << "fuzz_image_raster"
            << "dicom-pixeldata-string-4GB.dcm"
            << "pixel data truncated: expected 4278190079 bytes, file has 4876";
        // A PNG text chunk declaring 1.8 GB: libpng allocated it before reading.
        QTest::newRow("PNG chunk 1.8 GB") << "fuzz_image_raster"
                                          << "png-chunk-1.8GB.png"
                                          << "more than the 186-byte file holds";
        // A JPEG codestream of 256x1024 in a header of 16000x16000: DCMTK padded it to the
        // header's size (38 s under AddressSanitizer; the CI's 20-second fuzzing timeout).
        QTest::newRow("JPEG smaller than header")
            << "fuzz_image_dicom"
            << "jpeg-codestream-256x1024-header-16000x16000.dcm"
            << "the codestream is 256x1024, 1 component; the DICOM header says 16000x16000";
        // Codestream and header agree on 8000x16000, in 1.7 KB: at least one bit per MCU.
        QTest::newRow("JPEG bytes cannot hold the frame")
            << "fuzz_image_dicom"
            << "jpeg-16000x8000-in-4kb.dcm"
            << "1724 bytes of codestream cannot hold a 16000x8000 frame (it needs at least 250000)";
        // 7 KB of RLE declaring 16000x16000: refused before the 256 MB frame is allocated.
        QTest::newRow("RLE bytes cannot hold the frame")
            << "fuzz_image_dicom"
            << "rle-7kb-header-16000x16000.dcm"
            << "segment 0 holds 1884 bytes, which expand to at most 120576, the frame needs "
               "256000000";
        // A TIFF tag declaring 4 GB of values: OpenSlide's detection allocated it up front.
        QTest::newRow("TIFF tag 4 GB") << "fuzz_image_slide"
                                       << "tiff-tag-4GB.tif"
                                       << "values, more than the 948-byte file holds";
    }
    void fuzzedInputsAreRefused() {
        QFETCH(QString, target);
        QFETCH(QString, file);
        QFETCH(QString, reason);
        const std::string path = std::string(LUCIDA_SOURCE_DIR) + "/tests/fuzz/regressions/" +
                                 target.toStdString() + "/" + file.toStdString();
        const Outcome o = tryOpen(path);
        QVERIFY2(o.kind == Outcome::Error, qPrintable(describe(o)));
        QCOMPARE(o.path, path);
        QVERIFY2(o.reason.find(reason.toStdString()) != std::string::npos, o.what.c_str());
    }

    // The decompression-bomb limit (LUCIDA_MAX_IMAGE_PIXELS, setMaxImagePixels) refuses a frame
    // decoded whole with one pixel more than it allows, and lets one at the limit open; tiled
    // slides are read tile by tile and are not limited.
    void pixelLimitRefusesLargerFrames_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<qint64>("pixels");
        QTest::newRow("PNG") << "raster/ihc.png" << qint64(512) * 512;
        QTest::newRow("DICOM") << "dicom/MR_small.dcm" << qint64(64) * 64;
    }
    void pixelLimitRefusesLargerFrames() {
        QFETCH(QString, file);
        QFETCH(qint64, pixels);
        const std::string path = fixtures::path(file.toStdString());
        struct Restore {
            ~Restore() { setMaxImagePixels(kDefaultMaxImagePixels); }
        } restore;
        setMaxImagePixels(pixels - 1);
        const Outcome refused = tryOpen(path);
        QVERIFY2(refused.kind == Outcome::Error, qPrintable(describe(refused)));
        QVERIFY2(refused.reason.find("over the limit of " + std::to_string(pixels - 1) +
                                     " pixels (LUCIDA_MAX_IMAGE_PIXELS)") != std::string::npos,
                 refused.what.c_str());
        setMaxImagePixels(pixels);
        const Outcome opened = tryOpen(path);
        QVERIFY2(opened.kind == Outcome::Opened, qPrintable(describe(opened)));
        setMaxImagePixels(1);
        const Outcome slide = tryOpen(fixtures::path("slides/aperio.svs"));
        QVERIFY2(slide.kind == Outcome::Opened, qPrintable(describe(slide)));
    }
};

QTEST_APPLESS_MAIN(BadInputTest)
#include "bad_input_test.moc"
