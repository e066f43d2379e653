// Dense mode's receptive-field and streaming arithmetic (see DenseGeometry.h).
#include "cam/DenseGeometry.h"

#include <algorithm>

namespace lucida::dense {

ReceptiveField receptiveFieldOf(const std::vector<std::vector<SpatialLayer>>& steps) {
    ReceptiveField f;
    if (steps.empty()) return f;
    int jump = 1;
    std::vector<int> before, after;
    for (const auto& step : steps) {
        for (const SpatialLayer& l : step) {
            f.before += l.padding * jump;
            f.after += (l.kernel - 1 - l.padding) * jump;
            jump *= l.stride;
        }
        f.jump.push_back(jump);
        before.push_back(f.before);
        after.push_back(f.after);
    }
    f.stride = jump;
    for (std::size_t k = 0; k < steps.size(); ++k) {
        f.restBefore.push_back(f.before - before[k]);
        f.restAfter.push_back(f.after - after[k]);
    }
    return f;
}

int roundUp(int value, int step) { return (value + step - 1) / step * step; }
int floorTo(int value, int step) {
    return value >= 0 ? value / step * step : -((-value + step - 1) / step) * step;
}

int stepBefore(const ReceptiveField& f, std::size_t s) {
    return (s == 0 ? f.before : f.restBefore[s - 1]) - f.restBefore[s];
}

bool nextInRow(const DenseRect& previous, const DenseRect& inner, int s) {
    return inner.y == previous.y && inner.height == previous.height &&
           inner.x == previous.x + roundUp(previous.width, s);
}

std::vector<std::size_t> coverAbove(const std::vector<DenseRect>& above, const DenseRect& inner,
                                    int s) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < above.size(); ++i)
        if (above[i].y + roundUp(above[i].height, s) == inner.y && above[i].width > 0)
            order.push_back(i);
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return above[a].x < above[b].x; });
    std::vector<std::size_t> cover;
    int cursor = inner.x;
    const int end = inner.x + inner.width;
    for (std::size_t i : order) {
        if (cursor >= end) break;
        const DenseRect& r = above[i];
        const int right = r.x + r.width;
        if (right <= cursor) continue;
        if (r.x > cursor) return {};
        cover.push_back(i);
        cursor = right;
    }
    return cursor >= end ? cover : std::vector<std::size_t>{};
}

int streamedReadX(const ReceptiveField& f, int last, int wholeX) {
    const int j = f.jump.front();
    return std::max(wholeX, floorTo(last + j - stepBefore(f, 0), j));
}

int streamedStart(const ReceptiveField& f, int first, int s, int whole) {
    const int last = floorTo(first - s + f.restAfter.front(), f.jump.front());
    return streamedReadX(f, last, whole);
}

}  // namespace lucida::dense
