// Annotation files: QuPath GeoJSON and ASAP XML read, written and round-tripped; areas against
// the shoelace formula computed in Python (tests/reference/make_annotation_reference.py); hostile
// and wrong files refused naming the file; saves that survive SIGKILL; heat turned into regions
// and the energy-based pointing game; the spatial index against a brute-force scan.
#include "annotations/AnnotationError.h"
#include "annotations/AnnotationFiles.h"
#include "annotations/AnnotationGeometry.h"
#include "annotations/AnnotationIndex.h"
#include "annotations/AnnotationMeasure.h"
#include "annotations/AnnotationRepair.h"
#include "annotations/HeatRegions.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <sys/wait.h>
#include <unistd.h>
#include <cmath>
#include <csignal>
#include <fstream>
#include <random>

using namespace lucida;

namespace {

std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const AnnotationError& e) {
        return e.what();
    }
    return "";
}

void writeText(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

Annotation polygon(std::string name, std::string cls, Ring outer, std::vector<Ring> holes = {}) {
    Annotation a;
    a.id = newAnnotationId();
    a.name = std::move(name);
    a.className = std::move(cls);
    a.tool = "polygon";
    a.geometry.type = Geometry::Type::Polygon;
    a.geometry.polygons.push_back({std::move(outer), std::move(holes)});
    return a;
}

AnnotationSet sampleSet() {
    AnnotationSet s;
    s.useClass("Tumour", std::nullopt);
    s.useClass("Mine", 0x123456);
    s.classes.back().description = "my own class";
    s.items.push_back(polygon("square", "Tumour", {{0, 0}, {100, 0}, {100, 100}, {0, 100}},
                              {{{10, 10}, {20, 10}, {20, 20}, {10, 20}}}));
    Annotation multi = polygon("two", "Mine", {{200, 200}, {300, 200}, {300, 300}});
    multi.geometry.type = Geometry::Type::MultiPolygon;
    multi.geometry.polygons.push_back({{{400, 400}, {450.125, 400}, {450.125, 433.5}}, {}});
    multi.locked = true;
    multi.colour = 0xABCDEF;
    s.items.push_back(multi);
    Annotation line;
    line.id = newAnnotationId();
    line.name = "ruler";
    line.tool = "line";
    line.geometry.type = Geometry::Type::LineString;
    line.geometry.points = {{1.5, 2.25}, {301.5, 402.25}};
    s.items.push_back(line);
    Annotation text;
    text.id = newAnnotationId();
    text.tool = "text";
    text.text = "look here";
    text.slice = 3;
    text.detection = true;
    text.geometry.type = Geometry::Type::Point;
    text.geometry.points = {{7, 8}};
    s.items.push_back(text);
    s.imageWidth = 1000;
    s.imageHeight = 800;
    return s;
}

}  // namespace

class AnnotationsTest : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    std::string at(const char* name) const { return tmp_.filePath(name).toStdString(); }

private slots:
    void geoJsonRoundTripKeepsEverything() {
        const AnnotationSet s = sampleSet();
        const AnnotationImport back = parseGeoJson(writeGeoJson(s), "mem.geojson");
        QVERIFY(back.notes.empty());
        QCOMPARE(back.set.items.size(), s.items.size());
        for (std::size_t i = 0; i < s.items.size(); ++i)
            QVERIFY2(back.set.items[i] == s.items[i], s.items[i].name.c_str());
        QVERIFY(back.set.classes == s.classes);
        QCOMPARE(*back.set.imageWidth, 1000);
    }

    void qupathFilesImportWithTheRightCountsAndAreas() {
        QProcess python;
        python.setProcessChannelMode(QProcess::MergedChannels);
        python.start(
            "/usr/bin/python3",
            {QStringLiteral(LUCIDA_SOURCE_DIR "/tests/reference/make_annotation_reference.py"),
             tmp_.path()});
        QVERIFY(python.waitForFinished(60000));
        QVERIFY2(python.exitCode() == 0, python.readAll().constData());
        QFile f(tmp_.filePath("expected.json"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject expected = QJsonDocument::fromJson(f.readAll()).object();
        const QJsonArray areas = expected["areas"].toArray();
        for (const char* name : {"qupath.geojson", "qupath-array.geojson"}) {
            const AnnotationImport in = readAnnotationFile(at(name));
            QVERIFY(in.notes.empty());
            QCOMPARE(int(in.set.items.size()), areas.size());
            int detections = 0;
            for (std::size_t i = 0; i < in.set.items.size(); ++i) {
                const Annotation& a = in.set.items[i];
                detections += a.detection;
                QCOMPARE(QString::fromStdString(a.id),
                         expected["ids"].toArray()[int(i)].toString());
                const double want = areas[int(i)].toDouble();
                QVERIFY2(
                    std::abs(geometryArea(a.geometry) - want) <= 1e-9 * std::max(1.0, want),
                    qPrintable(
                        QString("%1: %2 vs %3").arg(i).arg(geometryArea(a.geometry)).arg(want)));
            }
            QCOMPARE(detections, expected["counts"].toObject()["detection"].toInt());
            QCOMPARE(in.set.items[0].className, std::string("Tumor"));
            QCOMPARE(in.set.findClass("Tumor")->colour, Rgb(0xC80000));
            QVERIFY(in.set.items[1].locked);
            QCOMPARE(in.set.items[1].geometry.polygons.size(), std::size_t(2));
            QCOMPARE(in.set.items[0].geometry.polygons[0].holes.size(), std::size_t(2));
        }
    }

    void asapRoundTripKeepsGeometryGroupsAndColours() {
        const std::string xml = R"(<?xml version="1.0"?>
<ASAP_Annotations>
  <Annotations>
    <Annotation Name="Annotation 0" Type="Polygon" PartOfGroup="Tumor" Color="#F4FA58">
      <Coordinates>
        <Coordinate Order="1" X="200.5" Y="100" />
        <Coordinate Order="0" X="100" Y="100" />
        <Coordinate Order="2" X="150" Y="180.25" />
      </Coordinates>
    </Annotation>
    <Annotation Name="dot" Type="Dot" PartOfGroup="None" Color="#00FF00">
      <Coordinates><Coordinate Order="0" X="5" Y="6" /></Coordinates>
    </Annotation>
    <Annotation Name="box" Type="Rectangle" PartOfGroup="Stroma" Color="#0000FF">
      <Coordinates>
        <Coordinate Order="0" X="0" Y="0" /><Coordinate Order="1" X="10" Y="0" />
        <Coordinate Order="2" X="10" Y="20" /><Coordinate Order="3" X="0" Y="20" />
      </Coordinates>
    </Annotation>
    <Annotation Name="m" Type="Measurement" PartOfGroup="None" Color="#FF0000">
      <Coordinates><Coordinate Order="0" X="0" Y="0" /><Coordinate Order="1" X="30" Y="40" /></Coordinates>
    </Annotation>
  </Annotations>
  <AnnotationGroups>
    <Group Name="Tumor" PartOfGroup="None" Color="#64FE2E"><Attributes /></Group>
    <Group Name="Stroma" PartOfGroup="None" Color="#0000FF"><Attributes /></Group>
  </AnnotationGroups>
</ASAP_Annotations>)";
        const AnnotationImport in = parseAsapXml(xml, "a.xml");
        QVERIFY(in.notes.empty());
        QCOMPARE(in.set.items.size(), std::size_t(4));
        const Ring want{{100, 100}, {200.5, 100}, {150, 180.25}};  // by Order
        QVERIFY(in.set.items[0].geometry.polygons[0].outer == want);
        QCOMPARE(in.set.items[0].className, std::string("Tumor"));
        QCOMPARE(in.set.findClass("Tumor")->colour, Rgb(0x64FE2E));
        QCOMPARE(*in.set.items[0].colour, Rgb(0xF4FA58));
        QCOMPARE(in.set.items[2].tool, std::string("rectangle"));
        QCOMPARE(geometryArea(in.set.items[2].geometry), 200.0);
        QCOMPARE(geometryLength(in.set.items[3].geometry), 50.0);
        const AnnotationImport again = parseAsapXml(writeAsapXml(in.set), "b.xml");
        QCOMPARE(again.set.items.size(), in.set.items.size());
        for (std::size_t i = 0; i < in.set.items.size(); ++i) {
            QVERIFY(again.set.items[i].geometry == in.set.items[i].geometry);
            QCOMPARE(again.set.items[i].name, in.set.items[i].name);
            QCOMPARE(again.set.items[i].className, in.set.items[i].className);
            QCOMPARE(again.set.items[i].colour, in.set.items[i].colour);
            QCOMPARE(again.set.items[i].tool, in.set.items[i].tool);
        }
        QVERIFY(again.set.classes == in.set.classes);
    }

    // Found by fuzz_annotations: a name with invalid UTF-8 (legal in an XML file's bytes as
    // pugixml reads them) made the GeoJSON writer throw.
    void invalidUtf8NamesAreWrittenReplaced() {
        AnnotationSet s = sampleSet();
        s.items[0].name = "bad \xFF name";
        const AnnotationImport back = parseGeoJson(writeGeoJson(s), "u.geojson");
        QCOMPARE(back.set.items[0].name, std::string("bad \xEF\xBF\xBD name"));
        const std::string path = std::string(LUCIDA_SOURCE_DIR) +
                                 "/tests/fuzz/regressions/fuzz_annotations/invalid-utf8-name.xml";
        const AnnotationImport in = readAnnotationFile(path);
        QVERIFY(!writeGeoJson(in.set).empty());
    }

    void asapSaysWhatItCannotHold() {
        std::vector<std::string> notes;
        const AnnotationImport back = parseAsapXml(writeAsapXml(sampleSet(), &notes), "x.xml");
        QCOMPARE(notes.size(), std::size_t(2));  // two parts split; one hole dropped
        QVERIFY(notes[1].find("1 hole(s) dropped") != std::string::npos);
        QCOMPARE(back.set.items.size(), std::size_t(5));  // the MultiPolygon became two
    }

    void badFilesAreRefusedNamingTheFile_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("content");
        QTest::addColumn<QString>("reason");
        QTest::newRow("malformed JSON") << "a.geojson"
                                        << R"({"type": "FeatureCollection", "features": [)"
                                        << "not valid JSON";
        QTest::newRow("malformed XML") << "a.xml"
                                       << "<ASAP_Annotations><Annotations>"
                                       << "not valid XML";
        QTest::newRow("not annotations") << "a.geojson"
                                         << R"({"hello": 1})"
                                         << "not GeoJSON annotations";
        QTest::newRow("only unsupported geometry")
            << "a.geojson"
            << R"([{"type":"Feature","geometry":{"type":"GeometryCollection","geometries":[]},"properties":{}}])"
            << "geometry type GeometryCollection is not supported";
        QTest::newRow("too deep") << "a.json" << QString(200, '[') + QString(200, ']')
                                  << "nested deeper than 64";
        QTest::newRow("coordinate out of range")
            << "a.geojson"
            << R"([{"type":"Feature","geometry":{"type":"Point","coordinates":[1e300, 0]}}])"
            << "coordinate out of range";
        QTest::newRow("other XML") << "a.xml"
                                   << "<svg/>"
                                   << "no ASAP_Annotations";
    }
    void badFilesAreRefusedNamingTheFile() {
        QFETCH(QString, name);
        QFETCH(QString, content);
        QFETCH(QString, reason);
        const std::string path = at(qPrintable(name));
        writeText(path, content.toStdString());
        const std::string e = errorOf([&] { readAnnotationFile(path); });
        QVERIFY2(e.rfind(path + ": ", 0) == 0, e.c_str());
        QVERIFY2(e.find(reason.toStdString()) != std::string::npos, e.c_str());
    }

    void hugeFileIsRefusedBeforeReading() {
        const std::string path = at("huge.geojson");
        { std::ofstream(path) << "["; }
        QVERIFY(::truncate(path.c_str(), 200ll << 20) == 0);  // sparse: 200 MiB
        const std::string e = errorOf([&] { readAnnotationFile(path); });
        QVERIFY2(e.find("file of 200 MiB is over the limit of 128 MiB") != std::string::npos,
                 e.c_str());
    }

    void selfIntersectingPolygonIsRepairedAndSaid() {
        const std::string bowtie =
            R"([{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[10,10],[10,0],[0,10],[0,0]]]},"properties":{"name":"bow"}}])";
        const AnnotationImport in = parseGeoJson(bowtie, "b.geojson");
        QCOMPARE(in.set.items.size(), std::size_t(1));
        QCOMPARE(in.notes.size(), std::size_t(1));
        QVERIFY2(in.notes[0].find("\"bow\": invalid area (Self-intersection") == 0,
                 in.notes[0].c_str());
        QVERIFY(in.notes[0].find("repaired") != std::string::npos);
        QVERIFY(invalidReason(in.set.items[0].geometry).empty());
        QCOMPARE(geometryArea(in.set.items[0].geometry), 50.0);  // two triangles of 25
    }

    void filesForAnotherImageAreRefused() {
        AnnotationImport in = parseGeoJson(writeGeoJson(sampleSet()), "s.geojson");
        const std::string e = errorOf([&] { checkAgainstImage(in, "s.geojson", 2000, 800); });
        QVERIFY2(e.find("made for an image of 1000 x 800 pixels, this one is 2000 x 800") !=
                     std::string::npos,
                 e.c_str());
        AnnotationSet far = sampleSet();
        far.imageWidth.reset();
        for (Annotation& a : far.items)
            for (Point2& p : a.geometry.points) p.x += 1e6;
        far.items.resize(far.items.size());
        AnnotationImport f = parseGeoJson(writeGeoJson(far), "f.geojson");
        checkAgainstImage(f, "f.geojson", 1000, 800);
        QCOMPARE(f.set.items.size(), std::size_t(2));  // the line and the point were moved away
        QCOMPARE(f.notes.back(), std::string("2 annotation(s) far outside the image (skipped)"));
    }

    void savesSurviveSigkill() {
        const std::string path = at("killed.geojson");
        std::mt19937 random(11);
        auto version = [](int k) {  // version k holds k + 1 objects
            AnnotationSet s;
            for (int i = 0; i <= k; ++i)
                s.items.push_back(polygon("v", "", {{0, 0}, {double(i + 1), 0}, {0, 1}}));
            return s;
        };
        writeAnnotationFile(path, version(0));
        for (int round = 0; round < 120; ++round) {
            const pid_t child = fork();
            QVERIFY(child >= 0);
            if (child == 0) {
                for (int k = 0;; k = (k + 1) % 40) writeAnnotationFile(path, version(k));
            }
            ::usleep(useconds_t(std::uniform_int_distribution<int>(0, 15000)(random)));
            ::kill(child, SIGKILL);
            ::waitpid(child, nullptr, 0);
            for (const std::string& p : {path, previousVersionPath(path)}) {
                std::error_code ec;
                if (!std::filesystem::exists(p, ec)) continue;
                const AnnotationImport in = readAnnotationFile(p);
                QVERIFY(in.set.items.size() >= 1 && in.set.items.size() <= 40);
            }
        }
    }

    void measurementsInPhysicalUnits() {
        const Annotation sq = polygon("sq", "", {{0, 0}, {1000, 0}, {1000, 1000}, {0, 1000}});
        PixelSize um{0.5, 0.25, PixelSize::Unit::Micrometre};
        const Measurement m = measure(sq.geometry, um);
        QCOMPARE(m.area, 125000.0);
        QCOMPARE(m.text, std::string("125000 µm²"));
        Geometry line;
        line.type = Geometry::Type::LineString;
        line.points = {{0, 0}, {3000, 4000}};
        QCOMPARE(measure(line, PixelSize{0.5, 0.5}).text, std::string("2.50 mm"));
        QCOMPARE(measure(line, PixelSize{}).text, std::string("5000 px"));
        QCOMPARE(measure(line, PixelSize{0.5, 0.5, PixelSize::Unit::Millimetre}).text,
                 std::string("2500 mm"));
    }

    void brushUnitesAndErases() {
        const Annotation sq = polygon("sq", "", {{0, 0}, {100, 0}, {100, 100}, {0, 100}});
        const Geometry stroke = strokeArea({{100, 50}, {200, 50}}, 10);
        const auto grown = unite(sq.geometry, stroke);
        QVERIFY(grown);
        QVERIFY(std::abs(geometryArea(*grown) - (10000 + 100 * 20 + M_PI * 100 / 2)) < 5);
        const auto erased = subtract(sq.geometry, strokeArea({{50, -10}, {50, 110}}, 5));
        QVERIFY(erased);
        QCOMPARE(erased->type, Geometry::Type::MultiPolygon);  // cut in two
        QVERIFY(std::abs(geometryArea(*erased) - 9000) < 1e-6);
    }

    void heatBecomesRegionsAndRegionsMeasureHeat() {
        FloatRaster heat;
        heat.width = 64, heat.height = 48, heat.cellSize = 32;
        heat.values.assign(std::size_t(heat.width) * heat.height, 0.f);
        auto disc = [&](double cx, double cy, double r, float v) {
            for (int y = 0; y < heat.height; ++y)
                for (int x = 0; x < heat.width; ++x)
                    if (std::hypot(x + 0.5 - cx, y + 0.5 - cy) < r)
                        heat.values[std::size_t(y) * heat.width + x] = v;
        };
        disc(16, 16, 10, 1.f);
        disc(16, 16, 4, 0.f);  // a hole
        disc(48, 30, 6, 0.8f);
        heat.values[std::size_t(5) * heat.width + 60] = NAN;  // not analysed
        HeatRegionOptions o;
        o.threshold = 0.5;
        o.smoothCells = 0;
        o.className = "Tumour";
        const std::vector<Annotation> regions = heatRegions(heat, o);
        QCOMPARE(regions.size(), std::size_t(2));
        QCOMPARE(regions[0].geometry.polygons[0].holes.size(), std::size_t(1));
        const double cell2 = 32.0 * 32.0;
        const double ring = M_PI * (100 - 16) * cell2, small = M_PI * 36 * cell2;
        QVERIFY2(std::abs(geometryArea(regions[0].geometry) - ring) < 0.08 * ring,
                 qPrintable(QString::number(geometryArea(regions[0].geometry) / ring)));
        QVERIFY(std::abs(geometryArea(regions[1].geometry) - small) < 0.1 * small);
        QCOMPARE(regions[0].className, std::string("Tumour"));

        // The small disc holds 0.8 * its cells of the energy; its region's share must match.
        double total = 0, inSmall = 0;
        for (int y = 0; y < heat.height; ++y)
            for (int x = 0; x < heat.width; ++x) {
                const float v = heat.at(x, y);
                if (!std::isfinite(v)) continue;
                total += v;
                if (std::hypot(x + 0.5 - 48, y + 0.5 - 30) < 6) inSmall += v;
            }
        const Annotation box = polygon("box", "",
                                       {{38 * 32.0, 20 * 32.0},
                                        {58 * 32.0, 20 * 32.0},
                                        {58 * 32.0, 40 * 32.0},
                                        {38 * 32.0, 40 * 32.0}});
        const HeatInside h = heatInside(heat, {&box});
        QVERIFY(std::abs(h.energyShare - inSmall / total) < 1e-9);
        QVERIFY(!h.peakInside);  // the peak (1.0) is in the ring
        const HeatInside r = heatInside(heat, {&regions[0]});
        QVERIFY(r.peakInside);
        QVERIFY(r.energyShare > 0.9 * (total - inSmall) / total);
    }

    void indexFindsWhatABruteForceScanFinds() {
        std::vector<Annotation> items;
        std::mt19937 random(5);
        std::uniform_real_distribution<double> pos(0, 100000), size(5, 40);
        for (int i = 0; i < 50000; ++i) {
            const double x = pos(random), y = pos(random), s = size(random);
            items.push_back(polygon("c", "", {{x, y}, {x + s, y}, {x + s, y + s}}));
        }
        items.push_back(polygon("big", "", {{0, 0}, {100000, 0}, {100000, 100000}}));
        AnnotationIndex index;
        index.rebuild(items);
        for (const Bounds& view : {Bounds{1000, 1000, 3000, 2500}, Bounds{50000, 0, 50100, 100000},
                                   Bounds{-10, -10, 200000, 200000}}) {
            std::vector<std::size_t> brute;
            for (std::size_t i = 0; i < items.size(); ++i) {
                const Bounds b = boundsOf(items[i].geometry);
                if (b.x0 <= view.x1 && view.x0 <= b.x1 && b.y0 <= view.y1 && view.y0 <= b.y1)
                    brute.push_back(i);
            }
            QVERIFY(index.query(view) == brute);
        }
    }
};

QTEST_APPLESS_MAIN(AnnotationsTest)
#include "annotations_test.moc"
