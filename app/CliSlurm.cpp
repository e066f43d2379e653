#include "CliSlurm.h"

#include "io/AtomicFile.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <iostream>

namespace lucida::cli {
namespace fs = std::filesystem;

std::string slurmArraySpec(const std::vector<std::size_t>& indices, int maxParallel) {
    std::string spec;
    for (std::size_t i = 0; i < indices.size();) {
        std::size_t j = i;
        while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
        if (!spec.empty()) spec += ",";
        spec += std::to_string(indices[i]);
        if (j > i) spec += "-" + std::to_string(indices[j]);
        i = j + 1;
    }
    if (maxParallel > 0) spec += "%" + std::to_string(maxParallel);
    return spec;
}

namespace {
// One word for the shell, whatever it holds.
std::string quoted(const std::string& word) {
    std::string q = "'";
    for (char c : word) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

std::string jobScript(const BatchArgs& args, const BatchPlaces& places, const std::string& array) {
    std::string s =
        "#!/bin/bash\n# Written by lucida-cli batch --slurm: one image of the cohort "
        "per array task.\n";
    s += "#SBATCH --job-name=lucida-batch\n";
    s += "#SBATCH --array=" + array + "\n";
    s += "#SBATCH --ntasks=1\n";
    s += "#SBATCH --output=" + (places.state() / "logs" / "task-%a.log").string() + "\n";
    if (!args.partition.empty()) s += "#SBATCH --partition=" + args.partition + "\n";
    if (args.cpusPerTask > 0)
        s += "#SBATCH --cpus-per-task=" + std::to_string(args.cpusPerTask) + "\n";
    if (args.gpusPerTask > 0)
        s += "#SBATCH --gpus-per-task=" + std::to_string(args.gpusPerTask) + "\n";
    if (!args.timeLimit.empty()) s += "#SBATCH --time=" + args.timeLimit + "\n";
    AnalyseArgs a = args.analysis;
    a.model = fs::absolute(a.model).string();
    std::string command = quoted(fs::read_symlink("/proc/self/exe").string()) + " batch " +
                          quoted(fs::absolute(args.cohort).string()) + " --out " +
                          quoted(places.out.string());
    if (!a.resultsDir.empty()) command += " --results " + quoted(fs::absolute(a.resultsDir));
    for (const auto& word : analysisOptionWords(a)) command += " " + quoted(word);
    s += "echo \"lucida batch task $SLURM_ARRAY_TASK_ID on $(hostname) at $(date -u)\"\n";
    s += "exec " + command + " --task \"$SLURM_ARRAY_TASK_ID\"\n";
    return s;
}

// Runs a shell command line, returning its exit status and standard output.
int runCapturing(const std::string& command, std::string& output) {
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return -1;
    std::array<char, 4096> buffer{};
    while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
        output.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
}  // namespace

int submitSlurmBatch(const BatchArgs& args, const std::vector<CohortImage>& images,
                     const BatchPlaces& places) {
    std::vector<std::size_t> todo;  // each image with its own settings; excluded ones never
    for (std::size_t n = 1; n <= images.size(); ++n)
        if (!images[n - 1].settings.excluded &&
            !imageDone(places, n, imageSignature(args.analysis, images[n - 1])))
            todo.push_back(n);
    if (todo.empty()) {
        std::cerr << "all " << images.size() << " images are done; nothing submitted ("
                  << "lucida-cli batch collect --out " << places.out.string() << ")\n";
        return 0;
    }
    // A task that is run again starts a fresh log: the old one would tell its old failure.
    for (std::size_t n : todo) fs::remove(places.log(n));
    const auto script = places.state() / "batch.sbatch";
    writeFileAtomically(script.string(),
                        jobScript(args, places, slurmArraySpec(todo, args.maxParallel)));
    fs::permissions(script, fs::perms::owner_exec, fs::perm_options::add);
    std::cerr << todo.size() << " of " << images.size() << " images to analyse; job script "
              << script.string() << "\n";
    if (args.noSubmit) return 0;
    std::string output;
    const std::string command = std::string("sbatch --parsable") + (args.wait ? " --wait" : "") +
                                " " + quoted(script.string());
    const int status = runCapturing(command, output);
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    if (status != 0 && output.empty()) {
        std::cerr << "lucida-cli: sbatch failed (exit " << status << "): is Slurm installed and "
                  << "its controller reachable?\n";
        return 1;
    }
    std::cerr << "submitted job " << output << "; logs in " << (places.state() / "logs").string()
              << "; then: lucida-cli batch collect --out " << places.out.string() << "\n";
    return 0;  // with --wait a failed task makes sbatch exit non-zero: collect tells which
}

}  // namespace lucida::cli
