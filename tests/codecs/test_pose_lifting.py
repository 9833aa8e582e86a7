"""ImagePoseLifting / VideoPoseLifting: MMPose 1.3.2's results on random inputs (every option), the
batched tensor path against the per-sample path, decode round trips and argument errors."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

from pyposefast.codecs.image_pose_lifting import ImagePoseLifting
from pyposefast.codecs.video_pose_lifting import VideoPoseLifting
from tests.conftest import DEVICES

K = 17


def mmpose_codecs():
    return pytest.importorskip("mmpose.codecs", reason="MMPose 1.3.2 (test extra) not installed")


def sample(rng, frames=27, targets=1, dtype=np.float32):
    """One lifting sample: 2D keypoints [N, K, 2] (pixels), visibility [N, K], target [T, K, 3]
    (camera metres, ~4 m away), its visibility [T, K], a camera (w, h, f [2, 1], c [2, 1])."""
    w, h = int(rng.integers(500, 1200)), int(rng.integers(500, 1200))
    kp = np.stack([rng.uniform(0, w, (frames, K)), rng.uniform(0, h, (frames, K))], -1).astype(dtype)
    vis = rng.choice(np.array([0.0, 0.3, 0.5, 0.51, 1.0, 1.0], np.float32), (frames, K))
    target = (rng.normal(0, 0.5, (targets, K, 3)) + np.array([0, 0, 4.0])).astype(dtype)
    target_vis = rng.choice(np.array([0.0, 0.5, 0.6, 1.0, 1.0], np.float32), (targets, K))
    cam = dict(w=w, h=h, f=rng.uniform(900, 1200, (2, 1)).astype(np.float32),
               c=rng.uniform(300, 700, (2, 1)).astype(np.float32), name="cam0")
    return kp, vis, target, target_vis, cam


def assert_same(ref, ours, where=""):
    """Same keys, same values (bit for bit) and dtypes; nested camera dicts compared per key."""
    assert set(ref) == set(ours), f"{where}: keys differ: {set(ref) ^ set(ours)}"
    for key, a in ref.items():
        b = ours[key]
        if isinstance(a, dict):
            assert_same(a, b, f"{where}.{key}")
        elif isinstance(a, (bool, int, str)):
            assert a == b, f"{where}.{key}: {a} != {b}"
        else:
            a, b = np.asarray(a), np.asarray(b)
            assert a.dtype == b.dtype, f"{where}.{key}: dtype {a.dtype} != {b.dtype}"
            np.testing.assert_array_equal(a, b, err_msg=f"{where}.{key}")


VIDEO_OPTIONS = [
    {},
    dict(remove_root=True),
    dict(remove_root=True, save_index=True),  # MMPose deletes the root from the T axis of the target
    # visibility too (np.delete axis=-2): a root_index >= T fails there, so only root 0 compares
    dict(root_index=[11, 12]),
    dict(root_index=[11, 12], remove_root=True),  # two roots: MMPose keeps the root keypoints
    dict(zero_center=False),
    dict(concat_vis=True),
    dict(reshape_keypoints=False, concat_vis=True),
    dict(normalize_camera=True),
    dict(normalize_camera=True, remove_root=True, save_index=True, concat_vis=True),
]


def _ids(options):
    return ",".join(f"{k}={v}" for k, v in options.items()) or "default"


@pytest.mark.parametrize("options", VIDEO_OPTIONS, ids=_ids)
@pytest.mark.parametrize("with_target_vis", [True, False])
def test_video_encode_matches_mmpose(options, with_target_vis):
    codecs = mmpose_codecs()
    rng = np.random.default_rng(zlib.crc32(f'{options}{with_target_vis}'.encode()))
    for frames, targets in ((27, 1), (1, 1), (9, 3)):
        kp, vis, target, target_vis, cam = sample(rng, frames, targets)
        tv = target_vis if with_target_vis else None
        ref = codecs.VideoPoseLifting(K, **options).encode(kp.copy(), vis.copy(), target.copy(),
                                                           None if tv is None else tv.copy(), dict(cam))
        ours = VideoPoseLifting(K, **options).encode(kp, vis, target, tv, cam)
        assert_same(ref, ours, f"{options} N={frames} T={targets}")


def test_video_encode_float64_and_2d_keypoints_match_mmpose():
    codecs = mmpose_codecs()
    rng = np.random.default_rng(1)
    kp, vis, target, target_vis, cam = sample(rng, 5, 1, dtype=np.float64)
    assert_same(codecs.VideoPoseLifting(K).encode(kp.copy(), vis, target.copy(), target_vis, dict(cam)),
                VideoPoseLifting(K).encode(kp, vis, target, target_vis, cam))
    # one frame given as [K, 2]; no visibility
    assert_same(codecs.VideoPoseLifting(K).encode(kp[0].copy(), None, target.copy(), None, dict(cam)),
                VideoPoseLifting(K).encode(kp[0], None, target, None, cam))


IMAGE_OPTIONS = [
    {},
    dict(remove_root=True, save_index=True),
    dict(root_index=[11, 12]),
    dict(concat_vis=True, reshape_keypoints=False),
    dict(keypoints_mean="kp", keypoints_std="kp"),
    dict(target_mean="t", target_std="t", remove_root=True),
    dict(target_mean="t", target_std="t", keypoints_mean="kp", keypoints_std="kp", concat_vis=True),
]


def _image_options(options, rng):
    out = dict(options)
    k_target = K - 1 if options.get("remove_root") else K
    for name, shape in (("keypoints_mean", (K, 2)), ("keypoints_std", (K, 2)), ("target_mean", (k_target, 3)),
                        ("target_std", (k_target, 3))):
        if name in out:
            out[name] = rng.normal(size=shape) if name.endswith("mean") else rng.uniform(0.5, 2, shape)
    return out


@pytest.mark.parametrize("options", IMAGE_OPTIONS, ids=lambda o: ",".join(o) or "default")
def test_image_encode_decode_match_mmpose(options):
    codecs = mmpose_codecs()
    rng = np.random.default_rng(zlib.crc32(str(options).encode()))
    opts = _image_options(options, rng)
    for with_target_vis in (True, False):
        kp, vis, target, target_vis, _ = sample(rng, 1, 1)
        tv = target_vis if with_target_vis else None
        ref = codecs.ImagePoseLifting(K, **opts).encode(kp.copy(), vis.copy(), target.copy(),
                                                        None if tv is None else tv.copy())
        ours = ImagePoseLifting(K, **opts).encode(kp, vis, target, tv)
        assert_same(ref, ours, str(options))
        k_out = K - 1 if opts.get("remove_root") else K
        enc = rng.normal(size=(1, k_out, 3)).astype(np.float32)
        for root in (ref["target_root"], None):
            a = codecs.ImagePoseLifting(K, **opts).decode(enc.copy(), None if root is None else root.copy())
            b = ImagePoseLifting(K, **opts).decode(enc, root)
            np.testing.assert_allclose(b[0], a[0], rtol=1e-6, atol=1e-6)
            np.testing.assert_array_equal(b[1], a[1])


@pytest.mark.parametrize("remove_root", [False, True])
def test_video_decode_matches_mmpose(remove_root):
    codecs = mmpose_codecs()
    rng = np.random.default_rng(2)
    enc = rng.normal(size=(3, K - remove_root, 3)).astype(np.float32)
    for root in (rng.normal(size=(1, 3)).astype(np.float32), rng.normal(size=3), None, np.zeros((0,), np.float32)):
        a = codecs.VideoPoseLifting(K, remove_root=remove_root).decode(enc.copy(), root)
        b = VideoPoseLifting(K, remove_root=remove_root).decode(enc, root)
        assert b[0].shape == a[0].shape
        np.testing.assert_array_equal(b[0], a[0])
        np.testing.assert_array_equal(b[1], a[1])


# ---------------------------------------------------------------- batches vs samples, round trips


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("options", [{}, dict(remove_root=True, save_index=True), dict(root_index=[11, 12]),
                                     dict(normalize_camera=True, concat_vis=True), dict(zero_center=False)])
def test_video_batch_encode_equals_per_sample(device, options):
    rng = np.random.default_rng(3)
    codec = VideoPoseLifting(K, **options)
    samples = [sample(rng, 9, 1) for _ in range(4)]
    kp = torch.tensor(np.stack([s[0] for s in samples]), device=device)
    vis = torch.tensor(np.stack([s[1] for s in samples]), device=device)
    target = torch.tensor(np.stack([s[2] for s in samples]), device=device)
    target_vis = torch.tensor(np.stack([s[3] for s in samples]), device=device)
    cams = dict(w=torch.tensor([s[4]["w"] for s in samples], device=device),
                h=torch.tensor([s[4]["h"] for s in samples], device=device),
                f=torch.tensor(np.stack([s[4]["f"] for s in samples]), device=device),
                c=torch.tensor(np.stack([s[4]["c"] for s in samples]), device=device))
    batch = codec.batch_encode(kp, vis, target, target_vis, cams)
    assert batch["keypoint_labels"].device.type == device
    for i, (k2, v2, t3, tv3, cam) in enumerate(samples):
        one = codec.encode(k2, v2, t3, tv3, cam)
        for key, value in one.items():
            if isinstance(value, dict):
                for ck in ("f", "c"):
                    np.testing.assert_allclose(batch[key][ck][i].cpu().numpy(), value[ck], rtol=1e-6)
            elif isinstance(value, np.ndarray):
                np.testing.assert_allclose(batch[key][i].cpu().numpy(), value, rtol=1e-6, atol=1e-7, err_msg=key)
            else:
                assert batch[key] == value


@pytest.mark.parametrize("device", DEVICES)
def test_image_batch_encode_equals_per_sample(device):
    rng = np.random.default_rng(4)
    opts = _image_options(dict(target_mean=1, target_std=1, keypoints_mean=1, keypoints_std=1, remove_root=True), rng)
    codec = ImagePoseLifting(K, **opts)
    samples = [sample(rng, 1, 1) for _ in range(3)]
    stacked = [torch.tensor(np.stack([s[j] for s in samples]), device=device) for j in range(4)]
    batch = codec.batch_encode(*stacked)
    for i, s in enumerate(samples):
        one = codec.encode(*s[:4])
        for key in ("keypoint_labels", "lifting_target_label", "lifting_target_weight", "target_root"):
            np.testing.assert_allclose(batch[key][i].cpu().numpy(), one[key], rtol=1e-6, atol=1e-6, err_msg=key)
        np.testing.assert_array_equal(batch["keypoints_mean"].cpu().numpy(), one["keypoints_mean"])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("remove_root", [False, True])
def test_batch_decode_inverts_encode(device, remove_root):
    """decode(label, target_root) gives back the target, for both codecs, batched and per sample."""
    rng = np.random.default_rng(5)
    target = torch.tensor(rng.normal(0, 1, (6, 1, K, 3)), dtype=torch.float32, device=device)
    kp = torch.rand(6, 3, K, 2, device=device) * 500
    video = VideoPoseLifting(K, remove_root=remove_root, root_index=2)
    image = ImagePoseLifting(K, remove_root=remove_root, root_index=2)
    for codec, extra in ((video, dict(camera_param=dict(w=500, h=400))), (image, {})):
        enc = codec.batch_encode(kp, None, target, None, **extra)
        label, root = enc["lifting_target_label"][:, 0], enc["target_root"]
        assert label.shape == (6, K - remove_root, 3)
        out, scores = codec.batch_decode(label, root)
        assert out.device.type == device and scores.shape == (6, K)
        torch.testing.assert_close(out, target[:, 0], rtol=0, atol=1e-6)
        rel, _ = codec.batch_decode(label)  # no root: left root-relative
        torch.testing.assert_close(rel, label)
        one, _ = codec.decode(label[:1].cpu().numpy(), root[0].cpu().numpy())
        np.testing.assert_allclose(one, target[:1, 0].cpu().numpy(), atol=1e-6)


def test_video_keypoint_labels_layout():
    """[K * D, N] with channel k * D + d (the TCN's input layout), screen-normalised (x in [-1, 1])."""
    codec = VideoPoseLifting(K)
    kp = torch.zeros(1, 4, K, 2)
    kp[0, 2, 5] = torch.tensor([1000.0, 250.0])  # frame 2, keypoint 5: right edge, a quarter down
    enc = codec.batch_encode(kp, camera_param=dict(w=1000, h=500), lifting_target=torch.zeros(1, 1, K, 3))
    labels = enc["keypoint_labels"]
    assert labels.shape == (1, K * 2, 4)
    assert labels[0, 10, 2].item() == 1.0 and labels[0, 11, 2].item() == 0.0
    assert labels[0, 0, 0].item() == -1.0 and labels[0, 1, 0].item() == -0.5


def test_errors_name_the_argument():
    codec = VideoPoseLifting(K)
    kp, vis, target, target_vis, cam = sample(np.random.default_rng(6), 3, 1)
    with pytest.raises(ValueError, match="camera_param"):
        codec.encode(kp, vis, target, target_vis, dict(f=cam["f"]))
    with pytest.raises(ValueError, match="'f' and 'c'"):
        VideoPoseLifting(K, normalize_camera=True).encode(kp, vis, target, target_vis, dict(w=10, h=10))
    with pytest.raises(ValueError, match="keypoints must be"):
        codec.encode(kp[None], vis, target, target_vis, cam)
    with pytest.raises(ValueError, match="lifting_target must be"):
        codec.encode(kp, vis, target[0], target_vis, cam)
    with pytest.raises(TypeError, match="keypoints must be a torch.Tensor"):
        codec.batch_encode(kp[None], camera_param=cam)
    with pytest.raises(ValueError, match="root_index"):
        VideoPoseLifting(K, root_index=K)
    with pytest.raises(ValueError, match="num_keypoints"):
        VideoPoseLifting(0)
    with pytest.raises(ValueError, match="target_root"):
        codec.batch_decode(torch.zeros(2, K, 3), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="keypoints_std"):
        ImagePoseLifting(K, keypoints_mean=np.zeros((K, 2)))
    with pytest.raises(ValueError, match="lifting_target_visible"):
        codec.batch_encode(torch.zeros(2, 3, K, 2), lifting_target=torch.zeros(2, 1, K, 3),
                           lifting_target_visible=torch.ones(2, 2, K), camera_param=dict(w=1, h=1))
