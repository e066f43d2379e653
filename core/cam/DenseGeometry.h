#pragma once
// Dense mode's arithmetic on model pixels, without LibTorch: a trunk's receptive field per step
// and where tiles that stream from their neighbours (DenseCarry) start reading.
#include "cam/DenseCam.h"  // DenseRect
#include "model/Model.h"   // SpatialLayer

#include <cstddef>
#include <vector>

namespace lucida::dense {

// The receptive field of a trunk, from its layers (cell positions are multiples of the jump; a
// layer of kernel k, stride t, padding p maps output cell o to input cells [o·t − p, o·t − p + k)).
struct ReceptiveField {
    int stride = 0;             // model pixels per final cell (the product of the strides)
    int before = 0, after = 0;  // how far a final cell's field reaches before (Σ p · jump) and
                                // after (Σ (k − 1 − p) · jump) the cell's own position, pixels
    // Per step: pixels per output cell, and the reach of the steps after it (dense mode's crops).
    std::vector<int> jump, restBefore, restAfter;
    bool known() const { return stride > 0; }
};

ReceptiveField receptiveFieldOf(const std::vector<std::vector<SpatialLayer>>& steps);

int roundUp(int value, int step);
int floorTo(int value, int step);  // towards −∞

// The reach of step `s` itself before its first output, model pixels.
int stepBefore(const ReceptiveField& f, std::size_t s);

// Whether `inner` is the next tile of `previous`'s row: the same rows, its first cell right after
// the last one's (`s`: the stride).
bool nextInRow(const DenseRect& previous, const DenseRect& inner, int s);

// Of `above` (tiles run before, their last rows kept), the indices of those that end right above
// `inner` and whose columns, joined, cover inner's, left to right; empty when they do not. Their
// kept outputs then hold at every step what inner's cells reach above their first row (the same
// reach, the same region): `inner` can stream down from them.
std::vector<std::size_t> coverAbove(const std::vector<DenseRect>& above, const DenseRect& inner,
                                    int s);

// Where a tile continuing a row reads from: the first step's own reach before the first column of
// its output the tile before did not compute (that tile's last is at `last`), never before
// `wholeX`, where the tile's whole halo would start. The same for rows below kept last rows.
int streamedReadX(const ReceptiveField& f, int last, int wholeX);

// The first column (or row) a streamed tile reads, `first` being its inner's first: the tile
// before (or above) kept the first step's output up to its last cell's reach after it.
int streamedStart(const ReceptiveField& f, int first, int s, int whole);

}  // namespace lucida::dense
