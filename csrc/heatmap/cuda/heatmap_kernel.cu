// CUDA kernels of the heatmap-target ops: one launch for the whole batch.
//
// Grid: blockIdx.x = output plane (b, k) (B*K of them), blockIdx.y strides over tiles of the plane
// (blockDim.x * kVec pixels each). A block first stages the (b, :, k) instance parameters in shared
// memory (kChunk at a time), then every thread max-merges them into kVec consecutive pixels held in
// registers and stores them once (vectorised when the plane is aligned). Output is written exactly
// once: the op is bound by the bytes it writes. Keypoint weights (b, n, k) are written by the
// blockIdx.y == 0 block of plane (b, k).
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <algorithm>

#include "heatmap/heatmap_checks.h"
#include "heatmap/heatmap_math.h"

namespace pyposefast {
namespace heatmap {
namespace {

constexpr int kThreads = 256;
constexpr int kVec = 4;
constexpr int kChunk = 64;  // instances staged in shared memory at a time
constexpr int64_t kMaxTilesY = 65535;
// MSRA centres are whole numbers: every axis factor is exp(-d^2 / (2 sigma^2)) for an integer d with
// |d| <= reach = ceil(6 sigma + 1) + 1. Blocks tabulate those in shared memory when they fit.
constexpr int kMaxReach = 255;

template <typename T>
struct alignas(sizeof(T) * kVec) VecT {
  T v[kVec];
};

// Pixel indices inside one plane are int32 (planes are checked to hold < 2^31 pixels); plane
// offsets are int64.
template <typename out_t, bool kAligned>
__device__ __forceinline__ void store_pixels(out_t* plane, int32_t p0, int32_t plane_size,
                                             const float (&acc)[kVec]) {
  if (kAligned && p0 + kVec <= plane_size) {
    VecT<out_t> v;
#pragma unroll
    for (int j = 0; j < kVec; ++j) v.v[j] = static_cast<out_t>(acc[j]);
    *reinterpret_cast<VecT<out_t>*>(plane + p0) = v;
  } else {
#pragma unroll
    for (int j = 0; j < kVec; ++j)
      if (p0 + j < plane_size) plane[p0 + j] = static_cast<out_t>(acc[j]);
  }
}

// Stage params for instances [n0, n0 + count) of plane (b, k) in shared memory; the blocks with
// blockIdx.y == 0 also write their keypoint weights (each (b, n, k) exactly once).
__device__ __forceinline__ void load_params(GaussianParams* params, const float* __restrict__ kp,
                                            const float* __restrict__ vis, float* __restrict__ weights,
                                            int64_t b, int64_t n0, int count, int64_t N, int64_t K,
                                            int64_t k, int32_t H, int32_t W, double sigma,
                                            int64_t method, bool write_weights) {
  if (static_cast<int>(threadIdx.x) < count) {
    const int64_t idx = (b * N + n0 + threadIdx.x) * K + k;
    const GaussianParams p = gaussian_params(kp[2 * idx], kp[2 * idx + 1], vis[idx], W, H, sigma, method);
    params[threadIdx.x] = p;
    if (write_weights) weights[idx] = p.weight;
  }
}

template <typename out_t, bool kAligned>
__global__ void __launch_bounds__(kThreads, 4)
    gaussian_heatmaps_kernel(const float* __restrict__ kp, const float* __restrict__ vis,
                             out_t* __restrict__ out, float* __restrict__ weights, int64_t N,
                             int64_t K, int32_t H, int32_t W, double sigma, int64_t method) {
  __shared__ GaussianParams params[kChunk];
  __shared__ double msra_table[2 * kMaxReach + 1];
  __shared__ int s_list[kChunk];
  __shared__ int s_count;
  const int64_t plane = blockIdx.x;
  const int64_t b = plane / K, k = plane % K;
  const int32_t plane_size = H * W;
  const int32_t tile_pixels = static_cast<int32_t>(blockDim.x) * kVec;
  const int32_t num_tiles = (plane_size + tile_pixels - 1) / tile_pixels;
  const double two_sigma_sq = 2.0 * sigma * sigma;
  out_t* hm = out + plane * plane_size;
  const double reach_d = ceil(6.0 * sigma + 1.0) + 1.0;
  const int reach = method == kMsra && reach_d <= kMaxReach ? static_cast<int>(reach_d) : -1;
  for (int d = static_cast<int>(threadIdx.x) - reach; reach >= 0 && d <= reach; d += blockDim.x)
    msra_table[d + reach] = gaussian_factor(d, 0.0, two_sigma_sq);
  // (the barrier below, or the first one in the chunk loop, publishes the table)
  // The usual case (all instances fit one chunk): stage them once for all the block's tiles.
  const bool one_chunk = N <= kChunk;
  if (one_chunk) {
    load_params(params, kp, vis, weights, b, 0, static_cast<int>(N), N, K, k, H, W, sigma, method,
                blockIdx.y == 0);
    __syncthreads();
  }

  for (int32_t tile = blockIdx.y; tile < num_tiles; tile += gridDim.y) {  // uniform per block
    const int32_t p0 = tile * tile_pixels + static_cast<int32_t>(threadIdx.x) * kVec;
    const int32_t r0 = p0 / W;
    const int32_t c0 = p0 - r0 * W;
    float acc[kVec];
#pragma unroll
    for (int j = 0; j < kVec; ++j) acc[j] = 0.f;

    for (int64_t n0 = 0; n0 < N; n0 += kChunk) {
      const int count = static_cast<int>(min(static_cast<int64_t>(kChunk), N - n0));
      if (!one_chunk) {
        __syncthreads();  // the previous chunk is fully consumed
        load_params(params, kp, vis, weights, b, n0, count, N, K, k, H, W, sigma, method, tile == 0);
        __syncthreads();
      }
      // Many instances (bottom-up): first list the ones whose window meets this tile, so that every
      // pixel loops over a handful instead of all of them. Max-merging does not depend on order.
      const bool cull = count > 8;  // block-uniform
      int listed = count;
      if (cull) {
        if (threadIdx.x == 0) s_count = 0;
        __syncthreads();
        const int32_t tile_first = tile * tile_pixels;
        const int32_t tile_last = min(plane_size, tile_first + tile_pixels) - 1;
        if (static_cast<int>(threadIdx.x) < count) {
          const GaussianParams& q = params[threadIdx.x];
          if (q.active && q.x_begin < q.x_end && q.y_begin < q.y_end && q.y_begin * W + q.x_begin <= tile_last &&
              (q.y_end - 1) * W + q.x_end - 1 >= tile_first)
            s_list[atomicAdd(&s_count, 1)] = static_cast<int>(threadIdx.x);
        }
        __syncthreads();
        listed = s_count;
      }
      for (int ii = 0; ii < listed && p0 < plane_size; ++ii) {
        const GaussianParams& p = params[cull ? s_list[ii] : ii];
        // skip unless the thread's kVec pixels overlap the window's flat index range
        if (!p.active || p0 > (p.y_end - 1) * W + p.x_end - 1 ||
            p0 + kVec - 1 < p.y_begin * W + p.x_begin)
          continue;
        int32_t r = r0, c = c0;
        if (reach >= 0) {  // MSRA: table lookups at integer offsets
          const int32_t ox = static_cast<int32_t>(p.cx) - reach, oy = static_cast<int32_t>(p.cy) - reach;
#pragma unroll
          for (int j = 0; j < kVec; ++j) {
            if (r >= p.y_begin && r < p.y_end && c >= p.x_begin && c < p.x_end)
              acc[j] = fmaxf(acc[j], static_cast<float>(msra_table[r - oy] * msra_table[c - ox]));
            if (++c == W) {
              c = 0;
              ++r;
            }
          }
          continue;
        }
        double fy = gaussian_factor(r, p.cy, two_sigma_sq);
#pragma unroll
        for (int j = 0; j < kVec; ++j) {
          if (r >= p.y_begin && r < p.y_end && c >= p.x_begin && c < p.x_end) {
            const float g = static_cast<float>(fy * gaussian_factor(c, p.cx, two_sigma_sq));
            acc[j] = fmaxf(acc[j], g);
          }
          if (++c == W) {
            c = 0;
            ++r;
            fy = gaussian_factor(r, p.cy, two_sigma_sq);
          }
        }
      }
      if (cull) __syncthreads();  // s_list / s_count are reused by the next tile or chunk
    }
    if (p0 < plane_size) store_pixels<out_t, kAligned>(hm, p0, plane_size, acc);
  }
}

template <typename out_t, bool kAligned>
__global__ void __launch_bounds__(kThreads)
    offset_heatmaps_kernel(const float* __restrict__ kp, const float* __restrict__ vis,
                           out_t* __restrict__ out, float* __restrict__ weights, int64_t N,
                           int64_t K, int32_t H, int32_t W, double radius) {
  __shared__ OffsetParams drawn;
  const int64_t plane = blockIdx.x;
  const int64_t b = plane / K, k = plane % K;
  const int32_t plane_size = H * W;
  const int32_t tile_pixels = static_cast<int32_t>(blockDim.x) * kVec;
  const int32_t num_tiles = (plane_size + tile_pixels - 1) / tile_pixels;
  if (threadIdx.x == 0) {
    OffsetParams last;
    last.active = false;
    last.x = last.y = 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const int64_t idx = (b * N + n) * K + k;
      const OffsetParams p = offset_params(kp[2 * idx], kp[2 * idx + 1], vis[idx]);
      if (blockIdx.y == 0) weights[idx] = p.weight;
      if (p.active) last = p;  // MMPose overwrites: the last visible instance wins
    }
    drawn = last;
  }
  __syncthreads();
  const OffsetParams d = drawn;
  out_t* cls = out + (b * 3 * K + 3 * k) * plane_size;
  out_t* xo = cls + plane_size;
  out_t* yo = xo + plane_size;
  for (int32_t tile = blockIdx.y; tile < num_tiles; tile += gridDim.y) {
    const int32_t p0 = tile * tile_pixels + static_cast<int32_t>(threadIdx.x) * kVec;
    if (p0 >= plane_size) continue;
    float a_cls[kVec], a_x[kVec], a_y[kVec];
    int32_t r = p0 / W;
    int32_t c = p0 - r * W;
#pragma unroll
    for (int j = 0; j < kVec; ++j) {
      if (d.active) {
        const OffsetValue o = offset_value(d.x, d.y, c, r, radius);
        a_cls[j] = o.cls;
        a_x[j] = o.x_off;
        a_y[j] = o.y_off;
      } else {
        a_cls[j] = a_x[j] = a_y[j] = 0.f;
      }
      if (++c == W) {
        c = 0;
        ++r;
      }
    }
    store_pixels<out_t, kAligned>(cls, p0, plane_size, a_cls);
    store_pixels<out_t, kAligned>(xo, p0, plane_size, a_x);
    store_pixels<out_t, kAligned>(yo, p0, plane_size, a_y);
  }
}

// One block per output plane along x; along y, just enough blocks per plane to give the GPU
// ~8 blocks per SM in total. Large batches get one block per plane, which then loops over the plane's
// tiles: the parameter set-up (global loads, a barrier) is paid once per plane, not once per tile.
dim3 plane_grid(int64_t planes, int64_t plane_size) {
  TORCH_CHECK(planes < (int64_t{1} << 31), "heatmap ops: B*K too large for one launch (", planes, ")");
  int device = 0, sms = 132;
  C10_CUDA_CHECK(cudaGetDevice(&device));
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const int64_t tiles = (plane_size + kThreads * kVec - 1) / (kThreads * kVec);
  const int64_t wanted = (8 * static_cast<int64_t>(sms) + planes - 1) / planes;
  const int64_t per_plane = std::max<int64_t>(1, std::min({tiles, wanted, kMaxTilesY}));
  return dim3(static_cast<unsigned>(planes), static_cast<unsigned>(per_plane));
}

// The vector path needs every plane to start on a kVec-element boundary.
bool planes_aligned(const at::Tensor& out, int64_t plane_size) {
  const auto addr = reinterpret_cast<uintptr_t>(out.data_ptr());
  return plane_size % kVec == 0 && addr % (out.element_size() * kVec) == 0;
}

// keypoints [B,N,K,2] f32, keypoints_visible [B,N,K] f32 -> heatmaps [B,K,H,W] dtype, weights [B,N,K]
std::tuple<at::Tensor, at::Tensor> gaussian_heatmaps_cuda(const at::Tensor& keypoints,
                                                          const at::Tensor& keypoints_visible,
                                                          int64_t W, int64_t H, double sigma,
                                                          c10::string_view method,
                                                          at::ScalarType dtype) {
  check_positive(sigma, "gaussian_heatmaps", "sigma");
  const int64_t m = parse_method(method);
  const c10::cuda::CUDAGuard guard(keypoints.device());
  HeatmapCall c = prepare_call(keypoints, keypoints_visible, W, H, dtype, 1, "gaussian_heatmaps");
  if (c.heatmaps.numel() == 0) return {c.heatmaps, c.weights};  // B == 0 or K == 0: no weights either
  const dim3 grid = plane_grid(c.B * c.K, H * W);
  const bool aligned = planes_aligned(c.heatmaps, H * W);
  auto stream = c10::cuda::getCurrentCUDAStream();
  PPF_DISPATCH_OUTPUT_TYPES(dtype, "gaussian_heatmaps_cuda", [&] {
    auto kernel = aligned ? gaussian_heatmaps_kernel<scalar_t, true> : gaussian_heatmaps_kernel<scalar_t, false>;
    kernel<<<grid, kThreads, 0, stream>>>(c.keypoints.const_data_ptr<float>(), c.visible.const_data_ptr<float>(),
                                          c.heatmaps.mutable_data_ptr<scalar_t>(), c.weights.mutable_data_ptr<float>(),
                                          c.N, c.K, static_cast<int32_t>(H), static_cast<int32_t>(W), sigma, m);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {c.heatmaps, c.weights};
}

// keypoints [B,N,K,2], keypoints_visible [B,N,K] -> heatmaps [B,3K,H,W] dtype, weights [B,N,K]
std::tuple<at::Tensor, at::Tensor> udp_offset_heatmaps_cuda(const at::Tensor& keypoints,
                                                            const at::Tensor& keypoints_visible,
                                                            int64_t W, int64_t H, double radius,
                                                            at::ScalarType dtype) {
  check_positive(radius, "udp_offset_heatmaps", "radius");
  const c10::cuda::CUDAGuard guard(keypoints.device());
  HeatmapCall c = prepare_call(keypoints, keypoints_visible, W, H, dtype, 3, "udp_offset_heatmaps");
  if (c.heatmaps.numel() == 0) return {c.heatmaps, c.weights};
  const dim3 grid = plane_grid(c.B * c.K, H * W);
  const bool aligned = planes_aligned(c.heatmaps, H * W);
  auto stream = c10::cuda::getCurrentCUDAStream();
  PPF_DISPATCH_OUTPUT_TYPES(dtype, "udp_offset_heatmaps_cuda", [&] {
    auto kernel = aligned ? offset_heatmaps_kernel<scalar_t, true> : offset_heatmaps_kernel<scalar_t, false>;
    kernel<<<grid, kThreads, 0, stream>>>(c.keypoints.const_data_ptr<float>(), c.visible.const_data_ptr<float>(),
                                          c.heatmaps.mutable_data_ptr<scalar_t>(), c.weights.mutable_data_ptr<float>(),
                                          c.N, c.K, static_cast<int32_t>(H), static_cast<int32_t>(W), radius);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {c.heatmaps, c.weights};
}

}  // namespace

TORCH_LIBRARY_IMPL(pyposefast, CUDA, m) {
  m.impl("gaussian_heatmaps", &gaussian_heatmaps_cuda);
  m.impl("udp_offset_heatmaps", &udp_offset_heatmaps_cuda);
}

}  // namespace heatmap
}  // namespace pyposefast
