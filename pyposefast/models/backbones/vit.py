"""Plain Vision Transformer (Dosovitskiy et al., ICLR 2021) as ViTPose uses it (Xu et al., NeurIPS
2022): mmpretrain's ``VisionTransformer`` parameter names (``patch_embed.projection``,
``layers.<i>.{ln1,attn.qkv,attn.proj,ln2,ffn.layers.0.0,ffn.layers.1}``, ``ln1``, ``pos_embed``),
so MMPose's ViTPose checkpoints load without key mapping.

Input ``Tensor[B, 3, H, W]``; output a tuple with one feature map per ``out_indices`` layer:
``Tensor[B, C, h, w]`` (``out_type='featmap'``, the patch grid; stride ``patch_size``), or the raw
tokens / class token / averaged tokens for the other ``out_type`` values.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["DropPath", "PatchEmbed", "MultiheadAttention", "FFN", "TransformerEncoderLayer", "VisionTransformer",
           "resize_pos_embed", "vit_small", "vit_base", "vit_large", "vit_huge"]

Size2 = Union[int, tuple[int, int]]

ARCHS = {
    # embed dims, layers, heads, feed-forward channels (mmpretrain's arch_zoo names)
    "small": (768, 8, 8, 2304),
    "base": (768, 12, 12, 3072),
    "large": (1024, 24, 16, 4096),
    "huge": (1280, 32, 16, 5120),
    "deit-tiny": (192, 12, 3, 768),
    "deit-small": (384, 12, 6, 1536),
    "deit-base": (768, 12, 12, 3072),
    # ViTPose-S: MMPose's config passes this as a custom arch dict
    "vitpose-small": (384, 12, 12, 1536),
}
_ALIASES = {"s": "small", "b": "base", "l": "large", "h": "huge", "deit-t": "deit-tiny", "deit-s": "deit-small",
            "deit-b": "deit-base"}


def _pair(v: Size2) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _is_square(n: int) -> bool:
    return n > 0 and int(round(n ** 0.5)) ** 2 == n


def resize_pos_embed(pos_embed: Tensor, src_shape: tuple[int, int], dst_shape: tuple[int, int],
                     mode: str = "bicubic", num_extra_tokens: int = 0) -> Tensor:
    """Interpolate ``[1, extra + h*w, C]`` position embeddings from the ``(h, w)`` grid ``src_shape``
    to ``dst_shape`` (``align_corners=False``); unchanged when the shapes are equal."""
    if tuple(src_shape) == tuple(dst_shape):
        return pos_embed
    _, L, C = pos_embed.shape
    h, w = src_shape
    if L != h * w + num_extra_tokens:
        raise ValueError(f"the length of pos_embed ({L}) does not match {h}*{w}+{num_extra_tokens}")
    extra = pos_embed[:, :num_extra_tokens]
    grid = pos_embed[:, num_extra_tokens:].reshape(1, h, w, C).permute(0, 3, 1, 2)
    grid = F.interpolate(grid.float(), size=tuple(dst_shape), align_corners=False, mode=mode)
    return torch.cat((extra, grid.flatten(2).transpose(1, 2)), dim=1)


class DropPath(nn.Module):
    """Stochastic depth per sample (mmcv's ``DropPath``): in training, zero whole samples with
    probability ``drop_prob`` and scale the rest by ``1 / (1 - drop_prob)``."""

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x: Tensor) -> Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1 - self.drop_prob
        mask = (keep + torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device)).floor()
        return x.div(keep) * mask


class PatchEmbed(nn.Module):
    """A ``patch_size`` conv with stride ``patch_size`` (and ``padding``), flattened to tokens.

    ``forward(x) -> (Tensor[B, h*w, C], (h, w))``.
    """

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int, padding: int = 0, bias: bool = True) -> None:
        super().__init__()
        self.projection = nn.Conv2d(in_channels, embed_dims, patch_size, patch_size, padding, bias=bias)

    def out_size(self, img_size: tuple[int, int]) -> tuple[int, int]:
        """Patch grid ``(h, w)`` for an ``(H, W)`` input."""
        k, p = self.projection.kernel_size[0], self.projection.padding[0]
        return tuple((s + 2 * p - k) // k + 1 for s in img_size)  # type: ignore[return-value]

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[int, int]]:
        x = self.projection(x)
        hw = (x.shape[2], x.shape[3])
        return x.flatten(2).transpose(1, 2), hw


class MultiheadAttention(nn.Module):
    """Self-attention with a fused ``qkv`` projection (mmpretrain's ``MultiheadAttention``), plus
    the residual branch's drop path.

    Args:
        embed_dims (int), num_heads (int): width and heads.
        qkv_bias (bool): bias of the qkv projection.
        attn_drop (float), proj_drop (float): dropout of the attention weights / output projection.
        drop_path (float): stochastic depth of the branch.
    """

    def __init__(self, embed_dims: int, num_heads: int, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, drop_path: float = 0.0) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f"embed_dims ({embed_dims}) must be divisible by num_heads ({num_heads})")
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)
        self.out_drop = DropPath(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dims).permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_drop if self.training else 0.0)
        x = self.proj(x.transpose(1, 2).reshape(B, N, C))
        return self.out_drop(self.proj_drop(x))


class FFN(nn.Module):
    """Linear -> GELU -> dropout -> Linear -> dropout (mmcv's ``FFN`` layout: ``layers.0.0``,
    ``layers.1``); ``forward(x, identity)`` returns ``identity + drop_path(ffn(x))``."""

    def __init__(self, embed_dims: int, feedforward_channels: int, ffn_drop: float = 0.0,
                 drop_path: float = 0.0) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(nn.Linear(embed_dims, feedforward_channels), nn.GELU(), nn.Dropout(ffn_drop)),
            nn.Linear(feedforward_channels, embed_dims), nn.Dropout(ffn_drop))
        self.dropout_layer = DropPath(drop_path)

    def forward(self, x: Tensor, identity: Tensor) -> Tensor:
        return identity + self.dropout_layer(self.layers(x))


class TransformerEncoderLayer(nn.Module):
    """Pre-norm encoder layer: ``x + attn(ln1(x))``, then ``x + ffn(ln2(x))``.

    Args:
        embed_dims (int), num_heads (int), feedforward_channels (int): sizes.
        drop_rate (float), attn_drop_rate (float), drop_path_rate (float): regularisation.
        qkv_bias (bool): bias of the qkv projection.
        norm_eps (float): LayerNorm epsilon.
    """

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int, drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0, qkv_bias: bool = True,
                 norm_eps: float = 1e-6) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.attn = MultiheadAttention(embed_dims, num_heads, qkv_bias, attn_drop_rate, drop_rate, drop_path_rate)
        self.ln2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.ffn = FFN(embed_dims, feedforward_channels, drop_rate, drop_path_rate)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln1(x))
        return self.ffn(self.ln2(x), identity=x)


class VisionTransformer(nn.Module):
    """Plain ViT backbone with mmpretrain's ``VisionTransformer`` semantics and parameter names.

    Args:
        arch (str or dict): a name of ``ARCHS`` (mmpretrain's ``'small'``, ``'base'``, ``'large'``,
            ``'huge'``, ``'deit-*'``; ``'vitpose-small'``: 384 wide, 12 layers, 12 heads) or a dict
            with ``embed_dims``, ``num_layers``, ``num_heads``, ``feedforward_channels``.
        img_size (int or (H, W)): training input size; sizes the position embedding (other input
            sizes interpolate it at run time, ``interpolate_mode``, as mmpretrain does).
        patch_size (int): patch (= stride of the feature map).
        in_channels (int): input channels.
        patch_padding (int): padding of the patch conv (ViTPose: 2).
        out_indices (int or Sequence[int]): layers whose outputs are returned (negative from the end).
        drop_rate (float), drop_path_rate (float): dropout, and stochastic depth rising linearly
            from 0 at the first layer to ``drop_path_rate`` at the last.
        qkv_bias (bool): bias of the qkv projections.
        norm_eps (float): LayerNorm epsilon.
        final_norm (bool): LayerNorm ``ln1`` after the last layer.
        out_type (str): ``'featmap'`` (Tensor[B, C, h, w]), ``'raw'`` (tokens), ``'cls_token'`` or
            ``'avg_featmap'`` (mean of the patch tokens through ``ln2``).
        with_cls_token (bool): prepend a learnt class token.
        interpolate_mode (str): position embedding resize mode.
        frozen_stages (int): freeze the patch embedding, position embedding and this many layers.

    Initialisation: PyTorch's defaults and a truncated-normal (std 0.02) position embedding (cheap
    for ViT-L/H); ViTPose starts from MAE-pretrained weights (``load_state_dict`` drops their class
    token entry and interpolates their square position grid).
    """

    OUT_TYPES = ("raw", "cls_token", "featmap", "avg_featmap")

    def __init__(self, arch: Union[str, dict] = "base", img_size: Size2 = 224, patch_size: int = 16,
                 in_channels: int = 3, patch_padding: int = 0, out_indices: Union[int, Sequence[int]] = -1,
                 drop_rate: float = 0.0, drop_path_rate: float = 0.0, qkv_bias: bool = True, norm_eps: float = 1e-6,
                 final_norm: bool = True, out_type: str = "cls_token", with_cls_token: bool = True,
                 interpolate_mode: str = "bicubic", frozen_stages: int = -1) -> None:
        super().__init__()
        if isinstance(arch, str):
            key = _ALIASES.get(arch.lower(), arch.lower())
            if key not in ARCHS:
                raise ValueError(f"unknown ViT arch {arch!r}; one of {sorted(ARCHS)} or a dict")
            dims, depth, heads, ffn = ARCHS[key]
        else:
            need = {"embed_dims", "num_layers", "num_heads", "feedforward_channels"}
            if not need <= set(arch):
                raise ValueError(f"a custom arch needs the keys {sorted(need)}")
            dims, depth, heads, ffn = (arch["embed_dims"], arch["num_layers"], arch["num_heads"],
                                       arch["feedforward_channels"])
        if out_type not in self.OUT_TYPES:
            raise ValueError(f"Unsupported `out_type` {out_type}, please choose from {self.OUT_TYPES}")
        if out_type == "cls_token" and not with_cls_token:
            raise ValueError('with_cls_token must be True when `out_type="cls_token"`.')
        self.embed_dims, self.num_layers = dims, depth
        self.img_size = _pair(img_size)
        self.out_type = out_type
        self.interpolate_mode = interpolate_mode
        self.patch_embed = PatchEmbed(in_channels, dims, patch_size, patch_padding)
        self.patch_resolution = self.patch_embed.out_size(self.img_size)
        self.num_extra_tokens = 1 if with_cls_token else 0
        self.cls_token: Optional[nn.Parameter] = nn.Parameter(torch.zeros(1, 1, dims)) if with_cls_token else None
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + self.num_extra_tokens, dims))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self._register_load_state_dict_pre_hook(self._prepare_pos_embed)
        self.drop_after_pos = nn.Dropout(drop_rate)
        idx = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        idx = [i + depth if i < 0 else i for i in idx]
        if not all(0 <= i <= depth for i in idx):
            raise ValueError(f"invalid out_indices {out_indices} for {depth} layers")
        self.out_indices = idx
        dpr = torch.linspace(0, drop_path_rate, depth).tolist() if depth > 1 else [0.0]
        self.layers = nn.ModuleList([TransformerEncoderLayer(dims, heads, ffn, drop_rate, 0.0, dpr[i], qkv_bias,
                                                             norm_eps) for i in range(depth)])
        self.final_norm = final_norm
        if final_norm:
            self.ln1 = nn.LayerNorm(dims, eps=norm_eps)
        if out_type == "avg_featmap":
            self.ln2 = nn.LayerNorm(dims, eps=norm_eps)
        self.frozen_stages = frozen_stages
        self._freeze_stages()

    def _prepare_pos_embed(self, state_dict, prefix, *args, **kwargs) -> None:
        """Checkpoint position embeddings: drop a class-token entry we do not have (mmpretrain drops
        it only when the grids match; MAE checkpoints have a square grid plus the class token), and
        interpolate a different grid (a square one, or one of our aspect ratio) onto ours."""
        name = prefix + "pos_embed"
        if name not in state_dict:
            return
        pe = state_dict[name]
        n = pe.shape[1]
        if self.cls_token is None and (n == self.pos_embed.shape[1] + 1 or (n != self.pos_embed.shape[1] and
                                                                            _is_square(n - 1) and not _is_square(n))):
            pe = pe[:, 1:]  # the class token's entry
        if pe.shape != self.pos_embed.shape and pe.dim() == 3 and pe.shape[2] == self.pos_embed.shape[2]:
            n = pe.shape[1] - self.num_extra_tokens
            side = int(round(n ** 0.5))
            if side * side == n:
                src = (side, side)
            else:  # a non-square grid: ViTPose's 16x12 (256x192 input, padding 2)
                ph, pw = self.patch_resolution
                src = next(((h, n // h) for h in range(1, n + 1) if n % h == 0 and abs(h / (n // h) - ph / pw) < 1e-6),
                           (side, n // max(side, 1)))
            pe = resize_pos_embed(pe, src, self.patch_resolution, self.interpolate_mode, self.num_extra_tokens)
        state_dict[name] = pe

    def _freeze_stages(self) -> None:
        if self.frozen_stages <= 0:
            return
        self.pos_embed.requires_grad = False
        for p in self.patch_embed.parameters():
            p.requires_grad = False
        if self.cls_token is not None:
            self.cls_token.requires_grad = False
        for layer in self.layers[:self.frozen_stages]:
            layer.eval()
            for p in layer.parameters():
                p.requires_grad = False
        if self.frozen_stages == len(self.layers) and self.final_norm:
            for p in self.ln1.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> "VisionTransformer":
        super().train(mode)
        if mode and self.frozen_stages > 0:
            self.patch_embed.eval()
            for layer in self.layers[:self.frozen_stages]:
                layer.eval()
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        B = x.shape[0]
        x, hw = self.patch_embed(x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
        x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, hw, self.interpolate_mode,
                                 self.num_extra_tokens)
        x = self.drop_after_pos(x)
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == len(self.layers) - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, hw))
        return tuple(outs)

    def _format_output(self, x: Tensor, hw: tuple[int, int]) -> Tensor:
        if self.out_type == "raw":
            return x
        if self.out_type == "cls_token":
            return x[:, 0]
        tokens = x[:, self.num_extra_tokens:]
        if self.out_type == "featmap":
            return tokens.reshape(x.shape[0], hw[0], hw[1], -1).permute(0, 3, 1, 2)
        return self.ln2(tokens.mean(dim=1))


def _vitpose(arch: str, drop_path_rate: float, img_size: Size2 = (256, 192), **kwargs) -> VisionTransformer:
    return VisionTransformer(arch, img_size=img_size, patch_size=16, patch_padding=2, qkv_bias=True,
                             drop_path_rate=drop_path_rate, with_cls_token=False, out_type="featmap", **kwargs)


def vit_small(**kwargs) -> VisionTransformer:
    """ViTPose-S backbone (384 wide, 12 layers, 12 heads; drop path 0.1)."""
    return _vitpose("vitpose-small", kwargs.pop("drop_path_rate", 0.1), **kwargs)


def vit_base(**kwargs) -> VisionTransformer:
    """ViTPose-B backbone (drop path 0.3)."""
    return _vitpose("base", kwargs.pop("drop_path_rate", 0.3), **kwargs)


def vit_large(**kwargs) -> VisionTransformer:
    """ViTPose-L backbone (drop path 0.5)."""
    return _vitpose("large", kwargs.pop("drop_path_rate", 0.5), **kwargs)


def vit_huge(**kwargs) -> VisionTransformer:
    """ViTPose-H backbone (drop path 0.55)."""
    return _vitpose("huge", kwargs.pop("drop_path_rate", 0.55), **kwargs)
