"""pyposefast: pose estimation for PyTorch, with batched C++/CUDA kernels on the hot paths.

Codecs, transforms, metrics and losses keep MMPose 1.x's names, arguments and results; the work
between the image and the loss runs in our own kernels (``torch.ops.pyposefast.*``) on the CPU or
the GPU. See ``pyposefast.ops`` for the kernels, ``pyposefast.codecs`` for MMPose-style codecs and
``pyposefast.baseline`` for the plain NumPy reference of every op.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import _cuda_queues

_cuda_queues.configure()  # more hardware queues for the CUDA streams, before a context exists (see there)

import torch  # noqa: F401  (the extension needs torch's libraries loaded first)

from ._extension import build_info, cuda_available, load_extension

load_extension()

from . import codecs, datasets, ops, structures  # noqa: E402

__all__ = ["__version__", "build_info", "cuda_available", "codecs", "datasets", "ops", "structures"]
