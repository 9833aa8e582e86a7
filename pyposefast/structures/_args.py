"""Argument handling shared by ``pyposefast.structures`` and ``pyposefast.datasets.augment``:
NumPy-or-tensor dispatch, shape and value checks whose failures name the argument, and small
batched trigonometry helpers."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, Tuple, Union

import numpy as np
import torch

ArrayOrTensor = Union[np.ndarray, torch.Tensor]

FLIP_DIRECTIONS = ("horizontal", "vertical", "diagonal")
BBOX_FORMATS = ("xywh", "xyxy", "center")




def _use_torch(**arrays: Any) -> bool:
    """True when the array arguments are tensors, False when NumPy; mixing the two is a TypeError.

    ``None`` values and plain Python numbers / sequences are ignored (they go with either kind).
    """
    tensors = [k for k, v in arrays.items() if isinstance(v, torch.Tensor)]
    if not tensors:
        return False
    arrays_np = [k for k, v in arrays.items() if isinstance(v, np.ndarray)]
    if arrays_np:
        raise TypeError(
            f"{tensors[0]} is a torch.Tensor but {arrays_np[0]} is a numpy.ndarray; pass all array "
            "arguments as tensors or all as NumPy arrays"
        )
    dev = arrays[tensors[0]].device
    for k in tensors[1:]:
        if arrays[k].device != dev:
            raise ValueError(f"{k} is on {arrays[k].device} but {tensors[0]} is on {dev}; they must share a device")
    return True


def _np_array(name: str, value: Any) -> np.ndarray:
    """A real numeric ndarray from an ndarray or a (nested) list / tuple of numbers."""
    if isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, (list, tuple, numbers.Real, np.generic)) and not isinstance(value, bool):
        arr = np.asarray(value)
    else:
        raise TypeError(f"{name} must be a numpy.ndarray or a torch.Tensor, got {type(value).__name__}")
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers (int or float), got dtype {arr.dtype}")
    return arr


def _tensor(name: str, value: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dtype == torch.bool or value.is_complex():
        raise TypeError(f"{name} must hold real numbers (int or float), got dtype {value.dtype}")
    return value


def _array(name: str, value: Any, use_torch: bool) -> ArrayOrTensor:
    return _tensor(name, value) if use_torch else _np_array(name, value)


def _last_dim(name: str, x: ArrayOrTensor, size: int, at_least: bool = False, min_ndim: int = 1) -> None:
    ok = x.ndim >= min_ndim and (x.shape[-1] >= size if at_least else x.shape[-1] == size)
    if not ok:
        want = f"(..., {size}{' or more' if at_least else ''})"
        if min_ndim > 1:
            want = f"{want} with at least {min_ndim} dims"
        raise ValueError(f"{name} must have shape {want}, got {tuple(x.shape)}")


def _float_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """The promoted floating dtype of ``tensors`` (the default dtype when they are all integer)."""
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = torch.promote_types(dt, t.dtype)
    return dt if dt.is_floating_point else torch.get_default_dtype()


def _number(name: str, value: Any, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.generic)):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        else:
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    f = float(value)
    if not math.isfinite(f) or (positive and f <= 0):
        raise ValueError(f"{name} must be a {'positive ' if positive else ''}finite number, got {value!r}")
    return f


def _pair(name: str, value: Any) -> Tuple[float, float]:
    """A Python pair of finite numbers from a tuple, list or 2-element NumPy array."""
    if isinstance(value, torch.Tensor) or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a pair of numbers, got {type(value).__name__}")
    try:
        items = list(np.asarray(value).reshape(-1)) if isinstance(value, np.ndarray) else list(value)
    except TypeError:
        raise TypeError(f"{name} must be a pair of numbers, got {type(value).__name__}") from None
    if len(items) != 2:
        raise ValueError(f"{name} must be a pair of two numbers, got {value!r}")
    return _number(name, items[0]), _number(name, items[1])


def _wh(name: str, value: Any, use_torch: bool, like: ArrayOrTensor):
    """A ``(w, h)`` size: Python floats for a pair, or arrays ``[...]`` for a ``[..., 2]`` array.

    Arrays are cast to ``like``'s floating dtype (NumPy: only when ``like`` is floating, so that
    MMPose's dtypes survive) and keep their leading shape (the caller adds broadcast axes).
    """
    if isinstance(value, torch.Tensor) or (isinstance(value, np.ndarray) and value.ndim >= 2):
        arr = _array(name, value, use_torch)
        _last_dim(name, arr, 2)
        if use_torch:
            arr = arr.to(like.dtype if like.is_floating_point() else _float_dtype(arr))
        elif like.dtype.kind == "f":
            arr = arr.astype(like.dtype, copy=False)
        return arr[..., 0], arr[..., 1]
    return _pair(name, value)


def _rot_value(name: str, rot: Any, dtype: torch.dtype, device: torch.device) -> Union[float, torch.Tensor]:
    """A rotation for the tensor path: a tensor on ``device`` or a Python float (no copy to it)."""
    if isinstance(rot, torch.Tensor):
        _tensor(name, rot)
        if rot.device != device:
            raise ValueError(f"{name} is on {rot.device} but center is on {device}; they must share a device")
        return rot if rot.is_floating_point() else rot.to(dtype)  # callers cast (MMPose rounding needs its dtype)
    if isinstance(rot, np.ndarray) and rot.ndim > 0:
        raise TypeError(f"{name} must be a number or a torch.Tensor when center is a tensor, got numpy.ndarray")
    return _number(name, rot)


def _cos_sin(rot_deg: Union[float, torch.Tensor]):
    if isinstance(rot_deg, torch.Tensor):
        theta = torch.deg2rad(rot_deg)
        return torch.cos(theta), torch.sin(theta)
    theta = math.radians(rot_deg)
    return math.cos(theta), math.sin(theta)


def _broadcast_batch(names: Sequence[str], shapes: Sequence[Tuple[int, ...]]) -> Tuple[int, ...]:
    try:
        return tuple(torch.broadcast_shapes(*shapes))
    except RuntimeError:
        desc = ", ".join(f"{n} {tuple(s)}" for n, s in zip(names, shapes))
        raise ValueError(f"batch shapes do not broadcast: {desc}") from None


def _choice(name: str, value: Any, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value
