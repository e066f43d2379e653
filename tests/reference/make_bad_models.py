"""Models that must be refused with a clear reason (tests/core/model_errors_test.cpp).

OUTDIR/bad_models/
  nan_model.pt (+ .json)         runs, but its logits are NaN           -> "non-finite outputs"
  fixed_input_model.pt (+ .json) a Linear over a flattened 3x32x32 input; the sidecar declares 224x224
                                                                          -> "fails on the declared input shape"
  three_outputs.pt (+ .json)     3 logits, sidecar lists 2 classes     -> "head has 3 outputs but the sidecar lists 2"
"""
import json
import sys
from pathlib import Path

import torch

out = Path(sys.argv[1]) / "bad_models"
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)


class NanModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        y = self.conv(x).mean(dim=(2, 3))
        return self.fc(y) * float("nan")


class FixedInput(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4 * 32 * 32, 2)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv(x), 1))


class ThreeOutputs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.conv(x).mean(dim=(2, 3)))


def save(name, model, classes, size):
    torch.jit.script(model.eval()).save(str(out / f"{name}.pt"))
    (out / f"{name}.json").write_text(json.dumps({
        "architecture": "torchscript", "classes": classes, "input_size": size,
        "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "target_layer": "conv", "output": "softmax"}))


save("nan_model", NanModel(), ["a", "b"], [64, 64])
save("fixed_input_model", FixedInput(), ["a", "b"], [224, 224])
save("three_outputs", ThreeOutputs(), ["a", "b"], [64, 64])
print("bad models written to", out)
