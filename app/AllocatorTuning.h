#pragma once

#include <cstdlib>  // defines __GLIBC__ on glibc

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace lucida::app {

// LibTorch allocates and frees activations of tens of MiB at every training step and every batch
// of inference. glibc serves blocks above its mmap threshold (which it adapts only up to 32 MiB)
// with fresh mappings, so each step pays page faults on zeroed pages: a third of the time of a
// training run went to the kernel. Blocks up to 256 MiB stay on the heap, and up to 512 MiB of
// freed heap is kept for the next step. (docs/PERFORMANCE.md, training throughput.) For
// lucida-cli; the viewer keeps a low threshold instead, so that freed tiles go back to the system
// (its memory target), and its training and analysis pay the page faults.
inline void tuneAllocatorForTensors() {
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

}  // namespace lucida::app
