// Annotation import and lookup at QuPath scale: 50,000 cell polygons (10-14 vertices) written as
// GeoJSON and ASAP XML, read back (parse + GEOS validity), indexed, and queried for full-HD views.
// Baseline in the same run: nlohmann::json parsing the same text alone.
// Usage: annotations_bench [OBJECTS] [REPEATS]
#include "annotations/AnnotationFiles.h"
#include "annotations/AnnotationIndex.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace lucida;

namespace {

double seconds(const std::function<void()>& f, int repeats) {
    std::vector<double> t;
    for (int r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        f();
        t.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];  // median
}

}  // namespace

int main(int argc, char** argv) {
    const int objects = argc > 1 ? std::atoi(argv[1]) : 50000;
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
    std::mt19937 random(7);
    std::uniform_real_distribution<double> pos(0, 100000), radius(6, 14);
    AnnotationSet set;
    set.useClass("Tumour", std::nullopt);
    for (int i = 0; i < objects; ++i) {
        Annotation a;
        a.id = newAnnotationId();
        a.detection = true;
        a.className = "Tumour";
        a.geometry.type = Geometry::Type::Polygon;
        const double cx = pos(random), cy = pos(random);
        const int n = 10 + i % 5;
        Ring ring;
        for (int k = 0; k < n; ++k)
            ring.push_back({cx + radius(random) * std::cos(2 * M_PI * k / n),
                            cy + radius(random) * std::sin(2 * M_PI * k / n)});
        a.geometry.polygons.push_back({ring, {}});
        set.items.push_back(std::move(a));
    }
    std::string geojson, xml;
    std::size_t found = 0;
    const double writeJson = seconds([&] { geojson = writeGeoJson(set); }, repeats);
    const double writeXml = seconds([&] { xml = writeAsapXml(set); }, repeats);
    const double bareParse =
        seconds([&] { found = nlohmann::json::parse(geojson).size(); }, repeats);
    std::size_t read = 0;
    const double readJson =
        seconds([&] { read = parseGeoJson(geojson, "bench.geojson").set.items.size(); }, repeats);
    const double readXml =
        seconds([&] { read = parseAsapXml(xml, "bench.xml").set.items.size(); }, repeats);
    AnnotationIndex index;
    const double build = seconds([&] { index.rebuild(set.items); }, repeats);
    found = 0;
    const int views = 1000;
    const double query = seconds(
        [&] {
            for (int v = 0; v < views; ++v) {
                const double x = pos(random), y = pos(random);
                found += index.query({x, y, x + 1920, y + 1080}).size();
            }
        },
        repeats);
    std::printf(
        "{\"objects\": %d, \"read\": %zu, \"geojson_mb\": %.1f, \"xml_mb\": %.1f,\n"
        " \"write_geojson_s\": %.3f, \"write_xml_s\": %.3f,\n"
        " \"bare_json_parse_s\": %.3f, \"read_geojson_s\": %.3f, \"read_xml_s\": %.3f,\n"
        " \"read_geojson_vs_bare_parse\": %.2f,\n"
        " \"index_build_ms\": %.1f, \"query_fullhd_view_us\": %.1f, \"mean_found\": %.1f}\n",
        objects, read, geojson.size() / 1e6, xml.size() / 1e6, writeJson, writeXml, bareParse,
        readJson, readXml, readJson / bareParse, build * 1e3, query / views * 1e6,
        double(found) / (views * repeats));
    return 0;
}
