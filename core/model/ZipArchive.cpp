#include "model/ZipArchive.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace lucida {
namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50,
                        kEndOfDirectory = 0x06054b50, kZip64Locator = 0x07064b50,
                        kZip64End = 0x06064b50;
constexpr std::uint64_t kMaxEntries = 1'000'000;
// Deflate cannot expand by more than about 1032:1 (258-byte matches coded in 2 bits).
constexpr std::uint64_t kMaxDeflateRatio = 1032;

// Little-endian reads inside [data, data + size), refusing anything past the end.
class Cursor {
public:
    Cursor(const char* data, std::uint64_t size, std::uint64_t pos, const char* what)
        : data_(data), size_(size), pos_(pos), what_(what) {}

    template <typename T>
    T get() {
        need(sizeof(T));
        T v = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i)
            v |= static_cast<T>(static_cast<unsigned char>(data_[pos_ + i])) << (8 * i);
        pos_ += sizeof(T);
        return v;
    }
    std::string text(std::size_t n) {
        need(n);
        std::string s(data_ + pos_, n);
        pos_ += n;
        return s;
    }
    void skip(std::uint64_t n) {
        need(n);
        pos_ += n;
    }
    std::uint64_t pos() const { return pos_; }

private:
    void need(std::uint64_t n) const {
        if (pos_ > size_ || n > size_ - pos_)
            throw ZipError(std::string("zip archive damaged or truncated (") + what_ +
                           " runs past the end of the file)");
    }
    const char* data_;
    std::uint64_t size_;
    std::uint64_t pos_;
    const char* what_;
};

std::uint32_t crcOf(const unsigned char* p, std::uint64_t n, std::uint32_t crc = 0) {
    uLong c = crc;
    while (n > 0) {
        const auto chunk = static_cast<uInt>(std::min<std::uint64_t>(n, 1u << 30));
        c = ::crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return static_cast<std::uint32_t>(c);
}

}  // namespace

bool looksLikeZip(const char* data, std::size_t size) {
    return size >= 4 && std::memcmp(data, "PK\x03\x04", 4) == 0;
}

ZipArchive::ZipArchive(const char* data, std::size_t size) : data_(data), size_(size) {
    if (size < 22) throw ZipError("not a zip archive (too short)");
    // The end-of-central-directory record: in the last 22 + 65535 (comment) bytes.
    std::uint64_t eocd = std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
    for (std::uint64_t p = size - 22 + 1; p-- > lowest;) {
        if (Cursor(data, size, p, "end record").get<std::uint32_t>() == kEndOfDirectory) {
            eocd = p;
            break;
        }
    }
    if (eocd == std::numeric_limits<std::uint64_t>::max())
        throw ZipError("not a zip archive or truncated (no central directory at its end)");
    Cursor end(data, size, eocd + 4, "end record");
    end.skip(6);  // disk numbers, entries on this disk
    std::uint64_t count = end.get<std::uint16_t>();
    std::uint64_t directorySize = end.get<std::uint32_t>();
    std::uint64_t directoryOffset = end.get<std::uint32_t>();
    if (count == 0xffff || directorySize == 0xffffffff || directoryOffset == 0xffffffff) {
        if (eocd < 20) throw ZipError("zip64 archive without its locator");
        Cursor locator(data, size, eocd - 20, "zip64 locator");
        if (locator.get<std::uint32_t>() != kZip64Locator)
            throw ZipError("zip64 archive without its locator");
        locator.skip(4);
        Cursor end64(data, size, locator.get<std::uint64_t>(), "zip64 end record");
        if (end64.get<std::uint32_t>() != kZip64End) throw ZipError("damaged zip64 end record");
        end64.skip(8 + 2 + 2 + 4 + 4 + 8);
        count = end64.get<std::uint64_t>();
        directorySize = end64.get<std::uint64_t>();
        directoryOffset = end64.get<std::uint64_t>();
    }
    if (directoryOffset > size || directorySize > size - directoryOffset)
        throw ZipError("zip central directory lies outside the file (truncated?)");
    // Each central record takes at least 46 bytes.
    if (count > directorySize / 46 || count > kMaxEntries)
        throw ZipError("zip central directory declares " + std::to_string(count) +
                       " records, more than its " + std::to_string(directorySize) +
                       " bytes can hold");

    entries_.reserve(count);
    Cursor dir(data, directoryOffset + directorySize, directoryOffset, "central directory");
    for (std::uint64_t i = 0; i < count; ++i) {
        if (dir.get<std::uint32_t>() != kCentralHeader)
            throw ZipError("damaged zip central directory (record " + std::to_string(i) + ")");
        Entry e;
        dir.skip(4);  // versions
        const auto flags = dir.get<std::uint16_t>();
        e.method = dir.get<std::uint16_t>();
        dir.skip(4);  // time, date
        e.crc32 = dir.get<std::uint32_t>();
        e.compressedSize = dir.get<std::uint32_t>();
        e.size = dir.get<std::uint32_t>();
        const auto nameLength = dir.get<std::uint16_t>();
        const auto extraLength = dir.get<std::uint16_t>();
        const auto commentLength = dir.get<std::uint16_t>();
        dir.skip(8);  // disk, attributes
        std::uint64_t localOffset = dir.get<std::uint32_t>();
        e.name = dir.text(nameLength);
        const std::uint64_t extraEnd = dir.pos() + extraLength;
        while (dir.pos() + 4 <= extraEnd) {
            const auto id = dir.get<std::uint16_t>();
            const auto length = dir.get<std::uint16_t>();
            if (dir.pos() + length > extraEnd) throw ZipError("damaged zip extra field");
            if (id == 0x0001) {  // zip64 sizes, each present only when its 32-bit field is full
                Cursor z(data, dir.pos() + length, dir.pos(), "zip64 extra field");
                if (e.size == 0xffffffff) e.size = z.get<std::uint64_t>();
                if (e.compressedSize == 0xffffffff) e.compressedSize = z.get<std::uint64_t>();
                if (localOffset == 0xffffffff) localOffset = z.get<std::uint64_t>();
            }
            dir.skip(length);
        }
        dir.skip(extraEnd - dir.pos());
        dir.skip(commentLength);
        if (flags & 1) throw ZipError("encrypted zip record " + e.name);
        // The local header repeats the name and has its own extra field (PyTorch pads there).
        Cursor local(data, size, localOffset, "a local record header");
        if (local.get<std::uint32_t>() != kLocalHeader)
            throw ZipError("damaged zip record header for " + e.name);
        local.skip(22);
        const auto localName = local.get<std::uint16_t>();
        const auto localExtra = local.get<std::uint16_t>();
        local.skip(std::uint64_t{localName} + localExtra);
        e.dataOffset = local.pos();
        if (e.compressedSize > size - e.dataOffset)
            throw ZipError("zip record " + e.name + " declares " +
                           std::to_string(e.compressedSize) +
                           " bytes, past the end of the archive (truncated?)");
        if (e.method == 0 && e.size != e.compressedSize)
            throw ZipError("stored zip record " + e.name + " has two different sizes");
        if (e.method != 0 && e.method != 8)
            throw ZipError("zip record " + e.name + " uses compression method " +
                           std::to_string(e.method) + " (only stored and deflated are read)");
        if (e.method == 8 && e.size / kMaxDeflateRatio > e.compressedSize + 1)
            throw ZipError("zip record " + e.name + " declares " + std::to_string(e.size) +
                           " inflated bytes from " + std::to_string(e.compressedSize) +
                           ": more than deflate can produce (a zip bomb or a damaged file)");
        entries_.push_back(std::move(e));
    }
    // PyTorch stores its records; deflated ones (a zip re-packed by hand) may not declare more
    // than 16 times the archive in all: weights do not compress that well, zip bombs do.
    std::uint64_t inflated = 0;
    for (const Entry& e : entries_)
        if (e.method != 0) inflated += e.size;  // each < 2^64 / kMaxEntries (1032 x the file)
    const std::uint64_t inflateLimit = std::max<std::uint64_t>(64ull << 20, 16ull * size);
    if (inflated > inflateLimit)
        throw ZipError("zip records declare " + std::to_string(inflated >> 20) +
                       " MiB inflated from a " + std::to_string(size >> 10) +
                       " KiB archive, more than 16 times its size (limit; a zip bomb or a "
                       "damaged file)");
    if (!entries_.empty()) {
        const auto slash = entries_.front().name.find('/');
        if (slash != std::string::npos) prefix_ = entries_.front().name.substr(0, slash + 1);
    }
}

const ZipArchive::Entry* ZipArchive::find(const std::string& name) const {
    for (const Entry& e : entries_) {
        if (e.name.size() == prefix_.size() + name.size() && e.name.starts_with(prefix_) &&
            e.name.ends_with(name))
            return &e;
    }
    return nullptr;
}

void ZipArchive::read(const Entry& e, void* out, std::uint64_t ceiling) const {
    if (e.size > ceiling)
        throw ZipError("zip record " + e.name + " declares " + std::to_string(e.size) +
                       " bytes, more than the " + std::to_string(ceiling) + " it may hold");
    const auto* in = reinterpret_cast<const unsigned char*>(data_ + e.dataOffset);
    auto* dst = static_cast<unsigned char*>(out);
    if (e.method == 0) {
        if (e.size > 0) std::memcpy(dst, in, e.size);
    } else {
        z_stream z{};
        if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw ZipError("cannot start inflating");
        // Output bounded by the declared size: inflating more is an error, not an allocation.
        std::uint64_t inFed = 0, outGiven = 0;
        unsigned char spare[1];
        bool overflow = false;
        int status = Z_OK;
        while (true) {
            if (z.avail_in == 0 && inFed < e.compressedSize) {
                const auto n = std::min<std::uint64_t>(e.compressedSize - inFed, 1u << 30);
                z.next_in = const_cast<unsigned char*>(in + inFed);
                z.avail_in = static_cast<uInt>(n);
                inFed += n;
            }
            if (z.avail_out == 0) {
                if (outGiven < e.size) {
                    const auto n = std::min<std::uint64_t>(e.size - outGiven, 1u << 30);
                    z.next_out = dst + outGiven;
                    z.avail_out = static_cast<uInt>(n);
                    outGiven += n;
                } else if (overflow) {
                    break;  // the spare byte was written: more than declared
                } else {
                    z.next_out = spare;
                    z.avail_out = 1;
                    overflow = true;
                }
            }
            status = inflate(&z, Z_NO_FLUSH);
            if (status != Z_OK) break;
        }
        const bool wroteSpare = overflow && z.avail_out == 0;
        const std::uint64_t produced = z.total_out;
        inflateEnd(&z);
        if (status != Z_STREAM_END || wroteSpare || produced != e.size)
            throw ZipError("zip record " + e.name +
                           " does not inflate to its declared size (damaged or a zip bomb)");
    }
    if (crcOf(dst, e.size) != e.crc32)
        throw ZipError("zip record " + e.name + " fails its CRC-32 check (damaged file)");
}

std::vector<char> ZipArchive::read(const Entry& e, std::uint64_t ceiling) const {
    if (e.size > ceiling)
        throw ZipError("zip record " + e.name + " declares " + std::to_string(e.size) +
                       " bytes, more than the " + std::to_string(ceiling) + " it may hold");
    std::vector<char> bytes(e.size);
    read(e, bytes.data(), ceiling);
    return bytes;
}

}  // namespace lucida
