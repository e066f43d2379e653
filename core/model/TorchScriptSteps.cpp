// A TorchScript trunk cut into steps (see TorchScriptSteps.h).
#include "model/TorchScriptSteps.h"

#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace lucida {

namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

bool convolution(const Node* n) {
    static const std::set<std::string> ops = {"aten::_convolution", "aten::conv2d",
                                              "aten::convolution", "aten::_convolution_mode"};
    return ops.count(n->kind().toQualString()) > 0;
}

bool spatial(const Node* n) {
    static const std::set<std::string> ops = {"aten::max_pool2d", "aten::avg_pool2d",
                                              "aten::max_pool2d_with_indices"};
    return convolution(n) || ops.count(n->kind().toQualString()) > 0;
}

// Every value `n` reads, its blocks' nodes included (iterative: the nesting is the file's).
std::vector<Value*> readsOf(Node* n) {
    std::vector<Value*> reads(n->inputs().begin(), n->inputs().end());
    std::vector<Block*> blocks(n->blocks().begin(), n->blocks().end());
    while (!blocks.empty()) {
        Block* b = blocks.back();
        blocks.pop_back();
        for (Node* inner : b->nodes()) {
            reads.insert(reads.end(), inner->inputs().begin(), inner->inputs().end());
            blocks.insert(blocks.end(), inner->blocks().begin(), inner->blocks().end());
        }
        reads.insert(reads.end(), b->outputs().begin(), b->outputs().end());
    }
    return reads;
}

// A new graph (self, x) -> what `to` is, made of the nodes that do not depend on the image (the
// module's attributes, constants) and the nodes in (first - 1, last] of `nodes`, with `from`
// read from x.
std::shared_ptr<Graph> stepGraph(Graph& graph, const std::vector<Node*>& nodes,
                                 const std::unordered_set<const Value*>& fromImage,
                                 std::size_t first, std::size_t last, Value* from, Value* to) {
    auto g = std::make_shared<Graph>();
    std::unordered_map<const Value*, Value*> env;
    env[graph.inputs()[0]] = g->addInput("self")->setType(graph.inputs()[0]->type());
    env[from] = g->addInput("x")->setType(from->type());
    const auto map = [&](Value* v) -> Value* {
        const auto it = env.find(v);
        if (it == env.end()) throw std::logic_error("a trunk step reads a value it does not have");
        return it->second;
    };
    const auto clone = [&](Node* n) {
        Node* c = g->insertNode(g->createClone(n, map));
        for (std::size_t k = 0; k < n->outputs().size(); ++k) env[n->output(k)] = c->output(k);
    };
    for (std::size_t i = 0; i < first; ++i) {
        bool image = false;
        for (Value* v : readsOf(nodes[i])) image = image || fromImage.count(v);
        if (!image) clone(nodes[i]);
    }
    for (std::size_t i = first; i <= last; ++i) clone(nodes[i]);
    g->registerOutput(map(to));
    torch::jit::EliminateDeadCode(g);
    return g;
}

}  // namespace

std::vector<std::shared_ptr<Graph>> splitTrunkGraph(Graph& graph) {
    const auto whole = [&] { return std::vector<std::shared_ptr<Graph>>{graph.copy()}; };
    if (graph.inputs().size() != 2 || graph.outputs().size() != 1) return whole();
    std::vector<Node*> nodes;
    for (Node* n : graph.nodes()) {
        // A node that changes state (an attribute, a random generator) must run once, in order.
        if (n->hasSideEffects()) return whole();
        nodes.push_back(n);
    }
    // What depends on the image (maps, and their shapes), and where each value is last read.
    std::unordered_set<const Value*> fromImage{graph.inputs()[1]};
    std::unordered_map<const Value*, std::size_t> defined, lastRead;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        bool image = false;
        for (Value* v : readsOf(nodes[i])) {
            lastRead[v] = i;
            image = image || fromImage.count(v);
        }
        for (Value* v : nodes[i]->outputs()) {
            defined[v] = i;
            if (image) fromImage.insert(v);
        }
    }
    Value* output = graph.outputs()[0];
    lastRead[output] = nodes.size();
    // A cut after node i: one value of the image alone is still to be read — a tensor node i
    // makes — and a convolution or pooling ran since the last cut. Of the cuts between two
    // convolutions the last is taken, so that a convolution's batch norm, activation and
    // pooling stay in its step (the optimiser folds the batch norm in; a ResNet's stem is one
    // step, as in the native layer lists).
    std::vector<std::shared_ptr<Graph>> steps;
    Value* from = graph.inputs()[1];
    std::size_t first = 0;
    bool grew = false;
    std::optional<std::pair<std::size_t, Value*>> pending;
    std::vector<const Value*> live{from};
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (convolution(nodes[i]) && pending) {
            const auto [at, to] = *pending;
            steps.push_back(stepGraph(graph, nodes, fromImage, first, at, from, to));
            from = to;
            first = at + 1;
            grew = false;
            pending.reset();
        }
        grew = grew || spatial(nodes[i]);
        for (Value* v : nodes[i]->outputs())
            if (fromImage.count(v)) live.push_back(v);
        std::erase_if(live, [&](const Value* v) {
            const auto it = lastRead.find(v);
            return it == lastRead.end() || it->second <= i;
        });
        if (grew && live.size() == 1 && live[0] != output && defined.count(live[0]) &&
            defined.at(live[0]) == i && live[0]->type()->kind() == c10::TypeKind::TensorType)
            pending = std::make_pair(i, const_cast<Value*>(live[0]));  // one of node i's outputs
    }
    if (steps.empty()) return whole();
    if (!defined.count(output) || defined.at(output) < first) return whole();
    steps.push_back(stepGraph(graph, nodes, fromImage, first, nodes.size() - 1, from, output));
    return steps;
}

}  // namespace lucida
