"""evaluate(): predictions in image pixels reach the metric in record order (oracle model: AP 1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pyposefast.engine import TopdownValData, evaluate, predict_topdown
from pyposefast.evaluation import CocoMetric

from .tiny import INPUT_SIZE, tiny_model


class Oracle(nn.Module):
    """Answers each crop with the ground-truth keypoints of the record whose box centre it has
    (shifted by ``offset`` pixels): a model with known AP."""

    def __init__(self, records, offset: float = 0.0) -> None:
        super().__init__()
        boxes = torch.from_numpy(np.concatenate([r["bbox"] for r in records])).double()
        self.register_buffer("centers", (boxes[:, :2] + boxes[:, 2:]) / 2)
        kp = torch.from_numpy(np.concatenate([r["keypoints"] for r in records]))
        self.register_buffer("keypoints", kp + offset)
        self.dummy = nn.Parameter(torch.zeros(1))

    def predict(self, x, center, scale):
        assert x.shape[1:] == (3, INPUT_SIZE[1], INPUT_SIZE[0]) and not self.training
        nearest = torch.cdist(center.double(), self.centers).argmin(1)
        kp = self.keypoints[nearest]
        return kp, torch.ones(kp.shape[:2])


def test_oracle_scores_ap_one_and_shifted_oracle_less(synthetic):
    val = TopdownValData(synthetic["val"], "coco", INPUT_SIZE, 5, num_workers=0, device="cpu")
    exact = evaluate(Oracle(val.records), val, CocoMetric(ann_file=synthetic["val_ann"]))
    assert exact["coco/AP"] == pytest.approx(1.0) and exact["coco/AR"] == pytest.approx(1.0)
    shifted = evaluate(Oracle(val.records, offset=6.0), val, CocoMetric(ann_file=synthetic["val_ann"]))
    assert shifted["coco/AP"] < 0.9
    # ground truth from the records' raw annotations instead of the file: the same number
    from_records = evaluate(Oracle(val.records), val, CocoMetric())
    assert from_records["coco/AP"] == pytest.approx(1.0)


def test_predict_topdown_on_a_real_model(synthetic):
    model = tiny_model().train()
    val = TopdownValData(synthetic["val"], "coco", INPUT_SIZE, 8, num_workers=0, device="cpu")
    pred = predict_topdown(model, val)
    n = len(val.records)
    assert pred["index"].tolist() == list(range(n))
    assert pred["keypoints"].shape == (n, 17, 2) and pred["keypoint_scores"].shape == (n, 17)
    assert model.training  # restored
    # keypoints land in the crops' image regions (up to one heatmap pixel outside: MMPose's -1 for
    # empty maps): decoded to image pixels, not crop pixels
    boxes = np.concatenate([r["bbox"] for r in val.records])
    c, s = (boxes[:, :2] + boxes[:, 2:]) / 2, pred["bbox_scale"]
    assert np.all(np.abs(pred["keypoints"] - c[:, None]) <= s[:, None] * (0.5 + 1 / 12) + 1e-3)
    assert np.abs(pred["keypoints"] - c[:, None]).max() > 5  # not all at the centre
    metrics = evaluate(model, val, CocoMetric(ann_file=synthetic["val_ann"]))
    assert set(metrics) >= {"coco/AP", "coco/AR"} and 0.0 <= metrics["coco/AP"] <= 1.0
    with pytest.raises(TypeError, match="metric"):
        evaluate(model, val, None)


def test_detection_boxes(synthetic, tmp_path):
    """Detections (here: the ground-truth boxes, scored, plus a stray low-scoring box) as the crops."""
    import json

    records = synthetic["val"].records
    dets = [{"image_id": r["img_id"], "category_id": 1, "score": 0.95,
             "bbox": [float(v) for v in np.r_[r["bbox"][0, :2], r["bbox"][0, 2:] - r["bbox"][0, :2]]]}
            for r in records]
    dets.append({"image_id": records[0]["img_id"], "category_id": 1, "score": 0.5, "bbox": [0.0, 0.0, 30.0, 40.0]})
    path = tmp_path / "dets.json"
    path.write_text(json.dumps(dets))
    val = TopdownValData(synthetic["val"], "coco", INPUT_SIZE, 8, ann_file=synthetic["val_ann"], bbox_file=str(path),
                         num_workers=0, device="cpu")
    assert len(val.records) == len(records) + 1
    metrics = evaluate(Oracle(records), val, CocoMetric(ann_file=synthetic["val_ann"]))
    # the stray box's prediction copies its nearest person's keypoints: OKS-NMS (or its lower score
    # as a false positive ranked last) keeps AP at 1
    assert metrics["coco/AP"] == pytest.approx(1.0)
