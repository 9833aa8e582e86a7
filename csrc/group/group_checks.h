// Argument checks shared by the CPU and CUDA host entries of ae_decode. The Python wrapper
// (pyposefast/ops/group.py) checks the same first with friendlier messages; these guard direct
// torch.ops calls.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>
#include <c10/util/string_view.h>

#include <string>
#include <vector>

#include "decode/decode_math.h"
#include "group/group_math.h"

namespace pyposefast {
namespace group {

// One ae_decode call: contiguous inputs, the outputs, and the settings.
struct AeDecodeCall {
  at::Tensor heatmaps, tags, keypoints, keypoint_scores, instance_scores, counts;
  int64_t B, K, L, H, W, T, N;  // T = top-k, N = max_instances
  int32_t nms_radius;
  double keypoint_thr, tag_thr;
  bool udp;
  float center_shift;
  decode::BlurKernel blur;
  std::vector<int32_t> order;
};

inline AeDecodeCall prepare_ae_decode(const at::Tensor& heatmaps, const at::Tensor& tags,
                                      c10::IntArrayRef keypoint_order, int64_t nms_kernel, int64_t topk,
                                      double keypoint_thr, double tag_thr, int64_t max_instances,
                                      c10::string_view refine, int64_t blur_kernel_size, double center_shift) {
  const char* op = "ae_decode";
  TORCH_CHECK(heatmaps.dim() == 4, op, ": heatmaps must be [B, K, H, W], got ", heatmaps.sizes());
  TORCH_CHECK(heatmaps.scalar_type() == at::kFloat, op, ": heatmaps must be float32, got ", heatmaps.scalar_type());
  TORCH_CHECK(tags.dim() == 4, op, ": tags must be [B, K * L, H, W], got ", tags.sizes());
  TORCH_CHECK(tags.scalar_type() == at::kFloat, op, ": tags must be float32, got ", tags.scalar_type());
  TORCH_CHECK(tags.device() == heatmaps.device(), op, ": tags and heatmaps must be on one device");
  AeDecodeCall c;
  c.B = heatmaps.size(0);
  c.K = heatmaps.size(1);
  c.H = heatmaps.size(2);
  c.W = heatmaps.size(3);
  TORCH_CHECK(c.K >= 1 && c.K <= kMaxKeypoints, op, ": K must be in [1, ", kMaxKeypoints, "], got ", c.K);
  TORCH_CHECK(c.H > 0 && c.W > 0 && c.H * c.W < (int64_t{1} << 30), op,
              ": heatmaps must have 0 < H * W < 2^30, got ", heatmaps.sizes());
  TORCH_CHECK(tags.size(0) == c.B && tags.size(2) == c.H && tags.size(3) == c.W && tags.size(1) % c.K == 0 &&
                  tags.size(1) >= c.K,
              op, ": tags must be [B, K * L, H, W] = [", c.B, ", ", c.K, " * L, ", c.H, ", ", c.W, "], got ",
              tags.sizes());
  c.L = tags.size(1) / c.K;
  TORCH_CHECK(c.L <= kMaxTagDim, op, ": tag dimension L must be <= ", kMaxTagDim, ", got ", c.L);
  TORCH_CHECK(static_cast<int64_t>(keypoint_order.size()) == c.K, op, ": keypoint_order must list K = ", c.K,
              " indices, got ", keypoint_order.size());
  std::vector<bool> seen(c.K, false);
  for (int64_t v : keypoint_order) {
    TORCH_CHECK(v >= 0 && v < c.K && !seen[v], op, ": keypoint_order must be a permutation of 0..K-1, got ",
                keypoint_order);
    seen[v] = true;
    c.order.push_back(static_cast<int32_t>(v));
  }
  TORCH_CHECK(nms_kernel >= 1 && nms_kernel % 2 == 1 && nms_kernel <= 255, op,
              ": nms_kernel must be an odd int in [1, 255], got ", nms_kernel);
  c.nms_radius = static_cast<int32_t>(nms_kernel / 2);
  TORCH_CHECK(topk >= 1 && topk <= kMaxTopk, op, ": topk must be in [1, ", kMaxTopk, "], got ", topk);
  c.T = std::min<int64_t>(topk, c.H * c.W);
  TORCH_CHECK(max_instances >= 0, op, ": max_instances must be >= 0, got ", max_instances);
  c.N = max_instances;
  c.keypoint_thr = keypoint_thr;
  c.tag_thr = tag_thr;
  TORCH_CHECK(refine == "quarter" || refine == "dark_udp", op, ": refine must be 'quarter' or 'dark_udp', got '",
              std::string(refine), "'");
  c.udp = refine == "dark_udp";
  if (c.udp)
    TORCH_CHECK(blur_kernel_size >= 1 && blur_kernel_size % 2 == 1 && blur_kernel_size <= decode::kMaxBlur, op,
                ": blur_kernel_size must be odd in [1, ", decode::kMaxBlur, "], got ", blur_kernel_size);
  c.blur = decode::make_blur_kernel(c.udp ? blur_kernel_size : 1);
  c.center_shift = static_cast<float>(center_shift);
  c.heatmaps = heatmaps.contiguous();
  c.tags = tags.contiguous();
  const auto f = heatmaps.options().dtype(at::kFloat);
  c.keypoints = at::zeros({c.B, c.N, c.K, 2}, f);
  c.keypoint_scores = at::zeros({c.B, c.N, c.K}, f);
  c.instance_scores = at::zeros({c.B, c.N}, f);
  c.counts = at::zeros({c.B}, heatmaps.options().dtype(at::kLong));
  return c;
}

}  // namespace group
}  // namespace pyposefast
