"""Trainer checkpoints: atomic writes, safe reads, rotation, and the RNG states of a process.

A checkpoint is a plain dict saved with ``torch.save`` and read back with ``weights_only=True``
(tensors, numbers, strings, lists, tuples and dicts only: no pickled objects). ``state_dict`` holds
the weights to run (the EMA weights when EMA is on), so ``pyposefast.models.load_checkpoint`` and
MMPose-style loaders read it directly.
"""

from __future__ import annotations

import glob
import os
import random
import re
import shutil
from typing import Any, Dict, List, Union

import numpy as np
import torch

from .._atomic import atomic_write, fsync_dir

__all__ = ["save_checkpoint", "load_checkpoint_file", "copy_atomic", "link_atomic", "rotate_checkpoints",
           "remove_stale_temporaries",
           "capture_rng_state", "restore_rng_state", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "pyposefast-trainer/1"
PathLike = Union[str, "os.PathLike[str]"]


def save_checkpoint(path: PathLike, state: Dict[str, Any]) -> str:
    """Write ``state`` to ``path`` atomically: a temporary file in the same folder, flushed and
    fsynced, then ``os.replace`` (a reader sees the old file or the new one, never a torn one; a
    crash leaves at most a stray ``.tmp`` file).

    Args:
        path (str): destination (its folder is created).
        state (dict): what ``torch.save`` writes; keep it ``weights_only``-loadable.

    Returns:
        str: ``path``.
    """
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict, got {type(state).__name__}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with atomic_write(path) as f:
        torch.save(state, f)
    return path


def load_checkpoint_file(path: PathLike, map_location: Any = "cpu") -> Dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: no such file. RuntimeError: not a readable checkpoint (names the file).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated file, pickled objects, not a torch file
        raise RuntimeError(f"cannot read checkpoint {path} with torch.load(weights_only=True): {e}") from e
    if not isinstance(state, dict):
        raise RuntimeError(f"checkpoint {path} holds a {type(state).__name__}, expected a dict")
    return state


def copy_atomic(src: PathLike, dst: PathLike) -> str:
    """Copy ``src`` to ``dst`` through a temporary file and ``os.replace``."""
    dst = os.fspath(dst)
    with atomic_write(dst) as out, open(src, "rb") as inp:
        shutil.copyfileobj(inp, out, 1 << 22)
    return dst


def link_atomic(target: PathLike, link: PathLike) -> str:
    """Point the symlink ``link`` at ``target`` (stored relative to the link's folder), replacing
    what was there atomically; copies instead where symlinks are not available."""
    link = os.fspath(link)
    folder = os.path.dirname(os.path.abspath(link))
    rel = os.path.relpath(os.path.abspath(os.fspath(target)), folder)
    tmp = os.path.join(folder, f".{os.path.basename(link)}.{os.getpid()}.lnk")
    try:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(rel, tmp)
        os.replace(tmp, link)
    except OSError:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        return copy_atomic(target, link)
    fsync_dir(folder)
    return link


def remove_stale_temporaries(*folders: PathLike) -> List[str]:
    """Delete the temporary files a killed writer left in ``folders`` (``<name>.pt.<random>.tmp``
    of :func:`save_checkpoint` / :func:`copy_atomic`, ``.<name>.<pid>.lnk`` of :func:`link_atomic`).
    Call it when no writer runs. Returns the deleted paths."""
    deleted = []
    for folder in folders:
        for pattern in ("*.pt.*.tmp", ".*.pt.*.lnk"):
            for p in glob.glob(os.path.join(os.fspath(folder), pattern)):
                os.unlink(p)
                deleted.append(p)
    return deleted


_PERIODIC = re.compile(r"^(epoch|iter)_(\d+)\.pt$")


def rotate_checkpoints(folder: PathLike, keep_last: int, protect: tuple = ()) -> List[str]:
    """Delete the oldest periodic checkpoints (``epoch_N.pt``, ``iter_N.pt``) of ``folder``
    beyond the newest ``keep_last`` (by modification time); never the ``protect`` ed paths.

    Returns:
        list[str]: the deleted files.
    """
    if keep_last is None or keep_last <= 0:
        return []
    files = [p for p in glob.glob(os.path.join(os.fspath(folder), "*.pt")) if _PERIODIC.match(os.path.basename(p))]
    files.sort(key=lambda p: (os.stat(p).st_mtime_ns, p))
    keep = {os.path.abspath(p) for p in protect}
    deleted = []
    for p in files[: max(0, len(files) - keep_last)]:
        if os.path.abspath(p) in keep:
            continue
        os.unlink(p)
        deleted.append(p)
    return deleted


def capture_rng_state() -> Dict[str, Any]:
    """The RNG states of this process (Python, NumPy, torch CPU, every CUDA device), as tensors and
    plain values (``weights_only``-loadable)."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state()
    state: Dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": {"key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Restore what :func:`capture_rng_state` captured (CUDA states only when CUDA is in use)."""
    version, internal, gauss = state["python"]
    random.setstate((int(version), tuple(int(v) for v in internal), gauss))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), int(n["pos"]), int(n["has_gauss"]),
                         float(n["cached_gaussian"])))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        cuda = state["cuda"]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
