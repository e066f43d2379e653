#pragma once
// A figure written to a file, whole or not at all (core/io/AtomicFile): PNG and TIFF with the DPI
// recorded (PNG pHYs, TIFF resolution), JPEG, and SVG and PDF in which the slide and heat are
// embedded images and everything else stays vector shapes and text. No metadata names a patient:
// the only title written is "Lucida figure".

#include "FigureRenderer.h"

#include <QByteArray>

namespace lucida::ui {

// The figure's bytes in `format`. Throws std::runtime_error saying why.
QByteArray encodeFigure(const FigureRenderer& renderer, const FigureOptions& options,
                        FigureFormat format);

// Writes `path` in the format of its extension. Throws std::runtime_error naming the file.
void writeFigure(const QString& path, const FigureRenderer& renderer, const FigureOptions& options);

// The figure as an image on the clipboard (GUI only).
void copyFigureToClipboard(const FigureRenderer& renderer, const FigureOptions& options);

}  // namespace lucida::ui
