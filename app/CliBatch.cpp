#include "CliBatch.h"
#include "CliBatchPlaces.h"
#include "CliInterrupt.h"
#include "CliSlurm.h"

#include "cohort/Cohort.h"
#include "cohort/CohortTable.h"
#include "engine/ModelEngine.h"
#include "io/AtomicFile.h"
#include "model/Model.h"
#include "util/ProgressText.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>

namespace lucida::cli {
namespace fs = std::filesystem;

BatchCommands addBatchCommand(CLI::App& app, BatchArgs& a) {
    auto* cmd = app.add_subcommand(
        "batch",
        "Analyse every image of a cohort (CSV manifest, project or folder), here or as a "
        "Slurm job array, into per-image outputs and a cohort table");
    cmd->add_option("COHORT", a.cohort,
                    "CSV manifest (path[,label[,group]]), project file (.json) or folder");
    addAnalysisOptions(*cmd, a.analysis);
    cmd->get_option("--model")->required(false);  // not for `collect`; runBatch checks it
    cmd->add_option("--out", a.analysis.outDir,
                    "output folder: each image's outputs, cohort.csv and cohort.json");
    cmd->add_option("--results", a.analysis.resultsDir,
                    "where per-patch results are kept for reuse and resume (default: --out)");
    cmd->add_option("--task", a.task,
                    "analyse only image N of the cohort (from 1), as one Slurm array task does");
    cmd->add_flag("--slurm", a.slurm, "write and submit a Slurm job array, one image per task");
    cmd->add_option("--partition", a.partition, "Slurm partition");
    cmd->add_option("--gpus-per-task", a.gpusPerTask, "GPUs each task asks for")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--cpus-per-task", a.cpusPerTask, "CPU cores each task asks for")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--max-parallel", a.maxParallel, "at most K tasks at once (%K)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--time", a.timeLimit, "Slurm time limit of each task (e.g. 04:00:00)");
    cmd->add_flag("--no-submit", a.noSubmit, "with --slurm: write the job script, do not submit");
    cmd->add_flag("--wait", a.wait, "with --slurm: wait for the job to end, then collect");
    auto* collect = cmd->add_subcommand(
        "collect", "Merge the tasks' results into the cohort table; name failed tasks and why");
    collect->add_option("--out", a.analysis.outDir, "the batch's output folder")->required();
    return {cmd, collect};
}

std::string settingsSignature(const AnalyseArgs& args) {
    std::error_code ec;
    const auto size = fs::file_size(args.model, ec);
    const auto time = fs::last_write_time(args.model, ec).time_since_epoch().count();
    std::string s =
        fs::absolute(args.model).string() + ":" + std::to_string(size) + ":" + std::to_string(time);
    for (const auto& word : analysisOptionWords(args))
        if (word != args.model) s += " " + word;
    if (args.pixelSize > 0) s += " --pixel-size " + std::to_string(args.pixelSize);
    return s;
}

AnalyseArgs imageArgs(const AnalyseArgs& batch, const CohortImage& image) {
    AnalyseArgs a = batch;
    const ImageSettings& own = image.settings;
    if (own.pixelSize) a.pixelSize = *own.pixelSize;
    if (own.mode) a.mode = modeName(*own.mode);
    if (own.int8) a.precision = analysisPrecisionName(*own.int8);
    if (own.overlap) a.overlap = *own.overlap;
    if (own.fit) a.fit = fitName(*own.fit);
    if (own.method) a.method = *own.method;
    if (own.classChoice) a.classChoice = *own.classChoice;
    if (own.layer) a.layer = *own.layer;
    if (own.minTissue) a.minTissue = *own.minTissue;
    a.slide = image.path;
    return a;
}

std::string imageSignature(const AnalyseArgs& batch, const CohortImage& image) {
    return settingsSignature(imageArgs(batch, image));
}

std::optional<CohortRow> currentRow(const BatchPlaces& places, std::size_t n,
                                    const std::string& signature) {
    if (!fs::exists(places.row(n))) return std::nullopt;
    try {
        CohortRow row = readCohortRow(places.row(n).string());
        if (row.settings == signature) return row;
    } catch (const std::exception&) {
        // A damaged row: the image runs again.
    }
    return std::nullopt;
}

bool imageDone(const BatchPlaces& places, std::size_t n, const std::string& signature) {
    const auto row = currentRow(places, n, signature);
    return row && row->status == "done" && fs::exists(row->outputs);
}

namespace {
void checkDistinctNames(const std::string& cohort, const std::vector<CohortImage>& images) {
    std::map<std::string, std::string> seen;
    for (const auto& image : images) {
        const std::string name = fs::path(image.path).filename().string();
        const auto [it, fresh] = seen.emplace(name, image.path);
        if (!fresh)
            throw CohortError(cohort, "two images named " + name + " (" + it->second + ", " +
                                          image.path + "): their outputs would collide");
    }
}

// Each image's signature, in cohort order.
std::vector<std::string> imageSignatures(const AnalyseArgs& batch,
                                         const std::vector<CohortImage>& images) {
    std::vector<std::string> signatures;
    for (const auto& image : images) signatures.push_back(imageSignature(batch, image));
    return signatures;
}

void writeBatchFile(const BatchPlaces& places, const BatchArgs& args,
                    const std::vector<CohortImage>& images,
                    const std::vector<std::string>& classes) {
    fs::create_directories(places.state() / "tasks");
    fs::create_directories(places.state() / "logs");
    const nlohmann::json j = {{"cohort", fs::absolute(args.cohort).string()},
                              {"classes", classes},
                              {"settings", settingsSignature(args.analysis)},
                              {"image_settings", imageSignatures(args.analysis, images)}};
    writeFileAtomically(places.batchFile().string(), j.dump(2) + "\n");
}

CohortRow rowOf(const CohortImage& image) {
    CohortRow row;
    row.image = image.path;
    row.label = image.label;
    row.group = image.group;
    return row;
}

CohortRow analyseOne(const BatchArgs& args, const Model& model, const CohortImage& image,
                     const std::function<bool()>& cancelled) {
    CohortRow row = rowOf(image);
    const AnalyseArgs one = imageArgs(args.analysis, image);
    row.settings = settingsSignature(one);
    try {
        const SlideRun run = analyseSlideToOutputs(one, model, cancelled, std::cerr, true);
        row.status = run.complete ? "done" : "cancelled";
        row.score = run.score;
        row.scoreClass = run.className;
        row.hasRegion = run.hasRegion;
        row.regionX = run.regionX, row.regionY = run.regionY;
        row.regionWidth = run.regionW, row.regionHeight = run.regionH;
        row.regionProbability = run.regionProbability;
        row.patches = run.patches;
        row.inferred = run.inferred;
        row.seconds = run.seconds;
        row.outputs = fs::absolute(run.jsonPath).string();
    } catch (const std::exception& e) {
        row.status = "failed";
        row.error = e.what();
        std::cerr << "failed: " << image.path << ": " << e.what() << "\n";
    }
    return row;
}

// The last non-empty lines of a task's log, as the reason it left no result.
std::string logTail(const fs::path& log) {
    std::ifstream in(log);
    if (!in) return "no result and no log (" + log.string() + "): the task has not run";
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line) && lines.size() < 100000;) {
        if (const auto r = line.rfind('\r'); r != std::string::npos) line = line.substr(r + 1);
        if (!line.empty()) lines.push_back(line);
    }
    std::string tail;
    for (std::size_t i = lines.size() > 3 ? lines.size() - 3 : 0; i < lines.size(); ++i)
        tail += (tail.empty() ? "" : " | ") + lines[i].substr(0, 300);
    return "no result; " + log.string() + " ends: " + (tail.empty() ? "(empty)" : tail);
}

// The table from the row files: images without a current row are "pending" (with why), those
// the project excludes "excluded". `signatures`: each image's (imageSignature).
int writeTable(const BatchPlaces& places, const std::vector<CohortImage>& images,
               const std::vector<std::string>& classes,
               const std::vector<std::string>& signatures) {
    std::vector<CohortRow> rows;
    std::map<std::string, int> counts;
    std::string positive;
    for (std::size_t n = 1; n <= images.size(); ++n) {
        auto row = images[n - 1].settings.excluded ? std::optional<CohortRow>()
                                                   : currentRow(places, n, signatures.at(n - 1));
        if (images[n - 1].settings.excluded) {
            row = rowOf(images[n - 1]);
            row->status = "excluded";
        } else if (!row) {
            row = rowOf(images[n - 1]);
            row->error = logTail(places.log(n));
            row->status = fs::exists(places.log(n)) ? "failed" : "pending";
        }
        if (row->status == "done" && positive.empty()) positive = row->scoreClass;
        if (row->status != "done" && row->status != "excluded")
            std::cerr << "image " << n << " (" << row->image << "): " << row->status
                      << (row->error.empty() ? "" : ": " + row->error) << "\n";
        counts[row->status]++;
        rows.push_back(std::move(*row));
    }
    std::optional<CohortAuc> auc;
    try {
        auc = cohortAuc(rows, positive, classes);
    } catch (const std::invalid_argument& e) {
        std::cerr << "no ROC: " << e.what() << "\n";
    }
    writeCohortTable(places.tableStem(), rows, auc);
    std::cerr << "cohort: " << rows.size() << " images";
    for (const auto& [status, count] : counts) std::cerr << ", " << count << " " << status;
    if (auc)
        std::cerr << "; AUC " << auc->auc << " (" << auc->positives << " positive, "
                  << auc->negatives << " negative)";
    std::cerr << "\ntable: " << places.tableStem() << ".csv, .json\n";
    return counts["done"] + counts["excluded"] == static_cast<int>(rows.size()) ? 0 : 1;
}
}  // namespace

namespace {
// A project that names a results folder keeps its per-patch results there (the viewer's project
// queue shares them) unless --results says otherwise.
BatchArgs withProjectResults(BatchArgs args) {
    if (args.analysis.resultsDir.empty() && !fs::is_directory(args.cohort) &&
        fs::path(args.cohort).extension() == ".json")
        args.analysis.resultsDir = readProject(args.cohort).resultsDir;
    return args;
}
}  // namespace

int runBatch(const BatchArgs& given) {
    const BatchArgs args = withProjectResults(given);
    if (args.cohort.empty()) throw std::invalid_argument("batch: a COHORT is required");
    if (args.analysis.outDir.empty()) throw std::invalid_argument("batch: --out is required");
    if (args.analysis.model.empty()) throw std::invalid_argument("batch: --model is required");
    const auto images = readCohort(args.cohort);
    checkDistinctNames(args.cohort, images);
    if (args.task > images.size())
        throw std::invalid_argument("--task " + std::to_string(args.task) + ": the cohort has " +
                                    std::to_string(images.size()) + " images");
    const BatchPlaces places{fs::absolute(args.analysis.outDir)};
    const std::vector<std::string> signatures = imageSignatures(args.analysis, images);
    auto model =
        modelEngine().openModel(args.analysis.model);  // also checks it before a job is submitted
    if (args.task == 0) writeBatchFile(places, args, images, model->spec().classes);
    if (args.slurm) {
        const int submitted = submitSlurmBatch(args, images, places);
        if (submitted != 0 || !args.wait) return submitted;
        return writeTable(places, images, model->spec().classes, signatures);
    }
    InterruptGuard interrupt;
    const auto cancelled = [&interrupt] { return interrupt.raised(); };
    const auto started = std::chrono::steady_clock::now();
    const std::size_t first = args.task ? args.task : 1,
                      last = args.task ? args.task : images.size();
    int failed = 0;
    for (std::size_t n = first; n <= last && !interrupt.raised(); ++n) {
        if (images[n - 1].settings.excluded || imageDone(places, n, signatures[n - 1])) {
            std::cerr << "[" << n << "/" << images.size() << "] " << images[n - 1].path
                      << (images[n - 1].settings.excluded ? ": excluded by the project\n"
                                                          : ": done before\n");
            continue;
        }
        std::cerr << "[" << n << "/" << images.size() << "] " << images[n - 1].path << "\n";
        const CohortRow row = analyseOne(args, *model, images[n - 1], cancelled);
        writeCohortRow(places.row(n).string(), row);
        failed += row.status == "failed";
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const double rate = (n - first + 1) / std::max(seconds, 1e-9);
        std::cerr << "images "
                  << progressText(n - first + 1, last - first + 1, rate, "images",
                                  secondsLeft(double(last - n), rate))
                  << "\n";
    }
    if (args.task) return failed ? 1 : 0;
    return writeTable(places, images, model->spec().classes, signatures) || failed ? 1 : 0;
}

int runBatchCollect(const BatchArgs& args) {
    const BatchPlaces places{fs::absolute(args.analysis.outDir)};
    std::ifstream in(places.batchFile());
    if (!in) throw CohortError(places.batchFile().string(), "no batch here (run batch first)");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw CohortError(places.batchFile().string(), e.what());
    }
    const auto images = readCohort(j.value("cohort", ""));
    // The signatures the batch ran with (the project's settings may have changed since).
    auto signatures = j.value("image_settings", std::vector<std::string>{});
    if (signatures.size() != images.size())
        signatures.assign(images.size(), j.value("settings", ""));
    return writeTable(places, images, j.value("classes", std::vector<std::string>{}), signatures);
}

}  // namespace lucida::cli
