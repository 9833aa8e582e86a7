"""What the box-based 3D inferencers (``Hand3DInferencer``, ``MeshInferencer``) share: frames with
their boxes (the caller's, or the whole image as MMPose), batched top-down crops of one image on the
device, output file stems and prediction JSON."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterable, Iterator, Optional, Sequence, Tuple

import numpy as np
import torch

from .. import ops
from ..datasets.pipeline import IMAGENET_MEAN, IMAGENET_STD
from ..datasets.ragged import RaggedImages
from .geometry import topdown_geometry
from .inputs import Frame, expand_inputs, iter_frames

__all__ = ["frames_with_boxes", "image_crops", "output_stem", "write_prediction_json"]


def frames_with_boxes(inputs: Any, bboxes: Optional[Sequence[Any]]) -> Iterator[Tuple[Frame, np.ndarray]]:
    """Each frame of ``inputs`` (an image array, a path, a folder, a video or a list of them) with its
    boxes float32 [N, 4] (x1, y1, x2, y2): ``bboxes[i]`` for input image i, or the whole image.

    Raises:
        ValueError: not one box array per input image; NaN or inf in a box.
    """
    items = expand_inputs(inputs)
    if bboxes is not None and len(bboxes) != len(items):
        raise ValueError(f"bboxes must have one [N, 4] array per input image ({len(items)}), got {len(bboxes)}")
    for frame in iter_frames([item for item, _ in items]):
        h, w = frame.image.shape[:2]
        if bboxes is None:
            yield frame, np.array([[0, 0, w, h]], np.float32)
            continue
        boxes = np.asarray(bboxes[frame.input_index], np.float32).reshape(-1, 4)
        if not np.isfinite(boxes).all():
            raise ValueError(f"bboxes[{frame.input_index}] has NaN or inf values")
        yield frame, boxes


def image_crops(image: np.ndarray, boxes: np.ndarray, input_size: Tuple[int, int], device: torch.device,
                batch_size: int) -> Tuple[torch.Tensor, torch.Tensor, Iterable[Tuple[slice, torch.Tensor]]]:
    """MMPose's top-down crops of ``boxes`` from one BGR image, normalised RGB, ``batch_size`` at a time.

    Returns:
        tuple: ``center`` and ``scale`` Tensor[N, 2] float64 (image pixels) and an iterable of
        (rows, crops Tensor[n, 3, h, w]) on ``device``.
    """
    center, scale, warp = topdown_geometry(torch.from_numpy(boxes).to(device, torch.float64), input_size)

    def batches() -> Iterator[Tuple[slice, torch.Tensor]]:
        if not len(boxes):
            return
        images = RaggedImages.from_images([image]).to(device, non_blocking=True)
        for s in range(0, len(boxes), batch_size):
            e = min(s + batch_size, len(boxes))
            index = torch.zeros(e - s, dtype=torch.long)
            yield slice(s, e), ops.warp_affine(images, warp[s:e], input_size, image_index=index, mean=IMAGENET_MEAN,
                                               std=IMAGENET_STD, bgr_to_rgb=True)

    return center, scale, batches()


def output_stem(frame: Frame) -> str:
    """The file stem of a frame's outputs: the image's, or ``<video>_<frame:06d>``."""
    return frame.name if frame.frame_id is None else f"{frame.name}_{frame.frame_id:06d}"


def write_prediction_json(out_dir: str, stem: str, result: Dict[str, Any], skip: Sequence[str] = ()) -> None:
    """``<out_dir>/<stem>.json`` of ``result`` (arrays as lists), without the keys in ``skip``."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{stem}.json"), "w", encoding="utf-8") as f:
        json.dump({k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in result.items() if k not in skip}, f)
