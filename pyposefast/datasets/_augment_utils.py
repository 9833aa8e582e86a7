"""Shared pieces of the batched augmentations: argument checks that name the argument, a per-device
cache of small constant tensors, and a batched truncated normal driven by a ``torch.Generator``."""

from __future__ import annotations

import math
import numbers
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch

Tensor = torch.Tensor


def _prob(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a probability (a number in [0, 1]), got {type(value).__name__}")
    p = float(value)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return p


def _finite(name: str, value: Any, minimum: Optional[float] = None, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    f = float(value)
    if not math.isfinite(f) or (positive and f <= 0) or (minimum is not None and f < minimum):
        if positive:
            what = "a positive finite number"
        else:
            what = f"a finite number >= {minimum}" if minimum is not None else "a finite number"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return f


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def _float_tensor(name: str, value: Any, last: Optional[int] = None, ndim: Optional[int] = None) -> Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if (ndim is not None and value.ndim != ndim) or (last is not None and (value.ndim == 0 or value.shape[-1] != last)):
        want = "[" + ", ".join(["N"] * ((ndim or 2) - 1) + [str(last) if last is not None else "..."]) + "]"
        raise ValueError(f"{name} must have shape {want}, got {tuple(value.shape)}")
    return value


def _same_rows(ref_name: str, ref: Tensor, **others: Optional[Tensor]) -> None:
    for name, t in others.items():
        if t is None:
            continue
        if t.device != ref.device:
            raise ValueError(f"{name} is on {t.device} but {ref_name} is on {ref.device}; they must share a device")
        if t.shape[0] != ref.shape[0]:
            raise ValueError(f"{name} has {t.shape[0]} rows but {ref_name} has {ref.shape[0]}; they must match")


def _check_generator(generator: Optional[torch.Generator], device: Optional[Union[str, torch.device]]) -> torch.device:
    """The device to draw on (``device``, else the generator's, else CPU), checked against the
    generator's."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if device is None:
        return generator.device if generator is not None else torch.device("cpu")
    device = torch.device(device)
    if generator is not None and generator.device.type != device.type:
        raise ValueError(f"generator is a {generator.device.type} generator but the tensors are on {device}")
    return device


def _ids(name: str, ids: Any) -> List[int]:
    if ids is None:
        raise ValueError(f"{name} is required (from the dataset's metainfo); pass it to the constructor or the call")
    if isinstance(ids, torch.Tensor):
        ids = ids.tolist()
    try:
        out = [int(i) for i in ids]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of ints, got {ids!r}") from None
    if any(isinstance(i, bool) for i in ids):
        raise TypeError(f"{name} must be a sequence of ints, got {ids!r}")
    return out


class _DeviceCache:
    """Small constant tensors (index / weight vectors) built once per (device, dtype)."""

    def __init__(self) -> None:
        self._store: Dict[Tuple, Tensor] = {}

    def get(self, key: Tuple, build) -> Tensor:
        t = self._store.get(key)
        if t is None:
            t = build()
            self._store[key] = t
        return t


# --------------------------------------------------------------------------------------------
# truncated normal
# --------------------------------------------------------------------------------------------


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def truncated_normal_from_uniform(u: Tensor, low: float = -1.0, high: float = 1.0) -> Tensor:
    """Map uniform draws ``u`` in [0, 1) to a standard normal truncated to ``[low, high]``
    (inverse CDF: ``ndtri(Phi(low) + u (Phi(high) - Phi(low)))``, clamped against rounding).

    Args:
        u (Tensor[...]): uniform draws, floating point.
        low (float): lower bound in standard deviations. Defaults to -1.
        high (float): upper bound. Defaults to 1.

    Returns:
        Tensor[...]: draws in ``[low, high]``, dtype of ``u`` (computed in at least float32).
    """
    lo, hi = _phi(low), _phi(high)
    work = u if u.dtype in (torch.float32, torch.float64) else u.float()
    x = torch.special.ndtri(lo + work * (hi - lo))
    return x.clamp(low, high).to(u.dtype)


def truncated_normal(
    shape: Sequence[int],
    low: float = -1.0,
    high: float = 1.0,
    *,
    generator: Optional[torch.Generator] = None,
    device: Optional[Union[str, torch.device]] = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Draw a standard normal truncated to ``[low, high]`` (``scipy.stats.truncnorm(low, high)``),
    batched on ``device`` by inverse CDF from one ``torch.rand`` call.

    Args:
        shape (sequence of int): output shape.
        low (float): lower bound in standard deviations. Defaults to -1.
        high (float): upper bound (> low). Defaults to 1.
        generator (torch.Generator, optional): source of the draws (on ``device``).
        device (str or torch.device, optional): defaults to the generator's device, else CPU.
        dtype (torch.dtype): floating dtype. Defaults to float32.

    Returns:
        Tensor[shape]: the draws, all in ``[low, high]``.

    Raises:
        ValueError: ``low >= high``, non-finite bounds, or a generator on another device.
    """
    low = _finite("low", low)
    high = _finite("high", high)
    if not low < high:
        raise ValueError(f"low must be smaller than high, got low={low}, high={high}")
    device = _check_generator(generator, device)
    u = torch.rand(tuple(shape), generator=generator, device=device, dtype=dtype)
    return truncated_normal_from_uniform(u, low, high)


# --------------------------------------------------------------------------------------------
# RandomBBoxTransform
# --------------------------------------------------------------------------------------------
