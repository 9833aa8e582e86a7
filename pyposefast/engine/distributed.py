"""Process-group helpers for training under ``torchrun``: one process per device, NCCL on GPUs and
gloo on CPUs; everything degrades to a single process when ``WORLD_SIZE`` is unset or 1.

``torchrun`` sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` (and the rendezvous address); the
trainer calls :func:`init_distributed` once, which starts the process group from them.
"""

from __future__ import annotations

import os
from typing import Any, List, Optional, Union

import torch
import torch.distributed as dist

__all__ = ["init_distributed", "is_distributed", "get_rank", "get_world_size", "is_main_process", "barrier",
           "all_gather_objects", "broadcast_object", "default_device", "all_reduce_mean"]


def is_distributed() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    """This process's rank (0 when not distributed)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_world_size() -> int:
    """Number of processes (1 when not distributed)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """Rank 0: the only process that writes files and logs."""
    return get_rank() == 0


def default_device(device: Optional[Union[str, torch.device]] = None) -> torch.device:
    """``device`` if given; else ``cuda:<LOCAL_RANK>`` when CUDA is available, else the CPU."""
    if device is not None:
        dev = torch.device(device)
        if dev.type == "cuda" and dev.index is None and "LOCAL_RANK" in os.environ:
            dev = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def init_distributed(device: torch.device, timeout_s: float = 1800.0) -> bool:
    """Start the process group from ``torchrun``'s environment when ``WORLD_SIZE`` > 1.

    Args:
        device (torch.device): this process's device; CUDA selects NCCL (and sets the current
            device), anything else gloo. The environment variable ``PYPOSEFAST_DIST_BACKEND``
            (``nccl`` or ``gloo``) overrides the choice, e.g. gloo for several processes sharing
            one GPU (NCCL refuses two ranks on one device).
        timeout_s (float): collective timeout in seconds.

    Returns:
        bool: True when this process is part of a multi-process group (already initialised or
        started here).
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return False
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but torch.distributed is not available in this build of torch")
    import datetime

    backend = os.environ.get("PYPOSEFAST_DIST_BACKEND") or ("nccl" if device.type == "cuda" else "gloo")
    if backend not in ("nccl", "gloo"):
        raise ValueError(f"PYPOSEFAST_DIST_BACKEND must be 'nccl' or 'gloo', got {backend!r}")
    if backend == "nccl" and device.type != "cuda":
        raise ValueError(f"the nccl backend needs CUDA devices, got {device}")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout_s))
    return True


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if is_distributed():
        dist.barrier()


def all_gather_objects(obj: Any) -> List[Any]:
    """Every rank's ``obj`` (picklable), in rank order; ``[obj]`` when not distributed."""
    if not is_distributed():
        return [obj]
    out: List[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank ``src``'s ``obj`` on every rank."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def all_reduce_mean(t: torch.Tensor) -> torch.Tensor:
    """The mean of ``t`` over the ranks (a new tensor; ``t`` itself when not distributed)."""
    if not is_distributed():
        return t
    t = t.detach().clone()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t / dist.get_world_size()
