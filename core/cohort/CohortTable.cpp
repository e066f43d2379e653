#include "cohort/CohortTable.h"
#include "io/AtomicFile.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

namespace lucida {

namespace {
nlohmann::json rowJson(const CohortRow& r) {
    nlohmann::json region = nullptr;
    if (r.hasRegion)
        region = {{"x", r.regionX},
                  {"y", r.regionY},
                  {"width", r.regionWidth},
                  {"height", r.regionHeight},
                  {"probability", r.regionProbability}};
    return {{"image", r.image},
            {"label", r.label},
            {"group", r.group},
            {"status", r.status},
            {"error", r.error},
            {"score", r.score},
            {"score_class", r.scoreClass},
            {"top_region", region},
            {"patches", r.patches},
            {"inferred", r.inferred},
            {"seconds", r.seconds},
            {"outputs", r.outputs},
            {"settings", r.settings}};
}

std::string csvField(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string number(double v) {
    std::ostringstream out;
    out.precision(9);
    out << v;
    return out.str();
}
}  // namespace

CohortRow readCohortRow(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CohortError(path, "cannot open");
    try {
        const auto j = nlohmann::json::parse(in);
        CohortRow r;
        r.image = j.at("image").get<std::string>();
        r.label = j.value("label", "");
        r.group = j.value("group", "");
        r.status = j.at("status").get<std::string>();
        r.error = j.value("error", "");
        r.score = j.value("score", 0.0);
        r.scoreClass = j.value("score_class", "");
        if (j.contains("top_region") && j["top_region"].is_object()) {
            const auto& g = j["top_region"];
            r.hasRegion = true;
            r.regionX = g.at("x"), r.regionY = g.at("y");
            r.regionWidth = g.at("width"), r.regionHeight = g.at("height");
            r.regionProbability = g.at("probability");
        }
        r.patches = j.value("patches", std::size_t(0));
        r.inferred = j.value("inferred", std::size_t(0));
        r.seconds = j.value("seconds", 0.0);
        r.outputs = j.value("outputs", "");
        r.settings = j.value("settings", "");
        return r;
    } catch (const nlohmann::json::exception& e) {
        throw CohortError(path, std::string("not a cohort row: ") + e.what());
    }
}

void writeCohortRow(const std::string& path, const CohortRow& row) {
    writeFileAtomically(path, rowJson(row).dump(2) + "\n");
}

std::optional<CohortAuc> cohortAuc(const std::vector<CohortRow>& rows,
                                   const std::string& positiveClass,
                                   const std::vector<std::string>& classes) {
    std::vector<std::vector<float>> probabilities;
    std::vector<int> labels;
    CohortAuc result;
    for (const auto& r : rows) {
        if (r.status != "done") continue;
        const LabelValue v = labelValue(r.label, positiveClass, classes);
        if (v == LabelValue::Unknown) continue;
        const float s = static_cast<float>(r.score);
        probabilities.push_back({1 - s, s});
        labels.push_back(v == LabelValue::Positive ? 1 : 0);
        (v == LabelValue::Positive ? result.positives : result.negatives)++;
    }
    if (labels.empty()) return std::nullopt;
    const ClassificationMetrics m = computeMetrics(probabilities, labels, 2);
    result.auc = m.rocAuc;
    result.roc = m.roc;
    return result;
}

void writeCohortTable(const std::string& stem, const std::vector<CohortRow>& rows,
                      const std::optional<CohortAuc>& auc) {
    std::string csv =
        "image,label,group,status,score,score_class,region_x,region_y,region_width,"
        "region_height,region_probability,patches,inferred,seconds,error\n";
    nlohmann::json list = nlohmann::json::array();
    std::map<std::string, int> counts;
    for (const auto& r : rows) {
        const auto region = [&](double v) { return r.hasRegion ? number(v) : std::string(); };
        csv += csvField(r.image) + "," + csvField(r.label) + "," + csvField(r.group) + "," +
               r.status + "," + (r.status == "done" ? number(r.score) : "") + "," +
               csvField(r.scoreClass) + "," + region(r.regionX) + "," + region(r.regionY) + "," +
               region(r.regionWidth) + "," + region(r.regionHeight) + "," +
               region(r.regionProbability) + "," + std::to_string(r.patches) + "," +
               std::to_string(r.inferred) + "," + number(r.seconds) + "," + csvField(r.error) +
               "\n";
        list.push_back(rowJson(r));
        counts[r.status]++;
    }
    nlohmann::json j = {{"images", list}, {"counts", counts}};
    if (auc) {
        nlohmann::json roc = nlohmann::json::array();
        for (const auto& p : auc->roc)
            roc.push_back({{"fpr", p.falsePositiveRate},
                           {"tpr", p.truePositiveRate},
                           {"threshold", p.threshold}});
        j["roc"] = {
            {"auc", std::isnan(auc->auc) ? nlohmann::json(nullptr) : nlohmann::json(auc->auc)},
            {"positives", auc->positives},
            {"negatives", auc->negatives},
            {"curve", roc}};
    }
    writeFileAtomically(stem + ".csv", csv);
    writeFileAtomically(stem + ".json", j.dump(2) + "\n");
}

}  // namespace lucida
