#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lucida {

// One labelled image of a training set.
struct LabelledImage {
    std::string path;
    int label = 0;  // index into ImageFolder::classes
};

// A file that was skipped, and why (shown to the user; training never aborts on one bad image).
struct SkippedFile {
    std::string path;
    std::string reason;
};

// A labelled image set in PyTorch's ImageFolder convention: one sub-folder per class, class names
// sorted. Either one root (then split with splitStratified) or separate train/validation roots
// with the same class folders.
struct ImageFolder {
    std::vector<std::string> classes;
    std::vector<LabelledImage> images;
    std::vector<SkippedFile> skipped;  // unreadable or unsupported files found while scanning

    std::vector<int> countsPerClass() const;
};

// Scans `root`: every regular file of a class sub-folder that Lucida's image sources open (the
// header is read; files that fail are listed in `skipped` with the reason). Hidden files are
// ignored. Throws std::runtime_error naming the folder when it does not exist, has no class
// sub-folders, has fewer than two classes, or a class folder has no readable image.
ImageFolder scanImageFolder(const std::string& root);

// A validation folder must have the train folder's classes (same names); throws otherwise.
ImageFolder scanValidationFolder(const std::string& root, const std::vector<std::string>& classes);

struct Split {
    std::vector<LabelledImage> train;
    std::vector<LabelledImage> validation;
};

// Stratified: each class contributes round(fraction * count) images (at least one when it has
// two or more, and never all of them) to validation; the choice depends only on the seed and the
// sorted paths. Fraction 0 puts everything in train; outside [0, 1) throws std::invalid_argument.
// Both parts are ordered by class, then path.
Split splitStratified(const std::vector<LabelledImage>& images, int classCount,
                      double validationFraction, std::uint64_t seed);

}  // namespace lucida
