"""Backbones: one file per family, MMPose's parameter names."""

from .cspnext import CSPNeXt
from .hrnet import HRNet
from .resnet import ResNet, ResNetV1d
from .tcn import TCN

__all__ = ["ResNet", "ResNetV1d", "HRNet", "CSPNeXt", "TCN"]
