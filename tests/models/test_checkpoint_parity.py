"""MMPose 1.3.2 checkpoint parity: build MMPose's model (random weights, BN statistics from one
batch), save its state dict as an MMPose checkpoint, load it into ours with ``load_checkpoint`` and
compare the network outputs (MMPose's ``mode='tensor'``) on the same input.

CSPNeXt is built from MMPose's own copy (the RTMPose configs take mmdet's, which has the same
structure and keys). Not parity-tested here: models that need ``mmcv.ops`` (none of ours); ViTPose
(mmpretrain's backbone) is in test_vit_parity.py.
"""

from __future__ import annotations

import pytest
import torch

from pyposefast.models import build_model, load_checkpoint
from pyposefast.models.checkpoint import CheckpointMismatchError
from tests.models.mmpose_ref import mmpose_models, randomize_

pytestmark = pytest.mark.parity

HRNET_W32 = dict(
    stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(4,), num_channels=(64,)),
    stage2=dict(num_modules=1, num_branches=2, block="BASIC", num_blocks=(4, 4), num_channels=(32, 64)),
    stage3=dict(num_modules=4, num_branches=3, block="BASIC", num_blocks=(4, 4, 4), num_channels=(32, 64, 128)),
    stage4=dict(num_modules=3, num_branches=4, block="BASIC", num_blocks=(4, 4, 4, 4), num_channels=(32, 64, 128, 256)),
)


def _cfg(name):
    td = dict(type="TopdownPoseEstimator", test_cfg=dict(flip_test=False))
    if name == "resnet50_coco_256x192":
        return dict(td, backbone=dict(type="ResNet", depth=50),
                    head=dict(type="HeatmapHead", in_channels=2048, out_channels=17,
                              loss=dict(type="KeypointMSELoss", use_target_weight=True))), (64, 64)
    if name == "hrnet-w32_coco_256x192":
        return dict(td, backbone=dict(type="HRNet", in_channels=3, extra=HRNET_W32),
                    head=dict(type="HeatmapHead", in_channels=32, out_channels=17, deconv_out_channels=None,
                              loss=dict(type="KeypointMSELoss", use_target_weight=True))), (64, 64)
    if name == "rtmpose-m_coco_256x192":
        return dict(td, backbone=dict(type="CSPNeXt", arch="P5", expand_ratio=0.5, deepen_factor=0.67,
                                      widen_factor=0.75, out_indices=(4,), channel_attention=True,
                                      norm_cfg=dict(type="BN"), act_cfg=dict(type="SiLU")),
                    head=dict(type="RTMCCHead", in_channels=768, out_channels=17, input_size=(192, 256),
                              in_featuremap_size=(6, 8), simcc_split_ratio=2.0, final_layer_kernel_size=7,
                              gau_cfg=dict(hidden_dims=256, s=128, expansion_factor=2, dropout_rate=0.0,
                                           drop_path=0.0, act_fn="SiLU", use_rel_bias=False, pos_enc=False),
                              loss=dict(type="KLDiscretLoss", use_target_weight=True, beta=10.0,
                                        label_softmax=True))), (192, 256)
    if name == "ae_hrnet-w32_coco_512x512":
        return dict(type="BottomupPoseEstimator", backbone=dict(type="HRNet", in_channels=3, extra=HRNET_W32),
                    head=dict(type="AssociativeEmbeddingHead", in_channels=32, num_keypoints=17, tag_dim=1,
                              tag_per_keypoint=True, deconv_out_channels=None,
                              keypoint_loss=dict(type="KeypointMSELoss", use_target_weight=True),
                              tag_loss=dict(type="AssociativeEmbeddingLoss", loss_weight=0.001)),
                    test_cfg=dict(flip_test=False)), (64, 64)
    if name == "rle_resnet50_coco_256x192":
        return dict(td, backbone=dict(type="ResNet", depth=18), neck=dict(type="GlobalAveragePooling"),
                    head=dict(type="RLEHead", in_channels=512, num_joints=17,
                              loss=dict(type="RLELoss", use_target_weight=True))), (96, 128)
    if name == "deeppose_resnet50_coco_256x192":
        return dict(td, backbone=dict(type="ResNet", depth=18), neck=dict(type="GlobalAveragePooling"),
                    head=dict(type="RegressionHead", in_channels=512, num_joints=17,
                              loss=dict(type="SmoothL1Loss", use_target_weight=True))), (96, 128)
    if name == "simcc_resnet50_coco_256x192":
        return dict(td, backbone=dict(type="ResNet", depth=50),
                    head=dict(type="SimCCHead", in_channels=2048, out_channels=17, input_size=(96, 128),
                              in_featuremap_size=(3, 4), simcc_split_ratio=2.0, deconv_out_channels=None,
                              loss=dict(type="KLDiscretLoss", use_target_weight=True))), (96, 128)
    if name == "ipr_resnet50_coco_256x256":
        return dict(td, backbone=dict(type="ResNet", depth=50),
                    head=dict(type="IntegralRegressionHead", in_channels=2048, in_featuremap_size=(2, 2),
                              num_joints=17, loss=dict(type="SmoothL1Loss", use_target_weight=True))), (64, 64)
    if name == "mobilenetv2_coco_256x192":
        return dict(td, backbone=dict(type="MobileNetV2", widen_factor=1.0, out_indices=(7,)),
                    head=dict(type="HeatmapHead", in_channels=1280, out_channels=17,
                              loss=dict(type="KeypointMSELoss", use_target_weight=True))), (64, 64)
    if name == "shufflenetv2_coco_256x192":
        return dict(td, backbone=dict(type="ShuffleNetV2", widen_factor=1.0),
                    head=dict(type="HeatmapHead", in_channels=1024, out_channels=17,
                              loss=dict(type="KeypointMSELoss", use_target_weight=True))), (64, 64)
    if name == "litehrnet-18_coco_256x192":
        extra = dict(stem=dict(stem_channels=32, out_channels=32, expand_ratio=1), num_stages=3,
                     stages_spec=dict(num_modules=(2, 4, 2), num_branches=(2, 3, 4), num_blocks=(2, 2, 2),
                                      module_type=("LITE", "LITE", "LITE"), with_fuse=(True, True, True),
                                      reduce_ratios=(8, 8, 8),
                                      num_channels=((40, 80), (40, 80, 160), (40, 80, 160, 320))),
                     with_head=True)
        return dict(td, backbone=dict(type="LiteHRNet", in_channels=3, extra=extra),
                    head=dict(type="HeatmapHead", in_channels=40, out_channels=17, deconv_out_channels=None,
                              loss=dict(type="KeypointMSELoss", use_target_weight=True))), (64, 64)
    raise AssertionError(name)


def _ours(name, size):
    if name in ("rle_resnet50_coco_256x192", "deeppose_resnet50_coco_256x192"):
        # the parity build uses ResNet-18 to stay cheap: swap the backbone and the head's input width
        from pyposefast.models.backbones import ResNet
        from pyposefast.models.heads import RegressionHead, RLEHead

        m = build_model(name, input_size=size)
        m.backbone = ResNet(18)
        cls = RLEHead if name.startswith("rle") else RegressionHead
        m.head = cls(512, 17, decoder=m.head.decoder)
        return m
    return build_model(name, input_size=size)


NAMES = ["resnet50_coco_256x192", "hrnet-w32_coco_256x192", "rtmpose-m_coco_256x192", "ae_hrnet-w32_coco_512x512",
         "rle_resnet50_coco_256x192", "deeppose_resnet50_coco_256x192", "simcc_resnet50_coco_256x192",
         "ipr_resnet50_coco_256x256", "mobilenetv2_coco_256x192", "shufflenetv2_coco_256x192",
         "litehrnet-18_coco_256x192"]


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_parity(name, tmp_path):
    MODELS = mmpose_models()
    cfg, (w, h) = _cfg(name)
    torch.manual_seed(0)
    ref = MODELS.build(cfg)
    x = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(1))
    randomize_(ref, seed=2, x=x)
    path = tmp_path / "mmpose.pth"
    torch.save({"state_dict": ref.state_dict(), "meta": {"mmpose_version": "1.3.2"}}, path)
    ours = _ours(name, (w, h)).eval()
    load_checkpoint(ours, str(path))
    with torch.no_grad():
        want = ref(x, None, mode="tensor")
        got = ours(x)
    want = want if isinstance(want, (tuple, list)) else (want,)
    got = got if isinstance(got, (tuple, list)) else (got,)
    assert len(want) == len(got)
    for a, b in zip(got, want):
        assert a.shape == b.shape
        scale = b.abs().max().clamp(min=1.0)
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-5 * float(scale)), float((a - b).abs().max())


def test_videopose3d_parity(tmp_path):
    MODELS = mmpose_models()
    cfg = dict(type="PoseLifter",
               backbone=dict(type="TCN", in_channels=2 * 17, stem_channels=1024, num_blocks=2, kernel_sizes=(3, 3, 3),
                             dropout=0.25, use_stride_conv=True),
               head=dict(type="TemporalRegressionHead", in_channels=1024, num_joints=17,
                         loss=dict(type="MPJPELoss")))
    ref = MODELS.build(cfg)
    x = torch.randn(4, 34, 27, generator=torch.Generator().manual_seed(1))
    randomize_(ref, seed=3, x=x)
    ours = build_model("videopose3d-27f_h36m").eval()
    load_checkpoint(ours, {"state_dict": ref.state_dict()})
    with torch.no_grad():
        want = ref(x, None, mode="tensor")
        got = ours(x)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-5)


def test_mismatched_checkpoint_lists_keys():
    m = build_model("rtmpose-t_coco_256x192", input_size=(64, 64))
    sd = m.state_dict()
    sd.pop("head.cls_x.weight")
    sd["head.extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError, match=r"missing keys.*head\.cls_x\.weight.*unexpected keys.*head\.extra\.weight"):
        load_checkpoint(m, {"state_dict": sd})
