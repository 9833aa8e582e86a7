"""The Python face of the kernels: checked wrappers around ``torch.ops.pyposefast.*``.

Each wrapper validates its arguments (raising TypeError/ValueError that names the argument), brings
them to the kernel's dtype and layout, and makes one dispatcher call, so it works on CPU and CUDA
tensors, under ``torch.compile`` (fake kernels in ``_meta``) and with ``torch.library.opcheck``.
"""

from .._extension import load_extension as _load_extension

_load_extension()

from . import _meta  # noqa: E402,F401  (registers the fake kernels)
from .heatmap import GAUSSIAN_METHODS, gaussian_heatmaps, udp_offset_heatmaps  # noqa: E402
from .nms import SOFT_NMS_METHODS, oks_iou_matrix, oks_nms, soft_oks_nms  # noqa: E402
from .warp import warp_affine  # noqa: E402
from .decode import HEATMAP_REFINEMENTS, decode_heatmaps, decode_simcc  # noqa: E402
from .group import AE_REFINEMENTS, ae_decode  # noqa: E402

__all__ = [
    "AE_REFINEMENTS",
    "ae_decode",
    "GAUSSIAN_METHODS",
    "HEATMAP_REFINEMENTS",
    "SOFT_NMS_METHODS",
    "decode_heatmaps",
    "decode_simcc",
    "gaussian_heatmaps",
    "oks_iou_matrix",
    "oks_nms",
    "soft_oks_nms",
    "udp_offset_heatmaps",
    "warp_affine",
]
