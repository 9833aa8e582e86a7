"""Cameras of MMPose 0.x's mesh models: full perspective projection and HMR's weak-perspective camera
``(s, tx, ty)`` (realised, as MMPose does, as a perspective camera far away at ``z = 2 f / (img_res s)``).

Symbols: B batch, N points. Camera frame: x right, y down, z forward (OpenCV); image points are
(x, y) pixels. All functions are differentiable and keep the input's dtype and device.
"""

from __future__ import annotations

from typing import Union

import torch
from torch import Tensor

__all__ = ["perspective_projection", "weak_perspective_translation", "project_points", "camera_to_pixels"]


def perspective_projection(points: Tensor, rotation: Tensor, translation: Tensor,
                           focal_length: Union[float, Tensor], camera_center: Tensor) -> Tensor:
    """Pinhole projection ``K (R X + t) / z`` (MMPose 0.x ``perspective_projection``).

    Args:
        points (Tensor[B, N, 3]): 3D points.
        rotation (Tensor[B, 3, 3]): camera rotation.
        translation (Tensor[B, 3]): camera translation.
        focal_length (float | Tensor[B]): focal length in pixels.
        camera_center (Tensor[B, 2]): principal point (x, y) in pixels.

    Returns:
        Tensor[B, N, 2]: image points (x, y).
    """
    if points.dim() != 3 or points.shape[-1] != 3:
        raise ValueError(f"points must be [B, N, 3], got {tuple(points.shape)}")
    B = points.shape[0]
    if tuple(rotation.shape) != (B, 3, 3) or tuple(translation.shape) != (B, 3) or \
            tuple(camera_center.shape) != (B, 2):
        raise ValueError(f"rotation [B, 3, 3], translation [B, 3] and camera_center [B, 2] expected for B={B}, got "
                         f"{tuple(rotation.shape)}, {tuple(translation.shape)}, {tuple(camera_center.shape)}")
    cam_points = torch.einsum("bij,bkj->bki", rotation, points) + translation[:, None]
    focal = float(focal_length) if isinstance(focal_length, (int, float)) else focal_length.reshape(-1, 1, 1)
    return focal * cam_points[..., :2] / cam_points[..., 2:3] + camera_center[:, None]


def weak_perspective_translation(camera: Tensor, focal_length: float, img_res: int) -> Tensor:
    """Camera translation of an HMR camera: ``(tx, ty, 2 f / (img_res s + 1e-9))``.

    Args:
        camera (Tensor[B, 3]): ``(s, tx, ty)``: scale and translation in model units.
        focal_length (float): focal length in pixels (MMPose: 5000).
        img_res (int): side of the square network input in pixels.

    Returns:
        Tensor[B, 3]: translation of the model into the camera frame.
    """
    if camera.dim() != 2 or camera.shape[1] != 3:
        raise ValueError(f"camera must be [B, 3] (s, tx, ty), got {tuple(camera.shape)}")
    depth = 2 * focal_length / (img_res * camera[:, 0] + 1e-9)
    return torch.stack([camera[:, 1], camera[:, 2], depth], dim=-1)


def project_points(points_3d: Tensor, camera: Tensor, focal_length: float, img_res: int) -> Tensor:
    """Project model-frame points with an HMR camera (MMPose 0.x ``MeshLoss.project_points``).

    Args:
        points_3d (Tensor[B, N, 3]): points in the model frame.
        camera (Tensor[B, 3]): ``(s, tx, ty)``.
        focal_length (float): focal length in pixels.
        img_res (int): side of the square input in pixels.

    Returns:
        Tensor[B, N, 2]: (x, y) pixels relative to the input's centre (about ``s (X + t) img_res / 2``).
    """
    B = points_3d.shape[0]
    rotation = torch.eye(3, dtype=points_3d.dtype, device=points_3d.device).expand(B, 3, 3)
    return perspective_projection(points_3d, rotation, weak_perspective_translation(camera, focal_length, img_res),
                                  focal_length, points_3d.new_zeros(B, 2))


def camera_to_pixels(points_2d_centred: Tensor, img_res: int) -> Tensor:
    """Centre-origin projections to input-image pixels: ``x + (img_res - 1) / 2`` (MMPose's convention,
    under which ``2 x / (img_res - 1)`` and ``2 u / (img_res - 1) - 1`` are the same normalised point).

    Args:
        points_2d_centred (Tensor[..., 2]): output of ``project_points``.
        img_res (int): side of the square input in pixels.

    Returns:
        Tensor[..., 2]: (x, y) with the origin at the top-left pixel centre.
    """
    return points_2d_centred + (img_res - 1) / 2.0
