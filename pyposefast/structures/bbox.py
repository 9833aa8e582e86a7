"""Bounding-box conversions and the top-down affine matrices, MMPose 1.x names and numbers.

Symbols: N instances (any leading batch shape ``...`` is accepted where a shape says ``...``),
input image size ``(W, H)``, model input / output size ``(w, h)``. Points are ``(x, y)`` in pixels;
sizes are ``(w, h)``; a box is ``xyxy`` = (left, top, right, bottom) or ``xywh`` = (left, top,
width, height); ``center`` = (cx, cy) and ``scale`` = (sw, sh) is the box's size in pixels (MMPose's
"scale", not a ratio). Rotations are in degrees.

Every function takes NumPy arrays (and returns NumPy, with MMPose's dtypes and single / batched
shapes) or ``torch.Tensor`` s (returns tensors on the same device, differentiable, no host sync,
no branching on tensor values). NumPy and tensors cannot be mixed in one call; plain Python numbers
and pairs are fine wherever a scalar or a ``(w, h)`` pair is expected.

The warp matrices are closed forms of what MMPose computes with ``cv2.getAffineTransform`` on three
point pairs (ALGORITHMS.md (d)). MMPose rounds those points to float32 before solving, so its
matrices carry float32-sized errors (about 1e-7 relative, more for boxes far from the origin).
``get_warp_matrix`` reproduces that rounding for NumPy input (MMPose's numbers to ~1e-12) and uses
the exact closed form for tensors; its ``mmpose_rounding`` argument picks either for either.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import numpy as np
import torch

from ._args import (  # noqa: F401  (re-exported for keypoint.py and augment.py)
    BBOX_FORMATS,
    FLIP_DIRECTIONS,
    ArrayOrTensor,
    _use_torch,
    _np_array,
    _tensor,
    _array,
    _last_dim,
    _float_dtype,
    _number,
    _pair,
    _wh,
    _rot_value,
    _cos_sin,
    _broadcast_batch,
    _choice,
)

__all__ = [
    "bbox_xyxy2cs",
    "bbox_xywh2cs",
    "bbox_cs2xyxy",
    "bbox_cs2xywh",
    "bbox_xyxy2xywh",
    "bbox_xywh2xyxy",
    "fix_aspect_ratio",
    "flip_bbox",
    "get_warp_matrix",
    "get_udp_warp_matrix",
    "compose_horizontal_flip",
    "invert_affine",
]

# --------------------------------------------------------------------------------------------
# box formats
# --------------------------------------------------------------------------------------------


def _padding(padding: Any, use_torch: bool):
    if use_torch and isinstance(padding, torch.Tensor):
        return padding  # broadcast as given (e.g. [N, 1]); no value check (it would sync)
    return _number("padding", padding, positive=True)


def _bbox_and_padding(bbox: Any, padding: Any) -> Tuple[ArrayOrTensor, Any]:
    """Checked ``[..., 4]`` box array/tensor (integer tensors promoted to float) and padding."""
    t = _use_torch(bbox=bbox)
    bbox = _array("bbox", bbox, t)
    _last_dim("bbox", bbox, 4)
    padding = _padding(padding, t)
    if t and not bbox.is_floating_point():
        bbox = bbox.to(_float_dtype(bbox))
    return bbox, padding


def bbox_xyxy2cs(bbox: ArrayOrTensor, padding: float = 1.0) -> Tuple[ArrayOrTensor, ArrayOrTensor]:
    """Box ``(x1, y1, x2, y2)`` to ``center = ((x1 + x2) / 2, (y1 + y2) / 2)`` and
    ``scale = (x2 - x1, y2 - y1) * padding``, MMPose's ``bbox_xyxy2cs``.

    Note the default ``padding=1.0`` is the function's; ``GetBBoxCenterScale`` uses 1.25.

    Args:
        bbox (ndarray or Tensor [..., 4]): (left, top, right, bottom) in pixels. MMPose takes
            (4,) or (n, 4); any leading shape works here.
        padding (float or Tensor): factor multiplied into the scale (a tensor broadcasts against
            ``[..., 2]``). Defaults to 1.0.

    Returns:
        tuple: ``center`` and ``scale``, each ``[..., 2]`` (x, y) / (w, h) in pixels, NumPy dtype as
        NumPy's arithmetic gives (float32 stays float32), tensors in the promoted floating dtype.

    Raises:
        TypeError: ``bbox`` is not an array / tensor of real numbers.
        ValueError: ``bbox``'s last dimension is not 4, or ``padding`` is not a positive number.
    """
    bbox, padding = _bbox_and_padding(bbox, padding)
    scale = (bbox[..., 2:4] - bbox[..., 0:2]) * padding
    center = (bbox[..., 2:4] + bbox[..., 0:2]) * 0.5
    return center, scale


def bbox_xywh2cs(bbox: ArrayOrTensor, padding: float = 1.0) -> Tuple[ArrayOrTensor, ArrayOrTensor]:
    """Box ``(x, y, w, h)`` to ``center = (x + w / 2, y + h / 2)`` and ``scale = (w, h) * padding``,
    MMPose's ``bbox_xywh2cs``.

    Args:
        bbox (ndarray or Tensor [..., 4]): (left, top, width, height) in pixels.
        padding (float or Tensor): factor multiplied into the scale. Defaults to 1.0.

    Returns:
        tuple: ``center`` and ``scale``, each ``[..., 2]``.

    Raises:
        TypeError: ``bbox`` is not an array / tensor of real numbers.
        ValueError: ``bbox``'s last dimension is not 4, or ``padding`` is not a positive number.
    """
    bbox, padding = _bbox_and_padding(bbox, padding)
    center = bbox[..., 0:2] + bbox[..., 2:4] * 0.5
    scale = bbox[..., 2:4] * padding
    return center, scale


def _cs_checked(center, scale, padding):
    t = _use_torch(center=center, scale=scale)
    center = _array("center", center, t)
    scale = _array("scale", scale, t)
    _last_dim("center", center, 2)
    _last_dim("scale", scale, 2)
    _broadcast_batch(["center", "scale"], [center.shape, scale.shape])
    padding = _padding(padding, t)
    if t:
        dt = _float_dtype(center, scale)
        center, scale = center.to(dt), scale.to(dt)
    wh = scale / padding
    xy = center - 0.5 * wh
    return t, xy, wh


def _cat(t: bool, parts):
    """Concatenate on the last axis after broadcasting the leading axes only."""
    lead = _broadcast_batch([f"part {i}" for i in range(len(parts))], [tuple(p.shape[:-1]) for p in parts])
    if t:
        return torch.cat([p.expand(*lead, p.shape[-1]) for p in parts], dim=-1)
    return np.concatenate([np.broadcast_to(p, lead + (p.shape[-1],)) for p in parts], axis=-1)


def bbox_cs2xyxy(center: ArrayOrTensor, scale: ArrayOrTensor, padding: float = 1.0) -> ArrayOrTensor:
    """``center`` / ``scale`` to a box ``(x1, y1, x2, y2)``, dividing the scale by ``padding``
    first (MMPose's ``bbox_cs2xyxy``).

    Args:
        center (ndarray or Tensor [..., 2]): (x, y) in pixels.
        scale (ndarray or Tensor [..., 2]): (w, h) in pixels (broadcasts against ``center``).
        padding (float or Tensor): the padding to remove. Defaults to 1.0.

    Returns:
        ndarray or Tensor [..., 4]: (left, top, right, bottom).

    Raises:
        TypeError / ValueError: as for :func:`bbox_xyxy2cs`, naming ``center`` or ``scale``.
    """
    t, xy, wh = _cs_checked(center, scale, padding)
    return _cat(t, [xy, xy + wh])


def bbox_cs2xywh(center: ArrayOrTensor, scale: ArrayOrTensor, padding: float = 1.0) -> ArrayOrTensor:
    """``center`` / ``scale`` to a box ``(x, y, w, h)`` (MMPose's ``bbox_cs2xywh``).

    Args:
        center (ndarray or Tensor [..., 2]): (x, y) in pixels.
        scale (ndarray or Tensor [..., 2]): (w, h) in pixels.
        padding (float or Tensor): the padding to remove. Defaults to 1.0.

    Returns:
        ndarray or Tensor [..., 4]: (left, top, width, height).
    """
    t, xy, wh = _cs_checked(center, scale, padding)
    return _cat(t, [xy, wh])


def _corner_size(bbox, to_xyxy: bool):
    t = _use_torch(bbox=bbox)
    bbox = _array("bbox", bbox, t)
    _last_dim("bbox", bbox, 4, at_least=True)
    second = bbox[..., 2:4] + bbox[..., 0:2] if to_xyxy else bbox[..., 2:4] - bbox[..., 0:2]
    if t:
        return torch.cat([bbox[..., 0:2], second, bbox[..., 4:]], dim=-1)
    out = bbox.copy()  # MMPose writes into a copy: the dtype stays bbox's
    out[..., 2:4] = second
    return out


def bbox_xyxy2xywh(bbox_xyxy: ArrayOrTensor) -> ArrayOrTensor:
    """``(x1, y1, x2, y2[, score...])`` to ``(x1, y1, x2 - x1, y2 - y1[, score...])``.

    Args:
        bbox_xyxy (ndarray or Tensor [..., 4+]): boxes, extra columns (scores) carried unchanged.
            MMPose takes (n, 4) or (n, 5); any leading shape works here.

    Returns:
        ndarray or Tensor, same shape and dtype.
    """
    return _corner_size(bbox_xyxy, to_xyxy=False)


def bbox_xywh2xyxy(bbox_xywh: ArrayOrTensor) -> ArrayOrTensor:
    """``(x, y, w, h[, score...])`` to ``(x, y, x + w, y + h[, score...])``.

    Args:
        bbox_xywh (ndarray or Tensor [..., 4+]): boxes, extra columns carried unchanged.

    Returns:
        ndarray or Tensor, same shape and dtype.
    """
    return _corner_size(bbox_xywh, to_xyxy=True)


def fix_aspect_ratio(bbox_scale: ArrayOrTensor, aspect_ratio: float) -> ArrayOrTensor:
    """Grow ``bbox_scale`` to the aspect ratio ``w / h`` (``TopdownAffine._fix_aspect_ratio``).

    ``(sw, sh)`` becomes ``(sw, sw / aspect_ratio)`` when ``sw > aspect_ratio * sh``, else
    ``(aspect_ratio * sh, sh)``: the box only grows, never crops. NaN rows take the second branch,
    as in MMPose.

    Args:
        bbox_scale (ndarray or Tensor [..., 2]): (w, h) in pixels.
        aspect_ratio (float): target ``w / h`` (the model input's ``w / h``), positive.

    Returns:
        ndarray or Tensor [..., 2]: the grown scales (NumPy dtype as MMPose's arithmetic gives).

    Raises:
        ValueError: ``bbox_scale``'s last dimension is not 2, or ``aspect_ratio`` is not positive.
    """
    t = _use_torch(bbox_scale=bbox_scale)
    s = _array("bbox_scale", bbox_scale, t)
    _last_dim("bbox_scale", s, 2)
    a = _number("aspect_ratio", aspect_ratio, positive=True)
    w, h = s[..., 0:1], s[..., 1:2]
    if t:
        if not s.is_floating_point():
            w, h = w.to(_float_dtype(s)), h.to(_float_dtype(s))
        return torch.where(w > h * a, torch.cat([w, w / a], -1), torch.cat([h * a, h], -1))
    return np.where(w > h * a, np.concatenate([w, w / a], -1), np.concatenate([h * a, h], -1))


def flip_bbox(
    bbox: ArrayOrTensor,
    image_size: Union[Tuple[float, float], ArrayOrTensor],
    bbox_format: str = "xywh",
    direction: str = "horizontal",
) -> ArrayOrTensor:
    """Mirror boxes in an image of size ``(W, H)`` (MMPose's ``flip_bbox``, as coded).

    ``x -> W - 1 - x`` (horizontal), ``y -> H - 1 - y`` (vertical), both (diagonal). For
    ``'xyxy'`` the two corners swap so that the result is again (left, top, right, bottom). For
    ``'xywh'`` MMPose mirrors only the top-left corner ``(x, y)`` and keeps (w, h), so the result is
    *not* the mirrored box's top-left corner (it is its top-right one); this follows MMPose's code.
    ``'center'`` mirrors a point (``RandomFlip`` uses it for ``bbox_center``).

    Args:
        bbox (ndarray or Tensor [..., 4] or [..., 2]): boxes in ``bbox_format``; ``'xywh'`` may
            carry extra columns (scores), unchanged; ``'center'`` takes (x, y) points [..., 2].
        image_size (tuple or ndarray or Tensor [..., 2]): (W, H) of the image, a pair, or one per
            box (its leading shape broadcasts against ``bbox``'s).
        bbox_format (str): ``'xywh'``, ``'xyxy'`` or ``'center'``. Defaults to ``'xywh'``.
        direction (str): ``'horizontal'``, ``'vertical'`` or ``'diagonal'``. Defaults to
            ``'horizontal'``.

    Returns:
        ndarray or Tensor: the flipped boxes, same shape and dtype as ``bbox``.

    Raises:
        ValueError: unknown ``direction`` / ``bbox_format``, or a shape that does not fit it.
    """
    _choice("direction", direction, FLIP_DIRECTIONS)
    _choice("bbox_format", bbox_format, BBOX_FORMATS)
    t = _use_torch(bbox=bbox, image_size=image_size)
    bbox = _array("bbox", bbox, t)
    if bbox_format == "center":
        _last_dim("bbox", bbox, 2)
    elif bbox_format == "xyxy":
        _last_dim("bbox", bbox, 4)
    else:
        _last_dim("bbox", bbox, 4, at_least=True)
    w, h = _wh("image_size", image_size, t, bbox)
    if not isinstance(w, float):
        w, h = w[..., None], h[..., None]
    hor = direction in ("horizontal", "diagonal")
    ver = direction in ("vertical", "diagonal")

    if bbox_format == "xyxy":
        x1, y1, x2, y2 = bbox[..., 0:1], bbox[..., 1:2], bbox[..., 2:3], bbox[..., 3:4]
        if hor:
            x1, x2 = w - x2 - 1, w - x1 - 1
        if ver:
            y1, y2 = h - y2 - 1, h - y1 - 1
        cols = [x1, y1, x2, y2]
    else:
        x, y = bbox[..., 0:1], bbox[..., 1:2]
        cols = [w - x - 1 if hor else x, h - y - 1 if ver else y, bbox[..., 2:]]
    out = _cat(t, cols)
    # MMPose writes into a copy of bbox, so the dtype stays bbox's (also for an int box)
    return out.to(bbox.dtype) if t else out.astype(bbox.dtype, copy=False)


# --------------------------------------------------------------------------------------------
# warp matrices
# --------------------------------------------------------------------------------------------


def _warp_inputs(center, scale, rot):
    """Checked (center, scale, rot) and whether tensors came in.

    Tensors: one floating dtype on one device (``rot`` a tensor or a Python float). NumPy:
    the arrays as given (MMPose's dtypes matter for its rounding), shapes checked.
    """
    t = _use_torch(center=center, scale=scale, rot=rot)
    if t:
        center = _tensor("center", center)
        scale = _tensor("scale", scale)
        dt = _float_dtype(center, scale, *([rot] if isinstance(rot, torch.Tensor) else []))
        center, scale = center.to(dt), scale.to(dt)
        rot = _rot_value("rot", rot, dt, center.device)
    else:
        # NumPy: MMPose's single (2,) centre, or (N, 2) here
        center = _np_array("center", center)
        scale = _np_array("scale", scale)
        rot = _np_array("rot", rot)
    _last_dim("center", center, 2)
    _last_dim("scale", scale, 2)
    _broadcast_batch(["center", "scale", "rot"], [center.shape[:-1], scale.shape[:-1], tuple(np.shape(rot))])
    return t, center, scale, rot


def _stack_rows(a, b, c, d, e, f) -> torch.Tensor:
    parts = torch.broadcast_tensors(a, b, c, d, e, f)
    row0 = torch.stack(parts[0:3], dim=-1)
    row1 = torch.stack(parts[3:6], dim=-1)
    return torch.stack([row0, row1], dim=-2)


def _warp_closed_form(cx, cy, sw, sh, cos, sin, w, h, inv, fix_ar) -> torch.Tensor:
    """The matrix from the box centre (already shifted), size and rotation, in closed form."""
    sx = w / sw
    sy = sx if fix_ar else h / sh
    if not inv:
        a, b = sx * cos, sx * sin
        d, e = -sy * sin, sy * cos
        c = 0.5 * w - (a * cx + b * cy)
        f = 0.5 * h - (d * cx + e * cy)
    else:
        # inverse: R(theta) diag(1/sx, 1/sy), and the shifted centre for the output centre
        a, b = cos / sx, -sin / sy
        d, e = sin / sx, cos / sy
        c = cx - (a * (0.5 * w) + b * (0.5 * h))
        f = cy - (d * (0.5 * w) + e * (0.5 * h))
    return _stack_rows(a, b, c, d, e, f)


def _affine_from_points(src, dst) -> torch.Tensor:
    """The affine matrix through three point pairs (``cv2.getAffineTransform``), batched, float64.

    ``src`` / ``dst``: lists of three (x, y) pairs of tensors. Solved relative to the first point
    (Cramer's rule on the 2x2 system), which is what a 6x6 LU solve gives to rounding.
    """
    (x0, y0), (x1, y1), (x2, y2) = src
    (u0, v0), (u1, v1), (u2, v2) = dst
    ax, ay, bx, by = x1 - x0, y1 - y0, x2 - x0, y2 - y0
    det = ax * by - bx * ay
    # A [a b; ...] = Q U^-1 with U = [[ax, bx], [ay, by]], Q = [[u1 - u0, u2 - u0], [v1 - v0, v2 - v0]]
    i00, i01, i10, i11 = by / det, -bx / det, -ay / det, ax / det
    qu1, qu2, qv1, qv2 = u1 - u0, u2 - u0, v1 - v0, v2 - v0
    a, b = qu1 * i00 + qu2 * i10, qu1 * i01 + qu2 * i11
    d, e = qv1 * i00 + qv2 * i10, qv1 * i01 + qv2 * i11
    c = u0 - (a * x0 + b * y0)
    f = v0 - (d * x0 + e * y0)
    return _stack_rows(a, b, c, d, e, f)


def _warp_mmpose_points(cx0, cy0, sw, sh, cos, sin, shift_x, shift_y, w, h, inv, fix_ar) -> torch.Tensor:
    """MMPose's construction: three point pairs built in float64, stored in float32 arrays (as
    its ``src`` / ``dst`` are), then solved exactly; all tensors float64."""

    def f32(x):
        return x.to(torch.float32).to(torch.float64)

    dx, dy = sw * shift_x, sh * shift_y  # scale * shift
    # src[0] = center + scale * shift; src[1] = center + R(theta) (-sw/2, 0) + scale * shift
    p0 = (f32(cx0 + dx), f32(cy0 + dy))
    hw = sw * -0.5
    p1 = (f32((cx0 + cos * hw) + dx), f32((cy0 + sin * hw) + dy))
    q0 = (0.5 * w, 0.5 * h)
    q1 = (0.0, 0.5 * h)
    if fix_ar:
        # _get_3rd_point(a, b) = b + rot90(a - b), in float32 arithmetic on the float32 points
        ddx, ddy = f32(p0[0] - p1[0]), f32(p0[1] - p1[1])
        p2 = (f32(p1[0] - ddy), f32(p1[1] + ddx))
        q2 = (0.0, 0.5 * h + 0.5 * w)
    else:
        hh = sh * -0.5  # center + R(theta) (0, -sh/2) + scale * shift
        p2 = (f32((cx0 - sin * hh) + dx), f32((cy0 + cos * hh) + dy))
        q2 = (0.5 * w, 0.0)
    like = p0[0]
    q0, q1, q2 = ([torch.full_like(like, float(np.float32(v))) for v in q] for q in (q0, q1, q2))
    src, dst = [p0, p1, p2], [q0, q1, q2]
    if inv:
        src, dst = dst, src
    return _affine_from_points(src, dst)


def get_warp_matrix(
    center: ArrayOrTensor,
    scale: ArrayOrTensor,
    rot: Union[float, ArrayOrTensor],
    output_size: Tuple[int, int],
    shift: Tuple[float, float] = (0.0, 0.0),
    inv: bool = False,
    fix_aspect_ratio: bool = True,
    *,
    mmpose_rounding: Optional[bool] = None,
) -> ArrayOrTensor:
    """The affine matrix that warps the box (``center``, ``scale``, ``rot``) onto an
    ``output_size`` image (MMPose's ``get_warp_matrix``).

    With ``theta = rot`` in radians, ``c' = center + scale * shift`` and ``(w, h) = output_size``:
    ``sx = w / sw`` and ``sy = sx`` (``fix_aspect_ratio=True``: one scale, set by the width) or
    ``sy = h / sh`` (``False``)::

        M = [[ sx cos, sx sin, w/2 - sx ( cos cx' + sin cy')],
             [-sy sin, sy cos, h/2 - sy (-sin cx' + cos cy')]]

    so ``c'`` goes to the output centre ``(w/2, h/2)`` and ``c' - R(theta) (sw/2, 0)`` to
    ``(0, h/2)`` (pixel-edge convention: the box spans ``[0, w]``). ``inv=True`` gives the exact
    inverse (output -> input). A box rotated by ``+rot`` in the image (counter-clockwise on
    screen, y down) comes out upright. A zero ``sw`` (or ``sh``) gives non-finite entries.

    MMPose builds three point pairs in *float32* arrays before ``cv2.getAffineTransform``, so its
    matrices are this closed form off by float32 rounding of those points (about 1e-7 relative,
    up to ~1e-5 for small boxes far from the origin). ``mmpose_rounding`` picks the numbers:
    with True, the same rounded points are solved exactly (MMPose's matrices to ~1e-12); with
    False, the closed form above (exact). The default is True for NumPy input (drop-in parity)
    and False for tensors. (A float32 angle makes MMPose use NumPy's float32 sin / cos, which
    torch's float32 ones differ from in the last bit now and then: tensors with float32 angles
    and ``mmpose_rounding=True`` agree with MMPose to ~1e-6 rather than ~1e-12.)

    Args:
        center (ndarray or Tensor [..., 2]): box centre (x, y) in input-image pixels. MMPose takes
            one (2,) centre; NumPy (N, 2) is accepted here too.
        scale (ndarray or Tensor [..., 2]): box size (w, h) in pixels.
        rot (float or ndarray or Tensor [...]): rotation in degrees, one per box or one for all.
        output_size (tuple[int, int]): (w, h) of the output image.
        shift (tuple[float, float]): centre shift as a fraction of (sw, sh). Defaults to (0, 0).
        inv (bool): return the output -> input matrix instead. Defaults to False.
        fix_aspect_ratio (bool): one scale for both axes, set by the width (True) or separate
            ``w / sw`` and ``h / sh`` (False). Defaults to True.
        mmpose_rounding (bool, optional): reproduce MMPose's float32 point rounding (see above).
            Defaults to None: True for NumPy, False for tensors.

    Returns:
        ndarray[float64] (2, 3) or (N, 2, 3) for NumPy input (as ``cv2.getAffineTransform``);
        Tensor [..., 2, 3] in the inputs' floating dtype on their device (differentiable in
        ``center``, ``scale`` and ``rot``; with ``mmpose_rounding`` computed in float64).

    Raises:
        TypeError: arrays of the wrong kind or dtype, or NumPy mixed with tensors.
        ValueError: ``center`` / ``scale`` not ``[..., 2]``, batch shapes that do not broadcast,
            or ``output_size`` / ``shift`` not a pair of finite numbers.
    """
    t, center, scale, rot = _warp_inputs(center, scale, rot)
    w, h = _pair("output_size", output_size)
    shift_x, shift_y = _pair("shift", shift)
    rounding = (not t) if mmpose_rounding is None else bool(mmpose_rounding)
    if t:
        dt = center.dtype
        if rounding:
            # MMPose takes sin / cos in the rotation's own dtype, then works in float64
            center, scale = center.to(torch.float64), scale.to(torch.float64)
            cos, sin = _cos_sin(rot)
            cos, sin = (x.to(torch.float64) if isinstance(x, torch.Tensor) else x for x in (cos, sin))
        else:
            cos, sin = _cos_sin(rot.to(dt) if isinstance(rot, torch.Tensor) else rot)
    else:
        # MMPose takes sin / cos in the rotation's own dtype (float32 for RandomBBoxTransform's)
        rad = np.deg2rad(rot)
        cos, sin = (torch.from_numpy(np.asarray(f(rad), dtype=np.float64)) for f in (np.cos, np.sin))
        center = torch.from_numpy(np.asarray(center, dtype=np.float64))
        scale = torch.from_numpy(np.asarray(scale, dtype=np.float64))
    sw, sh = scale[..., 0], scale[..., 1]
    if rounding:
        m = _warp_mmpose_points(
            center[..., 0], center[..., 1], sw, sh, cos, sin, shift_x, shift_y, w, h, inv, fix_aspect_ratio
        )
    else:
        cx = center[..., 0] + sw * shift_x
        cy = center[..., 1] + sh * shift_y
        m = _warp_closed_form(cx, cy, sw, sh, cos, sin, w, h, inv, fix_aspect_ratio)
    return m.to(dt) if t else m.numpy()


def get_udp_warp_matrix(
    center: ArrayOrTensor,
    scale: ArrayOrTensor,
    rot: Union[float, ArrayOrTensor],
    output_size: Tuple[int, int],
) -> ArrayOrTensor:
    """The unbiased (UDP, CVPR 2020) warp matrix, MMPose's ``get_udp_warp_matrix``.

    With ``sx = (w - 1) / sw``, ``sy = (h - 1) / sh`` and ``theta = rot`` in radians::

        x' = sx ( cos (x - cx) - sin (y - cy)) + (w - 1) / 2
        y' = sy ( sin (x - cx) + cos (y - cy)) + (h - 1) / 2

    so ``center -/+ scale / 2`` go to pixels ``0`` and ``w - 1`` (pixel-centre convention). As
    coded in MMPose, the rotation sense is the opposite of :func:`get_warp_matrix`'s (ALGORITHMS.md
    (d)), and the axes have separate scales (no aspect-ratio coupling).

    Args:
        center (ndarray or Tensor [..., 2]): box centre (x, y) in input-image pixels.
        scale (ndarray or Tensor [..., 2]): box size (w, h) in pixels.
        rot (float or ndarray or Tensor [...]): rotation in degrees.
        output_size (tuple[int, int]): (w, h) of the output image.

    Returns:
        ndarray[float32] (2, 3) or (N, 2, 3) for NumPy input: MMPose's numbers (its arithmetic
        runs in the inputs' dtype, float32 for float32 boxes, and is replayed in that order);
        Tensor [..., 2, 3] in the inputs' floating dtype.

    Raises:
        TypeError / ValueError: as for :func:`get_warp_matrix`.
    """
    t, center, scale, rot = _warp_inputs(center, scale, rot)
    w, h = _pair("output_size", output_size)
    if not t:
        return _udp_numpy(center, scale, rot, w, h)
    cos, sin = _cos_sin(rot.to(center.dtype) if isinstance(rot, torch.Tensor) else rot)
    cx, cy = center[..., 0], center[..., 1]
    sw, sh = scale[..., 0], scale[..., 1]
    sx = (w - 1.0) / sw
    sy = (h - 1.0) / sh
    a, b = cos * sx, -sin * sx
    d, e = sin * sy, cos * sy
    c = sx * (sin * cy - cos * cx + 0.5 * sw)
    f = sy * (-sin * cx - cos * cy + 0.5 * sh)
    return _stack_rows(a, b, c, d, e, f)


def _udp_numpy(center: np.ndarray, scale: np.ndarray, rot: np.ndarray, w: float, h: float) -> np.ndarray:
    """MMPose's get_udp_warp_matrix arithmetic, vectorised: ``math.cos`` of the angle (a Python
    float, so it takes the boxes' dtype in each product, NEP 50), the products in the boxes'
    dtype and in MMPose's order, stored as float32."""
    wd = np.result_type(center.dtype, scale.dtype)
    if wd.kind != "f":
        wd = np.dtype(np.float64)
    rad = np.asarray(np.deg2rad(rot), dtype=np.float64)
    cos, sin = np.cos(rad).astype(wd), np.sin(rad).astype(wd)
    center, scale = center.astype(wd, copy=False), scale.astype(wd, copy=False)
    in0, in1 = center[..., 0] * 2, center[..., 1] * 2  # MMPose's input_size = center * 2
    s0, s1 = scale[..., 0], scale[..., 1]
    sx = np.asarray(w - 1, dtype=wd) / s0
    sy = np.asarray(h - 1, dtype=wd) / s1
    a, b = cos * sx, -sin * sx
    c = sx * (-0.5 * in0 * cos + 0.5 * in1 * sin + 0.5 * s0)
    d, e = sin * sy, cos * sy
    f = sy * (-0.5 * in0 * sin - 0.5 * in1 * cos + 0.5 * s1)
    rows = np.broadcast_arrays(a, b, c, d, e, f)
    return np.stack([np.stack(rows[:3], -1), np.stack(rows[3:], -1)], -2).astype(np.float32)


def _matrices(name: str, matrices: Any, t: bool) -> ArrayOrTensor:
    m = _array(name, matrices, t)
    if m.ndim < 2 or tuple(m.shape[-2:]) != (2, 3):
        raise ValueError(f"{name} must have shape (..., 2, 3), got {tuple(m.shape)}")
    return m


def compose_horizontal_flip(matrices: ArrayOrTensor, image_widths: Union[float, ArrayOrTensor]) -> ArrayOrTensor:
    """``M @ F`` with ``F: x -> W - 1 - x`` (``y`` unchanged), the flip of a ``W``-wide image.

    Warping the *unflipped* image with the result gives the same pixels as warping the
    horizontally flipped image (``RandomFlip``'s ``x' = W - 1 - x``) with ``M``, so a flip never
    has to touch the image. Columns: ``(a, b, c) -> (-a, b, a (W - 1) + c)``.

    Args:
        matrices (ndarray or Tensor [..., 2, 3]): forward warp matrices (flipped image -> output).
        image_widths (float or ndarray or Tensor [...]): W of each source image, in pixels.

    Returns:
        ndarray or Tensor [..., 2, 3]: the composed matrices (dtype of ``matrices`` when floating).

    Raises:
        ValueError: ``matrices`` is not ``[..., 2, 3]`` or ``image_widths`` does not broadcast.
    """
    t = _use_torch(matrices=matrices, image_widths=image_widths)
    m = _matrices("matrices", matrices, t)
    if isinstance(image_widths, (torch.Tensor, np.ndarray)):
        wd = _array("image_widths", image_widths, t)
        _broadcast_batch(["matrices", "image_widths"], [tuple(m.shape[:-2]), tuple(wd.shape)])
        wd = wd[..., None]
    else:
        wd = _number("image_widths", image_widths)
    if t:
        if not m.is_floating_point():
            m = m.to(_float_dtype(m))
        if isinstance(wd, torch.Tensor):
            wd = wd.to(m.dtype)
        a, b, c = m[..., 0], m[..., 1], m[..., 2]
        c = a * (wd - 1) + c
        return torch.stack(torch.broadcast_tensors(-a, b, c), dim=-1)
    if m.dtype.kind != "f":
        m = m.astype(np.float64)
    a, b, c = m[..., 0], m[..., 1], m[..., 2]
    out = np.stack(np.broadcast_arrays(-a, b, a * (np.asarray(wd, dtype=m.dtype) - 1) + c), axis=-1)
    return out.astype(m.dtype, copy=False)


def _invert64(m: torch.Tensor) -> torch.Tensor:
    """cv2.invertAffineTransform in float64, batched; zeros where the inverse is not finite."""
    a, b, c = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    d, e, f = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    det = a * e - b * d
    ok = det != 0
    inv_det = 1.0 / torch.where(ok, det, torch.ones_like(det))  # safe: no inf in the unused branch
    ia, ib = e * inv_det, -b * inv_det
    id_, ie = -d * inv_det, a * inv_det
    ic = -(ia * c + ib * f)
    if_ = -(id_ * c + ie * f)
    out = _stack_rows(ia, ib, ic, id_, ie, if_)
    ok = ok & torch.isfinite(out).all(dim=-1).all(dim=-1)
    return torch.where(ok[..., None, None], out, torch.zeros_like(out))


def invert_affine(matrices: ArrayOrTensor) -> ArrayOrTensor:
    """Invert 2x3 affine matrices, batched (what ``cv2.invertAffineTransform`` does, in float64).

    For ``[[a, b, c], [d, e, f]]`` with ``D = a e - b d``: ``[[e, -b], [-d, a]] / D`` and the
    translation ``-A^-1 (c, f)``. Where ``D == 0`` (OpenCV returns zeros there too) or any input
    or output entry is not finite (OpenCV would return NaNs), this returns an all-zero matrix, so
    the result never holds NaN or inf.

    Args:
        matrices (ndarray or Tensor [..., 2, 3]): affine matrices (x, y, 1) -> (x', y').

    Returns:
        ndarray or Tensor [..., 2, 3]: the inverses, in the input's floating dtype (computed in
        float64; integer input gives float64 NumPy / the default dtype for tensors). Tensors stay
        on their device and are differentiable where the matrix is invertible.

    Raises:
        ValueError: ``matrices`` is not ``[..., 2, 3]``.
    """
    t = _use_torch(matrices=matrices)
    m = _matrices("matrices", matrices, t)
    if t:
        dt = m.dtype if m.is_floating_point() else torch.get_default_dtype()
        return _invert64(m.to(torch.float64)).to(dt)
    dt = m.dtype if m.dtype.kind == "f" else np.dtype(np.float64)
    return _invert64(torch.from_numpy(np.asarray(m, dtype=np.float64))).numpy().astype(dt, copy=False)
