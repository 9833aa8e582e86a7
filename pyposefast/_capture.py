"""Keeping pyposefast's own data-loading work out of CUDA-graph captures.

pyposefast captures CUDA graphs in ``thread_local`` mode (``StaticGraph``, ``GraphedTrainStep``)
while ``DevicePrefetcher`` threads may be copying or decoding the next batch. CUDA allows other
threads' calls during such a capture, but a call that synchronises the device (freeing page-locked
or device memory, a synchronous copy) invalidates it. The gate makes captures and the prefetchers'
copies mutually exclusive: copies from several threads run together, a capture waits until none is
in flight and holds new ones back until it ends. A capture costs milliseconds and happens once per
batch shape, so the copies hardly ever wait.
"""

import contextlib
import threading
from typing import Iterator


class CaptureGate:
    """Many concurrent copiers or one capture (a readers-writer gate; re-entrant for captures)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._copies = 0
        self._captures = 0

    @contextlib.contextmanager
    def copying(self) -> Iterator[None]:
        """Around a prefetcher's host-to-device copy / decode: waits while a capture runs."""
        with self._cond:
            while self._captures:
                self._cond.wait()
            self._copies += 1
        try:
            yield
        finally:
            with self._cond:
                self._copies -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def capturing(self) -> Iterator[None]:
        """Around a graph capture: waits for the copies in flight, holds new ones back."""
        with self._cond:
            self._captures += 1
            while self._copies:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._captures -= 1
                self._cond.notify_all()


capture_gate = CaptureGate()
