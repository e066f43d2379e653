"""Writes TorchScript models for dense mode's graph reading (core/model/TorchScriptGeometry):

    /usr/bin/python3 tests/reference/make_dense_models.py OUTDIR

OUTDIR gets <name>.traced.pt and <name>.scripted.pt with sidecars (<name>.<variant>.json) for:
  dense_branchy  stem (5x5, stride 2), three branches joined by channel concatenation (3x3 dilated
                 2, 3x3 average pool + 1x1, a 1x5 kernel with padding="same"), 2x2 max pool and a
                 3x3 convolution, global average pool + linear. Stride 4; a cell reaches 10 px
                 before and 12 after it (by hand in dense_cam_test), so a tile needs a 12-px halo
                 before and 9 after its last cell's box.
  dense_se       the same stem, then a squeeze-and-excitation block (a global average pool inside
                 the trunk): dense tiles would differ from patches, so dense mode must refuse it.
  dense_resize   a bilinear upsampling inside the trunk: refused too.
  dense_relu_tail  an in-place ReLU after the target layer, before the pooling (as torchvision's
                 DenseNet): the head is then more than global average pooling + a linear layer
                 (refused); patch mode's Grad-CAM must still run through it.
Random weights and non-trivial batch-norm statistics (seeded).
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def stem():
    return nn.Sequential(nn.Conv2d(3, 8, 5, stride=2, padding=2), nn.BatchNorm2d(8), nn.ReLU())


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = stem()
        self.dilated = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
        self.pooled = nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1), nn.Conv2d(8, 8, 1))
        self.wide = nn.Conv2d(8, 8, (1, 5), padding="same")
        self.down = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(24, 16, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(16, 2)

    def forward(self, x):
        x = self.stem(x)
        x = torch.cat([self.dilated(x), self.pooled(x), self.wide(x)], 1)
        x = self.down(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class SqueezeExcite(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, 4, 1)
        self.fc2 = nn.Conv2d(4, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))


class WithSe(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = stem()
        self.body = nn.Sequential(SqueezeExcite(8), nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.fc = nn.Linear(16, 2)

    def forward(self, x):
        x = self.body(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Resize(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = stem()
        self.body = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, 2)

    def forward(self, x):
        x = self.stem(x)
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        x = F.relu(self.body(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class ReluTail(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = stem()
        self.body = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16))
        self.fc = nn.Linear(16, 2)

    def forward(self, x):
        x = F.relu(self.body(self.stem(x)), inplace=True)  # in place, as DenseNet's
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


MODELS = {"dense_branchy": (Branchy, "down"), "dense_se": (WithSe, "body"), "dense_resize": (Resize, "body"),
          "dense_relu_tail": (ReluTail, "body")}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, (cls, layer) in MODELS.items():
        torch.manual_seed(23)
        model = cls().eval()
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.normal_(0, 0.1)
                    m.running_var.uniform_(0.5, 2.0)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_(0, 0.1)
            traced = torch.jit.trace(model, torch.zeros(1, 3, 64, 64))
        scripted = torch.jit.script(model)
        sidecar = {"architecture": "torchscript", "classes": ["normal", "tumour"], "input_size": [64, 64],
                   "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "target_layer": layer,
                   "output": "softmax"}
        for variant, module in [("traced", traced), ("scripted", scripted)]:
            module.save(os.path.join(out, f"{name}.{variant}.pt"))
            with open(os.path.join(out, f"{name}.{variant}.json"), "w") as f:
                json.dump(sidecar, f, indent=1)
    print(f"dense-mode TorchScript models written to {out}")


if __name__ == "__main__":
    main()
