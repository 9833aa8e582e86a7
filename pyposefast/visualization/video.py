"""Writing drawn frames to a video file with OpenCV (``cv2.VideoWriter``)."""

from __future__ import annotations

import os
from typing import Optional, Tuple

import cv2
import numpy as np

__all__ = ["VideoWriter", "fourcc_for"]

#: codec by file extension: MJPG for .avi (always available in OpenCV builds), mp4v otherwise.
_FOURCC = {".avi": "MJPG", ".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v"}


def fourcc_for(path: str) -> str:
    """The four-character codec used for ``path``'s extension (``.avi``: MJPG, others: mp4v)."""
    return _FOURCC.get(os.path.splitext(path)[1].lower(), "mp4v")


class VideoWriter:
    """Frames (BGR ``HWC uint8``, all of one size, fixed by the first) to a video file.

    Usable as a context manager; ``close()`` releases the file. Opening happens on the first frame
    (the size is known then), and a writer that OpenCV cannot open raises ``OSError``.

    Args:
        path (str): output file (folders are created); the codec follows the extension
            (:func:`fourcc_for`).
        fps (float): frames per second (a non-positive or unknown rate becomes 25).
        fourcc (str, optional): override the codec (four characters, e.g. ``'XVID'``).
    """

    def __init__(self, path: str, fps: float = 25.0, fourcc: Optional[str] = None) -> None:
        self.path = os.fspath(path)
        self.fps = float(fps) if fps and fps > 0 and np.isfinite(fps) else 25.0
        self.fourcc = fourcc or fourcc_for(self.path)
        if len(self.fourcc) != 4:
            raise ValueError(f"fourcc must be four characters, got {self.fourcc!r}")
        self.size: Optional[Tuple[int, int]] = None
        self.frames = 0
        self._writer: Optional[cv2.VideoWriter] = None

    def write(self, frame: np.ndarray) -> None:
        """Append one frame (ndarray[H, W, 3] uint8 BGR, the size of the first frame)."""
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError("frame must be an (H, W, 3) uint8 BGR array, got "
                             f"{getattr(frame, 'shape', type(frame).__name__)} {getattr(frame, 'dtype', '')}")
        size = (frame.shape[1], frame.shape[0])
        if self._writer is None:
            folder = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(folder, exist_ok=True)
            self._writer = cv2.VideoWriter(self.path, cv2.VideoWriter_fourcc(*self.fourcc), self.fps, size)
            if not self._writer.isOpened():
                self._writer = None
                raise OSError(f"OpenCV cannot open a {self.fourcc} video writer for {self.path}")
            self.size = size
        elif size != self.size:
            raise ValueError(f"frame size {size} differs from the video's {self.size}")
        self._writer.write(np.ascontiguousarray(frame))
        self.frames += 1

    def close(self) -> None:
        """Finish the file (idempotent)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
