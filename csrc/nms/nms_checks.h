// Argument checks shared by the CPU and CUDA host entries of the NMS ops. The Python wrappers
// (pyposefast/ops/nms.py) check the same things first with friendlier messages; these guard direct
// torch.ops calls.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>
#include <c10/util/Optional.h>
#include <c10/util/string_view.h>

#include <cmath>
#include <string>

#include "nms/nms_math.h"

namespace pyposefast {
namespace nms {

// One call of an NMS op: checked contiguous inputs.
struct NmsCall {
  at::Tensor keypoints, scores, areas, sigmas, counts, visibility;
  int64_t B, N, K;
  bool use_vis;
  float vis_thr;
};

inline void check_same_device(const at::Tensor& t, const at::Tensor& ref, const char* op, const char* name) {
  TORCH_CHECK(t.device() == ref.device(), op, ": ", name, " must be on ", ref.device(), " like keypoints, got ",
              t.device());
}

inline NmsCall prepare_call(const at::Tensor& keypoints, const at::Tensor& scores, const at::Tensor& areas,
                            const at::Tensor& sigmas, const at::Tensor& counts,
                            const c10::optional<at::Tensor>& visibility, c10::optional<double> vis_thr,
                            double thr, const char* op) {
  TORCH_CHECK(keypoints.dim() == 4 && keypoints.size(3) == 2, op, ": keypoints must be [B, N, K, 2], got ",
              keypoints.sizes());
  TORCH_CHECK(keypoints.scalar_type() == at::kFloat, op, ": keypoints must be float32, got ",
              keypoints.scalar_type());
  const int64_t B = keypoints.size(0), N = keypoints.size(1), K = keypoints.size(2);
  TORCH_CHECK(scores.dim() == 2 && scores.size(0) == B && scores.size(1) == N && scores.scalar_type() == at::kDouble,
              op, ": scores must be float64 [B, N] = [", B, ", ", N, "], got ", scores.scalar_type(), " ",
              scores.sizes());
  TORCH_CHECK(areas.dim() == 2 && areas.size(0) == B && areas.size(1) == N && areas.scalar_type() == at::kDouble,
              op, ": areas must be float64 [B, N] = [", B, ", ", N, "], got ", areas.scalar_type(), " ",
              areas.sizes());
  TORCH_CHECK(sigmas.dim() == 1 && sigmas.size(0) == K && sigmas.scalar_type() == at::kDouble, op,
              ": sigmas must be float64 [K] = [", K, "], got ", sigmas.scalar_type(), " ", sigmas.sizes());
  TORCH_CHECK(counts.dim() == 1 && counts.size(0) == B && counts.scalar_type() == at::kLong, op,
              ": counts must be int64 [B] = [", B, "], got ", counts.scalar_type(), " ", counts.sizes());
  TORCH_CHECK(std::isfinite(thr), op, ": thr must be finite, got ", thr);
  check_same_device(scores, keypoints, op, "scores");
  check_same_device(areas, keypoints, op, "areas");
  check_same_device(sigmas, keypoints, op, "sigmas");
  check_same_device(counts, keypoints, op, "counts");
  NmsCall c;
  c.B = B;
  c.N = N;
  c.K = K;
  c.use_vis = vis_thr.has_value();
  c.vis_thr = c.use_vis ? static_cast<float>(*vis_thr) : 0.f;
  if (c.use_vis) {
    TORCH_CHECK(visibility.has_value(), op, ": visibility is required when vis_thr is given");
    const at::Tensor& v = *visibility;
    TORCH_CHECK(v.dim() == 3 && v.size(0) == B && v.size(1) == N && v.size(2) == K && v.scalar_type() == at::kFloat,
                op, ": visibility must be float32 [B, N, K] = [", B, ", ", N, ", ", K, "], got ", v.scalar_type(),
                " ", v.sizes());
    check_same_device(v, keypoints, op, "visibility");
    c.visibility = v.contiguous();
  }
  c.keypoints = keypoints.contiguous();
  c.scores = scores.contiguous();
  c.areas = areas.contiguous();
  c.sigmas = sigmas.contiguous();
  c.counts = counts.contiguous();
  return c;
}

inline int64_t parse_method(c10::string_view method) {
  if (method == "gaussian") return kGaussian;
  if (method == "linear") return kLinear;
  TORCH_CHECK(false, "soft_oks_nms: method must be 'gaussian' or 'linear', got '", std::string(method), "'");
  return -1;
}

}  // namespace nms
}  // namespace pyposefast
