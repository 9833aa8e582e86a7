"""Throughput of the data pipeline: the batched device pipeline vs the per-sample (MMPose-style) path.

Top-down COCO 256x192 (MSRA heatmaps 64x48, sigma 2) on the synthetic dataset (640x480 JPEGs),
decode included, the same number of data-loader workers for both paths. The per-sample path runs
``LoadImage -> ... -> GenerateTarget -> PackPoseInputs`` in the workers and then normalises on the
device (what MMPose's data preprocessor does); the device path decodes in the workers and does the
rest batched on the device. On CUDA it also times a ResNet-50 SimpleBaseline training step, to show
whether the pipeline limits training.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

__all__ = ["run_pipeline"]


class _PerSampleDataset(torch.utils.data.Dataset):
    def __init__(self, records, pipeline) -> None:
        self.records, self.pipeline = records, pipeline

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i):
        import copy

        s = self.pipeline(copy.copy(self.records[i]))
        return (s["inputs"], torch.from_numpy(s["data_samples"]["gt_fields"]["heatmaps"]),
                torch.from_numpy(np.asarray(s["data_samples"]["gt_instance_labels"]["keypoint_weights"])))


def _per_sample_collate(items):
    return tuple(torch.stack([it[j] for it in items]) for j in range(3))


def _time_loader(loader, consume: Callable, batches: int, sync: Callable) -> float:
    """Samples/s over ``batches`` batches after one warm-up batch (workers started, caches hot)."""
    it = iter(loader)
    consume(next(it))
    sync()
    n = 0
    t0 = time.perf_counter()
    for _ in range(batches):
        try:
            b = next(it)
        except StopIteration:
            it = iter(loader)
            b = next(it)
        n += consume(b)
    sync()
    return n / (time.perf_counter() - t0)


def _resnet50_simplebaseline():
    """ResNet-50 + 3 deconvolutions + 1x1 head (SimpleBaseline), written inline (no torchvision)."""
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, cin, mid, stride):
            super().__init__()
            cout = mid * 4
            self.body = nn.Sequential(
                nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
                nn.Conv2d(mid, mid, 3, stride, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
                nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))
            self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            return torch.relu(self.body(x) + self.down(x))

    layers: List[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                               nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for mid, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            layers.append(Bottleneck(cin, mid, stride if i == 0 else 1))
            cin = mid * 4
    for _ in range(3):
        layers += [nn.ConvTranspose2d(cin, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.ReLU(inplace=True)]
        cin = 256
    layers.append(nn.Conv2d(256, 17, 1))
    return nn.Sequential(*layers)


def run_pipeline(quick: bool, use_cuda: bool, out: Callable[[str], None] = print,
                 data_root: Optional[str] = None, num_workers: Optional[int] = None) -> Dict[str, float]:
    """Measure and print the throughput table (samples/s), one run.

    Args:
        quick (bool): fewer images and batches (a smoke run).
        use_cuda (bool): run the device pipeline (and the ResNet-50 step) on CUDA.
        out (callable): printer. Defaults to ``print``.
        data_root (str, optional): where the synthetic dataset is (generated if absent).
        num_workers (int, optional): data-loader workers for both paths; default ``os.cpu_count()``
            (at most 16).

    Returns:
        dict: ``per_sample``, ``device_pipeline`` (samples/s, decode included), ``device_only``
        (the pipeline on resident raw batches, no decode), and on CUDA ``resnet50_train`` and
        ``train_with_pipeline``.
    """
    from .codecs import MSRAHeatmap
    from .datasets import dataset_meta, generate_synthetic_coco, load_coco_keypoints
    from .datasets import per_sample as T
    from .datasets.pipeline import DevicePrefetcher, TopdownBatchPipeline, build_topdown_loader

    device = torch.device("cuda" if use_cuda and torch.cuda.is_available() else "cpu")
    workers = num_workers if num_workers is not None else min(os.cpu_count() or 1, 16)
    batch = 32 if quick else 64
    batches = 4 if quick else 30
    root = data_root or os.path.join(tempfile.gettempdir(), "pyposefast_bench_synthetic")
    paths = generate_synthetic_coco(root, num_train=40 if quick else 300, num_val=1, image_size=(640, 480), seed=0)
    records = load_coco_keypoints(paths["train_ann"], paths["train_img_prefix"]).records
    meta = dataset_meta("coco")
    codec = MSRAHeatmap((192, 256), (48, 64), 2.0)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    results: Dict[str, float] = {}
    # forked workers must not inherit an initialised CUDA context (the warp op queries CUDA state)
    ctx = "spawn" if device.type == "cuda" and workers > 0 else None

    # per-sample path: everything in the workers, then normalisation on the device
    ps = T.Compose([
        T.LoadImage(), T.GetBBoxCenterScale(), T.RandomFlip(prob=0.5, flip_indices=meta["flip_indices"]),
        T.RandomHalfBody(upper_body_ids=meta["upper_body_ids"], lower_body_ids=meta["lower_body_ids"]),
        T.RandomBBoxTransform(), T.TopdownAffine((192, 256)), T.GenerateTarget(codec), T.PackPoseInputs()])
    ps_loader = torch.utils.data.DataLoader(_PerSampleDataset(records, ps), batch_size=batch, shuffle=True,
                                            num_workers=workers, collate_fn=_per_sample_collate, drop_last=True,
                                            persistent_workers=workers > 0, pin_memory=device.type == "cuda",
                                            multiprocessing_context=ctx)
    mean = torch.tensor([123.675, 116.28, 103.53], device=device).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375], device=device).view(1, 3, 1, 1)

    def consume_ps(b):
        img = b[0].to(device, non_blocking=True).flip(1).float()
        _ = ((img - mean) / std, b[1].to(device, non_blocking=True), b[2].to(device, non_blocking=True))
        return b[0].shape[0]

    results["per_sample"] = _time_loader(ps_loader, consume_ps, batches, sync)
    del ps_loader

    pipe = TopdownBatchPipeline.from_meta(meta, (192, 256), codec)
    loader = build_topdown_loader(records, batch, workers, pin_memory=device.type == "cuda", drop_last=True,
                                  multiprocessing_context=ctx)
    gen = torch.Generator(device=device).manual_seed(0)
    prefetch = DevicePrefetcher(loader, device)

    def consume_dev(b):
        return pipe(b, generator=gen)["inputs"].shape[0]

    results["device_pipeline"] = _time_loader(prefetch, consume_dev, batches, sync)
    resident = next(iter(prefetch))
    results["device_only"] = _time_loader([resident] * (batches + 1), consume_dev, batches, sync)
    del loader, prefetch

    if device.type == "cuda":
        import importlib.util

        if importlib.util.find_spec("torchvision") is not None:  # nvjpeg decoding on the device
            nv_pipe = TopdownBatchPipeline.from_meta(meta, (192, 256), codec, bgr_to_rgb=False)
            nv_loader = build_topdown_loader(records, batch, workers, pin_memory=False, drop_last=True, encoded=True,
                                             multiprocessing_context=ctx)
            results["device_pipeline_nvjpeg"] = _time_loader(
                nv_loader, lambda b: nv_pipe(nv_pipe.decode_on_device(b, device), generator=gen)["inputs"].shape[0],
                batches, sync)
            del nv_loader
        model = _resnet50_simplebaseline().to(device).to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

        def step(inputs, heatmaps):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = ((model(inputs.contiguous(memory_format=torch.channels_last)).float() - heatmaps) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return inputs.shape[0]

        fixed = pipe(resident, generator=gen)
        results["resnet50_train"] = _time_loader([None] * (batches + 1),
                                                 lambda _: step(fixed["inputs"], fixed["heatmaps"]), batches, sync)
        loader = build_topdown_loader(records, batch, workers, pin_memory=True, drop_last=True,
                                      multiprocessing_context=ctx)

        def consume_train(b):
            o = pipe(b, generator=gen)
            return step(o["inputs"], o["heatmaps"])

        results["train_with_pipeline"] = _time_loader(DevicePrefetcher(loader, device), consume_train, batches, sync)

    out(f"pipeline throughput, top-down COCO 256x192 from 640x480 JPEGs (decode included), batch {batch}, "
        f"{workers} workers, device {device.type}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    out(f"{'path':<44} {'samples/s':>10}")
    labels = [("per_sample", "per-sample (MMPose-style, in workers)"),
              ("device_pipeline", "batched device pipeline (workers decode)"),
              ("device_pipeline_nvjpeg", "batched device pipeline, nvjpeg decode"),
              ("device_only", "device pipeline alone (resident raw batch)"),
              ("resnet50_train", "ResNet-50 SimpleBaseline train step (bf16)"),
              ("train_with_pipeline", "ResNet-50 train fed by the device pipeline")]
    for key, label in labels:
        if key in results:
            out(f"{label:<44} {results[key]:>10.1f}")
    out(f"speed-up of the device pipeline over the per-sample path: "
        f"{results['device_pipeline'] / results['per_sample']:.2f}x")
    if "resnet50_train" in results:
        limited = results["train_with_pipeline"] < 0.9 * results["resnet50_train"]
        out(f"pipeline limits training: {'yes' if limited else 'no'} "
            f"(train fed by the pipeline runs at {100 * results['train_with_pipeline'] / results['resnet50_train']:.0f}% "
            "of the train step alone)")
    return results


if __name__ == "__main__":  # pragma: no cover
    import sys

    run_pipeline("--quick" in sys.argv, "--cuda" in sys.argv)
