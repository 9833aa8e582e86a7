"""Regression heads: RegressionHead (DeepPose), RLEHead (coordinates + sigmas), IntegralRegressionHead
(soft-argmax over heatmaps) and TemporalRegressionHead (3D lifting). MMPose's parameter names.

Top-down heads return coordinates normalised by the input size: ``Tensor[B, K, 2]`` (x, y) or
``Tensor[B, K, 4]`` (x, y, raw sigma x, raw sigma y) for RLE.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...codecs import decode_topdown, flip_coordinates
from ...losses import MPJPELoss, RLELoss, SmoothL1Loss
from .base import BaseHead, Feats
from .heatmap import HeatmapHead

__all__ = ["RegressionHead", "RLEHead", "IntegralRegressionHead", "TemporalRegressionHead"]


class RegressionHead(BaseHead):
    """DeepPose head: flatten the (pooled) features, one linear layer to K x 2.

    Args:
        in_channels (int): flattened feature size (after GlobalAveragePooling: backbone channels).
        num_joints (int): K.
        loss (nn.Module, optional): default ``SmoothL1Loss(use_target_weight=True)``.
        decoder (codec, optional): RegressionLabel used by ``predict``.
    """

    def __init__(self, in_channels: int, num_joints: int, loss: Optional[nn.Module] = None,
                 decoder: Any = None) -> None:
        super().__init__()
        self.in_channels, self.num_joints = in_channels, num_joints
        self.loss_module = loss if loss is not None else SmoothL1Loss(use_target_weight=True)
        self.decoder = decoder
        self.fc = nn.Linear(in_channels, num_joints * 2)

    def forward(self, feats: Feats) -> Tensor:
        return self.fc(torch.flatten(feats[-1], 1)).reshape(-1, self.num_joints, 2)

    def loss(self, feats: Feats, keypoint_labels: Tensor, keypoint_weights: Optional[Tensor] = None) -> dict[str, Tensor]:
        """keypoint_labels (Tensor[B, K, 2]) normalised; keypoint_weights (Tensor[B, K]) -> ``loss_kpt``."""
        pred = self.forward(feats)
        return {"loss_kpt": self.loss_module(pred, keypoint_labels, self._weights(keypoint_weights, pred).unsqueeze(-1))}


class RLEHead(RegressionHead):
    """RLE head (Li et al., ICCV 2021): one linear layer to K x 4 (x, y, raw sigmas); the loss
    (``loss_module``, an ``RLELoss`` holding the RealNVP flow) is part of the state dict.

    Args:
        in_channels (int), num_joints (int): as RegressionHead.
        loss (nn.Module, optional): default ``RLELoss(use_target_weight=True)``.
        decoder (codec, optional): RegressionLabel (scores = mean(1 - sigma)).
    """

    def __init__(self, in_channels: int, num_joints: int, loss: Optional[nn.Module] = None,
                 decoder: Any = None) -> None:
        super().__init__(in_channels, num_joints, loss if loss is not None else RLELoss(use_target_weight=True), decoder)
        self.fc = nn.Linear(in_channels, num_joints * 4)

    def forward(self, feats: Feats) -> Tensor:
        return self.fc(torch.flatten(feats[-1], 1)).reshape(-1, self.num_joints, 4)

    def _outputs_for_decode(self, feats: Feats) -> Tensor:
        out = self.forward(feats)
        return torch.cat([out[..., :2], out[..., 2:].sigmoid()], dim=-1)

    def predict(self, feats: Feats, flipped_feats: Optional[Feats] = None, *, input_center: Tensor,
                input_scale: Tensor, flip_indices: Optional[Sequence[int]] = None, shift_heatmap: bool = False,
                shift_coords: bool = True, warp_matrices: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        if self.decoder is None:
            raise RuntimeError("RLEHead has no decoder (RegressionLabel)")
        out = self._outputs_for_decode(feats)
        if flipped_feats is not None:
            if flip_indices is None:
                raise ValueError("flip_indices is required with flipped_feats")
            f = self.forward(flipped_feats)
            f = flip_coordinates(f, flip_indices, shift_coords, self.decoder.input_size)
            f = torch.cat([f[..., :2], f[..., 2:].sigmoid()], dim=-1)
            out = (out + f) * 0.5
        return decode_topdown(self.decoder, out, None, input_center=input_center, input_scale=input_scale,
                              warp_matrices=warp_matrices)

    def loss(self, feats: Feats, keypoint_labels: Tensor, keypoint_weights: Optional[Tensor] = None) -> dict[str, Tensor]:
        out = self.forward(feats)
        w = self._weights(keypoint_weights, out).unsqueeze(-1)
        return {"loss_kpt": self.loss_module(out[..., :2], out[..., 2:4], keypoint_labels, w)}


class IntegralRegressionHead(BaseHead):
    """Integral regression (Sun et al., ECCV 2018 / DSNT): heatmaps (SimpleBaseline deconvs or a 1x1
    conv), softmax over each map (``beta`` temperature), expectation of x / W and y / H; optional
    debias. ``forward`` returns ``(coords Tensor[B, K, 2], heatmaps Tensor[B, K, H, W])``.

    Args:
        in_channels (int): backbone channels.
        in_featuremap_size (tuple[int, int]): backbone map (w, h).
        num_joints (int): K.
        debias (bool): the debiased soft-argmax.
        beta (float): softmax temperature.
        deconv_out_channels, deconv_kernel_sizes, conv_out_channels, conv_kernel_sizes,
        final_layer_kernel_size: the heatmap layers (as HeatmapHead, in a ``simplebaseline_head``).
        loss (nn.Module, optional): default ``SmoothL1Loss(use_target_weight=True)``.
        decoder (codec, optional): IntegralRegressionLabel / RegressionLabel.
    """

    def __init__(self, in_channels: int, in_featuremap_size: tuple[int, int], num_joints: int,
                 debias: bool = False, beta: float = 1.0,
                 deconv_out_channels: Optional[Sequence[int]] = (256, 256, 256),
                 deconv_kernel_sizes: Optional[Sequence[int]] = (4, 4, 4),
                 conv_out_channels: Optional[Sequence[int]] = None, conv_kernel_sizes: Optional[Sequence[int]] = None,
                 final_layer_kernel_size: Optional[int] = 1, loss: Optional[nn.Module] = None,
                 decoder: Any = None) -> None:
        super().__init__()
        self.num_joints, self.debias, self.beta = num_joints, debias, beta
        self.loss_module = loss if loss is not None else SmoothL1Loss(use_target_weight=True)
        self.decoder = decoder
        n = len(deconv_out_channels) if deconv_out_channels else 0
        if n:
            self.simplebaseline_head: Optional[HeatmapHead] = HeatmapHead(
                in_channels, num_joints, deconv_out_channels, deconv_kernel_sizes, conv_out_channels,
                conv_kernel_sizes, final_layer_kernel_size)
            self.heatmap_size = tuple(s * 2 ** n for s in in_featuremap_size)
            self.final_layer: Optional[nn.Module] = None
        else:
            self.simplebaseline_head = None
            self.final_layer = nn.Conv2d(in_channels, num_joints, 1) if final_layer_kernel_size else None
            self.heatmap_size = tuple(in_featuremap_size)
        W, H = self.heatmap_size
        self.linspace_x = nn.Parameter(torch.arange(0.0, 1.0 * W, 1).reshape(1, 1, 1, W) / W, requires_grad=False)
        self.linspace_y = nn.Parameter(torch.arange(0.0, 1.0 * H, 1).reshape(1, 1, H, 1) / H, requires_grad=False)

    def forward(self, feats: Feats) -> tuple[Tensor, Tensor]:
        if self.simplebaseline_head is None:
            x = feats[-1]
            if self.final_layer is not None:
                x = self.final_layer(x)
        else:
            x = self.simplebaseline_head(feats)
        B, N, H, W = x.shape
        hm = F.softmax((x * self.beta).reshape(B, N, H * W), dim=2).reshape(B, N, H, W)
        px = hm.mul(self.linspace_x).reshape(B, N, -1).sum(dim=2, keepdim=True)
        py = hm.mul(self.linspace_y).reshape(B, N, -1).sum(dim=2, keepdim=True)
        if self.debias:
            C = x.reshape(B, N, H * W).exp().sum(dim=2).reshape(B, N, 1)
            px = C / (C - 1) * (px - 1 / (2 * C))
            py = C / (C - 1) * (py - 1 / (2 * C))
        return torch.cat([px, py], dim=-1), hm

    def _outputs_for_decode(self, feats: Feats) -> Tensor:
        return self.forward(feats)[0]

    def _decode_codec(self) -> Any:
        # IntegralRegressionLabel decodes coordinates with its RegressionLabel (as MMPose's does)
        return getattr(self.decoder, "keypoint_codec", self.decoder)

    def loss(self, feats: Feats, keypoint_labels: Tensor, keypoint_weights: Optional[Tensor] = None) -> dict[str, Tensor]:
        coords, _ = self.forward(feats)
        return {"loss_kpt": self.loss_module(coords, keypoint_labels, self._weights(keypoint_weights, coords))}


class TemporalRegressionHead(nn.Module):
    """3D lifting head: a 1x1 Conv1d from the temporal features to K x 3 root-relative coordinates.

    Args:
        in_channels (int): temporal feature channels.
        num_joints (int): K.
        loss (nn.Module, optional): default ``MPJPELoss(use_target_weight=True)``.
        decoder (codec, optional): a lifting codec (``decode(coords, target_root)``) for ``predict``.
    """

    def __init__(self, in_channels: int, num_joints: int, loss: Optional[nn.Module] = None,
                 decoder: Any = None) -> None:
        super().__init__()
        self.in_channels, self.num_joints = in_channels, num_joints
        self.loss_module = loss if loss is not None else MPJPELoss(use_target_weight=True)
        self.decoder = decoder
        self.conv = nn.Conv1d(in_channels, num_joints * 3, 1)

    def forward(self, feats: Feats) -> Tensor:
        """feats (tuple[Tensor[B, C, T']]) -> Tensor[B, K, 3] (T' must be 1: the centre frame)."""
        return self.conv(feats[-1]).reshape(-1, self.num_joints, 3)

    def loss(self, feats: Feats, lifting_target_label: Tensor,
             lifting_target_weight: Optional[Tensor] = None) -> dict[str, Tensor]:
        """lifting_target_label (Tensor[B, K, 3]), lifting_target_weight (Tensor[B, K]) -> ``loss_pose3d``."""
        pred = self.forward(feats)
        w = lifting_target_weight if lifting_target_weight is not None else pred.new_ones(pred.shape[:2])
        return {"loss_pose3d": self.loss_module(pred, lifting_target_label, w.unsqueeze(-1))}

    def predict(self, feats: Feats, target_root: Optional[Tensor] = None) -> Tensor:
        """Root-relative 3D keypoints Tensor[B, K, 3]; plus ``target_root`` [B, 1, 3] when given
        (absolute)."""
        pred = self.forward(feats)
        if target_root is not None:
            pred = pred + target_root.reshape(pred.shape[0], -1, 3)[:, :1]
        return pred
