"""PyTorch's fastest CPU forward for ResNet-18 on this machine (issue 16), to set beside
forward_bench's figures for Lucida's engine: eager fp32, channels-last, and traced + frozen +
optimize_for_inference (oneDNN) with channels-last input; batch 16, threads = cores.
Usage: /usr/bin/python3 bench/forward_bench.py [--batch 16] [--rounds 8]
Prints one JSON line per path."""
import argparse
import json
import os
import time

import torch
import torchvision


def rate(call, x, batch, rounds):
    with torch.inference_mode():
        call(x)
        call(x)
        start = time.perf_counter()
        for _ in range(rounds):
            call(x)
        return batch * rounds / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(1)
    model = torchvision.models.resnet18(num_classes=2).eval()
    x = torch.randn(args.batch, 3, 224, 224)
    xcl = x.contiguous(memory_format=torch.channels_last)
    paths = {"eager": (model, x)}
    cl = torchvision.models.resnet18(num_classes=2).eval()
    cl.load_state_dict(model.state_dict())
    cl = cl.to(memory_format=torch.channels_last)
    paths["channels_last"] = (cl, xcl)
    with torch.no_grad():
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(cl, xcl)))
    paths["traced_frozen_optimised_channels_last"] = (frozen, xcl)
    for name, (m, inp) in paths.items():
        r = rate(m, inp, args.batch, args.rounds)
        print(json.dumps({"model": "resnet18", "framework": "pytorch " + torch.__version__,
                          "path": name, "batch": args.batch,
                          "threads": torch.get_num_threads(), "images_per_s": round(r, 2)}),
              flush=True)


if __name__ == "__main__":
    main()
