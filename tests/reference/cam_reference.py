"""Independent reference implementation of Lucida's CAM methods (PyTorch, CPU).

Written from pytorch-grad-cam's formulas, not from Lucida's C++: the C++ tests compare against maps
made here. Conventions are in README.md beside this file. Everything is importable; the data are
written by make_cam_reference.py.

Terms: A = target-layer activations [B, C, h, w]; G = dS/dA; S = the explained class's score, which
is its logit for softmax models. A one-logit (sigmoid) model explains class 1 with the logit and
class 0 with the negated logit (sign = -1).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

METHODS = ["cam", "gradcam", "gradcam++", "xgradcam", "hirescam", "layercam", "eigencam", "scorecam"]
GRADIENT_METHODS = {"gradcam", "gradcam++", "xgradcam", "hirescam", "layercam"}
SCORECAM_BATCH = 64  # masked inputs per forward


class SmallCnn(nn.Module):
    """The kind of CNN people train for MRI or dermoscopy images: 4 conv-BN-ReLU-maxpool blocks, global
    average pool, one logit (trained with BCEWithLogits). Target layer: "features.3"."""

    def __init__(self):
        super().__init__()
        channels = [3, 16, 32, 64, 128]
        self.features = nn.Sequential(*[
            nn.Sequential(
                nn.Conv2d(channels[i], channels[i + 1], kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(channels[i + 1]),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2))
            for i in range(4)])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(128, 1)

    def forward(self, x):
        return self.classifier(self.flatten(self.pool(self.features(x))))


# name -> how the reference models are built and described (sidecar fields). extra_layers: earlier
# target layers, where the gradient varies over space (at the GAP input it does not, and Grad-CAM,
# XGrad-CAM and HiRes-CAM coincide); CAM is not defined there.
MODEL_SPECS = {
    "resnet18": dict(seed=18, input_size=[224, 224], target_layer="layer4", output="softmax",
                     extra_layers=["layer3"],
                     classes=["tumour", "stroma", "background"],
                     mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    "resnet50": dict(seed=50, input_size=[224, 224], target_layer="layer4", output="softmax",
                     classes=["tumour", "stroma", "background"],
                     mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    # ResNet-50 at 64 x 64 (layer4: 2 x 2 cells), with layer2 (512 channels, 8 x 8) as well: Score-CAM
    # on a ResNet-50 at a price CI can pay (512 forwards of a 64 x 64 image; see make_cam_reference.py).
    "resnet50_64": dict(seed=51, input_size=[64, 64], target_layer="layer4", output="softmax",
                        extra_layers=["layer2"],
                        classes=["tumour", "stroma", "background"],
                        mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    # ResNet-18 with a one-logit head scaled down (as a breast-cancer classifier trained with
    # BCEWithLogits ends up): layer4 gradients ~1e-4, where an epsilon in Grad-CAM++'s alpha dominates.
    "resnet18_onelogit": dict(seed=19, input_size=[224, 224], target_layer="layer4", output="sigmoid",
                              head_scale=0.1, classes=["benign", "malignant"],
                              mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    # Not ImageNet statistics on purpose, so a test notices a sidecar that is ignored.
    "smallcnn": dict(seed=7, input_size=[128, 128], target_layer="features.3", output="sigmoid",
                     extra_layers=["features.2"],
                     classes=["benign", "malignant"],
                     mean=[0.6, 0.45, 0.7], std=[0.2, 0.25, 0.15]),
}


def _randomise_batch_norm(model, seed, input_size):
    """Non-trivial BN: random affine parameters and running statistics from a few train-mode forwards
    (cumulative average, so eval-mode activations stay of sensible size)."""
    gen = torch.Generator().manual_seed(seed + 1000)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(0.5 + torch.rand(bn.weight.shape, generator=gen))
            bn.bias.copy_(0.1 * torch.randn(bn.bias.shape, generator=gen))
            bn.reset_running_stats()
            bn.momentum = None
        model.train()
        for _ in range(3):
            model(torch.randn(4, 3, *input_size, generator=gen) * 0.8 + 0.1)
        for bn in bns:
            bn.momentum = 0.1
    model.eval()


def build_model(name):
    """The eager model, in eval mode, with fixed random weights."""
    spec = MODEL_SPECS[name]
    torch.manual_seed(spec["seed"])
    if name == "resnet18":
        model = torchvision.models.resnet18(weights=None)
        model.fc = nn.Linear(512, 3)
    elif name == "resnet18_onelogit":
        model = torchvision.models.resnet18(weights=None)
        model.fc = nn.Linear(512, 1)
        with torch.no_grad():
            model.fc.weight.mul_(spec["head_scale"])
            model.fc.bias.mul_(spec["head_scale"])
    elif name in ("resnet50", "resnet50_64"):
        model = torchvision.models.resnet50(weights=None)
        model.fc = nn.Linear(2048, 3)
    elif name == "smallcnn":
        model = SmallCnn()
    else:
        raise ValueError(f"unknown model {name}")
    _randomise_batch_norm(model, spec["seed"], spec["input_size"])
    return model


def linear_head_weights(name, model):
    """[K, C] weights of the final GAP + linear head."""
    return (model.classifier if name == "smallcnn" else model.fc).weight.detach()


# --- split at a target layer, by attribute names (works for eager, traced and scripted modules) ---

RESNET_STAGES = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]


def _stages(name, module):
    """(dotted name, callable) of the feature stages, in order, up to the global pool."""
    if name == "smallcnn":
        return [(f"features.{i}", getattr(module.features, str(i))) for i in range(4)]
    return [(part, getattr(module, part)) for part in RESNET_STAGES]


def _split_index(name, module, layer):
    names = [n for n, _ in _stages(name, module)]
    if layer not in names:
        raise ValueError(f"{name}: cannot split at {layer!r}; known: {names}")
    return names.index(layer) + 1


def head_of(name, module, x, layer):
    """Input -> activations at `layer`, without hooks (used on the TorchScript files)."""
    stages = _stages(name, module)
    for _, stage in stages[:_split_index(name, module, layer)]:
        x = stage(x)
    return x


def tail_of(name, module, a, layer):
    """Activations at `layer` -> logits."""
    stages = _stages(name, module)
    for _, stage in stages[_split_index(name, module, layer):]:
        a = stage(a)
    if name == "smallcnn":
        return module.classifier(module.flatten(module.pool(a)))
    return module.fc(torch.flatten(module.avgpool(a), 1))


# --- classes and scores ---

def is_sigmoid(logits):
    return logits.shape[1] == 1


def probabilities(logits):
    """[B, K] probabilities; for one logit, [1 - sigmoid, sigmoid] (classes {negative, positive})."""
    if is_sigmoid(logits):
        p = torch.sigmoid(logits)
        return torch.cat([1 - p, p], dim=1)
    return torch.softmax(logits, dim=1)


def resolve_classes(logits, requested):
    """Explained class per image ([B] long) and the sign of the score ([B] float, +1 or -1).
    requested: "auto" (argmax of probabilities; sigmoid: 1 if sigmoid(logit) >= 0.5) or an int."""
    b = logits.shape[0]
    if requested == "auto":
        if is_sigmoid(logits):
            classes = (logits[:, 0] >= 0).long()  # sigmoid(z) >= 0.5  <=>  z >= 0
        else:
            classes = logits.argmax(dim=1)
    else:
        classes = torch.full((b,), int(requested), dtype=torch.long)
    if is_sigmoid(logits):
        signs = torch.where(classes == 1, 1.0, -1.0)
    else:
        signs = torch.ones(b)
    return classes, signs


def class_scores(logits, classes, signs):
    """S per image: the class's logit; the (negated for class 0) single logit of a sigmoid model."""
    if is_sigmoid(logits):
        return signs.to(logits.dtype) * logits[:, 0]
    return logits.gather(1, classes[:, None])[:, 0]


# --- activations and gradients ---

def activations_and_gradients_hooked(model, layer, x, requested):
    """A and G with a forward hook on `layer` (dotted path) of an eager model, G by autograd.grad."""
    store = {}
    handle = model.get_submodule(layer).register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
    try:
        # Parameters may be frozen: let autograd start at the input so that A is in the graph.
        logits = model(x.detach().requires_grad_(True))
    finally:
        handle.remove()
    a = store["a"]
    classes, signs = resolve_classes(logits.detach(), requested)
    scores = class_scores(logits, classes, signs)
    # Images are independent in eval mode: the gradient of the sum is each image's own gradient.
    (g,) = torch.autograd.grad(scores.sum(), a)
    return a.detach(), g.detach(), logits.detach(), classes, signs


def activations_and_gradients_split(name, module, layer, x, requested):
    """A and G through head_of/tail_of (no hooks): for traced and scripted modules."""
    with torch.no_grad():
        a = head_of(name, module, x, layer)
    a = a.detach().requires_grad_(True)
    logits = tail_of(name, module, a, layer)
    classes, signs = resolve_classes(logits.detach(), requested)
    scores = class_scores(logits, classes, signs)
    (g,) = torch.autograd.grad(scores.sum(), a)
    return a.detach(), g.detach(), logits.detach(), classes, signs


# --- the methods: weights / maps in float64, a ReLU at the end (pytorch-grad-cam's BaseCAM) ---

def _weighted_sum(w, a):
    """relu(sum_k w_k A_k): w [B, C], a [B, C, h, w] -> [B, h, w]."""
    return torch.relu((w[:, :, None, None] * a).sum(dim=1))


def cam(a, linear_weights, classes, signs):
    # A one-logit head has one row, whichever class is explained; class 0 negates it.
    rows = torch.zeros_like(classes) if linear_weights.shape[0] == 1 else classes
    w = linear_weights.double()[rows] * signs.double()[:, None]
    return _weighted_sum(w, a.double())


def gradcam(a, g):
    return _weighted_sum(g.double().mean(dim=(2, 3)), a.double())


def gradcam_plus_plus(a, g):
    """Exact Grad-CAM++: alpha = G^2 / (2 G^2 + sum_hw A * G^3) with no epsilon, in float64; written
    as that quotient (not Lucida's simplified 1 / (2 + sum A * G)) so the two are independent."""
    a, g = a.double(), g.double()
    g2 = g * g
    g3 = g2 * g
    sum_a = a.sum(dim=(2, 3))[:, :, None, None]
    denominator = 2 * g2 + sum_a * g3
    use = (g > 0) & (denominator != 0)
    alpha = torch.where(use, g2 / torch.where(use, denominator, torch.ones_like(denominator)),
                        torch.zeros_like(g))
    w = (torch.relu(g) * alpha).sum(dim=(2, 3))
    return _weighted_sum(w, a)


def gradcam_plus_plus_with_epsilon(a, g, epsilon):
    """Grad-CAM++ as pytorch-grad-cam computes it (epsilon 1e-6 there, 1e-7 in Lucida before issue 17):
    only to show, in the self-checks, that the reference tells the exact form from this one."""
    a, g = a.double(), g.double()
    g2 = g * g
    sum_a = a.sum(dim=(2, 3))[:, :, None, None]
    alpha = g2 / (2 * g2 + sum_a * g2 * g + epsilon)
    alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))
    return _weighted_sum((torch.relu(g) * alpha).sum(dim=(2, 3)), a)


def xgradcam(a, g):
    a, g = a.double(), g.double()
    w = (g * a).sum(dim=(2, 3)) / (a.sum(dim=(2, 3)) + 1e-7)
    return _weighted_sum(w, a)


def hirescam(a, g):
    return torch.relu((g.double() * a.double()).sum(dim=1))


def layercam(a, g):
    return torch.relu((torch.relu(g.double()) * a.double()).sum(dim=1))


def eigencam(a):
    """First principal component of the centred [h*w, C] activations, signed to correlate positively
    with the channel sum of A (the SVD's sign is arbitrary)."""
    a = a.double()
    b, c, h, w = a.shape
    maps = []
    for i in range(b):
        r = a[i].reshape(c, h * w).T
        r = r - r.mean(dim=0)
        _, _, vt = torch.linalg.svd(r, full_matrices=False)
        p = r @ vt[0]
        if (p * a[i].sum(dim=0).reshape(-1)).sum() < 0:
            p = -p
        maps.append(torch.relu(p).reshape(h, w))
    return torch.stack(maps)


def scorecam_channel_logits(forward, a, x, batch=SCORECAM_BATCH):
    """Logits [B, C, K] of the model on the input masked by each upsampled, min-max normalised channel.
    Computed once and shared by every explained class."""
    b, c = a.shape[:2]
    out = []
    with torch.no_grad():
        up = F.interpolate(a.float(), size=x.shape[-2:], mode="bilinear", align_corners=False)
        flat = up.reshape(b, c, -1)
        lo = flat.min(dim=2).values[:, :, None, None]
        hi = flat.max(dim=2).values[:, :, None, None]
        span = hi - lo
        masks = torch.where(span > 0, (up - lo) / torch.where(span > 0, span, torch.ones_like(span)),
                            torch.zeros_like(up))
        for i in range(b):
            rows = []
            for start in range(0, c, batch):
                m = masks[i, start:start + batch]  # [n, H, W]
                rows.append(forward(x[i][None] * m[:, None]))
            out.append(torch.cat(rows))
    return torch.stack(out)


def scorecam(a, channel_logits, classes, signs):
    """w = softmax over channels of the masked-input scores; map = relu(sum_k w_k A_k)."""
    cl = channel_logits.double()
    if cl.shape[2] == 1:
        s = cl[:, :, 0] * signs.double()[:, None]
    else:
        s = cl[torch.arange(cl.shape[0]), :, classes]
    return _weighted_sum(torch.softmax(s, dim=1), a.double())


def compute_map(method, a, g, classes, signs, linear_weights=None, channel_logits=None):
    """Raw map [B, h, w] (float64) for one method."""
    if method == "cam":
        return cam(a, linear_weights, classes, signs)
    if method == "gradcam":
        return gradcam(a, g)
    if method == "gradcam++":
        return gradcam_plus_plus(a, g)
    if method == "xgradcam":
        return xgradcam(a, g)
    if method == "hirescam":
        return hirescam(a, g)
    if method == "layercam":
        return layercam(a, g)
    if method == "eigencam":
        return eigencam(a)
    if method == "scorecam":
        return scorecam(a, channel_logits, classes, signs)
    raise ValueError(f"unknown method {method}")
