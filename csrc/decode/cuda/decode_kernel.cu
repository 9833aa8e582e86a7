// CUDA kernels of the decoding ops: one launch for the whole batch, one block per keypoint channel.
//
// decode_heatmaps: block (b, k) reduces its plane to NumPy's argmax (strided coalesced loads, warp
// shuffles, then shared memory across warps); the refinement's few stencil values are computed by one
// thread each (blur_at, from the raw plane); thread 0 takes the step. Only when a clamp of MMPose's
// modulation could bind (decode_math.h) does the block compute a plane's full blur maximum,
// cooperatively, recomputing each blurred pixel from the raw plane (no scratch memory). Megvii and
// UDP-combined blur the whole plane by the same per-pixel rule (they need the blurred argmax).
// decode_simcc: one block per (b, k) as well, reducing both axes.
#include <ATen/core/Tensor.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <cstdint>

#include "decode/decode_checks.h"
#include "decode/decode_math.h"

namespace pyposefast {
namespace decode {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;

struct Best {
  float v;
  int64_t i;  // -1: nothing yet
};

__device__ __forceinline__ Best better(Best a, Best b) { return beats(b.v, b.i, a.v, a.i) ? b : a; }

// NumPy-argmax reduction of every thread's candidate; all threads get the result.
__device__ Best block_best(Best b, Best* shared) {
  for (int off = 16; off > 0; off >>= 1) {
    Best o;
    o.v = __shfl_down_sync(0xffffffffu, b.v, off);
    o.i = __shfl_down_sync(0xffffffffu, b.i, off);
    b = better(b, o);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // `shared` may still be read from a previous reduction
  if (lane == 0) shared[warp] = b;
  __syncthreads();
  Best r = shared[0];
  for (int w = 1; w < kWarps; ++w) r = better(r, shared[w]);
  return r;
}

template <typename T>
__device__ Best plane_argmax(const T* p, int64_t n, Best* shared) {
  Best b{0.f, -1};
  for (int64_t i = threadIdx.x; i < n; i += kThreads) b = better(b, Best{load(p, i), i});
  return block_best(b, shared);
}

// np.max of the zero-padded blur of a plane (scale = 1) or of blur * scale, with its argmax (the
// Megvii rescaled map). kReflect: OpenCV's default border instead (UDP combined, no rescale).
template <bool kReflect, typename T>
__device__ Best blurred_argmax(const T* plane, int32_t H, int32_t W, const BlurKernel& k, float scale,
                               Best* shared) {
  Best b{0.f, -1};
  const int64_t n = static_cast<int64_t>(H) * W;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    const float v = blur_at<kReflect>(plane, H, W, static_cast<int32_t>(i / W), static_cast<int32_t>(i % W), k);
    b = better(b, Best{v * scale, i});
  }
  return block_best(b, shared);
}

// MMPose's rescale factor orig_max / blur_max of one plane.
template <typename T>
__device__ float plane_rescale(const T* plane, int32_t H, int32_t W, const BlurKernel& k, Best* shared) {
  const float orig_max = plane_argmax(plane, static_cast<int64_t>(H) * W, shared).v;
  const float blur_max = blurred_argmax<false>(plane, H, W, k, 1.f, shared).v;
  return orig_max / blur_max;
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    decode_heatmaps_kernel(const T* __restrict__ heatmaps, float* __restrict__ keypoints,
                           float* __restrict__ scores, int64_t K, int32_t H, int32_t W, int64_t refine,
                           const BlurKernel bk, float radius) {
  __shared__ Best shared[kWarps];
  __shared__ float stencil[kDarkPoints];
  __shared__ int64_t owner[kUdpPoints];
  __shared__ int idle;
  const int64_t channel = blockIdx.x, b = channel / K, k = channel % K;
  const int64_t P = static_cast<int64_t>(H) * W;
  const int64_t C = refine == kUdpCombined ? 3 * K : K;
  const T* sample = heatmaps + b * C * P;
  const int tid = threadIdx.x;

  if (refine == kMegvii) {
    const T* plane = sample + k * P;
    const float c = plane_rescale(plane, H, W, bk, shared);
    const Best peak = blurred_argmax<false>(plane, H, W, bk, c, shared);
    if (tid == 0) {
      float kx, ky;
      peak_location(peak.v, peak.i, W, &kx, &ky);
      if (megvii_refines(kx, ky, H, W)) {
        const int32_t x = static_cast<int32_t>(kx), y = static_cast<int32_t>(ky);
        megvii_step(blur_at<false>(plane, H, W, y, x - 1, bk) * c, blur_at<false>(plane, H, W, y, x + 1, bk) * c,
                    blur_at<false>(plane, H, W, y - 1, x, bk) * c, blur_at<false>(plane, H, W, y + 1, x, bk) * c,
                    &kx, &ky);
      }
      keypoints[2 * channel] = kx;
      keypoints[2 * channel + 1] = ky;
      scores[channel] = peak.v / 255.f + 0.5f;
    }
    return;
  }
  if (refine == kUdpCombined) {
    const Best peak = blurred_argmax<true>(sample + 3 * k * P, H, W, bk, 1.f, shared);
    if (tid == 0) {
      float kx, ky;
      peak_location(peak.v, peak.i, W, &kx, &ky);
      int64_t f = static_cast<int64_t>(kx + ky * static_cast<float>(W)) + P * k;
      if (f < 0) f += K * P;
      const int64_t o = f / P, pixel = f % P;
      keypoints[2 * channel] = kx + load(sample, (3 * o + 1) * P + pixel) * radius;
      keypoints[2 * channel + 1] = ky + load(sample, (3 * o + 2) * P + pixel) * radius;
      scores[channel] = peak.v;
    }
    return;
  }

  const T* plane = sample + k * P;
  const Best peak = plane_argmax(plane, P, shared);
  float kx, ky;
  peak_location(peak.v, peak.i, W, &kx, &ky);
  if (refine == kDark && dark_refines(kx, ky, H, W)) {
    if (tid < kDarkPoints) {
      int32_t ox, oy;
      dark_point(tid, &ox, &oy);
      stencil[tid] = blur_at<false>(plane, H, W, static_cast<int32_t>(ky) + oy, static_cast<int32_t>(kx) + ox, bk);
    }
    __syncthreads();
    if (tid == 0) idle = clamps_idle(stencil, kDarkPoints, peak.v, 1e-10f, 0.f);
    __syncthreads();
    const float c = idle ? 1.f : plane_rescale(plane, H, W, bk, shared);
    if (tid == 0) {
      float v[kDarkPoints];
      for (int i = 0; i < kDarkPoints; ++i) v[i] = idle ? logf(stencil[i]) : logf(nan_maximum(stencil[i] * c, 1e-10f));
      dark_step(v, &kx, &ky);
    }
  } else if (refine == kDarkUdp) {
    if (tid < kUdpPoints) {
      int32_t r, col;
      udp_read(tid, kx, ky, k, K, H, W, &owner[tid], &r, &col);
      stencil[tid] = blur_at<false>(sample + owner[tid] * P, H, W, r, col, bk);
    }
    __syncthreads();
    if (tid == 0) {
      bool own = true;
      for (int i = 0; i < kUdpPoints; ++i) own = own && owner[i] == k;
      idle = own && clamps_idle(stencil, kUdpPoints, peak.v, 1e-3f, 50.f);
    }
    __syncthreads();
    float v[kUdpPoints];
    if (idle) {
      for (int i = 0; i < kUdpPoints; ++i) v[i] = logf(stencil[i]);
    } else {
      // at most two planes are read (own and one neighbour): rescale each once, block-wide
      const int64_t first = owner[0];
      int64_t second = first;
      for (int i = 0; i < kUdpPoints; ++i) second = owner[i] != first ? owner[i] : second;
      const float c_first = plane_rescale(sample + first * P, H, W, bk, shared);
      const float c_second = second == first ? c_first : plane_rescale(sample + second * P, H, W, bk, shared);
      for (int i = 0; i < kUdpPoints; ++i)
        v[i] = logf(nan_clip(stencil[i] * (owner[i] == first ? c_first : c_second), 1e-3f, 50.f));
    }
    if (tid == 0) udp_step(v, &kx, &ky);
  } else if (refine == kQuarter && tid == 0) {
    quarter_step(plane, H, W, &kx, &ky);
  }
  if (tid == 0) {
    keypoints[2 * channel] = kx;
    keypoints[2 * channel + 1] = ky;
    scores[channel] = peak.v;
  }
}

// 1-D DARK of one SimCC axis, block-wide (the exact path needs the vector's full blur maximum).
template <typename T>
__device__ float simcc_dark(const T* vec, int32_t L, float loc, const BlurKernel& bk, float* stencil, Best* shared,
                            int* idle) {
  const int tid = threadIdx.x;
  const float orig_max = plane_argmax(vec, L, shared).v;
  if (tid < 5) stencil[tid] = blur1d_at(vec, L, simcc_read(tid - 2, loc, L), bk);
  __syncthreads();
  if (tid == 0) *idle = clamps_idle(stencil, 5, orig_max, 1e-3f, 50.f);
  __syncthreads();
  float c = 1.f;
  if (!*idle) {
    Best m{0.f, -1};
    for (int32_t i = tid; i < L; i += kThreads) m = better(m, Best{blur1d_at(vec, L, i, bk), i});
    c = orig_max / block_best(m, shared).v;
  }
  float v[5];
  for (int i = 0; i < 5; ++i) v[i] = *idle ? logf(stencil[i]) : logf(nan_clip(stencil[i] * c, 1e-3f, 50.f));
  __syncthreads();  // stencil is reused by the next axis
  return simcc_step(v, loc);
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    decode_simcc_kernel(const T* __restrict__ xs, const T* __restrict__ ys, float* __restrict__ locations,
                        float* __restrict__ scores, int32_t Lx, int32_t Ly, bool dark_x, bool dark_y,
                        const BlurKernel bx, const BlurKernel by) {
  __shared__ Best shared[kWarps];
  __shared__ float stencil[5];
  __shared__ int idle;
  const int64_t i = blockIdx.x;
  const T* vx = xs + i * Lx;
  const T* vy = ys + i * Ly;
  const Best mx = plane_argmax(vx, Lx, shared);
  const Best my = plane_argmax(vy, Ly, shared);
  const float score = mx.v > my.v ? my.v : mx.v;
  float lx = static_cast<float>(mx.i), ly = static_cast<float>(my.i);
  if (score <= 0.f) lx = ly = -1.f;
  if (dark_x) lx = simcc_dark(vx, Lx, lx, bx, stencil, shared, &idle);
  if (dark_y) ly = simcc_dark(vy, Ly, ly, by, stencil, shared, &idle);
  if (threadIdx.x == 0) {
    locations[2 * i] = lx;
    locations[2 * i + 1] = ly;
    scores[i] = score;
  }
}

std::tuple<at::Tensor, at::Tensor> decode_heatmaps_cuda(const at::Tensor& heatmaps, c10::string_view refine,
                                                        int64_t blur_kernel_size, double offset_radius) {
  const c10::cuda::CUDAGuard guard(heatmaps.device());
  HeatmapDecodeCall c = prepare_heatmap_decode(heatmaps, refine, blur_kernel_size, offset_radius);
  const int64_t blocks = c.B * c.K;
  if (blocks == 0) return {c.keypoints, c.scores};
  TORCH_CHECK(blocks < (int64_t{1} << 31), "decode_heatmaps: B * K must be below 2^31, got ", blocks);
  auto stream = c10::cuda::getCurrentCUDAStream();
  PPF_DISPATCH_DECODE_TYPES(c.heatmaps.scalar_type(), "decode_heatmaps_cuda", [&] {
    decode_heatmaps_kernel<scalar_t><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
        c.heatmaps.const_data_ptr<scalar_t>(), c.keypoints.mutable_data_ptr<float>(),
        c.scores.mutable_data_ptr<float>(), c.K, static_cast<int32_t>(c.H), static_cast<int32_t>(c.W), c.refine,
        c.blur, c.radius);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {c.keypoints, c.scores};
}

std::tuple<at::Tensor, at::Tensor> decode_simcc_cuda(const at::Tensor& simcc_x, const at::Tensor& simcc_y,
                                                     int64_t blur_x, int64_t blur_y) {
  const c10::cuda::CUDAGuard guard(simcc_x.device());
  SimccDecodeCall c = prepare_simcc_decode(simcc_x, simcc_y, blur_x, blur_y);
  const int64_t blocks = c.B * c.K;
  if (blocks == 0) return {c.locations, c.scores};
  TORCH_CHECK(blocks < (int64_t{1} << 31), "decode_simcc: B * K must be below 2^31, got ", blocks);
  auto stream = c10::cuda::getCurrentCUDAStream();
  PPF_DISPATCH_DECODE_TYPES(c.x.scalar_type(), "decode_simcc_cuda", [&] {
    decode_simcc_kernel<scalar_t><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
        c.x.const_data_ptr<scalar_t>(), c.y.const_data_ptr<scalar_t>(), c.locations.mutable_data_ptr<float>(),
        c.scores.mutable_data_ptr<float>(), static_cast<int32_t>(c.Lx), static_cast<int32_t>(c.Ly), c.dark_x,
        c.dark_y, c.blur_x, c.blur_y);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {c.locations, c.scores};
}

}  // namespace

TORCH_LIBRARY_IMPL(pyposefast, CUDA, m) {
  m.impl("decode_heatmaps", &decode_heatmaps_cuda);
  m.impl("decode_simcc", &decode_simcc_cuda);
}

}  // namespace decode
}  // namespace pyposefast
