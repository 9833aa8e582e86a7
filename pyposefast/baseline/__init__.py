"""Plain NumPy versions of every pyposefast op, written from ALGORITHMS.md.

They are slow on purpose (one Python loop iteration per instance and keypoint, like MMPose) and easy
to read: the tests' oracle and the benchmarks' yardstick. The fast path never imports this package.
"""

from .decode import decode_heatmaps, decode_simcc
from .group import ae_decode
from .heatmap import gaussian_heatmaps, udp_offset_heatmaps
from .nms import oks_nms, soft_oks_nms
from .warp import warp_affine

__all__ = [
    "ae_decode",
    "decode_heatmaps",
    "decode_simcc",
    "gaussian_heatmaps",
    "oks_nms",
    "soft_oks_nms",
    "udp_offset_heatmaps",
    "warp_affine",
]
