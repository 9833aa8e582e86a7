"""Test-only access to mmpretrain's ``VisionTransformer`` (the ViTPose backbone of MMPose's configs)
as a parity reference.

mmpretrain's package ``__init__`` pulls in its inferencers, datasets and evaluation code, which need
modelindex, einops, importlib_metadata and torchvision. The ViT needs none of them, so the packages
``mmpretrain``, ``mmpretrain.models``, ``mmpretrain.models.backbones`` and ``mmpretrain.models.utils``
are entered without running their ``__init__`` and only the files the ViT imports are loaded.
``vision_transformer()`` returns the class (registered as ``mmpretrain.VisionTransformer``) or skips.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types

import pytest

from tests.models.mmpose_ref import mmpose_models

_UTILS = ("helpers", "layer_scale", "norm", "attention", "embed", "swiglu_ffn")


def vision_transformer():
    """mmpretrain's ``VisionTransformer`` class, importable without mmpretrain's optional deps."""
    mmpose_models()  # skips without MMPose / mmengine; installs the mmcv.ops etc. stand-ins
    mod = sys.modules.get("mmpretrain.models.backbones.vision_transformer")
    if mod is not None:
        return mod.VisionTransformer
    spec = importlib.util.find_spec("mmpretrain")
    if spec is None or spec.origin is None:
        pytest.skip("mmpretrain is not installed (tools/install_parity.sh)")
    root = os.path.dirname(spec.origin)

    def package(name: str, path: str) -> types.ModuleType:
        if name in sys.modules:
            return sys.modules[name]
        m = types.ModuleType(name)
        m.__path__ = [path]
        sys.modules[name] = m
        return m

    package("mmpretrain", root)
    package("mmpretrain.models", os.path.join(root, "models"))
    utils = package("mmpretrain.models.utils", os.path.join(root, "models", "utils"))
    package("mmpretrain.models.backbones", os.path.join(root, "models", "backbones"))
    try:
        for sub in _UTILS:
            m = importlib.import_module("mmpretrain.models.utils." + sub)
            for k, v in vars(m).items():
                if not k.startswith("_"):
                    setattr(utils, k, v)
        mod = importlib.import_module("mmpretrain.models.backbones.vision_transformer")
    except ImportError as e:  # a different mmpretrain layout
        pytest.skip(f"mmpretrain's VisionTransformer cannot be imported: {e}")
    return mod.VisionTransformer
