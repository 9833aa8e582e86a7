"""Reused shared-memory image buffers for the decode loader: no allocation, page faults or copies
per batch in the main process.

Without a pool every batch is a fresh shared-memory segment: the worker faults in (and the kernel
zeroes) every page, the main process maps it and faults again, and pinning copies it once more. With
:class:`SharedImagePool` the main process allocates ``num_slots`` slots once (and on CUDA page-locks
them with ``cudaHostRegister``); the batch sampler hands each batch a free slot, the worker decodes
into it and sends only offsets and sizes, the main process views its own mapping of the slot, and
:class:`~pyposefast.datasets.DevicePrefetcher` copies it to the device straight from the slot (an
asynchronous DMA), returning the slot when the copy's event has completed. A consumer on the CPU
returns the slot when it drops the batch's image tensor. When no slot is free (a consumer keeps many
batches) or a batch does not fit, the batch falls back to its own fresh segment: never a deadlock.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from typing import Any, Deque, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

__all__ = ["SharedImagePool", "SlotLease", "SlotBatchSampler", "PooledLoader"]


class SlotLease:
    """One batch's hold on a pool slot; released once (by the prefetcher with the copy's CUDA event,
    or when the batch's image tensor is garbage collected)."""

    def __init__(self, pool: "SharedImagePool", slot: int) -> None:
        self.pool, self.slot, self.released = pool, int(slot), False

    def release(self, event: Optional[Any] = None) -> None:
        """Give the slot back (after ``event``, a CUDA event on the copy, has completed)."""
        if not self.released:
            self.released = True
            self.pool.release(self.slot, event)


class SharedImagePool:
    """``num_slots`` shared-memory slots of ``slot_bytes`` bytes each, allocated once.

    Args:
        num_slots (int): slots (>= 1); cover the loader's outstanding batches
            (``prefetch_factor * num_workers``) plus those consumers hold.
        slot_bytes (int): bytes per slot (a batch's decoded images).
        pin (bool): page-lock the slots for asynchronous copies (``cudaHostRegister``; CUDA only).

    Attributes:
        buffer (Tensor[num_slots, slot_bytes] uint8): the slots, in shared memory.
        pinned (bool): the slots are page-locked.
    """

    def __init__(self, num_slots: int, slot_bytes: int, pin: bool = False) -> None:
        if int(num_slots) < 1 or int(slot_bytes) < 1:
            raise ValueError(f"num_slots and slot_bytes must be >= 1, got {num_slots}, {slot_bytes}")
        self.num_slots, self.slot_bytes = int(num_slots), int(slot_bytes)
        storage = torch.UntypedStorage._new_shared(self.num_slots * self.slot_bytes)
        self.buffer = torch.empty(0, dtype=torch.uint8).set_(storage, 0, (self.num_slots, self.slot_bytes),
                                                             (self.slot_bytes, 1))
        self._free: List[int] = list(range(self.num_slots))
        self._pending: Deque[Tuple[int, Any]] = deque()
        self._lock = threading.Lock()
        self.pinned = False
        if pin and torch.cuda.is_available():
            err = torch.cuda.cudart().cudaHostRegister(self.buffer.data_ptr(), self.buffer.numel(), 0)
            self.pinned = int(err) == 0  # else: pageable slots, copies still work (synchronously)
            self._unregister = weakref.finalize(self, _unregister, self.buffer.data_ptr()) if self.pinned else None

    def __getstate__(self):  # what a worker needs: the slots (shared by file descriptor)
        return {"num_slots": self.num_slots, "slot_bytes": self.slot_bytes, "buffer": self.buffer}

    def __setstate__(self, state) -> None:
        self.__dict__.update(state)
        self._free, self._pending, self._lock, self.pinned = [], deque(), threading.Lock(), False

    def acquire(self) -> Optional[int]:
        """A free slot, waiting for the oldest in-flight copy if need be; None when every slot is held
        by a batch a consumer still has (the batch then gets its own segment)."""
        with self._lock:
            while self._pending and _done(self._pending[0][1]):
                self._free.append(self._pending.popleft()[0])
            if self._free:
                return self._free.pop()
            if not self._pending:
                return None
            slot, event = self._pending.popleft()
        event.synchronize()  # a copy already queued on the device: completes on its own
        return slot

    def release(self, slot: int, event: Optional[Any] = None) -> None:
        """Return ``slot`` now, or once ``event`` has completed."""
        with self._lock:
            if event is None:
                self._free.append(int(slot))
            else:
                self._pending.append((int(slot), event))

    @property
    def num_free(self) -> int:
        """Slots free now (in-flight copies not counted)."""
        with self._lock:
            return len(self._free)

    def lease(self, slot: int) -> SlotLease:
        return SlotLease(self, slot)


def _done(event: Any) -> bool:
    return bool(event.query())


def _unregister(ptr: int) -> None:
    try:
        torch.cuda.cudart().cudaHostUnregister(ptr)
    except Exception:  # interpreter shutdown
        pass


class SlotBatchSampler(torch.utils.data.Sampler):
    """Wrap a batch sampler: each batch of indices becomes ``[(slot, i), ...]`` with a pool slot
    (or ``None``) acquired in the main process when the loader dispatches the batch."""

    def __init__(self, batch_sampler: Any, pool: SharedImagePool) -> None:
        self.batch_sampler, self.pool = batch_sampler, pool

    def __iter__(self) -> Iterator[List[Tuple[Optional[int], int]]]:
        for batch in self.batch_sampler:
            slot = self.pool.acquire()
            yield [(slot, int(i)) for i in batch]

    def __len__(self) -> int:
        return len(self.batch_sampler)


def pack_into_slot(pool: SharedImagePool, slot: Optional[int], images: Sequence[np.ndarray]):
    """Worker side: copy decoded images into ``slot``; returns (offsets [B], sizes [B, 2], channels,
    used bytes) or None when there is no slot or the images do not fit."""
    if slot is None or not images:
        return None
    arrays = [im[..., None] if im.ndim == 2 else im for im in images]
    if any(a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != arrays[0].shape[2] for a in arrays):
        return None
    sizes = np.array([[a.shape[0], a.shape[1]] for a in arrays], dtype=np.int64)
    numels = sizes[:, 0] * sizes[:, 1] * arrays[0].shape[2]
    total = int(numels.sum())
    if total > pool.slot_bytes:
        return None
    offsets = np.cumsum(numels) - numels
    flat = pool.buffer[slot].numpy()
    for a, off, n in zip(arrays, offsets.tolist(), numels.tolist()):
        np.copyto(flat[off:off + n].reshape(a.shape), a)
    return offsets, sizes, int(arrays[0].shape[2]), total


class PooledLoader:
    """The main-process side: iterates a ``DataLoader`` whose batches carry a pool slot instead of
    pixels, views the slot in this process's mapping and attaches the :class:`SlotLease`.

    Args:
        loader (DataLoader): built with ``batch_sampler=SlotBatchSampler(...)``.
        pool (SharedImagePool): the slots.
    """

    def __init__(self, loader: torch.utils.data.DataLoader, pool: SharedImagePool) -> None:
        self.loader, self.pool = loader, pool

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str) -> Any:  # dataset, batch_size, num_workers, ... of the DataLoader
        if name in ("loader", "pool"):
            raise AttributeError(name)
        return getattr(self.loader, name)

    def __iter__(self) -> Iterator[Any]:
        from .ragged import RaggedImages

        for batch in self.loader:
            slot = getattr(batch, "pool_slot", None)
            if slot is None:
                yield batch
                continue
            lease = self.pool.lease(slot)
            imgs = batch.images
            if imgs.data.numel() == 0 and len(imgs):  # the pixels are in the slot
                used = int((imgs.offsets + imgs.sizes[:, 0] * imgs.sizes[:, 1] * imgs.channels).max())
                data = self.pool.buffer[slot, :used]
                batch.images = RaggedImages(data, imgs.offsets, imgs.sizes, imgs.channels)
                weakref.finalize(data, lease.release)  # a CPU consumer: back when the batch is gone
            else:  # fell back to its own segment: the slot is free at once
                lease.release()
            batch.lease = lease
            yield batch
