"""Visualisation: skeletons in the dataset's colours, boxes and heatmap overlays over BGR images
(``draw_pose``, ``overlay_heatmaps``), a grid of pipeline crops (``draw_batch_grid``), training
curves (``plot_curves``) and a video writer (``VideoWriter``). OpenCV only."""

from .curves import curve_series, plot_curves
from .pose import draw_batch_grid, draw_pose, overlay_heatmaps
from .video import VideoWriter, fourcc_for

__all__ = ["draw_pose", "overlay_heatmaps", "draw_batch_grid", "plot_curves", "curve_series", "VideoWriter",
           "fourcc_for"]
