"""A synthetic Human3.6M: seeded 3D skeleton motion in the H36M-17 layout, filmed by random cameras.

Each subject has bone lengths drawn from priors (adult proportions, scaled by a height factor);
each sequence (an "action": Walking, Waiting, Directions, Greeting, Squatting, Reaching) is a
smooth motion: a gait cycle of hip/knee/shoulder/elbow angles with per-sequence ranges, slow
random drifts of every angle (sums of low-frequency sinusoids), torso lean and twist, head turns,
and a pelvis that walks along a wandering heading with its lowest foot on the floor. Each
subject is filmed by ``num_cameras`` pinhole cameras (focal length, principal point, position on a
ring around the scene, looking at the person's area) whose parameters are the cameras of
MMPose's ``cameras.pkl``.

The result has the structure of MMPose's preprocessed Human3.6M (what :func:`load_h36m` reads):
per frame ``imgname`` (``S1_Walking_1.54138969_000001.jpg``), ``S`` [F, 17, 4] (3D joints in the
camera's frame, metres, + visibility 1), ``part`` [F, 17, 3] (2D pixels + visibility 1, optional
Gaussian noise), ``center`` [F, 2] and ``scale`` [F] (the keypoints' box, H36M's /200 units), and
cameras keyed by (subject, camera id): ``R`` [3, 3] world -> camera rotation, ``T`` [3, 1] the
camera's position (world, metres; a point X maps to ``R @ (X - T)``), ``f`` [2, 1], ``c`` [2, 1]
(pixels), ``k`` [3, 1], ``p`` [2, 1] (zero distortion), ``w``, ``h``, ``name``, ``id``. World
frame: z up, metres. Camera frame: x right, y down, z forward.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same arguments give the same arrays.
"""

from __future__ import annotations

import os
import pickle
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .metainfo import dataset_meta

__all__ = ["generate_synthetic3d", "write_synthetic3d", "skeleton_motion", "ACTIONS", "CAMERA_IDS"]

CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")  # Human3.6M's four camera ids

# per action: (walk amplitude, knee bend base, arm raise base, arm abduction base, lean base,
#              drift amplitude, speed factor); ranges are drawn around these per sequence
ACTIONS: Dict[str, Tuple[float, float, float, float, float, float, float]] = {
    "Walking": (0.45, 0.15, 0.0, 0.15, 0.05, 0.12, 1.0),
    "Waiting": (0.03, 0.05, 0.0, 0.15, 0.0, 0.20, 0.0),
    "Directions": (0.12, 0.10, 0.9, 0.40, 0.05, 0.35, 0.3),
    "Greeting": (0.08, 0.10, 1.6, 0.30, 0.10, 0.40, 0.2),
    "Squatting": (0.02, 1.40, 0.6, 0.20, 0.35, 0.25, 0.0),
    "Reaching": (0.05, 0.40, 1.2, 0.60, 0.45, 0.45, 0.1),
}

# bone-length priors (metres; mean, std) for a 1.75 m adult, scaled by the subject's height factor
_BONES = {"hip_half": (0.13, 0.010), "thigh": (0.45, 0.020), "shin": (0.44, 0.020), "spine": (0.23, 0.015),
          "chest": (0.25, 0.015), "neck": (0.10, 0.010), "head": (0.12, 0.008), "shoulder": (0.16, 0.010),
          "upper_arm": (0.28, 0.015), "forearm": (0.25, 0.015)}


def _rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _apply(rot: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """rot [F, 3, 3] @ vec [3] or [F, 3] -> [F, 3]."""
    return np.einsum("fij,fj->fi", rot, np.broadcast_to(vec, rot.shape[:-1]))


def _drift(rng: np.random.Generator, t: np.ndarray, amplitude: float, n: int = 3) -> np.ndarray:
    """A smooth random signal: a sum of ``n`` sinusoids of 0.05-0.6 Hz, about ``amplitude`` in size."""
    freq = rng.uniform(0.05, 0.6, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    amp = rng.uniform(0.3, 1.0, n) * amplitude / np.sqrt(n)
    return (amp[:, None] * np.sin(2 * np.pi * freq[:, None] * t[None] + phase[:, None])).sum(0)


def skeleton_motion(rng: np.random.Generator, bones: Dict[str, float], action: str, num_frames: int,
                    fps: float = 50.0) -> np.ndarray:
    """One sequence of H36M-17 joints in the world frame (z up, metres).

    Args:
        rng (numpy.random.Generator): the draws.
        bones (dict[str, float]): bone lengths (``hip_half``, ``thigh``, ``shin``, ``spine``,
            ``chest``, ``neck``, ``head``, ``shoulder``, ``upper_arm``, ``forearm``).
        action (str): a key of :data:`ACTIONS` (the style of motion).
        num_frames (int): F. fps (float): frame rate.

    Returns:
        ndarray[F, 17, 3] float64: joints in the order of ``dataset_meta('h36m')``.
    """
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {sorted(ACTIONS)}, got {action!r}")
    walk, knee0, raise0, abd0, lean0, drift, speed = ACTIONS[action]
    t = np.arange(num_frames) / fps
    freq = rng.uniform(0.6, 1.1)
    phase = 2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)
    walk = walk * rng.uniform(0.7, 1.3)
    d = lambda scale=1.0: _drift(rng, t, drift * scale)  # noqa: E731
    sw = np.sin(phase)

    # pelvis orientation: heading (yaw) wandering, lean forward / sideways
    heading = rng.uniform(-np.pi, np.pi) + rng.uniform(-0.3, 0.3) * t + d(1.5)
    lean = lean0 * rng.uniform(0.6, 1.2) + d(0.4)
    side = d(0.3)
    r_pelvis = _rot_z(heading) @ _rot_y(0.5 * side)
    twist = 0.25 * walk * sw + d(0.5)
    r_torso = r_pelvis @ _rot_z(twist) @ _rot_x(-lean) @ _rot_y(side)

    joints = np.zeros((num_frames, 17, 3))
    x_axis, z_axis, down = np.array([1.0, 0, 0]), np.array([0, 0, 1.0]), np.array([0, 0, -1.0])

    # legs (right: index 1-3, at -x; left: 4-6, at +x). Hip flexion about x (forward +), knee bends back.
    knee_base = knee0 * rng.uniform(0.6, 1.2)
    for side_sign, (hip, knee, foot), gait in ((-1, (1, 2, 3), sw), (1, (4, 5, 6), -sw)):
        hip_flex = walk * gait + 0.5 * knee_base + d(0.6)
        knee_flex = np.clip(knee_base + walk * 1.2 * (0.5 + 0.5 * np.sin(phase * (1 if side_sign > 0 else -1) + 1.2))
                            + d(0.5), 0.0, 2.4)
        abduct = 0.05 + np.abs(d(0.3))
        r_thigh = r_pelvis @ _rot_x(hip_flex) @ _rot_y(side_sign * abduct)
        r_shin = r_pelvis @ _rot_x(hip_flex - knee_flex) @ _rot_y(side_sign * abduct)
        joints[:, hip] = _apply(r_pelvis, side_sign * bones["hip_half"] * x_axis)
        joints[:, knee] = joints[:, hip] + bones["thigh"] * _apply(r_thigh, down)
        joints[:, foot] = joints[:, knee] + bones["shin"] * _apply(r_shin, down)

    # spine, thorax, neck, head
    r_chest = r_torso @ _rot_x(-d(0.3))
    joints[:, 7] = bones["spine"] * _apply(r_torso, z_axis)
    joints[:, 8] = joints[:, 7] + bones["chest"] * _apply(r_chest, z_axis)
    r_head = r_chest @ _rot_z(d(1.5)) @ _rot_x(d(0.6))
    joints[:, 9] = joints[:, 8] + bones["neck"] * _apply(r_chest, z_axis)
    joints[:, 10] = joints[:, 9] + bones["head"] * _apply(r_head, np.array([0, 0.35, 0.94]))

    # arms (left: 11-13 at +x; right: 14-16 at -x): flexion about x (forward / up), abduction, elbow bend
    for side_sign, (shoulder, elbow, wrist), gait in ((1, (11, 12, 13), sw), (-1, (14, 15, 16), -sw)):
        raise_ = raise0 * rng.uniform(0.0, 1.3)
        flex = raise_ + 0.8 * walk * gait + d(1.0)
        abduct = abd0 * rng.uniform(0.5, 1.5) + np.abs(d(0.8))
        elbow_flex = np.clip(rng.uniform(0.1, 1.4) + 0.3 * walk * (1 + gait) + d(1.0), 0.0, 2.5)
        r_upper = r_chest @ _rot_x(flex) @ _rot_y(-side_sign * abduct)
        r_fore = r_chest @ _rot_x(flex + elbow_flex) @ _rot_y(-side_sign * abduct)
        joints[:, shoulder] = joints[:, 8] + _apply(r_chest, side_sign * bones["shoulder"] * x_axis
                                                    - 0.03 * z_axis)
        joints[:, elbow] = joints[:, shoulder] + bones["upper_arm"] * _apply(r_upper, down)
        joints[:, wrist] = joints[:, elbow] + bones["forearm"] * _apply(r_fore, down)

    # the pelvis walks along its heading, its lowest foot on the floor (z = 0)
    velocity = speed * walk * 2.2 * freq * rng.uniform(0.8, 1.2)
    step = velocity / fps * np.stack([-np.sin(heading), np.cos(heading)], -1)  # the body's forward (+y) axis
    start = rng.uniform(-0.5, 0.5, 2)
    path = start + np.cumsum(step, 0) - step[0]
    root_z = -np.minimum(joints[:, 3, 2], joints[:, 6, 2])
    joints[..., :2] += path[:, None]
    joints[..., 2] += root_z[:, None]
    return joints


def _look_at(position: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World -> camera rotation [3, 3] (rows: right, down, forward) of a camera at ``position``."""
    forward = (target - position) / np.linalg.norm(target - position)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward])


def _camera(rng: np.random.Generator, azimuth: float, cam_id: str, image_size: Tuple[int, int]) -> Dict[str, Any]:
    w, h = image_size
    distance, height = rng.uniform(4.5, 6.0), rng.uniform(1.0, 2.0)  # about Human3.6M's rig
    position = np.array([distance * np.cos(azimuth), distance * np.sin(azimuth), height])
    target = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3), rng.uniform(0.8, 1.1)])
    f = rng.uniform(1.1, 1.18) * max(w, h)  # Human3.6M: 1145 px at 1000 x 1000
    return {"R": _look_at(position, target).astype(np.float32), "T": position.reshape(3, 1).astype(np.float32),
            "f": np.array([[f], [f * rng.uniform(0.995, 1.005)]], np.float32),
            "c": np.array([[w / 2 + rng.normal(0, 0.01 * w)], [h / 2 + rng.normal(0, 0.01 * h)]], np.float32),
            "k": np.zeros((3, 1), np.float32), "p": np.zeros((2, 1), np.float32), "w": int(w), "h": int(h),
            "name": f"camera{cam_id}", "id": cam_id}


def _subject_bones(rng: np.random.Generator) -> Dict[str, float]:
    height = rng.normal(1.0, 0.06)
    return {k: float(height * rng.normal(m, s)) for k, (m, s) in _BONES.items()}


def generate_synthetic3d(subjects: Sequence[str] = ("S1", "S5"), *, actions: Optional[Sequence[str]] = None,
                         sequences_per_action: int = 1, num_frames: int = 100, num_cameras: int = 2, fps: float = 50.0,
                         image_size: Tuple[int, int] = (1000, 1000), noise_2d: float = 0.0,
                         seed: int = 0) -> Tuple[Dict[str, np.ndarray], Dict[Tuple[str, str], Dict[str, Any]]]:
    """Generate the arrays of a synthetic Human3.6M split (one subject set), in memory.

    Args:
        subjects (sequence of str): subject names (``S1``, ``S9`` ...); each gets its own bone
            lengths and cameras, drawn from the seed and the subject's name.
        actions (sequence of str, optional): keys of :data:`ACTIONS` (default all).
        sequences_per_action (int): sequences per action and subject (``<action>_<n>``).
        num_frames (int): frames per sequence (per camera). fps (float): frame rate.
        num_cameras (int): cameras per subject (1-4; H36M's camera ids).
        image_size (tuple[int, int]): camera image (w, h) in pixels.
        noise_2d (float): std of Gaussian noise added to the 2D keypoints (pixels).
        seed (int): the generator's seed.

    Returns:
        tuple: ``(arrays, cameras)``: ``arrays`` a dict of the npz's arrays (``imgname`` [F] str,
        ``S`` [F, 17, 4] float32, ``part`` [F, 17, 3] float32, ``center`` [F, 2] float32,
        ``scale`` [F] float32), frames grouped by (subject, action, camera) in that order;
        ``cameras`` MMPose's ``cameras.pkl`` dict keyed by (subject, camera id).

    Raises:
        ValueError: an unknown action, ``num_cameras`` outside 1-4, non-positive sizes.
    """
    actions = list(ACTIONS) if actions is None else list(actions)
    for a in actions:
        if a not in ACTIONS:
            raise ValueError(f"actions: unknown action {a!r}; known: {', '.join(ACTIONS)}")
    if not 1 <= int(num_cameras) <= len(CAMERA_IDS):
        raise ValueError(f"num_cameras must be 1-{len(CAMERA_IDS)}, got {num_cameras}")
    if int(num_frames) < 1 or int(sequences_per_action) < 1 or not subjects:
        raise ValueError(f"num_frames ({num_frames}), sequences_per_action ({sequences_per_action}) and the "
                         f"subjects ({list(subjects)}) must be positive / non-empty")
    if noise_2d < 0:
        raise ValueError(f"noise_2d must be >= 0, got {noise_2d}")
    names: List[str] = []
    s3d: List[np.ndarray] = []
    p2d: List[np.ndarray] = []
    cameras: Dict[Tuple[str, str], Dict[str, Any]] = {}
    for subject in subjects:
        # each subject's draws depend on the seed and its name only (adding subjects changes no other)
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF] + list(str(subject).encode()))
        bones = _subject_bones(rng)
        azimuths = rng.uniform(0, 2 * np.pi) + np.arange(num_cameras) * 2 * np.pi / num_cameras
        cams = []
        for azimuth, cam_id in zip(azimuths + rng.uniform(-0.3, 0.3, num_cameras), CAMERA_IDS):
            cameras[(subject, cam_id)] = cam = _camera(rng, float(azimuth), cam_id, image_size)
            cams.append(cam)
        for action in actions:
            for n in range(int(sequences_per_action)):
                world = skeleton_motion(rng, bones, action, int(num_frames), fps)
                for cam in cams:
                    x_cam = np.einsum("ij,fkj->fki", cam["R"].astype(np.float64),
                                      world - cam["T"].astype(np.float64).reshape(1, 1, 3))
                    uv = x_cam[..., :2] / x_cam[..., 2:3] * cam["f"].reshape(2) + cam["c"].reshape(2)
                    if noise_2d > 0:
                        uv = uv + rng.normal(0, noise_2d, uv.shape)
                    names += [f"{subject}_{action}_{n + 1}.{cam['id']}_{i + 1:06d}.jpg" for i in range(num_frames)]
                    s3d.append(x_cam)
                    p2d.append(uv)
    s = np.concatenate(s3d).astype(np.float32)
    uv = np.concatenate(p2d).astype(np.float32)
    ones = np.ones(s.shape[:2] + (1,), np.float32)
    lo, hi = uv.min(1), uv.max(1)
    return ({"imgname": np.array(names), "S": np.concatenate([s, ones], -1), "part": np.concatenate([uv, ones], -1),
             "center": ((lo + hi) / 2).astype(np.float32),
             "scale": ((hi - lo).max(-1) * 1.2 / 200).astype(np.float32)}, cameras)


def write_synthetic3d(root: str, *, train_subjects: Sequence[str] = ("S1", "S5", "S6", "S7"),
                      val_subjects: Sequence[str] = ("S9",), seed: int = 0, **kwargs: Any) -> Dict[str, str]:
    """Write a synthetic Human3.6M in MMPose's layout under ``root``: ``annotation_body3d/fps50/
    h36m_train.npz``, ``h36m_test.npz`` and ``annotation_body3d/cameras.pkl``.

    Args:
        root (str): the dataset folder (created).
        train_subjects, val_subjects (sequence of str): the subjects of each split (disjoint).
        seed (int): the generator's seed. **kwargs: more :func:`generate_synthetic3d` arguments.

    Returns:
        dict[str, str]: ``train_ann``, ``val_ann``, ``cameras`` (paths).
    """
    if set(train_subjects) & set(val_subjects):
        raise ValueError(f"train_subjects and val_subjects overlap: {sorted(set(train_subjects) & set(val_subjects))}")
    ann_dir = os.path.join(root, "annotation_body3d")
    os.makedirs(os.path.join(ann_dir, "fps50"), exist_ok=True)
    paths = {"train_ann": os.path.join(ann_dir, "fps50", "h36m_train.npz"),
             "val_ann": os.path.join(ann_dir, "fps50", "h36m_test.npz"),
             "cameras": os.path.join(ann_dir, "cameras.pkl")}
    cameras: Dict[Tuple[str, str], Dict[str, Any]] = {}
    for key, subjects in (("train_ann", train_subjects), ("val_ann", val_subjects)):
        arrays, cams = generate_synthetic3d(subjects, seed=seed, **kwargs)
        cameras.update(cams)
        tmp = paths[key] + ".tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, paths[key])
    tmp = paths["cameras"] + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(cameras, f)
    os.replace(tmp, paths["cameras"])
    return paths


def _check_layout() -> None:  # the joint order this module writes is H36M's (import-time guard)
    names = dataset_meta("h36m")["keypoint_id2name"]
    expected = ["root", "right_hip", "right_knee", "right_foot", "left_hip", "left_knee", "left_foot", "spine",
                "thorax", "neck_base", "head", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder",
                "right_elbow", "right_wrist"]
    if [names[i] for i in range(17)] != expected:
        raise RuntimeError(f"dataset_meta('h36m') joint order changed: {names}")


_check_layout()
