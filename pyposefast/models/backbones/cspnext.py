"""CSPNeXt (RTMDet / RTMPose backbone): a stem of three 3x3 convs, then stages of a strided conv,
an optional SPP block and a CSP layer of CSPNeXt blocks (3x3 conv + 5x5 depthwise-separable conv)
with channel attention. MMPose's / mmdet's ``CSPNeXt`` parameter names.

Input ``Tensor[B, 3, H, W]``; output a tuple of the maps at ``out_indices`` (0 stem, stride 2;
stage i, stride 2^(i+1)).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from ..layers import ConvModule, eval_batch_norms

__all__ = ["ChannelAttention", "CSPNeXtBlock", "CSPLayer", "SPPBottleneck", "DepthwiseSeparableConvModule",
           "CSPNeXt", "cspnext_t", "cspnext_s", "cspnext_m", "cspnext_l"]


class DepthwiseSeparableConvModule(nn.Module):
    """Depthwise k x k ConvModule followed by a pointwise 1x1 ConvModule (mmcv's names)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 act: Optional[str] = "silu", bn_eps: float = 1e-3, bn_momentum: float = 0.03) -> None:
        super().__init__()
        kw = dict(act=act, bn_eps=bn_eps, bn_momentum=bn_momentum)
        self.depthwise_conv = ConvModule(in_channels, in_channels, kernel_size, stride, padding, groups=in_channels, **kw)
        self.pointwise_conv = ConvModule(in_channels, out_channels, 1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))


class ChannelAttention(nn.Module):
    """Squeeze-and-excite style gate: global average pool, 1x1 conv, hard sigmoid."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(channels, channels, 1, 1, 0, bias=True)
        self.act = nn.Hardsigmoid(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.act(self.fc(self.global_avgpool(x.float()).to(x.dtype)))


class CSPNeXtBlock(nn.Module):
    """3x3 ConvModule then a 5x5 depthwise-separable ConvModule, with identity when shapes match."""

    def __init__(self, in_channels: int, out_channels: int, expansion: float = 0.5, add_identity: bool = True,
                 kernel_size: int = 5, act: Optional[str] = "silu", bn_eps: float = 1e-3,
                 bn_momentum: float = 0.03) -> None:
        super().__init__()
        hidden = int(out_channels * expansion)
        kw = dict(act=act, bn_eps=bn_eps, bn_momentum=bn_momentum)
        self.conv1 = ConvModule(in_channels, hidden, 3, 1, 1, **kw)
        self.conv2 = DepthwiseSeparableConvModule(hidden, out_channels, kernel_size, 1, kernel_size // 2, **kw)
        self.add_identity = add_identity and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


class CSPLayer(nn.Module):
    """Cross-stage partial layer: main path (1x1 + blocks) and short path (1x1), concatenated,
    optionally gated by channel attention, fused by a 1x1 conv."""

    def __init__(self, in_channels: int, out_channels: int, expand_ratio: float = 0.5, num_blocks: int = 1,
                 add_identity: bool = True, channel_attention: bool = False, act: Optional[str] = "silu",
                 bn_eps: float = 1e-3, bn_momentum: float = 0.03) -> None:
        super().__init__()
        mid = int(out_channels * expand_ratio)
        kw = dict(act=act, bn_eps=bn_eps, bn_momentum=bn_momentum)
        self.channel_attention = channel_attention
        self.main_conv = ConvModule(in_channels, mid, 1, **kw)
        self.short_conv = ConvModule(in_channels, mid, 1, **kw)
        self.final_conv = ConvModule(2 * mid, out_channels, 1, **kw)
        self.blocks = nn.Sequential(*[CSPNeXtBlock(mid, mid, 1.0, add_identity, **kw) for _ in range(num_blocks)])
        if channel_attention:
            self.attention = ChannelAttention(2 * mid)

    def forward(self, x: Tensor) -> Tensor:
        y = torch.cat((self.blocks(self.main_conv(x)), self.short_conv(x)), dim=1)
        if self.channel_attention:
            y = self.attention(y)
        return self.final_conv(y)


class SPPBottleneck(nn.Module):
    """Spatial pyramid pooling: 1x1 conv, max pools of several sizes concatenated, 1x1 conv."""

    def __init__(self, in_channels: int, out_channels: int, kernel_sizes: Sequence[int] = (5, 9, 13),
                 act: Optional[str] = "silu", bn_eps: float = 1e-3, bn_momentum: float = 0.03) -> None:
        super().__init__()
        mid = in_channels // 2
        kw = dict(act=act, bn_eps=bn_eps, bn_momentum=bn_momentum)
        self.conv1 = ConvModule(in_channels, mid, 1, **kw)
        self.poolings = nn.ModuleList([nn.MaxPool2d(k, 1, k // 2) for k in kernel_sizes])
        self.conv2 = ConvModule(mid * (len(kernel_sizes) + 1), out_channels, 1, **kw)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [p(x) for p in self.poolings], dim=1))


class CSPNeXt(nn.Module):
    """CSPNeXt backbone (Lyu et al., RTMDet 2022), MMPose's / mmdet's ``CSPNeXt``.

    Args:
        arch (str): ``'P5'`` (4 stages, to 1024 channels) or ``'P6'`` (5 stages).
        deepen_factor (float): block-count multiplier.
        widen_factor (float): channel multiplier.
        out_indices (Sequence[int]): layers returned (0 is the stem).
        expand_ratio (float): CSP layer mid-channel ratio.
        channel_attention (bool): channel attention in the CSP layers.
        spp_kernel_sizes (Sequence[int]): SPP max-pool sizes (last stage).
        act (str): activation (``'silu'``).
        bn_eps (float), bn_momentum (float): BatchNorm settings (MMPose's RTMPose configs use
            ``SyncBN`` defaults eps 1e-5, momentum 0.1; the class default is 1e-3 / 0.03).
        frozen_stages (int): freeze the stem and stages up to this index; -1 for none.
        norm_eval (bool): keep BatchNorm in eval mode while training.
    """

    arch_settings = {
        "P5": [[64, 128, 3, True, False], [128, 256, 6, True, False], [256, 512, 6, True, False],
               [512, 1024, 3, False, True]],
        "P6": [[64, 128, 3, True, False], [128, 256, 6, True, False], [256, 512, 6, True, False],
               [512, 768, 3, True, False], [768, 1024, 3, False, True]],
    }

    def __init__(self, arch: str = "P5", deepen_factor: float = 1.0, widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (2, 3, 4), expand_ratio: float = 0.5, channel_attention: bool = True,
                 spp_kernel_sizes: Sequence[int] = (5, 9, 13), act: str = "silu", bn_eps: float = 1e-3,
                 bn_momentum: float = 0.03, frozen_stages: int = -1, norm_eval: bool = False) -> None:
        super().__init__()
        setting = self.arch_settings[arch]
        if frozen_stages not in range(-1, len(setting) + 1):
            raise ValueError(f"frozen_stages must be in range(-1, {len(setting) + 1}), got {frozen_stages}")
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        kw = dict(act=act, bn_eps=bn_eps, bn_momentum=bn_momentum)
        c0 = int(setting[0][0] * widen_factor)
        self.stem = nn.Sequential(ConvModule(3, int(setting[0][0] * widen_factor // 2), 3, 2, 1, **kw),
                                  ConvModule(int(setting[0][0] * widen_factor // 2),
                                             int(setting[0][0] * widen_factor // 2), 3, 1, 1, **kw),
                                  ConvModule(int(setting[0][0] * widen_factor // 2), c0, 3, 1, 1, **kw))
        self.layers = ["stem"]
        for i, (cin, cout, n, add_identity, use_spp) in enumerate(setting):
            cin, cout = int(cin * widen_factor), int(cout * widen_factor)
            n = max(round(n * deepen_factor), 1)
            stage: list[nn.Module] = [ConvModule(cin, cout, 3, 2, 1, **kw)]
            if use_spp:
                stage.append(SPPBottleneck(cout, cout, spp_kernel_sizes, **kw))
            stage.append(CSPLayer(cout, cout, expand_ratio, n, add_identity, channel_attention, **kw))
            self.add_module(f"stage{i + 1}", nn.Sequential(*stage))
            self.layers.append(f"stage{i + 1}")
        self.out_channels = [c0] + [int(s[1] * widen_factor) for s in setting]
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages + 1):
            m = getattr(self, self.layers[i])
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> "CSPNeXt":
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            eval_batch_norms(self)
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


_RTM = dict(t=(0.167, 0.375), s=(0.33, 0.5), m=(0.67, 0.75), l=(1.0, 1.0), x=(1.33, 1.25))


def _cspnext(size: str, **kwargs) -> CSPNeXt:
    d, w = _RTM[size]
    kw = dict(arch="P5", deepen_factor=d, widen_factor=w, out_indices=(4,), expand_ratio=0.5,
              channel_attention=True, bn_eps=1e-5, bn_momentum=0.1)
    kw.update(kwargs)
    return CSPNeXt(**kw)


def cspnext_t(**kwargs) -> CSPNeXt:
    return _cspnext("t", **kwargs)


def cspnext_s(**kwargs) -> CSPNeXt:
    return _cspnext("s", **kwargs)


def cspnext_m(**kwargs) -> CSPNeXt:
    return _cspnext("m", **kwargs)


def cspnext_l(**kwargs) -> CSPNeXt:
    return _cspnext("l", **kwargs)
