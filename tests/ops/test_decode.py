"""Decoding ops: CPU kernel vs CUDA kernel vs NumPy baseline, edge cases, errors, opcheck, compile."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyposefast import baseline, ops
from tests.conftest import DEVICES, requires_cuda

HEATMAP_REFINES = ["none", "quarter", "dark", "dark_udp", "megvii"]
BLUR = {"none": 1, "quarter": 1, "dark": 11, "dark_udp": 11, "megvii": 11}


def peaked_maps(rng: np.random.Generator, B: int, K: int, H: int, W: int, special: bool = True) -> np.ndarray:
    """Gaussian blobs (peaks 0.2-1.2, some off the map) plus a little noise, and the cases the rules
    care about: all-zero, negative, flat, tiny (the modulation clamps bind), huge (UDP's clip at 50),
    peaks on the border, exact ties. (Refinement steps on ill-conditioned maps, e.g. a flat ridge,
    amplify float32 rounding arbitrarily, in MMPose too: the cases here are well-conditioned.)"""
    ys, xs = np.mgrid[0:H, 0:W]
    hm = np.empty((B, K, H, W), dtype=np.float32)
    for b in range(B):
        for k in range(K):
            cx, cy = rng.uniform(-2, W + 1), rng.uniform(-2, H + 1)
            s = rng.uniform(1.5, 3.0)
            blob = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * s * s)) * rng.uniform(0.2, 1.2)
            hm[b, k] = blob + rng.normal(0, 0.005, (H, W))
    if special and B and K >= 8 and H >= 8 and W >= 8:
        hm[0, 0] = 0.0
        hm[0, 1] = -np.abs(hm[0, 1]) - 0.01
        hm[0, 2] = 0.5
        hm[0, 3] *= 1e-5
        hm[0, 4] *= 200.0
        hm[0, 5] = 0.01
        hm[0, 5, 0, W // 2 : W // 2 + 2] = (3.0, 2.0)  # maximum on the top border
        hm[0, 6, H // 2, 1] = 5.0  # x = 1: MMPose's quarter offset never moves it
        hm[0, 7, 3, 4] = hm[0, 7, 5, 2] = 9.0  # tie: the first in row-major order wins
    return hm


def assert_decoded_close(got, expected, refine):
    kp, sc = (t.cpu().numpy() for t in got)
    ekp, esc = expected
    np.testing.assert_allclose(kp, ekp, rtol=0, atol=1e-4, equal_nan=True)
    if refine in ("megvii", "udp_combined"):
        np.testing.assert_allclose(sc, esc, rtol=1e-5, atol=1e-6, equal_nan=True)
    else:
        np.testing.assert_array_equal(sc, esc)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("refine", HEATMAP_REFINES)
@pytest.mark.parametrize("B,K,H,W", [(3, 9, 64, 48), (2, 8, 17, 13), (1, 2, 5, 7), (2, 1, 1, 6)])
def test_heatmaps_match_baseline(device, refine, B, K, H, W):
    rng = np.random.default_rng(B * 1000 + K * 10 + H)
    hm = peaked_maps(rng, B, K, H, W)
    expected = baseline.decode_heatmaps(hm, refine, BLUR[refine])
    got = ops.decode_heatmaps(torch.from_numpy(hm).to(device), refine, BLUR[refine])
    assert got[0].shape == (B, K, 2) and got[1].shape == (B, K)
    assert got[0].dtype == got[1].dtype == torch.float32 and got[0].device.type == device
    assert_decoded_close(got, expected, refine)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ks", [3, 5, 7, 9, 17, 23])
def test_blur_kernel_sizes_match_baseline(device, ks):
    rng = np.random.default_rng(ks)
    hm = peaked_maps(rng, 2, 8, 40, 30)
    for refine in ("dark", "dark_udp", "megvii"):
        got = ops.decode_heatmaps(torch.from_numpy(hm).to(device), refine, ks)
        assert_decoded_close(got, baseline.decode_heatmaps(hm, refine, ks), refine)


@pytest.mark.parametrize("device", DEVICES)
def test_udp_combined_matches_baseline(device):
    rng = np.random.default_rng(5)
    cls = peaked_maps(rng, 2, 8, 64, 48)
    off = rng.normal(0, 0.3, (2, 8, 2, 64, 48)).astype(np.float32)
    hm = np.concatenate([cls[:, :, None], off], axis=2).reshape(2, 24, 64, 48)
    for ks in (23, 3, 1):
        expected = baseline.decode_heatmaps(hm, "udp_combined", ks, 3.5)
        got = ops.decode_heatmaps(torch.from_numpy(hm).to(device), "udp_combined", ks, 3.5)
        assert_decoded_close(got, expected, "udp_combined")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_inputs(device, dtype):
    rng = np.random.default_rng(3)
    hm = torch.from_numpy(peaked_maps(rng, 2, 8, 32, 24)).to(dtype)
    as_float = hm.float().numpy()
    for refine in HEATMAP_REFINES:
        got = ops.decode_heatmaps(hm.to(device), refine, BLUR[refine])
        assert_decoded_close(got, baseline.decode_heatmaps(as_float, refine, BLUR[refine]), refine)


@pytest.mark.parametrize("device", DEVICES)
def test_argmax_rules(device):
    hm = torch.zeros(1, 4, 6, 8)
    hm[0, 0, 2, 3] = hm[0, 0, 4, 1] = 1.0  # tie -> (3, 2)
    hm[0, 1] = -1.0  # non-positive -> (-1, -1), score -1
    hm[0, 2, 5, 7] = 2.0  # last pixel
    # channel 3 all zero -> (-1, -1), score 0
    kp, sc = ops.decode_heatmaps(hm.to(device), "none")
    assert kp.cpu().tolist()[0] == [[3.0, 2.0], [-1.0, -1.0], [7.0, 5.0], [-1.0, -1.0]]
    assert sc.cpu().tolist()[0] == [1.0, -1.0, 2.0, 0.0]


@pytest.mark.parametrize("device", DEVICES)
def test_quarter_offset_bounds_as_coded(device):
    hm = torch.zeros(1, 3, 8, 8)
    hm[0, 0, 4, 1], hm[0, 0, 4, 2] = 1.0, 0.5  # x = 1: never shifted in x
    hm[0, 1, 4, 4], hm[0, 1, 4, 5], hm[0, 1, 5, 4] = 1.0, 0.5, 0.25  # +x and +y
    hm[0, 2, 0, 4], hm[0, 2, 0, 5] = 1.0, 0.5  # y = 0: MMPose's dx test needs 0 < y
    kp, _ = ops.decode_heatmaps(hm.to(device), "quarter")
    assert kp.cpu().tolist()[0] == [[1.0, 4.0], [4.25, 4.25], [4.0, 0.0]]


@pytest.mark.parametrize("device", DEVICES)
def test_non_finite_values_are_defined(device):
    hm = torch.from_numpy(peaked_maps(np.random.default_rng(1), 1, 8, 16, 12, special=False))
    hm[0, 0, 3, 4] = float("nan")
    hm[0, 0, 7, 7] = float("nan")
    hm[0, 1, 5, 6] = float("inf")
    hm[0, 2, 2, 2] = float("-inf")
    for refine in HEATMAP_REFINES:
        kp, sc = ops.decode_heatmaps(hm.to(device), refine, BLUR[refine])
        kp, sc = kp.cpu(), sc.cpu()
        assert torch.isnan(sc[0, 0]) and (refine == "megvii" or torch.isinf(sc[0, 1]))
        if refine in ("none", "quarter"):  # NumPy: the first NaN is the argmax (quarter: +-0.25 from it)
            assert (kp[0, 0] - torch.tensor([4.0, 3.0])).abs().max() <= (0.25 if refine == "quarter" else 0.0)
        assert torch.isfinite(sc[0, 3:]).all() and torch.isfinite(kp[0, 3:]).all()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(0, 17, 64, 48), (4, 0, 64, 48), (0, 0, 1, 1)])
def test_empty_batches(device, shape):
    for refine in HEATMAP_REFINES:
        kp, sc = ops.decode_heatmaps(torch.zeros(shape, device=device), refine, BLUR[refine])
        assert kp.shape == (shape[0], shape[1], 2) and sc.shape == shape[:2]
    loc, sc = ops.decode_simcc(torch.zeros(0, 17, 10, device=device), torch.zeros(0, 17, 12, device=device), 5)
    assert loc.shape == (0, 17, 2) and sc.shape == (0, 17)


def peaked_vectors(rng, B, K, L, sigma=4.0, special=True):
    x = np.arange(L)
    mu = rng.uniform(-3, L + 3, (B, K, 1))
    v = np.exp(-((x - mu) ** 2) / (2 * sigma**2)) * rng.uniform(0.3, 1.0, (B, K, 1))
    v = (v + rng.normal(0, 0.003, v.shape)).astype(np.float32)
    if special and B and K >= 3:
        v[0, 0] = 0.0
        v[0, 1] = -0.5
        v[0, 2] *= 1e-5
    return v


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("blur", [None, 11, (29, 35)])
def test_simcc_matches_baseline(device, blur):
    rng = np.random.default_rng(7)
    x, y = peaked_vectors(rng, 4, 17, 384), peaked_vectors(rng, 4, 17, 512, 5.0)
    expected = baseline.decode_simcc(x, y, blur)
    loc, sc = ops.decode_simcc(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device), blur)
    np.testing.assert_allclose(loc.cpu().numpy(), expected[0], rtol=0, atol=2e-4, equal_nan=True)
    np.testing.assert_array_equal(sc.cpu().numpy(), expected[1])


def test_errors_name_the_argument():
    hm = torch.rand(2, 3, 8, 8)
    with pytest.raises(TypeError, match="heatmaps must be a torch.Tensor"):
        ops.decode_heatmaps(hm.numpy())
    with pytest.raises(TypeError, match="heatmaps must be a floating-point tensor"):
        ops.decode_heatmaps(hm.to(torch.int32))
    with pytest.raises(ValueError, match=r"heatmaps must be \[B, C, H, W\]"):
        ops.decode_heatmaps(hm[0])
    with pytest.raises(ValueError, match="refine must be one of"):
        ops.decode_heatmaps(hm, "sharp")
    with pytest.raises(ValueError, match="blur_kernel_size must be an odd int"):
        ops.decode_heatmaps(hm, "dark", 4)
    with pytest.raises(ValueError, match="blur_kernel_size must be an odd int"):
        ops.decode_heatmaps(hm, "dark", 129)
    with pytest.raises(ValueError, match="3K channels"):
        ops.decode_heatmaps(hm[:, :2], "udp_combined", 23, 3.5)
    with pytest.raises(ValueError, match="offset_radius"):
        ops.decode_heatmaps(hm, "udp_combined", 23, 0.0)
    with pytest.raises(ValueError, match="H, W > 0"):
        ops.decode_heatmaps(torch.zeros(1, 1, 0, 4))
    with pytest.raises(ValueError, match=r"simcc_y must be \[B, K, Wy\]"):
        ops.decode_simcc(torch.rand(2, 3, 8), torch.rand(2, 4, 8))
    with pytest.raises(ValueError, match=r"simcc_x must be \[B, K, Wx\]"):
        ops.decode_simcc(torch.rand(3, 8), torch.rand(3, 8))
    with pytest.raises(ValueError, match=r"blur_kernel_size\[1\] must be an odd int"):
        ops.decode_simcc(torch.rand(2, 3, 8), torch.rand(2, 3, 8), (3, 2))
    with pytest.raises(ValueError, match="non-empty"):
        ops.decode_simcc(torch.rand(2, 3, 0), torch.rand(2, 3, 8))


def test_kernel_level_checks():
    op = torch.ops.pyposefast
    with pytest.raises(RuntimeError, match="refine must be"):
        op.decode_heatmaps(torch.rand(1, 1, 4, 4), "sharp", 1, 0.0)
    with pytest.raises(RuntimeError, match="blur_kernel_size must be an odd kernel size"):
        op.decode_heatmaps(torch.rand(1, 1, 4, 4), "dark", 2, 0.0)
    with pytest.raises(RuntimeError, match="float32, float16 or bfloat16"):
        op.decode_heatmaps(torch.rand(1, 1, 4, 4, dtype=torch.float64), "none", 1, 0.0)
    with pytest.raises(RuntimeError, match="3K channels"):
        op.decode_heatmaps(torch.rand(1, 2, 4, 4), "udp_combined", 3, 1.0)
    with pytest.raises(RuntimeError, match="simcc_y must be"):
        op.decode_simcc(torch.rand(1, 2, 4), torch.rand(1, 3, 4), 0, 0)
    with pytest.raises(RuntimeError, match="blur_x must be an odd"):
        op.decode_simcc(torch.rand(1, 2, 4), torch.rand(1, 2, 4), 4, 0)


def test_other_input_dtypes_and_layouts():
    hm = torch.from_numpy(peaked_maps(np.random.default_rng(2), 2, 8, 20, 16))
    ref = ops.decode_heatmaps(hm, "dark")
    got64 = ops.decode_heatmaps(hm.double(), "dark")  # float64 is rounded to float32 first
    strided = ops.decode_heatmaps(hm.transpose(2, 3).contiguous().transpose(2, 3), "dark")
    for got in (got64, strided):
        torch.testing.assert_close(got[0], ref[0], rtol=0, atol=0)
        torch.testing.assert_close(got[1], ref[1], rtol=0, atol=0)


@requires_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_cuda_matches_cpu_kernel(dtype):
    rng = np.random.default_rng(11)
    hm = torch.from_numpy(peaked_maps(rng, 6, 17, 64, 48)).to(dtype)
    for refine in HEATMAP_REFINES:
        for ks in (3, 11, 17):
            cpu = ops.decode_heatmaps(hm, refine, ks)
            gpu = ops.decode_heatmaps(hm.cuda(), refine, ks)
            torch.testing.assert_close(gpu[0].cpu(), cpu[0], rtol=0, atol=5e-5, equal_nan=True)
            torch.testing.assert_close(gpu[1].cpu(), cpu[1], rtol=1e-6, atol=1e-7, equal_nan=True)
    x, y = peaked_vectors(rng, 8, 17, 384), peaked_vectors(rng, 8, 17, 512)
    xt, yt = torch.from_numpy(x).to(dtype), torch.from_numpy(y).to(dtype)
    for blur in (None, (29, 35)):
        cpu = ops.decode_simcc(xt, yt, blur)
        gpu = ops.decode_simcc(xt.cuda(), yt.cuda(), blur)
        torch.testing.assert_close(gpu[0].cpu(), cpu[0], rtol=0, atol=1e-4, equal_nan=True)
        torch.testing.assert_close(gpu[1].cpu(), cpu[1], rtol=0, atol=0, equal_nan=True)


@requires_cuda
@pytest.mark.cuda
def test_cuda_large_maps_and_streams():
    rng = np.random.default_rng(12)
    hm = torch.from_numpy(peaked_maps(rng, 2, 8, 128, 128)).cuda()
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        got = ops.decode_heatmaps(hm, "dark_udp", 3)
    stream.synchronize()
    ref = ops.decode_heatmaps(hm.cpu(), "dark_udp", 3)
    torch.testing.assert_close(got[0].cpu(), ref[0], rtol=0, atol=5e-5, equal_nan=True)


@pytest.mark.parametrize("device", DEVICES)
def test_opcheck(device):
    rng = np.random.default_rng(17)
    hm = torch.from_numpy(peaked_maps(rng, 2, 8, 12, 10, special=False)).to(device)  # opcheck: no NaN outputs
    samples = [(torch.ops.pyposefast.decode_heatmaps, (hm, r, BLUR[r], 0.0)) for r in HEATMAP_REFINES]
    samples.append((torch.ops.pyposefast.decode_heatmaps, (hm[:, :6], "udp_combined", 5, 2.0)))
    samples.append((torch.ops.pyposefast.decode_heatmaps, (hm[:0], "dark", 11, 0.0)))
    x = torch.from_numpy(peaked_vectors(rng, 2, 5, 30, special=False)).to(device)
    samples.append((torch.ops.pyposefast.decode_simcc, (x, x[..., :20].contiguous(), 5, 7)))
    samples.append((torch.ops.pyposefast.decode_simcc, (x, x, 0, 0)))
    for op, args in samples:
        torch.library.opcheck(op, args)


@pytest.mark.parametrize("device", DEVICES)
def test_torch_compile_fullgraph(device):
    def decode(hm, x, y):
        kp, sc = ops.decode_heatmaps(hm * 2.0, "dark", 11)
        loc, sc2 = ops.decode_simcc(x, y, 11)
        return kp * 4.0, sc, loc / 2.0, sc2

    backend = "inductor" if device == "cuda" else "aot_eager"
    compiled = torch.compile(decode, fullgraph=True, backend=backend)
    rng = np.random.default_rng(4)
    hm = torch.from_numpy(peaked_maps(rng, 4, 17, 64, 48)).to(device)
    x, y = (torch.from_numpy(peaked_vectors(rng, 4, 17, n)).to(device) for n in (384, 512))
    for e, g in zip(decode(hm, x, y), compiled(hm, x, y)):
        torch.testing.assert_close(g, e, equal_nan=True)
