#pragma once

#include <cstdint>
#include <numeric>
#include <vector>

namespace lucida {

// A dense float32 array on the host, row-major, as it crosses the boundary of the model code
// (which alone sees LibTorch). Shapes follow PyTorch: images are N x C x H x W.
struct FloatTensor {
    std::vector<std::int64_t> shape;
    std::vector<float> data;

    FloatTensor() = default;
    explicit FloatTensor(std::vector<std::int64_t> s)
        : shape(std::move(s)), data(static_cast<std::size_t>(numel(shape))) {}

    static std::int64_t numel(const std::vector<std::int64_t>& s) {
        return std::accumulate(s.begin(), s.end(), std::int64_t{1}, std::multiplies<>());
    }
    std::int64_t size(int dim) const { return shape.at(static_cast<std::size_t>(dim)); }
    int dims() const { return static_cast<int>(shape.size()); }
};

}  // namespace lucida
