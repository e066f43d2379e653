// Bookmark files: a round trip keeps every value exactly (read back by our reader and by Qt's own
// JSON parser, independent of nlohmann), and hostile files are refused naming the file and why.
#include "bookmarks/Bookmark.h"
#include "image/FileError.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <string>

using namespace lucida;

namespace {

std::vector<Bookmark> sample() {
    Bookmark plain;
    plain.name = "Whole slide";
    plain.centreX = 4096;
    plain.centreY = 3072;
    plain.scale = 0.1 + 0.2;  // not a short decimal: must survive exactly
    Bookmark turned;
    turned.name = "Tumour edge — ✓ “quoted”";
    turned.centreX = 1.0 / 3.0;
    turned.centreY = 12345.678901234567;
    turned.scale = 2.5e-3;
    turned.quarterTurns = 3;
    turned.slice = 17;
    turned.window = BookmarkWindow{40.5, 400.25};
    BookmarkHeat heat;
    heat.shown = false;
    heat.outlineShown = true;
    heat.layer = "probability";
    heat.method = "gradcampp";
    heat.classIndex = 2;
    heat.colourMap = "viridis";
    heat.normalisation = "patch";
    heat.opacity = 0.35;
    heat.threshold = 0.7;
    turned.heat = heat;
    return {plain, turned};
}

// What a hostile file says, for the refusal tests: the FileError's reason, or "" when accepted.
QString refusal(const std::string& text) {
    try {
        bookmarksFromJson(text, "/data/x.bookmarks.json");
        return {};
    } catch (const FileError& e) {
        if (e.path() != "/data/x.bookmarks.json") return "wrong path: " + QString(e.what());
        return QString::fromStdString(e.reason());
    }
}

std::string valid(const std::string& bookmarkFields) {
    return R"({"format": "lucida-bookmarks", "version": 1, "bookmarks": [{"name": "a",
        "centre": [1, 2], "scale": 0.5, "quarterTurns": 0, "slice": 0)" +
           bookmarkFields + "}]}";
}

}  // namespace

class BookmarksTest : public QObject {
    Q_OBJECT
private slots:
    void roundTripKeepsEveryValueExactly() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("slide.svs.bookmarks.json").toStdString();
        const auto written = sample();
        writeBookmarksFile(path, written);
        QVERIFY(readBookmarksFile(path) == written);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 1);  // no temporary left beside it

        // An independent parser reads the same values.
        QFile f(QString::fromStdString(path));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject root = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(root["format"].toString(), QString("lucida-bookmarks"));
        const QJsonArray list = root["bookmarks"].toArray();
        QCOMPARE(list.size(), 2);
        const QJsonObject second = list[1].toObject();
        QCOMPARE(second["name"].toString(), QString::fromUtf8("Tumour edge — ✓ “quoted”"));
        QCOMPARE(second["centre"].toArray()[0].toDouble(), 1.0 / 3.0);
        QCOMPARE(second["centre"].toArray()[1].toDouble(), 12345.678901234567);
        QCOMPARE(list[0].toObject()["scale"].toDouble(), 0.1 + 0.2);
        QCOMPARE(second["quarterTurns"].toInt(), 3);
        QCOMPARE(second["slice"].toInt(), 17);
        QCOMPARE(second["window"].toObject()["width"].toDouble(), 400.25);
        QCOMPARE(second["heat"].toObject()["colourMap"].toString(), QString("viridis"));
        QCOMPARE(second["heat"].toObject()["opacity"].toDouble(), 0.35);
        QVERIFY(!list[0].toObject().contains("heat"));
    }

    void emptyListRoundTrips() { QVERIFY(bookmarksFromJson(bookmarksToJson({}), "x").empty()); }

    void missingFileIsAnErrorNamingIt() {
        try {
            readBookmarksFile("/nonexistent/dir/a.bookmarks.json");
            QFAIL("read a missing file");
        } catch (const FileError& e) {
            QCOMPARE(QString::fromStdString(e.path()),
                     QString("/nonexistent/dir/a.bookmarks.json"));
        }
    }

    void hostileFilesAreRefusedWithAReason_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("reason");
        QTest::newRow("not json") << QByteArray("{\"format\": ") << "not valid JSON";
        QTest::newRow("binary") << QByteArray("\x89PNG\r\n\x1a\n\0\0", 10) << "not valid JSON";
        QTest::newRow("other format")
            << QByteArray(R"({"format": "geojson"})") << "not a Lucida bookmark file";
        QTest::newRow("array root") << QByteArray("[1, 2]") << "not a Lucida bookmark file";
        QTest::newRow("newer")
            << QByteArray(R"({"format": "lucida-bookmarks", "version": 9, "bookmarks": []})")
            << "newer than this Lucida reads";
        QTest::newRow("list not list")
            << QByteArray(R"({"format": "lucida-bookmarks", "version": 1, "bookmarks": {}})")
            << "not a list";
        QTest::newRow("no centre")
            << QByteArray(R"({"format": "lucida-bookmarks", "version": 1, "bookmarks": [
                {"name": "a", "scale": 1, "quarterTurns": 0, "slice": 0}]})")
            << "bookmark 1: \"centre\" is missing";
        QTest::newRow("centre text")
            << QByteArray(R"({"format": "lucida-bookmarks", "version": 1, "bookmarks": [
                {"name": "a", "centre": ["x", 1], "scale": 1, "quarterTurns": 0, "slice": 0}]})")
            << "\"centre\" is not [x, y]";
        QTest::newRow("zero scale")
            << QByteArray(R"({"format": "lucida-bookmarks", "version": 1, "bookmarks": [
                {"name": "a", "centre": [1, 1], "scale": 0, "quarterTurns": 0, "slice": 0}]})")
            << "\"scale\" is out of range";
        QTest::newRow("huge centre")
            << QByteArray(R"({"format": "lucida-bookmarks", "version": 1, "bookmarks": [
                {"name": "a", "centre": [1e300, 1], "scale": 1, "quarterTurns": 0, "slice": 0}]})")
            << "\"centre\" is out of range";
        QTest::newRow("turns") << QByteArray::fromStdString(
                                      valid("").replace(valid("").find("\"quarterTurns\": 0"), 17,
                                                        "\"quarterTurns\": 7"))
                               << "\"quarterTurns\" is out of range";
        QTest::newRow("fractional slice")
            << QByteArray::fromStdString(
                   valid("").replace(valid("").find("\"slice\": 0"), 10, "\"slice\": 1.5"))
            << "\"slice\" is not an integer";
        QTest::newRow("window width")
            << QByteArray::fromStdString(valid(R"(, "window": {"centre": 40, "width": -3})"))
            << "\"width\" is out of range";
        QTest::newRow("colour map")
            << QByteArray::fromStdString(valid(
                   R"(, "heat": {"shown": true, "outlineShown": false, "layer": "cam",
                   "method": "gradcam", "classIndex": 0, "colourMap": "rainbow",
                   "normalisation": "slide", "opacity": 0.5, "threshold": 0.2})"))
            << "unknown colour map";
        QTest::newRow("opacity")
            << QByteArray::fromStdString(valid(
                   R"(, "heat": {"shown": true, "outlineShown": false, "layer": "cam",
                   "method": "gradcam", "classIndex": 0, "colourMap": "jet",
                   "normalisation": "slide", "opacity": 2, "threshold": 0.2})"))
            << "\"opacity\" is out of range";
        QTest::newRow("layer")
            << QByteArray::fromStdString(valid(
                   R"(, "heat": {"shown": true, "outlineShown": false, "layer": "rm -rf",
                   "method": "gradcam", "classIndex": 0, "colourMap": "jet",
                   "normalisation": "slide", "opacity": 0.5, "threshold": 0.2})"))
            << "\"layer\" is not a known value";
        QTest::newRow("long name")
            << QByteArray::fromStdString(R"({"format": "lucida-bookmarks", "version": 1,
                "bookmarks": [{"name": ")" +
                                         std::string(kMaxBookmarkNameBytes + 1, 'n') +
                                         R"(", "centre": [1, 1], "scale": 1, "quarterTurns": 0,
                "slice": 0}]})")
            << "\"name\" is too long";
        QTest::newRow("empty name")
            << QByteArray::fromStdString(
                   R"({"format": "lucida-bookmarks", "version": 1, "bookmarks": [{"name": "",
                "centre": [1, 1], "scale": 1, "quarterTurns": 0, "slice": 0}]})")
            << "\"name\" is empty";
        QTest::newRow("deep") << QByteArray(100000, '[') + QByteArray(100000, ']')
                              << "nested deeper";
        QTest::newRow("deep objects")
            << QByteArray(
                   R"({"format": "lucida-bookmarks", "a": {"b": {"c": {"d": {"e": {"f": {}}}}}}})")
            << "nested deeper";
    }

    void hostileFilesAreRefusedWithAReason() {
        QFETCH(QByteArray, text);
        QFETCH(QString, reason);
        const QString said = refusal(text.toStdString());
        QVERIFY2(said.contains(reason), qPrintable("said: " + said));
    }

    void tooManyBookmarksAreRefused() {
        Bookmark b;
        b.name = "b";
        const std::vector<Bookmark> many(kMaxBookmarks + 1, b);
        QVERIFY(refusal(bookmarksToJson(many)).contains("more than 1000 bookmarks"));
        const std::vector<Bookmark> most(kMaxBookmarks, b);
        QCOMPARE(bookmarksFromJson(bookmarksToJson(most), "x").size(), kMaxBookmarks);
    }

    // A huge file is refused by its size before it is parsed, and a file cut off at the limit
    // (read from disk) is refused too, never parsed as its first MiB.
    void hugeFilesAreRefusedBySize() {
        const std::string big(kMaxBookmarkFileBytes + 10, ' ');
        QVERIFY(refusal(big).contains("too large for a bookmark file"));
        QTemporaryDir dir;
        const QString path = dir.filePath("big.bookmarks.json");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray::fromStdString(bookmarksToJson({})));
        f.write(QByteArray(qint64(kMaxBookmarkFileBytes) * 3, ' '));
        f.close();
        try {
            readBookmarksFile(path.toStdString());
            QFAIL("read a 3 MiB bookmark file");
        } catch (const FileError& e) {
            QVERIFY(QString(e.what()).contains("too large"));
        }
    }
};

QTEST_GUILESS_MAIN(BookmarksTest)
#include "bookmarks_test.moc"
