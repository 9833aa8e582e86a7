"""MeshLoss and GANLoss against their formulas written out (MMPose 0.x ``mesh_loss.py``), and the
camera projection they use."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from pyposefast.losses.mesh import GANLoss, MeshLoss
from pyposefast.models.mesh.camera import camera_to_pixels, perspective_projection, project_points

B, K, V, RES, FOCAL = 3, 24, 40, 64, 5000.0


def _smooth_l1(d):
    a = d.abs()
    return torch.where(a < 1, 0.5 * d * d, a - 0.5)


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    gt_pose = 0.5 * r(B, K * 3)
    output = {"vertices": r(B, V, 3), "joints_3d": r(B, K, 3), "camera": torch.tensor([[0.9, 0.1, -0.2]] * B,
                                                                                          dtype=torch.float64),
              "pose": torch.from_numpy(np.stack([[cv2.Rodrigues(a)[0] for a in p]
                                                 for p in (0.5 * r(B, K, 3)).numpy()])),
              "beta": r(B, 10)}
    target = {"vertices": r(B, V, 3), "joints_3d": r(B, K, 3), "joints_2d": RES * torch.rand(B, K, 2, generator=g,
                                                                                           dtype=torch.float64),
              "joints_3d_visible": (torch.rand(B, K, 1, generator=g) > 0.3).double(),
              "joints_2d_visible": (torch.rand(B, K, 1, generator=g) > 0.3).double(),
              "pose": gt_pose, "beta": r(B, 10), "has_smpl": torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)}
    return output, target


def _loss(**kw):
    weights = dict(joints_2d_loss_weight=2.0, joints_3d_loss_weight=3.0, vertex_loss_weight=0.5,
                   smpl_pose_loss_weight=4.0, smpl_beta_loss_weight=0.25, img_res=RES)
    weights.update(kw)
    return MeshLoss(**weights)


def test_mesh_loss_matches_the_formulas():
    output, target = _inputs()
    losses = _loss()(output, target)
    has = target["has_smpl"]
    assert set(losses) == {"vertex_loss", "smpl_pose_loss", "smpl_beta_loss", "joints_3d_loss", "joints_2d_loss"}
    vertex = (has[:, None, None] * (output["vertices"] - target["vertices"]).abs()).mean()
    assert losses["vertex_loss"].item() == pytest.approx(0.5 * vertex.item(), rel=1e-12)
    gt_rot = torch.from_numpy(np.stack([[cv2.Rodrigues(a)[0] for a in p] for p in target["pose"].reshape(B, K, 3)
                                        .numpy()]))
    pose = (has[:, None, None, None] * (output["pose"] - gt_rot) ** 2).mean()
    assert losses["smpl_pose_loss"].item() == pytest.approx(4.0 * pose.item(), rel=1e-6)
    beta = (has[:, None] * (output["beta"] - target["beta"]) ** 2).mean()
    assert losses["smpl_beta_loss"].item() == pytest.approx(0.25 * beta.item(), rel=1e-12)
    pred_c = output["joints_3d"] - (output["joints_3d"][:, 2] + output["joints_3d"][:, 3])[:, None] / 2
    gt_c = target["joints_3d"] - (target["joints_3d"][:, 2] + target["joints_3d"][:, 3])[:, None] / 2
    joints_3d = (target["joints_3d_visible"] * _smooth_l1(pred_c - gt_c)).mean()
    assert losses["joints_3d_loss"].item() == pytest.approx(3.0 * joints_3d.item(), rel=1e-12)
    s, tx, ty = output["camera"][:, 0], output["camera"][:, 1], output["camera"][:, 2]
    cam_pts = output["joints_3d"] + torch.stack([tx, ty, 2 * FOCAL / (RES * s + 1e-9)], -1)[:, None]
    projected = FOCAL * cam_pts[..., :2] / cam_pts[..., 2:]
    joints_2d = (target["joints_2d_visible"]
                 * _smooth_l1(2 * projected / (RES - 1) - (2 * target["joints_2d"] / (RES - 1) - 1))).mean()
    assert losses["joints_2d_loss"].item() == pytest.approx(2.0 * joints_2d.item(), rel=1e-12)


def test_mesh_loss_is_zero_at_the_ground_truth_and_invariant_where_it_should_be():
    output, target = _inputs(1)
    loss = _loss()
    target["vertices"] = output["vertices"].clone()
    target["beta"] = output["beta"].clone()
    target["joints_3d"] = output["joints_3d"] + torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)  # pelvis-centred
    target["joints_2d"] = camera_to_pixels(loss.project_points(output["joints_3d"], output["camera"]), RES)
    target["pose"] = torch.zeros(B, K * 3, dtype=torch.float64)
    output["pose"] = torch.eye(3, dtype=torch.float64).expand(B, K, 3, 3)
    for name, value in loss(output, target).items():
        assert value.item() == pytest.approx(0.0, abs=1e-7), name


def test_mesh_loss_weights_visibility_and_options():
    output, target = _inputs(2)
    none_visible = dict(target, joints_2d_visible=torch.zeros(B, K, 1), joints_3d_visible=torch.zeros(B, K),
                        has_smpl=torch.zeros(B))
    losses = _loss()(output, none_visible)
    assert all(v.item() == 0.0 for v in losses.values())
    no_params = {k: v for k, v in output.items() if k not in ("pose", "beta")}
    assert "smpl_pose_loss" not in _loss()(no_params, target)
    with_camera = _loss(camera_loss_weight=2.0)(output, target)
    assert with_camera["camera_loss"].item() == pytest.approx(2.0 * math.exp(-10 * 0.9) ** 2, rel=1e-9)
    l1 = _loss(joints_criterion="l1", pelvis_indices=(0,))(output, target)["joints_3d_loss"]
    pred_c = output["joints_3d"] - output["joints_3d"][:, :1]
    gt_c = target["joints_3d"] - target["joints_3d"][:, :1]
    assert l1.item() == pytest.approx(3.0 * (target["joints_3d_visible"] * (pred_c - gt_c).abs()).mean().item())
    with pytest.raises(KeyError, match="joints_2d"):
        _loss()(output, {k: v for k, v in target.items() if k != "joints_2d"})
    with pytest.raises(ValueError, match="joints_criterion"):
        _loss(joints_criterion="huber")
    with pytest.raises(ValueError, match="has_smpl"):
        _loss()(output, dict(target, has_smpl=torch.ones(B + 1)))


def test_mesh_loss_backward_reaches_every_prediction():
    output, target = _inputs(3)
    output = {k: v.clone().requires_grad_() for k, v in output.items()}
    sum(_loss(camera_loss_weight=1.0)(output, target).values()).backward()
    for name, value in output.items():
        assert value.grad is not None and value.grad.abs().sum() > 0, name


def test_gan_loss_types():
    score = torch.tensor([[0.3, -1.2], [2.0, 0.1]])
    vanilla = GANLoss("vanilla", loss_weight=2.0)
    bce_real = torch.nn.functional.softplus(-score).mean()
    assert vanilla(score, True).item() == pytest.approx(2.0 * bce_real.item(), rel=1e-6)
    assert vanilla(score, True, is_disc=True).item() == pytest.approx(bce_real.item(), rel=1e-6)
    lsgan = GANLoss("lsgan", real_label_val=0.9)
    assert lsgan(score, True).item() == pytest.approx(((score - 0.9) ** 2).mean().item())
    assert lsgan(score, False).item() == pytest.approx((score ** 2).mean().item())
    wgan = GANLoss("wgan")
    assert wgan(score, True).item() == pytest.approx(-score.mean().item())
    hinge = GANLoss("hinge")
    assert hinge(score, True, is_disc=True).item() == pytest.approx(torch.relu(1 - score).mean().item())
    assert hinge(score, False, is_disc=True).item() == pytest.approx(torch.relu(1 + score).mean().item())
    assert hinge(score, True).item() == pytest.approx(-score.mean().item())
    with pytest.raises(ValueError, match="gan_type"):
        GANLoss("bce")


def test_projection():
    points = torch.tensor([[[0.1, -0.2, 0.3], [0.0, 0.0, 0.0]]], dtype=torch.float64)
    R = torch.from_numpy(cv2.Rodrigues(np.array([0.1, 0.2, 0.3]))[0])[None]
    t = torch.tensor([[0.0, 0.1, 5.0]], dtype=torch.float64)
    uv = perspective_projection(points, R, t, 1000.0, torch.tensor([[320.0, 240.0]], dtype=torch.float64))
    cam = points[0] @ R[0].T + t
    np.testing.assert_allclose(uv[0].numpy(), (1000 * cam[:, :2] / cam[:, 2:] + torch.tensor([320.0, 240.0])).numpy())
    # the far-away camera is a weak-perspective one: s (X + t) img_res / 2 about the centre
    far = project_points(points, torch.tensor([[0.8, 0.05, -0.1]], dtype=torch.float64), FOCAL, 224)
    approx = 0.8 * (points[..., :2] + torch.tensor([0.05, -0.1], dtype=torch.float64)) * 112
    np.testing.assert_allclose(far.numpy(), approx.numpy(), rtol=0.01)  # Z / depth = 0.3 / 56
    with pytest.raises(ValueError, match="camera"):
        project_points(points, torch.zeros(1, 2), FOCAL, 224)
