// Schemas of the top-down warp ops (kernel family 2). Kernels: cpu/warp_kernel.cpp,
// cuda/warp_kernel.cu; wrappers, fake kernels and autograd: pyposefast/ops/warp.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(pyposefast, m) {
  // images: every source image, HWC, packed in one 1-D buffer (uint8, float32 or float64);
  // image_offsets [B] int64 (element offset of each image), image_sizes [B, 2] int64 (H, W);
  // image_index [N] int64 (source image of each crop); matrices [N, 2, 3] float64, forward
  // (source -> crop) like cv2.warpAffine. mean/std: [C] float32 or empty (no normalisation).
  // Returns crops [N, C, out_height, out_width] of out_dtype:
  //   ((bilinear sample, constant border) - mean[c]) / std[c], channels reversed if bgr_to_rgb,
  //   columns reversed if flip.
  m.def(
      "warp_affine(Tensor images, Tensor image_offsets, Tensor image_sizes, Tensor image_index, "
      "Tensor matrices, SymInt channels, SymInt out_width, SymInt out_height, Tensor mean, Tensor std, "
      "bool bgr_to_rgb, bool flip, float border_value, ScalarType out_dtype) -> Tensor");
  // Gradient of warp_affine with respect to a floating-point images buffer: grad [N, C, h, w] ->
  // grad_images with the shape and dtype of `images` (the border contributes nothing).
  m.def(
      "_warp_affine_backward(Tensor grad, Tensor images, Tensor image_offsets, Tensor image_sizes, "
      "Tensor image_index, Tensor matrices, SymInt channels, Tensor std, bool bgr_to_rgb, bool flip) "
      "-> Tensor");
}
