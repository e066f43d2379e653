#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lucida {

// What a `torch.save(state_dict)` file holds, read without LibTorch: the tensors' names, shapes
// and strides over their storages, and where each storage's bytes are. Everything is checked
// before anything is allocated, so that the caller (StateDictReader.cpp) only copies bytes:
// every view lies inside its storage, every storage's bytes lie inside the file (or its zip
// record, which cannot inflate past them) and their total fits the file.
//
// The file is untrusted. The pickle is read by a small machine that executes nothing (a class
// named in the file is only a name) and enforces limits: nesting depth, object and operation
// counts, memo indices no larger than what was read; values live in an arena (no recursive
// teardown, cycles cannot leak) and are walked iteratively with cycle detection.
enum class StorageDtype { Float, Double, Half, BFloat16, Long, Int, Short, Char, Byte, Bool };
int elementSize(StorageDtype dtype);

struct StorageLayout {
    std::string key;
    StorageDtype dtype = StorageDtype::Float;
    std::int64_t numel = 0;
    std::uint64_t bytes = 0;  // numel * element size
    // Legacy files: the offset of the raw bytes. Zip files: the record (data/<key>).
    std::uint64_t fileOffset = 0;
    std::size_t zipEntry = 0;
};

// A view on a storage (torch._utils._rebuild_tensor_v2).
struct TensorView {
    std::size_t storage = 0;  // index into StateDictLayout::storages
    std::int64_t offset = 0;  // in elements
    std::vector<std::int64_t> sizes, strides;
};

struct TensorLayout {
    std::string name;
    std::size_t view = 0;  // index into StateDictLayout::views
};

class ZipArchive;

struct StateDictLayout {
    std::vector<TensorLayout> tensors;  // the state_dict's order
    std::vector<TensorView> views;
    std::vector<StorageLayout> storages;
    std::shared_ptr<ZipArchive> zip;  // null for the legacy format
};

// Limits on what a file may make the reader do (the reasons name them).
struct PickleLimits {
    static constexpr std::size_t kMaxDepth = 1000;            // nesting of containers
    static constexpr std::size_t kMaxObjects = 2'000'000;     // values made
    static constexpr std::size_t kMaxOperations = 8'000'000;  // opcodes executed
    static constexpr std::size_t kMaxCheckpointNesting = 16;  // {'state_dict': {...}} levels
    static constexpr std::size_t kMaxDims = 64;               // tensor dimensions
    static constexpr std::size_t kMaxDimsTotal = 4'000'000;   // over all tensor views
    static constexpr std::uint64_t kMaxPickleBytes = 64ull << 20;
    static constexpr std::size_t kMaxStringBytes = 1u << 20;  // longer strings are kept unread
};

// A file's bytes, read into memory once. Not mapped: a model file truncated by another program
// (torch.save rewriting it in place) while mapped would kill the process with SIGBUS. Throws
// ModelError(path, …) when it cannot be read.
class FileBytes {
public:
    explicit FileBytes(const std::string& path);
    const char* data() const { return bytes_.data(); }
    std::size_t size() const { return bytes_.size(); }

private:
    std::vector<char> bytes_;
};

// `data` is the whole file (FileBytes); `path` only names it in errors. Throws ModelError(path, …).
StateDictLayout readStateDictLayout(const std::string& path, const char* data, std::size_t size);

// Copies one storage's bytes (exactly storage.bytes) from the file into `out`, inflating and
// checking the CRC of zip records. Throws ModelError(path, …).
void readStorageBytes(const std::string& path, const char* data, std::size_t size,
                      const StateDictLayout& layout, const StorageLayout& storage, void* out);

// The whole check without LibTorch: the layout, then every storage the state_dict uses read
// (inflated, CRC-checked) into a scratch buffer. Returns the number of tensors.
std::size_t checkStateDictFile(const std::string& path);

}  // namespace lucida
