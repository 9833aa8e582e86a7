"""CocoMetric / CocoWholeBodyMetric: MMPose 1.3.2 parity (xtcocotools) and pycocotools' own numbers,
hand-built cases (perfect, empty, crowd-only, K != 17), the results JSON, and errors."""

from __future__ import annotations

import contextlib
import io
import json
import os

import numpy as np
import pytest
import torch

from pyposefast.evaluation import CocoMetric, CocoWholeBodyMetric
from tests.evaluation._coco_data import COCO_SIGMAS, make_gt, make_samples, meta

WB_PARTS = [("keypoints", 17), ("foot_kpts", 6), ("face_kpts", 68), ("lefthand_kpts", 21), ("righthand_kpts", 21)]


def write(tmp_path, dataset, name="gt.json"):
    path = os.path.join(tmp_path, name)
    with open(path, "w") as f:
        json.dump(dataset, f)
    return path


def ours(samples, dataset_meta, cls=CocoMetric, **kw):
    m = cls(**kw)
    m.dataset_meta = dataset_meta
    half = len(samples) // 2
    m.process(None, samples[:half])
    m.process(None, samples[half:])
    return m.evaluate()


def mmpose(samples, dataset_meta, name="CocoMetric", **kw):
    M = pytest.importorskip("mmpose.evaluation.metrics")
    m = getattr(M, name)(**kw)
    m.dataset_meta = dataset_meta
    with contextlib.redirect_stdout(io.StringIO()):
        m.process(None, samples)
        return m.evaluate(len(samples))


def assert_same(r1, r2):
    assert set(r2) <= set(r1)
    for k in r2:
        assert r1[k] == pytest.approx(float(r2[k]), abs=1e-6), k


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("kw", [
    dict(),
    dict(score_mode="bbox"),
    dict(score_mode="keypoint", nms_mode="none"),
    dict(score_mode="bbox_rle", nms_mode="soft_oks_nms"),
    dict(use_area=False, nms_thr=0.5, keypoint_score_thr=0.5),
])
@pytest.mark.parametrize("ann_file", [True, False])
def test_parity_with_mmpose(tmp_path, kw, ann_file):
    rng = np.random.default_rng(len(kw) + 10 * ann_file)
    ds = make_gt(rng, 8, 4, crowd_only_images=(3,), crowd_prob=0.1)
    samples = make_samples(rng, ds)
    if ann_file:
        kw = dict(kw, ann_file=write(tmp_path, ds))
    assert_same(ours(samples, meta(), **kw), mmpose(samples, meta(), **kw))


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore")
def test_parity_other_keypoint_count_and_bottom_up(tmp_path):
    rng = np.random.default_rng(1)
    sig = np.linspace(0.03, 0.1, 5)
    ds = make_gt(rng, 6, 3, K=5)
    samples = make_samples(rng, ds, with_bbox=False)
    for s in samples:
        del s["gt_instances"]["bbox_scales"]  # area from the keypoint extent
    f = write(tmp_path, ds)
    assert_same(ours(samples, meta(sig), ann_file=f), mmpose(samples, meta(sig), ann_file=f))
    # bottom-up style: one sample per image with all instances, sequence ids
    bu = []
    for img in ds["images"]:
        group = [s for s in samples if s["img_id"] == img["id"]]
        bu.append({"id": [s["id"] for s in group], "img_id": img["id"],
                   "pred_instances": {k: np.concatenate([s["pred_instances"][k] for s in group])
                                      for k in ("keypoints", "keypoint_scores")},
                   "gt_instances": {}})
    assert_same(ours(bu, meta(sig), ann_file=f), mmpose(bu, meta(sig), ann_file=f))


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore")
def test_wholebody_parity(tmp_path):
    rng = np.random.default_rng(2)
    ds = make_gt(rng, 4, 2, K=133, parts=WB_PARTS)
    samples = make_samples(rng, ds, noise=2.0, parts=WB_PARTS)
    sig = np.concatenate([COCO_SIGMAS, rng.uniform(0.01, 0.05, 116)])
    r1 = ours(samples, meta(sig), CocoWholeBodyMetric, ann_file=write(tmp_path, ds))
    r2 = mmpose(samples, meta(sig), "CocoWholeBodyMetric", ann_file=write(tmp_path, ds))
    assert_same(r1, r2)
    assert {f"coco-wholebody/{p}/AP" for p in ("body", "foot", "face", "lefthand", "righthand", "wholebody")} <= set(r1)


def test_matches_pycocotools_on_our_results_file(tmp_path):
    """Our AP/AR are pycocotools' own numbers on the results JSON we write (GT with num_keypoints)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(3)
    ds = make_gt(rng, 10, 4, crowd_prob=0.1)
    samples = make_samples(rng, ds)
    f = write(tmp_path, ds)
    prefix = os.path.join(tmp_path, "out", "res")
    r = ours(samples, meta(), ann_file=f, outfile_prefix=prefix)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(f)
        dt = gt.loadRes(prefix + ".keypoints.json")
        ev = COCOeval(gt, dt, "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    np.testing.assert_allclose([r[f"coco/{k}"] for k in ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5",
                                                          "AR .75", "AR (M)", "AR (L)")], ev.stats, atol=1e-12)


@pytest.mark.parametrize("K", [17, 4])
def test_perfect_predictions_give_ap_1(K):
    rng = np.random.default_rng(4)
    ds = make_gt(rng, 5, 3, K=K)
    for a in ds["annotations"]:  # every keypoint labelled so perfect means perfect
        kp = np.asarray(a["keypoints"]).reshape(-1, 3)
        kp[:, 2] = 2
        a["keypoints"] = kp.reshape(-1).tolist()
        a["area"] = 10000.0
    samples = make_samples(rng, ds, perfect=True, extra_per_image=0)
    sig = COCO_SIGMAS if K == 17 else np.full(K, 0.05)
    r = ours(samples, meta(sig), nms_mode="none")
    assert r["coco/AP"] == pytest.approx(1.0) and r["coco/AR"] == pytest.approx(1.0)


def test_empty_predictions_give_zero():
    rng = np.random.default_rng(5)
    ds = make_gt(rng, 3, 2)
    samples = make_samples(rng, ds, extra_per_image=0)
    for s in samples:
        s["pred_instances"] = {"keypoints": np.zeros((0, 17, 2), np.float32),
                               "keypoint_scores": np.zeros((0, 17), np.float32)}
        s["gt_instances"] = {}
    r = ours(samples, meta())
    assert r["coco/AP"] == 0.0 and r["coco/AR"] == 0.0


def test_crowd_only_images():
    rng = np.random.default_rng(6)
    ds = make_gt(rng, 4, 3, crowd_only_images=(1, 2))
    samples = make_samples(rng, ds, perfect=True, extra_per_image=0)
    r = ours(samples, meta(), nms_mode="none")
    assert r["coco/AP"] > 0.5  # detections on crowd regions are ignored, not false positives
    only = make_gt(rng, 2, 2, crowd_only_images=(1, 2))
    r = ours(make_samples(rng, only), meta())
    assert r["coco/AP"] == -1.0  # no non-crowd ground truth at all: pycocotools' "undefined"


def test_tensor_inputs_and_format_only(tmp_path):
    rng = np.random.default_rng(7)
    ds = make_gt(rng, 3, 2)
    samples = make_samples(rng, ds)
    ref = ours(samples, meta())
    t = [dict(s, pred_instances={k: torch.from_numpy(v) for k, v in s["pred_instances"].items()}) for s in samples]
    assert ours(t, meta()) == ref
    prefix = os.path.join(tmp_path, "sub", "pred")
    assert ours(samples, meta(), format_only=True, outfile_prefix=prefix) == {}
    res = json.load(open(prefix + ".keypoints.json"))
    assert res and {"image_id", "category_id", "keypoints", "score", "bbox"} <= set(res[0])
    assert len(res[0]["keypoints"]) == 51


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="score_mode"):
        CocoMetric(score_mode="mean")
    with pytest.raises(ValueError, match="nms_mode"):
        CocoMetric(nms_mode="nms")
    with pytest.raises(ValueError, match="keypoints_crowd"):
        CocoMetric(iou_type="keypoints_crowd")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CocoMetric(ann_file=os.path.join(tmp_path, "missing.json"))
    with pytest.raises(ValueError, match="outfile_prefix"):
        CocoMetric(format_only=True)
    f = write(tmp_path, {"images": [], "categories": []})
    with pytest.raises(ValueError, match="has no 'annotations'"):
        CocoMetric(ann_file=f)
    rng = np.random.default_rng(8)
    ds = make_gt(rng, 2, 2)
    samples = make_samples(rng, ds)
    m = CocoMetric()
    m.process(None, samples)
    with pytest.raises(ValueError, match="dataset_meta must hold 'sigmas'"):
        m.evaluate()
    with pytest.raises(ValueError, match="K=17"):
        ours(samples, meta(np.full(5, 0.05)))
    bad = [dict(samples[0], pred_instances={"keypoints": np.zeros((1, 17, 2)), "keypoint_scores": np.zeros((1, 5))})]
    with pytest.raises(ValueError, match=r"\[N, K, 2\]"):
        CocoMetric().process(None, bad)
    with pytest.raises(ValueError, match="raw_ann_info"):
        CocoMetric().process(None, [{k: v for k, v in samples[0].items() if k != "raw_ann_info"}])
