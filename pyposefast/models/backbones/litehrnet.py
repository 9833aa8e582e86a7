"""Lite-HRNet (Yu et al., CVPR 2021): HRNet's parallel branches built from shuffle blocks with
conditional channel weighting. MMPose's ``LiteHRNet`` parameter names, so MMPose checkpoints load
without key mapping.

Input ``Tensor[B, 3, H, W]``; output a one-tuple: the stride-4 map (after the iterative head when
``with_head``), 40 channels for Lite-HRNet-18/30.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..layers import ConvModule, eval_batch_norms
from .shufflenet_v2 import ShuffleUnit, channel_shuffle

__all__ = ["SpatialWeighting", "CrossResolutionWeighting", "ConditionalChannelWeighting", "Stem", "IterativeHead",
           "LiteHRModule", "LiteHRNet", "litehrnet_extra", "litehrnet_18", "litehrnet_30"]


class SpatialWeighting(nn.Module):
    """Squeeze-excitation: global average pool -> 1x1 conv + ReLU -> 1x1 conv + sigmoid -> scale.
    Convs with bias, no norm (MMPose builds them without ``norm_cfg``)."""

    def __init__(self, channels: int, ratio: int = 16) -> None:
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = ConvModule(channels, int(channels / ratio), 1, norm=False, act="relu")
        self.conv2 = ConvModule(int(channels / ratio), channels, 1, norm=False, act=None)

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(self.conv2(self.conv1(self.global_avgpool(x))))


class CrossResolutionWeighting(nn.Module):
    """Weights for every branch from all branches pooled to the smallest size: concat -> 1x1 conv
    + BN + ReLU -> 1x1 conv + BN + sigmoid -> split, upsampled (nearest) onto each branch."""

    def __init__(self, channels: Sequence[int], ratio: int = 16) -> None:
        super().__init__()
        self.channels = list(channels)
        total = sum(self.channels)
        self.conv1 = ConvModule(total, int(total / ratio), 1, act="relu")
        self.conv2 = ConvModule(int(total / ratio), total, 1, act=None)

    def forward(self, x: list[Tensor]) -> list[Tensor]:
        mini_size = x[-1].shape[-2:]
        out = torch.cat([F.adaptive_avg_pool2d(s, mini_size) for s in x[:-1]] + [x[-1]], dim=1)
        out = torch.sigmoid(self.conv2(self.conv1(out)))
        return [s * F.interpolate(a, size=s.shape[-2:], mode="nearest")
                for s, a in zip(x, torch.split(out, self.channels, dim=1))]


class ConditionalChannelWeighting(nn.Module):
    """Lite-HRNet block on all branches: split each branch's channels in halves; the second half goes
    through cross-resolution weighting, a 3x3 depthwise conv and spatial weighting; concat, shuffle.

    Args:
        in_channels (Sequence[int]): channels of each branch.
        stride (int): 1 or 2, of the depthwise convs.
        reduce_ratio (int): channel reduction of the cross-resolution weighting.
    """

    def __init__(self, in_channels: Sequence[int], stride: int, reduce_ratio: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        branch = [c // 2 for c in in_channels]
        self.cross_resolution_weighting = CrossResolutionWeighting(branch, ratio=reduce_ratio)
        self.depthwise_convs = nn.ModuleList([ConvModule(c, c, 3, stride, 1, groups=c, act=None) for c in branch])
        self.spatial_weighting = nn.ModuleList([SpatialWeighting(c, ratio=4) for c in branch])

    def forward(self, x: list[Tensor]) -> list[Tensor]:
        halves = [s.chunk(2, dim=1) for s in x]
        x2 = self.cross_resolution_weighting([h[1] for h in halves])
        x2 = [sw(dw(s)) for s, dw, sw in zip(x2, self.depthwise_convs, self.spatial_weighting)]
        return [channel_shuffle(torch.cat([h[0], s], dim=1), 2) for h, s in zip(halves, x2)]


class Stem(nn.Module):
    """3x3 conv (stride 2), then a shuffle-style stride-2 block: one half through a depthwise conv
    and a 1x1 conv, the other through 1x1 expand -> 3x3 depthwise -> 1x1; concat, shuffle (stride 4).

    Args:
        in_channels (int), stem_channels (int), out_channels (int): channels.
        expand_ratio (float): mid channels of the expand branch = ``round(stem_channels * ratio)``.
    """

    def __init__(self, in_channels: int, stem_channels: int, out_channels: int, expand_ratio: float) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.conv1 = ConvModule(in_channels, stem_channels, 3, 2, 1)
        mid = int(round(stem_channels * expand_ratio))
        branch = stem_channels // 2
        inc = out_channels - branch if stem_channels == out_channels else out_channels - stem_channels
        self.branch1 = nn.Sequential(ConvModule(branch, branch, 3, 2, 1, groups=branch, act=None),
                                     ConvModule(branch, inc, 1))
        self.expand_conv = ConvModule(branch, mid, 1)
        self.depthwise_conv = ConvModule(mid, mid, 3, 2, 1, groups=mid, act=None)
        self.linear_conv = ConvModule(mid, branch if stem_channels == out_channels else stem_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = self.conv1(x).chunk(2, dim=1)
        x2 = self.linear_conv(self.depthwise_conv(self.expand_conv(x2)))
        return channel_shuffle(torch.cat((self.branch1(x1), x2), dim=1), 2)


class DepthwiseSeparableConv(nn.Module):
    """mmcv's ``DepthwiseSeparableConvModule`` as the iterative head uses it: 3x3 depthwise + BN
    (no activation) -> 1x1 + BN + ReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.depthwise_conv = ConvModule(in_channels, in_channels, 3, 1, 1, groups=in_channels, act=None)
        self.pointwise_conv = ConvModule(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))


class IterativeHead(nn.Module):
    """From the lowest resolution up: add the (bilinearly upsampled, align_corners) previous output,
    project with a depthwise-separable conv to the next branch's channels. Returns all, high first."""

    def __init__(self, in_channels: Sequence[int]) -> None:
        super().__init__()
        c = list(in_channels)[::-1]
        self.in_channels = c
        self.projects = nn.ModuleList([DepthwiseSeparableConv(c[i], c[i + 1] if i < len(c) - 1 else c[i])
                                       for i in range(len(c))])

    def forward(self, x: Sequence[Tensor]) -> list[Tensor]:
        y: list[Tensor] = []
        last: Optional[Tensor] = None
        for proj, s in zip(self.projects, list(x)[::-1]):
            if last is not None:
                s = s + F.interpolate(last, size=s.shape[-2:], mode="bilinear", align_corners=True)
            last = proj(s)
            y.append(last)
        return y[::-1]


def _dw_pw(cin: int, cmid_out: int, stride: int, relu: bool) -> nn.Sequential:
    """3x3 depthwise conv + BN -> 1x1 conv + BN (-> ReLU), as MMPose's fuse/transition layers."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
                               nn.Conv2d(cin, cmid_out, 1, bias=False), nn.BatchNorm2d(cmid_out)]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class LiteHRModule(nn.Module):
    """One multi-resolution module: ``num_blocks`` conditional-channel-weighting blocks over all
    branches (``'LITE'``) or ShuffleNet units per branch (``'NAIVE'``), then fusion.

    The fusion follows MMPose exactly, including its in-place accumulation: output 0 is
    ``2 * b0 + sum_{j>0} up(b_j)`` and every other output ``i`` is
    ``2 * down_i0(f0) + b_i + sum_{j!=0,i} fuse_ij(b_j)`` with ``f0`` the (pre-ReLU) fused output 0.

    Args:
        num_branches (int), num_blocks (int): branches and blocks.
        in_channels (Sequence[int]): channels of each branch.
        reduce_ratio (int): of the cross-resolution weighting.
        module_type (str): ``'LITE'`` or ``'NAIVE'``.
        multiscale_output (bool): return every branch (else only the first).
        with_fuse (bool): exchange information between branches.
    """

    def __init__(self, num_branches: int, num_blocks: int, in_channels: Sequence[int], reduce_ratio: int,
                 module_type: str, multiscale_output: bool = False, with_fuse: bool = True) -> None:
        super().__init__()
        if num_branches != len(in_channels):
            raise ValueError(f"NUM_BRANCHES({num_branches}) != NUM_INCHANNELS({len(in_channels)})")
        self.in_channels = list(in_channels)
        self.num_branches = num_branches
        self.module_type = module_type.upper()
        self.multiscale_output = multiscale_output
        self.with_fuse = with_fuse
        if self.module_type == "LITE":
            self.layers: nn.Module = nn.Sequential(*[ConditionalChannelWeighting(self.in_channels, 1, reduce_ratio)
                                                     for _ in range(num_blocks)])
        elif self.module_type == "NAIVE":
            self.layers = nn.ModuleList([nn.Sequential(*[ShuffleUnit(c, c, 1) for _ in range(num_blocks)])
                                         for c in self.in_channels])
        else:
            raise ValueError("module_type should be either 'LITE' or 'NAIVE'.")
        if with_fuse:
            self.fuse_layers = self._make_fuse_layers()
            self.relu = nn.ReLU()

    def _make_fuse_layers(self) -> Optional[nn.ModuleList]:
        if self.num_branches == 1:
            return None
        c = self.in_channels
        fuse = []
        for i in range(self.num_branches if self.multiscale_output else 1):
            row: list[Optional[nn.Module]] = []
            for j in range(self.num_branches):
                if j > i:
                    row.append(nn.Sequential(nn.Conv2d(c[j], c[i], 1, bias=False), nn.BatchNorm2d(c[i]),
                                             nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")))
                elif j == i:
                    row.append(None)
                else:
                    row.append(nn.Sequential(*[_dw_pw(c[j], c[i] if k == i - j - 1 else c[j], 2, k != i - j - 1)
                                               for k in range(i - j)]))
            fuse.append(nn.ModuleList(row))
        return nn.ModuleList(fuse)

    def forward(self, x: list[Tensor]) -> list[Tensor]:
        if self.num_branches == 1:
            return [self.layers[0](x[0])]
        if self.module_type == "LITE":
            out = self.layers(x)
        else:
            out = [branch(s) for branch, s in zip(self.layers, x)]
        if self.with_fuse and self.fuse_layers is not None:
            fused = []
            first = out[0]
            for i, row in enumerate(self.fuse_layers):
                if i == 0:
                    y = first + first
                else:
                    d = row[0](first)
                    y = d + d
                for j in range(1, self.num_branches):
                    y = y + (out[j] if i == j else row[j](out[j]))
                if i == 0:
                    first = y  # MMPose accumulates output 0 in place into out[0]
                fused.append(self.relu(y))
            out = fused
        if not self.multiscale_output:
            out = [out[0]]
        return out


def litehrnet_extra(depth: int = 18) -> dict[str, Any]:
    """MMPose's ``extra`` config of Lite-HRNet-18 or -30."""
    if depth not in (18, 30):
        raise ValueError(f"Lite-HRNet depth must be 18 or 30, got {depth}")
    return dict(stem=dict(stem_channels=32, out_channels=32, expand_ratio=1), num_stages=3,
                stages_spec=dict(num_modules=(2, 4, 2) if depth == 18 else (3, 8, 3), num_branches=(2, 3, 4),
                                 num_blocks=(2, 2, 2), module_type=("LITE", "LITE", "LITE"),
                                 with_fuse=(True, True, True), reduce_ratios=(8, 8, 8),
                                 num_channels=((40, 80), (40, 80, 160), (40, 80, 160, 320))),
                with_head=True)


class LiteHRNet(nn.Module):
    """Lite-HRNet backbone, MMPose's ``LiteHRNet``.

    Args:
        extra (dict): MMPose's structure config: ``stem`` (stem_channels, out_channels,
            expand_ratio), ``num_stages``, ``stages_spec`` (num_modules, num_branches, num_blocks,
            module_type, with_fuse, reduce_ratios, num_channels per stage) and ``with_head``.
            Default: Lite-HRNet-18 (``litehrnet_extra(18)``).
        in_channels (int): input channels.
        norm_eval (bool): keep BatchNorm in eval mode while training.
    """

    def __init__(self, extra: Optional[dict[str, Any]] = None, in_channels: int = 3, norm_eval: bool = False) -> None:
        super().__init__()
        self.extra = extra = extra if extra is not None else litehrnet_extra(18)
        self.norm_eval = norm_eval
        stem = extra["stem"]
        self.stem = Stem(in_channels, stem["stem_channels"], stem["out_channels"], stem["expand_ratio"])
        self.num_stages = extra["num_stages"]
        self.stages_spec = spec = extra["stages_spec"]
        last = [self.stem.out_channels]
        for i in range(self.num_stages):
            channels = list(spec["num_channels"][i])
            setattr(self, f"transition{i}", self._make_transition_layer(last, channels))
            modules = [LiteHRModule(spec["num_branches"][i], spec["num_blocks"][i], channels, spec["reduce_ratios"][i],
                                    spec["module_type"][i], multiscale_output=True, with_fuse=spec["with_fuse"][i])
                       for _ in range(spec["num_modules"][i])]
            setattr(self, f"stage{i}", nn.Sequential(*modules))
            last = channels
        self.with_head = extra["with_head"]
        if self.with_head:
            self.head_layer = IterativeHead(last)

    @staticmethod
    def _make_transition_layer(pre: Sequence[int], cur: Sequence[int]) -> nn.ModuleList:
        layers: list[Optional[nn.Module]] = []
        for i, c in enumerate(cur):
            if i < len(pre):
                layers.append(_dw_pw(pre[i], c, 1, True) if c != pre[i] else None)
            else:
                n = i + 1 - len(pre)
                layers.append(nn.Sequential(*[_dw_pw(pre[-1], c if j == n - 1 else pre[-1], 2, True)
                                              for j in range(n)]))
        return nn.ModuleList(layers)

    def train(self, mode: bool = True) -> "LiteHRNet":
        super().train(mode)
        if mode and self.norm_eval:
            eval_batch_norms(self)
        return self

    def forward(self, x: Tensor) -> tuple[Tensor]:
        y = [self.stem(x)]
        for i in range(self.num_stages):
            transition = getattr(self, f"transition{i}")
            xs = []
            for j in range(self.stages_spec["num_branches"][i]):
                t = transition[j]
                xs.append(y[j] if t is None else t(y[j] if j < len(y) else y[-1]))
            y = getattr(self, f"stage{i}")(xs)
        if self.with_head:
            y = self.head_layer(y)
        return (y[0],)


def litehrnet_18(**kwargs) -> LiteHRNet:
    return LiteHRNet(litehrnet_extra(18), **kwargs)


def litehrnet_30(**kwargs) -> LiteHRNet:
    return LiteHRNet(litehrnet_extra(30), **kwargs)
