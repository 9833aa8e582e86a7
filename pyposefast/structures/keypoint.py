"""Keypoint flips and affine maps, MMPose 1.x names and numbers.

Symbols: N instances (any leading shape ``...``), K keypoints, D coordinates per keypoint (the
first two are (x, y) in pixels; further ones are carried unchanged), image size ``(W, H)``, model
input size ``(w, h)``. NumPy in, NumPy out (MMPose's dtypes); tensors in, tensors out on the same
device, differentiable, with no host sync.
"""

from __future__ import annotations

import numbers
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .bbox import _invert64, _matrices
from ._args import (
    FLIP_DIRECTIONS,
    ArrayOrTensor,
    _array,
    _broadcast_batch,
    _choice,
    _float_dtype,
    _last_dim,
    _pair,
    _use_torch,
    _wh,
)

__all__ = ["flip_keypoints", "transform_keypoints", "keypoints_to_image", "keypoints_to_image_affine"]


def _flip_index(flip_indices: Any, num_keypoints: int, t: bool, device) -> Union[np.ndarray, torch.Tensor]:
    """flip_indices as an int64 index of length K (values checked unless given as a tensor)."""
    if isinstance(flip_indices, torch.Tensor):
        if not t:
            raise TypeError("flip_indices is a torch.Tensor but keypoints is a numpy.ndarray")
        if flip_indices.dtype.is_floating_point or flip_indices.dtype == torch.bool or flip_indices.ndim != 1:
            raise ValueError(
                f"flip_indices must be a 1-D integer tensor, got {flip_indices.dtype} {tuple(flip_indices.shape)}"
            )
        if flip_indices.numel() != num_keypoints:
            raise ValueError(f"flip_indices has {flip_indices.numel()} entries but keypoints has K={num_keypoints}")
        return flip_indices.to(device=device, dtype=torch.long)  # values not checked: that would sync
    if isinstance(flip_indices, (str, bytes)):
        raise TypeError(f"flip_indices must be a sequence of ints, got {type(flip_indices).__name__}")
    if isinstance(flip_indices, (list, tuple)):
        # plain Python (no NumPy), so that torch.compile traces it as constants
        items = list(flip_indices)
        if not all(isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in items):
            raise ValueError(f"flip_indices must be a 1-D sequence of ints, got {flip_indices!r}")
        if len(items) != num_keypoints:
            raise ValueError(f"flip_indices has {len(items)} entries but keypoints has K={num_keypoints}")
        if any(not 0 <= i < num_keypoints for i in items):
            raise ValueError(f"flip_indices must lie in [0, {num_keypoints}), got {flip_indices!r}")
        items = [int(i) for i in items]
        return torch.tensor(items, dtype=torch.long, device=device) if t else np.asarray(items, dtype=np.int64)
    try:
        idx = np.asarray(flip_indices)
    except Exception:  # noqa: BLE001
        raise TypeError(f"flip_indices must be a sequence of ints, got {type(flip_indices).__name__}") from None
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise ValueError(f"flip_indices must be a 1-D sequence of ints, got {flip_indices!r}")
    if idx.size != num_keypoints:
        raise ValueError(f"flip_indices has {idx.size} entries but keypoints has K={num_keypoints}")
    if idx.size and (idx.min() < 0 or idx.max() >= num_keypoints):
        raise ValueError(f"flip_indices must lie in [0, {num_keypoints}), got {flip_indices!r}")
    idx = idx.astype(np.int64)
    return torch.from_numpy(idx).to(device) if t else idx


def _keypoints(name: str, keypoints: Any, t: bool) -> ArrayOrTensor:
    kp = _array(name, keypoints, t)
    _last_dim(name, kp, 2, at_least=True, min_ndim=2)
    return kp


def flip_keypoints(
    keypoints: ArrayOrTensor,
    keypoints_visible: Optional[ArrayOrTensor],
    image_size: Union[Tuple[float, float], ArrayOrTensor],
    flip_indices: Union[Sequence[int], np.ndarray, torch.Tensor],
    direction: str = "horizontal",
    mask: Optional[ArrayOrTensor] = None,
) -> Tuple[ArrayOrTensor, Optional[ArrayOrTensor]]:
    """Mirror keypoints in an image of size ``(W, H)`` (MMPose's ``flip_keypoints``).

    ``'horizontal'``: permute keypoints and visibility by ``flip_indices`` (left <-> right), then
    ``x -> W - 1 - x``. ``'vertical'``: permute, then ``y -> H - 1 - y``. ``'diagonal'``: both
    coordinate flips and *no* permutation (a 180-degree rotation keeps left and right).

    Args:
        keypoints (ndarray or Tensor [..., K, D]): (x, y, ...) in image pixels, D >= 2; columns
            after the first two are permuted but not mirrored.
        keypoints_visible (ndarray or Tensor [..., K] or [..., K, C], optional): visibility,
            permuted with the keypoints. ``None`` returns ``None`` (MMPose's code fails there).
        image_size (tuple or ndarray or Tensor [..., 2]): (W, H), one pair for all or one per
            instance (e.g. ``[N, 2]`` for ``[N, K, D]`` keypoints).
        flip_indices (sequence of int or Tensor [K]): the index of each keypoint's mirror twin.
            A Python sequence is copied to the keypoints' device on every call (on CUDA a
            synchronizing copy); in a hot loop pass an int64 tensor already on the device
            (``RandomFlip`` keeps one per device).
        direction (str): ``'horizontal'``, ``'vertical'`` or ``'diagonal'``.
        mask (ndarray or Tensor [...] of bool, optional): flip only the instances where True
            (the rest are returned unchanged). ``None`` flips all.

    Returns:
        tuple: ``(keypoints, keypoints_visible)``, new arrays of the input shapes. NumPy dtypes
        follow MMPose (float32 stays float32, except ``'diagonal'`` whose pair arithmetic promotes
        to float64 as in MMPose); tensors keep their dtype.

    Raises:
        TypeError: wrong array kinds or dtypes, NumPy mixed with tensors.
        ValueError: bad ``direction``, shapes that disagree (``keypoints_visible`` or ``mask`` vs
            ``keypoints``), or ``flip_indices`` of the wrong length or out of range.
    """
    _choice("direction", direction, FLIP_DIRECTIONS)
    t = _use_torch(keypoints=keypoints, keypoints_visible=keypoints_visible, image_size=image_size, mask=mask)
    kp = _keypoints("keypoints", keypoints, t)
    lead, K = tuple(kp.shape[:-2]), kp.shape[-2]
    vis = None
    if keypoints_visible is not None:
        vis = keypoints_visible if _is_bool(keypoints_visible) else _array("keypoints_visible", keypoints_visible, t)
        if tuple(vis.shape[: kp.ndim - 1]) != tuple(kp.shape[:-1]) or vis.ndim > kp.ndim:
            raise ValueError(
                f"keypoints_visible must have shape {tuple(kp.shape[:-1])} or {tuple(kp.shape[:-1])} + (C,) to "
                f"match keypoints {tuple(kp.shape)}, got {tuple(vis.shape)}"
            )
    if mask is not None:
        if not _is_bool(mask):
            raise TypeError(f"mask must be a bool ndarray / tensor, got {getattr(mask, 'dtype', type(mask).__name__)}")
        if tuple(mask.shape) != lead:
            raise ValueError(f"mask must have shape {lead} (keypoints' leading shape), got {tuple(mask.shape)}")
    w, h = _wh("image_size", image_size, t, kp)
    if not isinstance(w, float):
        _broadcast_batch(["keypoints", "image_size"], [lead, tuple(w.shape)])
        w, h = w[..., None], h[..., None]
    axis = kp.ndim - 2

    if direction != "diagonal":
        idx = _flip_index(flip_indices, K, t, kp.device if t else None)
        kp_f = kp.index_select(axis, idx) if t else kp.take(idx, axis=axis)
        vis_f = None
        if vis is not None:
            vis_f = vis.index_select(axis, idx) if t else vis.take(idx, axis=axis)
    else:
        _flip_index(flip_indices, K, t, kp.device if t else None)  # checked all the same
        kp_f, vis_f = kp, vis
        if not t:
            # MMPose computes ``[w, h] - keypoints - 1``: the int64 pair promotes float32 keypoints
            # to float64 (as coded), so the arithmetic and the result are float64
            kp_f = kp.astype(np.result_type(np.asarray(image_size), kp.dtype), copy=False)

    x, y = kp_f[..., 0], kp_f[..., 1]
    # MMPose's order of operations, for bit-equal results: (w - 1) - x for one axis,
    # ([w, h] - xy) - 1 for 'diagonal'
    if direction == "horizontal":
        x = w - 1 - x
    elif direction == "vertical":
        y = h - 1 - y
    else:
        x, y = w - x - 1, h - y - 1
    if t:
        dt = kp.dtype
        x, y = torch.broadcast_tensors(x, y)
        kp_f = torch.cat([x.to(dt)[..., None], y.to(dt)[..., None], kp_f[..., 2:].expand(*x.shape, -1)], dim=-1)
    else:
        dt = kp_f.dtype  # the other directions write into a copy of the keypoints (dtype kept)
        x, y = np.broadcast_arrays(x, y)
        rest = np.broadcast_to(kp_f[..., 2:], x.shape + (kp.shape[-1] - 2,))
        kp_f = np.concatenate([x[..., None], y[..., None], rest], axis=-1).astype(dt, copy=False)

    if mask is not None:
        where = torch.where if t else np.where
        kp_f = where(mask.reshape(lead + (1, 1)), kp_f, kp)
        if vis is not None:
            vis_f = where(mask.reshape(lead + (1,) * (vis.ndim - len(lead))), vis_f, vis)
    elif vis_f is not None and vis_f is vis:
        vis_f = vis.clone() if t else vis.copy()
    return kp_f, vis_f


def _is_bool(x: Any) -> bool:
    if isinstance(x, torch.Tensor):
        return x.dtype == torch.bool
    return isinstance(x, np.ndarray) and x.dtype == np.bool_


def _transform64(kp: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """(x, y) -> M (x, y, 1) for kp [..., K, D] and m [..., 2, 3] (leading shapes broadcast)."""
    x, y = kp[..., 0], kp[..., 1]
    m = m[..., None, :, :]  # one matrix for all K keypoints
    nx = m[..., 0, 0] * x + m[..., 0, 1] * y + m[..., 0, 2]
    ny = m[..., 1, 0] * x + m[..., 1, 1] * y + m[..., 1, 2]
    nx, ny = torch.broadcast_tensors(nx, ny)
    rest = kp[..., 2:].expand(*nx.shape, kp.shape[-1] - 2)
    return torch.cat([nx[..., None], ny[..., None], rest.to(nx.dtype)], dim=-1)


def _kp_and_matrices(keypoints, matrices):
    t = _use_torch(keypoints=keypoints, matrices=matrices)
    kp = _keypoints("keypoints", keypoints, t)
    m = _matrices("matrices", matrices, t)
    _broadcast_batch(["keypoints", "matrices"], [tuple(kp.shape[:-2]), tuple(m.shape[:-2])])
    return t, kp, m


def _apply(t: bool, kp, m, invert: bool):
    if t:
        dt = _float_dtype(kp, m)
        if invert:
            m = _invert64(m.to(torch.float64))
            return _transform64(kp.to(torch.float64), m).to(dt)
        return _transform64(kp.to(dt), m.to(dt))
    # NumPy: float64 math, then kp's floating dtype (cv2.transform keeps the source depth)
    dt = kp.dtype if kp.dtype.kind == "f" else np.dtype(np.float64)
    kp64 = torch.from_numpy(np.asarray(kp, dtype=np.float64))
    m64 = torch.from_numpy(np.asarray(m, dtype=np.float64))
    if invert:
        m64 = _invert64(m64)
    return _transform64(kp64, m64).numpy().astype(dt, copy=False)


def transform_keypoints(keypoints: ArrayOrTensor, matrices: ArrayOrTensor) -> ArrayOrTensor:
    """Apply affine matrices to keypoints: ``(x, y) -> M (x, y, 1)`` (what ``cv2.transform`` does
    in ``TopdownAffine``; only the first two columns change).

    Args:
        keypoints (ndarray or Tensor [..., K, D]): (x, y, ...) in source pixels, D >= 2.
        matrices (ndarray or Tensor [..., 2, 3] or [2, 3]): one matrix per instance (leading shapes
            broadcast, so one (2, 3) matrix serves every instance, as in MMPose).

    Returns:
        ndarray or Tensor [..., K, D]: transformed keypoints. NumPy: computed in float64, returned
        in the keypoints' floating dtype (float64 for integer input). Tensors: the promoted
        floating dtype of both arguments; differentiable in both.

    Raises:
        ValueError: ``keypoints`` not ``[..., K, D>=2]``, ``matrices`` not ``[..., 2, 3]``, or
            leading shapes that do not broadcast.
    """
    t, kp, m = _kp_and_matrices(keypoints, matrices)
    return _apply(t, kp, m, invert=False)


def keypoints_to_image_affine(keypoints: ArrayOrTensor, matrices: ArrayOrTensor) -> ArrayOrTensor:
    """Map keypoints from the model input back to the image with the exact inverse of the forward
    warp matrices (right for rotated crops, unlike :func:`keypoints_to_image`).

    The inverse is computed as in :func:`pyposefast.structures.invert_affine` (float64; a singular
    or non-finite matrix inverts to zeros, so its keypoints land on (0, 0)).

    Args:
        keypoints (ndarray or Tensor [..., K, D]): (x, y, ...) in model-input pixels.
        matrices (ndarray or Tensor [..., 2, 3]): the forward (image -> input) warp matrices.

    Returns:
        ndarray or Tensor [..., K, D]: (x, y, ...) in image pixels, computed in float64 and
        returned in the keypoints' (tensors: promoted) floating dtype.
    """
    t, kp, m = _kp_and_matrices(keypoints, matrices)
    return _apply(t, kp, m, invert=True)


def keypoints_to_image(
    keypoints: ArrayOrTensor,
    input_size: Union[Tuple[float, float], ArrayOrTensor],
    input_center: ArrayOrTensor,
    input_scale: ArrayOrTensor,
) -> ArrayOrTensor:
    """MMPose's linear map from model input to image pixels
    (``TopdownPoseEstimator.add_pred_to_datasample``)::

        kp / [w, h] * input_scale + input_center - 0.5 * input_scale

    Exact for the unrotated, aspect-fixed ``get_warp_matrix`` crop; use
    :func:`keypoints_to_image_affine` for rotated crops or the UDP matrix.

    Args:
        keypoints (ndarray or Tensor [..., K, D]): (x, y, ...) in model-input pixels.
        input_size (tuple or ndarray or Tensor [..., 2]): model input (w, h).
        input_center (ndarray or Tensor [2] or [..., 2]): crop centre (x, y) in image pixels, one
            for all or one per instance.
        input_scale (ndarray or Tensor [2] or [..., 2]): crop size (w, h) in image pixels.

    Returns:
        ndarray or Tensor [..., K, D]: (x, y, ...) in image pixels. NumPy: computed in float64 and
        returned in the keypoints' floating dtype (MMPose writes the float64 result back into its
        float32 keypoints). Tensors: the promoted floating dtype; differentiable.

    Raises:
        ValueError: shapes that are not ``[..., 2]`` or do not broadcast.
    """
    t = _use_torch(keypoints=keypoints, input_size=input_size, input_center=input_center, input_scale=input_scale)
    kp = _keypoints("keypoints", keypoints, t)
    c = _array("input_center", input_center, t)
    s = _array("input_scale", input_scale, t)
    _last_dim("input_center", c, 2)
    _last_dim("input_scale", s, 2)
    lead = tuple(kp.shape[:-2])
    for name, arr in (("input_center", c), ("input_scale", s)):
        if arr.ndim > 1:
            _broadcast_batch(["keypoints", name], [lead, tuple(arr.shape[:-1])])
    if t:
        dt = _float_dtype(kp, c, s)
        kp, c, s = kp.to(dt), c.to(dt), s.to(dt)
        if isinstance(input_size, torch.Tensor):
            size = _array("input_size", input_size, t).to(dt)
            _last_dim("input_size", size, 2)
            w, h = size[..., 0], size[..., 1]
            if size.ndim > 1:
                w, h = w[..., None], h[..., None]
        else:
            w, h = _pair("input_size", input_size)  # Python floats: nothing to copy to the device
    else:
        dt = kp.dtype if kp.dtype.kind == "f" else np.dtype(np.float64)
        size = np.asarray(input_size, dtype=np.float64)
        if size.ndim < 1 or size.shape[-1] != 2:
            raise ValueError(f"input_size must be a pair (w, h) or have shape (..., 2), got {input_size!r}")
        w, h = size[..., 0], size[..., 1]
        if size.ndim > 1:
            w, h = w[..., None], h[..., None]
        c, s = c.astype(np.float64), s.astype(np.float64)
        kp = kp.astype(np.float64)
    # one centre / scale per instance: add the K axis
    c = c[..., None, :] if c.ndim > 1 else c
    s = s[..., None, :] if s.ndim > 1 else s
    # MMPose's order of operations: kp / [w, h] * scale + center - 0.5 * scale
    x = kp[..., 0] / w * s[..., 0] + c[..., 0] - 0.5 * s[..., 0]
    y = kp[..., 1] / h * s[..., 1] + c[..., 1] - 0.5 * s[..., 1]
    if t:
        x, y = torch.broadcast_tensors(x, y)
        rest = kp[..., 2:].expand(*x.shape, kp.shape[-1] - 2)
        return torch.cat([x[..., None], y[..., None], rest], dim=-1)
    x, y = np.broadcast_arrays(x, y)
    rest = np.broadcast_to(kp[..., 2:], x.shape + (kp.shape[-1] - 2,))
    return np.concatenate([x[..., None], y[..., None], rest], axis=-1).astype(dt, copy=False)
