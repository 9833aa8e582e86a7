"""SimCCLabel / MegviiHeatmap / RegressionLabel / IntegralRegressionLabel, soft_argmax and
flip_coordinates: MMPose 1.3.2's numbers on the same inputs, NumPy and tensor paths, batches."""

from __future__ import annotations

import ast
import importlib.util
import os
import types
import typing
import zlib

import numpy as np
import pytest
import torch

from pyposefast.codecs import (
    IntegralRegressionLabel,
    MegviiHeatmap,
    RegressionLabel,
    SimCCLabel,
    flip_coordinates,
    soft_argmax,
)
from pyposefast.codecs.megvii_heatmap import opencv_gaussian_kernel
from tests.conftest import DEVICES


def mmpose_codecs():
    return pytest.importorskip("mmpose.codecs", reason="MMPose 1.3.2 (test extra) not installed")


def sample_keypoints(rng, input_size, N=1, K=17, unit=1.0):
    """[N, K, 2] input-space keypoints with the cases rounding and bounds care about, visibility [N, K].

    ``unit`` is the size of one target bin in input pixels (1 / split ratio, or the heatmap scale).
    """
    w, h = input_size
    kp = np.stack([rng.uniform(-0.2 * w, 1.2 * w, (N, K)), rng.uniform(-0.2 * h, 1.2 * h, (N, K))], -1)
    vis = rng.choice(np.array([0.0, 1.0, 1.0, 1.0, 0.3, 0.6, 0.5]), size=(N, K))
    specials = [
        ((np.floor(kp[0, 0, 0] / unit) + 0.5) * unit, (np.floor(kp[0, 0, 1] / unit) + 0.5) * unit),  # .5 bins
        (0.0, 0.0),
        (w - 1, h - 1),  # the border
        (w, h),
        (-0.4 * unit, 0.5 * h),  # just left of 0: rounds / truncates to bin 0
        (-30.0 * unit, 0.5 * h),  # left, partly or fully out
        (w + 30.0 * unit, 0.5 * h),  # right
        (0.5 * w, -30.0 * unit),  # top
        (0.5 * w, h + 30.0 * unit),  # bottom
        (w + 1000.0, -1000.0),  # far out
        (2.5 * unit, 6.5 * unit),  # even-and-a-half / odd-and-a-half bins (half-to-even)
    ]
    for i, xy in enumerate(specials[: min(K, len(specials))]):
        kp[0, i] = xy
        vis[0, i] = 1.0
    return kp.astype(np.float32), vis.astype(np.float32)


def assert_same(ours: dict, theirs: dict, rtol: float = 0.0):
    assert set(ours) == set(theirs)
    for key in theirs:
        a, b = ours[key], theirs[key]
        assert isinstance(a, np.ndarray), key
        assert a.dtype == b.dtype and a.shape == b.shape, (key, a.dtype, b.dtype, a.shape, b.shape)
        if rtol:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-30, err_msg=key)
        else:
            np.testing.assert_array_equal(a, b, err_msg=key)


# ----------------------------------------------------------------------------------------------- SimCC

SIMCC_CONFIGS = [
    dict(input_size=(192, 256)),
    dict(input_size=(192, 256), sigma=(4.9, 5.66), normalize=False),  # RTMPose-m COCO
    dict(input_size=(288, 384), sigma=(6.93, 7.99), normalize=False),
    dict(input_size=(193, 255), sigma=3, simcc_split_ratio=2.5),  # odd sizes: 482.5 -> 482 bins
    dict(input_size=(64, 48), sigma=1.5, simcc_split_ratio=1.0),
    dict(input_size=(192, 256), smoothing_type="standard"),
    dict(input_size=(192, 256), smoothing_type="standard", label_smooth_weight=0.1),
    dict(input_size=(100, 70), smoothing_type="standard", label_smooth_weight=1.0, simcc_split_ratio=1.5),
]


@pytest.mark.parity
@pytest.mark.parametrize("kw", SIMCC_CONFIGS)
def test_simcc_encode_matches_mmpose(kw):
    mm = mmpose_codecs()
    ours, theirs = SimCCLabel(**kw), mm.SimCCLabel(**kw)
    rng = np.random.default_rng(zlib.crc32(str(kw).encode()))
    unit = 1.0 / kw.get("simcc_split_ratio", 2.0)
    for N, K in [(1, 17), (3, 17), (1, 1), (1, 133), (2, 133)]:
        for _ in range(4):
            kp, vis = sample_keypoints(rng, kw["input_size"], N, K, unit)
            assert_same(ours.encode(kp, vis), theirs.encode(kp, vis))
    # no visibility; float64 keypoints (MMPose rounds them in float64); float64 visibility kept
    assert_same(ours.encode(kp), theirs.encode(kp))
    kp64 = kp.astype(np.float64) + 1e-9
    assert_same(ours.encode(kp64, vis.astype(np.float64)), theirs.encode(kp64, vis.astype(np.float64)))


@pytest.mark.parity
def test_simcc_rounding_and_bounds_cases():
    """Half-to-even bins, the 3-sigma window on each side, and what invisible keypoints keep."""
    mm = mmpose_codecs()
    for kw in (dict(input_size=(192, 256), sigma=2.0), dict(input_size=(192, 256), smoothing_type="standard")):
        ours, theirs = SimCCLabel(**kw), mm.SimCCLabel(**kw)
        xs = np.concatenate([np.arange(-12.0, 3.0, 0.25), np.arange(188.0, 200.0, 0.25)])
        kp = np.stack([xs, np.full_like(xs, 100.0)], -1)[None].astype(np.float32)
        vis = np.ones(kp.shape[:2], np.float32)
        assert_same(ours.encode(kp, vis), theirs.encode(kp, vis))
        assert_same(ours.encode(kp[..., ::-1].copy(), vis), theirs.encode(kp[..., ::-1].copy(), vis))
    out = SimCCLabel((192, 256), sigma=2.0).encode(np.array([[[10.25, 20.75], [10.75, 1.0]]], np.float32))
    assert out["keypoint_x_labels"][0, 0].argmax() == 20 and out["keypoint_y_labels"][0, 0].argmax() == 42
    assert out["keypoint_x_labels"][0, 1].argmax() == 22  # 21.5 -> 22 (even)
    vis = np.array([[0.3, 0.6, 0.0, 0.5]], np.float32)
    out = SimCCLabel((192, 256)).encode(np.full((1, 4, 2), 50.0, np.float32), vis)
    np.testing.assert_array_equal(out["keypoint_weights"], vis)  # 0.3 keeps 0.3 (as coded)
    assert not out["keypoint_x_labels"][0, 0].any() and out["keypoint_x_labels"][0, 1].any()


@pytest.mark.parity
def test_simcc_attributes_match_mmpose():
    mm = mmpose_codecs()
    for kw in SIMCC_CONFIGS:
        ours, theirs = SimCCLabel(**kw), mm.SimCCLabel(**kw)
        for attr in ("label_mapping_table", "field_mapping_table", "instance_mapping_table", "auxiliary_encode_keys"):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
        for attr in ("input_size", "smoothing_type", "simcc_split_ratio", "label_smooth_weight", "normalize",
                     "use_dark", "decode_visibility", "decode_beta"):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
        np.testing.assert_array_equal(ours.sigma, theirs.sigma)
        assert ours.sigma.dtype == theirs.sigma.dtype


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kw", SIMCC_CONFIGS[:6])
def test_simcc_batch_and_tensor_paths(device, kw):
    codec = SimCCLabel(**kw)
    rng = np.random.default_rng(5)
    unit = 1.0 / kw.get("simcc_split_ratio", 2.0)
    samples = [sample_keypoints(rng, kw["input_size"], 1, 17, unit) for _ in range(5)]
    kp = torch.from_numpy(np.concatenate([s[0] for s in samples])).to(device)
    vis = torch.from_numpy(np.concatenate([s[1] for s in samples])).to(device)
    out = codec.batch_encode(kp, vis)
    wx, wy = (int(np.around(s * codec.simcc_split_ratio)) for s in kw["input_size"])
    assert out["keypoint_x_labels"].shape == (5, 17, wx) and out["keypoint_y_labels"].shape == (5, 17, wy)
    assert out["keypoint_x_labels"].device.type == device and out["keypoint_weights"].dtype == torch.float32
    for i, (kp_i, vis_i) in enumerate(samples):
        one = codec.encode(kp_i, vis_i)
        one_t = codec.encode(torch.from_numpy(kp_i).to(device), torch.from_numpy(vis_i).to(device))
        for key, value in one.items():
            np.testing.assert_array_equal(out[key][i].cpu().numpy(), value[0], err_msg=key)
            assert isinstance(one_t[key], torch.Tensor) and one_t[key].device.type == device
            np.testing.assert_array_equal(one_t[key].cpu().numpy(), value, err_msg=key)
    np.testing.assert_array_equal(codec.batch_encode(kp)["keypoint_weights"].cpu().numpy()[0],
                                  codec.encode(samples[0][0])["keypoint_weights"][0])


def test_simcc_errors():
    with pytest.raises(ValueError, match="invalid `smoothing_type`"):
        SimCCLabel((192, 256), smoothing_type="laplace")
    with pytest.raises(ValueError, match="`label_smooth_weight` is only used for `standard`"):
        SimCCLabel((192, 256), label_smooth_weight=0.1)
    with pytest.raises(ValueError, match=r"`label_smooth_weight` should be in range \[0, 1\]"):
        SimCCLabel((192, 256), smoothing_type="standard", label_smooth_weight=1.5)
    with pytest.raises(ValueError, match="sigma must be a positive"):
        SimCCLabel((192, 256), sigma=(2.0, -1.0))
    with pytest.raises(ValueError, match="sigma must be a positive number or a pair"):
        SimCCLabel((192, 256), sigma=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="simcc_split_ratio must be a positive"):
        SimCCLabel((192, 256), simcc_split_ratio=0)
    with pytest.raises(ValueError, match="input_size must be a pair"):
        SimCCLabel((192,))
    codec = SimCCLabel((192, 256))
    with pytest.raises(ValueError, match=r"keypoints must be \[N, K, 2\]"):
        codec.encode(np.zeros((17, 2), np.float32))
    with pytest.raises(ValueError, match="keypoints_visible must have shape"):
        codec.encode(np.zeros((1, 17, 2), np.float32), np.ones((1, 16), np.float32))
    with pytest.raises(TypeError, match="keypoints must be a torch.Tensor"):
        codec.batch_encode(np.zeros((2, 17, 2), np.float32))
    with pytest.raises(TypeError, match="keypoints must hold real numbers"):
        codec.encode(np.array([[["a", "b"]]]))


# ------------------------------------------------------------------------------------------- Megvii

MEGVII_CONFIGS = [
    dict(input_size=(192, 256), heatmap_size=(48, 64), kernel_size=11),
    dict(input_size=(192, 256), heatmap_size=(48, 64), kernel_size=5),
    dict(input_size=(256, 256), heatmap_size=(64, 64), kernel_size=15),
    dict(input_size=(256, 256), heatmap_size=(64, 64), kernel_size=9),
    dict(input_size=(288, 384), heatmap_size=(72, 96), kernel_size=23),
    dict(input_size=(100, 70), heatmap_size=(25, 35), kernel_size=7),  # W not a multiple of 8
]


def test_opencv_gaussian_kernel_matches_cv2():
    cv2 = pytest.importorskip("cv2")
    for k in range(1, 102, 2):
        np.testing.assert_array_equal(opencv_gaussian_kernel(k), cv2.getGaussianKernel(k, 0, cv2.CV_32F).ravel())


@pytest.mark.parity
@pytest.mark.parametrize("kw", MEGVII_CONFIGS)
def test_megvii_encode_matches_mmpose(kw):
    mm = mmpose_codecs()
    ours, theirs = MegviiHeatmap(**kw), mm.MegviiHeatmap(**kw)
    np.testing.assert_array_equal(ours.scale_factor, theirs.scale_factor)
    # bit-exact when W is a multiple of OpenCV's SIMD width (see blurred_impulses); else within an ulp
    rtol = 0.0 if kw["heatmap_size"][0] % 16 == 0 else 1e-6
    rng = np.random.default_rng(zlib.crc32(str(kw).encode()))
    for K in (17, 1, 133):
        for _ in range(3):
            kp, vis = sample_keypoints(rng, kw["input_size"], 1, K, float(ours.scale_factor[0]))
            assert_same(ours.encode(kp, vis), theirs.encode(kp, vis), rtol)
    kp64 = kp.astype(np.float64)
    assert_same(ours.encode(kp64, vis.astype(np.float64)), theirs.encode(kp64, vis.astype(np.float64)), rtol)


@pytest.mark.parity
def test_megvii_border_cases_match_mmpose():
    """Every pixel of a small map, including the four borders, where the reflections meet."""
    mm = mmpose_codecs()
    kw = dict(input_size=(64, 48), heatmap_size=(16, 12), kernel_size=7)
    ours, theirs = MegviiHeatmap(**kw), mm.MegviiHeatmap(**kw)
    xs, ys = np.meshgrid(np.arange(-1.5, 17, 1.0) * 4, np.arange(-1.5, 13, 1.0) * 4)
    kp = np.stack([xs.ravel(), ys.ravel()], -1)[None].astype(np.float32)
    vis = np.ones(kp.shape[:2], np.float32)
    assert_same(ours.encode(kp, vis), theirs.encode(kp, vis))
    # 255 at the keypoint's pixel; one pixel in from a border the reflected taps add up, so the
    # border pixel exceeds it (as coded in MMPose: REFLECT_101 counts the impulse twice there)
    heatmaps = ours.encode(np.array([[[6.0, 22.0], [30.0, 22.0]]], np.float32))["heatmaps"]
    assert heatmaps[1, 5, 7] == 255.0 and heatmaps[1].max() == 255.0
    assert heatmaps[0, 5, 1] == 255.0 and heatmaps[0, 5, 0] > 255.0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kw", MEGVII_CONFIGS[::2])
def test_megvii_batch_and_tensor_paths(device, kw):
    codec = MegviiHeatmap(**kw)
    rng = np.random.default_rng(7)
    samples = [sample_keypoints(rng, kw["input_size"], 1, 17, float(codec.scale_factor[0])) for _ in range(4)]
    kp = torch.from_numpy(np.concatenate([s[0] for s in samples])).to(device)
    vis = torch.from_numpy(np.concatenate([s[1] for s in samples])).to(device)
    out = codec.batch_encode(kp, vis)
    W, H = kw["heatmap_size"]
    assert out["heatmaps"].shape == (4, 17, H, W) and out["heatmaps"].device.type == device
    for i, (kp_i, vis_i) in enumerate(samples):
        one = codec.encode(kp_i, vis_i)
        np.testing.assert_array_equal(out["heatmaps"][i].cpu().numpy(), one["heatmaps"])
        np.testing.assert_array_equal(out["keypoint_weights"][i].cpu().numpy(), one["keypoint_weights"][0])
        one_t = codec.encode(torch.from_numpy(kp_i).to(device), torch.from_numpy(vis_i).to(device))
        assert one_t["heatmaps"].device.type == device
        np.testing.assert_array_equal(one_t["heatmaps"].cpu().numpy(), one["heatmaps"])


def test_megvii_errors():
    with pytest.raises(ValueError, match="kernel_size must be a positive odd int"):
        MegviiHeatmap((192, 256), (48, 64), kernel_size=10)
    with pytest.raises(ValueError, match="kernel_size must be a positive odd int"):
        MegviiHeatmap((192, 256), (48, 64), kernel_size=(11, 11))
    with pytest.raises(ValueError, match="heatmap_size must be a pair"):
        MegviiHeatmap((192, 256), (48,), kernel_size=11)
    codec = MegviiHeatmap((192, 256), (48, 64), 11)
    with pytest.raises(ValueError, match="single-instance"):
        codec.encode(np.zeros((2, 17, 2), np.float32))
    with pytest.raises(ValueError, match=r"keypoints must be \[B, K, 2\]"):
        codec.batch_encode(torch.zeros(2, 17, 3))


# ---------------------------------------------------------------------------------------- Regression


@pytest.mark.parity
def test_regression_encode_decode_match_mmpose():
    mm = mmpose_codecs()
    for size in [(192, 256), (100, 70)]:
        ours, theirs = RegressionLabel(size), mm.RegressionLabel(size)
        assert ours.label_mapping_table == theirs.label_mapping_table
        rng = np.random.default_rng(size[0])
        for N, K in [(1, 17), (3, 17), (1, 1), (2, 133)]:
            kp, vis = sample_keypoints(rng, size, N, K)
            kp[0, -1] = (size[0] - 1, -0.0)  # border, negative zero
            assert_same(ours.encode(kp, vis), theirs.encode(kp, vis))
            assert_same(ours.encode(kp.astype(np.float64)), theirs.encode(kp.astype(np.float64)))
            for D in (2, 4):
                enc = rng.uniform(-0.2, 1.2, (N, K, D)).astype(np.float32)
                a, b = ours.decode(enc), theirs.decode(enc)
                for u, v in zip(a, b):
                    assert u.dtype == v.dtype and u.shape == v.shape
                    np.testing.assert_array_equal(u, v)
        # [K, 4] (one instance; MMPose gives [K, ...] here, we keep the instance axis)
        enc = rng.uniform(0, 1, (17, 4)).astype(np.float32)
        kp_a, sc_a = ours.decode(enc)
        kp_b, sc_b = theirs.decode(enc)
        np.testing.assert_array_equal(kp_a[0], kp_b)
        np.testing.assert_array_equal(sc_a[0], sc_b)


@pytest.mark.parametrize("device", DEVICES)
def test_regression_tensor_and_batch_paths(device):
    codec = RegressionLabel((192, 256))
    rng = np.random.default_rng(3)
    kp, vis = sample_keypoints(rng, (192, 256), 4, 17)
    out = codec.batch_encode(torch.from_numpy(kp).to(device), torch.from_numpy(vis).to(device))
    ref = codec.encode(kp, vis)
    for key in ref:
        assert out[key].device.type == device
        np.testing.assert_array_equal(out[key].cpu().numpy(), ref[key])
    for D in (2, 4):
        enc = rng.uniform(-0.2, 1.2, (4, 17, D)).astype(np.float32)
        k_t, s_t = codec.batch_decode(torch.from_numpy(enc).to(device))
        k_n, s_n = codec.decode(enc)
        assert k_t.shape == (4, 17, 2) and s_t.shape == (4, 17) and k_t.device.type == device
        np.testing.assert_allclose(k_t.cpu().numpy(), k_n, rtol=1e-7)  # float32 vs MMPose's float64
        np.testing.assert_array_equal(s_t.cpu().numpy(), s_n)
        k1, s1 = codec.decode(torch.from_numpy(enc[0]).to(device))
        assert k1.shape == (1, 17, 2)
        torch.testing.assert_close(k1[0], k_t[0], rtol=0, atol=0)


def test_regression_errors():
    codec = RegressionLabel((192, 256))
    with pytest.raises(ValueError, match="Keypoint dimension should be 2 or 4"):
        codec.decode(np.zeros((1, 17, 3), np.float32))
    with pytest.raises(ValueError, match="Keypoint dimension should be 2 or 4"):
        codec.batch_decode(torch.zeros(2, 17, 3))
    with pytest.raises(ValueError, match=r"encoded must be \[B, K, D\]"):
        codec.batch_decode(torch.zeros(17, 2))
    with pytest.raises(TypeError, match="encoded must be a torch.Tensor"):
        codec.batch_decode(np.zeros((2, 17, 2)))
    with pytest.raises(ValueError, match="input_size must be a pair"):
        RegressionLabel((0, 256))


# --------------------------------------------------------------------------------- Integral regression

INTEGRAL_CONFIGS = [
    dict(input_size=(256, 256), heatmap_size=(64, 64), sigma=2.0),
    dict(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0, normalize=False),
    dict(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0, unbiased=True),
    dict(input_size=(100, 70), heatmap_size=(25, 35), sigma=1.5),
]


@pytest.mark.parity
@pytest.mark.parametrize("kw", INTEGRAL_CONFIGS)
def test_integral_encode_matches_mmpose(kw):
    mm = mmpose_codecs()
    ours, theirs = IntegralRegressionLabel(**kw), mm.IntegralRegressionLabel(**kw)
    assert ours.label_mapping_table == theirs.label_mapping_table
    assert ours.field_mapping_table == theirs.field_mapping_table
    rng = np.random.default_rng(zlib.crc32(str(kw).encode()))
    for K in (17, 1, 133):
        kp, vis = sample_keypoints(rng, kw["input_size"], 1, K, float(ours.heatmap_codec.scale_factor[0]))
        a, b = ours.encode(kp, vis), theirs.encode(kp, vis)
        # the MSRA heatmaps themselves agree to float32 rounding (see test_heatmap_codecs)
        assert_same(a, b, rtol=1e-5 if kw.get("unbiased") else 1e-6)
        for key in ("keypoint_labels", "keypoint_weights"):
            np.testing.assert_array_equal(a[key], b[key])
        # the normalisation itself is NumPy's, bit for bit
        raw = ours.heatmap_codec.encode(kp, vis)["heatmaps"]
        if ours.normalize:
            raw = raw / (raw.sum(axis=(-1, -2)).reshape(-1, 1, 1) + 1e-24)
        np.testing.assert_array_equal(a["heatmaps"], raw)


@pytest.mark.parametrize("device", DEVICES)
def test_integral_batch_and_tensor_paths(device):
    codec = IntegralRegressionLabel((192, 256), (48, 64), 2.0)
    rng = np.random.default_rng(11)
    samples = [sample_keypoints(rng, (192, 256), 1, 17, 4.0) for _ in range(3)]
    kp = torch.from_numpy(np.concatenate([s[0] for s in samples])).to(device)
    vis = torch.from_numpy(np.concatenate([s[1] for s in samples])).to(device)
    out = codec.batch_encode(kp, vis)
    assert out["heatmaps"].shape == (3, 17, 64, 48) and out["heatmaps"].device.type == device
    for i, (kp_i, vis_i) in enumerate(samples):
        one = codec.encode(kp_i, vis_i)
        np.testing.assert_array_equal(out["heatmaps"][i].cpu().numpy(), one["heatmaps"])
        np.testing.assert_array_equal(out["keypoint_labels"][i].cpu().numpy(), one["keypoint_labels"][0])
        np.testing.assert_array_equal(out["keypoint_weights"][i].cpu().numpy(), one["keypoint_weights"][0])
        one_t = codec.encode(torch.from_numpy(kp_i).to(device), torch.from_numpy(vis_i).to(device))
        np.testing.assert_array_equal(one_t["heatmaps"].cpu().numpy(), one["heatmaps"])
    enc = torch.rand(3, 17, 2, device=device)
    k_b, s_b = codec.batch_decode(enc)
    k_r, s_r = codec.keypoint_codec.batch_decode(enc)
    torch.testing.assert_close(k_b, k_r, rtol=0, atol=0)
    assert codec.decode(enc[0].cpu().numpy())[0].shape == (1, 17, 2)


# ------------------------------------------------------------------------------ soft-argmax and flip


def _mmpose_tta():
    """MMPose's ``models/utils/tta.py``, loaded on its own (``mmpose.models`` needs mmdet to import)."""
    spec = importlib.util.find_spec("mmpose")
    if spec is None:
        pytest.skip("MMPose 1.3.2 (test extra) not installed")
    path = os.path.join(os.path.dirname(spec.origin), "models", "utils", "tta.py")
    module_spec = importlib.util.spec_from_file_location("_mmpose_tta", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _mmpose_integral_head(W, H, beta, debias):
    """MMPose's ``IntegralRegressionHead`` forward on raw features (no conv layers).

    ``mmpose.models`` does not import without mmdet, so the head's own ``forward``,
    ``_flat_softmax`` and ``_linear_expectation`` are compiled from its source file, unchanged.
    """
    spec = importlib.util.find_spec("mmpose")
    if spec is None:
        pytest.skip("MMPose 1.3.2 (test extra) not installed")
    path = os.path.join(os.path.dirname(spec.origin), "models", "heads", "regression_heads",
                        "integral_regression_head.py")
    tree = ast.parse(open(path).read())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "IntegralRegressionHead")
    methods = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}
    namespace = dict(torch=torch, F=torch.nn.functional, Tensor=torch.Tensor, Tuple=typing.Tuple, Union=typing.Union)
    head = types.SimpleNamespace(simplebaseline_head=None, final_layer=None, beta=beta, debias=debias)
    for name in ("_linear_expectation", "_flat_softmax", "forward"):
        module = ast.fix_missing_locations(ast.Module(body=[methods[name]], type_ignores=[]))
        exec(compile(module, path, "exec"), namespace)
        setattr(head, name, types.MethodType(namespace[name], head))
    # as in the head's __init__
    head.linspace_x = torch.arange(0.0, 1.0 * W, 1).reshape(1, 1, 1, W) / W
    head.linspace_y = torch.arange(0.0, 1.0 * H, 1).reshape(1, 1, H, 1) / H
    return head


@pytest.mark.parity
@pytest.mark.parametrize("W,H,beta,debias", [(48, 64, 1.0, False), (16, 12, 10.0, False), (7, 5, 1.0, True)])
def test_soft_argmax_matches_mmpose_head(W, H, beta, debias):
    head = _mmpose_integral_head(W, H, beta, debias)
    torch.manual_seed(0)
    feats = torch.randn(3, 5, H, W) * 3
    theirs, probs = head.forward((feats,))
    ours = soft_argmax(feats, beta=beta, debias=debias)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    # already-normalised maps: only the expectation
    torch.testing.assert_close(soft_argmax(probs, normalize=False, debias=False),
                               soft_argmax(feats, beta=beta), rtol=0, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_soft_argmax_matches_reference(device):
    """The head's formula written out: softmax over H*W, then pixel i at i / W, row j at j / H."""
    torch.manual_seed(1)
    B, K, H, W = 2, 3, 5, 7
    feats = torch.randn(B, K, H, W, dtype=torch.float64, device=device) * 4
    for beta in (1.0, 3.0):
        p = torch.softmax(beta * feats.reshape(B, K, -1), -1).reshape(B, K, H, W)
        ref_x = (p.sum(2) * torch.arange(W, device=device) / W).sum(-1)
        ref_y = (p.sum(3) * torch.arange(H, device=device) / H).sum(-1)
        torch.testing.assert_close(soft_argmax(feats, beta=beta), torch.stack([ref_x, ref_y], -1))
        torch.testing.assert_close(soft_argmax(p, normalize=False), torch.stack([ref_x, ref_y], -1))
    c = feats.exp().sum((2, 3))
    plain = soft_argmax(feats)
    torch.testing.assert_close(soft_argmax(feats, debias=True), c[..., None] / (c[..., None] - 1) * (plain - 1 / (2 * c[..., None])))


@pytest.mark.parametrize("device", DEVICES)
def test_soft_argmax_values_and_gradients(device):
    hm = torch.full((1, 2, 4, 5), -1e4, dtype=torch.float64, device=device)
    hm[0, 0, 3, 2] = 0.0  # a one-hot at x=2, y=3
    hm[0, 1, 1, 4] = 0.0
    out = soft_argmax(hm)
    torch.testing.assert_close(out.cpu(), torch.tensor([[[2 / 5, 3 / 4], [4 / 5, 1 / 4]]], dtype=torch.float64))
    x = torch.randn(2, 3, 6, 5, dtype=torch.float64, device=device, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: soft_argmax(t, beta=2.0), (x,))


@pytest.mark.parity
@pytest.mark.parametrize("D,shift", [(2, True), (2, False), (4, True)])
def test_flip_coordinates_matches_mmpose(D, shift):
    tta = _mmpose_tta()
    flip_indices = [0, 2, 1, 4, 3, 6, 5]
    coords = torch.rand(3, 7, D)
    before = coords.clone()
    ours = flip_coordinates(coords, flip_indices, shift_coords=shift, input_size=(192, 256))
    torch.testing.assert_close(coords, before, rtol=0, atol=0)  # ours does not write into its input
    theirs = tta.flip_coordinates(coords.clone(), flip_indices, shift, (192, 256))
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    assert ours[0, 1, 0] == pytest.approx(1 - coords[0, 2, 0].item() - (1 / 192 if shift else 0), abs=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_flip_coordinates_device_grad_and_errors(device):
    coords = torch.rand(2, 3, 2, device=device, requires_grad=True)
    out = flip_coordinates(coords, torch.tensor([0, 2, 1]), input_size=(100, 50))
    assert out.device.type == device
    out.sum().backward()
    torch.testing.assert_close(coords.grad[..., 0].cpu(), -torch.ones(2, 3))
    with pytest.raises(ValueError, match="flip_indices must have one entry per keypoint"):
        flip_coordinates(coords, [0, 1], input_size=(100, 50))
    with pytest.raises(ValueError, match="input_size"):
        flip_coordinates(coords, [0, 2, 1])
    with pytest.raises(ValueError, match=r"coords must be \[B, K, D\]"):
        flip_coordinates(coords[0], [0, 2, 1], input_size=(100, 50))
    with pytest.raises(TypeError, match="heatmaps must be a floating-point tensor"):
        soft_argmax(torch.zeros(1, 1, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"heatmaps must be \[B, K, H, W\]"):
        soft_argmax(torch.zeros(1, 2, 2))
