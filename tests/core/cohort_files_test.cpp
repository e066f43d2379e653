// Cohort lists as users hand them over: CSV manifests (quoting, headers, BOM, CRLF, comments,
// relative paths) and project files (JSON); hostile or broken ones are refused with the file (and
// line) and the reason, within bounded size, line length and image count.
#include "cohort/Cohort.h"
#include "cohort/ImageSettings.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <string>

using namespace lucida;

class CohortFilesTest : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;

    std::string write(const QString& name, const QByteArray& bytes) {
        QFile f(tmp_.filePath(name));
        if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size()) return {};
        return f.fileName().toStdString();
    }
    std::string at(const char* name) const { return tmp_.filePath(name).toStdString(); }

    // The message of the CohortError `read` throws ("" when it throws none).
    template <typename F>
    static QString errorOf(F read) {
        try {
            read();
        } catch (const CohortError& e) {
            return QString::fromStdString(e.what());
        }
        return {};
    }

private slots:
    void manifestQuotingAndHeader() {
        const auto path = write("m.csv",
                                "\xEF\xBB\xBFpath,label,group\r\n"
                                "# a comment line\r\n"
                                "\r\n"
                                "a.tiff,1,site A\r\n"
                                "\"b, with comma.tiff\",\"0\",\"say \"\"hi\"\"\"\r\n"
                                "  c.svs  ,  tumour ,\r\n"
                                "/abs/d.ndpi\n"
                                "sub/../e.tiff,,g\n");
        const auto images = readManifestCsv(path);
        QCOMPARE(images.size(), std::size_t(5));
        QCOMPARE(images[0].path, at("a.tiff"));
        QCOMPARE(images[0].label, std::string("1"));
        QCOMPARE(images[0].group, std::string("site A"));
        QCOMPARE(images[1].path, at("b, with comma.tiff"));
        QCOMPARE(images[1].group, std::string("say \"hi\""));
        QCOMPARE(images[2].path, at("c.svs"));
        QCOMPARE(images[2].label, std::string("tumour"));
        QCOMPARE(images[2].group, std::string());
        QCOMPARE(images[3].path, std::string("/abs/d.ndpi"));
        QCOMPARE(images[3].label, std::string());
        QCOMPARE(images[4].path, at("e.tiff"));
        QCOMPARE(images[4].group, std::string("g"));
        // readCohort picks the CSV reader for a non-JSON file.
        QCOMPARE(readCohort(path).size(), std::size_t(5));
    }

    void manifestBadRowsNameTheLine() {
        const auto four = write("four.csv", "path\na.tiff,1,g\nb.tiff,1,g,extra\n");
        QCOMPARE(
            errorOf([&] { readManifestCsv(four); }),
            QString::fromStdString(four + ":3: 4 columns; a manifest has path[,label[,group]]"));
        const auto open = write("open.csv", "a.tiff\n\"b.tiff,1\n");
        QCOMPARE(errorOf([&] { readManifestCsv(open); }),
                 QString::fromStdString(open + ":2: a quoted field is not closed"));
        const auto noPath = write("nopath.csv", "a.tiff\n,1,g\n");
        QCOMPARE(errorOf([&] { readManifestCsv(noPath); }),
                 QString::fromStdString(noPath + ":2: no image path"));
        const auto nul = write("nul.csv", QByteArray("a.tiff\nb\0.tiff\n", 15));
        QCOMPARE(errorOf([&] { readManifestCsv(nul); }),
                 QString::fromStdString(nul + ":2: not text (a NUL byte)"));
        const auto empty = write("empty.csv", "path,label,group\n# nothing\n");
        QCOMPARE(errorOf([&] { readManifestCsv(empty); }),
                 QString::fromStdString(empty + ": lists no images"));
        QVERIFY(errorOf([&] {
                    readManifestCsv(at("none.csv"));
                }).startsWith(QString::fromStdString(at("none.csv") + ": cannot read")));
    }

    // Size, line length and image count are bounded before anything grows with them.
    void manifestLimits() {
        CohortLimits limits;
        limits.maxFileBytes = 1000;
        limits.maxLineBytes = 100;
        limits.maxImages = 3;
        const auto big = write("big.csv", QByteArray(2000, 'a'));
        QCOMPARE(errorOf([&] { readManifestCsv(big, limits); }),
                 QString::fromStdString(big + ": too large (2000 bytes; at most 1000)"));
        const auto longLine = write("long.csv", "a.tiff\n" + QByteArray(101, 'b') + "\n");
        QCOMPARE(errorOf([&] { readManifestCsv(longLine, limits); }),
                 QString::fromStdString(longLine + ":2: line longer than 100 bytes"));
        const auto many = write("many.csv", "a\nb\nc\nd\n");
        QCOMPARE(errorOf([&] { readManifestCsv(many, limits); }),
                 QString::fromStdString(many + ":4: more than 3 images"));
        // The default limits refuse a 17 MB manifest without reading it.
        QFile huge(tmp_.filePath("huge.csv"));
        QVERIFY(huge.open(QIODevice::WriteOnly));
        QVERIFY(huge.resize(17 << 20));
        huge.close();
        QVERIFY(errorOf([&] { readManifestCsv(at("huge.csv")); }).contains("too large"));
    }

    // A project written atomically reads back the same, with its results folder; Qt's own JSON
    // parser reads what was written.
    void projectRoundTrip() {
        const std::vector<CohortImage> images = {{"/data/a.tiff", "1", "site A", {}},
                                                 {"/data/b “x”.svs", "tumour", "", {}}};
        const auto path = at("p.json");
        writeProjectFile(path, images, "/data/results");
        const CohortProject back = readProject(path);
        QCOMPARE(back.images.size(), images.size());
        for (std::size_t i = 0; i < images.size(); ++i) {
            QCOMPARE(back.images[i].path, images[i].path);
            QCOMPARE(back.images[i].label, images[i].label);
            QCOMPARE(back.images[i].group, images[i].group);
        }
        QCOMPARE(back.resultsDir, std::string("/data/results"));
        QFile f(tmp_.filePath("p.json"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(o["lucida_project"].toInt(), 1);
        QCOMPARE(o["images"].toArray()[1].toObject()["path"].toString(),
                 QString::fromUtf8("/data/b “x”.svs"));
        // Without a results folder, none is written and none is read.
        writeProjectFile(path, images);
        QVERIFY(readProject(path).resultsDir.empty());
        // Relative paths (images and results) are relative to the project's folder; numbers as
        // labels are text.
        const auto rel = write("rel.json", R"({"images": [{"path": "x/a.tiff", "label": 1}],
                                               "results": "out"})");
        const CohortProject relative = readProject(rel);
        QCOMPARE(relative.images[0].path, at("x/a.tiff"));
        QCOMPARE(relative.images[0].label, std::string("1"));
        QCOMPARE(relative.resultsDir, at("out"));
        QCOMPARE(readCohort(rel).size(), std::size_t(1));
    }

    void projectErrorsNameTheFile() {
        const auto check = [this](const char* name, const QByteArray& text, const QString& want) {
            const auto path = write(name, text);
            const QString got = errorOf([&] { readProject(path); });
            QVERIFY2(got.startsWith(QString::fromStdString(path) + ": ") && got.contains(want),
                     qPrintable(got));
        };
        check("notjson.json", "{\"images\": [", "not JSON");
        check("array.json", "[1, 2]", "not a Lucida project (no \"images\" list)");
        check("noimages.json", "{\"images\": []}", "lists no images");
        check("entry.json", "{\"images\": [\"a.tiff\"]}", "image 1: not an object");
        check("nopath.json", "{\"images\": [{\"label\": \"1\"}]}", "image 1: no \"path\"");
        check("badlabel.json", "{\"images\": [{\"path\": \"a\", \"label\": [1]}]}",
              "image 1: \"label\" is not text");
        check("badresults.json", "{\"images\": [{\"path\": \"a\"}], \"results\": 3}",
              "\"results\" is not a folder name");
        // Deep nesting costs memory, not stack: refused as not a project, no crash.
        check("deep.json", QByteArray(200000, '[') + QByteArray(200000, ']'), "not a Lucida");
        CohortLimits limits;
        limits.maxFileBytes = 64;
        const auto big = write("big.json", "{\"images\": [" + QByteArray(100, ' ') + "]}");
        QCOMPARE(errorOf([&] { readProject(big, limits); }),
                 QString::fromStdString(big + ": too large (more than 64 bytes)"));
        limits = {};
        limits.maxImages = 2;
        const auto many = write(
            "many.json", "{\"images\": [{\"path\": \"a\"}, {\"path\": \"b\"}, {\"path\": \"c\"}]}");
        QCOMPARE(errorOf([&] { readProject(many, limits); }),
                 QString::fromStdString(many + ": more than 2 images"));
    }

    // Per-image settings: read with their values, written back only where an image has any
    // (Qt's parser reads them independently), and applied over the command's settings.
    void projectImageSettings() {
        const auto path = write("s.json", R"({"images": [
            {"path": "a.tiff", "settings": {"mode": "dense", "overlap": 0.5, "method": "layercam",
                                            "class": "tumour", "min_tissue": 0.1,
                                            "precision": "int8"}},
            {"path": "b.tiff", "settings": {"pixel_size_um": 0.25, "fit": "patches",
                                            "layer": "features.3", "excluded": true,
                                            "precision": "fp32"}},
            {"path": "c.tiff", "settings": {"class": 0}},
            {"path": "d.tiff"}]})");
        auto images = readProject(path).images;
        QCOMPARE(images.size(), std::size_t(4));
        const ImageSettings& a = images[0].settings;
        QVERIFY(a.mode == AnalysisMode::Dense);
        QCOMPARE(*a.overlap, 0.5);
        QCOMPARE(*a.method, std::string("layercam"));
        QCOMPARE(*a.minTissue, 0.1);
        QVERIFY(!a.pixelSize && !a.fit && !a.layer && !a.excluded);
        QVERIFY(a.int8 == true);
        const ImageSettings& b = images[1].settings;
        QCOMPARE(*b.pixelSize, 0.25);
        QVERIFY(b.fit == ImageFit::Patches && b.excluded && !b.mode && !b.overlap);
        QCOMPARE(*b.layer, std::string("features.3"));
        QVERIFY(b.int8 == false);  // an own fp32, not "none"
        QVERIFY(!images[2].settings.int8 && !images[3].settings.int8);
        QCOMPARE(describe(a), std::string("dense, int8, overlap 0.5, layercam, class tumour, "
                                          "tissue ≥ 0.1"));
        QCOMPARE(describe(b), std::string("excluded, 0.25 µm/px, fp32, fit patches, "
                                          "layer features.3"));
        QCOMPARE(describe(images[3].settings), std::string());
        ImageSettings onlyPrecision;
        onlyPrecision.int8 = false;
        QVERIFY(!onlyPrecision.empty());  // written, so an own fp32 outlives a window's int8
        QCOMPARE(*images[2].settings.classChoice, std::string("0"));
        QVERIFY(images[3].settings.empty() && !images[0].settings.empty());

        const std::vector<std::string> classes = {"normal", "tumour"};
        AnalysisSettings base;
        base.overlap = 0.25;
        base.method = "gradcam";
        base.mode = AnalysisMode::Patch;  // not the default: image a's own "dense" must show
        const AnalysisSettings ea = effectiveSettings(base, a, classes);
        QVERIFY(ea.mode == AnalysisMode::Dense && ea.method == "layercam" && ea.overlap == 0.5);
        QCOMPARE(ea.classIndex.value_or(-1), 1);
        QCOMPARE(ea.minTissue, 0.1);
        QVERIFY(ea.int8);  // int8 over the base's fp32
        const AnalysisSettings ed = effectiveSettings(base, images[3].settings, classes);
        QVERIFY(ed.mode == AnalysisMode::Patch && ed.method == "gradcam" && ed.overlap == 0.25);
        QVERIFY(!ed.classIndex && ed.minTissue == base.minTissue && !ed.int8);
        AnalysisSettings int8Base = base;
        int8Base.int8 = true;
        QVERIFY(!effectiveSettings(int8Base, b, classes).int8);  // fp32 over the base's int8
        QVERIFY(effectiveSettings(int8Base, images[3].settings, classes).int8);  // no override
        QCOMPARE(effectiveSettings(base, images[2].settings, classes).classIndex.value_or(-1), 0);
        ImageSettings unknownClass;
        unknownClass.classChoice = "stroma";
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 effectiveSettings(base, unknownClass, classes));
        unknownClass.classChoice = "2";
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 effectiveSettings(base, unknownClass, classes));

        // Written back: the same settings; images without any have no "settings" object.
        const auto out = at("s2.json");
        writeProjectFile(out, images);
        const auto back = readProject(out).images;
        for (std::size_t i = 0; i < images.size(); ++i)
            QVERIFY2(back[i].settings == images[i].settings, qPrintable(QString::number(i)));
        QFile f(QString::fromStdString(out));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonArray list = QJsonDocument::fromJson(f.readAll()).object()["images"].toArray();
        QCOMPARE(list[0].toObject()["settings"].toObject()["mode"].toString(), QString("dense"));
        QCOMPARE(list[1].toObject()["settings"].toObject()["pixel_size_um"].toDouble(), 0.25);
        QCOMPARE(list[1].toObject()["settings"].toObject()["excluded"].toBool(), true);
        QCOMPARE(list[0].toObject()["settings"].toObject()["precision"].toString(),
                 QString("int8"));
        QCOMPARE(list[1].toObject()["settings"].toObject()["precision"].toString(),
                 QString("fp32"));
        QVERIFY(!list[2].toObject()["settings"].toObject().contains("precision"));
        QVERIFY(!list[3].toObject().contains("settings"));
    }

    // A bad setting is refused naming the project file, the image (number and path) and the key.
    void projectImageSettingsErrors() {
        const auto check = [this](const char* name, const QByteArray& settings,
                                  const QString& want) {
            const auto path = write(name, R"({"images": [{"path": "a.tiff"},
                {"path": "dir/b.tiff", "settings": )" +
                                              settings + "}]}");
            const QString got = errorOf([&] { readProject(path); });
            const QString image = QString::fromStdString(path) + ": image 2 (dir/b.tiff): ";
            QVERIFY2(got.startsWith(image) && got.contains(want), qPrintable(got));
        };
        check("u.json", R"({"overlapp": 0.5})", "unknown key \"overlapp\"");
        check("o.json", R"({"overlap": 0.9})", "\"overlap\": 0.9 is outside [0, 0.75]");
        check("p.json", R"({"pixel_size_um": 0})", "\"pixel_size_um\": 0 is outside (0,");
        check("p2.json", R"({"pixel_size_um": "0.5"})", "\"pixel_size_um\": not a number");
        check("m.json", R"({"mode": "fast"})", "\"mode\": 'fast' is none of patch, dense");
        check("f.json", R"({"fit": "tile"})", "\"fit\": 'tile' is none of");
        check("pr.json", R"({"precision": "fp16"})", "\"precision\": 'fp16' is none of fp32, int8");
        check("pr2.json", R"({"precision": true})", "\"precision\": not text");
        check("me.json", R"({"method": "magic"})", "\"method\": 'magic' is none of");
        check("e.json", R"({"excluded": "yes"})", "\"excluded\": not true or false");
        check("t.json", R"({"min_tissue": 2})", "\"min_tissue\": 2 is outside [0, 1]");
        check("l.json", R"({"layer": ""})", "\"layer\": empty or longer");
        check("c.json", R"({"class": -1})", "\"class\": not text");
        check("n.json", "[1]", "\"settings\" is not an object");
    }
};

QTEST_GUILESS_MAIN(CohortFilesTest)
#include "cohort_files_test.moc"
