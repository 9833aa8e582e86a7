"""Tiny estimators with random weights (and stubs with known answers) for the inferencer tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pyposefast.codecs import AssociativeEmbedding, MSRAHeatmap, UDPHeatmap
from pyposefast.datasets import dataset_meta
from pyposefast.models import BottomupPoseEstimator, TopdownPoseEstimator
from pyposefast.models.backbones.resnet import ResNet
from pyposefast.models.heads import AssociativeEmbeddingHead, HeatmapHead
from pyposefast.models.heads.base import BaseHead

COCO_FLIP = dataset_meta("coco")["flip_indices"]
TD_INPUT = (48, 64)  # (w, h)


def tiny_backbone() -> nn.Module:
    """ResNet-18 layout at 1/8 width, two stages: 16 channels at stride 8."""
    return ResNet(18, stem_channels=8, base_channels=8, num_stages=2, out_indices=(1,))


def tiny_topdown(udp: bool = False, seed: int = 0) -> TopdownPoseEstimator:
    torch.manual_seed(seed)
    w, h = TD_INPUT
    codec = (UDPHeatmap if udp else MSRAHeatmap)(input_size=(w, h), heatmap_size=(w // 4, h // 4), sigma=2.0)
    head = HeatmapHead(16, 17, deconv_out_channels=(16,), deconv_kernel_sizes=(4,), decoder=codec)
    return TopdownPoseEstimator(tiny_backbone(), head, flip_test=True, shift_heatmap=not udp,
                                flip_indices=COCO_FLIP).eval()


def tiny_bottomup(seed: int = 0) -> BottomupPoseEstimator:
    """AE estimator whose heatmaps sit around 0.5 (a positive bias) so that random weights still give
    candidates and people."""
    torch.manual_seed(seed)
    codec = AssociativeEmbedding(input_size=(64, 64), heatmap_size=(64, 64), sigma=2, decode_topk=5,
                                 decode_center_shift=0.5, decode_max_instances=4)
    head = AssociativeEmbeddingHead(16, 17, tag_dim=1, deconv_out_channels=(16,), deconv_kernel_sizes=(4,),
                                    decoder=codec)
    with torch.no_grad():
        head.final_layer.bias[:17] += 0.5
    return BottomupPoseEstimator(tiny_backbone(), head, flip_test=True, restore_heatmap_size=True,
                                 flip_indices=COCO_FLIP).eval()


class _Features(nn.Module):
    """Backbone stub: the normalised image itself is the feature map."""

    def forward(self, x):
        return (x,)


class ColourSpotHead(BaseHead):
    """Heatmap head stub: keypoint 0's heatmap is the red channel, keypoint 1's the green one
    (average-pooled to the heatmap stride, shifted positive), so the decoded keypoints land on the
    red and the green spot of the image: a model with a known answer for the geometry."""

    def __init__(self, decoder, stride: int = 1) -> None:
        super().__init__()
        self.decoder, self.stride, self.num_keypoints = decoder, stride, 2
        self.out_channels = 2

    def forward(self, feats):
        x = feats[-1][:, :2]  # RGB input: R, G
        return F.avg_pool2d(x + 3.0, self.stride)


def spot_topdown(udp: bool = False) -> TopdownPoseEstimator:
    """Heatmaps at the input resolution (stride 1): the decoded keypoint is the spot's crop pixel."""
    w, h = TD_INPUT
    codec = (UDPHeatmap if udp else MSRAHeatmap)(input_size=(w, h), heatmap_size=(w, h), sigma=2.0)
    return TopdownPoseEstimator(_Features(), ColourSpotHead(codec), flip_test=False).eval()


class _SpotDecoder:
    input_size = (64, 64)


class SpotBottomup(BottomupPoseEstimator):
    """Bottom-up estimator stub: one person whose keypoints 0 / 1 are the centroids of the red /
    green spot in the network input (in input pixels), returned as ``predict`` returns people (per
    image: keypoints [N, K, 2], keypoint scores [N, K], instance scores [N])."""

    def __init__(self) -> None:
        head = nn.Module()
        head.decoder, head.num_keypoints = _SpotDecoder(), 2
        super().__init__(_Features(), head, flip_test=False)

    def forward(self, x):
        return x[:, :2], x[:, :2]

    def predict(self, x, flip_indices=None, flip_test=None, **_):
        x = x[:, :2].double()
        B, K, H, W = x.shape
        weight = (x - x.amin(dim=(2, 3), keepdim=True)).reshape(B, K, -1)  # 0 on black, > 0 on the spot
        weight = weight / weight.sum(-1, keepdim=True)
        ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float64, device=x.device),
                                torch.arange(W, dtype=torch.float64, device=x.device), indexing="ij")
        kp = torch.stack([(weight * xs.reshape(-1)).sum(-1), (weight * ys.reshape(-1)).sum(-1)], -1).float()
        kps = [kp[b:b + 1].cpu().numpy() for b in range(B)]  # the spots' centroids in input pixels
        return kps, [np.ones((1, K), np.float32) for _ in range(B)], [np.ones(1, np.float32) for _ in range(B)]


def spot_bottomup() -> BottomupPoseEstimator:
    return SpotBottomup().eval()


def spot_image(w: int, h: int, red_xy, green_xy, radius: int = 2) -> np.ndarray:
    """Black BGR image with a red and a green square spot (side 2 * radius + 1) at the given centres."""
    img = np.zeros((h, w, 3), np.uint8)
    (rx, ry), (gx, gy) = red_xy, green_xy
    img[ry - radius:ry + radius + 1, rx - radius:rx + radius + 1] = (0, 0, 255)
    img[gy - radius:gy + radius + 1, gx - radius:gx + radius + 1] = (0, 255, 0)
    return img


@pytest.fixture(scope="session")
def td_model():
    return tiny_topdown()


@pytest.fixture(scope="session")
def bu_model():
    return tiny_bottomup()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
