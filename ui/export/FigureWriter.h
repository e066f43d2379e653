#pragma once
// A figure written to a file, whole or not at all (core/io/AtomicFile): PNG and TIFF with the DPI
// recorded (PNG pHYs, TIFF resolution), JPEG, and SVG and PDF in which the slide and heat are
// embedded images and everything else stays vector shapes and text. No metadata names a patient:
// the only title written is "Lucida figure". With a FigureProgress, the encoder's output counts
// its bytes and stops at the next write once the export is cancelled (FigureCancelled).

#include "FigureRenderer.h"

#include <QByteArray>

namespace lucida::ui {

class FigureProgress;

// The figure's bytes in `format`. Throws std::runtime_error saying why.
QByteArray encodeFigure(const FigureRenderer& renderer, const FigureOptions& options,
                        FigureFormat format, FigureProgress* progress = nullptr);

// Writes `path` in the format of its extension. Throws std::runtime_error naming the file, or
// FigureCancelled (nothing written: the file appears whole or not at all).
void writeFigure(const QString& path, const FigureRenderer& renderer, const FigureOptions& options,
                 FigureProgress* progress = nullptr);

}  // namespace lucida::ui
