"""ResNet 18-152 and ResNetV1d (deep stem, average-pool shortcut), MMPose's parameter names.

Input ``Tensor[B, 3, H, W]``; output a tuple of feature maps, one per ``out_indices`` stage
(stride 4, 8, 16, 32; channels 64..512 x expansion).
"""

from __future__ import annotations

from typing import Sequence, Type, Union

from torch import Tensor, nn

from ..layers import ConvModule, eval_batch_norms

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "ResNetV1d", "resnet18", "resnet34", "resnet50", "resnet101",
           "resnet152", "resnetv1d50"]


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual connection (expansion 1)."""

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        mid = out_channels // self.expansion
        self.conv1 = nn.Conv2d(in_channels, mid, 3, stride, dilation, dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride here, 'pytorch' style) -> 1x1 with a residual connection (expansion 4)."""

    expansion = 4

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        mid = out_channels // self.expansion
        self.conv1 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def make_res_layer(block: Type[Union[BasicBlock, Bottleneck]], num_blocks: int, in_channels: int,
                   out_channels: int, stride: int = 1, dilation: int = 1, avg_down: bool = False) -> nn.Sequential:
    """A stage of ``num_blocks`` blocks; the first one changes stride/channels (with a 1x1 shortcut,
    preceded by an average pool when ``avg_down``)."""
    downsample = None
    if stride != 1 or in_channels != out_channels:
        layers: list[nn.Module] = []
        conv_stride = stride
        if avg_down and stride != 1:
            conv_stride = 1
            layers.append(nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False))
        layers += [nn.Conv2d(in_channels, out_channels, 1, conv_stride, bias=False), nn.BatchNorm2d(out_channels)]
        downsample = nn.Sequential(*layers)
    blocks = [block(in_channels, out_channels, stride, dilation, downsample)]
    blocks += [block(out_channels, out_channels, 1, dilation) for _ in range(1, num_blocks)]
    return nn.Sequential(*blocks)


class ResNet(nn.Module):
    """ResNet backbone (He et al., CVPR 2016), MMPose's ``ResNet``.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        in_channels (int): input channels.
        stem_channels (int): stem output channels.
        base_channels (int): first stage's mid channels.
        num_stages (int): 1-4 stages.
        strides (Sequence[int]), dilations (Sequence[int]): per stage.
        out_indices (Sequence[int]): stages whose outputs are returned.
        deep_stem (bool): three 3x3 convs instead of one 7x7 (ResNetV1c/d).
        avg_down (bool): average-pool before the strided shortcut conv (ResNetV1d).
        frozen_stages (int): stages (and stem, for >= 0) whose parameters are frozen; -1 for none.
        norm_eval (bool): keep BatchNorm in eval mode while training.
    """

    arch_settings = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)),
                     50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3)),
                     152: (Bottleneck, (3, 8, 36, 3))}

    def __init__(self, depth: int = 50, in_channels: int = 3, stem_channels: int = 64, base_channels: int = 64,
                 num_stages: int = 4, strides: Sequence[int] = (1, 2, 2, 2), dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (3,), deep_stem: bool = False, avg_down: bool = False,
                 frozen_stages: int = -1, norm_eval: bool = False) -> None:
        super().__init__()
        if depth not in self.arch_settings:
            raise ValueError(f"invalid depth {depth} for resnet; one of {sorted(self.arch_settings)}")
        block, stage_blocks = self.arch_settings[depth]
        self.out_indices = tuple(out_indices)
        self.deep_stem = deep_stem
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        if deep_stem:
            half = stem_channels // 2
            self.stem = nn.Sequential(ConvModule(in_channels, half, 3, 2, 1), ConvModule(half, half, 3, 1, 1),
                                      ConvModule(half, stem_channels, 3, 1, 1))
        else:
            self.conv1 = nn.Conv2d(in_channels, stem_channels, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(stem_channels)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.res_layers: list[str] = []
        cin, cout = stem_channels, base_channels * block.expansion
        for i, n in enumerate(stage_blocks[:num_stages]):
            self.add_module(f"layer{i + 1}", make_res_layer(block, n, cin, cout, strides[i], dilations[i], avg_down))
            self.res_layers.append(f"layer{i + 1}")
            cin, cout = cout, cout * 2
        self.feat_dim = cin
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        mods: list[nn.Module] = []
        if self.frozen_stages >= 0:
            mods += [self.stem] if self.deep_stem else [self.conv1, self.bn1]
        mods += [getattr(self, f"layer{i}") for i in range(1, self.frozen_stages + 1)]
        for m in mods:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> "ResNet":
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            eval_batch_norms(self)
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        x = self.stem(x) if self.deep_stem else self.relu(self.bn1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


class ResNetV1d(ResNet):
    """ResNetV1d: ResNet with a deep stem and average-pool shortcuts (same Args as ``ResNet``)."""

    def __init__(self, depth: int = 50, **kwargs) -> None:
        super().__init__(depth=depth, deep_stem=True, avg_down=True, **kwargs)


def resnet18(**kwargs) -> ResNet:
    return ResNet(18, **kwargs)


def resnet34(**kwargs) -> ResNet:
    return ResNet(34, **kwargs)


def resnet50(**kwargs) -> ResNet:
    return ResNet(50, **kwargs)


def resnet101(**kwargs) -> ResNet:
    return ResNet(101, **kwargs)


def resnet152(**kwargs) -> ResNet:
    return ResNet(152, **kwargs)


def resnetv1d50(**kwargs) -> ResNetV1d:
    return ResNetV1d(50, **kwargs)
