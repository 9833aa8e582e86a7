"""Heatmap-target ops: CPU kernel vs CUDA kernel vs NumPy baseline, errors, opcheck, torch.compile."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyposefast import baseline, ops
from tests.conftest import DEVICES, random_keypoints, requires_cuda

METHODS = ["msra", "unbiased", "udp", "offset"]
OUT_DTYPES = [torch.float32, torch.float16, torch.bfloat16]
# float32: both sides round the same float64 value, up to exp()'s last bit; float16/bfloat16: one
# rounding step of the output dtype.
TOL = {torch.float32: dict(rtol=2e-7, atol=1e-38), torch.float16: dict(rtol=1e-3, atol=1e-7),
       torch.bfloat16: dict(rtol=8e-3, atol=1e-38)}


def run_op(method, kp, vis, size, sigma, dtype=torch.float32, instance_valid=None):
    if method == "offset":
        return ops.udp_offset_heatmaps(kp, vis, size, 0.0546875 * sigma, instance_valid=instance_valid, dtype=dtype)
    return ops.gaussian_heatmaps(kp, vis, size, sigma, method, instance_valid=instance_valid, dtype=dtype)


def run_baseline(method, kp, vis, size, sigma, instance_valid=None):
    if method == "offset":
        return baseline.udp_offset_heatmaps(kp, vis, size, 0.0546875 * sigma, instance_valid=instance_valid)
    return baseline.gaussian_heatmaps(kp, vis, size, sigma, method, instance_valid=instance_valid)


def assert_matches_baseline(method, kp, vis, size, sigma, device, dtype=torch.float32, instance_valid=None):
    t_valid = None if instance_valid is None else torch.from_numpy(instance_valid).to(device)
    hm, w = run_op(method, torch.from_numpy(kp).to(device), torch.from_numpy(vis).to(device), size, sigma, dtype, t_valid)
    ref_hm, ref_w = run_baseline(method, kp, vis, size, sigma, instance_valid)
    assert hm.dtype == dtype and hm.device.type == device
    assert w.dtype == torch.float32
    torch.testing.assert_close(hm.cpu(), torch.from_numpy(ref_hm).to(dtype), **TOL[dtype])
    torch.testing.assert_close(w.cpu(), torch.from_numpy(ref_w), rtol=0, atol=0)
    return hm, w


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "B,N,K,W,H,sigma",
    [
        (6, None, 17, 48, 64, 2.0),  # top-down COCO
        (3, None, 133, 72, 96, 3.0),  # whole-body
        (2, 6, 17, 32, 32, 2.0),  # bottom-up
        (3, 4, 5, 13, 7, 1.3),  # odd sizes, non-integer radius
        (2, 2, 3, 5, 3, 0.4),  # tiny maps
        (1, 3, 4, 40, 30, 7.7),  # Gaussian wider than the map
    ],
)
def test_matches_baseline(device, method, B, N, K, W, H, sigma):
    rng = np.random.default_rng(zlib.crc32(repr((method, B, K, W, H)).encode()))
    shape = (B, K) if N is None else (B, N, K)
    kp, vis = random_keypoints(rng, shape, W, H, margin=3 * sigma + 3)
    assert_matches_baseline(method, kp, vis, (W, H), sigma, device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", OUT_DTYPES[1:])
@pytest.mark.parametrize("method", METHODS)
def test_low_precision_output(device, dtype, method):
    rng = np.random.default_rng(7)
    kp, vis = random_keypoints(rng, (4, 2, 9), 24, 20, margin=5)
    assert_matches_baseline(method, kp, vis, (24, 20), 1.7, device, dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("method", METHODS)
def test_instance_valid_masks_instances(device, method):
    rng = np.random.default_rng(11)
    kp, vis = random_keypoints(rng, (3, 5, 6), 20, 16, special=False)
    valid = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    hm, w = assert_matches_baseline(method, kp, vis, (20, 16), 2.0, device, instance_valid=valid)
    assert torch.all(hm[1] == 0)
    assert torch.all(w[torch.from_numpy(~valid).to(w.device)] == 0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(0, 17), (4, 0), (0, 3, 17), (2, 0, 17), (2, 3, 0)])
def test_empty_batches(device, method, shape):
    kp = torch.zeros(shape + (2,), device=device)
    vis = torch.ones(shape, device=device)
    hm, w = run_op(method, kp, vis, (8, 6), 2.0)
    channels = shape[-1] * (3 if method == "offset" else 1)
    assert hm.shape == (shape[0], channels, 6, 8)
    assert w.shape == shape
    assert torch.all(hm == 0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("method", METHODS)
def test_nan_and_far_keypoints_are_never_drawn(device, method):
    kp = torch.tensor([[[float("nan"), 3.0], [2.0, float("inf")], [1e30, -1e30], [4.0, 5.0]]], device=device)
    vis = torch.tensor([[1.0, 1.0, 1.0, float("nan")]], device=device)
    hm, w = run_op(method, kp, vis, (10, 8), 2.0)
    assert torch.all(hm == 0) and torch.isfinite(hm).all()
    assert torch.equal(w.cpu(), torch.zeros(1, 4))


@pytest.mark.parametrize("device", DEVICES)
def test_msra_rules(device):
    """Hand-checked MSRA facts: peak 1 at int(mu + 0.5), weight rules, max-merge of instances."""
    kp = torch.tensor([[[10.5, 4.49], [-6.6, 3.0], [-6.4, 3.0], [3.0, 3.0]],
                       [[10.5, 4.49], [30.0, 30.0], [0.0, 0.0], [3.0, 3.0]]], device=device)
    vis = torch.tensor([[1.0, 1.0, 1.0, 0.3], [1.0, 1.0, 0.0, 0.7]], device=device)
    hm, w = ops.gaussian_heatmaps(kp[None], vis[None], (16, 12), 2.0, "msra")
    hm, w = hm[0].cpu(), w[0].cpu()
    # int(10.5 + 0.5) = 11, int(4.49 + 0.5) = 4 -> peak 1 there, for both instances (max, not sum)
    assert hm[0, 4, 11] == 1.0 and hm[0].max() == 1.0
    assert hm[0, 4, 12] == pytest.approx(math.exp(-1 / 8), rel=1e-7)
    # x = -6.6: int(-6.1) = -6, right = int(-6 + 7) = 1 >= 0 -> partly visible, weight 1; column 0 at d=6
    assert w[0, 1] == 1.0 and hm[1, 3, 0] == pytest.approx(math.exp(-36 / 8), rel=1e-6)
    # x = 30 is outside a 16-wide map by more than 3 sigma -> weight 0; invisible 0.3 keeps 0.3
    assert w[1, 1] == 0.0 and w[0, 3] == pytest.approx(0.3) and w[1, 2] == 0.0
    assert w[1, 3] == pytest.approx(0.7) and hm[3, 3, 3] == 1.0


@pytest.mark.parametrize("device", DEVICES)
def test_udp_offset_last_instance_wins(device):
    kp = torch.tensor([[[[4.0, 4.0]], [[10.0, 2.0]]]], device=device)  # B=1, N=2, K=1
    vis = torch.ones(1, 2, 1, device=device)
    hm, w = ops.udp_offset_heatmaps(kp, vis, (16, 8), 0.125)  # r = 2 px
    hm = hm.cpu()
    assert hm.shape == (1, 3, 8, 16)
    assert hm[0, 0, 2, 10] == 1 and hm[0, 0, 4, 4] == 0  # the second instance drew keypoint 0
    assert hm[0, 1, 0, 0] == pytest.approx(5.0) and hm[0, 2, 0, 0] == pytest.approx(1.0)


@pytest.mark.parametrize("device", DEVICES)
def test_noncontiguous_and_other_input_dtypes(device):
    rng = np.random.default_rng(3)
    kp, vis = random_keypoints(rng, (5, 17), 48, 64, special=False)
    ref = ops.gaussian_heatmaps(torch.from_numpy(kp).to(device), torch.from_numpy(vis).to(device), (48, 64), 2.0)
    kp_t = torch.from_numpy(kp).to(device).transpose(0, 1).contiguous().transpose(0, 1)  # non-contiguous
    assert not kp_t.is_contiguous()
    vis_bool = torch.from_numpy(vis >= 0.5).to(device)
    out = ops.gaussian_heatmaps(kp_t.double(), vis_bool, (48, 64), 2.0)
    assert torch.equal(out[0], ref[0] * 1)  # same maps (visibility only gates drawing)


def test_errors_name_the_argument():
    kp = torch.rand(2, 17, 2)
    vis = torch.ones(2, 17)
    with pytest.raises(TypeError, match="keypoints must be a torch.Tensor"):
        ops.gaussian_heatmaps(kp.numpy(), vis, (48, 64), 2.0)
    with pytest.raises(TypeError, match="keypoints must be a floating-point"):
        ops.gaussian_heatmaps(kp.long(), vis, (48, 64), 2.0)
    with pytest.raises(ValueError, match=r"keypoints must be \[B, K, 2\]"):
        ops.gaussian_heatmaps(kp[0], vis[0], (48, 64), 2.0)
    with pytest.raises(ValueError, match=r"keypoints must be \[B, K, 2\]"):
        ops.gaussian_heatmaps(torch.rand(2, 17, 3), vis, (48, 64), 2.0)
    with pytest.raises(ValueError, match="keypoints_visible must have shape"):
        ops.gaussian_heatmaps(kp, torch.ones(2, 16), (48, 64), 2.0)
    with pytest.raises(TypeError, match="keypoints_visible must be a real"):
        ops.gaussian_heatmaps(kp, vis.to(torch.complex64), (48, 64), 2.0)
    with pytest.raises(ValueError, match="sigma must be a positive"):
        ops.gaussian_heatmaps(kp, vis, (48, 64), 0.0)
    with pytest.raises(ValueError, match="sigma must be a positive"):
        ops.gaussian_heatmaps(kp, vis, (48, 64), float("nan"))
    with pytest.raises(ValueError, match="heatmap_size must be a pair"):
        ops.gaussian_heatmaps(kp, vis, (48, 0), 2.0)
    with pytest.raises(ValueError, match="heatmap_size must be a pair"):
        ops.gaussian_heatmaps(kp, vis, (48.0, 64), 2.0)
    with pytest.raises(ValueError, match="heatmap_size must be a pair"):
        ops.gaussian_heatmaps(kp, vis, 48, 2.0)
    with pytest.raises(ValueError, match="method must be one of"):
        ops.gaussian_heatmaps(kp, vis, (48, 64), 2.0, "megvii")
    with pytest.raises(TypeError, match="dtype must be one of"):
        ops.gaussian_heatmaps(kp, vis, (48, 64), 2.0, dtype=torch.float64)
    with pytest.raises(ValueError, match="instance_valid is only for the bottom-up"):
        ops.gaussian_heatmaps(kp, vis, (48, 64), 2.0, instance_valid=torch.ones(2, 1))
    with pytest.raises(ValueError, match=r"instance_valid must have shape \(2, 3\)"):
        ops.gaussian_heatmaps(torch.rand(2, 3, 17, 2), None, (48, 64), 2.0, instance_valid=torch.ones(2, 4))
    with pytest.raises(ValueError, match="radius_factor must be a positive"):
        ops.udp_offset_heatmaps(kp, vis, (48, 64), -1.0)


def test_kernel_level_checks():
    """Direct torch.ops calls are checked in C++ too (never a crash on a bad call)."""
    op = torch.ops.pyposefast.gaussian_heatmaps
    with pytest.raises(RuntimeError, match=r"keypoints must be \[B, N, K, 2\]"):
        op(torch.rand(2, 17, 2), torch.ones(2, 17), 48, 64, 2.0, "msra", torch.float32)
    with pytest.raises(RuntimeError, match="keypoints_visible must be \\[B, N, K\\]"):
        op(torch.rand(2, 1, 17, 2), torch.ones(2, 1, 16), 48, 64, 2.0, "msra", torch.float32)
    with pytest.raises(RuntimeError, match="keypoints must be float32"):
        op(torch.rand(2, 1, 17, 2).double(), torch.ones(2, 1, 17), 48, 64, 2.0, "msra", torch.float32)
    with pytest.raises(RuntimeError, match="method must be"):
        op(torch.rand(2, 1, 17, 2), torch.ones(2, 1, 17), 48, 64, 2.0, "nope", torch.float32)
    with pytest.raises(RuntimeError, match="heatmap size must be positive"):
        op(torch.rand(2, 1, 17, 2), torch.ones(2, 1, 17), -1, 64, 2.0, "msra", torch.float32)
    with pytest.raises(RuntimeError, match="sigma must be positive"):
        op(torch.rand(2, 1, 17, 2), torch.ones(2, 1, 17), 4, 4, -2.0, "msra", torch.float32)
    with pytest.raises(RuntimeError, match="dtype must be"):
        op(torch.rand(2, 1, 17, 2), torch.ones(2, 1, 17), 4, 4, 2.0, "msra", torch.int32)


@requires_cuda
@pytest.mark.cuda
def test_mixed_devices_rejected():
    with pytest.raises(ValueError, match="keypoints_visible is on cpu but keypoints is on cuda"):
        ops.gaussian_heatmaps(torch.rand(2, 17, 2, device="cuda"), torch.ones(2, 17), (48, 64), 2.0)


@requires_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", OUT_DTYPES)
def test_cuda_matches_cpu_kernel(method, dtype):
    """The two kernels compute the same float64 expression: results agree to the last bit or one ulp."""
    rng = np.random.default_rng(5)
    for shape, W, H, sigma in [((64, 17), 48, 64, 2.0), ((8, 30, 17), 128, 128, 2.0), ((3, 2, 7), 61, 33, 2.6)]:
        kp, vis = random_keypoints(rng, shape, W, H)
        kp_t, vis_t = torch.from_numpy(kp), torch.from_numpy(vis)
        hm_c, w_c = run_op(method, kp_t, vis_t, (W, H), sigma, dtype)
        hm_g, w_g = run_op(method, kp_t.cuda(), vis_t.cuda(), (W, H), sigma, dtype)
        torch.testing.assert_close(hm_g.cpu(), hm_c, **TOL[dtype])
        assert torch.equal(w_g.cpu(), w_c)


@requires_cuda
@pytest.mark.cuda
def test_cuda_unaligned_output_planes():
    """H*W not a multiple of 4 takes the scalar store path; every pixel must still be written."""
    rng = np.random.default_rng(9)
    kp, vis = random_keypoints(rng, (5, 3, 7), 13, 7)
    for method in METHODS:
        assert_matches_baseline(method, kp, vis, (13, 7), 1.5, "cuda")


@requires_cuda
@pytest.mark.cuda
def test_cuda_many_instances_and_streams():
    """N beyond one shared-memory chunk (64), and work on a side stream."""
    rng = np.random.default_rng(13)
    kp, vis = random_keypoints(rng, (2, 150, 3), 40, 40)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        for method in METHODS:
            assert_matches_baseline(method, kp, vis, (40, 40), 2.0, "cuda")


@pytest.mark.parametrize("device", DEVICES)
def test_opcheck(device):
    rng = np.random.default_rng(17)
    samples = []
    for shape, W, H in [((3, 1, 5), 12, 10), ((2, 4, 3), 9, 7), ((0, 1, 3), 4, 4), ((2, 0, 3), 4, 4)]:
        kp, vis = random_keypoints(rng, shape, W, H, special=False)
        kp_t, vis_t = torch.from_numpy(kp).to(device), torch.from_numpy(vis).to(device)
        for method in ["msra", "unbiased", "udp"]:
            for dtype in OUT_DTYPES:
                samples.append((torch.ops.pyposefast.gaussian_heatmaps, (kp_t, vis_t, W, H, 1.5, method, dtype)))
        samples.append((torch.ops.pyposefast.udp_offset_heatmaps, (kp_t, vis_t, W, H, 2.0, torch.float32)))
    for op, args in samples:
        torch.library.opcheck(op, args)


@pytest.mark.parametrize("device", DEVICES)
def test_torch_compile_fullgraph(device):
    """The checked wrappers trace through torch.compile without graph breaks (fake kernels)."""

    def targets(kp, vis):
        hm, w = ops.gaussian_heatmaps(kp * 0.25, vis, (48, 64), 2.0, "msra")
        off, _ = ops.udp_offset_heatmaps(kp * 0.25, vis, (48, 64))
        return hm * w[..., None, None], off

    backend = "inductor" if device == "cuda" else "aot_eager"
    compiled = torch.compile(targets, fullgraph=True, backend=backend)
    kp = torch.rand(4, 17, 2, device=device) * 200
    vis = torch.ones(4, 17, device=device)
    expected = targets(kp, vis)
    got = compiled(kp, vis)
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    B=st.integers(0, 3),
    N=st.one_of(st.none(), st.integers(0, 4)),
    K=st.integers(0, 5),
    W=st.integers(1, 40),
    H=st.integers(1, 40),
    sigma=st.floats(0.05, 12.0),
    method=st.sampled_from(METHODS),
    seed=st.integers(0, 2**31),
)
def test_property_cpu_matches_baseline(B, N, K, W, H, sigma, method, seed):
    rng = np.random.default_rng(seed)
    shape = (B, K) if N is None else (B, N, K)
    kp, vis = random_keypoints(rng, shape, W, H, margin=3 * sigma + 4)
    assert_matches_baseline(method, kp, vis, (W, H), sigma, "cpu")


@requires_cuda
@pytest.mark.cuda
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    B=st.integers(0, 3),
    N=st.one_of(st.none(), st.integers(0, 70)),
    K=st.integers(0, 5),
    W=st.integers(1, 70),
    H=st.integers(1, 70),
    sigma=st.floats(0.05, 12.0),
    method=st.sampled_from(METHODS),
    dtype=st.sampled_from(OUT_DTYPES),
    seed=st.integers(0, 2**31),
)
def test_property_cuda_matches_baseline(B, N, K, W, H, sigma, method, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = (B, K) if N is None else (B, N, K)
    kp, vis = random_keypoints(rng, shape, W, H, margin=3 * sigma + 4)
    assert_matches_baseline(method, kp, vis, (W, H), sigma, "cuda", dtype)
