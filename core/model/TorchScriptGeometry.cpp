// Receptive field of a TorchScript trunk from its graph (see TorchScriptGeometry.h).
#include "model/TorchScriptGeometry.h"

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

namespace lucida {

namespace {

using torch::jit::Node;
using torch::jit::Value;

// What a value computed from the image is: a map whose cell i (per axis) sits at i · jump model
// pixels and sees [i · jump − before, i · jump + after]; or a global summary of a map (pooled).
struct Reach {
    bool global = false;
    std::array<int, 2> jump{1, 1}, before{0, 0}, after{0, 0};  // [y, x]
};

// Ops that keep every cell where it is and look at that cell only (or at none).
const std::set<std::string>& cellwise() {
    static const std::set<std::string> ops = {"aten::relu",
                                              "aten::relu_",
                                              "aten::relu6",
                                              "aten::leaky_relu",
                                              "aten::leaky_relu_",
                                              "aten::hardtanh",
                                              "aten::hardtanh_",
                                              "aten::elu",
                                              "aten::elu_",
                                              "aten::selu",
                                              "aten::selu_",
                                              "aten::celu",
                                              "aten::gelu",
                                              "aten::silu",
                                              "aten::silu_",
                                              "aten::mish",
                                              "aten::sigmoid",
                                              "aten::sigmoid_",
                                              "aten::hardsigmoid",
                                              "aten::hardsigmoid_",
                                              "aten::hardswish",
                                              "aten::hardswish_",
                                              "aten::tanh",
                                              "aten::tanh_",
                                              "aten::softplus",
                                              "aten::prelu",
                                              "aten::batch_norm",
                                              "aten::dropout",
                                              "aten::dropout_",
                                              "aten::feature_dropout",
                                              "aten::feature_dropout_",
                                              "aten::alpha_dropout",
                                              "aten::contiguous",
                                              "aten::clone",
                                              "aten::detach",
                                              "aten::to",
                                              "aten::add",
                                              "aten::add_",
                                              "aten::sub",
                                              "aten::sub_",
                                              "aten::mul",
                                              "aten::mul_",
                                              "aten::div",
                                              "aten::div_",
                                              "aten::clamp",
                                              "aten::clamp_",
                                              "aten::clamp_min",
                                              "aten::clamp_min_",
                                              "aten::abs",
                                              "aten::neg",
                                              "aten::exp",
                                              "aten::log",
                                              "aten::sqrt",
                                              "aten::rsqrt",
                                              "aten::pow",
                                              "aten::maximum",
                                              "aten::minimum",
                                              "aten::where",
                                              "aten::cat",
                                              "prim::ListConstruct",
                                              "aten::type_as"};
    return ops;
}

// Ops that read the shape of a map, not its values.
const std::set<std::string>& shapeQueries() {
    static const std::set<std::string> ops = {
        "aten::size",  "aten::dim",    "aten::len",   "prim::shape",
        "aten::numel", "prim::device", "prim::dtype", "aten::is_floating_point"};
    return ops;
}

// Ops that summarise a whole map.
const std::set<std::string>& globalPools() {
    static const std::set<std::string> ops = {"aten::adaptive_avg_pool2d",
                                              "aten::adaptive_max_pool2d",
                                              "aten::mean",
                                              "aten::amax",
                                              "aten::sum",
                                              "aten::instance_norm",
                                              "aten::group_norm",
                                              "aten::layer_norm"};
    return ops;
}

class Follower {
public:
    explicit Follower(const c10::IValue& self) : self_(self) {}

    Reach run(const torch::jit::Graph& graph) {
        if (graph.inputs().size() < 2) throw GraphGeometryError("the graph takes no image");
        self_value_ = graph.inputs()[0];
        reach_[graph.inputs()[1]] = Reach{};
        for (const Node* n : graph.nodes()) visit(n);
        const Value* out = graph.outputs().at(0);
        const auto it = reach_.find(out);
        if (it == reach_.end() || it->second.global)
            throw GraphGeometryError("the target layer's output is not a map of the image");
        return it->second;
    }

private:
    void visit(const Node* n) {
        const std::string kind = n->kind().toQualString();
        std::vector<const Reach*> inputs;
        for (const Value* v : n->inputs())
            if (auto it = reach_.find(v); it != reach_.end()) inputs.push_back(&it->second);
        if (!n->blocks().empty()) {  // prim::If / prim::Loop: fine when it never sees a map
            if (!inputs.empty() || usesMaps(n))
                throw GraphGeometryError("control flow (" + kind + ") on the activations");
            return;
        }
        if (inputs.empty()) return;  // parameters, constants, attributes
        if (shapeQueries().count(kind)) return;
        // What is computed from pooled values alone stays a summary (the excitation of a
        // squeeze-and-excitation block); a summary meeting a map is what tiles cannot reproduce.
        const auto global =
            std::count_if(inputs.begin(), inputs.end(), [](const Reach* r) { return r->global; });
        if (global == std::ptrdiff_t(inputs.size())) {
            set(n, *inputs.front());
            return;
        }
        if (global > 0)
            throw GraphGeometryError(
                "a global pooling inside the trunk feeds " + kind +
                " (squeeze-and-excitation or similar): a tile's cells would see the tile, a "
                "patch's the patch");
        if (globalPools().count(kind)) {
            Reach g;
            g.global = true;
            set(n, g);
            return;
        }
        if (kind == "aten::_convolution" || kind == "aten::conv2d" || kind == "aten::convolution" ||
            kind == "aten::_convolution_mode") {
            set(n, convolution(n, kind, mapAt(n, kind)));
            return;
        }
        if (kind == "aten::max_pool2d" || kind == "aten::avg_pool2d" ||
            kind == "aten::max_pool2d_with_indices") {
            set(n, pooling(n, kind, mapAt(n, kind)));
            return;
        }
        if (cellwise().count(kind)) {
            if (kind == "aten::cat") checkChannelDim(n);
            set(n, join(inputs, kind));
            return;
        }
        throw GraphGeometryError("the trunk uses " + kind +
                                 ", whose effect on the receptive field dense mode does not know");
    }

    // The map a convolution or pooling runs on (its first input).
    const Reach& mapAt(const Node* n, const std::string& kind) const {
        const auto it = reach_.find(n->input(0));
        if (it == reach_.end())
            throw GraphGeometryError(kind + " runs on something other than the image's maps");
        return it->second;
    }

    // Whether any node inside `n`'s blocks, however nested, reads a map (iterative: the nesting
    // is the file's).
    bool usesMaps(const Node* n) const {
        std::vector<const torch::jit::Block*> blocks(n->blocks().begin(), n->blocks().end());
        while (!blocks.empty()) {
            const torch::jit::Block* b = blocks.back();
            blocks.pop_back();
            for (const Node* inner : b->nodes()) {
                if (shapeQueries().count(inner->kind().toQualString())) continue;
                for (const Value* v : inner->inputs())
                    if (reach_.count(v)) return true;
                blocks.insert(blocks.end(), inner->blocks().begin(), inner->blocks().end());
            }
        }
        return false;
    }

    void set(const Node* n, const Reach& r) {
        for (const Value* v : n->outputs())
            if (v->type()->kind() == c10::TypeKind::TensorType ||
                v->type()->kind() == c10::TypeKind::ListType)
                reach_[v] = r;
    }

    // Maps joined cell by cell (add, cat, where …) must share their grid; the reach is the larger.
    static Reach join(const std::vector<const Reach*>& inputs, const std::string& kind) {
        Reach r = *inputs.front();
        for (const Reach* other : inputs) {
            if (other->jump != r.jump)
                throw GraphGeometryError(kind + " joins maps of different strides");
            for (int a = 0; a < 2; ++a) {
                r.before[a] = std::max(r.before[a], other->before[a]);
                r.after[a] = std::max(r.after[a], other->after[a]);
            }
        }
        return r;
    }

    void checkChannelDim(const Node* n) const {
        const std::optional<c10::IValue> dim = constant(n->input(1));
        if (!dim || !dim->isInt() || (dim->toInt() != 1 && dim->toInt() != -3))
            throw GraphGeometryError("aten::cat joins maps along another axis than the channels");
    }

    // A value known without running the graph: a constant, a list of int constants, or a
    // module's attribute (convolution weights), followed up its GetAttr chain without recursion.
    std::optional<c10::IValue> constant(const Value* v) const {
        const Node* n = v->node();
        if (n->kind() == c10::prim::Constant) {
            if (auto x = torch::jit::toIValue(v)) return *x;
            return std::nullopt;
        }
        if (n->kind() == c10::prim::ListConstruct) {
            c10::List<int64_t> list;
            for (const Value* e : n->inputs()) {
                const auto x = e->node()->kind() == c10::prim::Constant ? torch::jit::toIValue(e)
                                                                        : c10::nullopt;
                if (!x || !x->isInt()) return std::nullopt;
                list.push_back(x->toInt());
            }
            return c10::IValue(list);
        }
        std::vector<std::string> names;
        const Value* owner = v;
        while (owner != self_value_ && owner->node()->kind() == c10::prim::GetAttr) {
            names.push_back(owner->node()->s(c10::attr::name));
            owner = owner->node()->input(0);
        }
        if (owner != self_value_) return std::nullopt;
        c10::IValue x = self_;
        for (auto name = names.rbegin(); name != names.rend(); ++name) {
            if (!x.isObject()) return std::nullopt;
            const auto object = x.toObject();
            if (!object->type()->hasAttribute(*name)) return std::nullopt;
            x = object->getAttr(*name);
        }
        return x;
    }

    // Two values per axis from an int list of one or two entries; `fallback` when empty.
    std::array<int, 2> pair(const Value* v, const std::string& what,
                            std::optional<std::array<int, 2>> fallback = std::nullopt) const {
        const auto x = constant(v);
        if (!x || !x->isIntList())
            throw GraphGeometryError("the " + what +
                                     " of a convolution or pooling is not a constant");
        const auto list = x->toIntVector();
        if (list.empty() && fallback) return *fallback;
        for (const std::int64_t v : list)
            if (v < -(1 << 20) || v > (1 << 20))
                throw GraphGeometryError("the " + what + " of a convolution or pooling is " +
                                         std::to_string(v));
        if (list.size() == 1) return {int(list[0]), int(list[0])};
        if (list.size() == 2) return {int(list[0]), int(list[1])};
        throw GraphGeometryError("the " + what + " of a convolution or pooling is not 2-D");
    }

    // In 64 bits and bounded: the sizes are the file's, and no tile is wider than 2^20 pixels.
    static Reach grow(const Reach& in, std::array<int, 2> kernel, std::array<int, 2> stride,
                      std::array<int, 2> padding, std::array<int, 2> dilation) {
        constexpr std::int64_t kLimit = std::int64_t{1} << 20;
        Reach r = in;
        for (int a = 0; a < 2; ++a) {
            if (kernel[a] < 1 || stride[a] < 1 || padding[a] < 0 || dilation[a] < 1)
                throw GraphGeometryError("a convolution or pooling has an invalid shape");
            const std::int64_t span = std::int64_t(kernel[a] - 1) * dilation[a] + 1;
            const std::int64_t before = in.before[a] + std::int64_t(padding[a]) * in.jump[a];
            const std::int64_t after = in.after[a] + (span - 1 - padding[a]) * in.jump[a];
            const std::int64_t jump = std::int64_t(in.jump[a]) * stride[a];
            if (before > kLimit || after > kLimit || jump > kLimit || after < -kLimit)
                throw GraphGeometryError("the trunk's receptive field or stride exceeds " +
                                         std::to_string(kLimit) + " pixels");
            r.before[a] = int(before), r.after[a] = int(after), r.jump[a] = int(jump);
        }
        return r;
    }

    Reach convolution(const Node* n, const std::string& kind, const Reach& in) const {
        const auto weight = constant(n->input(1));
        if (!weight || !weight->isTensor() || weight->toTensor().dim() != 4)
            throw GraphGeometryError("a convolution's weight is not a module parameter");
        const auto w = weight->toTensor();
        if (w.size(2) > (1 << 20) || w.size(3) > (1 << 20))
            throw GraphGeometryError("a convolution's kernel is larger than any tile");
        const std::array<int, 2> kernel{int(w.size(2)), int(w.size(3))};
        const std::array<int, 2> stride = pair(n->input(3), "stride");
        const std::array<int, 2> dilation = pair(n->input(5), "dilation");
        if (kind == "aten::_convolution" || kind == "aten::convolution") {  // transposed: input 6
            const auto transposed = constant(n->input(6));
            if (!transposed || !transposed->isBool() || transposed->toBool())
                throw GraphGeometryError("a transposed convolution (upsampling) in the trunk");
        }
        const auto padding = constant(n->input(4));
        std::array<int, 2> pad{0, 0};
        if (padding && padding->isString()) {  // conv2d.padding, _convolution_mode: valid, same
            if (padding->toStringRef() == "same")
                for (int a = 0; a < 2; ++a)
                    pad[a] = int(std::min<std::int64_t>(
                        (std::int64_t(kernel[a]) - 1) * dilation[a] / 2, 1 << 21));
        } else {
            pad = pair(n->input(4), "padding");
        }
        return grow(in, kernel, stride, pad, dilation);
    }

    Reach pooling(const Node* n, const std::string& kind, const Reach& in) const {
        const std::array<int, 2> kernel = pair(n->input(1), "kernel size");
        const std::array<int, 2> stride = pair(n->input(2), "stride", kernel);
        const std::array<int, 2> padding = pair(n->input(3), "padding");
        const std::array<int, 2> dilation =
            kind == "aten::avg_pool2d" ? std::array<int, 2>{1, 1} : pair(n->input(4), "dilation");
        return grow(in, kernel, stride, padding, dilation);
    }

    c10::IValue self_;
    const Value* self_value_ = nullptr;
    std::unordered_map<const Value*, Reach> reach_;
};

}  // namespace

std::vector<std::vector<SpatialLayer>> graphTrunkGeometry(const torch::jit::Graph& graph,
                                                          const c10::IValue& self) {
    const Reach r = Follower(self).run(graph);
    if (r.jump[0] != r.jump[1])
        throw GraphGeometryError("the trunk's strides differ between rows (" +
                                 std::to_string(r.jump[0]) + ") and columns (" +
                                 std::to_string(r.jump[1]) + ")");
    // The larger reach of the two axes: a tile's halo is square.
    const int before = std::max(r.before[0], r.before[1]);
    const int after = std::max(r.after[0], r.after[1]);
    return {{SpatialLayer{before + after + 1, 1, before}, SpatialLayer{1, r.jump[0], 0}}};
}

}  // namespace lucida
