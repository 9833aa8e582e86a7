"""A tiny top-down model and synthetic data for the engine tests (fast on 2 CPU cores)."""

from __future__ import annotations

from torch import nn

from pyposefast.codecs import MSRAHeatmap
from pyposefast.datasets import dataset_meta
from pyposefast.models import TopdownPoseEstimator
from pyposefast.models.heads import HeatmapHead

INPUT_SIZE = (48, 64)  # (w, h)
HEATMAP_SIZE = (12, 16)  # (W, H)


class TinyBackbone(nn.Module):
    """Two stride-2 conv-BN-ReLU blocks: [B, 3, h, w] -> ([B, C, h/4, w/4],)."""

    def __init__(self, channels: int = 16, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout2d(dropout)  # draws from the global torch RNG (resume test)
        self.layers = nn.Sequential(
            nn.Conv2d(3, channels, 3, 2, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 2, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True))

    def forward(self, x):
        return (self.dropout(self.layers(x)),)


def tiny_codec() -> MSRAHeatmap:
    return MSRAHeatmap(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=2.0)


def tiny_model(channels: int = 16, dropout: float = 0.0) -> TopdownPoseEstimator:
    head = HeatmapHead(channels, 17, deconv_out_channels=None, deconv_kernel_sizes=None, decoder=tiny_codec())
    return TopdownPoseEstimator(TinyBackbone(channels, dropout), head, flip_test=True, shift_heatmap=True,
                                flip_indices=list(dataset_meta("coco")["flip_indices"]))
