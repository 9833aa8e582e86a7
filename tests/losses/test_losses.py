"""Losses: MMPose 1.3.2 parity on random inputs (1e-6), plus a few hand-checked properties."""

from __future__ import annotations

import pytest
import torch

from pyposefast import losses as L
from tests.models.mmpose_ref import mmpose_models

g = torch.Generator().manual_seed(0)


def rnd(*shape):
    return torch.randn(*shape, generator=g)


def rnd_u(*shape):
    return torch.rand(*shape, generator=g)


def close(a, b, tol=1e-6):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    assert torch.allclose(a, b, rtol=tol, atol=tol), (a, b)


def heat(B=3, K=17, H=16, W=12, empty=True):
    t = rnd_u(B, K, H, W)
    if empty:
        t[0, 2] = 0
        t[1, 5] = 0
    return rnd_u(B, K, H, W), t, rnd_u(B, K)


CASES = [
    ("KeypointMSELoss", dict(use_target_weight=True), "heat_w"),
    ("KeypointMSELoss", dict(use_target_weight=True, skip_empty_channel=True, loss_weight=2.0), "heat_w_mask"),
    ("KeypointMSELoss", dict(), "heat"),
    ("KeypointOHKMMSELoss", dict(use_target_weight=True), "heat_w"),
    ("KeypointOHKMMSELoss", dict(topk=4), "heat_w"),
    ("CombinedTargetMSELoss", dict(use_target_weight=True), "combined"),
    ("AdaptiveWingLoss", dict(use_target_weight=True), "heat_w"),
    ("AdaptiveWingLoss", dict(), "heat"),
    ("SmoothL1Loss", dict(use_target_weight=True), "coord_w2"),
    ("WingLoss", dict(use_target_weight=True), "coord_w3"),
    ("WingLoss", dict(), "coord_big"),
    ("SoftWingLoss", dict(use_target_weight=True), "coord_w3"),
    ("SoftWingLoss", dict(), "coord_big"),
    ("L1Loss", dict(use_target_weight=True), "coord_w2"),
    ("L1Loss", dict(reduction="sum"), "coord"),
    ("MSELoss", dict(use_target_weight=True), "coord_w3"),
    ("MPJPELoss", dict(use_target_weight=True), "coord_w3"),
    ("MPJPELoss", dict(), "coord"),
    ("BoneLoss", dict(joint_parents=[0, 0, 1, 2, 0, 4]), "bone"),
    ("BoneLoss", dict(joint_parents=[0, 0, 1, 2, 0, 4], use_target_weight=True), "bone_w"),
    ("KLDiscretLoss", dict(beta=10.0, label_softmax=True, use_target_weight=True), "simcc"),
    ("KLDiscretLoss", dict(use_target_weight=False, mask=[1, 3], mask_weight=2.0), "simcc_prob"),
    ("JSDiscretLoss", dict(use_target_weight=True), "js"),
    ("RLELoss", dict(use_target_weight=True), "rle"),
    ("RLELoss", dict(q_distribution="gaussian", size_average=False), "rle"),
    ("RLELoss", dict(residual=False), "rle"),
]


def make_args(kind):
    B, K = 4, 6
    if kind == "heat":
        p, t, _ = heat()
        return (p, t)
    if kind == "heat_w":
        p, t, w = heat()
        return (p, t, w)
    if kind == "heat_w_mask":
        p, t, w = heat()
        return (p, t, w, (rnd_u(3, 1, 16, 12) > 0.3).float())
    if kind == "combined":
        return (rnd(3, 15, 8, 6), rnd_u(3, 15, 8, 6), rnd_u(3, 5))
    if kind == "coord":
        return (rnd(B, K, 3) * 3, rnd(B, K, 3) * 3)
    if kind == "coord_big":
        return (rnd(B, K, 2) * 20, rnd(B, K, 2) * 20)
    if kind == "coord_w2":
        return (rnd(B, K, 2), rnd(B, K, 2), rnd_u(B, K))
    if kind == "coord_w3":
        return (rnd(B, K, 2) * 15, rnd(B, K, 2) * 15, rnd_u(B, K, 1))
    if kind == "bone":
        return (rnd(B, K, 3), rnd(B, K, 3))
    if kind == "bone_w":
        return (rnd(B, K, 3), rnd(B, K, 3), rnd_u(B, K))
    if kind == "simcc":
        return ((rnd(B, K, 20), rnd(B, K, 24)), (rnd_u(B, K, 20), rnd_u(B, K, 24)), rnd_u(B, K))
    if kind == "simcc_prob":
        tx, ty = rnd(B, K, 20).softmax(-1), rnd(B, K, 24).softmax(-1)
        return ((rnd(B, K, 20), rnd(B, K, 24)), (tx, ty), rnd_u(B, K))
    if kind == "js":
        return (rnd(B, K, 10).softmax(-1), rnd(B, K, 10).softmax(-1), rnd_u(B, K))
    if kind == "rle":
        return (rnd(B, K, 2) * 0.1, rnd(B, K, 2), rnd(B, K, 2) * 0.1, rnd_u(B, K, 1))
    raise AssertionError(kind)


@pytest.mark.parity
@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_loss_parity(name, kwargs, kind):
    MODELS = mmpose_models()
    ref = MODELS.build(dict(type=name, **kwargs))
    ours = getattr(L, name)(**kwargs)
    if name == "RLELoss":
        ours.load_state_dict(ref.state_dict())
    args = make_args(kind)
    if name == "BoneLoss" and len(args) == 2:
        args = args + (None,)
    close(ours(*args), ref(*args))


@pytest.mark.parity
def test_ae_loss_parity():
    MODELS = mmpose_models()
    ref = MODELS.build(dict(type="AssociativeEmbeddingLoss", loss_weight=0.001))
    ours = L.AssociativeEmbeddingLoss(loss_weight=0.001)
    B, K, H, W = 3, 5, 8, 8
    for Ldim in (1, 2):
        tags = rnd(B, Ldim * K, H, W)
        kpi = []
        for b, n in enumerate((3, 1, 0)):
            idx = torch.randint(0, H * W, (n, K, 1), generator=g)
            vis = (rnd_u(n, K, 1) > 0.3).long()
            if n == 3:
                vis[2] = 0  # an instance with no visible keypoint
            kpi.append(torch.cat([idx, vis], -1))
        a = ours(tags, kpi)
        r = ref(tags, kpi)
        close(a[0], r[0])
        close(a[1], r[1])


def test_mse_loss_by_hand():
    p, t = torch.ones(1, 2, 2, 2), torch.zeros(1, 2, 2, 2)
    w = torch.tensor([[1.0, 0.0]])
    assert float(L.KeypointMSELoss(use_target_weight=True)(p, t, w)) == pytest.approx(0.5)
    t[0, 0, 0, 0] = 1
    assert float(L.KeypointMSELoss(skip_empty_channel=True)(p, t)) == pytest.approx(3 / 8)


def test_loss_errors():
    with pytest.raises(ValueError, match="topk"):
        L.KeypointOHKMMSELoss(topk=8)(torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 2, 2), torch.ones(1, 4))
    with pytest.raises(ValueError, match="target_weights"):
        L.KeypointMSELoss()(torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 2, 2), torch.ones(1, 3))


def test_losses_backward():
    p = rnd(2, 17, 8, 6).requires_grad_()
    t = rnd_u(2, 17, 8, 6)
    L.KeypointOHKMMSELoss(use_target_weight=True)(p, t, rnd_u(2, 17)).backward()
    assert p.grad is not None and torch.isfinite(p.grad).all()
    mu = rnd(2, 17, 2).requires_grad_()
    s = rnd(2, 17, 2).requires_grad_()
    L.RLELoss(use_target_weight=True)(mu, s, rnd(2, 17, 2), torch.ones(2, 17, 1)).backward()
    assert torch.isfinite(mu.grad).all() and torch.isfinite(s.grad).all()
