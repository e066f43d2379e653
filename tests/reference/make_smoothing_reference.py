"""Reference maps for Lucida's CAM smoothing (eigen smoothing, test-time flips), float64.

    /usr/bin/python3 tests/reference/make_smoothing_reference.py OUTDIR

Runs after make_cam_reference.py (it reads <model>.input.f32 there and rebuilds the same eager models
from their seeds). Writes smoothing.json and smoothing.*.map.f32 (raw little-endian float32 [N, h, w]).

Eigen smoothing, as pytorch-grad-cam's get_2d_projection: the method's per-channel terms T [C, h, w]
(w_k A_k, or G * A for HiRes-CAM / LayerCAM) as [h*w, C], centred per channel, projected on the first
right-singular vector (numpy SVD, float64); sign chosen so that the projection correlates positively
with sum_k T_k (pytorch-grad-cam leaves the sign to LAPACK); then a ReLU.
Flips: the map of the image and of its left-right, top-bottom and both flips, each flipped back, mean;
every flip explains the class the unflipped image explained.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cam_reference as ref  # noqa: E402

# (model, layer, methods with eigen smoothing, methods with flips, classes)
CASES = [
    ("smallcnn", "features.3", ["cam", "gradcam", "gradcam++", "xgradcam", "hirescam", "layercam",
                                "scorecam"], ["gradcam", "gradcam++", "hirescam", "layercam", "eigencam"],
     ["auto", 0]),
    ("smallcnn", "features.2", ["gradcam", "gradcam++", "hirescam"], ["gradcam++"], ["auto"]),
    ("resnet18", "layer4", ["cam", "gradcam", "gradcam++", "layercam"], ["gradcam", "gradcam++"], ["auto", 2]),
    ("resnet18", "layer3", ["gradcam++", "hirescam"], ["layercam"], ["auto"]),
]
# Eigen smoothing is only reproducible where the first principal component is well separated.
MIN_SINGULAR_RATIO = 1.05


def read_f32(path, shape):
    return torch.from_numpy(np.fromfile(path, dtype="<f4").reshape(shape))


def contributions(method, a, g, classes, signs, head, channel_logits=None):
    """Per-channel terms [B, C, h, w] (float64) whose channel sum is the method's map before its ReLU."""
    a, g = a.double(), (g.double() if g is not None else None)
    if method == "cam":
        rows = torch.zeros_like(classes) if head.shape[0] == 1 else classes
        w = head.double()[rows] * signs.double()[:, None]
    elif method == "gradcam":
        w = g.mean(dim=(2, 3))
    elif method == "gradcam++":
        sum_a = a.sum(dim=(2, 3), keepdim=True)
        den = 2 * g * g + sum_a * g ** 3
        use = (g > 0) & (den != 0)
        alpha = torch.where(use, g * g / torch.where(use, den, torch.ones_like(den)), torch.zeros_like(g))
        w = (torch.relu(g) * alpha).sum(dim=(2, 3))
    elif method == "xgradcam":
        w = (g * a).sum(dim=(2, 3)) / (a.sum(dim=(2, 3)) + 1e-7)
    elif method == "hirescam":
        return g * a
    elif method == "layercam":
        return torch.relu(g) * a
    elif method == "scorecam":
        cl = channel_logits.double()
        s = cl[:, :, 0] * signs.double()[:, None] if cl.shape[2] == 1 else cl[torch.arange(cl.shape[0]), :, classes]
        w = torch.softmax(s, dim=1)
    else:
        raise ValueError(method)
    return w[:, :, None, None] * a


def project(terms):
    """Eigen smoothing of [B, C, h, w] terms -> [B, h, w] and the smallest s0/s1 seen."""
    out, ratio = [], float("inf")
    for t in terms.numpy():
        c, h, w = t.shape
        r = t.reshape(c, h * w).T
        r = r - r.mean(axis=0)
        _, s, vt = np.linalg.svd(r, full_matrices=False)
        ratio = min(ratio, s[0] / max(s[1], 1e-300) if len(s) > 1 else float("inf"))
        p = r @ vt[0]
        if (p * t.sum(axis=0).reshape(-1)).sum() < 0:
            p = -p
        out.append(np.maximum(p, 0).reshape(h, w))
    return torch.from_numpy(np.stack(out)), ratio


def grads_for(model, layer, x, classes, signs):
    """A and G with the given per-image classes (the hooked eager model)."""
    store = {}
    handle = model.get_submodule(layer).register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
    try:
        logits = model(x.detach().requires_grad_(True))
    finally:
        handle.remove()
    (g,) = torch.autograd.grad(ref.class_scores(logits, classes, signs).sum(), store["a"])
    return store["a"].detach(), g.detach()


def plain_map(method, model, name, layer, x, classes, signs, head, eigen):
    a, g = grads_for(model, layer, x, classes, signs)
    if method == "eigencam":
        return ref.eigencam(a), float("inf")
    cl = ref.scorecam_channel_logits(model, a, x) if method == "scorecam" else None
    terms = contributions(method, a, g, classes, signs, head, cl)
    if eigen:
        return project(terms)
    return torch.relu(terms.sum(dim=1)), float("inf")


def flipped_mean(method, model, name, layer, x, classes, signs, head):
    total = None
    for dims in [[], [3], [2], [2, 3]]:
        xf = torch.flip(x, dims) if dims else x
        m, _ = plain_map(method, model, name, layer, xf, classes, signs, head, eigen=False)
        m = torch.flip(m, [d - 1 for d in dims]) if dims else m
        total = m if total is None else total + m
    return total / 4


def main():
    outdir = sys.argv[1]
    torch.set_num_threads(2)
    entries, notes, failures = [], [], []
    models = {}
    for name, layer, eigen_methods, flip_methods, requests in CASES:
        if name not in models:
            model = ref.build_model(name)
            for p in model.parameters():
                p.requires_grad_(False)
            models[name] = model
        model = models[name]
        spec = ref.MODEL_SPECS[name]
        x = read_f32(os.path.join(outdir, f"{name}.input.f32"), [2, 3, *spec["input_size"]])
        head = ref.linear_head_weights(name, model)
        with torch.no_grad():
            logits = model(x)
        jobs = [(m, "eigen") for m in eigen_methods] + [(m, "flips") for m in flip_methods]
        for requested in requests:
            classes, signs = ref.resolve_classes(logits, requested)
            for method, kind in jobs:
                if method == "cam" and layer != spec["target_layer"]:
                    continue
                if kind == "eigen":
                    m, ratio = plain_map(method, model, name, layer, x, classes, signs, head, eigen=True)
                    plain, _ = plain_map(method, model, name, layer, x, classes, signs, head, eigen=False)
                    if ratio < MIN_SINGULAR_RATIO:
                        notes.append(f"{name} {layer} {method} {requested}: s0/s1 {ratio:.3f}, left out")
                        continue
                else:
                    m = flipped_mean(method, model, name, layer, x, classes, signs, head)
                    plain, _ = plain_map(method, model, name, layer, x, classes, signs, head, eigen=False)
                # A smoothing that changes nothing would make a test that cannot fail.
                change = float((m - plain).abs().max() / max(float(plain.abs().max()), 1e-30))
                if change < 1e-3:
                    failures.append(f"{name} {layer} {method} {kind} {requested}: smoothing changes only {change:.2g}")
                map_file = f"smoothing.{name}.{layer}.{method}.{kind}.{requested}.map.f32"
                arr = np.ascontiguousarray(m.numpy().astype("<f4"))
                arr.tofile(os.path.join(outdir, map_file))
                entries.append({"model_file": f"{name}.traced.pt", "input_file": f"{name}.input.f32",
                                "input_shape": [2, 3, *spec["input_size"]], "layer": layer, "method": method,
                                "smoothing": kind, "class": requested, "explained_class": classes.tolist(),
                                "map_file": map_file, "map_shape": list(arr.shape),
                                "change_from_unsmoothed": change})
    with open(os.path.join(outdir, "smoothing.json.tmp"), "w") as f:
        json.dump({"generator": "tests/reference/make_smoothing_reference.py", "entries": entries,
                   "notes": notes}, f, indent=1)
    os.replace(os.path.join(outdir, "smoothing.json.tmp"), os.path.join(outdir, "smoothing.json"))
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)
    print(f"smoothing reference: {len(entries)} entries, {len(notes)} left out -> {outdir}")


if __name__ == "__main__":
    main()
