"""Loading MMPose 1.x checkpoints (and our own) into pyposefast models.

Our module names follow MMPose's state-dict keys (``backbone.*``, ``neck.*``, ``head.*``), so most
keys load as they are; what differs is mapped here, explicitly:

- ``data_preprocessor.*`` (MMPose's normalisation buffers) is dropped: our models take normalised input.
- ``module.`` prefixes (DDP-wrapped saves) are stripped.
- AssociativeEmbeddingHead: MMPose keeps its losses under ``head.loss_module.{keypoint_loss,tag_loss}``
  (no parameters); ours are ``head.keypoint_loss`` / ``head.tag_loss``.
- HeatmapHead checkpoints of MMPose 0.x layout (``head.final_layer.<i>.*`` holding the extra convs)
  are mapped to ``head.conv_layers.<i>.*`` / ``head.final_layer.*`` as MMPose's own load hook does.
- Plain ViT backbones (``VisionTransformer``): a ``pos_embed`` of another patch grid (e.g. pre-trained
  at 224x224, 14x14, for a 256x192 model's 16x12 grid) is interpolated onto the model's grid as
  mmpretrain's ``resize_pos_embed`` does (bicubic, ``align_corners=False``, class-token entry kept
  apart), before the shapes are compared; a class-token entry (and a ``cls_token``) that the model
  does not have (ViTPose: ``with_cls_token=False``) is dropped, as MMPose's non-strict pre-trained
  loading ignores it.
"""

from __future__ import annotations

import os
import pickle
import re
from typing import Any, Mapping, Union

import torch
from torch import nn

__all__ = ["load_checkpoint", "read_checkpoint", "CheckpointMismatchError", "mmpose_to_pyposefast"]

_DROP = (re.compile(r"^data_preprocessor\."),)


class CheckpointMismatchError(RuntimeError):
    """The checkpoint does not fit the model: carries ``missing``, ``unexpected`` and
    ``mismatched`` (key, checkpoint shape, model shape) lists."""

    def __init__(self, missing: list[str], unexpected: list[str], mismatched: list[tuple[str, tuple, tuple]]) -> None:
        self.missing, self.unexpected, self.mismatched = missing, unexpected, mismatched

        def show(keys: list[str]) -> str:
            return ", ".join(keys[:30]) + (f", ... ({len(keys)} in all)" if len(keys) > 30 else "")

        parts = []
        if missing:
            parts.append(f"missing keys ({len(missing)}): {show(missing)}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {show(unexpected)}")
        if mismatched:
            parts.append("shape mismatches: " + "; ".join(f"{k}: checkpoint {a} vs model {b}" for k, a, b in mismatched[:30]))
        super().__init__("checkpoint does not match the model: " + " | ".join(parts))


class _InertStandIn:
    """What an object of a class we do not trust becomes when a checkpoint is read: it records the
    arguments and state it was built with and runs none of the original class's code."""

    qualified_name = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> "_InertStandIn":
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<not loaded: {self.qualified_name}>"


def _numpy_data_globals() -> dict[str, Any]:
    """NumPy's array / dtype / scalar reconstructors: they rebuild plain data (MMPose's
    ``meta['dataset_meta']`` holds arrays), so they are allowed as themselves."""
    import numpy as np

    out: dict[str, Any] = {"numpy.ndarray": np.ndarray, "numpy.dtype": np.dtype}
    for mod in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            m = __import__(mod, fromlist=["_reconstruct", "scalar"])
        except ImportError:
            continue
        out[f"{mod}._reconstruct"] = m._reconstruct
        out[f"{mod}.scalar"] = m.scalar
    for name in dir(getattr(np, "dtypes", object())):
        if name.endswith("DType"):
            out[f"numpy.dtypes.{name}"] = getattr(np.dtypes, name)
    return out


def read_checkpoint(path: Union[str, os.PathLike], map_location: Any = "cpu") -> Any:
    """Read a checkpoint file with ``torch.load(weights_only=True)``, also when it holds objects of
    other libraries (MMPose/mmengine checkpoints: ``meta``, ``message_hub`` ...).

    How: a plain ``weights_only=True`` load first. If the file names globals that PyTorch's
    weights-only unpickler does not allow, ``torch.serialization.get_unsafe_globals_in_checkpoint``
    lists them without running anything; NumPy's array/dtype/scalar reconstructors are allowed as
    themselves (plain data), every other name (e.g. ``mmengine.logging.HistoryBuffer``,
    ``builtins.getattr``, or anything hostile such as ``os.system``) is mapped, with
    ``torch.serialization.safe_globals``, to an inert stand-in class that only records its
    arguments. The weights-only unpickler then rebuilds the tensors as usual; no code of the
    checkpoint's classes runs and the stand-ins are never called for their original purpose.

    Returns:
        the loaded object (tensors intact; foreign objects as ``_InertStandIn`` instances).

    Raises:
        RuntimeError: the file cannot be read even so (the message says what to do).
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as first:
        try:
            names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except Exception:  # not a zip checkpoint (legacy format): nothing more to try safely
            raise RuntimeError(f"could not load {os.fspath(path)!r} with torch.load(weights_only=True): {first}") \
                from first
        data = _numpy_data_globals()
        allowed: list[Any] = []
        for name in names:
            if name in data:
                allowed.append(data[name])
            else:
                stand_in = type(name.rsplit(".", 1)[-1], (_InertStandIn,), {"qualified_name": name})
                allowed.append((stand_in, name))
        if any(name.startswith("numpy.") for name in names):  # np.dtype(...) builds e.g. numpy.dtypes.Float32DType
            allowed += [v for k, v in data.items() if k.startswith("numpy.dtypes.")]
        try:
            with torch.serialization.safe_globals(allowed):
                return torch.load(path, map_location=map_location, weights_only=True)
        except Exception as e:
            raise RuntimeError(
                f"could not load {os.fspath(path)!r} with torch.load(weights_only=True), even with inert stand-ins "
                f"for {names}: {e}. Re-save the checkpoint with only tensors and plain values "
                "(e.g. torch.save({'state_dict': ckpt['state_dict']}, path))."
            ) from e


def _read(path_or_state_dict: Union[str, os.PathLike, Mapping[str, Any]], map_location: Any) -> dict[str, torch.Tensor]:
    obj = read_checkpoint(path_or_state_dict, map_location) if isinstance(path_or_state_dict, (str, os.PathLike)) \
        else path_or_state_dict
    if not isinstance(obj, Mapping):
        raise TypeError(f"a checkpoint must be a dict (with 'state_dict') or a state dict, got {type(obj).__name__}")
    if "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    elif "model" in obj and isinstance(obj["model"], Mapping):
        obj = obj["model"]
    return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def mmpose_to_pyposefast(state_dict: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Map an MMPose state dict's keys to ``model``'s (see the module docstring for the rules)."""
    own = set(model.state_dict().keys())
    out: dict[str, torch.Tensor] = {}
    for k, v in state_dict.items():
        while k.startswith("module."):
            k = k[len("module."):]
        if any(p.match(k) for p in _DROP):
            continue
        if k.startswith("head.loss_module.") and k not in own:
            alt = "head." + k[len("head.loss_module."):]
            if alt in own:
                k = alt
        m = re.match(r"^head\.final_layer\.(\d+)\.(.+)$", k)
        if m and k not in own:
            cand = f"head.conv_layers.{m.group(1)}.{m.group(2)}"
            k = cand if cand in own else f"head.final_layer.{m.group(2).split('.')[-1]}"
        out[k] = v
    _adapt_vit_position_embeddings(out, model)
    return out


def _adapt_vit_position_embeddings(state_dict: dict[str, torch.Tensor], model: nn.Module) -> None:
    from .backbones.vit import VisionTransformer

    for name, module in model.named_modules():
        if isinstance(module, VisionTransformer):
            prefix = f"{name}." if name else ""
            module._prepare_pos_embed(state_dict, prefix)
            if module.cls_token is None:
                state_dict.pop(prefix + "cls_token", None)


def load_checkpoint(model: nn.Module, path_or_state_dict: Union[str, os.PathLike, Mapping[str, Any]],
                    strict: bool = True, map_location: Any = "cpu") -> dict[str, list]:
    """Load an MMPose 1.x (or pyposefast) checkpoint into ``model``.

    Args:
        model (nn.Module): a pyposefast model built for the same configuration.
        path_or_state_dict: a file (read with ``torch.load(weights_only=True)`` by
            ``read_checkpoint``: MMPose's ``meta`` and other foreign objects are read as inert
            stand-ins), a checkpoint dict with ``state_dict``, or a bare state dict.
        strict (bool): raise ``CheckpointMismatchError`` on any missing, unexpected or mis-shaped
            key (the message lists them); otherwise load what fits and report the rest.
        map_location: passed to ``torch.load``.

    Returns:
        dict: ``missing``, ``unexpected`` and ``mismatched`` lists (empty when strict succeeded).

    Raises:
        CheckpointMismatchError: the checkpoint does not fit the model (strict).
        RuntimeError: the file cannot be read with ``weights_only=True`` (see ``read_checkpoint``).
    """
    sd = mmpose_to_pyposefast(_read(path_or_state_dict, map_location), model)
    own = model.state_dict()
    missing = sorted(k for k in own if k not in sd and not k.endswith("num_batches_tracked"))
    unexpected = sorted(k for k in sd if k not in own)
    mismatched = [(k, tuple(sd[k].shape), tuple(own[k].shape)) for k in sorted(sd)
                  if k in own and sd[k].shape != own[k].shape]
    if strict and (missing or unexpected or mismatched):
        raise CheckpointMismatchError(missing, unexpected, mismatched)
    loadable = {k: v for k, v in sd.items() if k in own and v.shape == own[k].shape}
    model.load_state_dict(loadable, strict=False)
    return {"missing": missing, "unexpected": unexpected, "mismatched": mismatched}
