"""Datasets and the batch pipeline: ragged image batches, augmentation and top-down transforms."""

from .ragged import RaggedImages, collate_images
from .transforms import TopdownAffine
from .metainfo import dataset_meta, list_datasets

__all__ = ["RaggedImages", "collate_images", "TopdownAffine", "dataset_meta", "list_datasets"]
