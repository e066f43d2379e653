#pragma once

// The per-patch results store of a whole-slide analysis ("<results>/<key>/patches.bin") and the
// writer's lock on its folder. No Qt, no LibTorch: the store is read from untrusted files, so it is
// small enough to fuzz and to test under the sanitizers.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lucida {

// One patch's result: the model's class probabilities and the raw CAM of the explained class at
// the target layer's resolution (camHeight x camWidth, row-major).
struct PatchOutcome {
    bool done = false;
    std::vector<float> probabilities;
    std::vector<float> cam;
};

// CRC-32C (Castagnoli), as iSCSI and ext4 use it; `crc` continues an earlier call.
std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0);

// What the plan expects of its store: records of another plan are never read.
struct StoreLayout {
    std::string key;             // the analysis key (recorded in the header)
    std::size_t patchCount = 0;  // patch indices at or beyond it are dropped
    int classCount = 0;          // probabilities per record
};

// What reading a store found.
struct StoreReport {
    std::size_t loaded = 0;       // distinct patches read back
    std::size_t records = 0;      // whole records in the file
    std::size_t corrupt = 0;      // records failing their checksum
    std::size_t outOfRange = 0;   // records whose patch index is not in the plan
    std::size_t implausible = 0;  // records with impossible values (probabilities, non-finite map)
    std::size_t duplicates = 0;   // records of a patch read before (the first valid one is kept)
    std::uint64_t tornBytes = 0;  // an incomplete last record (a run killed mid-write)
    // The header could not be used (damaged, an older version, another plan): why, and where the
    // file was moved aside when opened for writing (the store then starts afresh).
    std::string headerProblem;
    std::string setAside;
    bool rewritten = false;  // compacted to its valid records (openForWriting)
    int camWidth = 0, camHeight = 0;

    std::size_t dropped() const { return corrupt + outOfRange + implausible + duplicates; }
    // What was wrong, in words for the user ("" when the store was sound).
    std::string describe(const std::string& path) const;
};

// "<magic LUCPATC2><key><classes><cam width><cam height><patch count><crc32c>" then records
// "<patch index><probabilities><map><crc32c>" appended as they come (little-endian). A record
// that fails its checksum, names a patch outside the plan or holds impossible values is dropped
// (so recomputed); a torn last record too. One writer at a time (ResultsLock); any number of
// readers, also while it writes (appends and atomic renames only).
class PatchStore {
public:
    PatchStore(std::string path, StoreLayout layout);
    ~PatchStore();
    PatchStore(const PatchStore&) = delete;
    PatchStore& operator=(const PatchStore&) = delete;

    // Reads the valid records into `outcomes` (resized to the plan; the rest not done). Changes
    // nothing on disk. Memory: one record beyond the outcomes, never more than the file holds.
    StoreReport read(std::vector<PatchOutcome>& outcomes) const;

    // As the folder's writer (ResultsLock held): reads, then leaves the file holding exactly the
    // valid records: a header that cannot be used moves the file aside ("patches.bin.damaged-
    // <time>"; at most kSetAsideKept such files are kept) and the store starts afresh; dropped,
    // duplicate or torn records make it rewritten atomically (temporary file, fsync, rename).
    StoreReport openForWriting(std::vector<PatchOutcome>& outcomes);

    // Queues one outcome; flush() writes what is queued. Throws std::invalid_argument for values
    // the store would refuse to read back, std::runtime_error when the map size changes.
    void append(std::size_t index, const PatchOutcome& outcome, int camWidth, int camHeight);
    void flush();  // throws std::runtime_error naming the file (disk full, no permission)

    const std::string& path() const { return path_; }

    // Why an outcome is impossible ("" when it is plausible): probabilities not `classCount`
    // values in [0, 1] summing to 1 (within 1e-3), a map not `cells` finite values.
    static std::string implausible(const PatchOutcome& outcome, int classCount, std::size_t cells);

    static constexpr std::size_t kHeaderSize = 48;
    static constexpr int kSetAsideKept = 2;
    static constexpr int kMaxCamSide = 4096;
    static constexpr std::size_t kMaxCamCells = std::size_t(1) << 22;
    static std::uint64_t recordSize(int classCount, int camWidth, int camHeight);

private:
    std::string path_;
    StoreLayout layout_;
    int fd_ = -1;
    bool headerWritten_ = false;
    int camWidth_ = 0, camHeight_ = 0;
    std::vector<unsigned char> pending_;
};

// The writer's advisory lock (flock) on a results folder: "<folder>/writer.lock", which names the
// holder. Released when destroyed or when the process ends (also when it is killed). On a
// filesystem without flock (ENOLCK, EOPNOTSUPP) the lock is granted unlocked.
class ResultsLock {
public:
    // The lock, or null when another writer holds it; then `holder` says who ("process 1234").
    static std::unique_ptr<ResultsLock> tryAcquire(const std::string& folder, std::string* holder);
    ~ResultsLock();
    ResultsLock(const ResultsLock&) = delete;
    ResultsLock& operator=(const ResultsLock&) = delete;

private:
    explicit ResultsLock(int fd) : fd_(fd) {}
    int fd_;
};

}  // namespace lucida
