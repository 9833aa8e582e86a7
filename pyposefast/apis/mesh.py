"""``MeshInferencer``: human meshes (HMR / ``ParametricMesh``) on images, folders and videos.

Per frame: person boxes (the caller's, or the whole image) ─► square crops of ``img_res`` (box padding
1.25, aspect fixed to 1, as MMPose 0.x's mesh pipeline) cut on the device by ``ops.warp_affine``
(BGR->RGB, ImageNet normalisation) ─► ``ParametricMesh.predict`` ─► vertices, 3D joints, 2D joints in
image pixels, SMPL pose / shape, camera ─► every mesh drawn over the frame
(:func:`pyposefast.visualization.draw_mesh_on_image`).
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from .. import ops
from ..datasets.pipeline import IMAGENET_MEAN, IMAGENET_STD
from ..datasets.ragged import RaggedImages
from .geometry import topdown_geometry
from .inferencer import default_device
from .inputs import expand_inputs, iter_frames

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

        items = expand_inputs(inputs)
        if bboxes is not None and len(bboxes) != len(items):
            raise ValueError(f"bboxes must have one [N, 4] array per input image ({len(items)}), got {len(bboxes)}")
        results: List[Dict[str, Any]] = []
        for frame in iter_frames([item for item, _ in items]):
            h, w = frame.image.shape[:2]
            if bboxes is None:
                boxes = np.array([[0, 0, w, h]], np.float32)
            else:
                boxes = np.asarray(bboxes[frame.input_index], np.float32).reshape(-1, 4)
                if not np.isfinite(boxes).all():
                    raise ValueError(f"bboxes[{frame.input_index}] has NaN or inf values")
            result = dict(img_path=frame.img_path, frame_id=frame.frame_id, bboxes=boxes,
                          **self._predict(frame.image, boxes))
            results.append(result)
            name = frame.name if frame.frame_id is None else f"{frame.name}_{frame.frame_id:06d}"
            if vis_out_dir and len(boxes):
                os.makedirs(vis_out_dir, exist_ok=True)
                draw_mesh_on_image(frame.image, result, result["input_center"], result["input_scale"],
                                   out_file=os.path.join(vis_out_dir, f"{name}.png"))
            if pred_out_dir:
                os.makedirs(pred_out_dir, exist_ok=True)
                with open(os.path.join(pred_out_dir, f"{name}.json"), "w", encoding="utf-8") as f:
                    json.dump({k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in result.items()
                               if k != "faces"}, f)
        return results

    def _predict(self, image: np.ndarray, boxes: np.ndarray) -> Dict[str, Any]:
        res = (self.img_res, self.img_res)
        faces = self.model.smpl.get_faces()
        center, scale, warp = topdown_geometry(torch.from_numpy(boxes).to(self.device, torch.float64), res)
        out: Dict[str, Any] = dict(input_center=center.cpu().numpy(), input_scale=scale.cpu().numpy(), faces=faces,
                                   focal_length=float(self.model.focal_length), img_res=self.img_res)
        parts: Dict[str, List[np.ndarray]] = {k: [] for k in MESH_KEYS}
        if len(boxes):
            images = RaggedImages.from_images([image]).to(self.device, non_blocking=True)
            for s in range(0, len(boxes), self.batch_size):
                e = min(s + self.batch_size, len(boxes))
                crops = ops.warp_affine(images, warp[s:e], res, image_index=torch.zeros(e - s, dtype=torch.long),
                                        mean=IMAGENET_MEAN, std=IMAGENET_STD, bgr_to_rgb=True)
                pred = self.model.predict(crops, center[s:e].float(), scale[s:e].float())
                for k in MESH_KEYS:
                    parts[k].append(pred[k].float().cpu().numpy())
        for k in MESH_KEYS:
            out[k] = np.concatenate(parts[k]) if parts[k] else np.zeros((0,), np.float32)
        return out
