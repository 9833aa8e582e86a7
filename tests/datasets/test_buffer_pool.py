"""Reused shared-memory slots for the decode loader: same batches, slots come back, no deadlock."""

import gc

import numpy as np
import pytest
import torch

from pyposefast.datasets import generate_synthetic_coco, load_coco_keypoints
from pyposefast.datasets.buffer_pool import PooledLoader, SharedImagePool, pack_into_slot
from pyposefast.datasets.pipeline import DevicePrefetcher, build_topdown_loader
from tests.conftest import requires_cuda


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("syn"))
    p = generate_synthetic_coco(root, num_train=4, num_val=1, image_size=(96, 72), seed=6, max_people=3)
    return load_coco_keypoints(p["train_ann"], p["train_img_prefix"]).records


def _same(a, b):
    assert torch.equal(a.images.data, b.images.data) and torch.equal(a.images.sizes, b.images.sizes)
    assert torch.equal(a.images.offsets, b.images.offsets) and torch.equal(a.keypoints, b.keypoints)
    assert torch.equal(a.index, b.index)


@pytest.mark.parametrize("workers", [0, 1])
def test_pooled_batches_equal_plain_batches_and_slots_return(records, workers):
    plain = list(build_topdown_loader(records, 3, 0, shuffle=False))
    pooled = build_topdown_loader(records, 3, workers, shuffle=False, reuse_buffers=True, max_image_size=(96, 72))
    assert isinstance(pooled, PooledLoader) and len(pooled) == len(plain)
    pool = pooled.pool
    n = 0
    for a, b in zip(plain, pooled):
        assert b.pool_slot is not None and b.lease is not None and not b.lease.released
        assert b.images.data.data_ptr() == pool.buffer[b.pool_slot].data_ptr()  # a view of the slot
        _same(a, b)
        n += 1
        del b
        gc.collect()
    assert n == len(plain)
    gc.collect()
    assert pool.num_free == pool.num_slots  # every slot came back


def test_consumer_keeping_every_batch_falls_back(records):
    """More batches held than slots: the extra batches get their own buffers (no deadlock)."""
    plain = list(build_topdown_loader(records, 2, 0, shuffle=False))
    kept = list(build_topdown_loader(records, 2, 0, shuffle=False, reuse_buffers=True, num_buffers=2,
                                     max_image_size=(96, 72)))
    assert len(kept) == len(plain) > 2
    assert sum(b.pool_slot is not None for b in kept) == 2
    for a, b in zip(plain, kept):
        _same(a, b)


def test_batch_larger_than_a_slot_gets_its_own_buffer(records):
    plain = list(build_topdown_loader(records, 2, 0, shuffle=False))
    small = list(build_topdown_loader(records, 2, 0, shuffle=False, reuse_buffers=True, max_image_size=(40, 40)))
    for a, b in zip(plain, small):
        assert b.lease.released  # the slot went back at once
        _same(a, b)


def test_pool_slots_and_packing():
    pool = SharedImagePool(2, 100)
    assert pool.buffer.is_shared() and pool.buffer.shape == (2, 100)
    a, b = pool.acquire(), pool.acquire()
    assert {a, b} == {0, 1} and pool.acquire() is None
    img = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    offsets, sizes, channels, used = pack_into_slot(pool, a, [img, img[:2]])
    assert used == 90 and channels == 3 and offsets.tolist() == [0, 60] and sizes.tolist() == [[4, 5], [2, 5]]
    assert np.array_equal(pool.buffer[a, :60].numpy().reshape(4, 5, 3), img)
    assert pack_into_slot(pool, b, [img, img]) is None  # 120 bytes > 100
    lease = pool.lease(a)
    lease.release()
    lease.release()  # once only
    assert pool.num_free == 1
    with pytest.raises(ValueError, match="num_slots"):
        SharedImagePool(0, 10)


@requires_cuda
@pytest.mark.cuda
def test_cuda_pooled_loader_through_prefetcher(records):
    plain = list(build_topdown_loader(records, 2, 0, shuffle=False))
    pooled = build_topdown_loader(records, 2, 1, shuffle=False, reuse_buffers=True, pin_memory=True,
                                  max_image_size=(96, 72), num_buffers=3)
    assert pooled.pool.pinned and pooled.pool.buffer.is_pinned()
    for _ in range(2):  # two epochs: slots are reused after their copies complete
        got = list(DevicePrefetcher(pooled, "cuda"))
        assert len(got) == len(plain)
        for a, b in zip(plain, got):
            assert torch.equal(a.images.data, b.images.data.cpu()) and torch.equal(a.index, b.index.cpu())
    torch.cuda.synchronize()
    assert pooled.pool.acquire() is not None


@pytest.mark.parametrize("reuse", [False, True])
def test_custom_batch_sampler(records, reuse):
    order = [[3, 0], [1], [2, 4, 0]]
    got = list(build_topdown_loader(records, 3, 0, batch_sampler=order, reuse_buffers=reuse, max_image_size=(96, 72)))
    assert [b.index.tolist() for b in got] == order
