// Schemas of the keypoint-decoding ops (kernel family 4). Kernels: cpu/decode_kernel.cpp,
// cuda/decode_kernel.cu; fake kernels and argument checks: pyposefast/ops/decode.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(pyposefast, m) {
  // heatmaps [B, C, H, W] float32/float16/bfloat16 -> (keypoints [B, K, 2] float32, (x, y) in
  // heatmap pixels; scores [B, K] float32). refine: "none" | "quarter" | "dark" | "dark_udp" |
  // "megvii" | "udp_combined" (C = 3K: class, x-offset, y-offset planes per keypoint; else C = K).
  // blur_kernel_size: the odd Gaussian kernel of dark / dark_udp / megvii / udp_combined;
  // offset_radius: the udp_combined offset scale (radius_factor * max(W, H)).
  m.def(
      "decode_heatmaps(Tensor heatmaps, str refine, int blur_kernel_size, float offset_radius) "
      "-> (Tensor, Tensor)");
  // simcc_x [B, K, Wx], simcc_y [B, K, Wy] float32/float16/bfloat16 -> (locations [B, K, 2] float32
  // in SimCC bins; scores [B, K] float32 = min of the two axis maxima). blur_x / blur_y: odd 1-D DARK
  // kernel sizes, 0 = no DARK refinement.
  m.def("decode_simcc(Tensor simcc_x, Tensor simcc_y, int blur_x, int blur_y) -> (Tensor, Tensor)");
}
