#include "report/CaseReportData.h"

#include "annotations/AnnotationMeasure.h"
#include "version/Versions.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

namespace lucida {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr std::uintmax_t kMaxTrainingReportBytes = std::uintmax_t(32) << 20;

std::string format(const char* pattern, double value) {
    char text[64];
    std::snprintf(text, sizeof text, pattern, value);
    return text;
}

std::string percent(double share) { return format("%.1f %%", share * 100); }

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

std::string utcNow() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
    return text;
}

PixelSize pixelSizeOf(const ImageInfo& info) {
    PixelSize pixel;
    if (!info.mppX) return pixel;
    const bool mm = info.displayUnit == LengthUnit::Millimetre;
    pixel.x = *info.mppX / (mm ? 1000 : 1);
    pixel.y = info.mppY.value_or(*info.mppX) / (mm ? 1000 : 1);
    pixel.unit = mm ? PixelSize::Unit::Millimetre : PixelSize::Unit::Micrometre;
    return pixel;
}

std::vector<ReportRow> imageRows(const ImageInfo& info) {
    std::vector<ReportRow> rows{
        {"Format", info.format},
        {"Size", std::to_string(info.width()) + " × " + std::to_string(info.height()) + " px, " +
                     std::to_string(info.levels.size()) + " levels"}};
    if (info.mppX)
        rows.push_back({"Pixel size", format("%.4g µm/px", *info.mppX)});
    else
        rows.push_back({"Pixel size", "not recorded (measurements in pixels)"});
    if (info.objectivePower) rows.push_back({"Objective", format("%.0f×", *info.objectivePower)});
    if (info.sliceCount > 1) rows.push_back({"Slices", std::to_string(info.sliceCount)});
    return rows;
}

std::vector<ReportRow> patientRows(const ImageInfo& info) {
    static const char* labels[] = {"Patient name", "Patient ID", "Birth date"};
    std::vector<ReportRow> rows;
    for (std::size_t i = 0; i < patientPropertyKeys().size(); ++i)
        if (auto value = info.property(patientPropertyKeys()[i]); value && !value->empty())
            rows.push_back({labels[i], *value});
    return rows;
}

std::vector<ReportRow> modelRows(const ModelSpec& spec, const std::string& modelPath) {
    std::vector<ReportRow> rows{{"Model file", fs::path(modelPath).filename().string()},
                                {"Architecture", spec.architecture},
                                {"Classes", joined(spec.classes)},
                                {"Input", std::to_string(spec.inputWidth) + " × " +
                                              std::to_string(spec.inputHeight) + " px"}};
    rows.push_back({"Scale", spec.micronsPerPixel ? format("%.4g µm/px", *spec.micronsPerPixel)
                                                  : "none (image pixels)"});
    if (spec.magnification) rows.push_back({"Magnification", format("%.0f×", *spec.magnification)});
    return rows;
}

std::string fitName(const SlideAnalysis& a) {
    if (a.grid.wholeImage) return "whole image resized to the model input";
    return format("patches of %.0f px", a.grid.patchSize) +
           format(", stride %.0f px", a.grid.stride);
}

std::vector<ReportRow> methodRows(const SlideAnalysis& a, const std::string& className) {
    const AnalysisSettings& s = a.settings;
    std::vector<ReportRow> rows{{"CAM method", s.method},
                                {"Explained class", className},
                                {"Target layer", a.layer.empty() ? "(default)" : a.layer},
                                {"Patches", fitName(a)},
                                {"Overlap", percent(s.overlap)}};
    rows.push_back({"Tissue detection",
                    s.detectTissue ? "on, at least " + percent(s.minTissue) + " tissue per patch"
                                   : "off (every patch)"});
    if (s.slice > 0) rows.push_back({"Slice", std::to_string(s.slice + 1)});
    rows.push_back({"Heat scale", "slide-wide min–max of the CAM"});
    return rows;
}

std::vector<ReportRow> scoreRows(const SlideAnalysis& a, const AnalysisSummary& s) {
    const std::size_t done = a.doneCount();
    std::vector<ReportRow> rows;
    if (s.wholeImage) {
        rows.push_back({"Image probability", format("%.3f", s.topMean)});
    } else {
        rows.push_back({"Slide score", format("%.3f", s.topMean) +
                                           " (mean probability of the top " +
                                           std::to_string(s.topK) + " patches)"});
        rows.push_back(
            {"Patches at or above " + format("%.2f", s.threshold), percent(s.shareAbove)});
    }
    rows.push_back({"Patches analysed", std::to_string(done) + " of " +
                                            std::to_string(a.outcomes.size()) +
                                            (a.complete() ? "" : " — analysis incomplete")});
    rows.push_back({"Regions at or above " + format("%.2f", s.threshold),
                    std::to_string(s.topRegions.size())});
    return rows;
}

std::vector<ReportAnnotationClass> annotationRows(const AnnotationSet& set, const ImageInfo& info) {
    const PixelSize pixel = pixelSizeOf(info);
    struct Totals {
        std::size_t count = 0, areas = 0, lines = 0;
        double area = 0, length = 0;
    };
    std::map<std::string, Totals> perClass;
    for (const Annotation& a : set.items) {
        const Measurement m = measure(a.geometry, pixel);
        Totals& t = perClass[a.className];
        ++t.count;
        if (a.geometry.isArea()) ++t.areas, t.area += m.area;
        if (a.geometry.isLine()) ++t.lines, t.length += m.length;
    }
    std::vector<ReportAnnotationClass> rows;
    for (const auto& [name, t] : perClass) {
        ReportAnnotationClass row;
        row.name = name.empty() ? "(none)" : name;
        if (const AnnotationClass* c = set.findClass(name)) row.colour = c->colour;
        row.count = t.count;
        row.area = t.areas ? areaText(t.area, pixel) : "—";
        row.length = t.lines ? lengthText(t.length, pixel) : "—";
        rows.push_back(std::move(row));
    }
    return rows;
}

// The best epoch's validation metrics, and what the run was.
std::vector<ReportRow> trainingRowsFromJson(const json& report) {
    std::vector<ReportRow> rows;
    rows.push_back({"Outcome", report.value("outcome", std::string("?"))});
    const int best = report.value("best_epoch", 0);
    rows.push_back({"Best epoch", best ? std::to_string(best) : "none"});
    auto countText = [&](const char* key) {
        std::string text;
        const auto classes = report.value("classes", std::vector<std::string>{});
        const auto counts = report.value(key, std::vector<int>{});
        for (std::size_t i = 0; i < counts.size(); ++i)
            text += (text.empty() ? "" : ", ") + (i < classes.size() ? classes[i] : "?") + " " +
                    std::to_string(counts[i]);
        return text.empty() ? std::string("—") : text;
    };
    rows.push_back({"Training images", countText("train_counts")});
    rows.push_back({"Validation images", countText("validation_counts")});
    if (!report.contains("history") || !report["history"].is_array()) return rows;
    for (const json& epoch : report["history"]) {
        if (!epoch.is_object() || epoch.value("epoch", 0) != best) continue;
        rows.push_back({"Validation accuracy", percent(epoch.value("validation_accuracy", 0.0))});
        if (epoch.contains("metrics") && epoch["metrics"].is_object()) {
            const json& m = epoch["metrics"];
            rows.push_back({"Macro F1", format("%.3f", m.value("macro_f1", 0.0))});
            if (m.contains("roc_auc") && m["roc_auc"].is_number())
                rows.push_back({"ROC AUC", format("%.3f", m["roc_auc"].get<double>())});
        }
    }
    return rows;
}

}  // namespace

const std::vector<std::string>& patientPropertyKeys() {
    static const std::vector<std::string> keys{"dicom.PatientName", "dicom.PatientID",
                                               "dicom.PatientBirthDate"};
    return keys;
}

std::vector<ReportRow> trainingRowsFor(const std::string& modelPath) {
    const fs::path model(modelPath);
    const fs::path path = model.parent_path() / (model.stem().string() + ".report.json");
    std::error_code error;
    if (!fs::is_regular_file(path, error)) return {};
    const std::string name = path.filename().string();
    if (fs::file_size(path, error) > kMaxTrainingReportBytes)
        return {{"Training report", name + ": larger than 32 MiB, not read"}};
    try {
        std::ifstream in(path, std::ios::binary);
        const json report = json::parse(in);
        if (!report.is_object()) throw std::runtime_error("not a JSON object");
        std::vector<ReportRow> rows{{"Training report", name}};
        for (ReportRow& row : trainingRowsFromJson(report)) rows.push_back(std::move(row));
        return rows;
    } catch (const std::exception& e) {
        return {{"Training report", name + ": cannot be read (" + e.what() + ")"}};
    }
}

CaseReportData gatherCaseReport(const CaseReportInputs& in) {
    if (!in.analysis || !in.image || !in.model)
        throw std::invalid_argument("case report: the analysis, image and model are required");
    const SlideAnalysis& a = *in.analysis;
    CaseReportData r;
    r.imageName = fs::path(in.image->path).filename().string();
    r.image = imageRows(*in.image);
    if (in.includePatientDetails) r.patient = patientRows(*in.image);
    r.model = modelRows(*in.model, in.modelPath);
    r.training = trainingRowsFor(in.modelPath);
    r.explainedClass = a.explainedClass >= 0 && std::size_t(a.explainedClass) < a.classes.size()
                           ? a.classes[std::size_t(a.explainedClass)]
                           : std::to_string(a.explainedClass);
    r.method = methodRows(a, r.explainedClass);
    const AnalysisSummary summary = summarise(a, 10, 0.5, in.maxRegions);
    r.score = scoreRows(a, summary);
    r.histogram = summary.histogram;
    r.regions = summary.topRegions;
    for (const auto& region : r.regions)
        r.regionAreas.push_back(regionAreaText(region.area, in.image->mppX, in.image->mppY));
    if (in.annotations) r.annotations = annotationRows(*in.annotations, *in.image);
    r.software = "Lucida " + lucidaVersion() + " (commit " + gitCommit() + ")";
    r.created = utcNow();
    return r;
}

}  // namespace lucida
