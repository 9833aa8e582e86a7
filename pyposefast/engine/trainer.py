"""The training loop: one explicit loop, no hooks or registries to read through.

Per iteration: a batch from the training data (on the device), ``model.loss(inputs, **targets)``
under autocast, the summed ``loss*`` entries scaled by ``1 / accumulate`` and back-propagated; every
``accumulate`` iterations: unscale (fp16), clip, optimiser step, schedule step, EMA update. At
each log interval the pending losses come to the host once (averaged over ranks): non-finite
values stop the run, the rest goes to ``log.jsonl``, TensorBoard and the progress bar. At each
epoch end: validation (every ``val_interval`` epochs, with the EMA weights when on), checkpoints.

Checkpoints (rank 0 writes, atomically): ``work_dir/checkpoints/epoch_N.pt`` (and ``iter_N.pt``
every ``checkpoint_interval`` iterations), ``work_dir/last.pt`` (a symlink to the newest),
``work_dir/best.pt`` (a copy of the best by ``save_best``). ``fit(resume=True)`` continues from
``last.pt`` exactly: model, optimiser, schedule, grad scaler, EMA, epoch and iteration, every
rank's RNG states, and the data order (a function of seed and epoch, see :mod:`.data`).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import time
from typing import Any, Dict, List, Optional, Union

import numpy as np
import torch
from torch import nn

from . import checkpoint as ckpt
from .data import loss_targets
from .distributed import (all_gather_objects, barrier, default_device, get_rank, get_world_size, init_distributed,
                          is_main_process)
from .ema import ModelEMA
from .evaluate import autocast_context, evaluate
from .graphed_step import GraphedTrainStep
from .logging import JsonlLogger, ProgressBar, ScalarWriter, format_eta
from .run_ahead import RunAheadLimit
from .schedules import build_optimizer, build_scheduler

__all__ = ["Trainer", "NonFiniteLossError"]

_LOWER_IS_BETTER = ("loss", "epe", "nme", "mpjpe", "error")


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch and iteration and the last
    good checkpoint."""


class _LossForward(nn.Module):
    """``forward(inputs, targets) = model.loss(inputs, **targets)``, so that DDP (which hooks
    ``forward``) synchronises the gradients of the loss pass."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor, targets: Dict[str, Any]) -> Dict[str, torch.Tensor]:
        return self.model.loss(inputs, **targets)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


class Trainer:
    """Train a pose model (top-down by default) with validation and resumable checkpoints.

    Args:
        model (nn.Module): an estimator with ``loss(inputs, **targets) -> dict`` (and ``predict``
            for validation), e.g. a ``TopdownPoseEstimator``.
        train_data (TopdownTrainData): yields ``{"inputs": Tensor[B, 3, h, w], <targets>}`` per
            batch; ``len()`` batches per epoch; ``set_epoch(epoch, skip)``.
        val_data (TopdownValData, optional): validation crops; metric (optional): e.g. ``CocoMetric``.
        work_dir (str): checkpoints, ``log.jsonl``, TensorBoard events.
        max_epochs (int): epochs to train.
        optimizer (dict): see :func:`~pyposefast.engine.schedules.build_optimizer`. Default AdamW
            lr 5e-4, weight decay 0.01.
        scheduler (dict): see :func:`~pyposefast.engine.schedules.build_scheduler`. Default linear
            warm-up (500 iterations from 0.001) + cosine to 0.
        amp (str, optional): None (float32), ``'bf16'`` (autocast), ``'fp16'`` (autocast + GradScaler).
        grad_clip (float, optional): max global gradient norm.
        accumulate (int): iterations per optimiser step. Defaults to 1.
        ema_decay (float, optional): EMA of the weights (e.g. 0.9998); validation and the
            checkpoints' ``state_dict`` then use the EMA weights. ema_gamma (float): its warm-up.
        val_interval (int): validate every this many epochs (and after the last). Defaults to 1.
        save_best (str, optional): metric deciding ``best.pt`` (``'coco/AP'``); None: no best.
        keep_last (int): periodic checkpoints (``epoch_N.pt``, ``iter_N.pt``) kept; <= 0 keeps all.
            Defaults to 3. ``best.pt`` is a separate copy, never rotated.
        seed (int): seed of Python/NumPy/torch (plus the rank). Defaults to 0.
        device (str or torch.device, optional): default ``cuda:<LOCAL_RANK>`` if available, else CPU.
        sync_bn (bool): SyncBatchNorm under DDP on CUDA (ignored with a warning on CPU).
        log_interval (int): iterations per log record (and loss check). Each record reads the
            losses back, a host synchronisation that empties the GPU's queue: on the H100, RTMPose-s
            fed by nvJPEG trained 3.6% below the model-alone rate with 50 and 6.9% with 10.
            Defaults to 50 (MMPose's logger interval).
        progress (bool): tqdm bar on a terminal. tensorboard (bool): scalars when installed.
        checkpoint_interval (int, optional): also write ``iter_N.pt`` every this many iterations.
        find_unused_parameters (bool): DDP's option.
        max_iters_per_epoch (int, optional): cut epochs short (smoke runs).
        channels_last (bool): NHWC model and inputs (faster convolutions on tensor-core GPUs).
        cudnn_benchmark (bool): ``torch.backends.cudnn.benchmark`` (autotuned, not deterministic).
        val_amp (str, optional): autocast of the validation passes; default None (float32: reduced
            precision heatmaps cost sub-pixel accuracy in the decode).
        cuda_graph (bool): run each training step (forward, loss, backward, clipping, optimiser
            step) as one CUDA graph per batch shape (:class:`~pyposefast.engine.graphed_step.
            GraphedTrainStep`): the host no longer limits the step. Needs CUDA, Adam/AdamW, ``amp``
            None or ``'bf16'``, ``accumulate=1`` and one process. The schedule and EMA run eagerly
            between steps. Defaults to False.
        max_steps_ahead (int): on CUDA, how many launched training steps may be unfinished on the GPU
            before the loop waits (:class:`~pyposefast.engine.run_ahead.RunAheadLimit`; 0: no limit).
            A host far ahead fills the device's launch queue, and the data pipeline's CUDA calls
            then wait for it to drain. Defaults to 2.

    Raises:
        ValueError: a bad argument (named).
    """

    def __init__(self, model: nn.Module, train_data: Any, val_data: Any = None, metric: Any = None, *,
                 work_dir: str, max_epochs: int,
                 optimizer: Optional[Dict[str, Any]] = None, scheduler: Optional[Dict[str, Any]] = None,
                 amp: Optional[str] = None, grad_clip: Optional[float] = None, accumulate: int = 1,
                 ema_decay: Optional[float] = None, ema_gamma: Optional[float] = 2000.0, val_interval: int = 1,
                 save_best: Optional[str] = "coco/AP", keep_last: int = 3, seed: int = 0,
                 device: Optional[Union[str, torch.device]] = None, sync_bn: bool = False, log_interval: int = 50,
                 progress: bool = True, tensorboard: bool = True, checkpoint_interval: Optional[int] = None,
                 find_unused_parameters: bool = False, max_iters_per_epoch: Optional[int] = None,
                 channels_last: bool = False, cudnn_benchmark: bool = False, val_amp: Optional[str] = None,
                 cuda_graph: bool = False, max_steps_ahead: int = 2) -> None:
        if not isinstance(model, nn.Module) or not hasattr(model, "loss"):
            raise TypeError(f"model must be an nn.Module with loss(inputs, **targets), got {type(model).__name__}")
        for name, v in (("max_epochs", max_epochs), ("accumulate", accumulate), ("val_interval", val_interval),
                        ("log_interval", log_interval)):
            if int(v) < 1:
                raise ValueError(f"{name} must be >= 1, got {v}")
        for name, v in (("amp", amp), ("val_amp", val_amp)):
            if v not in (None, "bf16", "fp16"):
                raise ValueError(f"{name} must be None, 'bf16' or 'fp16', got {v!r}")
        if grad_clip is not None and not grad_clip > 0:
            raise ValueError(f"grad_clip must be positive or None, got {grad_clip}")
        if checkpoint_interval is not None and int(checkpoint_interval) < 1:
            raise ValueError(f"checkpoint_interval must be >= 1 or None, got {checkpoint_interval}")
        if (val_data is None) != (metric is None):
            raise ValueError("val_data and metric go together: pass both or neither")
        self.work_dir = os.path.abspath(work_dir)
        self.ckpt_dir = os.path.join(self.work_dir, "checkpoints")
        self.max_epochs, self.accumulate = int(max_epochs), int(accumulate)
        self.amp, self.val_amp, self.grad_clip = amp, val_amp, grad_clip
        self.val_interval, self.save_best, self.keep_last = int(val_interval), save_best, int(keep_last)
        self.seed, self.log_interval = int(seed), int(log_interval)
        self.checkpoint_interval = None if checkpoint_interval is None else int(checkpoint_interval)
        self.device = default_device(device)
        self.distributed = init_distributed(self.device)
        self.rank, self.world_size = get_rank(), get_world_size()
        seed_everything(self.seed + self.rank)

        self.channels_last = bool(channels_last)
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = bool(cudnn_benchmark)
        if sync_bn and self.distributed:
            if self.device.type == "cuda":
                model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
            else:
                import warnings

                warnings.warn("sync_bn is ignored on CPU (SyncBatchNorm needs CUDA devices)", stacklevel=2)
        self.model = model
        self.train_data, self.val_data, self.metric = train_data, val_data, metric
        for data in (train_data, val_data):
            if data is not None and getattr(data, "_device", 0) is None:
                data.device = self.device
        iters = len(train_data)
        if max_iters_per_epoch is not None:
            iters = min(iters, int(max_iters_per_epoch))
        if iters < 1:
            raise ValueError("train_data has no batches (fewer samples than batch_size x processes with drop_last?)")
        self.iters_per_epoch = iters
        self.steps_per_epoch = -(-iters // self.accumulate)
        self.optimizer = build_optimizer(model, dict(optimizer or {"type": "adamw", "lr": 5e-4, "weight_decay": 0.01}))
        sched = scheduler if scheduler is not None else {"type": "cosine", "warmup_iters": 500, "warmup_ratio": 0.001,
                                                         "min_lr_ratio": 0.0}
        self.scheduler = build_scheduler(self.optimizer, sched, self.steps_per_epoch * self.max_epochs,
                                         self.steps_per_epoch)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=amp == "fp16")
        self.ema = ModelEMA(model, ema_decay, ema_gamma) if ema_decay is not None else None
        self.loss_forward: nn.Module = _LossForward(model)
        if self.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.loss_forward = nn.parallel.DistributedDataParallel(
                self.loss_forward, device_ids=ids, find_unused_parameters=find_unused_parameters)
        self.cuda_graph = bool(cuda_graph)
        self._graph_step: Optional[GraphedTrainStep] = None
        if self.cuda_graph:
            why = [w for w, bad in (
                (f"a CUDA device (got {self.device})", self.device.type != "cuda"),
                (f"amp None or 'bf16' (got {amp!r}: fp16's grad scaler synchronises)", amp == "fp16"),
                (f"accumulate=1 (got {accumulate})", self.accumulate != 1),
                ("one process (DDP's all-reduce is not captured here)", self.distributed),
                (f"Adam or AdamW (got {type(self.optimizer).__name__})",
                 not isinstance(self.optimizer, (torch.optim.Adam, torch.optim.AdamW)))) if bad]
            if why:
                raise ValueError("cuda_graph=True needs " + "; ".join(why))
        self.run_ahead = RunAheadLimit(self.device, max_steps_ahead)
        self.main = is_main_process()
        self.progress_enabled, self.tensorboard_enabled = bool(progress), bool(tensorboard)
        # run state (saved in checkpoints)
        self.epoch = 0  # epochs completed
        self.iter_in_epoch = 0  # iterations completed in the current epoch
        self.global_iter = 0
        self.best: Dict[str, Any] = {"metric": save_best, "value": None, "epoch": None}
        self.history: List[Dict[str, Any]] = []
        self._epoch_loss = [0.0, 0]
        self.last_checkpoint: Optional[str] = None

    # ------------------------------------------------------------------ checkpoints
    @property
    def eval_model(self) -> nn.Module:
        """The weights validation and inference use (the EMA copy when EMA is on)."""
        return self.ema.module if self.ema is not None else self.model

    def state_dict(self) -> Dict[str, Any]:
        """Everything a resume needs (RNG states: this rank's; :meth:`save` gathers all ranks')."""
        state = {
            "format": ckpt.CHECKPOINT_FORMAT,
            "state_dict": self.eval_model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch, "iter_in_epoch": self.iter_in_epoch, "global_iter": self.global_iter,
            "iters_per_epoch": self.iters_per_epoch, "world_size": self.world_size, "seed": self.seed,
            "best": dict(self.best), "history": list(self.history), "epoch_loss": list(self._epoch_loss),
            "meta": {"epoch": self.epoch, "iter": self.global_iter, "amp": str(self.amp)},
        }
        if self.ema is not None:
            state["train_state_dict"] = self.model.state_dict()
            state["ema"] = {k: v for k, v in self.ema.state_dict().items() if k != "module"}
        return state

    def save(self, name: str, best: bool = False) -> Optional[str]:
        """Write ``checkpoints/<name>`` (rank 0), point ``last.pt`` at it, copy to ``best.pt`` when
        ``best``; rotate. Every rank must call it (the RNG states are gathered)."""
        rng = all_gather_objects(ckpt.capture_rng_state())
        path = os.path.join(self.ckpt_dir, name)
        if self.main:
            state = self.state_dict()
            state["rng"] = rng
            ckpt.save_checkpoint(path, state)
            ckpt.link_atomic(path, os.path.join(self.work_dir, "last.pt"))
            if best:
                ckpt.copy_atomic(path, os.path.join(self.work_dir, "best.pt"))
            ckpt.rotate_checkpoints(self.ckpt_dir, self.keep_last, protect=(path,))
        self.last_checkpoint = path
        barrier()
        return path

    def load(self, path: str) -> None:
        """Restore a checkpoint written by :meth:`save` (see the module docstring)."""
        state = ckpt.load_checkpoint_file(path, map_location="cpu")
        if state.get("format") != ckpt.CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a pyposefast trainer checkpoint (format {state.get('format')!r}); "
                             "load weights with pyposefast.models.load_checkpoint instead")
        if int(state["iters_per_epoch"]) != self.iters_per_epoch:
            raise ValueError(f"{path} was written with {state['iters_per_epoch']} iterations per epoch, this run has "
                             f"{self.iters_per_epoch}: batch size, data or number of processes differ")
        self.model.load_state_dict(state.get("train_state_dict", state["state_dict"]))
        if self.ema is not None:
            self.ema.module.load_state_dict(state["state_dict"])
            self.ema.steps = int(state.get("ema", {}).get("steps", 0))
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.iter_in_epoch = int(state["epoch"]), int(state["iter_in_epoch"])
        self.global_iter = int(state["global_iter"])
        self.best, self.history = dict(state["best"]), list(state["history"])
        self._epoch_loss = [float(state["epoch_loss"][0]), int(state["epoch_loss"][1])]
        rng = state.get("rng") or []
        if int(state.get("world_size", 1)) == self.world_size and len(rng) > self.rank:
            ckpt.restore_rng_state(rng[self.rank])
        self.last_checkpoint = path

    # ------------------------------------------------------------------ loop
    def _targets(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        if self._target_names is None:
            self._target_names = list(loss_targets(self.model, batch))
        return {k: batch[k] for k in self._target_names}

    def _step(self) -> Optional[torch.Tensor]:
        """Optimiser step (with unscale + clip); returns the gradient norm (device tensor) when clipping."""
        norm = None
        if self.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self._after_step()
        return norm

    def _after_step(self) -> None:
        """After each optimiser step: the schedule, then the EMA of the weights."""
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update(self.model)

    def _graphed_iteration(self, epoch: int, it: int, batch: Dict[str, Any]) -> Optional[torch.Tensor]:
        """One iteration's step through the captured graph; then the schedule and EMA (eagerly).
        Returns the gradient norm (device tensor) when clipping."""
        if self._graph_step is None:  # made on first use: after a resume has loaded the optimiser
            def compute_loss(b: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
                x = b["inputs"].contiguous(memory_format=torch.channels_last) if self.channels_last else b["inputs"]
                return self.model.loss(x, **{k: v for k, v in b.items() if k != "inputs"})

            self._graph_step = GraphedTrainStep(self.model, self.optimizer, compute_loss, amp=self.amp,
                                                grad_clip=self.grad_clip)
        out = self._graph_step({"inputs": batch["inputs"], **self._targets(batch)})
        losses = {"loss": out["loss"], **{k: v for k, v in out.items() if k.startswith("loss") and k != "loss"}}
        self._pending.append(((epoch, it, self.global_iter), losses))  # "loss" first: the NaN check reads it
        self._after_step()
        return out.get("grad_norm")

    def _pending_losses(self) -> Dict[str, np.ndarray]:
        """The pending per-iteration losses on the host ([n] per key), averaged over the ranks;
        clears them. Raises NonFiniteLossError naming the first bad iteration."""
        if not self._pending:
            return {}
        keys = list(self._pending[0][1])
        stacked = torch.stack([torch.stack([losses[k].detach().float() for k in keys]) for _, losses in self._pending])
        if self.distributed:
            torch.distributed.all_reduce(stacked)
            stacked = stacked / self.world_size
        values = stacked.cpu().numpy()
        where = list(self._pending)
        self._pending = []
        bad = ~np.isfinite(values[:, 0])
        if bad.any():
            j = int(np.argmax(bad))
            epoch, it, git = where[j][0]
            last = os.path.join(self.work_dir, "last.pt")
            good = (f"the last good checkpoint is {os.path.realpath(last)} (fit(resume=True) continues from it)"
                    if os.path.lexists(last) else "no checkpoint was written yet")
            raise NonFiniteLossError(
                f"loss is {values[j, 0]} at epoch {epoch + 1} iteration {it + 1} (global iteration {git + 1}); "
                f"training stopped; {good}. Lower the learning rate, enable grad_clip, or check the data.")
        return {k: values[:, i] for i, k in enumerate(keys)}

    def _log(self, epoch: int, it: int, norm: Optional[torch.Tensor]) -> None:
        n = len(self._pending)
        losses = self._pending_losses()
        if not losses:
            return
        now = time.perf_counter()
        elapsed, self._t_log = now - self._t_log, now
        samples = n * self._batch_size * self.world_size
        self._epoch_loss[0] += float(losses["loss"].sum())
        self._epoch_loss[1] += len(losses["loss"])
        self._iters_timed += n
        self._time_timed += elapsed
        remaining = self.iters_per_epoch * self.max_epochs - (self.global_iter)
        eta = remaining * self._time_timed / max(1, self._iters_timed)
        rec = {"type": "train", "epoch": epoch + 1, "iter": it + 1, "global_iter": self.global_iter,
               **{k: float(v.mean()) for k, v in losses.items()}, "lr": self.optimizer.param_groups[0]["lr"],
               "samples_per_s": samples / max(elapsed, 1e-9), "eta_s": eta}
        if n > 1:
            rec["losses"] = [float(v) for v in losses["loss"]]
        if norm is not None:
            rec["grad_norm"] = float(norm)
        if self.device.type == "cuda":
            rec["memory_mb"] = torch.cuda.max_memory_allocated(self.device) / 2 ** 20
        self._jsonl.write(rec)
        self._tb.scalars({k: v for k, v in rec.items() if k not in ("type", "epoch", "iter", "global_iter")},
                         self.global_iter, prefix="train/")
        self._bar.update(0, {"loss": f"{rec['loss']:.4g}", "lr": f"{rec['lr']:.3g}",
                             "samples/s": f"{rec['samples_per_s']:.1f}", "eta": format_eta(eta)})

    def _sync_buffers(self) -> None:
        """Give every rank rank 0's buffers (BatchNorm statistics drift apart after the last forward
        pass: DDP broadcasts them only at the start of each), so that all ranks validate and save
        the same model."""
        if not self.distributed:
            return
        modules = [self.model] + ([self.ema.module] if self.ema is not None else [])
        for module in modules:
            for b in module.buffers():
                torch.distributed.broadcast(b, 0)

    def _validate(self, epoch: int) -> Dict[str, float]:
        metrics = evaluate(self.eval_model, self.val_data, self.metric, amp=self.val_amp)
        self._jsonl.write({"type": "val", "epoch": epoch + 1, "global_iter": self.global_iter, **metrics})
        self._tb.scalars(metrics, self.global_iter, prefix="val/")
        return metrics

    def _is_better(self, value: float) -> bool:
        if self.best.get("value") is None:
            return math.isfinite(value)
        lower = any(s in str(self.save_best).lower() for s in _LOWER_IS_BETTER)
        return value < self.best["value"] if lower else value > self.best["value"]

    def _resolve_resume(self, resume: Union[bool, str]) -> Optional[str]:
        if resume is False or resume is None:
            return None
        if resume is True:
            last = os.path.join(self.work_dir, "last.pt")
            return last if os.path.exists(last) else None
        if not os.path.isfile(str(resume)):
            raise FileNotFoundError(f"resume checkpoint {resume} does not exist")
        return str(resume)

    def fit(self, resume: Union[bool, str] = False) -> Dict[str, Any]:
        """Train (or continue) to ``max_epochs``.

        Args:
            resume (bool or str): True: continue from ``work_dir/last.pt`` when it exists (else start
                fresh); a path: continue from that checkpoint; False: start fresh.

        Returns:
            dict: ``best`` (``metric``, ``value``, ``epoch``), ``final`` (the last validation's
            metrics, {} without validation), ``history`` (one dict per epoch: ``epoch``, ``loss`` (mean
            training loss), ``lr``, and the validation metrics of that epoch), ``checkpoint`` (the last
            written), ``work_dir``.

        Raises:
            NonFiniteLossError: the loss became NaN/inf (the checkpoints written before stay intact).
        """
        path = self._resolve_resume(resume)
        if path is not None:
            self.load(path)
        if self.main:
            os.makedirs(self.ckpt_dir, exist_ok=True)
            ckpt.remove_stale_temporaries(self.ckpt_dir, self.work_dir)
        self._jsonl = JsonlLogger(os.path.join(self.work_dir, "log.jsonl"), enabled=self.main)
        self._tb = ScalarWriter(os.path.join(self.work_dir, "tensorboard"),
                                enabled=self.main and self.tensorboard_enabled)
        self._bar = ProgressBar(enabled=self.main and self.progress_enabled)
        self._pending: List[Any] = []
        self._target_names: Optional[List[str]] = None
        self._iters_timed, self._time_timed = 0, 0.0
        self._batch_size = int(getattr(self.train_data, "batch_size", 1))
        if path is not None:
            self._jsonl.write({"type": "resume", "checkpoint": path, "epoch": self.epoch + 1,
                               "iter": self.iter_in_epoch, "global_iter": self.global_iter})
        final: Dict[str, float] = dict(self.history[-1].get("val", {})) if self.history else {}
        # on CUDA the loop runs on a stream of its own: synchronous CUDA calls made by other threads
        # (a decoding library in the prefetch thread) wait for work on the legacy default stream, and
        # would wait for the training step there (nvJPEG: 362 vs 22 ms per batch on the H100)
        on_cuda = self.device.type == "cuda"
        stream = torch.cuda.stream(torch.cuda.Stream(self.device)) if on_cuda else contextlib.nullcontext()
        try:
            with stream:
                while self.epoch < self.max_epochs:
                    final = self._train_epoch() or final
        finally:
            self._bar.close()
            self._tb.close()
            self._jsonl.close()
        return {"best": dict(self.best), "final": final, "history": list(self.history),
                "checkpoint": self.last_checkpoint, "work_dir": self.work_dir}

    def _train_epoch(self) -> Dict[str, float]:
        epoch, start = self.epoch, self.iter_in_epoch
        if start == 0:
            self._epoch_loss = [0.0, 0]
        self.train_data.set_epoch(epoch, start)
        self.model.train()
        self._bar.start(epoch + 1, self.max_epochs, self.iters_per_epoch, start)
        self._t_log = time.perf_counter()
        norm = None
        for it, batch in enumerate(self.train_data, start=start):
            last_in_epoch = it + 1 == self.iters_per_epoch
            do_step = (it + 1) % self.accumulate == 0 or last_in_epoch  # always with cuda_graph (accumulate 1)
            if self.cuda_graph:
                norm = self._graphed_iteration(epoch, it, batch)
            else:
                sync = contextlib.nullcontext() if do_step or not self.distributed else self.loss_forward.no_sync()
                with sync:
                    with autocast_context(self.device, self.amp):
                        inputs = batch["inputs"]
                        if self.channels_last:
                            inputs = inputs.contiguous(memory_format=torch.channels_last)
                        losses = self.loss_forward(inputs, self._targets(batch))
                    loss = sum(v for k, v in losses.items() if k.startswith("loss"))
                    if not isinstance(loss, torch.Tensor):
                        raise ValueError(f"model.loss returned no 'loss*' entries to optimise: {sorted(losses)}")
                    self.scaler.scale(loss / self.accumulate).backward()
                self._pending.append(((epoch, it, self.global_iter),
                                      {"loss": loss.detach(), **{k: v.detach() for k, v in losses.items()
                                                                 if k.startswith("loss") and v.dim() == 0}}))
                if do_step:
                    norm = self._step()
            if do_step:
                self.run_ahead()
            self.global_iter += 1
            self.iter_in_epoch = it + 1
            self._bar.update(1)
            if (it + 1) % self.log_interval == 0 or last_in_epoch:
                self._log(epoch, it, norm)
            if (do_step and not last_in_epoch and self.checkpoint_interval
                    and self.global_iter % self.checkpoint_interval == 0):
                self._log(epoch, it, norm)  # flush and check the losses before writing
                self.save(f"iter_{self.global_iter}.pt")
            if last_in_epoch:
                break  # max_iters_per_epoch: do not fetch (and build) a batch that would not be used
        if self._pending:  # the data ended early: check and log what ran
            self._log(epoch, self.iter_in_epoch - 1, norm)
        self._bar.close()
        self.run_ahead.reset()  # validation and the checkpoint synchronise
        self._sync_buffers()
        # epoch done
        self.epoch, self.iter_in_epoch = epoch + 1, 0
        record: Dict[str, Any] = {"epoch": epoch + 1, "lr": self.optimizer.param_groups[0]["lr"],
                                  "loss": self._epoch_loss[0] / max(1, self._epoch_loss[1])}
        metrics: Dict[str, float] = {}
        is_best = False
        if self.val_data is not None and ((epoch + 1) % self.val_interval == 0 or epoch + 1 == self.max_epochs):
            metrics = self._validate(epoch)
            record["val"] = metrics
            if self.save_best is not None:
                if self.save_best not in metrics:
                    raise ValueError(f"save_best={self.save_best!r} is not among the metric's results "
                                     f"{sorted(metrics)}")
                if self._is_better(metrics[self.save_best]):
                    self.best = {"metric": self.save_best, "value": metrics[self.save_best], "epoch": epoch + 1}
                    is_best = True
        self.history.append(record)
        self.save(f"epoch_{epoch + 1}.pt", best=is_best)
        return metrics
