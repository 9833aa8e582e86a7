"""How many hardware work queues CUDA gives this process's streams (``CUDA_DEVICE_MAX_CONNECTIONS``).

The driver maps every CUDA stream onto one of N hardware queues (8 unless the variable says
otherwise, 32 at most); work of streams that share a queue runs in launch order, as if on one
stream. A training step on one stream and the data pipeline's copies and nvJPEG decodes on others
then wait for each other's kernels. nvJPEG's hardware backend waits on the host for its copies
before it starts the JPEG engines, so each decode call waited for the training work queued ahead of
it. Measured on the H100 (``benchmarks/results/h100-pipeline-2026-11-25-session7.txt``): ResNet-50
fed by nvJPEG, decode 15.4 ms per batch of 64 and 17.5% below the model-alone rate with 8 queues;
3.9 ms and 3.1% with 32; training alone the same (3,015 vs 3,016 samples/s).

Importing pyposefast therefore sets the variable to 32 when the process has not set it and CUDA is
not initialised yet (the driver reads it when the context is created). A value the user set is kept.
"""

from __future__ import annotations

import os
import sys

__all__ = ["ENV", "WANTED", "configure", "queues_limited"]

ENV = "CUDA_DEVICE_MAX_CONNECTIONS"
WANTED = 32

_state = {"initialized_before": False}


def configure() -> bool:
    """Set ``CUDA_DEVICE_MAX_CONNECTIONS=32`` unless it is set or CUDA is initialised; True if set."""
    if ENV in os.environ:
        return False
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        _state["initialized_before"] = True
        return False
    os.environ[ENV] = str(WANTED)
    return True


def queues_limited() -> bool:
    """Whether this process's CUDA context may run with fewer than 32 hardware queues: the variable
    is unset, set lower, or was set only after CUDA had been initialised."""
    try:
        value = int(os.environ.get(ENV, "8"))
    except ValueError:
        return True
    return value < WANTED or _state["initialized_before"]
