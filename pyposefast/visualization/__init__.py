"""Visualisation: skeletons in the dataset's colours, boxes and heatmap overlays over BGR images
(``draw_pose``, ``overlay_heatmaps``), a grid of pipeline crops (``draw_batch_grid``), training
curves (``plot_curves``) and a video writer (``VideoWriter``) with OpenCV; 3D skeletons
(``draw_pose3d``, matplotlib's Agg canvas) and meshes (``rasterize_mesh``, a NumPy z-buffer)."""

from .curves import curve_series, plot_curves
from .pose import draw_batch_grid, draw_pose, overlay_heatmaps
from .video import VideoWriter, fourcc_for
from .pose3d import draw_pose3d, write_pose3d_frames
from .hand3d import draw_hand3d, hand3d_display_keypoints
from .mesh import draw_mesh_on_image, draw_mesh_result, imshow_mesh_3d, rasterize_mesh

__all__ = ["draw_pose", "overlay_heatmaps", "draw_batch_grid", "plot_curves", "curve_series", "VideoWriter",
           "fourcc_for", "draw_pose3d", "write_pose3d_frames", "imshow_mesh_3d", "draw_mesh_result",
           "draw_mesh_on_image", "rasterize_mesh", "draw_hand3d", "hand3d_display_keypoints"]
