"""Metric and NMS functions: MMPose 1.3.2 parity on random inputs, hand-built cases, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyposefast.evaluation import functional as F


def mm():
    return pytest.importorskip("mmpose.evaluation.functional")


def rand_case(seed, N=20, K=17, D=2):
    rng = np.random.default_rng(seed)
    gt = rng.uniform(0, 100, (N, K, D)).astype(np.float32)
    pred = (gt + rng.normal(0, 5, (N, K, D))).astype(np.float32)
    mask = rng.uniform(size=(N, K)) > 0.2
    mask[:, 3] = False  # a keypoint with no valid sample
    norm = rng.uniform(20, 80, (N, 2))
    norm[0] = 0  # masks instance 0 out
    norm[1, 0] = -1  # treated as 1e6
    return pred, gt, mask, norm


@pytest.mark.parity
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pck_auc_nme_epe_parity(seed):
    M = mm()
    pred, gt, mask, norm = rand_case(seed)
    for thr in (0.05, 0.2, np.float64(0.1)):
        a, b = F.keypoint_pck_accuracy(pred, gt, mask, thr, norm), M.keypoint_pck_accuracy(pred, gt, mask, thr, norm.copy())
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1] == b[1] and a[2] == b[2]
    assert F.keypoint_auc(pred, gt, mask, 30) == M.keypoint_auc(pred, gt, mask, 30)
    assert F.keypoint_auc(pred, gt, mask, 10, 7) == M.keypoint_auc(pred, gt, mask, 10, 7)
    assert F.keypoint_nme(pred, gt, mask, norm) == M.keypoint_nme(pred, gt, mask, norm.copy())
    assert F.keypoint_epe(pred, gt, mask) == M.keypoint_epe(pred, gt, mask)
    # tensors in, same numbers out
    assert F.keypoint_epe(torch.from_numpy(pred), torch.from_numpy(gt), torch.from_numpy(mask)) == F.keypoint_epe(
        pred, gt, mask)


@pytest.mark.parity
def test_pose_pck_accuracy_parity():
    M = mm()
    rng = np.random.default_rng(4)
    out, tgt = rng.uniform(-0.1, 1, (5, 17, 16, 12)), rng.uniform(-0.1, 1, (5, 17, 16, 12))
    out[0, 0] = -1  # max <= 0 -> location -1
    mask = rng.uniform(size=(5, 17)) > 0.3
    a, b = F.pose_pck_accuracy(out, tgt, mask, 0.2), M.pose_pck_accuracy(out, tgt, mask, 0.2)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:] == b[1:]
    assert F.pose_pck_accuracy(np.zeros((2, 0, 4, 4)), np.zeros((2, 0, 4, 4)), np.zeros((2, 0)))[0] is None


@pytest.mark.parity
@pytest.mark.parametrize("alignment", ["none", "procrustes", "scale"])
def test_mpjpe_parity(alignment):
    M = mm()
    rng = np.random.default_rng(5)
    gt = rng.normal(0, 300, (30, 17, 3))
    pred = gt @ np.linalg.qr(rng.normal(size=(3, 3)))[0] * 1.1 + rng.normal(0, 20, (30, 17, 3)) + 5
    mask = rng.uniform(size=(30, 17)) > 0.1
    np.testing.assert_allclose(F.keypoint_mpjpe(pred, gt, mask, alignment), M.keypoint_mpjpe(pred, gt, mask, alignment),
                               rtol=1e-10)


def test_mpjpe_hand_built():
    gt = np.random.default_rng(0).normal(size=(4, 10, 3))
    R = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0]
    R *= np.sign(np.linalg.det(R))
    pred = 2.5 * gt @ R.T + 7  # a similarity transform of gt
    mask = np.ones((4, 10), bool)
    assert F.keypoint_mpjpe(pred, gt, mask, "procrustes") < 1e-9
    assert F.keypoint_mpjpe(gt * 3, gt, mask, "scale") < 1e-12
    np.testing.assert_allclose(F.keypoint_mpjpe(gt + [3, 4, 0], gt, mask), 5.0)


@pytest.mark.parity
@pytest.mark.parametrize("vis_thr", [None, 0.3])
def test_oks_iou_and_nms_parity(vis_thr):
    M = mm()
    rng = np.random.default_rng(6)
    for K in (17, 5):
        sig = np.linspace(0.02, 0.1, K) if K != 17 else None
        base = rng.uniform(0, 200, (2, 1, 2))
        kpts_db = []
        for i in range(25):
            xy = base[i % 2] + rng.normal(0, 6, (K, 2))
            kp = np.concatenate([xy, rng.uniform(size=(K, 1))], 1).astype(np.float32)
            kpts_db.append({"keypoints": kp, "score": float(rng.uniform()), "area": float(rng.uniform(500, 3000))})
        d = np.stack([k["keypoints"].reshape(-1) for k in kpts_db])
        a = np.array([k["area"] for k in kpts_db])
        np.testing.assert_allclose(F.oks_iou(d[0], d[1:], a[0], a[1:], sig, vis_thr),
                                   __import__("mmpose.evaluation.functional.nms", fromlist=["x"]).oks_iou(d[0], d[1:], a[0], a[1:], sig, vis_thr), rtol=1e-6)
        for thr in (0.3, 0.6, 0.9):
            np.testing.assert_array_equal(F.oks_nms(kpts_db, thr, sig, vis_thr), M.oks_nms(kpts_db, thr, sig, vis_thr))
            np.testing.assert_array_equal(F.soft_oks_nms(kpts_db, thr, 10, sig, vis_thr),
                                          M.soft_oks_nms(kpts_db, thr, 10, sig, vis_thr))
    assert F.oks_nms([], 0.9) == [] and F.soft_oks_nms([], 0.9) == []


@pytest.mark.parity
def test_box_nms_parity():
    M = mm()
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 100, (40, 2))
    dets = np.concatenate([xy, xy + rng.uniform(10, 50, (40, 2)), rng.uniform(size=(40, 1))], 1)
    for thr in (0.3, 0.7):
        assert F.nms(dets, thr) == [int(i) for i in M.nms(dets, thr)]
    assert F.nms(np.zeros((0, 5)), 0.5) == []


def test_errors():
    pred, gt, mask, norm = rand_case(0)
    with pytest.raises(ValueError, match="gt must have the shape of pred"):
        F.keypoint_pck_accuracy(pred, gt[:, :5], mask, 0.1, norm)
    with pytest.raises(ValueError, match=r"mask must be \[N, K\]"):
        F.keypoint_epe(pred, gt, mask[:, :5])
    with pytest.raises(ValueError, match=r"norm_factor must be \[N, 2\]"):
        F.keypoint_pck_accuracy(pred, gt, mask, 0.1, norm[:3])
    with pytest.raises(ValueError, match="Invalid value for alignment"):
        F.keypoint_mpjpe(pred, gt, mask, "rigid")
    with pytest.raises(ValueError, match="mask selects no joint"):
        F.keypoint_mpjpe(pred, gt, np.zeros_like(mask))
    with pytest.raises(ValueError, match="needs 'keypoints', 'score' and 'area'"):
        F.oks_nms([{"keypoints": np.zeros((17, 3)), "score": 1.0}], 0.9)
    with pytest.raises(ValueError, match="sigmas must have one value per keypoint"):
        F.oks_nms([{"keypoints": np.zeros((5, 3)), "score": 1.0, "area": 1.0}], 0.9)


def test_hand_built_pck():
    gt = np.zeros((2, 3, 2), np.float32)
    pred = gt.copy()
    pred[0, 0] = [3, 4]  # distance 5 -> 0.5 of norm 10
    mask = np.array([[True, True, False], [True, True, False]])
    acc, avg, cnt = F.keypoint_pck_accuracy(pred, gt, mask, 0.4, np.full((2, 2), 10.0))
    np.testing.assert_array_equal(acc, [0.5, 1.0, -1])
    assert avg == 0.75 and cnt == 2
    assert F.keypoint_epe(pred, gt, mask) == pytest.approx(5 / 4)
