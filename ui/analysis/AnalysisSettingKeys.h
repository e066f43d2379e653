#pragma once
// Every QSettings key of the analysis, in one place (ModelSession reads and writes them; the
// results place is ResultsLocation's).

namespace lucida::ui::analysis_keys {

inline constexpr char kLastModel[] = "analysis/lastModel";        // opened again at start-up
inline constexpr char kRecentModels[] = "analysis/recentModels";  // newest first (RecentFiles)
inline constexpr char kLive[] = "analysis/live";                  // live heat while panning
inline constexpr char kMethod[] = "analysis/method";              // CAM method name
inline constexpr char kEigenSmooth[] = "analysis/eigenSmooth";    // bool: ExplainOptions
inline constexpr char kFlipSmooth[] = "analysis/flipSmooth";      // bool: test-time flips
inline constexpr char kFit[] = "analysis/fit";              // 0 auto, 1 whole image, 2 patches
inline constexpr char kOverlap[] = "analysis/overlap";      // 0, 0.25, 0.5
inline constexpr char kMode[] = "analysis/mode";            // "dense" (default) or "patch"
inline constexpr char kPrecision[] = "analysis/precision";  // "fp32" (default) or "int8"
inline constexpr char kLayer[] = "analysis/layer";          // 0 CAM, 1 probability
inline constexpr char kNormalisation[] = "analysis/normalisation";  // 0 slide-wide, 1 per patch
inline constexpr char kColourMap[] = "analysis/colourMap";          // colour map name
inline constexpr char kOpacity[] = "analysis/opacity";              // 0..1
inline constexpr char kThreshold[] = "analysis/threshold";          // 0..1
inline constexpr char kResultsBesideImage[] = "analysis/resultsBesideImage";  // else user store

}  // namespace lucida::ui::analysis_keys
