"""Coordinate-classification heads: SimCCHead (Li et al., ECCV 2022) and RTMCCHead (RTMPose's GAU
head). ``forward(feats) -> (simcc_x Tensor[B, K, Wx], simcc_y Tensor[B, K, Wy])`` logits with
``Wx = int(w * split_ratio)``, ``Wy = int(h * split_ratio)``. MMPose's parameter names.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...losses import KLDiscretLoss
from .base import BaseHead, Feats
from .heatmap import HeatmapHead

__all__ = ["ScaleNorm", "Scale", "RTMCCBlock", "SimCCHead", "RTMCCHead"]


class ScaleNorm(nn.Module):
    """``x / max(||x|| dim^-1/2, eps) * g`` over the last dimension (one learnt scalar g)."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.scale = dim ** -0.5
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1))

    def forward(self, x: Tensor) -> Tensor:
        norm = torch.norm(x, dim=-1, keepdim=True) * self.scale
        return x / norm.clamp(min=self.eps) * self.g


class Scale(nn.Module):
    """Learnt per-channel scale."""

    def __init__(self, dim: int, init_value: float = 1.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(init_value * torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale


def rope(x: Tensor, dim: int) -> Tensor:
    """Rotary position encoding along ``dim`` of x [..., C] (C even)."""
    n = x.shape[dim]
    pos = torch.arange(n, device=x.device, dtype=torch.float32)
    for _ in range(dim + 1, x.dim() - 1):
        pos = pos.unsqueeze(-1)
    half = x.shape[-1] // 2
    inv_freq = 10000 ** (torch.arange(half, device=x.device, dtype=torch.float32) / float(half))
    sinusoid = pos[..., None] * inv_freq
    sin, cos = torch.sin(sinusoid), torch.cos(sinusoid)
    x1, x2 = torch.chunk(x, 2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class RTMCCBlock(nn.Module):
    """Gated attention unit (self-attention form) of RTMPose: ScaleNorm, one projection to
    (u, v, base), ``q, k = base * gamma + beta``, ``kernel = relu(q k^T / sqrt(s))^2``,
    ``o(u * kernel v)``, plus a scaled residual when input and output widths match.

    Args:
        num_token (int): tokens (K keypoints).
        in_token_dims (int), out_token_dims (int): token widths.
        expansion_factor (float): e = in_token_dims * expansion_factor.
        s (int): attention width.
        eps (float): ScaleNorm epsilon.
        dropout_rate (float): dropout on the attention kernel.
        drop_path (float): stochastic depth rate.
        act_fn (str): ``'SiLU'`` or ``'ReLU'``.
        bias (bool): linear biases.
        use_rel_bias (bool): relative position bias.
        pos_enc (bool): rotary encoding of q, k.
    """

    def __init__(self, num_token: int, in_token_dims: int, out_token_dims: int, expansion_factor: float = 2,
                 s: int = 128, eps: float = 1e-5, dropout_rate: float = 0.0, drop_path: float = 0.0,
                 act_fn: str = "SiLU", bias: bool = False, use_rel_bias: bool = True, pos_enc: bool = False) -> None:
        super().__init__()
        self.s, self.num_token = s, num_token
        self.use_rel_bias, self.pos_enc = use_rel_bias, pos_enc
        self.drop_path_rate = drop_path
        self.e = int(in_token_dims * expansion_factor)
        if use_rel_bias:
            self.w = nn.Parameter(torch.rand([2 * num_token - 1], dtype=torch.float))
        self.o = nn.Linear(self.e, out_token_dims, bias=bias)
        self.uv = nn.Linear(in_token_dims, 2 * self.e + self.s, bias=bias)
        self.gamma = nn.Parameter(torch.rand((2, self.s)))
        self.beta = nn.Parameter(torch.rand((2, self.s)))
        self.ln = ScaleNorm(in_token_dims, eps=eps)
        nn.init.xavier_uniform_(self.uv.weight)
        if act_fn not in ("SiLU", "ReLU"):
            raise ValueError(f"act_fn must be 'SiLU' or 'ReLU', got {act_fn!r}")
        self.act_fn = nn.SiLU(True) if act_fn == "SiLU" else nn.ReLU(True)
        self.shortcut = in_token_dims == out_token_dims
        if self.shortcut:
            self.res_scale = Scale(in_token_dims)
        self.sqrt_s = math.sqrt(s)
        self.dropout = nn.Dropout(dropout_rate) if dropout_rate > 0 else nn.Identity()

    def rel_pos_bias(self, seq_len: int) -> Tensor:
        t = F.pad(self.w[: 2 * seq_len - 1], [0, seq_len]).repeat(seq_len)
        t = t[..., :-seq_len].reshape(-1, seq_len, 3 * seq_len - 2)
        r = (2 * seq_len - 1) // 2
        return t[..., r:-r]

    def _forward(self, x: Tensor) -> Tensor:
        uv = self.act_fn(self.uv(self.ln(x)))
        u, v, base = torch.split(uv, [self.e, self.e, self.s], dim=2)
        base = base.unsqueeze(2) * self.gamma[None, None, :] + self.beta
        if self.pos_enc:
            base = rope(base, dim=1)
        q, k = torch.unbind(base, dim=2)
        qk = torch.bmm(q, k.permute(0, 2, 1))
        if self.use_rel_bias:
            qk = qk + self.rel_pos_bias(q.size(1))[:, : q.size(1), : k.size(1)]
        kernel = self.dropout(torch.square(F.relu(qk / self.sqrt_s)))
        return self.o(u * torch.bmm(kernel, v))

    def _drop_path(self, x: Tensor) -> Tensor:
        if self.drop_path_rate == 0.0 or not self.training:
            return x
        keep = 1 - self.drop_path_rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep

    def forward(self, x: Tensor) -> Tensor:
        """x (Tensor[B, K, in_token_dims]) -> Tensor[B, K, out_token_dims]."""
        main = self._drop_path(self._forward(x))
        return self.res_scale(x) + main if self.shortcut else main


class _SimCCPredictMixin:
    simcc_split_ratio: float

    def loss(self, feats: Feats, keypoint_x_labels: Tensor, keypoint_y_labels: Tensor,
             keypoint_weights: Optional[Tensor] = None) -> dict[str, Tensor]:
        """Args:
            keypoint_x_labels (Tensor[B, K, Wx]), keypoint_y_labels (Tensor[B, K, Wy]): SimCC targets.
            keypoint_weights (Tensor[B, K]): target weights.

        Returns:
            dict: ``loss_kpt``.
        """
        px, py = self.forward(feats)
        w = BaseHead._weights(keypoint_weights, px)
        return {"loss_kpt": self.loss_module((px, py), (keypoint_x_labels, keypoint_y_labels), w)}


class SimCCHead(_SimCCPredictMixin, BaseHead):
    """SimCC head: optional SimpleBaseline deconvs (a ``HeatmapHead`` named ``deconv_head``), or a
    1x1 final conv, then two linear layers over the flattened maps.

    Args:
        in_channels (int): channels of the last feature map.
        out_channels (int): K.
        input_size (tuple[int, int]): model input (w, h).
        in_featuremap_size (tuple[int, int]): last feature map (w, h).
        simcc_split_ratio (float): bins per input pixel.
        deconv_out_channels (Sequence[int] or None), deconv_kernel_sizes (Sequence[int] or None):
            SimpleBaseline deconvs (None: none).
        conv_out_channels, conv_kernel_sizes: extra convs of the deconv head.
        final_layer_kernel_size (int or None): final conv kernel (None: none).
        loss (nn.Module, optional): default ``KLDiscretLoss(use_target_weight=True)``.
        decoder (codec, optional): SimCCLabel used by ``predict``.
    """

    def __init__(self, in_channels: int, out_channels: int, input_size: tuple[int, int],
                 in_featuremap_size: tuple[int, int], simcc_split_ratio: float = 2.0,
                 deconv_out_channels: Optional[Sequence[int]] = (256, 256, 256),
                 deconv_kernel_sizes: Optional[Sequence[int]] = (4, 4, 4),
                 conv_out_channels: Optional[Sequence[int]] = None, conv_kernel_sizes: Optional[Sequence[int]] = None,
                 final_layer_kernel_size: Optional[int] = 1, loss: Optional[nn.Module] = None,
                 decoder: Any = None) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.input_size, self.simcc_split_ratio = tuple(input_size), simcc_split_ratio
        self.loss_module = loss if loss is not None else KLDiscretLoss(use_target_weight=True)
        self.decoder = decoder
        n = len(deconv_out_channels) if deconv_out_channels else 0
        if n:
            self.deconv_head: Optional[HeatmapHead] = HeatmapHead(
                in_channels, out_channels, deconv_out_channels, deconv_kernel_sizes, conv_out_channels,
                conv_kernel_sizes, final_layer_kernel_size)
            self.heatmap_size = tuple(s * 2 ** n for s in in_featuremap_size)
            self.final_layer: Optional[nn.Module] = None
        else:
            self.deconv_head = None
            self.final_layer = nn.Conv2d(in_channels, out_channels, final_layer_kernel_size, 1,
                                         (final_layer_kernel_size - 1) // 2) if final_layer_kernel_size else None
            self.heatmap_size = tuple(in_featuremap_size)
        flat = self.heatmap_size[0] * self.heatmap_size[1]
        self.mlp_head_x = nn.Linear(flat, int(input_size[0] * simcc_split_ratio))
        self.mlp_head_y = nn.Linear(flat, int(input_size[1] * simcc_split_ratio))

    def forward(self, feats: Feats) -> tuple[Tensor, Tensor]:
        if self.deconv_head is None:
            x = feats[-1]
            if self.final_layer is not None:
                x = self.final_layer(x)
        else:
            x = self.deconv_head(feats)
        x = torch.flatten(x, 2)
        return self.mlp_head_x(x), self.mlp_head_y(x)


class RTMCCHead(_SimCCPredictMixin, BaseHead):
    """RTMPose head: a large-kernel final conv to K maps, flatten, ScaleNorm + linear to hidden
    tokens, one gated attention unit over the K tokens, two linear classifiers.

    Args:
        in_channels (int): channels of the last feature map.
        out_channels (int): K.
        input_size (tuple[int, int]): model input (w, h).
        in_featuremap_size (tuple[int, int]): last feature map (w, h) (input / 32).
        simcc_split_ratio (float): bins per input pixel.
        final_layer_kernel_size (int): final conv kernel (RTMPose: 7).
        hidden_dims (int), s (int), expansion_factor (float), dropout_rate (float), drop_path (float),
        act_fn (str), use_rel_bias (bool), pos_enc (bool): the GAU settings (MMPose's ``gau_cfg``).
        loss (nn.Module, optional): default ``KLDiscretLoss(use_target_weight=True, beta=10,
            label_softmax=True)``.
        decoder (codec, optional): SimCCLabel used by ``predict``.
    """

    def __init__(self, in_channels: int, out_channels: int, input_size: tuple[int, int],
                 in_featuremap_size: tuple[int, int], simcc_split_ratio: float = 2.0,
                 final_layer_kernel_size: int = 7, hidden_dims: int = 256, s: int = 128,
                 expansion_factor: float = 2, dropout_rate: float = 0.0, drop_path: float = 0.0,
                 act_fn: str = "SiLU", use_rel_bias: bool = False, pos_enc: bool = False,
                 loss: Optional[nn.Module] = None, decoder: Any = None) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.input_size, self.in_featuremap_size = tuple(input_size), tuple(in_featuremap_size)
        self.simcc_split_ratio = simcc_split_ratio
        self.loss_module = loss if loss is not None else KLDiscretLoss(use_target_weight=True, beta=10.0,
                                                                       label_softmax=True)
        self.decoder = decoder
        k = final_layer_kernel_size
        self.final_layer = nn.Conv2d(in_channels, out_channels, k, 1, k // 2)
        flat = in_featuremap_size[0] * in_featuremap_size[1]
        self.mlp = nn.Sequential(ScaleNorm(flat), nn.Linear(flat, hidden_dims, bias=False))
        self.gau = RTMCCBlock(out_channels, hidden_dims, hidden_dims, expansion_factor, s, dropout_rate=dropout_rate,
                              drop_path=drop_path, act_fn=act_fn, use_rel_bias=use_rel_bias, pos_enc=pos_enc)
        self.cls_x = nn.Linear(hidden_dims, int(input_size[0] * simcc_split_ratio), bias=False)
        self.cls_y = nn.Linear(hidden_dims, int(input_size[1] * simcc_split_ratio), bias=False)

    def forward(self, feats: Feats) -> tuple[Tensor, Tensor]:
        x = torch.flatten(self.final_layer(feats[-1]), 2)
        x = self.gau(self.mlp(x))
        return self.cls_x(x), self.cls_y(x)
