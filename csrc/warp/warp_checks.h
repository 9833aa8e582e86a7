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

}  // namespace warp
}  // namespace pyposefast
