"""load_checkpoint with ViT position embeddings of another patch grid: interpolated as mmpretrain's
``resize_pos_embed`` / ``VisionTransformer._prepare_pos_embed`` do (bicubic; class-token entry kept
apart, or dropped for ViTPose's class-token-free backbone)."""

from __future__ import annotations

import pytest
import torch

from pyposefast.models import build_model, load_checkpoint
from pyposefast.models.backbones import VisionTransformer
from pyposefast.models.checkpoint import CheckpointMismatchError
from tests.models.mmpose_ref import randomize_
from tests.models.mmpretrain_ref import vision_transformer

pytestmark = pytest.mark.parity

TINY = dict(embed_dims=64, num_layers=2, num_heads=4, feedforward_channels=128)


def test_vitpose_loads_a_224_pretrained_checkpoint():
    """A 224x224 checkpoint (14x14 grid + class token) into a ViTPose backbone at 256x192 (16x12 grid,
    patch padding 2, no class token) through load_checkpoint: the grid is resized with mmpretrain's
    function. (A two-layer ViT: the embedding handling does not depend on the depth.)"""
    vision_transformer()
    from mmpretrain.models.utils import resize_pos_embed

    model = torch.nn.Module()
    model.backbone = VisionTransformer(dict(TINY), img_size=(256, 192), patch_size=16, patch_padding=2,
                                       with_cls_token=False, out_type="featmap")
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    C = sd["backbone.pos_embed"].shape[-1]
    assert sd["backbone.pos_embed"].shape == (1, 16 * 12, C)
    g = torch.Generator().manual_seed(0)
    pretrained = torch.randn(1, 1 + 14 * 14, C, generator=g)
    sd["backbone.pos_embed"] = pretrained
    sd["backbone.cls_token"] = torch.randn(1, 1, C, generator=g)
    load_checkpoint(model, {"state_dict": sd, "meta": {"note": "mae 224"}})
    want = resize_pos_embed(pretrained[:, 1:], (14, 14), (16, 12), "bicubic", 0)
    assert torch.allclose(model.backbone.pos_embed.detach(), want, rtol=0, atol=1e-6)
    assert not torch.allclose(want, torch.nn.functional.interpolate(
        pretrained[:, 1:].reshape(1, 14, 14, C).permute(0, 3, 1, 2), size=(16, 12), mode="bilinear",
        align_corners=False).flatten(2).transpose(1, 2), atol=1e-3)  # bicubic, not bilinear


def test_class_token_vit_matches_mmpretrain_loading():
    """With a class token: our load_checkpoint and mmpretrain's own load_state_dict (its pre-hook)
    give the same embeddings when the checkpoint grid (4x4) differs from the model's (7x5)."""
    VT = vision_transformer()
    src = VT(arch=dict(TINY), img_size=32, patch_size=8, with_cls_token=True, out_type="cls_token")
    randomize_(src, seed=7)
    sd = src.state_dict()
    assert sd["pos_embed"].shape == (1, 17, 64)
    ref = VT(arch=dict(TINY), img_size=(56, 40), patch_size=8, with_cls_token=True, out_type="cls_token")
    ref.load_state_dict(sd)
    ours = VisionTransformer(dict(TINY), img_size=(56, 40), patch_size=8, with_cls_token=True, out_type="cls_token")
    load_checkpoint(ours, {"state_dict": sd})
    assert ours.pos_embed.shape == (1, 1 + 7 * 5, 64)
    assert torch.allclose(ours.pos_embed, ref.pos_embed, rtol=0, atol=1e-6)
    x = torch.randn(2, 3, 56, 40, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        ours.eval()
        ref.eval()
        a, b = ours(x), ref(x)
    assert torch.allclose(a[-1], b[-1], rtol=1e-5, atol=1e-5)


def test_other_mismatches_still_raise():
    model = build_model("vitpose-s_coco_256x192")
    sd = model.state_dict()
    sd["backbone.pos_embed"] = torch.zeros(1, 50, 7)  # wrong width: cannot be interpolated
    with pytest.raises(CheckpointMismatchError, match="pos_embed"):
        load_checkpoint(model, {"state_dict": sd})
