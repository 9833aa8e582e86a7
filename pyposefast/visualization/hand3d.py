"""3D hands (InterNet on InterHand2.6M) drawn as MMPose's ``Hand3DInferencer`` draws them.

:func:`hand3d_display_keypoints` turns an InterNet prediction (``TopdownPoseEstimator.predict`` with an
``InternetHead``: keypoints ``[N, 42, 3]`` with x, y in image pixels and z in mm relative to each hand's
wrist, scores, the left wrist's depth relative to the right one and the hand type) into what that
inferencer plots: the left hand's z shifted by the relative root depth, scores masked by the hand type
(and scaled to [0, 1] when they are heatmap maxima up to 255), the axes turned so that z is the height
(``[x, y, z] @ [[1, 0, 0], [0, 0, -1], [0, 1, 0]]``) and, unless ``rebase=False``, the lowest shown
keypoint moved to height 0. :func:`draw_hand3d` draws the image with the 2D keypoints beside the 3D
panel, with MMPose's view for this task (azimuth -115, elevation 15, axis limit 200).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from .pose import ArrayLike, _numpy
from .pose3d import draw_pose3d

__all__ = ["hand3d_display_keypoints", "draw_hand3d"]

#: keypoints per hand in InterHand2.6M's 42-keypoint layout (right hand first, then left)
HAND_KEYPOINTS = 21
#: rotation that makes z the height for the plot (MMPose's ``vis_R``)
VIS_R = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def hand3d_display_keypoints(keypoints: ArrayLike, keypoint_scores: ArrayLike, rel_root_depth: ArrayLike,
                             hand_type: ArrayLike, *, rebase: bool = True) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """InterNet predictions -> what MMPose's ``Hand3DInferencer`` plots.

    Args:
        keypoints (array [N, 42, 3]): x, y in image pixels, z in mm relative to the hand's wrist.
        keypoint_scores (array [N, 42]): heatmap maxima (scaled to [0, 1] when above 1).
        rel_root_depth (array [N]): the left wrist's depth relative to the right wrist (mm).
        hand_type (array [N, 2]): (right, left) presence, 0 or 1.
        rebase (bool): move the lowest shown keypoint to height 0 (MMPose's default; its
            ``disable_rebase_keypoint`` is ``not rebase``).

    Returns:
        tuple: keypoints_3d float64 [N, 42, 3] (height on z), scores float64 [N, 42] (0 for the
        absent hand), keypoints_2d float64 [N, 42, 2] (image pixels, for the image panel).

    Raises:
        ValueError: shapes that do not match ``[N, 42, 3]`` / ``[N, 42]`` / ``[N]`` / ``[N, 2]``.
    """
    kp = _numpy("keypoints", keypoints, np.float64).copy()
    if kp.ndim != 3 or kp.shape[1:] != (2 * HAND_KEYPOINTS, 3):
        raise ValueError(f"keypoints must be [N, {2 * HAND_KEYPOINTS}, 3], got shape {kp.shape}")
    n = kp.shape[0]
    scores = _numpy("keypoint_scores", keypoint_scores, np.float64).copy()
    root = _numpy("rel_root_depth", rel_root_depth, np.float64).reshape(-1)
    hand = _numpy("hand_type", hand_type, np.float64)
    if scores.shape != kp.shape[:2]:
        raise ValueError(f"keypoint_scores must be [N, 42] = {list(kp.shape[:2])}, got shape {scores.shape}")
    if root.shape != (n,):
        raise ValueError(f"rel_root_depth must have N = {n} values, got shape {root.shape}")
    if hand.shape != (n, 2):
        raise ValueError(f"hand_type must be [N, 2] = [{n}, 2], got shape {hand.shape}")
    kp[:, HAND_KEYPOINTS:, 2] += root[:, None]  # the left hand joins the right hand's depth frame
    scores[:, :HAND_KEYPOINTS] *= hand[:, [0]]
    scores[:, HAND_KEYPOINTS:] *= hand[:, [1]]
    if scores.size and scores.max() > 1:
        scores /= 255.0
    keypoints_2d = kp[..., :2].copy()
    kp = kp @ VIS_R
    if rebase:
        shown = scores > 0
        if shown.any():  # MMPose: one minimum over every shown keypoint of every instance
            kp[..., 2] -= kp[shown, 2].min()
    return kp, scores, keypoints_2d


def draw_hand3d(image: Optional[np.ndarray], keypoints: ArrayLike, keypoint_scores: ArrayLike,
                rel_root_depth: ArrayLike, hand_type: ArrayLike, meta: Optional[Dict[str, Any]] = None, *,
                kpt_thr: float = 0.3, rebase: bool = True, **draw_kwargs: Any) -> np.ndarray:
    """Draw InterNet predictions: the image with the 2D hands (when given) beside the 3D panel.

    Args:
        image (ndarray [H, W, 3] uint8 BGR, optional): the frame.
        keypoints, keypoint_scores, rel_root_depth, hand_type: as :func:`hand3d_display_keypoints`.
        meta (dict, optional): ``dataset_meta('interhand3d')`` (the default).
        kpt_thr (float): keypoints with a lower score are not drawn. Defaults to 0.3.
        rebase (bool): see :func:`hand3d_display_keypoints`.
        **draw_kwargs: more :func:`pyposefast.visualization.draw_pose3d` arguments (``panel_size``,
            ``num_instances``, ``axis_azimuth``, ...; MMPose's view by default).

    Returns:
        ndarray uint8 BGR: the drawing (see :func:`pyposefast.visualization.draw_pose3d`).
    """
    if meta is None:
        from ..datasets import dataset_meta

        meta = dataset_meta("interhand3d")
    kp3d, scores, kp2d = hand3d_display_keypoints(keypoints, keypoint_scores, rel_root_depth, hand_type,
                                                  rebase=rebase)
    options = dict(axis_azimuth=-115.0, axis_elev=15.0, axis_limit=200.0, num_instances=1)
    options.update(draw_kwargs)
    return draw_pose3d(kp3d, meta, scores=scores, kpt_thr=kpt_thr, image=image,
                       keypoints_2d=kp2d if image is not None else None,
                       scores_2d=scores if image is not None else None, **options)
