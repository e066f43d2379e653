#include "CliAnnotations.h"

#include "annotations/AnnotationFiles.h"
#include "annotations/AnnotationMeasure.h"
#include "annotations/AnnotationRepair.h"
#include "annotations/HeatRegions.h"
#include "image/ImageSource.h"
#include "io/AtomicFile.h"

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <stdexcept>

namespace lucida::cli {

namespace {

// CSV field: quoted when it holds a comma, quote or line break.
std::string csv(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string number(double v) {
    std::ostringstream s;
    s.imbue(std::locale::classic());
    s.precision(10);
    s << v;
    return s.str();
}

const char* geometryName(Geometry::Type t) {
    switch (t) {
        case Geometry::Type::Point:
            return "Point";
        case Geometry::Type::MultiPoint:
            return "MultiPoint";
        case Geometry::Type::LineString:
            return "LineString";
        case Geometry::Type::Polygon:
            return "Polygon";
        case Geometry::Type::MultiPolygon:
            return "MultiPolygon";
    }
    return "";
}

}  // namespace

AnnotationsCommands addAnnotationsCommand(CLI::App& app, AnnotationsArgs& args) {
    auto* cmd = app.add_subcommand(
        "annotations", "Convert annotation files (QuPath GeoJSON <-> ASAP XML) and measure them");
    cmd->require_subcommand(1);
    AnnotationsCommands c;
    c.convert = cmd->add_subcommand(
        "convert", "Convert IN to OUT; the formats follow the extensions (.geojson/.json, .xml)");
    c.convert->add_option("IN", args.input, "annotation file to read")->required();
    c.convert->add_option("OUT", args.output, "annotation file to write")->required();
    c.stats = cmd->add_subcommand("stats", "Count and area per class, as CSV on standard output");
    c.stats->add_option("IN", args.input, "annotation file (GeoJSON or ASAP XML)")->required();
    auto* image = c.stats->add_option("--image", args.image, "take the pixel size from this image");
    c.stats->add_option("--mpp", args.mpp, "micrometres per level-0 pixel")
        ->check(CLI::Range(1e-3, 1e4))
        ->excludes(image);
    c.stats->add_flag("--objects", args.objects, "one row per object instead of per class");
    return c;
}

int runAnnotationsConvert(const AnnotationsArgs& args, std::ostream& log) {
    AnnotationImport in = readAnnotationFile(args.input);
    for (const std::string& note : in.notes) log << "note: " << args.input << ": " << note << "\n";
    std::vector<std::string> notes;
    writeAnnotationFile(args.output, in.set, &notes);
    for (const std::string& note : notes) log << "note: " << args.output << ": " << note << "\n";
    log << in.set.items.size() << " annotations written to " << args.output << "\n";
    return 0;
}

int runAnnotationsStats(const AnnotationsArgs& args, std::ostream& out, std::ostream& log) {
    AnnotationImport in = readAnnotationFile(args.input);
    for (const std::string& note : in.notes) log << "note: " << args.input << ": " << note << "\n";
    PixelSize pixel;
    if (!args.image.empty()) {
        const auto source = openImage(args.image);
        const ImageInfo& info = source->info();
        checkAgainstImage(in, args.input, info.width(), info.height());
        if (info.mppX) {
            pixel.x = *info.mppX / (info.displayUnit == LengthUnit::Millimetre ? 1000 : 1);
            pixel.y = info.mppY.value_or(*info.mppX) /
                      (info.displayUnit == LengthUnit::Millimetre ? 1000 : 1);
            pixel.unit = info.displayUnit == LengthUnit::Millimetre ? PixelSize::Unit::Millimetre
                                                                    : PixelSize::Unit::Micrometre;
        } else {
            log << "note: " << args.image << " has no pixel size: measurements in pixels\n";
        }
    } else if (args.mpp) {
        pixel.x = pixel.y = *args.mpp;
    }
    const std::string unit = measure(Geometry{}, pixel).unit;
    if (args.objects) {
        out << "id,name,class,geometry,slice,area_" << unit << "2,length_" << unit << "\n";
        for (const Annotation& a : in.set.items) {
            const Measurement m = measure(a.geometry, pixel);
            out << csv(a.id) << ',' << csv(a.name) << ',' << csv(a.className) << ','
                << geometryName(a.geometry.type) << ',' << a.slice << ',' << number(m.area) << ','
                << number(m.length) << "\n";
        }
        return 0;
    }
    struct Totals {
        std::size_t objects = 0;
        double area = 0, length = 0;
    };
    std::map<std::string, Totals> perClass;
    for (const Annotation& a : in.set.items) {
        const Measurement m = measure(a.geometry, pixel);
        Totals& t = perClass[a.className];
        ++t.objects;
        t.area += m.area;
        if (a.geometry.isLine()) t.length += m.length;
    }
    out << "class,objects,area_" << unit << "2,length_" << unit << "\n";
    for (const auto& [name, t] : perClass)
        out << csv(name.empty() ? "(none)" : name) << ',' << t.objects << ',' << number(t.area)
            << ',' << number(t.length) << "\n";
    return 0;
}

void writeAnnotationHeat(const std::string& annotationsPath, const std::string& className,
                         const ImageInfo& image, const FloatRaster& cam,
                         const std::string& jsonPath, std::ostream& log) {
    AnnotationImport in = readAnnotationFile(annotationsPath);
    checkAgainstImage(in, annotationsPath, image.width(), image.height());
    for (const std::string& note : in.notes)
        log << "note: " << annotationsPath << ": " << note << "\n";
    std::vector<const Annotation*> areas;
    for (const Annotation& a : in.set.items)
        if (a.geometry.isArea() && (className.empty() || a.className == className))
            areas.push_back(&a);
    if (areas.empty())
        throw std::invalid_argument(annotationsPath + ": no area annotation" +
                                    (className.empty() ? "" : " of class \"" + className + "\""));
    const HeatInside h = heatInside(cam, areas);
    const nlohmann::json j = {{"annotations", annotationsPath},
                              {"class", className},
                              {"areas", h.areas},
                              {"energy_inside", h.energyShare},
                              {"peak_inside", h.peakInside},
                              {"peak", {{"x", h.peak.x}, {"y", h.peak.y}, {"value", h.peakValue}}}};
    writeFileAtomically(jsonPath,
                        j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    log << "annotations: " << h.areas << " areas hold " << number(100 * h.energyShare)
        << "% of the CAM's energy; the peak is " << (h.peakInside ? "inside" : "outside") << " ("
        << jsonPath << ")\n";
}

}  // namespace lucida::cli
