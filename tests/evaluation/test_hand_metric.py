"""InterHandMetric: MMPose parity on random samples, hand-computed values, argument errors."""

from __future__ import annotations

import numpy as np
import pytest

from pyposefast.evaluation.metrics.hand_metric import InterHandMetric, interhand_data_samples, pixel_to_camera

TYPES = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)


def random_samples(n: int, seed: int) -> list[dict]:
    """Samples shaped as MMPose's InterHand pipeline gives them: ground truth in camera mm, predictions
    as (pixels, wrist-relative depth) near the ground truth."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        gt = np.concatenate([rng.normal(scale=40, size=(1, 42, 2)), rng.uniform(500, 700, (1, 42, 1))], -1)
        gt = gt.astype(np.float32)
        focal = rng.uniform(600, 800, 2).astype(np.float32)
        princpt = rng.uniform(100, 150, 2).astype(np.float32)
        uv = gt[..., :2] / gt[..., 2:] * focal + princpt
        rel = np.concatenate([gt[..., :21, 2] - gt[..., 20:21, 2], gt[..., 21:, 2] - gt[..., 41:42, 2]], -1)
        pred = np.concatenate([uv + rng.normal(scale=2, size=uv.shape), (rel + rng.normal(scale=5, size=rel.shape))[
            ..., None]], -1).astype(np.float32)
        visible = (rng.uniform(size=(1, 42)) > 0.15).astype(np.float32)
        if i % 5 == 0:
            visible[0, 41] = 0
        samples.append({
            "pred_instances": {"keypoints": pred, "hand_type": rng.integers(0, 2, (1, 2)),
                               "rel_root_depth": (gt[0, 41, 2] - gt[0, 20, 2] + rng.normal(scale=10, size=1)).astype(
                                   np.float32)},
            "gt_instances": {"keypoints_cam": gt, "keypoints_visible": visible},
            "hand_type": TYPES[i % 3][None], "hand_type_valid": np.array([float(i % 4 != 1)]),
            "abs_depth": [gt[0, 20, 2], gt[0, 41, 2]], "focal": focal, "principal_pt": princpt,
        })
    return samples


@pytest.mark.parity
def test_matches_mmpose():
    pytest.importorskip("mmpose")
    pytest.importorskip("mmengine")
    from mmpose.evaluation.metrics import InterHandMetric as Ref

    for seed in range(3):
        samples = random_samples(23, seed)
        ref, ours = Ref(), InterHandMetric()
        for chunk in (samples[:10], samples[10:]):
            ref.process(None, chunk)
            ours.process(None, chunk)
        expected = ref.compute_metrics(ref.results)
        got = ours.evaluate()
        assert set(got) == {"MPJPE_all", "MPJPE_single", "MPJPE_interacting", "HandednessAcc", "MRRPE"}
        for k, v in expected.items():
            assert got[k] == pytest.approx(float(v), rel=1e-6, abs=1e-9), k
        assert 0 < got["MPJPE_all"] < 100 and 0 < got["MRRPE"] < 100


def test_perfect_predictions_and_hand_types():
    samples = random_samples(6, 7)
    for s in samples:  # exact pixels and depths, exact root depth, exact hand type
        gt = s["gt_instances"]["keypoints_cam"].astype(np.float64)
        uv = gt[..., :2] / gt[..., 2:] * s["focal"] + s["principal_pt"]
        rel = np.concatenate([gt[..., :21, 2] - gt[..., 20:21, 2], gt[..., 21:, 2] - gt[..., 41:42, 2]], -1)
        s["pred_instances"]["keypoints"] = np.concatenate([uv, rel[..., None]], -1).astype(np.float32)
        s["pred_instances"]["rel_root_depth"] = np.array([gt[0, 41, 2] - gt[0, 20, 2]], np.float32)
        s["pred_instances"]["hand_type"] = s["hand_type"].astype(int)
    s = samples[1]
    s["pred_instances"]["hand_type"] = 1 - s["pred_instances"]["hand_type"]  # hand_type_valid is 0 here
    samples[2]["pred_instances"]["hand_type"] = 1 - samples[2]["pred_instances"]["hand_type"]
    m = InterHandMetric(prefix="val")
    m.process(None, samples)
    got = m.evaluate()
    assert got["val/MPJPE_all"] < 1e-3 and got["val/MRRPE"] < 1e-3
    # valid hand types: samples 0, 2, 3, 4 (1 and 5 have hand_type_valid 0); sample 2 is wrong
    assert got["val/HandednessAcc"] == pytest.approx(3 / 4)


def test_helpers_and_errors():
    kp = np.array([[[110.0, 90.0, 500.0]]], dtype=np.float32)
    np.testing.assert_allclose(pixel_to_camera(kp, 500, 250, 100, 100), [[[10.0, -20.0, 500.0]]])
    with pytest.raises(ValueError, match="`mode` should be"):
        InterHandMetric(modes=["PCK"])
    m = InterHandMetric()
    with pytest.raises(ValueError, match="no samples were processed"):
        m.evaluate()
    sample = random_samples(1, 0)[0]
    del sample["focal"]
    with pytest.raises(ValueError, match="`focal` is required"):
        m.process(None, [sample])
    sample = random_samples(1, 0)[0]
    sample["pred_instances"]["rel_root_depth"] = None
    with pytest.raises(KeyError, match="MRRPE is not supported"):
        m.process(None, [sample])
    records = [{k: s[k] for k in ("hand_type", "hand_type_valid", "abs_depth", "focal", "principal_pt")}
               | dict(s["gt_instances"]) for s in random_samples(2, 1)]
    out = interhand_data_samples(records, np.zeros((2, 42, 3)), np.zeros(2), np.zeros((2, 2)))
    assert len(out) == 2 and out[1]["pred_instances"]["keypoints"].shape == (1, 42, 3)
    with pytest.raises(ValueError, match="one batch size"):
        interhand_data_samples(records, np.zeros((3, 42, 3)), np.zeros(2), np.zeros((2, 2)))
