// DicomRle: the PackBits runs and segment layout of PS3.5 Annex G, and every way a damaged
// header or segment is refused. Pixel values of real RLE files (pydicom's MR, RGB 8/16-bit, RT
// dose) are compared with pydicom's own decoder in dicom_source_test.
#include "image/DicomRle.h"

#include <QTest>

#include <cstring>
#include <string>
#include <vector>

using lucida::decodeDicomRle;
using lucida::RleError;

namespace {

using Bytes = std::vector<std::uint8_t>;

// A frame: 64-byte header with the segments' offsets, then the segments.
Bytes frame(const std::vector<Bytes>& segments) {
    Bytes out(64, 0);
    auto put = [&](std::size_t at, std::uint32_t v) {
        for (int k = 0; k < 4; ++k) out[at + k] = std::uint8_t(v >> (8 * k));
    };
    put(0, std::uint32_t(segments.size()));
    for (std::size_t s = 0; s < segments.size(); ++s) {
        put(4 + 4 * s, std::uint32_t(out.size()));
        out.insert(out.end(), segments[s].begin(), segments[s].end());
    }
    return out;
}

std::string errorOf(const Bytes& data, int rows, int cols, int samples, int bytes) {
    try {
        decodeDicomRle(data.data(), data.size(), rows, cols, samples, bytes);
    } catch (const RleError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

class DicomRleTest : public QObject {
    Q_OBJECT
private slots:
    void literalRepeatAndNoOpRuns() {
        // 2 literal bytes, -128 (no-op), 3 repeats of 9, then 1 literal: 6 pixels.
        const Bytes seg = {0x01, 5, 6, 0x80, 0xFE, 9, 0x00, 7};
        const Bytes out = decodeDicomRle(frame({seg}).data(), frame({seg}).size(), 2, 3, 1, 1);
        QCOMPARE(out, (Bytes{5, 6, 9, 9, 9, 7}));
    }

    void sixteenBitSamplesAreLittleEndianMostSignificantSegmentFirst() {
        // Samples 0x0102, 0x0304: segment 0 holds the high bytes, segment 1 the low ones.
        const Bytes hi = {0x01, 0x01, 0x03}, lo = {0x01, 0x02, 0x04};
        const Bytes f = frame({hi, lo});
        QCOMPARE(decodeDicomRle(f.data(), f.size(), 1, 2, 1, 2), (Bytes{0x02, 0x01, 0x04, 0x03}));
    }

    void colourIsByPlane() {
        const Bytes r = {0xFF, 10}, g = {0xFF, 20}, b = {0xFF, 30};  // two pixels each
        const Bytes f = frame({r, g, b});
        QCOMPARE(decodeDicomRle(f.data(), f.size(), 1, 2, 3, 1), (Bytes{10, 10, 20, 20, 30, 30}));
    }

    void paddingAfterTheFrameIsIgnored() {
        const Bytes seg = {0xFD, 4, 0x00};  // 4 pixels of 4, then a pad byte's literal header
        const Bytes f = frame({seg});
        QCOMPARE(decodeDicomRle(f.data(), f.size(), 2, 2, 1, 1), (Bytes{4, 4, 4, 4}));
    }

    // Two bytes repeat one at most 128 times: a frame one pixel larger than its segments can
    // expand to is refused before it is allocated, with the numbers.
    void segmentsTooShortForTheFrameAreRefusedUpFront() {
        const Bytes f = frame({{0x81, 7}});  // 128 repeats of 7
        QCOMPARE(decodeDicomRle(f.data(), f.size(), 1, 128, 1, 1), Bytes(128, 7));
        QCOMPARE(QString::fromStdString(errorOf(f, 1, 129, 1, 1)),
                 QString("segment 0 holds 2 bytes, which expand to at most 128, the frame needs "
                         "129"));
        QVERIFY(errorOf(f, 16000, 16000, 1, 1).find("expand to at most 128") != std::string::npos);
    }

    void damagedFramesAreRefused_data() {
        QTest::addColumn<QByteArray>("data");
        QTest::addColumn<int>("samples");
        QTest::addColumn<QString>("message");
        auto qb = [](const Bytes& b) {
            return QByteArray(reinterpret_cast<const char*>(b.data()), qsizetype(b.size()));
        };
        QTest::newRow("short header") << qb(Bytes(40, 0)) << 1 << "shorter than the 64-byte";
        QTest::newRow("segment count")
            << qb(frame({{0xFD, 1}, {0xFD, 1}})) << 1 << "header names 2 segments";
        Bytes past = frame({{0xFD, 1}});
        past[4] = 0x00, past[5] = 0x00, past[6] = 0x0D;  // offset 851968
        QTest::newRow("offset past fragment")
            << qb(past) << 1 << "segment 0 starts at byte 851968, outside 64..66";
        Bytes backwards = frame({{0xFD, 1}, {0xFD, 2}});
        backwards[8] = 10;  // segment 1 before segment 0 and inside the header
        QTest::newRow("offsets out of order")
            << qb(backwards) << 2 << "segment 1 starts at byte 10";
        QTest::newRow("literal past end")
            << qb(frame({{0x05, 1, 2}})) << 1 << "literal run goes past";
        QTest::newRow("repeat without byte") << qb(frame({{0xFD}})) << 1 << "no byte to repeat";
        QTest::newRow("too short") << qb(frame({{0xFE, 1}})) << 1 << "decodes to 3 bytes";
    }
    void damagedFramesAreRefused() {
        QFETCH(QByteArray, data);
        QFETCH(int, samples);
        QFETCH(QString, message);
        const Bytes bytes(data.begin(), data.end());
        const std::string e = errorOf(bytes, 2, 2, samples, 1);
        QVERIFY2(e.find(message.toStdString()) != std::string::npos, e.c_str());
    }
};

QTEST_APPLESS_MAIN(DicomRleTest)
#include "dicom_rle_test.moc"
