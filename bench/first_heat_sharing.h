#pragma once
// first_heat_bench's sharing session: how many decodes a live analysis and the view save by
// reading through one TileCache, in the two orders a user meets: the view shows a region at the
// analysis's level and the analysis then runs on it, and the analysis runs on a region first and
// the user then zooms to it.
#include "tiles/TileRegionReader.h"

#include <QString>

#include <cstddef>
#include <cstdint>

namespace lucida::ui {
class TileService;
}

struct SharingCounts {
    // The view at the analysis's level first, then the analysis of exactly that view.
    std::size_t viewTiles = 0;           // tiles the view shows (all decoded by it)
    std::size_t patchesAfterView = 0;    // patches the analysis then read
    lucida::RegionReads readsAfterView;  // how they were served (fromCache: no decode)
    // The loader's tile decodes meanwhile: the view's prefetch ring; the analysis's own are the
    // reads' tile misses.
    std::uint64_t loaderDecodesAfterView = 0;
    // The analysis of a region first, then the view moved there at the analysis's level.
    std::size_t patchesBeforeView = 0;
    std::uint64_t analysisTileDecodes = 0;  // level tiles the analysis decoded
    std::size_t viewTilesCached = 0;        // of the view's tiles, found cached: not decoded
    std::size_t viewTilesThen = 0;          // tiles the view shows there
};

// Opens `slide` in a main window (no model in it: the analysis runs beside it on the window's
// TileService, as the live analysis does) and runs both orders on a fresh cache each. The region
// is the view at the analysis's level centred on the tissue patch nearest the slide's centre.
SharingCounts measureSharing(lucida::ui::TileService& tiles, const QString& slide,
                             const QString& model, int width, int height);
