"""``convert_mmpose_checkpoint``: an MMPose 1.x checkpoint -> a pyposefast checkpoint of a named
model (what ``pyposefast convert-mmpose-checkpoint`` runs)."""

from __future__ import annotations

import os
from typing import Any, Union

import torch

from .._atomic import atomic_write
from .checkpoint import load_checkpoint, read_checkpoint
from .zoo import build_model

__all__ = ["convert_mmpose_checkpoint"]


def convert_mmpose_checkpoint(src: Union[str, os.PathLike], dst: Union[str, os.PathLike], model_name: str,
                              **model_overrides: Any) -> dict:
    """Convert an MMPose 1.x checkpoint for the named model and write ours.

    Steps: read ``src`` with ``torch.load(weights_only=True)`` (``read_checkpoint``: MMPose's
    ``meta`` / ``message_hub`` objects become inert stand-ins, NumPy arrays load as data, no
    foreign code runs), map its ``state_dict`` keys to ours (``mmpose_to_pyposefast``: dropped
    ``data_preprocessor.*``, ``module.`` prefixes, head renames, ViT position-embedding grids),
    build ``build_model(model_name, **model_overrides)`` and load strictly, then write
    ``{"state_dict": the model's state dict, "meta": {"model": model_name, "source": src,
    "model_overrides": ...}}`` to ``dst`` atomically (a temporary file in ``dst``'s folder, then
    ``os.replace``), loadable with plain ``torch.load(weights_only=True)``.

    Args:
        src (str or PathLike): the MMPose checkpoint (a dict with ``state_dict``, or a bare state dict).
        dst (str or PathLike): the file to write (its folder must exist).
        model_name (str): a ``pyposefast.models.list_models()`` name.
        **model_overrides: ``build_model`` overrides (``input_size``, ``num_keypoints`` ...), recorded
            in ``meta``.

    Returns:
        dict: the written ``meta``.

    Raises:
        KeyError: unknown ``model_name``.
        CheckpointMismatchError: the checkpoint does not fit the model (lists missing, unexpected and
            mis-shaped keys); nothing is written.
        RuntimeError: ``src`` cannot be read safely.
        FileNotFoundError: ``src`` or ``dst``'s folder does not exist.
    """
    src, dst = os.fspath(src), os.fspath(dst)
    if not os.path.isfile(src):
        raise FileNotFoundError(f"src: no such checkpoint file {src!r}")
    folder = os.path.dirname(os.path.abspath(dst))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"dst: the folder {folder!r} does not exist")
    model = build_model(model_name, **model_overrides)
    load_checkpoint(model, read_checkpoint(src), strict=True)
    meta = {"model": model_name, "source": os.path.abspath(src),
            "model_overrides": {k: (list(v) if isinstance(v, tuple) else v) for k, v in model_overrides.items()}}
    state_dict = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_write(dst) as f:
        torch.save({"state_dict": state_dict, "meta": meta}, f)
    return meta
