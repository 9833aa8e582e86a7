"""The evaluation section of ``pyposefast bench``: OKS-NMS (baseline vs CPU vs CUDA kernel) and the
full COCO keypoint evaluation (CocoMetric vs pycocotools alone on the same results), one table each,
measured side by side in one run."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from typing import Optional

import numpy as np
import torch

from . import baseline, ops

COCO_SIGMAS = np.array([0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107,
                        0.087, 0.087, 0.089, 0.089])


def nms_inputs(B: int, N: int, K: int = 17, seed: int = 0):
    """B images x N candidates: clusters of near-duplicate poses (as a top-down detector gives)."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 600, (B, 6, 1, 2))
    kp = (centers[:, rng.integers(0, 6, N)] + rng.normal(0, 5, (B, N, K, 2))).astype(np.float32)
    return kp, rng.uniform(size=(B, N)), rng.uniform(2000, 20000, (B, N))


def run_nms(time_host, time_cuda_graph, quick: bool, use_cuda: bool, out=print) -> list[dict]:
    rows = []
    for B, N in [(1000, 30)]:
        kp, s, a = nms_inputs(B, N)
        kp_t, s_t, a_t = torch.from_numpy(kp), torch.from_numpy(s), torch.from_numpy(a)
        for mode in ("oks_nms", "soft_oks_nms"):
            if mode == "oks_nms":
                def base():
                    return baseline.oks_nms(kp, s, a, COCO_SIGMAS, 0.9)

                def op(k, sc, ar, sg):
                    return ops.oks_nms(k, sc, ar, sg, 0.9)
            else:
                def base():
                    return baseline.soft_oks_nms(kp, s, a, COCO_SIGMAS, 0.9, 20)

                def op(k, sc, ar, sg):
                    return ops.soft_oks_nms(k, sc, ar, sg, 0.9, 20)
            base_s = time_host(base, 0.0, 1, warmup=0) if not quick else None
            if quick:  # the NumPy loops take seconds: time 100 images and scale to B
                kp, s, a = kp_t[:100].numpy(), s_t[:100].numpy(), a_t[:100].numpy()
                base_s = time_host(base, 0.0, 1, warmup=0) * B / 100
                kp, s, a = kp_t.numpy(), s_t.numpy(), a_t.numpy()
            sig_t = torch.as_tensor(np.asarray(COCO_SIGMAS, dtype=np.float64))
            cpu_s = time_host(lambda: op(kp_t, s_t, a_t, sig_t), 0.2 if quick else 1.0, 5 if quick else 50)
            row = dict(case=f"{mode} {B} img x {N}", baseline_ms=base_s * 1e3, cpu_ms=cpu_s * 1e3,
                       cpu_speedup=base_s / cpu_s)
            if use_cuda:
                d = [t.cuda() for t in (kp_t, s_t, a_t, sig_t)]  # all on the device: graph-capturable
                got, want = op(*d), op(kp_t, s_t, a_t, sig_t)
                got, want = (got[0], want[0]) if isinstance(got, tuple) else (got, want)
                row["same_as_cpu"] = bool(torch.equal(got.cpu(), want))
                gpu_s = time_cuda_graph(lambda: op(*d), replays=20)
                row.update(cuda_us=gpu_s * 1e6, cuda_vs_cpu=cpu_s / gpu_s)
            rows.append(row)
            cols = f"{'case':<28} {'baseline ms':>12} {'CPU ms':>9} {'CPU x':>7}"
            vals = f"{row['case']:<28} {row['baseline_ms']:>12.1f} {row['cpu_ms']:>9.2f} {row['cpu_speedup']:>7.0f}"
            if use_cuda:
                cols += f" {'CUDA us':>9} {'CUDA/CPU x':>10} {'same':>5}"
                vals += f" {row['cuda_us']:>9.1f} {row['cuda_vs_cpu']:>10.1f} {str(row['same_as_cpu']):>5}"
            out((cols + "\n" + vals) if len(rows) == 1 else vals)
    return rows


def coco_eval_inputs(n_images: int, people: int, seed: int = 0):
    """A COCO ground truth of n_images x people and top-down samples (one per person + 1 false
    positive per image), as CocoMetric receives them."""
    rng = np.random.default_rng(seed)
    K = 17
    images, anns, samples = [], [], []
    for img in range(1, n_images + 1):
        images.append({"id": img, "width": 640, "height": 480})
        for p in range(people + 1):
            w, h = rng.uniform(40, 200), rng.uniform(80, 300)
            x0, y0 = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            kp = np.stack([rng.uniform(x0, x0 + w, K), rng.uniform(y0, y0 + h, K)], -1)
            if p < people:
                v = rng.choice([0, 2, 2, 2], K)
                anns.append({"id": len(anns) + 1, "image_id": img, "category_id": 1, "bbox": [x0, y0, w, h],
                             "area": w * h * 0.6, "iscrowd": 0, "num_keypoints": int((v > 0).sum()),
                             "keypoints": np.concatenate([kp, v[:, None]], 1).reshape(-1).tolist()})
                pred = kp + rng.normal(0, 4, kp.shape)
            else:
                pred = kp
            samples.append({"id": len(samples), "img_id": img,
                            "pred_instances": {"keypoints": pred[None].astype(np.float32),
                                               "keypoint_scores": rng.uniform(size=(1, K)).astype(np.float32),
                                               "bboxes": np.array([[x0, y0, x0 + w, y0 + h]], np.float32)},
                            "gt_instances": {"bbox_scores": np.array([rng.uniform(0.3, 1)]),
                                             "bbox_scales": np.array([[w * 1.25, h * 1.25]])}})
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}, samples


def run_coco_eval(quick: bool, out=print) -> list[dict]:
    """CocoMetric.evaluate (group, rescore, batched OKS-NMS, write JSON, pycocotools) vs pycocotools
    alone (load GT, loadRes of the same results JSON, evaluate, accumulate, summarize)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from .evaluation import CocoMetric

    n_images = 500 if quick else 5000
    rows = []
    gt, samples = coco_eval_inputs(n_images, 5)
    with tempfile.TemporaryDirectory() as d:
        gt_file = os.path.join(d, "gt.json")
        with open(gt_file, "w") as f:
            json.dump(gt, f)
        prefix = os.path.join(d, "res")

        def ours_once() -> tuple[float, dict]:
            metric = CocoMetric(ann_file=gt_file, outfile_prefix=prefix)
            metric.dataset_meta = {"sigmas": COCO_SIGMAS, "num_keypoints": 17}
            metric.process(None, samples)  # per batch during testing; not part of the evaluation cost
            t = time.perf_counter()
            result = metric.evaluate()
            return time.perf_counter() - t, result

        def ref_once() -> tuple[float, COCOeval]:
            t = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                coco = COCO(gt_file)
                ev = COCOeval(coco, coco.loadRes(prefix + ".keypoints.json"), "keypoints")
                ev.evaluate()
                ev.accumulate()
                ev.summarize()
            return time.perf_counter() - t, ev

        # one evaluation takes seconds and this machine's timings drift: alternate the two, keep the best
        ours_times, ref_times = [], []
        for r in range(1 if quick else 2):
            if r % 2 == 0:
                ours_s, ours = ours_once()
                ref_s, ev = ref_once()
            else:
                ref_s, ev = ref_once()
                ours_s, ours = ours_once()
            ours_times.append(ours_s)
            ref_times.append(ref_s)
        ours_s, ref_s = min(ours_times), min(ref_times)
    row = dict(case=f"COCO eval {n_images} img x 5", pycocotools_s=ref_s, ours_s=ours_s, overhead=ours_s / ref_s - 1,
               ap=ours["coco/AP"], ap_ref=float(ev.stats[0]))
    rows.append(row)
    out(f"{'case':<28} {'pycocotools s':>14} {'CocoMetric s':>13} {'overhead':>9} {'AP':>8} {'AP (pycocotools)':>17}")
    out(f"{row['case']:<28} {ref_s:>14.2f} {ours_s:>13.2f} {100 * row['overhead']:>8.1f}% {row['ap']:>8.4f} "
        f"{row['ap_ref']:>17.4f}")
    out(f"targets:\n  CocoMetric within 20% of pycocotools' own cost: {100 * row['overhead']:.1f}% "
        f"{'MET' if row['overhead'] <= 0.2 else 'MISSED'}")
    return rows


def run(quick: bool, use_cuda: bool, only: Optional[list], time_host, time_cuda_graph, out=print) -> dict:
    results = {}
    if only is None or "nms" in only:
        out("\n== OKS-NMS (evaluation kernels): baseline vs CPU vs CUDA")
        results["nms"] = run_nms(time_host, time_cuda_graph, quick, use_cuda, out)
    if only is None or "coco_eval" in only:
        out("\n== COCO keypoint evaluation: CocoMetric vs pycocotools alone (CPU)")
        results["coco_eval"] = run_coco_eval(quick, out)
    return results
