"""Model throughput: network alone vs end to end (crop by warp_affine, network on the crops and the
flipped crops, flip merge + batched device decode + back to image), per model and batch size.

``run_models(quick, use_cuda, out)`` prints one table and returns its rows; the acceptance check is
that post-processing (end to end minus network with flip test) adds under 10% at batch 64 on CUDA.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

import torch

__all__ = ["run_models"]

MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


def _timer(fn: Callable[[], object], device: torch.device, reps: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1e3 / reps
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def _case(name: str, batch: int, device: torch.device, dtype: torch.dtype):
    from .datasets.ragged import RaggedImages
    from .models import build_model
    from .structures.bbox import get_warp_matrix

    model = build_model(name).to(device).eval()
    w, h = model.head.decoder.input_size
    g = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (480, 640, 3), generator=g, dtype=torch.uint8) for _ in range(4)]
    ragged = RaggedImages.from_images(images).to(device)
    center = torch.rand(batch, 2, generator=g) * torch.tensor([440.0, 280.0]) + 100
    scale = torch.rand(batch, 1, generator=g) * 150 + 100
    scale = torch.cat([scale * w / h, scale], 1) * 1.25
    mats = get_warp_matrix(center.double(), scale.double(), 0.0, (w, h)).to(device)
    # image_index stays on the host (pinned): warp_affine then checks it without a device sync, and the
    # end-to-end loop keeps the GPU queue full as a real inference loop would
    index = torch.arange(batch) % 4
    index = index.pin_memory() if device.type == "cuda" else index
    center, scale = center.to(device), scale.to(device)
    return model, ragged, mats, index, center, scale, (w, h)


def run_models(quick: bool = False, use_cuda: Optional[bool] = None, out=print,
               names: tuple[str, ...] = ("hrnet-w32_coco_256x192", "rtmpose-m_coco_256x192")) -> list[dict]:
    """Print the throughput table (crops/s) and return its rows.

    Args:
        quick (bool): batch 8 only and few repetitions (CPU smoke run).
        use_cuda (bool, optional): run on CUDA (default: when available).
        out (callable): printer.
        names (tuple[str]): models to time.

    Returns:
        list[dict]: per model and batch: ``network_ms`` (one forward), ``network_flip_ms`` (forward
        of crops and flipped crops), ``e2e_ms`` (crop + both forwards + decode to image),
        ``overhead`` = e2e / network_flip - 1, ``e2e_crops_per_s``.
    """
    from .ops.warp import warp_affine

    use_cuda = torch.cuda.is_available() if use_cuda is None else use_cuda
    device = torch.device("cuda" if use_cuda else "cpu")
    if use_cuda:
        torch.backends.cudnn.benchmark = True  # fixed shapes per row; the warm-up calls pick the algorithms
    dtype = torch.float16 if use_cuda else torch.float32
    batches = (8,) if quick else ((1, 16, 64) if use_cuda else (8, 32))
    reps = 2 if quick else (20 if use_cuda else 3)
    rows = []
    out(f"models on {device} ({'fp16 autocast' if use_cuda else 'fp32'}): network vs end to end "
        "(warp_affine crop + flipped crop, network x2, flip merge, device decode, back to image)")
    out(f"{'model':28s} {'batch':>5s} {'net ms':>9s} {'net+flip ms':>12s} {'e2e ms':>9s} {'overhead':>9s} {'crops/s':>9s}")
    for name in names:
        for batch in batches:
            model, ragged, mats, index, center, scale, (w, h) = _case(name, batch, device, dtype)
            x = warp_affine(ragged, mats, (w, h), image_index=index, mean=MEAN, std=STD, bgr_to_rgb=True)
            ctx = (lambda: torch.autocast("cuda", dtype=dtype)) if use_cuda else torch.no_grad

            def net():
                with torch.no_grad(), ctx():
                    return model(x)

            def net_flip():
                with torch.no_grad(), ctx():
                    return model(x), model(x.flip(-1))

            def e2e():
                with torch.no_grad(), ctx():
                    crops = warp_affine(ragged, mats, (w, h), image_index=index, mean=MEAN, std=STD, bgr_to_rgb=True)
                    flipped = warp_affine(ragged, mats, (w, h), image_index=index, mean=MEAN, std=STD,
                                          bgr_to_rgb=True, flip=True)
                    feats, ffeats = model.extract_feat(crops), model.extract_feat(flipped)
                    return model.head.predict(feats, ffeats, input_center=center, input_scale=scale,
                                              flip_indices=model.flip_indices, shift_heatmap=model.shift_heatmap)

            t_net = _timer(net, device, reps)
            t_flip = _timer(net_flip, device, reps)
            t_e2e = _timer(e2e, device, reps)
            row = dict(model=name, batch=batch, device=str(device), network_ms=t_net * 1e3,
                       network_flip_ms=t_flip * 1e3, e2e_ms=t_e2e * 1e3, overhead=t_e2e / t_flip - 1,
                       e2e_crops_per_s=batch / t_e2e)
            rows.append(row)
            out(f"{name:28s} {batch:5d} {row['network_ms']:9.2f} {row['network_flip_ms']:12.2f} {row['e2e_ms']:9.2f} "
                f"{100 * row['overhead']:8.1f}% {row['e2e_crops_per_s']:9.0f}")
    return rows
