// Argument checks shared by the CPU and CUDA host entries of the decoding ops. The Python wrappers
// (pyposefast/ops/decode.py) check the same first with friendlier messages; these guard direct
// torch.ops calls.
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>
#include <c10/util/string_view.h>

#include <cmath>
#include <string>

#include "decode/decode_math.h"

// Heatmap input dtypes: float32, float16, bfloat16 (read as float).
#define PPF_DISPATCH_DECODE_TYPES(TYPE, NAME, ...)            \
  AT_DISPATCH_SWITCH(TYPE, NAME,                              \
                     AT_DISPATCH_CASE(at::kFloat, __VA_ARGS__) \
                     AT_DISPATCH_CASE(at::kHalf, __VA_ARGS__)  \
                     AT_DISPATCH_CASE(at::kBFloat16, __VA_ARGS__))

namespace pyposefast {
namespace decode {

inline int64_t parse_refine(c10::string_view refine) {
  if (refine == "none") return kNone;
  if (refine == "quarter") return kQuarter;
  if (refine == "dark") return kDark;
  if (refine == "dark_udp") return kDarkUdp;
  if (refine == "megvii") return kMegvii;
  if (refine == "udp_combined") return kUdpCombined;
  TORCH_CHECK(false, "decode_heatmaps: refine must be 'none', 'quarter', 'dark', 'dark_udp', 'megvii' or ",
              "'udp_combined', got '", std::string(refine), "'");
  return -1;
}

inline bool uses_blur(int64_t refine) { return refine >= kDark; }

inline void check_blur_size(int64_t size, const char* op, const char* name) {
  TORCH_CHECK(size >= 1 && size <= kMaxBlur && size % 2 == 1, op, ": ", name,
              " must be an odd kernel size in [1, ", kMaxBlur, "], got ", size);
}

inline void check_dtype(const at::Tensor& t, const char* op, const char* name) {
  const auto s = t.scalar_type();
  TORCH_CHECK(s == at::kFloat || s == at::kHalf || s == at::kBFloat16, op, ": ", name,
              " must be float32, float16 or bfloat16, got ", s);
}

// One decode_heatmaps call: the contiguous input and the outputs keypoints [B, K, 2], scores [B, K]
// (float32, on the input's device; a CUDA caller sets its device guard first).
struct HeatmapDecodeCall {
  at::Tensor heatmaps, keypoints, scores;
  int64_t B, K, H, W, refine;
  BlurKernel blur;
  float radius;
};

inline HeatmapDecodeCall prepare_heatmap_decode(const at::Tensor& heatmaps, c10::string_view refine,
                                                int64_t blur_kernel_size, double offset_radius) {
  const char* op = "decode_heatmaps";
  HeatmapDecodeCall c;
  c.refine = parse_refine(refine);
  TORCH_CHECK(heatmaps.dim() == 4, op, ": heatmaps must be [B, C, H, W], got ", heatmaps.sizes());
  check_dtype(heatmaps, op, "heatmaps");
  c.B = heatmaps.size(0);
  c.H = heatmaps.size(2);
  c.W = heatmaps.size(3);
  const int64_t C = heatmaps.size(1);
  if (c.refine == kUdpCombined)
    TORCH_CHECK(C % 3 == 0, op, ": udp_combined heatmaps need 3K channels, got ", C);
  c.K = c.refine == kUdpCombined ? C / 3 : C;
  TORCH_CHECK(c.H > 0 && c.W > 0, op, ": heatmaps must have H, W > 0, got ", heatmaps.sizes());
  TORCH_CHECK(c.H * c.W < (int64_t{1} << 31) && c.H + 2 < (int64_t{1} << 30) && c.W + 2 < (int64_t{1} << 30),
              op, ": heatmap planes of 2^31 pixels or more are not supported, got ", heatmaps.sizes());
  if (uses_blur(c.refine)) check_blur_size(blur_kernel_size, op, "blur_kernel_size");
  c.blur = make_blur_kernel(uses_blur(c.refine) ? blur_kernel_size : 1);
  TORCH_CHECK(std::isfinite(offset_radius), op, ": offset_radius must be finite, got ", offset_radius);
  c.radius = static_cast<float>(offset_radius);
  c.heatmaps = heatmaps.contiguous();
  c.keypoints = at::empty({c.B, c.K, 2}, heatmaps.options().dtype(at::kFloat));
  c.scores = at::empty({c.B, c.K}, heatmaps.options().dtype(at::kFloat));
  return c;
}

struct SimccDecodeCall {
  at::Tensor x, y, locations, scores;
  int64_t B, K, Lx, Ly;
  bool dark_x, dark_y;
  BlurKernel blur_x, blur_y;
};

inline SimccDecodeCall prepare_simcc_decode(const at::Tensor& simcc_x, const at::Tensor& simcc_y,
                                            int64_t blur_x, int64_t blur_y) {
  const char* op = "decode_simcc";
  TORCH_CHECK(simcc_x.dim() == 3, op, ": simcc_x must be [B, K, Wx], got ", simcc_x.sizes());
  TORCH_CHECK(simcc_y.dim() == 3 && simcc_y.size(0) == simcc_x.size(0) && simcc_y.size(1) == simcc_x.size(1),
              op, ": simcc_y must be [B, K, Wy] with simcc_x's B, K = ", simcc_x.sizes().slice(0, 2), ", got ",
              simcc_y.sizes());
  check_dtype(simcc_x, op, "simcc_x");
  TORCH_CHECK(simcc_y.scalar_type() == simcc_x.scalar_type(), op, ": simcc_y must have simcc_x's dtype ",
              simcc_x.scalar_type(), ", got ", simcc_y.scalar_type());
  TORCH_CHECK(simcc_x.device() == simcc_y.device(), op, ": simcc_x and simcc_y must be on one device, got ",
              simcc_x.device(), " and ", simcc_y.device());
  TORCH_CHECK(simcc_x.size(2) > 0 && simcc_y.size(2) > 0, op, ": SimCC vectors must be non-empty, got Wx=",
              simcc_x.size(2), " Wy=", simcc_y.size(2));
  TORCH_CHECK(simcc_x.size(2) < (int64_t{1} << 30) && simcc_y.size(2) < (int64_t{1} << 30), op,
              ": SimCC vectors of 2^30 bins or more are not supported");
  if (blur_x != 0) check_blur_size(blur_x, op, "blur_x");
  if (blur_y != 0) check_blur_size(blur_y, op, "blur_y");
  SimccDecodeCall c;
  c.x = simcc_x.contiguous();
  c.y = simcc_y.contiguous();
  c.B = simcc_x.size(0);
  c.K = simcc_x.size(1);
  c.Lx = simcc_x.size(2);
  c.Ly = simcc_y.size(2);
  c.dark_x = blur_x != 0;
  c.dark_y = blur_y != 0;
  c.blur_x = make_blur_kernel(c.dark_x ? blur_x : 1);
  c.blur_y = make_blur_kernel(c.dark_y ? blur_y : 1);
  c.locations = at::empty({c.B, c.K, 2}, simcc_x.options().dtype(at::kFloat));
  c.scores = at::empty({c.B, c.K}, simcc_x.options().dtype(at::kFloat));
  return c;
}

}  // namespace decode
}  // namespace pyposefast
