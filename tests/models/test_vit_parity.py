"""ViTPose parity with MMPose 1.3.2 + mmpretrain 1.2.0: MMPose's ``td-hm_ViTPose-base`` model
(``mmpretrain.VisionTransformer`` backbone, random weights) loaded into ours with ``load_checkpoint``,
outputs compared at 1e-5; and the ViT backbone alone in its other configurations (class token,
``out_type``, several ``out_indices``, position-embedding interpolation, an MAE-style checkpoint).
Skips when MMPose or mmpretrain is absent (``tools/install_parity.sh`` installs both).
"""

from __future__ import annotations

import pytest
import torch

from pyposefast.models import build_model, load_checkpoint
from pyposefast.models.backbones import VisionTransformer
from tests.models.mmpose_ref import mmpose_models, randomize_
from tests.models.mmpretrain_ref import vision_transformer

pytestmark = pytest.mark.parity


def _close(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.shape == b.shape
    scale = float(b.abs().max().clamp(min=1.0))
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-5 * scale), float((a - b).abs().max())


@pytest.mark.parametrize("size", [(64, 64)])
def test_vitpose_b_checkpoint_parity(size, tmp_path):
    MODELS = mmpose_models()
    vision_transformer()
    cfg = dict(type="TopdownPoseEstimator", test_cfg=dict(flip_test=False),
               backbone=dict(type="mmpretrain.VisionTransformer", arch="base", img_size=(256, 192), patch_size=16,
                             qkv_bias=True, drop_path_rate=0.3, with_cls_token=False, out_type="featmap",
                             patch_cfg=dict(padding=2)),
               head=dict(type="HeatmapHead", in_channels=768, out_channels=17, deconv_out_channels=(256, 256),
                         deconv_kernel_sizes=(4, 4), loss=dict(type="KeypointMSELoss", use_target_weight=True)))
    w, h = size
    torch.manual_seed(0)
    ref = MODELS.build(cfg)
    x = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(1))
    randomize_(ref, seed=2, x=x)
    path = tmp_path / "vitpose.pth"
    torch.save({"state_dict": ref.state_dict(), "meta": {"mmpose_version": "1.3.2"}}, path)
    ours = build_model("vitpose-b_coco_256x192", input_size=(w, h)).eval()
    load_checkpoint(ours, str(path))
    with torch.no_grad():
        _close(ours(x), ref(x, None, mode="tensor"))


TINY = dict(embed_dims=64, num_layers=3, num_heads=4, feedforward_channels=96)


@pytest.mark.parametrize("kw,size", [
    (dict(with_cls_token=False, out_type="featmap", out_indices=(0, -1), patch_padding=2), (40, 56)),  # native
    (dict(with_cls_token=True, out_type="featmap", out_indices=-1), (48, 40)),  # interpolated grid
    (dict(with_cls_token=True, out_type="cls_token", final_norm=False), (40, 56)),
    (dict(with_cls_token=True, out_type="avg_featmap", out_indices=(1, 2)), (40, 56)),
    (dict(with_cls_token=False, out_type="raw", qkv_bias=False), (40, 56)),
])
def test_vit_backbone_parity(kw, size):
    VT = vision_transformer()
    kw = dict(kw)
    ref_kw = dict(kw)
    padding = ref_kw.pop("patch_padding", 0)
    ref_kw["out_indices"] = list(ref_kw["out_indices"]) if isinstance(ref_kw.get("out_indices"), tuple) \
        else ref_kw.get("out_indices", -1)
    torch.manual_seed(0)
    ref = VT(arch=dict(TINY), img_size=(56, 40), patch_size=8, patch_cfg=dict(padding=padding), **ref_kw)
    randomize_(ref, seed=4)
    ours = VisionTransformer(dict(TINY), img_size=(56, 40), patch_size=8, **kw).eval()
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, size[1], size[0], generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        want, got = ref(x), ours(x)
    assert len(want) == len(got)
    for a, b in zip(got, want):
        _close(a, b)


def test_vit_mae_style_checkpoint():
    """A class-token checkpoint with a square grid (MAE pre-training) loads into a ViTPose backbone:
    the class-token entry is dropped and the grid interpolated with mmpretrain's ``resize_pos_embed``
    (mmpretrain's own hook drops the entry only when the grids match)."""
    VT = vision_transformer()
    from mmpretrain.models.utils import resize_pos_embed

    ref = VT(arch=dict(TINY), img_size=32, patch_size=8, with_cls_token=True, out_type="featmap")
    randomize_(ref, seed=6)
    sd = ref.state_dict()
    assert sd["pos_embed"].shape == (1, 17, 64)
    ours = VisionTransformer(dict(TINY), img_size=(56, 40), patch_size=8, with_cls_token=False, out_type="featmap")
    ours.load_state_dict({k: v for k, v in sd.items() if k != "cls_token"})
    want = resize_pos_embed(sd["pos_embed"][:, 1:], (4, 4), (7, 5), "bicubic", 0)
    assert torch.allclose(ours.pos_embed, want, atol=1e-6)
