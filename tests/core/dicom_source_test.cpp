// DicomSource against pydicom's reading of real files (tests/fixtures/make_dicom_fixtures.py):
// every transfer syntax (JPEG 2000 through OpenJPEG included) and bit depth (1, 8, 16, 32)
// decodes to the same values, series are sorted by position, DICOMDIRs and subfolders offer
// their series, and broken input fails at open with the file's name and a reason.
#include "fixtures/Fixtures.h"

#include "image/DicomSource.h"
#include "image/ImageError.h"
#include "image/ImageSource.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

using namespace lucida;

namespace {

std::string dicom(const std::string& name) { return fixtures::path("dicom/" + name); }

QJsonObject jsonFile(const std::string& path) {
    const auto bytes = fixtures::readAll(path);
    return QJsonDocument::fromJson(QByteArray(bytes.data(), qsizetype(bytes.size()))).object();
}

QJsonObject refJson(const std::string& refBase) { return jsonFile(refBase + ".ref.json"); }

// Stored value of pixel (x, y) of frame `frame` in a greyscale reference (little-endian uint16).
std::uint16_t refGray(const std::vector<char>& raw, int w, int h, int frame, int x, int y) {
    const std::size_t i = (std::size_t(frame) * w * h + std::size_t(y) * w + x) * 2;
    return std::uint16_t(std::uint8_t(raw.at(i)) | (std::uint8_t(raw.at(i + 1)) << 8));
}

std::string errorOf(const std::string& path) {
    try {
        openImage(path);
    } catch (const ImageError& e) {
        return e.what();
    }
    return "(no error)";
}

// Largest per-sample difference between slice `slice` and frame `frame` of a reference.
int maxDifference(const ImageSource& src, int slice, const std::vector<char>& raw, int frame) {
    const int w = int(src.info().width()), h = int(src.info().height());
    const PixelBuffer px = src.readRegion(0, {0, 0, w, h}, slice);
    int worst = 0;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            if (px.format == PixelFormat::Gray16) {
                worst = std::max(
                    worst, std::abs(int(px.grayAt(x, y)) - int(refGray(raw, w, h, frame, x, y))));
                continue;
            }
            const std::uint8_t* p = px.rgbaAt(x, y);
            const std::size_t i = (std::size_t(frame) * w * h + std::size_t(y) * w + x) * 3;
            for (int c = 0; c < 3; ++c)
                worst = std::max(worst, std::abs(int(p[c]) - int(std::uint8_t(raw.at(i + c)))));
            if (p[3] != 255) return 1000;  // alpha must be opaque
        }
    return worst;
}

}  // namespace

class DicomSourceTest : public QObject {
    Q_OBJECT

private slots:
    void pixelsMatchPydicom_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("height");
        QTest::addColumn<int>("slices");
        QTest::addColumn<bool>("gray");
        QTest::addColumn<double>("mm");  // pixel spacing, both directions; 0: none
        QTest::newRow("MR explicit LE") << "MR_small.dcm" << 64 << 64 << 1 << true << 0.3125;
        QTest::newRow("MR explicit BE")
            << "MR_small_bigendian.dcm" << 64 << 64 << 1 << true << 0.3125;
        QTest::newRow("MR implicit") << "MR_small_implicit.dcm" << 64 << 64 << 1 << true << 0.3125;
        QTest::newRow("MR RLE") << "MR_small_RLE.dcm" << 64 << 64 << 1 << true << 0.3125;
        QTest::newRow("MR JPEG-LS")
            << "MR_small_jpeg_ls_lossless.dcm" << 64 << 64 << 1 << true << 0.3125;
        QTest::newRow("MR 3 frames") << "MR_small_3frame.dcm" << 64 << 64 << 3 << true << 0.3125;
        QTest::newRow("CT") << "CT_small.dcm" << 128 << 128 << 1 << true << 0.661468;
        QTest::newRow("RGB RLE") << "SC_rgb_rle.dcm" << 100 << 100 << 1 << false << 1.0;
        QTest::newRow("RGB RLE 2 frames")
            << "SC_rgb_rle_2frame.dcm" << 100 << 100 << 2 << false << 1.0;
        QTest::newRow("RGB 16-bit RLE 2 frames")
            << "SC_rgb_rle_16bit_2frame.dcm" << 100 << 100 << 2 << false << 1.0;
        QTest::newRow("YBR 422") << "SC_ybr_full_422_uncompressed.dcm" << 100 << 100 << 1 << false
                                 << 1.0;
        QTest::newRow("JPEG baseline YBR")
            << "SC_rgb_jpeg_dcmtk.dcm" << 100 << 100 << 1 << false << 1.0;
        // Meta header says JPEG Baseline (explicit VR), the dataset is implicit VR.
        QTest::newRow("JPEG baseline RGB, implicit dataset")
            << "SC_rgb_jpeg.dcm" << 256 << 256 << 1 << false << 0.0;
        QTest::newRow("1-bit SEG") << "liver_1frame.dcm" << 512 << 512 << 1 << true << 0.810547;
        QTest::newRow("1-bit SEG big endian")
            << "liver_expb_1frame.dcm" << 512 << 512 << 1 << true << 0.810547;
        QTest::newRow("JPEG 2000 lossless MR")
            << "MR_small_jp2klossless.dcm" << 64 << 64 << 1 << true << 0.3125;
        QTest::newRow("JPEG 2000 NM") << "JPEG2000.dcm" << 256 << 1024 << 1 << true << 2.26;
        QTest::newRow("JPEG 2000 CT 14-bit")
            << "693_J2KI.dcm" << 512 << 512 << 1 << true << 0.478516;
        QTest::newRow("JPEG 2000 CT 13-bit, sign mismatch")
            << "J2K_pixelrep_mismatch.dcm" << 512 << 512 << 1 << true << 0.431;
        QTest::newRow("JPEG 2000 colour (RCT)")
            << "SC_rgb_j2k_rct.dcm" << 100 << 100 << 1 << false << 1.0;
    }
    void pixelsMatchPydicom() {
        QFETCH(QString, file);
        QFETCH(int, width);
        QFETCH(int, height);
        QFETCH(int, slices);
        QFETCH(bool, gray);
        QFETCH(double, mm);
        const std::string path = dicom(file.toStdString());
        const auto src = openImage(path);
        const ImageInfo& info = src->info();
        QCOMPARE(info.width(), width);
        QCOMPARE(info.height(), height);
        QCOMPARE(int(info.levels.size()), 1);
        QCOMPARE(info.sliceCount, slices);
        QCOMPARE(info.pixelFormat, gray ? PixelFormat::Gray16 : PixelFormat::Rgba8);
        if (mm > 0) {
            QVERIFY(info.mppX && info.mppY);
            QVERIFY(std::abs(*info.mppX - mm * 1000) < 1e-6);
            QVERIFY(std::abs(*info.mppY - mm * 1000) < 1e-6);
        } else {
            QVERIFY(!info.mppX && !info.mppY);
        }
        QCOMPARE(info.displayUnit, LengthUnit::Millimetre);
        QVERIFY2(info.format.rfind("DICOM (", 0) == 0, info.format.c_str());

        const QJsonObject ref = refJson(path);
        QCOMPARE(ref["frames"].toInt(), slices);
        const auto raw = fixtures::readAll(path + ".ref.raw");
        QCOMPARE(raw.size(), std::size_t(width) * height * slices * (gray ? 2 : 3));
        const int tolerance = ref["tolerance"].toInt();
        for (int k = 0; k < slices; ++k) {
            const int diff = maxDifference(*src, k, raw, k);
            QVERIFY2(
                diff <= tolerance,
                qPrintable(
                    QString("slice %1: max difference %2 > %3").arg(k).arg(diff).arg(tolerance)));
        }
        if (gray) {
            // Windows from the file come first and in order, the computed one last.
            const QJsonArray windows = ref["windows"].toArray();
            QCOMPARE(int(info.windows.size()), int(windows.size()) + 1);
            for (int i = 0; i < int(windows.size()); ++i) {
                QCOMPARE(info.windows[i].centre, windows[i].toArray()[0].toDouble());
                QCOMPARE(info.windows[i].width, windows[i].toArray()[1].toDouble());
            }
            QCOMPARE(info.windows.back().name, std::string("Auto (min–max)"));
            const double shift = ref["signed"].toBool() ? 32768.0 : 0.0;
            QCOMPARE(info.grayMapping.slope, ref["slope"].toDouble());
            QCOMPARE(info.grayMapping.intercept, ref["intercept"].toDouble() - shift);
        } else {
            QVERIFY(info.windows.empty());
        }
    }

    // 32-bit RT dose (15 frames; little/big endian, RLE): real values = pydicom's pixel_array *
    // DoseGridScaling (DoseUnits RELATIVE here) at every pixel; the automatic window spans each
    // frame's range.
    void doseMatchesPydicom_data() {
        QTest::addColumn<QString>("file");
        QTest::newRow("LE") << "rtdose.dcm";
        QTest::newRow("BE") << "rtdose_expb.dcm";
        QTest::newRow("RLE") << "rtdose_rle.dcm";
    }
    void doseMatchesPydicom() {
        QFETCH(QString, file);
        const std::string path = dicom(file.toStdString());
        const auto src = openImage(path);
        const ImageInfo& info = src->info();
        const QJsonObject ref = jsonFile(path + ".real.json");
        const int w = ref["cols"].toInt(), h = ref["rows"].toInt(), frames = ref["frames"].toInt();
        QCOMPARE(frames, 15);
        QCOMPARE(info.width(), w);
        QCOMPARE(info.height(), h);
        QCOMPARE(info.sliceCount, frames);
        QCOMPARE(info.pixelFormat, PixelFormat::Gray16);
        QCOMPARE(info.grayMapping.unit, ref["unit"].toString().toStdString());
        QCOMPARE(info.grayMapping.unit, std::string("relative"));
        const auto raw = fixtures::readAll(path + ".real.raw");
        QCOMPARE(raw.size(), std::size_t(w) * h * frames * 8);
        double worst = 0;
        for (int k = 0; k < frames; ++k) {
            const PixelBuffer px = src->readRegion(0, {0, 0, w, h}, k);
            double lo = 1e300, hi = -1e300;
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x) {
                    double expected;
                    std::memcpy(&expected, raw.data() + ((std::size_t(k) * h + y) * w + x) * 8, 8);
                    const double got = info.grayMapping.toValue(px.grayAt(x, y));
                    worst = std::max(worst, std::abs(got - expected));
                    lo = std::min(lo, expected);
                    hi = std::max(hi, expected);
                }
            const Window auto_ = src->windowsForSlice(k).back();
            QCOMPARE(auto_.name, std::string("Auto (min–max)"));
            QVERIFY(std::abs(auto_.centre - (lo + hi) / 2) < 1e-9);
            QVERIFY(std::abs(auto_.width - (hi - lo)) < 1e-9);
        }
        QVERIFY2(worst < 1e-9, qPrintable(QString::number(worst)));
        QVERIFY(std::abs(ref["max"].toDouble() - 1.254) < 1e-12);  // the reference is scaled
    }

    // A file-set written by pydicom (DICOMDIR + PT*/ST*/SE*/IM* files): its three series are
    // listed, the largest opens by default (from the folder or the DICOMDIR file), and each one
    // opens when chosen, with pydicom's pixels.
    void dicomdirOffersItsSeries() {
        const std::vector<DicomSeries> series = DicomSource::listSeries(dicom("dicomdir"));
        QCOMPARE(int(series.size()), 3);
        QCOMPARE(series[0].modality, std::string("MR"));
        QCOMPARE(series[0].files, 6);
        QVERIFY2(series[0].folder.find("SE000000") != std::string::npos, series[0].folder.c_str());
        std::map<std::string, std::string> uidOf;
        for (const DicomSeries& s : series) {
            uidOf[s.modality] = s.uid;
            QVERIFY(!s.uid.empty());
        }
        QCOMPARE(int(uidOf.size()), 3);
        QVERIFY(uidOf.count("CT") && uidOf.count("OT"));
        QCOMPARE(series[1].files, 1);
        QCOMPARE(series[2].files, 1);

        for (const std::string& path : {dicom("dicomdir"), dicom("dicomdir/DICOMDIR")}) {
            const auto src = openImage(path);
            const ImageInfo& info = src->info();
            QVERIFY2(info.format.find("from DICOMDIR") != std::string::npos, info.format.c_str());
            QCOMPARE(info.sliceCount, 6);
            QCOMPARE(info.property("dicom.series_count").value_or(""), std::string("3"));
            QCOMPARE(info.property("dicom.series_source").value_or(""), std::string("DICOMDIR"));
            const std::string first = info.property("dicom.series.1").value_or("");
            QVERIFY2(first.find(series[0].uid) == 0 && first.find("(shown)") != std::string::npos,
                     first.c_str());
            QVERIFY(info.property("dicom.series.3"));
            for (int k = 0; k < 6; ++k) {
                const std::string ref = dicom("series_ref/slice" + std::to_string(k));
                QCOMPARE(maxDifference(*src, k, fixtures::readAll(ref + ".ref.raw"), 0), 0);
            }
        }
        const DicomSource ct(dicom("dicomdir"), uidOf["CT"]);
        QCOMPARE(ct.info().sliceCount, 1);
        // Named by its own folder, which opens the same series again.
        QVERIFY2(ct.info().path.rfind(dicom("dicomdir/PT"), 0) == 0 &&
                     ct.info().path.find("SE000000") != std::string::npos,
                 ct.info().path.c_str());
        QCOMPARE(maxDifference(*openImage(ct.info().path), 0,
                               fixtures::readAll(dicom("CT_small.dcm.ref.raw")), 0),
                 0);
        QCOMPARE(ct.info().grayMapping.unit, std::string("HU"));
        QCOMPARE(maxDifference(ct, 0, fixtures::readAll(dicom("CT_small.dcm.ref.raw")), 0), 0);
        QVERIFY2(
            ct.info().property("dicom.series.2").value_or("").find("(shown)") != std::string::npos,
            ct.info().property("dicom.series.2").value_or("").c_str());
        const DicomSource rgb(dicom("dicomdir/DICOMDIR"), uidOf["OT"]);
        QCOMPARE(rgb.info().pixelFormat, PixelFormat::Rgba8);
        QCOMPARE(maxDifference(rgb, 0, fixtures::readAll(dicom("SC_rgb_rle.dcm.ref.raw")), 0), 0);
        try {
            DicomSource(dicom("dicomdir"), std::string("1.2.3.4"));
            QFAIL("an unknown series opened");
        } catch (const ImageError& e) {
            QVERIFY2(std::string(e.what()).find("no series 1.2.3.4") != std::string::npos,
                     e.what());
        }
    }

    // A DICOMDIR record naming ..\..\.. is not followed: that series is missing, and said so.
    void dicomdirStaysInsideItsFolder() {
        const auto src = openImage(dicom("dicomdir_escape"));
        QCOMPARE(src->info().property("dicom.series_count").value_or(""), std::string("2"));
        const std::string skipped = src->info().property("dicom.skipped_files").value_or("");
        QVERIFY2(skipped.find("leaves the file-set's folder") != std::string::npos,
                 skipped.c_str());
        QCOMPARE(int(DicomSource::listSeries(dicom("dicomdir_escape")).size()), 2);
    }

    // A DICOMDIR whose files are not there (left behind by a copy): the folder is searched.
    void staleDicomdirFallsBackToTheFolder() {
        QTemporaryDir tmp;
        const std::filesystem::path dir = tmp.path().toStdString();
        std::filesystem::copy_file(dicom("dicomdir/DICOMDIR"), dir / "DICOMDIR");
        std::filesystem::create_directories(dir / "sub");
        std::filesystem::copy_file(dicom("MR_small.dcm"), dir / "sub" / "mr.dcm");
        const auto src = openImage(dir.string());
        QCOMPARE(src->info().sliceCount, 1);
        QCOMPARE(src->info().property("dicom.series_source").value_or(""),
                 std::string("files in the folder and its subfolders"));
        const std::string skipped = src->info().property("dicom.skipped_files").value_or("");
        QVERIFY2(skipped.find("DICOMDIR (its files hold no readable image") != std::string::npos,
                 skipped.c_str());
        QCOMPARE(maxDifference(*src, 0, fixtures::readAll(dicom("MR_small.dcm.ref.raw")), 0), 0);
    }

    // No DICOMDIR: the series' files sit two levels down (scan/part0, scan/part1), a CT beside.
    void subfoldersAreSearched() {
        const auto src = openImage(dicom("nested"));
        const ImageInfo& info = src->info();
        QCOMPARE(info.sliceCount, 6);
        QCOMPARE(info.property("dicom.series_count").value_or(""), std::string("2"));
        QCOMPARE(info.property("dicom.slice_order").value_or(""),
                 std::string("position along the slice normal"));
        for (int k = 0; k < 6; ++k) {
            const std::string ref = dicom("series_ref/slice" + std::to_string(k));
            QCOMPARE(maxDifference(*src, k, fixtures::readAll(ref + ".ref.raw"), 0), 0);
        }
        const auto series = DicomSource::listSeries(dicom("nested"));
        QCOMPARE(int(series.size()), 2);
        QCOMPARE(series[1].modality, std::string("CT"));
        const DicomSource ct(dicom("nested"), series[1].uid);
        QCOMPARE(maxDifference(ct, 0, fixtures::readAll(dicom("CT_small.dcm.ref.raw")), 0), 0);
    }

    void mrInfoFromFile() {
        const auto src = openImage(dicom("MR_small.dcm"));
        const ImageInfo& info = src->info();
        QCOMPARE(info.format, std::string("DICOM (MR, Little Endian Explicit)"));
        QCOMPARE(info.property("dicom.Modality").value_or(""), std::string("MR"));
        QCOMPARE(info.property("dicom.PatientName").value_or(""),
                 std::string("CompressedSamples^MR1"));
        QCOMPARE(info.property("dicom.BitsStored").value_or(""), std::string("16"));
        QCOMPARE(info.property("dicom.SliceThickness").value_or(""), std::string("0.8000"));
        QVERIFY(info.property("dicom.TransferSyntax"));
        QCOMPARE(int(info.windows.size()), 2);
        QCOMPARE(info.windows[0].name, std::string("File 1"));
        QCOMPARE(info.windows[0].centre, 600.0);
        QCOMPARE(info.windows[0].width, 1600.0);
        // pydicom: MR_small's values span 127..2145.
        QCOMPARE(info.windows[1].centre, (127.0 + 2145.0) / 2);
        QCOMPARE(info.windows[1].width, 2145.0 - 127.0);
        QCOMPARE(
            info.grayMapping.toValue(src->readRegion(0, {0, 0, 1, 1}, 0).grayAt(0, 0)),
            double(int(refGray(fixtures::readAll(dicom("MR_small.dcm.ref.raw")), 64, 64, 0, 0, 0)) -
                   32768));
    }

    void ctHasHounsfieldMapping() {
        const auto src = openImage(dicom("CT_small.dcm"));
        const ImageInfo& info = src->info();
        QCOMPARE(info.grayMapping.unit, std::string("HU"));
        QCOMPARE(info.grayMapping.slope, 1.0);
        QCOMPARE(info.grayMapping.intercept, -1024.0 - 32768.0);
        QCOMPARE(info.format, std::string("DICOM (CT, Little Endian Explicit)"));
        // Real value = pydicom's signed stored value - 1024, at every pixel.
        const auto raw = fixtures::readAll(dicom("CT_small.dcm.ref.raw"));
        const PixelBuffer px = src->readRegion(0, {0, 0, 128, 128}, 0);
        double lowest = 1e9;
        for (int y = 0; y < 128; ++y)
            for (int x = 0; x < 128; ++x) {
                const double hu = info.grayMapping.toValue(px.grayAt(x, y));
                QCOMPARE(hu, double(int(refGray(raw, 128, 128, 0, x, y)) - 32768 - 1024));
                lowest = std::min(lowest, hu);
            }
        QVERIFY(lowest < 0);  // air and the table below water: negative HU survive the shift
        QCOMPARE(info.windows.back().centre - info.windows.back().width / 2, lowest);
    }

    void jpeg12BitOpens() {
        // No independent 12-bit JPEG decoder here: size, format and the 12-bit range only.
        const auto src = openImage(dicom("JPGExtended.dcm"));
        QCOMPARE(src->info().width(), 256);
        QCOMPARE(src->info().height(), 1024);
        QCOMPARE(src->info().pixelFormat, PixelFormat::Gray16);
        const PixelBuffer px = src->readRegion(0, {0, 0, 256, 1024}, 0);
        int hi = 0;
        double sum = 0;
        for (int y = 0; y < 1024; ++y)
            for (int x = 0; x < 256; ++x) {
                hi = std::max<int>(hi, px.grayAt(x, y));
                sum += px.grayAt(x, y);
            }
        QVERIFY2(hi > 0 && hi <= 4095, qPrintable(QString::number(hi)));
        QVERIFY(sum / (256.0 * 1024) > 1.0);
    }

    void framesDiffer() {
        const auto mr = openImage(dicom("MR_small_3frame.dcm"));
        const PixelBuffer f0 = mr->readRegion(0, {0, 0, 64, 64}, 0);
        const PixelBuffer f2 = mr->readRegion(0, {0, 0, 64, 64}, 2);
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 64; ++x) QCOMPARE(int(f2.grayAt(x, y)) - f0.grayAt(x, y), 200);
        const auto rgb = openImage(dicom("SC_rgb_rle_2frame.dcm"));
        QVERIFY(rgb->readRegion(0, {0, 0, 100, 100}, 0).bytes !=
                rgb->readRegion(0, {0, 0, 100, 100}, 1).bytes);
    }

    void regionOutsideReadsZero() {
        const auto src = openImage(dicom("MR_small.dcm"));
        const PixelBuffer whole = src->readRegion(0, {0, 0, 64, 64}, 0);
        const PixelBuffer px = src->readRegion(0, {-2, 60, 8, 8}, 0);
        QCOMPARE(px.width, 8);
        QCOMPARE(px.grayAt(0, 0), std::uint16_t(0));
        QCOMPARE(px.grayAt(7, 7), std::uint16_t(0));  // below the image
        QCOMPARE(px.grayAt(2, 0), whole.grayAt(0, 60));
        QCOMPARE(px.grayAt(5, 3), whole.grayAt(3, 63));
        QVERIFY_THROWS_EXCEPTION(ImageError, src->readRegion(1, {0, 0, 4, 4}, 0));
        QVERIFY_THROWS_EXCEPTION(ImageError, src->readRegion(0, {0, 0, 4, 4}, 1));
        QVERIFY_THROWS_EXCEPTION(ImageError, src->readRegion(0, {0, 0, 4, 4}, -1));
    }

    void seriesSortedByPosition() {
        const auto src = openImage(dicom("series"));
        const ImageInfo& info = src->info();
        QCOMPARE(info.sliceCount, 6);
        QCOMPARE(info.width(), 64);
        QCOMPARE(info.pixelFormat, PixelFormat::Gray16);
        QVERIFY2(info.format.rfind("DICOM series", 0) == 0, info.format.c_str());
        QCOMPARE(info.property("dicom.slice_order").value_or(""),
                 std::string("position along the slice normal"));
        const std::string skipped = info.property("dicom.skipped_files").value_or("");
        QVERIFY2(skipped.find("junk.dcm") != std::string::npos, skipped.c_str());
        QVERIFY2(skipped.find("img") == std::string::npos, skipped.c_str());
        // Slice k was written as MR_small + k*100, under a shuffled name and reversed number.
        const PixelBuffer first = src->readRegion(0, {0, 0, 64, 64}, 0);
        for (int k = 0; k < 6; ++k) {
            const std::string ref = dicom("series_ref/slice" + std::to_string(k));
            QCOMPARE(maxDifference(*src, k, fixtures::readAll(ref + ".ref.raw"), 0), 0);
            const PixelBuffer px = src->readRegion(0, {0, 0, 64, 64}, k);
            QCOMPARE(int(px.grayAt(10, 20)) - first.grayAt(10, 20), 100 * k);
        }
        // Slice 3 carries its own window; the others the series' one.
        QCOMPARE(src->windowsForSlice(3).front().centre, 900.0);
        QCOMPARE(src->windowsForSlice(2).front().centre, 600.0);
        QCOMPARE(src->windowsForSlice(0).back().centre, info.windows.back().centre);
        QCOMPARE(src->windowsForSlice(5).back().centre - info.windows.back().centre, 500.0);
    }

    void concurrentReadsAgree() {
        const auto src = openImage(dicom("series"));
        std::vector<PixelBuffer> expected;
        {
            const auto other = openImage(dicom("series"));
            for (int k = 0; k < 6; ++k) expected.push_back(other->readRegion(0, {0, 0, 64, 64}, k));
        }
        std::atomic<int> mismatches{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < 30; ++i) {
                    const int k = (t + i) % 6;
                    if (src->readRegion(0, {0, 0, 64, 64}, k).bytes != expected[k].bytes)
                        ++mismatches;
                }
            });
        for (auto& th : threads) th.join();
        QCOMPARE(mismatches.load(), 0);
    }

    void brokenInputFailsWithReason_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("reason");
        QTest::newRow("truncated") << "MR_truncated.dcm"
                                   << "pixel data truncated: expected 8192 bytes, file has 8130";
        QTest::newRow("no pixels") << "rtplan.dcm"
                                   << "no pixel data";
        QTest::newRow("folder without DICOM") << "no_dicom"
                                              << "no_dicom";
    }
    void brokenInputFailsWithReason() {
        QFETCH(QString, file);
        QFETCH(QString, reason);
        const std::string error = errorOf(dicom(file.toStdString()));
        QVERIFY2(error.find(file.toStdString()) != std::string::npos, error.c_str());
        QVERIFY2(error.find(reason.toStdString()) != std::string::npos, error.c_str());
    }

    // Files damaged here, byte by byte, from good fixtures.
    void damagedCopiesFailAtOpen_data() {
        QTest::addColumn<QString>("source");
        QTest::addColumn<int>("keepBytes");  // truncate to this many; 0 = keep all
        QTest::addColumn<int>("rows");       // patch Rows to this; -1 = leave
        QTest::addColumn<int>("garble");     // overwrite this many bytes inside the first fragment
        QTest::addColumn<QString>("reason");
        QTest::newRow("JPEG-LS cut") << "MR_small_jpeg_ls_lossless.dcm" << 4000 << -1 << 0
                                     << "pixel data truncated: the file ends inside";
        QTest::newRow("RLE cut") << "MR_small_RLE.dcm" << 3000 << -1 << 0
                                 << "pixel data truncated: the file ends inside";
        QTest::newRow("zero rows") << "MR_small.dcm" << 0 << 0 << 0 << "absurd dimensions";
        QTest::newRow("rows beyond data")
            << "MR_small.dcm" << 0 << 4096 << 0 << "pixel data truncated: expected 524288 bytes";
        QTest::newRow("JPEG-LS garbled") << "MR_small_jpeg_ls_lossless.dcm" << 0 << -1 << 400
                                         << "cannot decode frame 0 (JPEG-LS Lossless)";
        QTest::newRow("RLE garbled")
            << "MR_small_RLE.dcm" << 0 << -1 << 1500 << "cannot decode RLE frame 0: segment 0";
        QTest::newRow("JPEG 2000 cut") << "MR_small_jp2klossless.dcm" << 3000 << -1 << 0
                                       << "pixel data truncated: the file ends inside";
        QTest::newRow("JPEG 2000 rows differ")
            << "MR_small_jp2klossless.dcm" << 0 << 32 << 0
            << "cannot decode JPEG 2000 frame 0: the codestream is 64x64, 1 component; the "
               "DICOM header says 64x32, 1 sample per pixel";
        // DCMTK would pad (or crop) the JPEG codestreams to the header's size without a word.
        QTest::newRow("JPEG rows differ")
            << "JPGExtended.dcm" << 0 << 2048 << 0
            << "cannot decode frame 0 (JPEG Extended, Process 2+4): the codestream is 256x1024, "
               "1 component; the DICOM header says 256x2048, 1 sample per pixel";
        QTest::newRow("JPEG-LS rows differ")
            << "MR_small_jpeg_ls_lossless.dcm" << 0 << 32 << 0
            << "cannot decode frame 0 (JPEG-LS Lossless): the codestream is 64x64, 1 component; "
               "the DICOM header says 64x32";
        QTest::newRow("RLE rows beyond data")
            << "MR_small_RLE.dcm" << 0 << 60000 << 0 << "which expand to at most";
    }
    void damagedCopiesFailAtOpen() {
        QFETCH(QString, source);
        QFETCH(int, keepBytes);
        QFETCH(int, rows);
        QFETCH(int, garble);
        QFETCH(QString, reason);
        auto bytes = fixtures::readAll(dicom(source.toStdString()));
        if (keepBytes > 0) bytes.resize(std::size_t(keepBytes));
        if (rows >= 0) {  // Explicit VR LE: (0028,0010) US, length 2
            const char tag[] = {0x28, 0x00, 0x10, 0x00, 'U', 'S', 0x02, 0x00};
            auto it = std::search(bytes.begin(), bytes.end(), tag, tag + 8);
            QVERIFY(it != bytes.end());
            it[8] = char(rows & 0xFF);
            it[9] = char(rows >> 8);
        }
        if (garble > 0) {  // keep the item structure, spoil the compressed stream
            const char pixelTag[] = {char(0xE0), 0x7F, 0x10, 0x00};
            const char itemTag[] = {char(0xFE), char(0xFF), 0x00, char(0xE0)};
            auto it = std::search(bytes.begin(), bytes.end(), pixelTag, pixelTag + 4);
            for (int item = 0; item < 2 && it != bytes.end(); ++item)  // offset table, fragment
                it = std::search(it + 4, bytes.end(), itemTag, itemTag + 4);
            QVERIFY(bytes.end() - it > 8 + 100 + garble);
            std::fill(it + 8 + 100, it + 8 + 100 + garble, char(0x5A));
        }
        QTemporaryDir tmp;
        const std::string path = (tmp.path() + "/damaged.dcm").toStdString();
        std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
        const std::string error = errorOf(path);
        QVERIFY2(error.find("damaged.dcm") != std::string::npos, error.c_str());
        QVERIFY2(error.find(reason.toStdString()) != std::string::npos, error.c_str());
    }
};

QTEST_APPLESS_MAIN(DicomSourceTest)
#include "dicom_source_test.moc"
