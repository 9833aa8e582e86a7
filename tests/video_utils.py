"""Reading back the small videos the tests write."""

from __future__ import annotations

import cv2


def read_video(path) -> list:
    """Every frame of a video file (BGR uint8 [H, W, 3] arrays), in order."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames
