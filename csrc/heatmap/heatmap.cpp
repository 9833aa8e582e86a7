// Schemas of the heatmap-target ops (kernel family 1). Kernels: cpu/heatmap_kernel.cpp,
// cuda/heatmap_kernel.cu; fake kernels and argument checks: pyposefast/ops/heatmap.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(pyposefast, m) {
  // keypoints [B, N, K, 2] float32 (x, y in heatmap pixels), keypoints_visible [B, N, K] float32.
  // method: "msra" | "unbiased" | "udp". Returns (heatmaps [B, K, H, W] of `dtype`, max-merged over
  // the N instances; keypoint_weights [B, N, K] float32).
  m.def(
      "gaussian_heatmaps(Tensor keypoints, Tensor keypoints_visible, SymInt heatmap_width, "
      "SymInt heatmap_height, float sigma, str method, ScalarType dtype) -> (Tensor, Tensor)");
  // UDP "combined": returns (heatmaps [B, 3K, H, W] of `dtype`, channels (cls, x_off, y_off) per
  // keypoint, drawn by the last visible instance; keypoint_weights [B, N, K] float32).
  m.def(
      "udp_offset_heatmaps(Tensor keypoints, Tensor keypoints_visible, SymInt heatmap_width, "
      "SymInt heatmap_height, float radius, ScalarType dtype) -> (Tensor, Tensor)");
}
