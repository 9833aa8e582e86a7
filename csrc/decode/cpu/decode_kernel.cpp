// CPU kernels of the decoding ops: at::parallel_for over the B*K keypoint channels. Each task reads
// its plane(s) and writes its own outputs; the few cross-plane reads that MMPose's flat indexing makes
// (DARK-UDP and UDP-combined at a (-1, -1) location) only read the input, so tasks never share state.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "decode/decode_checks.h"
#include "decode/decode_math.h"

namespace pyposefast {
namespace decode {
namespace {

// max over a range, 16 independent lanes (vectorisable): `bad` turns NaN when a NaN or inf was seen.
template <typename T>
void lane_max(const T* p, int64_t n, float* max_out, bool* non_finite) {
  constexpr int kLanes = 16;
  float m[kLanes], z[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    m[l] = -std::numeric_limits<float>::infinity();
    z[l] = 0.f;
  }
  const int64_t full = n / kLanes * kLanes;
  for (int64_t i = 0; i < full; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const float v = load(p, i + l);
      m[l] = v > m[l] ? v : m[l];
      z[l] += v - v;  // NaN for NaN and +-inf
    }
  }
  float mm = -std::numeric_limits<float>::infinity(), zz = 0.f;
  for (int64_t i = full; i < n; ++i) {
    const float v = load(p, i);
    mm = v > mm ? v : mm;
    zz += v - v;
  }
  for (int l = 0; l < kLanes; ++l) {
    mm = m[l] > mm ? m[l] : mm;
    zz += z[l];
  }
  *max_out = mm;
  *non_finite = zz != 0.f;
}

// NumPy's argmax / amax of a plane: the first NaN if any (score NaN), else the first maximum.
template <typename T>
void plane_argmax(const T* p, int64_t n, float* score, int64_t* index) {
  float m;
  bool non_finite;
  lane_max(p, n, &m, &non_finite);
  bool nan = false;
  if (non_finite) {  // rare: scan exactly
    m = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i) {
      const float v = load(p, i);
      nan |= v != v;
      m = v > m ? v : m;
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    const float v = load(p, i);
    if (nan ? v != v : v == m) {
      *score = v;
      *index = i;
      return;
    }
  }
  *score = m;  // unreachable for n > 0
  *index = 0;
}

template <typename T>
float plane_max(const T* p, int64_t n) {  // np.max: NaN propagates
  float m;
  bool non_finite;
  lane_max(p, n, &m, &non_finite);
  if (!non_finite) return m;
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) nan |= load(p, i) != load(p, i);
  return nan ? NAN : m;
}

// The full separable blur of one plane (rows, then columns, the same operation order as blur_at, so
// every value equals blur_at's). Writes the blurred plane to `out` and returns its np.max.
template <bool kReflect, typename T>
float full_blur(const T* plane, int32_t H, int32_t W, const BlurKernel& k, std::vector<float>& rows,
                std::vector<float>& padded, float* out) {
  const int32_t R = k.radius;
  rows.assign(static_cast<size_t>(H) * W, 0.f);
  padded.assign(static_cast<size_t>(W) + 2 * R, 0.f);
  for (int32_t r = 0; r < H; ++r) {
    const T* src = plane + static_cast<int64_t>(r) * W;
    for (int32_t c = -R; c < W + R; ++c) {
      const int32_t cc = kReflect ? reflect101(c, W) : c;
      padded[c + R] = (cc >= 0 && cc < W) ? load(src, cc) : 0.f;
    }
    float* dst = rows.data() + static_cast<int64_t>(r) * W;
    for (int32_t j = 0; j < k.size; ++j) {
      const float w = k.w[j];
      const float* s = padded.data() + j;
      for (int32_t x = 0; x < W; ++x) dst[x] += w * s[x];
    }
  }
  float m = -std::numeric_limits<float>::infinity();
  bool nan = false;
  for (int32_t y = 0; y < H; ++y) {
    float* dst = out + static_cast<int64_t>(y) * W;
    std::fill(dst, dst + W, 0.f);
    for (int32_t i = 0; i < k.size; ++i) {
      int32_t r = y + i - R;
      if (kReflect) r = reflect101(r, H);
      else if (r < 0 || r >= H) continue;
      const float w = k.w[i];
      const float* s = rows.data() + static_cast<int64_t>(r) * W;
      for (int32_t x = 0; x < W; ++x) dst[x] += w * s[x];
    }
    for (int32_t x = 0; x < W; ++x) {
      nan |= dst[x] != dst[x];
      m = dst[x] > m ? dst[x] : m;
    }
  }
  return nan ? NAN : m;
}

struct Scratch {
  std::vector<float> rows, padded, blurred;
};

// MMPose's rescale factor orig_max / blur_max of one plane (float32, as NumPy computes it).
template <typename T>
float plane_rescale(const T* plane, int32_t H, int32_t W, const BlurKernel& k, Scratch& s) {
  s.blurred.resize(static_cast<size_t>(H) * W);
  const float blur_max = full_blur<false>(plane, H, W, k, s.rows, s.padded, s.blurred.data());
  return plane_max(plane, static_cast<int64_t>(H) * W) / blur_max;
}

template <typename T>
void decode_channel(const T* sample, int64_t k, int64_t K, int32_t H, int32_t W, int64_t refine,
                    const BlurKernel& bk, float radius, Scratch& s, float* kp, float* score_out) {
  const int64_t P = static_cast<int64_t>(H) * W;
  float score, kx, ky;
  int64_t index;
  if (refine == kMegvii) {
    // blur, rescale to the original maximum, then argmax of the rescaled plane
    const T* plane = sample + k * P;
    s.blurred.resize(P);
    const float blur_max = full_blur<false>(plane, H, W, bk, s.rows, s.padded, s.blurred.data());
    const float c = plane_max(plane, P) / blur_max;
    float* m = s.blurred.data();
    for (int64_t i = 0; i < P; ++i) m[i] = m[i] * c;
    plane_argmax(m, P, &score, &index);
    peak_location(score, index, W, &kx, &ky);
    if (megvii_refines(kx, ky, H, W)) {
      const int64_t x = static_cast<int64_t>(kx), y = static_cast<int64_t>(ky);
      megvii_step(m[y * W + x - 1], m[y * W + x + 1], m[(y - 1) * W + x], m[(y + 1) * W + x], &kx, &ky);
    }
    kp[0] = kx;
    kp[1] = ky;
    *score_out = score / 255.f + 0.5f;
    return;
  }
  if (refine == kUdpCombined) {
    const T* cls = sample + 3 * k * P;
    s.blurred.resize(P);
    full_blur<true>(cls, H, W, bk, s.rows, s.padded, s.blurred.data());
    plane_argmax(s.blurred.data(), P, &score, &index);
    peak_location(score, index, W, &kx, &ky);
    // MMPose's flat index into the K offset planes (NumPy wraps a negative one to the end)
    int64_t f = static_cast<int64_t>(kx + ky * static_cast<float>(W)) + P * k;
    if (f < 0) f += K * P;
    const int64_t owner = f / P, pixel = f % P;
    kp[0] = kx + load(sample, (3 * owner + 1) * P + pixel) * radius;
    kp[1] = ky + load(sample, (3 * owner + 2) * P + pixel) * radius;
    *score_out = score;
    return;
  }
  const T* plane = sample + k * P;
  plane_argmax(plane, P, &score, &index);
  peak_location(score, index, W, &kx, &ky);
  if (refine == kQuarter) {
    quarter_step(plane, H, W, &kx, &ky);
  } else if (refine == kDark && dark_refines(kx, ky, H, W)) {
    float b[kDarkPoints], v[kDarkPoints];
    const int32_t x = static_cast<int32_t>(kx), y = static_cast<int32_t>(ky);
    for (int i = 0; i < kDarkPoints; ++i) {
      int32_t ox, oy;
      dark_point(i, &ox, &oy);
      b[i] = blur_at<false>(plane, H, W, y + oy, x + ox, bk);
    }
    if (clamps_idle(b, kDarkPoints, score, 1e-10f, 0.f)) {
      for (int i = 0; i < kDarkPoints; ++i) v[i] = std::log(b[i]);
    } else {
      const float c = plane_rescale(plane, H, W, bk, s);
      for (int i = 0; i < kDarkPoints; ++i) v[i] = std::log(nan_maximum(b[i] * c, 1e-10f));
    }
    dark_step(v, &kx, &ky);
  } else if (refine == kDarkUdp) {
    float b[kUdpPoints], v[kUdpPoints];
    int64_t owner[kUdpPoints];
    bool own = true;
    for (int i = 0; i < kUdpPoints; ++i) {
      int32_t r, c;
      udp_read(i, kx, ky, k, K, H, W, &owner[i], &r, &c);
      own = own && owner[i] == k;
      b[i] = blur_at<false>(sample + owner[i] * P, H, W, r, c, bk);
    }
    if (own && clamps_idle(b, kUdpPoints, score, 1e-3f, 50.f)) {
      for (int i = 0; i < kUdpPoints; ++i) v[i] = std::log(b[i]);
    } else {
      int64_t cached = -1;
      float cached_c = 0.f;
      for (int i = 0; i < kUdpPoints; ++i) {
        if (owner[i] != cached) {
          cached = owner[i];
          cached_c = plane_rescale(sample + cached * P, H, W, bk, s);
        }
        v[i] = std::log(nan_clip(b[i] * cached_c, 1e-3f, 50.f));
      }
    }
    udp_step(v, &kx, &ky);
  }
  kp[0] = kx;
  kp[1] = ky;
  *score_out = score;
}

// heatmaps [B, C, H, W] -> keypoints [B, K, 2] f32, scores [B, K] f32
std::tuple<at::Tensor, at::Tensor> decode_heatmaps_cpu(const at::Tensor& heatmaps, c10::string_view refine,
                                                       int64_t blur_kernel_size, double offset_radius) {
  HeatmapDecodeCall c = prepare_heatmap_decode(heatmaps, refine, blur_kernel_size, offset_radius);
  if (c.B * c.K == 0) return {c.keypoints, c.scores};
  const int64_t C = c.refine == kUdpCombined ? 3 * c.K : c.K;
  const int64_t P = c.H * c.W;
  const int64_t grain = std::max<int64_t>(1, 16384 / P);
  PPF_DISPATCH_DECODE_TYPES(c.heatmaps.scalar_type(), "decode_heatmaps_cpu", [&] {
    const scalar_t* hm = c.heatmaps.const_data_ptr<scalar_t>();
    float* kp = c.keypoints.mutable_data_ptr<float>();
    float* sc = c.scores.mutable_data_ptr<float>();
    at::parallel_for(0, c.B * c.K, grain, [&](int64_t begin, int64_t end) {
      Scratch s;
      for (int64_t i = begin; i < end; ++i) {
        const int64_t b = i / c.K, k = i % c.K;
        decode_channel(hm + b * C * P, k, c.K, static_cast<int32_t>(c.H), static_cast<int32_t>(c.W), c.refine,
                       c.blur, c.radius, s, kp + 2 * i, sc + i);
      }
    });
  });
  return {c.keypoints, c.scores};
}

// One SimCC axis: argmax (NumPy rules) and max of a vector.
template <typename T>
void vector_argmax(const T* v, int64_t n, float* score, int64_t* index) {
  plane_argmax(v, n, score, index);
}

// 1-D DARK of one axis (refine_simcc_dark): loc is the argmax location (or -1).
template <typename T>
float simcc_dark(const T* vec, int32_t L, float loc, const BlurKernel& bk) {
  float b[5], v[5];
  for (int i = 0; i < 5; ++i) b[i] = blur1d_at(vec, L, simcc_read(i - 2, loc, L), bk);
  const float orig_max = plane_max(vec, L);
  if (clamps_idle(b, 5, orig_max, 1e-3f, 50.f)) {
    for (int i = 0; i < 5; ++i) v[i] = std::log(b[i]);
  } else {
    float blur_max = -std::numeric_limits<float>::infinity();
    bool nan = false;
    for (int32_t x = 0; x < L; ++x) {
      const float b = blur1d_at(vec, L, x, bk);
      nan |= b != b;
      blur_max = b > blur_max ? b : blur_max;
    }
    const float c = orig_max / (nan ? NAN : blur_max);
    for (int i = 0; i < 5; ++i) v[i] = std::log(nan_clip(b[i] * c, 1e-3f, 50.f));
  }
  return simcc_step(v, loc);
}

// simcc_x [B, K, Wx], simcc_y [B, K, Wy] -> locations [B, K, 2] f32 (bins), scores [B, K] f32
std::tuple<at::Tensor, at::Tensor> decode_simcc_cpu(const at::Tensor& simcc_x, const at::Tensor& simcc_y,
                                                    int64_t blur_x, int64_t blur_y) {
  SimccDecodeCall c = prepare_simcc_decode(simcc_x, simcc_y, blur_x, blur_y);
  if (c.B * c.K == 0) return {c.locations, c.scores};
  const int64_t grain = std::max<int64_t>(1, 8192 / (c.Lx + c.Ly));
  PPF_DISPATCH_DECODE_TYPES(c.x.scalar_type(), "decode_simcc_cpu", [&] {
    const scalar_t* xs = c.x.const_data_ptr<scalar_t>();
    const scalar_t* ys = c.y.const_data_ptr<scalar_t>();
    float* loc = c.locations.mutable_data_ptr<float>();
    float* sc = c.scores.mutable_data_ptr<float>();
    at::parallel_for(0, c.B * c.K, grain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const scalar_t* vx = xs + i * c.Lx;
        const scalar_t* vy = ys + i * c.Ly;
        float mx, my;
        int64_t ix, iy;
        vector_argmax(vx, c.Lx, &mx, &ix);
        vector_argmax(vy, c.Ly, &my, &iy);
        const float score = mx > my ? my : mx;
        float lx = static_cast<float>(ix), ly = static_cast<float>(iy);
        if (score <= 0.f) lx = ly = -1.f;
        if (c.dark_x) lx = simcc_dark(vx, static_cast<int32_t>(c.Lx), lx, c.blur_x);
        if (c.dark_y) ly = simcc_dark(vy, static_cast<int32_t>(c.Ly), ly, c.blur_y);
        loc[2 * i] = lx;
        loc[2 * i + 1] = ly;
        sc[i] = score;
      }
    });
  });
  return {c.locations, c.scores};
}

}  // namespace

TORCH_LIBRARY_IMPL(pyposefast, CPU, m) {
  m.impl("decode_heatmaps", &decode_heatmaps_cpu);
  m.impl("decode_simcc", &decode_simcc_cpu);
}

}  // namespace decode
}  // namespace pyposefast
