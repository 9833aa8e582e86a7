"""TopdownTrainData / TopdownValData: targets per codec, deterministic order, exact skip, sharding."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import pyposefast.engine.data as engine_data
from pyposefast.codecs import IntegralRegressionLabel, RegressionLabel, SimCCLabel, UDPHeatmap
from pyposefast.engine import TopdownTrainData, TopdownValData, loss_targets
from pyposefast.models import TopdownPoseEstimator
from pyposefast.models.heads import RegressionHead, RTMCCHead, SimCCHead
from pyposefast.models.necks import GlobalAveragePooling
from pyposefast.structures import bbox_xyxy2cs, fix_aspect_ratio

from .tiny import HEATMAP_SIZE, INPUT_SIZE, TinyBackbone, tiny_codec, tiny_model

W, H = INPUT_SIZE


def _data(synthetic, codec, **kw):
    kw = {"num_workers": 0, "device": "cpu", **kw}
    return TopdownTrainData(synthetic["train"], "coco", codec, INPUT_SIZE, 8, **kw)


def _loss(model, batch):
    loss = model.loss(batch["inputs"], **loss_targets(model, batch))["loss_kpt"]
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()


def test_heatmap_targets_feed_the_heatmap_head(synthetic):
    data = _data(synthetic, tiny_codec())
    batch = next(iter(data))
    assert sorted(batch) == ["heatmaps", "inputs", "keypoint_weights"]
    assert batch["inputs"].shape == (8, 3, H, W) and batch["inputs"].dtype == torch.float32
    assert batch["heatmaps"].shape == (8, 17, HEATMAP_SIZE[1], HEATMAP_SIZE[0])
    assert batch["keypoint_weights"].shape == (8, 17)
    assert float(batch["heatmaps"].amax()) == pytest.approx(1.0)  # some Gaussian peaks
    _loss(tiny_model(), batch)
    assert not data.use_udp
    assert _data(synthetic, UDPHeatmap(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=2.0)).use_udp


@pytest.mark.parametrize("head", ["simcc", "rtmcc"])
def test_simcc_targets_feed_simcc_heads(synthetic, head):
    codec = SimCCLabel(input_size=INPUT_SIZE, sigma=(4.9, 5.66), simcc_split_ratio=2.0, normalize=False)
    batch = next(iter(_data(synthetic, codec)))
    assert sorted(batch) == ["inputs", "keypoint_weights", "keypoint_x_labels", "keypoint_y_labels"]
    assert batch["keypoint_x_labels"].shape == (8, 17, 2 * W) and batch["keypoint_y_labels"].shape == (8, 17, 2 * H)
    if head == "simcc":
        h = SimCCHead(16, 17, INPUT_SIZE, HEATMAP_SIZE, 2.0, deconv_out_channels=None, deconv_kernel_sizes=None,
                      decoder=codec)
    else:
        h = RTMCCHead(16, 17, INPUT_SIZE, HEATMAP_SIZE, 2.0, final_layer_kernel_size=3, hidden_dims=32, s=16,
                      decoder=codec)
    _loss(TopdownPoseEstimator(TinyBackbone(), h), batch)


def test_regression_targets_and_filtering(synthetic):
    codec = RegressionLabel(input_size=INPUT_SIZE)
    batch = next(iter(_data(synthetic, codec)))
    assert sorted(batch) == ["inputs", "keypoint_labels", "keypoint_weights"]
    model = TopdownPoseEstimator(TinyBackbone(), RegressionHead(16, 17, decoder=codec), GlobalAveragePooling())
    _loss(model, batch)
    # integral regression also encodes heatmaps, which a coordinate head's loss does not take
    ipr = IntegralRegressionLabel(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=2.0)
    batch = next(iter(_data(synthetic, ipr)))
    assert "heatmaps" in batch and sorted(loss_targets(model, batch)) == ["keypoint_labels", "keypoint_weights"]
    with pytest.raises(ValueError, match=r"needs \['heatmaps'\]"):
        loss_targets(tiny_model(), {"inputs": batch["inputs"], "keypoint_labels": batch["keypoint_labels"]})


def test_order_and_augmentation_are_functions_of_seed_and_epoch(synthetic):
    data = _data(synthetic, tiny_codec(), seed=5)
    n = len(synthetic["train"].records)
    assert len(data) == n // 8
    data.set_epoch(1)
    full = list(data)
    data.set_epoch(1)
    again = list(data)
    data.set_epoch(1, skip=2)
    tail = list(data)
    assert len(full) == len(data) and len(tail) == len(full) - 2
    for a, b in zip(full, again):
        assert torch.equal(a["inputs"], b["inputs"]) and torch.equal(a["heatmaps"], b["heatmaps"])
    for a, b in zip(full[2:], tail):
        assert torch.equal(a["inputs"], b["inputs"]) and torch.equal(a["heatmaps"], b["heatmaps"])
    data.set_epoch(2)
    assert not torch.equal(next(iter(data))["inputs"], full[0]["inputs"])
    e1 = data.epoch_indices(1)
    assert e1 != data.epoch_indices(2) and e1 == _data(synthetic, tiny_codec(), seed=5).epoch_indices(1)
    assert e1 != _data(synthetic, tiny_codec(), seed=6).epoch_indices(1)
    with pytest.raises(ValueError, match="skip"):
        data.set_epoch(0, skip=-1)


def test_sharding_by_rank(synthetic, monkeypatch):
    data = _data(synthetic, tiny_codec(), drop_last=False)
    n = len(synthetic["train"].records)
    shards = []
    monkeypatch.setattr(engine_data, "get_world_size", lambda: 3)
    for rank in range(3):
        monkeypatch.setattr(engine_data, "get_rank", lambda rank=rank: rank)
        shards.append(sum(data.epoch_indices(0), []))
        assert len(data) == len(data.epoch_indices(0))
    assert len({len(s) for s in shards}) == 1 and len(shards[0]) == -(-n // 3)
    assert set().union(*map(set, shards)) == set(range(n))
    assert sum(map(len, shards)) - n < 3  # padding by wrapping only
    draws = []
    for rank in range(2):
        monkeypatch.setattr(engine_data, "get_rank", lambda rank=rank: rank)
        draws.append(data.draws(0, 0, 4))
    assert not torch.equal(draws[0], draws[1])


def test_bad_arguments(synthetic):
    with pytest.raises(ValueError, match="input_size"):
        _data(synthetic, tiny_codec()).__class__(synthetic["train"], "coco", tiny_codec(), (48,), 8)
    with pytest.raises(ValueError, match="batch_size"):
        TopdownTrainData(synthetic["train"], "coco", tiny_codec(), INPUT_SIZE, 0)
    with pytest.raises(TypeError, match="codec"):
        TopdownTrainData(synthetic["train"], "coco", None, INPUT_SIZE, 4)
    with pytest.raises(TypeError, match="records"):
        TopdownTrainData("train.json", "coco", tiny_codec(), INPUT_SIZE, 4)
    with pytest.raises(ValueError, match="reuse_buffers must be"):
        _data(synthetic, tiny_codec(), num_workers=1, reuse_buffers=(640,))
    with pytest.raises(ValueError, match="num_workers >= 1"):
        _data(synthetic, tiny_codec(), reuse_buffers=(640, 480))
    with pytest.raises(ValueError, match="cache_images"):
        _data(synthetic, tiny_codec(), num_workers=1, reuse_buffers=(640, 480), cache_images=True)
    with pytest.raises(ValueError, match="bbox_file needs ann_file"):
        TopdownValData(synthetic["val"], "coco", INPUT_SIZE, 4, bbox_file="dets.json")


def test_val_crops_follow_mmpose_val_pipeline(synthetic, tmp_path):
    records = synthetic["val"].records
    val = TopdownValData(synthetic["val"], "coco", INPUT_SIZE, 6, num_workers=0, device="cpu")
    batches = list(val)
    index = torch.cat([b["index"] for b in batches])
    assert index.tolist() == list(range(len(records)))
    center = torch.cat([b["bbox_center"] for b in batches]).double()
    scale = torch.cat([b["bbox_scale"] for b in batches]).double()
    boxes = torch.from_numpy(np.concatenate([r["bbox"] for r in records])).double()
    c, s = bbox_xyxy2cs(boxes, padding=1.25)
    torch.testing.assert_close(center, c, rtol=1e-6, atol=1e-4)
    torch.testing.assert_close(scale, fix_aspect_ratio(s, W / H), rtol=1e-6, atol=1e-4)
    assert batches[0]["inputs"].shape == (6, 3, H, W)
    # detection boxes from a COCO results file (here the ground-truth boxes, scored)
    dets = [{"image_id": r["img_id"], "category_id": 1, "score": 0.9 - 0.01 * i,
             "bbox": [float(r["bbox"][0, 0]), float(r["bbox"][0, 1]), float(r["bbox"][0, 2] - r["bbox"][0, 0]),
                      float(r["bbox"][0, 3] - r["bbox"][0, 1])]} for i, r in enumerate(records)]
    dets.append(dict(dets[0], score=0.01))
    path = tmp_path / "dets.json"
    path.write_text(json.dumps(dets))
    det = TopdownValData(synthetic["val"], "coco", INPUT_SIZE, 6, ann_file=synthetic["val_ann"], bbox_file=str(path),
                         num_workers=0, device="cpu", bbox_score_thr=0.05)
    assert len(det.records) == len(records)
    assert det.records[0]["img_path"] == records[0]["img_path"]
    torch.testing.assert_close(torch.cat([b["inputs"] for b in det]), torch.cat([b["inputs"] for b in batches]))


def test_persistent_workers_follow_epoch_and_skip(synthetic):
    """Decoding workers (persistent across epochs) give the batches of the in-process loader."""
    inline, workers = _data(synthetic, tiny_codec(), seed=1), _data(synthetic, tiny_codec(), seed=1, num_workers=1)
    workers.set_epoch(5)
    for i, _ in enumerate(workers):  # an epoch cut short: its prefetched batches must not leak into the next
        if i == 1:
            break
    for epoch, skip in ((0, 0), (1, 3), (2, 0)):
        inline.set_epoch(epoch, skip)
        workers.set_epoch(epoch, skip)
        a, b = list(inline), list(workers)
        assert len(a) == len(b) == len(inline) - skip
        for x, y in zip(a, b):
            assert torch.equal(x["inputs"], y["inputs"])


def test_reused_buffers_give_the_same_batches(synthetic):
    """Workers decoding into reused shared slots: the batches of the in-process loader, epoch after
    epoch (slots recycled) and with a skip; a slot too small for a batch falls back to its own buffer."""
    inline = _data(synthetic, tiny_codec(), seed=2)
    pooled = _data(synthetic, tiny_codec(), seed=2, num_workers=1, reuse_buffers=(160, 120))
    tiny = _data(synthetic, tiny_codec(), seed=2, num_workers=1, reuse_buffers=(8, 8))  # never fits
    for epoch, skip in ((0, 0), (1, 2), (2, 0)):
        for d in (inline, pooled, tiny):
            d.set_epoch(epoch, skip)
        a, b, c = list(inline), list(pooled), list(tiny)
        assert len(a) == len(b) == len(c) == len(inline) - skip
        for x, y, z in zip(a, b, c):
            assert torch.equal(x["inputs"], y["inputs"]) and torch.equal(x["inputs"], z["inputs"])
            assert torch.equal(x["heatmaps"], y["heatmaps"])


_FORK_AFTER_OPENCV = """
import sys
import cv2, numpy as np
sys.path.insert(0, {repo!r})
from pyposefast.datasets import load_coco_keypoints
from pyposefast.engine import TopdownTrainData
from tests.engine.tiny import INPUT_SIZE, tiny_codec
cv2.GaussianBlur(np.zeros((2000, 2000, 3), np.uint8), (31, 31), 5)  # OpenCV's thread pool runs
records = load_coco_keypoints({ann!r}, {img!r})
data = TopdownTrainData(records, "coco", tiny_codec(), INPUT_SIZE, 8, num_workers=1, device="cpu")
print(sum(1 for _ in data))
"""


def test_workers_start_after_threaded_opencv_in_the_parent(synthetic):
    """Workers forked after the parent used OpenCV's thread pool must not deadlock (they did, in
    the pipeline's worker init, before the engine forked them with the pool down)."""
    import os
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = _FORK_AFTER_OPENCV.format(repo=repo, ann=synthetic["train_ann"], img=synthetic["train_img_prefix"])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) == len(synthetic["train"].records) // 8
