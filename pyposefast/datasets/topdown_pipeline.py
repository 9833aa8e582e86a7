"""``TopdownBatchPipeline``: the device half of the batched top-down pipeline (see
:mod:`pyposefast.datasets.pipeline` for the data flow): box -> centre/scale, RandomFlip, RandomHalfBody,
RandomBBoxTransform (draws from one [N, 10] uniform tensor), warp matrices (flip folded in),
``ops.warp_affine`` with fused BGR->RGB + normalisation, keypoint transform, ``codec.batch_encode``,
keypoint weights -- all batched on the batch's device, no host synchronisation.

The keypoint half (geometry, keypoint transform, targets: a few hundred small tensor operations whose
launches, not their work, cost the time on a GPU) is captured once per batch shape in a CUDA graph and
replayed (``cuda_graph``); the crops (one ``warp_affine`` launch over a ragged image buffer whose size
changes from batch to batch) run eagerly.

Symbols: N instances (= samples), K keypoints, input size (w, h). Points are (x, y) in pixels.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence, Tuple, Union

import torch

from .. import ops
from ..structures import bbox_xyxy2cs, compose_horizontal_flip, fix_aspect_ratio, get_udp_warp_matrix
from ..structures import get_warp_matrix, transform_keypoints
from ._augment_utils import truncated_normal_from_uniform
from .augment import RandomBBoxTransform, RandomFlip, RandomHalfBody

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import TopdownBatch

__all__ = ["TopdownBatchPipeline", "NUM_DRAWS", "IMAGENET_MEAN", "IMAGENET_STD"]

Tensor = torch.Tensor
IMAGENET_MEAN = (123.675, 116.28, 103.53)  # RGB, MMPose's data preprocessor
IMAGENET_STD = (58.395, 57.12, 57.375)
#: uniform draws per instance: flip (1), half body (2), bbox transform (4 truncated-normal + 3 coins)
NUM_DRAWS = 10


class TopdownBatchPipeline:
    """Top-down augmentation, crops and targets for a whole batch on its device.

    Args:
        input_size (tuple[int, int]): model input (w, h).
        codec: a codec with ``batch_encode(keypoints [N, K, 2], visible [N, K])`` (MSRAHeatmap,
            UDPHeatmap, SimCCLabel, RegressionLabel, ...); None for no targets (validation).
        flip_indices, upper_body_ids, lower_body_ids (sequence of int): dataset metainfo (see
            :meth:`from_meta`).
        dataset_keypoint_weights (sequence of float, optional): joint weights [K].
        use_dataset_keypoint_weights (bool): multiply ``keypoint_weights`` by the joint weights
            (MMPose's ``GenerateTarget`` option). Defaults to False, as MMPose.
        train (bool): apply the random augmentations. Defaults to True.
        flip, half_body, bbox_transform: the augmentations (None to leave one out). Defaults:
            ``RandomFlip(prob=0.5)``, ``RandomHalfBody()``, ``RandomBBoxTransform()``.
        padding (float): ``GetBBoxCenterScale`` padding. Defaults to 1.25.
        use_udp (bool): UDP warp matrices. Defaults to False.
        mean, std (sequence of 3 floats, optional): normalisation of the RGB crop (None: raw 0..255).
        bgr_to_rgb (bool): images are BGR (OpenCV); swap to RGB. Defaults to True.
        out_dtype (torch.dtype): crop dtype. Defaults to float32.
        cuda_graph (bool, optional): capture the keypoint half (geometry, keypoint transform, targets)
            per batch shape in a CUDA graph and replay it (:class:`pyposefast.models.StaticGraph`);
            None (default): on CUDA batches. ``True`` on the CPU runs the same static-buffer plumbing
            eagerly (for tests). The outputs are fresh tensors either way.
    """

    def __init__(
        self,
        input_size: Tuple[int, int],
        codec: Any = None,
        *,
        flip_indices: Optional[Sequence[int]] = None,
        upper_body_ids: Optional[Sequence[int]] = None,
        lower_body_ids: Optional[Sequence[int]] = None,
        dataset_keypoint_weights: Optional[Sequence[float]] = None,
        use_dataset_keypoint_weights: bool = False,
        train: bool = True,
        flip: Optional[RandomFlip] = RandomFlip(prob=0.5),
        half_body: Optional[RandomHalfBody] = RandomHalfBody(),
        bbox_transform: Optional[RandomBBoxTransform] = RandomBBoxTransform(),
        padding: float = 1.25,
        use_udp: bool = False,
        mean: Optional[Sequence[float]] = IMAGENET_MEAN,
        std: Optional[Sequence[float]] = IMAGENET_STD,
        bgr_to_rgb: bool = True,
        out_dtype: torch.dtype = torch.float32,
        cuda_graph: Optional[bool] = None,
    ) -> None:
        w, h = (int(v) for v in input_size)
        self.input_size = (w, h)
        self.codec = codec
        self.flip_indices = None if flip_indices is None else [int(i) for i in flip_indices]
        self.upper_body_ids = None if upper_body_ids is None else list(upper_body_ids)
        self.lower_body_ids = None if lower_body_ids is None else list(lower_body_ids)
        self.joint_weights = None if dataset_keypoint_weights is None else [float(v) for v in dataset_keypoint_weights]
        self.use_dataset_keypoint_weights = bool(use_dataset_keypoint_weights)
        self.train = bool(train)
        self.flip, self.half_body, self.bbox_transform = flip, half_body, bbox_transform
        if train and flip is not None and self.flip_indices is None:
            raise ValueError("flip_indices is required for RandomFlip (pass it or use from_meta)")
        if train and half_body is not None and (self.upper_body_ids is None or self.lower_body_ids is None):
            raise ValueError("upper_body_ids and lower_body_ids are required for RandomHalfBody")
        self.padding = float(padding)
        self.use_udp = bool(use_udp)
        self.mean, self.std = mean, std
        self.bgr_to_rgb = bool(bgr_to_rgb)
        self.out_dtype = out_dtype
        self.cuda_graph = cuda_graph
        self._graphs: "OrderedDict[tuple, Any]" = OrderedDict()  # batch signature -> StaticGraph

    def _joint_weights_on(self, dtype: torch.dtype, device: torch.device) -> Tensor:
        key = (dtype, str(device))
        cache = self.__dict__.setdefault("_joint_weight_cache", {})
        if key not in cache:
            cache[key] = torch.tensor(self.joint_weights, dtype=dtype, device=device)
        return cache[key]

    @classmethod
    def from_meta(cls, meta: Dict[str, Any], input_size: Tuple[int, int], codec: Any = None, **kwargs: Any):
        """Build from :func:`pyposefast.datasets.dataset_meta` output (flip / body ids, weights)."""
        return cls(input_size, codec, flip_indices=meta["flip_indices"], upper_body_ids=meta["upper_body_ids"],
                   lower_body_ids=meta["lower_body_ids"],
                   dataset_keypoint_weights=meta["dataset_keypoint_weights"].tolist(), **kwargs)

    @staticmethod
    def draw(n: int, *, generator: Optional[torch.Generator] = None,
             device: Union[str, torch.device] = "cpu") -> Tensor:
        """The uniforms [N, NUM_DRAWS] float64 that drive one batch's augmentation (column layout:
        0 flip, 1-2 half body, 3-6 bbox truncated normals (by inverse CDF), 7-9 bbox coins)."""
        return torch.rand((n, NUM_DRAWS), generator=generator, device=device, dtype=torch.float64)

    def decode_on_device(self, batch: TopdownBatch, device: Optional[Union[str, torch.device]] = None) -> TopdownBatch:
        """Decode a CPU batch of JPEG bytes with nvjpeg (torchvision) straight onto ``device`` (CUDA),
        giving RGB images and the annotations on ``device``; build the pipeline with
        ``bgr_to_rgb=False`` for such batches. A decoded batch is returned unchanged."""
        if not batch.encoded:
            return batch
        from .pipeline import decode_jpeg_batch

        return decode_jpeg_batch(batch, device if device is not None else batch.bbox.device)

    def geometry(self, batch: TopdownBatch, draws: Optional[Tensor]) -> Dict[str, Tensor]:
        """Boxes, augmentation and warp matrices for the batch (no pixels touched).

        Returns:
            dict: ``bbox_center``, ``bbox_scale`` [N, 2] float64 (after augmentation and aspect fix),
            ``bbox_rotation`` [N], ``flip`` [N] bool, ``keypoints`` [N, K, 2] float64 (flipped),
            ``keypoints_visible`` [N, K], ``warp_mat`` [N, 2, 3] (flipped-image -> crop) and
            ``image_warp_mat`` [N, 2, 3] (original image -> crop; the flip folded in).
        """
        return self._geometry(batch.bbox, batch.keypoints, batch.keypoints_visible,
                              batch.images.sizes.to(batch.bbox.device), draws)

    def _geometry(self, bbox: Tensor, keypoints: Tensor, keypoints_visible: Tensor, sizes: Tensor,
                  draws: Optional[Tensor]) -> Dict[str, Tensor]:
        """:meth:`geometry` on the batch's tensors (``sizes`` [N, 2] (H, W) on their device)."""
        dev = bbox.device
        n = bbox.shape[0]
        center, scale = bbox_xyxy2cs(bbox.to(torch.float64), padding=self.padding)
        kp = keypoints.to(torch.float64)
        vis = keypoints_visible
        wh = torch.stack([sizes[:, 1], sizes[:, 0]], -1).to(torch.float64)
        rot = torch.zeros(n, dtype=torch.float64, device=dev)
        flipped = torch.zeros(n, dtype=torch.bool, device=dev)
        if self.train:
            u = draws if draws is not None else self.draw(n, device=dev)
            u = u.to(device=dev, dtype=torch.float64)
            if self.flip is not None:
                codes = self.flip.codes_from_draws(u[:, 0])
                out = self.flip.apply(codes, wh, bbox_center=center, keypoints=kp, keypoints_visible=vis,
                                      flip_indices=self.flip_indices)
                center, kp, vis, flipped = out["bbox_center"], out["keypoints"], out["keypoints_visible"], out["flip"]
            if self.half_body is not None and kp.shape[1] > 0:
                hb = self.half_body.select_half_body(vis, u[:, 1:3], self.upper_body_ids, self.lower_body_ids)
                center, scale = self.half_body.half_body_bbox(hb, center, scale, kp, vis, self.upper_body_ids,
                                                              self.lower_body_ids)
            if self.bbox_transform is not None:
                r = truncated_normal_from_uniform(u[:, 3:7])
                offset, factor, rot = self.bbox_transform.params_from_draws(r, u[:, 7:10])
                center = center + offset * scale
                scale = scale * factor
        w, h = self.input_size
        scale = fix_aspect_ratio(scale, w / h)
        if self.use_udp:
            mat = get_udp_warp_matrix(center, scale, rot, (w, h))
        else:
            mat = get_warp_matrix(center, scale, rot, (w, h))
        image_mat = torch.where(flipped[:, None, None], compose_horizontal_flip(mat, wh[:, 0]), mat)
        return dict(bbox_center=center, bbox_scale=scale, bbox_rotation=rot, flip=flipped, keypoints=kp,
                    keypoints_visible=vis, warp_mat=mat, image_warp_mat=image_mat)

    def __call__(self, batch: TopdownBatch, draws: Optional[Tensor] = None,
                 generator: Optional[torch.Generator] = None) -> Dict[str, Any]:
        """Run the pipeline on a batch (already on its device).

        Args:
            batch (TopdownBatch): images + annotations.
            draws (Tensor[N, NUM_DRAWS], optional): the augmentation's uniforms (see :meth:`draw`);
                drawn from ``generator`` when None.
            generator (torch.Generator, optional): on the batch's device.

        Returns:
            dict: ``inputs`` Tensor[N, 3, h, w] (``out_dtype``, normalised RGB), the geometry of
            :meth:`geometry`, ``transformed_keypoints`` [N, K, 2] float32 (input-crop pixels), and the
            codec's targets (e.g. ``heatmaps`` [N, K, H, W] and ``keypoint_weights`` [N, K]).
        """
        batch = self.decode_on_device(batch)
        if draws is None and self.train:
            draws = self.draw(len(batch), generator=generator, device=batch.bbox.device)
        dev = batch.bbox.device
        sizes = batch.images.sizes.to(dev)
        args = (batch.bbox, batch.keypoints, batch.keypoints_visible, sizes)
        if draws is not None:
            args += (draws.to(device=dev, dtype=torch.float64),)
        if len(batch) and self._use_graph(dev):  # an empty batch has nothing to launch: eager
            out: Dict[str, Any] = self._replay(args)
        else:
            out = self._keypoint_half(*args)
        # image_index None: crop n from image n, checked on the host (a device index costs a sync)
        out["inputs"] = ops.warp_affine(batch.images, out["image_warp_mat"], self.input_size, mean=self.mean,
                                        std=self.std, bgr_to_rgb=self.bgr_to_rgb, out_dtype=self.out_dtype)
        out["index"] = batch.index
        return out

    def _keypoint_half(self, bbox: Tensor, keypoints: Tensor, keypoints_visible: Tensor, sizes: Tensor,
                       draws: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Everything but the crops: the geometry, ``transformed_keypoints`` and the codec's targets."""
        geo = self._geometry(bbox, keypoints, keypoints_visible, sizes, draws)
        tkp = transform_keypoints(geo["keypoints"], geo["warp_mat"]).to(torch.float32)
        out: Dict[str, Tensor] = dict(geo, transformed_keypoints=tkp)
        vis = geo["keypoints_visible"].to(torch.float32)
        if self.codec is not None and tkp.shape[1] > 0:
            targets = self.codec.batch_encode(tkp, vis)
            if self.use_dataset_keypoint_weights and self.joint_weights is not None and "keypoint_weights" in targets:
                jw = self._joint_weights_on(targets["keypoint_weights"].dtype, bbox.device)
                targets["keypoint_weights"] = targets["keypoint_weights"] * jw
            out.update(targets)
        return out

    def _use_graph(self, device: torch.device) -> bool:
        if self.cuda_graph is None:
            if device.type != "cuda":
                return False
        elif not self.cuda_graph:
            return False
        if device.type == "cuda" and torch.cuda.is_current_stream_capturing():
            return False  # the caller captures the whole step
        return not torch.compiler.is_compiling()

    def _replay(self, args: Tuple[Tensor, ...]) -> Dict[str, Tensor]:
        """The keypoint half through the StaticGraph captured for these shapes (captured on first use;
        the 8 most recent shapes are kept); returns clones of the static outputs."""
        from ..models.cuda_graph import StaticGraph

        key = (self.train, id(self.codec)) + tuple((tuple(a.shape), a.dtype, str(a.device)) for a in args)
        graph = self._graphs.get(key)
        if graph is None:
            names: list = []

            def keypoint_half(*tensors: Tensor) -> Tuple[Tensor, ...]:
                out = self._keypoint_half(*tensors)
                names[:] = list(out)
                return tuple(out.values())

            graph = StaticGraph(keypoint_half, *args, capture=args[0].is_cuda)
            outputs = graph.replay()  # the warm-up and the capture left no result for these inputs
            graph.names = tuple(names)  # filled by the warm-up / capture / the eager replay
            self._graphs[key] = graph
            while len(self._graphs) > 8:
                self._graphs.popitem(last=False)
        else:
            self._graphs.move_to_end(key)
            outputs = graph(*args)
        return {name: value.clone() for name, value in zip(graph.names, outputs)}
