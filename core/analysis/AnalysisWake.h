#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>

namespace lucida {

// How a caller tells a running analysis that an answer of its callbacks (cancelled, focus,
// wholeSlide) changed: notify() after each change. An idle live run then sleeps on a condition
// variable until told, instead of asking every few milliseconds. The analysis reads generation()
// before it asks the callbacks and waits for a later one, so no change is missed.
class AnalysisWake {
public:
    void notify() {
        {
            std::lock_guard lock(mutex_);
            ++generation_;
        }
        changed_.notify_all();
    }

    std::uint64_t generation() const {
        std::lock_guard lock(mutex_);
        return generation_;
    }

    // Returns once generation() differs from `seen`, or after `timeout` when one is given.
    void waitAfter(std::uint64_t seen,
                   std::optional<std::chrono::milliseconds> timeout = std::nullopt) const {
        std::unique_lock lock(mutex_);
        const auto told = [&] { return generation_ != seen; };
        if (timeout)
            changed_.wait_for(lock, *timeout, told);
        else
            changed_.wait(lock, told);
    }

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::uint64_t generation_ = 0;
};

}  // namespace lucida
