"""Synthetic bottom-up network outputs for the associative-embedding tests and benchmarks.

Heatmaps come from our own encoder (MSRA Gaussians of every person, max-merged) plus noise; tags are
constant per person (plus noise) wherever that person's Gaussian dominates, random elsewhere.
"""

from __future__ import annotations

import numpy as np
import torch


def random_people(rng: np.random.Generator, n: int, K: int, W: int, H: int, *, crowded: bool = False,
                  border: bool = False, size: float = 0.18) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints [n, K, 2] in heatmap pixels and visibility [n, K]: people of about ``size * W`` px,
    packed together (``crowded``) or cut by the image border (``border``)."""
    s = size * min(W, H)
    if crowded:
        centres = rng.uniform(0.35, 0.65, (n, 2)) * (W, H)
    elif border:
        centres = rng.uniform(-0.05, 1.05, (n, 2)) * (W, H)
    else:
        centres = rng.uniform(0.1, 0.9, (n, 2)) * (W, H)
    offsets = rng.uniform(-0.5, 0.5, (n, K, 2)) * s
    kp = (centres[:, None, :] + offsets).astype(np.float32)
    vis = (rng.random((n, K)) > 0.1).astype(np.float32)
    return kp, vis


def synth_outputs(rng: np.random.Generator, n: int, K: int = 17, W: int = 64, H: int = 64, L: int = 1, *,
                  crowded: bool = False, border: bool = False, noise: float = 0.01, tag_gap: float = 2.0,
                  sigma: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """One image's heatmaps [K, H, W] and tags [K * L, H, W] (float32) for n random people."""
    from pyposefast import ops

    kp, vis = random_people(rng, n, K, W, H, crowded=crowded, border=border)
    hm = np.zeros((K, H, W), np.float32)
    tags = rng.uniform(-tag_gap * (n + 1), tag_gap * (n + 1), (L, K, H, W)).astype(np.float32)
    if n:
        person, _ = ops.gaussian_heatmaps(torch.from_numpy(kp).unsqueeze(1), torch.from_numpy(vis).unsqueeze(1),
                                          (W, H), sigma, "msra")  # [n, K, H, W], one person per sample
        person = person.numpy() * rng.uniform(0.5, 1.0, (n, K, 1, 1)).astype(np.float32)
        owner = person.argmax(0)  # [K, H, W]
        hm = person.max(0)
        values = (rng.permutation(n) * tag_gap + rng.uniform(-0.3, 0.3)).astype(np.float32)
        person_tags = np.stack([values] + [rng.uniform(-3, 3, n).astype(np.float32) for _ in range(L - 1)])
        near = hm > 1e-3
        for l in range(L):
            t = person_tags[l][owner] + rng.normal(0, 0.05, (K, H, W)).astype(np.float32)
            tags[l] = np.where(near, t, tags[l])
    hm = hm + np.abs(rng.normal(0, noise, hm.shape)).astype(np.float32)
    return hm.astype(np.float32), tags.reshape(K * L, H, W).astype(np.float32)


def synth_batch(rng: np.random.Generator, people: list[int], **kw) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch [B, K, H, W], [B, K * L, H, W] with people[b] people in image b."""
    outs = [synth_outputs(rng, n, **kw) for n in people]
    return (torch.from_numpy(np.stack([o[0] for o in outs])), torch.from_numpy(np.stack([o[1] for o in outs])))
