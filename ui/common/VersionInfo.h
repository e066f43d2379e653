#pragma once
// The viewer's version report: what `lucida --version` prints and the About box shows.
#include <string>

namespace lucida::ui {

// Lucida's version and commit, then Qt (run-time), LibTorch, OpenSlide, DCMTK, OpenCV, libtiff
// and the compute device, one per line.
std::string viewerVersionReport();

}  // namespace lucida::ui
