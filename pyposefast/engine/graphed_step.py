"""A whole training step (forward, loss, backward, gradient clipping, optimiser step) as one CUDA graph.

An eager step of ResNet-50 launches about two thousand kernels from Python; on the H100 host that
takes longer than the GPU needs to run them (22-30 ms per batch of 64), and any other work in the
process (the data pipeline's threads, decode workers) slows the launching thread further. Captured
once per batch shape, a step costs one graph launch plus copies of the batch into static buffers,
so the host is free and the step runs at the GPU's rate.

``GraphedTrainStep(model, optimizer, compute_loss)`` is called with a batch (a dict of tensors)
and returns the step's losses (fresh tensors). It captures on first use of each batch shape:

1. a few eager warm-up steps on a side stream (cuDNN autotuning, optimiser state, allocator);
2. the model's parameters and buffers, the optimiser's state and the CUDA RNG state are then put
   back as they were before the warm-up, so that capturing changes nothing that is trained (a
   fresh optimiser state is reset to zeros, which is Adam's initial state);
3. one step is captured into a ``torch.cuda.CUDAGraph``; each later call copies the batch into the
   captured input tensors and replays it.

The learning rate lives in a device tensor per parameter group (filled from ``group['lr']``
before each replay, so schedulers that assign floats keep working). Requirements (checked):
CUDA parameters, Adam or AdamW (run with ``capturable=True``; SGD's tensor learning rate is not
capturable in PyTorch), no fp16 grad scaler (bf16 autocast or fp32), fixed shapes per graph. On
the CPU, or with ``enabled=False``, the same object runs the step eagerly.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from .._capture import capture_gate

__all__ = ["GraphedTrainStep"]

LossFn = Callable[[Dict[str, Tensor]], Dict[str, Tensor]]


def _autocast(amp: Optional[str], device_type: str):
    if amp is None:
        return contextlib.nullcontext()  # fp32, or whatever autocast the caller has entered
    if amp != "bf16":
        raise ValueError(f"amp must be None or 'bf16' for a graphed step (fp16 needs a grad scaler, which "
                         f"synchronises), got {amp!r}")
    # cache_enabled=False: autocast's weight-cast cache must not outlive the capture
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16, cache_enabled=False)


class GraphedTrainStep:
    """One training step of ``model`` per call, captured in a CUDA graph per batch shape.

    Args:
        model (nn.Module): trained in place (its parameters on CUDA for capture).
        optimizer (torch.optim.Adam or AdamW): over ``model``'s parameters; switched to
            ``capturable=True``.
        compute_loss (callable): ``compute_loss(batch) -> dict`` of losses; the entries whose name
            starts with ``'loss'`` are summed and back-propagated. Runs under autocast (``amp``).
            It must be capturable: no ``.item()``, no host copies, fixed shapes.
        amp (str, optional): ``'bf16'`` autocast, or None (fp32).
        grad_clip (float, optional): max global gradient norm (``clip_grad_norm_``, inside the graph).
        enabled (bool, optional): capture graphs; default when the parameters are on CUDA.
        warmup (int): eager warm-up steps before each capture (undone afterwards).
        max_graphs (int): graphs kept (one per batch shape; least recently used dropped).

    Call: ``step(batch)`` with ``batch`` a dict of tensors (the same keys and, per graph, shapes and
    dtypes) -> dict of 0-dim float tensors: the losses, ``'loss'`` (their sum) and, with
    ``grad_clip``, ``'grad_norm'``; fresh tensors (not overwritten by later calls).
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, compute_loss: LossFn, *,
                 amp: Optional[str] = None, grad_clip: Optional[float] = None, enabled: Optional[bool] = None,
                 warmup: int = 3, max_graphs: int = 4) -> None:
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("model has no trainable parameters")
        self.device = params[0].device
        self.enabled = self.device.type == "cuda" if enabled is None else bool(enabled)
        if self.enabled:
            if self.device.type != "cuda":
                raise ValueError(f"a graphed step needs the model on CUDA, got {self.device}")
            if not isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)):
                raise TypeError(f"a graphed step supports Adam and AdamW (capturable), got {type(optimizer).__name__}; "
                                f"use enabled=False (eager) for others")
            for group in optimizer.param_groups:
                group["capturable"] = True
            for state in optimizer.state.values():  # a loaded state: its step counters onto the device
                if isinstance(state.get("step"), Tensor):
                    state["step"] = state["step"].to(self.device, torch.float32)
        _autocast(amp, self.device.type)  # validates amp
        if grad_clip is not None and not grad_clip > 0:
            raise ValueError(f"grad_clip must be positive or None, got {grad_clip}")
        if warmup < 1 or max_graphs < 1:
            raise ValueError(f"warmup and max_graphs must be >= 1, got {warmup} and {max_graphs}")
        self.model, self.optimizer, self.compute_loss = model, optimizer, compute_loss
        self.amp, self.grad_clip, self.warmup, self.max_graphs = amp, grad_clip, int(warmup), int(max_graphs)
        self._params = params
        self._graphs: "OrderedDict[Tuple, _Captured]" = OrderedDict()
        self._lr: List[Tensor] = []  # device learning rates, one per group (graph mode)
        self.captures = 0

    # ------------------------------------------------------------------ the step itself
    def _losses(self, batch: Dict[str, Tensor]) -> Dict[str, Tensor]:
        with _autocast(self.amp, self.device.type):
            losses = self.compute_loss(batch)
        parts = {k: v for k, v in losses.items() if k.startswith("loss") and isinstance(v, Tensor) and v.dim() == 0}
        if not parts:
            raise ValueError(f"compute_loss returned no 0-dim 'loss*' entries: {sorted(losses)}")
        total = sum(parts.values())
        return {**parts, "loss": total}

    def _step(self, batch: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """forward, backward, clip, optimiser step (gradients must be None or zero on entry)."""
        out = self._losses(batch)
        out["loss"].backward()
        if self.grad_clip is not None:
            out["grad_norm"] = torch.nn.utils.clip_grad_norm_(self._params, self.grad_clip)
        self.optimizer.step()
        return out

    def __call__(self, batch: Dict[str, Tensor]) -> Dict[str, Tensor]:
        if not isinstance(batch, dict) or not all(isinstance(v, Tensor) for v in batch.values()):
            raise TypeError("batch must be a dict of tensors")
        if not self.enabled:
            self.optimizer.zero_grad(set_to_none=True)
            out = self._step(batch)
            return {k: v.detach() for k, v in out.items()}
        key = tuple((k, tuple(v.shape), v.dtype, v.stride()) for k, v in sorted(batch.items()))
        graph = self._graphs.get(key)
        if graph is None:
            graph = self._capture(batch)
            self._graphs[key] = graph
            while len(self._graphs) > self.max_graphs:
                self._graphs.popitem(last=False)
        else:
            self._graphs.move_to_end(key)
        for name, static in graph.inputs.items():
            static.copy_(batch[name], non_blocking=True)
        for lr, group in zip(self._lr, self.optimizer.param_groups):
            lr.fill_(float(group["lr"]))  # a fill kernel: no host synchronisation
        graph.graph.replay()
        return {k: v.clone() for k, v in graph.outputs.items()}

    # ------------------------------------------------------------------ capture
    def _snapshot(self) -> Tuple[List[Tensor], List[Tensor], Dict[int, Dict[str, Tensor]], Tensor]:
        tensors = [p.detach() for p in self.model.parameters()] + [b for b in self.model.buffers()]
        saved = [t.clone() for t in tensors]
        opt = {id(p): {k: v.clone() for k, v in s.items() if isinstance(v, Tensor)}
               for p, s in self.optimizer.state.items()}
        return tensors, saved, opt, torch.cuda.get_rng_state(self.device)

    def _restore(self, snap) -> None:
        tensors, saved, opt, rng = snap
        with torch.no_grad():
            for t, s in zip(tensors, saved):
                t.copy_(s)
            for p, state in self.optimizer.state.items():
                before = opt.get(id(p))
                for k, v in state.items():
                    if isinstance(v, Tensor):
                        if before is not None and k in before:
                            v.copy_(before[k])
                        else:  # created by the warm-up: Adam's initial state is all zeros (step 0)
                            v.zero_()
        torch.cuda.set_rng_state(rng, self.device)

    def _capture(self, batch: Dict[str, Tensor]) -> "_Captured":
        inputs = {k: v.detach().clone() for k, v in batch.items()}
        torch.cuda.synchronize(self.device)
        snap = self._snapshot()
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(self.warmup):
                self.optimizer.zero_grad(set_to_none=True)
                self._step(inputs)
        torch.cuda.current_stream(self.device).wait_stream(side)
        torch.cuda.synchronize(self.device)
        self._restore(snap)
        if not self._lr:
            self._lr = [torch.tensor(float(g["lr"]), dtype=torch.float32, device=self.device)
                        for g in self.optimizer.param_groups]
        floats = [g["lr"] for g in self.optimizer.param_groups]
        for g, lr, value in zip(self.optimizer.param_groups, self._lr, floats):
            lr.fill_(float(value))
            g["lr"] = lr  # the capture reads the learning rate from the device
        graph = torch.cuda.CUDAGraph()
        self.optimizer.zero_grad(set_to_none=True)  # gradients are allocated inside the graph
        try:
            # thread_local: a data-loading thread may run meanwhile (capture_gate holds our own
            # prefetchers' copies back)
            with capture_gate.capturing(), torch.cuda.graph(graph, capture_error_mode="thread_local"):
                outputs = self._step(inputs)
        finally:
            for g, value in zip(self.optimizer.param_groups, floats):
                g["lr"] = value  # schedulers go on assigning floats; copied in before each replay
        torch.cuda.synchronize(self.device)
        self.captures += 1
        return _Captured(graph, inputs, {k: v.detach() for k, v in outputs.items()})


class _Captured:
    def __init__(self, graph: "torch.cuda.CUDAGraph", inputs: Dict[str, Tensor], outputs: Dict[str, Tensor]) -> None:
        self.graph, self.inputs, self.outputs = graph, inputs, outputs
