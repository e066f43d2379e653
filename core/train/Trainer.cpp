#include "train/Trainer.h"

#include "image/FileError.h"
#include "io/AtomicFile.h"
#include "model/Model.h"
#include "model/ModelError.h"
#include "model/NativeNetwork.h"
#include "model/StateDictReader.h"
#include "train/BatchLoader.h"
#include "train/TrainStep.h"
#include "train/TrainingReport.h"

#include <torch/cuda.h>
#include <torch/nn.h>
#include <torch/optim.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <numeric>
#include <stdexcept>

namespace lucida {
namespace {

namespace fs = std::filesystem;

// What Trainer needs of a network, for native modules and TorchScript alike.
class Trainable {
public:
    virtual ~Trainable() = default;
    virtual std::string architecture() const = 0;
    virtual at::Tensor forward(const at::Tensor& x) = 0;
    virtual std::vector<at::Tensor> parameters() = 0;
    virtual std::vector<at::Tensor> headParameters() = 0;
    // Train mode; with a frozen backbone only the head learns and the backbone's batch-norm
    // statistics stay as they are.
    virtual void setMode(bool training, bool backboneFrozen) = 0;
    virtual void to(const torch::Device& device) = 0;
    virtual std::string extension() const = 0;  // of the saved model file
    virtual void saveModel(const std::string& path) = 0;
    virtual void saveState(torch::serialize::OutputArchive& archive) = 0;
    virtual void loadState(torch::serialize::InputArchive& archive) = 0;
    virtual std::string defaultTargetLayer() const = 0;
};

class NativeTrainable final : public Trainable {
public:
    explicit NativeTrainable(std::shared_ptr<NativeNetwork> net) : net_(std::move(net)) {}
    std::string architecture() const override { return net_->architecture(); }
    at::Tensor forward(const at::Tensor& x) override { return net_->run(x, 0, net_->stepCount()); }
    std::vector<at::Tensor> parameters() override { return net_->module().parameters(); }
    std::vector<at::Tensor> headParameters() override {
        return net_->module().named_children()["fc"]->parameters();
    }
    void setMode(bool training, bool backboneFrozen) override {
        net_->module().train(training);
        const auto params = net_->module().named_parameters();
        for (const auto& item : params)
            item.value().requires_grad_(!backboneFrozen || item.key().rfind("fc.", 0) == 0);
        if (training && backboneFrozen) {
            for (const auto& child : net_->module().named_children())
                if (child.key() != "fc") child.value()->eval();
        }
    }
    void to(const torch::Device& device) override { net_->module().to(device); }
    std::string extension() const override { return ".pth"; }
    void saveModel(const std::string& path) override { saveNativeState(*net_, path); }
    void saveState(torch::serialize::OutputArchive& archive) override {
        net_->module().save(archive);
    }
    void loadState(torch::serialize::InputArchive& archive) override {
        net_->module().load(archive);
    }
    std::string defaultTargetLayer() const override { return net_->lastBlock(); }

private:
    std::shared_ptr<NativeNetwork> net_;
};

// A TorchScript classifier fine-tuned as it is; its last linear layer (the last submodule with a
// 2-D weight) is the head, replaced when the class count differs.
class ScriptTrainable final : public Trainable {
public:
    ScriptTrainable(const std::string& path, std::int64_t outputs) : path_(path) {
        try {
            module_ = torch::jit::load(path);
        } catch (const c10::Error& e) {
            throw ModelError(path,
                             std::string("not a TorchScript model: ") + e.what_without_backtrace());
        }
        for (const auto& sub : module_.named_modules()) {
            for (const auto& p : sub.value.named_parameters(/*recurse=*/false))
                if (p.name == "weight" && p.value.dim() == 2) headName_ = sub.name;
        }
        if (headName_.empty())
            throw ModelError(path, "no linear head (a submodule with a 2-D weight) to replace");
        auto head = headModule();
        const at::Tensor weight = head.attr("weight").toTensor();
        if (weight.size(0) != outputs) {
            // PyTorch's nn.Linear initialisation.
            torch::NoGradGuard noGrad;
            const auto inFeatures = weight.size(1);
            const double bound = 1.0 / std::sqrt(static_cast<double>(inFeatures));
            head.register_parameter(
                "weight", torch::empty({outputs, inFeatures}).uniform_(-bound, bound), false);
            if (head.hasattr("bias") && head.attr("bias").isTensor())
                head.register_parameter("bias", torch::empty({outputs}).uniform_(-bound, bound),
                                        false);
            replacedHead_ = true;
        }
    }
    bool replacedHead() const { return replacedHead_; }
    std::string architecture() const override { return "torchscript"; }
    at::Tensor forward(const at::Tensor& x) override { return module_.forward({x}).toTensor(); }
    std::vector<at::Tensor> parameters() override {
        std::vector<at::Tensor> out;
        for (const auto& p : module_.parameters()) out.push_back(p);
        return out;
    }
    std::vector<at::Tensor> headParameters() override {
        std::vector<at::Tensor> out;
        for (const auto& p : headModule().parameters()) out.push_back(p);
        return out;
    }
    void setMode(bool training, bool backboneFrozen) override {
        module_.train(training);
        for (const auto& p : module_.named_parameters())
            p.value.requires_grad_(!backboneFrozen || isHead(p.name));
        if (training && backboneFrozen) {
            module_.eval();
            headModule().train(true);
        }
    }
    void to(const torch::Device& device) override { module_.to(device); }
    std::string extension() const override { return ".pt"; }
    void saveModel(const std::string& path) override {
        writeFileAtomically(path, [&](const std::string& temporary) { module_.save(temporary); });
    }
    void saveState(torch::serialize::OutputArchive& archive) override {
        int i = 0;
        for (const auto& p : module_.named_parameters())
            archive.write("p" + std::to_string(i++), p.value);
        i = 0;
        for (const auto& b : module_.named_buffers())
            archive.write("b" + std::to_string(i++), b.value, /*is_buffer=*/true);
    }
    void loadState(torch::serialize::InputArchive& archive) override {
        torch::NoGradGuard noGrad;
        int i = 0;
        for (const auto& p : module_.named_parameters()) {
            at::Tensor t;
            archive.read("p" + std::to_string(i++), t);
            p.value.copy_(t);
        }
        i = 0;
        for (const auto& b : module_.named_buffers()) {
            at::Tensor t;
            archive.read("b" + std::to_string(i++), t, /*is_buffer=*/true);
            b.value.copy_(t);
        }
    }
    std::string defaultTargetLayer() const override { return {}; }  // found at open time

private:
    torch::jit::Module headModule() {
        torch::jit::Module m = module_;
        std::size_t start = 0;
        while (start < headName_.size()) {
            const auto dot = headName_.find('.', start);
            const auto part = headName_.substr(start, dot == std::string::npos ? dot : dot - start);
            m = m.attr(part).toModule();
            if (dot == std::string::npos) break;
            start = dot + 1;
        }
        return m;
    }
    bool isHead(const std::string& name) const {
        return !headName_.empty() && name.rfind(headName_ + ".", 0) == 0;
    }

    std::string path_;
    torch::jit::Module module_;
    std::string headName_;
    bool replacedHead_ = false;
};

bool isTorchScript(const std::string& path) {
    try {
        caffe2::serialize::PyTorchStreamReader reader(path);
        return reader.hasRecord("constants.pkl") || reader.hasRecord("code/__torch__.py");
    } catch (const c10::Error&) {
        return false;
    }
}

// How the logits are scored.
struct LossSpec {
    bool sigmoid = false;
    at::Tensor classWeights;  // softmax: per class; sigmoid: pos_weight (1 element); or undefined
};

at::Tensor computeLoss(const at::Tensor& logits, const at::Tensor& labels, const LossSpec& loss) {
    if (loss.sigmoid) {
        const at::Tensor target = labels.to(torch::kFloat32).unsqueeze(1);
        return torch::binary_cross_entropy_with_logits(logits, target, {}, loss.classWeights);
    }
    namespace F = torch::nn::functional;
    auto options = F::CrossEntropyFuncOptions();
    if (loss.classWeights.defined()) options.weight(loss.classWeights);
    return F::cross_entropy(logits, labels, options);
}

// Class probabilities per sample, [N, K] on the CPU (sigmoid: [1 - p, p]).
at::Tensor probabilitiesOf(const at::Tensor& logits, bool sigmoid) {
    if (sigmoid) {
        const at::Tensor p = torch::sigmoid(logits.squeeze(1));
        return torch::stack({1 - p, p}, 1).to(torch::kCPU);
    }
    return torch::softmax(logits, 1).to(torch::kCPU);
}

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const TrainOptions& o,
                                                       std::vector<at::Tensor> params) {
    if (o.optimizer == "adam")
        return std::make_unique<torch::optim::Adam>(
            params, torch::optim::AdamOptions(o.learningRate).weight_decay(o.weightDecay));
    if (o.optimizer == "adamw")
        return std::make_unique<torch::optim::AdamW>(
            params, torch::optim::AdamWOptions(o.learningRate).weight_decay(o.weightDecay));
    if (o.optimizer == "sgd")
        return std::make_unique<torch::optim::SGD>(
            params,
            torch::optim::SGDOptions(o.learningRate).momentum(0.9).weight_decay(o.weightDecay));
    throw std::invalid_argument("unknown optimizer '" + o.optimizer + "' (adam, adamw or sgd)");
}

void setLearningRate(torch::optim::Optimizer& optimizer, double lr) {
    for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

// The learning rate of epoch e (0-based) of E.
double scheduledRate(const TrainOptions& o, int epoch) {
    if (o.schedule == "cosine")
        return o.learningRate * 0.5 * (1.0 + std::cos(M_PI * epoch / std::max(o.epochs, 1)));
    if (o.schedule == "step")
        return o.learningRate * std::pow(o.stepGamma, epoch / std::max(o.stepEpochs, 1));
    if (o.schedule == "none") return o.learningRate;
    throw std::invalid_argument("unknown schedule '" + o.schedule + "' (cosine, step or none)");
}

at::Tensor toTensor(const FloatTensor& t, const torch::Device& device) {
    return torch::from_blob(const_cast<float*>(t.data.data()), t.shape, torch::kFloat32)
        .to(device, /*non_blocking=*/false, /*copy=*/true);
}

at::Tensor labelTensor(const std::vector<int>& labels, const torch::Device& device) {
    std::vector<std::int64_t> l(labels.begin(), labels.end());
    return torch::tensor(l, torch::kInt64).to(device);
}

// One optimisation step; returns the loss and the number of correct predictions.
std::pair<double, std::int64_t> step(Trainable& net, torch::optim::Optimizer& optimizer,
                                     const at::Tensor& images, const at::Tensor& labels,
                                     const LossSpec& lossSpec) {
    optimizer.zero_grad();
    const at::Tensor logits = net.forward(images);
    const at::Tensor loss = computeLoss(logits, labels, lossSpec);
    loss.backward();
    optimizer.step();
    torch::NoGradGuard noGrad;
    const at::Tensor predicted =
        lossSpec.sigmoid ? (logits.squeeze(1) > 0).to(torch::kInt64) : logits.argmax(1);
    return {loss.item<double>(), predicted.eq(labels).sum().item<std::int64_t>()};
}

}  // namespace

struct Trainer::Impl {
    TrainOptions options;
    std::atomic<bool> cancelled{false};
    std::atomic<bool> paused{false};
    std::mutex mutex;
    std::condition_variable resumed;

    // Blocks while paused; true when cancelled.
    bool waitWhilePaused() {
        std::unique_lock lock(mutex);
        resumed.wait(lock, [&] { return !paused || cancelled; });
        return cancelled;
    }
};

Trainer::Trainer(TrainOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
}
Trainer::~Trainer() = default;

void Trainer::cancel() {
    impl_->cancelled = true;
    std::lock_guard lock(impl_->mutex);
    impl_->resumed.notify_all();
}

void Trainer::setPaused(bool paused) {
    impl_->paused = paused;
    std::lock_guard lock(impl_->mutex);
    impl_->resumed.notify_all();
}

bool Trainer::paused() const { return impl_->paused; }

namespace {

using Message = std::function<void(const std::string&)>;

// The training and validation images: a validation folder when given, else a stratified split.
// Fills the result's classes and skipped files (each reported).
Split loadImages(const TrainOptions& o, TrainResult& result, const Message& message) {
    ImageFolder data = scanImageFolder(o.dataDir);
    result.classes = data.classes;
    result.skipped = data.skipped;
    Split split;
    if (!o.validationDir.empty()) {
        ImageFolder validation = scanValidationFolder(o.validationDir, data.classes);
        split.train = data.images;
        split.validation = validation.images;
        result.skipped.insert(result.skipped.end(), validation.skipped.begin(),
                              validation.skipped.end());
    } else {
        split = splitStratified(data.images, static_cast<int>(data.classes.size()),
                                o.validationFraction, o.seed);
    }
    for (const auto& s : result.skipped) message("skipped " + s.path + ": " + s.reason);
    return split;
}

// The network to train: a model file to fine-tune, or a fresh architecture (optionally
// initialised from a state_dict), with a head of `outputs` outputs.
std::unique_ptr<Trainable> makeTrainable(const TrainOptions& o, std::int64_t outputs,
                                         const Message& message) {
    if (o.architecture == "file") {
        if (o.baseModel.empty()) throw std::invalid_argument("no model file to fine-tune");
        if (isTorchScript(o.baseModel)) {
            auto script = std::make_unique<ScriptTrainable>(o.baseModel, outputs);
            if (script->replacedHead())
                message("head replaced for " + std::to_string(outputs) + " outputs");
            return script;
        }
        const StateDict state = readStateDict(o.baseModel);
        auto native = makeNativeNetwork(recogniseArchitecture(o.baseModel, state),
                                        headOutputs(o.baseModel, state));
        loadNativeState(o.baseModel, *native, state);
        if (headOutputs(o.baseModel, state) != outputs) {
            native->resetHead(outputs);
            message("head replaced for " + std::to_string(outputs) + " outputs");
        }
        return std::make_unique<NativeTrainable>(native);
    }
    auto native = makeNativeNetwork(o.architecture, outputs);
    if (!o.initWeights.empty()) {
        const StateDict state = readStateDict(o.initWeights);
        const std::string arch = recogniseArchitecture(o.initWeights, state);
        if (arch != o.architecture)
            throw ModelError(o.initWeights,
                             "holds a " + arch + ", not the chosen " + o.architecture);
        loadNativeState(o.initWeights, *native, state, /*skipHead=*/true);
        message("initialised from " + o.initWeights + " (head replaced)");
    }
    return std::make_unique<NativeTrainable>(native);
}

// What the saved model declares.
ModelSpec savedModelSpec(const TrainOptions& o, const Trainable& net,
                         const std::vector<std::string>& classes, bool sigmoid) {
    ModelSpec spec;
    spec.architecture = net.architecture();
    spec.classes = classes;
    spec.inputWidth = spec.inputHeight = o.inputSize;
    spec.output = sigmoid ? OutputKind::SigmoidBinary : OutputKind::Softmax;
    spec.targetLayer = o.targetLayer.empty() ? net.defaultTargetLayer() : o.targetLayer;
    if (o.micronsPerPixel > 0) spec.micronsPerPixel = o.micronsPerPixel;
    if (o.magnification > 0) spec.magnification = o.magnification;
    return spec;
}

// The loss, with class weights against imbalance when asked.
LossSpec makeLossSpec(const TrainOptions& o, bool sigmoid, const std::vector<int>& trainCounts,
                      std::size_t trainImages, const torch::Device& device) {
    const int classCount = static_cast<int>(trainCounts.size());
    LossSpec lossSpec;
    lossSpec.sigmoid = sigmoid;
    if (o.classWeights) {
        const double n = static_cast<double>(trainImages);
        if (sigmoid) {
            lossSpec.classWeights =
                torch::tensor({static_cast<float>(trainCounts[0]) / std::max(trainCounts[1], 1)})
                    .to(device);
        } else {
            std::vector<float> w;
            for (int c : trainCounts)
                w.push_back(static_cast<float>(n / (classCount * std::max(c, 1))));
            lossSpec.classWeights = torch::tensor(w).to(device);
        }
    }
    return lossSpec;
}

// Never over an earlier run's outputs unless asked, except when this resumes that run from
// its own checkpoint.
void refuseToReplaceOutputs(const TrainOptions& o) {
    if (o.overwrite) return;
    const fs::path ownCheckpoint = fs::path(o.outDir) / (o.modelName + ".checkpoint.pt");
    std::error_code ec;
    const bool resumingOwn =
        !o.resumeFrom.empty() && fs::equivalent(o.resumeFrom, ownCheckpoint, ec);
    if (const auto existing = existingTrainingOutputs(o.outDir, o.modelName);
        !existing.empty() && !resumingOwn)
        throw FileError(existing.front(),
                        "exists, from an earlier training: not replaced (choose another name, "
                        "e.g. " +
                            freeModelName(o.outDir, o.modelName) + ", or allow overwriting)");
}

// Network, optimizer and history from o.resumeFrom; returns the epochs done, and the best
// validation loss so far in `bestLoss`.
int resumeFromCheckpoint(const TrainOptions& o, Trainable& net, torch::optim::Optimizer& optimizer,
                         TrainResult& result, double& bestLoss) {
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(o.resumeFrom);
    } catch (const c10::Error& e) {
        throw FileError(o.resumeFrom,
                        std::string("not a Lucida checkpoint: ") + e.what_without_backtrace());
    }
    c10::IValue value;
    archive.read("classes", value);
    std::vector<std::string> classes;
    for (const auto& c : value.toListRef()) classes.push_back(c.toStringRef());
    if (classes != result.classes)
        throw FileError(o.resumeFrom, "checkpoint was trained on other classes");
    archive.read("architecture", value);
    if (value.toStringRef() != net.architecture())
        throw FileError(o.resumeFrom, "checkpoint holds a " + value.toStringRef() + ", not a " +
                                          net.architecture());
    torch::serialize::InputArchive netArchive, optArchive;
    archive.read("network", netArchive);
    archive.read("optimizer", optArchive);
    net.loadState(netArchive);
    optimizer.load(optArchive);
    archive.read("epochs_done", value);
    const int firstEpoch = static_cast<int>(value.toInt());
    archive.read("history", value);
    result.history = historyFromJson(value.toStringRef());
    for (const auto& r : result.history) {
        if (r.best) {
            bestLoss = r.validationLoss;
            result.bestEpoch = r.epoch;
        }
    }
    return firstEpoch;
}

void writeCheckpoint(const TrainResult& result, Trainable& net, torch::optim::Optimizer& optimizer,
                     int epochsDone) {
    writeFileAtomically(result.checkpointPath, [&](const std::string& temporary) {
        torch::serialize::OutputArchive archive, netArchive, optArchive;
        net.saveState(netArchive);
        optimizer.save(optArchive);
        archive.write("network", netArchive);
        archive.write("optimizer", optArchive);
        archive.write("epochs_done", c10::IValue(static_cast<std::int64_t>(epochsDone)));
        archive.write("architecture", c10::IValue(net.architecture()));
        c10::List<std::string> classes;
        for (const auto& c : result.classes) classes.push_back(c);
        archive.write("classes", c10::IValue(classes));
        archive.write("history", c10::IValue(historyToJson(result.history)));
        archive.save_to(temporary);
    });
}

// One training epoch's progress: loss summed over images, right answers, images seen.
struct EpochSums {
    double lossSum = 0;
    std::int64_t correct = 0, seen = 0;
};

// What one training epoch needs besides the network and its batches.
struct EpochContext {
    const TrainOptions& o;
    const TrainCallbacks& callbacks;
    const Message& message;
    const LossSpec& lossSpec;
    const torch::Device& device;
    std::chrono::steady_clock::time_point runStart;
    int batchesPerEpoch = 0;
    long long imagesThisRun = 0;
};

// One pass over the training batches, stopping early when `stop` (blocks while paused) says so.
EpochSums trainEpoch(int epoch, Trainable& net, torch::optim::Optimizer& optimizer,
                     BatchLoader& trainLoader, EpochContext& c, const std::function<bool()>& stop) {
    const TrainOptions& o = c.o;
    EpochSums s;
    int batchIndex = 0;
    while (auto batch = trainLoader.next()) {
        if (stop()) break;
        for (const auto& f : batch->failed) c.message("skipped " + f.path + ": " + f.reason);
        if (batch->labels.empty()) continue;
        // Batch norm cannot train on a single image: drop a last batch of one.
        if (batch->labels.size() == 1 && s.seen > 0) continue;
        const at::Tensor images = toTensor(batch->images, c.device);
        const at::Tensor labels = labelTensor(batch->labels, c.device);
        const auto [loss, right] = step(net, optimizer, images, labels, c.lossSpec);
        const auto n = static_cast<std::int64_t>(batch->labels.size());
        s.lossSum += loss * n;
        s.correct += right;
        s.seen += n;
        c.imagesThisRun += n;
        ++batchIndex;
        if (c.callbacks.onBatch) {
            const double elapsed =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - c.runStart)
                    .count();
            BatchProgress p;
            p.epoch = epoch + 1;
            p.epochs = o.epochs;
            p.batch = batchIndex;
            p.batches = c.batchesPerEpoch;
            p.loss = s.lossSum / static_cast<double>(s.seen);
            p.imagesPerSecond = c.imagesThisRun / std::max(elapsed, 1e-9);
            const double batchesLeft =
                static_cast<double>(o.epochs - epoch) * c.batchesPerEpoch - batchIndex;
            p.secondsLeft = batchesLeft * o.batchSize / std::max(p.imagesPerSecond, 1e-9);
            c.callbacks.onBatch(p);
        }
    }
    return s;
}

// Validation loss, accuracy and metrics into `record` (the training figures when there are no
// validation images).
void validate(Trainable& net, BatchLoader& validationLoader, const EpochContext& c, bool sigmoid,
              int classCount, EpochRecord& record) {
    net.setMode(false, false);
    std::vector<std::vector<float>> probabilities;
    std::vector<int> labels;
    double validationLossSum = 0;
    {
        torch::NoGradGuard noGrad;
        validationLoader.startEpoch(0);
        while (auto batch = validationLoader.next()) {
            for (const auto& f : batch->failed) c.message("skipped " + f.path + ": " + f.reason);
            if (batch->labels.empty()) continue;
            const at::Tensor images = toTensor(batch->images, c.device);
            const at::Tensor l = labelTensor(batch->labels, c.device);
            const at::Tensor logits = net.forward(images);
            validationLossSum +=
                computeLoss(logits, l, c.lossSpec).item<double>() * batch->labels.size();
            const at::Tensor p = probabilitiesOf(logits, sigmoid).contiguous();
            for (std::int64_t i = 0; i < p.size(0); ++i) {
                const float* row = p.data_ptr<float>() + i * p.size(1);
                probabilities.emplace_back(row, row + p.size(1));
            }
            labels.insert(labels.end(), batch->labels.begin(), batch->labels.end());
        }
    }
    if (!labels.empty()) {
        record.metrics = computeMetrics(probabilities, labels, classCount);
        record.validationLoss = validationLossSum / static_cast<double>(labels.size());
        record.validationAccuracy = record.metrics.accuracy;
    } else {
        record.validationLoss = record.trainLoss;  // no validation images: judge on training
        record.validationAccuracy = record.trainAccuracy;
    }
}

}  // namespace

TrainResult Trainer::run(const TrainCallbacks& callbacks) {
    const TrainOptions& o = impl_->options;
    const Message message = [&](const std::string& text) {
        if (callbacks.onMessage) callbacks.onMessage(text);
    };
    if (o.outDir.empty()) throw std::invalid_argument("no output folder given");
    if (o.epochs < 1 || o.batchSize < 1)
        throw std::invalid_argument("epochs and batch size must be at least 1");
    configureTorchThreads();
    torch::manual_seed(o.seed);

    TrainResult result;
    const Split split = loadImages(o, result, message);
    const int classCount = static_cast<int>(result.classes.size());
    std::vector<int> trainCounts(classCount), validationCounts(classCount);
    for (const auto& item : split.train) ++trainCounts[item.label];
    for (const auto& item : split.validation) ++validationCounts[item.label];

    const bool sigmoid = classCount == 2 && o.binaryOutput == "sigmoid";
    if (o.binaryOutput != "sigmoid" && o.binaryOutput != "softmax")
        throw std::invalid_argument("binary output must be sigmoid or softmax, not '" +
                                    o.binaryOutput + "'");
    const std::int64_t outputs = sigmoid ? 1 : classCount;

    std::unique_ptr<Trainable> net = makeTrainable(o, outputs, message);
    const torch::Device device =
        torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    result.device = device.str();
    net->to(device);
    message("training " + net->architecture() + " on " + result.device + " with " +
            std::to_string(split.train.size()) + " training and " +
            std::to_string(split.validation.size()) + " validation images");

    const ModelSpec spec = savedModelSpec(o, *net, result.classes, sigmoid);
    const LossSpec lossSpec = makeLossSpec(o, sigmoid, trainCounts, split.train.size(), device);
    auto optimizer = makeOptimizer(o, net->parameters());

    refuseToReplaceOutputs(o);
    fs::create_directories(o.outDir);
    result.modelPath = (fs::path(o.outDir) / (o.modelName + net->extension())).string();
    result.sidecarPath = sidecarPathFor(result.modelPath);
    result.reportPath = (fs::path(o.outDir) / (o.modelName + ".report.json")).string();
    result.curvesPath = (fs::path(o.outDir) / (o.modelName + ".curves.png")).string();
    result.checkpointPath = (fs::path(o.outDir) / (o.modelName + ".checkpoint.pt")).string();

    int firstEpoch = 0;
    double bestLoss = std::numeric_limits<double>::infinity();
    if (!o.resumeFrom.empty()) {
        firstEpoch = resumeFromCheckpoint(o, *net, *optimizer, result, bestLoss);
        message("resumed from " + o.resumeFrom + " after epoch " + std::to_string(firstEpoch));
    }
    auto writeReport = [&] {
        if (!result.history.empty()) writeTrainingCurves(result.curvesPath, result.history);
        writeTrainingReport(result.reportPath, o, result, trainCounts, validationCounts);
    };

    BatchLoaderOptions trainLoading;
    trainLoading.batchSize = o.batchSize;
    trainLoading.shuffle = true;
    trainLoading.augment = o.augmentation.any();
    trainLoading.augmentation = o.augmentation;
    trainLoading.threads = o.loaderThreads;
    trainLoading.seed = o.seed;
    BatchLoaderOptions validationLoading = trainLoading;
    validationLoading.shuffle = false;
    validationLoading.augment = false;
    ModelSpec loaderSpec = spec;  // normalisation and size
    BatchLoader trainLoader(split.train, loaderSpec, trainLoading);
    BatchLoader validationLoader(split.validation, loaderSpec, validationLoading);

    EpochContext context{o, callbacks, message, lossSpec, device, std::chrono::steady_clock::now()};
    context.batchesPerEpoch = static_cast<int>(trainLoader.batchCount());
    int epochsWithoutBest = 0;
    for (const auto& r : result.history) epochsWithoutBest = r.best ? 0 : epochsWithoutBest + 1;

    for (int epoch = firstEpoch; epoch < o.epochs; ++epoch) {
        const auto epochStart = std::chrono::steady_clock::now();
        const bool frozen = epoch < o.freezeBackboneEpochs;
        const double lr = scheduledRate(o, epoch);
        setLearningRate(*optimizer, lr);
        net->setMode(true, frozen);

        trainLoader.startEpoch(epoch);
        const EpochSums sums = trainEpoch(epoch, *net, *optimizer, trainLoader, context,
                                          [this] { return impl_->waitWhilePaused(); });
        if (impl_->cancelled) {
            // Mid-epoch: the weights so far, resumable from the start of this epoch.
            writeCheckpoint(result, *net, *optimizer, epoch);
            message("cancelled; checkpoint written to " + result.checkpointPath +
                    (result.bestEpoch ? "; best model (epoch " + std::to_string(result.bestEpoch) +
                                            ") kept at " + result.modelPath
                                      : std::string("; no epoch completed, no model saved")));
            result.outcome = TrainOutcome::Cancelled;
            writeReport();
            return result;
        }
        const double trainSeconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - epochStart).count();

        EpochRecord record;
        record.epoch = epoch + 1;
        record.trainLoss = sums.seen ? sums.lossSum / static_cast<double>(sums.seen) : 0;
        record.trainAccuracy =
            sums.seen ? static_cast<double>(sums.correct) / static_cast<double>(sums.seen) : 0;
        record.learningRate = lr;
        record.backboneFrozen = frozen;
        record.imagesPerSecond = static_cast<double>(sums.seen) / std::max(trainSeconds, 1e-9);
        record.loaderWaitSeconds = static_cast<double>(trainLoader.waitMicroseconds()) * 1e-6;
        validate(*net, validationLoader, context, sigmoid, classCount, record);
        record.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - epochStart).count();
        record.best = record.validationLoss < bestLoss - o.minImprovement;
        if (record.best) {
            bestLoss = record.validationLoss;
            result.bestEpoch = record.epoch;
            epochsWithoutBest = 0;
            net->saveModel(result.modelPath);
            writeModelSpec(spec, result.sidecarPath);
        } else {
            ++epochsWithoutBest;
        }
        result.history.push_back(record);
        writeCheckpoint(result, *net, *optimizer, epoch + 1);
        if (callbacks.onEpoch) callbacks.onEpoch(record);
        if (o.earlyStoppingPatience > 0 && epochsWithoutBest >= o.earlyStoppingPatience) {
            message("early stop: no better validation loss for " +
                    std::to_string(epochsWithoutBest) + " epochs");
            result.outcome = TrainOutcome::EarlyStopped;
            break;
        }
    }
    writeReport();
    return result;
}

double trainOneStep(const std::string& modelPath, const FloatTensor& batch,
                    const std::vector<int>& labels, const TrainOptions& options,
                    const std::string& outPath) {
    configureTorchThreads();
    const StateDict state = readStateDict(modelPath);
    auto native =
        makeNativeNetwork(recogniseArchitecture(modelPath, state), headOutputs(modelPath, state));
    loadNativeState(modelPath, *native, state);
    NativeTrainable net(native);
    net.setMode(true, false);
    auto optimizer = makeOptimizer(options, net.parameters());
    LossSpec lossSpec;
    lossSpec.sigmoid = headOutputs(modelPath, state) == 1;
    const torch::Device cpu(torch::kCPU);
    const double loss =
        step(net, *optimizer, toTensor(batch, cpu), labelTensor(labels, cpu), lossSpec).first;
    saveNativeState(*native, outPath);
    return loss;
}

}  // namespace lucida
