#include "model/StateDictLayout.h"

#include "model/ModelError.h"
#include "model/Unpickler.h"
#include "model/ZipArchive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <unordered_set>

namespace lucida {

using namespace pickle;

int elementSize(StorageDtype dtype) {
    switch (dtype) {
        case StorageDtype::Double:
        case StorageDtype::Long:
            return 8;
        case StorageDtype::Float:
        case StorageDtype::Int:
            return 4;
        case StorageDtype::Half:
        case StorageDtype::BFloat16:
        case StorageDtype::Short:
            return 2;
        case StorageDtype::Char:
        case StorageDtype::Byte:
        case StorageDtype::Bool:
            return 1;
    }
    return 1;
}

namespace {

// A dict of name -> tensor, or a checkpoint holding one under a conventional key (followed
// iteratively, refusing cycles and deep nesting).
std::vector<TensorLayout> toStateDict(const PyValue* root) {
    static const char* const kKeys[] = {"state_dict", "model_state_dict", "model"};
    std::unordered_set<const PyValue*> visited;
    const PyValue* dict = root;
    while (true) {
        if (dict->kind != Kind::Dict)
            throw FormatError("not a state_dict: the file holds " + describe(dict));
        if (!visited.insert(dict).second)
            throw FormatError("not a state_dict: the checkpoint contains itself (a cycle)");
        const PyValue* inner = nullptr;
        for (const char* key : kKeys) {
            for (std::size_t i = 0; !inner && i + 1 < dict->items.size(); i += 2) {
                const PyValue* k = dict->items[i];
                const PyValue* v = dict->items[i + 1];
                if (k->kind == Kind::String && !k->elided && k->text == key &&
                    v->kind == Kind::Dict)
                    inner = v;
            }
        }
        if (!inner) break;
        if (visited.size() > PickleLimits::kMaxCheckpointNesting)
            throw FormatError("not a state_dict: checkpoint dicts nested more than " +
                              std::to_string(PickleLimits::kMaxCheckpointNesting) +
                              " levels deep (limit)");
        dict = inner;
    }
    std::vector<TensorLayout> result;
    std::unordered_set<std::string_view> names;
    for (std::size_t i = 0; i + 1 < dict->items.size(); i += 2) {
        const PyValue* k = dict->items[i];
        const PyValue* v = dict->items[i + 1];
        if (k->kind != Kind::String || k->elided)
            throw FormatError("not a state_dict: a key is " + describe(k));
        if (v->kind != Kind::Tensor)
            throw FormatError("not a state_dict: '" + k->text + "' is " + describe(v));
        if (!names.insert(k->text).second)
            throw FormatError("not a state_dict: the name '" + k->text + "' appears twice");
        result.push_back({k->text, static_cast<std::size_t>(v->integer)});
    }
    if (result.empty()) throw FormatError("not a state_dict: the dict holds no tensors");
    return result;
}

std::string bytesText(std::uint64_t bytes) {
    std::ostringstream s;
    if (bytes >= (1ull << 30))
        s << bytes / double(1ull << 30) << " GiB";
    else if (bytes >= (1ull << 20))
        s << bytes / double(1ull << 20) << " MiB";
    else
        s << bytes << " bytes";
    return s.str();
}

// Total bytes the state_dict's storages need: checked against what the file can hold.
void checkTotal(const StateDictLayout& layout, std::uint64_t capacity, std::uint64_t fileSize) {
    std::vector<char> used(layout.storages.size(), 0);
    for (const TensorLayout& t : layout.tensors) used[layout.views[t.view].storage] = 1;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < layout.storages.size(); ++i) {
        if (used[i] && __builtin_add_overflow(total, layout.storages[i].bytes, &total))
            total = ~std::uint64_t{0};
    }
    if (total > capacity)
        throw FormatError("the tensors declare " + bytesText(total) + ", more than the " +
                          bytesText(fileSize) + " file can hold (truncated or damaged)");
}

StateDictLayout readZip(const char* data, std::size_t size) {
    auto zip = std::make_shared<ZipArchive>(data, size);
    const ZipArchive::Entry* pickle = zip->find("data.pkl");
    if (!pickle) {
        if (zip->find("constants.pkl") || zip->find("code/__torch__.py"))
            throw FormatError("a TorchScript archive, not a torch.save state_dict");
        throw FormatError("not a torch.save file: the zip archive has no data.pkl");
    }
    const std::vector<char> bytes = zip->read(*pickle, PickleLimits::kMaxPickleBytes);
    Unpickler reader(bytes.data(), bytes.size());
    StateDictLayout layout;
    layout.tensors = toStateDict(reader.load());
    layout.views = std::move(reader.views());
    layout.storages = std::move(reader.storages());
    // Each storage is a record of exactly its declared bytes, which the archive can hold.
    bool allStored = true;
    for (StorageLayout& s : layout.storages) {
        const std::string record = "data/" + s.key;
        const ZipArchive::Entry* e = zip->find(record);
        if (!e) throw FormatError("missing record " + record);
        if (e->size < s.bytes)
            throw FormatError("record " + record + " holds " + std::to_string(e->size) +
                              " bytes but its storage declares " + std::to_string(s.bytes) +
                              " (truncated?)");
        if (e->size > s.bytes)
            throw FormatError("record " + record + " holds " + std::to_string(e->size) +
                              " bytes, more than the " + std::to_string(s.bytes) +
                              " its storage declares");
        s.zipEntry = static_cast<std::size_t>(e - zip->entries().data());
        allStored = allStored && e->method == 0;
    }
    checkTotal(layout, allStored ? size : ~std::uint64_t{0} / 2, size);
    layout.zip = std::move(zip);
    return layout;
}

// torch.save(..., _use_new_zipfile_serialization=False): pickles of the magic number, the
// protocol version, system info, the object, the sorted storage keys; then each storage as an
// int64 element count followed by its bytes.
StateDictLayout readLegacy(const char* data, std::size_t size) {
    static const unsigned char kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                           0x20, 0x6a, 0xa8, 0x50, 0x19};
    Unpickler reader(data, size);
    const PyValue* magic = nullptr;
    try {
        magic = reader.load();
    } catch (const FormatError& e) {
        throw FormatError(std::string("not a PyTorch file (") + e.what() + ")");
    }
    if (magic->kind != Kind::BigInt || magic->text.size() != sizeof kMagic ||
        std::memcmp(magic->text.data(), kMagic, sizeof kMagic) != 0)
        throw FormatError("not a PyTorch file (a pickle without torch.save's magic number)");
    if (toInt(reader.load(), "the protocol version") != 1001)
        throw FormatError("unsupported legacy protocol version");
    const PyValue* sysInfo = reader.load();
    if (sysInfo->kind == Kind::Dict) {
        for (std::size_t i = 0; i + 1 < sysInfo->items.size(); i += 2) {
            const PyValue* k = sysInfo->items[i];
            const PyValue* v = sysInfo->items[i + 1];
            if (k->kind == Kind::String && k->text == "little_endian" && v->kind == Kind::Bool &&
                !v->integer)
                throw FormatError("big-endian files are not supported");
        }
    }
    StateDictLayout layout;
    layout.tensors = toStateDict(reader.load());
    const PyValue* keys = reader.load();
    layout.views = std::move(reader.views());
    layout.storages = std::move(reader.storages());
    std::map<std::string_view, std::size_t> byKey;
    for (std::size_t i = 0; i < layout.storages.size(); ++i) byKey[layout.storages[i].key] = i;
    checkTotal(layout, size - reader.position(), size);
    std::vector<char> seen(layout.storages.size(), 0);
    for (const PyValue* key : toTuple(keys, "the storage keys")) {
        auto it = byKey.find(toString(key, "a storage key"));
        if (it == byKey.end()) throw FormatError("unreferenced storage in file");
        if (seen[it->second]++) throw FormatError("a storage is listed twice");
        StorageLayout& s = layout.storages[it->second];
        if (reader.readInt64() != s.numel) throw FormatError("storage size mismatch");
        s.fileOffset = reader.position();
        reader.take(s.bytes);  // inside the file, or "truncated"
    }
    for (std::size_t i = 0; i < seen.size(); ++i)
        if (!seen[i]) throw FormatError("storage " + layout.storages[i].key + " has no data");
    return layout;
}

}  // namespace

StateDictLayout readStateDictLayout(const std::string& path, const char* data, std::size_t size) {
    try {
        if (looksLikeZip(data, size)) return readZip(data, size);
        if (size >= 2 && static_cast<unsigned char>(data[0]) == op::kProto)
            return readLegacy(data, size);
        throw FormatError("not a PyTorch file (neither a zip archive nor a pickle)");
    } catch (const FormatError& e) {
        throw ModelError(path, e.what());
    } catch (const ZipError& e) {
        throw ModelError(path, e.what());
    } catch (const std::bad_alloc&) {
        throw ModelError(path, "out of memory while reading the file");
    }
}

void readStorageBytes(const std::string& path, const char* data, std::size_t size,
                      const StateDictLayout& layout, const StorageLayout& storage, void* out) {
    try {
        if (layout.zip) {
            layout.zip->read(layout.zip->entries()[storage.zipEntry], out, storage.bytes);
        } else {
            if (storage.fileOffset > size || storage.bytes > size - storage.fileOffset)
                throw FormatError("storage " + storage.key + " lies outside the file");
            if (storage.bytes > 0) std::memcpy(out, data + storage.fileOffset, storage.bytes);
        }
    } catch (const ZipError& e) {
        throw ModelError(path, e.what());
    } catch (const FormatError& e) {
        throw ModelError(path, e.what());
    }
}

FileBytes::FileBytes(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw ModelError(path, "cannot open the file: " + std::string(std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw ModelError(path, "cannot open the file: not a regular file");
    }
    try {
        bytes_.resize(static_cast<std::size_t>(st.st_size));
    } catch (const std::bad_alloc&) {
        ::close(fd);
        throw ModelError(path, "not enough memory to read the file");
    }
    std::size_t done = 0;
    while (done < bytes_.size()) {
        const ssize_t n =
            ::pread(fd, bytes_.data() + done, bytes_.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int error = n < 0 ? errno : 0;
            ::close(fd);
            throw ModelError(path,
                             error ? "cannot read the file: " + std::string(std::strerror(error))
                                   : std::string("the file shrank while it was read"));
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

std::size_t checkStateDictFile(const std::string& path) {
    const FileBytes file(path);
    const StateDictLayout layout = readStateDictLayout(path, file.data(), file.size());
    std::vector<char> used(layout.storages.size(), 0);
    for (const TensorLayout& t : layout.tensors) used[layout.views[t.view].storage] = 1;
    std::vector<char> scratch;
    for (std::size_t i = 0; i < layout.storages.size(); ++i) {
        if (!used[i]) continue;
        scratch.resize(layout.storages[i].bytes);
        readStorageBytes(path, file.data(), file.size(), layout, layout.storages[i],
                         scratch.data());
    }
    return layout.tensors.size();
}

}  // namespace lucida
