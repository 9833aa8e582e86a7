"""Heads with separate ``forward`` (raw outputs), ``loss`` (dict of losses) and ``predict``
(flip test, the codecs' batched device decode, keypoints in image pixels)."""

from .base import BaseHead
from .heatmap import AssociativeEmbeddingHead, CPMHead, HeatmapHead
from .internet_head import Heatmap1DHead, Heatmap3DHead, InternetHead, MultilabelClassificationHead
from .multitask import VisibilityHead
from .regression import IntegralRegressionHead, RegressionHead, RLEHead, TemporalRegressionHead
from .simcc import RTMCCBlock, RTMCCHead, SimCCHead

__all__ = ["BaseHead", "HeatmapHead", "CPMHead", "AssociativeEmbeddingHead", "SimCCHead", "RTMCCHead", "RTMCCBlock",
           "RegressionHead", "RLEHead", "IntegralRegressionHead", "TemporalRegressionHead",
           "InternetHead", "Heatmap3DHead", "Heatmap1DHead", "MultilabelClassificationHead", "VisibilityHead"]
