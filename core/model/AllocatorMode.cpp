#include "model/AllocatorMode.h"

#include <cstdlib>  // defines __GLIBC__ on glibc
#include <mutex>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace lucida {
namespace {

std::mutex mutex;
int active = 0;
bool tileMode = false;

void tensorSettings() {
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

void tileSettings() {
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 128 << 10);
    mallopt(M_TRIM_THRESHOLD, 128 << 10);
#endif
}

}  // namespace

void useTensorAllocator() {
    std::lock_guard lock(mutex);
    tileMode = false;
    tensorSettings();
}

void useTileAllocator() {
    std::lock_guard lock(mutex);
    tileMode = true;
    if (active == 0) tileSettings();
}

TensorWork::TensorWork() {
    std::lock_guard lock(mutex);
    if (active++ == 0 && tileMode) tensorSettings();
}

TensorWork::~TensorWork() {
    std::lock_guard lock(mutex);
    if (--active == 0 && tileMode) {
        tileSettings();
#ifdef __GLIBC__
        malloc_trim(0);  // what the tensors left on the heap goes back
#endif
    }
}

}  // namespace lucida
