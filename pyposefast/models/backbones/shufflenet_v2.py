"""ShuffleNetV2 (Ma et al., ECCV 2018): channel split, depthwise convs and channel shuffle.
MMPose's ``ShuffleNetV2`` parameter names, so MMPose checkpoints load without key mapping.

Input ``Tensor[B, 3, H, W]``; output a tuple of feature maps, one per ``out_indices`` entry
(0-2: the three stages, strides 8, 16, 32; 3: the final 1x1 conv, 1024 channels (2048 for
``widen_factor=2``) at stride 32).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from ..layers import ConvModule, eval_batch_norms

__all__ = ["channel_shuffle", "ShuffleUnit", "ShuffleNetV2", "shufflenet_v2"]


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` equal groups: ``[B, g*c, H, W] -> [B, c*g, H, W]``."""
    b, c, h, w = x.shape
    if c % groups:
        raise ValueError(f"num_channels ({c}) should be divisible by groups ({groups})")
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


class ShuffleUnit(nn.Module):
    """ShuffleNetV2 unit (MMPose's ``InvertedResidual`` in shufflenet_v2.py, ``ShuffleUnit`` in
    litehrnet.py). Stride 1: split the channels in halves, transform one (1x1 -> 3x3 depthwise ->
    1x1), concatenate; stride 2: both branches see the whole input and downsample. Then shuffle.

    Args:
        in_channels (int), out_channels (int): unit input / output channels (equal for stride 1).
        stride (int): stride of the depthwise convs.
        act (str): activation of the 1x1 convs.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, act: str = "relu") -> None:
        super().__init__()
        self.stride = stride
        branch = out_channels // 2
        if stride == 1 and in_channels != branch * 2:
            raise ValueError(f"in_channels ({in_channels}) should equal to branch_features * 2 ({branch * 2}) "
                             "when stride is 1")
        if stride > 1:
            self.branch1 = nn.Sequential(ConvModule(in_channels, in_channels, 3, stride, 1, groups=in_channels, act=None),
                                         ConvModule(in_channels, branch, 1, act=act))
        self.branch2 = nn.Sequential(ConvModule(in_channels if stride > 1 else branch, branch, 1, act=act),
                                     ConvModule(branch, branch, 3, stride, 1, groups=branch, act=None),
                                     ConvModule(branch, branch, 1, act=act))

    def forward(self, x: Tensor) -> Tensor:
        if self.stride > 1:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        else:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        return channel_shuffle(out, 2)


InvertedResidual = ShuffleUnit  # MMPose's name in shufflenet_v2.py


class ShuffleNetV2(nn.Module):
    """ShuffleNetV2 backbone, MMPose's ``ShuffleNetV2``: 3x3 stem (stride 2), max pool, stages of
    4, 8, 4 units, a final 1x1 conv.

    Args:
        widen_factor (float): 0.5, 1.0, 1.5 or 2.0.
        out_indices (Sequence[int]): outputs to return, each in 0-3 (3: the final 1x1 conv).
        frozen_stages (int): stages (and the stem, for >= 0) whose parameters are frozen; -1 for none.
        act (str): activation (``'relu'``).
        norm_eval (bool): keep BatchNorm in eval mode while training.
    """

    arch_settings = {0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024), 1.5: (176, 352, 704, 1024),
                     2.0: (244, 488, 976, 2048)}

    def __init__(self, widen_factor: float = 1.0, out_indices: Sequence[int] = (3,), frozen_stages: int = -1,
                 act: str = "relu", norm_eval: bool = False) -> None:
        super().__init__()
        for index in out_indices:
            if index not in range(0, 4):
                raise ValueError(f"the item in out_indices must in range(0, 4). But received {index}")
        if frozen_stages not in range(-1, 4):
            raise ValueError(f"frozen_stages must be in range(-1, 4). But received {frozen_stages}")
        if widen_factor not in self.arch_settings:
            raise ValueError(f"widen_factor must be in [0.5, 1.0, 1.5, 2.0]. But received {widen_factor}")
        channels = self.arch_settings[widen_factor]
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        cin = 24
        self.conv1 = ConvModule(3, cin, 3, 2, 1, act=act)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layers = nn.ModuleList()
        for cout, blocks in zip(channels[:3], (4, 8, 4)):
            self.layers.append(nn.Sequential(*[ShuffleUnit(cin if j == 0 else cout, cout, 2 if j == 0 else 1, act)
                                               for j in range(blocks)]))
            cin = cout
        self.layers.append(ConvModule(cin, channels[-1], 1, act=act))
        self.out_channels = channels[-1]
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            for p in self.conv1.parameters():
                p.requires_grad = False
        for i in range(self.frozen_stages):
            self.layers[i].eval()
            for p in self.layers[i].parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> "ShuffleNetV2":
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            eval_batch_norms(self)
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        x = self.maxpool(self.conv1(x))
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


def shufflenet_v2(**kwargs) -> ShuffleNetV2:
    return ShuffleNetV2(**kwargs)
