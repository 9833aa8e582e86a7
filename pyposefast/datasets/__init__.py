"""Datasets and the batch pipeline: ragged image batches, augmentation and top-down transforms."""
