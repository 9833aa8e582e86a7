"""Drive every CUDA kernel variant once, for compute-sanitizer (memcheck, racecheck, ...).

Heatmap targets, warp_affine, OKS-NMS (hard and soft) and decoding (every refinement, dtype, exact
path, SimCC): one block each below.

Heatmap targets:

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
# warp_affine: uint8 / float sources, ragged sizes incl. 1x1, boxes partly or wholly outside,
# degenerate matrices, every option, forward and backward.
from pyposefast.datasets.ragged import RaggedImages  # noqa: E402

imgs = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(37, 53), (1, 1), (300, 200)]]
mats = []
for i in range(10):
    t = np.deg2rad(rng.uniform(-90, 90))
    s = rng.uniform(0.2, 3)
    mats.append([[s * np.cos(t), s * np.sin(t), rng.uniform(-50, 50)], [-s * np.sin(t), s * np.cos(t), rng.uniform(-50, 50)]])
mats[3] = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
mats[4] = [[np.inf, 0.0, 0.0], [0.0, 1.0, 0.0]]
mats = torch.tensor(mats, dtype=torch.float64)
index = torch.arange(10) % 3
for dtype in (torch.uint8, torch.float32):
    ragged = RaggedImages.from_images([torch.from_numpy(im).to(dtype) for im in imgs])
    for kw in (dict(), dict(mean=[1.0, 2.0, 3.0], std=[2.0, 3.0, 4.0], bgr_to_rgb=True, flip=True, border_value=7.0)):
        for out_dtype in (torch.float32, torch.float16, torch.bfloat16):
            want = ops.warp_affine(ragged, mats, (19, 23), image_index=index, out_dtype=out_dtype, **kw)
            got = ops.warp_affine(ragged.to("cuda"), mats.cuda(), (19, 23), image_index=index.cuda(), out_dtype=out_dtype, **kw)
            diff = (got.cpu().float() - want.float()).abs().max().item()
            if diff > (1e-3 if out_dtype == torch.float32 else 1.0):
                failures += 1
                print(f"warp MISMATCH {dtype} {out_dtype} {kw}: {diff}")
    if dtype == torch.float32:
        data = ragged.data.cuda().requires_grad_(True)
        r = RaggedImages(data, ragged.offsets.cuda(), ragged.sizes.cuda(), 3)
        ops.warp_affine(r, mats.cuda(), (19, 23), image_index=index.cuda(), mean=[1.0, 2.0, 3.0], std=[2.0, 3.0, 4.0]).sum().backward()
        torch.cuda.synchronize()
# decoding: every refinement and input dtype, the exact (full-blur) paths (tiny, huge, zero, negative
# planes; cross-plane reads of DARK-UDP at (-1, -1)), odd sizes, 1-pixel rows, empty batches, SimCC.
sys.path.insert(0, ".")
from tests.ops.test_decode import peaked_maps, peaked_vectors  # noqa: E402

for B, K, H, W in [(3, 9, 64, 48), (2, 8, 7, 5), (1, 8, 1, 9), (0, 17, 64, 48), (2, 0, 8, 8), (1, 8, 130, 129)]:
    hm = torch.from_numpy(peaked_maps(rng, B, K, H, W))
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        h = hm.to(dtype)
        for refine, ks in (("none", 1), ("quarter", 1), ("dark", 11), ("dark_udp", 3), ("dark_udp", 11), ("megvii", 5)):
            want = ops.decode_heatmaps(h, refine, ks)
            got = ops.decode_heatmaps(h.cuda(), refine, ks)
            torch.cuda.synchronize()
            for g, w in zip(got, want):
                if not torch.allclose(g.cpu(), w, rtol=1e-5, atol=1e-4, equal_nan=True):
                    failures += 1
                    print(f"decode MISMATCH {(B, K, H, W)} {dtype} {refine} ks={ks}")
        if K % 3 == 0 and K:
            want = ops.decode_heatmaps(h, "udp_combined", 23, 3.5)
            got = ops.decode_heatmaps(h.cuda(), "udp_combined", 23, 3.5)
            if not all(torch.allclose(g.cpu(), w, rtol=1e-5, atol=1e-4, equal_nan=True) for g, w in zip(got, want)):
                failures += 1
                print(f"decode MISMATCH {(B, K, H, W)} {dtype} udp_combined")
for B, K, Lx, Ly in [(4, 17, 384, 512), (2, 3, 1, 7), (0, 5, 8, 8)]:
    x, y = torch.from_numpy(peaked_vectors(rng, B, K, Lx)), torch.from_numpy(peaked_vectors(rng, B, K, Ly))
    for blur in (None, (29, 35), 3):
        want = ops.decode_simcc(x, y, blur)
        got = ops.decode_simcc(x.cuda(), y.cuda(), blur)
        if not all(torch.allclose(g.cpu(), w, rtol=1e-5, atol=2e-4, equal_nan=True) for g, w in zip(got, want)):
            failures += 1
            print(f"simcc MISMATCH {(B, K, Lx, Ly)} blur={blur}")
# OKS-NMS: hard and soft (both methods), vis_thr, padded images (counts incl. 0 and N), N above one
# block (300 > 256 threads), single candidates, empty batches; every result checked against the CPU kernel.
from pyposefast import ops as _ops  # noqa: E402

sig = np.linspace(0.02, 0.1, 17)
for B, N in [(5, 30), (2, 300), (3, 1), (0, 4), (2, 0)]:
    kp = (rng.uniform(0, 100, (B, 1, 1, 2)) + rng.normal(0, 3, (B, N, 17, 2))).astype(np.float32)
    sc, ar = rng.uniform(size=(B, N)), rng.uniform(100, 1000, (B, N))
    vis = rng.uniform(size=(B, N, 17)).astype(np.float32)
    cnt = rng.integers(0, N + 1, B) if B else np.zeros(0, np.int64)
    if B > 1:
        cnt[0], cnt[-1] = 0, N
    cpu = [torch.from_numpy(x) for x in (kp, sc, ar, vis, cnt)]
    gpu = [x.cuda() for x in cpu]
    for vis_thr in (None, 0.3):
        want = _ops.oks_nms(cpu[0], cpu[1], cpu[2], sig, 0.5, counts=cpu[4], visibility=cpu[3], vis_thr=vis_thr)
        got = _ops.oks_nms(gpu[0], gpu[1], gpu[2], sig, 0.5, counts=gpu[4], visibility=gpu[3], vis_thr=vis_thr)
        if not torch.equal(got.cpu(), want):
            failures += 1
            print(f"oks_nms MISMATCH B={B} N={N} vis_thr={vis_thr}")
        for method in ("gaussian", "linear"):
            want = _ops.soft_oks_nms(cpu[0], cpu[1], cpu[2], sig, 0.5, 20, method=method, counts=cpu[4],
                                     visibility=cpu[3], vis_thr=vis_thr)
            got = _ops.soft_oks_nms(gpu[0], gpu[1], gpu[2], sig, 0.5, 20, method=method, counts=gpu[4],
                                    visibility=gpu[3], vis_thr=vis_thr)
            if not (torch.equal(got[0].cpu(), want[0]) and torch.allclose(got[1].cpu(), want[1], rtol=1e-12, atol=0)):
                failures += 1
                print(f"soft_oks_nms MISMATCH B={B} N={N} {method} vis_thr={vis_thr}")
    torch.cuda.synchronize()
# ---- ae_decode (kernel family 6): every kernel (candidates incl. the overflow path of a flat map and a
# negative threshold, modulate, group, refine, fill), L = 1 and 2, quarter and dark_udp, empty images,
# max_instances 0 / small / None; every result checked against the CPU kernel.
from pyposefast.benchmark_group import COCO_ORDER, synth_ae_batch  # noqa: E402

for people, W, L in [([20, 0, 5], 64, 2), ([30], 128, 1), ([0], 16, 1)]:
    hm_c, tg_c = synth_ae_batch(rng, people, K=17, W=W, H=W, L=L, crowded=True)
    hm_c[0, 3] = 0.5  # a flat plane: more peaks than shared memory holds
    hm_g, tg_g = hm_c.cuda(), tg_c.cuda()
    for kw in (dict(max_instances=30, center_shift=0.5), dict(refine="dark_udp", max_instances=7),
               dict(max_instances=None), dict(max_instances=0), dict(keypoint_thr=-0.5, topk=5, max_instances=4)):
        want = _ops.ae_decode(hm_c, tg_c, COCO_ORDER, **kw)
        got = _ops.ae_decode(hm_g, tg_g, COCO_ORDER, **kw)
        torch.cuda.synchronize()
        ok = torch.equal(got[3].cpu(), want[3]) and torch.equal(got[2].cpu(), want[2])
        ok = ok and torch.allclose(got[0].cpu(), want[0], rtol=0, atol=1e-4)
        ok = ok and torch.allclose(got[1].cpu(), want[1], rtol=0, atol=1e-5)
        if not ok:
            failures += 1
            print(f"ae_decode MISMATCH people={people} W={W} L={L} {kw}")
torch.cuda.synchronize()
print("sanitize driver done, failures:", failures)
sys.exit(1 if failures else 0)
