"""Training curves as a PNG, drawn with OpenCV (no plotting dependency): one panel per scalar
(losses against the iteration, validation metrics against the epoch), for the demo's report."""

from __future__ import annotations

import math
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

__all__ = ["plot_curves", "curve_series"]

#: keys that are the x axis, never a curve.
X_KEYS = ("iteration", "iter", "step", "epoch")
_LINE = (200, 90, 20)  # BGR: blue
_AXIS = (60, 60, 60)
_GRID = (225, 225, 225)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(float(v))


def curve_series(history: Sequence[Dict[str, Any]], keys: Optional[Sequence[str]] = None
                 ) -> Dict[str, Tuple[str, np.ndarray, np.ndarray]]:
    """The curves in a training history.

    Args:
        history (list[dict]): log records, e.g. ``{'epoch': 1, 'iteration': 50, 'loss': 0.01, 'lr': 5e-4}``
            or ``{'epoch': 1, 'coco/AP': 0.42}``. Non-numeric and non-finite values are skipped.
        keys (list[str], optional): the scalars to plot, in this order (default: every numeric
            key other than the x keys, in order of first appearance).

    Returns:
        dict: key -> (x label, x [n] float64, y [n] float64). A record's x is its ``iteration``
        (or ``iter`` / ``step``) when it has one, else its ``epoch``, else its index in ``history``;
        records of one key are drawn against one x kind (the most common for that key).
    """
    if not isinstance(history, (list, tuple)):
        raise TypeError(f"history must be a list of dicts, got {type(history).__name__}")
    order: List[str] = []
    points: Dict[str, Dict[str, List[Tuple[float, float]]]] = {}
    for i, rec in enumerate(history):
        if not isinstance(rec, dict):
            raise TypeError(f"history[{i}] must be a dict, got {type(rec).__name__}")
        xkey = next((k for k in X_KEYS if _is_number(rec.get(k))), None)
        x = float(rec[xkey]) if xkey is not None else float(i)
        xlabel = {"iter": "iteration", "step": "iteration"}.get(xkey or "index", xkey or "index")
        for k, v in rec.items():
            if k in X_KEYS or not _is_number(v):
                continue
            if k not in points:
                points[k] = {}
                order.append(k)
            points[k].setdefault(xlabel, []).append((x, float(v)))
    wanted = list(keys) if keys is not None else order
    out: Dict[str, Tuple[str, np.ndarray, np.ndarray]] = {}
    for k in wanted:
        if k not in points:
            continue
        xlabel, pts = max(points[k].items(), key=lambda item: len(item[1]))
        arr = np.asarray(pts, dtype=np.float64)
        out[k] = (xlabel, arr[:, 0], arr[:, 1])
    return out


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    return f"{v:.3g}" if 1e-3 <= abs(v) < 1e4 else f"{v:.2e}"


def _panel(title: str, xlabel: str, x: np.ndarray, y: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    left, right, top, bottom = 72, 16, 30, 36
    pw, ph = w - left - right, h - top - bottom
    x0, x1 = float(x.min()), float(x.max())
    y0, y1 = float(y.min()), float(y.max())
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if y1 == y0:
        pad = abs(y0) * 0.05 or 0.5
        y0, y1 = y0 - pad, y1 + pad
    for t in range(5):  # grid lines and y ticks
        yy = top + int(round(ph * t / 4))
        cv2.line(img, (left, yy), (left + pw, yy), _GRID, 1)
        cv2.putText(img, _fmt(y1 - (y1 - y0) * t / 4), (4, yy + 4), _FONT, 0.35, _AXIS, 1, cv2.LINE_AA)
    cv2.rectangle(img, (left, top), (left + pw, top + ph), _AXIS, 1)
    px = left + (x - x0) / (x1 - x0) * pw
    py = top + (y1 - y) / (y1 - y0) * ph
    pts = np.stack([px, py], -1).round().astype(np.int32)
    if len(pts) == 1:
        cv2.circle(img, tuple(int(v) for v in pts[0]), 3, _LINE, -1, cv2.LINE_AA)
    else:
        cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, _LINE, 2, cv2.LINE_AA)
        if len(pts) <= 30:
            for p in pts:
                cv2.circle(img, (int(p[0]), int(p[1])), 2, _LINE, -1, cv2.LINE_AA)
    cv2.putText(img, f"{title} (last {_fmt(float(y[-1]))})", (left, 20), _FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, _fmt(x0), (left, top + ph + 16), _FONT, 0.35, _AXIS, 1, cv2.LINE_AA)
    label = _fmt(x1)
    (tw, _), _ = cv2.getTextSize(label, _FONT, 0.35, 1)
    cv2.putText(img, label, (left + pw - tw, top + ph + 16), _FONT, 0.35, _AXIS, 1, cv2.LINE_AA)
    (tw, _), _ = cv2.getTextSize(xlabel, _FONT, 0.4, 1)
    cv2.putText(img, xlabel, (left + (pw - tw) // 2, h - 6), _FONT, 0.4, _AXIS, 1, cv2.LINE_AA)
    return img


def plot_curves(history: Sequence[Dict[str, Any]], path: str, *, keys: Optional[Sequence[str]] = None,
                cols: int = 2, panel_size: Tuple[int, int] = (480, 300)) -> str:
    """Draw a training history as a PNG: one line plot per scalar, in a grid.

    Args:
        history (list[dict]): log records (see :func:`curve_series`): each has ``iteration`` and /
            or ``epoch`` and scalar values (``loss``, ``loss_kpt``, ``lr``, ``coco/AP`` ...).
        path (str): the PNG to write (folders are created).
        keys (list[str], optional): the scalars to plot (default: all).
        cols (int): panels per row. Defaults to 2.
        panel_size (tuple[int, int]): (w, h) of one panel in pixels. Defaults to (480, 300).

    Returns:
        str: ``path``.

    Raises:
        TypeError: ``history`` is not a list of dicts.
        ValueError: nothing to plot (no numeric values), or bad ``cols`` / ``panel_size``.
    """
    series = curve_series(history, keys)
    if not series:
        raise ValueError("history has no numeric values to plot (expected dicts such as {'iteration': 1, 'loss': 0.5})")
    if not isinstance(cols, int) or cols < 1:
        raise ValueError(f"cols must be a positive int, got {cols!r}")
    pw, ph = (int(v) for v in panel_size)
    if pw < 160 or ph < 120:
        raise ValueError(f"panel_size must be at least (160, 120), got {panel_size}")
    panels = [_panel(k, xl, x, y, (pw, ph)) for k, (xl, x, y) in series.items()]
    ncols = min(cols, len(panels))
    rows = -(-len(panels) // ncols)
    canvas = np.full((rows * ph, ncols * pw, 3), 255, np.uint8)
    for i, p in enumerate(panels):
        r, c = divmod(i, ncols)
        canvas[r * ph:(r + 1) * ph, c * pw:(c + 1) * pw] = p
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if not cv2.imwrite(path, canvas):
        raise OSError(f"could not write {path} (is the extension .png?)")
    return path
