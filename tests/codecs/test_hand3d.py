"""Hand3DHeatmap: MMPose parity of encode / decode on random inputs, batched encode / decode against
the single-sample path, peak geometry, argument errors, and the CUDA path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyposefast.codecs.hand_3d_heatmap import Hand3DHeatmap, get_heatmap_3d_maximum
from tests.conftest import requires_cuda

CONFIGS = [  # (codec kwargs) MMPose's InterNet config, and small odd ones (float radius, non-square)
    dict(image_size=[256, 256], heatmap_size=[64, 64, 64], sigma=2.5, max_bound=255, depth_size=64),
    dict(image_size=[96, 64], heatmap_size=[24, 16, 12], sigma=2, depth_size=12, root_heatmap_size=16,
         heatmap_size_root=16, heatmap3d_depth_bound=300.0, root_depth_bound=350.0),
    dict(image_size=[64, 80], heatmap_size=[20, 30, 10], sigma=1.3, depth_size=10, joint_indices=[0, 3, 5, 7]),
]


def random_keypoints(rng: np.random.Generator, codec_kw: dict, n: int = 1, k: int = 42) -> np.ndarray:
    """Keypoints spread over and past the input (volumes clipped at every face)."""
    w, h = codec_kw["image_size"]
    bound = codec_kw.get("heatmap3d_depth_bound", 400.0)
    return np.stack([rng.uniform(-0.1 * w, 1.1 * w, (n, k)), rng.uniform(-0.1 * h, 1.1 * h, (n, k)),
                     rng.uniform(-0.6 * bound, 0.6 * bound, (n, k))], -1).astype(np.float32)


def encode_args(rng: np.random.Generator) -> dict:
    return dict(dataset_keypoint_weights=None, rel_root_depth=np.float32(rng.uniform(-250, 250)),
                rel_root_valid=np.float32(1.0), hand_type=np.array([[1, 0]], np.float32),
                hand_type_valid=np.array([1.0]), focal=None, principal_pt=None)


@pytest.mark.parity
@pytest.mark.parametrize("cfg", range(len(CONFIGS)))
def test_encode_decode_match_mmpose(cfg):
    mm_codecs = pytest.importorskip("mmpose.codecs")
    kw = CONFIGS[cfg]
    ref, ours = mm_codecs.Hand3DHeatmap(**kw), Hand3DHeatmap(**kw)
    rng = np.random.default_rng(cfg)
    for n in (1, 2):
        kp = random_keypoints(rng, kw, n)
        vis = (rng.uniform(size=kp.shape[:2]) > 0.2).astype(np.float32)
        args = encode_args(rng)
        expected, got = ref.encode(kp, vis, **args), ours.encode(kp, vis, **args)
        assert set(expected) == set(got)
        for key in expected:
            a, b = np.asarray(expected[key]), np.asarray(got[key])
            assert a.shape == b.shape and a.dtype == b.dtype, key
            np.testing.assert_array_equal(a, b, err_msg=key)
        assert got["heatmaps"].max() > 0
    W, H, D = kw["heatmap_size"]
    K = len(kw.get("joint_indices") or range(42))
    for _ in range(3):
        hm = rng.normal(size=(K, D, H, W)).astype(np.float32)
        hm[0] = -1.0  # no positive maximum: location -1
        root, types = rng.uniform(0, 64, (1,)).astype(np.float32), rng.normal(size=(2,)).astype(np.float32)
        for a, b in zip(ref.decode(hm, root, types), ours.decode(hm, root, types)):
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_dataset_weights_and_root_validity():
    kw = dict(CONFIGS[1], use_different_joint_weights=True)
    codec = Hand3DHeatmap(**kw)
    rng = np.random.default_rng(5)
    kp = random_keypoints(rng, kw)
    kp[0, 0, 2] = 1000.0  # past the depth bound: weight 0
    weights = rng.uniform(0.5, 2, 42).astype(np.float32)
    out = codec.encode(kp, None, weights, rel_root_depth=np.float32(400.0), rel_root_valid=np.float32(1.0))
    z_bin = (kp[0, :, 2] / 300.0 + 0.5) * 12
    np.testing.assert_allclose(out["keypoint_weights"][0], weights * ((z_bin >= 0) & (z_bin < 12)))
    assert out["keypoint_weights"][0, 0] == 0
    assert out["root_depth_weight"][0] == 0  # 400 mm is past root_depth_bound / 2 = 175
    with pytest.raises(ValueError, match="dataset_keypoint_weights"):
        codec.encode(kp, None, None)
    mm_codecs = pytest.importorskip("mmpose.codecs")
    ref = mm_codecs.Hand3DHeatmap(**kw).encode(kp, None, weights, np.float32(400.0), np.float32(1.0), None, None,
                                               None, None)
    np.testing.assert_array_equal(ref["heatmaps"], out["heatmaps"])
    np.testing.assert_array_equal(ref["keypoint_weights"], out["keypoint_weights"])


def test_peak_at_the_keypoint_and_round_trip():
    kw = CONFIGS[0]
    codec = Hand3DHeatmap(**kw)
    kp = np.array([[[96.0, 64.0, -100.0], [13.0, 201.0, 123.0]]], dtype=np.float32)
    out = codec.encode(kp, None)
    vol = out["heatmaps"].reshape(2, 64, 64, 64)
    # keypoint 0 sits on voxel (x, y, z) = (24, 16, 16): peak max_bound there
    assert vol[0, 16, 16, 24] == pytest.approx(255.0) and vol[0].max() == vol[0, 16, 16, 24]
    # sigma 2.5: the window offsets are half-integers, rounded half to even, so (as in MMPose) a
    # keypoint on a voxel only draws even voxels
    assert vol[0, :, :, 1::2].max() == 0 and vol[0, 1::2].max() == 0 and vol[1, :, :, 1::2].max() > 0
    keypoints, scores, root, types = codec.decode(vol, np.array([32.0], np.float32), np.array([0.3, -0.2]))
    np.testing.assert_array_equal(keypoints[0, 0], kp[0, 0])
    assert np.abs(keypoints[0, 1, :2] - kp[0, 1, :2]).max() <= 4 * 1.5  # within 1.5 voxels
    assert abs(keypoints[0, 1, 2] - kp[0, 1, 2]) <= 400 / 64 * 1.5
    np.testing.assert_array_equal(root, [0.0])
    np.testing.assert_array_equal(types, [[1, 0]])
    assert scores.shape == (1, 2) and scores.min() > 100


def test_batched_matches_single_sample():
    kw = CONFIGS[1]
    codec = Hand3DHeatmap(**kw)
    rng = np.random.default_rng(11)
    B = 4
    kp = random_keypoints(rng, kw, B)  # [B, K, 3]: one instance per sample
    vis = (rng.uniform(size=(B, 42)) > 0.3).astype(np.float32)
    root = rng.uniform(-300, 300, B).astype(np.float32)
    valid = np.array([1, 0, 1, 1], np.float32)
    types = TYPES = np.array([[1, 0], [0, 1], [1, 1], [1, 0]], np.float32)
    batch = codec.batch_encode(torch.from_numpy(kp), torch.from_numpy(vis), torch.from_numpy(root),
                               torch.from_numpy(valid), torch.from_numpy(TYPES), torch.ones(B))
    W, H, D = kw["heatmap_size"]
    assert batch["heatmaps"].shape == (B, 42, D, H, W)
    for b in range(B):
        single = codec.encode(kp[b:b + 1], vis[b:b + 1], rel_root_depth=root[b], rel_root_valid=valid[b])
        np.testing.assert_array_equal(batch["heatmaps"][b].reshape(-1, H, W).numpy(), single["heatmaps"])
        np.testing.assert_array_equal(batch["keypoint_weights"][b].numpy(), single["keypoint_weights"][0])
        np.testing.assert_array_equal(batch["root_depth"][b].numpy(), single["root_depth"])
        np.testing.assert_array_equal(batch["root_depth_weight"][b].numpy(), single["root_depth_weight"])
    np.testing.assert_array_equal(batch["type"].numpy(), types)
    # tensors in -> tensors out, same numbers as NumPy
    t = codec.encode(torch.from_numpy(kp[:1]), torch.from_numpy(vis[:1]), rel_root_depth=torch.tensor(root[0]))
    assert isinstance(t["heatmaps"], torch.Tensor)
    np.testing.assert_array_equal(t["heatmaps"].numpy(), batch["heatmaps"][0].reshape(-1, H, W).numpy())

    hm = torch.randn(B, 42, D, H, W, generator=torch.Generator().manual_seed(0))
    rd, ht = torch.rand(B, 1) * 16, torch.randn(B, 2)
    keypoints, scores, rel_root, hand_type = codec.batch_decode(hm, rd, ht)
    assert keypoints.shape == (B, 42, 3) and rel_root.shape == (B,) and hand_type.dtype == torch.int64
    for b in range(B):
        single = codec.decode(hm[b].numpy(), rd[b].numpy(), ht[b].numpy())
        np.testing.assert_array_equal(keypoints[b].numpy(), single[0][0])
        np.testing.assert_array_equal(scores[b].numpy(), single[1][0])
        np.testing.assert_array_equal(rel_root[b:b + 1].numpy(), single[2])
        np.testing.assert_array_equal(hand_type[b].numpy(), single[3][0])


def test_heatmap_3d_maximum_first_max_and_empty():
    hm = torch.zeros(2, 3, 4, 5)
    hm[0, 1, 2, 3] = 2.0
    hm[0, 2, 0, 0] = 2.0  # a later tie: the first in (z, y, x) order wins
    locs, vals = get_heatmap_3d_maximum(hm)
    assert locs[0].tolist() == [3.0, 2.0, 1.0] and vals[0] == 2.0
    assert locs[1].tolist() == [-1.0, -1.0, -1.0]  # maximum 0: no location
    locs, vals = get_heatmap_3d_maximum(torch.zeros(0, 3, 4, 5))
    assert locs.shape == (0, 3) and vals.shape == (0,)


def test_argument_errors():
    with pytest.raises(ValueError, match="heatmap_size must be"):
        Hand3DHeatmap(heatmap_size=[64, 64])
    with pytest.raises(ValueError, match="sigma must be positive"):
        Hand3DHeatmap(sigma=0)
    codec = Hand3DHeatmap(**CONFIGS[1])
    with pytest.raises(ValueError, match=r"keypoints must be \[N, K, 3\]"):
        codec.encode(np.zeros((1, 42, 2), np.float32))
    with pytest.raises(ValueError, match="keypoints_visible must be"):
        codec.encode(np.zeros((1, 42, 3), np.float32), np.ones((1, 41)))
    with pytest.raises(TypeError, match="keypoints must hold real numbers"):
        codec.encode(np.array([["a"] * 3] * 42)[None])
    with pytest.raises(ValueError, match=r"batch_heatmaps must be \[B, K, D, H, W\]"):
        codec.batch_decode(torch.zeros(2, 42, 16, 24), torch.zeros(2, 1), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="batch_root_depth must be"):
        codec.batch_decode(torch.zeros(2, 42, 12, 16, 24), torch.zeros(3, 1), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"rel_root_depth must be \[2, 1\]"):
        codec.batch_encode(torch.zeros(2, 42, 3), rel_root_depth=torch.zeros(3))


@requires_cuda
@pytest.mark.cuda
def test_cuda_matches_cpu():
    kw = CONFIGS[0]
    codec = Hand3DHeatmap(**kw)
    rng = np.random.default_rng(2)
    B = 16
    kp = torch.from_numpy(random_keypoints(rng, kw, B))
    vis = torch.from_numpy((rng.uniform(size=(B, 42)) > 0.2).astype(np.float32))
    cpu = codec.batch_encode(kp, vis, torch.zeros(B))
    gpu = codec.batch_encode(kp.cuda(), vis.cuda(), torch.zeros(B, device="cuda"))
    assert gpu["heatmaps"].is_cuda
    # values up to max_bound: CUDA's expf differs from the CPU's by a few ulp
    torch.testing.assert_close(gpu["heatmaps"].cpu(), cpu["heatmaps"], rtol=2e-5, atol=1e-4)
    torch.testing.assert_close(gpu["keypoint_weights"].cpu(), cpu["keypoint_weights"], rtol=0, atol=0)
    dec_cpu = codec.batch_decode(cpu["heatmaps"], torch.rand(B, 1) * 64, torch.randn(B, 2))
    dec_gpu = codec.batch_decode(cpu["heatmaps"].cuda(), torch.rand(B, 1, device="cuda"), torch.randn(B, 2).cuda())
    torch.testing.assert_close(dec_gpu[0].cpu(), dec_cpu[0], rtol=0, atol=0)
