"""``Hand3DInferencer``: 3D hand pose (InterNet) on images, folders and videos, as MMPose's
``Hand3DInferencer`` does it: one box per hand pair (the caller's, or the whole image), MMPose's
top-down crop (padding 1.25, aspect fixed), the estimator's ``predict`` (flip test as configured),
then the display keypoints of :func:`pyposefast.visualization.hand3d_display_keypoints` and PNGs of
:func:`pyposefast.visualization.draw_hand3d`.

Data flow: frames (BGR uint8) ─► RaggedImages ─► device ─► ``ops.warp_affine`` crops (BGR->RGB,
ImageNet normalisation) ─► ``model.predict`` ─► keypoints [N, 42, 3] (x, y image pixels; z mm
relative to each wrist), scores, the left wrist's relative depth, the hand type.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Union

import cv2
import numpy as np
import torch
from torch import nn

from ..models import TopdownPoseEstimator
from .boxed_frames import frames_with_boxes, image_crops, output_stem, write_prediction_json
from .inferencer import default_device

__all__ = ["Hand3DInferencer"]


class Hand3DInferencer:
    """3D hands on images, folders or videos.

    Args:
        model_or_name (nn.Module or str): a ``TopdownPoseEstimator`` with an ``InternetHead`` or a
            model name (default ``'internet_res50_interhand3d_256x256'``; random weights unless
            ``checkpoint``).
        checkpoint (str, optional): weights (``pyposefast.models.load_checkpoint``: MMPose 1.x or
            pyposefast checkpoints).
        device (str or torch.device, optional): default CUDA when available.
        kpt_thr (float): keypoints drawn above this score. Defaults to 0.3.
        disable_rebase_keypoint (bool): keep the heights as predicted (MMPose's flag). Defaults to False.
        batch_size (int): crops per forward pass. Defaults to 16.
        flip_test (bool, optional): overrides the model's.

    Call: ``inferencer(inputs, bboxes=None, *, vis_out_dir=None, pred_out_dir=None)`` with an image
    array, a path, a folder, a video or a list of them; ``bboxes``: one ``[N, 4]`` (x1, y1, x2, y2)
    array per input image (default: the whole image, as MMPose). Returns one dict per frame:
    ``img_path``, ``frame_id``, ``bboxes`` [N, 4], ``keypoints`` [N, 42, 3], ``keypoint_scores``
    [N, 42], ``rel_root_depth`` [N], ``hand_type`` [N, 2] (the model's outputs) and ``keypoints_3d``
    [N, 42, 3] / ``keypoint_scores_3d`` [N, 42] (what is drawn: see ``hand3d_display_keypoints``).
    """

    def __init__(self, model_or_name: Union[nn.Module, str] = "internet_res50_interhand3d_256x256",
                 checkpoint: Optional[str] = None, device: Optional[Union[str, torch.device]] = None, *,
                 kpt_thr: float = 0.3, disable_rebase_keypoint: bool = False, batch_size: int = 16,
                 flip_test: Optional[bool] = None) -> None:
        from ..models.heads.internet_head import InternetHead

        if isinstance(model_or_name, str):
            from ..models import build_model

            model = build_model(model_or_name)
        elif isinstance(model_or_name, nn.Module):
            model = model_or_name
        else:
            raise TypeError(f"model_or_name must be an nn.Module or a model name, got {type(model_or_name).__name__}")
        if not isinstance(model, TopdownPoseEstimator) or not isinstance(model.head, InternetHead):
            raise TypeError(f"model_or_name must be a TopdownPoseEstimator with an InternetHead, got "
                            f"{type(model).__name__} with {type(getattr(model, 'head', None)).__name__}")
        codec = getattr(model.head, "decoder", None)
        if codec is None:
            raise ValueError("the model's InternetHead has no decoder (Hand3DHeatmap)")
        if checkpoint is not None:
            from ..models import load_checkpoint

            load_checkpoint(model, checkpoint)
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if not 0.0 <= float(kpt_thr) <= 1.0:
            raise ValueError(f"kpt_thr must be in [0, 1], got {kpt_thr}")
        self.device = torch.device(device) if device is not None else default_device()
        self.model = model.to(self.device).eval()
        self.input_size = tuple(int(v) for v in codec.image_size)
        self.kpt_thr, self.batch_size = float(kpt_thr), int(batch_size)
        self.rebase, self.flip_test = not disable_rebase_keypoint, flip_test

    @torch.no_grad()
    def __call__(self, inputs: Any, bboxes: Optional[Sequence[Any]] = None, *, vis_out_dir: Optional[str] = None,
                 pred_out_dir: Optional[str] = None, panel_size: Optional[int] = None) -> List[Dict[str, Any]]:
        from ..visualization.hand3d import draw_hand3d, hand3d_display_keypoints

        results: List[Dict[str, Any]] = []
        for frame, boxes in frames_with_boxes(inputs, bboxes):
            out = self._predict(frame.image, boxes)
            kp3d, sc3d, _ = hand3d_display_keypoints(out["keypoints"], out["keypoint_scores"], out["rel_root_depth"],
                                                     out["hand_type"], rebase=self.rebase)
            result = dict(img_path=frame.img_path, frame_id=frame.frame_id, bboxes=boxes, keypoints_3d=kp3d,
                          keypoint_scores_3d=sc3d, **out)
            results.append(result)
            name = output_stem(frame)
            if vis_out_dir and len(boxes):
                os.makedirs(vis_out_dir, exist_ok=True)
                drawing = draw_hand3d(frame.image, out["keypoints"], out["keypoint_scores"], out["rel_root_depth"],
                                      out["hand_type"], kpt_thr=self.kpt_thr, rebase=self.rebase,
                                      num_instances=len(boxes), panel_size=panel_size)
                cv2.imwrite(os.path.join(vis_out_dir, f"{name}.png"), drawing)
            if pred_out_dir:
                write_prediction_json(pred_out_dir, name, result)
        return results

    def _predict(self, image: np.ndarray, boxes: np.ndarray) -> Dict[str, np.ndarray]:
        n = len(boxes)
        if n == 0:
            return dict(keypoints=np.zeros((0, 42, 3), np.float32), keypoint_scores=np.zeros((0, 42), np.float32),
                        rel_root_depth=np.zeros(0, np.float32), hand_type=np.zeros((0, 2), np.int64))
        center, scale, batches = image_crops(image, boxes, self.input_size, self.device, self.batch_size)
        parts: List[List[torch.Tensor]] = []
        for rows, crops in batches:
            parts.append(list(self.model.predict(crops, center[rows].float(), scale[rows].float(),
                                                 flip_test=self.flip_test)))
        keypoints, scores, root, hand_type = (torch.cat([p[i] for p in parts]).cpu().numpy() for i in range(4))
        return dict(keypoints=keypoints, keypoint_scores=scores, rel_root_depth=root.reshape(n), hand_type=hand_type)
