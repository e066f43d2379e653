#pragma once
// A uniform grid over the annotations' bounding boxes: which objects a view rectangle can touch,
// in time proportional to what is found, so 50,000 detections pan smoothly.

#include "annotations/Annotation.h"

#include <unordered_map>
#include <vector>

namespace lucida {

class AnnotationIndex {
public:
    // `cell`: grid cell side in level-0 pixels.
    explicit AnnotationIndex(double cell = 1024) : cell_(cell) {}

    void rebuild(const std::vector<Annotation>& items);
    // Indices into the items given to rebuild whose bounds intersect `view`, ascending.
    std::vector<std::size_t> query(const Bounds& view) const;

private:
    double cell_;
    std::vector<Bounds> bounds_;
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> cells_;
    std::vector<std::uint32_t> large_;  // objects spanning many cells: always tested
};

}  // namespace lucida
