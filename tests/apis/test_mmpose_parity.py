"""End-to-end parity with MMPose 1.3.2's ``inference_topdown`` / ``inference_bottomup`` (their steps): the same
weights, the same image and boxes, keypoints and scores in image pixels (MMPose's val pipeline with
OpenCV >= 5's exact warp, its data preprocessor, flip test, decode and map back)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyposefast.apis import PoseInferencer
from pyposefast.datasets import dataset_meta
from pyposefast.models import load_checkpoint
from tests.models.mmpose_ref import mmpose_models, randomize_

from .conftest import tiny_bottomup, tiny_topdown

pytestmark = pytest.mark.parity

PREPROCESSOR = dict(type="PoseDataPreprocessor", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                    bgr_to_rgb=True)
TINY_RESNET = dict(type="ResNet", depth=18, stem_channels=8, base_channels=8, num_stages=2, strides=(1, 2),
                   dilations=(1, 1), out_indices=(1,))


def _mmpose_model(cfg, x):
    ref = mmpose_models().build(cfg)
    return randomize_(ref, seed=3, x=x)


def _mmpose_run(ref, pipeline, img, boxes=None):
    """What ``mmpose.apis.inference_topdown`` / ``inference_bottomup`` do (that module itself needs
    ``pkg_resources``, which this environment lacks): the val pipeline per instance, collate,
    ``test_step``."""
    from mmengine.dataset import Compose, pseudo_collate

    compose = Compose(pipeline)
    infos = []
    for box in ([None] if boxes is None else boxes):
        # a float32 copy: OpenCV then warps without rounding to uint8, as our fused warp + normalise
        info = dict(img=img.astype(np.float32), img_path="array")
        if box is not None:
            info.update(bbox=np.asarray(box, np.float32)[None], bbox_score=np.ones(1, np.float32))
        info.update(dataset_meta("coco"))
        infos.append(compose(info))
    with torch.no_grad():
        return ref.test_step(pseudo_collate(infos))


@pytest.mark.parametrize("udp", [False, True])
def test_topdown_matches_mmpose(udp):
    w, h = 48, 64
    codec = dict(type="UDPHeatmap" if udp else "MSRAHeatmap", input_size=(w, h), heatmap_size=(w // 4, h // 4),
                 sigma=2)
    cfg = dict(type="TopdownPoseEstimator", data_preprocessor=PREPROCESSOR, backbone=TINY_RESNET,
               head=dict(type="HeatmapHead", in_channels=16, out_channels=17, deconv_out_channels=(16,),
                         deconv_kernel_sizes=(4,), loss=dict(type="KeypointMSELoss", use_target_weight=True),
                         decoder=codec),
               test_cfg=dict(flip_test=True, flip_mode="heatmap", shift_heatmap=not udp))
    pipeline = [dict(type="LoadImage"), dict(type="GetBBoxCenterScale"),
                dict(type="TopdownAffine", input_size=(w, h), use_udp=udp), dict(type="PackPoseInputs")]
    ref = _mmpose_model(cfg, torch.randn(4, 3, h, w, generator=torch.Generator().manual_seed(1)))
    ours = tiny_topdown(udp=udp)
    load_checkpoint(ours, {"state_dict": ref.state_dict()})
    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, size=(150, 200, 3), dtype=np.uint8)
    boxes = np.array([[20, 10, 90, 140], [80, 30, 190, 120]], np.float32)
    want = _mmpose_run(ref, pipeline, img, boxes)
    (got,) = PoseInferencer(ours, device="cpu", bbox_thr=0.0)(img, boxes)
    want_kp = np.concatenate([d.pred_instances.keypoints for d in want])
    want_sc = np.concatenate([d.pred_instances.keypoint_scores for d in want])
    if udp:
        # MMPose's UDP warp matrices are float32 and its DARK-UDP runs in float64 on the host;
        # DARK on random heatmaps is ill-conditioned, so a few keypoints move by a tenth of a pixel
        err = np.abs(got["keypoints"] - want_kp).max(-1)
        assert (err < 0.01).mean() >= 0.9 and err.max() < 0.25, np.sort(err.ravel())[-5:]
    else:
        np.testing.assert_allclose(got["keypoints"], want_kp, atol=1e-3)
    np.testing.assert_allclose(got["keypoint_scores"], want_sc, atol=1e-3)
    np.testing.assert_allclose(got["bboxes"], np.concatenate([d.pred_instances.bboxes for d in want]))


def test_bottomup_matches_mmpose():

    codec = dict(type="AssociativeEmbedding", input_size=(64, 64), heatmap_size=(64, 64), sigma=2, decode_topk=5,
                 decode_center_shift=0.5, decode_max_instances=4, decode_keypoint_order=list(range(17)))
    cfg = dict(type="BottomupPoseEstimator", data_preprocessor=PREPROCESSOR, backbone=TINY_RESNET,
               head=dict(type="AssociativeEmbeddingHead", in_channels=16, num_keypoints=17, tag_dim=1,
                         tag_per_keypoint=True, deconv_out_channels=(16,), deconv_kernel_sizes=(4,),
                         keypoint_loss=dict(type="KeypointMSELoss", use_target_weight=True),
                         tag_loss=dict(type="AssociativeEmbeddingLoss", loss_weight=0.001), decoder=codec),
               test_cfg=dict(flip_test=True, shift_heatmap=False, restore_heatmap_size=True, align_corners=False))
    pipeline = [dict(type="LoadImage"), dict(type="BottomupResize", input_size=(64, 64), size_factor=32,
                                             resize_mode="expand"), dict(type="PackPoseInputs")]
    ref = _mmpose_model(cfg, torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1)))
    with torch.no_grad():  # heatmaps around 0.5 so that people are found (as tiny_bottomup)
        ref.head.final_layer.bias[:17] += 0.5
    ours = tiny_bottomup()
    load_checkpoint(ours, {"state_dict": ref.state_dict()})
    img = np.random.default_rng(8).integers(0, 256, size=(120, 160, 3), dtype=np.uint8)
    (want,) = _mmpose_run(ref, pipeline, img)
    (got,) = PoseInferencer(ours, device="cpu", bottomup_size_factor=32, bbox_thr=0.0)(img)
    assert len(got["keypoints"]) == len(want.pred_instances.keypoints) > 0
    # a random network's tags make near-ties in the grouping and in filling missing keypoints (an
    # argmin over every pixel), where float rounding of the two implementations picks another pixel
    # now and then: most keypoints are identical, instance scores close
    same = np.abs(got["keypoints"] - want.pred_instances.keypoints).max(-1) < 1e-3
    assert same.mean() >= 0.85, same.mean()
    np.testing.assert_allclose(got["keypoint_scores"][same], want.pred_instances.keypoint_scores[same], atol=1e-3)
    np.testing.assert_allclose(got["bbox_scores"], want.pred_instances.bbox_scores, atol=5e-3)
