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
import re
from typing import Any, Mapping, Union

import torch
from torch import nn

__all__ = ["load_checkpoint", "CheckpointMismatchError", "mmpose_to_pyposefast"]

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


def _read(path_or_state_dict: Union[str, os.PathLike, Mapping[str, Any]], map_location: Any) -> dict[str, torch.Tensor]:
    if isinstance(path_or_state_dict, (str, os.PathLike)):
        try:
            obj = torch.load(path_or_state_dict, map_location=map_location, weights_only=True)
        except Exception as e:  # pickled non-tensor objects in 'meta' etc.
            raise RuntimeError(
                f"could not load {os.fspath(path_or_state_dict)!r} with torch.load(weights_only=True): {e}. "
                "Re-save the checkpoint with only tensors and plain values (e.g. {'state_dict': sd})."
            ) from e
    else:
        obj = path_or_state_dict
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
        path_or_state_dict: a file (read with ``torch.load(weights_only=True)``), a checkpoint dict
            with ``state_dict``, or a bare state dict.
        strict (bool): raise ``CheckpointMismatchError`` on any missing, unexpected or mis-shaped
            key (the message lists them); otherwise load what fits and report the rest.
        map_location: passed to ``torch.load``.

    Returns:
        dict: ``missing``, ``unexpected`` and ``mismatched`` lists (empty when strict succeeded).

    Raises:
        CheckpointMismatchError: the checkpoint does not fit the model (strict).
        RuntimeError: the file cannot be read with ``weights_only=True``.
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
