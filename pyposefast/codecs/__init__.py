"""Keypoint codecs with MMPose 1.x's names, arguments and results, implemented on our kernels.

Each codec's ``encode`` takes one sample as NumPy arrays (or tensors) like MMPose's; its
``batch_encode`` takes a batch of tensors and runs on their device in one kernel launch.
"""

from .base import BaseKeypointCodec, HeatmapCodec
from .msra_heatmap import MSRAHeatmap
from .udp_heatmap import UDPHeatmap

__all__ = ["BaseKeypointCodec", "HeatmapCodec", "MSRAHeatmap", "UDPHeatmap"]
