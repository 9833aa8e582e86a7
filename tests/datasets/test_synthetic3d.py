"""The synthetic Human3.6M: deterministic, physically consistent (bone lengths, smooth motion, feet on
the floor, exact pinhole projection), in MMPose's npz + cameras.pkl format that load_h36m reads."""

from __future__ import annotations

import numpy as np
import pytest

from pyposefast.datasets import dataset_meta
from pyposefast.datasets.h36m import load_h36m, parse_h36m_imgname
from pyposefast.datasets.synthetic3d import ACTIONS, generate_synthetic3d, write_synthetic3d

LINKS = dataset_meta("h36m")["skeleton_links"]


@pytest.fixture(scope="module")
def data():
    return generate_synthetic3d(("S1", "S5"), num_frames=40, num_cameras=3, seed=3, noise_2d=0.0)


def test_deterministic_and_seeded(data):
    again = generate_synthetic3d(("S1", "S5"), num_frames=40, num_cameras=3, seed=3)
    for key in data[0]:
        np.testing.assert_array_equal(again[0][key], data[0][key])
    other = generate_synthetic3d(("S1", "S5"), num_frames=40, num_cameras=3, seed=4)
    assert not np.allclose(other[0]["S"], data[0]["S"])
    # a subject's draws do not depend on the other subjects
    alone = generate_synthetic3d(("S5",), num_frames=40, num_cameras=3, seed=3)
    n = len(alone[0]["imgname"])
    np.testing.assert_array_equal(alone[0]["S"], data[0]["S"][-n:])


def test_layout_names_and_cameras(data):
    arrays, cams = data
    frames = len(arrays["imgname"])
    assert frames == 2 * len(ACTIONS) * 3 * 40
    assert arrays["S"].shape == (frames, 17, 4) and arrays["part"].shape == (frames, 17, 3)
    assert arrays["center"].shape == (frames, 2) and arrays["scale"].shape == (frames,)
    assert (arrays["S"][..., 3] == 1).all() and (arrays["part"][..., 2] == 1).all()
    keys = {parse_h36m_imgname(n) for n in arrays["imgname"]}
    assert len(keys) == 2 * len(ACTIONS) * 3  # videos: subject x action x camera
    assert set(cams) == {(s, c) for s, _, c in keys}
    for cam in cams.values():
        assert cam["R"].shape == (3, 3) and cam["T"].shape == (3, 1) and cam["f"].shape == (2, 1)
        np.testing.assert_allclose(cam["R"] @ cam["R"].T, np.eye(3), atol=1e-5)
        assert {"w", "h", "c", "k", "p", "name", "id"} <= set(cam)


def test_projection_is_the_camera_model(data):
    """part = f * S[:2] / S[2] + c with S in the camera frame, and S = R (X_world - T) is one rigid
    motion per video (the same world skeleton seen by every camera)."""
    arrays, cams = data
    for i in (0, 500, len(arrays["imgname"]) - 1):
        subj, _, cam_id = parse_h36m_imgname(arrays["imgname"][i])
        cam = cams[(subj, cam_id)]
        s = arrays["S"][i, :, :3].astype(np.float64)
        uv = s[:, :2] / s[:, 2:] * cam["f"].reshape(2) + cam["c"].reshape(2)
        np.testing.assert_allclose(arrays["part"][i, :, :2], uv, rtol=1e-5, atol=1e-3)
        assert (s[:, 2] > 1.0).all()  # in front of the camera
        assert (arrays["part"][i, :, :2] > 0).all() and (arrays["part"][i, :, 0] < cam["w"]).all()
    # frame 0 of one action seen by camera 0 and camera 1: the same world pose
    per_video = 40
    s0 = arrays["S"][0, :, :3].astype(np.float64)
    s1 = arrays["S"][per_video, :, :3].astype(np.float64)
    c0, c1 = cams[("S1", "54138969")], cams[("S1", "55011271")]
    w0 = s0 @ c0["R"].astype(np.float64) + c0["T"].reshape(3)
    w1 = s1 @ c1["R"].astype(np.float64) + c1["T"].reshape(3)
    np.testing.assert_allclose(w0, w1, atol=1e-4)


def test_bones_constant_motion_smooth_feet_on_floor(data):
    arrays, cams = data
    s = arrays["S"][..., :3].astype(np.float64)
    videos = s.reshape(-1, 40, 17, 3)
    for v in videos:
        lengths = np.stack([np.linalg.norm(v[:, a] - v[:, b], axis=-1) for a, b in LINKS], -1)  # [40, 16]
        np.testing.assert_allclose(lengths, lengths[:1].repeat(40, 0), atol=1e-4)
        assert 0.2 < lengths[0, 1] < 0.7  # thigh
        step = np.linalg.norm(np.diff(v, axis=0), axis=-1).max()
        assert step < 0.15  # metres per frame at 50 fps: no jumps
    # in the world frame the lowest foot touches z = 0 in every frame
    subj, _, cam_id = parse_h36m_imgname(arrays["imgname"][0])
    cam = cams[(subj, cam_id)]
    world = s[:40] @ cam["R"].astype(np.float64) + cam["T"].reshape(3)
    np.testing.assert_allclose(np.minimum(world[:, 3, 2], world[:, 6, 2]), 0, atol=1e-4)
    # the poses vary (a mean-pose predictor is far off)
    rel = s - s[:, :1]
    assert np.linalg.norm(rel - rel.mean(0), axis=-1).mean() > 0.1


def test_noise_and_errors():
    clean = generate_synthetic3d(("S1",), actions=["Walking"], num_frames=10, num_cameras=1, seed=0)[0]
    noisy = generate_synthetic3d(("S1",), actions=["Walking"], num_frames=10, num_cameras=1, seed=0, noise_2d=2.0)[0]
    np.testing.assert_array_equal(clean["S"], noisy["S"])
    diff = noisy["part"][..., :2] - clean["part"][..., :2]
    assert 1.0 < diff.std() < 3.0
    with pytest.raises(ValueError, match="unknown action 'Flying'"):
        generate_synthetic3d(actions=["Flying"])
    with pytest.raises(ValueError, match="num_cameras"):
        generate_synthetic3d(num_cameras=5)
    with pytest.raises(ValueError, match="overlap"):
        write_synthetic3d("/nonexistent", train_subjects=("S1",), val_subjects=("S1",))


def test_written_files_load_with_load_h36m(tmp_path):
    paths = write_synthetic3d(str(tmp_path), train_subjects=("S1", "S5"), val_subjects=("S9",),
                              actions=["Walking", "Greeting"], num_frames=12, num_cameras=2, seed=1)
    train = load_h36m(paths["train_ann"], seq_len=9, causal=False, pad_video_seq=True,
                      camera_param_file=paths["cameras"]).records
    val = load_h36m(paths["val_ann"], seq_len=9, camera_param_file=paths["cameras"]).records
    assert len(train) == 2 * 2 * 2 * 12  # one window per frame
    assert len(val) == 2 * 2 * (12 - 9 + 1)
    rec = train[5]
    assert rec["keypoints"].shape == (9, 17, 2) and rec["lifting_target"].shape == (1, 17, 3)
    assert rec["camera_param"]["w"] == 1000 and rec["camera_param"]["f"].shape == (2, 1)
    # the target is the centre frame of the window
    np.testing.assert_array_equal(rec["lifting_target"][0], rec["keypoints_3d"][4])
    assert {parse_h36m_imgname(n)[0] for r in val for n in r["img_paths"]} == {"S9"}
