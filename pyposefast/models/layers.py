"""Small building blocks shared by the model files (plain PyTorch, MMPose/mmcv state-dict names)."""

from __future__ import annotations

from typing import Optional

from torch import Tensor, nn

__all__ = ["ConvModule", "make_act"]


def make_act(act: Optional[str], inplace: bool = True) -> Optional[nn.Module]:
    """``'relu'``, ``'silu'``, ``'relu6'``, ``'hswish'``, ``'leaky_relu'``, ``'gelu'`` or None."""
    if act is None:
        return None
    table = {
        "relu": lambda: nn.ReLU(inplace=inplace),
        "silu": lambda: nn.SiLU(inplace=inplace),
        "relu6": lambda: nn.ReLU6(inplace=inplace),
        "hswish": lambda: nn.Hardswish(inplace=inplace),
        "leaky_relu": lambda: nn.LeakyReLU(0.01, inplace=inplace),
        "gelu": lambda: nn.GELU(),
    }
    if act not in table:
        raise ValueError(f"unknown activation {act!r}; one of {sorted(table)}")
    return table[act]()


class ConvModule(nn.Module):
    """Conv2d -> BatchNorm -> activation, with mmcv's ``ConvModule`` parameter names (``conv``, ``bn``).

    Args:
        in_channels (int), out_channels (int), kernel_size (int), stride (int), padding (int),
        dilation (int), groups (int): as ``nn.Conv2d``.
        norm (bool): add a BatchNorm2d named ``bn`` (the conv then has no bias unless ``bias=True``).
        act (str, optional): activation name (see ``make_act``), None for none.
        bias (bool, optional): conv bias; default: not ``norm``.
        bn_eps (float), bn_momentum (float): BatchNorm settings.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1,
                 padding: int = 0, dilation: int = 1, groups: int = 1, norm: bool = True,
                 act: Optional[str] = "relu", bias: Optional[bool] = None, bn_eps: float = 1e-5,
                 bn_momentum: float = 0.1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                              bias=(not norm) if bias is None else bias)
        self.bn = nn.BatchNorm2d(out_channels, eps=bn_eps, momentum=bn_momentum) if norm else None
        self.activate = make_act(act)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.activate is not None:
            x = self.activate(x)
        return x


def eval_batch_norms(module: nn.Module) -> None:
    """MMPose's ``norm_eval``: put every BatchNorm inside ``module`` in eval mode (running statistics
    frozen) after ``module.train()``."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
