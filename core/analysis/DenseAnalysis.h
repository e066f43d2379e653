#pragma once

#include "analysis/SlideAnalysis.h"

#include <string>

namespace lucida {

class Model;
class PatchStore;
class TileRegionReader;

// Why dense mode cannot run this analysis ("" when it can): the model or method (denseSupport),
// a whole-image fit, or a patch stride that is not a whole number of feature cells.
std::string denseRefusal(const Model& model, const SlideAnalysis& analysis);

// Dense mode's part of analyseSlide: the trunk over large tiles (with receptive-field halos) of
// the patch grid's area and from the stitched maps every not-yet-done patch's outcome — its CAM the
// crop of the continuous map, its probabilities the head on its window's mean features — appended
// to `store` and `analysis` as patch mode's would be, so that everything downstream (stitching,
// rasters, the viewer) is the same. The tiles run in the plan's order (top to bottom) without
// callbacks.focus; with it, those under the patches in view first, then outwards, re-ordered
// between tiles when the view moves (DenseOrder.h); with callbacks.wholeSlide false only those the
// view needs, then it waits as patch mode does. A patch's outcome is the same in any order.
// `doneTotal` counts done patches. Returns when done or cancelled (callbacks.cancelled, polled
// between tiles).
// Tiles are read through `tiles` (the run's or the viewer's cache and loader, as patch mode's).
void analyseDense(const ImageSource& source, TileRegionReader& tiles, const Model& model,
                  SlideAnalysis& analysis, PatchStore& store, const AnalysisCallbacks& callbacks,
                  std::size_t& doneTotal);

}  // namespace lucida
