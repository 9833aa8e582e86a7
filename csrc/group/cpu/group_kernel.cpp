// CPU kernel of ae_decode, in four at::parallel_for phases:
//   A. candidates: per (b, k) plane, the max-pool NMS peaks above keypoint_thr, top-k by
//      (value desc, index asc);
//   B. (dark_udp only) MMPose's modulated planes: zero-padded Gaussian blur, rescaled to the plane's
//      maximum, clip(1e-3, 50), log;
//   C. grouping: per image, joint type by joint type (group_math.h), first max_instances groups out;
//   D. per instance: refinement, centre shift, instance tag, missing keypoints filled by the
//      tag-matched argmin of the whole plane.
// Tasks of one phase write disjoint outputs and read only inputs and earlier phases' results.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "decode/decode_math.h"
#include "group/group_checks.h"
#include "group/group_math.h"

namespace pyposefast {
namespace group {
namespace {

// Phase A for one plane.
void plane_candidates(const float* plane, int32_t H, int32_t W, int32_t r, double thr, int32_t T, float* vals,
                      int32_t* idxs, int32_t* count) {
  *count = 0;
  const int64_t HW = static_cast<int64_t>(H) * W;
  if (thr >= 0.0) {
    const float fthr = static_cast<float>(thr);  // prefilter; the exact test is in double below
    for (int64_t p = 0; p < HW; ++p) {
      const float v = plane[p];
      if (!(v >= fthr)) continue;
      if (!(static_cast<double>(v) > thr)) continue;
      const int32_t y = static_cast<int32_t>(p / W), x = static_cast<int32_t>(p % W);
      if (!is_peak(plane, H, W, y, x, r, v)) continue;
      topk_insert(vals, idxs, count, T, v, static_cast<int32_t>(p));
    }
  } else {  // a negative threshold keeps the suppressed pixels too (their NMS value is 0 * v)
    for (int64_t p = 0; p < HW; ++p) {
      const float v = plane[p];
      const int32_t y = static_cast<int32_t>(p / W), x = static_cast<int32_t>(p % W);
      const float nv = is_peak(plane, H, W, y, x, r, v) ? v : v * 0.f;
      if (!(static_cast<double>(nv) > thr)) continue;
      topk_insert(vals, idxs, count, T, nv, static_cast<int32_t>(p));
    }
  }
}

// Phase B for one plane: out = log(clip(blur(plane) * (max / blur_max), 1e-3, 50)).
void modulate_plane(const float* plane, int32_t H, int32_t W, const decode::BlurKernel& k, float* out) {
  const int64_t HW = static_cast<int64_t>(H) * W;
  float omax = -std::numeric_limits<float>::infinity(), bmax = omax;
  bool onan = false, bnan = false;
  for (int64_t p = 0; p < HW; ++p) {
    const float v = plane[p];
    onan |= v != v;
    omax = v > omax ? v : omax;
  }
  for (int32_t y = 0; y < H; ++y)
    for (int32_t x = 0; x < W; ++x) {
      const float b = decode::blur_at<false>(plane, H, W, y, x, k);
      out[static_cast<int64_t>(y) * W + x] = b;
      bnan |= b != b;
      bmax = b > bmax ? b : bmax;
    }
  const float ratio = (onan || bnan) ? NAN : omax / bmax;
  for (int64_t p = 0; p < HW; ++p) out[p] = std::log(decode::nan_clip(out[p] * ratio, 1e-3f, 50.f));
}

// Phase D's scan: the first pixel of the minimum fill-in cost (np.argmin: the first NaN, else the
// first minimum). Costs go to buf (float32, exactly fill_cost's operations; SSE2 four at a time).
int64_t fill_argmin(const float* hm, const float* tag_k, int64_t lstride, int64_t L, const float* itag, int64_t HW,
                    std::vector<float>& buf) {
  buf.resize(HW);
  float* c = buf.data();
  int64_t p = 0;
  float m = std::numeric_limits<float>::infinity();
  bool nan = false;
#if defined(__SSE2__)
  {
    const __m128 big = _mm_set1_ps(8388608.f), hundred = _mm_set1_ps(100.f);
    __m128 m4 = _mm_set1_ps(std::numeric_limits<float>::infinity());
    __m128 nan4 = _mm_setzero_ps();
    for (; p + 4 <= HW; p += 4) {
      __m128 d = _mm_sub_ps(_mm_loadu_ps(tag_k + p), _mm_set1_ps(itag[0]));
      __m128 sq = _mm_mul_ps(d, d);
      for (int64_t l = 1; l < L; ++l) {
        d = _mm_sub_ps(_mm_loadu_ps(tag_k + l * lstride + p), _mm_set1_ps(itag[l]));
        sq = _mm_add_ps(sq, _mm_mul_ps(d, d));
      }
      const __m128 D = _mm_sqrt_ps(sq);
      const __m128 small = _mm_cmplt_ps(D, big);
      const __m128 R = _mm_or_ps(_mm_and_ps(small, _mm_sub_ps(_mm_add_ps(D, big), big)), _mm_andnot_ps(small, D));
      const __m128 cost = _mm_sub_ps(_mm_mul_ps(R, hundred), _mm_loadu_ps(hm + p));
      _mm_storeu_ps(c + p, cost);
      nan4 = _mm_or_ps(nan4, _mm_cmpunord_ps(cost, cost));
      m4 = _mm_min_ps(m4, cost);
    }
    float mm[4];
    _mm_storeu_ps(mm, m4);
    for (int i = 0; i < 4; ++i) m = mm[i] < m ? mm[i] : m;
    nan = _mm_movemask_ps(nan4) != 0;
  }
#endif
  for (; p < HW; ++p) {
    const float v = fill_cost(tag_k, lstride, p, itag, L, hm[p]);
    c[p] = v;
    nan |= v != v;
    m = v < m ? v : m;
  }
  for (int64_t q = 0; q < HW; ++q)
    if (nan ? c[q] != c[q] : c[q] == m) return q;
  return 0;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> ae_decode_cpu(
    const at::Tensor& heatmaps, const at::Tensor& tags, c10::IntArrayRef keypoint_order, int64_t nms_kernel,
    int64_t topk, double keypoint_thr, double tag_thr, int64_t max_instances, c10::string_view refine,
    int64_t blur_kernel_size, double center_shift) {
  AeDecodeCall c = prepare_ae_decode(heatmaps, tags, keypoint_order, nms_kernel, topk, keypoint_thr, tag_thr,
                                     max_instances, refine, blur_kernel_size, center_shift);
  const int64_t B = c.B, K = c.K, L = c.L, H = c.H, W = c.W, T = c.T, N = c.N, HW = H * W;
  if (B == 0 || N == 0) return {c.keypoints, c.keypoint_scores, c.instance_scores, c.counts};
  const float* hm = c.heatmaps.data_ptr<float>();
  const float* tg = c.tags.data_ptr<float>();
  float* out_kp = c.keypoints.data_ptr<float>();
  float* out_sc = c.keypoint_scores.data_ptr<float>();
  float* out_is = c.instance_scores.data_ptr<float>();
  int64_t* out_n = c.counts.data_ptr<int64_t>();

  // Grains: small images stay on the calling thread (a parallel region costs more than it saves
  // below about a million pixel reads per task).
  const int64_t plane_grain = std::max<int64_t>(1, (int64_t{1} << 20) / HW);

  // A. candidates
  std::vector<float> cvals(B * K * T);
  std::vector<int32_t> cidx(B * K * T), ccount(B * K);
  at::parallel_for(0, B * K, plane_grain, [&](int64_t begin, int64_t end) {
    for (int64_t bk = begin; bk < end; ++bk)
      plane_candidates(hm + bk * HW, static_cast<int32_t>(H), static_cast<int32_t>(W), c.nms_radius, c.keypoint_thr,
                       static_cast<int32_t>(T), cvals.data() + bk * T, cidx.data() + bk * T, ccount.data() + bk);
  });

  // B. modulated planes (dark_udp): refinement and fill-in read them, as MMPose's in-place blur does
  std::vector<float> modulated;
  if (c.udp) {
    modulated.resize(B * K * HW);
    at::parallel_for(0, B * K, plane_grain, [&](int64_t begin, int64_t end) {
      for (int64_t bk = begin; bk < end; ++bk)
        modulate_plane(hm + bk * HW, static_cast<int32_t>(H), static_cast<int32_t>(W), c.blur,
                       modulated.data() + bk * HW);
    });
  }
  const float* planes = c.udp ? modulated.data() : hm;

  // C. grouping, one image per task
  at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
    const int64_t Gmax = K * T;
    std::vector<float> joints(Gmax * K * 3), gtags(Gmax * (K + 1) * L), key(Gmax), mean(Gmax * L), ctag(T * L);
    std::vector<int32_t> ntags(Gmax), col(T), p(Gmax + T + 1), way(Gmax + T + 1);
    std::vector<double> dist(T * Gmax), u(T), v(Gmax + T + 1), minv(Gmax + T + 1);
    std::vector<uint8_t> used(Gmax + T + 1);
    for (int64_t b = begin; b < end; ++b) {
      GroupState g{joints.data(), gtags.data(), ntags.data(), key.data(), mean.data(), 0};
      SolverScratch s{u.data(), v.data(), minv.data(), p.data(), way.data(), used.data()};
      Candidates cand{cvals.data() + b * K * T, cidx.data() + b * K * T, ccount.data() + b * K, T};
      const float* tb = tg + b * K * L * HW;
      auto tag = [&](int64_t k, int32_t idx, int64_t l) { return tb[(l * K + k) * HW + idx]; };
      const int32_t G = group_image(K, L, W, c.order.data(), cand, tag, c.tag_thr, g, dist.data(), ctag.data(),
                                    col.data(), s);
      const int64_t n_out = std::min<int64_t>(G, N);
      out_n[b] = n_out;
      for (int64_t n = 0; n < n_out; ++n) {
        float* kp = out_kp + (b * N + n) * K * 2;
        float* sc = out_sc + (b * N + n) * K;
        for (int64_t k = 0; k < K; ++k) {
          const float* jt = joints.data() + (n * K + k) * 3;
          kp[2 * k] = jt[0];
          kp[2 * k + 1] = jt[1];
          sc[k] = jt[2];
        }
        out_is[b * N + n] = np_pairwise_sum(sc, K, 1) / static_cast<float>(K);
      }
    }
  });

  // D. refine, shift, fill: one instance per task; in parallel only when the fill-in scans (one whole
  // plane per missing keypoint) add up to a couple of million pixels
  int64_t fill_pixels = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < out_n[b]; ++n)
      for (int64_t k = 0; k < K; ++k) fill_pixels += out_sc[(b * N + n) * K + k] > 0.f ? 0 : HW;
  const int64_t inst_grain = fill_pixels < (int64_t{1} << 21) ? B * N : 1;
  at::parallel_for(0, B * N, inst_grain, [&](int64_t begin, int64_t end) {
    std::vector<float> rows(K * L), buf;
    float itag[kMaxTagDim];
    for (int64_t bn = begin; bn < end; ++bn) {
      const int64_t b = bn / N, n = bn % N;
      if (n >= out_n[b]) continue;
      float* kp = out_kp + bn * K * 2;
      float* sc = out_sc + bn * K;
      const float* pb = planes + b * K * HW;
      const float* tb = tg + b * K * L * HW;
      for (int64_t k = 0; k < K; ++k) {
        float x = kp[2 * k], y = kp[2 * k + 1];
        if (c.udp) {
          float vals[decode::kUdpPoints];
          for (int i = 0; i < decode::kUdpPoints; ++i) {
            int64_t plane;
            int32_t row, colm;
            decode::udp_read(i, x, y, k, K, static_cast<int32_t>(H), static_cast<int32_t>(W), &plane, &row, &colm);
            vals[i] = pb[plane * HW + static_cast<int64_t>(row) * W + colm];
          }
          decode::udp_step(vals, &x, &y);
        } else {
          decode::quarter_step(pb + k * HW, static_cast<int32_t>(H), static_cast<int32_t>(W), &x, &y);
        }
        if (sc[k] > 0.f) {
          x += c.center_shift;
          y += c.center_shift;
        }
        kp[2 * k] = x;
        kp[2 * k + 1] = y;
      }
      auto tag = [&](int64_t k, int32_t idx, int64_t l) { return tb[(l * K + k) * HW + idx]; };
      instance_tag(kp, sc, K, L, H, W, tag, rows.data(), itag);
      for (int64_t k = 0; k < K; ++k) {
        if (sc[k] > 0.f) continue;
        const int64_t q = fill_argmin(pb + k * HW, tb + k * HW, K * HW, L, itag, HW, buf);
        kp[2 * k] = static_cast<float>(q % W);
        kp[2 * k + 1] = static_cast<float>(q / W);
        sc[k] = pb[k * HW + q];
      }
    }
  });
  return {c.keypoints, c.keypoint_scores, c.instance_scores, c.counts};
}

}  // namespace

TORCH_LIBRARY_IMPL(pyposefast, CPU, m) { m.impl("ae_decode", &ae_decode_cpu); }

}  // namespace group
}  // namespace pyposefast
