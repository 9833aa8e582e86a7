"""The benchmark behind ``pyposefast bench``: every case timed side by side in one run.

For each case it times MMPose's own codec (when MMPose is installed: top-down cases, one ``encode``
per sample as its pipeline does), the NumPy baseline (``pyposefast.baseline``, MMPose-style
per-keypoint loops; "CPU x" is the CPU kernel's speed-up over it), our CPU kernel and, when compiled in and a GPU is visible, our CUDA kernel, and prints one table of
times and ratios. CUDA kernel times are CUDA-graph replays measured with events (the device time of
one launch, free of Python overhead); "CUDA call" is the eager call from Python, wrapper included. The
achieved bandwidth counts the bytes the op must move (keypoints and visibility read once, heatmaps and
weights written once) and is compared with this device's measured copy bandwidth (read + write).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from typing import Callable, Optional

import numpy as np
import torch

from . import baseline, ops
from ._extension import build_info, cuda_available
from .datasets.ragged import RaggedImages


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    B: int
    N: Optional[int]  # None: top-down layout
    K: int
    W: int
    H: int
    sigma: float
    method: str  # msra | unbiased | udp | offset

    @property
    def shape(self) -> tuple:
        return (self.B, self.K) if self.N is None else (self.B, self.N, self.K)

    def describe(self) -> str:
        n = "" if self.N is None else f" N={self.N}"
        return f"B={self.B}{n} K={self.K} {self.H}x{self.W} s={self.sigma:g}"


CASES = [
    Case("top-down COCO", 64, None, 17, 48, 64, 2.0, "msra"),
    Case("top-down COCO", 64, None, 17, 48, 64, 2.0, "unbiased"),
    Case("top-down COCO", 64, None, 17, 48, 64, 2.0, "udp"),
    Case("top-down COCO", 64, None, 17, 48, 64, 2.0, "offset"),
    Case("whole-body", 64, None, 133, 72, 96, 3.0, "msra"),
    Case("bottom-up", 8, 30, 17, 128, 128, 2.0, "msra"),
    Case("large batch", 1024, None, 133, 72, 96, 3.0, "msra"),
]


def make_inputs(case: Case, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Keypoints spread over the map (a few outside), ~85% visible."""
    rng = np.random.default_rng(seed)
    kp = np.empty(case.shape + (2,), np.float32)
    kp[..., 0] = rng.uniform(-2, case.W + 2, case.shape)
    kp[..., 1] = rng.uniform(-2, case.H + 2, case.shape)
    vis = (rng.uniform(size=case.shape) < 0.85).astype(np.float32)
    return torch.from_numpy(kp), torch.from_numpy(vis)


def run_op(case: Case, kp: torch.Tensor, vis: torch.Tensor):
    if case.method == "offset":
        return ops.udp_offset_heatmaps(kp, vis, (case.W, case.H), 0.0546875)
    return ops.gaussian_heatmaps(kp, vis, (case.W, case.H), case.sigma, case.method)


def run_baseline(case: Case, kp: np.ndarray, vis: np.ndarray):
    if case.method == "offset":
        return baseline.udp_offset_heatmaps(kp, vis, (case.W, case.H), 0.0546875)
    return baseline.gaussian_heatmaps(kp, vis, (case.W, case.H), case.sigma, case.method)


def mmpose_encoder(case: Case) -> Optional[Callable[[np.ndarray, np.ndarray], object]]:
    """MMPose 1.x's own codec over the batch, one sample at a time (as its data pipeline does), when
    MMPose is installed and the case is top-down; None otherwise. Input size = heatmap size, so the
    keypoints are already in heatmap pixels for both sides."""
    if case.N is not None:
        return None
    try:
        from mmpose import codecs as mm  # test-only reference, never required
    except Exception:
        return None
    size = (case.W, case.H)
    if case.method == "offset":
        codec = mm.UDPHeatmap(size, size, heatmap_type="combined")
    elif case.method == "udp":
        codec = mm.UDPHeatmap(size, size, sigma=case.sigma)
    else:
        codec = mm.MSRAHeatmap(size, size, sigma=case.sigma, unbiased=case.method == "unbiased")

    def encode_batch(kp: np.ndarray, vis: np.ndarray) -> list:
        return [codec.encode(kp[i : i + 1], vis[i : i + 1]) for i in range(kp.shape[0])]

    return encode_batch


def bytes_moved(case: Case) -> int:
    channels = case.K * (3 if case.method == "offset" else 1)
    n = 1 if case.N is None else case.N
    out = case.B * channels * case.H * case.W * 4 + case.B * n * case.K * 4
    inp = case.B * n * case.K * 3 * 4
    return out + inp


def time_host(fn: Callable[[], object], min_time: float, max_reps: int, warmup: int = 2) -> float:
    """Median wall time of fn() in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < 3 or time.perf_counter() - start < min_time):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def time_cuda_graph(fn: Callable[[], object], replays: int = 50, trials: int = 7) -> float:
    """Median device time of one fn() launch in seconds, from CUDA-graph replays timed with events."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(replays):
            fn()
    graph.replay()
    torch.cuda.synchronize()
    times = []
    for _ in range(trials):
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(begin.elapsed_time(end) / 1e3 / replays)
    del graph
    return statistics.median(times)


def time_cuda_eager(fn: Callable[[], object], calls: int = 200) -> float:
    """Mean time per eager call in seconds (Python wrapper + launch + kernel), back to back."""
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / calls


def copy_bandwidth(nbytes: int = 1 << 30) -> float:
    """Device-to-device copy bandwidth in bytes/s, counting bytes read plus bytes written."""
    src = torch.empty(nbytes // 4, dtype=torch.float32, device="cuda").uniform_()
    dst = torch.empty_like(src)
    seconds = time_cuda_graph(lambda: dst.copy_(src), replays=10, trials=5)
    src = dst = None  # free the 2 GiB before the next table
    torch.cuda.empty_cache()
    return 2 * nbytes / seconds


def run(cases=CASES, warp_cases=None, quick: bool = False, cuda: Optional[bool] = None, out=print,
        eval_only: Optional[list] = None, decode_cases=None, models: Optional[bool] = None,
        pipeline: Optional[bool] = None, group_cases=None, lifting: Optional[bool] = None) -> dict:
    """Time every case of every kernel family; print the tables and return their rows."""
    use_cuda = cuda_available() if cuda is None else cuda
    info = build_info()
    out(f"pyposefast {info['pyposefast']} | torch {torch.__version__} | CPU threads {torch.get_num_threads()}"
        + (f" | {torch.cuda.get_device_name()} (CUDA {info['cuda']}, archs {info['cuda_architectures']})" if use_cuda else " | no CUDA"))
    copy_bw = copy_bandwidth() if use_cuda else None
    if copy_bw:
        out(f"measured device copy bandwidth: {copy_bw / 1e9:.0f} GB/s (read + write)")
    results = {}
    if cases:
        out("\n== heatmap targets (kernel family 1)")
        results["heatmaps"] = run_heatmaps(cases, quick, use_cuda, copy_bw, out)
    warp_cases = WARP_CASES if warp_cases is None else warp_cases
    if warp_cases:
        out("\n== top-down crops: warp_affine + normalise (kernel family 2)")
        results["warp"] = run_warp(warp_cases, quick, use_cuda, copy_bw, out)
    from .benchmark_decode import DECODE_CASES, run_decode

    decode_cases = DECODE_CASES if decode_cases is None else decode_cases
    if decode_cases:
        out("\n== keypoint decoding (kernel family 4)")
        results["decode"] = run_decode(decode_cases, quick, use_cuda, copy_bw, out)
    from .benchmark_group import GROUP_CASES, run_group

    group_cases = GROUP_CASES if group_cases is None else group_cases
    if group_cases:
        out("\n== bottom-up grouping: associative-embedding decode (kernel family 6)")
        results["group"] = run_group(group_cases, quick, use_cuda, out)
    if eval_only is None or eval_only:
        from . import benchmark_eval

        results.update(benchmark_eval.run(quick, use_cuda, eval_only, time_host, time_cuda_graph, out))
    if use_cuda if models is None else models:  # networks on 2 CPU cores take minutes: CUDA or --only models
        from .benchmark_models import run_models

        out("\n== models: network alone vs end to end (crop, network + flip, decode, back to image)")
        results["models"] = run_models(quick, use_cuda, out)
    if use_cuda if pipeline is None else pipeline:  # data-loader workers on 2 cores: CUDA or --only pipeline
        from .benchmark_pipeline import run_pipeline

        out("\n== data pipeline: batched device pipeline vs per-sample transforms (top-down COCO 256x192)")
        results["pipeline"] = run_pipeline(quick, use_cuda, out)
    if use_cuda if lifting is None else lifting:  # 243-frame TCNs on 2 CPU cores take minutes: CUDA or --only lifting
        from .benchmark_lifting import run_lifting

        out("\n== pose lifting: VideoPose3D 243-frame windows (sequences/s)")
        results["lifting"] = run_lifting(quick, use_cuda, out)
    return results


def run_heatmaps(cases, quick: bool, use_cuda: bool, copy_bw: Optional[float], out=print) -> list[dict]:
    """The heatmap-target table."""
    rows = []
    for case in cases:
        kp, vis = make_inputs(case)
        large = case.B * case.K * case.H * case.W > 50_000_000
        base_s = time_host(lambda: run_baseline(case, kp.numpy(), vis.numpy()), 0.0 if large or quick else 1.0,
                           1 if large else (3 if quick else 20), warmup=0 if large else 1)
        cpu_s = time_host(lambda: run_op(case, kp, vis), 0.2 if quick else 1.0, 3 if large else 200,
                          warmup=1 if large else 2)
        row = dict(case=case.name, method=case.method, sizes=case.describe(), baseline_ms=base_s * 1e3,
                   cpu_ms=cpu_s * 1e3, cpu_speedup=base_s / cpu_s, mbytes=bytes_moved(case) / 1e6,
                   mmpose_ms=None)
        mmpose = mmpose_encoder(case)
        if mmpose is not None:
            row["mmpose_ms"] = 1e3 * time_host(lambda: mmpose(kp.numpy(), vis.numpy()), 0.0 if large or quick else 1.0,
                                               1 if large else (3 if quick else 20), warmup=0 if large else 1)
        if use_cuda:
            kp_d, vis_d = kp.cuda(), vis.cuda()
            # correctness guard: the CUDA result must equal the CPU kernel's (same float64 expression)
            got, want = run_op(case, kp_d, vis_d)[0], run_op(case, kp, vis)[0]
            row["max_abs_diff"] = float((got.cpu() - want).abs().max()) if got.numel() else 0.0
            del got, want
            gpu_s = time_cuda_graph(lambda: run_op(case, kp_d, vis_d), replays=5 if large else 50)
            row.update(cuda_us=gpu_s * 1e6, cuda_call_us=time_cuda_eager(lambda: run_op(case, kp_d, vis_d),
                       calls=10 if large else 200) * 1e6, cuda_vs_cpu=cpu_s / gpu_s,
                       cuda_gbps=bytes_moved(case) / gpu_s / 1e9, pct_copy_bw=100 * bytes_moved(case) / gpu_s / copy_bw)
            del kp_d, vis_d
            torch.cuda.empty_cache()
        rows.append(row)
        out(format_row(row, use_cuda, header=len(rows) == 1))
    out(check_targets(rows, use_cuda))
    return rows


def format_row(row: dict, use_cuda: bool, header: bool = False) -> str:
    mm = "-" if row["mmpose_ms"] is None else f"{row['mmpose_ms']:.2f}"
    cols = (f"{'case':<14} {'method':<9} {'sizes':<30} {'MB':>7} {'MMPose ms':>10} {'baseline ms':>12} "
            f"{'CPU ms':>9} {'CPU x':>7}")
    vals = (f"{row['case']:<14} {row['method']:<9} {row['sizes']:<30} {row['mbytes']:>7.1f} {mm:>10} "
            f"{row['baseline_ms']:>12.2f} {row['cpu_ms']:>9.3f} {row['cpu_speedup']:>7.1f}")
    if use_cuda:
        cols += f" {'CUDA us':>9} {'call us':>8} {'CUDA/CPU x':>10} {'GB/s':>7} {'%copyBW':>8} {'|diff|':>8}"
        vals += (f" {row['cuda_us']:>9.1f} {row['cuda_call_us']:>8.1f} {row['cuda_vs_cpu']:>10.0f} "
                 f"{row['cuda_gbps']:>7.0f} {row['pct_copy_bw']:>8.1f} {row['max_abs_diff']:>8.1e}")
    return (cols + "\n" + vals) if header else vals


def check_targets(rows: list[dict], use_cuda: bool) -> str:
    """The issue's targets, measured: CPU top-down COCO <= 1.5 ms; CUDA <= 25 us; large >= 50% copy BW."""
    coco = next(r for r in rows if r["case"] == "top-down COCO" and r["method"] == "msra") if any(
        r["case"] == "top-down COCO" and r["method"] == "msra" for r in rows) else None
    large = next((r for r in rows if r["case"] == "large batch"), None)
    lines = ["targets:"]
    if coco:
        lines.append(f"  CPU top-down COCO (msra) <= 1.5 ms: {coco['cpu_ms']:.3f} ms "
                     f"{'MET' if coco['cpu_ms'] <= 1.5 else 'MISSED'}")
        if use_cuda:
            lines.append(f"  CUDA top-down COCO (msra) <= 25 us: {coco['cuda_us']:.1f} us "
                         f"{'MET' if coco['cuda_us'] <= 25 else 'MISSED'}")
    if large and use_cuda:
        lines.append(f"  CUDA large batch >= 50% of copy bandwidth: {large['pct_copy_bw']:.1f}% "
                     f"{'MET' if large['pct_copy_bw'] >= 50 else 'MISSED'}")
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class WarpCase:
    name: str
    crops: int
    images: int
    image_size: tuple  # (W, H)
    crop_size: tuple  # (w, h)

    def describe(self) -> str:
        return (f"{self.crops} crops {self.crop_size[1]}x{self.crop_size[0]} from {self.images} "
                f"{self.image_size[0]}x{self.image_size[1]}")


WARP_CASES = [
    WarpCase("top-down COCO", 64, 64, (640, 480), (192, 256)),
    WarpCase("large", 256, 32, (1920, 1080), (288, 384)),
]
MEAN = (123.675, 116.28, 103.53)  # MMPose's ImageNet mean/std (RGB), as its data preprocessor uses
STD = (58.395, 57.12, 57.375)


def make_warp_inputs(case: WarpCase, seed: int = 0):
    """Random BGR uint8 images and person boxes (centre inside, 20-60% of the image, +-30 deg)."""
    from .structures.bbox import get_warp_matrix

    rng = np.random.default_rng(seed)
    W, H = case.image_size
    images = rng.integers(0, 256, (case.images, H, W, 3), dtype=np.uint8)
    index = np.arange(case.crops) % case.images
    w, h = case.crop_size
    center = np.stack([rng.uniform(0.2 * W, 0.8 * W, case.crops), rng.uniform(0.2 * H, 0.8 * H, case.crops)], -1)
    bh = rng.uniform(0.2, 0.6, case.crops) * H
    scale = np.stack([bh * w / h, bh], -1) * 1.25
    rot = np.where(rng.uniform(size=case.crops) < 0.6, rng.uniform(-30, 30, case.crops), 0.0)
    mats = get_warp_matrix(torch.from_numpy(center), torch.from_numpy(scale), torch.from_numpy(rot), (w, h))
    return images, index, mats.to(torch.float64)


def cv2_topdown(images: np.ndarray, index: np.ndarray, mats: np.ndarray, crop_size) -> list:
    """What MMPose's pipeline does per sample: cv2.warpAffine, then normalise and HWC->CHW."""
    import cv2

    mean, std = np.array(MEAN, np.float32), np.array(STD, np.float32)
    out = []
    for n in range(len(index)):
        crop = cv2.warpAffine(images[index[n]], mats[n], crop_size, flags=cv2.INTER_LINEAR)
        crop = crop[..., ::-1].astype(np.float32)  # BGR -> RGB
        out.append(np.ascontiguousarray(((crop - mean) / std).transpose(2, 0, 1)))
    return out


def run_warp(cases, quick: bool, use_cuda: bool, copy_bw: Optional[float], out=print) -> list[dict]:
    """The warp table: per-sample cv2 path vs our CPU kernel vs our CUDA kernel. The bandwidth floor
    counts the crops written (float32) plus one source pixel read per crop pixel (uint8)."""
    rows = []
    for case in cases:
        images, index, mats = make_warp_inputs(case)
        w, h = case.crop_size
        dense = torch.from_numpy(images)
        idx_t = torch.from_numpy(index)
        mats_np = mats.numpy()

        def ours(imgs, m, i):
            return ops.warp_affine(imgs, m, (w, h), image_index=i, mean=MEAN, std=STD, bgr_to_rgb=True)

        cv2_s = time_host(lambda: cv2_topdown(images, index, mats_np, (w, h)), 0.2 if quick else 1.0, 3 if quick else 30)
        cpu_s = time_host(lambda: ours(dense, mats, idx_t), 0.2 if quick else 1.0, 3 if quick else 30)
        floor_bytes = case.crops * 3 * h * w * (4 + 1)
        row = dict(case=case.name, sizes=case.describe(), mbytes=floor_bytes / 1e6, cv2_ms=cv2_s * 1e3,
                   cpu_ms=cpu_s * 1e3, cpu_speedup=cv2_s / cpu_s)
        if use_cuda:
            dense_d, mats_d, idx_d = dense.cuda(), mats.cuda(), idx_t.cuda()
            got, want = ours(dense_d, mats_d, idx_d).cpu(), ours(dense, mats, idx_t)
            row["max_abs_diff"] = float((got - want).abs().max())
            ragged = RaggedImages.from_dense(dense).to("cuda")
            mean_d, std_d = torch.tensor(MEAN, device="cuda"), torch.tensor(STD, device="cuda")
            gpu_s = time_cuda_graph(lambda: torch.ops.pyposefast.warp_affine(
                ragged.data, ragged.offsets, ragged.sizes, idx_d, mats_d, 3, w, h, mean_d, std_d, True, False, 0.0,
                torch.float32), replays=20)
            floor_s = floor_bytes / copy_bw
            row.update(cuda_us=gpu_s * 1e6, cuda_call_us=time_cuda_eager(lambda: ours(dense_d, mats_d, idx_d), 100) * 1e6,
                       cuda_vs_cpu=cpu_s / gpu_s, floor_us=floor_s * 1e6, x_floor=gpu_s / floor_s)
            del dense_d
            torch.cuda.empty_cache()
        rows.append(row)
        cols = f"{'case':<14} {'sizes':<40} {'MB':>6} {'cv2 path ms':>12} {'CPU ms':>8} {'CPU x':>6}"
        vals = (f"{row['case']:<14} {row['sizes']:<40} {row['mbytes']:>6.1f} {row['cv2_ms']:>12.2f} "
                f"{row['cpu_ms']:>8.2f} {row['cpu_speedup']:>6.1f}")
        if use_cuda:
            cols += f" {'CUDA us':>9} {'call us':>8} {'CUDA/CPU x':>10} {'floor us':>9} {'x floor':>8} {'|diff|':>8}"
            vals += (f" {row['cuda_us']:>9.1f} {row['cuda_call_us']:>8.1f} {row['cuda_vs_cpu']:>10.0f} "
                     f"{row['floor_us']:>9.1f} {row['x_floor']:>8.2f} {row['max_abs_diff']:>8.1e}")
        out((cols + "\n" + vals) if len(rows) == 1 else vals)
    lines = ["targets:"]
    coco = next((r for r in rows if r["case"] == "top-down COCO"), None)
    large = next((r for r in rows if r["case"] == "large"), None)
    if coco:
        lines.append(f"  CPU kernel >= 2x the per-sample cv2 path (64 crops): {coco['cpu_speedup']:.1f}x "
                     f"{'MET' if coco['cpu_speedup'] >= 2 else 'MISSED'}")
        if use_cuda:
            lines.append(f"  CUDA 64 crops <= 60 us: {coco['cuda_us']:.1f} us {'MET' if coco['cuda_us'] <= 60 else 'MISSED'}")
    if large and use_cuda:
        lines.append(f"  CUDA large case within 2.5x of the bandwidth floor: {large['x_floor']:.2f}x "
                     f"{'MET' if large['x_floor'] <= 2.5 else 'MISSED'}")
    out("\n".join(lines))
    return rows


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="pyposefast bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (noisier numbers)")
    parser.add_argument("--cpu-only", action="store_true", help="skip the CUDA kernel even if a GPU is visible")
    parser.add_argument("--only", action="append",
                        choices=["heatmap", "warp", "decode", "group", "nms", "coco_eval", "models", "pipeline",
                                 "lifting"],
                        default=None,
                        help="only this kernel family (repeatable)")
    parser.add_argument("--case", action="append", default=None,
                        help="only cases whose name contains this text (repeatable)")
    args = parser.parse_args(argv)
    parser_cases = args.case
    cases = CASES if not parser_cases else [c for c in CASES if any(s in c.name for s in parser_cases)]
    warp_cases = WARP_CASES if not parser_cases else [c for c in WARP_CASES if any(s in c.name for s in parser_cases)]
    from .benchmark_decode import DECODE_CASES

    decode_cases = DECODE_CASES if not parser_cases else [c for c in DECODE_CASES if any(s in c.name for s in parser_cases)]
    from .benchmark_group import GROUP_CASES

    group_cases = GROUP_CASES if not parser_cases else [c for c in GROUP_CASES if any(s in c.describe() for s in parser_cases)]
    if args.only:
        group_cases = group_cases if "group" in args.only else []
        cases = cases if "heatmap" in args.only else []
        warp_cases = warp_cases if "warp" in args.only else []
        decode_cases = decode_cases if "decode" in args.only else []
    eval_only = None if not args.only else [x for x in args.only if x in ("nms", "coco_eval")]
    models = None if not args.only else "models" in args.only
    pipeline = None if not args.only else "pipeline" in args.only
    lifting = None if not args.only else "lifting" in args.only
    run(cases, warp_cases, quick=args.quick, cuda=False if args.cpu_only else None, eval_only=eval_only,
        decode_cases=decode_cases, models=models, pipeline=pipeline, group_cases=group_cases, lifting=lifting)
    return 0
