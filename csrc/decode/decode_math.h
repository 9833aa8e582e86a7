// Keypoint decoding math shared by the CPU and CUDA kernels (kernel family 4): NumPy's argmax
// rules, OpenCV's Gaussian kernel, the blurred value at one pixel, and the refinement steps of
// MMPose 1.x (codecs/utils/post_processing.py, refinement.py; megvii_heatmap.py, udp_heatmap.py,
// simcc_label.py) "as coded". ALGORITHMS.md sections (c) and (f) are the contract.
//
// Conventions: one heatmap plane is [H, W] row-major (index = y * W + x); locations are (x, y) in
// heatmap pixels; a location of -1 means "no positive maximum" (MMPose's rule).
//
// DARK's "modulation" blurs the whole plane and rescales it so its maximum equals the original
// maximum: value(p) = blur(p) * (orig_max / blur_max). Only a few pixels around the peak enter the
// Taylor step, and the rescale is a constant factor c whose logarithm cancels in every derivative;
// c matters only through the clamps (DARK: max(., 1e-10); UDP and SimCC: clip(., 1e-3, 50)). Since
// blur <= orig_max (a normalised non-negative kernel), c lies in [1, orig_max / max(stencil)], so when
// no clamp can bind for any c in that range the step is computed from the stencil alone ("fast
// path"); otherwise the kernels compute the plane's full blur maximum and apply MMPose's clamps
// exactly ("exact path"). Both give MMPose's numbers up to float32 rounding.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define PPF_DHD __host__ __device__ __forceinline__
#else
#define PPF_DHD inline
#endif

namespace pyposefast {
namespace decode {

enum Refine : int64_t {
  kNone = 0,         // argmax only (get_heatmap_maximum)
  kQuarter = 1,      // MSRAHeatmap: +-0.25 towards the higher neighbour (refine_keypoints)
  kDark = 2,         // MSRAHeatmap(unbiased=True): refine_keypoints_dark
  kDarkUdp = 3,      // UDPHeatmap('gaussian'): refine_keypoints_dark_udp
  kMegvii = 4,       // MegviiHeatmap.decode: blur, argmax, +-0.25 + 0.5, score / 255 + 0.5
  kUdpCombined = 5,  // UDPHeatmap('combined'): blur the class map, argmax, add the offsets
};

constexpr int kMaxBlur = 127;  // largest Gaussian kernel size (odd)
constexpr float kBlurBound = 1.0f + 1e-5f;  // blur <= orig_max * kBlurBound (float rounding slack)
constexpr float kClampMargin = 1e-3f;        // relative distance from a clamp that the fast path needs

// OpenCV's getGaussianKernel(size, sigma=0, CV_32F): fixed tables for sizes up to 9 (as OpenCV 5),
// else sigma = 0.3 * ((size - 1) / 2 - 1) + 0.8, exp(-x^2 / (2 sigma^2)) in double, normalised in
// double, rounded to float.
struct BlurKernel {
  int32_t size = 1;
  int32_t radius = 0;
  float w[kMaxBlur] = {1.f};
};

inline BlurKernel make_blur_kernel(int64_t size) {
  static const float kTables[5][9] = {
      {1.f},
      {0.25f, 0.5f, 0.25f},
      {0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f},
      {0.03125f, 0.109375f, 0.21875f, 0.28125f, 0.21875f, 0.109375f, 0.03125f},
      {0.015625f, 0.05078125f, 0.1171875f, 0.19921875f, 0.234375f, 0.19921875f, 0.1171875f,
       0.05078125f, 0.015625f}};
  BlurKernel k;
  k.size = static_cast<int32_t>(size);
  k.radius = k.size / 2;
  if (size <= 9) {
    for (int i = 0; i < k.size; ++i) k.w[i] = kTables[k.size / 2][i];
    return k;
  }
  const double sigma = 0.3 * ((size - 1) * 0.5 - 1.0) + 0.8;
  const double scale = -0.5 / (sigma * sigma);
  double t[kMaxBlur], sum = 0.0;
  for (int i = 0; i < k.size; ++i) {
    const double x = i - (size - 1) * 0.5;
    t[i] = std::exp(scale * x * x);
    sum += t[i];
  }
  for (int i = 0; i < k.size; ++i) k.w[i] = static_cast<float>(t[i] / sum);
  return k;
}

PPF_DHD bool is_nan(float v) { return v != v; }
PPF_DHD bool is_finite(float v) { return v == v && v - v == 0.f; }

// NumPy's argmax order: a NaN beats everything (the first NaN wins), then the larger value, ties go
// to the lower index. `bi < 0` is "nothing yet". Associative and commutative, so it also reduces.
PPF_DHD bool beats(float v, int64_t i, float bv, int64_t bi) {
  if (bi < 0) return i >= 0;
  if (i < 0) return false;
  const bool vn = is_nan(v), bn = is_nan(bv);
  if (vn || bn) return vn && (!bn || i < bi);
  return v > bv || (v == bv && i < bi);
}

// NumPy's np.maximum(v, lo) and np.clip(v, lo, hi): NaN stays NaN.
PPF_DHD float nan_maximum(float v, float lo) { return is_nan(v) ? v : (v < lo ? lo : v); }
PPF_DHD float nan_clip(float v, float lo, float hi) {
  return is_nan(v) ? v : (v < lo ? lo : (v > hi ? hi : v));
}
PPF_DHD float nan_max(float a, float b) { return (is_nan(a) || is_nan(b)) ? NAN : (a > b ? a : b); }
PPF_DHD float sign_of(float v) { return is_nan(v) ? v : (v > 0.f ? 1.f : (v < 0.f ? -1.f : 0.f)); }

// The location MMPose reports for a plane's argmax: (-1, -1) when the maximum is <= 0.
PPF_DHD void peak_location(float score, int64_t index, int64_t W, float* x, float* y) {
  if (score <= 0.f) {
    *x = -1.f;
    *y = -1.f;
  } else {
    *x = static_cast<float>(index % W);
    *y = static_cast<float>(index / W);
  }
}

template <typename T>
PPF_DHD float load(const T* p, int64_t i) {
  return static_cast<float>(p[i]);
}

// OpenCV's BORDER_REFLECT_101 index (cv::borderInterpolate).
PPF_DHD int32_t reflect101(int32_t p, int32_t n) {
  if (n == 1) return 0;
  while (p < 0 || p >= n) p = p < 0 ? -p : 2 * n - p - 2;
  return p;
}

// The separable Gaussian blur at pixel (y, x): rows first, then columns, in a fixed order, so the
// value at one pixel equals the value a full blur computes there. kReflect = false: zero padding
// (MMPose pads by (size - 1) / 2 zeros before cv2.GaussianBlur); true: OpenCV's default border.
template <bool kReflect, typename T>
PPF_DHD float blur_at(const T* plane, int32_t H, int32_t W, int32_t y, int32_t x, const BlurKernel& k) {
  float acc = 0.f;
  for (int32_t i = 0; i < k.size; ++i) {
    int32_t r = y + i - k.radius;
    if (kReflect) r = reflect101(r, H);
    else if (r < 0 || r >= H) continue;
    const T* row = plane + static_cast<int64_t>(r) * W;
    float s = 0.f;
    for (int32_t j = 0; j < k.size; ++j) {
      int32_t c = x + j - k.radius;
      if (kReflect) c = reflect101(c, W);
      else if (c < 0 || c >= W) continue;
      s += k.w[j] * load(row, c);
    }
    acc += k.w[i] * s;
  }
  return acc;
}

// The 1-D zero-padded blur at bin x (MMPose's gaussian_blur1d: a (size x 1) cv2 kernel).
template <typename T>
PPF_DHD float blur1d_at(const T* vec, int32_t L, int32_t x, const BlurKernel& k) {
  float s = 0.f;
  for (int32_t j = 0; j < k.size; ++j) {
    const int32_t c = x + j - k.radius;
    if (c >= 0 && c < L) s += k.w[j] * load(vec, c);
  }
  return s;
}

// ---- quarter offset (refine_keypoints), asymmetric bounds as coded -------------------------------
template <typename T>
PPF_DHD void quarter_step(const T* plane, int32_t H, int32_t W, float* kx, float* ky) {
  const int32_t x = static_cast<int32_t>(*kx), y = static_cast<int32_t>(*ky);
  float dx = 0.f, dy = 0.f;
  if (1 < x && x < W - 1 && 0 < y && y < H)
    dx = load(plane, static_cast<int64_t>(y) * W + x + 1) - load(plane, static_cast<int64_t>(y) * W + x - 1);
  if (1 < y && y < H - 1 && 0 < x && x < W)
    dy = load(plane, static_cast<int64_t>(y + 1) * W + x) - load(plane, static_cast<int64_t>(y - 1) * W + x);
  *kx += sign_of(dx) * 0.25f;
  *ky += sign_of(dy) * 0.25f;
}

// ---- DARK (refine_keypoints_dark) -----------------------------------------------------------------
// The 13 stencil pixels (dx, dy) around the peak, in this order.
constexpr int kDarkPoints = 13;
PPF_DHD void dark_point(int i, int32_t* ox, int32_t* oy) {
  const int32_t px[kDarkPoints] = {0, 1, -1, 0, 0, 2, -2, 0, 0, 1, 1, -1, -1};
  const int32_t py[kDarkPoints] = {0, 0, 0, 1, -1, 0, 0, 2, -2, 1, -1, 1, -1};
  *ox = px[i];
  *oy = py[i];
}

// DARK's border test: only peaks with 1 < x < W - 2 and 1 < y < H - 2 are refined.
PPF_DHD bool dark_refines(float kx, float ky, int32_t H, int32_t W) {
  const int32_t x = static_cast<int32_t>(kx), y = static_cast<int32_t>(ky);
  return 1 < x && x < W - 2 && 1 < y && y < H - 2;
}

// Whether max(c * b, lo) (and min(., hi) when hi > 0) cannot bind for any rescale c in
// [1 / kBlurBound, orig_max / max(b)], i.e. the step is independent of c.
PPF_DHD bool clamps_idle(const float* b, int n, float orig_max, float lo, float hi) {
  if (!(orig_max > 0.f) || !is_finite(orig_max)) return false;
  float mn = b[0], mx = b[0];
  for (int i = 0; i < n; ++i) {
    if (!is_finite(b[i])) return false;
    mn = b[i] < mn ? b[i] : mn;
    mx = b[i] > mx ? b[i] : mx;
  }
  if (!(mn > 0.f)) return false;
  if (mn < lo * (1.f + kClampMargin) * kBlurBound) return false;
  return !(hi > 0.f) || orig_max < hi * (1.f - kClampMargin);
}

// One Newton step from the log-values v[13] at the dark_point offsets; false = det 0 (no change).
PPF_DHD bool dark_step(const float* v, float* kx, float* ky) {
  const float dx = 0.5f * (v[1] - v[2]);
  const float dy = 0.5f * (v[3] - v[4]);
  const float dxx = 0.25f * (v[5] - 2.f * v[0] + v[6]);
  const float dxy = 0.25f * (v[9] - v[10] - v[11] + v[12]);
  const float dyy = 0.25f * (v[7] - 2.f * v[0] + v[8]);
  const float det = dxx * dyy - dxy * dxy;
  if (det == 0.f) return false;  // NaN != 0 in MMPose too: a NaN Hessian gives a NaN step
  // offset = -H^-1 [dx, dy] (float64 solve of the float32 Hessian, as np.linalg.inv then matmul)
  const double ddet = static_cast<double>(dxx) * dyy - static_cast<double>(dxy) * dxy;
  const double ox = -(static_cast<double>(dyy) * dx - static_cast<double>(dxy) * dy) / ddet;
  const double oy = -(-static_cast<double>(dxy) * dx + static_cast<double>(dxx) * dy) / ddet;
  *kx = static_cast<float>(*kx + static_cast<float>(ox));
  *ky = static_cast<float>(*ky + static_cast<float>(oy));
  return true;
}

// ---- DARK-UDP (refine_keypoints_dark_udp) ---------------------------------------------------------
// MMPose reads the 7 stencil values through flat indices into the edge-padded planes of the whole
// sample ([K, H + 2, W + 2] flattened), NumPy-style: a negative index wraps to the end. For a peak
// inside the map the reads stay in its own plane; a (-1, -1) location reads the previous plane (or,
// for k = 0, the last one). udp_read maps read i of keypoint k to (plane, row, column) of the
// unpadded planes (edge padding = clamping).
constexpr int kUdpPoints = 7;  // i, x+1, y+1, x+1 y+1, x-1 y-1, x-1, y-1
PPF_DHD void udp_read(int i, float kx, float ky, int64_t k, int64_t K, int32_t H, int32_t W,
                      int64_t* plane, int32_t* row, int32_t* col) {
  const int64_t Wp = W + 2, P = Wp * (H + 2);
  const int64_t base = static_cast<int64_t>(kx + 1.f + (ky + 1.f) * static_cast<float>(Wp)) + P * k;
  const int64_t delta[kUdpPoints] = {0, 1, Wp, Wp + 1, -Wp - 1, -1, -Wp};
  int64_t f = base + delta[i];
  if (f < 0) f += K * P;
  *plane = f / P;
  const int64_t rem = f % P;
  int64_t r = rem / Wp - 1, c = rem % Wp - 1;
  r = r < 0 ? 0 : (r >= H ? H - 1 : r);
  c = c < 0 ? 0 : (c >= W ? W - 1 : c);
  *row = static_cast<int32_t>(r);
  *col = static_cast<int32_t>(c);
}

// kp -= (H + eps I)^-1 grad, in float64 as NumPy promotes it; false when the matrix is singular
// (NumPy would raise): no change then.
PPF_DHD bool udp_step(const float* v, float* kx, float* ky) {
  const float dx = 0.5f * (v[1] - v[5]);
  const float dy = 0.5f * (v[2] - v[6]);
  const float dxx = v[1] - 2.f * v[0] + v[5];
  const float dyy = v[2] - 2.f * v[0] + v[6];
  const float dxy = 0.5f * (v[3] - v[1] - v[2] + v[0] + v[0] - v[5] - v[6] + v[4]);
  const double eps = 1.1920928955078125e-07;  // np.finfo(np.float32).eps
  const double a = static_cast<double>(dxx) + eps, b = dxy, d = static_cast<double>(dyy) + eps;
  const double det = a * d - b * b;
  if (det == 0.0) return false;
  const double ox = (d * dx - b * dy) / det, oy = (-b * dx + a * dy) / det;
  *kx = static_cast<float>(*kx - ox);
  *ky = static_cast<float>(*ky - oy);
  return true;
}

// ---- Megvii (MegviiHeatmap.decode) ---------------------------------------------------------------
// m is the rescaled blurred plane; the step adds sign * 0.25 + 0.5 only inside 1 < x,y < size - 1.
PPF_DHD void megvii_step(float m_xm, float m_xp, float m_ym, float m_yp, float* kx, float* ky) {
  *kx += sign_of(m_xp - m_xm) * 0.25f + 0.5f;
  *ky += sign_of(m_yp - m_ym) * 0.25f + 0.5f;
}
PPF_DHD bool megvii_refines(float kx, float ky, int32_t H, int32_t W) {
  const int32_t x = static_cast<int32_t>(kx), y = static_cast<int32_t>(ky);
  return 1 < x && x < W - 1 && 1 < y && y < H - 1;
}

// ---- SimCC 1-D DARK (refine_simcc_dark) -----------------------------------------------------------
// MMPose edge-pads the log-vector by 2 and reads px - 2 .. px + 2 with px = int(loc + 2.5); index -1
// (loc = -1) wraps to the last padded element. simcc_read gives the unpadded index of read i in
// [-2, 2].
PPF_DHD int32_t simcc_read(int i, float loc, int32_t L) {
  int64_t p = static_cast<int64_t>(loc + 2.5f) + i;
  if (p < 0) p += L + 4;
  p -= 2;
  return static_cast<int32_t>(p < 0 ? 0 : (p >= L ? L - 1 : p));
}
// v[0..4] = log-values at reads -2..2.
PPF_DHD float simcc_step(const float* v, float loc) {
  const float dx = 0.5f * (v[3] - v[1]);
  const float dxx = 1e-9f + 0.25f * (v[4] - 2.f * v[2] + v[0]);
  return loc - dx / dxx;
}

}  // namespace decode
}  // namespace pyposefast
