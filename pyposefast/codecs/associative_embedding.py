"""AssociativeEmbedding: bottom-up heatmaps + keypoint indices, decoded by tag grouping on device."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .._constants import device_constant
from .. import ops
from ..ops import _checks
from .base import ArrayLike, BaseKeypointCodec, network_output_tensor, to_keypoint_tensors, to_output


class AssociativeEmbedding(BaseKeypointCodec):
    """Associative Embedding (Newell et al. 2017), MMPose 1.x ``AssociativeEmbedding``: same name,
    arguments and numbers.

    Symbols: N instances, K keypoints, L tag dimension, input size [w, h], heatmap size [W, H]. Tags are
    ``[K * L, H, W]`` with channel ``l * K + k``; with the flip test the flipped-back tags are
    concatenated (L = 2 * tag_dim).

    Encoded (``encode``): ``heatmaps`` [K, H, W] (Gaussians of every instance, max-merged: MSRA, or
    UDP with ``use_udp``), ``keypoint_indices`` [N, K, 2] int64 ``(y * W + x, visible)`` with
    ``(x, y) = int(mu + 0.5)`` and visible = (v > 0.5 and inside the map), ``keypoint_weights`` [N, K].

    Decoded (``batch_decode``): max-pool NMS, top-k candidates per keypoint, grouping keypoint type by
    keypoint type (Hungarian assignment on ``round(tag distance) * 100 - score``), refinement
    (quarter offset, or DARK-UDP with ``use_udp``), centre shift, missing keypoints filled by the
    tag-matched maximum, keypoints times ``scale_factor``. See ``pyposefast.ops.ae_decode``.

    Args:
        input_size (tuple[int, int]): input image size [w, h].
        heatmap_size (tuple[int, int]): heatmap size [W, H].
        sigma (float, optional): Gaussian sigma; None = sqrt(W * H) / 64.
        use_udp (bool): UDP encoding and DARK-UDP refinement. Defaults to False.
        decode_keypoint_order (list[int]): grouping order; empty = 0..K-1.
        decode_nms_kernel (int): odd NMS window. Defaults to 5.
        decode_gaussian_kernel (int): DARK-UDP blur kernel (``use_udp`` only). Defaults to 3.
        decode_keypoint_thr (float): candidate threshold. Defaults to 0.1.
        decode_tag_thr (float): largest tag distance of a match. Defaults to 1.0.
        decode_topk (int): candidates per keypoint type. Defaults to 30.
        decode_center_shift (float): added to detected keypoints (heatmap pixels). Defaults to 0.
        decode_max_instances (int, optional): instances kept; None = all.
    """

    instance_mapping_table = dict(keypoint_indices="keypoint_indices", keypoint_weights="keypoint_weights")
    field_mapping_table = dict(heatmaps="heatmaps")

    def __init__(
        self,
        input_size: Tuple[int, int],
        heatmap_size: Tuple[int, int],
        sigma: Optional[float] = None,
        use_udp: bool = False,
        decode_keypoint_order: Sequence[int] = (),
        decode_nms_kernel: int = 5,
        decode_gaussian_kernel: int = 3,
        decode_keypoint_thr: float = 0.1,
        decode_tag_thr: float = 1.0,
        decode_topk: int = 30,
        decode_center_shift: float = 0.0,
        decode_max_instances: Optional[int] = None,
    ) -> None:
        super().__init__()
        _checks.size_pair("input_size", input_size)
        _checks.size_pair("heatmap_size", heatmap_size)
        self.input_size = input_size
        self.heatmap_size = heatmap_size
        self.use_udp = use_udp
        self.decode_nms_kernel = decode_nms_kernel
        self.decode_gaussian_kernel = decode_gaussian_kernel
        self.decode_keypoint_thr = decode_keypoint_thr
        self.decode_tag_thr = decode_tag_thr
        self.decode_topk = decode_topk
        self.decode_center_shift = decode_center_shift
        self.decode_max_instances = decode_max_instances
        self.decode_keypoint_order = list(decode_keypoint_order)
        if use_udp:
            self.scale_factor = ((np.array(input_size) - 1) / (np.array(heatmap_size) - 1)).astype(np.float32)
        else:
            self.scale_factor = (np.array(input_size) / heatmap_size).astype(np.float32)
        if sigma is None:
            sigma = (heatmap_size[0] * heatmap_size[1]) ** 0.5 / 64
        self.sigma = _checks.positive_float("sigma", sigma)

    # ---- encode -------------------------------------------------------------------------------------
    def encode(self, keypoints: ArrayLike, keypoints_visible: Optional[ArrayLike] = None) -> dict:
        """Encode one image's instances.

        Args:
            keypoints (ndarray or Tensor [N, K, 2]): (x, y) in input-image pixels.
            keypoints_visible (ndarray or Tensor [N, K], optional): visibility; None = all visible.

        Returns:
            dict: ``heatmaps`` [K, H, W] float32, ``keypoint_indices`` [N, K, 2] int64 and
            ``keypoint_weights`` [N, K] float32. NumPy in, NumPy out; tensors in, tensors out.
        """
        kp, vis, as_numpy = to_keypoint_tensors(keypoints, keypoints_visible, 3, "[N, K, 2]")
        out = self.batch_encode(kp.unsqueeze(0), None if vis is None else vis.unsqueeze(0))
        return {name: to_output(value[0], as_numpy) for name, value in out.items()}

    def batch_encode(
        self,
        keypoints: torch.Tensor,
        keypoints_visible: Optional[torch.Tensor] = None,
        instance_valid: Optional[torch.Tensor] = None,
        dtype: torch.dtype = torch.float32,
    ) -> dict:
        """Encode a batch of images (instances padded to N) in one kernel launch on its device.

        Args:
            keypoints (Tensor[B, N, K, 2]): (x, y) in input-image pixels.
            keypoints_visible (Tensor[B, N, K], optional): visibility; None = all visible.
            instance_valid (Tensor[B, N], optional): padding rows are 0 (not drawn, weight 0,
                index visibility 0).
            dtype (torch.dtype): heatmap dtype.

        Returns:
            dict: ``heatmaps`` Tensor[B, K, H, W], ``keypoint_indices`` Tensor[B, N, K, 2] int64,
            ``keypoint_weights`` Tensor[B, N, K] float32.
        """
        kp, vis, _ = to_keypoint_tensors(keypoints, keypoints_visible, 4, "[B, N, K, 2]")
        if vis is None:
            vis = torch.ones(kp.shape[:-1], dtype=torch.float32, device=kp.device)
        vis = vis.to(torch.float32)
        scale = device_constant(self.scale_factor, torch.from_numpy(self.scale_factor).dtype, kp.device)
        src = keypoints if isinstance(keypoints, torch.Tensor) else torch.from_numpy(np.asarray(keypoints))
        # MMPose divides in the keypoints' dtype by the float32 factor (float64 input stays float64)
        kp_hm = (src.detach().to(kp.device, torch.float64) if src.dtype == torch.float64 else kp) / scale
        method = "udp" if self.use_udp else "msra"
        heatmaps, weights = ops.gaussian_heatmaps(
            kp_hm.to(torch.float32), vis, self.heatmap_size, self.sigma, method, instance_valid=instance_valid,
            dtype=dtype)
        W, H = self.heatmap_size
        xy = (kp_hm + 0.5).to(torch.int64)  # truncation toward zero, as astype(np.int64)
        x, y = xy[..., 0], xy[..., 1]
        visible = (vis > 0.5) & (x >= 0) & (x < W) & (y >= 0) & (y < H)
        if instance_valid is not None:
            visible &= (instance_valid != 0).unsqueeze(-1).to(visible.device)
        indices = torch.stack([y * W + x, visible.to(torch.int64)], dim=-1)
        return dict(heatmaps=heatmaps, keypoint_indices=indices, keypoint_weights=weights)

    # ---- decode -------------------------------------------------------------------------------------
    def decode(self, encoded: Any) -> Tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError("AssociativeEmbedding decodes batches of heatmaps and tags: use batch_decode")

    def batch_decode_tensors(
        self, batch_heatmaps: ArrayLike, batch_tags: ArrayLike
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decode on the inputs' device without leaving it (for GPU pipelines).

        Args:
            batch_heatmaps (Tensor[B, K, H, W]): heatmaps.
            batch_tags (Tensor[B, K * L, H, W]): tags (channel l * K + k).

        Returns:
            (keypoints, keypoint_scores, instance_scores, counts): ``Tensor[B, N, K, 2]`` float32 in
            input-image pixels, ``Tensor[B, N, K]``, ``Tensor[B, N]`` and ``Tensor[B]`` int64; rows
            past ``counts[b]`` are zero. N = decode_max_instances (or the most groups possible).
        """
        heatmaps, _ = network_output_tensor("batch_heatmaps", batch_heatmaps, 4, "[B, K, H, W]")
        tags, _ = network_output_tensor("batch_tags", batch_tags, 4, "[B, K * L, H, W]")
        kp, sc, inst, counts = ops.ae_decode(
            heatmaps,
            tags.to(heatmaps.device) if not isinstance(batch_tags, torch.Tensor) else tags,
            self.decode_keypoint_order,
            nms_kernel=self.decode_nms_kernel,
            topk=self.decode_topk,
            keypoint_thr=self.decode_keypoint_thr,
            tag_thr=self.decode_tag_thr,
            max_instances=self.decode_max_instances,
            refine="dark_udp" if self.use_udp else "quarter",
            blur_kernel_size=self.decode_gaussian_kernel,
            center_shift=self.decode_center_shift,
        )
        scale = device_constant(self.scale_factor, torch.from_numpy(self.scale_factor).dtype, kp.device)
        return kp * scale, sc, inst, counts

    def batch_decode(
        self, batch_heatmaps: ArrayLike, batch_tags: ArrayLike
    ) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
        """MMPose's ``batch_decode``: per-image lists of NumPy arrays (one device-to-host copy).

        Args:
            batch_heatmaps (Tensor[B, K, H, W]): heatmaps (NumPy arrays are accepted).
            batch_tags (Tensor[B, K * L, H, W]): tags (channel l * K + k).

        Returns:
            tuple: ``keypoints`` list of [N_b, K, 2] float32 (input-image pixels),
            ``keypoint_scores`` list of [N_b, K] float32, ``instance_scores`` list of [N_b] float32.
        """
        kp, sc, inst, counts = (t.cpu().numpy() for t in self.batch_decode_tensors(batch_heatmaps, batch_tags))
        ns = counts.tolist()
        return ([kp[b, :n] for b, n in enumerate(ns)], [sc[b, :n] for b, n in enumerate(ns)],
                [inst[b, :n] for b, n in enumerate(ns)])

    def __repr__(self) -> str:
        return (
            f"AssociativeEmbedding(input_size={tuple(self.input_size)}, heatmap_size={tuple(self.heatmap_size)}, "
            f"sigma={self.sigma}, use_udp={self.use_udp}, decode_topk={self.decode_topk}, "
            f"decode_max_instances={self.decode_max_instances})"
        )
