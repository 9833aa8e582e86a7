"""PCKAccuracy / MpiiPCKAccuracy / JhmdbPCKAccuracy / AUC / EPE / NME / MPJPE: MMPose parity over
several batches, and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyposefast import evaluation as E


def samples(seed, n=12, K=17, head=True):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        gt = rng.uniform(10, 200, (1, K, 2)).astype(np.float32)
        pred = (gt + rng.normal(0, 6, (1, K, 2))).astype(np.float32)
        vis = (rng.uniform(size=(1, K)) > 0.2).astype(np.float32)
        x0, y0 = gt[0].min(0)
        x1, y1 = gt[0].max(0)
        gi = {"keypoints": gt, "keypoints_visible": vis, "bboxes": np.array([[x0, y0, x1, y1]], np.float32)}
        if head:
            gi["head_size"] = np.float32(rng.uniform(20, 60))
        gi["interocular"] = np.array([rng.uniform(20, 60)])
        out.append({"pred_instances": {"keypoints": pred}, "gt_instances": gi})
    if n:
        out[0]["gt_instances"]["keypoints"][0, 5] = out[0]["gt_instances"]["keypoints"][0, 4] + 0.5  # torso < 1
    return out


def run_both(ours, theirs, batches, meta=None):
    for m in (ours, theirs):
        if meta is not None:
            m.dataset_meta = meta
    for b in batches:
        ours.process(None, b)
        theirs.process(None, b)
    r1, r2 = ours.evaluate(), theirs.evaluate(sum(len(b) for b in batches))
    assert set(r1) == set(r2)
    for k in r2:
        assert r1[k] == pytest.approx(float(r2[k]), rel=1e-6, abs=1e-6), k
    return r1


@pytest.fixture
def M():
    return pytest.importorskip("mmpose.evaluation.metrics")


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore:Ground truth torso")
def test_pck_family_parity(M):
    s = samples(0)
    batches = [s[:5], s[5:]]
    run_both(E.PCKAccuracy(thr=0.1, norm_item=["bbox", "head", "torso"]),
             M.PCKAccuracy(thr=0.1, norm_item=["bbox", "head", "torso"]), batches)
    s16 = samples(1, K=16)
    r = run_both(E.MpiiPCKAccuracy(), M.MpiiPCKAccuracy(), [s16[:4], s16[4:]])
    assert {"PCK", "PCK@0.1", "Head PCK"} <= set(r)
    s15 = samples(2, K=15)
    run_both(E.JhmdbPCKAccuracy(norm_item=["bbox", "torso"]), M.JhmdbPCKAccuracy(norm_item=["bbox", "torso"]),
             [s15[:6], s15[6:]])
    run_both(E.AUC(norm_factor=20), M.AUC(norm_factor=20), batches)
    run_both(E.EPE(), M.EPE(), batches)


@pytest.mark.parity
def test_nme_parity(M):
    s = samples(3, K=68)
    meta = {"dataset_name": "300w", "keypoint_id2name": {i: str(i) for i in range(68)}}
    run_both(E.NME("keypoint_distance"), M.NME("keypoint_distance"), [s[:3], s[3:]], meta)
    run_both(E.NME("keypoint_distance", keypoint_indices=[1, 7]), M.NME("keypoint_distance", keypoint_indices=[1, 7]),
             [s], meta)
    run_both(E.NME("use_norm_item", "bbox_size"), M.NME("use_norm_item", "bbox_size"), [s])
    run_both(E.NME("use_norm_item", "interocular"), M.NME("use_norm_item", "interocular"), [s])


def mpjpe_samples(seed, n=6):
    rng = np.random.default_rng(seed)
    out = []
    for i, act in zip(range(n), ["Walking 1", "Eating", "Walking", "Sitting 2", "Eating 1", "Posing"]):
        gt = rng.normal(0, 300, (1, 17, 3))
        out.append({"pred_instances": {"keypoints": (gt + rng.normal(0, 30, gt.shape))[None]},
                    "gt_instances": {"lifting_target": gt, "lifting_target_visible": np.ones((1, 17, 1))},
                    "target_img_path": [f"S9_{act}.55011271_{i:06d}.jpg"]})
    return out


@pytest.mark.parity
@pytest.mark.parametrize("mode", ["mpjpe", "p-mpjpe", "n-mpjpe"])
def test_mpjpe_parity(M, mode):
    s = mpjpe_samples(4)
    r = run_both(E.MPJPE(mode), M.MPJPE(mode), [s[:2], s[2:]])
    assert f"{mode.upper()}_Walking" in r


def test_tensor_inputs_and_accumulation():
    s = samples(5)
    metric = E.EPE()
    t = [{"pred_instances": {"keypoints": torch.from_numpy(x["pred_instances"]["keypoints"])},
          "gt_instances": {k: torch.as_tensor(v) for k, v in x["gt_instances"].items()}} for x in s]
    metric.process(None, t[:4])
    metric.process(None, t[4:])
    ref = E.EPE()
    ref.process(None, s)
    assert metric.evaluate() == ref.evaluate()
    assert metric.results == []


def test_errors():
    with pytest.raises(KeyError, match="normalized item 'box' is not supported"):
        E.PCKAccuracy(norm_item="box")
    with pytest.raises(KeyError, match="`mode` should be"):
        E.MPJPE("mpjpe2")
    with pytest.raises(KeyError, match="norm_mode"):
        E.NME("bbox")
    with pytest.raises(KeyError, match="specify the `norm_item`"):
        E.NME("use_norm_item")
    with pytest.raises(ValueError, match="no samples were processed"):
        E.EPE().evaluate()
    bad = samples(0, n=1)
    bad[0]["pred_instances"]["keypoints"] = bad[0]["pred_instances"]["keypoints"][:, :5]
    with pytest.raises(ValueError, match="must both be"):
        E.EPE().process(None, bad)
    no_head = samples(0, n=1, head=False)
    with pytest.raises(ValueError, match="head_size"):
        E.PCKAccuracy(norm_item="head").process(None, no_head)
    nme = E.NME("keypoint_distance")
    nme.dataset_meta = {"dataset_name": "unknown"}
    nme.process(None, samples(0, n=2))
    with pytest.raises(KeyError, match="keypoint_indices"):
        nme.evaluate()
