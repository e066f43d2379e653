#!/usr/bin/python3
"""PyTorch baseline for the training benchmark: the same model, data, batch, input size, optimizer
and threads as `lucida-cli train`, fed by torchvision's ImageFolder + DataLoader (PIL decoding in
worker processes). Prints training images/s over full epochs (after one warm-up epoch) as JSON.

Usage: train_bench.py DATA_DIR --model smallcnn|resnet18 --input-size N --batch N --epochs N
"""

import argparse
import json
import os
import sys
import time

import torch
import torchvision
from torchvision import transforms

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "reference"))
from small_cnn import SmallCnn  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("data")
p.add_argument("--model", default="smallcnn")
p.add_argument("--input-size", type=int, default=128)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--epochs", type=int, default=2)
p.add_argument("--workers", type=int, default=os.cpu_count())
a = p.parse_args()

torch.set_num_threads(os.cpu_count())
torch.manual_seed(42)
tf = transforms.Compose([
    transforms.Resize((a.input_size, a.input_size)),
    transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
data = torchvision.datasets.ImageFolder(a.data, transform=tf)
loader = torch.utils.data.DataLoader(data, batch_size=a.batch, shuffle=True,
                                     num_workers=a.workers, persistent_workers=True)
model = SmallCnn(1) if a.model == "smallcnn" else torchvision.models.resnet18(num_classes=1)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
model.train()
rates = []
for epoch in range(a.epochs + 1):  # epoch 0 warms up
    start, seen = time.perf_counter(), 0
    for x, y in loader:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            model(x), y.float().unsqueeze(1))
        loss.backward()
        opt.step()
        seen += len(y)
    if epoch > 0:
        rates.append(seen / (time.perf_counter() - start))
print(json.dumps({"images_per_second": sum(rates) / len(rates), "epochs": rates,
                  "torch": torch.__version__, "threads": torch.get_num_threads(),
                  "workers": a.workers}))
