"""The keypoint-decoding table of ``pyposefast bench`` (kernel family 4), timed side by side in one run.

Per case: MMPose's own codec (when installed: one ``decode`` per sample, as its heads do on the
host), the NumPy baseline (``pyposefast.baseline.decode_heatmaps``), our CPU kernel and, when a GPU
is visible, our CUDA kernel (CUDA-graph replays timed with events; "call us" is the eager call with
its Python wrapper). The CUDA kernel's floor is reading the heatmaps once at the measured copy
bandwidth. Inputs are network-like heatmaps: the codec's own Gaussians (random peaks 0.3-1) plus
noise.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np
import torch

from . import baseline, ops


@dataclasses.dataclass(frozen=True)
class DecodeCase:
    name: str
    B: int
    K: int
    W: int
    H: int
    refine: str  # quarter | dark | dark_udp | simcc
    blur: int

    def describe(self) -> str:
        if self.refine == "simcc":
            return f"B={self.B} K={self.K} Wx={self.W} Wy={self.H}"
        return f"B={self.B} K={self.K} {self.H}x{self.W}" + (f" ks={self.blur}" if self.blur > 1 else "")


DECODE_CASES = [
    DecodeCase("top-down COCO", 64, 17, 48, 64, "quarter", 1),
    DecodeCase("top-down COCO", 64, 17, 48, 64, "dark", 11),
    DecodeCase("top-down COCO", 64, 17, 48, 64, "dark_udp", 11),
    DecodeCase("whole-body", 64, 133, 72, 96, "quarter", 1),
    DecodeCase("whole-body", 64, 133, 72, 96, "dark", 17),
    DecodeCase("RTMPose SimCC", 64, 17, 384, 512, "simcc", 0),
]


def make_decode_inputs(case: DecodeCase, seed: int = 0):
    """Heatmaps [B, K, H, W] (or SimCC vectors) like a trained network's, float32 on the CPU."""
    g = torch.Generator().manual_seed(seed)
    if case.refine == "simcc":
        def vectors(length: int) -> torch.Tensor:
            mu = torch.rand(case.B, case.K, 1, generator=g) * length
            x = torch.arange(length, dtype=torch.float32)
            v = torch.exp(-((x - mu) ** 2) / (2 * 9.8**2)) * (0.3 + 0.7 * torch.rand(case.B, case.K, 1, generator=g))
            return (v + 0.003 * torch.randn(v.shape, generator=g)).contiguous()

        return vectors(case.W), vectors(case.H)
    kp = torch.rand(case.B, case.K, 2, generator=g) * torch.tensor([case.W - 1.0, case.H - 1.0])
    sigma = 2.0 if case.W <= 48 else 3.0
    method = "udp" if case.refine == "dark_udp" else ("unbiased" if case.refine == "dark" else "msra")
    hm, _ = ops.gaussian_heatmaps(kp, None, (case.W, case.H), sigma, method)
    peak = 0.3 + 0.7 * torch.rand(case.B, case.K, 1, 1, generator=g)
    return (hm * peak + 0.004 * torch.randn(hm.shape, generator=g)).contiguous()


def run_decode_op(case: DecodeCase, inputs):
    if case.refine == "simcc":
        return ops.decode_simcc(inputs[0], inputs[1])
    return ops.decode_heatmaps(inputs, case.refine, case.blur)


def run_decode_baseline(case: DecodeCase, inputs):
    if case.refine == "simcc":
        return baseline.decode_simcc(inputs[0].numpy(), inputs[1].numpy())
    return baseline.decode_heatmaps(inputs.numpy(), case.refine, case.blur)


def mmpose_decoder(case: DecodeCase) -> Optional[Callable[[object], object]]:
    """MMPose's codec decoding the batch one sample at a time (None when MMPose is absent)."""
    try:
        from mmpose import codecs as mm  # test-only reference, never required
    except Exception:
        return None
    scale = 4
    input_size = (case.W * scale, case.H * scale)
    if case.refine == "simcc":
        codec = mm.SimCCLabel((case.W // 2, case.H // 2), sigma=(4.9, 5.66), simcc_split_ratio=2.0, normalize=False)
        return lambda inputs: [codec.decode(x, y) for x, y in zip(inputs[0].numpy(), inputs[1].numpy())]
    if case.refine == "dark_udp":
        codec = mm.UDPHeatmap(input_size, (case.W, case.H), sigma=2.0, blur_kernel_size=case.blur)
    else:
        codec = mm.MSRAHeatmap(input_size, (case.W, case.H), sigma=2.0, unbiased=case.refine == "dark",
                               blur_kernel_size=max(case.blur, 1))
    return lambda inputs: [codec.decode(h) for h in inputs.numpy()]


def run_decode(cases, quick: bool, use_cuda: bool, copy_bw: Optional[float], out=print) -> list[dict]:
    """The decoding table."""
    from .benchmark import time_cuda_eager, time_cuda_graph, time_host

    rows = []
    for case in cases:
        inputs = make_decode_inputs(case)
        nbytes = sum(t.numel() for t in inputs) * 4 if case.refine == "simcc" else inputs.numel() * 4
        big = nbytes > 50_000_000
        reps = 1 if big else (3 if quick else 10)
        row = dict(case=case.name, refine=case.refine, sizes=case.describe(), mbytes=nbytes / 1e6, mmpose_ms=None)
        mm = mmpose_decoder(case)
        if mm is not None:
            with np.errstate(all="ignore"):
                row["mmpose_ms"] = 1e3 * time_host(lambda: mm(inputs), 0.0 if quick or big else 1.0, reps, warmup=0)
        with np.errstate(all="ignore"):
            row["baseline_ms"] = 1e3 * time_host(lambda: run_decode_baseline(case, inputs), 0.0 if quick or big else 1.0,
                                                 reps, warmup=0)
        cpu_s = time_host(lambda: run_decode_op(case, inputs), 0.2 if quick else 1.0, 20 if quick else 300)
        row.update(cpu_ms=cpu_s * 1e3, cpu_speedup=row["baseline_ms"] / (cpu_s * 1e3),
                   cpu_vs_mmpose=None if row["mmpose_ms"] is None else row["mmpose_ms"] / (cpu_s * 1e3))
        if use_cuda:
            dev = tuple(t.cuda() for t in inputs) if case.refine == "simcc" else inputs.cuda()
            got, want = run_decode_op(case, dev), run_decode_op(case, inputs)
            row["max_abs_diff"] = float(torch.nan_to_num((got[0].cpu() - want[0]).abs()).max())
            gpu_s = time_cuda_graph(lambda: run_decode_op(case, dev), replays=50)
            row.update(cuda_us=gpu_s * 1e6, cuda_call_us=time_cuda_eager(lambda: run_decode_op(case, dev), 200) * 1e6,
                       cuda_vs_cpu=cpu_s / gpu_s, pct_copy_bw=100 * (nbytes / copy_bw) / gpu_s)
            del dev
            torch.cuda.empty_cache()
        rows.append(row)
        mmx = "-" if row["cpu_vs_mmpose"] is None else f"{row['cpu_vs_mmpose']:.0f}"
        mms = "-" if row["mmpose_ms"] is None else f"{row['mmpose_ms']:.1f}"
        cols = (f"{'case':<14} {'refine':<9} {'sizes':<26} {'MB':>6} {'MMPose ms':>10} {'baseline ms':>12} "
                f"{'CPU ms':>8} {'CPU/MMPose x':>12} {'CPU/base x':>10}")
        vals = (f"{row['case']:<14} {row['refine']:<9} {row['sizes']:<26} {row['mbytes']:>6.1f} {mms:>10} "
                f"{row['baseline_ms']:>12.1f} {row['cpu_ms']:>8.3f} {mmx:>12} {row['cpu_speedup']:>10.0f}")
        if use_cuda:
            cols += f" {'CUDA us':>8} {'call us':>8} {'CUDA/CPU x':>10} {'%copyBW':>8} {'|diff|':>8}"
            vals += (f" {row['cuda_us']:>8.1f} {row['cuda_call_us']:>8.1f} {row['cuda_vs_cpu']:>10.0f} "
                     f"{row['pct_copy_bw']:>8.1f} {row['max_abs_diff']:>8.1e}")
        out((cols + "\n" + vals) if len(rows) == 1 else vals)
    lines = ["targets:"]
    dark = next((r for r in rows if r["case"] == "top-down COCO" and r["refine"] == "dark"), None)
    if dark:
        lines.append(f"  CPU kernel COCO batch with DARK <= 4 ms: {dark['cpu_ms']:.3f} ms "
                     f"{'MET' if dark['cpu_ms'] <= 4 else 'MISSED'}")
        if use_cuda:
            lines.append(f"  CUDA COCO batch with DARK <= 50 us: {dark['cuda_us']:.1f} us "
                         f"{'MET' if dark['cuda_us'] <= 50 else 'MISSED'}")
    out("\n".join(lines))
    return rows
