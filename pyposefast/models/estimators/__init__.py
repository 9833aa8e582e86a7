"""Pose estimators: top-down, bottom-up and 2D-to-3D lifting."""

from .estimators import BottomupPoseEstimator, PoseLifter, TopdownPoseEstimator

__all__ = ["TopdownPoseEstimator", "BottomupPoseEstimator", "PoseLifter"]
