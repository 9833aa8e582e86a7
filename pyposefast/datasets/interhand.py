"""InterHand2.6M (3D interacting hands) as MMPose 1.x's ``InterHand3DDataset`` reads it.

Three JSON files per split (``InterHand2.6M_<split>_data.json``, ``_camera.json``, ``_joint_3d.json``):

- data: COCO-style. ``images`` (``id``, ``file_name``, ``width``, ``height``, ``capture``,
  ``camera``, ``frame_idx``); ``annotations`` (``id``, ``image_id``, ``bbox`` (x, y, w, h),
  ``joint_valid`` [42] or [42, 1], ``hand_type`` 'right' | 'left' | 'interacting',
  ``hand_type_valid``). One record per image, from its first annotation (as MMPose).
- camera: ``{capture: {'campos': {camera: [3]}, 'camrot': {camera: [3, 3]}, 'focal': {camera: [2]},
  'princpt': {camera: [2]}}}`` (mm, pixels).
- joint_3d: ``{capture: {frame_idx: {'world_coord': [42, 3]}}}`` (mm, world frame).

Keypoints 0-20 are the right hand (20 = right wrist), 21-41 the left (41 = left wrist). Per record:
camera coordinates ``R (X_world - campos)``; pixels ``f * (x, y) / (z + 1e-8) + princpt``;
``keypoints`` [1, 42, 3] = (u, v, depth relative to the hand's wrist); a hand whose wrist is
invalid has all its joints invalid; ``rel_root_depth`` = left-wrist depth minus right-wrist depth,
valid when both wrists are; ``hand_type`` [1, 2] (right, left) = [1, 0], [0, 1] or [1, 1];
``abs_depth`` the two wrists' camera depths (or RootNet's, with ``use_gt_root_depth=False``).

Batches: :func:`interhand_topdown_batch` (MMPose's val pipeline: crops and the codec's arguments,
optionally flipped) and :class:`InterHandTrainData` (MMPose's train pipeline, for the Trainer).
"""

from __future__ import annotations

import copy
import os
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ._device_data import DeviceData
from .coco import CocoKeypoints, is_valid_instance, read_json
from .errors import AnnotationError, BadRecords

__all__ = ["load_interhand3d", "encode_handtype", "interhand_topdown_batch", "flip_hand_labels",
           "InterHandTrainData", "INTERHAND_NUM_KEYPOINTS", "INTERHAND_FLIP_INDICES"]

#: Mirror twin of each keypoint (right hand <-> left hand), MMPose's interhand3d ``flip_indices``.
INTERHAND_FLIP_INDICES = list(range(21, 42)) + list(range(21))

INTERHAND_NUM_KEYPOINTS = 42
_RIGHT_ROOT, _LEFT_ROOT = 20, 41


def encode_handtype(hand_type: str) -> np.ndarray:
    """'right' -> [[1, 0]], 'left' -> [[0, 1]], 'interacting' -> [[1, 1]] (float32 [1, 2]).

    Raises:
        ValueError: any other value.
    """
    table = {"right": [[1, 0]], "left": [[0, 1]], "interacting": [[1, 1]]}
    if hand_type not in table:
        raise ValueError(f"hand_type must be 'right', 'left' or 'interacting', got {hand_type!r}")
    return np.array(table[hand_type], dtype=np.float32)


def _array(value: Any, shape: tuple, what: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers of shape {list(shape)}") from None
    if arr.shape != shape or not np.isfinite(arr).all():
        raise ValueError(f"{what} must be finite numbers of shape {list(shape)}, got shape {list(arr.shape)}")
    return arr


def _lookup(table: Any, keys: List[str], file: str) -> Any:
    """``table[k0][k1]...`` or a ValueError naming the missing key and the file."""
    node = table
    for i, k in enumerate(keys):
        if not isinstance(node, dict) or k not in node:
            path = "".join(f"[{x!r}]" for x in keys[: i + 1])
            raise ValueError(f"{path} is not in {os.path.basename(file)}")
        node = node[k]
    return node


def _parse(ann: Dict[str, Any], img: Dict[str, Any], cameras: Any, joints: Any, camera_file: str, joint_file: str,
           rootnet: Optional[Dict[str, Any]], rootnet_file: str) -> Dict[str, Any]:
    """One annotation -> MMPose's record (``InterHand3DDataset.parse_data_info``); ValueError if bad."""
    for key in ("capture", "camera", "frame_idx"):
        if key not in img:
            raise ValueError(f"its image (id={img.get('id')!r}) has no '{key}'")
    for key in ("id", "joint_valid", "hand_type", "hand_type_valid"):
        if key not in ann:
            raise ValueError(f"missing '{key}'")
    capture, camera, frame = str(img["capture"]), img["camera"], str(img["frame_idx"])
    campos = _array(_lookup(cameras, [capture, "campos", camera], camera_file), (3,), "campos")
    camrot = _array(_lookup(cameras, [capture, "camrot", camera], camera_file), (3, 3), "camrot")
    focal = _array(_lookup(cameras, [capture, "focal", camera], camera_file), (2,), "focal")
    princpt = _array(_lookup(cameras, [capture, "princpt", camera], camera_file), (2,), "princpt")
    world = _array(_lookup(joints, [capture, frame, "world_coord"], joint_file), (INTERHAND_NUM_KEYPOINTS, 3),
                   f"joint_3d[{capture!r}][{frame!r}]['world_coord']")
    joint_valid = np.array(ann["joint_valid"], dtype=np.float32).flatten()
    if joint_valid.shape != (INTERHAND_NUM_KEYPOINTS,):
        raise ValueError(f"joint_valid must have {INTERHAND_NUM_KEYPOINTS} entries, got {joint_valid.size}")
    hand_type = encode_handtype(ann["hand_type"])

    keypoints_cam = np.dot(camrot, world.transpose(1, 0) - campos.reshape(3, 1)).transpose(1, 0)
    if rootnet is None:
        if "bbox" not in ann:
            raise ValueError("missing 'bbox'")
        bbox_xywh = _array(ann["bbox"], (4,), "bbox").reshape(1, 4)
        abs_depth = [keypoints_cam[_RIGHT_ROOT, 2], keypoints_cam[_LEFT_ROOT, 2]]
    else:
        entry = rootnet.get(str(ann["id"]))
        if entry is None:
            raise ValueError(f"annotation id {ann['id']!r} has no entry (annot_id) in {os.path.basename(rootnet_file)}")
        bbox_xywh = _array(entry.get("bbox"), (4,), "rootnet bbox").reshape(1, 4)
        abs_depth = entry.get("abs_depth")
        if abs_depth is None:
            raise ValueError(f"its entry in {os.path.basename(rootnet_file)} has no 'abs_depth'")
    bbox = bbox_xywh.copy()
    bbox[:, 2] += bbox[:, 0]
    bbox[:, 3] += bbox[:, 1]

    rel_root_depth = keypoints_cam[_LEFT_ROOT, 2] - keypoints_cam[_RIGHT_ROOT, 2]
    rel_root_valid = joint_valid[_RIGHT_ROOT] * joint_valid[_LEFT_ROOT]
    joint_valid[:_RIGHT_ROOT] *= joint_valid[_RIGHT_ROOT]
    joint_valid[_RIGHT_ROOT + 1:] *= joint_valid[_LEFT_ROOT]
    visible = np.minimum(1, joint_valid.reshape(-1, 1)).reshape(1, -1)

    uv = keypoints_cam[..., :2] / (keypoints_cam[..., 2:3] + 1e-8)  # MMPose's camera_to_pixel(shift=True)
    uv[..., 0] *= focal[0]
    uv[..., 1] *= focal[1]
    uv[..., 0] += princpt[0]
    uv[..., 1] += princpt[1]
    keypoints = np.zeros((1, INTERHAND_NUM_KEYPOINTS, 3), dtype=np.float32)
    keypoints[..., :2] = uv
    keypoints[..., :21, 2] = keypoints_cam[:21, 2] - keypoints_cam[_RIGHT_ROOT, 2]
    keypoints[..., 21:, 2] = keypoints_cam[21:, 2] - keypoints_cam[_LEFT_ROOT, 2]

    rec = {
        "img_id": ann.get("image_id", img["id"]), "img_path": img["img_path"], "rotation": 0,
        "keypoints": keypoints, "keypoints_cam": keypoints_cam.reshape(1, -1, 3), "keypoints_visible": visible,
        "hand_type": hand_type, "hand_type_valid": np.array([ann["hand_type_valid"]]),
        "rel_root_depth": rel_root_depth, "rel_root_valid": rel_root_valid, "abs_depth": abs_depth,
        "focal": focal, "principal_pt": princpt, "dataset": "interhand3d", "bbox": bbox,
        "bbox_score": np.ones(1, dtype=np.float32), "num_keypoints": INTERHAND_NUM_KEYPOINTS,
        "iscrowd": ann.get("iscrowd", False), "id": ann["id"], "raw_ann_info": copy.deepcopy(ann),
    }
    if "width" in img and "height" in img:
        rec["img_shape"] = (int(img["height"]), int(img["width"]))
    return rec


def load_interhand3d(ann_file: str, camera_param_file: str, joint_file: str, img_prefix: str = "", *,
                     use_gt_root_depth: bool = True, rootnet_result_file: Optional[str] = None,
                     filter_invalid: bool = True, skip_bad: bool = False) -> CocoKeypoints:
    """Read one InterHand2.6M split into MMPose's top-down records (``InterHand3DDataset``).

    Args:
        ann_file (str): ``*_data.json``. camera_param_file (str): ``*_camera.json``.
        joint_file (str): ``*_joint_3d.json``.
        img_prefix (str): folder the images' ``file_name`` are relative to.
        use_gt_root_depth (bool): wrist depths and boxes from the annotations (True), or from
            ``rootnet_result_file`` (a JSON list of ``{'annot_id', 'bbox', 'abs_depth'}``).
        rootnet_result_file (str, optional): needed when ``use_gt_root_depth`` is False.
        filter_invalid (bool): drop records MMPose's ``_is_valid_instance`` rejects (empty box, no
            positive keypoint value). Defaults to True.
        skip_bad (bool): skip and count bad records (``.skipped``) instead of raising.

    Returns:
        CocoKeypoints: ``records`` (one per image, keys as MMPose's: ``keypoints`` [1, 42, 3]
        float32, ``keypoints_cam`` [1, 42, 3], ``keypoints_visible`` [1, 42], ``hand_type`` [1, 2],
        ``hand_type_valid`` [1], ``rel_root_depth``, ``rel_root_valid``, ``abs_depth`` [2], ``focal``
        [2], ``principal_pt`` [2], ``bbox`` [1, 4] (x1, y1, x2, y2), ``bbox_score``, ``img_path``,
        ``img_shape`` (H, W) ...), ``images`` and ``categories``.

    Raises:
        AnnotationError: a missing or malformed file; a bad record (unknown capture / camera / frame,
            wrong joint count, unknown hand type, an image without annotations ...) unless
            ``skip_bad``, naming the file and the record.
        ValueError: ``use_gt_root_depth=False`` without ``rootnet_result_file``.
    """
    if not use_gt_root_depth and not rootnet_result_file:
        raise ValueError("rootnet_result_file is required when use_gt_root_depth is False")
    data = read_json(ann_file)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise AnnotationError(ann_file, None, "expected a JSON object with 'images' and 'annotations' lists")
    cameras = read_json(camera_param_file)
    joints = read_json(joint_file)
    for path, obj in ((camera_param_file, cameras), (joint_file, joints)):
        if not isinstance(obj, dict):
            raise AnnotationError(path, None, f"expected a JSON object keyed by capture id, got {type(obj).__name__}")
    rootnet = None
    if not use_gt_root_depth:
        raw = read_json(rootnet_result_file)
        if not isinstance(raw, list) or not all(isinstance(r, dict) and "annot_id" in r for r in raw):
            raise AnnotationError(rootnet_result_file, None, "expected a JSON list of objects with 'annot_id'")
        rootnet = {str(r["annot_id"]): r for r in raw}

    bad = BadRecords(skip_bad)
    first_ann: Dict[Any, tuple] = {}
    for i, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or "image_id" not in ann:
            bad(AnnotationError(ann_file, f"annotations[{i}]", "not an object with 'image_id'"))
            continue
        first_ann.setdefault(ann["image_id"], (i, ann))
    images, records = [], []
    for j, img in enumerate(data["images"]):
        if not isinstance(img, dict) or "id" not in img or "file_name" not in img:
            bad(AnnotationError(ann_file, f"images[{j}]", "not an object with 'id' and 'file_name'"))
            continue
        img = dict(img, img_id=img["id"], img_path=os.path.join(img_prefix, img["file_name"]))
        images.append(img)
        if img["id"] not in first_ann:
            bad(AnnotationError(ann_file, f"images[{j}] (id={img['id']!r})", "has no annotation"))
            continue
        i, ann = first_ann[img["id"]]
        name = f"annotations[{i}]" + (f" (id={ann['id']!r})" if "id" in ann else "")
        try:
            rec = _parse(ann, img, cameras, joints, camera_param_file, joint_file, rootnet, rootnet_result_file or "")
        except ValueError as e:
            bad(AnnotationError(ann_file, name, str(e)))
            continue
        if not filter_invalid or is_valid_instance(rec):
            records.append(rec)
    cats = data.get("categories", [])
    return CocoKeypoints(ann_file, records, images, cats if isinstance(cats, list) else [], bad.errors)


def flip_hand_labels(hand_type: torch.Tensor, rel_root_depth: torch.Tensor,
                     flipped: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The labels of horizontally flipped samples, as MMPose's ``HandRandomFlip``: (right, left)
    hand types swap and the relative root depth changes sign (the keypoints themselves flip as any
    top-down keypoints, with the dataset's ``flip_indices``; their depths are unchanged).

    Args:
        hand_type (Tensor[B, 2]): (right, left) labels.
        rel_root_depth (Tensor[B]): left-wrist minus right-wrist depth (mm).
        flipped (Tensor[B] bool): which samples are flipped.

    Returns:
        tuple: new ``hand_type`` Tensor[B, 2] and ``rel_root_depth`` Tensor[B].
    """
    if hand_type.dim() != 2 or hand_type.shape[1] != 2 or rel_root_depth.shape != hand_type.shape[:1] \
            or flipped.shape != hand_type.shape[:1]:
        raise ValueError(f"hand_type must be [B, 2], rel_root_depth and flipped [B]; got {tuple(hand_type.shape)}, "
                         f"{tuple(rel_root_depth.shape)} and {tuple(flipped.shape)}")
    f = flipped.to(torch.bool)
    return (torch.where(f[:, None], hand_type.flip(-1), hand_type),
            torch.where(f, -rel_root_depth, rel_root_depth))


def _stack(records: Sequence[Dict[str, Any]], key: str, shape: tuple, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.stack([np.asarray(r[key], dtype=np.float32).reshape(shape) for r in records])).to(device)


def _crops(records: Sequence[Dict[str, Any]], images: Optional[Sequence[Any]], input_size: Tuple[int, int],
           padding: float, device: torch.device, flipped: Optional[torch.Tensor] = None,
           bbox_transform: Any = None, generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
    """The crops and codec arguments of a batch; see :func:`interhand_topdown_batch`. With ``flipped``
    [B] (bool) those samples are mirrored as MMPose's ``HandRandomFlip``; with ``bbox_transform`` (a
    ``RandomBBoxTransform``, drawing from the CPU ``generator``) their boxes are jittered (after the
    flip, as MMPose's pipeline). The geometry (a few numbers per sample) is made on the CPU, the
    crops and keypoints on ``device``."""
    from .. import ops
    from ..structures.bbox import bbox_xyxy2cs, compose_horizontal_flip, fix_aspect_ratio, get_warp_matrix
    from .pipeline import IMAGENET_MEAN, IMAGENET_STD, decode_image
    from .ragged import RaggedImages

    if not records:
        raise ValueError("records is empty")
    if images is None:
        images = [decode_image(r["img_path"], r.get("id")) for r in records]
    if len(images) != len(records):
        raise ValueError(f"images ({len(images)}) and records ({len(records)}) must have one length")
    w, h = (int(v) for v in input_size)
    cpu = torch.device("cpu")
    bbox = _stack(records, "bbox", (4,), cpu).to(torch.float64)
    center, scale = bbox_xyxy2cs(bbox, padding=padding)
    kp = _stack(records, "keypoints", (INTERHAND_NUM_KEYPOINTS, 3), cpu)
    visible = _stack(records, "keypoints_visible", (INTERHAND_NUM_KEYPOINTS,), cpu)
    hand_type = _stack(records, "hand_type", (2,), cpu)
    rel_root_depth = _stack(records, "rel_root_depth", (), cpu)
    rotation = torch.zeros(len(records), dtype=torch.float64)
    if flipped is not None:
        f = flipped.to(device=cpu, dtype=torch.bool)
        widths = torch.tensor([float(np.shape(im)[1]) for im in images], dtype=torch.float64)
        center = torch.where(f[:, None], torch.stack([widths - 1 - center[:, 0], center[:, 1]], -1), center)
        mirrored = kp[:, INTERHAND_FLIP_INDICES]
        mirrored = torch.cat([(widths[:, None, None] - 1 - mirrored[..., :1].double()).float(), mirrored[..., 1:]], -1)
        kp = torch.where(f[:, None, None], mirrored, kp)
        visible = torch.where(f[:, None], visible[:, INTERHAND_FLIP_INDICES], visible)
        hand_type, rel_root_depth = flip_hand_labels(hand_type, rel_root_depth, f)
    if bbox_transform is not None:
        jitter = bbox_transform(center, scale, generator=generator)
        center, scale, rotation = jitter["bbox_center"], jitter["bbox_scale"], jitter["bbox_rotation"]
    scale = fix_aspect_ratio(scale, w / h)
    warp = get_warp_matrix(center, scale, rotation, (w, h))
    image_warp = warp if flipped is None else torch.where(f[:, None, None], compose_horizontal_flip(warp, widths), warp)
    warp, kp = warp.to(device), kp.to(device)
    inputs = ops.warp_affine(RaggedImages.from_images(list(images)).to(device), image_warp.to(device), (w, h),
                             mean=IMAGENET_MEAN, std=IMAGENET_STD, bgr_to_rgb=True)
    xy = torch.einsum("bij,bkj->bki", warp[:, :, :2], kp[..., :2].to(torch.float64)) + warp[:, None, :, 2]
    return dict(inputs=inputs, keypoints=torch.cat([xy.to(torch.float32), kp[..., 2:]], dim=-1),
                keypoints_visible=visible.to(device), rel_root_depth=rel_root_depth.to(device),
                rel_root_valid=_stack(records, "rel_root_valid", (), device), hand_type=hand_type.to(device),
                hand_type_valid=_stack(records, "hand_type_valid", (), device), input_center=center.to(device),
                input_scale=scale.to(device), warp_matrices=warp)


def interhand_topdown_batch(records: Sequence[Dict[str, Any]], images: Optional[Sequence[Any]] = None,
                            input_size: Tuple[int, int] = (256, 256), *, padding: float = 1.25,
                            flipped: Optional[torch.Tensor] = None,
                            device: Union[str, torch.device, None] = None) -> Dict[str, torch.Tensor]:
    """Network inputs and codec arguments of a batch of InterHand records, as MMPose's val pipeline
    (``GetBBoxCenterScale`` (padding 1.25), ``TopdownAffine``, the data preprocessor's BGR->RGB and
    ImageNet normalisation): one ``warp_affine`` launch for the crops, x, y of the keypoints through
    the same warps, depths unchanged. No random augmentation (training: :class:`InterHandTrainData`);
    ``flipped`` mirrors chosen samples as MMPose's ``HandRandomFlip`` (image, box centre, keypoints
    ``x -> W - 1 - x`` and swapped hands, hand type swapped, relative root depth negated).

    Feed ``Hand3DHeatmap.batch_encode(**{k: out[k] for k in ('keypoints', 'keypoints_visible',
    'rel_root_depth', 'rel_root_valid', 'hand_type', 'hand_type_valid')})`` for training targets, and
    ``input_center`` / ``input_scale`` to ``model.predict``.

    Args:
        records (Sequence[dict]): ``load_interhand3d`` records.
        images (Sequence[ndarray[H, W, 3] uint8 BGR], optional): one per record; None reads each
            record's ``img_path`` with OpenCV.
        input_size (tuple[int, int]): network input (w, h).
        padding (float): box padding.
        flipped (Tensor[B] bool, optional): samples to mirror.
        device: where the batch goes (default: the CPU).

    Returns:
        dict: ``inputs`` Tensor[B, 3, h, w] float32; ``keypoints`` Tensor[B, 42, 3] float32 (x, y
        input pixels, z mm); ``keypoints_visible`` [B, 42]; ``rel_root_depth``, ``rel_root_valid``,
        ``hand_type_valid`` [B]; ``hand_type`` [B, 2]; ``input_center``, ``input_scale`` [B, 2]
        float64 and ``warp_matrices`` [B, 2, 3] float64 (image -> crop).
    """
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if flipped is not None and tuple(flipped.shape) != (len(records),):
        raise ValueError(f"flipped must be [B] = [{len(records)}], got {tuple(flipped.shape)}")
    return _crops(records, images, input_size, padding, dev, flipped)


_CODEC_ARGS = ("keypoints", "keypoints_visible", "rel_root_depth", "rel_root_valid", "hand_type", "hand_type_valid")


class InterHandTrainData(DeviceData):
    """InterHand2.6M training batches for :class:`pyposefast.engine.Trainer`: each batch is
    ``{"inputs": Tensor[B, 3, h, w], **codec.batch_encode(...)}`` on the device (``heatmaps``,
    ``keypoint_weights``, ``root_depth``, ``root_depth_weight``, ``type``, ``type_weight``: what
    ``InternetHead.loss`` takes).

    MMPose's InterNet train pipeline: ``GetBBoxCenterScale``, ``HandRandomFlip(prob=0.5)``,
    ``RandomBBoxTransform(rotate_factor=90)``, ``TopdownAffine``, ``GenerateTarget``. Images are read
    in the iterating thread (OpenCV); flips fold into the warp, so each batch is one ``warp_affine``
    launch and one ``batch_encode``. Order and augmentation depend on (seed, epoch, batch, rank)
    only, so a resumed run sees the batches an uninterrupted one would.

    Args:
        records (Sequence[dict] or CocoKeypoints): ``load_interhand3d`` records.
        codec (Hand3DHeatmap): the head's codec (``model.head.decoder``).
        input_size (tuple[int, int]): network input (w, h). batch_size (int): per process.
        augment (bool): flip and box jitter. flip_prob (float): 0.5. rotate_factor (float): 90.
        seed (int), shuffle (bool), drop_last (bool): order of the samples.
        device (str or torch.device, optional): default: the trainer's (set by it), else the CPU.
        padding (float): box padding (1.25).
    """

    def __init__(self, records: Any, codec: Any, input_size: Tuple[int, int] = (256, 256), batch_size: int = 16, *,
                 augment: bool = True, flip_prob: float = 0.5, rotate_factor: float = 90.0, seed: int = 0,
                 shuffle: bool = True, drop_last: bool = True, device: Union[str, torch.device, None] = None,
                 padding: float = 1.25) -> None:
        from .augment import RandomBBoxTransform

        self.records = list(getattr(records, "records", records))
        if not self.records:
            raise ValueError("records is empty: no training samples")
        if not hasattr(codec, "batch_encode"):
            raise TypeError(f"codec must be a Hand3DHeatmap, got {type(codec).__name__}")
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if not 0.0 <= float(flip_prob) <= 1.0:
            raise ValueError(f"flip_prob must be in [0, 1], got {flip_prob}")
        self.codec, self.input_size, self.batch_size = codec, tuple(int(v) for v in input_size), int(batch_size)
        self.augment, self.flip_prob, self.seed = bool(augment), float(flip_prob), int(seed)
        self.shuffle, self.drop_last, self.padding = bool(shuffle), bool(drop_last), float(padding)
        self.bbox_transform = RandomBBoxTransform(rotate_factor=rotate_factor)
        self._device = None if device is None else torch.device(device)
        self.epoch, self._skip = 0, 0

    @staticmethod
    def _world() -> Tuple[int, int]:
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            return dist.get_world_size(), dist.get_rank()
        return 1, 0

    def epoch_indices(self, epoch: int) -> List[List[int]]:
        """This rank's batches of record indices for ``epoch``."""
        n, (world, rank) = len(self.records), self._world()
        order = list(range(n))
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)).tolist()
        total = -(-n // world) * world
        mine = (order * (-(-total // n)))[:total][rank::world]
        stop = len(mine) // self.batch_size * self.batch_size if self.drop_last else len(mine)
        return [mine[i:i + self.batch_size] for i in range(0, stop, self.batch_size)]

    def __len__(self) -> int:
        world = self._world()[0]
        per_rank = -(-len(self.records) // world)
        return per_rank // self.batch_size if self.drop_last else -(-per_rank // self.batch_size)

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """The epoch the next iteration runs, from its batch ``skip`` (exact resume)."""
        if int(skip) < 0:
            raise ValueError(f"skip must be >= 0, got {skip}")
        self.epoch, self._skip = int(epoch), int(skip)

    def batch(self, indices: Sequence[int], epoch: int = 0, batch_index: int = 0) -> Dict[str, torch.Tensor]:
        """One batch of the given records (augmented as batch ``batch_index`` of ``epoch``)."""
        records = [self.records[i] for i in indices]
        flipped, gen = None, None
        if self.augment:
            state = np.random.SeedSequence([self.seed & 0xFFFFFFFF, epoch, batch_index, self._world()[1]])
            gen = torch.Generator().manual_seed(int(state.generate_state(1, dtype=np.uint64)[0] >> 1))
            flipped = torch.rand(len(records), generator=gen, dtype=torch.float64) < self.flip_prob
        out = _crops(records, None, self.input_size, self.padding, self.device, flipped,
                     self.bbox_transform if self.augment else None, gen)
        return {"inputs": out["inputs"], **self.codec.batch_encode(*(out[k] for k in _CODEC_ARGS))}

    def __iter__(self) -> Iterator[Dict[str, torch.Tensor]]:
        """One epoch (``set_epoch``) of batches; the skip applies to this iteration only."""
        epoch, skip = self.epoch, self._skip
        self._skip = 0
        for i, indices in enumerate(self.epoch_indices(epoch)[skip:], start=skip):
            yield self.batch(indices, epoch, i)
