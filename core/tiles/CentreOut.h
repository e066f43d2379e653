#pragma once

#include "tiles/ViewGeometry.h"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <utility>
#include <vector>

namespace lucida {

// The one centre-out order of everything asked for on screen (image tiles, patches in view,
// queued analysis work): nearest `centre` first by the squared distance of each item's centre,
// `centreOf(item)` (a PointF); equal distances keep the items' given order, so the result is the
// same on every standard library.
template <class Iterator, class CentreOf>
void sortCentreOut(Iterator first, Iterator last, PointF centre, CentreOf centreOf) {
    using Item = typename std::iterator_traits<Iterator>::value_type;
    std::vector<std::pair<double, std::size_t>> order;
    order.reserve(static_cast<std::size_t>(std::distance(first, last)));
    std::size_t position = 0;
    for (Iterator it = first; it != last; ++it) {
        const PointF c = centreOf(*it);
        const double dx = c.x - centre.x, dy = c.y - centre.y;
        order.emplace_back(dx * dx + dy * dy, position++);
    }
    std::sort(order.begin(), order.end());
    std::vector<Item> sorted;
    sorted.reserve(order.size());
    for (const auto& o : order)
        sorted.push_back(std::move(first[static_cast<std::ptrdiff_t>(o.second)]));
    std::move(sorted.begin(), sorted.end(), first);
}

}  // namespace lucida
