"""Shared fixtures: devices to run on, and helpers for random keypoint sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pyposefast

CUDA = pyposefast.cuda_available()

requires_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA build of pyposefast and a visible GPU")

DEVICES = ["cpu", pytest.param("cuda", marks=[requires_cuda, pytest.mark.cuda])]


def random_keypoints(rng: np.random.Generator, shape, W: int, H: int, margin: float = 12.0, special: bool = True):
    """Keypoints [..., 2] in heatmap pixels spread over and around a W x H map, visibility [...].

    With ``special``, some entries are set to the cases that matter: exact half-pixel positions
    (int(x + 0.5) rounding), the map border, far outside, NaN and +-inf, and fractional visibility.
    """
    kp = np.empty(tuple(shape) + (2,), dtype=np.float32)
    kp[..., 0] = rng.uniform(-margin, W + margin, size=shape)
    kp[..., 1] = rng.uniform(-margin, H + margin, size=shape)
    vis = rng.choice(np.array([0.0, 1.0, 1.0, 1.0, 0.3, 0.5, 0.49, 2.0], dtype=np.float32), size=shape)
    if special and kp.size:
        flat_kp = kp.reshape(-1, 2)
        flat_vis = vis.reshape(-1)
        n = flat_kp.shape[0]
        picks = rng.integers(0, n, size=min(n, 12))
        specials = [
            (np.floor(flat_kp[picks[0], 0]) + 0.5, np.floor(flat_kp[picks[0], 1]) - 0.5),
            (0.0, 0.0),
            (W - 1, H - 1),
            (-0.5, H - 0.5),
            (W + 3 * 2.0, -3.0),
            (1e30, 5.0),
            (np.nan, 3.0),
            (4.0, np.inf),
            (-1e12, -1e12),
            (W / 2, H / 2),
        ]
        for i, (x, y) in zip(picks, specials):
            flat_kp[i] = (x, y)
            flat_vis[i] = 1.0
        if n > 11:
            flat_vis[picks[11]] = np.nan
    return kp, vis
