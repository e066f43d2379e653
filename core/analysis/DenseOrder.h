#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

namespace lucida {

// A rectangle of feature cells: columns [x, x + width), rows [y, y + height).
struct CellBox {
    int x = 0, y = 0, width = 0, height = 0;

    bool intersects(const CellBox& o) const {
        return x < o.x + o.width && o.x < x + width && y < o.y + o.height && o.y < y + height;
    }
};

// In which order dense mode runs its tiles, and which patches each finished tile completes.
// A patch is complete once every tile its window touches has run, whatever the order, so the
// order can follow the view (tiles under the patches on screen first, then outwards, as patch
// mode's live heat does) and change between tiles without computing anything twice: each
// patch's outcome is cut from the same tiles' maps either way.
class DenseSchedule {
public:
    // `tiles`: the tiles' cells in the plan's order (the order without a view; tiles do not
    // overlap); `patches`: (grid index, window cells) of every patch to complete. Throws
    // std::logic_error when a window has a cell that no tile covers.
    DenseSchedule(std::vector<CellBox> tiles, std::vector<std::pair<std::size_t, CellBox>> patches);

    // Queues the tiles not yet taken for a view ({x, y, width, height} in cells; none: the plan's
    // order). With a view, the tiles the patches intersecting it need come first, nearest the
    // view's centre first, then (wholeSlide) the rest outwards from it. Without wholeSlide only
    // those the view needs are queued.
    void order(const std::optional<std::array<double, 4>>& view, bool wholeSlide);
    // The next queued tile (nullopt: none queued), which leaves the queue.
    std::optional<std::size_t> take();
    std::size_t queued() const { return queue_.size() - next_; }
    // Incomplete patches the last order() asked for (every one, or those in view).
    std::size_t queuedPatches() const { return queuedPatches_; }

    // Tile `tile` has run: the slots (positions in the constructor's `patches`) of the patches
    // it completes (their every tile has run), in the order given; `released` gets the tiles no
    // pending patch needs any more (their maps can go).
    std::vector<std::size_t> finish(std::size_t tile, std::vector<std::size_t>& released);
    // The tiles a patch's window touches.
    const std::vector<std::size_t>& tilesOf(std::size_t slot) const { return needs_[slot]; }
    std::size_t gridIndex(std::size_t slot) const { return patches_[slot].first; }
    const CellBox& tile(std::size_t t) const { return tiles_[t]; }
    const CellBox& window(std::size_t slot) const { return patches_[slot].second; }

private:
    std::vector<CellBox> tiles_;
    std::vector<std::pair<std::size_t, CellBox>> patches_;
    std::vector<std::vector<std::size_t>> needs_;     // per patch slot: its tiles
    std::vector<std::vector<std::size_t>> neededBy_;  // per tile: the patch slots needing it
    std::vector<int> missing_;                        // per patch slot: tiles not yet run
    std::vector<int> pending_;                        // per tile: incomplete patches needing it
    std::vector<char> state_;                         // per tile: 0 waiting, 1 taken
    std::vector<char> wanted_;                        // per patch slot: asked for by order()
    std::size_t queuedPatches_ = 0;
    std::vector<std::size_t> queue_;
    std::size_t next_ = 0;
};

}  // namespace lucida
