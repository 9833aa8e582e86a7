"""evaluate() feeds the ground truth PCK / PCKh / AUC / EPE / NME need (MMPose's PackPoseInputs
fields): an oracle model (ground truth + a known shift) scores the expected values, per instance
(box sizes, head sizes), and the MPII / WFLW configs validate through the config builders."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from pyposefast.config import build_metric, build_records, build_val_data, load_config, resolve_config
from pyposefast.datasets import dataset_meta
from pyposefast.engine import evaluate
from pyposefast.evaluation import AUC, EPE, NME, CocoMetric, JhmdbPCKAccuracy, MpiiPCKAccuracy, PCKAccuracy

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "configs")


class Oracle(nn.Module):
    """Answers each crop with the ground-truth keypoints [B, K, 2] of the record whose box centre
    it has, shifted by ``shift`` (x, y) pixels (per record and keypoint when ``shift`` is [N, K, 2])."""

    def __init__(self, records, shift=(0.0, 0.0)) -> None:
        super().__init__()
        boxes = torch.from_numpy(np.concatenate([np.asarray(r["bbox"], np.float64).reshape(1, 4) for r in records]))
        self.register_buffer("centers", (boxes[:, :2] + boxes[:, 2:]) / 2)
        kp = torch.from_numpy(np.concatenate([r["keypoints"] for r in records]).astype(np.float64))
        shift = np.asarray(shift, np.float64)
        shift = torch.as_tensor(shift if shift.ndim == 3 else shift.reshape(-1, 1, 2))
        self.register_buffer("keypoints", (kp + shift).float())
        self.dummy = nn.Parameter(torch.zeros(1))

    def predict(self, x, center, scale):
        nearest = torch.cdist(center.double(), self.centers).argmin(1)
        kp = self.keypoints[nearest]
        return kp, torch.ones(kp.shape[:2])


class FakeValData:
    """``TopdownValData`` without images: batches of (empty) crops, box centres and scales of
    ``records`` in reverse order (evaluate must put them back in record order)."""

    def __init__(self, records, meta, batch_size=3, ground_truth=True) -> None:
        self.records, self.meta, self.ground_truth = records, dataset_meta(meta), ground_truth
        self.batch_size = batch_size

    def __iter__(self):
        order = list(range(len(self.records)))[::-1]
        for s in range(0, len(order), self.batch_size):
            idx = order[s:s + self.batch_size]
            boxes = torch.from_numpy(np.concatenate([self.records[i]["bbox"] for i in idx]))
            yield {"inputs": torch.zeros(len(idx), 3, 8, 8), "bbox_center": (boxes[:, :2] + boxes[:, 2:]) / 2,
                   "bbox_scale": (boxes[:, 2:] - boxes[:, :2]) * 1.25, "index": torch.tensor(idx)}


def make_records(n=6, k=16, widths=(100.0, 200.0), head_sizes=(20.0, 40.0), hidden=True, seed=0):
    """``n`` records, instance i: box width ``widths[i % 2]`` (height half of it), head size
    ``head_sizes[i % 2]``, ``k`` keypoints inside the box, keypoint i % k hidden when ``hidden``."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        w = widths[i % 2]
        x0, y0 = 300.0 * i, 50.0
        kp = np.stack([x0 + rng.uniform(0, w, k), y0 + rng.uniform(0, w / 2, k)], axis=1)
        vis = np.ones(k, np.float32)
        if hidden:
            vis[i % k] = 0
        records.append({"id": i, "img_id": i, "img_path": f"{i}.jpg",
                        "bbox": np.array([[x0, y0, x0 + w, y0 + w / 2]], np.float32),
                        "keypoints": kp.reshape(1, k, 2).astype(np.float32),
                        "keypoints_visible": vis.reshape(1, k),
                        "head_size": np.array([[head_sizes[i % 2]]])})
    return records


def test_pck_uses_each_instances_box_size():
    recs = make_records()
    val = FakeValData(recs, "mpii")
    assert evaluate(Oracle(recs), val, PCKAccuracy(thr=0.05))["PCK"] == pytest.approx(1.0)
    # 7 px off: within 0.05 x 200 = 10 px, not within 0.05 x 100 = 5 px -> half the instances
    assert evaluate(Oracle(recs, (7.0, 0.0)), val, PCKAccuracy(thr=0.05))["PCK"] == pytest.approx(0.5)
    assert evaluate(Oracle(recs, (0.0, 11.0)), val, PCKAccuracy(thr=0.05))["PCK"] == pytest.approx(0.0)
    # PCKh through PCKAccuracy: head sizes 20 / 40 at 0.3 -> 6 / 12 px (boxes: 30 / 60 px)
    res = evaluate(Oracle(recs, (7.0, 0.0)), val, PCKAccuracy(thr=0.3, norm_item=["bbox", "head"]))
    assert res["PCKh"] == pytest.approx(0.5) and res["PCK"] == pytest.approx(1.0)


def test_mpii_pckh_uses_each_instances_head_size():
    recs = make_records(hidden=False)
    val = FakeValData(recs, "mpii")
    # MpiiPCKAccuracy adds 1 px to the predictions (MMPose): a shift of -1 is exact
    exact = evaluate(Oracle(recs, (-1.0, 0.0)), val, MpiiPCKAccuracy())
    assert exact["PCK"] == pytest.approx(100.0) and exact["PCK@0.1"] == pytest.approx(100.0)
    # 13 px off: within 0.5 x 40 = 20 px, not within 0.5 x 20 = 10 px -> 50 in every joint group
    half = evaluate(Oracle(recs, (12.0, 0.0)), val, MpiiPCKAccuracy())
    for key in ("PCK", "Head PCK", "Shoulder PCK", "Ankle PCK"):
        assert half[key] == pytest.approx(50.0), key
    assert half["PCK@0.1"] == pytest.approx(0.0)


def test_auc_and_epe_of_a_known_shift():
    recs = make_records()
    val = FakeValData(recs, "mpii")
    # thresholds 0, 0.05 ... 0.95: an exact prediction is within all but the first (distance < thr)
    assert evaluate(Oracle(recs), val, AUC())["AUC"] == pytest.approx(0.95)
    assert evaluate(Oracle(recs), val, EPE())["EPE"] == pytest.approx(0.0, abs=1e-5)
    # 7 px / 30 = 0.233: correct at thresholds 0.25 ... 0.95 -> 15 of 20
    assert evaluate(Oracle(recs, (7.0, 0.0)), val, AUC(norm_factor=30, num_thrs=20))["AUC"] == pytest.approx(0.75)
    assert evaluate(Oracle(recs, (3.0, 4.0)), val, EPE())["EPE"] == pytest.approx(5.0, abs=1e-4)
    # a shift on one record's hidden keypoint only does not count
    shift = np.zeros((len(recs), 16, 2))
    shift[2, 2] = (40.0, 0.0)  # record 2 hides keypoint 2
    assert evaluate(Oracle(recs, shift), val, EPE())["EPE"] == pytest.approx(0.0, abs=1e-5)
    shift[2, 3] = (40.0, 0.0)  # visible: 40 px over 16 * 6 - 6 visible keypoints
    assert evaluate(Oracle(recs, shift), val, EPE())["EPE"] == pytest.approx(40.0 / 90, abs=1e-4)


def test_nme_by_box_size_and_by_keypoint_distance():
    recs = make_records()
    val = FakeValData(recs, "mpii")
    res = evaluate(Oracle(recs, (6.0, 8.0)), val, NME(norm_mode="use_norm_item", norm_item="bbox_size"))
    visible = np.concatenate([r["keypoints_visible"] for r in recs]).sum(1)  # [N]
    expected = np.sum(visible * 10.0 / np.array([100.0, 200.0] * 3)) / visible.sum()
    assert res["NME"] == pytest.approx(expected, rel=1e-4)
    res = evaluate(Oracle(recs, (6.0, 8.0)), val, NME(norm_mode="keypoint_distance", keypoint_indices=[0, 1]))
    eye = np.array([np.linalg.norm(r["keypoints"][0, 0] - r["keypoints"][0, 1]) for r in recs])
    assert res["NME"] == pytest.approx(np.sum(visible * 10.0 / eye) / visible.sum(), rel=1e-4)
    # a record-supplied normaliser (AFLW's box_size) reaches gt_instances
    for r, size in zip(recs, (50.0, 100.0) * 3):
        r["box_size"] = np.array([size])
    res = evaluate(Oracle(recs, (6.0, 8.0)), val, NME(norm_mode="use_norm_item", norm_item="box_size"))
    assert res["NME"] == pytest.approx(np.sum(visible * 10.0 / np.array([50.0, 100.0] * 3)) / visible.sum(),
                                       rel=1e-4)


def test_jhmdb_pck_by_box():
    recs = make_records(k=15, hidden=False)
    val = FakeValData(recs, "jhmdb")
    res = evaluate(Oracle(recs, (7.0, 0.0)), val, JhmdbPCKAccuracy(thr=0.05))
    assert res["PCK"] == pytest.approx(0.5) and res["Head PCK"] == pytest.approx(0.5)


def test_detection_boxes_have_no_ground_truth_for_pck():
    recs = make_records()
    with pytest.raises(ValueError, match="bbox_file"):
        evaluate(Oracle(recs), FakeValData(recs, "mpii", ground_truth=False), EPE())
    # a missing head size names the field
    for r in recs:
        del r["head_size"]
    with pytest.raises(ValueError, match="head_size"):
        evaluate(Oracle(recs), FakeValData(recs, "mpii"), MpiiPCKAccuracy())


def test_coco_samples_unchanged_by_the_ground_truth_fields(synthetic):
    """CocoMetric reads the same fields as before: the oracle still scores AP 1 on the records."""
    from pyposefast.engine import TopdownValData

    val = TopdownValData(synthetic["val"], "coco", (48, 64), 8, num_workers=0, device="cpu")
    assert evaluate(Oracle(val.records), val, CocoMetric(ann_file=synthetic["val_ann"]))["coco/AP"] == \
        pytest.approx(1.0)


# ---- end to end: the shipped MPII / WFLW configs on tiny generated files --------------------------

def _images(folder, names, size=(320, 240)):
    os.makedirs(folder, exist_ok=True)
    img = np.full((size[1], size[0], 3), 127, np.uint8)
    for name in names:
        cv2.imwrite(os.path.join(folder, name), img)


def _config(path, root, overrides=()):
    return resolve_config(load_config(path, [f"data.data_root={root}", "data.num_workers=0",
                                             "data.val_batch_size=2", *overrides]))


def test_mpii_config_validates_with_head_boxes(tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    rng = np.random.default_rng(1)
    entries, heads = [], []
    for i in range(4):
        cx, cy = 80.0 + 50 * i, 120.0
        joints = np.stack([cx + rng.uniform(-30, 30, 16), cy + rng.uniform(-40, 40, 16)], axis=1)
        entries.append({"image": f"{i + 1:09d}.jpg", "center": [cx, cy], "scale": 0.6,
                        "joints": joints.tolist(), "joints_vis": [1] * 16})
        side = (20.0 if i % 2 == 0 else 40.0) / (0.6 * np.sqrt(2))  # head sizes 20 / 40
        heads.append([[cx, cy - 60], [cx + side, cy - 60 + side]])
    os.makedirs(tmp_path / "annotations")
    with open(tmp_path / "annotations" / "mpii_val.json", "w") as f:
        json.dump(entries, f)
    scipy_io.savemat(str(tmp_path / "annotations" / "mpii_gt_val.mat"),
                     {"headboxes_src": np.transpose(np.array(heads), (1, 2, 0))})  # [2, 2, N]
    _images(str(tmp_path / "images"), [e["image"] for e in entries])

    cfg = _config(os.path.join(CONFIGS, "mpii", "resnet50_mpii_256x256.yaml"), str(tmp_path))
    records = build_records(cfg, "val")
    assert [float(r["head_size"].reshape(-1)[0]) for r in records.records] == pytest.approx([20.0, 40.0] * 2)
    metric = build_metric(cfg, records)
    oracle = Oracle(records.records, (12.0, 0.0))  # 13 px off (the metric's + 1): half within 0.5 x head
    val = build_val_data(cfg, oracle, records=records, device="cpu")
    res = evaluate(oracle, val, metric)
    assert res["PCK"] == pytest.approx(50.0) and res["Head PCK"] == pytest.approx(50.0)


def _coco_fixture(root, ann_name, img_folder, num_keypoints, n=3, seed=2):
    """``n`` 80x80 boxes of ``num_keypoints`` visible keypoints in a COCO-style file + images."""
    rng = np.random.default_rng(seed)
    images, anns = [], []
    for i in range(n):
        x0 = 20.0 + 90 * i
        kp = np.stack([x0 + rng.uniform(0, 80, num_keypoints), 60 + rng.uniform(0, 80, num_keypoints)], axis=1)
        images.append({"id": i + 1, "file_name": f"{i + 1}.png", "width": 320, "height": 240})
        anns.append({"id": i + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0, "num_keypoints": num_keypoints,
                     "bbox": [x0, 60.0, 80.0, 80.0], "area": 6400.0,
                     "keypoints": np.concatenate([kp, np.full((num_keypoints, 1), 2.0)], axis=1).ravel().tolist()})
    os.makedirs(root / "annotations")
    with open(root / "annotations" / ann_name, "w") as f:
        json.dump({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "object"}]}, f)
    _images(str(root / img_folder), [im["file_name"] for im in images])


def _validate(config, root, overrides=()):
    cfg = _config(os.path.join(CONFIGS, *config), str(root), overrides)
    records = build_records(cfg, "val")
    metric = build_metric(cfg, records)
    return cfg, records, metric


def test_wflw_config_validates_with_interocular_nme(tmp_path):
    _coco_fixture(tmp_path, "face_landmarks_wflw_test.json", "images", 98)
    cfg, records, metric = _validate(("wflw", "hrnetv2-w18_wflw_256x256.yaml"), tmp_path)
    oracle = Oracle(records.records, (3.0, 4.0))
    val = build_val_data(cfg, oracle, records=records, device="cpu")
    res = evaluate(oracle, val, metric)
    eye = np.array([np.linalg.norm(r["keypoints"][0, 60] - r["keypoints"][0, 72]) for r in records.records])
    assert res["NME"] == pytest.approx(np.mean(5.0 / eye), rel=1e-4)
    assert cfg["train"]["save_best"] in res


def test_onehand10k_config_validates_with_box_pck(tmp_path):
    _coco_fixture(tmp_path, "onehand10k_test.json", "", 21)
    # the config's img_prefix '' is not joined to data_root (pyposefast.config.join_root leaves
    # empty paths as they are; MMPose's data_prefix img='' means data_root): given absolute here
    cfg, records, metric = _validate(("onehand10k", "hrnetv2-w18_onehand10k_256x256.yaml"), tmp_path,
                                     [f"data.val.img_prefix={tmp_path}/"])
    for shift, expected in (((0.0, 15.0), 1.0), ((0.0, 17.0), 0.0)):  # PCK@0.2 of 80 px boxes: 16 px
        oracle = Oracle(records.records, shift)
        val = build_val_data(cfg, oracle, records=records, device="cpu")
        res = evaluate(oracle, val, metric)
        assert res["PCK"] == pytest.approx(expected)
    assert cfg["train"]["save_best"] in res
