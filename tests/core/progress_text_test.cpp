// The shared progress wording: clock readings, durations in words, rates, ETA and the one-line
// progress every CLI command prints.
#include <QtTest>

#include "util/ProgressText.h"

#include <cmath>
#include <limits>

using namespace lucida;

class ProgressTextTest : public QObject {
    Q_OBJECT

private slots:
    void clock() {
        QCOMPARE(clockText(0), std::string("0:00"));
        QCOMPARE(clockText(42.4), std::string("0:42"));
        QCOMPARE(clockText(59.6), std::string("1:00"));
        QCOMPARE(clockText(725), std::string("12:05"));
        QCOMPARE(clockText(3723), std::string("1:02:03"));
        QCOMPARE(clockText(-1), std::string("\u2013"));
        QCOMPARE(clockText(std::nan("")), std::string("\u2013"));
        QCOMPARE(clockText(std::numeric_limits<double>::infinity()), std::string("\u2013"));
    }

    void duration() {
        QCOMPARE(durationText(4.24), std::string("4.2 s"));
        QCOMPARE(durationText(42.4), std::string("42 s"));
        QCOMPARE(durationText(185), std::string("3 min 05 s"));
        QCOMPARE(durationText(3599.4), std::string("59 min 59 s"));
        QCOMPARE(durationText(3720), std::string("1 h 02 min"));
        QCOMPARE(durationText(3749), std::string("1 h 02 min"));
        QCOMPARE(durationText(3751), std::string("1 h 03 min"));
        QCOMPARE(durationText(-1), std::string("\u2013"));
    }

    void rateAndEta() {
        QCOMPARE(rateText(12.34, "images"), std::string("12.3 images/s"));
        QCOMPARE(rateText(std::nan(""), "patches"), std::string("0.0 patches/s"));
        QCOMPARE(secondsLeft(100, 4), 25.0);
        QVERIFY(std::isnan(secondsLeft(100, 0)));
        QVERIFY(std::isnan(secondsLeft(100, std::nan(""))));
    }

    void line() {
        QCOMPARE(progressText(12, 345, 12.34, "images", 185),
                 std::string("12/345  12.3 images/s  ETA 3 min 05 s"));
        QCOMPARE(progressText(0, 10, 0, "patches", secondsLeft(10, 0)),
                 std::string("0/10  0.0 patches/s  ETA \u2013"));
    }
};

QTEST_APPLESS_MAIN(ProgressTextTest)
#include "progress_text_test.moc"
