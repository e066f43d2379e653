"""Writes the CAM reference data the C++ tests compare against.

    /usr/bin/python3 tests/reference/make_cam_reference.py OUTDIR IHC_PNG [--models resnet18,...] [--fast]

OUTDIR gets, per model: <m>.traced.pt/.json, <m>.scripted.pt/.json, <m>.input.f32 (N,3,H,W),
<m>.logits.f32 (N,K), <m>.probs.f32 (N,classes), <m>.<method>.<class>.map.f32 (N,h,w); and index.json.
All arrays raw little-endian float32, C order. Files are overwritten. See README.md.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cam_reference as ref  # noqa: E402

# Two crops of ihc.png (512 x 512), (left, top, right, bottom), resized to the model's input size.
CROPS = [(0, 0, 320, 320), (192, 160, 448, 416)]
# Explicit classes explained besides "auto": 1 and 2 of the multi-class models (2 so that a model whose
# "auto" is 1 for both images still shows a class that is ignored), the negative class (negated
# logit) of the one-logit model.
EXPLICIT_CLASSES = {"softmax": [1, 2], "sigmoid": [0]}
TOLERANCE = 1e-5  # relative to the map's maximum


def write_f32(path, tensor):
    arr = np.ascontiguousarray(tensor.detach().cpu().numpy().astype("<f4"))
    arr.tofile(path)
    return list(arr.shape)


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def make_input(ihc_png, spec):
    h, w = spec["input_size"]
    image = Image.open(ihc_png).convert("RGB")
    mean = np.array(spec["mean"], dtype=np.float32)[:, None, None]
    std = np.array(spec["std"], dtype=np.float32)[:, None, None]
    batch = []
    for box in CROPS:
        crop = np.asarray(image.crop(box).resize((w, h), Image.BILINEAR), dtype=np.float32) / 255.0
        batch.append((crop.transpose(2, 0, 1) - mean) / std)
    return torch.from_numpy(np.stack(batch).astype(np.float32))


def relative_difference(x, y):
    scale = max(float(x.abs().max()), float(y.abs().max()), 1e-30)
    return float((x.double() - y.double()).abs().max()) / scale


def check(what, x, y, failures, tolerance=TOLERANCE):
    d = relative_difference(x, y)
    if not d <= tolerance:
        failures.append(f"{what}: relative difference {d:.3g} > {tolerance:g}")
    return d


FAST = False  # --fast: Score-CAM for the small CNN only

# Score-CAM on a ResNet is one full forward per channel and image, in the C++ test as in this script:
# there it is computed for the first image only (its own one-image input file) and checked in one
# (variant, class) entry per model: resnet18 at layer4, resnet50_64 at layer2. Other models: every
# image, variant and class.
SCORECAM_ENTRIES = {"resnet18": {("traced", "auto")}, "resnet50_64": {("scripted", "auto")}}


def skip_reason(name, layer, default_layer, method):
    """Why a (model, layer, method) has no reference map, or None."""
    if method == "scorecam" and FAST and name != "smallcnn":
        return "--fast: Score-CAM for the small CNN only"
    if method == "cam" and not default_layer:
        return "CAM needs the global-average-pool input (the last block)"
    if method == "scorecam" and name == "resnet18_onelogit":
        return "another 512 full forwards at 224x224: resnet18 and the small CNN cover Score-CAM"
    if method == "scorecam" and name == "resnet50":
        return "2048 full forwards per image at 224x224: too slow on a CPU (resnet50_64 checks it at layer2)"
    if method == "scorecam" and name == "resnet50_64" and default_layer:
        return ("2048 forwards of a 64x64 image: ~100 s of CPU on 2 shared cores, here and again in the C++ "
                "test; ResNet-50 Score-CAM is checked at layer2 (512 channels)")
    if method == "scorecam" and name.startswith("resnet") and not default_layer and name != "resnet50_64":
        return "another 2 x 256 full forwards at 224x224: kept out for time (the small CNN covers it)"
    return None


# Models on which an epsilon in Grad-CAM++'s alpha must visibly change the map (gradients ~1e-4), so
# that the reference tells the exact form from the old one: the smallest relative difference required.
EPSILON_SENSITIVE = {"resnet18_onelogit": 0.05}


def epsilon_check(name, what, a, g, exact, differences, failures):
    """Records how far the epsilon forms (1e-7: Lucida before issue 17; 1e-6: pytorch-grad-cam) are from
    the exact map; on EPSILON_SENSITIVE models they must differ, and the gradients must be small."""
    for epsilon in (1e-7, 1e-6):
        d = relative_difference(ref.gradcam_plus_plus_with_epsilon(a, g, epsilon), exact)
        differences[f"{what} eps {epsilon:g}"] = d
        if name in EPSILON_SENSITIVE and d < EPSILON_SENSITIVE[name]:
            failures.append(f"{what}: epsilon {epsilon:g} changes Grad-CAM++ by only {d:.3g}: weak reference")
    if name in EPSILON_SENSITIVE and float(g.abs().max()) > 1e-3:
        failures.append(f"{what}: gradients up to {float(g.abs().max()):.3g}, not ~1e-4")


def process_model(name, outdir, ihc_png, failures, notes, skipped):
    spec = ref.MODEL_SPECS[name]
    model = ref.build_model(name)
    for p in model.parameters():
        p.requires_grad_(False)
    h, w = spec["input_size"]

    # Model files and sidecars.
    sidecar = {"architecture": "torchscript", "classes": spec["classes"], "input_size": [h, w],
               "mean": spec["mean"], "std": spec["std"], "target_layer": spec["target_layer"],
               "output": spec["output"]}
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.zeros(1, 3, h, w))
    scripted = torch.jit.script(model)
    variants = {}
    for variant, module in [("traced", traced), ("scripted", scripted)]:
        model_file = f"{name}.{variant}.pt"
        module.save(os.path.join(outdir, model_file))
        write_json(os.path.join(outdir, f"{name}.{variant}.json"), sidecar)
        loaded = torch.jit.load(os.path.join(outdir, model_file))
        loaded.eval()
        variants[variant] = loaded

    x = make_input(ihc_png, spec)
    input_shape = write_f32(os.path.join(outdir, f"{name}.input.f32"), x)
    # Score-CAM's images: all, or the first one alone (SCORECAM_ENTRIES).
    score_images = 1 if name in SCORECAM_ENTRIES else x.shape[0]
    if score_images < x.shape[0]:
        score_input_file = f"{name}.input{score_images}.f32"
        score_input_shape = write_f32(os.path.join(outdir, score_input_file), x[:score_images])
    else:
        score_input_file, score_input_shape = f"{name}.input.f32", input_shape

    with torch.no_grad():
        logits = model(x)
        for variant, module in variants.items():
            check(f"{name} {variant} logits", module(x), logits, failures)
    probs = ref.probabilities(logits)
    logits_shape = write_f32(os.path.join(outdir, f"{name}.logits.f32"), logits)
    probs_shape = write_f32(os.path.join(outdir, f"{name}.probs.f32"), probs)
    auto_classes, _ = ref.resolve_classes(logits, "auto")

    linear_weights = ref.linear_head_weights(name, model)
    entries = []
    max_differences = {}
    epsilon_differences = {}
    layers_done = {}
    for layer in [spec["target_layer"]] + spec.get("extra_layers", []):
        default_layer = layer == spec["target_layer"]
        methods = [m for m in ref.METHODS if skip_reason(name, layer, default_layer, m) is None]
        channel_logits = {}
        if "scorecam" in methods:
            xs = x[:score_images]
            a = ref.head_of(name, model, xs, layer).detach()
            channel_logits["eager"] = ref.scorecam_channel_logits(model, a, xs)
            if name == "smallcnn":  # cheap enough to run through both TorchScript files as well
                for variant, module in variants.items():
                    channel_logits[variant] = ref.scorecam_channel_logits(module, a, xs)
        # Map files: <model>.<method>.<class>.map.f32 at the sidecar's layer, <model>.<layer>.<method>…
        # at the others.
        stem = name if default_layer else f"{name}.{layer}"
        for requested in ["auto"] + EXPLICIT_CLASSES[spec["output"]]:
            a, g, _, classes, signs = ref.activations_and_gradients_hooked(model, layer, x, requested)
            hw = a.shape[2] * a.shape[3]
            split = {v: ref.activations_and_gradients_split(name, m, layer, x, requested) for v, m in variants.items()}
            maps = {}
            for method in methods:
                # Score-CAM may cover the first images only (score_images).
                n = score_images if method == "scorecam" else x.shape[0]
                m = ref.compute_map(method, a[:n], g[:n], classes[:n], signs[:n], linear_weights,
                                    channel_logits.get("eager"))
                maps[method] = m
                what = f"{name} {layer} {method} class {requested}"
                for variant, (va, vg, _, vc, vs) in split.items():
                    vcl = channel_logits.get(variant, channel_logits.get("eager"))
                    vm = ref.compute_map(method, va[:n], vg[:n], vc[:n], vs[:n], linear_weights, vcl)
                    max_differences[f"{variant} {what}"] = check(f"{variant} {what}", vm, m, failures)
                if not torch.isfinite(m).all():
                    failures.append(f"{what}: non-finite map")
                if float(m.max()) <= 0:
                    notes.append(f"{what}: map is all zero")
                map_file = f"{stem}.{method}.{requested}.map.f32"
                map_shape = write_f32(os.path.join(outdir, map_file), m)
                for variant in variants:
                    if method == "scorecam" and name in SCORECAM_ENTRIES and \
                            (variant, requested) not in SCORECAM_ENTRIES[name]:
                        continue
                    scored = method == "scorecam"
                    entries.append({
                        "model": name, "variant": variant, "model_file": f"{name}.{variant}.pt",
                        "sidecar": f"{name}.{variant}.json",
                        "input_file": score_input_file if scored else f"{name}.input.f32",
                        "input_shape": score_input_shape if scored else input_shape,
                        "method": method, "class": requested,
                        "explained_class": classes[:n].tolist(), "class_sign": signs[:n].tolist(),
                        "layer": layer, "map_file": map_file, "map_shape": map_shape,
                        # Near-empty maps (ReLU of a mostly negative sum) are sensitive to rounding.
                        "map_max": float(m.max()), "map_nonzero_fraction": float((m > 0).double().mean()),
                        "logits_file": f"{name}.logits.f32", "logits_shape": logits_shape})
            if "gradcam++" in maps:
                epsilon_check(name, f"{name} {layer} class {requested}", a, g, maps["gradcam++"],
                              epsilon_differences, failures)
            if default_layer:
                # GAP + linear head: CAM = Grad-CAM x (h*w), for any class and sign.
                check(f"{name} cam vs gradcam*hw class {requested}", maps["cam"], maps["gradcam"] * hw, failures)
            else:
                # Below the last block the gradient varies over space: the methods must differ.
                if relative_difference(maps["gradcam"], maps["hirescam"]) < 1e-3:
                    failures.append(f"{name} {layer} class {requested}: gradcam == hirescam, weak reference")
        layers_done[layer] = {"activation_shape": list(a.shape[1:]), "methods": methods}
        for method in ref.METHODS:
            why = skip_reason(name, layer, default_layer, method)
            if why is not None:
                skipped.append({"model": name, "layer": layer, "method": method, "reason": why})

    summary = {
        "classes": spec["classes"], "output": spec["output"], "input_file": f"{name}.input.f32",
        "input_shape": input_shape, "crops": [list(c) for c in CROPS], "target_layer": spec["target_layer"],
        "layers": layers_done, "logits": logits.tolist(), "logits_shape": logits_shape,
        "probabilities": probs.tolist(), "probs_file": f"{name}.probs.f32", "probs_shape": probs_shape,
        "predicted": auto_classes.tolist(),
        "max_relative_difference_torchscript_vs_eager": max(max_differences.values()),
        # How far Grad-CAM++ with an epsilon in alpha (pytorch-grad-cam: 1e-6) is from the exact maps.
        "gradcampp_epsilon_relative_difference": epsilon_differences,
    }
    return summary, entries


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("ihc_png")
    parser.add_argument("--models", default=",".join(ref.MODEL_SPECS))
    parser.add_argument("--fast", action="store_true",
                        help="Score-CAM for the small CNN only (resnet18's 1024 forwards are most of the time)")
    args = parser.parse_args()
    global FAST
    FAST = args.fast
    torch.set_num_threads(2)
    os.makedirs(args.outdir, exist_ok=True)
    start = time.time()
    failures, notes, skipped = [], [], []
    index = {"generator": "tests/reference/make_cam_reference.py", "torch": torch.__version__,
             "methods": ref.METHODS, "format": "raw little-endian float32, C order",
             "models": {}, "entries": [], "skipped": [], "tolerance": TOLERANCE}
    for name in args.models.split(","):
        summary, entries = process_model(name, args.outdir, args.ihc_png, failures, notes, skipped)
        index["models"][name] = summary
        index["entries"] += entries
    index["skipped"] = skipped
    index["notes"] = notes
    write_json(os.path.join(args.outdir, "index.json"), index)
    elapsed = time.time() - start
    if failures:
        print("\n".join(failures), file=sys.stderr)
        print(f"cam reference: FAILED {len(failures)} checks ({elapsed:.0f} s)")
        sys.exit(1)
    print(f"cam reference: {len(index['models'])} models, {len(index['entries'])} entries, "
          f"{len(index['skipped'])} skipped, checks passed, {elapsed:.0f} s -> {args.outdir}")


if __name__ == "__main__":
    main()
