// Argument checks shared by the CPU and CUDA host entries of the heatmap ops. The Python wrappers
// (pyposefast/ops/heatmap.py) check the same things first with friendlier messages; these guard
// direct torch.ops calls.
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>
#include <c10/util/string_view.h>

#include <cmath>

#include "heatmap/heatmap_math.h"

// Heatmap output dtypes: float32, float16, bfloat16 (computed in float, rounded once at the store).
#define PPF_DISPATCH_OUTPUT_TYPES(TYPE, NAME, ...)            \
  AT_DISPATCH_SWITCH(TYPE, NAME,                              \
                     AT_DISPATCH_CASE(at::kFloat, __VA_ARGS__) \
                     AT_DISPATCH_CASE(at::kHalf, __VA_ARGS__)  \
                     AT_DISPATCH_CASE(at::kBFloat16, __VA_ARGS__))

namespace pyposefast {
namespace heatmap {

inline void check_heatmap_inputs(const at::Tensor& keypoints, const at::Tensor& visible, int64_t W,
                                 int64_t H, at::ScalarType dtype, const char* op) {
  TORCH_CHECK(keypoints.dim() == 4 && keypoints.size(3) == 2, op,
              ": keypoints must be [B, N, K, 2], got ", keypoints.sizes());
  TORCH_CHECK(keypoints.scalar_type() == at::kFloat, op, ": keypoints must be float32, got ",
              keypoints.scalar_type());
  TORCH_CHECK(visible.scalar_type() == at::kFloat, op, ": keypoints_visible must be float32, got ",
              visible.scalar_type());
  TORCH_CHECK(visible.dim() == 3 && visible.size(0) == keypoints.size(0) &&
                  visible.size(1) == keypoints.size(1) && visible.size(2) == keypoints.size(2),
              op, ": keypoints_visible must be [B, N, K] = ", keypoints.sizes().slice(0, 3), ", got ",
              visible.sizes());
  TORCH_CHECK(keypoints.device() == visible.device(), op,
              ": keypoints and keypoints_visible must be on one device, got ", keypoints.device(),
              " and ", visible.device());
  TORCH_CHECK(W > 0 && H > 0, op, ": heatmap size must be positive, got W=", W, " H=", H);
  TORCH_CHECK(W < (int64_t{1} << 31) && H < (int64_t{1} << 31) && W * H < (int64_t{1} << 31), op, ": heatmap planes above 2^31 pixels are not supported, got W=", W,
              " H=", H);
  TORCH_CHECK(dtype == at::kFloat || dtype == at::kHalf || dtype == at::kBFloat16, op,
              ": dtype must be float32, float16 or bfloat16, got ", dtype);
}

inline void check_positive(double value, const char* op, const char* name) {
  TORCH_CHECK(std::isfinite(value) && value > 0, op, ": ", name, " must be positive, got ", value);
}

// One call of a heatmap op: checked contiguous inputs and its freshly allocated outputs,
// heatmaps [B, channels_per_keypoint * K, H, W] of `dtype` and keypoint weights [B, N, K] float32,
// on the inputs' device (a CUDA caller sets its device guard first).
struct HeatmapCall {
  at::Tensor keypoints, visible, heatmaps, weights;
  int64_t B, N, K;
};

inline HeatmapCall prepare_call(const at::Tensor& keypoints, const at::Tensor& visible, int64_t W,
                                int64_t H, at::ScalarType dtype, int64_t channels_per_keypoint,
                                const char* op) {
  check_heatmap_inputs(keypoints, visible, W, H, dtype, op);
  HeatmapCall call;
  call.keypoints = keypoints.contiguous();
  call.visible = visible.contiguous();
  call.B = keypoints.size(0);
  call.N = keypoints.size(1);
  call.K = keypoints.size(2);
  call.heatmaps = at::empty({call.B, channels_per_keypoint * call.K, H, W},
                            keypoints.options().dtype(dtype));
  call.weights = at::empty({call.B, call.N, call.K}, keypoints.options());
  return call;
}

inline int64_t parse_method(c10::string_view method) {
  if (method == "msra") return kMsra;
  if (method == "unbiased") return kUnbiased;
  if (method == "udp") return kUdp;
  TORCH_CHECK(false, "gaussian_heatmaps: method must be 'msra', 'unbiased' or 'udp', got '",
              std::string(method), "'");
  return -1;
}

}  // namespace heatmap
}  // namespace pyposefast
