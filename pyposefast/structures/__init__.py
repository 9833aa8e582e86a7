"""Geometry of top-down pose estimation: box formats, warp matrices and keypoint maps.

MMPose 1.x's ``mmpose.structures.bbox`` / ``mmpose.structures.keypoint`` functions with the same
names, arguments and numbers, taking NumPy arrays (MMPose's shapes and dtypes) or batched
``torch.Tensor`` s (on any device, differentiable), plus the batched helpers a GPU pipeline needs
(:func:`compose_horizontal_flip`, :func:`invert_affine`, :func:`transform_keypoints`,
:func:`keypoints_to_image_affine`). Conventions: points (x, y) in pixels, sizes (w, h), rotations
in degrees.
"""

from .bbox import (
    bbox_cs2xywh,
    bbox_cs2xyxy,
    bbox_xywh2cs,
    bbox_xywh2xyxy,
    bbox_xyxy2cs,
    bbox_xyxy2xywh,
    compose_horizontal_flip,
    fix_aspect_ratio,
    flip_bbox,
    get_udp_warp_matrix,
    get_warp_matrix,
    invert_affine,
)
from .keypoint import flip_keypoints, keypoints_to_image, keypoints_to_image_affine, transform_keypoints

__all__ = [
    "bbox_cs2xywh",
    "bbox_cs2xyxy",
    "bbox_xywh2cs",
    "bbox_xywh2xyxy",
    "bbox_xyxy2cs",
    "bbox_xyxy2xywh",
    "compose_horizontal_flip",
    "fix_aspect_ratio",
    "flip_bbox",
    "get_udp_warp_matrix",
    "get_warp_matrix",
    "invert_affine",
    "flip_keypoints",
    "keypoints_to_image",
    "keypoints_to_image_affine",
    "transform_keypoints",
]
