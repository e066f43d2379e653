#include "train/ImageFolder.h"
#include "util/Random.h"

#include "image/FileError.h"
#include "image/ImageSource.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <thread>

namespace lucida {

namespace fs = std::filesystem;

namespace {

bool hidden(const fs::path& p) {
    const std::string name = p.filename().string();
    return name.empty() || name.front() == '.';
}

// Visible entries of `dir` that satisfy `keep`, sorted by name (directory order is arbitrary).
template <class Keep>
std::vector<std::string> sortedEntries(const fs::path& dir, Keep keep) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (!hidden(it->path()) && keep(*it)) names.push_back(it->path().filename().string());
    if (ec) throw std::runtime_error("cannot list folder '" + dir.string() + "': " + ec.message());
    std::sort(names.begin(), names.end());
    return names;
}

bool isDirectory(const fs::directory_entry& e) {
    std::error_code ec;
    return e.is_directory(ec);
}

bool isRegularFile(const fs::directory_entry& e) {
    std::error_code ec;
    return e.is_regular_file(ec);
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
    return out;
}

// The class sub-folders of `root`, checked for existence and count.
std::vector<std::string> classFolders(const std::string& root, const char* role, bool needTwo) {
    std::error_code ec;
    const auto status = fs::status(root, ec);
    if (ec || !fs::exists(status))
        throw std::runtime_error(std::string(role) + " folder '" + root + "' does not exist");
    if (!fs::is_directory(status))
        throw std::runtime_error(std::string(role) + " folder '" + root + "' is not a folder");
    std::vector<std::string> classes = sortedEntries(root, isDirectory);
    if (classes.empty())
        throw std::runtime_error(std::string(role) + " folder '" + root +
                                 "' has no class sub-folders (one sub-folder of images per class "
                                 "is expected)");
    if (needTwo && classes.size() == 1)
        throw std::runtime_error(std::string(role) + " folder '" + root +
                                 "' has a single class ('" + classes.front() +
                                 "'); training needs at least two classes");
    return classes;
}

// Opens every candidate file (several at once: raster sources decode the whole file) and sorts
// the outcomes into images and skipped files, keeping the candidates' order.
void scanFiles(const std::vector<LabelledImage>& candidates, ImageFolder& out) {
    std::vector<std::string> failure(candidates.size());
    std::vector<char> ok(candidates.size(), 0);
    std::atomic<std::size_t> next{0};
    auto work = [&] {
        for (std::size_t i = next++; i < candidates.size(); i = next++) {
            try {
                openImage(candidates[i].path);
                ok[i] = 1;
            } catch (const FileError& e) {
                failure[i] = e.reason();
            } catch (const std::exception& e) {
                failure[i] = e.what();
            }
        }
    };
    const std::size_t threadCount =
        std::min<std::size_t>(candidates.size(), std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threadCount; ++t) pool.emplace_back(work);
    work();
    for (std::thread& t : pool) t.join();
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (ok[i])
            out.images.push_back(candidates[i]);
        else
            out.skipped.push_back({candidates[i].path, failure[i]});
    }
}

ImageFolder scan(const std::string& root, std::vector<std::string> classes) {
    ImageFolder out;
    out.classes = std::move(classes);
    std::vector<LabelledImage> candidates;
    for (std::size_t c = 0; c < out.classes.size(); ++c) {
        const fs::path dir = fs::path(root) / out.classes[c];
        for (const std::string& name : sortedEntries(dir, isRegularFile))
            candidates.push_back({(dir / name).string(), static_cast<int>(c)});
    }
    scanFiles(candidates, out);
    const std::vector<int> counts = out.countsPerClass();
    for (std::size_t c = 0; c < counts.size(); ++c)
        if (counts[c] == 0)
            throw std::runtime_error("class folder '" + (fs::path(root) / out.classes[c]).string() +
                                     "' has no readable image");
    return out;
}

}  // namespace

std::vector<int> ImageFolder::countsPerClass() const {
    std::vector<int> counts(classes.size(), 0);
    for (const LabelledImage& image : images)
        if (image.label >= 0 && static_cast<std::size_t>(image.label) < counts.size())
            ++counts[static_cast<std::size_t>(image.label)];
    return counts;
}

ImageFolder scanImageFolder(const std::string& root) {
    return scan(root, classFolders(root, "training data", true));
}

ImageFolder scanValidationFolder(const std::string& root, const std::vector<std::string>& classes) {
    std::vector<std::string> found = classFolders(root, "validation", false);
    std::vector<std::string> expected = classes, missing, extra;
    std::sort(expected.begin(), expected.end());
    std::set_difference(expected.begin(), expected.end(), found.begin(), found.end(),
                        std::back_inserter(missing));
    std::set_difference(found.begin(), found.end(), expected.begin(), expected.end(),
                        std::back_inserter(extra));
    if (!missing.empty() || !extra.empty()) {
        std::string message = "validation folder '" + root +
                              "' must have the same class folders as the training data";
        if (!missing.empty()) message += "; missing: " + joined(missing);
        if (!extra.empty()) message += "; not in the training data: " + joined(extra);
        throw std::runtime_error(message);
    }
    // Labels index the training classes, whatever order they were given in.
    return scan(root, classes);
}

Split splitStratified(const std::vector<LabelledImage>& images, int classCount,
                      double validationFraction, std::uint64_t seed) {
    if (!(validationFraction >= 0.0 && validationFraction < 1.0))
        throw std::invalid_argument("validation fraction must be in [0, 1), not " +
                                    std::to_string(validationFraction));
    if (classCount < 0) throw std::invalid_argument("negative class count");
    std::vector<std::vector<LabelledImage>> byClass(static_cast<std::size_t>(classCount));
    for (const LabelledImage& image : images) {
        if (image.label < 0 || image.label >= classCount)
            throw std::invalid_argument(image.path + ": label " + std::to_string(image.label) +
                                        " is outside 0.." + std::to_string(classCount - 1));
        byClass[static_cast<std::size_t>(image.label)].push_back(image);
    }
    Split split;
    std::mt19937_64 rng(seed);
    for (auto& members : byClass) {
        // Sorted first so that the input order does not matter.
        std::sort(members.begin(), members.end(),
                  [](const LabelledImage& a, const LabelledImage& b) { return a.path < b.path; });
        const std::size_t n = members.size();
        std::size_t take = 0;
        if (validationFraction > 0 && n >= 2)
            // At least one per class to validate, and one left to train on.
            take = std::clamp<std::size_t>(
                static_cast<std::size_t>(std::llround(validationFraction * double(n))), 1, n - 1);
        std::vector<std::size_t> order(n);
        for (std::size_t i = 0; i < n; ++i) order[i] = i;
        for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[uniformBelow(rng, i)]);
        std::vector<char> toValidation(n, 0);
        for (std::size_t i = 0; i < take; ++i) toValidation[order[i]] = 1;
        for (std::size_t i = 0; i < n; ++i)
            (toValidation[i] ? split.validation : split.train).push_back(members[i]);
    }
    return split;
}

}  // namespace lucida
