"""pyposefast.datasets.augment: batched RandomBBoxTransform, RandomFlip, RandomHalfBody.

MMPose's transforms draw from ``np.random``; ours from ``torch.rand``. Parity is checked by
feeding MMPose the very uniforms that our generator drew (its ``np.random.rand`` and
``_truncnorm`` patched to return them), so both apply their rules to the same numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyposefast.datasets.augment import (
    RandomBBoxTransform,
    RandomFlip,
    RandomHalfBody,
    truncated_normal,
    truncated_normal_from_uniform,
)

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"))]
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
UPPER = list(range(11))
LOWER = list(range(11, 17))


@pytest.fixture(scope="module")
def mmt():
    return pytest.importorskip("mmpose.datasets.transforms")


def gen(seed: int, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def feed_np_rand(monkeypatch, values):
    """Make ``np.random.rand(*shape)`` hand out ``values`` in order (each already shaped)."""
    queue = list(values)

    def fake_rand(*shape):
        v = np.asarray(queue.pop(0), dtype=np.float64)
        assert v.shape == tuple(shape), (v.shape, shape)
        return v if shape else float(v)

    monkeypatch.setattr(np.random, "rand", fake_rand)
    return queue


def random_people(rng, n, k=17, dtype=np.float32):
    center = rng.uniform(100, 500, (n, 2)).astype(dtype)
    scale = rng.uniform(40, 300, (n, 2)).astype(dtype)
    kp = (center[:, None] + rng.uniform(-0.5, 0.5, (n, k, 2)) * scale[:, None]).astype(dtype)
    vis = (rng.random((n, k)) < rng.uniform(0.2, 1.0, (n, 1))).astype(dtype)
    return center, scale, kp, vis


# ------------------------------------------------------------------ truncated normal


@pytest.mark.parametrize("device", DEVICES)
def test_truncated_normal_distribution(device):
    stats = pytest.importorskip("scipy.stats")
    for low, high in [(-1.0, 1.0), (-2.0, 0.5)]:
        x = truncated_normal((20000,), low, high, generator=gen(0, device), device=device)
        assert x.device.type == device and x.dtype == torch.float32
        x = x.double().cpu().numpy()
        assert x.min() >= low and x.max() <= high
        ref = stats.truncnorm(low, high)
        assert abs(x.mean() - ref.mean()) < 0.01 and abs(x.var() - ref.var()) < 0.01
        assert stats.kstest(x, ref.cdf).pvalue > 1e-3
    # not a uniform or a clipped normal: the KS test tells them apart
    clipped = np.clip(np.random.default_rng(0).standard_normal(20000), -1, 1)
    assert stats.kstest(clipped, stats.truncnorm(-1, 1).cdf).pvalue < 1e-6
    u = torch.tensor([0.0, 0.5, 1.0 - 2**-24])
    torch.testing.assert_close(truncated_normal_from_uniform(u), torch.tensor([-1.0, 0.0, 1.0]), atol=1e-4, rtol=0)


def test_truncated_normal_reproducible():
    a = truncated_normal((5, 4), generator=gen(1))
    b = truncated_normal((5, 4), generator=gen(1))
    c = truncated_normal((5, 4), generator=gen(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ValueError, match="low must be smaller than high"):
        truncated_normal((3,), 1.0, -1.0)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        truncated_normal((3,), generator=np.random.default_rng(0))


# ------------------------------------------------------------------ RandomBBoxTransform


@pytest.mark.parity
def test_random_bbox_transform_matches_mmpose_on_the_same_draws(mmt, monkeypatch):
    rng = np.random.default_rng(0)
    n = 64
    center, scale, _, _ = random_people(rng, n)
    ours_t = RandomBBoxTransform(shift_prob=0.5, rotate_prob=0.5, scale_prob=0.8)
    out = ours_t(torch.from_numpy(center), torch.from_numpy(scale), generator=gen(3))
    # the same draws: one [N, 7] torch.rand call (4 truncated-normal columns, 3 coins)
    u = torch.rand((n, 7), generator=gen(3))
    r = truncated_normal_from_uniform(u[:, :4]).numpy()
    u = u[:, 4:].numpy()
    theirs_t = mmt.RandomBBoxTransform(shift_prob=0.5, rotate_prob=0.5, scale_prob=0.8)
    monkeypatch.setattr(type(theirs_t), "_truncnorm", staticmethod(lambda low=-1.0, high=1.0, size=(): r))
    left = feed_np_rand(monkeypatch, [u[:, 0:1], u[:, 1:2], u[:, 2]])
    ref = theirs_t.transform(dict(bbox_center=center.copy(), bbox_scale=scale.copy()))
    assert not left
    for key in ("bbox_center", "bbox_scale", "bbox_rotation"):
        assert out[key].dtype == torch.float32
        np.testing.assert_allclose(out[key].numpy(), ref[key], rtol=1e-6, atol=1e-4)
    # every branch was taken
    assert 0 < (out["bbox_rotation"] == 0).sum() < n
    assert 0 < (out["bbox_center"] == torch.from_numpy(center)).all(1).sum() < n


@pytest.mark.parametrize("device", DEVICES)
def test_random_bbox_transform_statistics(device):
    n = 20000
    center = torch.full((n, 2), 100.0, device=device)
    scale = torch.tensor([[50.0, 80.0]], device=device).expand(n, 2)
    out = RandomBBoxTransform()(center, scale, generator=gen(4, device))
    offset = (out["bbox_center"] - center) / scale
    factor = out["bbox_scale"] / scale
    rot = out["bbox_rotation"]
    shifted = (offset != 0).any(1).float().mean().item()
    rotated = (rot != 0).float().mean().item()
    assert abs(shifted - 0.3) < 0.015 and abs(rotated - 0.6) < 0.015
    assert offset.abs().max() <= 0.16 + 1e-6 and rot.abs().max() <= 80.0 + 1e-4
    assert factor.min() >= 0.5 - 1e-6 and factor.max() <= 1.5 + 1e-6
    torch.testing.assert_close(factor[:, 0], factor[:, 1])  # one factor for both axes
    assert (factor != 1).float().mean() > 0.99  # scale_prob 1.0
    # the draws are truncated normals: std of truncnorm[-1, 1] is 0.5396
    assert abs((factor[:, 0] - 1).std().item() / 0.5 - 0.5396) < 0.01
    assert abs(rot[rot != 0].std().item() / 80.0 - 0.5396) < 0.01
    assert abs(rot.mean().item()) < 1.0


def test_random_bbox_transform_reproducible_and_errors():
    c, s = torch.rand(8, 2) * 100, torch.rand(8, 2) * 50 + 10
    t = RandomBBoxTransform()
    a, b, d = t(c, s, generator=gen(5)), t(c, s, generator=gen(5)), t(c, s, generator=gen(6))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["bbox_scale"], d["bbox_scale"])
    assert t(c.double(), s.double())["bbox_rotation"].dtype == torch.float64  # global RNG path too
    with pytest.raises(ValueError, match=r"shift_prob must lie in \[0, 1\]"):
        RandomBBoxTransform(shift_prob=1.5)
    with pytest.raises(ValueError, match="scale_factor must be a pair"):
        RandomBBoxTransform(scale_factor=(0.5,))
    with pytest.raises(ValueError, match=r"bbox_center must have shape \[N, 2\]"):
        t(torch.zeros(8, 3), s)
    with pytest.raises(ValueError, match="bbox_center has 7 rows but bbox_scale has 8"):
        t(c[:7], s)
    with pytest.raises(TypeError, match="bbox_scale must be a floating-point tensor"):
        t(c, s.long())
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="generator is a cpu generator"):
            t(c.cuda(), s.cuda(), generator=gen(0))


# ------------------------------------------------------------------ RandomFlip


@pytest.mark.parity
@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal"])
def test_random_flip_matches_mmpose(mmt, direction):
    rng = np.random.default_rng(7)
    n = 6
    center, scale, kp, vis = random_people(rng, n)
    bbox = np.concatenate([center - scale / 2, center + scale / 2], -1)
    sizes = rng.integers(300, 900, (n, 2))  # (W, H)
    theirs = mmt.RandomFlip(prob=1.0, direction=direction)
    out = RandomFlip(prob=1.0, direction=direction, flip_indices=COCO_FLIP)(
        torch.from_numpy(sizes),
        bbox=torch.from_numpy(bbox),
        bbox_center=torch.from_numpy(center),
        keypoints=torch.from_numpy(kp),
        keypoints_visible=torch.from_numpy(vis),
        generator=gen(0),
    )
    assert out["flip"].all() and (out["flip_direction"] == RandomFlip.DIRECTIONS.index(direction) + 1).all()
    for i in range(n):
        w, h = sizes[i]
        ref = theirs.transform(
            dict(
                img=np.zeros((h, w, 1), np.uint8),
                img_shape=(h, w),
                bbox=bbox[i : i + 1].copy(),
                bbox_center=center[i : i + 1].copy(),
                keypoints=kp[i : i + 1].copy(),
                keypoints_visible=vis[i : i + 1].copy(),
                flip_indices=COCO_FLIP,
            )
        )
        assert ref["flip"] and ref["flip_direction"] == direction
        for key in ("bbox", "bbox_center", "keypoints", "keypoints_visible"):
            np.testing.assert_allclose(out[key][i].numpy(), ref[key][0], rtol=1e-6, atol=1e-4, err_msg=key)


@pytest.mark.parity
@pytest.mark.parametrize(
    "prob, direction",
    [(0.5, "horizontal"), (0.6, ["horizontal", "vertical", "diagonal"]), ([0.2, 0.3], ["vertical", "horizontal"])],
)
def test_random_flip_choice_rule_matches_mmpose(mmt, prob, direction):
    """MMPose's np.random.choice(directions + [None], p) maps a uniform u through the cumulative
    probabilities (searchsorted, side='right'): replay its uniforms through our rule."""
    theirs = mmt.RandomFlip(prob=prob, direction=direction)
    ours = RandomFlip(prob=prob, direction=direction)
    names = [None, *RandomFlip.DIRECTIONS]
    us, refs = [], []
    for seed in range(300):
        np.random.seed(seed)
        us.append(np.random.random_sample())
        np.random.seed(seed)
        refs.append(theirs._choose_direction())
    codes = ours.codes_from_draws(torch.tensor(us, dtype=torch.float64))
    assert [names[c] for c in codes.tolist()] == refs
    assert len(set(refs)) == (2 if isinstance(direction, str) else len(direction) + 1)


def test_random_flip_probabilities_and_involution():
    n = 20000
    size = torch.tensor([[640.0, 480.0]]).expand(n, 2)
    out = RandomFlip(prob=[0.2, 0.3], direction=["horizontal", "vertical"])(size, num_instances=n, generator=gen(8))
    freq = torch.bincount(out["flip_direction"], minlength=4).double() / n
    torch.testing.assert_close(freq, torch.tensor([0.5, 0.2, 0.3, 0.0], dtype=torch.float64), atol=0.015, rtol=0)
    assert abs(RandomFlip()(size, num_instances=n, generator=gen(9))["flip"].double().mean().item() - 0.5) < 0.015

    rng = np.random.default_rng(10)
    center, scale, kp, vis = (torch.from_numpy(x) for x in random_people(rng, 30))
    bbox = torch.cat([center - scale / 2, center + scale / 2], -1)
    codes = torch.from_numpy(rng.integers(0, 4, 30))
    sizes = torch.from_numpy(rng.integers(300, 900, (30, 2)))
    flip = RandomFlip(flip_indices=COCO_FLIP)
    once = flip.apply(codes, sizes, bbox=bbox, bbox_center=center, keypoints=kp, keypoints_visible=vis)
    twice = flip.apply(
        codes, sizes, bbox=once["bbox"], bbox_center=once["bbox_center"], keypoints=once["keypoints"],
        keypoints_visible=once["keypoints_visible"],
    )
    for key, x in (("bbox", bbox), ("bbox_center", center), ("keypoints", kp), ("keypoints_visible", vis)):
        torch.testing.assert_close(twice[key], x, rtol=0, atol=1e-4)
    unflipped = codes == 0
    assert torch.equal(once["keypoints"][unflipped], kp[unflipped])
    assert not torch.equal(once["keypoints"][~unflipped], kp[~unflipped])
    # a horizontal flip keeps the box a proper xyxy box and mirrors its centre
    h = codes == 1
    torch.testing.assert_close(once["bbox_center"][h, 0], sizes[h, 0] - 1 - center[h, 0])
    assert (once["bbox"][:, 2] >= once["bbox"][:, 0]).all()


def test_random_flip_errors():
    with pytest.raises(ValueError, match="a list prob needs a list direction"):
        RandomFlip(prob=[0.5], direction="horizontal")
    with pytest.raises(ValueError, match="prob must sum to at most 1"):
        RandomFlip(prob=[0.6, 0.6], direction=["horizontal", "vertical"])
    with pytest.raises(ValueError, match="direction must be one of"):
        RandomFlip(direction="sideways")
    with pytest.raises(ValueError, match=r"prob must lie in \[0, 1\]"):
        RandomFlip(prob=2.0)
    kp = torch.zeros(2, 17, 2)
    with pytest.raises(ValueError, match="flip_indices is required"):
        RandomFlip(prob=1.0)((64, 64), keypoints=kp)
    with pytest.raises(ValueError, match="flip_indices has 3 entries but keypoints has K=17"):
        RandomFlip(prob=1.0, flip_indices=[0, 2, 1])((64, 64), keypoints=kp)
    with pytest.raises(ValueError, match="pass at least one of"):
        RandomFlip()((64, 64))


# ------------------------------------------------------------------ RandomHalfBody


def half_body_mmpose(mmt, monkeypatch, transform_kwargs, center, scale, kp, vis, u, upper=UPPER, lower=LOWER):
    """MMPose's RandomHalfBody on one batch, its np.random.rand handing out our uniforms ``u``
    [N, 2] in the order its loop asks for them."""
    t = mmt.RandomHalfBody(**transform_kwargs)
    queue = []
    v = vis[..., 0] if vis.ndim == 3 else vis
    for i in range(len(v)):
        if v[i].sum() >= t.min_total_keypoints:
            queue.append(u[i, 0])
            if not u[i, 0] > t.prob:
                queue.append(u[i, 1])
    left = feed_np_rand(monkeypatch, queue)
    ref = t.transform(
        dict(bbox_center=center.copy(), bbox_scale=scale.copy(), keypoints=kp.copy(), keypoints_visible=vis.copy(),
             upper_body_ids=upper, lower_body_ids=lower)
    )
    assert not left, "MMPose drew fewer uniforms than our eligibility rule predicts"
    return ref


@pytest.mark.parity
@pytest.mark.parametrize("vis_channels", [None, 2])
def test_random_half_body_matches_mmpose_on_the_same_draws(mmt, monkeypatch, vis_channels):
    rng = np.random.default_rng(11)
    n = 200
    center, scale, kp, vis = random_people(rng, n)
    kwargs = dict(prob=0.6, upper_prioritized_prob=0.6)
    vis_in = vis if vis_channels is None else np.stack([vis, np.ones_like(vis)], -1)
    out = RandomHalfBody(**kwargs, upper_body_ids=UPPER, lower_body_ids=LOWER)(
        torch.from_numpy(center), torch.from_numpy(scale), torch.from_numpy(kp), torch.from_numpy(vis_in), generator=gen(12)
    )
    u = torch.rand((n, 2), generator=gen(12)).numpy()  # the same draws
    ref = half_body_mmpose(mmt, monkeypatch, kwargs, center, scale, kp, vis_in, u)
    np.testing.assert_allclose(out["bbox_center"].numpy(), ref["bbox_center"], rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(out["bbox_scale"].numpy(), ref["bbox_scale"], rtol=1e-5, atol=1e-3)
    codes = out["half_body"]
    assert {0, 1, 2} <= set(codes.tolist())  # all branches met


@pytest.mark.parity
def test_random_half_body_hand_built_cases(mmt, monkeypatch):
    k = 17
    kp = np.zeros((6, k, 2), np.float32)
    kp[:, :, 0] = np.arange(k) * 10.0  # x = 10 i
    kp[:, :, 1] = np.arange(k) ** 2  # y = i^2
    vis = np.ones((6, k), np.float32)
    vis[0, 3:] = 0  # 3 visible: below min_total 9 -> unchanged
    vis[1, 11:15] = 0  # lower has 2 < 3 -> upper, whatever the preference
    vis[2, 2:9] = 0  # upper 4 (0, 1, 9, 10), lower 6: both fine, the preference decides
    vis[3, :10] = 0  # upper 1 < 2, lower 6, but the total 7 < 9: unchanged
    vis[4, [1, 3, 5, 7, 9]] = 0  # upper 6, lower 6, total 12: the preference decides
    vis[5, 1:9] = 0
    vis[5, 0] = 0.5  # 9 keypoints are > 0 but their sum is 8.5 < 9: the *sum* counts, as coded
    center = np.full((6, 2), 7.0, np.float32)
    scale = np.full((6, 2), 3.0, np.float32)
    u = np.zeros((6, 2), np.float32)  # always applied (u0 <= prob)
    for kwargs, want_upper, want_lower in [
        ({}, [0, 1, 1, 0, 1, 0], [0, 1, 2, 0, 2, 0]),
        # min_total 5: row 3 (upper short) takes the lower half, row 5 the preferred one
        (dict(min_total_keypoints=5), [0, 1, 1, 2, 1, 1], [0, 1, 2, 2, 2, 2]),
    ]:
        t = RandomHalfBody(**kwargs, upper_body_ids=UPPER, lower_body_ids=LOWER)
        for want, u1 in ((want_upper, 0.0), (want_lower, 0.99)):  # prefer upper / lower
            u[:, 1] = u1
            codes = t.select_half_body(torch.from_numpy(vis), torch.from_numpy(u))
            assert codes.tolist() == want
            c, s = t.half_body_bbox(codes, *(torch.from_numpy(x) for x in (center, scale, kp, vis)))
            ref = half_body_mmpose(mmt, monkeypatch, kwargs, center, scale, kp, vis, u)
            np.testing.assert_allclose(c.numpy(), ref["bbox_center"], rtol=1e-6)
            np.testing.assert_allclose(s.numpy(), ref["bbox_scale"], rtol=1e-6)
            # hand-computed: row 1 keeps the upper half, ids 0..10: the mean (not the midpoint)
            # of the points as the centre, the extent * 1.5 as the scale
            ids = np.arange(11)
            np.testing.assert_allclose(c[1].numpy(), [50.0, (ids**2).mean()], rtol=1e-6)
            np.testing.assert_allclose(s[1].numpy(), [100 * 1.5, 100 * 1.5], rtol=1e-6)
            np.testing.assert_array_equal(c[0].numpy(), center[0])  # unchanged rows keep their box
    # prob = 0 never applies; u0 == prob applies (MMPose skips only when u0 > prob)
    zero = RandomHalfBody(prob=0.0, upper_body_ids=UPPER, lower_body_ids=LOWER)
    assert (zero.select_half_body(torch.from_numpy(vis), torch.full((6, 2), 1e-9)) == 0).all()
    assert zero.select_half_body(torch.from_numpy(vis), torch.zeros(6, 2))[1] == 1


@pytest.mark.parity
def test_random_half_body_duplicate_ids_count_twice(mmt, monkeypatch):
    rng = np.random.default_rng(13)
    center, scale, kp, vis = random_people(rng, 20)
    vis[:] = 1
    upper = [0, 0, 0, 5, 6]  # the nose three times
    kwargs = dict(prob=1.0, upper_prioritized_prob=1.0)
    out = RandomHalfBody(**kwargs)(
        *(torch.from_numpy(x) for x in (center, scale, kp, vis)), upper_body_ids=upper, lower_body_ids=LOWER,
        generator=gen(14),
    )
    u = torch.rand((20, 2), generator=gen(14)).numpy()
    ref = half_body_mmpose(mmt, monkeypatch, kwargs, center, scale, kp, vis, u, upper=upper)
    assert (out["half_body"] == 1).all()
    np.testing.assert_allclose(out["bbox_center"].numpy(), ref["bbox_center"], rtol=1e-5)
    mean_x = (3 * kp[:, 0, 0] + kp[:, 5, 0] + kp[:, 6, 0]) / 5
    np.testing.assert_allclose(out["bbox_center"][:, 0].numpy(), mean_x, rtol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_random_half_body_statistics_and_reproducibility(device):
    n = 20000
    center = torch.full((n, 2), 200.0, device=device)
    scale = torch.full((n, 2), 100.0, device=device)
    kp = torch.rand((n, 17, 2), generator=gen(15, device), device=device) * 100 + 150
    vis = torch.ones((n, 17), device=device)
    vis[: n // 2, :] = 0  # half the batch has nothing visible: never eligible
    t = RandomHalfBody(upper_body_ids=UPPER, lower_body_ids=LOWER)
    out = t(center, scale, kp, vis, generator=gen(16, device))
    codes = out["half_body"].cpu()
    assert (codes[: n // 2] == 0).all()
    applied = (codes[n // 2 :] != 0).double().mean().item()
    upper = (codes[n // 2 :] == 1).sum().item() / max((codes[n // 2 :] != 0).sum().item(), 1)
    assert abs(applied - 0.3) < 0.02 and abs(upper - 0.7) < 0.03
    again = t(center, scale, kp, vis, generator=gen(16, device))
    assert all(torch.equal(out[k], again[k]) for k in out)
    assert torch.equal(out["bbox_center"][: n // 2], center[: n // 2])


def test_random_half_body_errors():
    c, s, kp, vis = torch.zeros(2, 2), torch.ones(2, 2), torch.zeros(2, 17, 2), torch.ones(2, 17)
    with pytest.raises(ValueError, match="upper_body_ids is required"):
        RandomHalfBody()(c, s, kp, vis)
    with pytest.raises(ValueError, match=r"lower_body_ids must lie in \[0, 17\)"):
        RandomHalfBody(upper_body_ids=UPPER, lower_body_ids=[11, 17])(c, s, kp, vis)
    with pytest.raises(ValueError, match="keypoints_visible must have shape"):
        RandomHalfBody(upper_body_ids=UPPER, lower_body_ids=LOWER)(c, s, kp, vis[:, :5])
    with pytest.raises(ValueError, match="min_total_keypoints must be a non-negative int"):
        RandomHalfBody(min_total_keypoints=-1)
    with pytest.raises(ValueError, match="padding must be a positive"):
        RandomHalfBody(padding=0)
    with pytest.raises(ValueError, match=r"upper_prioritized_prob must lie in \[0, 1\]"):
        RandomHalfBody(upper_prioritized_prob=1.2)
