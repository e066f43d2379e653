#!/usr/bin/python3
"""Reference state_dicts and outputs for tests/core/resnet_statedict_test.cpp.

Usage: /usr/bin/python3 tests/reference/make_resnet_pth.py OUTDIR

Everything goes to OUTDIR/statedict/ (OUTDIR is shared with make_cam_reference.py, whose index.json
and <model>.logits.f32 must not be overwritten). Writes, for each model below, <name>.pth (torch.save(model.state_dict())), the logits
<name>.logits.f32 and the layer4 activation <name>.layer4.f32 for the batch input.f32, all raw
little-endian float32, and index.json with the shapes. Broken files for the error tests:
resnet18_missing_key.pth (a state_dict with one key removed) and resnet18_legacy.pth (the same
weights as resnet18.pth in the pre-1.6, non-zip format).
"""

import json
import os
import sys

import numpy as np
import torch
import torchvision

INPUT_SHAPE = (2, 3, 224, 224)


def make_model(arch, outputs, seed):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None)
    model.fc = torch.nn.Linear(model.fc.in_features, outputs)
    # Non-trivial BatchNorm affine parameters and running statistics: default init has weight 1,
    # bias 0, mean 0, var 1, which would hide a loader that skips them.
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 3, 96, 96) * 1.5 + 0.3)
    model.eval()
    return model


def write_f32(path, tensor):
    array = tensor.detach().cpu().contiguous().numpy().astype("<f4")
    array.tofile(path)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_resnet_pth.py OUTDIR")
    outdir = os.path.join(sys.argv[1], "statedict")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)

    generator = torch.Generator().manual_seed(1234)
    batch = torch.randn(INPUT_SHAPE, generator=generator)
    write_f32(os.path.join(outdir, "input.f32"), batch)
    index = {"input": {"file": "input.f32", "shape": list(INPUT_SHAPE)}, "models": {}}

    specs = [
        ("resnet18", "resnet18", 3, 18),
        ("resnet50", "resnet50", 3, 50),
        ("resnet18_binary", "resnet18", 1, 118),
    ]
    for name, arch, outputs, seed in specs:
        model = make_model(arch, outputs, seed)
        torch.save(model.state_dict(), os.path.join(outdir, name + ".pth"))

        captured = {}
        hook = model.layer4.register_forward_hook(lambda m, i, o: captured.update(layer4=o))
        with torch.no_grad():
            logits = model(batch)
        hook.remove()
        write_f32(os.path.join(outdir, name + ".logits.f32"), logits)
        write_f32(os.path.join(outdir, name + ".layer4.f32"), captured["layer4"])
        index["models"][name] = {
            "file": name + ".pth",
            "architecture": arch,
            "outputs": outputs,
            "logits": {"file": name + ".logits.f32", "shape": list(logits.shape)},
            "layer4": {"file": name + ".layer4.f32", "shape": list(captured["layer4"].shape)},
        }

        if name == "resnet18":
            state = model.state_dict()
            torch.save(state, os.path.join(outdir, "resnet18_legacy.pth"),
                       _use_new_zipfile_serialization=False)
            del state["layer2.1.conv2.weight"]
            torch.save(state, os.path.join(outdir, "resnet18_missing_key.pth"))

    index["broken"] = {
        "resnet18_missing_key.pth": "layer2.1.conv2.weight removed",
    }
    index["legacy"] = {"resnet18_legacy.pth": "resnet18"}
    with open(os.path.join(outdir, "index.json"), "w") as f:
        json.dump(index, f, indent=2)


if __name__ == "__main__":
    main()
