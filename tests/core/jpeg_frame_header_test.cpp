// JpegFrameHeader: the SOF of JPEG and JPEG-LS codestreams built here marker by marker (sizes,
// components, sampling, coding), every way a damaged stream is refused, and the fewest bits a
// codestream can spend on a frame. Real files' headers against DCMTK's decoding are checked in
// dicom_source_test (damagedCopiesFailAtOpen) and bad_input_test (fuzzed inputs).
#include "image/JpegFrameHeader.h"

#include <QTest>

#include <string>
#include <vector>

using namespace lucida;

namespace {

using Bytes = std::vector<std::uint8_t>;

void segment(Bytes& out, std::uint8_t marker, const Bytes& body) {
    const std::size_t length = body.size() + 2;
    out.insert(out.end(), {0xFF, marker, std::uint8_t(length >> 8), std::uint8_t(length & 0xFF)});
    out.insert(out.end(), body.begin(), body.end());
}

// SOI, an APP0 and a DQT-like segment, then SOF `marker` of width x height with the components'
// sampling bytes (0xHV), then a scan header and EOI.
Bytes codestream(std::uint8_t marker, int width, int height, const Bytes& sampling) {
    Bytes out = {0xFF, 0xD8};
    segment(out, 0xE0, {'J', 'F', 'I', 'F', 0});
    segment(out, 0xDB, Bytes(65, 0));
    Bytes sof = {8,
                 std::uint8_t(height >> 8),
                 std::uint8_t(height),
                 std::uint8_t(width >> 8),
                 std::uint8_t(width),
                 std::uint8_t(sampling.size())};
    for (std::size_t c = 0; c < sampling.size(); ++c)
        sof.insert(sof.end(), {std::uint8_t(c + 1), sampling[c], 0});
    segment(out, marker, sof);
    segment(out, 0xDA, {1, 1, 0, 0, 63, 0});
    out.insert(out.end(), {0x12, 0x34, 0xFF, 0xD9});
    return out;
}

std::string errorOf(const Bytes& b) {
    try {
        readJpegFrameHeader(b.data(), b.size());
    } catch (const JpegError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

class JpegFrameHeaderTest : public QObject {
    Q_OBJECT
private slots:
    void readsTheFrameHeader_data() {
        QTest::addColumn<int>("marker");
        QTest::addColumn<int>("coding");
        QTest::addColumn<bool>("arithmetic");
        QTest::newRow("baseline") << 0xC0 << int(JpegFrameHeader::Coding::Dct) << false;
        QTest::newRow("extended") << 0xC1 << int(JpegFrameHeader::Coding::Dct) << false;
        QTest::newRow("progressive") << 0xC2 << int(JpegFrameHeader::Coding::Dct) << false;
        QTest::newRow("lossless") << 0xC3 << int(JpegFrameHeader::Coding::Lossless) << false;
        QTest::newRow("arithmetic") << 0xC9 << int(JpegFrameHeader::Coding::Dct) << true;
        QTest::newRow("JPEG-LS") << 0xF7 << int(JpegFrameHeader::Coding::JpegLs) << false;
    }
    void readsTheFrameHeader() {
        QFETCH(int, marker);
        QFETCH(int, coding);
        QFETCH(bool, arithmetic);
        const Bytes b = codestream(std::uint8_t(marker), 640, 480, {0x22, 0x11, 0x11});
        const JpegFrameHeader h = readJpegFrameHeader(b.data(), b.size());
        QCOMPARE(h.width, 640);
        QCOMPARE(h.height, 480);
        QCOMPARE(h.components, 3);
        QCOMPARE(h.precision, 8);
        QCOMPARE(int(h.coding), coding);
        QCOMPARE(h.arithmetic, arithmetic);
        QCOMPARE(h.maxH, 2);
        QCOMPARE(h.maxV, 2);
    }

    // DHT (C4), JPG (C8) and DAC (CC) share the SOF range but are not frame headers; fill bytes
    // and standalone markers (RSTn) before the frame header are skipped.
    void skipsMarkersThatAreNotFrameHeaders() {
        Bytes b = {0xFF, 0xD8, 0xFF, 0xFF, 0xD0};
        segment(b, 0xC4, Bytes(20, 0));
        segment(b, 0xCC, {0, 0});
        const Bytes rest = codestream(0xC0, 100, 50, {0x11});
        b.insert(b.end(), rest.begin() + 2, rest.end());
        const JpegFrameHeader h = readJpegFrameHeader(b.data(), b.size());
        QCOMPARE(h.width, 100);
        QCOMPARE(h.height, 50);
        QCOMPARE(h.components, 1);
    }

    void damagedStreamsAreRefused_data() {
        QTest::addColumn<QByteArray>("data");
        QTest::addColumn<QString>("message");
        auto qb = [](const Bytes& b) {
            return QByteArray(reinterpret_cast<const char*>(b.data()), qsizetype(b.size()));
        };
        const Bytes good = codestream(0xC0, 64, 64, {0x11});
        QTest::newRow("no SOI") << qb(Bytes(good.begin() + 2, good.end()))
                                << "does not start with a JPEG start-of-image marker";
        Bytes scanFirst = {0xFF, 0xD8};
        segment(scanFirst, 0xDA, {1, 1, 0, 0, 63, 0});
        QTest::newRow("scan first") << qb(scanFirst) << "a scan starts before any frame header";
        Bytes cut = {0xFF, 0xD8};
        segment(cut, 0xE0, Bytes(100, 0));
        cut.resize(50);
        QTest::newRow("segment past end") << qb(cut) << "of 102 bytes runs past the end";
        QTest::newRow("no frame header")
            << qb(Bytes{0xFF, 0xD8, 0xFF, 0xD9}) << "ends before a frame header";
        Bytes zeroWidth = codestream(0xC0, 0, 64, {0x11});
        QTest::newRow("zero width") << qb(zeroWidth) << "declares an empty image";
        Bytes fewComponents = {0xFF, 0xD8};
        segment(fewComponents, 0xC0, {8, 0, 64, 0, 64, 3, 1, 0x11, 0});
        QTest::newRow("components past the segment")
            << qb(fewComponents) << "lists 3 components in 11 bytes";
    }
    void damagedStreamsAreRefused() {
        QFETCH(QByteArray, data);
        QFETCH(QString, message);
        const Bytes b(data.begin(), data.end());
        const std::string e = errorOf(b);
        QVERIFY2(e.find(message.toStdString()) != std::string::npos, e.c_str());
    }

    // A DCT frame spends at least one bit per MCU (16x16 pixels at 2x2 sampling), a lossless one
    // per sample, a JPEG-LS one per line; a DNL-defined height (0) takes the DICOM rows.
    void minimumBits() {
        JpegFrameHeader h;
        h.width = 1000, h.height = 500, h.components = 3, h.maxH = 2, h.maxV = 2;
        QCOMPARE(jpegMinimumBits(h, 500), std::uint64_t(63 * 32));
        h.maxH = h.maxV = 1;
        QCOMPARE(jpegMinimumBits(h, 500), std::uint64_t(125 * 63));
        h.height = 0;
        QCOMPARE(jpegMinimumBits(h, 16), std::uint64_t(125 * 2));
        h.height = 500;
        h.coding = JpegFrameHeader::Coding::Lossless;
        QCOMPARE(jpegMinimumBits(h, 500), std::uint64_t(500000));
        h.coding = JpegFrameHeader::Coding::JpegLs;
        QCOMPARE(jpegMinimumBits(h, 500), std::uint64_t(500));
        h.coding = JpegFrameHeader::Coding::Dct;
        h.arithmetic = true;
        QCOMPARE(jpegMinimumBits(h, 500), std::uint64_t(0));
    }
};

QTEST_APPLESS_MAIN(JpegFrameHeaderTest)
#include "jpeg_frame_header_test.moc"
