#pragma once
// The viewer's version report: what `lucida --version` prints and the About box shows.
#include <string>

namespace lucida::ui {

// Lucida's version and commit, then Qt (run-time), LibTorch, OpenSlide, DCMTK, OpenCV, libtiff
// and the compute device, one per line. LibTorch is a plugin loaded with the first model: with
// loadLibTorch it is loaded to be named (--version), else it is named only once loaded (About).
std::string viewerVersionReport(bool loadLibTorch = false);

}  // namespace lucida::ui
