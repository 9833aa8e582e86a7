"""The per-sample, MMPose-style top-down pipeline: one ``results`` dict in, the same dict out.

``LoadImage -> GetBBoxCenterScale -> RandomFlip -> RandomHalfBody -> RandomBBoxTransform ->
TopdownAffine -> GenerateTarget -> PackPoseInputs``, with MMPose 1.x's names, arguments and result
keys, built on the same geometry (:mod:`pyposefast.structures`), augmentation rules
(:mod:`pyposefast.datasets.augment`) and warp kernel as the batched pipeline. It serves parity tests
and users who prefer per-sample transforms in data-loader workers.

Randomness: each random transform reads its uniforms from ``results["random_draws"]``
(ndarray[NUM_DRAWS], the row the batched pipeline would use for this sample: column 0 flip, 1-2 half
body, 3-9 bbox transform) when present, else draws them from its own ``numpy.random.Generator``.
The same draws give the same sample as :class:`pyposefast.datasets.pipeline.TopdownBatchPipeline`.
Points are (x, y) in image pixels.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

from ..structures import bbox_xyxy2cs, flip_bbox, flip_keypoints
from ._augment_utils import truncated_normal_from_uniform
from .augment import RandomBBoxTransform as _BatchBBoxTransform
from .augment import RandomFlip as _BatchFlip
from .augment import RandomHalfBody as _BatchHalfBody
from .pipeline import decode_image
from .transforms import TopdownAffine

__all__ = ["Compose", "LoadImage", "GetBBoxCenterScale", "RandomFlip", "RandomHalfBody", "RandomBBoxTransform",
           "TopdownAffine", "GenerateTarget", "PackPoseInputs"]

Results = Dict[str, Any]


def _draws(results: Results, rng: np.random.Generator, cols: slice, n: int) -> np.ndarray:
    d = results.get("random_draws")
    if d is not None:
        return np.asarray(d, dtype=np.float64)[cols]
    return rng.random(n)


class Compose:
    """Apply transforms in order; a transform returning None drops the sample (returns None)."""

    def __init__(self, transforms: Sequence[Callable[[Results], Optional[Results]]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, results: Results) -> Optional[Results]:
        for t in self.transforms:
            results = t(results)
            if results is None:
                return None
        return results


class LoadImage:
    """Read ``img_path`` with OpenCV (BGR, HWC uint8; float32 with ``to_float32``); sets ``img``,
    ``img_shape`` and ``ori_shape`` (H, W). A missing file raises naming the file and the record."""

    def __init__(self, to_float32: bool = False) -> None:
        self.to_float32 = to_float32

    def __call__(self, results: Results) -> Results:
        if "img" not in results or results["img"] is None:
            img = decode_image(results["img_path"], results.get("id"))
            results["img"] = img.astype(np.float32) if self.to_float32 else img
        results["img_shape"] = results["img"].shape[:2]
        results["ori_shape"] = results["img"].shape[:2]
        return results


class GetBBoxCenterScale:
    """``bbox`` (xyxy) -> ``bbox_center``, ``bbox_scale`` times ``padding`` (MMPose: when both exist
    already, only the scale is multiplied by the padding)."""

    def __init__(self, padding: float = 1.25) -> None:
        self.padding = padding

    def __call__(self, results: Results) -> Results:
        if "bbox_center" in results and "bbox_scale" in results:
            results["bbox_scale"] = results["bbox_scale"] * self.padding
        else:
            results["bbox_center"], results["bbox_scale"] = bbox_xyxy2cs(results["bbox"], padding=self.padding)
        return results


class RandomFlip:
    """MMPose's ``RandomFlip`` on one sample: flips ``img``, ``bbox``, ``bbox_center``, ``keypoints``
    and ``keypoints_visible`` (by ``flip_indices``, from the constructor or ``results``); sets
    ``flip`` and ``flip_direction``. Draw: ``random_draws[0]``."""

    def __init__(self, prob: Union[float, List[float]] = 0.5, direction: Union[str, List[str]] = "horizontal",
                 flip_indices: Optional[Sequence[int]] = None, seed: Optional[int] = None) -> None:
        self._rule = _BatchFlip(prob, direction, flip_indices=flip_indices)
        self.flip_indices = flip_indices
        self.rng = np.random.default_rng(seed)

    def __call__(self, results: Results) -> Results:
        u = _draws(results, self.rng, slice(0, 1), 1)
        code = int(self._rule.codes_from_draws(torch.tensor(u, dtype=torch.float64))[0])
        if code == 0:
            results["flip"], results["flip_direction"] = False, None
            return results
        direction = _BatchFlip.DIRECTIONS[code - 1]
        h, w = results["img"].shape[:2]
        results["img"] = cv2.flip(results["img"], {"horizontal": 1, "vertical": 0, "diagonal": -1}[direction])
        if results.get("bbox") is not None:
            results["bbox"] = flip_bbox(results["bbox"], (w, h), "xyxy", direction)
        if results.get("bbox_center") is not None:
            results["bbox_center"] = flip_bbox(results["bbox_center"], (w, h), "center", direction)
        if results.get("keypoints") is not None:
            ids = self.flip_indices if self.flip_indices is not None else results["flip_indices"]
            results["keypoints"], results["keypoints_visible"] = flip_keypoints(
                results["keypoints"], results.get("keypoints_visible"), (w, h), ids, direction)
        results["flip"], results["flip_direction"] = True, direction
        return results


class RandomHalfBody:
    """MMPose's ``RandomHalfBody`` on one sample (same arguments; ``upper_body_ids`` /
    ``lower_body_ids`` from the constructor or ``results``). Draws: ``random_draws[1:3]``."""

    def __init__(self, min_total_keypoints: int = 9, min_upper_keypoints: int = 2, min_lower_keypoints: int = 3,
                 padding: float = 1.5, prob: float = 0.3, upper_prioritized_prob: float = 0.7,
                 upper_body_ids: Optional[Sequence[int]] = None, lower_body_ids: Optional[Sequence[int]] = None,
                 seed: Optional[int] = None) -> None:
        self._rule = _BatchHalfBody(min_total_keypoints, min_upper_keypoints, min_lower_keypoints, padding, prob,
                                    upper_prioritized_prob, upper_body_ids=upper_body_ids,
                                    lower_body_ids=lower_body_ids)
        self.rng = np.random.default_rng(seed)

    def __call__(self, results: Results) -> Results:
        u = torch.tensor(_draws(results, self.rng, slice(1, 3), 2), dtype=torch.float64)[None]
        up = results.get("upper_body_ids") if self._rule.upper_body_ids is None else None
        lo = results.get("lower_body_ids") if self._rule.lower_body_ids is None else None
        kp = torch.from_numpy(np.asarray(results["keypoints"], dtype=np.float64))
        vis = torch.from_numpy(np.asarray(results["keypoints_visible"], dtype=np.float64))
        code = self._rule.select_half_body(vis, u, up, lo)
        if int(code[0]) == 0:
            return results
        center = torch.from_numpy(np.asarray(results["bbox_center"], dtype=np.float64))
        scale = torch.from_numpy(np.asarray(results["bbox_scale"], dtype=np.float64))
        c, s = self._rule.half_body_bbox(code, center, scale, kp, vis, up, lo)
        results["bbox_center"] = c.numpy().astype(np.float32)
        results["bbox_scale"] = s.numpy().astype(np.float32)
        return results


class RandomBBoxTransform:
    """MMPose's ``RandomBBoxTransform`` on one sample (same arguments); sets ``bbox_center``,
    ``bbox_scale`` and ``bbox_rotation``. Draws: ``random_draws[3:7]`` (truncated normals by inverse
    CDF) and ``random_draws[7:10]`` (coins)."""

    def __init__(self, shift_factor: float = 0.16, shift_prob: float = 0.3,
                 scale_factor: Tuple[float, float] = (0.5, 1.5), scale_prob: float = 1.0,
                 rotate_factor: float = 80.0, rotate_prob: float = 0.6, seed: Optional[int] = None) -> None:
        self._rule = _BatchBBoxTransform(shift_factor, shift_prob, scale_factor, scale_prob, rotate_factor,
                                         rotate_prob)
        self.rng = np.random.default_rng(seed)

    def __call__(self, results: Results) -> Results:
        u = torch.tensor(_draws(results, self.rng, slice(3, 10), 7), dtype=torch.float64)[None]
        offset, factor, rot = self._rule.params_from_draws(truncated_normal_from_uniform(u[:, :4]), u[:, 4:])
        scale = np.asarray(results["bbox_scale"], dtype=np.float64)
        center = np.asarray(results["bbox_center"], dtype=np.float64)
        results["bbox_center"] = center + offset.numpy() * scale
        results["bbox_scale"] = scale * factor.numpy()
        results["bbox_rotation"] = rot.numpy()
        return results


class GenerateTarget:
    """Encode ``transformed_keypoints`` with ``encoder`` (a codec) into the targets; with
    ``use_dataset_keypoint_weights`` the ``keypoint_weights`` are multiplied by
    ``results["dataset_keypoint_weights"]`` (MMPose's ``GenerateTarget``)."""

    def __init__(self, encoder: Any, use_dataset_keypoint_weights: bool = False) -> None:
        self.encoder = encoder
        self.use_dataset_keypoint_weights = use_dataset_keypoint_weights

    def __call__(self, results: Results) -> Results:
        kp = np.asarray(results["transformed_keypoints"], dtype=np.float32)
        vis = np.asarray(results["keypoints_visible"], dtype=np.float32)
        encoded = self.encoder.encode(kp, vis)
        if self.use_dataset_keypoint_weights and "keypoint_weights" in encoded:
            encoded["keypoint_weights"] = encoded["keypoint_weights"] * results["dataset_keypoint_weights"]
        results.update(encoded)
        return results


class PackPoseInputs:
    """``inputs`` Tensor[3, h, w] uint8 (the image, HWC -> CHW, channel order unchanged) and
    ``data_samples``: a dict with ``gt_instances`` (boxes, keypoints), ``gt_fields`` (heatmaps),
    ``gt_instance_labels`` (keypoint weights, labels) and ``metainfo`` (``meta_keys``)."""

    meta_keys = ("id", "img_id", "img_path", "category_id", "crowd_index", "ori_shape", "img_shape", "input_size",
                 "input_center", "input_scale", "flip", "flip_direction", "flip_indices", "raw_ann_info")
    instance_keys = ("bbox", "bbox_score", "bbox_center", "bbox_scale", "bbox_rotation", "keypoints",
                     "keypoints_visible", "transformed_keypoints")
    field_keys = ("heatmaps",)
    label_keys = ("keypoint_weights", "keypoint_labels", "keypoint_x_labels", "keypoint_y_labels")

    def __call__(self, results: Results) -> Results:
        img = np.ascontiguousarray(results["img"])
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1) if img.ndim == 3 else img[None]))
        sample = dict(
            gt_instances={k: results[k] for k in self.instance_keys if k in results},
            gt_fields={k: results[k] for k in self.field_keys if k in results},
            gt_instance_labels={k: results[k] for k in self.label_keys if k in results},
            metainfo={k: results[k] for k in self.meta_keys if k in results},
        )
        return dict(inputs=inputs, data_samples=sample)
