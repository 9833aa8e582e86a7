"""Tiny random COCO-style ground truth and top-down predictions for the COCO metric tests."""

from __future__ import annotations

import copy

import numpy as np

COCO_SIGMAS = np.array([0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107,
                        0.087, 0.087, 0.089, 0.089])
CLASSES = [{"id": 1, "name": "person", "supercategory": "person"}]


def meta(sigmas=COCO_SIGMAS, name="coco"):
    return {"sigmas": np.asarray(sigmas, dtype=np.float64), "num_keypoints": len(sigmas), "dataset_name": name,
            "CLASSES": copy.deepcopy(CLASSES)}


def make_gt(rng, n_images=6, max_people=4, K=17, crowd_only_images=(), crowd_prob=0.0, parts=None):
    """COCO dataset dict; instances with boxes in a 640x480 image, v in {0, 1, 2}."""
    images, anns = [], []
    ann_id = 1
    for img in range(1, n_images + 1):
        images.append({"id": img, "width": 640, "height": 480, "file_name": f"{img:06d}.jpg"})
        m = int(rng.integers(1, max_people + 1))
        for _ in range(m):
            w, h = rng.uniform(40, 200), rng.uniform(80, 300)
            x0, y0 = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            kx, ky = rng.uniform(x0, x0 + w, K), rng.uniform(y0, y0 + h, K)
            v = rng.choice([0, 1, 2, 2, 2], K)
            kx[v == 0], ky[v == 0] = 0, 0
            kps = np.stack([np.round(kx, 2), np.round(ky, 2), v], -1).reshape(-1).tolist()
            crowd = img in crowd_only_images or rng.uniform() < crowd_prob
            ann = {"id": ann_id, "image_id": img, "category_id": 1, "bbox": [x0, y0, w, h], "area": w * h * 0.6,
                   "iscrowd": int(crowd), "num_keypoints": int((v > 0).sum())}
            if parts:
                flat = np.asarray(kps).reshape(K, 3)
                start = 0
                for name, n in parts:
                    ann[name] = flat[start:start + n].reshape(-1).tolist()
                    start += n
            else:
                ann["keypoints"] = kps
            anns.append(ann)
            ann_id += 1
    return {"images": images, "annotations": anns, "categories": copy.deepcopy(CLASSES)}


def gt_keypoints(ann, parts=None):
    if parts:
        return np.concatenate([np.asarray(ann[name], np.float64).reshape(-1, 3) for name, _ in parts])
    return np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)


def make_samples(rng, dataset, noise=4.0, extra_per_image=2, perfect=False, parts=None, with_bbox=True):
    """Top-down data samples: one per GT instance (noisy copy) plus false positives / near-duplicates."""
    samples = []
    sid = 0
    by_img = {}
    for ann in dataset["annotations"]:
        by_img.setdefault(ann["image_id"], []).append(ann)
    for img in dataset["images"]:
        anns = by_img.get(img["id"], [])
        for j, ann in enumerate(anns + [None] * extra_per_image):
            src = ann if ann is not None else anns[int(rng.integers(len(anns)))] if anns else None
            if src is None:
                continue
            g = gt_keypoints(src, parts)
            K = len(g)
            kp = g[:, :2] + (0 if perfect else rng.normal(0, noise * (1 + 2 * (ann is None)), (K, 2)))
            scores = np.ones(K) if perfect else rng.uniform(0, 1, K)
            x0, y0, w, h = src["bbox"]
            sample = {
                "id": sid, "img_id": img["id"], "ori_shape": (img["height"], img["width"]),
                "pred_instances": {"keypoints": kp[None].astype(np.float32), "keypoint_scores": scores[None].astype(np.float32)},
                "gt_instances": {"bbox_scores": np.array([1.0 if perfect else rng.uniform(0.3, 1.0)]),
                                 "bbox_scales": np.array([[w * 1.25, h * 1.25]], np.float32)},
                "raw_ann_info": [copy.deepcopy(ann)] if ann is not None else [],
            }
            if with_bbox:
                sample["pred_instances"]["bboxes"] = np.array([[x0, y0, x0 + w, y0 + h]], np.float32)
            samples.append(sample)
            sid += 1
    return samples
