"""Pose-lifting throughput: VideoPose3D on 243-frame windows (the zoo's ``videopose3d-243f_h36m``,
MMPose's ``video-pose-lift_tcn-243frm-supv_8xb128-160e_h36m``), in sequences (windows) per second.

Rows, per device (the CPU, and CUDA when visible):

* ``inference fp32`` / ``inference fp16`` (CUDA, autocast): the network's forward on ``[B, 34, 243]``
  normalised windows (MMPose's layout) -> ``[B, 17, 3]``, eval mode, no autograd;
* ``train step``: forward + MPJPE loss + backward + Adam step, train mode (dropout, batch norm;
  batches of 2 and more: the last block's batch norm sees one frame per window);
* ``codec``: ``VideoPoseLifting.batch_encode`` of ``[B, 243, 17, 2]`` pixel windows with their 3D
  targets + ``batch_decode`` of ``[B, 17, 3]``, on the device; beside it MMPose's own codec, one
  ``encode`` per window as its data pipeline does (CPU, when MMPose is installed);
* ``inferencer``: ``PoseLifterInferencer`` on the 2D results of a synthetic video (2 people),
  tracking + conversion + windows + network + decode, in frames per second (CPU: 64 frames).

Times are medians over ``repeats`` rounds of ``iters`` calls (CUDA: events around the round).
``python -m pyposefast.benchmark_lifting [--quick] [--cpu] [--no-cpu] [--batch N ...] [--model NAME]``.
"""

from __future__ import annotations

import contextlib
import statistics
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from .benchmark_models import _time_calls

__all__ = ["run_lifting"]

MODEL = "videopose3d-243f_h36m"


def _median_seconds(fn: Callable[[], object], device: torch.device, repeats: int, iters: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return statistics.median(_time_calls(fn, iters, device) for _ in range(repeats))


def _windows(batch: int, frames: int, device: torch.device, seed: int = 0):
    """Normalised windows [B, 34, T], pixel windows [B, T, 17, 2], 3D targets [B, 1, 17, 3] and
    root-relative labels [B, 17, 3] (metres)."""
    g = torch.Generator().manual_seed(seed)
    pixels = torch.rand(batch, frames, 17, 2, generator=g) * torch.tensor([1000.0, 1000.0])
    norm = (pixels - 500.0) / 500.0
    x = norm.permute(0, 2, 3, 1).reshape(batch, 34, frames)
    target = torch.randn(batch, 1, 17, 3, generator=g) * 0.3
    labels = target[:, 0] - target[:, 0, :1]
    return x.to(device), pixels.to(device), target.to(device), labels.to(device)


def _network_rows(model_name: str, device: torch.device, batches: Sequence[int], repeats: int, iters: int,
                  train: bool, out) -> list[dict]:
    from .losses import MPJPELoss
    from .models import build_model
    from .models.zoo import default_input

    model = build_model(model_name).to(device)
    frames = default_input(model_name).shape[1]
    rows = []
    modes = (["inference fp32"] + (["inference fp16"] if device.type == "cuda" else [])
             + (["train step"] if train else []))
    for mode in modes:
        for batch in batches:
            if mode == "train step" and batch < 2:
                continue  # batch norm in train mode needs more than one value per channel (last block: 1 frame)
            x, _, _, labels = _windows(batch, frames, device)
            if mode.startswith("inference"):
                model.eval()
                dtype = torch.float16 if mode.endswith("fp16") else None

                def step(x=x, dtype=dtype):
                    cast = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
                    with torch.inference_mode(), cast:
                        return model(x)
            else:
                model.train()
                loss_fn = MPJPELoss(use_target_weight=False)
                opt = torch.optim.Adam(model.parameters(), lr=1e-4)

                def step(x=x, labels=labels, loss_fn=loss_fn, opt=opt):
                    opt.zero_grad(set_to_none=True)
                    loss = loss_fn(model(x), labels)
                    loss.backward()
                    opt.step()
                    return loss

            seconds = _median_seconds(step, device, repeats, iters, warmup=2 if device.type == "cuda" else 1)
            row = dict(section="network", device=str(device), mode=mode, batch=batch, frames=frames,
                       ms=seconds * 1e3, per_s=batch / seconds, unit="seq/s")
            rows.append(row)
            out(_format(row))
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return rows


def _codec_rows(device: torch.device, batches: Sequence[int], frames: int, repeats: int, iters: int,
                out) -> list[dict]:
    from .codecs.video_pose_lifting import VideoPoseLifting

    codec = VideoPoseLifting(num_keypoints=17, zero_center=True, root_index=0)
    rows = []
    for batch in batches:
        _, pixels, target, labels = _windows(batch, frames, device)
        camera = dict(w=1000.0, h=1002.0)

        def step(pixels=pixels, target=target, labels=labels):
            enc = codec.batch_encode(pixels, lifting_target=target, camera_param=camera)
            return enc["keypoint_labels"], codec.batch_decode(labels)[0]

        seconds = _median_seconds(step, device, repeats, iters, warmup=2)
        row = dict(section="codec", device=str(device), mode="codec encode+decode", batch=batch, frames=frames,
                   ms=seconds * 1e3, per_s=batch / seconds, unit="seq/s")
        rows.append(row)
        out(_format(row))
        if device.type == "cpu":
            mm = _mmpose_codec_seconds(pixels.numpy(), target.numpy(), labels.numpy(), camera, repeats)
            if mm is not None:
                row = dict(section="codec", device="cpu", mode="MMPose codec, per window", batch=batch,
                           frames=frames, ms=mm * 1e3, per_s=batch / mm, unit="seq/s")
                rows.append(row)
                out(_format(row))
    return rows


def _mmpose_codec_seconds(pixels: np.ndarray, target: np.ndarray, labels: np.ndarray, camera: dict,
                          repeats: int) -> Optional[float]:
    """MMPose's VideoPoseLifting, one encode + decode per window (its data pipeline's way), or
    None without MMPose."""
    try:
        from mmpose.codecs import VideoPoseLifting as MMVideoPoseLifting  # test-only reference
    except Exception:
        return None
    codec = MMVideoPoseLifting(num_keypoints=17, zero_center=True, root_index=0)

    def run():
        for b in range(pixels.shape[0]):
            codec.encode(pixels[b], lifting_target=target[b], camera_param=camera)
            codec.decode(labels[b:b + 1])

    run()
    return statistics.median(_time_calls(run, 1, torch.device("cpu")) for _ in range(max(1, repeats)))


def _inferencer_row(model_name: str, device: torch.device, frames: int, repeats: int, out) -> dict:
    from .apis.lifting import PoseLifterInferencer

    rng = np.random.default_rng(0)
    results = []
    for t in range(frames):
        kp = np.stack([rng.uniform(100, 300, (17, 2)), rng.uniform(500, 700, (17, 2))]).astype(np.float32)
        results.append(dict(keypoints=kp, keypoint_scores=np.ones((2, 17), np.float32),
                            bboxes=np.concatenate([kp.min(1), kp.max(1)], -1)))
    lifter = PoseLifterInferencer(model_name, device=device, batch_size=256)
    seconds = _median_seconds(lambda: lifter(results, image_size=(1000, 1000)), device, repeats, 1, warmup=1)
    row = dict(section="inferencer", device=str(device), mode="inferencer, 2 people", batch=2 * frames,
               frames=frames, ms=seconds * 1e3, per_s=frames / seconds, unit="frames/s")
    out(_format(row))
    return row


def _format(row: dict) -> str:
    return (f"{row['device']:<6} {row['mode']:<26} {row['batch']:>6d} {row['ms']:>11.3f} "
            f"{row['per_s']:>12.1f} {row['unit']}")


def run_lifting(quick: bool = False, use_cuda: Optional[bool] = None, out=print, *, cpu: bool = True,
                model_name: str = MODEL, batches: Optional[Sequence[int]] = None,
                cpu_batches: Optional[Sequence[int]] = None, repeats: Optional[int] = None,
                iters: Optional[int] = None, train: bool = True, inferencer_frames: Optional[int] = None) -> list[dict]:
    """Print the lifting throughput table and return its rows.

    Args:
        quick (bool): fewer batch sizes and rounds.
        use_cuda (bool, optional): time CUDA too (default: when a GPU is visible).
        out (callable): printer.
        cpu (bool): time the CPU too.
        model_name (str): zoo lifter (``videopose3d-243f_h36m``; 81f / 27f for smaller windows).
        batches (sequence of int, optional): CUDA batch sizes (default 1, 64, 256, 1024; quick: 256).
        cpu_batches (sequence of int, optional): CPU batch sizes (default 1, 64; quick: 16).
        repeats (int, optional), iters (int, optional): rounds per row and calls per round
            (default CUDA 7 x 10, CPU 3 x 2; quick: 3 x 5, 2 x 1).
        train (bool): include the train-step rows.
        inferencer_frames (int, optional): frames of the ``inferencer`` row's video (default CUDA
            2000, CPU 64; 0: no inferencer row).

    Returns:
        list[dict]: rows with ``section`` (network / codec / inferencer), ``device``, ``mode``,
        ``batch``, ``frames`` (window length, or the video's frames), ``ms`` (per call), ``per_s``
        and ``unit`` (``seq/s`` or ``frames/s``).
    """
    from .models.zoo import default_input

    use_cuda = torch.cuda.is_available() if use_cuda is None else use_cuda
    if use_cuda and not torch.cuda.is_available():
        raise RuntimeError("use_cuda=True but no GPU is visible")
    devices = ([torch.device("cpu")] if cpu else []) + ([torch.device("cuda")] if use_cuda else [])
    frames = default_input(model_name).shape[1]
    out(f"lifting: {model_name} ({frames}-frame windows, 17 joints) | torch {torch.__version__} | CPU threads "
        f"{torch.get_num_threads()}" + (f" | {torch.cuda.get_device_name()}" if use_cuda else ""))
    out(f"{'device':<6} {'mode':<26} {'batch':>6} {'ms per call':>11} {'throughput':>12}")
    rows: list[dict] = []
    for device in devices:
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            b = tuple(batches or ((256,) if quick else (1, 64, 256, 1024)))
            r, n = repeats or (3 if quick else 7), iters or (5 if quick else 10)
            video = 2000 if inferencer_frames is None else inferencer_frames
        else:
            b = tuple(cpu_batches or ((16,) if quick else (1, 64)))
            r, n = repeats or (2 if quick else 3), iters or (1 if quick else 2)
            video = 64 if inferencer_frames is None else inferencer_frames
        rows += _network_rows(model_name, device, b, r, n, train, out)
        rows += _codec_rows(device, b, frames, r, n, out)
        if video:
            rows.append(_inferencer_row(model_name, device, video, r, out))
    return rows


def main(argv: Optional[list[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pyposefast.benchmark_lifting", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cpu", action="store_true", help="CPU only (skip CUDA even if a GPU is visible)")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU rows")
    parser.add_argument("--batch", type=int, action="append", default=None, help="CUDA batch size (repeatable)")
    parser.add_argument("--cpu-batch", type=int, action="append", default=None, help="CPU batch size (repeatable)")
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--no-train", action="store_true")
    args = parser.parse_args(argv)
    run_lifting(args.quick, False if args.cpu else None, cpu=not args.no_cpu, model_name=args.model,
                batches=args.batch, cpu_batches=args.cpu_batch, train=not args.no_train)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
