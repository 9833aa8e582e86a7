"""Keep the host a bounded number of training steps ahead of the GPU.

A training loop that never synchronises (a CUDA-graph step, losses read only at log time) launches
steps as fast as the host can, until the device's launch queue is full; from then on every CUDA call
that enqueues work, in any thread, waits for room in that queue. The data pipeline's thread is one of
them: on the H100 a batched nvJPEG decode of 64 images (4 ms alone) took 22-197 ms beside an
unbounded graphed ResNet-50 loop, and 5-7 ms with the loop held to 1-2 steps ahead, at the same
training rate alone (``benchmarks/nvjpeg_contention.py``; results in
``benchmarks/results/h100-pipeline-2026-11-25-session7.txt``). Two steps ahead keep one step queued
while the host prepares the next, so the GPU never idles for the host.
"""

from __future__ import annotations

from collections import deque
from typing import Deque, Optional, Union

import torch

__all__ = ["RunAheadLimit"]


class RunAheadLimit:
    """Call once after each training step is launched; it returns once at most ``max_steps`` launched
    steps are unfinished on the GPU (waiting, GIL released, for the oldest). A no-op off CUDA.

    Args:
        device (str or torch.device): the training device.
        max_steps (int): steps allowed in flight; 0 disables the limit. Defaults to 2.

    Raises:
        ValueError: ``max_steps`` < 0.
    """

    def __init__(self, device: Union[str, torch.device], max_steps: int = 2) -> None:
        if int(max_steps) < 0:
            raise ValueError(f"max_steps must be >= 0 (0: no limit), got {max_steps}")
        self.device = torch.device(device)
        self.max_steps = int(max_steps)
        self._events: Deque[torch.cuda.Event] = deque()
        self.enabled = self.max_steps > 0 and self.device.type == "cuda"

    def __call__(self, stream: Optional[torch.cuda.Stream] = None) -> None:
        """Mark the end of a launched step on ``stream`` (default: the current one) and wait while
        more than ``max_steps`` are unfinished."""
        if not self.enabled:
            return
        event = torch.cuda.Event()
        event.record(stream if stream is not None else torch.cuda.current_stream(self.device))
        self._events.append(event)
        while len(self._events) > self.max_steps:
            self._events.popleft().synchronize()

    def reset(self) -> None:
        """Forget the steps in flight (after a synchronisation, or when the loop ends)."""
        self._events.clear()

    @property
    def in_flight(self) -> int:
        """Launched steps not yet waited for (finished or not)."""
        return len(self._events)
