"""Datasets and the batch pipeline: ragged image batches, augmentation and top-down transforms."""

from .ragged import RaggedImages, collate_images
from .transforms import TopdownAffine

__all__ = ["RaggedImages", "collate_images", "TopdownAffine"]
