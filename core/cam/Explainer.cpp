#include "cam/Explainer.h"

#include "cam/CamMethod.h"
#include "cam/CamSmoothing.h"
#include "model/Model.h"
#include "model/ModelError.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

namespace lucida {

namespace {

// Autocast to `precision` on `device` for the model's forward and backward passes, restoring the
// thread's previous autocast state on exit.
class AutocastScope {
public:
    AutocastScope(Precision precision, const torch::Device& device) {
        if (precision == Precision::Float32) return;
        active_ = true;
        cuda_ = device.is_cuda();
        const at::ScalarType type = precision == Precision::Float16 ? at::kHalf : at::kBFloat16;
        if (cuda_) {
            wasEnabled_ = at::autocast::is_enabled();
            previousType_ = at::autocast::get_autocast_gpu_dtype();
            at::autocast::set_autocast_gpu_dtype(type);
            at::autocast::set_enabled(true);
        } else {
            wasEnabled_ = at::autocast::is_cpu_enabled();
            previousType_ = at::autocast::get_autocast_cpu_dtype();
            at::autocast::set_autocast_cpu_dtype(type);
            at::autocast::set_cpu_enabled(true);
        }
        at::autocast::increment_nesting();
    }
    ~AutocastScope() {
        if (!active_) return;
        if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
        if (cuda_) {
            at::autocast::set_enabled(wasEnabled_);
            at::autocast::set_autocast_gpu_dtype(previousType_);
        } else {
            at::autocast::set_cpu_enabled(wasEnabled_);
            at::autocast::set_autocast_cpu_dtype(previousType_);
        }
    }
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

private:
    bool active_ = false;
    bool cuda_ = false;
    bool wasEnabled_ = false;
    at::ScalarType previousType_ = at::kFloat;
};

FloatTensor toHost(const at::Tensor& t) {
    const at::Tensor c = t.to(torch::kCPU, torch::kFloat32).contiguous();
    FloatTensor out(c.sizes().vec());
    std::memcpy(out.data.data(), c.data_ptr<float>(), out.data.size() * sizeof(float));
    return out;
}

}  // namespace

std::vector<Explanation> explain(const Model& model, const FloatTensor& batch,
                                 const ExplainOptions& options) {
    const ModelSpec& spec = model.spec();
    const bool sigmoid = spec.output == OutputKind::SigmoidBinary;
    if (options.augmentSmooth) return explainWithFlips(model, batch, options);
    const auto method = makeCamMethod(options.method);
    const std::string layer = options.layer.empty() ? model.defaultTargetLayer() : options.layer;
    if (options.classIndex && (*options.classIndex < 0 || *options.classIndex >= spec.classCount()))
        throw std::invalid_argument("class " + std::to_string(*options.classIndex) +
                                    " out of range (the model has " +
                                    std::to_string(spec.classCount()) + " classes)");
    if (batch.dims() != 4 || batch.size(1) != 3)
        throw std::invalid_argument("input batch must be [N, 3, H, W]");

    ModelBackend& backend = model.backend();
    const torch::Device device(model.device());
    if (options.precision == Precision::Float16 && !device.is_cuda())
        throw std::invalid_argument(
            "fp16 needs a CUDA GPU and this model runs on the CPU (LibTorch's CPU kernels do not "
            "compute in float16): use bf16 or fp32");
    const at::Tensor input =
        torch::from_blob(const_cast<float*>(batch.data.data()), batch.shape, torch::kFloat32)
            .to(device);
    const auto n = input.size(0);

    // The model runs in options.precision; activations, gradients and logits are taken back to
    // float32 at once, so the CAM formulas below always work in float32 (or float64).
    at::Tensor activations;
    {
        AutocastScope autocast(options.precision, device);
        activations = backend.head(input, layer).detach();
    }
    activations = activations.to(torch::kFloat32);
    at::Tensor logits;
    at::Tensor gradients;
    // The score S explained per image: the class's logit, or the negated logit for the negative
    // class of a one-logit model.
    auto classOf = [&](const at::Tensor& l) {
        return sigmoid ? (l.select(1, 0) >= 0).to(torch::kLong) : l.argmax(1);
    };
    at::Tensor classes, signs;
    auto chooseClasses = [&](const at::Tensor& l) {
        classes = options.classIndex
                      ? torch::full({n}, *options.classIndex,
                                    torch::TensorOptions().dtype(torch::kLong).device(device))
                      : classOf(l.detach());
        signs = sigmoid ? (classes * 2 - 1).to(torch::kFloat32)
                        : torch::ones({n}, torch::TensorOptions().device(device));
    };
    auto scoresOf = [&](const at::Tensor& l, const at::Tensor& cls) {
        if (sigmoid) return l.select(1, 0) * (cls * 2 - 1).to(l.dtype());
        return l.gather(1, cls.unsqueeze(1)).squeeze(1);
    };
    if (method->needsGradients()) {
        torch::AutoGradMode gradMode(true);
        activations.requires_grad_(true);
        AutocastScope autocast(options.precision, device);
        logits = backend.tail(input, activations, layer).to(torch::kFloat32);
        chooseClasses(logits);
        const at::Tensor score = scoresOf(logits, classes).sum();
        gradients = torch::autograd::grad({score}, {activations})[0].detach().to(torch::kFloat32);
        activations = activations.detach();
        logits = logits.detach();
    } else {
        torch::NoGradGuard noGrad;
        AutocastScope autocast(options.precision, device);
        logits = backend.tail(input, activations, layer).to(torch::kFloat32);
        chooseClasses(logits);
    }
    const at::Tensor weights =
        method->name() == "cam" ? backend.linearHeadWeights().to(device) : at::Tensor();
    CamContext context{activations,
                       gradients,
                       classes,
                       signs,
                       weights,
                       [&](const at::Tensor& masked, const at::Tensor& cls) {
                           torch::NoGradGuard noGrad;
                           AutocastScope autocast(options.precision, device);
                           return scoresOf(backend.forward(masked).to(torch::kFloat32), cls);
                       },
                       input};
    at::Tensor maps;
    {
        torch::NoGradGuard noGrad;
        maps = options.eigenSmooth ? eigenSmoothedMaps(*method, context) : method->compute(context);
    }
    const FloatTensor hostLogits = toHost(logits);
    const auto probabilities = model.probabilities(hostLogits);
    const at::Tensor predicted = classOf(logits).cpu();
    const at::Tensor explained = classes.cpu();
    const FloatTensor hostMaps = toHost(maps);
    const auto h = hostMaps.size(1), w = hostMaps.size(2);

    std::vector<Explanation> out;
    for (std::int64_t i = 0; i < n; ++i) {
        Explanation e;
        const auto k = hostLogits.size(1);
        e.logits.assign(hostLogits.data.begin() + i * k, hostLogits.data.begin() + (i + 1) * k);
        e.probabilities = probabilities[static_cast<std::size_t>(i)];
        e.predictedClass = static_cast<int>(predicted[i].item<std::int64_t>());
        e.explainedClass = static_cast<int>(explained[i].item<std::int64_t>());
        e.method = method->name();
        e.layer = layer;
        e.map = FloatTensor({h, w});
        std::copy(hostMaps.data.begin() + i * h * w, hostMaps.data.begin() + (i + 1) * h * w,
                  e.map.data.begin());
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace lucida
