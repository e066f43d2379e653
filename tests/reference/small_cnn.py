"""Lucida's small CNN (core/model/SmallCnn.cpp) in PyTorch: the same modules, names and forward."""

import torch
from torch import nn
from torch.nn import functional as F

CHANNELS = [3, 16, 32, 64, 128]


class SmallCnn(nn.Module):
    def __init__(self, outputs):
        super().__init__()
        for i in range(4):
            setattr(self, f"block{i + 1}", nn.Sequential(
                nn.Conv2d(CHANNELS[i], CHANNELS[i + 1], 3, padding=1, bias=False),
                nn.BatchNorm2d(CHANNELS[i + 1]),
                nn.ReLU()))
        self.fc = nn.Linear(CHANNELS[4], outputs)

    def forward(self, x):
        x = self.block1(x)
        x = self.block2(F.max_pool2d(x, 2))
        x = self.block3(F.max_pool2d(x, 2))
        x = self.block4(F.max_pool2d(x, 2))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
