// Argument checks shared by the CPU and CUDA host entries of the warp ops. The Python wrapper
// (pyposefast/ops/warp.py) checks the same things first, plus the values of the index tensors.
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

// Source image element types: uint8 (cv2 images), float32, float64 (gradcheck).
#define PPF_DISPATCH_IMAGE_TYPES(TYPE, NAME, ...)             \
  AT_DISPATCH_SWITCH(TYPE, NAME,                              \
                     AT_DISPATCH_CASE(at::kByte, __VA_ARGS__) \
                     AT_DISPATCH_CASE(at::kFloat, __VA_ARGS__) \
                     AT_DISPATCH_CASE(at::kDouble, __VA_ARGS__))

namespace pyposefast {
namespace warp {

inline void check_warp_inputs(const at::Tensor& images, const at::Tensor& offsets, const at::Tensor& sizes,
                              const at::Tensor& index, const at::Tensor& matrices, int64_t channels,
                              const at::Tensor& norm_mean, const at::Tensor& norm_std, const char* op) {
  TORCH_CHECK(images.dim() == 1, op, ": images must be a 1-D packed buffer, got ", images.sizes());
  TORCH_CHECK(images.scalar_type() == at::kByte || images.scalar_type() == at::kFloat ||
                  images.scalar_type() == at::kDouble,
              op, ": images must be uint8, float32 or float64, got ", images.scalar_type());
  TORCH_CHECK(offsets.dim() == 1 && offsets.scalar_type() == at::kLong, op,
              ": image_offsets must be int64 [B], got ", offsets.scalar_type(), " ", offsets.sizes());
  TORCH_CHECK(sizes.dim() == 2 && sizes.size(1) == 2 && sizes.size(0) == offsets.size(0) &&
                  sizes.scalar_type() == at::kLong,
              op, ": image_sizes must be int64 [B, 2] with B = ", offsets.size(0), ", got ",
              sizes.scalar_type(), " ", sizes.sizes());
  TORCH_CHECK(index.dim() == 1 && index.scalar_type() == at::kLong, op,
              ": image_index must be int64 [N], got ", index.scalar_type(), " ", index.sizes());
  TORCH_CHECK(matrices.dim() == 3 && matrices.size(0) == index.size(0) && matrices.size(1) == 2 &&
                  matrices.size(2) == 3 && matrices.scalar_type() == at::kDouble,
              op, ": matrices must be float64 [N, 2, 3] with N = ", index.size(0), ", got ",
              matrices.scalar_type(), " ", matrices.sizes());
  TORCH_CHECK(channels > 0, op, ": channels must be positive, got ", channels);
  for (const at::Tensor* t : {&norm_mean, &norm_std}) {
    TORCH_CHECK(t->numel() == 0 || (t->dim() == 1 && t->size(0) == channels && t->scalar_type() == at::kFloat),
                op, ": mean and std must be float32 [C] with C = ", channels, " or empty, got ", t->sizes());
  }
  for (const at::Tensor* t : {&offsets, &sizes, &index, &matrices, &norm_mean, &norm_std}) {
    TORCH_CHECK(t->device() == images.device(), op, ": all tensors must be on ", images.device(),
                ", got one on ", t->device());
  }
}

// One call of a warp op: checked, contiguous inputs (mean/std may be empty: no normalisation).
struct WarpCall {
  at::Tensor images, offsets, sizes, index, matrices, mean, std;
  int64_t N, B;
  const float* mean_ptr() const { return mean.numel() ? mean.const_data_ptr<float>() : nullptr; }
  const float* std_ptr() const { return std.numel() ? std.const_data_ptr<float>() : nullptr; }
};

inline WarpCall prepare_warp_call(const at::Tensor& images, const at::Tensor& offsets, const at::Tensor& sizes,
                                  const at::Tensor& index, const at::Tensor& matrices, int64_t channels,
                                  const at::Tensor& norm_mean, const at::Tensor& norm_std, const char* op) {
  check_warp_inputs(images, offsets, sizes, index, matrices, channels, norm_mean, norm_std, op);
  WarpCall c;
  c.images = images.contiguous();
  c.offsets = offsets.contiguous();
  c.sizes = sizes.contiguous();
  c.index = index.contiguous();
  c.matrices = matrices.contiguous();
  c.mean = norm_mean.contiguous();
  c.std = norm_std.contiguous();
  c.N = index.size(0);
  c.B = offsets.size(0);
  return c;
}

inline void check_backward_grad(const at::Tensor& grad, const at::Tensor& images, const at::Tensor& index,
                                int64_t channels) {
  TORCH_CHECK(images.is_floating_point(), "_warp_affine_backward: images must be floating point");
  TORCH_CHECK(grad.dim() == 4 && grad.size(0) == index.size(0) && grad.size(1) == channels,
              "_warp_affine_backward: grad must be [N, C, h, w], got ", grad.sizes());
}

}  // namespace warp
}  // namespace pyposefast
