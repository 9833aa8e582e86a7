"""Drive every CUDA heatmap kernel variant once, for compute-sanitizer (memcheck, racecheck, ...).

Covers: each method and output dtype, aligned and unaligned planes (vector and scalar stores), planes
spanning several tiles, more instances than one shared-memory chunk (64), empty batches, NaN and
far-away keypoints. Checks every result against the CPU kernel so a silent error also fails.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from pyposefast import ops

rng = np.random.default_rng(0)
failures = 0
for shape, W, H in [((3, 5), 48, 64), ((2, 70, 3), 33, 17), ((0, 4), 8, 8), ((2, 0, 3), 8, 8), ((1, 2, 2), 129, 130)]:
    kp = rng.uniform(-10, max(W, H) + 10, size=shape + (2,)).astype(np.float32)
    vis = rng.choice([0.0, 1.0, 0.4], size=shape).astype(np.float32)
    if kp.size:
        kp.reshape(-1, 2)[0] = (np.nan, 1.0)
        kp.reshape(-1, 2)[-1] = (1e30, -1e30)
    kp_c, vis_c = torch.from_numpy(kp), torch.from_numpy(vis)
    kp_g, vis_g = kp_c.cuda(), vis_c.cuda()
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        for method in ("msra", "unbiased", "udp", "offset"):
            if method == "offset":
                got = ops.udp_offset_heatmaps(kp_g, vis_g, (W, H), dtype=dtype)
                want = ops.udp_offset_heatmaps(kp_c, vis_c, (W, H), dtype=dtype)
            else:
                got = ops.gaussian_heatmaps(kp_g, vis_g, (W, H), 2.0, method, dtype=dtype)
                want = ops.gaussian_heatmaps(kp_c, vis_c, (W, H), 2.0, method, dtype=dtype)
            torch.cuda.synchronize()
            for g, w in zip(got, want):
                if not torch.equal(g.cpu(), w):
                    diff = (g.cpu().float() - w.float()).abs().max().item() if g.numel() else 0
                    # one ulp of float64->float rounding may differ; anything more is a failure
                    if diff > 1e-6:
                        failures += 1
                        print(f"MISMATCH shape={shape} W={W} H={H} {method} {dtype}: max |diff| {diff}")
print("sanitize driver done, failures:", failures)
sys.exit(1 if failures else 0)
