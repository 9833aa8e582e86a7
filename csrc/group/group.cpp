// Schema of the associative-embedding decoding op (kernel family 6). Kernels: cpu/group_kernel.cpp,
// cuda/group_kernel.cu; fake kernel: pyposefast/ops/_meta.py; checks: pyposefast/ops/group.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(pyposefast, m) {
  // heatmaps [B, K, H, W] float32, tags [B, K * L, H, W] float32 (channel l * K + k) ->
  //   keypoints [B, max_instances, K, 2] float32, (x, y) in heatmap pixels (refined, centre-shifted,
  //     missing keypoints filled);
  //   keypoint_scores [B, max_instances, K] float32;
  //   instance_scores [B, max_instances] float32 (mean of the grouped scores, before filling);
  //   counts [B] int64 (instances found; rows past the count are zero).
  // keypoint_order: the K keypoint indices in grouping order; refine: "quarter" | "dark_udp";
  // blur_kernel_size: dark_udp's odd Gaussian kernel.
  m.def(
      "ae_decode(Tensor heatmaps, Tensor tags, int[] keypoint_order, int nms_kernel, int topk, "
      "float keypoint_thr, float tag_thr, int max_instances, str refine, int blur_kernel_size, "
      "float center_shift) -> (Tensor, Tensor, Tensor, Tensor)");
}
