#pragma once
// The pickle machine that reads torch.save files without LibTorch (see StateDictLayout.h): values
// in an arena, limits on depth, object and operation counts, nothing from the file executed.
// Internal to core/model.
#include "model/StateDictLayout.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace lucida::pickle {

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

// "a tuple", "the class os.system": what a value is, for errors.
std::string describe(const PyValue* v);
// The value as an int, string or tuple (a list too); FormatError naming `what` otherwise.
std::int64_t toInt(const PyValue* v, const char* what);
const std::string& toString(const PyValue* v, const char* what);
const std::vector<const PyValue*>& toTuple(const PyValue* v, const char* what);

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

    // One opcode; the groups below return false for an opcode that is not theirs.
    void step(unsigned char code);
    bool stepStack(unsigned char code);
    bool stepScalar(unsigned char code);
    bool stepContainer(unsigned char code);
    bool stepObject(unsigned char code);

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

}  // namespace lucida::pickle
