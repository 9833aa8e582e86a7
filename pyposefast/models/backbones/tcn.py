"""Temporal convolutional network of VideoPose3D (Pavllo et al., CVPR 2019), MMPose's ``TCN``
parameter names. Input ``Tensor[B, C_in, T]`` (C_in = K * 2); output one ``Tensor[B, C, T_i]`` per block.
"""

from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

__all__ = ["ConvModule1d", "BasicTemporalBlock", "TCN"]


class ConvModule1d(nn.Module):
    """Conv1d (no bias) -> BatchNorm1d -> ReLU, mmcv's names (``conv``, ``bn``)."""

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel_size, stride, 0, dilation, bias=False)
        self.bn = nn.BatchNorm1d(cout)
        self.activate = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.activate(self.bn(self.conv(x)))


class BasicTemporalBlock(nn.Module):
    """Dilated (or strided) temporal conv + 1x1 conv with a residual on the cropped input."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float = 0.25, causal: bool = False,
                 use_stride_conv: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.use_stride_conv = kernel_size, use_stride_conv
        self.pad = (kernel_size - 1) * dilation // 2
        if use_stride_conv:
            stride, self.causal_shift, dilation = kernel_size, (kernel_size // 2 if causal else 0), 1
        else:
            stride, self.causal_shift = 1, (kernel_size // 2 * dilation if causal else 0)
        self.conv1 = nn.Sequential(ConvModule1d(channels, channels, kernel_size, stride, dilation))
        self.conv2 = nn.Sequential(ConvModule1d(channels, channels, 1))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out = self.dropout(self.conv2(self.dropout(self.conv1(x))))
        if self.use_stride_conv:
            res = x[:, :, self.causal_shift + self.kernel_size // 2:: self.kernel_size]
        else:
            res = x[:, :, self.pad + self.causal_shift: x.shape[2] - self.pad + self.causal_shift]
        return out + res


class TCN(nn.Module):
    """VideoPose3D temporal backbone. The receptive field is the product of ``kernel_sizes``
    (3x3x3x3x3 = 243 frames, 3x3x3x3 = 81, 3x3x3 = 27).

    Args:
        in_channels (int): K * 2.
        stem_channels (int): channels throughout.
        num_blocks (int): temporal blocks (= len(kernel_sizes) - 1).
        kernel_sizes (Sequence[int]): stem kernel then one per block (odd).
        dropout (float): dropout rate.
        causal (bool): causal convolutions.
        use_stride_conv (bool): strided (training-efficient) instead of dilated convs.
    """

    def __init__(self, in_channels: int, stem_channels: int = 1024, num_blocks: int = 2,
                 kernel_sizes: Sequence[int] = (3, 3, 3), dropout: float = 0.25, causal: bool = False,
                 use_stride_conv: bool = False) -> None:
        super().__init__()
        if num_blocks != len(kernel_sizes) - 1:
            raise ValueError(f"num_blocks ({num_blocks}) must be len(kernel_sizes) - 1 ({len(kernel_sizes) - 1})")
        for k in kernel_sizes:
            if k % 2 != 1:
                raise ValueError(f"kernel sizes must be odd, got {tuple(kernel_sizes)}")
        self.num_blocks = num_blocks
        self.expand_conv = ConvModule1d(in_channels, stem_channels, kernel_sizes[0],
                                        kernel_sizes[0] if use_stride_conv else 1)
        dilation = kernel_sizes[0]
        blocks = []
        for i in range(1, num_blocks + 1):
            blocks.append(BasicTemporalBlock(stem_channels, kernel_sizes[i], dilation, dropout, causal, use_stride_conv))
            dilation *= kernel_sizes[i]
        self.tcn_blocks = nn.ModuleList(blocks)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        x = self.dropout(self.expand_conv(x))
        outs = []
        for blk in self.tcn_blocks:
            x = blk(x)
            outs.append(x)
        return tuple(outs)
