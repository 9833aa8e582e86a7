"""HRNet (Sun et al., CVPR 2019): parallel multi-resolution branches with repeated fusion.
MMPose's ``HRNet`` parameter names, so MMPose checkpoints load without key mapping.

Input ``Tensor[B, 3, H, W]``; output a tuple: the stride-4 map (``multiscale_output=False``, the
top-down configs) or all branches (strides 4, 8, 16, 32).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from torch import Tensor, nn

from ..layers import eval_batch_norms
from .resnet import BasicBlock, Bottleneck

__all__ = ["HRModule", "HRNet", "hrnet_extra", "hrnet_w18", "hrnet_w32", "hrnet_w48"]

BLOCKS = {"BASIC": BasicBlock, "BOTTLENECK": Bottleneck}


def _conv_bn(cin: int, cout: int, k: int, s: int, p: int, relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class HRModule(nn.Module):
    """One multi-resolution module: per-branch residual blocks, then exchange between branches
    (upsample by 1x1 conv + nearest, downsample by strided 3x3 convs), summed and ReLU'd.

    Args:
        num_branches (int): number of resolutions.
        block (type): BasicBlock or Bottleneck.
        num_blocks (Sequence[int]): blocks per branch.
        in_channels (list[int]): input channels per branch (updated to the output channels).
        num_channels (Sequence[int]): block channels per branch (before expansion).
        multiscale_output (bool): output every branch (else only the highest resolution).
    """

    def __init__(self, num_branches: int, block: type, num_blocks: Sequence[int], in_channels: list[int],
                 num_channels: Sequence[int], multiscale_output: bool = False) -> None:
        super().__init__()
        for name, seq in (("NUM_BLOCKS", num_blocks), ("NUM_CHANNELS", num_channels), ("NUM_INCHANNELS", in_channels)):
            if len(seq) != num_branches:
                raise ValueError(f"NUM_BRANCHES({num_branches}) != {name}({len(seq)})")
        self.in_channels = in_channels
        self.num_branches = num_branches
        self.multiscale_output = multiscale_output
        branches = []
        for i in range(num_branches):
            cout = num_channels[i] * block.expansion
            down = None
            if in_channels[i] != cout:
                down = nn.Sequential(nn.Conv2d(in_channels[i], cout, 1, bias=False), nn.BatchNorm2d(cout))
            layers = [block(in_channels[i], cout, downsample=down)]
            layers += [block(cout, cout) for _ in range(1, num_blocks[i])]
            in_channels[i] = cout
            branches.append(nn.Sequential(*layers))
        self.branches = nn.ModuleList(branches)
        self.fuse_layers = self._make_fuse_layers() if num_branches > 1 else None
        self.relu = nn.ReLU(inplace=True)

    def _make_fuse_layers(self) -> nn.ModuleList:
        c = self.in_channels
        fuse = []
        for i in range(self.num_branches if self.multiscale_output else 1):
            row: list[Optional[nn.Module]] = []
            for j in range(self.num_branches):
                if j > i:
                    row.append(nn.Sequential(nn.Conv2d(c[j], c[i], 1, bias=False), nn.BatchNorm2d(c[i]),
                                             nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")))
                elif j == i:
                    row.append(None)
                else:
                    steps = [_conv_bn(c[j], c[j], 3, 2, 1, True) for _ in range(i - j - 1)]
                    steps.append(_conv_bn(c[j], c[i], 3, 2, 1, False))
                    row.append(nn.Sequential(*steps))
            fuse.append(nn.ModuleList(row))
        return nn.ModuleList(fuse)

    def forward(self, x: list[Tensor]) -> list[Tensor]:
        if self.num_branches == 1:
            return [self.branches[0](x[0])]
        x = [branch(xi) for branch, xi in zip(self.branches, x)]
        out = []
        for i, row in enumerate(self.fuse_layers):
            y = x[i]
            for j in range(self.num_branches):
                if j != i:
                    y = y + row[j](x[j])
            out.append(self.relu(y))
        return out


def hrnet_extra(width: int, multiscale_output: bool = False) -> dict[str, Any]:
    """The standard HRNet-W{width} stage settings (MMPose's ``extra`` dict)."""
    w = width
    return dict(
        stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(4,), num_channels=(64,)),
        stage2=dict(num_modules=1, num_branches=2, block="BASIC", num_blocks=(4, 4), num_channels=(w, 2 * w)),
        stage3=dict(num_modules=4, num_branches=3, block="BASIC", num_blocks=(4, 4, 4),
                    num_channels=(w, 2 * w, 4 * w)),
        stage4=dict(num_modules=3, num_branches=4, block="BASIC", num_blocks=(4, 4, 4, 4),
                    num_channels=(w, 2 * w, 4 * w, 8 * w), multiscale_output=multiscale_output),
    )


class HRNet(nn.Module):
    """High-resolution network backbone, MMPose's ``HRNet``.

    Args:
        extra (dict): per-stage settings ``stage1..stage4`` with ``num_modules``, ``num_branches``,
            ``block`` ('BASIC' | 'BOTTLENECK'), ``num_blocks``, ``num_channels`` and, for stage 4,
            ``multiscale_output`` (see ``hrnet_extra``).
        in_channels (int): input channels.
        norm_eval (bool): keep BatchNorm in eval mode while training.
        frozen_stages (int): freeze the stem (>= 0) and stages 1..frozen_stages; -1 for none.
    """

    def __init__(self, extra: dict[str, Any], in_channels: int = 3, norm_eval: bool = False,
                 frozen_stages: int = -1) -> None:
        super().__init__()
        self.extra = extra
        self.norm_eval = norm_eval
        self.frozen_stages = frozen_stages
        self.conv1 = nn.Conv2d(in_channels, 64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        s1 = extra["stage1"]
        block = BLOCKS[s1["block"]]
        c1 = s1["num_channels"][0] * block.expansion
        down = None if c1 == 64 else nn.Sequential(nn.Conv2d(64, c1, 1, bias=False), nn.BatchNorm2d(c1))
        self.layer1 = nn.Sequential(block(64, c1, downsample=down),
                                    *[block(c1, c1) for _ in range(1, s1["num_blocks"][0])])
        pre = [c1]
        for s in (2, 3, 4):
            cfg = extra[f"stage{s}"]
            blk = BLOCKS[cfg["block"]]
            chans = [c * blk.expansion for c in cfg["num_channels"]]
            self.add_module(f"transition{s - 1}", self._make_transition(pre, chans))
            ms = cfg.get("multiscale_output", False) if s == 4 else True
            stage, pre = self._make_stage(cfg, chans, ms)
            self.add_module(f"stage{s}", stage)
        self._freeze_stages()

    @staticmethod
    def _make_transition(pre: list[int], cur: list[int]) -> nn.ModuleList:
        layers: list[Optional[nn.Module]] = []
        for i, c in enumerate(cur):
            if i < len(pre):
                layers.append(_conv_bn(pre[i], c, 3, 1, 1, True) if c != pre[i] else None)
            else:
                steps = []
                for j in range(i + 1 - len(pre)):
                    cin = pre[-1]
                    cout = c if j == i - len(pre) else cin
                    steps.append(_conv_bn(cin, cout, 3, 2, 1, True))
                layers.append(nn.Sequential(*steps))
        return nn.ModuleList(layers)

    @staticmethod
    def _make_stage(cfg: dict[str, Any], in_channels: list[int], multiscale_output: bool):
        mods = []
        in_channels = list(in_channels)
        for i in range(cfg["num_modules"]):
            ms = multiscale_output or i != cfg["num_modules"] - 1
            mods.append(HRModule(cfg["num_branches"], BLOCKS[cfg["block"]], cfg["num_blocks"], in_channels,
                                 cfg["num_channels"], ms))
            in_channels = mods[-1].in_channels
        return nn.Sequential(*mods), in_channels

    def _freeze_stages(self) -> None:
        mods: list[nn.Module] = []
        if self.frozen_stages >= 0:
            mods += [self.conv1, self.bn1, self.conv2, self.bn2]
        for i in range(1, self.frozen_stages + 1):
            mods.append(self.layer1 if i == 1 else getattr(self, f"stage{i}"))
            if i < 4:
                mods.append(getattr(self, f"transition{i}"))
        for m in mods:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> "HRNet":
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            eval_batch_norms(self)
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        ys = [self.layer1(x)]
        for s in (2, 3, 4):
            trans = getattr(self, f"transition{s - 1}")
            n = self.extra[f"stage{s}"]["num_branches"]
            xs = []
            for i in range(n):
                if trans[i] is not None:
                    xs.append(trans[i](ys[-1]))
                else:
                    xs.append(ys[i])
            ys = getattr(self, f"stage{s}")(xs)
        return tuple(ys)


def hrnet_w18(multiscale_output: bool = False, **kwargs) -> HRNet:
    return HRNet(hrnet_extra(18, multiscale_output), **kwargs)


def hrnet_w32(multiscale_output: bool = False, **kwargs) -> HRNet:
    return HRNet(hrnet_extra(32, multiscale_output), **kwargs)


def hrnet_w48(multiscale_output: bool = False, **kwargs) -> HRNet:
    return HRNet(hrnet_extra(48, multiscale_output), **kwargs)
