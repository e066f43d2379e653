// The order of dense mode's tiles (see DenseOrder.h).
#include "analysis/DenseOrder.h"

#include "tiles/CentreOut.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace lucida {
namespace {

// Tiles by buckets of cells, so that each window finds the few tiles it touches without
// looking at all of them.
class TileBuckets {
public:
    TileBuckets(const std::vector<CellBox>& tiles, int bucket) : bucket_(std::max(1, bucket)) {
        for (const CellBox& t : tiles) {
            columns_ = std::max(columns_, (t.x + t.width + bucket_ - 1) / bucket_);
            rows_ = std::max(rows_, (t.y + t.height + bucket_ - 1) / bucket_);
        }
        lists_.resize(std::size_t(columns_) * std::size_t(rows_));
        for (std::size_t i = 0; i < tiles.size(); ++i)
            for (std::size_t b : bucketsOf(tiles[i])) lists_[b].push_back(i);
    }
    // The tiles intersecting `box`, ascending.
    std::vector<std::size_t> touching(const std::vector<CellBox>& tiles, const CellBox& box) const {
        std::vector<std::size_t> found;
        for (std::size_t b : bucketsOf(box))
            for (std::size_t t : lists_[b])
                if (tiles[t].intersects(box)) found.push_back(t);
        std::sort(found.begin(), found.end());
        found.erase(std::unique(found.begin(), found.end()), found.end());
        return found;
    }

private:
    std::vector<std::size_t> bucketsOf(const CellBox& b) const {
        std::vector<std::size_t> out;
        if (b.width <= 0 || b.height <= 0) return out;
        const int x0 = std::max(0, b.x / bucket_), y0 = std::max(0, b.y / bucket_);
        const int x1 = std::min(columns_ - 1, (b.x + b.width - 1) / bucket_);
        const int y1 = std::min(rows_ - 1, (b.y + b.height - 1) / bucket_);
        for (int y = y0; y <= y1; ++y)
            for (int x = x0; x <= x1; ++x)
                out.push_back(std::size_t(y) * std::size_t(columns_) + std::size_t(x));
        return out;
    }
    int bucket_ = 1, columns_ = 0, rows_ = 0;
    std::vector<std::vector<std::size_t>> lists_;
};

std::int64_t overlapArea(const CellBox& a, const CellBox& b) {
    const int w = std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x);
    const int h = std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y);
    return w > 0 && h > 0 ? std::int64_t(w) * h : 0;
}

}  // namespace

DenseSchedule::DenseSchedule(std::vector<CellBox> tiles,
                             std::vector<std::pair<std::size_t, CellBox>> patches)
    : tiles_(std::move(tiles)), patches_(std::move(patches)) {
    int bucket = 1;
    for (const auto& p : patches_) bucket = std::max({bucket, p.second.width, p.second.height});
    const TileBuckets buckets(tiles_, bucket);
    needs_.resize(patches_.size());
    neededBy_.resize(tiles_.size());
    missing_.resize(patches_.size());
    pending_.assign(tiles_.size(), 0);
    state_.assign(tiles_.size(), 0);
    wanted_.assign(patches_.size(), 0);
    for (std::size_t s = 0; s < patches_.size(); ++s) {
        const CellBox& w = patches_[s].second;
        needs_[s] = buckets.touching(tiles_, w);
        std::int64_t covered = 0;
        for (std::size_t t : needs_[s]) {
            covered += overlapArea(tiles_[t], w);
            neededBy_[t].push_back(s);
            ++pending_[t];
        }
        if (covered != std::int64_t(w.width) * w.height)
            throw std::logic_error("dense plan: the tiles cover " + std::to_string(covered) +
                                   " of the " + std::to_string(std::int64_t(w.width) * w.height) +
                                   " cells of patch " + std::to_string(patches_[s].first));
        missing_[s] = static_cast<int>(needs_[s].size());
    }
    order(std::nullopt, true);
}

void DenseSchedule::order(const std::optional<std::array<double, 4>>& view, bool wholeSlide) {
    queue_.clear();
    next_ = 0;
    queuedPatches_ = 0;
    std::vector<char> forView(tiles_.size(), 0);  // needed by an incomplete patch in view
    for (std::size_t s = 0; s < patches_.size(); ++s) {
        const CellBox& w = patches_[s].second;
        const bool inView = view && w.x < (*view)[0] + (*view)[2] && w.x + w.width > (*view)[0] &&
                            w.y < (*view)[1] + (*view)[3] && w.y + w.height > (*view)[1];
        wanted_[s] = missing_[s] > 0 && (wholeSlide || inView);
        queuedPatches_ += wanted_[s];
        if (missing_[s] > 0 && inView)
            for (std::size_t t : needs_[s]) forView[t] = 1;
    }
    std::vector<std::size_t> outside;
    for (std::size_t t = 0; t < tiles_.size(); ++t) {
        if (state_[t] != 0 || pending_[t] == 0) continue;
        if (forView[t])
            queue_.push_back(t);
        else if (wholeSlide)
            outside.push_back(t);
    }
    if (!view) {  // the plan's order
        queue_ = std::move(outside);
        return;
    }
    const PointF centre{(*view)[0] + (*view)[2] / 2, (*view)[1] + (*view)[3] / 2};
    const auto centreOf = [&](std::size_t t) {
        const CellBox& b = tiles_[t];
        return PointF{b.x + b.width / 2.0, b.y + b.height / 2.0};
    };
    sortCentreOut(queue_.begin(), queue_.end(), centre, centreOf);
    sortCentreOut(outside.begin(), outside.end(), centre, centreOf);
    queue_.insert(queue_.end(), outside.begin(), outside.end());
}

std::optional<std::size_t> DenseSchedule::take() {
    while (next_ < queue_.size()) {
        const std::size_t t = queue_[next_++];
        if (state_[t] == 0) {
            state_[t] = 1;
            return t;
        }
    }
    return std::nullopt;
}

std::vector<std::size_t> DenseSchedule::finish(std::size_t tile,
                                               std::vector<std::size_t>& released) {
    state_[tile] = 1;
    std::vector<std::size_t> complete;
    for (std::size_t s : neededBy_[tile])
        if (--missing_[s] == 0) complete.push_back(s);
    for (std::size_t s : complete) {
        if (wanted_[s]) --queuedPatches_, wanted_[s] = 0;
        for (std::size_t t : needs_[s])
            if (--pending_[t] == 0) released.push_back(t);
    }
    return complete;
}

}  // namespace lucida
