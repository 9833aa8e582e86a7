"""Keypoint codecs with MMPose 1.x's names, arguments and results, implemented on our kernels.

Each codec's ``encode`` / ``decode`` take one sample as NumPy arrays (or tensors) like MMPose's;
its ``batch_encode`` / ``batch_decode`` take a batch of tensors and run on their device in one
kernel launch. ``decode_topdown`` is the whole top-down post-processing (flip merge, decode, back to
image pixels) in one call.
"""

from .associative_embedding import AssociativeEmbedding
from .base import BaseKeypointCodec, HeatmapCodec
from .flip import flip_heatmaps, flip_vectors
from .hand_3d_heatmap import Hand3DHeatmap
from .image_pose_lifting import ImagePoseLifting
from .integral_regression_label import IntegralRegressionLabel, soft_argmax
from .megvii_heatmap import MegviiHeatmap
from .msra_heatmap import MSRAHeatmap
from .regression_label import RegressionLabel, flip_coordinates
from .simcc_label import SimCCLabel
from .topdown import decode_topdown
from .udp_heatmap import UDPHeatmap
from .video_pose_lifting import VideoPoseLifting

__all__ = [
    "Hand3DHeatmap",
    "ImagePoseLifting",
    "VideoPoseLifting",
    "AssociativeEmbedding",
    "BaseKeypointCodec",
    "HeatmapCodec",
    "MSRAHeatmap",
    "UDPHeatmap",
    "MegviiHeatmap",
    "SimCCLabel",
    "RegressionLabel",
    "IntegralRegressionLabel",
    "soft_argmax",
    "flip_coordinates",
    "flip_heatmaps",
    "flip_vectors",
    "decode_topdown",
]
