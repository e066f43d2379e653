#include "model/StateDictReader.h"

#include "model/ModelError.h"
#include "model/StateDictLayout.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <new>

namespace lucida {
namespace {

at::ScalarType scalarType(StorageDtype dtype) {
    switch (dtype) {
        case StorageDtype::Float:
            return at::kFloat;
        case StorageDtype::Double:
            return at::kDouble;
        case StorageDtype::Half:
            return at::kHalf;
        case StorageDtype::BFloat16:
            return at::kBFloat16;
        case StorageDtype::Long:
            return at::kLong;
        case StorageDtype::Int:
            return at::kInt;
        case StorageDtype::Short:
            return at::kShort;
        case StorageDtype::Char:
            return at::kChar;
        case StorageDtype::Byte:
            return at::kByte;
        case StorageDtype::Bool:
            return at::kBool;
    }
    return at::kByte;
}

}  // namespace

// The file is read without LibTorch first (StateDictLayout.cpp: every limit and size checked);
// only then are the storages the state_dict uses allocated and filled, and the views made.
StateDict readStateDict(const std::string& path) {
    const FileBytes file(path);
    const StateDictLayout layout = readStateDictLayout(path, file.data(), file.size());
    try {
        std::vector<at::Tensor> storages(layout.storages.size());
        StateDict result;
        result.reserve(layout.tensors.size());
        for (const TensorLayout& t : layout.tensors) {
            const TensorView& view = layout.views[t.view];
            at::Tensor& storage = storages[view.storage];
            if (!storage.defined()) {
                const StorageLayout& s = layout.storages[view.storage];
                storage = at::empty({s.numel}, at::TensorOptions().dtype(scalarType(s.dtype)));
                readStorageBytes(path, file.data(), file.size(), layout, s, storage.data_ptr());
            }
            result.emplace_back(
                t.name, at::empty({0}, storage.options())
                            .set_(storage.storage(), view.offset, view.sizes, view.strides));
        }
        return result;
    } catch (const c10::Error& e) {
        std::string what = e.what_without_backtrace();
        throw ModelError(path, "damaged PyTorch file: " + what.substr(0, what.find('\n')));
    } catch (const std::bad_alloc&) {
        throw ModelError(path, "not enough memory for the model's tensors");
    }
}

}  // namespace lucida
