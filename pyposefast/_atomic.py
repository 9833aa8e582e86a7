"""Atomic file writes: a temporary file in the destination's folder, flushed and fsynced, then
``os.replace`` (a reader sees the old file or the new one, never a torn one; a crash leaves at most
a stray ``<name>.<random>.tmp`` next to it), then the folder fsynced."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import BinaryIO, Iterator, Union

__all__ = ["atomic_write", "fsync_dir"]

PathLike = Union[str, "os.PathLike[str]"]


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def fsync_dir(folder: str) -> None:
    """fsync a folder (its entries' renames durable); a no-op where the platform refuses."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: PathLike) -> Iterator[BinaryIO]:
    """``with atomic_write(path) as f: f.write(...)``: ``path`` appears complete on success and is
    untouched on error (the temporary file is removed). The folder must exist. The file gets the
    usual ``0666 & ~umask`` mode (``mkstemp`` alone would create 0600)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, _umask_mode())
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(folder)
