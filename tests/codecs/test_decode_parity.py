"""Heatmap decoding: MMPose 1.3.2's numbers on the same heatmaps (codecs' decode, refinements, flip
test and the back-to-image map), NumPy and batched tensor paths."""

from __future__ import annotations

import importlib.util
import pathlib
import zlib

import numpy as np
import pytest
import torch

from pyposefast.codecs import MSRAHeatmap, UDPHeatmap, decode_topdown, flip_heatmaps
from tests.conftest import DEVICES

CONFIGS = [
    ("MSRAHeatmap", dict(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0)),
    ("MSRAHeatmap", dict(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0, unbiased=True)),
    ("MSRAHeatmap", dict(input_size=(288, 384), heatmap_size=(72, 96), sigma=3.0, unbiased=True, blur_kernel_size=17)),
    ("MSRAHeatmap", dict(input_size=(100, 70), heatmap_size=(25, 35), sigma=1.5, unbiased=True, blur_kernel_size=7)),
    ("UDPHeatmap", dict(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0)),
    ("UDPHeatmap", dict(input_size=(288, 384), heatmap_size=(72, 96), sigma=3.0, blur_kernel_size=17)),
    ("UDPHeatmap", dict(input_size=(192, 256), heatmap_size=(48, 64), heatmap_type="combined")),
    ("UDPHeatmap", dict(input_size=(256, 256), heatmap_size=(64, 64), heatmap_type="combined", radius_factor=0.1)),
]
OURS = {"MSRAHeatmap": MSRAHeatmap, "UDPHeatmap": UDPHeatmap}


def mmpose_codecs():
    return pytest.importorskip("mmpose.codecs", reason="MMPose 1.3.2 (test extra) not installed")


def network_like(rng, theirs, K=17):
    """MMPose's own targets for random keypoints (border ones included) plus noise, and the edge
    cases: an all-zero plane, a negative one, a flat one, a peak on the map border."""
    w, h = theirs.input_size
    # inside the input: a Gaussian cut by the map edge makes the DARK step ill-conditioned (float32
    # rounding, in MMPose too, then moves it by more than the tolerance); the border itself is kept below
    kp = np.stack([rng.uniform(0, w - 1, K), rng.uniform(0, h - 1, K)], -1)
    kp[1], kp[2] = (0, 0), (w - 1, h - 1)
    heatmaps = theirs.encode(kp[None].astype(np.float32), np.ones((1, K), np.float32))["heatmaps"]
    heatmaps = heatmaps * rng.uniform(0.3, 1.0) + rng.normal(0, 0.004, heatmaps.shape)
    heatmaps = heatmaps.astype(np.float32)
    step = heatmaps.shape[0] // K
    if getattr(theirs, "heatmap_type", "gaussian") == "gaussian":
        heatmaps[3 * step] = 0.0
        heatmaps[4 * step] = -np.abs(heatmaps[4 * step]) - 0.01
        heatmaps[5 * step] = 0.25
    else:
        heatmaps[3 * step] = 0.0  # class plane all zero: the blurred maximum is 0, location (-1, -1)
    return heatmaps


@pytest.mark.parity
@pytest.mark.parametrize("name,kw", CONFIGS)
def test_decode_matches_mmpose(name, kw):
    theirs = getattr(mmpose_codecs(), name)(**kw)
    ours = OURS[name](**kw)
    rng = np.random.default_rng(zlib.crc32(str(kw).encode()))  # str hashes change per process
    for _ in range(6):
        hm = network_like(rng, theirs)
        with np.errstate(all="ignore"):
            ekp, esc = theirs.decode(hm.copy())
        kp, sc = ours.decode(hm)
        assert kp.shape == ekp.shape == (1, 17, 2) and sc.shape == esc.shape == (1, 17)
        assert kp.dtype == np.float32 and sc.dtype == np.float32
        np.testing.assert_allclose(kp, ekp, rtol=0, atol=1e-4, equal_nan=True)
        if kw.get("heatmap_type") == "combined":  # blurred maximum: float32 summation order
            np.testing.assert_allclose(sc, esc, rtol=2e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(sc, esc)


@pytest.mark.parity
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,kw", CONFIGS[:2] + CONFIGS[4:5] + CONFIGS[6:7])
def test_batch_decode_matches_mmpose_per_sample(device, name, kw):
    theirs = getattr(mmpose_codecs(), name)(**kw)
    ours = OURS[name](**kw)
    rng = np.random.default_rng(3)
    batch = np.stack([network_like(rng, theirs) for _ in range(5)])
    kp, sc = ours.batch_decode(torch.from_numpy(batch).to(device))
    assert kp.device.type == device and kp.shape == (5, 17, 2) and sc.shape == (5, 17)
    for b in range(5):
        with np.errstate(all="ignore"):
            ekp, esc = theirs.decode(batch[b].copy())
        np.testing.assert_allclose(kp[b].cpu().numpy(), ekp[0], rtol=0, atol=1e-4, equal_nan=True)
        np.testing.assert_allclose(sc[b].cpu().numpy(), esc[0], rtol=2e-6, atol=1e-7)


@pytest.mark.parity
@pytest.mark.parametrize("fn", ["refine_keypoints", "refine_keypoints_dark", "refine_keypoints_dark_udp"])
def test_refinements_on_raw_maps_match_mmpose(fn):
    """The refinement functions on arbitrary (not codec-made) maps: random blobs anywhere, maxima on
    every border, plateaus."""
    utils = pytest.importorskip("mmpose.codecs.utils", reason="MMPose 1.3.2 (test extra) not installed")
    from pyposefast import ops
    from tests.ops.test_decode import peaked_maps

    refine = {"refine_keypoints": "quarter", "refine_keypoints_dark": "dark", "refine_keypoints_dark_udp": "dark_udp"}[fn]
    rng = np.random.default_rng(9)
    for H, W, ks in [(64, 48, 11), (20, 31, 5), (96, 72, 17), (6, 5, 3)]:
        hm = peaked_maps(rng, 3, 9, H, W)
        kp, sc = ops.decode_heatmaps(torch.from_numpy(hm), refine, ks)
        for b in range(3):
            ekp, esc = utils.get_heatmap_maximum(hm[b].copy())
            with np.errstate(all="ignore"):
                args = (ekp[None], hm[b].copy()) + (() if refine == "quarter" else (ks,))
                ekp = getattr(utils, fn)(*args)[0]
            np.testing.assert_allclose(kp[b].numpy(), ekp, rtol=0, atol=2.5e-5, equal_nan=True)
            np.testing.assert_array_equal(sc[b].numpy(), esc)


def _mmpose_tta():
    pytest.importorskip("mmpose", reason="MMPose 1.3.2 (test extra) not installed")
    import mmpose

    path = pathlib.Path(mmpose.__file__).parent / "models" / "utils" / "tta.py"
    spec = importlib.util.spec_from_file_location("mmpose_tta", path)  # mmpose.models needs mmdet
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parity
@pytest.mark.parametrize("mode,group", [("heatmap", 1), ("udp_combined", 3), ("offset", 2)])
@pytest.mark.parametrize("shift", [True, False])
def test_flip_heatmaps_matches_mmpose(mode, group, shift):
    tta = _mmpose_tta()
    flip_indices = [0, 2, 1, 4, 3]
    hm = torch.randn(3, 5 * group, 8, 6)
    for indices in (flip_indices, None):
        torch.testing.assert_close(
            flip_heatmaps(hm, indices, mode, shift), tta.flip_heatmaps(hm.clone(), indices, mode, shift), rtol=0, atol=0
        )


@pytest.mark.parity
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("unbiased,shift", [(False, True), (True, True), (True, False)])
def test_decode_topdown_matches_mmpose_pipeline(device, unbiased, shift):
    """Flip test + decode + back to image: MMPose's HeatmapHead.predict and add_pred_to_datasample."""
    theirs = mmpose_codecs().MSRAHeatmap((192, 256), (48, 64), 2.0, unbiased=unbiased)
    tta = _mmpose_tta()
    ours = MSRAHeatmap((192, 256), (48, 64), 2.0, unbiased=unbiased)
    rng = np.random.default_rng(21)
    flip_indices = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    hm = torch.from_numpy(np.stack([network_like(rng, theirs) for _ in range(4)]))
    hm_flip = torch.from_numpy(np.stack([network_like(rng, theirs) for _ in range(4)]))
    center = torch.from_numpy(rng.uniform(100, 500, (4, 2)).astype(np.float32))
    scale = torch.from_numpy(rng.uniform(50, 300, (4, 1)).astype(np.float32) * np.float32([[0.75, 1.0]]))
    kp, sc = decode_topdown(
        ours, hm.to(device), hm_flip.to(device), input_center=center.to(device), input_scale=scale.to(device),
        flip_indices=flip_indices, shift_heatmap=shift,
    )
    merged = (hm + tta.flip_heatmaps(hm_flip.clone(), flip_indices, "heatmap", shift)) * 0.5
    for b in range(4):
        with np.errstate(all="ignore"):
            ekp, esc = theirs.decode(merged[b].numpy())
        ekp = ekp[0] / np.array([192, 256]) * scale[b].numpy() + center[b].numpy() - 0.5 * scale[b].numpy()
        np.testing.assert_allclose(kp[b].cpu().numpy(), ekp, rtol=0, atol=2e-4 * float(scale[b].max()) / 192 + 1e-4)
        np.testing.assert_array_equal(sc[b].cpu().numpy(), esc[0])


@pytest.mark.parametrize("device", DEVICES)
def test_decode_topdown_with_warp_matrices_inverts_the_crop(device):
    """With the forward warp matrices (rotated crops), keypoints go back by the exact inverse."""
    from pyposefast.structures import get_warp_matrix, transform_keypoints

    codec = MSRAHeatmap((192, 256), (48, 64), 2.0)
    center = torch.tensor([[320.0, 240.0], [100.0, 80.0]], dtype=torch.float64)
    scale = torch.tensor([[150.0, 200.0], [90.0, 120.0]], dtype=torch.float64)
    rot = torch.tensor([30.0, -45.0], dtype=torch.float64)
    matrices = get_warp_matrix(center, scale, rot, (192, 256))
    image_kp = torch.tensor([[[330.0, 250.0]], [[95.0, 70.0]]], dtype=torch.float64)
    input_kp = transform_keypoints(image_kp, matrices)
    heatmaps = torch.zeros(2, 1, 64, 48)
    for b in range(2):
        x, y = (input_kp[b, 0] / 4).round().long().tolist()
        heatmaps[b, 0, y, x] = 1.0
    kp, _ = decode_topdown(codec, heatmaps.to(device), input_center=center, input_scale=scale,
                           warp_matrices=matrices.to(device))
    expected = torch.stack([(input_kp[b] / 4).round() * 4 for b in range(2)])
    from pyposefast.structures import keypoints_to_image_affine

    torch.testing.assert_close(kp.cpu().double(), keypoints_to_image_affine(expected, matrices), rtol=0, atol=1e-3)


def test_decode_errors():
    codec = MSRAHeatmap((192, 256), (48, 64), 2.0)
    with pytest.raises(ValueError, match=r"encoded must be \[C, H, W\]"):
        codec.decode(np.zeros((1, 17, 64, 48), np.float32))
    with pytest.raises(TypeError, match="encoded must hold floating-point values"):
        codec.decode(np.zeros((17, 64, 48), np.int64))
    with pytest.raises(ValueError, match=r"batch_heatmaps must be \[B, C, H, W\]"):
        codec.batch_decode(torch.zeros(17, 64, 48))
    with pytest.raises(ValueError, match="flip_indices is required"):
        decode_topdown(codec, torch.zeros(1, 17, 64, 48), torch.zeros(1, 17, 64, 48),
                       input_center=torch.zeros(1, 2), input_scale=torch.ones(1, 2))
    with pytest.raises(ValueError, match="flip_indices must list 17"):
        flip_heatmaps(torch.zeros(1, 17, 4, 4), [0, 1])
    assert codec.support_batch_decoding


SIMCC_CONFIGS = [
    dict(input_size=(192, 256), sigma=(4.9, 5.66), simcc_split_ratio=2.0, normalize=False),  # RTMPose-m
    dict(input_size=(192, 256), sigma=6.0, use_dark=True),
    dict(input_size=(288, 384), sigma=(6.0, 6.93), simcc_split_ratio=2.0, normalize=False, use_dark=True),
    dict(input_size=(288, 384), sigma=(6.0, 6.93), simcc_split_ratio=2.0, normalize=False, decode_visibility=True),
]


def simcc_like(rng, length, N=3, K=17, sigma=5.0):
    x = np.arange(length)
    mu = rng.uniform(2, length - 2, (N, K, 1))  # a peak cut by the end makes 1-D DARK ill-conditioned
    v = np.exp(-((x - mu) ** 2) / (2 * sigma**2)) * rng.uniform(0.3, 1.0, (N, K, 1))
    v = (v + rng.normal(0, 0.003, v.shape)).astype(np.float32)
    v[0, 0] = 0.0  # all zero: score 0, location -1 (DARK: NaN, as MMPose)
    v[0, 1] = -np.abs(v[0, 1])
    v[1, 2, 0] = v.max() + 1.0  # maximum on the first bin
    return v


@pytest.mark.parity
@pytest.mark.parametrize("kw", SIMCC_CONFIGS)
def test_simcc_decode_matches_mmpose(kw):
    from pyposefast.codecs import SimCCLabel

    theirs, ours = mmpose_codecs().SimCCLabel(**kw), SimCCLabel(**kw)
    rng = np.random.default_rng(len(str(kw)))
    wx, wy = (int(np.around(s * theirs.simcc_split_ratio)) for s in theirs.input_size)
    for _ in range(4):
        x, y = simcc_like(rng, wx), simcc_like(rng, wy)
        with np.errstate(all="ignore"):
            ekp, esc = theirs.decode(x.copy(), y.copy())
        kp, sc = ours.decode(x, y)
        np.testing.assert_allclose(kp, ekp, rtol=0, atol=1e-4, equal_nan=True)
        if kw.get("decode_visibility"):
            np.testing.assert_array_equal(sc[0], esc[0])
            np.testing.assert_allclose(sc[1], esc[1], rtol=1e-12, atol=0)
        else:
            np.testing.assert_array_equal(sc, esc)
        if not kw.get("use_dark"):  # MMPose's DARK needs [N, K, W]; plain decoding also takes [K, W]
            kp2, _ = ours.decode(x[1], y[1])
            ekp2, _ = theirs.decode(x[1].copy(), y[1].copy())
            np.testing.assert_allclose(kp2, ekp2, rtol=0, atol=1e-4)


@pytest.mark.parity
@pytest.mark.parametrize("device", DEVICES)
def test_simcc_batch_decode_on_device(device):
    from pyposefast.codecs import SimCCLabel

    kw = SIMCC_CONFIGS[2]
    theirs, ours = mmpose_codecs().SimCCLabel(**kw), SimCCLabel(**kw)
    rng = np.random.default_rng(0)
    x, y = simcc_like(rng, 576, N=6), simcc_like(rng, 768, N=6)
    kp, sc = ours.batch_decode(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))
    with np.errstate(all="ignore"):
        ekp, esc = theirs.decode(x.copy(), y.copy())
    np.testing.assert_allclose(kp.cpu().numpy(), ekp, rtol=0, atol=1e-4, equal_nan=True)
    np.testing.assert_array_equal(sc.cpu().numpy(), esc)


@pytest.mark.parity
@pytest.mark.parametrize("ks", [11, 5, 3])
def test_megvii_decode_matches_mmpose(ks):
    from pyposefast.codecs import MegviiHeatmap

    theirs, ours = mmpose_codecs().MegviiHeatmap((192, 256), (48, 64), ks), MegviiHeatmap((192, 256), (48, 64), ks)
    rng = np.random.default_rng(ks)
    for _ in range(4):
        kp = rng.uniform(-10, 200, (1, 17, 2)).astype(np.float32)
        hm = theirs.encode(kp, np.ones((1, 17), np.float32))["heatmaps"] * rng.uniform(0.3, 1.0)
        hm = (hm + rng.normal(0, 0.3, hm.shape)).astype(np.float32)
        hm[0] = 0.0
        hm[1] = -np.abs(hm[1])
        with np.errstate(all="ignore"):
            ekp, esc = theirs.decode(hm.copy())
        got, gsc = ours.decode(hm)
        np.testing.assert_allclose(got, ekp, rtol=0, atol=1e-4, equal_nan=True)
        np.testing.assert_allclose(gsc, esc, rtol=1e-6, atol=0, equal_nan=True)  # blurred maximum
        bkp, bsc = ours.batch_decode(torch.from_numpy(hm[None]))
        np.testing.assert_array_equal(bkp.numpy(), got)
