"""BottomupPoseEstimator.predict / predict_tensors against MMPose 1.3.2's BottomupPoseEstimator with
the AssociativeEmbedding codec (random weights, the ``ae_hrnet-w32_coco_512x512`` model at a small
input, BottomupResize 'expand' with size factor 64, flip test): people in original-image pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyposefast.models import bottomup_inputs, build_model, load_checkpoint
from tests.models.mmpose_ref import mmpose_models, randomize_
from tests.models.test_checkpoint_parity import HRNET_W32

INPUT = (64, 64)  # (w, h) model input; an 80x60 image resizes to a 128x64 network input ('expand', 64)
ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]
MEAN, STD = np.array([123.675, 116.28, 103.53]), np.array([58.395, 57.12, 57.375])


def _mmpose_model(MODELS):
    codec = dict(type="AssociativeEmbedding", input_size=INPUT, heatmap_size=INPUT, sigma=2, decode_topk=30,
                 decode_center_shift=0.5, decode_keypoint_order=ORDER, decode_max_instances=30)
    cfg = dict(type="BottomupPoseEstimator", backbone=dict(type="HRNet", in_channels=3, extra=HRNET_W32),
               head=dict(type="AssociativeEmbeddingHead", in_channels=32, num_keypoints=17, tag_dim=1,
                         tag_per_keypoint=True, deconv_out_channels=None,
                         keypoint_loss=dict(type="KeypointMSELoss", use_target_weight=True),
                         tag_loss=dict(type="AssociativeEmbeddingLoss", loss_weight=0.001), decoder=codec),
               test_cfg=dict(multiscale_test=False, flip_test=True, shift_heatmap=False, restore_heatmap_size=True,
                             align_corners=False))
    return MODELS.build(cfg)


@pytest.fixture(scope="module")
def setup():
    MODELS = mmpose_models()
    from mmpose.datasets.transforms import BottomupResize
    from mmpose.structures import PoseDataSample

    torch.manual_seed(0)
    ref = _mmpose_model(MODELS)
    randomize_(ref, seed=4, x=torch.randn(2, 3, 64, 128, generator=torch.Generator().manual_seed(5)))
    ours = build_model("ae_hrnet-w32_coco_512x512", input_size=INPUT).eval()
    load_checkpoint(ours, {"state_dict": ref.state_dict()})
    rng = np.random.default_rng(6)
    images = [rng.integers(0, 256, (60, 80, 3), dtype=np.uint8) for _ in range(2)]
    resize = BottomupResize(input_size=INPUT, size_factor=64, resize_mode="expand")
    xs, samples = [], []
    for img in images:
        r = resize.transform(dict(img=img, ori_shape=img.shape[:2]))
        xs.append(torch.from_numpy(((r["img"][..., ::-1] - MEAN) / STD).astype(np.float32)).permute(2, 0, 1))
        ds = PoseDataSample()
        ds.set_metainfo(dict(img_shape=r["img_shape"], input_size=r["input_size"], input_center=r["input_center"],
                             input_scale=r["input_scale"], flip_indices=ours.flip_indices))
        samples.append(ds)
    x = torch.stack(xs)
    # one backbone for both (HRNet parity is test_checkpoint_parity's): the AE decode is discontinuous
    # (argmax, round(tag distance)), so 1e-6 differences between two HRNet implementations can move a
    # filled-in keypoint; with equal network outputs the post-processing must agree
    ref.backbone = ours.backbone
    return ref, ours, images, x, samples


def _mmpose_predict(ref, x, samples):
    with torch.no_grad():
        return ref.predict(x, samples)


def test_predict_in_original_pixels_matches_mmpose(setup):
    ref, ours, _, x, samples = setup
    want = _mmpose_predict(ref, x, samples)
    assert x.shape == (2, 3, 64, 128)
    center = np.stack([s.metainfo["input_center"] for s in samples])
    scale = np.stack([s.metainfo["input_scale"] for s in samples])
    with torch.no_grad():
        kps, scores, inst = ours.predict(x, input_center=center, input_scale=scale)
    assert len(kps) == 2
    for b, ds in enumerate(want):
        p = ds.pred_instances
        assert kps[b].shape == p.keypoints.shape and len(kps[b]) > 0
        assert kps[b].dtype == np.float32
        np.testing.assert_allclose(scores[b], p.keypoint_scores, rtol=1e-6, atol=1e-6)
        # Keypoints agree except where MMPose's torch.topk met equal peaks: restoring the heatmap size
        # (bilinear, align_corners=False) duplicates the two border rows / columns exactly, and
        # torch.topk leaves the order of ties unspecified (ours: lower flat index first, see
        # ops.group). Such a keypoint has the same score and lies one network pixel away.
        moved = np.abs(kps[b] - p.keypoints).max(-1) > 1e-4
        assert moved.mean() < 0.01, moved.sum()
        px = scale[b] / np.array([128.0, 64.0])  # one network pixel in image pixels
        assert (np.abs(kps[b] - p.keypoints)[moved] <= 1.01 * px).all()
        np.testing.assert_allclose(inst[b], p.bbox_scores, rtol=1e-6, atol=1e-6)


def test_predict_tensors_padded_and_consistent(setup):
    _, ours, _, x, samples = setup
    center = torch.tensor(np.stack([s.metainfo["input_center"] for s in samples]))
    scale = torch.tensor(np.stack([s.metainfo["input_scale"] for s in samples]))
    with torch.no_grad():
        kp, sc, inst, counts = ours.predict_tensors(x, input_center=center, input_scale=scale)
        lists = ours.predict(x, input_center=center, input_scale=scale)
        kp_in, *_ = ours.predict(x)  # network-input pixels (the previous behaviour)
    assert kp.shape == (2, 30, 17, 2) and sc.shape == (2, 30, 17) and inst.shape == (2, 30)
    assert counts.dtype == torch.int64 and counts.shape == (2,)
    for b in range(2):
        n = int(counts[b])
        assert torch.equal(kp[b, :n], torch.from_numpy(lists[0][b]))
        assert (kp[b, n:] == 0).all() and (sc[b, n:] == 0).all() and (inst[b, n:] == 0).all()
        back = (kp_in[b] / np.array([128.0, 64.0]) * scale[b].numpy() + center[b].numpy() - 0.5 * scale[b].numpy())
        np.testing.assert_allclose(lists[0][b], back, rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="together"):
        ours.predict(x, input_center=center)
    with pytest.raises(ValueError, match="input_scale"):
        ours.predict(x, input_center=center, input_scale=torch.ones(3, 2))


def test_bottomup_inputs_match_bottomup_resize(setup):
    _, _, images, x, samples = setup
    got, center, scale = bottomup_inputs(images, INPUT, size_factor=64, resize_mode="expand")
    assert got.shape == x.shape
    np.testing.assert_array_equal(center.numpy(), np.stack([s.metainfo["input_center"] for s in samples]))
    np.testing.assert_array_equal(scale.numpy(), np.stack([s.metainfo["input_scale"] for s in samples]))
    # cv2 (OpenCV 4) quantises sample positions to 1/32 px; ours samples exactly
    assert (got - x).abs().mean() < 0.05
    with pytest.raises(ValueError, match="different network input sizes"):
        bottomup_inputs([images[0], np.zeros((200, 50, 3), np.uint8)], INPUT)
