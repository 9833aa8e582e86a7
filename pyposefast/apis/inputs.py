"""What the inferencer accepts, turned into a stream of frames: image arrays, image files, folders of
images, video files (read with ``cv2.VideoCapture``), or a list of these."""

from __future__ import annotations

import itertools
import os
import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Deque, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

__all__ = ["Frame", "iter_frames", "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "array_name", "expand_inputs"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")

Input = Union[np.ndarray, str, os.PathLike]


@dataclass
class Frame:
    """One image to run on.

    Attributes:
        image (ndarray[H, W, 3] uint8): BGR pixels.
        input_index (int): position of the input item (after ``expand_inputs``) it came from.
        img_path (str or None): the image file, or the video file of a frame; None for arrays.
        frame_id (int or None): the frame number in its video; None for still images.
        name (str): file stem for outputs (the image's or video's; MMPose's ``'{i}.jpg'.rjust(10,
            '0')`` stem for arrays).
        fps (float or None): the video's frame rate.
    """

    image: np.ndarray
    input_index: int
    img_path: Optional[str]
    frame_id: Optional[int]
    name: str
    fps: Optional[float] = None

    @property
    def is_video(self) -> bool:
        return self.frame_id is not None


def array_name(index: int) -> str:
    """MMPose's made-up name of an array input: ``f'{index}.jpg'.rjust(10, '0')`` without ``.jpg``."""
    return os.path.splitext(f"{index}.jpg".rjust(10, "0"))[0]


def _as_bgr(image: np.ndarray, where: str) -> np.ndarray:
    if image.dtype != np.uint8:
        raise ValueError(f"{where} must be a uint8 image (H, W, 3) BGR, got dtype {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 1:
        return cv2.cvtColor(image[..., 0], cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    raise ValueError(f"{where} must be (H, W, 3) BGR (or gray / BGRA), got shape {image.shape}")


def _kind(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext in VIDEO_EXTENSIONS:
        return "video"
    return "image"


def expand_inputs(inputs: Any) -> List[Tuple[Input, int]]:
    """The input items, folders expanded to their sorted image files.

    Args:
        inputs: an image array, a path (image, folder or video), or a list / tuple of these.

    Returns:
        list: ``(item, source)`` pairs in order: an array or a file path (str), and the index of the
        entry of ``inputs`` it came from (0 for a single input).

    Raises:
        TypeError: an item of another type. FileNotFoundError: a path that does not exist.
        ValueError: a folder without images.
    """
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    out: List[Tuple[Input, int]] = []
    for i, item in enumerate(items):
        where = "inputs" if not isinstance(inputs, (list, tuple)) else f"inputs[{i}]"
        if isinstance(item, np.ndarray):
            out.append((item, i))
            continue
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"{where} must be an image array, a path (image, folder or video) or a list of these, "
                            f"got {type(item).__name__}")
        path = os.fspath(item)
        if os.path.isdir(path):
            files = sorted(os.path.join(path, f) for f in os.listdir(path)
                           if os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS
                           and os.path.isfile(os.path.join(path, f)))
            if not files:
                raise ValueError(f"{where}: folder {path!r} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
            out.extend((f, i) for f in files)
        elif os.path.isfile(path):
            out.append((path, i))
        else:
            raise FileNotFoundError(f"{where}: no such file or folder: {path!r}")
    return out


def _video_frames(path: str, index: int) -> Iterator[Frame]:
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise OSError(f"cannot open video {path!r} with cv2.VideoCapture")
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    name = os.path.splitext(os.path.basename(path))[0]
    frame_id = 0
    try:
        while True:
            ok, img = cap.read()
            if not ok:
                break
            yield Frame(_as_bgr(img, f"frame {frame_id} of {path}"), index, path, frame_id, name, fps)
            frame_id += 1
    finally:
        cap.release()
    if frame_id == 0:
        raise OSError(f"video {path!r} has no readable frames")


def _read_ahead(frames: Iterator[Frame], pool: ThreadPoolExecutor, window: int) -> Iterator[Frame]:
    """Pull a sequential frame iterator (a video) on one of ``pool``'s threads, up to ``window``
    frames ahead of the consumer; errors come out where they happened, in order."""
    buffer: "queue.Queue[Any]" = queue.Queue(maxsize=max(1, window))
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        buffer.put(frame, timeout=0.05)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(done)
        except BaseException as e:  # handed to the consumer
            buffer.put(e)
        finally:
            if stop.is_set():
                frames.close()

    task = pool.submit(produce)
    try:
        while True:
            item = buffer.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while not task.done():  # unblock a producer waiting on a full buffer
            try:
                buffer.get(timeout=0.05)
            except queue.Empty:
                pass


def _read_image(path: str, index: int) -> Frame:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot read image {path!r}: missing or not a decodable image")
    return Frame(img, index, path, None, os.path.splitext(os.path.basename(path))[0])


def _image_run(run: List[Tuple[str, int]], pool: Optional[ThreadPoolExecutor], window: int) -> Iterator[Frame]:
    """Decode consecutive image files, up to ``window`` ahead on ``pool``'s threads (OpenCV
    releases the GIL while decoding), yielding them in order."""
    if pool is None:
        for path, index in run:
            yield _read_image(path, index)
        return
    pending: Deque[Future] = deque()
    todo = iter(run)
    try:
        for path, index in itertools.islice(todo, window):
            pending.append(pool.submit(_read_image, path, index))
        while pending:
            frame = pending.popleft().result()
            for path, index in itertools.islice(todo, 1):
                pending.append(pool.submit(_read_image, path, index))
            yield frame
    finally:
        for f in pending:
            f.cancel()


def iter_frames(items: Sequence[Input], decode_threads: int = 0, window: int = 16) -> Iterator[Frame]:
    """Read input items (arrays and file paths, e.g. the items of :func:`expand_inputs`) one frame
    at a time, in order; ``Frame.input_index`` is the item's position in ``items``.

    Args:
        items (sequence): arrays and file paths.
        decode_threads (int): threads decoding image files (and reading a video's frames) ahead
            of the consumer (0: everything in the calling thread, when asked for).
        window (int): frames decoded ahead at most (with ``decode_threads``).

    Raises:
        FileNotFoundError: an image file that OpenCV cannot decode. OSError: an unreadable video.
        ValueError: an array that is not a uint8 image.
    """
    pool = ThreadPoolExecutor(decode_threads, thread_name_prefix="pyposefast-decode") if decode_threads > 0 else None
    try:
        run: List[Tuple[str, int]] = []
        for i, item in enumerate(list(items) + [None]):
            if isinstance(item, str) and _kind(item) == "image":
                run.append((item, i))
                continue
            if run:
                yield from _image_run(run, pool, max(1, window))
                run = []
            if item is None:
                break
            if isinstance(item, np.ndarray):
                yield Frame(_as_bgr(item, f"inputs[{i}]"), i, None, None, array_name(i))
            elif pool is not None:
                yield from _read_ahead(_video_frames(item, i), pool, window)
            else:
                yield from _video_frames(item, i)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
