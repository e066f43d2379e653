#!/usr/bin/python3
"""Seed corpora for the fuzz targets that no fixture covers: small torch.save files (zip and legacy
formats, a checkpoint, a parameter, half and int storages, shared storages) and model sidecars.

Usage: /usr/bin/python3 tests/fuzz/make_seeds.py OUTDIR   (writes OUTDIR/model, OUTDIR/sidecar)
"""
import collections
import io
import json
import os
import sys

import torch

out = sys.argv[1]
for sub in ("model", "sidecar"):
    os.makedirs(os.path.join(out, sub), exist_ok=True)


def save(name, obj, **kwargs):
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    with open(os.path.join(out, "model", name), "wb") as f:
        f.write(buf.getvalue())


torch.manual_seed(0)
conv = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(4, 2))
state = conv.state_dict()
save("small.pth", state)
save("small_legacy.pth", state, _use_new_zipfile_serialization=False)
save("checkpoint.pth", {"epoch": 3, "state_dict": state, "lr": 0.1, "name": "x" * 40})
save("checkpoint_legacy.pth", {"model_state_dict": state}, _use_new_zipfile_serialization=False)
base = torch.arange(24, dtype=torch.float32)
save("views.pth", collections.OrderedDict([("a", base[2:10].view(2, 4)), ("b", base.view(4, 6).t()),
                                           ("h", torch.ones(3, dtype=torch.float16)),
                                           ("i", torch.arange(5)), ("e", torch.zeros(0, 3))]))
save("parameter.pth", {"w": torch.nn.Parameter(torch.ones(2, 2))})
save("self.pth", (lambda d: (d.__setitem__("state_dict", d), d)[1])({}))

specs = [
    {},
    {"architecture": "resnet18", "classes": ["normal", "tumour"], "input_size": [224, 224],
     "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "microns_per_pixel": 0.5,
     "magnification": 20, "target_layer": "layer4", "output": "softmax"},
    {"classes": ["negative", "positive"], "output": "sigmoid", "input_size": [96, 96]},
    {"classes": [1, 2], "std": [0, 1, 1], "output": "other"},
]
for i, spec in enumerate(specs):
    with open(os.path.join(out, "sidecar", "spec%d.json" % i), "w") as f:
        json.dump(spec, f)
