#include "model/StateDictLayout.h"

#include "model/ModelError.h"
#include "model/ZipArchive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <unordered_set>

namespace lucida {

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

// A malformed or unsupported file; turned into ModelError(path, what()) at the top.
class FormatError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What a state_dict pickle can hold. Objects of classes the reader does not know become Opaque
// (named after their class) instead of failing, so that a checkpoint with extra entries (optimizer
// state, numpy scalars) can still yield its state_dict. Nothing from the file is ever executed.
// Values are owned by the reader's arena and point at each other with plain pointers: a value
// that contains itself is harmless and nothing is destroyed recursively.
struct PyValue {
    enum class Kind : std::uint8_t {
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
    bool elided = false;       // a String or BigInt too long to keep: `text` is empty
    std::uint32_t depth = 0;   // containers: 1 + the deepest item's depth when it was added
    std::int64_t integer = 0;  // Bool, Int; Storage and Tensor: their index; elided: length
    double real = 0;           // Float
    std::string text;          // String, BigInt (little-endian), Global ("module.name")
    std::vector<const PyValue*> items;  // Tuple, List; Dict: key, value, key, value …
    const PyValue* cls = nullptr;       // Opaque: its Global
};

using Kind = PyValue::Kind;

std::string describe(const PyValue* v) {
    switch (v->kind) {
        case Kind::None:
            return "None";
        case Kind::Bool:
            return "a bool";
        case Kind::Int:
        case Kind::BigInt:
            return "an int";
        case Kind::Float:
            return "a float";
        case Kind::String:
            return "a string";
        case Kind::Bytes:
            return "bytes";
        case Kind::Tuple:
            return "a tuple";
        case Kind::List:
            return "a list";
        case Kind::Dict:
            return "a dict";
        case Kind::Global:
            return "the class " + v->text;
        case Kind::Storage:
            return "a storage";
        case Kind::Tensor:
            return "a tensor";
        case Kind::Opaque:
            return "a " + (v->cls ? v->cls->text : std::string("?")) + " object";
    }
    return "?";
}

std::int64_t toInt(const PyValue* v, const char* what) {
    if (v->kind != Kind::Int && v->kind != Kind::Bool)
        throw FormatError(std::string("expected an int for ") + what + ", found " + describe(v));
    return v->integer;
}

const std::string& toString(const PyValue* v, const char* what) {
    if (v->kind != Kind::String)
        throw FormatError(std::string("expected a string for ") + what + ", found " + describe(v));
    if (v->elided)
        throw FormatError(std::string("a string of ") + std::to_string(v->integer) + " bytes for " +
                          what + " (longer than " + std::to_string(PickleLimits::kMaxStringBytes) +
                          ")");
    return v->text;
}

const std::vector<const PyValue*>& toTuple(const PyValue* v, const char* what) {
    if (v->kind != Kind::Tuple && v->kind != Kind::List)
        throw FormatError(std::string("expected a tuple for ") + what + ", found " + describe(v));
    return v->items;
}

// Pickle opcodes (Python's Lib/pickletools.py) that torch.save's protocol 2 and later ones emit.
namespace op {
constexpr unsigned char kMark = '(', kStop = '.', kPop = '0', kPopMark = '1', kDup = '2',
                        kBinInt = 'J', kBinInt1 = 'K', kBinInt2 = 'M', kNone = 'N',
                        kBinPersId = 'Q', kReduce = 'R', kBinString = 'T', kShortBinString = 'U',
                        kBinUnicode = 'X', kAppend = 'a', kBuild = 'b', kGlobal = 'c', kDict = 'd',
                        kEmptyDict = '}', kAppends = 'e', kBinGet = 'h', kLongBinGet = 'j',
                        kList = 'l', kEmptyList = ']', kBinPut = 'q', kLongBinPut = 'r',
                        kSetItem = 's', kTuple = 't', kEmptyTuple = ')', kSetItems = 'u',
                        kBinFloat = 'G', kBinBytes = 'B', kShortBinBytes = 'C';
constexpr unsigned char kProto = 0x80, kNewObj = 0x81, kTuple1 = 0x85, kTuple2 = 0x86,
                        kTuple3 = 0x87, kNewTrue = 0x88, kNewFalse = 0x89, kLong1 = 0x8a,
                        kLong4 = 0x8b, kShortBinUnicode = 0x8c, kBinUnicode8 = 0x8d,
                        kBinBytes8 = 0x8e, kNewObjEx = 0x92, kStackGlobal = 0x93, kMemoize = 0x94,
                        kFrame = 0x95;
}  // namespace op

StorageDtype storageDtype(const PyValue* type) {
    static const std::map<std::string, StorageDtype, std::less<>> kTypes = {
        {"torch.FloatStorage", StorageDtype::Float},
        {"torch.DoubleStorage", StorageDtype::Double},
        {"torch.HalfStorage", StorageDtype::Half},
        {"torch.BFloat16Storage", StorageDtype::BFloat16},
        {"torch.LongStorage", StorageDtype::Long},
        {"torch.IntStorage", StorageDtype::Int},
        {"torch.ShortStorage", StorageDtype::Short},
        {"torch.CharStorage", StorageDtype::Char},
        {"torch.ByteStorage", StorageDtype::Byte},
        {"torch.BoolStorage", StorageDtype::Bool},
        {"torch.UntypedStorage", StorageDtype::Byte},
    };
    if (type->kind == Kind::Global) {
        auto it = kTypes.find(type->text);
        if (it != kTypes.end()) return it->second;
    }
    throw FormatError("unsupported tensor storage: " + describe(type));
}

// Reads one pickle at a time from a buffer (the legacy format has several in a row). Storages
// named by persistent ids and tensor views are collected, not allocated.
class Unpickler {
public:
    Unpickler(const char* data, std::size_t size) : data_(data), size_(size) {}

    std::size_t position() const { return pos_; }
    const std::vector<StorageLayout>& storages() const { return storages_; }
    std::vector<StorageLayout>& storages() { return storages_; }
    std::vector<TensorView>& views() { return views_; }

    const PyValue* load() {
        stack_.clear();
        marks_.clear();
        memo_.clear();
        while (true) {
            if (++operations_ > PickleLimits::kMaxOperations)
                throw FormatError("pickle has more than " +
                                  std::to_string(PickleLimits::kMaxOperations) +
                                  " operations (limit)");
            const auto code = static_cast<unsigned char>(*take(1));
            if (code == op::kStop) break;
            step(code);
        }
        if (stack_.size() != 1) throw FormatError("malformed pickle: stack not balanced at STOP");
        return stack_.back();
    }

    std::int64_t readInt64() {
        std::uint64_t v = 0;
        const char* p = take(8);
        for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
        return static_cast<std::int64_t>(v);
    }

    const char* take(std::uint64_t n) {
        if (n > size_ - pos_) throw FormatError("unexpected end of file (truncated?)");
        const char* p = data_ + pos_;
        pos_ += n;
        return p;
    }

private:
    template <typename T>
    T readLittleEndian() {
        T value = 0;
        const char* p = take(sizeof(T));
        for (std::size_t i = 0; i < sizeof(T); ++i)
            value |= static_cast<T>(static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i));
        return value;
    }

    PyValue* make(Kind kind) {
        if (values_.size() >= PickleLimits::kMaxObjects)
            throw FormatError("pickle makes more than " +
                              std::to_string(PickleLimits::kMaxObjects) + " objects (limit)");
        PyValue& v = values_.emplace_back();
        v.kind = kind;
        return &v;
    }

    // `child` goes into the container `parent`: the nesting depth is bounded here, so that the
    // 2-million-deep tuple is refused at depth 1000 instead of being built.
    static void adopt(PyValue* parent, const PyValue* child) {
        parent->items.push_back(child);
        if (child->depth + 1 > parent->depth) {
            parent->depth = child->depth + 1;
            if (parent->depth > PickleLimits::kMaxDepth)
                throw FormatError("pickle nests containers deeper than " +
                                  std::to_string(PickleLimits::kMaxDepth) + " levels (limit)");
        }
    }

    std::string readLine() {
        for (std::size_t n = 0; n <= 256 && pos_ + n < size_; ++n) {
            if (data_[pos_ + n] == '\n') {
                std::string line(data_ + pos_, n);
                pos_ += n + 1;
                return line;
            }
        }
        throw FormatError("malformed pickle: a class name longer than 256 bytes or unterminated");
    }

    const PyValue* pop() {
        if (stack_.empty()) throw FormatError("malformed pickle: stack underflow");
        const PyValue* v = stack_.back();
        stack_.pop_back();
        return v;
    }

    const PyValue* top() const {
        if (stack_.empty()) throw FormatError("malformed pickle: stack underflow");
        return stack_.back();
    }

    // Containers on the stack are only mutated through the arena that owns them.
    PyValue* mutableTop() { return const_cast<PyValue*>(top()); }

    std::vector<const PyValue*> popToMark() {
        if (marks_.empty() || marks_.back() > stack_.size())
            throw FormatError("malformed pickle: no mark");
        const std::size_t start = marks_.back();
        marks_.pop_back();
        std::vector<const PyValue*> items(stack_.begin() + static_cast<std::ptrdiff_t>(start),
                                          stack_.end());
        stack_.resize(start);
        return items;
    }

    // Memo indices are bounded by what was read: a pickler numbers its objects 0, 1, 2 … so an
    // index past the operations executed is not from one (and must not size a table).
    void memoPut(std::uint64_t id) {
        if (id >= operations_)
            throw FormatError("malformed pickle: memo index " + std::to_string(id) +
                              " is larger than the " + std::to_string(operations_) +
                              " operations read so far (limit)");
        if (memo_.size() <= id) memo_.resize(id + 1, nullptr);
        memo_[id] = top();
    }

    void memoGet(std::uint64_t id) {
        if (id >= memo_.size() || !memo_[id])
            throw FormatError("malformed pickle: bad memo index " + std::to_string(id));
        stack_.push_back(memo_[id]);
    }

    void pushText(Kind kind, std::uint64_t length) {
        const char* bytes = take(length);
        PyValue* v = make(kind);
        if (kind == Kind::Bytes || length > PickleLimits::kMaxStringBytes) {
            v->elided = true;  // never needed: bytes objects, very long strings
            v->integer = static_cast<std::int64_t>(length);
        } else {
            v->text.assign(bytes, length);
        }
        stack_.push_back(v);
    }

    void pushLong(std::uint64_t length) {
        const char* bytes = take(length);
        if (length <= 8) {
            std::uint64_t v = 0;
            for (std::size_t i = 0; i < length; ++i)
                v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
            if (length > 0 && length < 8 && (bytes[length - 1] & 0x80))
                v |= ~std::uint64_t{0} << (8 * length);  // sign-extend
            PyValue* i = make(Kind::Int);
            i->integer = static_cast<std::int64_t>(v);
            stack_.push_back(i);
        } else {
            PyValue* big = make(Kind::BigInt);
            if (length <= 16)
                big->text.assign(bytes, length);  // torch.save's magic number is 10 bytes
            else
                big->elided = true;
            stack_.push_back(big);
        }
    }

    void pushTuple(const std::vector<const PyValue*>& items) {
        PyValue* t = make(Kind::Tuple);
        t->items.reserve(items.size());
        for (const PyValue* item : items) adopt(t, item);
        stack_.push_back(t);
    }

    static void setItems(PyValue* dict, const std::vector<const PyValue*>& kv) {
        if (dict->kind == Kind::Opaque) return;  // an unknown mapping: contents unused
        if (dict->kind != Kind::Dict)
            throw FormatError("malformed pickle: SETITEMS on " + describe(dict));
        if (kv.size() % 2 != 0) throw FormatError("malformed pickle: odd SETITEMS");
        for (const PyValue* item : kv) adopt(dict, item);
    }

    static void appendItems(PyValue* list, const std::vector<const PyValue*>& items) {
        if (list->kind == Kind::Opaque) return;
        if (list->kind != Kind::List)
            throw FormatError("malformed pickle: APPENDS on " + describe(list));
        for (const PyValue* item : items) adopt(list, item);
    }

    const PyValue* opaque(const PyValue* cls) {
        if (cls->kind != Kind::Global)
            throw FormatError("malformed pickle: creating an object of " + describe(cls));
        PyValue* v = make(Kind::Opaque);
        v->cls = cls;
        return v;
    }

    const PyValue* call(const PyValue* callable, const PyValue* args);
    const PyValue* rebuildTensor(const std::vector<const PyValue*>& args);
    const PyValue* persistentLoad(const PyValue* id);

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
                stack_.push_back(make(Kind::None));
                break;
            case op::kNewTrue:
            case op::kNewFalse: {
                PyValue* b = make(Kind::Bool);
                b->integer = code == op::kNewTrue ? 1 : 0;
                stack_.push_back(b);
                break;
            }
            case op::kBinInt: {
                PyValue* i = make(Kind::Int);
                i->integer = static_cast<std::int32_t>(readLittleEndian<std::uint32_t>());
                stack_.push_back(i);
                break;
            }
            case op::kBinInt1:
            case op::kBinInt2: {
                const std::int64_t v = code == op::kBinInt1 ? readLittleEndian<std::uint8_t>()
                                                            : readLittleEndian<std::uint16_t>();
                PyValue* i = make(Kind::Int);
                i->integer = v;
                stack_.push_back(i);
                break;
            }
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
                PyValue* f = make(Kind::Float);
                std::memcpy(&f->real, &bits, sizeof bits);  // big-endian IEEE 754
                stack_.push_back(f);
                break;
            }
            case op::kBinUnicode:
            case op::kBinString:
                pushText(Kind::String, readLittleEndian<std::uint32_t>());
                break;
            case op::kShortBinUnicode:
            case op::kShortBinString:
                pushText(Kind::String, readLittleEndian<std::uint8_t>());
                break;
            case op::kBinUnicode8:
                pushText(Kind::String, readLittleEndian<std::uint64_t>());
                break;
            case op::kBinBytes:
                pushText(Kind::Bytes, readLittleEndian<std::uint32_t>());
                break;
            case op::kShortBinBytes:
                pushText(Kind::Bytes, readLittleEndian<std::uint8_t>());
                break;
            case op::kBinBytes8:
                pushText(Kind::Bytes, readLittleEndian<std::uint64_t>());
                break;
            case op::kEmptyTuple:
                pushTuple({});
                break;
            case op::kTuple:
                pushTuple(popToMark());
                break;
            case op::kTuple1: {
                const PyValue* a = pop();
                pushTuple({a});
                break;
            }
            case op::kTuple2: {
                const PyValue* b = pop();
                const PyValue* a = pop();
                pushTuple({a, b});
                break;
            }
            case op::kTuple3: {
                const PyValue* c = pop();
                const PyValue* b = pop();
                const PyValue* a = pop();
                pushTuple({a, b, c});
                break;
            }
            case op::kEmptyList:
                stack_.push_back(make(Kind::List));
                break;
            case op::kList: {
                auto items = popToMark();
                PyValue* list = make(Kind::List);
                appendItems(list, items);
                stack_.push_back(list);
                break;
            }
            case op::kAppend: {
                const PyValue* item = pop();
                appendItems(mutableTop(), {item});
                break;
            }
            case op::kAppends: {
                auto items = popToMark();
                appendItems(mutableTop(), items);
                break;
            }
            case op::kEmptyDict:
                stack_.push_back(make(Kind::Dict));
                break;
            case op::kDict: {
                auto kv = popToMark();
                PyValue* dict = make(Kind::Dict);
                setItems(dict, kv);
                stack_.push_back(dict);
                break;
            }
            case op::kSetItem: {
                const PyValue* value = pop();
                const PyValue* key = pop();
                setItems(mutableTop(), {key, value});
                break;
            }
            case op::kSetItems: {
                auto kv = popToMark();
                setItems(mutableTop(), kv);
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
                const std::string module = readLine();
                const std::string name = readLine();
                PyValue* g = make(Kind::Global);
                g->text = module + "." + name;
                stack_.push_back(g);
                break;
            }
            case op::kStackGlobal: {
                const PyValue* name = pop();
                const PyValue* module = pop();
                const std::string& m = toString(module, "a module");
                const std::string& n = toString(name, "a name");
                if (m.size() > 256 || n.size() > 256)
                    throw FormatError("malformed pickle: a class name longer than 256 bytes");
                PyValue* g = make(Kind::Global);
                g->text = m + "." + n;
                stack_.push_back(g);
                break;
            }
            case op::kReduce: {
                const PyValue* args = pop();
                const PyValue* callable = pop();
                stack_.push_back(call(callable, args));
                break;
            }
            case op::kNewObj: {
                pop();  // args
                const PyValue* cls = pop();
                stack_.push_back(opaque(cls));
                break;
            }
            case op::kNewObjEx: {
                pop();  // kwargs
                pop();  // args
                const PyValue* cls = pop();
                stack_.push_back(opaque(cls));
                break;
            }
            // Sets an object's state: for the state_dict that is OrderedDict's `_metadata`
            // (per-module versions), which nobody here needs.
            case op::kBuild:
                pop();
                top();
                break;
            case op::kBinPersId:
                stack_.push_back(persistentLoad(pop()));
                break;
            default: {
                std::ostringstream message;
                message << "unsupported pickle opcode 0x" << std::hex << int(code) << " at byte "
                        << std::dec << (pos_ - 1);
                throw FormatError(message.str());
            }
        }
    }

    const char* data_;
    std::uint64_t size_;
    std::uint64_t pos_ = 0;
    std::uint64_t operations_ = 0;
    std::deque<PyValue> values_;  // the arena: everything made, freed one by one at the end
    std::vector<const PyValue*> stack_;
    std::vector<std::size_t> marks_;
    std::vector<const PyValue*> memo_;
    std::vector<StorageLayout> storages_;
    std::map<std::string, std::size_t, std::less<>> storageIndex_;
    std::vector<TensorView> views_;
    std::size_t dims_ = 0;
};

// torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
// backward_hooks[, metadata]): a view on a storage, which must lie inside it.
const PyValue* Unpickler::rebuildTensor(const std::vector<const PyValue*>& args) {
    if (args.size() < 4 || args[0]->kind != Kind::Storage)
        throw FormatError("malformed tensor record");
    const StorageLayout& storage = storages_[static_cast<std::size_t>(args[0]->integer)];
    TensorView view;
    view.storage = static_cast<std::size_t>(args[0]->integer);
    view.offset = toInt(args[1], "a storage offset");
    const auto& sizes = toTuple(args[2], "a tensor size");
    const auto& strides = toTuple(args[3], "a tensor stride");
    if (sizes.size() != strides.size()) throw FormatError("malformed tensor record");
    if (sizes.size() > PickleLimits::kMaxDims)
        throw FormatError("a tensor with " + std::to_string(sizes.size()) + " dimensions (limit " +
                          std::to_string(PickleLimits::kMaxDims) + ")");
    dims_ += sizes.size();
    if (dims_ > PickleLimits::kMaxDimsTotal)
        throw FormatError("tensors with more than " + std::to_string(PickleLimits::kMaxDimsTotal) +
                          " dimensions in all");
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        view.sizes.push_back(toInt(sizes[i], "a size"));
        view.strides.push_back(toInt(strides[i], "a stride"));
    }
    // The last element's index, without overflow: a corrupt file must not read out of bounds.
    std::int64_t last = view.offset;
    bool empty = false;
    for (std::size_t i = 0; i < view.sizes.size(); ++i) {
        if (view.sizes[i] < 0 || view.strides[i] < 0)
            throw FormatError("malformed tensor shape (negative size or stride)");
        if (view.sizes[i] == 0) empty = true;
    }
    bool overflow = view.offset < 0;
    for (std::size_t i = 0; !empty && !overflow && i < view.sizes.size(); ++i) {
        std::int64_t span = 0;
        overflow = __builtin_mul_overflow(view.sizes[i] - 1, view.strides[i], &span) ||
                   __builtin_add_overflow(last, span, &last);
    }
    if (overflow || (!empty && last >= storage.numel))
        throw FormatError("tensor lies outside its storage (truncated or damaged?)");
    views_.push_back(std::move(view));
    PyValue* t = make(Kind::Tensor);
    t->integer = static_cast<std::int64_t>(views_.size() - 1);
    return t;
}

const PyValue* Unpickler::call(const PyValue* callable, const PyValue* args) {
    if (callable->kind != Kind::Global)
        throw FormatError("malformed pickle: calling " + describe(callable));
    const std::string& name = callable->text;
    if (name == "collections.OrderedDict") return make(Kind::Dict);
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor")
        return rebuildTensor(toTuple(args, "a tensor record"));
    // LibTorch's pickler (torch::pickle_save) tags typed containers: restore_type_tag(obj, type).
    if (name == "torch.jit._pickle.restore_type_tag") {
        const auto& items = toTuple(args, "a type tag");
        if (items.empty()) throw FormatError("malformed type tag");
        return items[0];
    }
    if (name == "torch._utils._rebuild_parameter" ||
        name == "torch._utils._rebuild_parameter_with_state") {
        const auto& items = toTuple(args, "a parameter record");
        if (items.empty() || items[0]->kind != Kind::Tensor)
            throw FormatError("malformed parameter record");
        return items[0];
    }
    // Anything else (os.system, eval, builtins.exec …) is only a name: never looked up, never
    // called.
    return opaque(callable);
}

// ('storage', storage_type, key, location, numel[, view_metadata]): recorded, not allocated.
const PyValue* Unpickler::persistentLoad(const PyValue* id) {
    const auto& items = toTuple(id, "a persistent id");
    if (items.size() < 5 || toString(items[0], "a persistent id") != "storage")
        throw FormatError("unsupported persistent id in the pickle");
    if (items.size() > 5 && items[5]->kind != Kind::None)
        throw FormatError("storage views (torch < 0.4 files) are not supported");
    StorageLayout s;
    s.key = toString(items[2], "a storage key");
    s.dtype = storageDtype(items[1]);
    s.numel = toInt(items[4], "a storage size");
    if (s.numel < 0) throw FormatError("negative storage size");
    if (__builtin_mul_overflow(static_cast<std::uint64_t>(s.numel),
                               static_cast<std::uint64_t>(elementSize(s.dtype)), &s.bytes))
        throw FormatError("storage " + s.key + " declares an impossible size");
    auto [it, added] = storageIndex_.try_emplace(s.key, storages_.size());
    if (added) {
        storages_.push_back(std::move(s));
    } else {
        const StorageLayout& known = storages_[it->second];
        if (known.dtype != s.dtype || known.numel != s.numel)
            throw FormatError("storage " + s.key + " is declared twice with different sizes");
    }
    PyValue* v = make(Kind::Storage);
    v->integer = static_cast<std::int64_t>(it->second);
    return v;
}

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
