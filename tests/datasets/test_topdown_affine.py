"""TopdownAffine: MMPose 1.3.2's bbox_scale, transformed keypoints and crop pixels (within 1 grey
level of cv2.warpAffine), for use_udp False and True, with rotations and boxes off the image."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from pyposefast.datasets.transforms import TopdownAffine


def make_results(rng, rotate: bool):
    H, W = int(rng.integers(40, 300)), int(rng.integers(40, 300))
    img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    center = np.array([[rng.uniform(-0.2 * W, 1.2 * W), rng.uniform(-0.2 * H, 1.2 * H)]], dtype=np.float32)
    scale = np.array([[rng.uniform(10, 2 * W), rng.uniform(10, 2 * H)]], dtype=np.float32)
    kp = np.stack([rng.uniform(0, W, (1, 17)), rng.uniform(0, H, (1, 17))], -1).astype(np.float32)
    results = dict(img=img, bbox_center=center, bbox_scale=scale, keypoints=kp,
                   keypoints_visible=np.ones((1, 17), np.float32))
    if rotate:
        results["bbox_rotation"] = np.array([rng.uniform(-80, 80)], dtype=np.float32)
    return results


@pytest.mark.parity
@pytest.mark.parametrize("use_udp", [False, True])
@pytest.mark.parametrize("rotate", [False, True])
def test_matches_mmpose(use_udp, rotate):
    transforms = pytest.importorskip("mmpose.datasets.transforms", reason="MMPose 1.3.2 (test extra) not installed")
    rng = np.random.default_rng(int(use_udp) * 2 + int(rotate))
    for input_size in [(192, 256), (288, 384), (64, 64)]:
        for _ in range(6):
            base = make_results(rng, rotate)
            ours = TopdownAffine(input_size, use_udp=use_udp)(copy.deepcopy(base))
            theirs = transforms.TopdownAffine(input_size, use_udp=use_udp)(copy.deepcopy(base))
            np.testing.assert_allclose(ours["bbox_scale"], theirs["bbox_scale"], rtol=1e-6)
            np.testing.assert_allclose(ours["transformed_keypoints"], theirs["transformed_keypoints"], atol=1e-4)
            assert ours["img"].dtype == theirs["img"].dtype == np.uint8
            assert ours["img"].shape == theirs["img"].shape == (input_size[1], input_size[0], 3)
            diff = np.abs(ours["img"].astype(int) - theirs["img"].astype(int))
            assert diff.max() <= 1, f"max grey-level difference {diff.max()}"
            assert ours["input_size"] == theirs["input_size"]
            np.testing.assert_allclose(ours["input_center"], theirs["input_center"])
            np.testing.assert_allclose(ours["input_scale"], theirs["input_scale"])


def test_without_keypoints_and_image_lists():
    rng = np.random.default_rng(5)
    base = make_results(rng, False)
    del base["keypoints"]
    base["img"] = [base["img"], base["img"][..., :1].copy()]
    out = TopdownAffine((32, 48))(base)
    assert out["img"][0].shape == (48, 32, 3) and out["img"][1].shape == (48, 32, 1)
    assert out["transformed_keypoints"].shape == () and out["keypoints_visible"].shape == (1, 1, 1)


def test_errors():
    with pytest.raises(ValueError, match="Invalid input_size"):
        TopdownAffine((192.0, 256))
    rng = np.random.default_rng(6)
    base = make_results(rng, False)
    base["bbox_center"] = np.zeros((2, 2), np.float32)
    base["bbox_scale"] = np.ones((2, 2), np.float32)
    with pytest.raises(ValueError, match="only supports single instance"):
        TopdownAffine((32, 32))(base)
