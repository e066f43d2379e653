// The pickle opcodes torch.save emits, executed on an arena of values: containers and scalars are
// built, classes stay names, storages and tensor views are recorded (not allocated) and checked.
#include "model/Unpickler.h"

#include <cstring>
#include <sstream>

namespace lucida::pickle {

namespace {

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

}  // namespace

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

void Unpickler::step(unsigned char code) {
    if (stepStack(code) || stepScalar(code) || stepContainer(code) || stepObject(code)) return;
    std::ostringstream message;
    message << "unsupported pickle opcode 0x" << std::hex << int(code) << " at byte " << std::dec
            << (pos_ - 1);
    throw FormatError(message.str());
}

// Framing, marks, stack shuffles and the memo. False when `code` is none of them.
bool Unpickler::stepStack(unsigned char code) {
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
        default:
            return false;
    }
    return true;
}

// None, bools, ints, floats, strings and bytes. False when `code` is none of them.
bool Unpickler::stepScalar(unsigned char code) {
    switch (code) {
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
        default:
            return false;
    }
    return true;
}

// Tuples, lists and dicts. False when `code` is none of them.
bool Unpickler::stepContainer(unsigned char code) {
    switch (code) {
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
        default:
            return false;
    }
    return true;
}

// Classes, calls, objects and persistent ids (storages): names only, nothing is executed. False
// when `code` is none of them.
bool Unpickler::stepObject(unsigned char code) {
    switch (code) {
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
        default:
            return false;
    }
    return true;
}

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

}  // namespace lucida::pickle
