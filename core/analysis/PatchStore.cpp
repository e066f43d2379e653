#include "analysis/PatchStore.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <stdexcept>

namespace lucida {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'L', 'U', 'C', 'P', 'A', 'T', 'C', '2'};
constexpr std::size_t kKeySize = 16;

std::array<std::uint32_t, 256> makeCrcTable() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
    return table;
}

void put32(unsigned char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
void put64(unsigned char* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
std::uint32_t get32(const unsigned char* p) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}
std::uint64_t get64(const unsigned char* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

void putFloats(unsigned char* p, const std::vector<float>& values) {
    for (float f : values) {
        std::uint32_t bits;
        std::memcpy(&bits, &f, 4);
        put32(p, bits);
        p += 4;
    }
}
void getFloats(const unsigned char* p, std::vector<float>& values) {
    for (float& f : values) {
        const std::uint32_t bits = get32(p);
        std::memcpy(&f, &bits, 4);
        p += 4;
    }
}

std::string keyField(const std::string& key) {
    std::string k = key.substr(0, kKeySize);
    k.resize(kKeySize, '\0');
    return k;
}

std::array<unsigned char, PatchStore::kHeaderSize> makeHeader(const StoreLayout& layout,
                                                              int camWidth, int camHeight) {
    std::array<unsigned char, PatchStore::kHeaderSize> h{};
    std::memcpy(h.data(), kMagic, 8);
    const std::string key = keyField(layout.key);
    std::memcpy(h.data() + 8, key.data(), kKeySize);
    put32(h.data() + 24, static_cast<std::uint32_t>(layout.classCount));
    put32(h.data() + 28, static_cast<std::uint32_t>(camWidth));
    put32(h.data() + 32, static_cast<std::uint32_t>(camHeight));
    put64(h.data() + 36, layout.patchCount);
    put32(h.data() + 44, crc32c(h.data(), 44));
    return h;
}

void writeAll(int fd, const unsigned char* data, std::size_t size, const std::string& path) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            throw std::runtime_error(path + ": cannot write analysis results (" +
                                     std::strerror(n < 0 ? errno : ENOSPC) + ")");
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

// Reads up to `size` bytes; fewer only at the end of the file.
std::size_t readUpTo(int fd, unsigned char* data, std::size_t size) {
    std::size_t got = 0;
    while (got < size) {
        const ssize_t n = ::read(fd, data + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    return got;
}

std::string timestamp() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
    return text;
}

std::string plural(std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc) {
    static const auto table = makeCrcTable();
    const auto* p = static_cast<const unsigned char*>(data);
    crc = ~crc;
    for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

std::string StoreReport::describe(const std::string& path) const {
    std::string text;
    auto add = [&](const std::string& part) { text += (text.empty() ? "" : "; ") + part; };
    if (!headerProblem.empty())
        add(headerProblem + (setAside.empty()
                                 ? std::string()
                                 : ": moved aside to " + setAside + ", started afresh"));
    if (corrupt)
        add(plural(corrupt, "record failed its checksum", "records failed their checksum"));
    if (outOfRange)
        add(plural(outOfRange, "record names a patch", "records name patches") +
            " outside the plan");
    if (implausible)
        add(plural(implausible, "record holds", "records hold") +
            " impossible values (probabilities outside [0, 1] or not summing to 1, non-finite "
            "map)");
    if (duplicates) add(plural(duplicates, "record repeats a patch", "records repeat patches"));
    if (tornBytes) add("an incomplete last record (" + std::to_string(tornBytes) + " bytes)");
    if (text.empty()) return text;
    if (dropped() || tornBytes)
        text += rewritten ? "; dropped (the store was rewritten without them), recomputed"
                          : "; dropped, recomputed";
    return path + ": " + text;
}

PatchStore::PatchStore(std::string path, StoreLayout layout)
    : path_(std::move(path)), layout_(std::move(layout)) {}

PatchStore::~PatchStore() {
    if (fd_ >= 0) ::close(fd_);
}

std::uint64_t PatchStore::recordSize(int classCount, int camWidth, int camHeight) {
    return 8 + 4 * (std::uint64_t(classCount) + std::uint64_t(camWidth) * std::uint64_t(camHeight));
}

std::string PatchStore::implausible(const PatchOutcome& o, int classCount, std::size_t cells) {
    if (o.probabilities.size() != static_cast<std::size_t>(classCount))
        return std::to_string(o.probabilities.size()) + " probabilities for " +
               std::to_string(classCount) + " classes";
    if (o.cam.size() != cells)
        return "a map of " + std::to_string(o.cam.size()) + " values, not " + std::to_string(cells);
    double sum = 0;
    for (float p : o.probabilities) {
        if (!(p >= 0.0f && p <= 1.0f))
            return "probability " + std::to_string(p) + " outside [0, 1]";
        sum += p;
    }
    if (!(std::abs(sum - 1.0) <= 1e-3)) return "probabilities sum to " + std::to_string(sum);
    for (float v : o.cam)
        if (!std::isfinite(v)) return "non-finite map value";
    return {};
}

StoreReport PatchStore::read(std::vector<PatchOutcome>& outcomes) const {
    outcomes.assign(layout_.patchCount, PatchOutcome{});
    StoreReport r;
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return r;
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r.headerProblem = "not a regular file";
        return r;
    }
    std::array<unsigned char, kHeaderSize> h{};
    const std::size_t got = readUpTo(fd, h.data(), h.size());
    if (got == 0) return r;  // empty: a store whose first batch never came
    if (got < h.size()) {
        r.headerProblem = "the header is incomplete (" + std::to_string(got) + " of " +
                          std::to_string(kHeaderSize) + " bytes)";
        return r;
    }
    if (std::memcmp(h.data(), kMagic, 7) != 0) {
        r.headerProblem = "not a Lucida results store (damaged header)";
        return r;
    }
    if (h[7] != static_cast<unsigned char>(kMagic[7])) {
        r.headerProblem = std::string("a store of an older format (version ") +
                          static_cast<char>(h[7]) + ") without checksums";
        return r;
    }
    if (get32(h.data() + 44) != crc32c(h.data(), 44)) {
        r.headerProblem = "the header fails its checksum (damaged)";
        return r;
    }
    const std::string key(reinterpret_cast<const char*>(h.data() + 8), kKeySize);
    const std::uint32_t classes = get32(h.data() + 24), width = get32(h.data() + 28),
                        height = get32(h.data() + 32);
    const std::uint64_t patches = get64(h.data() + 36);
    if (key != keyField(layout_.key) || classes != static_cast<std::uint32_t>(layout_.classCount) ||
        patches != layout_.patchCount) {
        std::string stored = key;
        for (char& c : stored)
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '?';
        r.headerProblem = "the store belongs to another analysis (key " + stored + ", " +
                          std::to_string(patches) + " patches, " + std::to_string(classes) +
                          " classes; this one is " + layout_.key + ", " +
                          std::to_string(layout_.patchCount) + " and " +
                          std::to_string(layout_.classCount) + ")";
        return r;
    }
    if (width == 0 || height == 0 || width > kMaxCamSide || height > kMaxCamSide ||
        std::uint64_t(width) * height > kMaxCamCells) {
        r.headerProblem =
            "implausible map size " + std::to_string(width) + " x " + std::to_string(height);
        return r;
    }
    r.camWidth = static_cast<int>(width);
    r.camHeight = static_cast<int>(height);
    const std::size_t cells = std::size_t(width) * height;
    const std::uint64_t size = recordSize(layout_.classCount, r.camWidth, r.camHeight);
    const std::uint64_t body =
        static_cast<std::uint64_t>(st.st_size) > kHeaderSize ? st.st_size - kHeaderSize : 0;
    if (body < size) {  // not one whole record: nothing to allocate for
        r.tornBytes = body;
        return r;
    }
    std::vector<unsigned char> record(size);
    for (;;) {
        const std::size_t n = readUpTo(fd, record.data(), record.size());
        if (n == 0) break;
        if (n < record.size()) {
            r.tornBytes = n;
            break;
        }
        ++r.records;
        if (get32(record.data() + size - 4) != crc32c(record.data(), size - 4)) {
            ++r.corrupt;
            continue;
        }
        const std::uint32_t index = get32(record.data());
        if (index >= layout_.patchCount) {
            ++r.outOfRange;
            continue;
        }
        PatchOutcome o;
        o.probabilities.resize(static_cast<std::size_t>(layout_.classCount));
        o.cam.resize(cells);
        getFloats(record.data() + 4, o.probabilities);
        getFloats(record.data() + 4 + 4 * o.probabilities.size(), o.cam);
        if (!implausible(o, layout_.classCount, cells).empty()) {
            ++r.implausible;
            continue;
        }
        if (outcomes[index].done) {
            ++r.duplicates;
            continue;
        }
        o.done = true;
        outcomes[index] = std::move(o);
        ++r.loaded;
    }
    return r;
}

StoreReport PatchStore::openForWriting(std::vector<PatchOutcome>& outcomes) {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    pending_.clear();
    StoreReport r = read(outcomes);
    std::error_code ec;
    const bool exists = fs::exists(path_, ec);
    if (!r.headerProblem.empty()) {
        // Never appended to: moved aside (the newest few kept, so reruns cannot pile them up).
        const std::string base = path_ + ".damaged-" + timestamp();
        std::string target = base;
        for (int i = 2; fs::exists(target, ec); ++i) target = base + "-" + std::to_string(i);
        fs::rename(path_, target, ec);
        if (ec)
            throw std::runtime_error(path_ + ": " + r.headerProblem +
                                     ", and it cannot be moved aside: " + ec.message());
        r.setAside = target;
        std::vector<fs::path> asides;
        const std::string prefix = fs::path(path_).filename().string() + ".damaged-";
        for (const auto& entry : fs::directory_iterator(fs::path(path_).parent_path(), ec))
            if (entry.path().filename().string().rfind(prefix, 0) == 0)
                asides.push_back(entry.path());
        // Newest first (the names end in their time), the one just moved aside always kept.
        std::sort(asides.begin(), asides.end(), std::greater<>());
        std::size_t kept = 1;
        for (const auto& aside : asides)
            if (aside != fs::path(target) && kept++ >= static_cast<std::size_t>(kSetAsideKept))
                fs::remove(aside, ec);
        outcomes.assign(layout_.patchCount, PatchOutcome{});
        r.camWidth = r.camHeight = 0;
    } else if (exists && (r.dropped() || r.tornBytes)) {
        // Compacted to the valid records, atomically: readers see the old file or the new one.
        const std::string temporary = path_ + ".tmp-" + std::to_string(::getpid());
        const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            throw std::runtime_error(temporary + ": cannot write analysis results (" +
                                     std::strerror(errno) + ")");
        try {
            if (r.camWidth > 0) {
                const auto h = makeHeader(layout_, r.camWidth, r.camHeight);
                writeAll(fd, h.data(), h.size(), temporary);
                camWidth_ = r.camWidth;
                camHeight_ = r.camHeight;
                for (std::size_t i = 0; i < outcomes.size(); ++i)
                    if (outcomes[i].done) append(i, outcomes[i], r.camWidth, r.camHeight);
                writeAll(fd, pending_.data(), pending_.size(), temporary);
                pending_.clear();
            }
            if (::fsync(fd) != 0)
                throw std::runtime_error(temporary + ": cannot write analysis results (" +
                                         std::strerror(errno) + ")");
        } catch (...) {
            ::close(fd);
            fs::remove(temporary, ec);
            pending_.clear();
            throw;
        }
        ::close(fd);
        fs::rename(temporary, path_, ec);
        if (ec) {
            fs::remove(temporary, ec);
            throw std::runtime_error(path_ + ": cannot replace the results store: " + ec.message());
        }
        r.rewritten = true;
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0)
        throw std::runtime_error(path_ + ": cannot write analysis results (" +
                                 std::strerror(errno) + ")");
    struct stat st {};
    headerWritten_ = ::fstat(fd_, &st) == 0 && st.st_size >= static_cast<off_t>(kHeaderSize);
    camWidth_ = headerWritten_ ? r.camWidth : 0;
    camHeight_ = headerWritten_ ? r.camHeight : 0;
    return r;
}

void PatchStore::append(std::size_t index, const PatchOutcome& outcome, int camWidth,
                        int camHeight) {
    if (index >= layout_.patchCount)
        throw std::invalid_argument(path_ + ": patch " + std::to_string(index) +
                                    " is not in the plan");
    if (camWidth <= 0 || camHeight <= 0 || camWidth > kMaxCamSide || camHeight > kMaxCamSide ||
        std::size_t(camWidth) * std::size_t(camHeight) > kMaxCamCells)
        throw std::invalid_argument(path_ + ": map size " + std::to_string(camWidth) + " x " +
                                    std::to_string(camHeight) + " out of range");
    const std::size_t cells = std::size_t(camWidth) * std::size_t(camHeight);
    const std::string why = implausible(outcome, layout_.classCount, cells);
    if (!why.empty())
        throw std::invalid_argument(path_ + ": patch " + std::to_string(index) + ": " + why);
    if (camWidth_ == 0) {
        camWidth_ = camWidth;
        camHeight_ = camHeight;
    } else if (camWidth != camWidth_ || camHeight != camHeight_) {
        throw std::runtime_error(path_ + ": the map size changed from " +
                                 std::to_string(camWidth_) + " x " + std::to_string(camHeight_) +
                                 " to " + std::to_string(camWidth) + " x " +
                                 std::to_string(camHeight));
    }
    if (fd_ >= 0 && !headerWritten_) {
        const auto h = makeHeader(layout_, camWidth, camHeight);
        pending_.insert(pending_.end(), h.begin(), h.end());
        headerWritten_ = true;
    }
    const std::size_t at = pending_.size();
    const auto size = static_cast<std::size_t>(recordSize(layout_.classCount, camWidth, camHeight));
    pending_.resize(at + size);
    unsigned char* p = pending_.data() + at;
    put32(p, static_cast<std::uint32_t>(index));
    putFloats(p + 4, outcome.probabilities);
    putFloats(p + 4 + 4 * outcome.probabilities.size(), outcome.cam);
    put32(p + size - 4, crc32c(p, size - 4));
}

void PatchStore::flush() {
    if (pending_.empty()) return;
    if (fd_ < 0) throw std::logic_error(path_ + ": the store is not open for writing");
    // One write per batch: a kill leaves at most one torn record, which the next run drops.
    writeAll(fd_, pending_.data(), pending_.size(), path_);
    pending_.clear();
}

std::unique_ptr<ResultsLock> ResultsLock::tryAcquire(const std::string& folder,
                                                     std::string* holder) {
    const std::string path = (fs::path(folder) / "writer.lock").string();
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        throw std::runtime_error(path + ": cannot create the results lock (" +
                                 std::strerror(errno) + ")");
    int rc;
    do {
        rc = ::flock(fd, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    // A filesystem without flock (some network mounts): writing goes on unlocked rather than not
    // at all, as before the lock existed.
    if (rc != 0 && (errno == ENOLCK || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL))
        rc = 0;
    if (rc != 0) {
        const int error = errno;
        if (holder) {
            unsigned char text[128] = {};
            const std::size_t n = readUpTo(fd, text, sizeof text - 1);
            std::string who(reinterpret_cast<const char*>(text), n);
            who.erase(std::remove_if(who.begin(), who.end(),
                                     [](char c) { return c == '\n' || c == '\r' || c == '\0'; }),
                      who.end());
            *holder = who.empty() ? std::string("another process") : who;
        }
        ::close(fd);
        if (error == EWOULDBLOCK) return nullptr;
        throw std::runtime_error(path + ": cannot lock the results folder (" +
                                 std::strerror(error) + ")");
    }
    const std::string who = "process " + std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) {
        const ssize_t written = ::pwrite(fd, who.data(), who.size(), 0);
        (void)written;  // the holder's name is a courtesy; the lock is what counts
    }
    return std::unique_ptr<ResultsLock>(new ResultsLock(fd));
}

ResultsLock::~ResultsLock() {
    if (::ftruncate(fd_, 0) != 0) {
        // Only the courtesy text stays; the lock itself goes with the descriptor.
    }
    ::close(fd_);
}

}  // namespace lucida
