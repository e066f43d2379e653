#!/usr/bin/python3
"""Reference single optimisation steps for tests/core/train_step_test.cpp.

Usage: /usr/bin/python3 tests/reference/make_train_step_reference.py OUTDIR

For each case (network, outputs, optimizer): OUTDIR/trainstep/<case>.init.pth (the starting
state_dict, non-trivial batch-norm statistics), <case>.after.pth (after one step in train mode),
<case>.eval_logits.f32 (eval-mode logits of the starting model on the batch); the batch
<case>.input.f32 (raw little-endian float32, N x 3 x H x W) and index.json with labels, losses,
shapes and the optimizer settings. Loss: BCEWithLogits on one logit, else cross-entropy — as
Lucida's Trainer.
"""

import json
import os
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from small_cnn import SmallCnn  # noqa: E402

CASES = [
    # name, architecture, outputs, optimizer, lr, weight decay, input size, batch
    ("smallcnn_sigmoid_adam", "smallcnn", 1, "adam", 1e-3, 0.0, 32, 4),
    ("smallcnn_softmax3_adam", "smallcnn", 3, "adam", 1e-3, 1e-4, 32, 6),
    ("smallcnn_sigmoid_adamw", "smallcnn", 1, "adamw", 1e-3, 1e-2, 32, 4),
    ("smallcnn_softmax3_sgd", "smallcnn", 3, "sgd", 1e-2, 1e-4, 32, 6),
    ("resnet18_sigmoid_adam", "resnet18", 1, "adam", 1e-3, 0.0, 64, 4),
]


def make(arch, outputs, seed):
    torch.manual_seed(seed)
    if arch == "smallcnn":
        model = SmallCnn(outputs)
    else:
        model = getattr(torchvision.models, arch)(weights=None)
        model.fc = torch.nn.Linear(model.fc.in_features, outputs)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model


def optimizer_for(name, params, lr, wd):
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=wd)


def main():
    out = os.path.join(sys.argv[1], "trainstep")
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(os.cpu_count())
    index = []
    for seed, (name, arch, outputs, opt, lr, wd, size, n) in enumerate(CASES):
        model = make(arch, outputs, 100 + seed)
        torch.save(model.state_dict(), os.path.join(out, name + ".init.pth"))
        g = torch.Generator().manual_seed(200 + seed)
        x = torch.randn(n, 3, size, size, generator=g)
        classes = 2 if outputs == 1 else outputs
        labels = [i % classes for i in range(n)]
        x.numpy().astype("<f4").tofile(os.path.join(out, name + ".input.f32"))
        model.eval()
        with torch.no_grad():
            model(x).numpy().astype("<f4").tofile(os.path.join(out, name + ".eval_logits.f32"))
        model.train()
        optimizer = optimizer_for(opt, model.parameters(), lr, wd)
        optimizer.zero_grad()
        logits = model(x)
        if outputs == 1:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, torch.tensor(labels, dtype=torch.float32).unsqueeze(1))
        else:
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor(labels))
        loss.backward()
        optimizer.step()
        torch.save(model.state_dict(), os.path.join(out, name + ".after.pth"))
        index.append({"name": name, "architecture": arch, "outputs": outputs, "optimizer": opt,
                      "learning_rate": lr, "weight_decay": wd, "input_shape": list(x.shape),
                      "labels": labels, "loss": loss.item()})
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
