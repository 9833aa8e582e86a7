"""Pose estimators: top-down, bottom-up, 2D-to-3D lifting and multi-task (one backbone, several heads)."""

from .estimators import BottomupPoseEstimator, PoseLifter, TopdownPoseEstimator
from .multitask import MultiTaskPoseEstimator

__all__ = ["TopdownPoseEstimator", "BottomupPoseEstimator", "PoseLifter", "MultiTaskPoseEstimator"]
