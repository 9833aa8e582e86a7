// CPU kernels of warp_affine: at::parallel_for over (crop, output row). Each output element is
// written once; the backward scatters into the source images, one task per source image (the crops
// of one image are visited in order), so it needs no atomics and is deterministic.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros_like.h>
#include <torch/library.h>

#include <type_traits>
#include <vector>

#include "common/cpu_memory.h"
#include "warp/warp_checks.h"
#include "warp/warp_math.h"

namespace pyposefast {
namespace warp {
namespace {


// One crop pixel, all channels. kC > 0 fixes the channel count at compile time (3: BGR/RGB images).
template <int kC, typename in_t, typename out_t, typename acc_t>
inline void warp_pixel(const in_t* img, const Source& s, const Taps& t, int64_t C, const float* mean,
                       const float* stddev, bool bgr_to_rgb, acc_t border, out_t* o, int64_t plane) {
  const int64_t nc = kC > 0 ? kC : C;
  const acc_t fx = t.fx, fy = t.fy;
  const acc_t w00 = (1 - fy) * (1 - fx), w01 = (1 - fy) * fx, w10 = fy * (1 - fx), w11 = fy * fx;
  const int64_t p00 = (static_cast<int64_t>(t.y0) * s.width + t.x0) * nc, row = s.width * nc;
  // all four taps inside the image: no per-tap tests
  const bool inside = t.any && t.x0 >= 0 && t.x0 + 1 < s.width && t.y0 >= 0 && t.y0 + 1 < s.height;
  const bool in_x0 = t.x0 >= 0 && t.x0 < s.width, in_x1 = t.x0 + 1 >= 0 && t.x0 + 1 < s.width;
  const bool in_y0 = t.y0 >= 0 && t.y0 < s.height, in_y1 = t.y0 + 1 >= 0 && t.y0 + 1 < s.height;
  for (int64_t c = 0; c < nc; ++c) {
    const int64_t sc = bgr_to_rgb ? nc - 1 - c : c;
    acc_t v;
    if (inside) {
      const in_t* q = img + p00 + sc;
      v = (w00 * static_cast<acc_t>(q[0]) + w01 * static_cast<acc_t>(q[nc])) +
          (w10 * static_cast<acc_t>(q[row]) + w11 * static_cast<acc_t>(q[row + nc]));
    } else if (t.any) {
      const acc_t v00 = in_y0 && in_x0 ? static_cast<acc_t>(img[p00 + sc]) : border;
      const acc_t v01 = in_y0 && in_x1 ? static_cast<acc_t>(img[p00 + nc + sc]) : border;
      const acc_t v10 = in_y1 && in_x0 ? static_cast<acc_t>(img[p00 + row + sc]) : border;
      const acc_t v11 = in_y1 && in_x1 ? static_cast<acc_t>(img[p00 + row + nc + sc]) : border;
      v = (w00 * v00 + w01 * v01) + (w10 * v10 + w11 * v11);
    } else {
      v = border;
    }
    if (mean != nullptr) v = (v - static_cast<acc_t>(mean[c])) / static_cast<acc_t>(stddev[c]);
    o[c * plane] = static_cast<out_t>(v);
  }
}

template <int kC, typename in_t, typename out_t, typename acc_t>
void warp_forward(const in_t* src, int64_t numel, const int64_t* offsets, const int64_t* sizes, int64_t B,
                  const int64_t* index, const double* matrices, int64_t N, int64_t C, int64_t w, int64_t h,
                  const float* mean, const float* stddev, bool bgr_to_rgb, bool flip, acc_t border, out_t* out) {
  const int64_t plane = w * h;
  at::parallel_for(0, N * h, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, w)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t n = r / h, y = r % h;
      const Source s = source_of(n, index, offsets, sizes, B, C, numel);
      InverseAffine inv = invert_affine(matrices + 6 * n);
      inv.valid = inv.valid && s.ok;
      const in_t* img = src + s.offset;
      out_t* o = out + n * C * plane + y * w;
      // Row terms of the source position, associated as in source_taps ((a x + b y) + c).
      const double by = inv.b * static_cast<double>(y), ey = inv.e * static_cast<double>(y);
      for (int64_t x = 0; x < w; ++x) {
        const int64_t xs = flip ? w - 1 - x : x;
        if constexpr (kC > 0) {
          // Fast path: the four taps inside the image (most crop pixels); same arithmetic as below.
          const double sx = (inv.a * static_cast<double>(xs) + by) + inv.c;
          const double sy = (inv.d * static_cast<double>(xs) + ey) + inv.f;
          if (inv.valid && std::fabs(sx) < kFarAway && std::fabs(sy) < kFarAway) {
            const int64_t x0 = floor_to_int(sx), y0 = floor_to_int(sy);
            if (x0 >= 0 && x0 + 1 < s.width && y0 >= 0 && y0 + 1 < s.height) {
              const acc_t fx = static_cast<float>(sx - static_cast<double>(x0));
              const acc_t fy = static_cast<float>(sy - static_cast<double>(y0));
              const acc_t w00 = (1 - fy) * (1 - fx), w01 = (1 - fy) * fx, w10 = fy * (1 - fx), w11 = fy * fx;
              const in_t* q = img + (y0 * s.width + x0) * kC;
              const int64_t row = s.width * kC;
              for (int c = 0; c < kC; ++c) {
                const int sc = bgr_to_rgb ? kC - 1 - c : c;
                acc_t v = (w00 * static_cast<acc_t>(q[sc]) + w01 * static_cast<acc_t>(q[kC + sc])) +
                          (w10 * static_cast<acc_t>(q[row + sc]) + w11 * static_cast<acc_t>(q[row + kC + sc]));
                if (mean != nullptr) v = (v - static_cast<acc_t>(mean[c])) / static_cast<acc_t>(stddev[c]);
                o[x + c * plane] = static_cast<out_t>(v);
              }
              continue;
            }
          }
        }
        const Taps t = source_taps(inv, xs, y, s.width, s.height);
        warp_pixel<kC, in_t, out_t, acc_t>(img, s, t, C, mean, stddev, bgr_to_rgb, border, o + x, plane);
      }
    }
  });
}

template <typename grad_t>
void warp_backward(const grad_t* grad, int64_t numel, const int64_t* offsets, const int64_t* sizes, int64_t B,
                   const int64_t* index, const double* matrices, int64_t N, int64_t C, int64_t w, int64_t h,
                   const float* stddev, bool bgr_to_rgb, bool flip, grad_t* grad_images) {
  at::parallel_for(0, B, 1, [&](int64_t b_begin, int64_t b_end) {
    for (int64_t n = 0; n < N; ++n) {
      const int64_t b = index[n];
      if (b < b_begin || b >= b_end) continue;
      const Source s = source_of(n, index, offsets, sizes, B, C, numel);
      InverseAffine inv = invert_affine(matrices + 6 * n);
      if (!inv.valid || !s.ok) continue;
      grad_t* gimg = grad_images + s.offset;
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
          const Taps t = source_taps(inv, flip ? w - 1 - x : x, y, s.width, s.height);
          if (!t.any) continue;
          const grad_t fx = t.fx, fy = t.fy;
          const grad_t wts[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
          const int64_t xs[4] = {t.x0, t.x0 + 1LL, t.x0, t.x0 + 1LL};
          const int64_t ys[4] = {t.y0, t.y0, t.y0 + 1LL, t.y0 + 1LL};
          for (int64_t c = 0; c < C; ++c) {
            grad_t g = grad[((n * C + c) * h + y) * w + x];
            if (stddev != nullptr) g /= static_cast<grad_t>(stddev[c]);
            const int64_t sc = bgr_to_rgb ? C - 1 - c : c;
            for (int k = 0; k < 4; ++k) {
              if (xs[k] >= 0 && xs[k] < s.width && ys[k] >= 0 && ys[k] < s.height)
                gimg[(ys[k] * s.width + xs[k]) * C + sc] += g * wts[k];
            }
          }
        }
      }
    }
  });
}

at::Tensor warp_affine_cpu(const at::Tensor& images, const at::Tensor& image_offsets, const at::Tensor& image_sizes,
                           const at::Tensor& image_index, const at::Tensor& matrices, int64_t channels,
                           int64_t out_w, int64_t out_h, const at::Tensor& norm_mean, const at::Tensor& norm_std,
                           bool bgr_to_rgb, bool flip, double border_value, at::ScalarType out_dtype) {
  TORCH_CHECK(out_w > 0 && out_h > 0, "warp_affine: output size must be positive, got ", out_w, "x", out_h);
  const WarpCall c = prepare_warp_call(images, image_offsets, image_sizes, image_index, matrices, channels, norm_mean,
                                       norm_std, "warp_affine");
  auto out = at::empty({c.N, channels, out_h, out_w}, images.options().dtype(out_dtype));
  if (out.numel() == 0) return out;
  advise_huge_pages(out.data_ptr(), out.nbytes());
  PPF_DISPATCH_IMAGE_TYPES(c.images.scalar_type(), "warp_affine_cpu", [&] {
    using in_t = scalar_t;
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, out_dtype, "warp_affine_cpu_out", [&] {
      using acc_t = std::conditional_t<std::is_same_v<in_t, double> || std::is_same_v<scalar_t, double>, double, float>;
      auto run = [&](auto kernel) {
        kernel(c.images.const_data_ptr<in_t>(), c.images.numel(), c.offsets.const_data_ptr<int64_t>(),
               c.sizes.const_data_ptr<int64_t>(), c.B, c.index.const_data_ptr<int64_t>(),
               c.matrices.const_data_ptr<double>(), c.N, channels, out_w, out_h, c.mean_ptr(), c.std_ptr(),
               bgr_to_rgb, flip, static_cast<acc_t>(border_value), out.mutable_data_ptr<scalar_t>());
      };
      if (channels == 3) {
        run(warp_forward<3, in_t, scalar_t, acc_t>);
      } else {
        run(warp_forward<0, in_t, scalar_t, acc_t>);
      }
    });
  });
  return out;
}

at::Tensor warp_affine_backward_cpu(const at::Tensor& grad, const at::Tensor& images, const at::Tensor& image_offsets,
                                    const at::Tensor& image_sizes, const at::Tensor& image_index,
                                    const at::Tensor& matrices, int64_t channels, const at::Tensor& norm_std,
                                    bool bgr_to_rgb, bool flip) {
  const WarpCall c = prepare_warp_call(images, image_offsets, image_sizes, image_index, matrices, channels, norm_std,
                                       norm_std, "_warp_affine_backward");
  check_backward_grad(grad, images, image_index, channels);
  const auto g = grad.contiguous().to(images.scalar_type());
  auto grad_images = at::zeros_like(images);
  if (g.numel() == 0) return grad_images;
  AT_DISPATCH_FLOATING_TYPES(images.scalar_type(), "warp_affine_backward_cpu", [&] {
    warp_backward<scalar_t>(g.const_data_ptr<scalar_t>(), images.numel(), c.offsets.const_data_ptr<int64_t>(),
                            c.sizes.const_data_ptr<int64_t>(), c.B, c.index.const_data_ptr<int64_t>(),
                            c.matrices.const_data_ptr<double>(), c.N, channels, g.size(3), g.size(2), c.std_ptr(),
                            bgr_to_rgb, flip, grad_images.mutable_data_ptr<scalar_t>());
  });
  return grad_images;
}

}  // namespace

TORCH_LIBRARY_IMPL(pyposefast, CPU, m) {
  m.impl("warp_affine", &warp_affine_cpu);
  m.impl("_warp_affine_backward", &warp_affine_backward_cpu);
}

}  // namespace warp
}  // namespace pyposefast
