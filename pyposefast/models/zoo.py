"""Named model entry points for the standard MMPose configurations, with their codec settings.

Each entry point is a plain typed function returning a ready estimator (random weights; load MMPose
weights with ``load_checkpoint``). ``MODELS`` is the one flat dict of them; ``build_model(name,
**overrides)`` calls one. Overrides every entry point takes: ``input_size=(w, h)`` (the heatmap /
feature sizes follow), ``num_keypoints``, ``flip_test``.
"""

from __future__ import annotations

import re
from typing import Callable, Optional, Sequence

import torch
from torch import nn

from ..codecs import IntegralRegressionLabel, MSRAHeatmap, RegressionLabel, SimCCLabel, UDPHeatmap
from .backbones.cspnext import cspnext_l, cspnext_m, cspnext_s, cspnext_t
from .backbones.hrnet import hrnet_w18, hrnet_w32, hrnet_w48
from .backbones.litehrnet import litehrnet_18, litehrnet_30
from .backbones.mobilenet_v2 import MobileNetV2
from .backbones.resnet import ResNet
from .backbones.shufflenet_v2 import ShuffleNetV2
from .backbones.tcn import TCN
from .backbones.vit import vit_base, vit_large, vit_small
from .estimators import BottomupPoseEstimator, PoseLifter, TopdownPoseEstimator
from .heads import (AssociativeEmbeddingHead, HeatmapHead, IntegralRegressionHead, RegressionHead, RLEHead,
                    RTMCCHead, SimCCHead, TemporalRegressionHead)
from .heads.internet_head import internet_res50_interhand3d_256x256
from .necks import FeatureMapProcessor, GlobalAveragePooling

__all__ = ["MODELS", "list_models", "build_model", "model_complexity"]

Size = tuple[int, int]


def _flip_indices(dataset: str, num_keypoints: int) -> Optional[list[int]]:
    try:
        from ..datasets.metainfo import dataset_meta

        fi = list(dataset_meta(dataset)["flip_indices"])
    except Exception:  # metainfo missing: no flip test
        return None
    return fi if len(fi) == num_keypoints else None


# ---------------------------------------------------------------- heatmap (SimpleBaseline / HRNet)

def _heatmap_model(backbone: nn.Module, in_channels: int, dataset: str, num_keypoints: int, input_size: Size,
                   sigma: float, flip_test: bool, deconv: bool, neck: Optional[nn.Module] = None,
                   conv_out_channels: Optional[Sequence[int]] = None) -> TopdownPoseEstimator:
    w, h = input_size
    codec = MSRAHeatmap(input_size=(w, h), heatmap_size=(w // 4, h // 4), sigma=sigma)
    head = HeatmapHead(in_channels, num_keypoints,
                       deconv_out_channels=(256, 256, 256) if deconv else None,
                       deconv_kernel_sizes=(4, 4, 4) if deconv else None,
                       conv_out_channels=conv_out_channels,
                       conv_kernel_sizes=(1,) * len(conv_out_channels) if conv_out_channels else None,
                       decoder=codec)
    return TopdownPoseEstimator(backbone, head, neck, flip_test=flip_test, shift_heatmap=True,
                                flip_indices=_flip_indices(dataset, num_keypoints))


def resnet50_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17, flip_test: bool = True,
                          depth: int = 50) -> TopdownPoseEstimator:
    """SimpleBaseline ResNet-50 (``td-hm_res50_8xb64-210e_coco-256x192``): MSRAHeatmap sigma 2."""
    return _heatmap_model(ResNet(depth), 2048, "coco", num_keypoints, input_size, 2.0, flip_test, True)


def resnet101_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """SimpleBaseline ResNet-101."""
    return resnet50_coco_256x192(input_size, num_keypoints, flip_test, depth=101)


def resnet152_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """SimpleBaseline ResNet-152."""
    return resnet50_coco_256x192(input_size, num_keypoints, flip_test, depth=152)


def hrnet_w32_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """HRNet-W32 (``td-hm_hrnet-w32_8xb64-210e_coco-256x192``): MSRAHeatmap sigma 2, 1x1 head."""
    return _heatmap_model(hrnet_w32(), 32, "coco", num_keypoints, input_size, 2.0, flip_test, False)


def hrnet_w48_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """HRNet-W48 at 256x192."""
    return _heatmap_model(hrnet_w48(), 48, "coco", num_keypoints, input_size, 2.0, flip_test, False)


def hrnet_w48_coco_384x288(input_size: Size = (288, 384), num_keypoints: int = 17,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """HRNet-W48 at 384x288 (sigma 3)."""
    return _heatmap_model(hrnet_w48(), 48, "coco", num_keypoints, input_size, 3.0, flip_test, False)


def hrnet_w32_coco_wholebody_256x192(input_size: Size = (192, 256), num_keypoints: int = 133,
                                     flip_test: bool = True) -> TopdownPoseEstimator:
    """HRNet-W32 on COCO-WholeBody (133 keypoints)."""
    return _heatmap_model(hrnet_w32(), 32, "coco_wholebody", num_keypoints, input_size, 2.0, flip_test, False)


def _hrnetv2_w18(dataset: str, num_keypoints: int, input_size: Size, flip_test: bool) -> TopdownPoseEstimator:
    neck = FeatureMapProcessor(concat=True)
    return _heatmap_model(hrnet_w18(multiscale_output=True), 270, dataset, num_keypoints, input_size, 2.0,
                          flip_test, False, neck=neck, conv_out_channels=(270,))


def hrnetv2_w18_onehand10k_256x256(input_size: Size = (256, 256), num_keypoints: int = 21,
                                   flip_test: bool = True) -> TopdownPoseEstimator:
    """Hand: HRNetV2-W18 (all branches concatenated) on OneHand10K (21 keypoints)."""
    return _hrnetv2_w18("onehand10k", num_keypoints, input_size, flip_test)


def hrnetv2_w18_wflw_256x256(input_size: Size = (256, 256), num_keypoints: int = 98,
                             flip_test: bool = True) -> TopdownPoseEstimator:
    """Face: HRNetV2-W18 on WFLW (98 keypoints)."""
    return _hrnetv2_w18("wflw", num_keypoints, input_size, flip_test)


# ---------------------------------------------------------------- light-weight heatmap models

def mobilenetv2_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                             flip_test: bool = True) -> TopdownPoseEstimator:
    """MobileNetV2 + SimpleBaseline head (``td-hm_mobilenetv2_8xb64-210e_coco-256x192``): 1280
    channels at stride 32, three deconvs, MSRAHeatmap sigma 2."""
    return _heatmap_model(MobileNetV2(widen_factor=1.0, out_indices=(7,)), 1280, "coco", num_keypoints, input_size,
                          2.0, flip_test, True)


def shufflenetv2_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                              flip_test: bool = True) -> TopdownPoseEstimator:
    """ShuffleNetV2 1.0x + SimpleBaseline head (``td-hm_shufflenetv2_8xb64-210e_coco-256x192``)."""
    return _heatmap_model(ShuffleNetV2(widen_factor=1.0), 1024, "coco", num_keypoints, input_size, 2.0, flip_test, True)


def litehrnet_18_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                              flip_test: bool = True) -> TopdownPoseEstimator:
    """Lite-HRNet-18 (``td-hm_litehrnet-18_8xb64-210e_coco-256x192``): 40 channels at stride 4,
    1x1 head, MSRAHeatmap sigma 2."""
    return _heatmap_model(litehrnet_18(), 40, "coco", num_keypoints, input_size, 2.0, flip_test, False)


def litehrnet_30_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                              flip_test: bool = True) -> TopdownPoseEstimator:
    """Lite-HRNet-30 (``td-hm_litehrnet-30_8xb64-210e_coco-256x192``)."""
    return _heatmap_model(litehrnet_30(), 40, "coco", num_keypoints, input_size, 2.0, flip_test, False)


# ---------------------------------------------------------------- ViTPose (plain ViT + 2 deconvs)

_VITPOSE = {"s": (vit_small, 384), "b": (vit_base, 768), "l": (vit_large, 1024)}


def _vitpose(size: str, num_keypoints: int, input_size: Size, flip_test: bool) -> TopdownPoseEstimator:
    make, ch = _VITPOSE[size]
    w, h = input_size
    codec = UDPHeatmap(input_size=(w, h), heatmap_size=(w // 4, h // 4), sigma=2.0)
    head = HeatmapHead(ch, num_keypoints, deconv_out_channels=(256, 256), deconv_kernel_sizes=(4, 4), decoder=codec)
    # the position embedding keeps the 256x192 grid of the released checkpoints; other input sizes
    # interpolate it at run time (mmpretrain's behaviour)
    return TopdownPoseEstimator(make(img_size=(256, 192)), head, flip_test=flip_test, shift_heatmap=False,
                                flip_indices=_flip_indices("coco", num_keypoints))


def vitpose_s_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """ViTPose-S (``td-hm_ViTPose-small_8xb64-210e_coco-256x192``): UDPHeatmap sigma 2."""
    return _vitpose("s", num_keypoints, input_size, flip_test)


def vitpose_b_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """ViTPose-B (``td-hm_ViTPose-base_8xb64-210e_coco-256x192``): ViT-B/16 (patch padding 2, no
    class token, final LayerNorm) + two 4x4 deconvs, UDPHeatmap sigma 2, no heatmap shift on flip."""
    return _vitpose("b", num_keypoints, input_size, flip_test)


def vitpose_l_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """ViTPose-L (``td-hm_ViTPose-large_8xb64-210e_coco-256x192``)."""
    return _vitpose("l", num_keypoints, input_size, flip_test)


# ---------------------------------------------------------------- RTMPose (CSPNeXt + RTMCCHead)

_RTM = {"t": (cspnext_t, 384), "s": (cspnext_s, 512), "m": (cspnext_m, 768), "l": (cspnext_l, 1024)}


def _rtmpose(size: str, dataset: str, num_keypoints: int, input_size: Size, flip_test: bool,
             sigma: tuple[float, float] = (4.9, 5.66)) -> TopdownPoseEstimator:
    make, ch = _RTM[size]
    w, h = input_size
    codec = SimCCLabel(input_size=(w, h), sigma=sigma, simcc_split_ratio=2.0, normalize=False, use_dark=False)
    head = RTMCCHead(ch, num_keypoints, (w, h), (w // 32, h // 32), 2.0, final_layer_kernel_size=7, decoder=codec)
    return TopdownPoseEstimator(make(), head, flip_test=flip_test, flip_indices=_flip_indices(dataset, num_keypoints))


def rtmpose_t_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """RTMPose-t (``rtmpose-t_8xb256-420e_coco-256x192``)."""
    return _rtmpose("t", "coco", num_keypoints, input_size, flip_test)


def rtmpose_s_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """RTMPose-s."""
    return _rtmpose("s", "coco", num_keypoints, input_size, flip_test)


def rtmpose_m_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """RTMPose-m (``rtmpose-m_8xb256-420e_coco-256x192``): SimCCLabel sigma (4.9, 5.66), split 2."""
    return _rtmpose("m", "coco", num_keypoints, input_size, flip_test)


def rtmpose_l_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """RTMPose-l."""
    return _rtmpose("l", "coco", num_keypoints, input_size, flip_test)


def rtmpose_m_coco_wholebody_256x192(input_size: Size = (192, 256), num_keypoints: int = 133,
                                     flip_test: bool = True) -> TopdownPoseEstimator:
    """Whole-body RTMPose-m (133 keypoints)."""
    return _rtmpose("m", "coco_wholebody", num_keypoints, input_size, flip_test)


def rtmpose_m_hand_256x256(input_size: Size = (256, 256), num_keypoints: int = 21,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """Hand RTMPose-m (21 keypoints, SimCC sigma 5.66)."""
    return _rtmpose("m", "onehand10k", num_keypoints, input_size, flip_test, sigma=(5.66, 5.66))


def rtmpose_m_face_256x256(input_size: Size = (256, 256), num_keypoints: int = 98,
                           flip_test: bool = True) -> TopdownPoseEstimator:
    """Face RTMPose-m (WFLW, 98 keypoints)."""
    return _rtmpose("m", "wflw", num_keypoints, input_size, flip_test, sigma=(5.66, 5.66))


# ---------------------------------------------------------------- SimCC / regression

def simcc_resnet50_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                                flip_test: bool = True) -> TopdownPoseEstimator:
    """SimCC ResNet-50 (``simcc_res50_8xb64-210e_coco-256x192``): no deconvs, sigma 6, split 2."""
    w, h = input_size
    codec = SimCCLabel(input_size=(w, h), sigma=6.0, simcc_split_ratio=2.0)
    head = SimCCHead(2048, num_keypoints, (w, h), (w // 32, h // 32), 2.0, deconv_out_channels=None,
                     deconv_kernel_sizes=None, decoder=codec)
    return TopdownPoseEstimator(ResNet(50), head, flip_test=flip_test, flip_indices=_flip_indices("coco", num_keypoints))


def deeppose_resnet50_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                                   flip_test: bool = True) -> TopdownPoseEstimator:
    """DeepPose ResNet-50 (``td-reg_res50_8xb64-210e_coco-256x192``): GAP + linear, SmoothL1."""
    head = RegressionHead(2048, num_keypoints, decoder=RegressionLabel(input_size=tuple(input_size)))
    return TopdownPoseEstimator(ResNet(50), head, GlobalAveragePooling(), flip_test=flip_test,
                                flip_indices=_flip_indices("coco", num_keypoints))


def rle_resnet50_coco_256x192(input_size: Size = (192, 256), num_keypoints: int = 17,
                              flip_test: bool = True) -> TopdownPoseEstimator:
    """RLE ResNet-50 (``td-reg_res50_rle-8xb64-210e_coco-256x192``)."""
    head = RLEHead(2048, num_keypoints, decoder=RegressionLabel(input_size=tuple(input_size)))
    return TopdownPoseEstimator(ResNet(50), head, GlobalAveragePooling(), flip_test=flip_test,
                                flip_indices=_flip_indices("coco", num_keypoints))


def ipr_resnet50_coco_256x256(input_size: Size = (256, 256), num_keypoints: int = 17,
                              flip_test: bool = True) -> TopdownPoseEstimator:
    """Integral regression ResNet-50 (``ipr_res50_8xb64-210e_coco-256x256``): soft-argmax, SmoothL1."""
    w, h = input_size
    codec = IntegralRegressionLabel(input_size=(w, h), heatmap_size=(w // 4, h // 4), sigma=2.0)
    head = IntegralRegressionHead(2048, (w // 32, h // 32), num_keypoints, decoder=codec)
    return TopdownPoseEstimator(ResNet(50), head, flip_test=flip_test, flip_indices=_flip_indices("coco", num_keypoints))


# ---------------------------------------------------------------- bottom-up, lifting

def ae_hrnet_w32_coco_512x512(input_size: Size = (512, 512), num_keypoints: int = 17,
                              flip_test: bool = True) -> BottomupPoseEstimator:
    """Associative embedding HRNet-W32 (``ae_hrnet-w32_8xb24-300e_coco-512x512``): 1x1 head to K
    heatmaps + K tags; AssociativeEmbedding codec (when available) decoding at the input size."""
    w, h = input_size
    decoder = None
    try:
        from .. import codecs

        AE = getattr(codecs, "AssociativeEmbedding")
        decoder = AE(input_size=(w, h), heatmap_size=(w, h), sigma=2, decode_topk=30, decode_center_shift=0.5,
                     decode_keypoint_order=[0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16][:num_keypoints],
                     decode_max_instances=30)
    except Exception:  # the codec is not there yet
        decoder = None
    head = AssociativeEmbeddingHead(32, num_keypoints, tag_dim=1, tag_per_keypoint=True, decoder=decoder)
    return BottomupPoseEstimator(hrnet_w32(), head, flip_test=flip_test, restore_heatmap_size=True,
                                 flip_indices=_flip_indices("coco", num_keypoints))


def _videopose3d(blocks: int, num_keypoints: int) -> PoseLifter:
    backbone = TCN(num_keypoints * 2, 1024, blocks, (3,) * (blocks + 1), dropout=0.25, use_stride_conv=True)
    return PoseLifter(backbone, TemporalRegressionHead(1024, num_keypoints))


def videopose3d_243f_h36m(num_keypoints: int = 17, **_: object) -> PoseLifter:
    """VideoPose3D, 243-frame receptive field (``video-pose-lift_tcn-243frm-supv_8xb128-160e_h36m``)."""
    return _videopose3d(4, num_keypoints)


def videopose3d_81f_h36m(num_keypoints: int = 17, **_: object) -> PoseLifter:
    """VideoPose3D, 81 frames."""
    return _videopose3d(3, num_keypoints)


def videopose3d_27f_h36m(num_keypoints: int = 17, **_: object) -> PoseLifter:
    """VideoPose3D, 27 frames."""
    return _videopose3d(2, num_keypoints)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "resnet50_coco_256x192": resnet50_coco_256x192,
    "resnet101_coco_256x192": resnet101_coco_256x192,
    "resnet152_coco_256x192": resnet152_coco_256x192,
    "hrnet-w32_coco_256x192": hrnet_w32_coco_256x192,
    "hrnet-w48_coco_256x192": hrnet_w48_coco_256x192,
    "hrnet-w48_coco_384x288": hrnet_w48_coco_384x288,
    "hrnet-w32_coco-wholebody_256x192": hrnet_w32_coco_wholebody_256x192,
    "hrnetv2-w18_onehand10k_256x256": hrnetv2_w18_onehand10k_256x256,
    "hrnetv2-w18_wflw_256x256": hrnetv2_w18_wflw_256x256,
    "mobilenetv2_coco_256x192": mobilenetv2_coco_256x192,
    "shufflenetv2_coco_256x192": shufflenetv2_coco_256x192,
    "litehrnet-18_coco_256x192": litehrnet_18_coco_256x192,
    "litehrnet-30_coco_256x192": litehrnet_30_coco_256x192,
    "vitpose-s_coco_256x192": vitpose_s_coco_256x192,
    "vitpose-b_coco_256x192": vitpose_b_coco_256x192,
    "vitpose-l_coco_256x192": vitpose_l_coco_256x192,
    "rtmpose-t_coco_256x192": rtmpose_t_coco_256x192,
    "rtmpose-s_coco_256x192": rtmpose_s_coco_256x192,
    "rtmpose-m_coco_256x192": rtmpose_m_coco_256x192,
    "rtmpose-l_coco_256x192": rtmpose_l_coco_256x192,
    "rtmpose-m_coco-wholebody_256x192": rtmpose_m_coco_wholebody_256x192,
    "rtmpose-m_hand_256x256": rtmpose_m_hand_256x256,
    "rtmpose-m_face-wflw_256x256": rtmpose_m_face_256x256,
    "simcc_resnet50_coco_256x192": simcc_resnet50_coco_256x192,
    "deeppose_resnet50_coco_256x192": deeppose_resnet50_coco_256x192,
    "rle_resnet50_coco_256x192": rle_resnet50_coco_256x192,
    "ipr_resnet50_coco_256x256": ipr_resnet50_coco_256x256,
    "ae_hrnet-w32_coco_512x512": ae_hrnet_w32_coco_512x512,
    "videopose3d-243f_h36m": videopose3d_243f_h36m,
    "videopose3d-81f_h36m": videopose3d_81f_h36m,
    "videopose3d-27f_h36m": videopose3d_27f_h36m,
    "internet_res50_interhand3d_256x256": internet_res50_interhand3d_256x256,
}


def list_models() -> list[str]:
    """Names accepted by ``build_model``, sorted."""
    return sorted(MODELS)


def build_model(name: str, **overrides) -> nn.Module:
    """Build a named model (random weights). ``overrides`` go to the entry point (``input_size``,
    ``num_keypoints``, ``flip_test``).

    Raises:
        KeyError: unknown name (the message lists the known ones).
    """
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(list_models())}")
    return MODELS[name](**overrides)


def default_input(name: str, model: Optional[nn.Module] = None, batch: int = 1) -> torch.Tensor:
    """A zero input of the model's default size: images [B, 3, h, w], or 2D sequences [B, T, K, 2]."""
    if name.startswith("videopose3d"):
        frames = int(re.search(r"(\d+)f", name).group(1))
        return torch.zeros(batch, frames, 17, 2)
    size = name.rsplit("_", 1)[-1]
    h, w = (int(v) for v in size.split("x"))
    return torch.zeros(batch, 3, h, w)


def model_complexity(name: str, batch: int = 1) -> dict[str, float]:
    """Parameter count and forward FLOPs (multiply-add = 2 FLOPs, ``torch.utils.flop_counter``) of a
    named model at its default input size: ``{'params': int, 'flops': float}``."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(name).eval()
    x = default_input(name, model, batch)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return {"params": sum(p.numel() for p in model.parameters()), "flops": float(counter.get_total_flops())}
