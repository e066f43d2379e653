#include "model/StateDictReader.h"

#include "model/ModelError.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace lucida {
namespace {

// A malformed or unsupported file; turned into ModelError(path, what()) at the top.
class FormatError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct PyValue;
using Py = std::shared_ptr<PyValue>;

// What a state_dict pickle can hold. Objects of classes the reader does not know become Opaque
// (named after their class) instead of failing, so that a checkpoint with extra entries (optimizer
// state, numpy scalars) can still yield its state_dict. Nothing from the file is ever executed.
struct PyValue {
    enum class Kind {
        None,
        Bool,
        Int,
        BigInt,
        Float,
        String,
        Bytes,
        Tuple,
        List,
        Dict,
        Global,
        Storage,
        Tensor,
        Opaque
    };
    Kind kind = Kind::None;
    std::int64_t integer = 0;  // Bool, Int
    double real = 0;           // Float
    std::string text;          // String, Bytes, BigInt (little-endian), Global, Opaque
    std::vector<Py> items;     // Tuple, List
    std::vector<std::pair<Py, Py>> entries;  // Dict, in insertion order
    at::Tensor tensor;                       // Storage (1-D over all of it), Tensor
};

Py make(PyValue::Kind kind) {
    auto value = std::make_shared<PyValue>();
    value->kind = kind;
    return value;
}

Py makeInt(std::int64_t v) {
    auto value = make(PyValue::Kind::Int);
    value->integer = v;
    return value;
}

Py makeText(PyValue::Kind kind, std::string text) {
    auto value = make(kind);
    value->text = std::move(text);
    return value;
}

std::string describe(const Py& v) {
    switch (v->kind) {
        case PyValue::Kind::None:
            return "None";
        case PyValue::Kind::Bool:
            return "a bool";
        case PyValue::Kind::Int:
        case PyValue::Kind::BigInt:
            return "an int";
        case PyValue::Kind::Float:
            return "a float";
        case PyValue::Kind::String:
            return "a string";
        case PyValue::Kind::Bytes:
            return "bytes";
        case PyValue::Kind::Tuple:
            return "a tuple";
        case PyValue::Kind::List:
            return "a list";
        case PyValue::Kind::Dict:
            return "a dict";
        case PyValue::Kind::Global:
            return "the class " + v->text;
        case PyValue::Kind::Storage:
            return "a storage";
        case PyValue::Kind::Tensor:
            return "a tensor";
        case PyValue::Kind::Opaque:
            return "a " + v->text + " object";
    }
    return "?";
}

std::int64_t toInt(const Py& v, const char* what) {
    if (v->kind != PyValue::Kind::Int && v->kind != PyValue::Kind::Bool) {
        throw FormatError(std::string("expected an int for ") + what + ", found " + describe(v));
    }
    return v->integer;
}

const std::string& toString(const Py& v, const char* what) {
    if (v->kind != PyValue::Kind::String) {
        throw FormatError(std::string("expected a string for ") + what + ", found " + describe(v));
    }
    return v->text;
}

const std::vector<Py>& toTuple(const Py& v, const char* what) {
    if (v->kind != PyValue::Kind::Tuple && v->kind != PyValue::Kind::List) {
        throw FormatError(std::string("expected a tuple for ") + what + ", found " + describe(v));
    }
    return v->items;
}

// Pickle opcodes (Python's Lib/pickletools.py) that torch.save's protocol 2 and later ones emit.
namespace op {
constexpr char kMark = '(', kStop = '.', kPop = '0', kPopMark = '1', kDup = '2', kBinInt = 'J',
               kBinInt1 = 'K', kBinInt2 = 'M', kNone = 'N', kBinPersId = 'Q', kReduce = 'R',
               kBinString = 'T', kShortBinString = 'U', kBinUnicode = 'X', kAppend = 'a',
               kBuild = 'b', kGlobal = 'c', kDict = 'd', kEmptyDict = '}', kAppends = 'e',
               kBinGet = 'h', kLongBinGet = 'j', kList = 'l', kEmptyList = ']', kBinPut = 'q',
               kLongBinPut = 'r', kSetItem = 's', kTuple = 't', kEmptyTuple = ')', kSetItems = 'u',
               kBinFloat = 'G', kBinBytes = 'B', kShortBinBytes = 'C';
constexpr unsigned char kProto = 0x80, kNewObj = 0x81, kTuple1 = 0x85, kTuple2 = 0x86,
                        kTuple3 = 0x87, kNewTrue = 0x88, kNewFalse = 0x89, kLong1 = 0x8a,
                        kLong4 = 0x8b, kShortBinUnicode = 0x8c, kBinUnicode8 = 0x8d,
                        kBinBytes8 = 0x8e, kNewObjEx = 0x92, kStackGlobal = 0x93, kMemoize = 0x94,
                        kFrame = 0x95;
}  // namespace op

// Reads one pickle at a time from a buffer (the legacy format has several in a row).
class PickleReader {
public:
    using PersistentLoad = std::function<Py(const Py& id)>;

    PickleReader(const char* data, std::size_t size, PersistentLoad load)
        : data_(data), size_(size), persistentLoad_(std::move(load)) {}

    std::size_t position() const { return pos_; }
    void seek(std::size_t pos) { pos_ = pos; }

    Py load() {
        stack_.clear();
        marks_.clear();
        memo_.clear();
        while (true) {
            const auto code = static_cast<unsigned char>(readByte());
            if (code == static_cast<unsigned char>(op::kStop)) break;
            step(code);
        }
        if (stack_.size() != 1) throw FormatError("malformed pickle: stack not balanced at STOP");
        return stack_.back();
    }

    template <typename T>
    T readLittleEndian() {
        T value;
        std::memcpy(&value, take(sizeof(T)), sizeof(T));
        return value;  // Lucida runs on little-endian hosts only, as LibTorch's own reader does.
    }

    const char* take(std::size_t n) {
        if (n > size_ - pos_) throw FormatError("unexpected end of file (truncated?)");
        const char* p = data_ + pos_;
        pos_ += n;
        return p;
    }

private:
    char readByte() { return *take(1); }

    std::string readLine() {
        const std::size_t start = pos_;
        while (readByte() != '\n') {
        }
        return std::string(data_ + start, pos_ - start - 1);
    }

    Py pop() {
        if (stack_.empty()) throw FormatError("malformed pickle: stack underflow");
        Py v = std::move(stack_.back());
        stack_.pop_back();
        return v;
    }

    Py& top() {
        if (stack_.empty()) throw FormatError("malformed pickle: stack underflow");
        return stack_.back();
    }

    std::vector<Py> popToMark() {
        if (marks_.empty() || marks_.back() > stack_.size()) {
            throw FormatError("malformed pickle: no mark");
        }
        const std::size_t start = marks_.back();
        marks_.pop_back();
        std::vector<Py> items(std::make_move_iterator(stack_.begin() + start),
                              std::make_move_iterator(stack_.end()));
        stack_.resize(start);
        return items;
    }

    void memoPut(std::size_t id) {
        if (id > 1'000'000'000) throw FormatError("malformed pickle: memo index too large");
        if (memo_.size() <= id) memo_.resize(id + 1);
        memo_[id] = top();
    }

    void memoGet(std::size_t id) {
        if (id >= memo_.size() || !memo_[id]) throw FormatError("malformed pickle: bad memo id");
        stack_.push_back(memo_[id]);
    }

    void pushText(PyValue::Kind kind, std::size_t length) {
        stack_.push_back(makeText(kind, std::string(take(length), length)));
    }

    void pushLong(std::size_t length) {
        const char* bytes = take(length);
        if (length <= 8) {
            std::uint64_t v = 0;
            for (std::size_t i = 0; i < length; ++i) {
                v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
            }
            if (length > 0 && length < 8 && (bytes[length - 1] & 0x80)) {
                v |= ~std::uint64_t{0} << (8 * length);  // sign-extend
            }
            stack_.push_back(makeInt(static_cast<std::int64_t>(v)));
        } else {
            stack_.push_back(makeText(PyValue::Kind::BigInt, std::string(bytes, length)));
        }
    }

    void pushTuple(std::vector<Py> items) {
        auto t = make(PyValue::Kind::Tuple);
        t->items = std::move(items);
        stack_.push_back(std::move(t));
    }

    static void setItems(const Py& dict, std::vector<Py>& kv) {
        if (dict->kind == PyValue::Kind::Opaque) return;  // an unknown mapping: contents unused
        if (dict->kind != PyValue::Kind::Dict) {
            throw FormatError("malformed pickle: SETITEMS on " + describe(dict));
        }
        if (kv.size() % 2 != 0) throw FormatError("malformed pickle: odd SETITEMS");
        for (std::size_t i = 0; i < kv.size(); i += 2) {
            dict->entries.emplace_back(std::move(kv[i]), std::move(kv[i + 1]));
        }
    }

    static void appendItems(const Py& list, std::vector<Py>& items) {
        if (list->kind == PyValue::Kind::Opaque) return;
        if (list->kind != PyValue::Kind::List) {
            throw FormatError("malformed pickle: APPENDS on " + describe(list));
        }
        for (auto& item : items) list->items.push_back(std::move(item));
    }

    Py call(const Py& callable, const Py& args);

    void step(unsigned char code) {
        switch (code) {
            case op::kProto:
                take(1);
                break;
            case op::kFrame:
                take(8);
                break;
            case op::kMark:
                marks_.push_back(stack_.size());
                break;
            case op::kPop:
                pop();
                break;
            case op::kPopMark:
                popToMark();
                break;
            case op::kDup:
                stack_.push_back(top());
                break;
            case op::kNone:
                stack_.push_back(make(PyValue::Kind::None));
                break;
            case op::kNewTrue:
            case op::kNewFalse: {
                auto b = make(PyValue::Kind::Bool);
                b->integer = code == op::kNewTrue ? 1 : 0;
                stack_.push_back(std::move(b));
                break;
            }
            case op::kBinInt:
                stack_.push_back(makeInt(readLittleEndian<std::int32_t>()));
                break;
            case op::kBinInt1:
                stack_.push_back(makeInt(readLittleEndian<std::uint8_t>()));
                break;
            case op::kBinInt2:
                stack_.push_back(makeInt(readLittleEndian<std::uint16_t>()));
                break;
            case op::kLong1:
                pushLong(readLittleEndian<std::uint8_t>());
                break;
            case op::kLong4:
                pushLong(readLittleEndian<std::uint32_t>());
                break;
            case op::kBinFloat: {
                std::uint64_t bits = 0;
                const char* p = take(8);
                for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(p[i]);
                auto f = make(PyValue::Kind::Float);
                std::memcpy(&f->real, &bits, sizeof bits);  // big-endian IEEE 754
                stack_.push_back(std::move(f));
                break;
            }
            case op::kBinUnicode:
                pushText(PyValue::Kind::String, readLittleEndian<std::uint32_t>());
                break;
            case op::kShortBinUnicode:
                pushText(PyValue::Kind::String, readLittleEndian<std::uint8_t>());
                break;
            case op::kBinUnicode8:
                pushText(PyValue::Kind::String, readLittleEndian<std::uint64_t>());
                break;
            case op::kBinString:
                pushText(PyValue::Kind::String, readLittleEndian<std::uint32_t>());
                break;
            case op::kShortBinString:
                pushText(PyValue::Kind::String, readLittleEndian<std::uint8_t>());
                break;
            case op::kBinBytes:
                pushText(PyValue::Kind::Bytes, readLittleEndian<std::uint32_t>());
                break;
            case op::kShortBinBytes:
                pushText(PyValue::Kind::Bytes, readLittleEndian<std::uint8_t>());
                break;
            case op::kBinBytes8:
                pushText(PyValue::Kind::Bytes, readLittleEndian<std::uint64_t>());
                break;
            case op::kEmptyTuple:
                pushTuple({});
                break;
            case op::kTuple:
                pushTuple(popToMark());
                break;
            case op::kTuple1: {
                auto a = pop();
                pushTuple({a});
                break;
            }
            case op::kTuple2: {
                auto b = pop();
                auto a = pop();
                pushTuple({a, b});
                break;
            }
            case op::kTuple3: {
                auto c = pop();
                auto b = pop();
                auto a = pop();
                pushTuple({a, b, c});
                break;
            }
            case op::kEmptyList:
                stack_.push_back(make(PyValue::Kind::List));
                break;
            case op::kList: {
                auto list = make(PyValue::Kind::List);
                list->items = popToMark();
                stack_.push_back(std::move(list));
                break;
            }
            case op::kAppend: {
                std::vector<Py> item{pop()};
                appendItems(top(), item);
                break;
            }
            case op::kAppends: {
                auto items = popToMark();
                appendItems(top(), items);
                break;
            }
            case op::kEmptyDict:
                stack_.push_back(make(PyValue::Kind::Dict));
                break;
            case op::kDict: {
                auto dict = make(PyValue::Kind::Dict);
                auto kv = popToMark();
                setItems(dict, kv);
                stack_.push_back(std::move(dict));
                break;
            }
            case op::kSetItem: {
                auto value = pop();
                auto key = pop();
                std::vector<Py> kv{key, value};
                setItems(top(), kv);
                break;
            }
            case op::kSetItems: {
                auto kv = popToMark();
                setItems(top(), kv);
                break;
            }
            case op::kBinPut:
                memoPut(readLittleEndian<std::uint8_t>());
                break;
            case op::kLongBinPut:
                memoPut(readLittleEndian<std::uint32_t>());
                break;
            case op::kMemoize:
                memoPut(memo_.size());
                break;
            case op::kBinGet:
                memoGet(readLittleEndian<std::uint8_t>());
                break;
            case op::kLongBinGet:
                memoGet(readLittleEndian<std::uint32_t>());
                break;
            case op::kGlobal: {
                auto module = readLine();
                auto name = readLine();
                stack_.push_back(makeText(PyValue::Kind::Global, module + "." + name));
                break;
            }
            case op::kStackGlobal: {
                auto name = pop();
                auto module = pop();
                stack_.push_back(
                    makeText(PyValue::Kind::Global,
                             toString(module, "a module") + "." + toString(name, "a name")));
                break;
            }
            case op::kReduce: {
                auto args = pop();
                auto callable = pop();
                stack_.push_back(call(callable, args));
                break;
            }
            case op::kNewObj: {
                pop();  // args
                auto cls = pop();
                stack_.push_back(makeText(PyValue::Kind::Opaque, cls->text));
                break;
            }
            case op::kNewObjEx: {
                pop();  // kwargs
                pop();  // args
                auto cls = pop();
                stack_.push_back(makeText(PyValue::Kind::Opaque, cls->text));
                break;
            }
            // Sets an object's state: for the state_dict that is OrderedDict's `_metadata`
            // (per-module versions), which LibTorch's unpickler chokes on and nobody here needs.
            case op::kBuild:
                pop();
                break;
            case op::kBinPersId: {
                auto id = pop();
                stack_.push_back(persistentLoad_(id));
                break;
            }
            default: {
                std::ostringstream message;
                message << "unsupported pickle opcode 0x" << std::hex << int(code) << " at byte "
                        << std::dec << (pos_ - 1);
                throw FormatError(message.str());
            }
        }
    }

    const char* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
    PersistentLoad persistentLoad_;
    std::vector<Py> stack_;
    std::vector<std::size_t> marks_;
    std::vector<Py> memo_;
};

// torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
// backward_hooks[, metadata]): a view on a storage.
Py rebuildTensor(const std::vector<Py>& args) {
    if (args.size() < 4 || args[0]->kind != PyValue::Kind::Storage) {
        throw FormatError("malformed tensor record");
    }
    const at::Tensor& storage = args[0]->tensor;
    const std::int64_t offset = toInt(args[1], "a storage offset");
    std::vector<std::int64_t> sizes, strides;
    for (const auto& s : toTuple(args[2], "a tensor size")) sizes.push_back(toInt(s, "a size"));
    for (const auto& s : toTuple(args[3], "a tensor stride")) {
        strides.push_back(toInt(s, "a stride"));
    }
    if (sizes.size() != strides.size()) throw FormatError("malformed tensor record");
    // The view must lie inside its storage (a corrupt file must not read out of bounds).
    std::int64_t last = offset;
    bool empty = false;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        if (sizes[i] < 0 || strides[i] < 0) throw FormatError("malformed tensor shape");
        if (sizes[i] == 0) empty = true;
        last += (sizes[i] - 1) * strides[i];
    }
    if (offset < 0 || (!empty && last >= storage.numel())) {
        throw FormatError("tensor lies outside its storage (truncated?)");
    }
    auto value = make(PyValue::Kind::Tensor);
    value->tensor =
        at::empty({0}, storage.options()).set_(storage.storage(), offset, sizes, strides);
    return value;
}

Py PickleReader::call(const Py& callable, const Py& args) {
    if (callable->kind != PyValue::Kind::Global) {
        throw FormatError("malformed pickle: calling " + describe(callable));
    }
    const std::string& name = callable->text;
    if (name == "collections.OrderedDict") return make(PyValue::Kind::Dict);
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
        return rebuildTensor(toTuple(args, "a tensor record"));
    }
    // LibTorch's pickler (torch::pickle_save) tags typed containers: restore_type_tag(obj, type).
    if (name == "torch.jit._pickle.restore_type_tag") {
        const auto& items = toTuple(args, "a type tag");
        if (items.empty()) throw FormatError("malformed type tag");
        return items[0];
    }
    if (name == "torch._utils._rebuild_parameter" ||
        name == "torch._utils._rebuild_parameter_with_state") {
        const auto& items = toTuple(args, "a parameter record");
        if (items.empty() || items[0]->kind != PyValue::Kind::Tensor) {
            throw FormatError("malformed parameter record");
        }
        return items[0];
    }
    return makeText(PyValue::Kind::Opaque, name);
}

at::ScalarType storageDtype(const Py& type) {
    static const std::map<std::string, at::ScalarType> kTypes = {
        {"torch.FloatStorage", at::kFloat},  {"torch.DoubleStorage", at::kDouble},
        {"torch.HalfStorage", at::kHalf},    {"torch.BFloat16Storage", at::kBFloat16},
        {"torch.LongStorage", at::kLong},    {"torch.IntStorage", at::kInt},
        {"torch.ShortStorage", at::kShort},  {"torch.CharStorage", at::kChar},
        {"torch.ByteStorage", at::kByte},    {"torch.BoolStorage", at::kBool},
        {"torch.UntypedStorage", at::kByte},
    };
    if (type->kind == PyValue::Kind::Global) {
        auto it = kTypes.find(type->text);
        if (it != kTypes.end()) return it->second;
    }
    throw FormatError("unsupported tensor storage: " + describe(type));
}

struct StorageRef {
    std::string key;
    at::ScalarType dtype;
    std::int64_t numel;
};

// ('storage', storage_type, key, location, numel[, view_metadata])
StorageRef parseStorageId(const Py& id) {
    const auto& items = toTuple(id, "a persistent id");
    if (items.size() < 5 || toString(items[0], "a persistent id") != "storage") {
        throw FormatError("unsupported persistent id in the pickle");
    }
    if (items.size() > 5 && items[5]->kind != PyValue::Kind::None) {
        throw FormatError("storage views (torch < 0.4 files) are not supported");
    }
    StorageRef ref{toString(items[2], "a storage key"), storageDtype(items[1]),
                   toInt(items[4], "a storage size")};
    if (ref.numel < 0) throw FormatError("negative storage size");
    return ref;
}

Py storageValue(at::Tensor tensor) {
    auto value = make(PyValue::Kind::Storage);
    value->tensor = std::move(tensor);
    return value;
}

// A dict of name -> tensor, or a checkpoint holding one under a conventional key.
StateDict toStateDict(const Py& root) {
    if (root->kind != PyValue::Kind::Dict) {
        throw FormatError("not a state_dict: the file holds " + describe(root));
    }
    for (const char* key : {"state_dict", "model_state_dict", "model"}) {
        for (const auto& [k, v] : root->entries) {
            if (k->kind == PyValue::Kind::String && k->text == key &&
                v->kind == PyValue::Kind::Dict) {
                return toStateDict(v);
            }
        }
    }
    StateDict result;
    for (const auto& [k, v] : root->entries) {
        if (k->kind != PyValue::Kind::String) {
            throw FormatError("not a state_dict: a key is " + describe(k));
        }
        if (v->kind != PyValue::Kind::Tensor) {
            throw FormatError("not a state_dict: '" + k->text + "' is " + describe(v));
        }
        result.emplace_back(k->text, v->tensor);
    }
    if (result.empty()) throw FormatError("not a state_dict: the dict holds no tensors");
    return result;
}

StateDict readZip(const std::string& path) {
    std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
    try {
        archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
    } catch (const c10::Error& e) {
        std::string what = e.what_without_backtrace();
        what = what.substr(0, what.find('\n'));
        throw FormatError("truncated or damaged zip archive (" + what + ")");
    }
    if (!archive->hasRecord("data.pkl")) {
        throw FormatError("not a torch.save file: the zip archive has no data.pkl");
    }
    auto [pickle, pickleSize] = archive->getRecord("data.pkl");
    std::map<std::string, at::Tensor> storages;
    PickleReader reader(static_cast<const char*>(pickle.get()), pickleSize, [&](const Py& id) {
        const StorageRef ref = parseStorageId(id);
        auto& storage = storages[ref.key];
        if (!storage.defined()) {
            const std::size_t bytes = ref.numel * c10::elementSize(ref.dtype);
            const std::string record = "data/" + ref.key;
            if (!archive->hasRecord(record)) throw FormatError("missing record " + record);
            auto [data, size] = archive->getRecord(record);
            if (size < bytes) throw FormatError("record " + record + " is short (truncated?)");
            at::Storage owner(c10::Storage::use_byte_size_t(), bytes, std::move(data),
                              /*allocator=*/nullptr, /*resizable=*/false);
            storage = at::empty({0}, at::TensorOptions().dtype(ref.dtype))
                          .set_(owner, 0, {ref.numel}, {1});
        }
        return storageValue(storage);
    });
    return toStateDict(reader.load());
}

// torch.save(..., _use_new_zipfile_serialization=False): pickles of the magic number, the
// protocol version, system info, the object, the sorted storage keys; then each storage as an
// int64 element count followed by its bytes.
StateDict readLegacy(std::ifstream& file) {
    file.seekg(0, std::ios::end);
    const auto fileSize = static_cast<std::size_t>(file.tellg());
    file.seekg(0);
    std::vector<char> bytes(fileSize);
    if (!file.read(bytes.data(), static_cast<std::streamsize>(fileSize))) {
        throw FormatError("cannot read the file");
    }
    std::map<std::string, at::Tensor> storages;
    PickleReader reader(bytes.data(), bytes.size(), [&](const Py& id) {
        const StorageRef ref = parseStorageId(id);
        auto& storage = storages[ref.key];
        if (!storage.defined()) {
            storage = at::empty({ref.numel}, at::TensorOptions().dtype(ref.dtype));
        }
        return storageValue(storage);
    });

    static const unsigned char kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                           0x20, 0x6a, 0xa8, 0x50, 0x19};
    Py magic;
    try {
        magic = reader.load();
    } catch (const FormatError& e) {
        throw FormatError(std::string("not a PyTorch file (") + e.what() + ")");
    }
    if (magic->kind != PyValue::Kind::BigInt || magic->text.size() != sizeof kMagic ||
        std::memcmp(magic->text.data(), kMagic, sizeof kMagic) != 0) {
        throw FormatError("not a PyTorch file (a pickle without torch.save's magic number)");
    }
    if (toInt(reader.load(), "the protocol version") != 1001) {
        throw FormatError("unsupported legacy protocol version");
    }
    const Py sysInfo = reader.load();
    for (const auto& [k, v] : sysInfo->entries) {
        if (k->text == "little_endian" && v->kind == PyValue::Kind::Bool && !v->integer) {
            throw FormatError("big-endian files are not supported");
        }
    }
    StateDict result = toStateDict(reader.load());
    for (const Py& key : toTuple(reader.load(), "the storage keys")) {
        auto it = storages.find(toString(key, "a storage key"));
        if (it == storages.end()) throw FormatError("unreferenced storage in file");
        at::Tensor& storage = it->second;
        const auto count = reader.readLittleEndian<std::int64_t>();
        if (count != storage.numel()) throw FormatError("storage size mismatch");
        const std::size_t n = storage.numel() * storage.element_size();
        std::memcpy(storage.data_ptr(), reader.take(n), n);
    }
    return result;
}

}  // namespace

StateDict readStateDict(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw ModelError(path, "cannot open the file: " + std::string(std::strerror(errno)));
    char head[4] = {};
    file.read(head, sizeof head);
    try {
        if (file.gcount() == 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) {
            file.close();
            return readZip(path);
        }
        if (file.gcount() >= 2 && static_cast<unsigned char>(head[0]) == op::kProto) {
            return readLegacy(file);
        }
        throw FormatError("not a PyTorch file (neither a zip archive nor a pickle)");
    } catch (const FormatError& e) {
        throw ModelError(path, e.what());
    } catch (const c10::Error& e) {
        std::string what = e.what_without_backtrace();
        throw ModelError(path, "damaged PyTorch file: " + what.substr(0, what.find('\n')));
    }
}

}  // namespace lucida
