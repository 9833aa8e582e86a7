"""TopdownBatchPipeline's captured keypoint half: the same results as the eager path, fresh outputs
per call, one graph per batch shape."""

import pytest
import torch

from pyposefast.codecs import MSRAHeatmap, SimCCLabel
from pyposefast.datasets import dataset_meta, generate_synthetic_coco, load_coco_keypoints
from pyposefast.datasets.pipeline import (DevicePrefetcher, TopdownBatchPipeline, TopdownCollate,
                                          build_topdown_loader)
from tests.conftest import DEVICES

META = dataset_meta("coco")


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("syn"))
    p = generate_synthetic_coco(root, num_train=5, num_val=1, image_size=(160, 120), seed=3, max_people=4)
    return load_coco_keypoints(p["train_ann"], p["train_img_prefix"]).records


@pytest.fixture(scope="module")
def batches(records):
    assert len(records) >= 7
    # two shapes: 3, 3, then the rest (a last, smaller batch is a new shape)
    return list(build_topdown_loader(records[:7], 3, 0, shuffle=False))


def _equal(a, b):
    assert set(a) == set(b)
    for k, v in a.items():
        if isinstance(v, torch.Tensor):
            assert torch.equal(v, b[k]), k


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("codec", [MSRAHeatmap((48, 64), (12, 16), 2.0), SimCCLabel((48, 64), sigma=2.0)],
                         ids=["msra", "simcc"])
def test_graph_equals_eager(batches, device, codec):
    eager = TopdownBatchPipeline.from_meta(META, (48, 64), codec, cuda_graph=False,
                                           use_dataset_keypoint_weights=True)
    graph = TopdownBatchPipeline.from_meta(META, (48, 64), codec, cuda_graph=True,
                                           use_dataset_keypoint_weights=True)
    gen = torch.Generator(device=device).manual_seed(1)
    kept = []
    for rep in range(2):
        for b in DevicePrefetcher(batches, device):
            draws = TopdownBatchPipeline.draw(len(b), generator=gen, device=device)
            want, got = eager(b, draws=draws), graph(b, draws=draws)
            _equal(want, got)
            kept.append((want, got))
    # outputs are fresh tensors: the later replays did not overwrite the earlier results
    for want, got in kept:
        _equal(want, got)
    assert len(graph._graphs) == 2  # batch sizes 3 and 1
    # validation mode (no draws) is a graph of its own
    val_e = TopdownBatchPipeline.from_meta(META, (48, 64), codec, train=False, cuda_graph=False)
    val_g = TopdownBatchPipeline.from_meta(META, (48, 64), codec, train=False, cuda_graph=True)
    for b in DevicePrefetcher(batches, device):
        _equal(val_e(b), val_g(b))


def test_graph_default_only_on_cuda(batches):
    pipe = TopdownBatchPipeline.from_meta(META, (48, 64), MSRAHeatmap((48, 64), (12, 16), 2.0))
    pipe(batches[0], generator=torch.Generator().manual_seed(0))
    assert pipe.cuda_graph is None and not pipe._graphs  # eager on the CPU


@pytest.mark.parametrize("device", DEVICES)
def test_empty_batch_stays_eager(records, device):
    pipe = TopdownBatchPipeline.from_meta(META, (48, 64), MSRAHeatmap((48, 64), (12, 16), 2.0), cuda_graph=True)
    empty = TopdownCollate(records)([])  # a batch of no instances
    out = pipe(empty.to(device), generator=torch.Generator(device=device).manual_seed(0))
    assert out["inputs"].shape == (0, 3, 64, 48) and out["heatmaps"].shape == (0, 17, 16, 12)
    assert not pipe._graphs
