"""Small constant tensors on a device, made once and reused.

Codecs and ops need a few per-call constants on the data's device (scale factors, flip
permutations, per-channel mean/std). ``torch.tensor(values, device='cuda')`` copies from pageable
host memory on every call: a stream synchronisation, and illegal while a CUDA graph is captured.
:func:`device_constant` makes each distinct constant once per (values, dtype, device) and returns
the cached tensor afterwards, so after a first (warm-up) call nothing reaches the host. The cached
tensors are made outside inference mode (usable in autograd even when the first call ran under
``torch.inference_mode``) and are shared: never modify one in place. Under ``torch.compile`` a fresh
tensor is returned (traced as a constant).
"""

from __future__ import annotations

import functools
from typing import Sequence, Union

import numpy as np
import torch

__all__ = ["device_constant"]


@functools.lru_cache(maxsize=256)
def _cached(values: tuple, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    with torch.inference_mode(False):
        return torch.tensor(values, dtype=dtype, device=device)


def device_constant(values: Union[Sequence[float], np.ndarray], dtype: torch.dtype,
                    device: Union[str, torch.device]) -> torch.Tensor:
    """A 1-D constant tensor of ``values`` with ``dtype`` on ``device`` (cached; see the module doc).

    Args:
        values (sequence or ndarray): the values (flattened).
        dtype (torch.dtype): the tensor's dtype. device (str or torch.device): its device.

    Returns:
        Tensor[len(values)]: shared, read-only by convention.
    """
    if torch.compiler.is_compiling():
        return torch.tensor(list(values) if isinstance(values, (tuple, list)) else values, dtype=dtype,
                            device=device).reshape(-1)
    flat = tuple(np.asarray(values).reshape(-1).tolist())
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return _cached(flat, dtype, device)
