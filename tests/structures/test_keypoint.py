"""pyposefast.structures.keypoint: flips, affine maps and the maps back to the image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyposefast.structures import (
    flip_keypoints,
    get_udp_warp_matrix,
    get_warp_matrix,
    invert_affine,
    keypoints_to_image,
    keypoints_to_image_affine,
    transform_keypoints,
)

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"))]
# COCO's 17 keypoints: nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
DIRECTIONS = ["horizontal", "vertical", "diagonal"]


@pytest.fixture
def mmk():
    return pytest.importorskip("mmpose.structures.keypoint")


def random_instances(rng, n, k=17, d=2, dtype=np.float32):
    kp = rng.uniform(-20, 700, (n, k, d)).astype(dtype)
    vis = rng.choice(np.array([0.0, 1.0, 1.0, 0.5], dtype=dtype), (n, k))
    return kp, vis


@pytest.mark.parity
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flip_keypoints_matches_mmpose(mmk, direction, dtype):
    rng = np.random.default_rng(0)
    kp, vis = random_instances(rng, 4, dtype=dtype)
    for args in ((kp, vis), (kp[1], vis[1]), (kp, np.stack([vis, vis * 2], -1))):  # batched, single, [N, K, 2] vis
        ref_kp, ref_vis = mmk.flip_keypoints(args[0].copy(), args[1].copy(), (640, 480), COCO_FLIP, direction)
        ours_kp, ours_vis = flip_keypoints(args[0], args[1], (640, 480), COCO_FLIP, direction)
        assert ours_kp.dtype == ref_kp.dtype and ours_kp.shape == ref_kp.shape  # diagonal: float64, as MMPose
        assert ours_vis.dtype == ref_vis.dtype and ours_vis.shape == ref_vis.shape
        np.testing.assert_array_equal(ours_kp, ref_kp)
        np.testing.assert_array_equal(ours_vis, ref_vis)
    # inputs untouched
    kp0 = kp.copy()
    flip_keypoints(kp, vis, (640, 480), COCO_FLIP, direction)
    np.testing.assert_array_equal(kp, kp0)


@pytest.mark.parity
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_flip_keypoints_batched_with_mask_equals_per_sample_mmpose(mmk, device, direction):
    rng = np.random.default_rng(1)
    n = 12
    kp, vis = random_instances(rng, n)
    sizes = rng.integers(100, 900, (n, 2))
    mask = rng.random(n) < 0.5
    mask[:2] = [True, False]
    ref_kp, ref_vis = kp.copy(), vis.copy()
    for i in np.flatnonzero(mask):
        a, b = mmk.flip_keypoints(kp[i : i + 1], vis[i : i + 1], tuple(sizes[i]), COCO_FLIP, direction)
        ref_kp[i], ref_vis[i] = a[0], b[0]
    t = lambda x: torch.from_numpy(np.ascontiguousarray(x)).to(device)  # noqa: E731
    out_kp, out_vis = flip_keypoints(t(kp), t(vis), t(sizes), COCO_FLIP, direction, mask=t(mask))
    assert out_kp.dtype == torch.float32 and out_kp.device == t(kp).device
    np.testing.assert_allclose(out_kp.cpu().numpy(), ref_kp, rtol=1e-6, atol=1e-4)
    np.testing.assert_array_equal(out_vis.cpu().numpy(), ref_vis)
    # NumPy batched with a mask agrees as well
    np_kp, np_vis = flip_keypoints(kp, vis, sizes, COCO_FLIP, direction, mask=mask)
    np.testing.assert_allclose(np_kp, ref_kp, rtol=1e-6, atol=1e-4)
    np.testing.assert_array_equal(np_vis, ref_vis)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_flip_keypoints_is_an_involution_and_carries_extra_columns(direction):
    rng = np.random.default_rng(2)
    kp, vis = random_instances(rng, 5, d=3, dtype=np.float64)
    t_kp, t_vis = torch.from_numpy(kp).requires_grad_(), torch.from_numpy(vis)
    once = flip_keypoints(t_kp, t_vis, (300.0, 200.0), COCO_FLIP, direction)
    twice = flip_keypoints(*once, (300.0, 200.0), COCO_FLIP, direction)
    torch.testing.assert_close(twice[0], t_kp, rtol=0, atol=1e-12)
    torch.testing.assert_close(twice[1], t_vis)
    # the third column is permuted like the rest but never mirrored
    perm = COCO_FLIP if direction != "diagonal" else list(range(17))
    np.testing.assert_array_equal(once[0][..., 2].detach().numpy(), kp[:, perm, 2])
    # hand-checked: nose (index 0) keeps its index; x -> W - 1 - x
    if direction == "horizontal":
        np.testing.assert_allclose(once[0][:, 0, 0].detach().numpy(), 299.0 - kp[:, 0, 0])
        np.testing.assert_allclose(once[0][:, 1, :2].detach().numpy(), np.stack([299.0 - kp[:, 2, 0], kp[:, 2, 1]], -1))
    assert torch.autograd.gradcheck(
        lambda x: flip_keypoints(x, None, (300.0, 200.0), COCO_FLIP, direction)[0], (t_kp[:2],)
    )
    assert flip_keypoints(kp, None, (300, 200), COCO_FLIP, direction)[1] is None  # MMPose's code fails here


@pytest.mark.parametrize("device", DEVICES)
def test_transform_keypoints_matches_cv2(device):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(3)
    n = 6
    kp, _ = random_instances(rng, n)
    c, s = rng.uniform(0, 600, (n, 2)), rng.uniform(20, 300, (n, 2))
    rot = rng.uniform(-180, 180, n)
    ms = get_warp_matrix(c, s, rot, (192, 256))
    # one matrix for all instances, as TopdownAffine does
    ref = cv2.transform(kp, ms[0])
    ours = transform_keypoints(kp, ms[0])
    assert ours.dtype == ref.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-3)
    ref64 = cv2.transform(kp.astype(np.float64), ms[0])
    np.testing.assert_allclose(transform_keypoints(kp.astype(np.float64), ms[0]), ref64, rtol=1e-12, atol=1e-9)
    # one matrix per instance, tensors on the device
    ref_each = np.stack([cv2.transform(kp[i : i + 1].astype(np.float64), ms[i])[0] for i in range(n)])
    t = transform_keypoints(torch.tensor(kp, dtype=torch.float64, device=device), torch.tensor(ms, device=device))
    assert t.shape == (n, 17, 2) and t.device.type == device
    np.testing.assert_allclose(t.cpu().numpy(), ref_each, rtol=1e-12, atol=1e-9)
    t32 = transform_keypoints(torch.tensor(kp, device=device), torch.tensor(ms, dtype=torch.float32, device=device))
    assert t32.dtype == torch.float32
    np.testing.assert_allclose(t32.cpu().numpy(), ref_each, rtol=1e-5, atol=1e-3)


@pytest.mark.parity
def test_keypoints_to_image_matches_mmpose_formula():
    """MMPose's TopdownPoseEstimator.add_pred_to_datasample (mmpose.models needs mmdet, so its
    expression is replayed here on MMPose's types: float32 keypoints written in place)."""
    rng = np.random.default_rng(4)
    for _ in range(20):
        kp, _ = random_instances(rng, 2, dtype=np.float32)
        kp = kp / 4
        center = rng.uniform(0, 600, 2).astype(np.float32)
        scale = rng.uniform(20, 300, 2).astype(np.float32)
        input_size = (192, 256)
        ref = kp.copy()
        ref[..., :2] = ref[..., :2] / input_size * scale + center - 0.5 * scale
        ours = keypoints_to_image(kp, input_size, center, scale)
        assert ours.dtype == np.float32
        np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("device", DEVICES)
def test_keypoints_to_image_batched_and_linear_equals_affine_inverse(device):
    rng = np.random.default_rng(5)
    n = 9
    kp = torch.tensor(rng.uniform(0, 192, (n, 17, 2)), device=device)
    center = torch.tensor(rng.uniform(0, 600, (n, 2)), device=device)
    scale = torch.tensor(rng.uniform(20, 300, (n, 1)) * [[192 / 256, 1.0]], device=device)  # aspect fixed
    lin = keypoints_to_image(kp, (192, 256), center, scale)
    per_sample = np.stack(
        [
            keypoints_to_image(kp[i].cpu().numpy(), (192, 256), center[i].cpu().numpy(), scale[i].cpu().numpy())
            for i in range(n)
        ]
    )
    np.testing.assert_allclose(lin.cpu().numpy(), per_sample, rtol=1e-12, atol=1e-9)
    # the tensor size form gives the same
    size = torch.tensor([[192.0, 256.0]], dtype=torch.float64, device=device).expand(n, 2)
    torch.testing.assert_close(keypoints_to_image(kp, size, center, scale), lin)
    # unrotated aspect-fixed crop: the linear map is the exact inverse of get_warp_matrix
    m = get_warp_matrix(center, scale, 0.0, (192, 256))
    torch.testing.assert_close(keypoints_to_image_affine(kp, m), lin, rtol=1e-12, atol=1e-9)
    # rotated: only the affine inverse brings the warped keypoints back
    rot = torch.tensor(rng.uniform(-60, 60, n), device=device)
    img_kp = torch.tensor(rng.uniform(0, 600, (n, 17, 2)), device=device)
    for mat in (get_warp_matrix(center, scale, rot, (192, 256)), get_udp_warp_matrix(center, scale, rot, (192, 256))):
        back = keypoints_to_image_affine(transform_keypoints(img_kp, mat), mat)
        torch.testing.assert_close(back, img_kp, rtol=0, atol=1e-9)
    warped = transform_keypoints(img_kp, get_warp_matrix(center, scale, rot, (192, 256)))
    assert (keypoints_to_image(warped, (192, 256), center, scale) - img_kp).abs().max() > 1.0
    # float32 in, float32 out, still close
    back32 = keypoints_to_image_affine(warped.float(), get_warp_matrix(center, scale, rot, (192, 256)).float())
    assert back32.dtype == torch.float32
    torch.testing.assert_close(back32.double(), img_kp, rtol=0, atol=2e-3)


def test_keypoints_to_image_affine_numpy_and_singular():
    rng = np.random.default_rng(6)
    kp = rng.uniform(0, 100, (3, 5, 2)).astype(np.float32)
    m = get_warp_matrix(rng.uniform(0, 600, (3, 2)), rng.uniform(20, 300, (3, 2)), rng.uniform(-90, 90, 3), (64, 48))
    out = keypoints_to_image_affine(kp, m)
    assert out.dtype == np.float32
    np.testing.assert_allclose(transform_keypoints(out.astype(np.float64), m), kp, rtol=0, atol=1e-4)
    np.testing.assert_allclose(out, transform_keypoints(kp, invert_affine(m)), rtol=1e-6, atol=1e-3)
    m[1] = 0.0  # singular: the inverse is all zeros, so the keypoints land on (0, 0)
    assert np.all(keypoints_to_image_affine(kp, m)[1] == 0)


def test_errors_name_the_argument():
    kp, vis = np.zeros((2, 17, 2), np.float32), np.ones((2, 17), np.float32)
    with pytest.raises(ValueError, match="flip_indices has 3 entries but keypoints has K=17"):
        flip_keypoints(kp, vis, (10, 10), [0, 2, 1])
    with pytest.raises(ValueError, match=r"flip_indices must lie in \[0, 17\)"):
        flip_keypoints(kp, vis, (10, 10), COCO_FLIP[:-1] + [17])
    with pytest.raises(ValueError, match="keypoints_visible must have shape"):
        flip_keypoints(kp, vis[:, :5], (10, 10), COCO_FLIP)
    with pytest.raises(ValueError, match="direction must be one of"):
        flip_keypoints(kp, vis, (10, 10), COCO_FLIP, direction="up")
    with pytest.raises(ValueError, match="mask must have shape"):
        flip_keypoints(torch.zeros(2, 17, 2), torch.ones(2, 17), (10, 10), COCO_FLIP, mask=torch.ones(3, dtype=torch.bool))
    with pytest.raises(TypeError, match="mask must be a bool"):
        flip_keypoints(torch.zeros(2, 17, 2), torch.ones(2, 17), (10, 10), COCO_FLIP, mask=torch.ones(2))
    with pytest.raises(ValueError, match=r"keypoints must have shape \(\.\.\., 2 or more\)"):
        transform_keypoints(np.zeros((2, 17, 1)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"matrices must have shape \(\.\.\., 2, 3\)"):
        transform_keypoints(np.zeros((2, 17, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="batch shapes do not broadcast"):
        transform_keypoints(torch.zeros(2, 17, 2), torch.zeros(3, 2, 3))
    with pytest.raises(TypeError, match="keypoints is a torch.Tensor but matrices is a numpy.ndarray"):
        keypoints_to_image_affine(torch.zeros(2, 17, 2), np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="input_center must have shape"):
        keypoints_to_image(kp, (192, 256), np.zeros(3), np.ones(2))
    with pytest.raises(ValueError, match="input_size must be a pair"):
        keypoints_to_image(torch.zeros(2, 17, 2), (192,), torch.zeros(2, 2), torch.ones(2, 2))
