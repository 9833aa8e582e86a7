"""The metric protocol of MMEngine's ``BaseMetric``, without MMEngine: ``process`` one batch of data
samples at a time, then ``evaluate`` (or ``compute_metrics`` on the stored results).

A data sample is a dict as MMPose's ``PoseDataSample.to_dict()`` gives it: ``'pred_instances'`` and
``'gt_instances'`` (dicts of arrays or tensors, any device), plus per-metric keys (``'id'``,
``'img_id'``, ``'raw_ann_info'``, ``'ori_shape'``, ...). ``dataset_meta`` holds the dataset facts a
metric needs (``'sigmas'``, ``'num_keypoints'``, ``'dataset_name'``, ...), set by the caller as
MMEngine's runner does.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..functional._arrays import to_numpy


class BaseMetric:
    """Accumulates processed samples in ``self.results``; ``evaluate()`` turns them into a dict of
    named floats (keys prefixed ``'<prefix>/'``) and clears them."""

    default_prefix: Optional[str] = None

    def __init__(self, collect_device: str = "cpu", prefix: Optional[str] = None) -> None:
        self.collect_device = collect_device
        self.prefix = prefix or self.default_prefix
        self.results: List[Any] = []
        self._dataset_meta: Optional[dict] = None

    @property
    def dataset_meta(self) -> Optional[dict]:
        """Optional[dict]: meta information of the dataset (sigmas, num_keypoints, dataset_name, ...)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._dataset_meta = dataset_meta

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:  # pragma: no cover
        raise NotImplementedError

    def compute_metrics(self, results: list) -> Dict[str, float]:  # pragma: no cover
        raise NotImplementedError

    def evaluate(self, size: Optional[int] = None) -> Dict[str, float]:
        """Compute the metrics over everything processed so far, then forget it.

        Args:
            size (int, optional): the dataset size; results beyond it (padding of the last batch in
                distributed evaluation) are dropped, as MMEngine does.

        Raises:
            ValueError: nothing was processed.
        """
        if not self.results:
            raise ValueError(f"{type(self).__name__}.evaluate(): no samples were processed; call process() first")
        results = self.results if size is None else self.results[:size]
        metrics = self.compute_metrics(results)
        self.results = []
        return {(f"{self.prefix}/{k}" if self.prefix else k): float(v) for k, v in metrics.items()}


def field(sample: dict, key: str, where: str = "data sample") -> Any:
    try:
        return sample[key]
    except (KeyError, TypeError):
        raise ValueError(f"`{key}` is required in each {where} for this metric") from None


def array(sample: dict, key: str, where: str, dtype=None) -> np.ndarray:
    return to_numpy(f"{where}['{key}']", field(sample, key, where), dtype)
