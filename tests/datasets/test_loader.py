"""The decode loader: shared-memory packing, workers, the device prefetcher (CPU and CUDA)."""

import cv2
import numpy as np
import pytest
import torch

from pyposefast.datasets import dataset_meta, generate_synthetic_coco, load_coco_keypoints
from pyposefast.datasets.pipeline import (DevicePrefetcher, TopdownBatchPipeline, build_topdown_loader,
                                          pack_images)
from pyposefast.datasets.ragged import RaggedImages
from pyposefast.codecs import MSRAHeatmap
from tests.conftest import requires_cuda

META = dataset_meta("coco")


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("syn"))
    p = generate_synthetic_coco(root, num_train=3, num_val=1, image_size=(96, 72), seed=3, max_people=3)
    return load_coco_keypoints(p["train_ann"], p["train_img_prefix"]).records


@pytest.mark.parametrize("shared", [False, True])
def test_pack_images_matches_from_images(shared):
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in ((5, 7), (3, 2), (6, 6))]
    packed = pack_images(imgs, shared=shared)
    ref = RaggedImages.from_images(imgs)
    assert packed.data.is_shared() == shared
    assert torch.equal(packed.data, ref.data) and torch.equal(packed.offsets, ref.offsets)
    assert torch.equal(packed.sizes, ref.sizes) and packed.channels == 3
    for b, im in enumerate(imgs):
        assert np.array_equal(packed.image(b).numpy(), im)


def test_pack_images_gray_and_errors():
    packed = pack_images([np.arange(6, dtype=np.uint8).reshape(2, 3)], shared=False)
    assert packed.channels == 1 and packed.image(0).shape == (2, 3, 1)
    with pytest.raises(ValueError, match=r"images\[1\] has 1 channels"):
        pack_images([np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint8)])
    assert len(pack_images([])) == 0


def test_worker_batches_equal_main_process_batches(records):
    """Workers pack into shared memory; the batches equal those decoded in the main process."""
    main = list(build_topdown_loader(records, 4, 0, shuffle=False))
    work = list(build_topdown_loader(records, 4, 1, shuffle=False))
    assert len(main) == len(work) > 0
    for a, b in zip(main, work):
        assert b.images.data.is_shared()
        assert torch.equal(a.images.data, b.images.data) and torch.equal(a.images.sizes, b.images.sizes)
        assert torch.equal(a.bbox, b.bbox) and torch.equal(a.index, b.index)
    first = work[0]
    img = cv2.imread(records[int(first.index[0])]["img_path"], cv2.IMREAD_COLOR)
    assert np.array_equal(first.images.image(0).numpy(), img)


def test_prefetcher_arguments():
    with pytest.raises(ValueError, match="max_device_batches"):
        DevicePrefetcher([], "cpu", max_device_batches=0)
    with pytest.raises(ValueError, match="decode_jpeg needs a CUDA device"):
        DevicePrefetcher([], "cpu", decode_jpeg=True)


class _Failing:
    def __init__(self, batches, fail_at):
        self.batches, self.fail_at = batches, fail_at

    def __iter__(self):
        for i, b in enumerate(self.batches):
            if i == self.fail_at:
                raise RuntimeError("bad record 3 in fake.json")
            yield b


@requires_cuda
@pytest.mark.cuda
def test_cuda_prefetcher_order_content_errors_and_early_stop(records):
    batches = list(build_topdown_loader(records, 2, 0, shuffle=False, pin_memory=True))
    got = list(DevicePrefetcher(batches, "cuda"))
    assert len(got) == len(batches)
    for a, b in zip(batches, got):
        assert b.images.data.is_cuda and torch.equal(a.images.data, b.images.data.cpu())
        assert torch.equal(a.keypoints, b.keypoints.cpu()) and torch.equal(a.index, b.index.cpu())
    with pytest.raises(RuntimeError, match="bad record 3 in fake.json"):
        list(DevicePrefetcher(_Failing(batches, 1), "cuda"))
    it = iter(DevicePrefetcher(batches * 3, "cuda", max_device_batches=1))
    next(it)
    it.close()  # the background thread stops


@requires_cuda
@pytest.mark.cuda
def test_cuda_pipeline_never_synchronises(records):
    """Fed by the prefetcher, the train pipeline (MSRA targets) launches without a host-device sync."""
    pipe = TopdownBatchPipeline.from_meta(META, (48, 64), MSRAHeatmap((48, 64), (12, 16), 2.0))
    gen = torch.Generator(device="cuda").manual_seed(0)
    loader = build_topdown_loader(records, 3, 0, shuffle=False, pin_memory=True, drop_last=True)
    batches = list(DevicePrefetcher(loader, "cuda"))
    pipe(batches[0], generator=gen)  # first call builds the cached constant tensors
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for b in batches:
            out = pipe(b, generator=gen)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert out["inputs"].is_cuda and out["heatmaps"].shape[1:] == (17, 16, 12)


def test_worker_init_sets_opencv_threads_only_in_fresh_processes(monkeypatch):
    import pyposefast.datasets.pipeline as P

    calls = []
    monkeypatch.setenv("PYPOSEFAST_WORKER_NICE", "0")
    monkeypatch.setattr(P.cv2, "setNumThreads", calls.append)
    P.loader_worker_init(0)  # this process imported the module: as a spawned worker
    assert calls == [1]
    monkeypatch.setattr(P, "_IMPORT_PID", -1)  # as a forked worker: the parent's pid
    P.loader_worker_init(0)
    assert calls == [1]


def test_worker_init_lowers_the_workers_priority(monkeypatch):
    import pyposefast.datasets.pipeline as P

    nices = []
    monkeypatch.setattr(P.os, "nice", nices.append)
    monkeypatch.delenv("PYPOSEFAST_WORKER_NICE", raising=False)
    P.loader_worker_init(0)
    monkeypatch.setenv("PYPOSEFAST_WORKER_NICE", "0")
    P.loader_worker_init(0)
    monkeypatch.setenv("PYPOSEFAST_WORKER_NICE", "2")
    P.loader_worker_init(0)
    assert nices == [5, 2]
    monkeypatch.setenv("PYPOSEFAST_WORKER_NICE", "high")
    with pytest.raises(ValueError, match="PYPOSEFAST_WORKER_NICE"):
        P.loader_worker_init(0)


def test_prefetcher_several_sources_on_cpu(records):
    a = list(build_topdown_loader(records, 2, 0, shuffle=False))
    b = list(build_topdown_loader(records[:3], 3, 0, shuffle=False))
    got = list(DevicePrefetcher(a, "cpu", more_loaders=[b]))
    assert [g.index.tolist() for g in got] == [x.index.tolist() for x in a + b]
    with pytest.raises(ValueError, match="at least the number of sources"):
        DevicePrefetcher(a, "cpu", more_loaders=[b, b])  # 3 sources, 2 device batches


@requires_cuda
@pytest.mark.cuda
def test_cuda_prefetcher_several_sources(records):
    """One thread per source: every batch of every source arrives once, with its content."""
    a = list(build_topdown_loader(records, 2, 0, shuffle=False))  # pageable: pinned by the prefetcher
    b = list(build_topdown_loader(records, 3, 0, shuffle=False, pin_memory=True))
    got = list(DevicePrefetcher(a, "cuda", more_loaders=[b], max_device_batches=3))
    assert len(got) == len(a) + len(b)
    want = {(len(x), tuple(x.index.tolist())): x for x in a + b}
    seen = set()
    for g in got:
        key = (len(g), tuple(g.index.cpu().tolist()))
        assert key in want and key not in seen
        seen.add(key)
        assert torch.equal(want[key].images.data, g.images.data.cpu())
        assert torch.equal(want[key].bbox, g.bbox.cpu())


@requires_cuda
@pytest.mark.cuda
def test_nvjpeg_bgr_order(records):
    pytest.importorskip("torchvision")
    from pyposefast.datasets.pipeline import decode_jpeg_batch

    enc = next(iter(build_topdown_loader(records, 2, 0, shuffle=False, encoded=True)))
    rgb = decode_jpeg_batch(enc, "cuda")
    bgr = decode_jpeg_batch(enc, "cuda", bgr=True)
    for i in range(len(enc)):
        assert torch.equal(rgb.images.image(i).flip(-1), bgr.images.image(i))
    # BGR is OpenCV's order: much closer to its decoding than RGB (two JPEG decoders differ a little,
    # most at the synthetic figures' sharp colour edges: about 4 grey levels on average here)
    cv = cv2.imread(records[int(enc.index[0])]["img_path"], cv2.IMREAD_COLOR).astype(int)
    d_bgr = np.abs(bgr.images.image(0).cpu().numpy().astype(int) - cv).mean()
    d_rgb = np.abs(rgb.images.image(0).cpu().numpy().astype(int) - cv).mean()
    assert d_bgr < 8.0 and d_bgr < 0.5 * d_rgb
