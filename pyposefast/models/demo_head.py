"""The demo model's ``'multiscale'`` head without its big concatenation.

MMPose's way to put several backbone stages into one heatmap head (HRNetV2's, ``FeatureMapProcessor``
with ``concat=True`` then ``HeatmapHead``): resize every map to the first one's size (bilinear),
concatenate along channels, then a 1x1 conv. :class:`MultiscaleHeatmapHead` computes the same
function with the same parameters in a cheaper order: the 1x1 conv is split into one slice per input
map and applied to each map at its own size, and only those few output channels are resized and
summed. Both a 1x1 conv (per-pixel channel mixing) and a bilinear resize (per-channel spatial
weights, summing to 1) are linear, so they commute, and the bias moves past the resize unchanged:

    conv1x1(cat(x0, up(x1), ..., up(xn))) = conv(x0, W0) + b + sum_i up(conv(xi, Wi))

Outputs and gradients equal the concatenating version's up to float rounding (about 1e-7 relative;
``tests/test_demo_head.py``). On the demo's 2-core CPU a training step (ResNet-18 width 16, 128x96,
batch 16) took 75 ms with the concatenation and 48 ms without: the resize backward, the
concatenation and the wide 1x1 conv's backward at stride 4 were a third of the step.

Symbols: B batch, C_i channels of input map i, K keypoints, (H, W) the first map's size (the
heatmap size).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from .heads.base import Feats
from .heads.heatmap import HeatmapHead

__all__ = ["MultiscaleHeatmapHead"]


class MultiscaleHeatmapHead(HeatmapHead):
    """``HeatmapHead`` (no deconvolutions) on the bilinear-resized concatenation of several feature
    maps, computed without the concatenation (see the module docstring).

    Same parameters, parameter names and state dict as ``HeatmapHead(sum(in_channels), ...)`` behind
    ``FeatureMapProcessor(concat=True)`` (which has no parameters): checkpoints of either load into
    the other.

    ``forward(feats) -> Tensor[B, K, H, W]`` float32, with ``feats`` the maps
    ``Tensor[B, C_i, h_i, w_i]`` in order (the first at the output size, e.g. a ResNet's four stages
    at strides 4, 8, 16, 32).

    Args:
        in_channels (Sequence[int]): C_i of each input map, in order.
        out_channels (int): K.
        conv_out_channels (Sequence[int]): channels of the conv layers (each conv + BatchNorm + ReLU);
            the first conv is the 1x1 conv on the concatenation.
        conv_kernel_sizes (Sequence[int]): their kernels; the first must be 1.
        final_layer_kernel_size (int or None): kernel of the final conv; None for none. Defaults to 1.
        loss (nn.Module, optional): default ``KeypointMSELoss(use_target_weight=True)``.
        decoder (codec, optional): the codec of ``predict`` (MSRAHeatmap ...).
        align_corners (bool): the resize's setting (``FeatureMapProcessor``'s). Defaults to False.

    Raises:
        ValueError: ``in_channels`` empty or not positive, no conv layers, or a first kernel other than 1.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, conv_out_channels: Sequence[int],
                 conv_kernel_sizes: Sequence[int], final_layer_kernel_size: Optional[int] = 1,
                 loss: Optional[nn.Module] = None, decoder: Any = None, align_corners: bool = False) -> None:
        channels = [int(c) for c in in_channels]
        if not channels or min(channels) <= 0:
            raise ValueError(f"in_channels must be a non-empty sequence of positive channel counts, "
                             f"got {in_channels!r}")
        if not conv_out_channels or not conv_kernel_sizes or int(conv_kernel_sizes[0]) != 1:
            raise ValueError("conv_out_channels and conv_kernel_sizes must describe at least one conv, the first "
                             f"with kernel 1 (the conv on the concatenation), got {conv_out_channels!r}, "
                             f"{conv_kernel_sizes!r}")
        super().__init__(sum(channels), out_channels, deconv_out_channels=None, conv_out_channels=conv_out_channels,
                         conv_kernel_sizes=conv_kernel_sizes, final_layer_kernel_size=final_layer_kernel_size,
                         loss=loss, decoder=decoder)
        self.in_channels_per_map = channels
        self.align_corners = bool(align_corners)

    def fused_input_conv(self, feats: Feats) -> Tensor:
        """The first conv's output (before its BatchNorm) on the resized concatenation of ``feats``,
        computed per map.

        Args:
            feats (sequence of Tensor[B, C_i, h_i, w_i]): the maps, ``len(in_channels)`` of them.

        Returns:
            Tensor[B, conv_out_channels[0], H, W] at the first map's size.
        """
        if len(feats) != len(self.in_channels_per_map):
            raise ValueError(f"feats must hold {len(self.in_channels_per_map)} maps, got {len(feats)}")
        conv = self.conv_layers[0]
        size = feats[0].shape[-2:]
        out: Optional[Tensor] = None
        start = 0
        for i, (x, c) in enumerate(zip(feats, self.in_channels_per_map)):
            if x.dim() != 4 or x.shape[1] != c:
                raise ValueError(f"feats[{i}] must be [B, {c}, h, w], got {tuple(x.shape)}")
            y = F.conv2d(x, conv.weight[:, start:start + c], conv.bias if i == 0 else None)
            start += c
            if y.shape[-2:] != size:
                y = F.interpolate(y, size=size, mode="bilinear", align_corners=self.align_corners)
            out = y if out is None else out + y
        assert out is not None
        return out

    def forward(self, feats: Feats) -> Tensor:
        """feats (sequence of Tensor[B, C_i, h_i, w_i]) -> heatmaps Tensor[B, K, H, W]."""
        x = self.fused_input_conv(feats)
        for layer in list(self.conv_layers)[1:]:  # the first conv's BatchNorm and ReLU, the other convs
            x = layer(x)
        return self.final_layer(x)
