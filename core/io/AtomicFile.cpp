#include "io/AtomicFile.h"

#include "image/FileError.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace lucida {

namespace fs = std::filesystem;

namespace {

std::string errnoText(int error) { return std::strerror(error); }

// The process's umask, read without changing it (umask() itself would race with other threads).
mode_t currentUmask() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("Umask:", 0) == 0)
            return static_cast<mode_t>(std::strtol(line.c_str() + 6, nullptr, 8));
    return 022;
}

// A temporary that removes itself unless it was renamed onto the target.
class Temporary {
public:
    explicit Temporary(const std::string& target) : target_(target) {
        const std::string extension = fs::path(target).extension().string();
        std::vector<char> name(target.begin(), target.end());
        const std::string suffix = ".tmp-XXXXXX" + extension;
        name.insert(name.end(), suffix.begin(), suffix.end());
        name.push_back('\0');
        fd_ = ::mkostemps(name.data(), static_cast<int>(extension.size()), O_CLOEXEC);
        if (fd_ < 0)
            throw FileError(target,
                            "cannot create a temporary file beside it (" + errnoText(errno) + ")");
        name_ = name.data();
        // mkstemp makes it 0600; the result gets the mode a plain create would have given it.
        ::fchmod(fd_, 0666 & ~currentUmask());
    }
    Temporary(const Temporary&) = delete;
    Temporary& operator=(const Temporary&) = delete;
    ~Temporary() {
        closeQuietly();
        if (!name_.empty()) ::unlink(name_.c_str());
    }

    const std::string& name() const { return name_; }
    int fd() const { return fd_; }

    void closeQuietly() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    void fail(const std::string& what, int error) const {
        throw FileError(target_, what + " (" + errnoText(error) + ")");
    }

    // Flushes the content to disk, renames it onto the target and syncs the folder.
    void commit() {
        if (fd_ < 0) {
            fd_ = ::open(name_.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd_ < 0) fail("cannot reopen the temporary " + name_, errno);
        }
        if (::fsync(fd_) != 0) fail("cannot flush the file to disk", errno);
        const int closed = ::close(fd_);
        fd_ = -1;
        if (closed != 0) fail("cannot write the file", errno);
        if (::rename(name_.c_str(), target_.c_str()) != 0)
            fail("cannot replace it with " + name_, errno);
        name_.clear();
        // Best effort: some file systems refuse fsync on a folder, and the file is in place.
        const fs::path parent = fs::path(target_).parent_path();
        const int dir =
            ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir >= 0) {
            ::fsync(dir);
            ::close(dir);
        }
    }

private:
    std::string target_;
    std::string name_;
    int fd_ = -1;
};

}  // namespace

void writeFileAtomically(const std::string& path, std::string_view bytes) {
    Temporary temporary(path);
    const char* data = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
        const ssize_t n = ::write(temporary.fd(), data, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) temporary.fail("cannot write the file (disk full?)", n < 0 ? errno : EIO);
        data += n;
        left -= static_cast<std::size_t>(n);
    }
    temporary.commit();
}

void writeFileAtomically(const std::string& path,
                         const std::function<void(const std::string& temporary)>& write) {
    Temporary temporary(path);
    temporary.closeQuietly();
    write(temporary.name());
    temporary.commit();
}

}  // namespace lucida
