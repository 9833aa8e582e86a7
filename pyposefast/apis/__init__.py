"""Inference: ``PoseInferencer`` (images, folders, videos; top-down with given, detected or
whole-image boxes, or bottom-up), MMPose-format prediction files and COCO results JSON;
``PoseLifterInferencer`` (2D keypoints of a video -> 3D, tracked per person, 3D plots);
``Hand3DInferencer`` (InterNet 3D hands); ``MeshInferencer`` (HMR meshes)."""

from .geometry import bottomup_geometry, bottomup_to_image, topdown_geometry
from .inferencer import PoseInferencer, dataset_for_model, default_device
from .hand3d import Hand3DInferencer
from .mesh import MeshInferencer
from .lifting import PoseLifterInferencer, convert_keypoint_definition, lifting_windows, receptive_field, track_by_iou
from .results import coco_score, write_coco_results

__all__ = ["PoseInferencer", "write_coco_results", "coco_score", "topdown_geometry", "bottomup_geometry",
           "bottomup_to_image", "dataset_for_model", "default_device", "PoseLifterInferencer",
           "convert_keypoint_definition", "lifting_windows", "receptive_field", "track_by_iou", "Hand3DInferencer", "MeshInferencer"]
