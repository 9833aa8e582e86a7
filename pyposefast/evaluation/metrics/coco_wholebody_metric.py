"""CocoWholeBodyMetric: COCO-WholeBody AP/AR for body, foot, face, left hand, right hand and the
whole body (133 keypoints = 17 + 6 + 68 + 21 + 21).

MMPose 1.x ``mmpose.evaluation.metrics.CocoWholeBodyMetric``: the same flow as :class:`CocoMetric`
(rescoring and NMS over all 133 keypoints), results JSON with ``keypoints`` (body),
``foot_kpts``, ``face_kpts``, ``lefthand_kpts``, ``righthand_kpts``, and one COCO evaluation per
part with that part's sigmas. The whole-body stats keep MMPose's names ('AP', 'AP .5', ...); the
per-part stats, which MMPose only prints, are returned too as ``'<part>/AP'`` etc.
(part = body | foot | face | lefthand | righthand). ``raw_ann_info`` entries need the four part
fields besides ``keypoints``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Optional

import numpy as np

from ..results import COCO_STATS_NAMES, build_dt, build_gt, evaluate_keypoints
from .coco_metric import CocoMetric

__all__ = ["CocoWholeBodyMetric"]


class CocoWholeBodyMetric(CocoMetric):
    """Whole-body COCO keypoint evaluation; arguments as :class:`CocoMetric` (default prefix
    'coco-wholebody')."""

    default_prefix: Optional[str] = "coco-wholebody"
    body_num = 17
    foot_num = 6
    face_num = 68
    left_hand_num = 21
    right_hand_num = 21
    _GT_FIELDS = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")
    # part name -> (result fields, xtcocotools score key)
    PARTS = OrderedDict([
        ("body", (("keypoints",), "score")),
        ("foot", (("foot_kpts",), "foot_score")),
        ("face", (("face_kpts",), "face_score")),
        ("lefthand", (("lefthand_kpts",), "lefthand_score")),
        ("righthand", (("righthand_kpts",), "righthand_score")),
        ("wholebody", (_GT_FIELDS, "wholebody_score")),
    ])

    def _cuts(self) -> np.ndarray:
        return np.cumsum([0, self.body_num, self.foot_num, self.face_num, self.left_hand_num, self.right_hand_num])

    def _parts(self) -> Optional[Dict[str, slice]]:
        c = self._cuts()
        return {name: slice(int(c[i]), int(c[i + 1])) for i, name in enumerate(self._GT_FIELDS)}

    def _results(self, kept: List[dict]) -> List[dict]:
        for inst in kept:
            inst["category_id"] = 1  # MMPose writes category 1 for whole-body results
        return super()._results(kept)

    def _evaluate(self, gt_dataset: dict, coco_results: List[dict], sigmas: np.ndarray) -> Dict[str, float]:
        c = self._cuts()
        if len(sigmas) != c[-1]:
            raise ValueError(f"CocoWholeBodyMetric needs {c[-1]} sigmas, got {len(sigmas)}")
        part_sigmas = [sigmas[c[i]:c[i + 1]] for i in range(5)] + [sigmas]
        metrics: Dict[str, float] = OrderedDict()
        summaries = []
        part_stats = {}
        for (name, (fields, score_key)), sg in zip(self.PARTS.items(), part_sigmas):
            coco_gt = build_gt(gt_dataset, fields, self.use_area)
            stats, text = evaluate_keypoints(coco_gt, build_dt(coco_gt, coco_results, fields, score_key), sg)
            summaries.append(f"{name}:\n{text}")
            part_stats[name] = stats
        self.summary = "\n".join(summaries)
        metrics.update(zip(COCO_STATS_NAMES, (float(s) for s in part_stats["wholebody"])))
        for name, stats in part_stats.items():
            metrics.update({f"{name}/{k}": float(s) for k, s in zip(COCO_STATS_NAMES, stats)})
        return metrics
