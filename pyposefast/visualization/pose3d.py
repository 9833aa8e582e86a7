"""3D skeletons drawn with matplotlib (MMPose's ``Pose3dLocalVisualizer`` layout): one 3D axes per
person with the dataset's keypoint and link colours, optionally the frame with its 2D skeletons on
the left, one PNG per frame and optionally a video (OpenCV).

Coordinates: 3D keypoints in the convention MMPose's 3D inferencer hands its visualiser (``z`` up,
metres for Human3.6M lifters): ``(x, y, z)``. The axes are centred on the mean of the shown
keypoints in x and y with a side of ``axis_limit``; z spans ``[min(0, z_c - axis_limit / 2),
z_c + axis_limit / 2]``, as MMPose's visualiser does. Images are OpenCV's BGR ``HWC uint8``;
metainfo colours are RGB.

matplotlib is imported lazily and drawn through its Agg canvas (no pyplot, no window, no global
backend switch), so this works on headless machines and from threads.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

import cv2
import numpy as np

from .pose import ArrayLike, _numpy, draw_pose
from .video import VideoWriter

__all__ = ["draw_pose3d", "write_pose3d_frames", "DEFAULT_KEYPOINT_COLOR_3D", "DEFAULT_LINK_COLOR_3D"]

#: RGB colours when the metainfo has none (MMPose's red keypoints; grey links).
DEFAULT_KEYPOINT_COLOR_3D = (255, 0, 0)
DEFAULT_LINK_COLOR_3D = (128, 128, 128)

_array = _numpy  # one conversion with the 2D drawing's error messages


def _rgb01(meta: Optional[Dict[str, Any]], key: str, count: int, default: Sequence[int]) -> np.ndarray:
    """``count`` RGB colours in [0, 1] from the metainfo palette ``key`` (cycled when short)."""
    colors = None if meta is None else meta.get(key)
    if colors is None or len(colors) == 0:
        return np.tile(np.asarray(default, np.float64) / 255.0, (count, 1))
    colors = np.asarray(colors, np.float64).reshape(-1, 3)
    if len(colors) < count:
        colors = np.resize(colors, (count, 3))
    return colors[:count] / 255.0


def _instances(name: str, keypoints: ArrayLike, dim: int) -> np.ndarray:
    kp = _array(name, keypoints)
    if kp.ndim == 2:
        kp = kp[None]
    if kp.ndim != 3 or kp.shape[-1] < dim:
        raise ValueError(f"{name} must be [N, K, {dim}] or [K, {dim}], got shape {kp.shape}")
    return kp


def _scores(name: str, scores: Optional[ArrayLike], N: int, K: int) -> np.ndarray:
    if scores is None:
        return np.ones((N, K), np.float32)
    sc = _array(name, scores).reshape(-1)
    if sc.size != N * K:
        raise ValueError(f"{name} must be [N, K] = [{N}, {K}], got {sc.size} values")
    return sc.reshape(N, K)


def _render_3d_panels(kp: np.ndarray, valid: np.ndarray, links: list, meta: Optional[Dict[str, Any]],
                      panels: int, size: int, axis_azimuth: float, axis_elev: float, axis_limit: float,
                      title: Optional[str], show_kpt_idx: bool, marker_size: float, line_width: float) -> np.ndarray:
    """One 3D axes per instance, ``panels`` wide: RGB uint8 [size, size * panels, 3]."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  (registers the '3d' projection)

    N, K = kp.shape[:2]
    kpt_colors = _rgb01(meta, "keypoint_colors", K, DEFAULT_KEYPOINT_COLOR_3D)
    link_colors = _rgb01(meta, "skeleton_link_colors", len(links), DEFAULT_LINK_COLOR_3D)
    dpi = 100
    fig = Figure(figsize=(size * panels / dpi, size / dpi), dpi=dpi, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    for i in range(panels):
        ax = fig.add_subplot(1, panels, i + 1, projection="3d")
        ax.view_init(elev=axis_elev, azim=axis_azimuth)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_zticks([])
        if title:
            ax.set_title(f"{title} ({i})")
        if i >= N:  # padding panel (num_instances > N): empty axes
            ax.set_xlim3d([-axis_limit / 2, axis_limit / 2])
            ax.set_ylim3d([-axis_limit / 2, axis_limit / 2])
            ax.set_zlim3d([0, axis_limit])
            continue
        shown = valid[i]
        pts = kp[i, shown, :3]
        xc, yc, zc = (pts.mean(0) if len(pts) else np.zeros(3))
        ax.set_xlim3d([xc - axis_limit / 2, xc + axis_limit / 2])
        ax.set_ylim3d([yc - axis_limit / 2, yc + axis_limit / 2])
        ax.set_zlim3d([min(0.0, zc - axis_limit / 2), zc + axis_limit / 2])
        for (a, b), color in zip(links, link_colors):
            if a < K and b < K and shown[a] and shown[b]:
                ax.plot(kp[i, [a, b], 0], kp[i, [a, b], 1], kp[i, [a, b], 2], color=color, linewidth=line_width,
                        zdir="z")
        if len(pts):
            ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], marker="o", c=kpt_colors[shown], s=marker_size,
                       depthshade=False)
        if show_kpt_idx:
            for k in np.flatnonzero(shown):
                ax.text(kp[i, k, 0], kp[i, k, 1], kp[i, k, 2], str(k))
    fig.tight_layout()
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    out = np.ascontiguousarray(rgba[..., :3])
    if out.shape[:2] != (size, size * panels):  # rounding of the figure size in inches
        out = cv2.resize(out, (size * panels, size), interpolation=cv2.INTER_AREA)
    return out


def draw_pose3d(keypoints: ArrayLike, meta: Optional[Dict[str, Any]] = None, *, scores: Optional[ArrayLike] = None,
                kpt_thr: float = 0.3, image: Optional[np.ndarray] = None, keypoints_2d: Optional[ArrayLike] = None,
                scores_2d: Optional[ArrayLike] = None, meta_2d: Optional[Dict[str, Any]] = None,
                num_instances: int = -1, panel_size: Optional[int] = None, axis_azimuth: float = 70.0,
                axis_elev: float = 15.0, axis_limit: float = 1.7, title: Optional[str] = "Prediction",
                show_kpt_idx: bool = False, radius: int = 3, thickness: int = 1) -> np.ndarray:
    """Draw the 3D skeletons of N people (one 3D axes each), with the frame and its 2D skeletons
    on the left when ``image`` is given (MMPose's 3D visualiser layout).

    A keypoint is shown when its 3D score and its 2D score (``scores_2d``, if given) are >=
    ``kpt_thr`` and it is finite; a link when both its ends are shown.

    Args:
        keypoints (ndarray or Tensor [N, K, 3] or [K, 3]): 3D keypoints (x, y, z), z up (MMPose's
            3D inferencer output: metres, feet at z = 0 after its height rebase).
        meta (dict, optional): dataset metainfo of the 3D keypoints
            (``pyposefast.datasets.dataset_meta('h36m')``): ``skeleton_links``, ``keypoint_colors``,
            ``skeleton_link_colors`` (RGB). None: red points, no links.
        scores (ndarray or Tensor [N, K] or [K], optional): 3D keypoint scores (None: all 1).
        kpt_thr (float): show keypoints scoring >= kpt_thr. Defaults to 0.3.
        image (ndarray[H, W, 3] uint8, optional): the BGR frame, drawn on the left (resized to the
            panel height, aspect kept), with ``keypoints_2d`` over it.
        keypoints_2d (ndarray or Tensor [N, K2, 2], optional): 2D keypoints in ``image`` pixels.
        scores_2d (ndarray or Tensor [N, K2], optional): their scores; when K2 == K they also gate
            the 3D keypoints (MMPose's ``scores_2d``).
        meta_2d (dict, optional): metainfo of the 2D keypoints (default ``meta``).
        num_instances (int): number of 3D panels: < 0 one per person (at least one), otherwise
            exactly this many (people beyond it dropped, missing ones left as empty axes). Fix it to
            keep a video's frame size constant.
        panel_size (int, optional): side of each 3D panel in pixels (default: the image's longer
            side, as MMPose, else 400).
        axis_azimuth (float), axis_elev (float): view angles in degrees (MMPose: 70, 15).
        axis_limit (float): side of the shown cube in keypoint units (MMPose: 1.7 m).
        title (str, optional): panel title (``'<title> (<index>)'``).
        show_kpt_idx (bool): write each keypoint's index next to it.
        radius (int), thickness (int): 2D keypoint radius and link width on the frame.

    Returns:
        ndarray[S, W_img + S * P, 3] uint8 BGR: S = panel size, P = panels, W_img the resized frame's
        width (0 without ``image``).

    Raises:
        TypeError / ValueError: keypoints / scores of the wrong shape, an image that is not
        (H, W, 3) uint8, a non-positive panel size.
    """
    kp = _instances("keypoints", keypoints, 3)
    N, K = kp.shape[:2]
    sc = _scores("scores", scores, N, K)
    if not np.isfinite(kpt_thr):
        raise ValueError(f"kpt_thr must be a finite number, got {kpt_thr!r}")
    sc2 = None
    if scores_2d is not None:
        sc2 = _array("scores_2d", scores_2d)
        if sc2.ndim == 1:
            sc2 = sc2[None]
    valid = (sc >= kpt_thr) & np.isfinite(kp[..., :3]).all(-1)
    if sc2 is not None and sc2.shape == (N, K):
        valid &= sc2 >= kpt_thr
    if image is not None and (not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3
                              or image.shape[2] != 3):
        raise ValueError("image must be an (H, W, 3) uint8 BGR array, got "
                         f"{getattr(image, 'shape', type(image).__name__)} {getattr(image, 'dtype', '')}")
    if panel_size is None:
        panel_size = max(image.shape[:2]) if image is not None else 400
    if not isinstance(panel_size, (int, np.integer)) or panel_size < 16:
        raise ValueError(f"panel_size must be an int >= 16, got {panel_size!r}")
    panels = max(N, 1) if num_instances < 0 else int(num_instances)
    if panels == 0:
        raise ValueError("num_instances = 0 leaves nothing to draw: pass -1 (one panel per person) or > 0")
    kp, valid = kp[:panels], valid[:panels]
    links = [] if meta is None else [tuple(int(i) for i in link) for link in meta.get("skeleton_links", [])]
    rgb = _render_3d_panels(kp, valid, links, meta, panels, int(panel_size), axis_azimuth, axis_elev, axis_limit,
                            title, show_kpt_idx, marker_size=max(4.0, 4.0 * radius), line_width=max(1.0, thickness))
    panel = np.ascontiguousarray(rgb[..., ::-1])
    if image is None:
        return panel
    frame = image
    if keypoints_2d is not None:
        kp2 = _instances("keypoints_2d", keypoints_2d, 2)
        frame = draw_pose(image, kp2[..., :2], sc2 if sc2 is not None and sc2.size == kp2[..., 0].size else None,
                          meta_2d if meta_2d is not None else meta, kpt_thr=kpt_thr, radius=radius,
                          thickness=thickness)
    S = int(panel_size)
    width = max(1, int(round(frame.shape[1] * S / frame.shape[0])))
    frame = cv2.resize(frame, (width, S), interpolation=cv2.INTER_AREA if frame.shape[0] > S else cv2.INTER_LINEAR)
    return np.concatenate([frame, panel], axis=1)


def write_pose3d_frames(keypoints: Sequence[ArrayLike], out_dir: str, meta: Optional[Dict[str, Any]] = None, *,
                        scores: Optional[Sequence[Optional[ArrayLike]]] = None,
                        images: Optional[Sequence[np.ndarray]] = None,
                        keypoints_2d: Optional[Sequence[Optional[ArrayLike]]] = None,
                        scores_2d: Optional[Sequence[Optional[ArrayLike]]] = None,
                        video_path: Optional[str] = None, fps: float = 25.0, name_format: str = "{:06d}.png",
                        num_instances: Optional[int] = None, **draw_kwargs: Any) -> List[str]:
    """One PNG per frame (:func:`draw_pose3d`) in ``out_dir``, and optionally a video of them.

    Args:
        keypoints (sequence of [N_t, K, 3]): the 3D keypoints of each frame (N_t may be 0).
        out_dir (str): folder for the PNGs (created).
        meta (dict, optional): metainfo of the 3D keypoints.
        scores, keypoints_2d, scores_2d (sequence, optional): per frame, as :func:`draw_pose3d`.
        images (sequence of ndarray[H, W, 3] uint8, optional): the BGR frames (left panel).
        video_path (str, optional): also write the frames to this video (``VideoWriter``).
        fps (float): the video's frame rate.
        name_format (str): PNG file name of frame ``t`` (``name_format.format(t)``).
        num_instances (int, optional): 3D panels per frame (default: the most people in any frame,
            at least 1, so that all frames have one size).
        **draw_kwargs: further :func:`draw_pose3d` arguments (``kpt_thr``, ``axis_limit`` ...).

    Returns:
        list[str]: the PNG paths, in frame order.

    Raises:
        ValueError: per-frame sequences whose length differs from ``keypoints``'.
        OSError: a PNG that OpenCV cannot write.
    """
    T = len(keypoints)
    for name, seq in (("scores", scores), ("images", images), ("keypoints_2d", keypoints_2d),
                      ("scores_2d", scores_2d)):
        if seq is not None and len(seq) != T:
            raise ValueError(f"{name} has {len(seq)} frames, keypoints has {T}")
    if num_instances is None:
        num_instances = max([1] + [int(_instances("keypoints", k, 3).shape[0]) for k in keypoints])
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    writer = VideoWriter(video_path, fps) if video_path else None
    try:
        for t in range(T):
            drawn = draw_pose3d(keypoints[t], meta, scores=None if scores is None else scores[t],
                                image=None if images is None else images[t],
                                keypoints_2d=None if keypoints_2d is None else keypoints_2d[t],
                                scores_2d=None if scores_2d is None else scores_2d[t],
                                num_instances=num_instances, **draw_kwargs)
            path = os.path.join(out_dir, name_format.format(t))
            if not cv2.imwrite(path, drawn):
                raise OSError(f"OpenCV could not write {path}")
            paths.append(path)
            if writer is not None:
                writer.write(drawn)
    finally:
        if writer is not None:
            writer.close()
    return paths
