"""Inference: ``PoseInferencer`` (images, folders, videos; top-down with given, detected or
whole-image boxes, or bottom-up), MMPose-format prediction files and COCO results JSON."""

from .geometry import bottomup_geometry, bottomup_to_image, topdown_geometry
from .inferencer import PoseInferencer, dataset_for_model, default_device
from .results import coco_score, write_coco_results

__all__ = ["PoseInferencer", "write_coco_results", "coco_score", "topdown_geometry", "bottomup_geometry",
           "bottomup_to_image", "dataset_for_model", "default_device"]
