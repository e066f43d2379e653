#pragma once

#include <atomic>
#include <csignal>

namespace lucida::cli {

// Ctrl+C as Cancel for a long command while this object lives: SIGINT only sets a flag (all a
// handler may safely do), which the command polls; the default action comes back afterwards,
// also when the command throws.
class InterruptGuard {
public:
    InterruptGuard() {
        flag().store(false);
        std::signal(SIGINT, [](int) { flag().store(true); });
    }
    ~InterruptGuard() { std::signal(SIGINT, SIG_DFL); }
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

    bool raised() const { return flag().load(); }
    bool take() { return flag().exchange(false); }  // true once per Ctrl+C

private:
    static std::atomic<bool>& flag() {
        static std::atomic<bool> interrupted{false};
        return interrupted;
    }
};

}  // namespace lucida::cli
