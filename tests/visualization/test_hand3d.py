"""3D hands as MMPose's Hand3DInferencer plots them: the left hand's depth, the hand-type mask, the
height axis, the rebase; the drawing has the hand's link colours in the 3D panel, beside the image."""

import numpy as np
import pytest

from pyposefast.datasets import dataset_meta
from pyposefast.visualization import draw_hand3d, hand3d_display_keypoints

META = dataset_meta("interhand3d")


def _hands(n=1, seed=0):
    """Two hands side by side: x, y in pixels (a fan of fingers), z in mm relative to each wrist."""
    rng = np.random.default_rng(seed)
    kp = np.zeros((n, 42, 3))
    for h, x0 in ((0, 60.0), (1, 140.0)):
        for f in range(5):  # InterHand order per hand: 4 joints per finger tip-first, then the wrist
            for j in range(4):
                kp[:, h * 21 + f * 4 + j] = (x0 - 20 + 10 * f, 40 + 12 * j, 30 - 8 * j)
        kp[:, h * 21 + 20] = (x0, 100, 0)
    return kp + rng.normal(0, 1, kp.shape), rng.uniform(0.5, 1.0, (n, 42))


def test_display_keypoints_follow_mmpose_steps():
    kp, scores = _hands(2)
    root = np.array([25.0, -10.0])
    hand = np.array([[1, 1], [1, 0]])
    kp3d, s, kp2d = hand3d_display_keypoints(kp, scores * 255, root, hand, rebase=False)
    np.testing.assert_allclose(kp2d, kp[..., :2])
    # scores: masked by hand type, scaled to [0, 1] (they were above 1)
    np.testing.assert_allclose(s[0], scores[0])
    np.testing.assert_allclose(s[1, :21], scores[1, :21])
    assert (s[1, 21:] == 0).all()
    # the left hand's depth shifted by the relative root depth; then [x, y, z] -> [x, z, -y]
    z = kp[..., 2].copy()
    z[:, 21:] += root[:, None]
    np.testing.assert_allclose(kp3d[..., 0], kp[..., 0])
    np.testing.assert_allclose(kp3d[..., 1], z)
    np.testing.assert_allclose(kp3d[..., 2], -kp[..., 1])
    # rebase: the lowest shown keypoint (over every instance) at height 0; hidden ones not counted
    based, s2, _ = hand3d_display_keypoints(kp, scores * 255, root, hand)
    shown = s2 > 0
    assert based[shown, 2].min() == pytest.approx(0.0)
    np.testing.assert_allclose(based[..., 2] - kp3d[..., 2], -kp3d[shown, 2].min())
    # scores already in [0, 1] are kept
    _, s3, _ = hand3d_display_keypoints(kp, scores, root, hand)
    np.testing.assert_allclose(s3[0], scores[0])


def test_bad_shapes_raise():
    kp, scores = _hands(1)
    with pytest.raises(ValueError, match="keypoints"):
        hand3d_display_keypoints(kp[:, :21], scores, [0.0], [[1, 1]])
    with pytest.raises(ValueError, match="keypoint_scores"):
        hand3d_display_keypoints(kp, scores[:, :3], [0.0], [[1, 1]])
    with pytest.raises(ValueError, match="rel_root_depth"):
        hand3d_display_keypoints(kp, scores, [0.0, 1.0], [[1, 1]])
    with pytest.raises(ValueError, match="hand_type"):
        hand3d_display_keypoints(kp, scores, [0.0], [1, 1])


def test_drawing_has_the_hands_in_link_colours():
    kp, scores = _hands(1)
    image = np.full((160, 200, 3), 40, np.uint8)
    out = draw_hand3d(image, kp, scores, [15.0], [[1, 1]], panel_size=200)
    assert out.shape == (200, 250 + 200, 3)  # the 200x160 image scaled to the panel's height, then the panel
    panel = out[:, 250:].astype(np.int32)
    near = np.zeros(panel.shape[:2], bool)
    for rgb in np.unique(np.asarray(META["skeleton_link_colors"]), axis=0):
        near |= np.abs(panel - np.asarray(rgb[::-1], np.int32)).max(-1) < 40
    assert near.sum() > 30  # the 3D hands are drawn
    # nothing is drawn when every score is below the threshold
    empty = draw_hand3d(None, kp, scores * 0.1, [15.0], [[1, 1]], panel_size=200)
    p2 = empty.astype(np.int32)
    near2 = np.zeros(p2.shape[:2], bool)
    for rgb in np.unique(np.asarray(META["skeleton_link_colors"]), axis=0):
        near2 |= np.abs(p2 - np.asarray(rgb[::-1], np.int32)).max(-1) < 40
    assert near2.sum() < near.sum() / 5
