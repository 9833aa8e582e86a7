"""Batched JPEG decoding on a CUDA device with nvJPEG, through pyposefast's own binding.

``NvjpegDecoder(device).decode(encoded)`` turns a batch of JPEG files' bytes into one
:class:`~pyposefast.datasets.ragged.RaggedImages` of interleaved HWC uint8 images on the device,
BGR (as ``cv2.imread``) or RGB. On GPUs with JPEG engines (A100, H100, ...) nvJPEG's hardware
backend decodes baseline JPEGs there, leaving the SMs and the host free; other GPUs use its default
(hybrid) backend. Images the batched decoder does not take (e.g. progressive JPEGs on the hardware
backend) are decoded by OpenCV on the host and copied in, so every decodable file decodes.

Compared with ``torchvision.io.decode_jpeg(device='cuda')`` (the fallback, see
:func:`~pyposefast.datasets.pipeline.decode_jpeg_batch`): no process-wide lock (one decoder per
thread), the caller's stream (the prefetcher's is high-priority), and the output written straight
into the batch's buffer in OpenCV's channel order.

The library (``libnvjpeg.so.13`` / ``.12``) is found at run time: ``$PYPOSEFAST_NVJPEG``, the
``nvidia-nvjpeg`` pip package (``pip install "pyposefast[nvjpeg]"``), torchvision's bundled copy, the
CUDA toolkit, then the loader's search path. Outputs differ from OpenCV's (libjpeg-turbo) decode by
the IDCT's and chroma upsampling's rounding: a few levels at edges, as any two JPEG decoders.

Measured on the H100: a batch of 64 640x480 JPEGs in 3-4 ms alone (torchvision's decoder fed the
pipeline at 3,863 samples/s, this one at 7,187, in the same run; session 6). Beside training, a
decode call waits for the training kernels queued ahead of its copies when its stream shares a
hardware queue with the training stream: 15.4 ms per batch of 64 with CUDA's default 8 queues,
3.9 ms with 32 (``CUDA_DEVICE_MAX_CONNECTIONS``, which importing pyposefast sets; see
``pyposefast._cuda_queues``), and it waits for a full launch queue when the training loop runs
far ahead (the ``Trainer`` keeps 2 steps in flight, :class:`~pyposefast.engine.RunAheadLimit`).
Results: ``benchmarks/results/h100-pipeline-2026-11-25-session7.txt``.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import threading
import time
from typing import Iterator, List, Optional, Sequence, Union

import cv2
import numpy as np
import torch

from .ragged import RaggedImages

__all__ = ["NvjpegDecoder", "find_nvjpeg_library", "nvjpeg_available"]

_RGBI, _BGRI = 5, 6
_SONAMES = ("libnvjpeg.so.13", "libnvjpeg.so.12", "libnvjpeg.so.11", "libnvjpeg.so")


def _package_dirs(name: str) -> List[str]:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    return list(spec.submodule_search_locations or [])


def find_nvjpeg_library() -> Optional[str]:
    """The path (or bare soname) of the nvJPEG library to load, or None when none is found.

    Order: ``$PYPOSEFAST_NVJPEG``; the ``nvidia-nvjpeg`` wheels (``nvidia/cu13/lib``,
    ``nvidia/nvjpeg/lib``); torchvision's bundled copy; ``$CUDA_HOME``/``/usr/local/cuda``; a
    soname the dynamic loader resolves.
    """
    env = os.environ.get("PYPOSEFAST_NVJPEG")
    if env:
        return env
    candidates: List[str] = []
    for root in _package_dirs("nvidia"):
        for sub in ("cu13/lib", "cu12/lib", "nvjpeg/lib"):
            candidates += sorted(glob.glob(os.path.join(root, sub, "libnvjpeg.so*")))
    for root in _package_dirs("torchvision"):
        candidates += sorted(glob.glob(os.path.join(os.path.dirname(root), "torchvision.libs", "libnvjpeg*.so*")))
    for home in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if home:
            candidates += sorted(glob.glob(os.path.join(home, "lib64", "libnvjpeg.so*")))
    for path in candidates:
        if os.path.isfile(path):
            return path
    import ctypes

    for soname in _SONAMES:
        try:
            ctypes.CDLL(soname)
        except OSError:
            continue
        return soname
    return None


def nvjpeg_available() -> bool:
    """Whether :class:`NvjpegDecoder` can run here: CUDA, the compiled extension and nvJPEG found."""
    if not torch.cuda.is_available():
        return False
    try:
        from .._extension import load_extension

        load_extension()
    except ImportError:
        return False
    return find_nvjpeg_library() is not None


Encoded = Union[np.ndarray, torch.Tensor]


class NvjpegDecoder:
    """Decode batches of JPEG bytes onto a CUDA device (one call at a time per decoder: give each
    decoding thread its own; a decoder can move from thread to thread between calls).

    Args:
        device (str or torch.device): the CUDA device decoded images go to.
        backend (str): ``'auto'`` (hardware JPEG engines when the GPU has them, else the default
            backend), ``'hardware'`` (fail without them) or ``'default'``. Defaults to ``'auto'``.
        library (str, optional): nvJPEG's path; default :func:`find_nvjpeg_library`.
        flags (int): ``nvjpegCreateEx`` flags (e.g. 1: ``NVJPEG_FLAGS_HW_DECODE_NO_PIPELINE``). Defaults to 0.
        preallocate (bool): size the hardware backend's device buffers ahead of each batch that needs
            more than they hold (``nvjpegDecodeBatchedPreAllocate``, grow-only, dimensions rounded up
            to 64), instead of letting the decode call reallocate them. Defaults to True.

    Attributes:
        backend (str): ``'hardware'`` or ``'default'``, what runs.
        host_fallbacks (int): images decoded by OpenCV because the batched decoder refused them.
        stats (dict): seconds so far in each part of :meth:`decode`: ``'prepare'`` (checks, headers),
            ``'wait'`` (the stream's earlier work), ``'decode'`` (the nvJPEG call), ``'finish'``
            (fallbacks, the decode's completion), and ``'calls'``.

    Raises:
        RuntimeError: no CUDA, nvJPEG not found or not loadable, or the backend cannot start.
    """

    def __init__(self, device: Union[str, torch.device] = "cuda", backend: str = "auto",
                 library: Optional[str] = None, flags: int = 0, preallocate: bool = True) -> None:
        self.device = torch.device(device)
        if self.device.type != "cuda":
            raise ValueError(f"device must be a CUDA device, got {self.device}")
        if backend not in ("auto", "hardware", "default"):
            raise ValueError(f"backend must be 'auto', 'hardware' or 'default', got {backend!r}")
        if not torch.cuda.is_available():
            raise RuntimeError("NvjpegDecoder needs CUDA (torch.cuda.is_available() is False)")
        path = library or find_nvjpeg_library()
        if path is None:
            raise RuntimeError("nvJPEG not found: pip install nvidia-nvjpeg (or pyposefast[nvjpeg]), or set "
                               "PYPOSEFAST_NVJPEG to libnvjpeg.so's path")
        from .._extension import load_extension

        ext = load_extension()
        if self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())
        with torch.cuda.device(self.device):
            torch.cuda.init()
            self._impl = ext.NvjpegDecoder(path, backend, int(flags))
        self.library = path
        self.backend: str = self._impl.backend
        self.preallocate = bool(preallocate)
        self.host_fallbacks = 0
        self._busy = threading.Lock()  # its nvJPEG state serves one call at a time
        self.stats = {"prepare": 0.0, "wait": 0.0, "decode": 0.0, "finish": 0.0, "calls": 0}

    def reserve(self, batch_size: int, width: int, height: int, bgr: bool = True) -> bool:
        """Size the hardware backend's device buffers for ``batch_size`` images of up to
        ``width`` x ``height`` (grow-only; a no-op on the default backend). Returns whether it allocated."""
        for name, value in (("batch_size", batch_size), ("width", width), ("height", height)):
            if int(value) < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        with self._one_call(), torch.cuda.device(self.device):
            return self._impl.reserve(int(batch_size), int(width), int(height), _BGRI if bgr else _RGBI)

    def decode(self, encoded: Sequence[Encoded], bgr: bool = True) -> RaggedImages:
        """Decode a batch onto the device, on the current CUDA stream; returns once it is decoded.

        Args:
            encoded (sequence of ndarray or Tensor): each a file's bytes, uint8 [L] on the CPU.
            bgr (bool): BGR channel order (as ``cv2.imread``); False: RGB. Defaults to True.

        Returns:
            RaggedImages: ``data`` uint8 [sum H*W*3] on the device, images HWC with 3 channels (a
            grayscale JPEG is replicated), ``offsets`` / ``sizes`` [N] / [N, 2] (H, W) on the device
            and on the CPU.

        Raises:
            ValueError: an entry that is not 1-D uint8 CPU data, or not a decodable JPEG (named).
            RuntimeError: the decoder is decoding in another thread at the same time.
        """
        with self._one_call():
            return self._decode(encoded, bool(bgr))

    @contextlib.contextmanager
    def _one_call(self) -> Iterator[None]:
        """Hold the decoder's nvJPEG state for one call; a call from another thread meanwhile raises."""
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("this NvjpegDecoder is decoding in another thread: use one decoder per thread")
        try:
            yield
        finally:
            self._busy.release()

    def _decode(self, encoded: Sequence[Encoded], bgr: bool) -> RaggedImages:
        stats = self.stats
        t0 = time.perf_counter()
        arrays = [_host_bytes(i, e) for i, e in enumerate(encoded)]
        buffers = [(a.ctypes.data, a.size) for a in arrays]
        info = self._impl.inspect(buffers) if arrays else []
        sizes = np.zeros((len(arrays), 2), np.int64)
        on_host = {}  # index -> OpenCV's decode, for headers nvJPEG cannot read (decoded once)
        for i, (components, _, width, height, _) in enumerate(info):
            if components < 0:
                img = cv2.imdecode(arrays[i], cv2.IMREAD_COLOR)  # OpenCV may still read it
                if img is None:
                    raise ValueError(f"encoded[{i}] is not a decodable JPEG (nvJPEG status {-components})")
                on_host[i] = img
                height, width = img.shape[:2]
            sizes[i] = (height, width)
        numel = sizes[:, 0] * sizes[:, 1] * 3
        offsets = np.cumsum(numel) - numel
        t1 = time.perf_counter()
        with torch.cuda.device(self.device):
            stream = torch.cuda.current_stream(self.device)
            data = torch.empty(int(numel.sum()), dtype=torch.uint8, device=self.device)
            batched = [i for i, row in enumerate(info) if row[0] > 0 and row[4]]
            # the hardware engine does not wait for work queued on the stream before it writes its
            # outputs (seen by torchcodec, meta-pytorch/torchcodec#1634): ``data`` may be a block the
            # caching allocator recycled from such work, so the stream must be idle first. It holds
            # only this thread's copies and decodes, so this costs the previous decode's tail at most.
            stream.synchronize()
            t2 = time.perf_counter()
            if batched:
                if self.preallocate:
                    rows = sizes[batched]
                    self._impl.reserve(len(batched), _round_up(int(rows[:, 1].max()), 64),
                                       _round_up(int(rows[:, 0].max()), 64), _BGRI if bgr else _RGBI)
                base = data.data_ptr()
                self._impl.decode([buffers[i] for i in batched],
                                  [(base + int(offsets[i]), int(sizes[i, 1]) * 3) for i in batched],
                                  _BGRI if bgr else _RGBI, stream.cuda_stream)
            t3 = time.perf_counter()
            for i in sorted(set(range(len(arrays))) - set(batched)):
                img = on_host[i] if i in on_host else cv2.imdecode(arrays[i], cv2.IMREAD_COLOR)
                if img is None:
                    raise ValueError(f"encoded[{i}] is not a decodable JPEG")
                if not bgr:
                    img = img[..., ::-1]
                host = torch.from_numpy(np.ascontiguousarray(img)).reshape(-1)
                data[int(offsets[i]):int(offsets[i] + numel[i])].copy_(host)
                self.host_fallbacks += 1
            # the inputs stay alive, and the state is not reused, until the decode has run
            stream.synchronize()
            t4 = time.perf_counter()
            stats["prepare"] += t1 - t0
            stats["wait"] += t2 - t1
            stats["decode"] += t3 - t2
            stats["finish"] += t4 - t3
            stats["calls"] += 1
            cpu_offsets, cpu_sizes = torch.from_numpy(offsets), torch.from_numpy(sizes)
            return RaggedImages(data, cpu_offsets.to(self.device, non_blocking=True),
                                cpu_sizes.to(self.device, non_blocking=True), 3, cpu_offsets, cpu_sizes)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _host_bytes(i: int, e: Encoded) -> np.ndarray:
    if isinstance(e, torch.Tensor):
        if e.device.type != "cpu":
            raise ValueError(f"encoded[{i}] must be on the CPU, got {e.device}")
        if e.dtype != torch.uint8 or e.dim() != 1:
            raise ValueError(f"encoded[{i}] must be a 1-D uint8 tensor, got {e.dtype} {tuple(e.shape)}")
        e = e.numpy()
    if not isinstance(e, np.ndarray) or e.dtype != np.uint8 or e.ndim != 1:
        raise ValueError(f"encoded[{i}] must be 1-D uint8 bytes, got {type(e).__name__} "
                         f"{getattr(e, 'dtype', '')} {getattr(e, 'shape', '')}")
    if e.size == 0:
        raise ValueError(f"encoded[{i}] is empty")
    return np.ascontiguousarray(e)
