#!/usr/bin/python3
"""Loads a state_dict Lucida wrote into the PyTorch network (strict: every key and shape must
match) and writes its eval-mode logits on an input, to show Python opens Lucida's models.

Usage: load_lucida_pth.py ARCH OUTPUTS MODEL.pth INPUT.f32 N C H W OUT.f32
"""

import os
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from small_cnn import SmallCnn  # noqa: E402

arch, outputs, path, input_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
shape = [int(v) for v in sys.argv[5:9]]
if arch == "smallcnn":
    model = SmallCnn(outputs)
else:
    model = getattr(torchvision.models, arch)(weights=None)
    model.fc = torch.nn.Linear(model.fc.in_features, outputs)
model.load_state_dict(torch.load(path), strict=True)
model.eval()
x = torch.from_numpy(np.fromfile(input_path, dtype="<f4").reshape(shape))
with torch.no_grad():
    model(x).numpy().astype("<f4").tofile(sys.argv[9])
