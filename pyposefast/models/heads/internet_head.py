"""InterNet (Moon et al., ECCV 2020, "InterHand2.6M"): 3D heatmaps of both hands, the relative depth
of the left wrist to the right wrist, and the hand type, from one feature map. MMPose 1.x's
``InternetHead`` with its sub-heads ``Heatmap3DHead``, ``Heatmap1DHead`` and
``MultilabelClassificationHead`` (same module names, so MMPose state dicts load as they are).

Symbols: B batch, C channels, K keypoints of one hand (21), D depth bins, H, W heatmap size.

The estimator is the existing :class:`~pyposefast.models.estimators.TopdownPoseEstimator`: its
``forward`` / ``loss`` pass through to this head, and its ``predict`` returns whatever the head's
``predict`` returns, here four tensors instead of two (keypoints with depth, scores, relative root
depth, hand type).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..._constants import device_constant
from ...codecs.flip import flip_heatmaps
from ...codecs.hand_3d_heatmap import Hand3DHeatmap
from ...losses import KeypointMSELoss, L1Loss
from ...losses.hand3d import BCELoss
from ..backbones.resnet import ResNet
from ..estimators import TopdownPoseEstimator
from ..necks import GlobalAveragePooling
from .base import BaseHead, Feats
from .heatmap import deconv_or_identity

__all__ = ["Heatmap3DHead", "Heatmap1DHead", "MultilabelClassificationHead", "InternetHead", "build_internet",
           "internet_res50_interhand3d_256x256", "multilabel_classification_accuracy"]


def _linear_layers(dims: Sequence[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last), MMPose's ``make_linear_layers``."""
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _init_linear(seq: nn.Module) -> None:
    for m in seq.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)


class Heatmap3DHead(nn.Module):
    """Deconvs and a final conv whose C = K * D channels are read as K volumes of D depth bins.

    Args:
        in_channels (int): channels of the feature map.
        out_channels (int): K * D.
        depth_size (int): D. Default 64.
        deconv_out_channels (Sequence[int] or None): channels of each deconv layer. Default (256,) * 3.
        deconv_kernel_sizes (Sequence[int] or None): kernel of each deconv layer (4, 3 or 2).
        final_layer_kernel_size (int): kernel of the final conv. Default 1.
    """

    def __init__(self, in_channels: int, out_channels: int, depth_size: int = 64,
                 deconv_out_channels: Optional[Sequence[int]] = (256, 256, 256),
                 deconv_kernel_sizes: Optional[Sequence[int]] = (4, 4, 4), final_layer_kernel_size: int = 1) -> None:
        super().__init__()
        if depth_size <= 0 or out_channels % depth_size:
            raise ValueError(f"out_channels ({out_channels}) must be a multiple of depth_size ({depth_size})")
        self.depth_size = depth_size
        self.deconv_layers, in_channels = deconv_or_identity(in_channels, deconv_out_channels, deconv_kernel_sizes)
        k = final_layer_kernel_size
        self.final_layer = nn.Conv2d(in_channels, out_channels, k, 1, (k - 1) // 2)
        for m in self.modules():  # MMPose's HeatmapHead init: normal(0.001) convs, BN (1, 0)
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, 0.001)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        """x (Tensor[B, C, h, w]) -> volumes Tensor[B, K, D, H, W]."""
        x = self.final_layer(self.deconv_layers(x))
        B, C, H, W = x.shape
        return x.reshape(B, C // self.depth_size, self.depth_size, H, W)


class Heatmap1DHead(nn.Module):
    """Linear layers to a 1D heatmap of ``heatmap_size`` bins, then its soft-argmax (in bins).

    Args:
        in_channels (int): input features. Default 2048.
        heatmap_size (int): bins. Default 64.
        hidden_dims (Sequence[int]): hidden layer sizes. Default (512,).
    """

    def __init__(self, in_channels: int = 2048, heatmap_size: int = 64, hidden_dims: Sequence[int] = (512,)) -> None:
        super().__init__()
        self.in_channels, self.heatmap_size = in_channels, heatmap_size
        self.fc = _linear_layers([in_channels, *hidden_dims, heatmap_size])
        _init_linear(self.fc)

    def forward(self, x: Tensor) -> Tensor:
        """x (Tensor[B, C]) -> soft-argmax Tensor[B, 1] (bins, differentiable)."""
        prob = F.softmax(self.fc(x), 1)
        bins = torch.arange(self.heatmap_size, dtype=prob.dtype, device=prob.device)
        return (prob * bins[None, :]).sum(dim=1).view(-1, 1)


class MultilabelClassificationHead(nn.Module):
    """Linear layers to ``num_labels`` logits.

    Args:
        in_channels (int): input features. Default 2048.
        num_labels (int): labels. Default 2 (right, left).
        hidden_dims (Sequence[int]): hidden layer sizes. Default (512,).
    """

    def __init__(self, in_channels: int = 2048, num_labels: int = 2, hidden_dims: Sequence[int] = (512,)) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.fc = _linear_layers([in_channels, *hidden_dims, num_labels])
        _init_linear(self.fc)

    def forward(self, x: Tensor) -> Tensor:
        """x (Tensor[B, C]) -> logits Tensor[B, num_labels]."""
        return self.fc(x)


def multilabel_classification_accuracy(pred: Tensor, gt: Tensor, mask: Tensor, thr: float = 0.5) -> Tensor:
    """MMPose's ``multilabel_classification_accuracy`` on the device: the share of samples whose
    labels all agree, ``(pred - thr) * (gt - thr) > 0``, among those with every ``mask`` > 0 (0 when
    none). MMPose applies it to the logits with ``thr=0.5``; so does ``InternetHead.loss``.

    Args:
        pred (Tensor[B, L]), gt (Tensor[B, L]), mask (Tensor[B, L] or Tensor[B, 1] or Tensor[B]).

    Returns:
        Tensor: scalar float32 (no host synchronisation).
    """
    valid = (mask > 0).all(dim=1) if mask.dim() == 2 else mask > 0
    correct = (((pred - thr) * (gt - thr)) > 0).all(dim=1) & valid
    n = valid.sum()
    return torch.where(n > 0, correct.sum().float() / n.clamp(min=1).float(), torch.zeros((), device=pred.device))


class InternetHead(BaseHead):
    """InterNet head: right- and left-hand 3D heatmap heads on the last feature map; root-depth and
    hand-type heads on its global average.

    ``forward(feats) -> (heatmaps Tensor[B, 2K, D, H, W], root_depth Tensor[B, 1] (bins),
    hand_type Tensor[B, 2] (logits))`` (right hand's K volumes first).

    Args:
        keypoint_head_cfg (dict): ``Heatmap3DHead`` arguments (shared by both hands).
        root_head_cfg (dict): ``Heatmap1DHead`` arguments.
        hand_type_head_cfg (dict): ``MultilabelClassificationHead`` arguments.
        loss (nn.Module, optional): volume loss, default ``KeypointMSELoss(use_target_weight=True)``.
        loss_root_depth (nn.Module, optional): default ``L1Loss(use_target_weight=True)``.
        loss_hand_type (nn.Module, optional): default ``BCELoss(use_target_weight=True)``.
        decoder (Hand3DHeatmap, optional): the codec used by ``predict``.
    """

    def __init__(self, keypoint_head_cfg: dict, root_head_cfg: dict, hand_type_head_cfg: dict,
                 loss: Optional[nn.Module] = None, loss_root_depth: Optional[nn.Module] = None,
                 loss_hand_type: Optional[nn.Module] = None, decoder: Optional[Hand3DHeatmap] = None) -> None:
        super().__init__()
        self.right_hand_head = Heatmap3DHead(**keypoint_head_cfg)
        self.left_hand_head = Heatmap3DHead(**keypoint_head_cfg)
        self.root_head = Heatmap1DHead(**root_head_cfg)
        self.hand_type_head = MultilabelClassificationHead(**hand_type_head_cfg)
        self.neck = GlobalAveragePooling()
        self.loss_module = loss if loss is not None else KeypointMSELoss(use_target_weight=True)
        self.root_loss_module = loss_root_depth if loss_root_depth is not None else L1Loss(use_target_weight=True)
        self.hand_loss_module = loss_hand_type if loss_hand_type is not None else BCELoss(use_target_weight=True)
        self.decoder = decoder

    def forward(self, feats: Feats) -> tuple[Tensor, Tensor, Tensor]:
        """feats (tuple[Tensor[B, C, h, w]]) -> (heatmaps, root_depth, hand_type); see the class doc."""
        x = feats[-1]
        heatmaps = torch.cat([self.right_hand_head(x), self.left_hand_head(x)], dim=1)
        pooled = self.neck(x)
        return heatmaps, self.root_head(pooled), self.hand_type_head(pooled)

    def loss(self, feats: Feats, heatmaps: Tensor, keypoint_weights: Tensor, root_depth: Tensor,
             root_depth_weight: Tensor, type: Tensor, type_weight: Tensor,  # noqa: A002 (MMPose's label name)
             compute_acc: bool = True) -> dict[str, Tensor]:
        """Losses of a batch; the targets are ``Hand3DHeatmap.batch_encode``'s fields.

        Args:
            heatmaps (Tensor[B, 2K, D, H, W] or Tensor[B, 2K*D, H, W]): target volumes.
            keypoint_weights (Tensor[B, 2K]): per-keypoint weights.
            root_depth (Tensor[B, 1]), root_depth_weight (Tensor[B, 1]): root-depth target (bins), weight.
            type (Tensor[B, 2]), type_weight (Tensor[B, 1]): hand-type labels and their weight.
            compute_acc (bool): also return ``acc_pose`` (MMPose's hand-type accuracy, no gradient).

        Returns:
            dict: ``loss_kpt``, ``loss_rel_root``, ``loss_hand_type`` (and ``acc_pose``).
        """
        pred_heatmaps, pred_root, pred_type = self.forward(feats)
        if heatmaps.numel() != pred_heatmaps.numel():
            raise ValueError(f"heatmaps {tuple(heatmaps.shape)} do not match the head's output "
                             f"{tuple(pred_heatmaps.shape)}")
        target = heatmaps.reshape(pred_heatmaps.shape).to(pred_heatmaps.dtype)
        B = pred_root.shape[0]
        losses = {
            "loss_kpt": self.loss_module(pred_heatmaps, target, keypoint_weights.reshape(B, -1)),
            "loss_rel_root": self.root_loss_module(pred_root, root_depth.reshape(B, 1).to(pred_root.dtype),
                                                   root_depth_weight.reshape(B, 1).to(pred_root.dtype)),
            "loss_hand_type": self.hand_loss_module(pred_type, type.reshape(B, -1).to(pred_type.dtype),
                                                    type_weight.reshape(B, -1).to(pred_type.dtype)),
        }
        if compute_acc:
            with torch.no_grad():
                losses["acc_pose"] = multilabel_classification_accuracy(pred_type.detach(), type.reshape(B, -1),
                                                                        type_weight.reshape(B, -1))
        return losses

    def merge_flip(self, outputs: Sequence[Tensor], flipped: Sequence[Tensor],
                   flip_indices: Sequence[int], shift_heatmap: bool = False) -> tuple[Tensor, Tensor, Tensor]:
        """MMPose's InterNet flip test: volumes averaged with the mirrored (x flipped, hands swapped)
        flipped volumes; root depth ``(r - r_flipped) / 2``; hand type ``(t + t[:, ::-1]) / 2`` of the
        *unflipped* output (MMPose swaps the columns of the unflipped logits, not of the flipped ones:
        kept for identical numbers).

        Args:
            outputs, flipped: ``forward`` results on the crops and on the flipped crops.
            flip_indices (Sequence[int]): mirror keypoint of each of the 2K keypoints.
            shift_heatmap (bool): shift the mirrored volumes one voxel in x.
        """
        hm, root, types = outputs
        hm_f, root_f, _ = flipped
        B, K2, D, H, W = hm_f.shape
        mirrored = flip_heatmaps(hm_f.reshape(B, K2, D * H, W), flip_indices, "heatmap", shift_heatmap)
        heatmaps = (hm + mirrored.reshape(B, K2, D, H, W)) * 0.5
        root = (root + (-root_f)) * 0.5
        types = (types + types[:, [1, 0]]) * 0.5
        return heatmaps, root, types

    def predict(self, feats: Feats, flipped_feats: Optional[Feats] = None, *, input_center: Tensor,
                input_scale: Tensor, flip_indices: Optional[Sequence[int]] = None, shift_heatmap: bool = False,
                shift_coords: bool = True, warp_matrices: Optional[Tensor] = None
                ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Both hands' 3D keypoints for a batch of crops (flip test when ``flipped_feats`` is given).

        Args:
            feats (tuple[Tensor]): features of the crops. flipped_feats: of the flipped crops.
            input_center (Tensor[B, 2]), input_scale (Tensor[B, 2]): crop centres / sizes (image pixels).
            flip_indices (Sequence[int]): needed with ``flipped_feats``.
            shift_heatmap (bool): MMPose's ``test_cfg.shift_heatmap``. shift_coords: unused.
            warp_matrices (Tensor[B, 2, 3], optional): exact image -> crop warps (rotated crops); x, y
                are mapped back through their inverse instead of centre / scale.

        Returns:
            tuple: ``keypoints`` Tensor[B, 2K, 3] float32 (x, y image pixels; z depth relative to
            the hand's wrist, mm), ``scores`` Tensor[B, 2K], ``rel_root_depth`` Tensor[B] (mm, left
            wrist minus right wrist) and ``hand_type`` Tensor[B, 2] int64 (right, left).
        """
        if self.decoder is None:
            raise RuntimeError("InternetHead has no decoder (Hand3DHeatmap codec): pass decoder=")
        outputs = self.forward(feats)
        if flipped_feats is not None:
            if flip_indices is None:
                raise ValueError("flip_indices are needed for the flip test")
            outputs = self.merge_flip(outputs, self.forward(flipped_feats), flip_indices, shift_heatmap)
        keypoints, scores, root, hand_type = self.decoder.batch_decode(*outputs)
        xy = keypoints[..., :2].to(torch.float64)
        if warp_matrices is not None:
            M = warp_matrices.to(device=xy.device, dtype=torch.float64)
            A_inv = torch.linalg.inv(M[:, :, :2])
            xy = torch.einsum("bij,bkj->bki", A_inv, xy - M[:, None, :, 2])
        else:
            size = device_constant([float(v) for v in self.decoder.image_size], torch.float64, xy.device)
            center = input_center.to(device=xy.device, dtype=torch.float64).reshape(-1, 1, 2)
            scale = input_scale.to(device=xy.device, dtype=torch.float64).reshape(-1, 1, 2)
            xy = xy / size * scale + center - 0.5 * scale
        keypoints = torch.cat([xy.to(torch.float32), keypoints[..., 2:]], dim=-1)
        return keypoints, scores, root, hand_type


def build_internet(backbone: nn.Module, in_channels: int, codec: Hand3DHeatmap, num_keypoints: int = 42,
                   deconv_out_channels: Optional[Sequence[int]] = (256, 256, 256),
                   deconv_kernel_sizes: Optional[Sequence[int]] = (4, 4, 4), hidden_dims: Sequence[int] = (512,),
                   flip_test: bool = False, flip_indices: Optional[Sequence[int]] = None) -> TopdownPoseEstimator:
    """An InterNet estimator around any backbone (MMPose's ``internet_res50`` config with the
    backbone swapped): ``TopdownPoseEstimator(backbone, InternetHead(...))``.

    Args:
        backbone (nn.Module): returns feature maps; the last has ``in_channels`` channels and, after
            the deconvs, the codec's heatmap size.
        in_channels (int): channels of the last feature map.
        codec (Hand3DHeatmap): targets and decoding (``depth_size``, ``root_heatmap_size``).
        num_keypoints (int): both hands' keypoints (2K). Default 42.
        deconv_out_channels, deconv_kernel_sizes: the 3D heads' deconvs.
        hidden_dims (Sequence[int]): hidden sizes of the root and hand-type heads.
        flip_test (bool): MMPose's config has False. flip_indices: the mirror of each keypoint.
    """
    if num_keypoints % 2:
        raise ValueError(f"num_keypoints counts both hands and must be even, got {num_keypoints}")
    head = InternetHead(
        keypoint_head_cfg=dict(in_channels=in_channels, out_channels=num_keypoints // 2 * codec.depth_size,
                               depth_size=codec.depth_size, deconv_out_channels=deconv_out_channels,
                               deconv_kernel_sizes=deconv_kernel_sizes),
        root_head_cfg=dict(in_channels=in_channels, heatmap_size=codec.root_heatmap_size, hidden_dims=hidden_dims),
        hand_type_head_cfg=dict(in_channels=in_channels, num_labels=2, hidden_dims=hidden_dims),
        decoder=codec)
    return TopdownPoseEstimator(backbone, head, flip_test=flip_test, shift_heatmap=False, flip_indices=flip_indices)


def internet_res50_interhand3d_256x256(input_size: tuple[int, int] = (256, 256), num_keypoints: int = 42,
                                       flip_test: bool = False, depth: int = 50) -> TopdownPoseEstimator:
    """InterNet ResNet-50 on InterHand2.6M (``internet_res50_4xb16-20e_interhand3d-256x256``):
    Hand3DHeatmap (heatmap [64, 64, 64], sigma 2.5, max_bound 255), three 256-channel deconvs per
    hand, root and hand-type heads with one 512 hidden layer. Random weights; MMPose checkpoints
    load with ``pyposefast.models.load_checkpoint`` (same key names)."""
    from ...datasets.metainfo import dataset_meta

    w, h = input_size
    codec = Hand3DHeatmap(image_size=[w, h], root_heatmap_size=64, heatmap_size=[w // 4, h // 4, 64], sigma=2.5,
                          max_bound=255, depth_size=64)
    fi = list(dataset_meta("interhand3d")["flip_indices"])
    return build_internet(ResNet(depth), 2048 if depth >= 50 else 512, codec, num_keypoints, flip_test=flip_test,
                          flip_indices=fi if len(fi) == num_keypoints else None)
