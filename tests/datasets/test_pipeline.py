"""The batched top-down pipeline (CPU) and its equivalence with the per-sample MMPose-style path."""

import copy

import numpy as np
import pytest
import torch

from pyposefast.codecs import MSRAHeatmap, SimCCLabel
from pyposefast.datasets import dataset_meta, generate_synthetic_coco, load_coco_keypoints
from pyposefast.datasets import per_sample as T
from pyposefast.datasets.pipeline import (IMAGENET_MEAN, IMAGENET_STD, NUM_DRAWS, DevicePrefetcher,
                                          TopdownBatchPipeline, TopdownCollate, TopdownDecodeDataset,
                                          build_topdown_loader)

META = dataset_meta("coco")


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("syn"))
    p = generate_synthetic_coco(root, num_train=4, num_val=1, image_size=(160, 120), seed=5, max_people=4)
    return load_coco_keypoints(p["train_ann"], p["train_img_prefix"]).records


def _per_sample(codec, use_udp=False):
    return T.Compose([
        T.LoadImage(), T.GetBBoxCenterScale(), T.RandomFlip(prob=0.5, flip_indices=META["flip_indices"]),
        T.RandomHalfBody(upper_body_ids=META["upper_body_ids"], lower_body_ids=META["lower_body_ids"]),
        T.RandomBBoxTransform(), T.TopdownAffine((48, 64), use_udp=use_udp), T.GenerateTarget(codec, True),
        T.PackPoseInputs(),
    ])


@pytest.mark.parametrize("use_udp", [False, True])
def test_batched_equals_per_sample_for_same_draws(records, use_udp):
    codec = MSRAHeatmap((48, 64), (12, 16), 2.0)
    n = min(8, len(records))
    recs = records[:n]
    batch = TopdownCollate(recs)([TopdownDecodeDataset(recs)[i] for i in range(n)])
    draws = torch.rand(n, NUM_DRAWS, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    draws[: n // 2, 0] = 0.1  # flip some
    draws[: n // 2, 1] = 0.0  # half body where eligible
    pipe = TopdownBatchPipeline.from_meta(META, (48, 64), codec, use_udp=use_udp, use_dataset_keypoint_weights=True)
    out = pipe(batch, draws)
    assert out["inputs"].shape == (n, 3, 64, 48) and out["heatmaps"].shape == (n, 17, 16, 12)
    assert bool(out["flip"][: n // 2].all())
    ref = _per_sample(codec, use_udp)
    mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
    for i in range(n):
        r = copy.deepcopy(recs[i])
        r.update(random_draws=draws[i].numpy(), dataset_keypoint_weights=META["dataset_keypoint_weights"])
        s = ref(r)
        img = s["inputs"].numpy().transpose(1, 2, 0)[..., ::-1].astype(np.float64)  # BGR -> RGB
        norm = ((img - mean) / std).transpose(2, 0, 1)
        # per-sample crops are rounded to uint8 (as cv2.warpAffine): half a level / std at most
        np.testing.assert_allclose(out["inputs"][i].numpy(), norm, atol=0.6 / 57.0 + 1e-4)
        inst = s["data_samples"]["gt_instances"]
        np.testing.assert_allclose(out["transformed_keypoints"][i].numpy(), inst["transformed_keypoints"][0],
                                   atol=1e-3)
        np.testing.assert_allclose(out["heatmaps"][i].numpy(), s["data_samples"]["gt_fields"]["heatmaps"], atol=1e-3)
        np.testing.assert_allclose(out["keypoint_weights"][i].numpy(),
                                   s["data_samples"]["gt_instance_labels"]["keypoint_weights"][0], atol=1e-6)


def test_validation_mode_and_loader(records):
    codec = SimCCLabel((48, 64), sigma=2.0)
    pipe = TopdownBatchPipeline.from_meta(META, (48, 64), codec, train=False)
    loader = build_topdown_loader(records, 5, 0, shuffle=False)
    seen = 0
    for batch in DevicePrefetcher(loader, "cpu"):
        out = pipe(batch)
        assert out["keypoint_x_labels"].shape[:2] == (len(batch), 17)
        assert not bool(out["flip"].any()) and bool((out["bbox_rotation"] == 0).all())
        seen += len(batch)
    assert seen == len(records)


def test_generator_reproducible(records):
    pipe = TopdownBatchPipeline.from_meta(META, (48, 64), MSRAHeatmap((48, 64), (12, 16), 2.0))
    batch = TopdownCollate(records[:4])([TopdownDecodeDataset(records)[i] for i in range(4)])
    a = pipe(batch, generator=torch.Generator().manual_seed(7))
    b = pipe(batch, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a["inputs"], b["inputs"]) and torch.equal(a["heatmaps"], b["heatmaps"])


def test_missing_image_names_file_and_record(records):
    recs = [dict(records[0], img_path="/nonexistent/x.jpg")]
    with pytest.raises(FileNotFoundError, match=r"/nonexistent/x.jpg \(record 0\)"):
        TopdownDecodeDataset(recs)[0]


def test_pipeline_needs_metainfo():
    with pytest.raises(ValueError, match="flip_indices is required"):
        TopdownBatchPipeline((48, 64))


def test_decode_cache_returns_the_same_pixels_and_decodes_once(records, monkeypatch):
    import pyposefast.datasets.pipeline as P

    plain = TopdownDecodeDataset(records)
    cached = TopdownDecodeDataset(records, cache_images=True)
    calls = []
    real = P.decode_image
    monkeypatch.setattr(P, "decode_image", lambda path, i: calls.append(path) or real(path, i))
    first = [cached[i] for i in range(len(records))]
    again = [cached[i] for i in range(len(records))]
    assert len(calls) == len({r["img_path"] for r in records})  # one decode per file
    for (a, ia), (b, ib), i in zip(first, again, range(len(records))):
        want, _ = plain[i]
        assert ia == ib == i and a is b and np.array_equal(a, want)
    # the collate copies the pixels: a batch never aliases the cache
    batch = TopdownCollate(records[:2])([cached[0], cached[1]])
    batch.images.data.zero_()
    assert np.array_equal(cached[0][0], plain[0][0])
