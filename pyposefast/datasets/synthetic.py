"""The embedded synthetic dataset: a deterministic COCO-format keypoint dataset, no download needed.

``generate_synthetic_coco(root)`` writes JPEG images of articulated, human-like figures with the
COCO-17 skeleton, plus ``annotations/person_keypoints_{train,val}.json`` that pycocotools and
:func:`pyposefast.datasets.load_coco_keypoints` load. Poses come from a small kinematic model
(torso lean, shoulder/hip width by body turn, arm and leg swing and bend within plausible
ranges), placed with varied scale, rotation, limb thickness and colour on textured backgrounds,
1-6 people per image, overlapping and occluding each other and cut by the image border.

Annotations follow COCO: keypoints (x, y, v) with v = 2 visible (the figure's own joint dot is on
top there), v = 1 labelled but occluded (by another figure, or the face of a figure seen from the
back), v = 0 outside the image (x = y = 0). Boxes are the extent of the figure's pixels inside the
image, ``area`` its pixel count, ``segmentation`` its (uncompressed) RLE. Some images hold a crowd region
(``iscrowd = 1``, no keypoints) of tiny figures. Each annotation also carries ``joint_color``
(B, G, R), the colour of its joint dots, which is what the consistency test checks.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same arguments give the same bytes.
"""

from __future__ import annotations

import json
import math
import os
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from .metainfo import dataset_meta

__all__ = ["generate_synthetic_coco", "sample_pose", "COCO_NAMES"]

COCO_NAMES = [dataset_meta("coco")["keypoint_id2name"][i] for i in range(17)]
_SHIFT = 4  # sub-pixel bits for OpenCV drawing
_ONE = 1 << _SHIFT

# limbs drawn as thick lines (keypoint ids); the torso is a polygon, the head a disc
_LIMBS = [(5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16)]


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
    """Rotate vector(s) [..., 2] by ``deg`` degrees (counter-clockwise on screen, y down)."""
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.stack([c * v[..., 0] + s * v[..., 1], -s * v[..., 0] + c * v[..., 1]], axis=-1)


def sample_pose(rng: np.random.Generator) -> Tuple[np.ndarray, bool]:
    """One COCO-17 pose of a figure of height 1, pelvis at the origin, upright (y down).

    Returns:
        tuple: keypoints ndarray[17, 2] float64 (x, y) and ``back`` (seen from the back: the
        figure's left is on the image left).
    """
    back = bool(rng.random() < 0.2)
    side = -1.0 if back else 1.0  # +x is the figure's left when it faces the camera
    turn = rng.uniform(0.35, 1.0)  # shoulder / hip width factor (body turned away from the camera)
    down = _rot(np.array([0.0, 1.0]), rng.normal(0.0, 8.0))  # torso lean
    perp = np.array([down[1], -down[0]]) * -1.0  # unit vector towards +x when upright
    kp = np.zeros((17, 2))
    pelvis = np.zeros(2)
    neck = pelvis - down * rng.uniform(0.28, 0.33)
    sw, hw = 0.11 * turn, 0.075 * turn
    kp[5], kp[6] = neck + side * perp * sw, neck - side * perp * sw  # left / right shoulder
    kp[11], kp[12] = pelvis + side * perp * hw, pelvis - side * perp * hw  # left / right hip
    head_dir = _rot(-down, rng.normal(0.0, 12.0))
    hperp = np.array([-head_dir[1], head_dir[0]]) * -1.0
    nose = neck + head_dir * rng.uniform(0.11, 0.14)
    kp[0] = nose
    kp[1], kp[2] = nose + head_dir * 0.025 + side * hperp * 0.03 * turn, nose + head_dir * 0.025 - side * hperp * 0.03 * turn
    kp[3], kp[4] = nose + head_dir * 0.01 + side * hperp * 0.06 * turn, nose + head_dir * 0.01 - side * hperp * 0.06 * turn
    for sh, el, wr, sgn in ((5, 7, 9, side), (6, 8, 10, -side)):
        # arm swing from hanging down (0) outwards (up to 160 degrees) or slightly across (-30)
        swing = rng.uniform(-30.0, 160.0) if rng.random() < 0.7 else rng.uniform(-20.0, 40.0)
        upper = _rot(down, sgn * swing) * rng.uniform(0.15, 0.18)
        kp[el] = kp[sh] + upper
        bend = rng.uniform(0.0, 140.0) * (1 if rng.random() < 0.5 else -1)
        kp[wr] = kp[el] + _rot(upper / np.linalg.norm(upper), bend) * rng.uniform(0.13, 0.16)
    for hip, kn, an, sgn in ((11, 13, 15, side), (12, 14, 16, -side)):
        swing = rng.uniform(-25.0, 60.0) if rng.random() < 0.3 else rng.uniform(-10.0, 20.0)
        thigh = _rot(down, sgn * swing) * rng.uniform(0.22, 0.26)
        kp[kn] = kp[hip] + thigh
        bend = rng.uniform(0.0, 120.0) if rng.random() < 0.4 else rng.uniform(0.0, 15.0)
        kp[an] = kp[kn] + _rot(thigh / np.linalg.norm(thigh), -sgn * bend) * rng.uniform(0.22, 0.26)
    return kp, back


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A textured background: smooth colour field + noise + random shapes, uint8 [h, w, 3] BGR."""
    low = rng.uniform(30, 225, size=(rng.integers(2, 6), rng.integers(2, 6), 3)).astype(np.float32)
    img = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, rng.uniform(3, 14), size=(h // 4 + 1, w // 4 + 1, 1)).astype(np.float32).repeat(4, 0).repeat(4, 1)[:h, :w]
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(3, 12))):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        p = rng.integers(0, [w, h])
        if rng.random() < 0.5:
            q = p + rng.integers(-w // 3, w // 3 + 1, 2)
            cv2.rectangle(img, tuple(int(v) for v in p), tuple(int(v) for v in q), color, -1)
        else:
            cv2.circle(img, tuple(int(v) for v in p), int(rng.integers(5, max(6, min(w, h) // 6))), color, -1)
    return img


def _draw_figure(canvas: np.ndarray, mask: np.ndarray, kp: np.ndarray, thick: float, color, joint_color,
                 draw_face: bool) -> None:
    """Draw one figure (torso, limbs, head, then joint dots) on ``canvas`` and 1s into ``mask``."""
    def pt(p):
        return (int(round(p[0] * _ONE)), int(round(p[1] * _ONE)))

    t = max(1, int(round(thick)))
    torso = np.round(kp[[5, 6, 12, 11]] * _ONE).astype(np.int32)
    head_c = (kp[3] + kp[4]) / 2 * 0.5 + kp[0] * 0.5
    head_r = max(2, int(round(np.linalg.norm(kp[3] - kp[4]) * 0.5 + thick * 0.9)))
    for img, col in ((canvas, color), (mask, 1)):
        cv2.fillPoly(img, [torso], col, lineType=cv2.LINE_AA if img is canvas else cv2.LINE_8, shift=_SHIFT)
        cv2.line(img, pt((kp[5] + kp[6]) / 2), pt(head_c), col, t, cv2.LINE_8, _SHIFT)
        for a, b in _LIMBS:
            cv2.line(img, pt(kp[a]), pt(kp[b]), col, t, cv2.LINE_8, _SHIFT)
        cv2.circle(img, pt(head_c), head_r * _ONE, col, -1, cv2.LINE_8, _SHIFT)
    r = max(2.0, thick * 0.35)
    for k in range(17):
        if k < 5 and not draw_face:
            continue
        for img, col in ((canvas, joint_color), (mask, 1)):
            cv2.circle(img, pt(kp[k]), int(round(r * _ONE)), col, -1, cv2.LINE_8, _SHIFT)


def _image(rng: np.random.Generator, w: int, h: int, max_people: int, crowd_prob: float):
    """One image and its annotations (without ids)."""
    img = _background(rng, w, h)
    n = int(rng.integers(1, max_people + 1))
    anns = []
    figures = []
    labels = np.zeros((h, w), dtype=np.uint8)  # which figure is on top (1-based; 0 background)
    crowd = None
    if rng.random() < crowd_prob:  # a far-away crowd: tiny figures, one iscrowd region
        cmask = np.zeros((h, w), dtype=np.uint8)
        cx, cy = rng.uniform(0.1 * w, 0.9 * w), rng.uniform(0.1 * h, 0.9 * h)
        for _ in range(int(rng.integers(4, 9))):
            kp, _b = sample_pose(rng)
            height = rng.uniform(0.05, 0.09) * h
            kp = kp * height + np.array([cx + rng.normal(0, 0.06 * w), cy + rng.normal(0, 0.03 * h)])
            col = tuple(int(c) for c in rng.integers(0, 256, 3))
            _draw_figure(img, cmask, kp, max(1.0, height * 0.06), col, col, True)
        crowd = cmask
    for i in range(n):
        kp, back = sample_pose(rng)
        height = h * rng.uniform(0.25, 0.95) * (0.6 if n > 3 else 1.0)
        rot = rng.normal(0.0, 15.0) if rng.random() < 0.9 else rng.uniform(-180.0, 180.0)
        centre = np.array([rng.uniform(-0.05, 1.05) * w, rng.uniform(0.1, 0.95) * h])
        kp = _rot(kp * height, rot) + centre
        thick = height * rng.uniform(0.035, 0.08)
        color = rng.integers(0, 256, 3)
        color[rng.integers(0, 3)] = rng.integers(180, 256)  # saturated, to stand out a little
        joint = (color * 0.55).astype(np.int64)
        own = np.zeros((h, w), dtype=np.uint8)
        _draw_figure(img, own, kp, thick, tuple(int(c) for c in color), tuple(int(c) for c in joint), not back)
        labels[own > 0] = i + 1
        figures.append((kp, back, own, joint))
    for i, (kp, back, own, joint) in enumerate(figures):
        inside = (kp[:, 0] >= 0) & (kp[:, 0] <= w - 1) & (kp[:, 1] >= 0) & (kp[:, 1] <= h - 1)
        ix = np.clip(np.round(kp[:, 0]).astype(int), 0, w - 1)
        iy = np.clip(np.round(kp[:, 1]).astype(int), 0, h - 1)
        on_top = labels[iy, ix] == i + 1
        v = np.where(inside, np.where(on_top, 2, 1), 0)
        if back:
            v[:5] = np.minimum(v[:5], 1)
        ys, xs = np.nonzero(own)
        if xs.size == 0:
            continue
        x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        flat = np.zeros((17, 3))
        flat[:, :2] = np.where(inside[:, None], np.round(kp, 2), 0.0)
        flat[:, 2] = v
        anns.append(dict(keypoints=[float(x) for x in flat.reshape(-1)], num_keypoints=int((v > 0).sum()),
                         bbox=[float(x1), float(y1), float(x2 - x1), float(y2 - y1)], area=float(xs.size),
                         iscrowd=0, category_id=1, segmentation=_rle(own), joint_color=[int(c) for c in joint]))
    if crowd is not None and crowd.any():
        ys, xs = np.nonzero(crowd)
        anns.append(dict(keypoints=[0.0] * 51, num_keypoints=0, iscrowd=1, category_id=1, area=float(xs.size),
                         bbox=[float(xs.min()), float(ys.min()), float(xs.max() + 1 - xs.min()),
                               float(ys.max() + 1 - ys.min())], segmentation=_rle(crowd)))
    return img, anns


def _rle(mask: np.ndarray) -> Dict:
    """COCO's uncompressed RLE of a binary mask (column-major runs, starting with a run of zeros)."""
    flat = (mask.reshape(-1, order="F") > 0).astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0] == 1:
        runs = [0] + runs
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": [int(r) for r in runs]}


def generate_synthetic_coco(
    root: str,
    num_train: int = 200,
    num_val: int = 50,
    image_size: Tuple[int, int] = (640, 480),
    max_people: int = 6,
    crowd_prob: float = 0.1,
    seed: int = 0,
    jpeg_quality: int = 90,
    overwrite: bool = False,
) -> Dict[str, str]:
    """Write the synthetic COCO-17 keypoint dataset to ``root``.

    Layout: ``root/images/{train,val}/<id:012d>.jpg`` and
    ``root/annotations/person_keypoints_{train,val}.json``. With ``overwrite=False`` an existing
    dataset written with the same arguments (``root/synthetic.json``) is reused.

    Args:
        root (str): output folder (created).
        num_train (int): training images. Defaults to 200.
        num_val (int): validation images. Defaults to 50.
        image_size (tuple[int, int]): (w, h) of every image. Defaults to (640, 480).
        max_people (int): 1..max_people figures per image. Defaults to 6.
        crowd_prob (float): probability of a crowd region in an image. Defaults to 0.1.
        seed (int): the seed; the same arguments give the same files. Defaults to 0.
        jpeg_quality (int): JPEG quality. Defaults to 90.
        overwrite (bool): regenerate even when a matching dataset exists.

    Returns:
        dict: ``root``, ``train_ann``, ``val_ann``, ``train_img_prefix``, ``val_img_prefix``.
    """
    w, h = (int(v) for v in image_size)
    if w < 32 or h < 32:
        raise ValueError(f"image_size must be at least (32, 32), got {image_size!r}")
    if max_people < 1:
        raise ValueError(f"max_people must be >= 1, got {max_people}")
    spec = dict(num_train=num_train, num_val=num_val, image_size=[w, h], max_people=max_people,
                crowd_prob=crowd_prob, seed=seed, jpeg_quality=jpeg_quality, version=1)
    paths = {
        "root": root,
        "train_ann": os.path.join(root, "annotations", "person_keypoints_train.json"),
        "val_ann": os.path.join(root, "annotations", "person_keypoints_val.json"),
        "train_img_prefix": os.path.join(root, "images", "train"),
        "val_img_prefix": os.path.join(root, "images", "val"),
    }
    stamp = os.path.join(root, "synthetic.json")
    if not overwrite and os.path.isfile(stamp):
        with open(stamp) as f:
            if json.load(f) == spec and all(os.path.exists(p) for p in paths.values()):
                return paths
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    meta = dataset_meta("coco")
    category = dict(id=1, name="person", supercategory="person", keypoints=COCO_NAMES,
                    skeleton=[[a + 1, b + 1] for a, b in meta["skeleton_links"]])
    rng = np.random.default_rng(seed)
    ann_id = 1
    for split, count in (("train", num_train), ("val", num_val)):
        folder = paths[f"{split}_img_prefix"]
        os.makedirs(folder, exist_ok=True)
        images: List[Dict] = []
        anns: List[Dict] = []
        base = 1 if split == "train" else 1 + num_train
        for j in range(count):
            img_id = base + j
            img, img_anns = _image(rng, w, h, max_people, crowd_prob)
            name = f"{img_id:012d}.jpg"
            cv2.imwrite(os.path.join(folder, name), img, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
            images.append(dict(id=img_id, file_name=name, width=w, height=h))
            for a in img_anns:
                anns.append(dict(a, id=ann_id, image_id=img_id))
                ann_id += 1
        with open(paths[f"{split}_ann"], "w") as f:
            json.dump(dict(info=dict(description="pyposefast synthetic COCO-17", seed=seed), images=images,
                           annotations=anns, categories=[category]), f)
    with open(stamp, "w") as f:
        json.dump(spec, f)
    return paths


def default_root(cache_dir: Optional[str] = None) -> str:
    """Where the default synthetic dataset lives (``$PYPOSEFAST_CACHE`` or ``~/.cache/pyposefast``)."""
    base = cache_dir or os.environ.get("PYPOSEFAST_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "pyposefast")
    return os.path.join(base, "synthetic_coco")
