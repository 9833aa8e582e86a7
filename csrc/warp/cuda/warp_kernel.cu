// CUDA kernels of warp_affine: one launch for the whole batch. blockIdx.x = crop n, blockIdx.y
// strides over tiles of the crop; one thread per crop pixel computes its source position once and
// writes all C channel planes (coalesced along x). The backward scatters with atomicAdd.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros_like.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <algorithm>
#include <type_traits>

#include "warp/warp_checks.h"
#include "warp/warp_math.h"

namespace pyposefast {
namespace warp {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxTilesY = 65535;


template <typename T>
struct alignas(sizeof(T) * 4) Vec4 {
  T v[4];
};

// Each block stages its crop's source and inverse matrix once in shared memory; each thread then
// produces kVec consecutive crop pixels (all channels), stored as one vector per channel plane when
// the planes are aligned.
template <typename in_t, typename out_t, typename acc_t, bool kAligned, int kC>
__global__ void __launch_bounds__(kThreads, 4)
    warp_forward_kernel(const in_t* __restrict__ src, int64_t numel, const int64_t* __restrict__ offsets,
                        const int64_t* __restrict__ sizes, int64_t B, const int64_t* __restrict__ index,
                        const double* __restrict__ matrices, int64_t C_runtime, int32_t w, int32_t h,
                        const float* __restrict__ mean, const float* __restrict__ stddev, bool bgr_to_rgb, bool flip,
                        acc_t border, out_t* __restrict__ out) {
  constexpr int kVec = 4;
  const int64_t C = kC > 0 ? kC : C_runtime;  // 3 (RGB/BGR) is compiled with a fixed channel count
  __shared__ Source s_src;
  __shared__ InverseAffine s_inv;
  const int64_t n = blockIdx.x;
  if (threadIdx.x == 0) {
    s_src = source_of(n, index, offsets, sizes, B, C, numel);
    InverseAffine inv = invert_affine(matrices + 6 * n);
    inv.valid = inv.valid && s_src.ok;
    s_inv = inv;
  }
  __syncthreads();
  const Source s = s_src;
  const InverseAffine inv = s_inv;
  const in_t* img = src + s.offset;
  const int32_t plane = w * h;
  out_t* out_n = out + n * C * plane;
  const int64_t row = s.width * C;
  for (int32_t p0 = (blockIdx.y * kThreads + threadIdx.x) * kVec; p0 < plane; p0 += gridDim.y * kThreads * kVec) {
    int32_t y = p0 / w, x = p0 - (p0 / w) * w;
    Taps taps[kVec];
#pragma unroll
    for (int j = 0; j < kVec; ++j) {
      taps[j] = source_taps(inv, flip ? w - 1 - x : x, y, s.width, s.height);
      if (++x == w) {
        x = 0;
        ++y;
      }
    }
#pragma unroll
    for (int64_t c = 0; c < C; ++c) {
      const int64_t sc = bgr_to_rgb ? C - 1 - c : c;
      const acc_t mu = mean != nullptr ? static_cast<acc_t>(mean[c]) : acc_t(0);
      const acc_t sd = mean != nullptr ? static_cast<acc_t>(stddev[c]) : acc_t(1);
      Vec4<out_t> vals;
#pragma unroll
      for (int j = 0; j < kVec; ++j) {
        const Taps& t = taps[j];
        acc_t v = border;
        if (t.any) {
          const acc_t fx = t.fx, fy = t.fy;
          const acc_t w00 = (1 - fy) * (1 - fx), w01 = (1 - fy) * fx, w10 = fy * (1 - fx), w11 = fy * fx;
          const bool in_x0 = t.x0 >= 0 && t.x0 < s.width, in_x1 = t.x0 + 1 >= 0 && t.x0 + 1 < s.width;
          const bool in_y0 = t.y0 >= 0 && t.y0 < s.height, in_y1 = t.y0 + 1 >= 0 && t.y0 + 1 < s.height;
          const int64_t p00 = (static_cast<int64_t>(t.y0) * s.width + t.x0) * C + sc;
          const acc_t v00 = in_y0 && in_x0 ? static_cast<acc_t>(__ldg(img + p00)) : border;
          const acc_t v01 = in_y0 && in_x1 ? static_cast<acc_t>(__ldg(img + p00 + C)) : border;
          const acc_t v10 = in_y1 && in_x0 ? static_cast<acc_t>(__ldg(img + p00 + row)) : border;
          const acc_t v11 = in_y1 && in_x1 ? static_cast<acc_t>(__ldg(img + p00 + row + C)) : border;
          v = (w00 * v00 + w01 * v01) + (w10 * v10 + w11 * v11);
        }
        if (mean != nullptr) v = (v - mu) / sd;
        vals.v[j] = static_cast<out_t>(v);
      }
      out_t* o = out_n + c * plane;
      if (kAligned && p0 + kVec <= plane) {
        *reinterpret_cast<Vec4<out_t>*>(o + p0) = vals;
      } else {
#pragma unroll
        for (int j = 0; j < kVec; ++j)
          if (p0 + j < plane) o[p0 + j] = vals.v[j];
      }
    }
  }
}

template <typename grad_t>
__global__ void __launch_bounds__(kThreads)
    warp_backward_kernel(const grad_t* __restrict__ grad, int64_t numel, const int64_t* __restrict__ offsets,
                         const int64_t* __restrict__ sizes, int64_t B, const int64_t* __restrict__ index,
                         const double* __restrict__ matrices, int64_t C, int32_t w, int32_t h,
                         const float* __restrict__ stddev, bool bgr_to_rgb, bool flip, grad_t* __restrict__ gimg_all) {
  const int64_t n = blockIdx.x;
  const Source s = source_of(n, index, offsets, sizes, B, C, numel);
  const InverseAffine inv = invert_affine(matrices + 6 * n);
  if (!inv.valid || !s.ok) return;
  grad_t* gimg = gimg_all + s.offset;
  const int32_t plane = w * h;
  for (int32_t p = blockIdx.y * kThreads + threadIdx.x; p < plane; p += gridDim.y * kThreads) {
    const int32_t y = p / w, x = p - (p / w) * w;
    const Taps t = source_taps(inv, flip ? w - 1 - x : x, y, s.width, s.height);
    if (!t.any) continue;
    const grad_t fx = t.fx, fy = t.fy;
    const grad_t wts[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
    for (int64_t c = 0; c < C; ++c) {
      grad_t g = grad[(n * C + c) * plane + p];
      if (stddev != nullptr) g /= static_cast<grad_t>(stddev[c]);
      const int64_t sc = bgr_to_rgb ? C - 1 - c : c;
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const int64_t xx = static_cast<int64_t>(t.x0) + (k & 1), yy = static_cast<int64_t>(t.y0) + (k >> 1);
        if (xx >= 0 && xx < s.width && yy >= 0 && yy < s.height) atomicAdd(gimg + (yy * s.width + xx) * C + sc, g * wts[k]);
      }
    }
  }
}

// blockIdx.x = crop; along y, enough blocks per crop for ~16 blocks per SM in total, each looping
// over an equal share of the crop's tiles (the per-block set-up is paid once per share).
dim3 crop_grid(int64_t N, int64_t items) {
  TORCH_CHECK(N < (int64_t{1} << 31), "warp_affine: too many crops for one launch (", N, ")");
  TORCH_CHECK(items < (int64_t{1} << 31), "warp_affine: output planes above 2^31 pixels are not supported");
  int device = 0, sms = 132;
  C10_CUDA_CHECK(cudaGetDevice(&device));
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const int64_t tiles = std::max<int64_t>(1, (items + kThreads - 1) / kThreads);
  const int64_t wanted = std::max<int64_t>(1, (16 * static_cast<int64_t>(sms) + N - 1) / N);
  const int64_t per_block = (tiles + std::min(tiles, wanted) - 1) / std::min(tiles, wanted);
  const int64_t blocks_y = std::min<int64_t>((tiles + per_block - 1) / per_block, kMaxTilesY);
  return dim3(static_cast<unsigned>(N), static_cast<unsigned>(blocks_y));
}

at::Tensor warp_affine_cuda(const at::Tensor& images, const at::Tensor& image_offsets, const at::Tensor& image_sizes,
                            const at::Tensor& image_index, const at::Tensor& matrices, int64_t channels,
                            int64_t out_w, int64_t out_h, const at::Tensor& norm_mean, const at::Tensor& norm_std,
                            bool bgr_to_rgb, bool flip, double border_value, at::ScalarType out_dtype) {
  TORCH_CHECK(out_w > 0 && out_h > 0, "warp_affine: output size must be positive, got ", out_w, "x", out_h);
  const c10::cuda::CUDAGuard guard(images.device());
  const WarpCall c = prepare_warp_call(images, image_offsets, image_sizes, image_index, matrices, channels, norm_mean,
                                       norm_std, "warp_affine");
  auto out = at::empty({c.N, channels, out_h, out_w}, images.options().dtype(out_dtype));
  if (out.numel() == 0) return out;
  const int64_t plane = out_w * out_h;
  const dim3 grid = crop_grid(c.N, (plane + 3) / 4);
  const bool aligned = plane % 4 == 0 && reinterpret_cast<uintptr_t>(out.data_ptr()) % (4 * out.element_size()) == 0;
  auto stream = c10::cuda::getCurrentCUDAStream();
  PPF_DISPATCH_IMAGE_TYPES(c.images.scalar_type(), "warp_affine_cuda", [&] {
    using in_t = scalar_t;
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, out_dtype, "warp_affine_cuda_out", [&] {
      using acc_t = std::conditional_t<std::is_same_v<in_t, double> || std::is_same_v<scalar_t, double>, double, float>;
      auto kernel = channels == 3
                        ? (aligned ? warp_forward_kernel<in_t, scalar_t, acc_t, true, 3>
                                   : warp_forward_kernel<in_t, scalar_t, acc_t, false, 3>)
                        : (aligned ? warp_forward_kernel<in_t, scalar_t, acc_t, true, 0>
                                   : warp_forward_kernel<in_t, scalar_t, acc_t, false, 0>);
      kernel<<<grid, kThreads, 0, stream>>>(
          c.images.const_data_ptr<in_t>(), c.images.numel(), c.offsets.const_data_ptr<int64_t>(),
          c.sizes.const_data_ptr<int64_t>(), c.B, c.index.const_data_ptr<int64_t>(), c.matrices.const_data_ptr<double>(),
          channels, static_cast<int32_t>(out_w), static_cast<int32_t>(out_h), c.mean_ptr(), c.std_ptr(), bgr_to_rgb,
          flip, static_cast<acc_t>(border_value), out.mutable_data_ptr<scalar_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return out;
}

at::Tensor warp_affine_backward_cuda(const at::Tensor& grad, const at::Tensor& images, const at::Tensor& image_offsets,
                                     const at::Tensor& image_sizes, const at::Tensor& image_index,
                                     const at::Tensor& matrices, int64_t channels, const at::Tensor& norm_std,
                                     bool bgr_to_rgb, bool flip) {
  const c10::cuda::CUDAGuard guard(images.device());
  const WarpCall c = prepare_warp_call(images, image_offsets, image_sizes, image_index, matrices, channels, norm_std,
                                       norm_std, "_warp_affine_backward");
  check_backward_grad(grad, images, image_index, channels);
  const auto g = grad.contiguous().to(images.scalar_type());
  auto grad_images = at::zeros_like(images);
  if (g.numel() == 0) return grad_images;
  const dim3 grid = crop_grid(c.N, g.size(2) * g.size(3));
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(images.scalar_type(), "warp_affine_backward_cuda", [&] {
    warp_backward_kernel<scalar_t><<<grid, kThreads, 0, stream>>>(
        g.const_data_ptr<scalar_t>(), images.numel(), c.offsets.const_data_ptr<int64_t>(),
        c.sizes.const_data_ptr<int64_t>(), c.B, c.index.const_data_ptr<int64_t>(), c.matrices.const_data_ptr<double>(),
        channels, static_cast<int32_t>(g.size(3)), static_cast<int32_t>(g.size(2)), c.std_ptr(), bgr_to_rgb, flip,
        grad_images.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return grad_images;
}

}  // namespace

TORCH_LIBRARY_IMPL(pyposefast, CUDA, m) {
  m.impl("warp_affine", &warp_affine_cuda);
  m.impl("_warp_affine_backward", &warp_affine_backward_cuda);
}

}  // namespace warp
}  // namespace pyposefast
