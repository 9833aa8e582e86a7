"""Mesh recovery: SMPL model files (synthetic, chumpy-style, npz, missing), the SMPL layer against a
NumPy reference, rotation helpers, the HMR head and ParametricMesh (forward, backward, a short training
run, the adversarial prior) and the mesh metrics."""

from __future__ import annotations

import copyreg
import math
import os
import pickle
import sys
import types

import cv2
import numpy as np
import pytest
import torch

from pyposefast.datasets.mesh import (MeshTrainData, crop_mesh_input, generate_synthetic_mesh, load_mesh_annotations,
                                      load_mosh_annotations, mesh_samples_from_records)
from pyposefast.evaluation.functional.keypoint_eval import keypoint_mpjpe
from pyposefast.losses.mesh import GANLoss, MeshLoss
from pyposefast.models.backbones.resnet import ResNet
from pyposefast.models.mesh.camera import camera_to_pixels, weak_perspective_translation
from pyposefast.models.mesh.discriminator import SMPLDiscriminator
from pyposefast.models.mesh.evaluation import mesh_joint_error, mesh_mpjpe, mesh_pve
from pyposefast.models.mesh.geometry import batch_rodrigues, rot6d_to_rotmat, rotmat_to_axis_angle, rotmat_to_rot6d
from pyposefast.models.mesh.hmr import ParametricMesh, hmr_res50_mixed_224x224
from pyposefast.models.mesh.hmr_head import HMRMeshHead
from pyposefast.models.mesh.smpl import SMPL
from pyposefast.models.mesh.smpl_file import (SMPL_DIR_ENV, SMPL_PARENTS, SMPLModelNotFoundError,
                                              load_smpl_model_file, resolve_smpl_path, write_synthetic_smpl)
from tests.conftest import requires_cuda

V = 368  # 23 bones x 2 rings x 8 segments: a small model keeps the tests fast


@pytest.fixture(scope="module")
def smpl_file(tmp_path_factory):
    return write_synthetic_smpl(tmp_path_factory.mktemp("smpl") / "SMPL_NEUTRAL.pkl", num_vertices=V, seed=3)


@pytest.fixture(scope="module")
def smpl(smpl_file):
    return SMPL(smpl_file)


@pytest.fixture(scope="module")
def smpl64(smpl_file):
    return SMPL(smpl_file, dtype=torch.float64)


def _random_pose(batch, scale=0.4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(batch, 72, generator=g, dtype=torch.float64)


# ---------------------------------------------------------------------------------------- model files


def test_synthetic_file_has_the_official_structure(smpl_file):
    with open(smpl_file, "rb") as fh:
        raw = pickle.load(fh, encoding="latin1")
    expected = {"v_template": ((V, 3), np.float64), "shapedirs": ((V, 3, 10), np.float64),
                "posedirs": ((V, 3, 207), np.float64), "weights": ((V, 24), np.float64),
                "kintree_table": ((2, 24), np.int64), "f": (None, np.uint32), "J": ((24, 3), np.float64)}
    for key, (shape, dtype) in expected.items():
        assert raw[key].dtype == dtype, key
        if shape is not None:
            assert raw[key].shape == shape, key
    assert raw["f"].ndim == 2 and raw["f"].shape[1] == 3
    assert raw["vert_sym_idxs"].shape == (V,) and raw["bs_style"] == "lbs" and raw["bs_type"] == "lrotmin"
    assert raw["weights_prior"].shape == (V, 24) and raw["J_regressor_prior"].shape == (24, V)
    assert type(raw["J_regressor"]).__name__ == "csc_matrix" and raw["J_regressor"].shape == (24, V)
    assert raw["kintree_table"][0, 0] == 4294967295 and list(raw["kintree_table"][1]) == list(range(24))
    np.testing.assert_allclose(raw["weights"].sum(1), 1.0)
    np.testing.assert_allclose(np.asarray(raw["J_regressor"].sum(1)).ravel(), 1.0)


def test_reader_returns_dense_arrays_and_parents(smpl_file, tmp_path):
    model = load_smpl_model_file(smpl_file)
    assert model["J_regressor"].shape == (24, V) and isinstance(model["J_regressor"], np.ndarray)
    assert tuple(model["parents"]) == SMPL_PARENTS
    npz = write_synthetic_smpl(tmp_path / "m.npz", num_vertices=V, seed=3)
    from_npz = load_smpl_model_file(npz)
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "f", "parents"):
        np.testing.assert_array_equal(from_npz[key], model[key], err_msg=key)


def test_reads_a_chumpy_pickle_without_chumpy(smpl_file, tmp_path, monkeypatch):
    """Official files hold shapedirs as a chumpy ``Ch``: write one through a stand-in module and read it back
    with no chumpy importable."""
    raw = pickle.load(open(smpl_file, "rb"), encoding="latin1")
    chumpy = types.ModuleType("chumpy")
    chumpy_ch = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = x
            self._dirty_vars = set()

        def __reduce__(self):
            return copyreg._reconstructor, (Ch, object, None), self.__dict__

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    chumpy_ch.Ch = Ch
    monkeypatch.setitem(sys.modules, "chumpy", chumpy)
    monkeypatch.setitem(sys.modules, "chumpy.ch", chumpy_ch)
    raw["shapedirs"] = Ch(raw["shapedirs"])
    path = tmp_path / "chumpy.pkl"
    with open(path, "wb") as fh:
        pickle.dump(raw, fh, protocol=2)
    monkeypatch.delitem(sys.modules, "chumpy")
    monkeypatch.delitem(sys.modules, "chumpy.ch")
    model = load_smpl_model_file(path)
    np.testing.assert_array_equal(model["shapedirs"], raw["shapedirs"].x)


def test_missing_file_says_where_to_get_it_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.delenv(SMPL_DIR_ENV, raising=False)
    for attempt in (lambda: SMPL(), lambda: SMPL(tmp_path / "nope.pkl"), lambda: SMPL(tmp_path)):
        with pytest.raises(SMPLModelNotFoundError) as info:
            attempt()
        text = str(info.value)
        assert "https://smpl.is.tue.mpg.de" in text and "regist" in text
        assert SMPL_DIR_ENV in text and "model_path" in text and "SMPL_NEUTRAL.pkl" in text
    assert isinstance(info.value, FileNotFoundError)


def test_env_var_and_folder_resolution(smpl_file, monkeypatch):
    monkeypatch.setenv(SMPL_DIR_ENV, str(smpl_file.parent))
    assert resolve_smpl_path() == smpl_file
    assert resolve_smpl_path(smpl_file.parent) == smpl_file
    assert SMPL().num_verts == V


def test_bad_files_are_refused_with_the_key_named(smpl_file, tmp_path):
    raw = pickle.load(open(smpl_file, "rb"), encoding="latin1")
    del raw["posedirs"]
    pickle.dump(raw, open(tmp_path / "a.pkl", "wb"))
    with pytest.raises(ValueError, match="posedirs"):
        load_smpl_model_file(tmp_path / "a.pkl")
    raw = pickle.load(open(smpl_file, "rb"), encoding="latin1")
    raw["weights"] = raw["weights"][:, :10]
    pickle.dump(raw, open(tmp_path / "b.pkl", "wb"))
    with pytest.raises(ValueError, match="weights"):
        load_smpl_model_file(tmp_path / "b.pkl")
    pickle.dump({"v_template": types.SimpleNamespace()}, open(tmp_path / "c.pkl", "wb"))
    with pytest.raises(ValueError, match="types.SimpleNamespace"):  # foreign code in a pickle is not run
        load_smpl_model_file(tmp_path / "c.pkl")
    pickle.dump({"v_template": np.load}, open(tmp_path / "d.pkl", "wb"))
    with pytest.raises(ValueError, match="numpy.load"):  # nor NumPy functions other than array constructors
        load_smpl_model_file(tmp_path / "d.pkl")


@pytest.mark.skipif(not os.environ.get(SMPL_DIR_ENV), reason=f"the official SMPL model is not shipped: set "
                    f"{SMPL_DIR_ENV} to a folder holding SMPL_NEUTRAL.pkl to run this")
def test_official_smpl_model_when_available():
    layer = SMPL(dtype=torch.float64)
    assert layer.num_verts == 6890 and layer.num_model_joints == 24 and layer.get_faces().shape == (13776, 3)
    assert tuple(layer.parents.tolist()) == SMPL_PARENTS
    out = layer(torch.zeros(1, 10, dtype=torch.float64), torch.zeros(1, 69, dtype=torch.float64),
                torch.zeros(1, 3, dtype=torch.float64))
    np.testing.assert_allclose(out["vertices"][0].numpy(), layer.v_template.numpy(), atol=1e-12)
    height = out["vertices"][0, :, 1].max() - out["vertices"][0, :, 1].min()
    assert 1.4 < height < 2.0  # metres, y up


# ---------------------------------------------------------------------------------------- rotations


def test_batch_rodrigues_matches_opencv():
    theta = torch.randn(50, 3, dtype=torch.float64)
    theta[0] = 0.0
    expected = np.stack([cv2.Rodrigues(t.numpy())[0] for t in theta])
    np.testing.assert_allclose(batch_rodrigues(theta).numpy(), expected, atol=1e-7)


def test_rot6d_round_trip_and_orthonormal():
    # exact rotations (batch_rodrigues' MMPose-style 1e-8 angle offset leaves ~1e-8 of non-orthogonality)
    rotmat = torch.from_numpy(np.stack([cv2.Rodrigues(t)[0] for t in np.random.default_rng(0).normal(size=(20, 3))]))
    np.testing.assert_allclose(rot6d_to_rotmat(rotmat_to_rot6d(rotmat)).numpy(), rotmat.numpy(), atol=1e-12)
    out = rot6d_to_rotmat(torch.randn(20, 6, dtype=torch.float64))
    np.testing.assert_allclose((out.transpose(1, 2) @ out).numpy(), np.broadcast_to(np.eye(3), (20, 3, 3)),
                               atol=1e-12)
    np.testing.assert_allclose(torch.linalg.det(out).numpy(), 1.0, atol=1e-12)
    identity = rot6d_to_rotmat(torch.tensor([[1.0, 0, 0, 1, 0, 0]]))
    np.testing.assert_allclose(identity[0].numpy(), np.eye(3))


def test_rotmat_to_axis_angle_inverts_rodrigues():
    rng = np.random.default_rng(1)
    axes = rng.normal(size=(200, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.concatenate([[0.0, 1e-8, 1e-4, np.pi - 1e-4], rng.uniform(0, np.pi - 1e-3, 196)])
    aa = axes * angles[:, None]
    rotmat = torch.from_numpy(np.stack([cv2.Rodrigues(a)[0] for a in aa]))
    out = rotmat_to_axis_angle(rotmat)
    np.testing.assert_allclose(out.numpy(), aa, atol=1e-7)
    half_turn = torch.from_numpy(cv2.Rodrigues(np.array([0.0, np.pi, 0.0]))[0])
    back = cv2.Rodrigues(rotmat_to_axis_angle(half_turn).numpy())[0]  # the axis sign is free at pi
    np.testing.assert_allclose(back, half_turn.numpy(), atol=1e-7)
    assert rotmat_to_axis_angle(rotmat.reshape(10, 20, 3, 3)).shape == (10, 20, 3)


# ---------------------------------------------------------------------------------------- SMPL layer


def _reference_smpl(model, betas, pose):
    """Plain NumPy SMPL (one sample): blend shapes, kinematic chain, skinning; cv2.Rodrigues rotations."""
    rot = np.stack([cv2.Rodrigues(p)[0] for p in pose.reshape(-1, 3)])
    v_shaped = model["v_template"] + model["shapedirs"] @ betas
    joints = model["J_regressor"] @ v_shaped
    v_posed = v_shaped + model["posedirs"] @ (rot[1:] - np.eye(3)).ravel()
    parents = model["parents"]
    world = []
    for j in range(len(parents)):
        local = np.eye(4)
        local[:3, :3] = rot[j]
        local[:3, 3] = joints[j] - (joints[parents[j]] if j else 0)
        world.append(local if j == 0 else world[parents[j]] @ local)
    skin = []
    for j, g in enumerate(world):
        a = g.copy()
        a[:3, 3] -= g[:3, :3] @ joints[j]
        skin.append(a)
    per_vertex = np.einsum("vj,jab->vab", model["weights"], np.stack(skin))
    verts = np.einsum("vab,vb->va", per_vertex, np.concatenate([v_posed, np.ones((len(v_posed), 1))], 1))[:, :3]
    return verts, np.stack([g[:3, 3] for g in world])


def test_smpl_matches_numpy_reference(smpl64, smpl_file):
    model = load_smpl_model_file(smpl_file)
    pose = _random_pose(3, seed=1)
    betas = torch.randn(3, 10, dtype=torch.float64)
    out = smpl64(betas, pose[:, 3:], pose[:, :3])
    assert out["vertices"].dtype == torch.float64 and out["vertices"].shape == (3, V, 3)
    for i in range(3):
        verts, joints = _reference_smpl(model, betas[i].numpy(), pose[i].numpy())
        np.testing.assert_allclose(out["vertices"][i].numpy(), verts, atol=1e-8)  # batch_rodrigues' 1e-8 angle offset
        np.testing.assert_allclose(out["joints"][i].numpy(), joints, atol=1e-8)


def test_zero_pose_and_shape_give_the_template(smpl64, smpl_file):
    model = load_smpl_model_file(smpl_file)
    out = smpl64(torch.zeros(2, 10), torch.zeros(2, 69), torch.zeros(2, 3))
    np.testing.assert_allclose(out["vertices"][1].numpy(), model["v_template"], atol=1e-6)
    np.testing.assert_allclose(out["joints"][1].numpy(), model["J_regressor"] @ model["v_template"], atol=1e-6)
    betas = torch.randn(1, 10, dtype=torch.float64)
    shaped = smpl64(betas, torch.zeros(1, 69, dtype=torch.float64), torch.zeros(1, 3, dtype=torch.float64))
    expected = model["v_template"] + model["shapedirs"] @ betas[0].numpy()
    np.testing.assert_allclose(shaped["vertices"][0].numpy(), expected, atol=1e-10)


def test_joints_regressor_applies_to_the_posed_vertices(smpl_file):
    regressor = np.random.default_rng(0).random((17, V))
    layer = SMPL(smpl_file, joints_regressor=regressor[None])
    pose = _random_pose(2)
    out = layer(torch.zeros(2, 10, dtype=torch.float64), pose[:, 3:], pose[:, :3])
    assert out["joints"].shape == (2, 17, 3) and layer.num_joints == 17
    np.testing.assert_allclose(out["joints"].numpy(), np.einsum("kv,bvc->bkc", regressor, out["vertices"].numpy()),
                               atol=1e-9)
    with pytest.raises(ValueError, match="joints_regressor"):
        SMPL(smpl_file, joints_regressor=np.ones((17, V + 1)))


def test_rotating_the_root_rotates_everything_about_the_root_joint(smpl64, smpl_file):
    model = load_smpl_model_file(smpl_file)
    pose = _random_pose(1, seed=5)
    betas = torch.zeros(1, 10, dtype=torch.float64)
    base = smpl64(betas, pose[:, 3:], torch.zeros(1, 3, dtype=torch.float64))
    root_aa = torch.tensor([[0.3, -1.1, 0.7]], dtype=torch.float64)
    turned = smpl64(betas, pose[:, 3:], root_aa)
    R = cv2.Rodrigues(root_aa[0].numpy())[0]
    pelvis = model["J_regressor"][0] @ model["v_template"]
    for key in ("vertices", "joints"):
        expected = (base[key][0].numpy() - pelvis) @ R.T + pelvis
        np.testing.assert_allclose(turned[key][0].numpy(), expected, atol=1e-9)


def test_rotation_matrices_and_axis_angle_agree_and_transl_adds(smpl64):
    pose = _random_pose(2, seed=2)
    betas = torch.randn(2, 10, dtype=torch.float64)
    rot = batch_rodrigues(pose.reshape(2, 24, 3))
    a = smpl64(betas, pose[:, 3:], pose[:, :3])
    b = smpl64(betas, rot[:, 1:], rot[:, :1], transl=torch.ones(2, 3, dtype=torch.float64))
    np.testing.assert_allclose(b["vertices"].numpy() - 1.0, a["vertices"].numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="body_pose"):
        smpl64(betas, pose[:, 3:10], pose[:, :3])
    with pytest.raises(ValueError, match="betas"):
        smpl64(torch.zeros(2, 11), pose[:, 3:], pose[:, :3])


def test_smpl_gradients_are_correct(smpl64):
    pose = _random_pose(1, seed=7).requires_grad_()
    betas = torch.randn(1, 10, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda b, p: smpl64(b, p[:, 3:], p[:, :3])["vertices"][:, ::23],
                                    (betas, pose), eps=1e-6, atol=1e-5)


# ---------------------------------------------------------------------------------------- HMR


def _tiny_model(smpl, img_res=32, gan=False, seed=0):
    torch.manual_seed(seed)
    backbone = ResNet(depth=18, stem_channels=8, base_channels=8, num_stages=2, strides=(1, 2), dilations=(1, 1),
                      out_indices=(1,))
    head = HMRMeshHead(backbone.feat_dim, hidden_dim=64)
    kw = dict(disc=SMPLDiscriminator(full_pose_channel=(23 * 32, 32, 1)), loss_gan=GANLoss("lsgan")) if gan else {}
    loss = MeshLoss(joints_2d_loss_weight=1.0, joints_3d_loss_weight=1.0, vertex_loss_weight=1.0,
                    smpl_pose_loss_weight=1.0, smpl_beta_loss_weight=0.01, img_res=img_res, pelvis_indices=(1, 2))
    return ParametricMesh(backbone, head, smpl, loss, **kw)


def _targets(smpl, batch, img_res=32, seed=0):
    """Ground truth from random SMPL parameters, upright in the image (root turned pi about x)."""
    g = torch.Generator().manual_seed(seed)
    pose = 0.3 * torch.randn(batch, 72, generator=g)
    pose[:, :3] = torch.tensor([math.pi, 0.0, 0.0]) + 0.1 * torch.randn(batch, 3, generator=g)
    beta = torch.randn(batch, 10, generator=g)
    with torch.no_grad():
        joints = smpl(beta, pose[:, 3:], pose[:, :3])["joints"]
    camera = torch.tensor([0.9, 0.0, 0.1]).expand(batch, 3)
    from pyposefast.models.mesh.camera import project_points
    joints_2d = camera_to_pixels(project_points(joints, camera, 5000.0, img_res), img_res)
    ones = torch.ones(batch, 24, 1)
    return dict(pose=pose, beta=beta, has_smpl=torch.ones(batch), joints_3d=joints, joints_3d_visible=ones,
                joints_2d=joints_2d, joints_2d_visible=ones)


def test_head_starts_at_the_mean_parameters():
    head = HMRMeshHead(16, hidden_dim=32, smpl_mean_params={"pose": np.tile([1, 0, 0, 1, 0, 0], 24),
                                                            "shape": np.arange(10.0), "cam": [0.8, 0.1, -0.1]})
    for layer in (head.decpose, head.decshape, head.deccam):
        torch.nn.init.zeros_(layer.weight)
    rotmat, shape, cam = head(torch.randn(3, 16, 4, 4))
    np.testing.assert_allclose(rotmat.detach().numpy(), np.broadcast_to(np.eye(3), (3, 24, 3, 3)), atol=1e-7)
    np.testing.assert_allclose(shape.detach().numpy(), np.broadcast_to(np.arange(10.0), (3, 10)))
    np.testing.assert_allclose(cam.detach().numpy(), np.broadcast_to([0.8, 0.1, -0.1], (3, 3)), atol=1e-7)
    with pytest.raises(ValueError, match="cam"):
        HMRMeshHead(16, smpl_mean_params={"pose": np.zeros(144), "shape": np.zeros(10), "cam": np.zeros(2)})
    with pytest.raises(ValueError, match="x must be"):
        head(torch.randn(3, 8, 4, 4))


def test_hmr_forward_backward_and_predict(smpl):
    model = _tiny_model(smpl)
    x = torch.randn(2, 3, 32, 32)
    losses = model.loss(x, **_targets(smpl, 2))
    assert set(losses) == {"loss_vertex", "loss_smpl_pose", "loss_smpl_beta", "loss_joints_3d", "loss_joints_2d"}
    sum(losses.values()).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    out = model.eval().predict(x)
    assert out["vertices"].shape == (2, V, 3) and out["keypoints_3d"].shape == (2, 24, 3)
    assert out["keypoints_2d"].shape == (2, 24, 2) and out["smpl_pose"].shape == (2, 24, 3, 3)
    # the 2D keypoints are the camera-frame joints through the pinhole with the principal point at the centre
    cam_joints = out["keypoints_3d"] + out["camera_translation"][:, None]
    pinhole = 5000.0 * cam_joints[..., :2] / cam_joints[..., 2:] + 15.5
    np.testing.assert_allclose(out["keypoints_2d"].numpy(), pinhole.numpy(), rtol=1e-5, atol=1e-4)
    s, tx = out["camera"][:, :1, None], out["camera"][:, None, 1:]  # weak perspective: s (X + t) res / 2
    approx = s * (out["keypoints_3d"][..., :2] + tx) * 16 + 15.5
    np.testing.assert_allclose(out["keypoints_2d"].numpy(), approx.numpy(), atol=0.1)
    boxed = model.predict(x, input_center=torch.tensor([[100.0, 50.0]] * 2), input_scale=torch.tensor([[64.0] * 2] * 2))
    expected = torch.tensor([100.0, 50.0]) + (out["keypoints_2d"] / 32 - 0.5) * 64  # centre + (p / res - 0.5) scale
    np.testing.assert_allclose(boxed["keypoints_2d"].numpy(), expected.numpy(), rtol=1e-5)


def test_hmr_training_run_lowers_the_loss(smpl):
    model = _tiny_model(smpl, seed=1)
    targets = _targets(smpl, 8, seed=1)
    x = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    history = []
    for _ in range(40):
        loss = sum(model.loss(x, **targets).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    assert np.mean(history[-5:]) < 0.5 * np.mean(history[:3]), history


def test_adversarial_prior_gradients_reach_only_their_side(smpl):
    model = _tiny_model(smpl, gan=True)
    targets = _targets(smpl, 2)
    mosh = torch.cat([torch.rand(2, 3), targets["pose"], targets["beta"]], 1)
    losses = model.loss(torch.randn(2, 3, 32, 32), mosh_theta=mosh, **targets)
    assert {"loss_adv", "loss_disc_real", "loss_disc_fake"} <= set(losses)
    assert model.discriminator((None, targets["pose"], targets["beta"])).shape == (2, 25)
    losses["loss_adv"].backward(retain_graph=True)
    assert all(p.grad is None for p in model.discriminator.parameters())
    assert model.mesh_head.decpose.weight.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)
    (losses["loss_disc_real"] + losses["loss_disc_fake"]).backward()
    assert all(p.grad is None for p in model.mesh_head.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.discriminator.parameters())
    with pytest.raises(ValueError, match="disc and loss_gan"):
        ParametricMesh(model.backbone, model.mesh_head, smpl, disc=model.discriminator)


def test_mmpose_hmr_res50_recipe(smpl, smpl_file, tmp_path, monkeypatch):
    monkeypatch.delenv(SMPL_DIR_ENV, raising=False)
    with pytest.raises(SMPLModelNotFoundError, match="smpl.is.tue.mpg.de"):
        hmr_res50_mixed_224x224()
    from_path = hmr_res50_mixed_224x224(smpl_file, joints_regressor=np.ones((17, V)) / V, with_gan=False)
    assert from_path.smpl.num_joints == 17 and not from_path.with_gan
    model = hmr_res50_mixed_224x224(smpl)
    assert model.mesh_head.in_channels == 2048 and model.mesh_head.n_iter == 3 and model.with_gan
    loss = model.loss_mesh
    assert (loss.joints_2d_loss_weight, loss.joints_3d_loss_weight, loss.vertex_loss_weight,
            loss.smpl_pose_loss_weight, loss.smpl_beta_loss_weight, loss.img_res, loss.focal_length) == \
        (100, 1000, 20, 30, 0.2, 224, 5000)
    assert model.loss_gan.gan_type == "lsgan"
    rotmat, beta, camera = model.eval()(torch.randn(1, 3, 64, 64))
    assert rotmat.shape == (1, 24, 3, 3) and beta.shape == (1, 10) and camera.shape == (1, 3)


# ---------------------------------------------------------------------------------------- metrics


def test_mesh_metrics():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(4, 50, 3))
    R = cv2.Rodrigues(np.array([0.2, -0.4, 0.9]))[0]
    moved = 1.3 * gt @ R.T + np.array([0.5, -1.0, 2.0])
    assert mesh_pve(gt, gt) == 0.0
    assert mesh_pve(moved, gt) > 0.5
    assert mesh_pve(moved, gt, alignment="procrustes") < 1e-9
    noisy = gt + rng.normal(scale=0.01, size=gt.shape)
    assert mesh_pve(noisy, gt) == pytest.approx(np.linalg.norm(noisy - gt, axis=-1).mean())
    joints, pred = gt[:, :17], noisy[:, :17] + 5.0
    assert mesh_mpjpe(pred, joints) == pytest.approx(keypoint_mpjpe(pred, joints, np.ones((4, 17), bool)))
    assert mesh_mpjpe(pred, joints, root_index=0) == pytest.approx(
        np.linalg.norm((pred - pred[:, :1]) - (joints - joints[:, :1]), axis=-1).mean())
    assert mesh_mpjpe(moved[:, :17], joints, alignment="procrustes") < 1e-9
    with pytest.raises(ValueError, match="alignment"):
        mesh_pve(gt, gt, alignment="scale")


def test_mesh_joint_error_follows_mmpose_protocol():
    rng = np.random.default_rng(3)
    gt = rng.normal(size=(5, 24, 3))
    pred = gt + rng.normal(scale=0.02, size=gt.shape)
    pred[:, 13:18] += 10.0  # joints outside the 14 LSP joints do not count
    visible = np.ones((5, 24, 1))
    visible[0, 4] = 0
    idx = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 18]
    p = pred[:, idx] - (pred[:, 2:3] + pred[:, 3:4]) / 2
    g = gt[:, idx] - (gt[:, 2:3] + gt[:, 3:4]) / 2
    mask = visible[:, idx, 0] > 0
    expected = np.linalg.norm(p - g, axis=-1)[mask].mean() * 1000
    result = mesh_joint_error(pred, gt, visible)
    assert result["MPJPE"] == pytest.approx(expected)
    assert result["MPJPE-PA"] < result["MPJPE"]
    assert mesh_joint_error(pred + 3.0, gt, visible)["MPJPE"] == pytest.approx(expected)  # pelvis-centred


def test_weak_perspective_translation_depth():
    t = weak_perspective_translation(torch.tensor([[0.5, 0.1, -0.2]]), 5000.0, 224)
    np.testing.assert_allclose(t.numpy(), [[0.1, -0.2, 2 * 5000 / (224 * 0.5)]], rtol=1e-6)


# ---------------------------------------------------------------------------------------- data


def _write_mesh_npz(path, n=3, with_smpl=True):
    rng = np.random.default_rng(0)
    arrays = dict(imgname=np.array([f"images/{i:03d}.jpg" for i in range(n)]), center=rng.random((n, 2)) * 100,
                  scale=rng.random(n) + 0.5, part=rng.random((n, 24, 3)), S=rng.random((n, 24, 4)),
                  gender=np.array(["m", "f", "m"][:n]))
    if with_smpl:
        arrays.update(pose=rng.random((n, 72)), shape=rng.random((n, 10)))
    np.savez(path, **arrays)
    return arrays


def test_mesh_annotation_reader(tmp_path):
    arrays = _write_mesh_npz(tmp_path / "train.npz")
    records = load_mesh_annotations(tmp_path / "train.npz", img_prefix="/data/h36m")
    assert len(records) == 3
    r = records[1]
    assert r["image_file"] == "/data/h36m/images/001.jpg" and r["has_smpl"] == 1 and r["gender"] == 1
    assert records[0]["gender"] == 0 and r["rotation"] == 0
    np.testing.assert_allclose(r["scale"], [arrays["scale"][1]] * 2, rtol=1e-6)
    np.testing.assert_allclose(r["joints_2d"], arrays["part"][1, :, :2], rtol=1e-6)
    np.testing.assert_allclose(r["joints_2d_visible"][:, 0], arrays["part"][1, :, 2], rtol=1e-6)
    np.testing.assert_allclose(r["joints_3d"], arrays["S"][1, :, :3], rtol=1e-6)
    np.testing.assert_allclose(r["pose"], arrays["pose"][1], rtol=1e-6)
    _write_mesh_npz(tmp_path / "nosmpl.npz", with_smpl=False)
    bare = load_mesh_annotations(tmp_path / "nosmpl.npz")[0]
    assert bare["has_smpl"] == 0 and not bare["pose"].any() and bare["beta"].shape == (10,)
    np.savez(tmp_path / "mosh.npz", pose=arrays["pose"], shape=arrays["shape"])
    mosh = load_mosh_annotations(tmp_path / "mosh.npz")
    assert mosh.shape == (3, 85) and not mosh[:, :3].any()
    np.testing.assert_allclose(mosh[:, 3:75], arrays["pose"], rtol=1e-6)
    np.savez(tmp_path / "bad.npz", imgname=arrays["imgname"], center=arrays["center"])
    with pytest.raises(ValueError, match="scale"):
        load_mesh_annotations(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError):
        load_mesh_annotations(tmp_path / "none.npz")


def test_records_are_cropped_into_training_samples(tmp_path):
    arrays = _write_mesh_npz(tmp_path / "ann.npz", n=2)
    records = load_mesh_annotations(tmp_path / "ann.npz", img_prefix=str(tmp_path))
    (tmp_path / "images").mkdir()
    for i, record in enumerate(records):
        record["center"] = np.array([60.0 + 10 * i, 50.0], np.float32)
        record["scale"] = np.array([0.4, 0.4], np.float32)  # an 80-pixel box
        record["joints_2d"][3] = [45.0 + 10 * i, 30.0]  # a white dot on joint 3
        image = np.zeros((120, 140, 3), np.uint8)
        cv2.circle(image, (45 + 10 * i, 30), 2, (255, 255, 255), -1)
        cv2.imwrite(record["image_file"], image)
    samples = mesh_samples_from_records(records, img_res=32)
    assert samples["images"].shape == (2, 32, 32, 3) and samples["joints_2d"].shape == (2, 24, 2)
    for i in range(2):
        x, y = samples["joints_2d"][i, 3]
        np.testing.assert_allclose([x, y], [(45 - 60) * 0.4 + 16, (30 - 50) * 0.4 + 16], atol=1e-4)
        assert samples["images"][i, int(round(y)), int(round(x))].max() > 100  # the dot is where the joint went
        back = records[i]["center"] + (samples["joints_2d"][i] / 32 - 0.5) * 80  # predict's input_center/scale map
        np.testing.assert_allclose(back, records[i]["joints_2d"], atol=1e-3)
    np.testing.assert_allclose(samples["pose"], arrays["pose"].astype(np.float32))
    assert len(MeshTrainData(samples, batch_size=2)) == 1
    assert crop_mesh_input(np.zeros((10, 10, 3), np.uint8), (5, 5), 1.0, 16).shape == (16, 16, 3)
    records[0]["image_file"] = str(tmp_path / "missing.jpg")
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        mesh_samples_from_records(records, img_res=32)


def test_synthetic_mesh_data_draws_the_body_where_its_joints_project(smpl):
    data = generate_synthetic_mesh(smpl, 6, img_res=48, seed=4)
    again = generate_synthetic_mesh(smpl, 6, img_res=48, seed=4)
    for key, value in data.items():
        np.testing.assert_array_equal(value, again[key], err_msg=key)
    assert data["images"].shape == (6, 48, 48, 3) and data["joints_2d"].shape == (6, 24, 2)
    # the joints are those of the SMPL layer at the sampled parameters
    pose = torch.from_numpy(data["pose"])
    out = smpl(torch.from_numpy(data["beta"]), pose[:, 3:], pose[:, :3])
    np.testing.assert_allclose(data["joints_3d"], out["joints"].numpy(), atol=1e-6)
    # the body is coloured (saturated) and the background grey: most projected joints land on colour
    hsv = cv2.cvtColor(data["images"].reshape(-1, 48, 3), cv2.COLOR_BGR2HSV).reshape(6, 48, 48, 3)
    px = np.clip(np.round(data["joints_2d"]).astype(int), 0, 47)
    saturation = hsv[np.arange(6)[:, None], px[..., 1], px[..., 0], 1]
    assert (saturation > 100).mean() > 0.8
    assert (hsv[:, 0, 0, 1] < 30).all()  # a corner is background


def test_trainer_fits_parametric_mesh_on_synthetic_data(smpl, tmp_path):
    from pyposefast.engine.trainer import Trainer
    data = MeshTrainData(generate_synthetic_mesh(smpl, 16, img_res=32, seed=0), batch_size=4)
    batch = next(iter(data))
    assert batch["inputs"].shape == (4, 3, 32, 32) and "camera" not in batch
    model = _tiny_model(smpl)
    trainer = Trainer(model, data, work_dir=str(tmp_path / "work"), max_epochs=5, save_best=None, progress=False,
                      tensorboard=False, device="cpu", optimizer={"type": "adam", "lr": 2e-3, "weight_decay": 0.0},
                      scheduler=None, log_interval=2)
    result = trainer.fit()
    losses = [h["loss"] for h in result["history"]]
    assert np.isfinite(losses).all() and losses[-1] < 0.995 * losses[0], losses
    assert (tmp_path / "work" / "last.pt").exists()


# ---------------------------------------------------------------------------------------- CUDA


@requires_cuda
@pytest.mark.cuda
def test_cuda_smpl_matches_cpu_and_hmr_trains(smpl_file):
    cpu = SMPL(smpl_file, dtype=torch.float64)
    gpu = SMPL(smpl_file, dtype=torch.float64).cuda()
    pose, betas = _random_pose(4, seed=9), torch.randn(4, 10, dtype=torch.float64)
    a = cpu(betas, pose[:, 3:], pose[:, :3])
    b = gpu(betas.cuda(), pose[:, 3:].cuda(), pose[:, :3].cuda())
    for key in ("vertices", "joints"):
        assert b[key].is_cuda
        np.testing.assert_allclose(b[key].cpu().numpy(), a[key].numpy(), atol=1e-10)
    layer = SMPL(smpl_file)
    targets = {k: v.cuda() for k, v in _targets(layer, 4).items()}  # on the CPU layer, before .cuda()
    model = _tiny_model(layer, gan=True).cuda()
    mosh = torch.cat([torch.zeros(4, 3, device="cuda"), targets["pose"], targets["beta"]], 1)
    losses = model.loss(torch.randn(4, 3, 32, 32, device="cuda"), mosh_theta=mosh, **targets)
    sum(losses.values()).backward()
    assert all(v.is_cuda and torch.isfinite(v) for v in losses.values())
    out = model.eval().predict(torch.randn(2, 3, 32, 32, device="cuda"))
    assert out["vertices"].is_cuda and torch.isfinite(out["keypoints_2d"]).all()


def test_smpl_and_mesh_loss_stay_float32_under_autocast(smpl):
    targets = _targets(smpl, 3)
    pose, beta = targets["pose"], targets["beta"]
    reference = smpl(beta, pose[:, 3:], pose[:, :3])
    loss = MeshLoss(1.0, 1.0, 1.0, 1.0, 1.0, img_res=32)
    output = {"vertices": reference["vertices"] + 0.01, "joints_3d": reference["joints"] + 0.01,
              "camera": torch.tensor([[0.9, 0.0, 0.1]] * 3)}
    target = dict(targets, vertices=reference["vertices"])
    plain = loss(output, target)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = smpl(beta.bfloat16(), pose[:, 3:].bfloat16(), pose[:, :3].bfloat16())
        mixed_loss = loss({k: v.bfloat16() for k, v in output.items()}, target)
    assert mixed["vertices"].dtype == torch.float32
    np.testing.assert_allclose(mixed["vertices"].numpy(), reference["vertices"].numpy(), atol=0.03)  # bf16 inputs
    for key, value in plain.items():
        assert mixed_loss[key].dtype == torch.float32
        assert mixed_loss[key].item() == pytest.approx(value.item(), rel=0.05, abs=1e-3), key
