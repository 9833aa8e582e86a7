"""The batched bottom-up pipeline (associative embedding training): workers decode images and rasterise
the ignore masks, the device does the rest for the whole batch.

Data flow::

    bottom-up records (load_coco_keypoints(..., mode="bottomup")) ─► BottomupDecodeDataset (worker:
        decode, HWC uint8 BGR + valid mask uint8 [H, W] = 1 - crowd/keypoint-less regions)
        ─► BottomupCollate (instances padded to the batch's most, ``instance_valid``) ─► BottomupBatch
        ─► DevicePrefetcher-like copy ─► BottomupBatchPipeline on the device: BottomupRandomAffine
        (train) or BottomupResize (val) warp matrices, RandomFlip folded into them, ops.warp_affine
        with fused BGR->RGB + normalisation, keypoint transform + flip_indices, the codec's
        batch_encode (heatmaps, keypoint_indices, keypoint_weights), the valid mask warped the same
        way, resized to the heatmap and thresholded (MMPose's ``BottomupGetHeatmapMask``).

Symbols: B images, N instances (padded), K keypoints, input size (w, h), heatmap size (W, H).

MMPose's ``RandomFlip`` reads ``h, w = input_size`` (which is (w, h)) after ``BottomupRandomAffine``,
so for non-square inputs it flips keypoints about the wrong axis; here keypoints flip about the input
width (``x' = w - 1 - x``), which is what its image flip does. Square inputs (MMPose's AE configs)
agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from .. import ops
from ..structures import get_udp_warp_matrix, get_warp_matrix, transform_keypoints
from ._augment_utils import truncated_normal_from_uniform
from .coco import invalid_region_mask
from .pipeline import IMAGENET_MEAN, IMAGENET_STD, decode_image, loader_worker_init, pack_images
from .ragged import RaggedImages

__all__ = ["BottomupRandomAffine", "BottomupResize", "BottomupBatch", "BottomupDecodeDataset", "BottomupCollate",
           "BottomupBatchPipeline", "NUM_BOTTOMUP_DRAWS", "build_bottomup_loader", "bottomup_resize_warp"]

Tensor = torch.Tensor
#: uniform draws per image: shift coin, 2 shift, scale coin, scale, rotate coin, rotate, flip coin
NUM_BOTTOMUP_DRAWS = 8


def bottomup_resize_warp(img_w: float, img_h: float, actual: Tuple[float, float], padded: Tuple[int, int],
                         use_udp: bool) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MMPose's BottomupResize warp of one image given its resized size ``actual`` and the padded
    input size ``padded`` (both (w, h)): ``(center [2] float32, scale [2] float32, warp [2, 3]
    float64)``; center/scale map predictions back to the image."""
    if use_udp:
        center = np.array([(img_w - 1.0) / 2, (img_h - 1.0) / 2], dtype=np.float32)
        scale = np.array([img_w, img_h], dtype=np.float32)
        mat = get_udp_warp_matrix(center, scale, 0.0, actual)
    else:
        center = np.array([img_w / 2, img_h / 2], dtype=np.float32)
        scale = np.array([img_w * padded[0] / actual[0], img_h * padded[1] / actual[1]], dtype=np.float32)
        mat = get_warp_matrix(center, scale, 0.0, padded)
    return center, scale, np.asarray(mat, np.float64).reshape(2, 3)


class BottomupRandomAffine:
    """MMPose's ``BottomupRandomAffine`` (``transform_mode`` ``'affine'`` or ``'affine_udp'``) as batched
    warp matrices.

    The image centre moves by ``offset * (img_w, img_h)`` (offset = ``shift_factor`` times a normal
    truncated to [-1, 1], with probability ``shift_prob``), the region is ``scale * (img_w, img_h)``
    (scale uniform-ish in ``scale_factor``: ``lo + (hi - lo) (t + 1) / 2``, t truncated normal) fitted
    to the input aspect by ``scale_type`` (``'short'``: keep the side that is relatively shorter;
    ``'long'``: the longer), rotated by ``rotate_factor * t`` degrees.

    Args:
        input_size (tuple[int, int]): (w, h).
        shift_factor, shift_prob, scale_factor, scale_prob, scale_type, rotate_factor, rotate_prob,
        transform_mode: MMPose's arguments and defaults.
    """

    def __init__(self, input_size: Tuple[int, int], shift_factor: float = 0.2, shift_prob: float = 1.0,
                 scale_factor: Tuple[float, float] = (0.75, 1.5), scale_prob: float = 1.0,
                 scale_type: str = "short", rotate_factor: float = 30.0, rotate_prob: float = 1.0,
                 transform_mode: str = "affine") -> None:
        if transform_mode not in ("affine", "affine_udp"):
            raise ValueError(f"transform_mode must be 'affine' or 'affine_udp' (perspective is not batched), "
                             f"got {transform_mode!r}")
        if scale_type not in ("short", "long"):
            raise ValueError(f"scale_type must be 'short' or 'long', got {scale_type!r}")
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.shift_factor, self.shift_prob = float(shift_factor), float(shift_prob)
        self.scale_factor = (float(scale_factor[0]), float(scale_factor[1]))
        self.scale_prob, self.scale_type = float(scale_prob), scale_type
        self.rotate_factor, self.rotate_prob = float(rotate_factor), float(rotate_prob)
        self.transform_mode = transform_mode

    def params_from_draws(self, u: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Uniforms [B, 7] (columns 0-6 of :meth:`BottomupBatchPipeline.draw`) -> ``offset`` [B, 2]
        (fraction of the image size), ``scale`` [B] (fraction) and ``rotate`` [B] (degrees)."""
        t = truncated_normal_from_uniform(u[:, [1, 2, 4, 6]])
        offset = torch.where((u[:, 0] < self.shift_prob)[:, None], t[:, :2] * self.shift_factor, 0.0)
        lo, hi = self.scale_factor
        scale = torch.where(u[:, 3] < self.scale_prob, lo + (hi - lo) * (t[:, 2] + 1) / 2, 1.0)
        rotate = torch.where(u[:, 5] < self.rotate_prob, t[:, 3] * self.rotate_factor, 0.0)
        return offset, scale, rotate

    def fix_aspect_ratio(self, scale: Tensor) -> Tensor:
        """Region sizes [B, 2] (w, h) fitted to the input aspect ratio by ``scale_type``."""
        w, h = self.input_size
        ar = w / h
        sw, sh = scale[:, 0], scale[:, 1]
        wide = sw > sh * ar
        keep_w = wide if self.scale_type == "long" else ~wide  # which side stays
        out_w = torch.where(keep_w, sw, sh * ar)
        out_h = torch.where(keep_w, sw / ar, sh)
        return torch.stack([out_w, out_h], -1)

    def warp_matrices(self, image_wh: Tensor, offset: Tensor, scale: Tensor, rotate: Tensor) -> Tensor:
        """Image -> input matrices [B, 2, 3] float64 for images of size ``image_wh`` [B, 2] (w, h)."""
        wh = image_wh.to(torch.float64)
        region = self.fix_aspect_ratio(scale.to(torch.float64)[:, None] * wh)
        shift = offset.to(torch.float64) * wh
        if self.transform_mode == "affine_udp":
            return get_udp_warp_matrix((wh - 1.0) / 2 + shift, region, rotate.to(torch.float64), self.input_size)
        return get_warp_matrix(wh / 2 + shift, region, rotate.to(torch.float64), self.input_size)


class BottomupResize:
    """MMPose's ``BottomupResize`` (validation, one scale) as per-image warp matrices.

    ``'fit'``: the image fits inside ``input_size`` (a multiple of ``size_factor``); ``'expand'``: it
    covers it, the padded size rounded up to ``size_factor`` (so it depends on the image's aspect).

    Args:
        input_size (tuple[int, int]): (w, h). size_factor (int): Defaults to 32.
        resize_mode (str): ``'fit'`` or ``'expand'``. use_udp (bool): Defaults to False.
    """

    def __init__(self, input_size: Tuple[int, int], size_factor: int = 32, resize_mode: str = "fit",
                 use_udp: bool = False) -> None:
        if resize_mode not in ("fit", "expand"):
            raise ValueError(f"resize_mode must be 'fit' or 'expand', got {resize_mode!r}")
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.size_factor, self.resize_mode, self.use_udp = int(size_factor), resize_mode, bool(use_udp)
        if resize_mode == "fit" and self._ceil(self.input_size) != self.input_size:
            raise ValueError(f"with resize_mode='fit' input_size must be multiples of size_factor "
                             f"({self.size_factor}), got {self.input_size}")

    def _ceil(self, size) -> Tuple[int, int]:
        return tuple(int(np.ceil(s / self.size_factor) * self.size_factor) for s in size)

    def sizes(self, img_w: int, img_h: int) -> Tuple[Tuple[float, float], Tuple[int, int]]:
        """(actual resized size, padded input size), both (w, h), as MMPose's ``_get_input_size``."""
        ratio = img_w / img_h
        pad_w, pad_h = self._ceil(self.input_size)
        if self.resize_mode == "fit":
            return (min(pad_w, pad_h * ratio), min(pad_h, pad_w / ratio)), (pad_w, pad_h)
        actual = (max(pad_w, pad_h * ratio), max(pad_h, pad_w / ratio))
        return actual, self._ceil(actual)

    def warp_matrices(self, image_wh: Sequence[Tuple[int, int]]) -> Dict[str, np.ndarray]:
        """Per image: ``warp_mat`` [B, 2, 3] float64, ``input_size`` [B, 2] int (padded w, h),
        ``input_center`` and ``input_scale`` [B, 2] float32 (for mapping predictions back)."""
        mats, sizes, centers, scales = [], [], [], []
        for img_w, img_h in image_wh:
            actual, padded = self.sizes(int(img_w), int(img_h))
            center, scale, mat = bottomup_resize_warp(img_w, img_h, actual, padded, self.use_udp)
            mats.append(mat)
            sizes.append(padded)
            centers.append(center)
            scales.append(scale)
        return dict(warp_mat=np.stack(mats) if mats else np.zeros((0, 2, 3)), input_size=np.array(sizes, np.int64),
                    input_center=np.array(centers, np.float32), input_scale=np.array(scales, np.float32))


@dataclass
class BottomupBatch:
    """One collated bottom-up batch.

    Attributes:
        images (RaggedImages): image b, HWC uint8 BGR.
        valid_masks (RaggedImages or None): image b's valid-region mask, [H_b, W_b, 1] uint8 (0 inside
            crowd / keypoint-less regions); None: everything valid.
        keypoints (Tensor[B, N, K, 2] float32), keypoints_visible (Tensor[B, N, K] float32).
        instance_valid (Tensor[B, N] bool): False for padding rows.
        index (Tensor[B] int64): record indices.
    """

    images: RaggedImages
    valid_masks: Optional[RaggedImages]
    keypoints: Tensor
    keypoints_visible: Tensor
    instance_valid: Tensor
    index: Tensor

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    def _map(self, fn) -> "BottomupBatch":
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        return BottomupBatch(**{k: fn(v) if isinstance(v, (Tensor, RaggedImages)) else v for k, v in kw.items()})

    def to(self, device: Union[str, torch.device], non_blocking: bool = False) -> "BottomupBatch":
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> "BottomupBatch":
        return self._map(lambda t: t.pin_memory())


class BottomupDecodeDataset(torch.utils.data.Dataset):
    """Workers' half of the bottom-up pipeline: decode the image and rasterise its valid mask.

    Args:
        records (list[dict]): bottom-up records (``img_path``, ``img_shape``, ``keypoints``
            [N, K, 2], ``keypoints_visible`` [N, K], ``invalid_segs``).
        with_masks (bool): rasterise ``invalid_segs`` (pycocotools). Defaults to True.

    Items are ``(image ndarray[H, W, 3] uint8, valid mask ndarray[H, W] uint8 or None, index)``.
    """

    def __init__(self, records: Sequence[Dict[str, Any]], with_masks: bool = True) -> None:
        self.records, self.with_masks = records, bool(with_masks)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        rec = self.records[i]
        img = decode_image(rec["img_path"], i)
        mask = None
        if self.with_masks:
            segs = rec.get("invalid_segs") or []
            mask = (1 - invalid_region_mask(segs, img.shape[:2])).astype(np.uint8) if segs else \
                np.ones(img.shape[:2], np.uint8)
        return img, mask, i


class BottomupCollate:
    """``collate_fn``: items -> :class:`BottomupBatch` (instances padded to the batch's largest count)."""

    def __init__(self, records: Sequence[Dict[str, Any]]) -> None:
        self.records = records

    def __call__(self, items) -> BottomupBatch:
        recs = [self.records[int(i)] for _, _, i in items]
        counts = [int(np.asarray(r["keypoints"]).shape[0]) if len(np.asarray(r["keypoints"])) else 0 for r in recs]
        k = next((np.asarray(r["keypoints"]).shape[1] for r, c in zip(recs, counts) if c), 0)
        n = max(counts, default=0)
        kp = np.zeros((len(recs), n, k, 2), np.float32)
        vis = np.zeros((len(recs), n, k), np.float32)
        valid = np.zeros((len(recs), n), bool)
        for b, (r, c) in enumerate(zip(recs, counts)):
            if c:
                kp[b, :c] = np.asarray(r["keypoints"], np.float32).reshape(c, k, 2)
                vis[b, :c] = np.asarray(r["keypoints_visible"], np.float32).reshape(c, k)
                valid[b, :c] = True
        masks = [m for _, m, _ in items]
        return BottomupBatch(pack_images([img for img, _, _ in items]),
                             pack_images(masks) if all(m is not None for m in masks) and masks else None,
                             torch.from_numpy(kp), torch.from_numpy(vis), torch.from_numpy(valid),
                             torch.tensor([int(i) for _, _, i in items], dtype=torch.int64))


class BottomupBatchPipeline:
    """Bottom-up augmentation, inputs, AE targets and heatmap masks for a whole batch on its device.

    Args:
        input_size (tuple[int, int]): model input (w, h).
        codec: ``AssociativeEmbedding`` (``batch_encode(kp [B, N, K, 2], vis, instance_valid)``);
            None for no targets (validation).
        flip_indices (sequence of int): dataset metainfo (for the flip).
        train (bool): random affine + flip (True) or :class:`BottomupResize` (False).
        affine (BottomupRandomAffine, optional): defaults to MMPose's defaults at ``input_size``.
        flip_prob (float): horizontal flip probability. Defaults to 0.5.
        resize (BottomupResize, optional): validation resize; defaults to ``'fit'`` at ``input_size``.
        mean, std, bgr_to_rgb, out_dtype: as :class:`~pyposefast.datasets.TopdownBatchPipeline`.
    """

    def __init__(self, input_size: Tuple[int, int], codec: Any = None, *,
                 flip_indices: Optional[Sequence[int]] = None, train: bool = True,
                 affine: Optional[BottomupRandomAffine] = None, flip_prob: float = 0.5,
                 resize: Optional[BottomupResize] = None, mean: Optional[Sequence[float]] = IMAGENET_MEAN,
                 std: Optional[Sequence[float]] = IMAGENET_STD, bgr_to_rgb: bool = True,
                 out_dtype: torch.dtype = torch.float32) -> None:
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.codec, self.train = codec, bool(train)
        self.flip_indices = None if flip_indices is None else [int(i) for i in flip_indices]
        if self.train and flip_prob > 0 and self.flip_indices is None:
            raise ValueError("flip_indices is required for the flip (pass it or flip_prob=0)")
        self.affine = affine if affine is not None else BottomupRandomAffine(self.input_size)
        if self.affine.input_size != self.input_size:
            raise ValueError(f"affine.input_size {self.affine.input_size} differs from input_size {self.input_size}")
        self.flip_prob = float(flip_prob)
        self.resize = resize if resize is not None else BottomupResize(self.input_size)
        self.mean, self.std, self.bgr_to_rgb, self.out_dtype = mean, std, bool(bgr_to_rgb), out_dtype

    def _flip_index_on(self, device: torch.device) -> Tensor:
        cache = self.__dict__.setdefault("_flip_index_cache", {})
        if str(device) not in cache:
            cache[str(device)] = torch.tensor(self.flip_indices, dtype=torch.long, device=device)
        return cache[str(device)]

    @staticmethod
    def draw(n: int, *, generator: Optional[torch.Generator] = None,
             device: Union[str, torch.device] = "cpu") -> Tensor:
        """Uniforms [B, NUM_BOTTOMUP_DRAWS] float64: 0 shift coin, 1-2 shift, 3 scale coin, 4 scale,
        5 rotate coin, 6 rotate (1, 2, 4, 6 become truncated normals), 7 flip coin."""
        return torch.rand((n, NUM_BOTTOMUP_DRAWS), generator=generator, device=device, dtype=torch.float64)

    def geometry(self, batch: BottomupBatch, draws: Optional[Tensor]) -> Dict[str, Tensor]:
        """Warp matrices (flip folded in), flips and output sizes; no pixels touched.

        Returns:
            dict: ``warp_mat`` [B, 2, 3] float64 (image -> input, flip included), ``flip`` [B] bool,
            ``input_size`` [B, 2] int64 (w, h; every row ``input_size`` in training), and for
            validation ``input_center`` / ``input_scale`` [B, 2].
        """
        dev = batch.keypoints.device
        sizes = batch.images.cpu_sizes if batch.images.cpu_sizes is not None else batch.images.sizes.cpu()
        n = len(batch)
        w, h = self.input_size
        if not self.train:
            res = self.resize.warp_matrices([(int(s[1]), int(s[0])) for s in sizes.tolist()])
            return dict(warp_mat=torch.from_numpy(res["warp_mat"]).to(dev), flip=torch.zeros(n, dtype=torch.bool,
                        device=dev), input_size=torch.from_numpy(res["input_size"]),
                        input_center=torch.from_numpy(res["input_center"]).to(dev),
                        input_scale=torch.from_numpy(res["input_scale"]).to(dev))
        u = draws if draws is not None else self.draw(n, device=dev)
        u = u.to(device=dev, dtype=torch.float64)
        dev_sizes = batch.images.sizes.to(dev)  # already there after .to(device): no host copy
        wh = torch.stack([dev_sizes[:, 1], dev_sizes[:, 0]], -1).to(torch.float64)
        offset, scale, rotate = self.affine.params_from_draws(u[:, :7])
        mat = self.affine.warp_matrices(wh, offset, scale, rotate)
        flip = u[:, 7] < self.flip_prob
        flipped = mat.clone()
        flipped[:, 0, :] = -mat[:, 0, :]
        flipped[:, 0, 2] += w - 1  # x' = w - 1 - x in the input, as imflip
        mat = torch.where(flip[:, None, None], flipped, mat)
        return dict(warp_mat=mat, flip=flip, input_size=torch.tensor([[w, h]] * n, dtype=torch.int64),
                    offset=offset, scale=scale, rotate=rotate)

    def __call__(self, batch: BottomupBatch, draws: Optional[Tensor] = None,
                 generator: Optional[torch.Generator] = None) -> Dict[str, Any]:
        """Run the pipeline on a batch (on its device).

        Returns:
            dict: ``inputs`` Tensor[B, 3, h, w] (normalised RGB; validation: the batch's largest padded
            size, each image top-left with its own ``input_size``), the geometry, ``keypoints``
            [B, N, K, 2] float32 in input pixels (flipped and re-indexed), ``keypoints_visible``
            [B, N, K], ``instance_valid`` [B, N]; with a codec its ``heatmaps`` [B, K, H, W],
            ``keypoint_indices`` [B, N, K, 2] int64 and ``keypoint_weights`` [B, N, K], and
            ``heatmap_mask`` [B, H, W] bool (True = valid, MMPose's ``BottomupGetHeatmapMask``).
        """
        dev = batch.keypoints.device
        if draws is None and self.train:
            draws = self.draw(len(batch), generator=generator, device=dev)
        geo = self.geometry(batch, draws)
        out_w, out_h = (int(v) for v in geo["input_size"].max(0).values.tolist()) if len(batch) else self.input_size
        inputs = ops.warp_affine(batch.images, geo["warp_mat"], (out_w, out_h), mean=self.mean, std=self.std,
                                 bgr_to_rgb=self.bgr_to_rgb, out_dtype=self.out_dtype)
        kp = transform_keypoints(batch.keypoints.to(torch.float64), geo["warp_mat"][:, None]).to(torch.float32)
        vis = batch.keypoints_visible
        if self.train and self.flip_indices is not None and kp.shape[2]:
            idx = self._flip_index_on(dev)
            f = geo["flip"][:, None, None]
            kp = torch.where(f[..., None], kp[:, :, idx], kp)
            vis = torch.where(f, vis[:, :, idx], vis)
        out: Dict[str, Any] = dict(geo, inputs=inputs, keypoints=kp, keypoints_visible=vis,
                                   instance_valid=batch.instance_valid, index=batch.index)
        if self.codec is not None:
            out.update(self.codec.batch_encode(kp, vis, batch.instance_valid))
            hm_w, hm_h = (int(v) for v in self.codec.heatmap_size)
            out["heatmap_mask"] = self.heatmap_mask(batch, geo["warp_mat"], (out_w, out_h), (hm_w, hm_h))
        return out

    @staticmethod
    def heatmap_mask(batch: BottomupBatch, warp_mat: Tensor, input_size: Tuple[int, int],
                     heatmap_size: Tuple[int, int]) -> Tensor:
        """MMPose's ``BottomupGetHeatmapMask``: the valid mask warped (bilinear, 0 outside the image),
        resized to the heatmap (bilinear) and thresholded at 0.5. Returns Tensor[B, H, W] bool."""
        masks = batch.valid_masks
        if masks is None:  # everything valid inside the image
            sizes = batch.images.cpu_sizes if batch.images.cpu_sizes is not None else batch.images.sizes.cpu()
            numels = sizes[:, 0] * sizes[:, 1]
            offsets = torch.cumsum(numels, 0) - numels
            masks = RaggedImages(torch.ones(int(numels.sum()), dtype=torch.uint8, device=batch.keypoints.device),
                                 offsets.to(batch.keypoints.device), sizes.to(batch.keypoints.device), 1,
                                 offsets, sizes)
        warped = ops.warp_affine(masks, warp_mat, input_size, out_dtype=torch.float32)  # [B, 1, h, w]
        w, h = heatmap_size
        resized = F.interpolate(warped, size=(h, w), mode="bilinear", align_corners=False)
        return resized[:, 0] > 0.5


def build_bottomup_loader(records: Sequence[Dict[str, Any]], batch_size: int, num_workers: int = 0, *,
                          shuffle: bool = True, pin_memory: bool = False, with_masks: bool = True,
                          drop_last: bool = False, seed: Optional[int] = None,
                          multiprocessing_context: Optional[str] = None) -> torch.utils.data.DataLoader:
    """A ``DataLoader`` of :class:`BottomupBatch` whose workers decode images and rasterise the valid
    masks (one OpenCV thread each; images packed in shared memory). Feed it to
    :class:`~pyposefast.datasets.DevicePrefetcher`, then :class:`BottomupBatchPipeline`.

    Args:
        records (list[dict]): ``load_coco_keypoints(..., mode="bottomup").records``.
        batch_size (int): images per batch. num_workers (int): decode processes.
        shuffle, drop_last: as ``DataLoader``. pin_memory (bool): page-lock (CUDA only).
        with_masks (bool): rasterise the crowd / keypoint-less regions. seed (int, optional): shuffling.
        multiprocessing_context (str, optional): e.g. ``"spawn"``.
    """
    gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
    return torch.utils.data.DataLoader(
        BottomupDecodeDataset(records, with_masks), batch_size=batch_size, shuffle=shuffle, num_workers=num_workers,
        collate_fn=BottomupCollate(records), drop_last=drop_last, pin_memory=pin_memory and torch.cuda.is_available(),
        persistent_workers=num_workers > 0, generator=gen,
        worker_init_fn=loader_worker_init if num_workers > 0 else None,
        multiprocessing_context=multiprocessing_context if num_workers > 0 else None)
