// The allocator modes change what glibc does with a tensor-sized block: mapped on its own (tile
// mode) or served from the heap (tensor mode, and tile mode while TensorWork exists). Observed
// through mallinfo2's count of mapped blocks.
#include "model/AllocatorMode.h"

#include <QtTest>

#include <cstdlib>
#include <cstring>
#include <thread>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace {

// Whether a fresh 8 MiB block is mapped on its own while it is held.
bool blockIsMapped() {
#ifdef __GLIBC__
    const auto before = mallinfo2().hblks;
    void* volatile p = std::malloc(8 << 20);
    std::memset(p, 1, 64);
    const auto during = mallinfo2().hblks;
    std::free(p);
    return during > before;
#else
    return false;
#endif
}

}  // namespace

class AllocatorModeTest : public QObject {
    Q_OBJECT
private slots:
    void modes() {
#ifndef __GLIBC__
        QSKIP("glibc only");
#endif
        lucida::useTileAllocator();
        QVERIFY(blockIsMapped());
        {
            const lucida::TensorWork outer;
            QVERIFY(!blockIsMapped());
            bool fromThread = true;
            std::thread([&] {
                const lucida::TensorWork inner;  // nested, on another thread
                fromThread = blockIsMapped();
            }).join();
            QVERIFY(!fromThread);
            QVERIFY(!blockIsMapped());  // the inner one ending keeps the outer's settings
        }
        QVERIFY(blockIsMapped());  // back to tile settings when the last one ends
        lucida::useTensorAllocator();
        QVERIFY(!blockIsMapped());
        { const lucida::TensorWork work; }
        QVERIFY(!blockIsMapped());  // tensor mode stays: there is no tile mode to return to
    }
};

QTEST_GUILESS_MAIN(AllocatorModeTest)
#include "allocator_mode_test.moc"
