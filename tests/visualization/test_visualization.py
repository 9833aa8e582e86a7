"""Visualisation: skeleton pixels in the dataset's colours where the keypoints are, nothing below the
threshold, heatmap overlay, batch grid, training curves and the video writer."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from pyposefast.datasets import dataset_meta
from pyposefast.visualization import (VideoWriter, curve_series, draw_batch_grid, draw_pose, overlay_heatmaps,
                                      plot_curves)
from tests.video_utils import read_video

META = dataset_meta("coco")
BACKGROUND = (40, 40, 40)


def _bgr(rgb):
    return tuple(int(c) for c in np.asarray(rgb)[::-1])


def _canvas(w=200, h=160):
    img = np.empty((h, w, 3), np.uint8)
    img[:] = BACKGROUND
    return img


def _pose():
    """One person: keypoints spread on a grid well apart (at least 20 px), 17 COCO keypoints."""
    xs = 20 + 40 * (np.arange(17) % 5)
    ys = 20 + 30 * (np.arange(17) // 5)
    return np.stack([xs, ys], -1).astype(np.float32)


def test_keypoints_in_dataset_colours_and_thresholded():
    kp = _pose()
    scores = np.full(17, 0.9, np.float32)
    scores[[10, 15]] = 0.2  # below kpt_thr
    scores[4] = 0.3  # at kpt_thr: not drawn (strictly above is drawn)
    img = _canvas()
    out = draw_pose(img, kp[None], scores[None], META, kpt_thr=0.3, radius=3, thickness=1)
    assert out.shape == img.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(img, _canvas())  # drawn on a copy
    for k in range(17):
        x, y = (int(v) for v in kp[k])
        if scores[k] > 0.3:
            assert tuple(int(c) for c in out[y, x]) == _bgr(META["keypoint_colors"][k]), k
        else:  # no remaining link passes these three positions: untouched
            assert (out[y - 4:y + 5, x - 4:x + 5] == BACKGROUND).all(), k
    # with a threshold above every score nothing at all is drawn
    np.testing.assert_array_equal(draw_pose(img, kp, scores, META, kpt_thr=0.95), img)


def test_links_drawn_only_between_shown_keypoints():
    img = _canvas(300, 100)
    # keypoints 15 (left ankle) and 13 (left knee) make link 0; 16 and 14 link 2
    kp = np.full((17, 2), -100.0, np.float32)  # outside the image: never drawn
    kp[15], kp[13] = (30, 50), (130, 50)
    kp[16], kp[14] = (170, 50), (270, 50)
    scores = np.ones(17, np.float32)
    scores[14] = 0.1  # link 16-14 must not be drawn
    out = draw_pose(img, kp, scores, META, kpt_thr=0.3, radius=2, thickness=3)
    link_color = _bgr(META["skeleton_link_colors"][META["skeleton_links"].index((15, 13))])
    assert tuple(int(c) for c in out[50, 80]) == link_color  # the middle of the 15-13 link
    assert tuple(int(c) for c in out[50, 220]) == BACKGROUND  # no 16-14 link
    assert tuple(int(c) for c in out[50, 170]) == _bgr(META["keypoint_colors"][16])  # but keypoint 16 is drawn
    assert tuple(int(c) for c in out[50, 270]) == BACKGROUND  # and 14 is not
    # everything outside the drawn parts is untouched
    changed = np.any(out != img, axis=-1)
    assert changed[:, :160].any() and not changed[:, 200:262].any()


def test_boxes_and_multiple_instances():
    img = _canvas()
    kp = np.stack([_pose(), _pose() + 5])
    out = draw_pose(img, torch.from_numpy(kp), torch.ones(2, 17), META, bboxes=np.array([[10, 10, 100, 90]]),
                    thickness=1)
    assert tuple(int(c) for c in out[10, 50]) == (0, 255, 0)  # box top edge, green
    assert tuple(int(c) for c in out[25, 25]) == _bgr(META["keypoint_colors"][0])  # second person's nose
    with pytest.raises(ValueError, match="scores"):
        draw_pose(img, kp, np.ones((2, 16)), META)
    with pytest.raises(ValueError, match="uint8"):
        draw_pose(img.astype(np.float32), kp, None, META)
    with pytest.raises(ValueError, match="keypoints"):
        draw_pose(img, np.zeros((2, 17)), None, META)


def test_without_meta_draws_red_points_only():
    out = draw_pose(_canvas(), _pose(), None, None, radius=2)
    assert tuple(int(c) for c in out[20, 20]) == (0, 0, 255)
    assert tuple(int(c) for c in out[20, 40]) == BACKGROUND  # no links


def test_overlay_heatmaps_peak_is_hot():
    img = _canvas(80, 60)
    hm = np.zeros((3, 15, 20), np.float32)
    hm[1, 3, 15] = 1.0  # peak at heatmap (15, 3): image (61.5, 13.5) after a 4x resize
    hm[0] = -1.0  # negative values count as 0
    out = overlay_heatmaps(img, torch.from_numpy(hm))
    assert out.shape == img.shape
    b, g, r = (int(c) for c in out[13, 61])
    assert abs(r - (40 + 128) / 2) <= 2 and abs(b - 40 / 2) <= 2  # JET's top (dark red, BGR (0, 0, 128)) half blended
    b, g, r = (int(c) for c in out[50, 5])
    assert b > r  # JET: blue far away
    np.testing.assert_array_equal(overlay_heatmaps(img, np.zeros((15, 20)), alpha=0.0), img)
    with pytest.raises(ValueError, match="heatmaps"):
        overlay_heatmaps(img, np.zeros((2, 2, 2, 2)))


def test_batch_grid_unnormalises_crops():
    rng = np.random.default_rng(0)
    crops_bgr = rng.integers(0, 256, size=(5, 32, 24, 3), dtype=np.uint8)
    mean, std = np.array([123.675, 116.28, 103.53]), np.array([58.395, 57.12, 57.375])
    rgb = crops_bgr[..., ::-1].astype(np.float32)
    normalised = torch.from_numpy(((rgb - mean) / std).transpose(0, 3, 1, 2).astype(np.float32))
    kp = np.full((5, 17, 2), 12.0, np.float32)
    vis = np.zeros((5, 17), np.float32)
    vis[2, 0] = 1.0  # one keypoint on crop 2
    grid = draw_batch_grid(normalised, kp, vis, META, cols=3, gap=2)
    assert grid.shape == (2 * 32 + 2, 3 * 24 + 4, 3)
    tile = lambda b: grid[(b // 3) * 34:(b // 3) * 34 + 32, (b % 3) * 26:(b % 3) * 26 + 24]  # noqa: E731
    for b in (0, 1, 3, 4):
        assert np.abs(tile(b).astype(int) - crops_bgr[b]).max() <= 1
    assert tuple(int(c) for c in tile(2)[12, 12]) == _bgr(META["keypoint_colors"][0])
    assert (grid[32:34] == 0).all()  # the gap row
    assert (grid[34:, 2 * 26:] == 0).all()  # the sixth cell of the grid is empty
    with pytest.raises(ValueError, match="keypoints"):
        draw_batch_grid(normalised, kp[:2], vis, META)


def test_plot_curves_png(tmp_path):
    history = [{"epoch": i // 5 + 1, "iteration": i, "loss": 1.0 / (i + 1), "lr": 1e-3} for i in range(20)]
    history += [{"epoch": e, "coco/AP": 0.1 * e} for e in (1, 2, 3, 4)]
    series = curve_series(history)
    assert list(series) == ["loss", "lr", "coco/AP"]
    assert series["coco/AP"][0] == "epoch" and series["loss"][0] == "iteration"
    np.testing.assert_allclose(series["coco/AP"][2], [0.1, 0.2, 0.3, 0.4])
    path = tmp_path / "sub" / "curves.png"
    assert plot_curves(history, str(path), panel_size=(300, 200)) == str(path)
    img = cv2.imread(str(path))
    assert img.shape == (400, 600, 3)
    # the loss curve's blue line is in the first panel; the empty fourth panel is white
    assert (np.abs(img[:200, :300].astype(int) - (200, 90, 20)).sum(-1) < 60).sum() > 100
    assert (img[200:, 300:] == 255).all()
    with pytest.raises(ValueError, match="no numeric"):
        plot_curves([{"epoch": 1, "note": "x"}], str(tmp_path / "x.png"))
    with pytest.raises(TypeError, match="history"):
        plot_curves("loss", str(tmp_path / "x.png"))


def test_video_writer(tmp_path):
    path = tmp_path / "v.avi"
    with VideoWriter(str(path), fps=5) as writer:
        for i in range(3):
            writer.write(np.full((32, 48, 3), 60 * i, np.uint8))
        with pytest.raises(ValueError, match="differs"):
            writer.write(np.zeros((16, 16, 3), np.uint8))
    frames = read_video(path)
    assert len(frames) == 3 and frames[0].shape == (32, 48, 3)
    assert abs(int(frames[2].mean()) - 120) <= 3
