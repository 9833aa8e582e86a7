"""A thin CUDA-graph wrapper: capture a function of tensors once, replay it on new inputs.

``StaticGraph(fn, *example_args)`` copies the arguments into static buffers, runs ``fn`` on them a
few times on a side stream (warm-up: cuDNN / cuBLAS handles, cached device constants), captures one
call into a ``torch.cuda.CUDAGraph`` and keeps its outputs. Each call copies the new arguments into
the static buffers (device-to-device, no host synchronisation) and replays the graph; the outputs
are the same static tensors every time (overwritten by the next call; ``clone`` them to keep them).

On the CPU (or with ``capture=False``) the same object runs ``fn`` on the static buffers each call:
the copy-in / copy-out semantics are the same, so the plumbing is tested without a GPU.

What ``fn`` must do to be capturable: fixed shapes, no host synchronisation (no ``.item()``,
``.cpu()``, ``.tolist()``, no copies from pageable host memory such as ``torch.tensor(..., device=
'cuda')`` or ``cpu_tensor.to('cuda')``), no data-dependent shapes. ``TopdownInference`` (crop,
network, flip test, decode, back to image) is written that way.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch
from torch import Tensor

from .._capture import capture_gate
from ..datasets.ragged import RaggedImages

__all__ = ["StaticGraph"]


def _static_copy(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, RaggedImages):
        return RaggedImages(value.data.detach().clone(), value.offsets.clone(), value.sizes.clone(), value.channels,
                            value.cpu_offsets, value.cpu_sizes)
    return value


def _copy_into(name: str, static: Any, value: Any) -> None:
    if isinstance(static, Tensor):
        if not isinstance(value, Tensor) or value.shape != static.shape or value.dtype != static.dtype:
            raise ValueError(f"{name} must be a {static.dtype} tensor of shape {tuple(static.shape)} (the captured "
                             f"one), got {getattr(value, 'dtype', type(value).__name__)} "
                             f"{tuple(getattr(value, 'shape', ()))}; capture a new StaticGraph for other shapes")
        static.copy_(value, non_blocking=True)
    elif isinstance(static, RaggedImages):
        if not isinstance(value, RaggedImages) or value.data.shape != static.data.shape or \
                value.offsets.shape != static.offsets.shape or value.channels != static.channels:
            raise ValueError(f"{name} must be RaggedImages with {static.data.numel()} elements in "
                             f"{len(static)} images of {static.channels} channels (the captured layout)")
        static.data.copy_(value.data, non_blocking=True)
        static.offsets.copy_(value.offsets, non_blocking=True)
        static.sizes.copy_(value.sizes, non_blocking=True)
        if value.cpu_sizes is not None:  # host copies, for the argument checks of eager calls
            static.cpu_offsets, static.cpu_sizes = value.cpu_offsets, value.cpu_sizes
    elif static != value:
        raise ValueError(f"{name} is a constant of the captured graph ({static!r}); got {value!r}")


class StaticGraph:
    """Capture ``fn(*args)`` in a CUDA graph (CUDA inputs) and replay it per call.

    Args:
        fn (callable): a function of tensors / ``RaggedImages`` (and constants) returning a tensor or
            a tuple of tensors. Must be capturable (see the module docstring) when ``capture``.
        *example_args: the arguments to capture with; later calls must have the same shapes, dtypes
            and devices (``RaggedImages``: the same data size and image count; constants: equal).
        capture (bool, optional): capture a CUDA graph; default: when a tensor argument is on CUDA.
        warmup (int): eager calls on a side stream before the capture (CUDA only).

    Call: ``graph(*args)`` -> ``fn``'s outputs, as the static output tensors (overwritten by the next
    call). ``graph.replay()`` reruns on the current static inputs (``graph.static_args``).
    """

    def __init__(self, fn: Callable[..., Any], *example_args: Any, capture: Optional[bool] = None,
                 warmup: int = 3) -> None:
        self.fn = fn
        self.static_args = tuple(_static_copy(a) for a in example_args)
        on_cuda = any((a.is_cuda if isinstance(a, Tensor) else a.data.is_cuda) for a in self.static_args
                      if isinstance(a, (Tensor, RaggedImages)))
        self.captured = on_cuda if capture is None else bool(capture)
        if self.captured and not on_cuda:
            raise ValueError("capture=True needs CUDA tensor arguments")
        self.graph: Optional[torch.cuda.CUDAGraph] = None
        self.static_outputs: Any = None
        if self.captured:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(max(1, int(warmup))):
                    fn(*self.static_args)
            torch.cuda.current_stream().wait_stream(side)
            torch.cuda.synchronize()
            self.graph = torch.cuda.CUDAGraph()
            # thread_local: a data-loading thread (DevicePrefetcher) may allocate and copy meanwhile
            with capture_gate.capturing(), torch.cuda.graph(self.graph, capture_error_mode="thread_local"):
                self.static_outputs = fn(*self.static_args)
            torch.cuda.synchronize()

    def replay(self) -> Any:
        """Rerun on the current static inputs; returns the static outputs."""
        if self.graph is not None:
            self.graph.replay()
            return self.static_outputs
        self.static_outputs = self.fn(*self.static_args)
        return self.static_outputs

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.static_args):
            raise ValueError(f"expected {len(self.static_args)} arguments (as captured), got {len(args)}")
        for i, (static, value) in enumerate(zip(self.static_args, args)):
            _copy_into(f"argument {i}", static, value)
        return self.replay()
