// CPU kernels of the OKS-NMS ops: at::parallel_for over the B images; each image runs MMPose's
// greedy loop (ALGORITHMS.md (g)) on its own candidates, so there are no shared writes.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "nms/nms_checks.h"
#include "nms/nms_math.h"

namespace pyposefast {
namespace nms {
namespace {

// Raw pointers of one call, and the OKS of candidates i and j of image b.
struct Image {
  const float* kp;
  const float* vis;
  const double* areas;
  const double* sigmas;
  int64_t K;
  bool use_vis;
  float vis_thr;

  float pair_oks(int64_t i, int64_t j) const {
    return oks(kp + 2 * K * i, kp + 2 * K * j, use_vis ? vis + K * i : nullptr, use_vis ? vis + K * j : nullptr,
               areas[i], areas[j], sigmas, K, use_vis, vis_thr);
  }
};

Image image_of(const NmsCall& c, int64_t b) {
  Image im;
  im.K = c.K;
  im.kp = c.keypoints.const_data_ptr<float>() + b * c.N * c.K * 2;
  im.vis = c.use_vis ? c.visibility.const_data_ptr<float>() + b * c.N * c.K : nullptr;
  im.areas = c.areas.const_data_ptr<double>() + b * c.N;
  im.sigmas = c.sigmas.const_data_ptr<double>();
  im.use_vis = c.use_vis;
  im.vis_thr = c.vis_thr;
  return im;
}

int64_t valid_count(const int64_t* counts, int64_t b, int64_t N) {
  return std::min<int64_t>(std::max<int64_t>(counts[b], 0), N);
}

// Images per task: about 64k OKS terms per task.
int64_t image_grain(int64_t N, int64_t K) {
  return std::max<int64_t>(1, 65536 / std::max<int64_t>(1, N * N * std::max<int64_t>(K, 1)));
}

// keypoints [B,N,K,2] f32, scores/areas [B,N] f64, sigmas [K] f64, counts [B] i64 -> keep [B,N] i64
at::Tensor oks_nms_cpu(const at::Tensor& keypoints, const at::Tensor& scores, const at::Tensor& areas,
                       const at::Tensor& sigmas, const at::Tensor& counts,
                       const c10::optional<at::Tensor>& visibility, c10::optional<double> vis_thr, double thr) {
  NmsCall c = prepare_call(keypoints, scores, areas, sigmas, counts, visibility, vis_thr, thr, "oks_nms");
  at::Tensor keep = at::full({c.B, c.N}, -1, keypoints.options().dtype(at::kLong));
  if (keep.numel() == 0) return keep;
  const float thr_f = static_cast<float>(thr);
  const double* s_all = c.scores.const_data_ptr<double>();
  const int64_t* cnt = c.counts.const_data_ptr<int64_t>();
  int64_t* out_all = keep.mutable_data_ptr<int64_t>();
  at::parallel_for(0, c.B, image_grain(c.N, c.K), [&](int64_t begin, int64_t end) {
    std::vector<int64_t> order;
    std::vector<char> removed;
    for (int64_t b = begin; b < end; ++b) {
      const int64_t n = valid_count(cnt, b, c.N);
      const double* s = s_all + b * c.N;
      const Image im = image_of(c, b);
      order.resize(n);
      std::iota(order.begin(), order.end(), int64_t{0});
      std::sort(order.begin(), order.end(),
                [s](int64_t i, int64_t j) { return ranks_before(s[i], i, s[j], j); });
      removed.assign(n, 0);
      int64_t* out = out_all + b * c.N;
      int64_t kept = 0;
      for (int64_t p = 0; p < n; ++p) {
        const int64_t i = order[p];
        if (removed[i]) continue;
        out[kept++] = i;
        for (int64_t q = p + 1; q < n; ++q) {
          const int64_t j = order[q];
          if (!removed[j] && im.pair_oks(i, j) > thr_f) removed[j] = 1;
        }
      }
    }
  });
  return keep;
}

// Same inputs -> (keep [B,M] i64, kept_scores [B,M] f64), M = min(N, max_dets)
std::tuple<at::Tensor, at::Tensor> soft_oks_nms_cpu(const at::Tensor& keypoints, const at::Tensor& scores,
                                                    const at::Tensor& areas, const at::Tensor& sigmas,
                                                    const at::Tensor& counts,
                                                    const c10::optional<at::Tensor>& visibility,
                                                    c10::optional<double> vis_thr, double thr, int64_t max_dets,
                                                    c10::string_view method) {
  NmsCall c = prepare_call(keypoints, scores, areas, sigmas, counts, visibility, vis_thr, thr, "soft_oks_nms");
  const int64_t m = parse_method(method);
  TORCH_CHECK(max_dets >= 0, "soft_oks_nms: max_dets must be >= 0, got ", max_dets);
  TORCH_CHECK(m == kLinear || thr > 0, "soft_oks_nms: thr must be positive for the gaussian method, got ", thr);
  const int64_t M = std::min(c.N, max_dets);
  at::Tensor keep = at::full({c.B, M}, -1, keypoints.options().dtype(at::kLong));
  at::Tensor kept_scores = at::zeros({c.B, M}, keypoints.options().dtype(at::kDouble));
  if (keep.numel() == 0) return {keep, kept_scores};
  const float thr_f = static_cast<float>(thr);
  const double* s_all = c.scores.const_data_ptr<double>();
  const int64_t* cnt = c.counts.const_data_ptr<int64_t>();
  int64_t* keep_all = keep.mutable_data_ptr<int64_t>();
  double* ks_all = kept_scores.mutable_data_ptr<double>();
  at::parallel_for(0, c.B, image_grain(c.N, c.K), [&](int64_t begin, int64_t end) {
    std::vector<double> s;
    std::vector<char> alive;
    for (int64_t b = begin; b < end; ++b) {
      const int64_t n = valid_count(cnt, b, c.N);
      const Image im = image_of(c, b);
      s.assign(s_all + b * c.N, s_all + b * c.N + n);
      alive.assign(n, 1);
      const int64_t steps = std::min(n, M);
      for (int64_t t = 0; t < steps; ++t) {
        int64_t best = -1;
        for (int64_t j = 0; j < n; ++j)
          if (alive[j] && (best < 0 || ranks_before(s[j], j, s[best], best))) best = j;
        keep_all[b * M + t] = best;
        ks_all[b * M + t] = s[best];
        alive[best] = 0;
        for (int64_t j = 0; j < n; ++j)
          if (alive[j]) s[j] = rescore(s[j], im.pair_oks(best, j), thr_f, thr, m);
      }
    }
  });
  return {keep, kept_scores};
}

}  // namespace

TORCH_LIBRARY_IMPL(pyposefast, CPU, m) {
  m.impl("oks_nms", &oks_nms_cpu);
  m.impl("soft_oks_nms", &soft_oks_nms_cpu);
}

}  // namespace nms
}  // namespace pyposefast
