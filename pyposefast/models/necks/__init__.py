"""Necks between backbone and head."""

from .necks import FPN, FeatureMapProcessor, GlobalAveragePooling

__all__ = ["GlobalAveragePooling", "FeatureMapProcessor", "FPN"]
