#pragma once

namespace lucida {

// glibc's malloc tuned for what the process is doing (no-ops elsewhere). LibTorch allocates and
// frees activations of tens of MiB at every training step and inference batch; glibc serves blocks
// above its mmap threshold (adapted only up to 32 MiB) with fresh mappings, so each step faults
// zeroed pages in again — a third of a training run, two thirds of an inference run at a low
// threshold (docs/PERFORMANCE.md). A viewer wants the opposite: freed 256 KiB tiles going back to
// the system at once rather than fragmenting per-thread arenas, so resident memory stays near
// the tile-cache budget.

// For tensors: blocks up to 256 MiB stay on the heap; up to 512 MiB of freed heap is kept.
void useTensorAllocator();

// For tiles: blocks from 128 KiB up are mapped and go back to the system when freed. Made the
// mode to return to when the last TensorWork ends.
void useTileAllocator();

// While at least one exists (any thread), the tensor settings hold; when the last one goes, the
// tile settings come back (if useTileAllocator() was called) and freed memory is returned to the
// system. For a viewer's analysis and training threads.
class TensorWork {
public:
    TensorWork();
    ~TensorWork();
    TensorWork(const TensorWork&) = delete;
    TensorWork& operator=(const TensorWork&) = delete;
};

}  // namespace lucida
