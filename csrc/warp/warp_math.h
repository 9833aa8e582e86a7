// Geometry of one output (crop) pixel of warp_affine, shared by the CPU and CUDA kernels.
//
// Convention (OpenCV's cv2.warpAffine without WARP_INVERSE_MAP): the matrix M [2, 3] maps source
// pixels to crop pixels; every crop pixel (x, y) samples the source at M^-1 (x, y) with bilinear
// interpolation and a constant border. Pixel centres sit at integer coordinates. OpenCV >= 5 samples
// at the exact (unquantised) position, which is what we do; OpenCV 4 quantised it to 1/32 pixel.
#pragma once

#include <cmath>
#include <cstdint>

#include "heatmap/heatmap_math.h"  // PPF_HD (and dmul_rn, dadd_rn from common/exact_math.h)

namespace pyposefast {
namespace warp {

PPF_HD bool finite(double v) {
#if defined(__CUDA_ARCH__)
  return isfinite(v);
#else
  return std::isfinite(v);
#endif
}

// Inverse of a forward matrix, in double like cv2.invertAffineTransform. `valid` is false for a
// singular or non-finite matrix: such a crop is all border (OpenCV would sample pixel (0, 0)).
struct InverseAffine {
  double a, b, c, d, e, f;  // src_x = a x + b y + c, src_y = d x + e y + f
  bool valid;
};

PPF_HD InverseAffine invert_affine(const double* m) {
  InverseAffine inv;
  const double det = dmul_rn(m[0], m[4]) - dmul_rn(m[1], m[3]);
  inv.valid = det != 0.0 && finite(det) && finite(m[2]) && finite(m[5]);
  const double r = inv.valid ? 1.0 / det : 0.0;
  inv.a = m[4] * r;
  inv.b = -m[1] * r;
  inv.d = -m[3] * r;
  inv.e = m[0] * r;
  inv.c = -(dmul_rn(inv.a, m[2]) + dmul_rn(inv.b, m[5]));
  inv.f = -(dmul_rn(inv.d, m[2]) + dmul_rn(inv.e, m[5]));
  inv.valid = inv.valid && finite(inv.a) && finite(inv.b) && finite(inv.c) && finite(inv.d) &&
              finite(inv.e) && finite(inv.f);
  return inv;
}

// The four source taps of one crop pixel: integer top-left (x0, y0) and float weights.
struct Taps {
  int32_t x0, y0;  // |coordinates| < kFarAway < 2^31
  float fx, fy;  // fractional offsets in [0, 1)
  bool any;      // false when the pixel is entirely border
};

constexpr double kFarAway = 1e9;  // keeps float->int conversions defined

// floor() for |v| < kFarAway without a libm call (baseline x86-64 has no SSE4.1 round instruction).
PPF_HD int64_t floor_to_int(double v) {
#if defined(__CUDA_ARCH__)
  return static_cast<int64_t>(floor(v));
#else
  const int64_t i = static_cast<int64_t>(v);  // truncates toward zero
  return i - (static_cast<double>(i) > v ? 1 : 0);
#endif
}

PPF_HD Taps source_taps(const InverseAffine& inv, int64_t x, int64_t y, int64_t src_w, int64_t src_h) {
  Taps t;
  t.any = false;
  t.x0 = t.y0 = 0;
  t.fx = t.fy = 0.f;
  if (!inv.valid) return t;
  const double xd = static_cast<double>(x), yd = static_cast<double>(y);
  const double sx = dadd_rn(dadd_rn(dmul_rn(inv.a, xd), dmul_rn(inv.b, yd)), inv.c);
  const double sy = dadd_rn(dadd_rn(dmul_rn(inv.d, xd), dmul_rn(inv.e, yd)), inv.f);
  if (!(fabs(sx) < kFarAway && fabs(sy) < kFarAway)) return t;
  t.x0 = static_cast<int32_t>(floor_to_int(sx));
  t.y0 = static_cast<int32_t>(floor_to_int(sy));
  t.fx = static_cast<float>(sx - static_cast<double>(t.x0));
  t.fy = static_cast<float>(sy - static_cast<double>(t.y0));
  t.any = !(t.x0 >= src_w || t.x0 + 1 < 0 || t.y0 >= src_h || t.y0 + 1 < 0);  // some tap inside
  return t;
}

// What one crop reads: its source image, or nothing (bad index or metadata: an all-border crop).
// Checked here, in the kernels, so that even a direct torch.ops call never reads out of bounds.
struct Source {
  int64_t offset, height, width;
  bool ok;
};

PPF_HD Source source_of(int64_t n, const int64_t* index, const int64_t* offsets, const int64_t* sizes, int64_t B,
                        int64_t C, int64_t numel) {
  Source s{0, 0, 0, false};
  const int64_t b = index[n];
  if (b < 0 || b >= B) return s;
  s.offset = offsets[b];
  s.height = sizes[2 * b];
  s.width = sizes[2 * b + 1];
  s.ok = s.offset >= 0 && s.height >= 0 && s.width >= 0 && s.offset + s.height * s.width * C <= numel;
  return s;
}

}  // namespace warp
}  // namespace pyposefast
