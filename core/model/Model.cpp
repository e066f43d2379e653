#include "model/Model.h"

#include "model/ModelError.h"
#include "model/StateDictLayout.h"
#include "model/StateDictModel.h"
#include "model/TorchScriptBackend.h"
#include "model/ZipArchive.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace lucida {

void configureTorchThreads() {
    static std::once_flag once;
    std::call_once(once, [] {
        int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        // LUCIDA_TORCH_THREADS=1: LibTorch computes on the calling thread (the ThreadSanitizer
        // run, packaging/run-tsan.sh, so that the checked threads are Lucida's own).
        if (const char* threads = std::getenv("LUCIDA_TORCH_THREADS"); threads && *threads)
            cores = std::clamp(std::atoi(threads), 1, cores);
        at::set_num_threads(cores);
    });
}

struct Model::Impl {
    std::string path;
    ModelSpec spec;
    std::string device = "cpu";
    std::unique_ptr<ModelBackend> backend;
    bool torchScript = false;
    std::once_flag layersOnce;
    std::vector<LayerInfo> layers;
    std::once_flag defaultLayerOnce;
    std::string defaultLayer;

    at::Tensor probe() const {
        return torch::zeros({1, 3, spec.inputHeight, spec.inputWidth},
                            torch::TensorOptions().device(device));
    }
};

namespace {

enum class FileKind { TorchScript, StateDict };

// From the file's own bytes, without LibTorch's zip reader (which allocates a record's declared
// size unchecked): a pickle stream is the legacy torch.save format; a zip archive is TorchScript
// (code and constants) or torch.save's (data.pkl). The zip's central directory is checked here
// (records inside the file, no impossible inflated sizes) before anything else reads it.
FileKind detectKind(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) throw ModelError(path, "no such model file");
    if (std::filesystem::file_size(path, ec) == 0) throw ModelError(path, "model file is empty");
    const FileBytes file(path);
    if (file.size() >= 2 && static_cast<unsigned char>(file.data()[0]) == 0x80)
        return FileKind::StateDict;  // a pickle: torch.save's legacy (pre-1.6) format
    try {
        if (!looksLikeZip(file.data(), file.size()))
            throw ZipError("neither a zip archive nor a pickle");
        const ZipArchive zip(file.data(), file.size());
        if (zip.find("constants.pkl") || zip.find("code/__torch__.py"))
            return FileKind::TorchScript;
        if (zip.find("data.pkl")) return FileKind::StateDict;
    } catch (const ZipError& e) {
        throw ModelError(path, std::string("not a model: not a PyTorch archive (TorchScript .pt or "
                                           "torch.save .pth) — ") +
                                   e.what());
    }
    throw ModelError(path,
                     "not a model: a zip archive without TorchScript code or pickled weights");
}

// Completes the spec from what the model's head actually produces.
void reconcileHead(const std::string& path, ModelSpec& spec, std::int64_t outputs) {
    if (spec.classes.empty()) {
        if (outputs == 1) {
            spec.output = OutputKind::SigmoidBinary;
            spec.classes = {"negative", "positive"};
            spec.notices.push_back(
                "one output: read as a sigmoid binary model (negative, positive)");
        } else {
            for (std::int64_t i = 0; i < outputs; ++i)
                spec.classes.push_back("class " + std::to_string(i));
            spec.notices.push_back("no class names: numbered classes assumed");
        }
        return;
    }
    if (spec.output == OutputKind::SigmoidBinary && outputs != 1)
        throw ModelError(path, "the sidecar says sigmoid (one logit) but the head has " +
                                   std::to_string(outputs) + " outputs");
    if (spec.output == OutputKind::Softmax &&
        outputs != static_cast<std::int64_t>(spec.classes.size()))
        throw ModelError(path, "the head has " + std::to_string(outputs) +
                                   " outputs but the sidecar lists " +
                                   std::to_string(spec.classes.size()) + " classes");
}

}  // namespace

Model::Model() : impl_(std::make_unique<Impl>()) {}
Model::~Model() = default;

std::unique_ptr<Model> Model::open(const std::string& path) {
    configureTorchThreads();
    std::unique_ptr<Model> model(new Model());
    Impl& m = *model->impl_;
    m.path = path;
    m.device = torch::cuda::is_available() ? "cuda:0" : "cpu";
    const FileKind kind = detectKind(path);

    const std::string sidecar = sidecarPathFor(path);
    if (std::filesystem::exists(sidecar)) {
        try {
            m.spec = readModelSpec(sidecar);
        } catch (const ModelError&) {
            throw;  // names the sidecar already
        } catch (const std::runtime_error& e) {
            throw ModelError(sidecar, e.what());
        }
    } else {
        m.spec.notices.push_back(
            "no sidecar (" + std::filesystem::path(sidecar).filename().string() +
            "): 224 x 224 input, ImageNet normalisation, automatic target layer assumed");
    }

    if (kind == FileKind::TorchScript) {
        m.torchScript = true;
        m.spec.architecture = "torchscript";
        m.backend = makeTorchScriptBackend(path, m.device);
    } else {
        m.backend = makeStateDictBackend(path, m.spec);
    }

    // One forward on the declared input shape: the model must run and give finite logits.
    at::Tensor logits;
    try {
        logits = m.backend->forward(m.probe());
    } catch (const ModelError&) {
        throw;
    } catch (const std::exception& e) {
        // TorchScript reports Python's error with its traceback; its last line says what failed.
        std::string what = e.what();
        while (!what.empty() && what.back() == '\n') what.pop_back();
        const auto line = what.rfind('\n');
        throw ModelError(path, "fails on the declared input shape 1x3x" +
                                   std::to_string(m.spec.inputHeight) + "x" +
                                   std::to_string(m.spec.inputWidth) + ": " +
                                   (line == std::string::npos ? what : what.substr(line + 1)));
    }
    if (logits.dim() != 2 || logits.size(0) != 1)
        throw ModelError(
            path, "output has shape " + c10::str(logits.sizes()) + ", expected [batch, classes]");
    if (!torch::isfinite(logits).all().item<bool>())
        throw ModelError(path, "the model gives non-finite outputs");
    if (kind == FileKind::TorchScript) reconcileHead(path, m.spec, logits.size(1));

    if (!m.spec.targetLayer.empty()) {
        try {
            m.backend->head(m.probe(), m.spec.targetLayer);
        } catch (const std::exception& e) {
            throw ModelError(
                path, "target layer '" + m.spec.targetLayer + "' of the sidecar: " + e.what());
        }
    }
    return model;
}

const std::string& Model::path() const { return impl_->path; }
const ModelSpec& Model::spec() const { return impl_->spec; }
std::string Model::device() const { return impl_->device; }
ModelBackend& Model::backend() const { return *impl_->backend; }

std::vector<std::vector<SpatialLayer>> ModelBackend::trunkGeometry(const std::string&) {
    return {};
}

at::Tensor ModelBackend::headCropped(const at::Tensor&, const std::string& layer, const StepCrop&) {
    throw std::logic_error("the trunk up to '" + layer + "' cannot be run in cropped steps");
}

std::vector<LayerInfo> Model::layers() const {
    std::call_once(impl_->layersOnce, [this] {
        impl_->layers = impl_->torchScript ? torchScriptLayers(*impl_->backend, impl_->probe())
                                           : impl_->backend->layers();
    });
    return impl_->layers;
}

std::string Model::defaultTargetLayer() const {
    if (!impl_->spec.targetLayer.empty()) return impl_->spec.targetLayer;
    // The last top-level module whose output is still a spatial feature map (found once; for
    // TorchScript without listing every candidate layer, which takes a minute for a ResNet-50).
    std::call_once(impl_->defaultLayerOnce, [this] {
        if (impl_->torchScript) {
            impl_->defaultLayer = torchScriptDefaultLayer(*impl_->backend, impl_->probe());
            return;
        }
        for (const LayerInfo& l : layers()) {
            const bool topLevel = l.name.find('.') == std::string::npos;
            if (topLevel && l.outputShape.size() == 4 && l.outputShape[2] > 1 &&
                l.outputShape[3] > 1)
                impl_->defaultLayer = l.name;
        }
    });
    if (impl_->defaultLayer.empty())
        throw ModelError(impl_->path, "no convolutional layer found: name a target layer");
    return impl_->defaultLayer;
}

FloatTensor Model::logits(const FloatTensor& batch) const {
    at::Tensor x =
        torch::from_blob(const_cast<float*>(batch.data.data()), batch.shape, torch::kFloat32)
            .to(impl_->device);
    at::Tensor out = impl_->backend->forward(x).to(torch::kCPU).contiguous();
    FloatTensor result(out.sizes().vec());
    std::memcpy(result.data.data(), out.data_ptr<float>(), result.data.size() * sizeof(float));
    return result;
}

std::vector<std::vector<float>> Model::probabilities(const FloatTensor& logits) const {
    std::vector<std::vector<float>> out;
    const auto n = logits.size(0), k = logits.size(1);
    for (std::int64_t i = 0; i < n; ++i) {
        const float* row = logits.data.data() + i * k;
        if (impl_->spec.output == OutputKind::SigmoidBinary) {
            const float p = 1.0f / (1.0f + std::exp(-row[0]));
            out.push_back({1.0f - p, p});
        } else {
            const float top = *std::max_element(row, row + k);
            std::vector<float> p(static_cast<std::size_t>(k));
            float sum = 0;
            for (std::int64_t j = 0; j < k; ++j)
                sum += p[static_cast<std::size_t>(j)] = std::exp(row[j] - top);
            for (float& v : p) v /= sum;
            out.push_back(std::move(p));
        }
    }
    return out;
}

}  // namespace lucida
