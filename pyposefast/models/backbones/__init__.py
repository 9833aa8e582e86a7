"""Backbones: one file per family, MMPose's parameter names."""

from .cspnext import CSPNeXt
from .hrnet import HRNet
from .litehrnet import LiteHRNet
from .mobilenet_v2 import MobileNetV2
from .resnet import ResNet, ResNetV1d
from .shufflenet_v2 import ShuffleNetV2
from .tcn import TCN
from .vit import VisionTransformer

__all__ = ["ResNet", "ResNetV1d", "HRNet", "CSPNeXt", "TCN", "MobileNetV2", "ShuffleNetV2", "LiteHRNet",
           "VisionTransformer"]
