#include "model/TorchScriptBackend.h"

#include "model/ModelError.h"
#include "model/NativeNetwork.h"
#include "model/TorchScriptGeometry.h"
#include "model/TorchScriptSteps.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/script.h>

#include <map>
#include <mutex>
#include <sstream>

namespace lucida {

namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

std::vector<std::string> splitPath(const std::string& path) {
    std::vector<std::string> parts;
    std::stringstream ss(path);
    for (std::string part; std::getline(ss, part, '.');) parts.push_back(part);
    return parts;
}

// The last prim::CallMethod "forward" on `owner`'s attribute `name` in the graph (the module's
// call), or nullptr.
Node* findCall(Graph& graph, Value* owner, const std::string& name) {
    Node* found = nullptr;
    std::function<void(torch::jit::Block*)> visit = [&](torch::jit::Block* block) {
        for (Node* n : block->nodes()) {
            if (n->kind() == c10::prim::CallMethod && n->s(c10::attr::name) == "forward") {
                Node* getter = n->input(0)->node();
                if (getter->kind() == c10::prim::GetAttr && getter->input(0) == owner &&
                    getter->s(c10::attr::name) == name)
                    found = n;
            }
            for (torch::jit::Block* b : n->blocks()) visit(b);
        }
    };
    visit(graph.block());
    return found;
}

// Inlines the calls a module makes to its own methods (torchvision's forward calls
// self._forward_impl), so the calls on its submodules appear in the graph.
void inlineSelfCalls(Graph& graph, Value* owner) {
    for (bool again = true; again;) {
        again = false;
        std::function<Node*(torch::jit::Block*)> find = [&](torch::jit::Block* block) -> Node* {
            for (Node* n : block->nodes()) {
                if (n->kind() == c10::prim::CallMethod && n->input(0) == owner) return n;
                for (torch::jit::Block* b : n->blocks())
                    if (Node* inner = find(b)) return inner;
            }
            return nullptr;
        };
        if (Node* call = find(graph.block())) {
            auto type = owner->type()->expect<c10::ClassType>();
            // false: the method as written, not its optimised (fully inlined) graph
            torch::jit::inlineCallTo(
                call, &torch::jit::toGraphFunction(type->getMethod(call->s(c10::attr::name))),
                false);
            again = true;
        }
    }
}

// Inlines calls down the dotted path until the node calling the last component; returns it.
Node* resolveLayerCall(Graph& graph, const std::string& layer, const std::string& path) {
    Value* owner = graph.inputs().at(0);
    const auto parts = splitPath(layer);
    if (parts.empty()) throw ModelError(path, "empty layer name");
    for (std::size_t i = 0; i < parts.size(); ++i) {
        inlineSelfCalls(graph, owner);
        Node* call = findCall(graph, owner, parts[i]);
        if (!call)
            throw ModelError(path, "layer '" + layer + "' is not called in the model's forward");
        if (i + 1 == parts.size()) return call;
        Value* module = call->input(0);
        auto type = module->type()->expect<c10::ClassType>();
        torch::jit::Function& method = type->getMethod("forward");
        torch::jit::inlineCallTo(call, &torch::jit::toGraphFunction(method), false);
        owner = module;
    }
    return nullptr;
}

// The forward graph cut after `layer`'s call: the layer's output is the graph's only output,
// every call inlined.
std::shared_ptr<Graph> headGraphOf(Graph& forward, const std::string& layer,
                                   const std::string& path) {
    std::shared_ptr<Graph> graph = forward.copy();
    Node* call = resolveLayerCall(*graph, layer, path);
    Value* activation = call->output();
    graph->eraseOutput(0);
    graph->registerOutput(activation);
    torch::jit::Inline(*graph);
    torch::jit::EliminateDeadCode(graph);
    return graph;
}

// Whether the optimised forward's output equals the plain one's: the same shape, within 1e-4 of
// the largest value.
bool agrees(const at::Tensor& got, const at::Tensor& expected) {
    const double scale = expected.abs().max().item<double>();
    return got.sizes() == expected.sizes() &&
           (got - expected).abs().max().item<double>() <= 1e-4 * std::max(scale, 1e-6);
}

class TorchScriptBackend final : public ModelBackend {
public:
    TorchScriptBackend(const std::string& path, const std::string& device) : path_(path) {
        // TorchScript inlines a method's graph in place once it runs; the layer surgery needs the
        // calls on submodules as they were written, so keep them (and a pristine forward).
        torch::jit::getInlineEverythingMode() = false;
        try {
            module_ = torch::jit::load(path, torch::Device(device));
        } catch (const c10::Error& e) {
            throw ModelError(path,
                             std::string("not a TorchScript model: ") + e.what_without_backtrace());
        }
        module_.eval();
        for (at::Tensor p : module_.parameters()) p.set_requires_grad(false);
        forwardGraph_ = module_.get_method("forward").graph()->copy();
    }

    at::Tensor forward(const at::Tensor& input) override {
        if (!plainForward() && input.device().is_cpu() && !input.requires_grad()) {
            if (at::Tensor out = optimisedForward(input); out.defined()) return out;
        }
        torch::NoGradGuard noGrad;
        return asTensor(module_.forward({input}), "forward");
    }

    at::Tensor head(const at::Tensor& input, const std::string& layer) override {
        torch::NoGradGuard noGrad;
        return asTensor((*functions(layer).head)({module_._ivalue(), input}), "layer " + layer);
    }

    at::Tensor tail(const at::Tensor& input, const at::Tensor& activation,
                    const std::string& layer) override {
        // A copy: a tail may change its input in place (torchvision's DenseNet applies
        // F.relu(inplace=True) to the features), which autograd refuses on a leaf that requires
        // grad and which would otherwise change the caller's activations (the CAM's A).
        return asTensor((*functions(layer).tail)({module_._ivalue(), input, activation.clone()}),
                        "forward");
    }

    // Read from the head graph, constants folded (a scripted module's branches on its own
    // settings go), step by step where the graph can be cut (TorchScriptSteps); GraphGeometryError
    // names what dense mode cannot follow.
    std::vector<std::vector<SpatialLayer>> trunkGeometry(const std::string& layer) override {
        return steps(layer).geometry;
    }

    // The steps one after the other, each output cropped. The plain graphs, as head(): a frozen,
    // oneDNN-optimised trunk differs from them by ~1e-5 of the activations (docs/DENSE.md).
    at::Tensor headCropped(const at::Tensor& input, const std::string& layer,
                           const StepCrop& crop) override {
        Steps& st = steps(layer);
        if (st.functions.size() == 1) return crop(0, head(input, layer));
        torch::NoGradGuard noGrad;
        at::Tensor x = input;
        for (std::size_t k = 0; k < st.functions.size(); ++k)
            x = crop(k, asTensor((*st.functions[k])({module_._ivalue(), x}), "layer " + layer));
        return x;
    }

    std::vector<LayerInfo> layers() override { return layers_; }
    void setLayers(std::vector<LayerInfo> layers) { layers_ = std::move(layers); }

    std::vector<std::pair<std::string, at::Tensor>> namedParameters() override {
        std::vector<std::pair<std::string, at::Tensor>> out;
        for (const auto& p : module_.named_parameters(/*recurse=*/true))
            out.emplace_back(p.name, p.value);
        return out;
    }

    at::Tensor linearHeadWeights() override {
        // The last Linear module whose input follows a global pooling: found by name "fc" or the
        // last child with a 2-D weight.
        at::Tensor weight;
        for (const auto& m : module_.named_modules()) {
            if (m.value.hasattr("weight")) {
                const c10::IValue w = m.value.attr("weight");
                if (w.isTensor() && w.toTensor().dim() == 2) weight = w.toTensor().detach();
            }
        }
        return weight;
    }

    torch::jit::Module& module() { return module_; }

    TorchScriptOptimised optimised() {
        std::lock_guard lock(mutex_);
        const std::int64_t version = parameterVersion();
        TorchScriptOptimised o;
        o.forward = frozen_ && frozenVersion_ == version;
        return o;
    }

private:
    // The module frozen (parameters as constants) and optimised for inference (BatchNorm folded
    // into convolutions, oneDNN convolutions with prepacked weights), made on the second forward
    // with the same parameters and again after any changed (the randomisation check overwrites
    // them in place); used only when its output for that input equals the module's own (1e-4 of
    // the largest logit), else never. Undefined tensor: use the module itself.
    at::Tensor optimisedForward(const at::Tensor& input) {
        std::shared_ptr<torch::jit::Module> frozen;
        {
            std::lock_guard lock(mutex_);
            if (optimisationFailed_) return {};
            const std::int64_t version = parameterVersion();
            if (!frozen_ || frozenVersion_ != version) {
                // Not for a model's first forward (Model::open's probe; a randomised copy's
                // next stage): freezing costs about ten forwards.
                if (frozenVersion_ != version || !sameVersionForwards_) {
                    frozen_.reset();
                    frozenVersion_ = version;
                    sameVersionForwards_ = 1;
                    return {};
                }
                frozen_ = makeOptimised(input);
                frozenVersion_ = version;
                if (!frozen_) {
                    optimisationFailed_ = true;
                    return {};
                }
            }
            frozen = frozen_;
        }
        at::Tensor out;
        {
            c10::InferenceMode inference;
            out = asTensor(frozen->forward({input}), "forward");
        }
        return out.clone();
    }

    std::shared_ptr<torch::jit::Module> makeOptimised(const at::Tensor& input) {
        try {
            torch::NoGradGuard noGrad;
            torch::jit::Module plainFrozen = torch::jit::freeze(module_);
            auto frozen = std::make_shared<torch::jit::Module>(
                torch::jit::optimize_for_inference(plainFrozen));
            const at::Tensor expected = asTensor(module_.forward({input}), "forward");
            const at::Tensor got = asTensor(frozen->forward({input}), "forward");
            return agrees(got, expected) ? frozen : nullptr;
        } catch (const std::exception&) {
            return nullptr;  // a graph the optimiser cannot handle: keep the module as it is
        }
    }

    std::int64_t parameterVersion() {
        std::uint64_t h = 0;
        for (const auto& p : module_.parameters())
            h = h * 1000003u + static_cast<std::uint64_t>(p._version()) +
                reinterpret_cast<std::uintptr_t>(p.data_ptr()) * 31u;
        return static_cast<std::int64_t>(h);
    }

    struct Steps {
        std::vector<std::unique_ptr<torch::jit::GraphFunction>> functions;
        std::vector<std::vector<SpatialLayer>> geometry;
    };

    // The head graph with constants folded, and cut into steps: GraphFunctions and the layers
    // of each (one step where it cannot be cut). Throws GraphGeometryError as graphTrunkGeometry.
    static std::vector<std::shared_ptr<Graph>> stepGraphs(
        Graph& head, const c10::IValue& self, std::vector<std::vector<SpatialLayer>>& geometry) {
        std::shared_ptr<Graph> graph = head.copy();
        torch::jit::ConstantPropagation(graph);
        torch::jit::EliminateDeadCode(graph);
        const auto whole = graphTrunkGeometry(*graph, self);  // refusals come from here
        std::vector<std::shared_ptr<Graph>> parts;
        std::vector<std::vector<SpatialLayer>> layers;
        try {
            parts = splitTrunkGraph(*graph);
            for (const auto& part : parts) layers.push_back(graphTrunkGeometry(*part, self).at(0));
        } catch (const std::exception&) {
            parts.clear();  // a cut dense mode cannot follow: the trunk as one step
        }
        if (parts.size() < 2) {
            geometry = whole;
            return {graph};
        }
        geometry = std::move(layers);
        return parts;
    }

    Steps& steps(const std::string& layer) {
        torch::jit::GraphFunction& head = *functions(layer).head;
        std::lock_guard lock(mutex_);
        if (auto it = steps_.find(layer); it != steps_.end()) return it->second;
        Steps st;
        const auto graphs = stepGraphs(*head.graph(), c10::IValue(module_._ivalue()), st.geometry);
        for (std::size_t k = 0; k < graphs.size(); ++k)
            st.functions.push_back(std::make_unique<torch::jit::GraphFunction>(
                "lucida_step_" + std::to_string(k), graphs[k], nullptr));
        return steps_.emplace(layer, std::move(st)).first->second;
    }

    struct Functions {
        std::unique_ptr<torch::jit::GraphFunction> head;
        std::unique_ptr<torch::jit::GraphFunction> tail;
    };

    at::Tensor asTensor(const c10::IValue& v, const std::string& what) const {
        if (v.isTensor()) return v.toTensor();
        if (v.isTuple() && !v.toTupleRef().elements().empty() &&
            v.toTupleRef().elements()[0].isTensor())
            return v.toTupleRef().elements()[0].toTensor();
        throw ModelError(path_, what + " does not return a tensor");
    }

    Functions& functions(const std::string& layer) {
        std::lock_guard lock(mutex_);
        if (auto it = functions_.find(layer); it != functions_.end()) return it->second;
        const std::shared_ptr<Graph>& forward = forwardGraph_;

        std::shared_ptr<Graph> headGraph = headGraphOf(*forward, layer, path_);

        auto tailGraph = forward->copy();
        Node* tailCall = resolveLayerCall(*tailGraph, layer, path_);
        Value* input = tailGraph->addInput("activation");
        input->setType(tailCall->output()->type());
        tailCall->output()->replaceAllUsesWith(input);
        tailCall->destroy();
        torch::jit::Inline(*tailGraph);
        torch::jit::EliminateDeadCode(tailGraph);

        Functions f;
        f.head = std::make_unique<torch::jit::GraphFunction>("lucida_head", headGraph, nullptr);
        f.tail = std::make_unique<torch::jit::GraphFunction>("lucida_tail", tailGraph, nullptr);
        return functions_.emplace(layer, std::move(f)).first->second;
    }

    std::string path_;
    torch::jit::Module module_;
    std::shared_ptr<Graph> forwardGraph_;
    std::mutex mutex_;
    std::map<std::string, Functions> functions_;
    std::vector<LayerInfo> layers_;
    std::shared_ptr<torch::jit::Module> frozen_;
    std::int64_t frozenVersion_ = 0;
    int sameVersionForwards_ = 0;
    bool optimisationFailed_ = false;
    std::map<std::string, Steps> steps_;
};

}  // namespace

std::unique_ptr<ModelBackend> makeTorchScriptBackend(const std::string& path,
                                                     const std::string& device) {
    return std::make_unique<TorchScriptBackend>(path, device);
}

// Candidate layers of a TorchScript module: modules at depth 1 and 2 (the blocks a user picks),
// with their output shapes from one forward of a zero image.
std::vector<LayerInfo> torchScriptLayers(ModelBackend& backend, const at::Tensor& probe) {
    auto& ts = static_cast<TorchScriptBackend&>(backend);
    std::vector<LayerInfo> layers;
    for (const auto& m : ts.module().named_modules()) {
        if (m.name.empty()) continue;
        const auto depth = std::count(m.name.begin(), m.name.end(), '.') + 1;
        if (depth > 2) continue;
        LayerInfo info{
            m.name, m.value.type()->name() ? m.value.type()->name()->name() : "Module", {}};
        try {
            info.outputShape = backend.head(probe, m.name).sizes().vec();
        } catch (const std::exception&) {
            continue;  // not called by forward (or called in a way we cannot cut): not a candidate
        }
        layers.push_back(std::move(info));
    }
    ts.setLayers(layers);
    return layers;
}

TorchScriptOptimised torchScriptOptimised(ModelBackend& backend) {
    auto* ts = dynamic_cast<TorchScriptBackend*>(&backend);
    return ts ? ts->optimised() : TorchScriptOptimised{};
}

std::string torchScriptDefaultLayer(ModelBackend& backend, const at::Tensor& probe) {
    auto& ts = static_cast<TorchScriptBackend&>(backend);
    std::vector<std::string> names;
    for (const auto& child : ts.module().named_children()) names.push_back(child.name);
    for (auto name = names.rbegin(); name != names.rend(); ++name) {
        try {
            const auto shape = backend.head(probe, *name).sizes();
            if (shape.size() == 4 && shape[2] > 1 && shape[3] > 1) return *name;
        } catch (const std::exception&) {
            // not called by forward (or not cut there): not a candidate, as in torchScriptLayers
        }
    }
    return {};
}

}  // namespace lucida
