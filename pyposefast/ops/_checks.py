"""Argument checks shared by the op wrappers: each failure names the argument."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import torch

OUTPUT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def require_tensor(name: str, value: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def require_floating(name: str, t: torch.Tensor) -> None:
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")


def require_real_or_bool(name: str, t: torch.Tensor) -> None:
    if t.is_complex():
        raise TypeError(f"{name} must be a real or bool tensor, got dtype {t.dtype}")


def require_same_device(name: str, t: torch.Tensor, ref_name: str, ref: torch.Tensor) -> None:
    if t.device != ref.device:
        raise ValueError(f"{name} is on {t.device} but {ref_name} is on {ref.device}; they must share a device")


def size_pair(name: str, value: Any) -> tuple[int, int]:
    """A (w, h)-style pair of positive ints (Python or NumPy ints; a tuple, list or array)."""
    try:
        items = list(value)
    except TypeError:
        items = None
    if isinstance(value, (str, bytes)) or items is None or len(items) != 2:
        raise ValueError(f"{name} must be a pair (w, h) of positive ints, got {value!r}")
    out = []
    for v in items:
        if isinstance(v, bool):
            raise ValueError(f"{name} must be a pair (w, h) of positive ints, got {value!r}")
        try:
            v = operator.index(v)
        except TypeError:
            raise ValueError(f"{name} must be a pair (w, h) of positive ints, got {value!r}") from None
        if v <= 0:
            raise ValueError(f"{name} must be a pair (w, h) of positive ints, got {value!r}")
        out.append(v)
    return out[0], out[1]


def positive_float(name: str, value: Any) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(f) or f <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return f


def output_dtype(name: str, dtype: Any) -> torch.dtype:
    if dtype not in OUTPUT_DTYPES:
        raise TypeError(f"{name} must be one of torch.float32, torch.float16, torch.bfloat16, got {dtype!r}")
    return dtype


def choice(name: str, value: Any, options: Sequence[str]) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value
