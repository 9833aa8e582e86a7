// OKS between two keypoint instances and the candidate order of the NMS ops, shared by the CPU and
// CUDA kernels so that both compute the same numbers.
//
// MMPose 1.x (evaluation/functional/nms.py::oks_iou, as coded; ALGORITHMS.md (g)):
//   e_k = (dx_k^2 + dy_k^2) / (2 sigma_k)^2 / ((a_g + a_d) / 2 + eps) / 2,  eps = np.spacing(1)
//   oks = mean_k exp(-e_k)   over all K, or over the k with v_g > vis_thr and v_d > vis_thr
//         (0 when none), rounded to float32 (MMPose stores it in a float32 array).
// Like MMPose with float32 keypoints, dx^2 + dy^2 is computed in float32 and the rest in float64.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/exact_math.h"

#if defined(__CUDACC__)
#define PPF_NMS_HD __host__ __device__ __forceinline__
#else
#define PPF_NMS_HD inline
#endif

namespace pyposefast {
namespace nms {

constexpr double kSpacing1 = 2.220446049250313e-16;  // np.spacing(1)

enum SoftMethod : int64_t { kGaussian = 0, kLinear = 1 };

// fmul_rn / fadd_rn (no FMA contraction: NumPy rounds each step) come from common/exact_math.h.

// OKS of instances a and b: kp_* point at K (x, y) pairs, vis_* at K visibilities (read only when
// use_vis), sigmas at K float64 values.
PPF_NMS_HD float oks(const float* kp_a, const float* kp_b, const float* vis_a, const float* vis_b,
                     double area_a, double area_b, const double* sigmas, int64_t K, bool use_vis,
                     float vis_thr) {
  const double scale = (area_a + area_b) / 2.0 + kSpacing1;
  double sum = 0.0;
  int64_t count = 0;
  for (int64_t k = 0; k < K; ++k) {
    if (use_vis && !(vis_a[k] > vis_thr && vis_b[k] > vis_thr)) continue;
    const float dx = kp_b[2 * k] - kp_a[2 * k];
    const float dy = kp_b[2 * k + 1] - kp_a[2 * k + 1];
    const float d2 = fadd_rn(fmul_rn(dx, dx), fmul_rn(dy, dy));
    const double two_sigma = sigmas[k] * 2.0;
    const double e = static_cast<double>(d2) / (two_sigma * two_sigma) / scale / 2.0;
    sum += exp(-e);
    ++count;
  }
  return count ? static_cast<float>(sum / static_cast<double>(count)) : 0.f;
}

// The candidate order: higher score first; NaN scores before all others (as NumPy's
// argsort()[::-1] puts them); equal scores by lower index first (a stable sort of -score).
PPF_NMS_HD bool ranks_before(double s_i, int64_t i, double s_j, int64_t j) {
  const bool nan_i = s_i != s_i, nan_j = s_j != s_j;
  if (nan_i != nan_j) return nan_i;
  if (!nan_i && s_i != s_j) return s_i > s_j;
  return i < j;
}

// Soft-NMS rescoring of a score s by its OKS o with the candidate just kept (MMPose _rescore):
// gaussian s * exp(-o^2 / thr); linear s * (1 - o) where o >= thr.
PPF_NMS_HD double rescore(double s, float o, float thr_f, double thr, int64_t method) {
  if (method == kLinear) return o >= thr_f ? s * static_cast<double>(1.f - o) : s;
  const double o2 = static_cast<double>(fmul_rn(o, o));
  return s * exp(-o2 / thr);
}

}  // namespace nms
}  // namespace pyposefast
