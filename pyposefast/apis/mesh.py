"""``MeshInferencer``: human meshes (HMR / ``ParametricMesh``) on images, folders and videos.

Per frame: person boxes (the caller's, or the whole image) ─► square crops of ``img_res`` (box padding
1.25, aspect fixed to 1, as MMPose 0.x's mesh pipeline) cut on the device by ``ops.warp_affine``
(BGR->RGB, ImageNet normalisation) ─► ``ParametricMesh.predict`` ─► vertices, 3D joints, 2D joints in
image pixels, SMPL pose / shape, camera ─► every mesh drawn over the frame
(:func:`pyposefast.visualization.draw_mesh_on_image`).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from .boxed_frames import frames_with_boxes, image_crops, output_stem, write_prediction_json
from .inferencer import default_device

__all__ = ["MeshInferencer"]

#: the per-person outputs kept (numpy), from ``ParametricMesh.predict``
MESH_KEYS = ("vertices", "keypoints_3d", "keypoints_2d", "smpl_pose", "smpl_beta", "camera", "camera_translation")


class MeshInferencer:
    """Meshes of people on images, folders or videos.

    Args:
        model (nn.Module): a ``pyposefast.models.ParametricMesh`` (e.g. ``hmr_res50_mixed_224x224(smpl=...)``
            with its weights).
        checkpoint (str, optional): weights to load (``pyposefast.models.load_checkpoint``).
        device (str or torch.device, optional): default CUDA when available.
        batch_size (int): crops per forward pass. Defaults to 32.

    Call: ``inferencer(inputs, bboxes=None, *, vis_out_dir=None, pred_out_dir=None)``; ``bboxes``: one
    ``[N, 4]`` (x1, y1, x2, y2) array per input image (default: the whole image). Returns one dict
    per frame: ``img_path``, ``frame_id``, ``bboxes`` [N, 4], ``input_center`` / ``input_scale`` [N, 2]
    (the crops, image pixels), the ``MESH_KEYS`` arrays with N rows (``keypoints_2d`` in image
    pixels) and ``faces`` [F, 3].
    """

    def __init__(self, model: nn.Module, checkpoint: Optional[str] = None,
                 device: Optional[Union[str, torch.device]] = None, *, batch_size: int = 32) -> None:
        from ..models.mesh import ParametricMesh

        if not isinstance(model, ParametricMesh):
            raise TypeError(f"model must be a ParametricMesh (e.g. hmr_res50_mixed_224x224), got "
                            f"{type(model).__name__}")
        if checkpoint is not None:
            from ..models import load_checkpoint

            load_checkpoint(model, checkpoint)
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.device = torch.device(device) if device is not None else default_device()
        self.model = model.to(self.device).eval()
        self.img_res, self.batch_size = int(model.img_res), int(batch_size)

    @torch.no_grad()
    def __call__(self, inputs: Any, bboxes: Optional[Sequence[Any]] = None, *, vis_out_dir: Optional[str] = None,
                 pred_out_dir: Optional[str] = None) -> List[Dict[str, Any]]:
        from ..visualization.mesh import draw_mesh_on_image

        results: List[Dict[str, Any]] = []
        for frame, boxes in frames_with_boxes(inputs, bboxes):
            result = dict(img_path=frame.img_path, frame_id=frame.frame_id, bboxes=boxes,
                          **self._predict(frame.image, boxes))
            results.append(result)
            name = output_stem(frame)
            if vis_out_dir and len(boxes):
                os.makedirs(vis_out_dir, exist_ok=True)
                draw_mesh_on_image(frame.image, result, result["input_center"], result["input_scale"],
                                   out_file=os.path.join(vis_out_dir, f"{name}.png"))
            if pred_out_dir:
                write_prediction_json(pred_out_dir, name, result, skip=("faces",))
        return results

    def _predict(self, image: np.ndarray, boxes: np.ndarray) -> Dict[str, Any]:
        res = (self.img_res, self.img_res)
        faces = self.model.smpl.get_faces()
        center, scale, batches = image_crops(image, boxes, res, self.device, self.batch_size)
        out: Dict[str, Any] = dict(input_center=center.cpu().numpy(), input_scale=scale.cpu().numpy(), faces=faces,
                                   focal_length=float(self.model.focal_length), img_res=self.img_res)
        parts: Dict[str, List[np.ndarray]] = {k: [] for k in MESH_KEYS}
        for rows, crops in batches:
            pred = self.model.predict(crops, center[rows].float(), scale[rows].float())
            for k in MESH_KEYS:
                parts[k].append(pred[k].float().cpu().numpy())
        for k in MESH_KEYS:
            out[k] = np.concatenate(parts[k]) if parts[k] else np.zeros((0,), np.float32)
        return out
