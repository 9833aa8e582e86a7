"""CocoMetric: COCO keypoint AP/AR with rescoring and OKS-NMS, for any keypoint set.

MMPose 1.x ``mmpose.evaluation.metrics.CocoMetric`` (names, arguments, flow and result keys;
ALGORITHMS.md (g)), evaluated with pycocotools prepared to compute what MMPose's xtcocotools
computes (see :mod:`pyposefast.evaluation.results`). Rescoring is vectorised over all instances and
the NMS of all images runs in one batched kernel call (:mod:`pyposefast.ops.nms`).

Each data sample is a dict with ``'id'``, ``'img_id'``, ``'pred_instances'`` (``'keypoints'``
[N, K, 2], ``'keypoint_scores'`` [N, K], optional ``'bboxes'`` [N, 4] xyxy and ``'bbox_scores'``
[N]) and ``'gt_instances'`` (optional ``'bbox_scores'`` [N] of detected boxes and ``'bbox_scales'``
[N, 2], whose product is the instance area); without ``ann_file`` also ``'ori_shape'`` (h, w) and
``'raw_ann_info'`` (the image's COCO annotations). Arrays or tensors. ``dataset_meta`` needs
``'sigmas'`` [K] and ``'num_keypoints'`` (and ``'CLASSES'``, the COCO categories, when the ground
truth is built from the samples; default: one 'person' category with id 1).

Differences from MMPose: equal scores are ordered by candidate index in the NMS (MMPose leaves them
to NumPy's unstable sort); the ground truth from ``raw_ann_info`` is rebuilt at every evaluation
(MMPose keeps the first one); ``pred_converter`` / ``gt_converter`` and ``iou_type='keypoints_crowd'``
are not supported.
"""

from __future__ import annotations

import datetime
import os.path as osp
import tempfile
from collections import OrderedDict, defaultdict
from collections.abc import Sequence as AbcSequence
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from ..functional._arrays import to_numpy
from ..results import (COCO_STATS_NAMES, build_dt, build_gt, evaluate_keypoints, keypoint_results, load_ann_file,
                       write_json)
from .base import BaseMetric, array, field

__all__ = ["CocoMetric"]

SCORE_MODES = ("bbox", "bbox_keypoint", "bbox_rle", "keypoint")
NMS_MODES = ("oks_nms", "soft_oks_nms", "none")


class CocoMetric(BaseMetric):
    """COCO keypoint evaluation (AP, AP .5, AP .75, AP (M), AP (L), AR, AR .5, AR .75, AR (M), AR (L)).

    Args:
        ann_file (str, optional): COCO-format ground truth; None: built from the samples'
            ``raw_ann_info``.
        use_area (bool): use the annotations' ``'area'`` as the OKS scale (else 0.53 * box area).
        iou_type (str): ``'keypoints'`` (``'keypoints_crowd'`` needs xtcocotools: not supported).
        score_mode (str): 'bbox' | 'bbox_keypoint' (default) | 'bbox_rle' | 'keypoint'.
        keypoint_score_thr (float): keypoints with a score above it enter 'bbox_keypoint'. 0.2.
        nms_mode (str): 'oks_nms' (default) | 'soft_oks_nms' | 'none'.
        nms_thr (float): OKS threshold of the NMS. 0.9.
        format_only (bool): only write the results JSON (needs ``outfile_prefix``); returns {}.
        outfile_prefix (str, optional): writes ``<prefix>.keypoints.json`` (and
            ``<prefix>.gt.json`` when the ground truth is built from samples); None: a temporary dir.
        collect_device (str), prefix (str, optional): as MMEngine; default prefix 'coco'.

    Raises:
        ValueError: unknown score_mode / nms_mode / iou_type, format_only without outfile_prefix,
            an ann_file without annotations; FileNotFoundError: a missing ann_file.
    """

    default_prefix: Optional[str] = "coco"

    def __init__(self, ann_file: Optional[str] = None, use_area: bool = True, iou_type: str = "keypoints",
                 score_mode: str = "bbox_keypoint", keypoint_score_thr: float = 0.2, nms_mode: str = "oks_nms",
                 nms_thr: float = 0.9, format_only: bool = False, pred_converter: Optional[dict] = None,
                 gt_converter: Optional[dict] = None, outfile_prefix: Optional[str] = None,
                 collect_device: str = "cpu", prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if score_mode not in SCORE_MODES:
            raise ValueError(f"`score_mode` should be one of 'bbox', 'bbox_keypoint', 'bbox_rle', 'keypoint', but got "
                             f"{score_mode!r}")
        if nms_mode not in NMS_MODES:
            raise ValueError(f"`nms_mode` should be one of 'oks_nms', 'soft_oks_nms', 'none', but got {nms_mode!r}")
        if iou_type != "keypoints":
            raise ValueError(f"iou_type must be 'keypoints', got {iou_type!r} ('keypoints_crowd' needs xtcocotools' "
                             "CrowdPose evaluation, which pyposefast does not reproduce)")
        if pred_converter is not None or gt_converter is not None:
            raise NotImplementedError("pred_converter / gt_converter are not supported yet")
        if format_only and outfile_prefix is None:
            raise ValueError("`outfile_prefix` can not be None when `format_only` is True, otherwise the result file "
                             "will be saved to a temp directory which will be cleaned up in the end.")
        self.ann_file = ann_file
        self.gt_dataset: Optional[dict] = None
        if ann_file is not None:
            self.gt_dataset = load_ann_file(ann_file)
            if not format_only and "annotations" not in self.gt_dataset:
                raise ValueError(f"ann_file {ann_file!r} has no 'annotations': ground truth annotations are required "
                                 "for evaluation when `format_only` is False.")
        self.use_area = use_area
        self.iou_type = iou_type
        self.score_mode = score_mode
        self.keypoint_score_thr = keypoint_score_thr
        self.nms_mode = nms_mode
        self.nms_thr = nms_thr
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.summary = ""

    # ---------------------------------------------------------------- process
    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store one batch of predictions (and, without ann_file, its ground truth)."""
        for sample in data_samples:
            if "pred_instances" not in sample:
                raise ValueError(f"`pred_instances` are required to process the predictions results in "
                                 f"{type(self).__name__}.")
            pi = sample["pred_instances"]
            gi = sample.get("gt_instances", {}) or {}
            keypoints = array(pi, "keypoints", "pred_instances")
            scores = array(pi, "keypoint_scores", "pred_instances")
            if keypoints.ndim != 3 or keypoints.shape[-1] != 2 or scores.shape != keypoints.shape[:2]:
                raise ValueError(f"pred_instances['keypoints'] must be [N, K, 2] and ['keypoint_scores'] [N, K], got "
                                 f"{keypoints.shape} and {scores.shape}")
            N = len(keypoints)
            pred = {"id": field(sample, "id"), "img_id": field(sample, "img_id"), "keypoints": keypoints,
                    "keypoint_scores": scores, "category_id": sample.get("category_id", 1)}
            if "bboxes" in pi:
                b = array(pi, "bboxes", "pred_instances").reshape(-1, 4)
                pred["bbox"] = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
            if "bbox_scores" in pi:
                bbox_scores = array(pi, "bbox_scores", "pred_instances")
            elif "bbox_scores" not in gi or len(gi["bbox_scores"]) != N:
                bbox_scores = np.ones(N)
            else:
                bbox_scores = array(gi, "bbox_scores", "gt_instances")
            pred["bbox_scores"] = bbox_scores
            if "bbox_scales" in gi:
                pred["areas"] = np.prod(array(gi, "bbox_scales", "gt_instances"), axis=1)
            gt = {}
            if self.gt_dataset is None:
                shape = field(sample, "ori_shape")
                gt = {"width": shape[1], "height": shape[0], "img_id": pred["img_id"]}
                anns = field(sample, "raw_ann_info")
                gt["raw_ann_info"] = anns if isinstance(anns, list) else [anns]
            self.results.append((pred, gt))

    # ---------------------------------------------------------------- ground truth
    def gt_to_coco_json(self, gt_dicts: Sequence[dict], outfile_prefix: str) -> str:
        """Write the samples' ground truth as ``<outfile_prefix>.gt.json``; returns the path."""
        return write_json(self._gt_dataset_from(gt_dicts), f"{outfile_prefix}.gt.json")

    _GT_FIELDS = ("keypoints",)

    def _gt_dataset_from(self, gt_dicts: Sequence[dict]) -> dict:
        images, annotations, seen = [], [], set()
        for gt in gt_dicts:
            if gt["img_id"] not in seen:
                seen.add(gt["img_id"])
                images.append({"id": gt["img_id"], "width": gt["width"], "height": gt["height"]})
            for ann in gt["raw_ann_info"]:
                if ann is None:  # bottom-up: images without instances
                    continue
                try:
                    a = {k: ann[k] for k in ("id", "image_id", "category_id", "bbox", "iscrowd") + self._GT_FIELDS}
                except KeyError as e:
                    raise ValueError(f"raw_ann_info entries need {e} to build the COCO ground truth") from None
                if self.use_area:
                    if "area" not in ann:
                        raise ValueError("`area` is required in raw_ann_info when `use_area` is True")
                    a["area"] = ann["area"]
                annotations.append(a)
        categories = (self.dataset_meta or {}).get("CLASSES") or [{"id": 1, "name": "person"}]
        info = {"date_created": str(datetime.datetime.now()),
                "description": "Coco json file converted by pyposefast CocoMetric."}
        return {"info": info, "images": images, "categories": categories, "licenses": None,
                "annotations": annotations}

    # ---------------------------------------------------------------- compute
    def _meta(self, K: int) -> np.ndarray:
        meta = self.dataset_meta
        if not meta or "sigmas" not in meta:
            raise ValueError(f"{type(self).__name__}.dataset_meta must hold 'sigmas' (and 'num_keypoints'); set it "
                             "before evaluating")
        sigmas = np.asarray(to_numpy("dataset_meta['sigmas']", meta["sigmas"]), dtype=np.float64).reshape(-1)
        num = int(meta.get("num_keypoints", len(sigmas)))
        if len(sigmas) != num or num != K:
            raise ValueError(f"dataset_meta has {len(sigmas)} sigmas and num_keypoints={num}, but the predictions "
                             f"have K={K} keypoints")
        return sigmas

    def _group(self, preds: Sequence[dict]) -> Dict[object, List[dict]]:
        """Instances per image in first-seen image order; sorted by sample id with duplicates removed
        (MMPose ``_sort_and_unique_bboxes``, as coded: it stops at the first image whose ids are
        sequences (bottom-up))."""
        kpts: Dict[object, List[dict]] = defaultdict(list)
        for pred in preds:
            for idx in range(len(pred["keypoints"])):
                inst = {"id": pred["id"], "img_id": pred["img_id"], "category_id": pred["category_id"],
                        "keypoints": pred["keypoints"][idx], "keypoint_scores": pred["keypoint_scores"][idx],
                        "bbox_score": pred["bbox_scores"][idx]}
                if "bbox" in pred:
                    inst["bbox"] = pred["bbox"][idx]
                if "areas" in pred:
                    inst["area"] = pred["areas"][idx]
                else:
                    k = inst["keypoints"]
                    inst["area"] = (np.max(k[:, 0]) - np.min(k[:, 0])) * (np.max(k[:, 1]) - np.min(k[:, 1]))
                kpts[pred["img_id"]].append(inst)
        for img_id, persons in kpts.items():
            if isinstance(persons[0]["id"], AbcSequence):
                break
            persons = sorted(persons, key=lambda x: x["id"])
            kpts[img_id] = [p for i, p in enumerate(persons) if i == 0 or p["id"] != persons[i - 1]["id"]]
        return kpts

    def _rescore(self, bbox_scores: np.ndarray, kpt_scores: np.ndarray) -> np.ndarray:
        """Instance scores [D] from bbox scores [D] and keypoint scores [D, K] per score_mode."""
        if self.score_mode == "bbox":
            return bbox_scores
        if self.score_mode == "keypoint":
            return np.array([np.mean(s) for s in kpt_scores], dtype=np.float64)
        if self.score_mode == "bbox_rle":
            return np.array([float(b + np.mean(s) + np.max(s)) for b, s in zip(bbox_scores, kpt_scores)])
        # bbox_keypoint: sequential sum over the keypoints above the threshold, in their dtype (as MMPose's loop)
        valid = kpt_scores > self.keypoint_score_thr
        total = np.cumsum(np.where(valid, kpt_scores, kpt_scores.dtype.type(0)), axis=1, dtype=kpt_scores.dtype)
        total = total[:, -1] if kpt_scores.shape[1] else np.zeros(len(kpt_scores), kpt_scores.dtype)
        n_valid = valid.sum(1)
        mean = np.where(n_valid > 0, total / np.maximum(n_valid, 1).astype(kpt_scores.dtype), total)
        return bbox_scores * mean

    def _select(self, kpts: Dict[object, List[dict]], sigmas: np.ndarray) -> List[dict]:
        """Rescore every instance and run the NMS of all images in one batched call; returns the kept
        instances, image by image in the NMS order."""
        images = [img for img, insts in kpts.items() if insts]
        flat = [inst for img in images for inst in kpts[img]]
        if not flat:
            return []
        K = len(sigmas)
        kp = np.stack([inst["keypoints"] for inst in flat])
        ks = np.stack([inst["keypoint_scores"] for inst in flat])
        if kp.shape[1] != K:
            raise ValueError(f"predictions have {kp.shape[1]} keypoints but dataset_meta has {K} sigmas")
        bbox_scores = np.array([inst["bbox_score"] for inst in flat])
        scores = self._rescore(bbox_scores, ks)
        for inst, kpt, kscore, s in zip(flat, kp, ks, scores):
            inst["keypoints"] = np.concatenate([kpt, kscore[:, None]], axis=-1)
            inst["score"] = s
        if self.nms_mode == "none":
            return flat
        counts = np.array([len(kpts[img]) for img in images])
        B, N = len(images), int(counts.max())
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        slot = np.repeat(np.arange(B), counts), np.arange(len(flat)) - np.repeat(starts, counts)
        kp_b = np.zeros((B, N, K, 2), np.float32)
        s_b = np.zeros((B, N))
        a_b = np.ones((B, N))
        kp_b[slot] = kp[..., :2]
        s_b[slot] = scores
        a_b[slot] = [float(inst["area"]) for inst in flat]
        from ...ops import nms as nms_ops

        args = (torch.from_numpy(kp_b), torch.from_numpy(s_b), torch.from_numpy(a_b), sigmas, self.nms_thr)
        if self.nms_mode == "oks_nms":
            keep = nms_ops.oks_nms(*args, counts=torch.from_numpy(counts))
        else:
            keep, _ = nms_ops.soft_oks_nms(*args, 20, counts=torch.from_numpy(counts))
        keep = keep.numpy()
        return [flat[starts[b] + i] for b in range(B) for i in keep[b] if i >= 0]

    def _results(self, kept: List[dict]) -> List[dict]:
        if not kept:
            return []
        bboxes = [inst.get("bbox") for inst in kept]
        return keypoint_results([i["img_id"] for i in kept], [i["category_id"] for i in kept],
                                np.stack([i["keypoints"] for i in kept]), [i["score"] for i in kept],
                                bboxes if any(b is not None for b in bboxes) else None, self._parts())

    def _parts(self) -> Optional[Dict[str, slice]]:
        return None

    def results2json(self, results: List[dict], outfile_prefix: str) -> str:
        """Write the results as ``<outfile_prefix>.keypoints.json`` (read by pycocotools' and
        xtcocotools' ``loadRes`` and MMPose's tools); returns the path."""
        return write_json(results, f"{outfile_prefix}.keypoints.json")

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Metrics from the processed ``(pred, gt)`` pairs; keys as MMPose ('AP', 'AP .5', ...)."""
        if not results:
            raise ValueError("CocoMetric.compute_metrics(): no processed samples")
        preds, gts = zip(*results)
        K = next((p["keypoints"].shape[1] for p in preds if len(p["keypoints"])), None)
        sigmas = self._meta(K if K is not None else int((self.dataset_meta or {}).get("num_keypoints", 0)))
        tmp_dir = None
        if self.outfile_prefix is None:
            tmp_dir = tempfile.TemporaryDirectory()
            outfile_prefix = osp.join(tmp_dir.name, "results")
        else:
            outfile_prefix = self.outfile_prefix
        try:
            gt_dataset = self.gt_dataset
            if gt_dataset is None:
                gt_dataset = self._gt_dataset_from(gts)
                if not self.format_only:
                    write_json(gt_dataset, f"{outfile_prefix}.gt.json")
            coco_results = self._results(self._select(self._group(preds), sigmas))
            self.results2json(coco_results, outfile_prefix)
            if self.format_only:
                return {}
            return self._evaluate(gt_dataset, coco_results, sigmas)
        finally:
            if tmp_dir is not None:
                tmp_dir.cleanup()

    def _evaluate(self, gt_dataset: dict, coco_results: List[dict], sigmas: np.ndarray) -> Dict[str, float]:
        coco_gt = build_gt(gt_dataset, ("keypoints",), self.use_area)
        stats, self.summary = evaluate_keypoints(coco_gt, build_dt(coco_gt, coco_results), sigmas)
        return OrderedDict(zip(COCO_STATS_NAMES, (float(s) for s in stats)))
