#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lucida {

// A zip archive in memory (the file's bytes), read from its central directory only, as PyTorch's
// writer makes them (stored records; deflated ones are read too). Nothing is inflated or copied
// until a record is asked for, and every record's declared sizes are checked against the archive
// first: a stored record must lie inside it, a deflated one cannot inflate past 1032x its
// compressed size (deflate's limit) nor past the caller's ceiling, and the deflated records
// together may not declare more than 16 times the archive's size (or 64 MiB). Throws ZipError on
// anything malformed; the caller adds the file's name.
class ZipError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ZipArchive {
public:
    struct Entry {
        std::string name;          // as stored, with PyTorch's "archive/" prefix
        std::uint16_t method = 0;  // 0 stored, 8 deflated
        std::uint32_t crc32 = 0;
        std::uint64_t compressedSize = 0;
        std::uint64_t size = 0;        // declared inflated size
        std::uint64_t dataOffset = 0;  // of the record's bytes in the archive
    };

    ZipArchive(const char* data, std::size_t size);

    const std::vector<Entry>& entries() const { return entries_; }
    // PyTorch's records live under one top folder ("archive/data.pkl"); `name` is relative to it.
    const Entry* find(const std::string& name) const;
    // The record's bytes into `out` (exactly entry.size bytes), checking its CRC-32. Refuses
    // (before touching `out`) a record whose declared size is over `ceiling`.
    void read(const Entry& entry, void* out, std::uint64_t ceiling) const;
    std::vector<char> read(const Entry& entry, std::uint64_t ceiling) const;
    std::uint64_t archiveSize() const { return size_; }

private:
    const char* data_;
    std::uint64_t size_;
    std::string prefix_;
    std::vector<Entry> entries_;
};

// True when the bytes start like a zip archive.
bool looksLikeZip(const char* data, std::size_t size);

}  // namespace lucida
