"""Necks: GlobalAveragePooling, FeatureMapProcessor and FPN. Each maps a tuple of feature maps to a
tuple of feature maps."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["GlobalAveragePooling", "FeatureMapProcessor", "FPN"]


class GlobalAveragePooling(nn.Module):
    """Average each map over space: ``Tensor[B, C, H, W] -> Tensor[B, C]``."""

    def forward(self, inputs):
        if isinstance(inputs, Tensor):
            return F.adaptive_avg_pool2d(inputs, 1).flatten(1)
        return tuple(F.adaptive_avg_pool2d(x, 1).flatten(1) for x in inputs)


class FeatureMapProcessor(nn.Module):
    """Select, concatenate (after resizing to the first) and rescale feature maps.

    Args:
        select_index (int or Sequence[int], optional): maps to keep.
        concat (bool): concatenate the kept maps along channels (resized bilinearly to the first).
        scale_factor (float): bilinear rescale of every output map (1: none).
        apply_relu (bool): ReLU the outputs.
        align_corners (bool): interpolation setting.
    """

    def __init__(self, select_index: Optional[int | Sequence[int]] = None, concat: bool = False,
                 scale_factor: float = 1.0, apply_relu: bool = False, align_corners: bool = False) -> None:
        super().__init__()
        self.select_index = [select_index] if isinstance(select_index, int) else select_index
        self.concat, self.scale_factor = concat, scale_factor
        self.apply_relu, self.align_corners = apply_relu, align_corners

    def forward(self, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
        x = [inputs[i] for i in self.select_index] if self.select_index is not None else list(inputs)
        if self.concat:
            size = x[0].shape[-2:]
            x = [torch.cat([x[0]] + [F.interpolate(t, size=size, mode="bilinear", align_corners=self.align_corners)
                                     for t in x[1:]], dim=1)]
        if self.apply_relu:
            x = [F.relu(t) for t in x]
        if self.scale_factor != 1.0:
            x = [F.interpolate(t, scale_factor=self.scale_factor, mode="bilinear", align_corners=self.align_corners)
                 for t in x]
        return tuple(x)


class FPN(nn.Module):
    """Feature pyramid network (Lin et al., CVPR 2017): 1x1 lateral convs, top-down nearest
    upsampling and sum, 3x3 output convs.

    Args:
        in_channels (Sequence[int]): channels of each input level.
        out_channels (int): channels of every output level.
        out_indices (Sequence[int]): levels returned.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, out_indices: Sequence[int] = (0, 1, 2, 3)) -> None:
        super().__init__()
        self.lateral_convs = nn.ModuleList([nn.Conv2d(c, out_channels, 1) for c in in_channels])
        self.fpn_convs = nn.ModuleList([nn.Conv2d(out_channels, out_channels, 3, padding=1) for _ in in_channels])
        self.out_indices = tuple(out_indices)

    def forward(self, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
        lat = [conv(x) for conv, x in zip(self.lateral_convs, inputs)]
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], size=lat[i - 1].shape[-2:], mode="nearest")
        outs = [conv(x) for conv, x in zip(self.fpn_convs, lat)]
        return tuple(outs[i] for i in self.out_indices)
