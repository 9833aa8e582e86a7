"""Heatmap heads: HeatmapHead (SimpleBaseline deconvs + final conv), CPMHead (one output per stage)
and AssociativeEmbeddingHead (heatmaps + tags, bottom-up). MMPose's parameter names.

Symbols: B batch, C channels, K keypoints, L tag dimensions, H, W heatmap size.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...codecs import flip_heatmaps
from ...losses import AssociativeEmbeddingLoss, KeypointMSELoss
from .base import BaseHead, Feats

__all__ = ["HeatmapHead", "CPMHead", "AssociativeEmbeddingHead", "make_deconv_layers", "make_conv_layers"]


def deconv_or_identity(in_channels: int, deconv_out_channels: Optional[Sequence[int]],
                       deconv_kernel_sizes: Optional[Sequence[int]]) -> Tuple[nn.Module, int]:
    """The deconvolution stack of a heatmap head (:func:`make_deconv_layers`), or ``nn.Identity``
    when ``deconv_out_channels`` is empty; returns it with its output channels."""
    if deconv_out_channels:
        return make_deconv_layers(in_channels, deconv_out_channels, deconv_kernel_sizes or ()), deconv_out_channels[-1]
    return nn.Identity(), in_channels


def make_deconv_layers(in_channels: int, out_channels: Sequence[int], kernel_sizes: Sequence[int]) -> nn.Sequential:
    """Stride-2 transposed convs (kernel 4, 3 or 2) each followed by BatchNorm and ReLU."""
    if len(out_channels) != len(kernel_sizes):
        raise ValueError(f"deconv_out_channels {out_channels} and deconv_kernel_sizes {kernel_sizes} differ in length")
    pads = {4: (1, 0), 3: (1, 1), 2: (0, 0)}
    layers: list[nn.Module] = []
    for c, k in zip(out_channels, kernel_sizes):
        if k not in pads:
            raise ValueError(f"unsupported deconv kernel size {k} (4, 3 or 2)")
        p, op = pads[k]
        layers += [nn.ConvTranspose2d(in_channels, c, k, 2, p, op, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        in_channels = c
    return nn.Sequential(*layers)


def make_conv_layers(in_channels: int, out_channels: Sequence[int], kernel_sizes: Sequence[int]) -> nn.Sequential:
    """Stride-1 convs (with bias) each followed by BatchNorm and ReLU."""
    if len(out_channels) != len(kernel_sizes):
        raise ValueError(f"conv_out_channels {out_channels} and conv_kernel_sizes {kernel_sizes} differ in length")
    layers: list[nn.Module] = []
    for c, k in zip(out_channels, kernel_sizes):
        layers += [nn.Conv2d(in_channels, c, k, 1, (k - 1) // 2), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        in_channels = c
    return nn.Sequential(*layers)


class HeatmapHead(BaseHead):
    """SimpleBaseline head (Xiao et al., ECCV 2018): deconv layers, conv layers, a final conv.

    ``forward(feats) -> Tensor[B, K, H, W]`` from the last feature map.

    Args:
        in_channels (int): channels of the last feature map.
        out_channels (int): K (heatmap channels; 3K for UDP combined targets).
        deconv_out_channels (Sequence[int] or None): channels of each deconv layer (None: none).
        deconv_kernel_sizes (Sequence[int] or None): kernel of each deconv layer (4, 3 or 2).
        conv_out_channels (Sequence[int] or None), conv_kernel_sizes (Sequence[int] or None): extra convs.
        final_layer_kernel_size (int or None): kernel of the final conv; None for no final conv.
        loss (nn.Module, optional): the loss, default ``KeypointMSELoss(use_target_weight=True)``.
        decoder (codec, optional): codec used by ``predict`` (MSRAHeatmap, UDPHeatmap ...).
        flip_mode (str): ``'heatmap'``, ``'udp_combined'`` or ``'offset'`` for the flip test.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 deconv_out_channels: Optional[Sequence[int]] = (256, 256, 256),
                 deconv_kernel_sizes: Optional[Sequence[int]] = (4, 4, 4),
                 conv_out_channels: Optional[Sequence[int]] = None,
                 conv_kernel_sizes: Optional[Sequence[int]] = None,
                 final_layer_kernel_size: Optional[int] = 1, loss: Optional[nn.Module] = None,
                 decoder: Any = None, flip_mode: str = "heatmap") -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.loss_module = loss if loss is not None else KeypointMSELoss(use_target_weight=True)
        self.decoder = decoder
        self.flip_mode = flip_mode
        self.deconv_layers, in_channels = deconv_or_identity(in_channels, deconv_out_channels, deconv_kernel_sizes)
        if conv_out_channels:
            self.conv_layers: nn.Module = make_conv_layers(in_channels, conv_out_channels, conv_kernel_sizes or ())
            in_channels = conv_out_channels[-1]
        else:
            self.conv_layers = nn.Identity()
        if final_layer_kernel_size is not None:
            k = final_layer_kernel_size
            self.final_layer: nn.Module = nn.Conv2d(in_channels, out_channels, k, 1, (k - 1) // 2)
        else:
            self.final_layer = nn.Identity()

    def forward(self, feats: Feats) -> Tensor:
        """feats (tuple[Tensor[B, C, h, w]]) -> heatmaps Tensor[B, K, H, W]."""
        return self.final_layer(self.conv_layers(self.deconv_layers(feats[-1])))

    def loss(self, feats: Feats, heatmaps: Tensor, keypoint_weights: Optional[Tensor] = None) -> dict[str, Tensor]:
        """Args:
            heatmaps (Tensor[B, K, H, W]): targets. keypoint_weights (Tensor[B, K]): target weights.

        Returns:
            dict: ``loss_kpt``.
        """
        pred = self.forward(feats)
        return {"loss_kpt": self.loss_module(pred, heatmaps, self._weights(keypoint_weights, pred))}


class CPMHead(BaseHead):
    """Multi-stage heatmap head (CPM / Hourglass): one (optional deconvs +) final conv per stage;
    ``forward`` returns one heatmap tensor per stage, ``predict`` decodes the last one.

    Args:
        in_channels (int): channels of each stage's feature map.
        out_channels (int): K.
        num_stages (int): number of stages (feature maps).
        deconv_out_channels (Sequence[int] or None), deconv_kernel_sizes (Sequence[int] or None): per stage.
        final_layer_kernel_size (int or None): final conv kernel (None: identity).
        loss (nn.Module, optional): applied to every stage, summed (default ``KeypointMSELoss``).
        decoder (codec, optional): codec used by ``predict``.
    """

    def __init__(self, in_channels: int, out_channels: int, num_stages: int,
                 deconv_out_channels: Optional[Sequence[int]] = None,
                 deconv_kernel_sizes: Optional[Sequence[int]] = None,
                 final_layer_kernel_size: Optional[int] = 1, loss: Optional[nn.Module] = None,
                 decoder: Any = None) -> None:
        super().__init__()
        self.num_stages = num_stages
        self.out_channels = out_channels
        self.loss_module = loss if loss is not None else KeypointMSELoss(use_target_weight=True)
        self.decoder = decoder
        deconvs, finals = [], []
        for _ in range(num_stages):
            c = in_channels
            if deconv_out_channels:
                deconvs.append(make_deconv_layers(in_channels, deconv_out_channels, deconv_kernel_sizes or ()))
                c = deconv_out_channels[-1]
            else:
                deconvs.append(nn.Identity())
            finals.append(nn.Conv2d(c, out_channels, final_layer_kernel_size) if final_layer_kernel_size else nn.Identity())
        self.multi_deconv_layers = nn.ModuleList(deconvs)
        self.multi_final_layers = nn.ModuleList(finals)

    def forward(self, feats: Feats) -> list[Tensor]:
        if len(feats) != self.num_stages:
            raise ValueError(f"CPMHead expects {self.num_stages} feature maps, got {len(feats)}")
        return [f(d(x)) for d, f, x in zip(self.multi_deconv_layers, self.multi_final_layers, feats)]

    def _outputs_for_decode(self, feats: Feats) -> Tensor:
        return self.forward(feats)[-1]

    def loss(self, feats: Feats, heatmaps: Tensor, keypoint_weights: Optional[Tensor] = None) -> dict[str, Tensor]:
        outs = self.forward(feats)
        w = self._weights(keypoint_weights, heatmaps)
        return {"loss_kpt": sum(self.loss_module(o, heatmaps, w) for o in outs)}


class AssociativeEmbeddingHead(HeatmapHead):
    """Bottom-up associative embedding head (Newell et al.): K heatmap channels then tag channels.

    ``forward(feats) -> (heatmaps Tensor[B, K, H, W], tags Tensor[B, L*K, H, W])`` (L*K when
    ``tag_per_keypoint`` else L).

    Args:
        in_channels (int): channels of the last feature map.
        num_keypoints (int): K.
        tag_dim (int): L.
        tag_per_keypoint (bool): one tag map per keypoint (else L shared maps).
        deconv_out_channels, deconv_kernel_sizes, conv_out_channels, conv_kernel_sizes,
        final_layer_kernel_size: as ``HeatmapHead`` (HigherHRNet-style AE: no deconvs).
        keypoint_loss (nn.Module, optional): default ``KeypointMSELoss(use_target_weight=True)``.
        tag_loss (nn.Module, optional): default ``AssociativeEmbeddingLoss(loss_weight=1e-3)``.
        decoder (codec, optional): the AssociativeEmbedding codec (``batch_decode(heatmaps, tags)``).
    """

    def __init__(self, in_channels: int, num_keypoints: int, tag_dim: int = 1, tag_per_keypoint: bool = True,
                 deconv_out_channels: Optional[Sequence[int]] = None,
                 deconv_kernel_sizes: Optional[Sequence[int]] = None,
                 conv_out_channels: Optional[Sequence[int]] = None,
                 conv_kernel_sizes: Optional[Sequence[int]] = None, final_layer_kernel_size: Optional[int] = 1,
                 keypoint_loss: Optional[nn.Module] = None, tag_loss: Optional[nn.Module] = None,
                 decoder: Any = None) -> None:
        out = num_keypoints * (1 + tag_dim) if tag_per_keypoint else num_keypoints + tag_dim
        super().__init__(in_channels, out, deconv_out_channels, deconv_kernel_sizes, conv_out_channels,
                         conv_kernel_sizes, final_layer_kernel_size, loss=None, decoder=decoder)
        del self.loss_module
        self.keypoint_loss = keypoint_loss if keypoint_loss is not None else KeypointMSELoss(use_target_weight=True)
        self.tag_loss = tag_loss if tag_loss is not None else AssociativeEmbeddingLoss(loss_weight=1e-3)
        self.num_keypoints, self.tag_dim, self.tag_per_keypoint = num_keypoints, tag_dim, tag_per_keypoint

    def forward(self, feats: Feats) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        out = super().forward(feats)
        return out[:, : self.num_keypoints], out[:, self.num_keypoints:]

    def loss(self, feats: Feats, heatmaps: Tensor, keypoint_indices: Sequence[Tensor],  # type: ignore[override]
             keypoint_weights: Optional[Tensor] = None, heatmap_mask: Optional[Tensor] = None) -> dict[str, Tensor]:
        """Args:
            heatmaps (Tensor[B, K, H, W]): targets. keypoint_indices (list of Tensor[N_b, K, 2]):
            (flat index, visible) per instance. keypoint_weights (Tensor[B, K]): channel weights.
            heatmap_mask (Tensor[B, 1 or K, H, W]): valid-pixel mask.

        Returns:
            dict: ``loss_kpt``, ``loss_pull``, ``loss_push``.
        """
        pred_hm, pred_tags = self.forward(feats)
        if not self.tag_per_keypoint:
            pred_tags = pred_tags.repeat((1, self.num_keypoints, 1, 1))
        loss_kpt = self.keypoint_loss(pred_hm, heatmaps, keypoint_weights, heatmap_mask)
        pull, push = self.tag_loss(pred_tags, keypoint_indices)
        return {"loss_kpt": loss_kpt, "loss_pull": pull, "loss_push": push}

    def flip_tags(self, tags: Tensor, flip_indices: Sequence[int], shift_heatmap: bool = False) -> Tensor:
        """Tags of a flipped image back to the original orientation (keypoint channels permuted)."""
        B, C, H, W = tags.shape
        tags = tags.flip(-1)
        if self.tag_per_keypoint:
            tags = tags.view(B, self.tag_dim, self.num_keypoints, H, W)[:, :, list(flip_indices)].reshape(B, C, H, W)
        if shift_heatmap:
            tags = torch.cat([tags[..., :1], tags[..., :-1]], dim=-1)
        return tags

    def merge_outputs(self, feats: Feats, flipped_feats: Optional[Feats] = None,
                      flip_indices: Optional[Sequence[int]] = None, shift_heatmap: bool = False,
                      size: Optional[tuple[int, int]] = None, align_corners: bool = False) -> tuple[Tensor, Tensor]:
        """Heatmaps and tags ready to decode: flip merge (heatmaps averaged, tags concatenated, so
        L doubles) and optional bilinear resize to ``size = (w, h)`` (``restore_heatmap_size``)."""
        hm, tags = self.forward(feats)
        hms, tgs = [hm], [tags]
        if flipped_feats is not None:
            if flip_indices is None:
                raise ValueError("flip_indices is required with flipped_feats")
            fhm, ftags = self.forward(flipped_feats)
            hms.append(flip_heatmaps(fhm, flip_indices, "heatmap", shift_heatmap))
            tgs.append(self.flip_tags(ftags, flip_indices, shift_heatmap))
        if size is not None:
            def rs(t):
                return F.interpolate(t, size=(size[1], size[0]), mode="bilinear", align_corners=align_corners)
            hms, tgs = [rs(t) for t in hms], [rs(t) for t in tgs]
        heatmaps = hms[0] if len(hms) == 1 else (hms[0] + hms[1]) * 0.5
        return heatmaps, torch.cat(tgs, dim=1)

    def predict(self, feats: Feats, flipped_feats: Optional[Feats] = None, *,  # type: ignore[override]
                flip_indices: Optional[Sequence[int]] = None, shift_heatmap: bool = False,
                restore_size: Optional[tuple[int, int]] = None, align_corners: bool = False) -> Any:
        """Merged outputs decoded by the codec: ``decoder.batch_decode(heatmaps, tags)`` (keypoints,
        keypoint scores and instance scores per image, in input-image pixels)."""
        if self.decoder is None:
            raise RuntimeError("AssociativeEmbeddingHead has no decoder (AssociativeEmbedding codec)")
        heatmaps, tags = self.merge_outputs(feats, flipped_feats, flip_indices, shift_heatmap, restore_size,
                                            align_corners)
        return self.decoder.batch_decode(heatmaps, tags)
