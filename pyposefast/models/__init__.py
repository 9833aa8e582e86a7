"""Models: backbones, necks, heads, estimators; named entry points (``list_models``,
``build_model``) and MMPose checkpoint loading (``load_checkpoint``)."""

from .checkpoint import load_checkpoint
from .estimators import BottomupPoseEstimator, PoseLifter, TopdownPoseEstimator
from .zoo import MODELS, build_model, list_models, model_complexity

__all__ = ["TopdownPoseEstimator", "BottomupPoseEstimator", "PoseLifter", "MODELS", "list_models", "build_model",
           "model_complexity", "load_checkpoint"]
