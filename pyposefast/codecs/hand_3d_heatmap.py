"""Hand3DHeatmap: 3D Gaussian volumes, relative root depth and handedness targets (InterNet, MMPose 1.x).

Symbols: B batch, N instances, K keypoints, input (image) size [w, h], heatmap size [W, H, D] (D depth
bins). Keypoints are (x, y, z): x, y in input-image pixels, z the root-relative depth in millimetres.

Encoding draws each keypoint as ``exp(-d^2 / (2 sigma^2))`` over the voxels of a (2r + 1)-wide window
(``r = 3 sigma``) around the keypoint in heatmap coordinates ``(x W / w, y H / h, (z / bound + 0.5) D)``;
window voxel coordinates are ``round(mu + offset)`` (half to even) clipped to the volume, the Gaussian
is evaluated at the clipped voxel, instances merge by maximum, and the volume is scaled by
``max_bound``. It runs as one ``scatter_reduce`` (amax) per batch on the keypoints' device. With a
half-integer radius (MMPose's InterNet config: sigma 2.5) the window offsets are half-integers and
half-to-even rounding skips every other voxel (a keypoint exactly on a voxel draws only voxels of
even index): MMPose's targets, reproduced as they are.

Decoding takes the 3D argmax of each keypoint's volume (the location is -1 where the maximum is <= 0),
maps depth bins back to millimetres and x, y to input pixels, the root-depth bin (the root head's
soft-argmax) to millimetres, and hand-type logits to labels (> 0).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np
import torch

from .._constants import device_constant
from .base import ArrayLike, BaseKeypointCodec, to_output

__all__ = ["Hand3DHeatmap", "generate_3d_gaussian_heatmaps", "get_heatmap_3d_maximum"]


def _float_tensor(name: str, value: Any, device: Optional[torch.device] = None,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """NumPy / tensor / number -> a floating tensor (tensors keep their floating dtype and device)."""
    if isinstance(value, torch.Tensor):
        if value.is_complex() or not (value.is_floating_point() or value.dtype in
                                      (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)):
            raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")
        t = value.detach()
        if not t.is_floating_point():
            t = t.to(dtype)
        return t if device is None else t.to(device)
    arr = np.asarray(value)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
            or arr.dtype == np.bool_):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(arr)).to(device=device or "cpu")


def generate_3d_gaussian_heatmaps(
    heatmap_size: Sequence[int],
    keypoints: torch.Tensor,
    keypoints_visible: torch.Tensor,
    sigma: float,
    image_size: Sequence[int],
    heatmap3d_depth_bound: float = 400.0,
    max_bound: float = 1.0,
    dataset_keypoint_weights: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """3D Gaussian volumes of a batch, MMPose's ``generate_3d_gaussian_heatmaps`` for each sample.

    The window and the Gaussian are computed in float64 (as MMPose's NumPy arithmetic), the volume
    is float32. Differentiable: no. Deterministic: yes (max-merge).

    Args:
        heatmap_size (Sequence[int]): [W, H, D].
        keypoints (Tensor[B, N, K, 3]): (x, y) in input pixels, z root-relative depth (mm).
        keypoints_visible (Tensor[B, N, K]): visibility (any real dtype); drawn keypoints do not
            depend on it (as MMPose), only the weights do.
        sigma (float): Gaussian sigma in heatmap voxels.
        image_size (Sequence[int]): [w, h] of the input image.
        heatmap3d_depth_bound (float): depth range (mm) the D bins cover, centred on the root.
        max_bound (float): peak value.
        dataset_keypoint_weights (Tensor[K], optional): multiplies the weights.

    Returns:
        tuple: ``heatmaps`` Tensor[B, K, D, H, W] float32 and ``keypoint_weights`` Tensor[B, N, K]
        (the visibility's floating dtype, float32 for non-floating visibility): visibility times
        ``[0 <= z_bin < D]`` (times the dataset weights).
    """
    W, H, D = (int(v) for v in heatmap_size)
    if keypoints.dim() != 4 or keypoints.shape[-1] != 3:
        raise ValueError(f"keypoints must be [B, N, K, 3], got shape {tuple(keypoints.shape)}")
    B, N, K, _ = keypoints.shape
    if tuple(keypoints_visible.shape) != (B, N, K):
        raise ValueError(f"keypoints_visible must be [B, N, K] = {[B, N, K]}, got {tuple(keypoints_visible.shape)}")
    device = keypoints.device
    kp = keypoints.to(torch.float64)
    mu_x = kp[..., 0] * W / float(image_size[0])
    mu_y = kp[..., 1] * H / float(image_size[1])
    # MMPose: (z / bound + 0.5) in the keypoints' own precision, then * D in float64
    z = keypoints[..., 2] if keypoints.dtype == torch.float64 else keypoints[..., 2].to(torch.float32)
    mu_z = ((z / heatmap3d_depth_bound) + 0.5).to(torch.float64) * D

    vis = keypoints_visible if keypoints_visible.is_floating_point() else keypoints_visible.to(torch.float32)
    weights = vis * ((mu_z >= 0) & (mu_z < D)).to(vis.dtype)
    if dataset_keypoint_weights is not None:
        weights = weights * dataset_keypoint_weights.to(device=device, dtype=weights.dtype).view(1, 1, K)

    heatmaps = torch.zeros(B, K * D * H * W, dtype=torch.float32, device=device)
    if B * N * K:
        radius = sigma * 3
        offsets = np.arange(2 * radius + 1, dtype=np.float32) - np.float32(radius)  # MMPose's window
        off = device_constant(offsets, torch.float32, device).to(torch.float64)
        L = off.numel()

        def axis(mu: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
            c = torch.round(mu.unsqueeze(-1) + off).clamp_(0, size - 1)  # [B, N, K, L]
            return c.to(torch.int64), (c - mu.unsqueeze(-1)) ** 2

        ix, dx2 = axis(mu_x, W)
        iy, dy2 = axis(mu_y, H)
        iz, dz2 = axis(mu_z, D)
        # MMPose's order: -((dx^2 + dy^2) + dz^2) / (2 sigma^2) (the sign moved into the divisor:
        # exact), window indexed [z, y, x]
        d2 = (dx2[..., None, None, :] + dy2[..., None, :, None]) + dz2[..., :, None, None]
        # scaled before the max-merge: max(a, b) * s == max(a * s, b * s) exactly (rounding is monotonic)
        values = torch.exp(d2 / (-2 * sigma ** 2)).to(torch.float32) * max_bound  # [B, N, K, L, L, L]
        k = torch.arange(K, device=device).view(1, 1, K, 1, 1, 1)
        flat = ((k * D + iz[..., :, None, None]) * H + iy[..., None, :, None]) * W + ix[..., None, None, :]
        heatmaps.scatter_reduce_(1, flat.reshape(B, N * K * L ** 3), values.reshape(B, N * K * L ** 3),
                                 reduce="amax", include_self=True)
    return heatmaps.view(B, K, D, H, W), weights


def get_heatmap_3d_maximum(heatmaps: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Location (x, y, z) and value of each volume's maximum (MMPose's ``get_heatmap_3d_maximum``).

    Args:
        heatmaps (Tensor[..., D, H, W]): floating volumes on any device.

    Returns:
        tuple: ``locs`` Tensor[..., 3] float32 (x, y, z in voxels; the first maximum in (z, y, x)
        order; -1 where the maximum is <= 0) and ``vals`` Tensor[...] in the heatmaps' dtype.
    """
    if heatmaps.dim() < 3:
        raise ValueError(f"heatmaps must be [..., D, H, W], got shape {tuple(heatmaps.shape)}")
    D, H, W = heatmaps.shape[-3:]
    lead = heatmaps.shape[:-3]
    if heatmaps.numel() == 0:
        return heatmaps.new_zeros(lead + (3,), dtype=torch.float32), heatmaps.new_zeros(lead)
    vals, idx = heatmaps.reshape(lead + (D * H * W,)).max(dim=-1)
    z = torch.div(idx, H * W, rounding_mode="floor")
    rem = idx - z * (H * W)
    y = torch.div(rem, W, rounding_mode="floor")
    x = rem - y * W
    locs = torch.stack([x, y, z], dim=-1).to(torch.float32)
    locs = torch.where((vals <= 0).unsqueeze(-1), torch.full_like(locs, -1.0), locs)
    return locs, vals


class Hand3DHeatmap(BaseKeypointCodec):
    """3D heatmap, root-depth and hand-type targets for InterNet, MMPose 1.x ``Hand3DHeatmap`` (same
    arguments, same numbers).

    Args:
        image_size (tuple[int, int]): input image size [w, h]. Default ``[256, 256]``.
        root_heatmap_size (int): bins of the root-depth head (decoding). Default 64.
        heatmap_size (tuple[int, int, int]): [W, H, D]. Default ``[64, 64, 64]``.
        heatmap3d_depth_bound (float): depth range (mm) of the D bins. Default 400.
        heatmap_size_root (int): bins of the root-depth target (encoding). Default 64.
        root_depth_bound (float): range (mm) of the relative root depth. Default 400.
        depth_size (int): depth bins used by decoding. Default 64.
        use_different_joint_weights (bool): multiply weights by ``dataset_keypoint_weights``.
        sigma (float): Gaussian sigma in voxels. Default 2.
        joint_indices (list[int], optional): keypoints drawn (all when None).
        max_bound (float): peak value of the volumes. Default 1.

    ``encode`` / ``decode`` handle one sample with MMPose's signatures (NumPy in, NumPy out; tensors
    in, tensors out); ``batch_encode`` / ``batch_decode`` handle a batch of tensors on their device.
    """

    auxiliary_encode_keys = {"dataset_keypoint_weights", "rel_root_depth", "rel_root_valid", "hand_type",
                             "hand_type_valid", "focal", "principal_pt"}
    instance_mapping_table = dict(keypoints="keypoints", keypoints_visible="keypoints_visible",
                                  keypoints_cam="keypoints_cam")
    label_mapping_table = dict(keypoint_weights="keypoint_weights", root_depth_weight="root_depth_weight",
                               type_weight="type_weight", root_depth="root_depth", type="type")

    def __init__(self, image_size: Sequence[int] = (256, 256), root_heatmap_size: int = 64,
                 heatmap_size: Sequence[int] = (64, 64, 64), heatmap3d_depth_bound: float = 400.0,
                 heatmap_size_root: int = 64, root_depth_bound: float = 400.0, depth_size: int = 64,
                 use_different_joint_weights: bool = False, sigma: float = 2, joint_indices: Optional[list] = None,
                 max_bound: float = 1.0) -> None:
        super().__init__()
        if len(image_size) != 2 or any(int(v) <= 0 for v in image_size):
            raise ValueError(f"image_size must be [w, h] positive, got {image_size!r}")
        if len(heatmap_size) != 3 or any(int(v) <= 0 for v in heatmap_size):
            raise ValueError(f"heatmap_size must be [W, H, D] positive, got {heatmap_size!r}")
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma!r}")
        for name, v in (("root_heatmap_size", root_heatmap_size), ("heatmap_size_root", heatmap_size_root),
                        ("depth_size", depth_size), ("heatmap3d_depth_bound", heatmap3d_depth_bound),
                        ("root_depth_bound", root_depth_bound)):
            if not v > 0:
                raise ValueError(f"{name} must be positive, got {v!r}")
        self.image_size = np.array(image_size)
        self.root_heatmap_size = root_heatmap_size
        self.heatmap_size = np.array(heatmap_size)
        self.heatmap3d_depth_bound = heatmap3d_depth_bound
        self.heatmap_size_root = heatmap_size_root
        self.root_depth_bound = root_depth_bound
        self.depth_size = depth_size
        self.use_different_joint_weights = use_different_joint_weights
        self.sigma = sigma
        self.joint_indices = None if joint_indices is None else list(joint_indices)
        self.max_bound = max_bound
        self.scale_factor = (np.array(image_size) / np.array(heatmap_size)[:-1]).astype(np.float32)

    # ------------------------------------------------------------------ encoding

    def _volumes(self, keypoints: torch.Tensor, visible: torch.Tensor,
                 dataset_keypoint_weights: Optional[Any]) -> Tuple[torch.Tensor, torch.Tensor]:
        """keypoints [B, N, K, 3], visible [B, N, K] -> volumes [B, K', D, H, W], weights [B, N, K']."""
        if self.use_different_joint_weights and dataset_keypoint_weights is None:
            raise ValueError("use_different_joint_weights=True needs dataset_keypoint_weights")
        if self.joint_indices is not None:
            keypoints = keypoints[:, :, self.joint_indices]
            visible = visible[:, :, self.joint_indices]
        dw = None
        if self.use_different_joint_weights:
            dw = _float_tensor("dataset_keypoint_weights", dataset_keypoint_weights, keypoints.device).reshape(-1)
            if dw.numel() != keypoints.shape[2]:
                raise ValueError(f"dataset_keypoint_weights must have K = {keypoints.shape[2]} entries, "
                                 f"got {dw.numel()}")
        return generate_3d_gaussian_heatmaps(self.heatmap_size, keypoints, visible, self.sigma, self.image_size,
                                             self.heatmap3d_depth_bound, self.max_bound, dw)

    def _root_target(self, rel_root_depth: torch.Tensor, rel_root_valid: torch.Tensor):
        depth = (rel_root_depth / self.root_depth_bound + 0.5) * self.heatmap_size_root
        valid = rel_root_valid * ((depth >= 0) & (depth <= self.heatmap_size_root)).to(rel_root_valid.dtype)
        return depth, valid

    def encode(self, keypoints: ArrayLike, keypoints_visible: Optional[ArrayLike] = None,
               dataset_keypoint_weights: Optional[ArrayLike] = None, rel_root_depth: Any = 0.0,
               rel_root_valid: Any = 1.0, hand_type: Any = None, hand_type_valid: Any = None,
               focal: Any = None, principal_pt: Any = None) -> dict:
        """Encode one sample (MMPose's ``encode``).

        Args:
            keypoints (ndarray or Tensor [N, K, 3]): (x, y) in input pixels, z root-relative depth (mm).
            keypoints_visible (ndarray or Tensor [N, K], optional): visibility; None = all visible.
            dataset_keypoint_weights (ndarray [K], optional): needed with ``use_different_joint_weights``.
            rel_root_depth (float): left-wrist depth minus right-wrist depth (mm).
            rel_root_valid (float): validity of ``rel_root_depth``.
            hand_type (ndarray [1, 2]): (right, left) labels, passed through as ``type``.
            hand_type_valid (ndarray [1]): passed through as ``type_weight``.
            focal, principal_pt: unused (MMPose's signature).

        Returns:
            dict: ``heatmaps`` [K*D, H, W] float32, ``keypoint_weights`` [N, K], ``root_depth`` [1]
            (bins), ``root_depth_weight`` [1], ``type`` and ``type_weight``. NumPy in, NumPy out;
            tensors in, tensors out on the keypoints' device.
        """
        as_numpy = not isinstance(keypoints, torch.Tensor)
        kp = _float_tensor("keypoints", keypoints)
        if kp.dim() != 3 or kp.shape[-1] != 3:
            raise ValueError(f"keypoints must be [N, K, 3], got shape {tuple(kp.shape)}")
        if keypoints_visible is None:
            vis = torch.ones(kp.shape[:2], dtype=torch.float32, device=kp.device)
        else:
            vis = _float_tensor("keypoints_visible", keypoints_visible, kp.device)
            if tuple(vis.shape) != tuple(kp.shape[:2]):
                raise ValueError(f"keypoints_visible must be [N, K] = {list(kp.shape[:2])}, got {tuple(vis.shape)}")
        heatmaps, weights = self._volumes(kp[None], vis[None], dataset_keypoint_weights)
        D, H, W = heatmaps.shape[-3:]
        if as_numpy:
            depth = (rel_root_depth / self.root_depth_bound + 0.5) * self.heatmap_size_root
            valid = rel_root_valid * (depth >= 0) * (depth <= self.heatmap_size_root)
            root_depth = depth * np.ones(1, dtype=np.float32)
            root_weight = valid * np.ones(1, dtype=np.float32)
        else:
            depth_t = _float_tensor("rel_root_depth", rel_root_depth, kp.device).reshape(1)
            valid_t = _float_tensor("rel_root_valid", rel_root_valid, kp.device).reshape(1)
            root_depth, root_weight = self._root_target(depth_t, valid_t)
        return dict(heatmaps=to_output(heatmaps[0].reshape(-1, H, W), as_numpy),
                    keypoint_weights=to_output(weights[0], as_numpy), root_depth=root_depth,
                    type=hand_type, type_weight=hand_type_valid, root_depth_weight=root_weight)

    def batch_encode(self, keypoints: torch.Tensor, keypoints_visible: Optional[torch.Tensor] = None,
                     rel_root_depth: Optional[torch.Tensor] = None, rel_root_valid: Optional[torch.Tensor] = None,
                     hand_type: Optional[torch.Tensor] = None, hand_type_valid: Optional[torch.Tensor] = None,
                     dataset_keypoint_weights: Optional[torch.Tensor] = None) -> dict:
        """Encode a top-down batch (one instance per sample) on the keypoints' device.

        Args:
            keypoints (Tensor[B, K, 3]): (x, y) in input pixels, z root-relative depth (mm).
            keypoints_visible (Tensor[B, K], optional): None = all visible.
            rel_root_depth (Tensor[B], optional): relative root depth (mm); None = 0.
            rel_root_valid (Tensor[B], optional): None = 1.
            hand_type (Tensor[B, 2], optional): (right, left) labels; None = zeros.
            hand_type_valid (Tensor[B], optional): None = 1.
            dataset_keypoint_weights (Tensor[K], optional): with ``use_different_joint_weights``.

        Returns:
            dict: ``heatmaps`` Tensor[B, K, D, H, W] float32, ``keypoint_weights`` Tensor[B, K],
            ``root_depth`` / ``root_depth_weight`` Tensor[B, 1] float32, ``type`` Tensor[B, 2] float32,
            ``type_weight`` Tensor[B, 1] float32: the arguments of ``InternetHead.loss``.
        """
        kp = _float_tensor("keypoints", keypoints)
        if kp.dim() != 3 or kp.shape[-1] != 3:
            raise ValueError(f"keypoints must be [B, K, 3], got shape {tuple(kp.shape)}")
        B, dev = kp.shape[0], kp.device

        def per_sample(name: str, value: Any, default: float, shape: tuple) -> torch.Tensor:
            if value is None:
                return torch.full(shape, default, dtype=torch.float32, device=dev)
            t = _float_tensor(name, value, dev).to(torch.float32)
            if t.numel() != int(np.prod(shape)):
                raise ValueError(f"{name} must be {list(shape)}, got shape {tuple(t.shape)}")
            return t.reshape(shape)

        vis = per_sample("keypoints_visible", keypoints_visible, 1.0, tuple(kp.shape[:2]))
        heatmaps, weights = self._volumes(kp[:, None], vis[:, None], dataset_keypoint_weights)
        root, root_w = self._root_target(per_sample("rel_root_depth", rel_root_depth, 0.0, (B, 1)),
                                         per_sample("rel_root_valid", rel_root_valid, 1.0, (B, 1)))
        return dict(heatmaps=heatmaps, keypoint_weights=weights[:, 0], root_depth=root, root_depth_weight=root_w,
                    type=per_sample("hand_type", hand_type, 0.0, (B, 2)),
                    type_weight=per_sample("hand_type_valid", hand_type_valid, 1.0, (B, 1)))

    # ------------------------------------------------------------------ decoding

    def decode(self, heatmaps: ArrayLike, root_depth: ArrayLike, hand_type: ArrayLike) -> tuple:
        """Decode one sample (MMPose's ``decode``).

        Args:
            heatmaps (ndarray or Tensor [K, D, H, W]): one sample's volumes.
            root_depth (ndarray or Tensor [1]): the root head's output (bins).
            hand_type (ndarray or Tensor [2]): hand-type logits.

        Returns:
            tuple: ``keypoints`` [1, K, 3] float32 (x, y input pixels, z mm), ``scores`` [1, K],
            ``rel_root_depth`` (root_depth's shape, mm) and ``hand_type`` [1, 2] int64 (logit > 0).
            NumPy in, NumPy out; tensors in, tensors out.
        """
        as_numpy = not isinstance(heatmaps, torch.Tensor)
        hm = _float_tensor("heatmaps", heatmaps)
        if hm.dim() != 4:
            raise ValueError(f"heatmaps must be [K, D, H, W], got shape {tuple(hm.shape)}")
        root = _float_tensor("root_depth", root_depth, hm.device)
        types = _float_tensor("hand_type", hand_type, hm.device)
        keypoints, scores = self._decode_keypoints(hm[None])
        return (to_output(keypoints, as_numpy), to_output(scores, as_numpy),
                to_output(self._decode_root(root), as_numpy),
                to_output((types > 0).reshape(1, -1).to(torch.int64), as_numpy))

    def _decode_keypoints(self, heatmaps: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        locs, vals = get_heatmap_3d_maximum(heatmaps)
        z = (locs[..., 2] / self.depth_size - 0.5) * self.heatmap3d_depth_bound
        scale = device_constant(self.scale_factor, torch.float32, heatmaps.device)
        return torch.cat([locs[..., :2] * scale, z.unsqueeze(-1)], dim=-1), vals

    def _decode_root(self, root_depth: torch.Tensor) -> torch.Tensor:
        return (root_depth / self.root_heatmap_size - 0.5) * self.root_depth_bound

    def batch_decode(self, batch_heatmaps: torch.Tensor, batch_root_depth: torch.Tensor,
                     batch_hand_type: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decode a batch on its device without host synchronisation.

        Args:
            batch_heatmaps (Tensor[B, K, D, H, W]): volumes (any floating dtype).
            batch_root_depth (Tensor[B, 1] or Tensor[B]): root head outputs (bins).
            batch_hand_type (Tensor[B, 2]): hand-type logits.

        Returns:
            tuple: ``keypoints`` Tensor[B, K, 3] float32 (x, y input pixels, z mm), ``scores``
            Tensor[B, K], ``rel_root_depth`` Tensor[B] (mm) and ``hand_type`` Tensor[B, 2] int64.
        """
        for name, t in (("batch_heatmaps", batch_heatmaps), ("batch_root_depth", batch_root_depth),
                        ("batch_hand_type", batch_hand_type)):
            if not isinstance(t, torch.Tensor) or not t.is_floating_point():
                raise TypeError(f"{name} must be a floating-point tensor, got {getattr(t, 'dtype', type(t))}")
        if batch_heatmaps.dim() != 5:
            raise ValueError(f"batch_heatmaps must be [B, K, D, H, W], got shape {tuple(batch_heatmaps.shape)}")
        B = batch_heatmaps.shape[0]
        if batch_root_depth.numel() != B or batch_hand_type.dim() != 2 or batch_hand_type.shape[0] != B:
            raise ValueError(f"batch_root_depth must be [B, 1] and batch_hand_type [B, 2] with B = {B}, got "
                             f"{tuple(batch_root_depth.shape)} and {tuple(batch_hand_type.shape)}")
        keypoints, scores = self._decode_keypoints(batch_heatmaps.detach())
        root = self._decode_root(batch_root_depth.detach().reshape(B).to(torch.float32))
        return keypoints, scores, root, (batch_hand_type.detach() > 0).to(torch.int64)

    def __repr__(self) -> str:
        return (f"Hand3DHeatmap(image_size={self.image_size.tolist()}, heatmap_size={self.heatmap_size.tolist()}, "
                f"sigma={self.sigma}, max_bound={self.max_bound}, depth_size={self.depth_size}, "
                f"root_heatmap_size={self.root_heatmap_size})")
