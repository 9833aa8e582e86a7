"""MobileNetV2 (Sandler et al., CVPR 2018): inverted residual blocks with linear bottlenecks.
MMPose's ``MobileNetV2`` parameter names, so MMPose checkpoints load without key mapping.

Input ``Tensor[B, 3, H, W]``; output a tuple of feature maps, one per ``out_indices`` entry
(0-6: the seven inverted-residual stages, strides 2, 4, 8, 16, 16, 32, 32; 7: the final 1x1 conv,
1280 channels at stride 32).
"""

from __future__ import annotations

from typing import Optional, Sequence

from torch import Tensor, nn

from ..layers import ConvModule, eval_batch_norms

__all__ = ["make_divisible", "InvertedResidual", "MobileNetV2", "mobilenet_v2"]


def make_divisible(value: float, divisor: int, min_value: Optional[int] = None, min_ratio: float = 0.9) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (at least ``min_value``, default
    ``divisor``), going one step up when rounding lost more than ``1 - min_ratio`` of it."""
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < min_ratio * value:
        new_value += divisor
    return new_value


class InvertedResidual(nn.Module):
    """1x1 expansion (skipped for ``expand_ratio == 1``) -> 3x3 depthwise (stride here) -> 1x1
    linear projection; residual when stride 1 and channels unchanged.

    Args:
        in_channels (int), out_channels (int): block input / output channels.
        stride (int): 1 or 2, of the depthwise conv.
        expand_ratio (float): hidden channels = ``round(in_channels * expand_ratio)``.
        act (str): activation of the expansion and depthwise convs (``'relu6'``).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: float,
                 act: str = "relu6") -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must in [1, 2]. But received {stride}.")
        self.stride = stride
        self.use_res_connect = stride == 1 and in_channels == out_channels
        hidden = int(round(in_channels * expand_ratio))
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvModule(in_channels, hidden, 1, act=act))
        layers += [ConvModule(hidden, hidden, 3, stride, 1, groups=hidden, act=act),
                   ConvModule(hidden, out_channels, 1, act=None)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 backbone, MMPose's ``MobileNetV2``.

    Args:
        widen_factor (float): channel multiplier (channels rounded to multiples of 8).
        out_indices (Sequence[int]): outputs to return, each in 0-7 (7: the final 1x1 conv).
        frozen_stages (int): stages (and the stem, for >= 0) whose parameters are frozen; -1 for none.
        act (str): activation (``'relu6'``).
        norm_eval (bool): keep BatchNorm in eval mode while training.
    """

    # expand ratio, channels, blocks, stride of the first block
    arch_settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
                     [6, 160, 3, 2], [6, 320, 1, 1]]

    def __init__(self, widen_factor: float = 1.0, out_indices: Sequence[int] = (7,), frozen_stages: int = -1,
                 act: str = "relu6", norm_eval: bool = False) -> None:
        super().__init__()
        for index in out_indices:
            if index not in range(0, 8):
                raise ValueError(f"the item in out_indices must in range(0, 8). But received {index}")
        if frozen_stages not in range(-1, 8):
            raise ValueError(f"frozen_stages must be in range(-1, 8). But received {frozen_stages}")
        self.widen_factor = widen_factor
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        cin = make_divisible(32 * widen_factor, 8)
        self.conv1 = ConvModule(3, cin, 3, 2, 1, act=act)
        self.layers: list[str] = []
        for i, (expand, channels, blocks, stride) in enumerate(self.arch_settings):
            cout = make_divisible(channels * widen_factor, 8)
            stage = [InvertedResidual(cin if j == 0 else cout, cout, stride if j == 0 else 1, expand, act)
                     for j in range(blocks)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*stage))
            self.layers.append(f"layer{i + 1}")
            cin = cout
        self.out_channel = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.conv2 = ConvModule(cin, self.out_channel, 1, act=act)
        self.layers.append("conv2")
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            for p in self.conv1.parameters():
                p.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            layer = getattr(self, f"layer{i}")
            layer.eval()
            for p in layer.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> "MobileNetV2":
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            eval_batch_norms(self)
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        x = self.conv1(x)
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


def mobilenet_v2(**kwargs) -> MobileNetV2:
    return MobileNetV2(**kwargs)
