"""The bottom-up grouping table of ``pyposefast bench`` (kernel family 6): AE decoding, one run.

Per case (COCO bottom-up: K = 17, flip-test tags L = 2, top-k 30, max 30 instances, centre shift 0.5,
the COCO keypoint order): MMPose 1.3.2's ``AssociativeEmbedding.batch_decode`` on the CPU (when
installed), the NumPy baseline (``pyposefast.baseline.ae_decode``), our CPU kernel and, when a GPU is
visible, our CUDA kernel (CUDA-graph replays timed with events; "call us" is the eager call with its
Python wrapper). Inputs: network-like outputs for n people (synth_ae_outputs): our encoder's
Gaussians (sigma = W / 64, as the COCO config's 128-px maps upsampled to 512) plus noise, tags
constant per person plus noise.
"""

from __future__ import annotations

import dataclasses
import numpy as np
import torch

from . import baseline, ops

COCO_ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]


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


def synth_ae_outputs(rng: np.random.Generator, n: int, K: int = 17, W: int = 64, H: int = 64, L: int = 1, *,
                  crowded: bool = False, border: bool = False, noise: float = 0.01, tag_gap: float = 2.0,
                  sigma: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """One image's heatmaps [K, H, W] and tags [K * L, H, W] (float32) for n random people."""
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


def synth_ae_batch(rng: np.random.Generator, people: list[int], **kw) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch [B, K, H, W], [B, K * L, H, W] with people[b] people in image b."""
    outs = [synth_ae_outputs(rng, n, **kw) for n in people]
    return (torch.from_numpy(np.stack([o[0] for o in outs])), torch.from_numpy(np.stack([o[1] for o in outs])))


@dataclasses.dataclass(frozen=True)
class GroupCase:
    people: int
    size: int  # heatmap W = H

    def describe(self) -> str:
        return f"{self.people:>2} people {self.size}x{self.size}"


GROUP_CASES = [GroupCase(n, s) for s in (128, 512) for n in (1, 5, 20, 30)]
CODEC_ARGS = dict(decode_keypoint_order=COCO_ORDER, decode_topk=30, decode_max_instances=30, decode_center_shift=0.5)


def make_group_inputs(case: GroupCase, seed: int = 0):
    rng = np.random.default_rng(seed + case.people)
    return synth_ae_batch(rng, [case.people], K=17, W=case.size, H=case.size, L=2, sigma=case.size / 64)


def run_group_op(hm: torch.Tensor, tg: torch.Tensor):
    return ops.ae_decode(hm, tg, COCO_ORDER, topk=30, max_instances=30, center_shift=0.5)


def run_group(cases, quick: bool, use_cuda: bool, out=print) -> list[dict]:
    """The grouping table."""
    from .benchmark import time_cuda_eager, time_cuda_graph, time_host

    try:
        from mmpose.codecs import AssociativeEmbedding as MMAE  # test-only reference, never required
    except Exception:
        MMAE = None
    rows = []
    for case in cases:
        hm, tg = make_group_inputs(case)
        big = case.size > 256
        reps = 1 if (big or quick) else 5
        row = dict(sizes=case.describe(), mmpose_ms=None)
        if MMAE is not None:
            mm = MMAE(input_size=(case.size, case.size), heatmap_size=(case.size, case.size), **CODEC_ARGS)
            row["mmpose_ms"] = 1e3 * time_host(lambda: mm.batch_decode(hm.clone(), tg.clone()), 0.0, reps, warmup=0)
        hm_np, tg_np = hm.numpy(), tg.numpy()
        row["baseline_ms"] = 1e3 * time_host(
            lambda: baseline.ae_decode(hm_np, tg_np, COCO_ORDER, max_instances=30, center_shift=0.5), 0.0, reps,
            warmup=0)
        cpu_s = time_host(lambda: run_group_op(hm, tg), 0.2 if quick else 1.0, 20 if quick else 200)
        found = int(run_group_op(hm, tg)[3][0])
        row.update(found=found, cpu_ms=cpu_s * 1e3, cpu_vs_base=row["baseline_ms"] / (cpu_s * 1e3),
                   cpu_vs_mmpose=None if row["mmpose_ms"] is None else row["mmpose_ms"] / (cpu_s * 1e3))
        if use_cuda:
            dh, dt = hm.cuda(), tg.cuda()
            got, want = run_group_op(dh, dt), run_group_op(hm, tg)
            row["max_abs_diff"] = float((got[0].cpu() - want[0]).abs().max())
            row["same_counts"] = bool(torch.equal(got[3].cpu(), want[3]))
            gpu_s = time_cuda_graph(lambda: run_group_op(dh, dt), replays=50)
            row.update(cuda_us=gpu_s * 1e6, cuda_call_us=time_cuda_eager(lambda: run_group_op(dh, dt), 100) * 1e6,
                       cuda_vs_cpu=cpu_s / gpu_s)
        rows.append(row)
        mms = "-" if row["mmpose_ms"] is None else f"{row['mmpose_ms']:.1f}"
        mmx = "-" if row["cpu_vs_mmpose"] is None else f"{row['cpu_vs_mmpose']:.0f}"
        cols = (f"{'case':<22} {'found':>5} {'MMPose ms':>10} {'baseline ms':>12} {'CPU ms':>8} "
                f"{'CPU/MMPose x':>12} {'CPU/base x':>10}")
        vals = (f"{row['sizes']:<22} {found:>5} {mms:>10} {row['baseline_ms']:>12.1f} {row['cpu_ms']:>8.3f} "
                f"{mmx:>12} {row['cpu_vs_base']:>10.0f}")
        if use_cuda:
            cols += f" {'CUDA us':>8} {'call us':>8} {'CUDA/CPU x':>10} {'|diff|':>8}"
            vals += (f" {row['cuda_us']:>8.1f} {row['cuda_call_us']:>8.1f} {row['cuda_vs_cpu']:>10.0f} "
                     f"{row['max_abs_diff']:>8.1e}")
        out((cols + "\n" + vals) if len(rows) == 1 else vals)
    lines = ["targets:"]
    small = next((r for r in rows if r["sizes"] == GroupCase(20, 128).describe()), None)
    large = next((r for r in rows if r["sizes"] == GroupCase(20, 512).describe()), None)
    if small:
        lines.append(f"  CPU kernel, 20 people 128x128 <= 3 ms: {small['cpu_ms']:.3f} ms "
                     f"{'MET' if small['cpu_ms'] <= 3 else 'MISSED'} (threads: {torch.get_num_threads()})")
    if use_cuda and large:
        lines.append(f"  CUDA, 20 people 512x512 <= 1 ms: {large['cuda_us'] / 1e3:.3f} ms "
                     f"{'MET' if large['cuda_us'] <= 1000 else 'MISSED'}")
    out("\n".join(lines))
    return rows
