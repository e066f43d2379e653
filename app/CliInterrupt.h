#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <stdexcept>

namespace lucida::cli {

// Ctrl+C as Cancel for a long command while this object lives: SIGINT sets a flag, which the
// command polls between steps, and writes a byte to a pipe (both all a handler may safely do), so
// a thread can sleep in waitForInterrupt() instead of polling. The default action comes back
// afterwards, also when the command throws.
class InterruptGuard {
public:
    InterruptGuard() {
        flag().store(false);
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("cannot create a pipe");
        readEnd_ = fds[0];
        writeEnd().store(fds[1]);
        std::signal(SIGINT, [](int) {
            flag().store(true);
            poke();
        });
    }
    ~InterruptGuard() {
        std::signal(SIGINT, SIG_DFL);
        ::close(writeEnd().exchange(-1));
        ::close(readEnd_);
    }
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

    bool raised() const { return flag().load(); }
    bool take() { return flag().exchange(false); }  // true once per Ctrl+C

    // Sleeps until Ctrl+C or wake(); then take() says which.
    void waitForInterrupt() {
        char byte;
        while (::read(readEnd_, &byte, 1) < 0 && errno == EINTR) {
        }
    }
    // Ends a waitForInterrupt() of another thread.
    void wake() { poke(); }

private:
    static std::atomic<bool>& flag() {
        static std::atomic<bool> interrupted{false};
        return interrupted;
    }
    static std::atomic<int>& writeEnd() {
        static std::atomic<int> fd{-1};
        return fd;
    }
    static void poke() {
        const int fd = writeEnd().load();
        const char byte = 1;
        if (fd >= 0) [[maybe_unused]]
            const auto written = ::write(fd, &byte, 1);
    }

    int readEnd_ = -1;
};

}  // namespace lucida::cli
