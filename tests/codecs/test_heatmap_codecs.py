"""MSRAHeatmap / UDPHeatmap: MMPose 1.3.2's numbers on the same inputs, NumPy and tensor paths."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

from pyposefast.codecs import MSRAHeatmap, UDPHeatmap
from tests.conftest import DEVICES

CONFIGS = [
    ("MSRAHeatmap", dict(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0)),
    ("MSRAHeatmap", dict(input_size=(288, 384), heatmap_size=(72, 96), sigma=3.0)),
    ("MSRAHeatmap", dict(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0, unbiased=True)),
    ("MSRAHeatmap", dict(input_size=(256, 256), heatmap_size=(64, 64), sigma=2.5, unbiased=True)),
    ("MSRAHeatmap", dict(input_size=(100, 70), heatmap_size=(25, 35), sigma=1.5)),
    ("UDPHeatmap", dict(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0)),
    ("UDPHeatmap", dict(input_size=(288, 384), heatmap_size=(72, 96), sigma=3.0)),
    ("UDPHeatmap", dict(input_size=(192, 256), heatmap_size=(48, 64), heatmap_type="combined")),
    ("UDPHeatmap", dict(input_size=(256, 256), heatmap_size=(64, 64), heatmap_type="combined", radius_factor=0.1)),
]
OURS = {"MSRAHeatmap": MSRAHeatmap, "UDPHeatmap": UDPHeatmap}


def sample_keypoints(rng, codec, K=17):
    """One instance in input space, with the edge cases MMPose's rounding and bounds care about."""
    w, h = codec.input_size
    sf = np.asarray(codec.scale_factor, dtype=np.float64)
    kp = np.stack([rng.uniform(-0.2 * w, 1.2 * w, K), rng.uniform(-0.2 * h, 1.2 * h, K)], -1)
    kp[0] = (np.floor(kp[0] / sf) + 0.5) * sf  # exactly half a heatmap pixel: int(x + 0.5)
    kp[1] = (0, 0)
    kp[2] = (w - 1, h - 1)  # the border
    kp[3] = (w, h)
    kp[4] = (-7 * sf[0], 0.5 * h)  # just outside: partly visible patch or out of bounds
    kp[5] = (w + 100 * sf[0], 3.0)  # far outside
    vis = rng.choice(np.array([0.0, 1.0, 1.0, 1.0, 0.3, 0.6]), size=K)
    vis[:6] = 1.0
    return kp[None].astype(np.float32), vis[None].astype(np.float32)


def tolerances(kw):
    # MMPose evaluates MSRA / unbiased Gaussians in float32 (a few ulp from ours, which evaluate in
    # float64 and round once), UDP in float64: identical after rounding.
    if kw.get("unbiased"):
        return dict(rtol=1e-5, atol=1e-12)
    return dict(rtol=1e-6, atol=1e-12)


@pytest.mark.parity
@pytest.mark.parametrize("name,kw", CONFIGS)
def test_encode_matches_mmpose(name, kw):
    mmpose_codecs = pytest.importorskip("mmpose.codecs", reason="MMPose 1.3.2 (test extra) not installed")
    ours, theirs = OURS[name](**kw), getattr(mmpose_codecs, name)(**kw)
    np.testing.assert_array_equal(ours.scale_factor, theirs.scale_factor)
    rng = np.random.default_rng(zlib.crc32(str(kw).encode()))
    for _ in range(25):
        kp, vis = sample_keypoints(rng, ours)
        a, b = ours.encode(kp, vis), theirs.encode(kp, vis)
        assert set(a) == set(b) == {"heatmaps", "keypoint_weights"}
        assert a["heatmaps"].dtype == b["heatmaps"].dtype and a["heatmaps"].shape == b["heatmaps"].shape
        np.testing.assert_allclose(a["heatmaps"], b["heatmaps"], **tolerances(kw))
        np.testing.assert_array_equal(a["keypoint_weights"], b["keypoint_weights"])
        assert a["keypoint_weights"].dtype == b["keypoint_weights"].dtype
    # no visibility given: all visible
    a, b = ours.encode(kp), theirs.encode(kp)
    np.testing.assert_allclose(a["heatmaps"], b["heatmaps"], **tolerances(kw))
    np.testing.assert_array_equal(a["keypoint_weights"], b["keypoint_weights"])


@pytest.mark.parity
def test_mmpose_codec_attributes():
    mmpose_codecs = pytest.importorskip("mmpose.codecs", reason="MMPose 1.3.2 (test extra) not installed")
    for name, kw in CONFIGS:
        ours, theirs = OURS[name](**kw), getattr(mmpose_codecs, name)(**kw)
        for attr in ("label_mapping_table", "field_mapping_table", "instance_mapping_table", "auxiliary_encode_keys"):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
        for attr in ("input_size", "heatmap_size", "sigma", "blur_kernel_size"):
            assert getattr(ours, attr) == getattr(theirs, attr), attr


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,kw", CONFIGS)
def test_batch_encode_equals_per_sample_encode(device, name, kw):
    codec = OURS[name](**kw)
    rng = np.random.default_rng(21)
    samples = [sample_keypoints(rng, codec) for _ in range(6)]
    kp = torch.from_numpy(np.concatenate([s[0] for s in samples])).to(device)
    vis = torch.from_numpy(np.concatenate([s[1] for s in samples])).to(device)
    out = codec.batch_encode(kp, vis)
    K = kp.shape[1]
    assert out["heatmaps"].device.type == device
    assert out["heatmaps"].shape[:2] == (6, K * (3 if kw.get("heatmap_type") == "combined" else 1))
    assert out["keypoint_weights"].shape == (6, K)
    for i, (kp_i, vis_i) in enumerate(samples):
        one = codec.encode(kp_i, vis_i)
        np.testing.assert_array_equal(out["heatmaps"][i].cpu().numpy(), one["heatmaps"])
        np.testing.assert_array_equal(out["keypoint_weights"][i].cpu().numpy(), one["keypoint_weights"][0])
        # tensors in -> tensors out, on the same device
        one_t = codec.encode(torch.from_numpy(kp_i).to(device), torch.from_numpy(vis_i).to(device))
        assert isinstance(one_t["heatmaps"], torch.Tensor) and one_t["heatmaps"].device.type == device
        np.testing.assert_array_equal(one_t["heatmaps"].cpu().numpy(), one["heatmaps"])


@pytest.mark.parametrize("device", DEVICES)
def test_batch_encode_half_output(device):
    codec = MSRAHeatmap((192, 256), (48, 64), 2.0)
    kp = torch.rand(8, 17, 2, device=device) * torch.tensor([192.0, 256.0], device=device)
    full = codec.batch_encode(kp)["heatmaps"]
    half = codec.batch_encode(kp, dtype=torch.float16)["heatmaps"]
    assert half.dtype == torch.float16
    torch.testing.assert_close(half, full.half())


def test_multi_instance_encode_merges():
    codec = MSRAHeatmap((192, 256), (48, 64), 2.0)
    kp = np.array([[[40.0, 40.0]], [[120.0, 200.0]]], dtype=np.float32)
    out = codec.encode(kp)
    assert out["heatmaps"].shape == (1, 64, 48) and out["keypoint_weights"].shape == (2, 1)
    assert out["heatmaps"][0, 10, 10] == 1.0 and out["heatmaps"][0, 50, 30] == 1.0


def test_codec_errors():
    with pytest.raises(ValueError, match="invalid `heatmap_type`"):
        UDPHeatmap((192, 256), (48, 64), heatmap_type="offset")
    with pytest.raises(ValueError, match="sigma must be a positive"):
        MSRAHeatmap((192, 256), (48, 64), sigma=-1)
    with pytest.raises(ValueError, match="heatmap_size must be a pair"):
        MSRAHeatmap((192, 256), (48,), sigma=2)
    codec = MSRAHeatmap((192, 256), (48, 64), 2.0)
    with pytest.raises(ValueError, match=r"keypoints must be \[N, K, 2\]"):
        codec.encode(np.zeros((17, 2), np.float32))
    with pytest.raises(ValueError, match="keypoints_visible must have shape"):
        codec.encode(np.zeros((1, 17, 2), np.float32), np.ones((1, 16), np.float32))
    with pytest.raises(ValueError, match=r"keypoints must be \[B, K, 2\]"):
        codec.batch_encode(torch.zeros(2, 3, 17, 2))
    with pytest.raises(TypeError, match="keypoints must hold real numbers"):
        codec.encode(np.array([[["a", "b"]]]))
