"""pyposefast.structures.bbox: box formats, warp matrices, flips and inverses.

Parity with MMPose 1.3.2 (skipped when it is not installed), NumPy vs tensor paths, round trips,
gradients, torch.compile traceability and error messages.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyposefast.structures import (
    bbox_cs2xywh,
    bbox_cs2xyxy,
    bbox_xywh2cs,
    bbox_xywh2xyxy,
    bbox_xyxy2cs,
    bbox_xyxy2xywh,
    compose_horizontal_flip,
    fix_aspect_ratio,
    flip_bbox,
    flip_keypoints,
    get_udp_warp_matrix,
    get_warp_matrix,
    invert_affine,
    transform_keypoints,
)

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"))]
OUT_SIZES = [(192, 256), (288, 384), (256, 256), (7, 3)]


@pytest.fixture
def mm():
    return pytest.importorskip("mmpose.structures.bbox")


def random_boxes_xyxy(rng, n, dtype=np.float64):
    xy = rng.uniform(-50, 600, (n, 2))
    wh = rng.uniform(1, 300, (n, 2))
    return np.concatenate([xy, xy + wh], -1).astype(dtype)


def random_cs(rng, n):
    return rng.uniform(-100, 700, (n, 2)), rng.uniform(5, 400, (n, 2))


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def warp_matrix_float64_reference(mmt, center, scale, rot, output_size, shift=(0.0, 0.0), inv=False, fix_ar=True):
    """MMPose's three-point construction (its own helpers) solved in float64, not float32."""
    shift = np.array(shift, np.float64)
    sw, sh = scale
    w, h = output_size
    rad = np.deg2rad(rot)
    src = np.zeros((3, 2))
    dst = np.zeros((3, 2))
    src[0] = center + scale * shift
    src[1] = center + mmt._rotate_point(np.array([sw * -0.5, 0.0]), rad) + scale * shift
    dst[0] = [w * 0.5, h * 0.5]
    dst[1] = dst[0] + np.array([w * -0.5, 0.0])
    if fix_ar:
        src[2] = mmt._get_3rd_point(src[0], src[1])
        dst[2] = mmt._get_3rd_point(dst[0], dst[1])
    else:
        src[2] = center + mmt._rotate_point(np.array([0.0, sh * -0.5]), rad) + scale * shift
        dst[2] = dst[0] + np.array([0.0, h * -0.5])
    if inv:
        src, dst = dst, src
    return np.linalg.solve(np.hstack([src, np.ones((3, 1))]), dst).T


# ------------------------------------------------------------------ box formats


@pytest.mark.parity
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding", [1.0, 1.25])
def test_box_formats_match_mmpose(mm, dtype, padding):
    rng = np.random.default_rng(0)
    xyxy = random_boxes_xyxy(rng, 17, dtype)
    xywh = mm.bbox_xyxy2xywh(xyxy)
    for ours, theirs, arg in [
        (bbox_xyxy2cs, mm.bbox_xyxy2cs, xyxy),
        (bbox_xywh2cs, mm.bbox_xywh2cs, xywh),
    ]:
        for a in (arg, arg[3]):  # batched and single
            c, s = ours(a, padding=padding)
            c_ref, s_ref = theirs(a, padding=padding)
            for x, y in ((c, c_ref), (s, s_ref)):
                assert x.dtype == y.dtype and x.shape == y.shape
                np.testing.assert_array_equal(x, y)
    c, s = mm.bbox_xyxy2cs(xyxy, padding=padding)
    for ours, theirs in [(bbox_cs2xyxy, mm.bbox_cs2xyxy), (bbox_cs2xywh, mm.bbox_cs2xywh)]:
        for args in ((c, s), (c[2], s[2])):
            x, y = ours(*args, padding=padding), theirs(*args, padding=padding)
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x, y)
    scored = np.concatenate([xyxy, rng.uniform(0, 1, (17, 1)).astype(dtype)], -1)
    for ours, theirs, arg in [(bbox_xyxy2xywh, mm.bbox_xyxy2xywh, scored), (bbox_xywh2xyxy, mm.bbox_xywh2xyxy, scored)]:
        x, y = ours(arg), theirs(arg)
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)
    # the defaults are MMPose's function defaults (padding 1.0), not GetBBoxCenterScale's 1.25
    np.testing.assert_array_equal(bbox_xyxy2cs(xyxy)[1], mm.bbox_xyxy2cs(xyxy)[1])


def test_box_format_round_trips_and_int_dtypes():
    rng = np.random.default_rng(1)
    xyxy = random_boxes_xyxy(rng, 9)
    np.testing.assert_allclose(bbox_xywh2xyxy(bbox_xyxy2xywh(xyxy)), xyxy, rtol=0, atol=1e-12)
    c, s = bbox_xyxy2cs(xyxy, padding=1.25)
    np.testing.assert_allclose(bbox_cs2xyxy(c, s, padding=1.25), xyxy, rtol=0, atol=1e-12)
    ints = np.array([[0, 0, 10, 20]])
    assert bbox_xyxy2xywh(ints).dtype == ints.dtype  # MMPose writes into a copy
    np.testing.assert_array_equal(bbox_xyxy2xywh(ints), [[0, 0, 10, 20]])
    np.testing.assert_array_equal(bbox_xywh2xyxy(np.array([[1, 2, 10, 20]])), [[1, 2, 11, 22]])
    c, s = bbox_xyxy2cs(torch.tensor([[0, 0, 10, 20]]))  # int tensors become floating
    assert c.dtype == torch.get_default_dtype() and torch.equal(c, torch.tensor([[5.0, 10.0]]))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_box_formats_tensor_matches_numpy(device, dtype):
    rng = np.random.default_rng(2)
    xyxy = random_boxes_xyxy(rng, 11)
    t = torch.tensor(xyxy, dtype=dtype, device=device)
    tol = dict(rtol=1e-6, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-9)
    for fn in (bbox_xyxy2cs, bbox_xywh2cs):
        for x, y in zip(fn(t, padding=1.25), fn(xyxy, padding=1.25)):
            assert x.device == t.device and x.dtype == dtype
            np.testing.assert_allclose(x.cpu().numpy(), y, **tol)
    c, s = bbox_xyxy2cs(xyxy)
    ct, st = torch.tensor(c, dtype=dtype, device=device), torch.tensor(s, dtype=dtype, device=device)
    for fn in (bbox_cs2xyxy, bbox_cs2xywh):
        np.testing.assert_allclose(fn(ct, st, padding=2.0).cpu().numpy(), fn(c, s, padding=2.0), **tol)
    for fn in (bbox_xyxy2xywh, bbox_xywh2xyxy):
        np.testing.assert_allclose(fn(t).cpu().numpy(), fn(xyxy), **tol)
    # leading batch shapes broadcast: one scale for many centres
    np.testing.assert_allclose(
        bbox_cs2xyxy(ct, st[0]).cpu().numpy(), bbox_cs2xyxy(c, np.broadcast_to(s[0], c.shape)), **tol
    )


@pytest.mark.parity
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fix_aspect_ratio_matches_topdown_affine(dtype):
    transforms = pytest.importorskip("mmpose.datasets.transforms")
    rng = np.random.default_rng(3)
    scale = rng.uniform(1, 400, (200, 2)).astype(dtype)
    scale[:5] = [[192, 256], [3, 4], [4, 3], [0, 5], [5, 0]]  # ties and zeros
    for ratio in (0.75, 1.0, 4 / 3, 0.1):
        ref = transforms.TopdownAffine._fix_aspect_ratio(scale, aspect_ratio=ratio)
        ours = fix_aspect_ratio(scale, ratio)
        assert ours.dtype == ref.dtype
        np.testing.assert_array_equal(ours, ref)
        t = fix_aspect_ratio(torch.from_numpy(scale), ratio)
        np.testing.assert_array_equal(t.numpy(), ref)
        # it only grows the box and hits the ratio
        assert np.all(ours >= scale)
        np.testing.assert_allclose(ours[5:, 0] / ours[5:, 1], ratio, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parity
@pytest.mark.parametrize("fmt", ["xywh", "xyxy", "center"])
@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_flip_bbox_matches_mmpose(mm, fmt, direction, dtype):
    rng = np.random.default_rng(4)
    n = 8
    xyxy = random_boxes_xyxy(rng, n)
    bbox = {"xyxy": xyxy, "xywh": mm.bbox_xyxy2xywh(xyxy), "center": mm.bbox_xyxy2cs(xyxy)[0]}[fmt].astype(dtype)
    sizes = rng.integers(100, 900, (n, 2))
    ref = np.stack([mm.flip_bbox(bbox[i], tuple(sizes[i]), fmt, direction) for i in range(n)])
    one = mm.flip_bbox(bbox, (640, 480), fmt, direction)
    ours_one = flip_bbox(bbox, (640, 480), fmt, direction)
    assert ours_one.dtype == one.dtype and ours_one.shape == one.shape
    np.testing.assert_array_equal(ours_one, one)
    if dtype != np.int64:
        t = flip_bbox(torch.from_numpy(bbox), torch.from_numpy(sizes), fmt, direction)  # one size per box
        np.testing.assert_allclose(t.numpy(), ref, rtol=1e-6, atol=1e-4)
        # flipping twice gives the box back
        np.testing.assert_allclose(flip_bbox(ours_one, (640, 480), fmt, direction), bbox, rtol=0, atol=1e-4)


# ------------------------------------------------------------------ warp matrices


@pytest.mark.parity
def test_warp_matrix_closed_form_equals_mmpose_construction_in_float64(mm):
    mmt = pytest.importorskip("mmpose.structures.bbox.transforms")
    rng = np.random.default_rng(5)
    worst = 0.0
    for i in range(300):
        center, scale = random_cs(rng, 1)
        center, scale = center[0], scale[0]
        rot = rng.uniform(-180, 180) if i % 5 else float(rng.choice([0, 90, -90, 180]))
        shift = tuple(rng.uniform(-0.4, 0.4, 2)) if i % 3 else (0.0, 0.0)
        out = OUT_SIZES[i % len(OUT_SIZES)]
        for inv in (False, True):
            for fix_ar in (True, False):
                kw = dict(shift=shift, inv=inv, fix_aspect_ratio=fix_ar)
                ours = get_warp_matrix(center, scale, rot, out, **kw, mmpose_rounding=False)
                ref = warp_matrix_float64_reference(mmt, center, scale, rot, out, shift, inv, fix_ar)
                assert ours.shape == (2, 3) and ours.dtype == np.float64
                worst = max(worst, rel_err(ours, ref))
                # the tensor path's default is the closed form
                t = get_warp_matrix(torch.from_numpy(center), torch.from_numpy(scale), rot, out, **kw)
                worst = max(worst, rel_err(t.numpy(), ref))
    assert worst < 1e-9, worst


@pytest.mark.parity
@pytest.mark.parametrize("in_dtype", [np.float64, np.float32])
def test_warp_matrix_matches_mmpose(mm, in_dtype):
    """MMPose rounds its three points to float32 before cv2.getAffineTransform. With
    ``mmpose_rounding`` (the NumPy default) we solve the same rounded points: 1e-9 relative.
    The exact closed form is float32-close to MMPose, and 1e-9 close where the points are exact
    in float32 (integer centres, even sizes, right-angle rotations)."""
    rng = np.random.default_rng(6)
    for i in range(120):
        center, scale = (x[0].astype(in_dtype) for x in random_cs(rng, 1))
        rot = rng.uniform(-180, 180)
        rot = in_dtype(rot) if i % 2 else float(rot)  # RandomBBoxTransform's rotations are float32
        shift = tuple(rng.uniform(-0.4, 0.4, 2)) if i % 3 else (0.0, 0.0)
        out = OUT_SIZES[i % len(OUT_SIZES)]
        for inv in (False, True):
            for fix_ar in (True, False):
                kw = dict(shift=shift, inv=inv, fix_aspect_ratio=fix_ar)
                ref = mm.get_warp_matrix(center, scale, rot, out, **kw)
                ours = get_warp_matrix(center, scale, rot, out, **kw)
                assert ours.dtype == ref.dtype == np.float64 and ours.shape == ref.shape == (2, 3)
                assert rel_err(ours, ref) < 1e-9
                t = get_warp_matrix(
                    torch.from_numpy(center).double(), torch.from_numpy(scale).double(),
                    torch.from_numpy(np.asarray(rot)), out, **kw, mmpose_rounding=True,  # rot in its dtype
                )
                # a float32 angle: MMPose takes NumPy's float32 sin / cos, which torch's differ
                # from in the last bit now and then
                assert rel_err(t.numpy(), ref) < (1e-9 if isinstance(rot, float) else 1e-5)
                exact = get_warp_matrix(center, scale, rot, out, **kw, mmpose_rounding=False)
                # linear part: relative; translation: relative to what it is made of
                lin = np.abs(ref[:, :2]).max()
                np.testing.assert_allclose(exact[:, :2], ref[:, :2], rtol=2e-5, atol=2e-5 * lin)
                t_scale = lin * (np.abs(center).max() + scale.max()) + max(out)
                np.testing.assert_allclose(exact[:, 2], ref[:, 2], rtol=0, atol=2e-5 * t_scale)
    for i in range(100):
        center = rng.integers(-200, 800, 2).astype(np.float64)
        scale = 2.0 * rng.integers(4, 200, 2)
        rot = float(rng.choice([0.0, 90.0, -90.0, 180.0, 270.0]))
        shift = tuple(rng.choice([0.0, 0.25, -0.5], 2))
        for inv in (False, True):
            for fix_ar in (True, False):
                kw = dict(shift=shift, inv=inv, fix_aspect_ratio=fix_ar, mmpose_rounding=False)
                ours = get_warp_matrix(center, scale, rot, (192, 256), **kw)
                ref = mm.get_warp_matrix(center, scale, rot, (192, 256), shift=shift, inv=inv, fix_aspect_ratio=fix_ar)
                assert rel_err(ours, ref) < 1e-9


@pytest.mark.parity
@pytest.mark.parametrize("in_dtype", [np.float64, np.float32])
def test_udp_warp_matrix_matches_mmpose(mm, in_dtype):
    rng = np.random.default_rng(7)
    for i in range(300):
        center, scale = random_cs(rng, 1)
        center, scale = center[0].astype(in_dtype), scale[0].astype(in_dtype)
        rot = rng.uniform(-180, 180)
        out = OUT_SIZES[i % len(OUT_SIZES)]
        rot = in_dtype(rot) if i % 2 else rot
        ours = get_udp_warp_matrix(center, scale, rot, out)
        ref = mm.get_udp_warp_matrix(center, scale, rot, out)
        assert ours.dtype == ref.dtype == np.float32 and ours.shape == (2, 3)
        # MMPose's arithmetic (float32 for float32 boxes, NEP 50) replayed in its order: bit-equal
        np.testing.assert_array_equal(ours, ref)
        # the tensor path (float64) rounds once at the end instead
        t = get_udp_warp_matrix(torch.from_numpy(center).double(), torch.from_numpy(scale).double(), float(rot), out)
        lin = np.abs(ref[:, :2]).max()
        tol = 3e-7 if in_dtype == np.float64 else 3e-6
        t_scale = lin * (np.abs(center).max() + scale.max())
        np.testing.assert_allclose(t[:, :2].numpy(), ref[:, :2], rtol=tol, atol=tol * lin)
        np.testing.assert_allclose(t[:, 2].numpy(), ref[:, 2], rtol=tol, atol=tol * t_scale)


def test_warp_matrix_geometry():
    """The forward matrix sends the box centre to the output centre and the box's left edge
    midpoint to (0, h/2); UDP sends c -/+ s/2 to pixels 0 and w - 1."""
    rng = np.random.default_rng(8)
    c, s = random_cs(rng, 20)
    rot = rng.uniform(-180, 180, 20)
    w, h = 192, 256
    m = get_warp_matrix(torch.from_numpy(c), torch.from_numpy(s), torch.from_numpy(rot), (w, h))
    th = np.deg2rad(rot)
    left = c - 0.5 * s[:, :1] * np.stack([np.cos(th), np.sin(th)], -1)  # c + R(theta) (-sw/2, 0)
    pts = transform_keypoints(torch.from_numpy(np.stack([c, left], 1)), m).numpy()
    np.testing.assert_allclose(pts[:, 0], np.broadcast_to([w / 2, h / 2], (20, 2)), atol=1e-9)
    np.testing.assert_allclose(pts[:, 1], np.broadcast_to([0, h / 2], (20, 2)), atol=1e-9)
    u = get_udp_warp_matrix(torch.from_numpy(c), torch.from_numpy(s), 0.0, (w, h))
    corners = transform_keypoints(torch.from_numpy(np.stack([c - s / 2, c + s / 2], 1)), u).numpy()
    np.testing.assert_allclose(corners[:, 0], 0.0, atol=1e-9)
    np.testing.assert_allclose(corners[:, 1], np.broadcast_to([w - 1, h - 1], (20, 2)), atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("udp", [False, True])
def test_warp_matrix_batched_tensor_equals_per_sample_numpy(device, udp):
    rng = np.random.default_rng(9)
    n = 33
    c, s = random_cs(rng, n)
    rot = rng.uniform(-180, 180, n)
    kw = {} if udp else dict(shift=(0.1, -0.2), inv=True, fix_aspect_ratio=False)
    fn = get_udp_warp_matrix if udp else get_warp_matrix
    ref = np.stack([fn(c[i], s[i], rot[i], (192, 256), **kw) for i in range(n)])
    np.testing.assert_array_equal(fn(c, s, rot, (192, 256), **kw), ref)  # NumPy batched = per sample
    for dtype, tol in [(torch.float64, 1e-12), (torch.float32, 1e-5)]:
        args = [torch.tensor(x, dtype=dtype, device=device) for x in (c, s, rot)]
        m = fn(*args, (192, 256), **kw)
        assert m.shape == (n, 2, 3) and m.dtype == dtype and m.device == args[0].device
        if udp:
            assert rel_err(m.cpu().numpy(), ref) < max(tol, 1e-6)
        else:
            # tensors default to the exact closed form, NumPy to MMPose's rounded points
            exact = fn(c, s, rot, (192, 256), **kw, mmpose_rounding=False)
            assert rel_err(m.cpu().numpy(), exact) < tol
            rounded = fn(*args, (192, 256), **kw, mmpose_rounding=True)
            assert rounded.dtype == dtype and rel_err(rounded.cpu().numpy(), ref) < tol
    # one float rotation for the whole batch
    m = fn(torch.tensor(c, device=device), torch.tensor(s, device=device), 30.0, (192, 256), **kw)
    kw_np = kw if udp else dict(kw, mmpose_rounding=False)
    ref30 = np.stack([fn(c[i], s[i], 30.0, (192, 256), **kw_np) for i in range(n)])
    assert rel_err(m.cpu().numpy(), ref30) < (1e-6 if udp else 1e-12)


@pytest.mark.parametrize("fix_ar", [True, False])
def test_warp_round_trip_and_inverse(fix_ar):
    rng = np.random.default_rng(10)
    c, s = (torch.from_numpy(x) for x in random_cs(rng, 50))
    rot = torch.from_numpy(rng.uniform(-180, 180, 50))
    fwd = get_warp_matrix(c, s, rot, (192, 256), shift=(0.05, 0.1), fix_aspect_ratio=fix_ar)
    bwd = get_warp_matrix(c, s, rot, (192, 256), shift=(0.05, 0.1), inv=True, fix_aspect_ratio=fix_ar)
    pad = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64).expand(50, 1, 3)
    eye = torch.cat([fwd, pad], 1) @ torch.cat([bwd, pad], 1)
    torch.testing.assert_close(eye, torch.eye(3, dtype=torch.float64).expand(50, 3, 3), rtol=0, atol=1e-12)
    torch.testing.assert_close(invert_affine(fwd), bwd, rtol=1e-12, atol=1e-10)
    pts = torch.from_numpy(rng.uniform(-100, 700, (50, 17, 2)))
    back = transform_keypoints(transform_keypoints(pts, fwd), bwd)
    torch.testing.assert_close(back, pts, rtol=0, atol=1e-9)


def test_warp_matrix_gradients():
    rng = np.random.default_rng(11)
    c, s = (torch.from_numpy(x).requires_grad_() for x in random_cs(rng, 4))
    rot = torch.from_numpy(rng.uniform(-90, 90, 4)).requires_grad_()
    for kw in (dict(), dict(inv=True, fix_aspect_ratio=False, shift=(0.1, 0.2))):
        assert torch.autograd.gradcheck(lambda a, b, r: get_warp_matrix(a, b, r, (48, 64), **kw), (c, s, rot))
    assert torch.autograd.gradcheck(lambda a, b, r: get_udp_warp_matrix(a, b, r, (48, 64)), (c, s, rot))
    m = get_warp_matrix(c, s, rot, (48, 64)).detach().requires_grad_()
    assert torch.autograd.gradcheck(invert_affine, (m,))


# ------------------------------------------------------------------ flip composition, inverse


@pytest.mark.parametrize("device", DEVICES)
def test_compose_horizontal_flip_maps_points_like_the_flipped_image(device):
    rng = np.random.default_rng(12)
    n = 40
    c, s = random_cs(rng, n)
    widths = rng.integers(50, 900, n).astype(np.float64)
    m = get_warp_matrix(torch.tensor(c, device=device), torch.tensor(s, device=device),
                        torch.tensor(rng.uniform(-90, 90, n), device=device), (192, 256))
    wt = torch.tensor(widths, device=device)
    composed = compose_horizontal_flip(m, wt)
    pts = torch.tensor(rng.uniform(0, 900, (n, 9, 2)), device=device)
    flipped = torch.stack([wt[:, None] - 1 - pts[..., 0], pts[..., 1]], -1)  # RandomFlip's x' = W - 1 - x
    torch.testing.assert_close(transform_keypoints(pts, composed), transform_keypoints(flipped, m), rtol=0, atol=1e-9)
    # NumPy path, per sample, and a single width for all
    np.testing.assert_allclose(
        compose_horizontal_flip(m.cpu().numpy(), widths), composed.cpu().numpy(), rtol=1e-15, atol=1e-12
    )
    one = compose_horizontal_flip(m, 640.0)
    torch.testing.assert_close(one, compose_horizontal_flip(m, torch.full((n,), 640.0, dtype=torch.float64, device=device)))
    # a flip composed twice is the identity
    torch.testing.assert_close(compose_horizontal_flip(composed, wt), m, rtol=0, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_invert_affine_matches_cv2(dtype):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(13)
    ms = rng.uniform(-3, 3, (50, 2, 3)).astype(dtype)
    ref = np.stack([cv2.invertAffineTransform(x) for x in ms])
    ours = invert_affine(ms)
    assert ours.dtype == ref.dtype == dtype
    np.testing.assert_allclose(ours, ref, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
    np.testing.assert_allclose(invert_affine(ms[0]), ref[0], rtol=1e-5, atol=1e-6)  # single (2, 3)
    t = invert_affine(torch.from_numpy(ms))
    assert t.dtype == torch.from_numpy(ms).dtype
    np.testing.assert_allclose(t.numpy(), ours, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_invert_affine_degenerate_gives_zeros(device):
    bad = torch.tensor(
        [
            [[1.0, 2.0, 3.0], [2.0, 4.0, 5.0]],  # singular: OpenCV gives zeros too
            [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
            [[float("nan"), 0.0, 0.0], [0.0, 1.0, 0.0]],  # OpenCV gives NaNs here
            [[1.0, 0.0, float("inf")], [0.0, 1.0, 0.0]],
            [[1e-200, 0.0, 0.0], [0.0, 1e-200, 0.0]],  # the inverse overflows float64
            [[2.0, 0.0, 4.0], [0.0, 0.5, 1.0]],  # a good one beside them
        ],
        dtype=torch.float64,
        device=device,
        requires_grad=True,
    )
    inv = invert_affine(bad)
    assert torch.isfinite(inv).all()
    assert torch.count_nonzero(inv[:5]) == 0
    want = torch.tensor([[0.5, 0.0, -2.0], [0.0, 2.0, -2.0]], dtype=torch.float64, device=device)
    torch.testing.assert_close(inv[5], want)
    inv.sum().backward()
    assert torch.isfinite(bad.grad[[0, 1, 4, 5]]).all()  # no NaN leaks from the unused branch
    np.testing.assert_array_equal(invert_affine(bad.detach().cpu().numpy())[:5], 0.0)


def test_traceable_by_torch_compile():
    """The tensor path has no data-dependent Python branching: dynamo traces it in one graph."""

    def pipeline(c, s, rot, widths, kp, vis, mask):
        m = get_warp_matrix(c, s, rot, (192, 256))
        m = compose_horizontal_flip(m, widths)
        u = get_udp_warp_matrix(c, s, rot, (192, 256))
        kp, vis = flip_keypoints(kp, vis, (640.0, 480.0), [0, 2, 1] * 5 + [15, 16], mask=mask)
        return transform_keypoints(kp, m), invert_affine(u), fix_aspect_ratio(s, 0.75), vis

    rng = np.random.default_rng(14)
    c, s = (torch.from_numpy(x).float() for x in random_cs(rng, 5))
    args = (c, s, torch.rand(5) * 60, torch.full((5,), 640.0), torch.rand(5, 17, 2) * 300, torch.rand(5, 17),
            torch.tensor([True, False, True, True, False]))
    compiled = torch.compile(pipeline, backend="eager", fullgraph=True)
    for x, y in zip(compiled(*args), pipeline(*args)):
        torch.testing.assert_close(x, y)


# ------------------------------------------------------------------ errors


def test_errors_name_the_argument():
    box = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"bbox must have shape \(\.\.\., 4\)"):
        bbox_xyxy2cs(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="padding must be a positive"):
        bbox_xyxy2cs(box, padding=-1.0)
    with pytest.raises(TypeError, match="bbox must be a numpy.ndarray or a torch.Tensor"):
        bbox_xywh2cs("box")
    with pytest.raises(TypeError, match="bbox must hold real numbers"):
        bbox_xyxy2xywh(np.zeros((2, 4), dtype=bool))
    with pytest.raises(TypeError, match="center is a torch.Tensor but scale is a numpy.ndarray"):
        bbox_cs2xyxy(torch.zeros(3, 2), np.ones((3, 2)))
    with pytest.raises(ValueError, match="batch shapes do not broadcast"):
        bbox_cs2xywh(np.zeros((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="scale must have shape"):
        get_warp_matrix(np.zeros(2), np.ones(3), 0.0, (192, 256))
    with pytest.raises(ValueError, match="output_size must be a pair"):
        get_warp_matrix(np.zeros(2), np.ones(2), 0.0, (192, 256, 3))
    with pytest.raises(ValueError, match="shift must be a pair"):
        get_warp_matrix(np.zeros(2), np.ones(2), 0.0, (192, 256), shift=(0.1,))
    with pytest.raises(ValueError, match="rot"):
        get_warp_matrix(torch.zeros(4, 2), torch.ones(4, 2), torch.zeros(3), (192, 256))
    with pytest.raises(TypeError, match="center is a torch.Tensor but rot is a numpy.ndarray"):
        get_udp_warp_matrix(torch.zeros(4, 2), torch.ones(4, 2), np.zeros(4), (192, 256))
    with pytest.raises(ValueError, match="aspect_ratio must be a positive"):
        fix_aspect_ratio(np.ones((2, 2)), 0.0)
    with pytest.raises(ValueError, match="direction must be one of"):
        flip_bbox(box, (10, 10), direction="sideways")
    with pytest.raises(ValueError, match="bbox_format must be one of"):
        flip_bbox(box, (10, 10), bbox_format="cxcywh")
    with pytest.raises(ValueError, match=r"bbox must have shape \(\.\.\., 2\)"):
        flip_bbox(box, (10, 10), bbox_format="center")
    with pytest.raises(ValueError, match="image_size must be a pair"):
        flip_bbox(box, (10, 10, 3))
    with pytest.raises(ValueError, match=r"matrices must have shape \(\.\.\., 2, 3\)"):
        invert_affine(np.eye(3))
    with pytest.raises(ValueError, match="batch shapes do not broadcast"):
        compose_horizontal_flip(torch.zeros(4, 2, 3), torch.ones(3))
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="must share a device"):
            get_warp_matrix(torch.zeros(2, 2), torch.ones(2, 2, device="cuda"), 0.0, (4, 4))
