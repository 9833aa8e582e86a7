"""3D skeleton plots: PNGs written, the skeleton's link colours where the skeleton is (and nowhere
when every keypoint is below the threshold), the frame panel on the left, video frames of one size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pyposefast.datasets import dataset_meta
from pyposefast.visualization.pose3d import draw_pose3d, write_pose3d_frames
from tests.video_utils import read_video

META = dataset_meta("h36m")
SIZE = 160


def _standing(height: float = 1.6) -> np.ndarray:
    """A plausible H36M-17 skeleton (metres, z up), feet at z = 0."""
    h = height
    kp = np.zeros((17, 3), np.float32)
    kp[0] = (0, 0, 0.5 * h)
    kp[1], kp[2], kp[3] = (-0.12, 0, 0.5 * h), (-0.12, 0, 0.25 * h), (-0.12, 0, 0.0)
    kp[4], kp[5], kp[6] = (0.12, 0, 0.5 * h), (0.12, 0, 0.25 * h), (0.12, 0, 0.0)
    kp[7], kp[8], kp[9], kp[10] = (0, 0, 0.65 * h), (0, 0, 0.8 * h), (0, 0, 0.87 * h), (0, 0, 0.95 * h)
    kp[11], kp[12], kp[13] = (0.18, 0, 0.8 * h), (0.3, 0, 0.65 * h), (0.35, 0, 0.5 * h)
    kp[14], kp[15], kp[16] = (-0.18, 0, 0.8 * h), (-0.3, 0, 0.65 * h), (-0.35, 0, 0.5 * h)
    return kp


def _link_mask(img_bgr: np.ndarray, tol: int = 60) -> np.ndarray:
    """Pixels close to one of the H36M link colours (RGB in the metainfo)."""
    mask = np.zeros(img_bgr.shape[:2], bool)
    for rgb in np.unique(np.asarray(META["skeleton_link_colors"]), axis=0):
        bgr = np.asarray(rgb[::-1], np.int32)
        mask |= (np.abs(img_bgr.astype(np.int32) - bgr).max(-1) < tol)
    return mask


def test_png_has_the_skeleton_in_link_colours(tmp_path):
    tall, short = _standing(1.6), _standing(0.5)
    paths = write_pose3d_frames([tall[None], short[None]], str(tmp_path), META, panel_size=SIZE)
    assert [p.split("/")[-1] for p in paths] == ["000000.png", "000001.png"]
    img_tall, img_short = cv2.imread(paths[0]), cv2.imread(paths[1])
    assert img_tall.shape == img_short.shape == (SIZE, SIZE, 3)
    m_tall, m_short = _link_mask(img_tall), _link_mask(img_short)
    assert m_tall.sum() > 50 and m_short.sum() > 20
    # the drawing follows the skeleton: the tall one spans more rows than the short one
    rows_tall = np.flatnonzero(m_tall.any(1))
    rows_short = np.flatnonzero(m_short.any(1))
    assert np.ptp(rows_tall) > 1.8 * np.ptp(rows_short)
    # nothing in the link colours when every keypoint is below the threshold
    hidden = draw_pose3d(tall, META, scores=np.full(17, 0.1), kpt_thr=0.3, panel_size=SIZE)
    assert _link_mask(hidden).sum() == 0


def test_frame_panel_on_the_left_and_panels_per_person():
    frame = np.full((100, 200, 3), 30, np.uint8)
    kp2d = np.stack([np.linspace(20, 180, 17), np.linspace(10, 90, 17)], -1)[None]
    out = draw_pose3d(np.stack([_standing(), _standing(1.2)]), META, image=frame, keypoints_2d=kp2d,
                      panel_size=SIZE)
    frame_w = 2 * SIZE  # 200x100 resized to height SIZE
    assert out.shape == (SIZE, frame_w + 2 * SIZE, 3)
    left, right = out[:, :frame_w], out[:, frame_w:]
    assert _link_mask(left).sum() > 30  # the 2D skeleton in link colours over the dark frame
    assert _link_mask(right[:, :SIZE]).sum() > 30 and _link_mask(right[:, SIZE:]).sum() > 30
    # a fixed num_instances pads with empty axes (and drops extra people)
    padded = draw_pose3d(_standing(), META, num_instances=2, panel_size=SIZE)
    assert padded.shape == (SIZE, 2 * SIZE, 3)
    assert _link_mask(padded[:, :SIZE]).sum() > 30 and _link_mask(padded[:, SIZE:]).sum() == 0


def test_video_frames_share_one_size(tmp_path):
    frames = [_standing()[None], np.zeros((0, 17, 3), np.float32), np.stack([_standing(), _standing(1.0)])]
    video = tmp_path / "pose3d.avi"
    paths = write_pose3d_frames(frames, str(tmp_path / "png"), META, video_path=str(video), panel_size=96)
    shapes = {cv2.imread(p).shape for p in paths}
    assert shapes == {(96, 192, 3)}
    assert len(read_video(video)) == 3


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="keypoints"):
        draw_pose3d(np.zeros((17, 2)), META)
    with pytest.raises(ValueError, match="scores"):
        draw_pose3d(np.zeros((17, 3)), META, scores=np.ones(5))
    with pytest.raises(ValueError, match="image"):
        draw_pose3d(np.zeros((17, 3)), META, image=np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="frames"):
        write_pose3d_frames([np.zeros((1, 17, 3))], "/tmp/unused", META, scores=[None, None])
