"""Mesh-recovery data: MMPose 0.x's mesh annotation files (``MeshBaseDataset`` / ``MoshDataset`` npz),
a synthetic dataset rendered from an SMPL layer, and in-memory training batches for the trainer.

Symbols: N samples, K joints (24 in MMPose's mesh datasets: the CMR / SPIN joint set), res the side of
the square crops. 2D points are (x, y) pixels; images are BGR ``HWC uint8``.

MMPose 0.x annotation ``.npz`` keys (one row per person crop):

=============  ==================  ======================================================================
key            shape               meaning
=============  ==================  ======================================================================
``imgname``    [N] str             image path relative to ``img_prefix``
``center``     [N, 2]              crop centre in image pixels
``scale``      [N]                 crop size / 200 (MMPose 0.x's box scale unit)
``part``       [N, 24, 3]          2D joints (x, y, visibility); optional
``S``          [N, 24, 4]          3D joints (x, y, z, visibility); optional
``pose``       [N, 72]             SMPL axis-angle pose; optional, with ``shape``
``shape``      [N, 10]             SMPL betas
``gender``     [N] str             ``'m'`` / ``'f'``; optional
=============  ==================  ======================================================================
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterator, List, Optional, Union

import cv2
import numpy as np
import torch

from ._device_data import DeviceData

__all__ = ["load_mesh_annotations", "load_mosh_annotations", "crop_mesh_input", "mesh_samples_from_records",
           "generate_synthetic_mesh", "MeshTrainData", "MESH_FLIP_PAIRS"]

#: left/right pairs of MMPose's 24 mesh joints (``MeshBaseDataset.ann_info['flip_pairs']``).
MESH_FLIP_PAIRS = ((0, 5), (1, 4), (2, 3), (6, 11), (7, 10), (8, 9), (20, 21), (22, 23))
_IMAGENET_MEAN = (123.675, 116.28, 103.53)  # RGB, MMPose's data preprocessor
_IMAGENET_STD = (58.395, 57.12, 57.375)


def load_mesh_annotations(ann_file: Union[str, os.PathLike], img_prefix: str = "") -> List[Dict[str, Any]]:
    """Records of an MMPose 0.x mesh annotation file (``MeshBaseDataset._get_db``).

    Args:
        ann_file (str | PathLike): the ``.npz`` (keys in the module docstring).
        img_prefix (str): joined before each ``imgname``.

    Returns:
        list[dict]: per crop ``image_file`` (str), ``center`` ndarray[2] float32, ``scale`` ndarray[2]
        float32 (size / 200, twice), ``rotation`` 0, ``joints_2d`` [K, 2], ``joints_2d_visible`` [K, 1],
        ``joints_3d`` [K, 3], ``joints_3d_visible`` [K, 1], ``pose`` [72], ``beta`` [10] (float32; zeros
        where absent), ``has_smpl`` (0 / 1), ``gender`` (-1 unknown, 0 male, 1 otherwise, as MMPose).

    Raises:
        FileNotFoundError: no such file. ValueError: a required key is missing or a shape is wrong.
    """
    if not os.path.isfile(ann_file):
        raise FileNotFoundError(f"mesh annotation file not found: {ann_file}")
    with np.load(ann_file, allow_pickle=False) as data:
        for key in ("imgname", "center", "scale"):
            if key not in data.files:
                raise ValueError(f"{ann_file}: mesh annotations need {key!r} (has {sorted(data.files)})")
        names = data["imgname"]
        n = len(names)
        centers = data["center"].astype(np.float32).reshape(n, 2)
        scales = data["scale"].astype(np.float32).reshape(n)
        parts = data["part"].astype(np.float32) if "part" in data.files else np.zeros((n, 24, 3), np.float32)
        joints_3d = data["S"].astype(np.float32) if "S" in data.files else np.zeros((n, 24, 4), np.float32)
        has_smpl = int("pose" in data.files and "shape" in data.files)
        poses = data["pose"].astype(np.float32) if has_smpl else np.zeros((n, 72), np.float32)
        betas = data["shape"].astype(np.float32) if has_smpl else np.zeros((n, 10), np.float32)
        genders = (np.array([str(g) != "m" for g in data["gender"]], dtype=np.int64) if "gender" in data.files
                   else -np.ones(n, dtype=np.int64))
    for key, value, tail in (("part", parts, 3), ("S", joints_3d, 4)):
        if value.ndim != 3 or value.shape[0] != n or value.shape[2] != tail:
            raise ValueError(f"{ann_file}: {key} must be [N={n}, K, {tail}], got {list(value.shape)}")
    if poses.shape != (n, 72) or betas.shape != (n, 10):
        raise ValueError(f"{ann_file}: pose must be [N, 72] and shape [N, 10], got {list(poses.shape)}, "
                         f"{list(betas.shape)}")
    return [{"image_file": os.path.join(img_prefix, str(names[i])), "center": centers[i],
             "scale": np.array([scales[i], scales[i]], dtype=np.float32), "rotation": 0,
             "joints_2d": parts[i, :, :2], "joints_2d_visible": parts[i, :, 2:],
             "joints_3d": joints_3d[i, :, :3], "joints_3d_visible": joints_3d[i, :, 3:],
             "pose": poses[i], "beta": betas[i], "has_smpl": has_smpl, "gender": int(genders[i])}
            for i in range(n)]


def load_mosh_annotations(ann_file: Union[str, os.PathLike]) -> np.ndarray:
    """Real SMPL parameters for the adversarial prior (MMPose 0.x ``MoshDataset``).

    Args:
        ann_file (str | PathLike): ``.npz`` with ``pose`` [N, 72] and ``shape`` [N, 10].

    Returns:
        ndarray[N, 85] float32: ``mosh_theta`` = (zero camera [3], pose [72], shape [10]).
    """
    with np.load(ann_file, allow_pickle=False) as data:
        if "pose" not in data.files or "shape" not in data.files:
            raise ValueError(f"{ann_file}: mosh annotations need 'pose' and 'shape' (has {sorted(data.files)})")
        pose, shape = data["pose"].astype(np.float32), data["shape"].astype(np.float32)
    if pose.ndim != 2 or pose.shape[1] != 72 or shape.shape != (len(pose), 10):
        raise ValueError(f"{ann_file}: pose must be [N, 72] and shape [N, 10], got {list(pose.shape)}, "
                         f"{list(shape.shape)}")
    return np.concatenate([np.zeros((len(pose), 3), np.float32), pose, shape], axis=1)


def crop_mesh_input(image: np.ndarray, center: Any, scale: Any, img_res: int) -> np.ndarray:
    """The square network input of one person: the box of side ``scale * 200`` pixels centred on ``center``
    resized to ``img_res`` (MMPose 0.x's mesh crop without augmentation; outside the image is black).

    A crop pixel ``p`` shows the image point ``center + (p / img_res - 0.5) * scale * 200``, the mapping
    ``ParametricMesh.predict(input_center=center, input_scale=scale * 200)`` inverts.

    Args:
        image (ndarray[H, W, 3] uint8): BGR image.
        center (Sequence[float]): box centre (x, y) in image pixels.
        scale (float | Sequence[float]): box side / 200 (MMPose 0.x's unit; the first value if two).
        img_res (int): crop side.

    Returns:
        ndarray[img_res, img_res, 3] uint8.
    """
    size = float(np.asarray(scale, dtype=np.float64).reshape(-1)[0]) * 200.0
    if not size > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    cx, cy = (float(v) for v in np.asarray(center, dtype=np.float64).reshape(2))
    zoom = img_res / size
    matrix = np.array([[zoom, 0.0, img_res / 2.0 - zoom * cx], [0.0, zoom, img_res / 2.0 - zoom * cy]])
    return cv2.warpAffine(image, matrix, (img_res, img_res), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))


def mesh_samples_from_records(records: List[Dict[str, Any]], img_res: int) -> Dict[str, np.ndarray]:
    """Read and crop the images of ``load_mesh_annotations`` records into ``MeshTrainData`` samples.

    2D joints are mapped into crop pixels with the crop (``crop_mesh_input``); 3D joints, pose and shape are
    kept. No augmentation (MMPose 0.x's flip / rotation / scale jitter and colour noise are not done here).

    Args:
        records (list[dict]): ``load_mesh_annotations`` output.
        img_res (int): crop side.

    Returns:
        dict[str, ndarray]: ``images`` [N, res, res, 3] uint8 and the targets of ``ParametricMesh.loss``.

    Raises:
        FileNotFoundError: an image cannot be read (the path is named).
    """
    if not records:
        raise ValueError("records is empty")
    images, joints_2d = [], []
    for record in records:
        image = cv2.imread(record["image_file"], cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"cannot read image {record['image_file']!r}")
        images.append(crop_mesh_input(image, record["center"], record["scale"], img_res))
        size = float(record["scale"][0]) * 200.0
        joints_2d.append((record["joints_2d"] - record["center"]) * (img_res / size) + img_res / 2.0)
    stack = lambda key: np.stack([r[key] for r in records]).astype(np.float32)  # noqa: E731
    return {"images": np.stack(images), "pose": stack("pose"), "beta": stack("beta"),
            "has_smpl": np.array([r["has_smpl"] for r in records], np.float32),
            "joints_3d": stack("joints_3d"), "joints_3d_visible": stack("joints_3d_visible"),
            "joints_2d": np.stack(joints_2d).astype(np.float32), "joints_2d_visible": stack("joints_2d_visible")}


def _compose_axis_angle(first: np.ndarray, then: np.ndarray) -> np.ndarray:
    """Axis-angle of the rotation ``R(then) @ R(first)``."""
    rot = cv2.Rodrigues(then)[0] @ cv2.Rodrigues(first)[0]
    return cv2.Rodrigues(rot)[0].ravel()


def _part_colors(num_joints: int) -> np.ndarray:
    """One distinct BGR colour per skinning joint (HSV wheel), so left and right limbs differ."""
    hue = (np.arange(num_joints) * 180 // num_joints).astype(np.uint8)
    hsv = np.stack([hue, np.full_like(hue, 200), np.full_like(hue, 230)], axis=1)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0].astype(np.int64)


def _draw_parts(uv: np.ndarray, depth: np.ndarray, faces: np.ndarray, face_colors: np.ndarray,
                background: np.ndarray) -> np.ndarray:
    """Faces filled far to near (painter's order) in their part colours."""
    image = background.copy()
    order = np.argsort(-depth[faces].mean(axis=1), kind="stable")
    points = np.round(uv[faces] * 16).astype(np.int32)
    for f in order:
        cv2.fillConvexPoly(image, points[f], tuple(int(c) for c in face_colors[f]), lineType=cv2.LINE_AA, shift=4)
    return image


def generate_synthetic_mesh(smpl: Any, num_samples: int, img_res: int = 64, seed: int = 0,
                            pose_std: float = 0.25, focal_length: float = 5000.0,
                            all_joints_visible: bool = True) -> Dict[str, np.ndarray]:
    """Random SMPL bodies drawn into square crops, with every ground truth ``ParametricMesh.loss`` takes.

    Each sample: root = upright (pi about x, since SMPL is y-up and images y-down) turned by a random yaw
    (+-60 deg) and small tilts; body pose ~ N(0, ``pose_std``) per axis-angle component; betas ~ N(0, 1);
    camera ``(s, tx, ty)`` with s ~ U(0.7, 1.0), t ~ U(-0.1, 0.1). The mesh is projected with the HMR
    camera (``z = 2 f / (res s)``, MMPose's) and filled face by face, far to near, each face in the colour
    of the joint that skins it most, over a random grey background with noise.

    Args:
        smpl: an ``SMPL`` layer (``pyposefast.models.mesh.SMPL``; any object with the same call, a
            ``get_faces()`` and ``lbs_weights``).
        num_samples (int): N.
        img_res (int): crop side in pixels.
        seed (int): the data is a pure function of the arguments and the model.
        pose_std (float): standard deviation of the body pose components (radians).
        focal_length (float): the HMR camera's focal length in pixels.
        all_joints_visible (bool): mark every joint visible (else only those inside the crop).

    Returns:
        dict[str, ndarray]: ``images`` [N, res, res, 3] uint8 BGR, ``pose`` [N, 72], ``beta`` [N, 10],
        ``camera`` [N, 3], ``joints_3d`` [N, K, 3], ``joints_3d_visible`` [N, K, 1], ``joints_2d``
        [N, K, 2] (crop pixels), ``joints_2d_visible`` [N, K, 1], ``has_smpl`` [N] (float32).
    """
    if int(num_samples) <= 0 or int(img_res) < 8:
        raise ValueError(f"num_samples must be > 0 and img_res >= 8, got {num_samples}, {img_res}")
    rng = np.random.default_rng(seed)
    n = int(num_samples)
    pose = (pose_std * rng.normal(size=(n, 72))).astype(np.float32)
    for i in range(n):
        tilt = np.array([rng.uniform(-0.2, 0.2), rng.uniform(-np.pi / 3, np.pi / 3), rng.uniform(-0.2, 0.2)])
        pose[i, :3] = _compose_axis_angle(np.array([np.pi, 0.0, 0.0]), tilt)
    beta = rng.normal(size=(n, 10)).astype(np.float32)
    camera = np.stack([rng.uniform(0.7, 1.0, n), rng.uniform(-0.1, 0.1, n), rng.uniform(-0.1, 0.1, n)],
                      axis=1).astype(np.float32)
    with torch.no_grad():
        out = smpl(torch.from_numpy(beta), torch.from_numpy(pose[:, 3:]), torch.from_numpy(pose[:, :3]))
    vertices, joints = out["vertices"].double().numpy(), out["joints"].double().numpy()
    depth_offset = 2 * focal_length / (img_res * camera[:, 0].astype(np.float64) + 1e-9)
    centre = (img_res - 1) / 2.0

    def project(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cam = points + np.concatenate([camera[:, 1:3], depth_offset[:, None]], axis=1)[:, None]
        return focal_length * cam[..., :2] / cam[..., 2:] + centre, cam[..., 2]

    uv, depth = project(vertices)
    joints_2d, _ = project(joints)
    faces = np.asarray(smpl.get_faces(), dtype=np.int64)
    skin_joint = smpl.lbs_weights.double().numpy().argmax(axis=1)  # [V]
    colors = _part_colors(smpl.lbs_weights.shape[1])
    face_colors = colors[skin_joint[faces[:, 0]]]
    images = np.empty((n, img_res, img_res, 3), np.uint8)
    for i in range(n):
        background = np.clip(rng.uniform(40, 120) + rng.normal(0, 12, (img_res, img_res, 1)), 0, 255)
        images[i] = _draw_parts(uv[i], depth[i], faces, face_colors,
                                np.repeat(background, 3, axis=2).astype(np.uint8))
    K = joints.shape[1]
    inside = ((joints_2d >= 0) & (joints_2d <= img_res - 1)).all(axis=2, keepdims=True)
    visible_2d = np.ones((n, K, 1), np.float32) if all_joints_visible else inside.astype(np.float32)
    return {"images": images, "pose": pose, "beta": beta, "camera": camera,
            "joints_3d": joints.astype(np.float32), "joints_3d_visible": np.ones((n, K, 1), np.float32),
            "joints_2d": joints_2d.astype(np.float32), "joints_2d_visible": visible_2d,
            "has_smpl": np.ones(n, np.float32)}


class MeshTrainData(DeviceData):
    """In-memory training batches for ``Trainer`` and ``ParametricMesh.loss``.

    Args:
        samples (dict[str, ndarray]): ``images`` [N, res, res, 3] uint8 BGR and per-sample targets with
            a leading N (``generate_synthetic_mesh``'s output, or crops you prepared); ``camera`` is dropped.
        batch_size (int): samples per batch (the last partial batch is dropped).
        seed (int): the shuffled order of epoch e is a function of (seed, e).
        shuffle (bool): shuffle every epoch.
        device (str | torch.device, optional): where batches are produced (the trainer sets it).

    Batches: ``inputs`` Tensor[B, 3, res, res] float32 (RGB, ImageNet-normalised as MMPose's data
    preprocessor) and every other sample key as a float32 tensor.
    """

    def __init__(self, samples: Dict[str, np.ndarray], batch_size: int, seed: int = 0, shuffle: bool = True,
                 device: Optional[Union[str, torch.device]] = None) -> None:
        if "images" not in samples:
            raise ValueError(f"samples need 'images' [N, res, res, 3] uint8, got keys {sorted(samples)}")
        images = np.asarray(samples["images"])
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
            raise ValueError(f"samples['images'] must be [N, H, W, 3] uint8, got {images.shape} {images.dtype}")
        n = len(images)
        if int(batch_size) <= 0 or int(batch_size) > n:
            raise ValueError(f"batch_size must be in [1, {n}], got {batch_size}")
        rgb = torch.from_numpy(np.ascontiguousarray(images[..., ::-1])).permute(0, 3, 1, 2).float()
        mean = torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1)
        self.tensors = {"inputs": (rgb - mean) / std}
        for key, value in samples.items():
            if key in ("images", "camera"):
                continue
            value = np.asarray(value)
            if len(value) != n:
                raise ValueError(f"samples[{key!r}] has {len(value)} rows, images {n}")
            self.tensors[key] = torch.as_tensor(value, dtype=torch.float32)
        self.batch_size, self.seed, self.shuffle = int(batch_size), int(seed), bool(shuffle)
        self._device = None if device is None else torch.device(device)
        self.epoch, self._skip = 0, 0

    def __len__(self) -> int:
        return len(self.tensors["inputs"]) // self.batch_size

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """Select the epoch the next iteration runs, starting at its batch ``skip``."""
        if int(skip) < 0:
            raise ValueError(f"skip must be >= 0, got {skip}")
        self.epoch, self._skip = int(epoch), int(skip)

    def __iter__(self) -> Iterator[Dict[str, torch.Tensor]]:
        n = len(self.tensors["inputs"])
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch))
        else:
            order = torch.arange(n)
        skip, self._skip = self._skip, 0
        for b in range(skip, len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            yield {k: v[idx].to(self.device, non_blocking=True) for k, v in self.tensors.items()}
