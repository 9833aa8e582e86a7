// Per-keypoint geometry of the heatmap targets, shared by the CPU and CUDA kernels.
//
// Everything here is plain arithmetic on scalars so that both backends compute the same numbers.
// Conventions: heatmap size [W, H]; keypoints (x, y) in heatmap pixels; pixel (c, r) = (column, row).
// The formulas follow MMPose 1.x (codecs/utils/gaussian_heatmap.py, offset_heatmap.py) "as coded";
// ALGORITHMS.md sections (a) and (b) is the contract.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/exact_math.h"  // dmul_rn, dadd_rn

#if defined(__CUDACC__)
#define PPF_HD __host__ __device__ __forceinline__
#else
#define PPF_HD inline
#endif

namespace pyposefast {
namespace heatmap {

enum GaussianMethod : int64_t {
  kMsra = 0,      // integer centre int(mu + 0.5), patch of radius 3*sigma, peak 1 at the integer centre
  kUnbiased = 1,  // DARK: float centre, Gaussian over the whole map (3*sigma test only for the weight)
  kUdp = 2,       // UDP: integer patch placement, sub-pixel centre inside the patch
};

// |x| or |y| at or beyond this is out of bounds for any heatmap (and keeps float->int casts defined).
constexpr float kFarAway = 1e9f;
// exp(-t) for t above this rounds to +0 in float32 (smallest subnormal 1.4e-45 > 2 * exp(-104)).
constexpr double kZeroArgument = 105.0;

// A window bound v (a whole number in double) clipped to [0, size].
PPF_HD int32_t clip_to_axis(double v, int64_t size) {
  if (v <= 0.0) return 0;
  if (v >= static_cast<double>(size)) return static_cast<int32_t>(size);
  return static_cast<int32_t>(v);
}

// Where one Gaussian (one instance's keypoint) lands. Pixels outside [x_begin, x_end) x
// [y_begin, y_end) get exactly 0 from it. Inside, the value at pixel (c, r) is
//   exp(-(c - cx)^2 / (2 sigma^2)) * exp(-(r - cy)^2 / (2 sigma^2))
// evaluated in double and rounded once to the output dtype (MSRA: cx = left + size//2, an integer;
// UDP: left + size//2 + (x - int(x + 0.5)); unbiased: x).
struct GaussianParams {
  double cx, cy;                           // centre in heatmap pixels
  int32_t x_begin, x_end, y_begin, y_end;  // clipped window within [0, W) x [0, H); empty if inactive
  float weight;                            // keypoint weight (see below)
  bool active;                             // draws into the heatmap
};

// keypoint weight rules (MMPose "as coded", plus our NaN rule):
//  * visibility < 0.5: skipped, the weight keeps the visibility value (NaN visibility -> 0);
//  * visible but non-finite or far-away (|x|,|y| >= 1e9) keypoint: skipped, weight 0;
//  * visible but its 3-sigma box misses the map entirely: skipped, weight 0;
//  * otherwise: drawn, weight = visibility.
PPF_HD GaussianParams gaussian_params(float x, float y, float v, int64_t W, int64_t H,
                                      double sigma, int64_t method) {
  GaussianParams p;
  p.x_begin = p.x_end = p.y_begin = p.y_end = 0;
  p.cx = p.cy = 0.0;
  p.active = false;
  if (!(v >= 0.5f)) {
    p.weight = (v == v) ? v : 0.f;
    return p;
  }
  p.weight = 0.f;
  if (!(fabsf(x) < kFarAway && fabsf(y) < kFarAway)) return p;
  const double radius = sigma * 3.0;

  if (method == kUnbiased) {
    // float32 bounds, as NumPy computes them for float32 keypoints
    const float fr = static_cast<float>(radius);
    const float left = x - fr, top = y - fr;
    const float right = (x + fr) + 1.f, bottom = (y + fr) + 1.f;
    if (left >= static_cast<float>(W) || top >= static_cast<float>(H) || right < 0.f || bottom < 0.f) return p;
    p.weight = v;
    p.active = true;
    p.cx = static_cast<double>(x);
    p.cy = static_cast<double>(y);
    // Beyond `cut` pixels from the centre the factor is below exp(-105): the value is exactly 0.
    const double cut = sqrt(kZeroArgument * 2.0 * sigma * sigma);
    p.x_begin = clip_to_axis(floor(p.cx - cut), W);
    p.x_end = clip_to_axis(ceil(p.cx + cut) + 1.0, W);
    p.y_begin = clip_to_axis(floor(p.cy - cut), H);
    p.y_end = clip_to_axis(ceil(p.cy + cut) + 1.0, H);
    return p;
  }

  // MSRA and UDP: integer centre by truncation of mu + 0.5 (float32 add, as NumPy does),
  // integer box [left, right) from the float64 radius, truncated toward zero (astype(int64)).
  const int64_t mx = static_cast<int64_t>(x + 0.5f);
  const int64_t my = static_cast<int64_t>(y + 0.5f);
  const int64_t left = static_cast<int64_t>(static_cast<double>(mx) - radius);
  const int64_t top = static_cast<int64_t>(static_cast<double>(my) - radius);
  const int64_t right = static_cast<int64_t>(static_cast<double>(mx) + radius + 1.0);
  const int64_t bottom = static_cast<int64_t>(static_cast<double>(my) + radius + 1.0);
  if (left >= W || top >= H || right < 0 || bottom < 0) return p;
  p.weight = v;
  p.active = true;
  const double size = 2.0 * radius + 1.0;          // gaussian_size
  const int64_t n = static_cast<int64_t>(ceil(size));  // len(arange(0, size))
  double x0 = floor(size / 2.0);                   // gaussian_size // 2
  double y0 = x0;
  if (method == kUdp) {
    x0 += static_cast<double>(x) - static_cast<double>(mx);
    y0 += static_cast<double>(y) - static_cast<double>(my);
  }
  p.cx = static_cast<double>(left) + x0;
  p.cy = static_cast<double>(top) + y0;
  const int64_t pr = left + n < right ? left + n : right;
  const int64_t pb = top + n < bottom ? top + n : bottom;
  p.x_begin = static_cast<int32_t>(left > 0 ? left : 0);
  p.x_end = static_cast<int32_t>(pr < W ? pr : W);
  p.y_begin = static_cast<int32_t>(top > 0 ? top : 0);
  p.y_end = static_cast<int32_t>(pb < H ? pb : H);
  return p;
}

// One axis factor exp(-(i - centre)^2 / (2 sigma^2)).
PPF_HD double gaussian_factor(int32_t i, double centre, double two_sigma_sq) {
  const double d = static_cast<double>(i) - centre;
  return exp(-(d * d) / two_sigma_sq);
}

// UDP "combined" targets: which instance draws keypoint k (the last visible one: MMPose overwrites),
// and its weight. Weights are the visibility copy (no bounds test), NaN/far keypoints -> 0.
struct OffsetParams {
  double x, y;
  float weight;
  bool active;
};

PPF_HD OffsetParams offset_params(float x, float y, float v) {
  OffsetParams p;
  p.x = static_cast<double>(x);
  p.y = static_cast<double>(y);
  p.active = false;
  if (!(v >= 0.5f)) {
    p.weight = (v == v) ? v : 0.f;
    return p;
  }
  if (!(fabsf(x) < kFarAway && fabsf(y) < kFarAway)) {
    p.weight = 0.f;
    return p;
  }
  p.weight = v;
  p.active = true;
  return p;
}

// (cls, x_off, y_off) at pixel (c, r): offsets (mu - p) / radius in float64 over the whole map,
// cls = 1 inside the unit disk of the normalised offset (<= 1, as coded).
struct OffsetValue {
  double x_off_d, y_off_d;  // float64 offsets (x depends on the column only, y on the row only)
  float cls, x_off, y_off;
};

PPF_HD float offset_class(double xo, double yo) {
  return dadd_rn(dmul_rn(xo, xo), dmul_rn(yo, yo)) <= 1.0 ? 1.f : 0.f;
}

PPF_HD OffsetValue offset_value(double mx, double my, int32_t c, int32_t r, double radius) {
  OffsetValue o;
  o.x_off_d = (mx - static_cast<double>(c)) / radius;
  o.y_off_d = (my - static_cast<double>(r)) / radius;
  o.cls = offset_class(o.x_off_d, o.y_off_d);
  o.x_off = static_cast<float>(o.x_off_d);
  o.y_off = static_cast<float>(o.y_off_d);
  return o;
}

}  // namespace heatmap
}  // namespace pyposefast
