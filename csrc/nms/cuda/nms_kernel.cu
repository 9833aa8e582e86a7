// CUDA kernels of the OKS-NMS ops: one launch for the whole batch, one block per image.
//
// oks_nms: the block ranks its candidates (rank[i] = how many candidates come before i in
// ranks_before order, one thread per candidate, so no sort is needed), then walks the ranked list
// once; at each still-alive candidate every thread tests a share of the later candidates against
// it (a __syncthreads per step). soft_oks_nms: per step a block-wide argmax over the alive
// candidates' current scores, then every thread rescores its share. Scratch (order, removed flags,
// current scores) lives in global memory, [B, N] each, so N is not limited by shared memory.
// Indices are int64; the per-image loops are sequential in the kept candidates, as the algorithm is.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>

#include "nms/nms_checks.h"
#include "nms/nms_math.h"

namespace pyposefast {
namespace nms {
namespace {

constexpr int kMaxThreads = 256;

struct DeviceImage {
  const float* kp;
  const float* vis;
  const double* areas;
  const double* sigmas;
  int64_t K;
  bool use_vis;
  float vis_thr;

  __device__ __forceinline__ float pair_oks(int64_t i, int64_t j) const {
    return oks(kp + 2 * K * i, kp + 2 * K * j, use_vis ? vis + K * i : nullptr, use_vis ? vis + K * j : nullptr,
               areas[i], areas[j], sigmas, K, use_vis, vis_thr);
  }
};

__device__ __forceinline__ DeviceImage device_image(const float* kp, const float* vis, const double* areas,
                                                    const double* sigmas, int64_t b, int64_t N, int64_t K,
                                                    bool use_vis, float vis_thr) {
  DeviceImage im;
  im.kp = kp + b * N * K * 2;
  im.vis = use_vis ? vis + b * N * K : nullptr;
  im.areas = areas + b * N;
  im.sigmas = sigmas;
  im.K = K;
  im.use_vis = use_vis;
  im.vis_thr = vis_thr;
  return im;
}

__device__ __forceinline__ int64_t device_count(const int64_t* counts, int64_t b, int64_t N) {
  const int64_t n = counts[b];
  return n < 0 ? 0 : (n > N ? N : n);
}

// grid: B blocks; order, removed: [B, N] scratch; keep [B, N] prefilled with -1.
__global__ void oks_nms_kernel(const float* __restrict__ kp, const double* __restrict__ scores,
                               const double* __restrict__ areas, const double* __restrict__ sigmas,
                               const int64_t* __restrict__ counts, const float* __restrict__ vis, bool use_vis,
                               float vis_thr, float thr_f, int64_t N, int64_t K, int64_t* __restrict__ order,
                               uint8_t* __restrict__ removed, int64_t* __restrict__ keep) {
  const int64_t b = blockIdx.x;
  const int64_t n = device_count(counts, b, N);
  const double* s = scores + b * N;
  int64_t* ord = order + b * N;
  uint8_t* rem = removed + b * N;
  int64_t* out = keep + b * N;
  const DeviceImage im = device_image(kp, vis, areas, sigmas, b, N, K, use_vis, vis_thr);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    int64_t rank = 0;
    const double si = s[i];
    for (int64_t j = 0; j < n; ++j) rank += ranks_before(s[j], j, si, i) ? 1 : 0;
    ord[rank] = i;
    rem[i] = 0;
  }
  __syncthreads();
  int64_t kept = 0;
  for (int64_t p = 0; p < n; ++p) {
    const int64_t i = ord[p];
    const bool alive = rem[i] == 0;  // block-uniform: every thread reads the same flag
    __syncthreads();                 // all reads of rem[i] happen before this step's writes
    if (!alive) continue;
    if (threadIdx.x == 0) out[kept] = i;
    ++kept;
    for (int64_t q = p + 1 + threadIdx.x; q < n; q += blockDim.x) {
      const int64_t j = ord[q];
      if (rem[j] == 0 && im.pair_oks(i, j) > thr_f) rem[j] = 1;
    }
    __syncthreads();
  }
}

// grid: B blocks; cur: [B, N] current scores, alive: [B, N] flags; keep/kept_scores [B, M] prefilled.
__global__ void soft_oks_nms_kernel(const float* __restrict__ kp, const double* __restrict__ scores,
                                    const double* __restrict__ areas, const double* __restrict__ sigmas,
                                    const int64_t* __restrict__ counts, const float* __restrict__ vis,
                                    bool use_vis, float vis_thr, float thr_f, double thr, int64_t method,
                                    int64_t N, int64_t K, int64_t M, double* __restrict__ cur,
                                    uint8_t* __restrict__ alive, int64_t* __restrict__ keep,
                                    double* __restrict__ kept_scores) {
  __shared__ double s_score[kMaxThreads];
  __shared__ int64_t s_index[kMaxThreads];
  const int64_t b = blockIdx.x;
  const int64_t n = device_count(counts, b, N);
  double* s = cur + b * N;
  uint8_t* live = alive + b * N;
  const DeviceImage im = device_image(kp, vis, areas, sigmas, b, N, K, use_vis, vis_thr);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    s[j] = scores[b * N + j];
    live[j] = 1;
  }
  __syncthreads();
  const int64_t steps = n < M ? n : M;
  for (int64_t t = 0; t < steps; ++t) {
    // block-wide argmax in ranks_before order
    double best_s = 0.0;
    int64_t best = -1;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
      if (live[j] && (best < 0 || ranks_before(s[j], j, best_s, best))) {
        best = j;
        best_s = s[j];
      }
    s_score[threadIdx.x] = best_s;
    s_index[threadIdx.x] = best;
    __syncthreads();
    for (unsigned stride = blockDim.x / 2; stride > 0; stride >>= 1) {
      if (threadIdx.x < stride) {
        const int64_t o = s_index[threadIdx.x + stride];
        if (o >= 0 && (s_index[threadIdx.x] < 0 ||
                       ranks_before(s_score[threadIdx.x + stride], o, s_score[threadIdx.x], s_index[threadIdx.x]))) {
          s_index[threadIdx.x] = o;
          s_score[threadIdx.x] = s_score[threadIdx.x + stride];
        }
      }
      __syncthreads();
    }
    best = s_index[0];
    best_s = s_score[0];
    __syncthreads();  // everyone has read the winner before the next step overwrites it
    if (threadIdx.x == 0) {
      keep[b * M + t] = best;
      kept_scores[b * M + t] = best_s;
    }
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      if (j == best)
        live[j] = 0;
      else if (live[j])
        s[j] = rescore(s[j], im.pair_oks(best, j), thr_f, thr, method);
    }
    __syncthreads();
  }
}

unsigned block_size(int64_t N) {
  int64_t threads = 32;
  while (threads < N && threads < kMaxThreads) threads *= 2;
  return static_cast<unsigned>(threads);
}

at::Tensor oks_nms_cuda(const at::Tensor& keypoints, const at::Tensor& scores, const at::Tensor& areas,
                        const at::Tensor& sigmas, const at::Tensor& counts,
                        const c10::optional<at::Tensor>& visibility, c10::optional<double> vis_thr, double thr) {
  const c10::cuda::CUDAGuard guard(keypoints.device());
  NmsCall c = prepare_call(keypoints, scores, areas, sigmas, counts, visibility, vis_thr, thr, "oks_nms");
  at::Tensor keep = at::full({c.B, c.N}, -1, keypoints.options().dtype(at::kLong));
  if (keep.numel() == 0) return keep;
  TORCH_CHECK(c.B < (int64_t{1} << 31), "oks_nms: B too large for one launch (", c.B, ")");
  at::Tensor order = at::empty({c.B, c.N}, keypoints.options().dtype(at::kLong));
  at::Tensor removed = at::empty({c.B, c.N}, keypoints.options().dtype(at::kByte));
  auto stream = c10::cuda::getCurrentCUDAStream();
  oks_nms_kernel<<<static_cast<unsigned>(c.B), block_size(c.N), 0, stream>>>(
      c.keypoints.const_data_ptr<float>(), c.scores.const_data_ptr<double>(), c.areas.const_data_ptr<double>(),
      c.sigmas.const_data_ptr<double>(), c.counts.const_data_ptr<int64_t>(),
      c.use_vis ? c.visibility.const_data_ptr<float>() : nullptr, c.use_vis, c.vis_thr, static_cast<float>(thr),
      c.N, c.K, order.mutable_data_ptr<int64_t>(), removed.mutable_data_ptr<uint8_t>(),
      keep.mutable_data_ptr<int64_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return keep;
}

std::tuple<at::Tensor, at::Tensor> soft_oks_nms_cuda(const at::Tensor& keypoints, const at::Tensor& scores,
                                                     const at::Tensor& areas, const at::Tensor& sigmas,
                                                     const at::Tensor& counts,
                                                     const c10::optional<at::Tensor>& visibility,
                                                     c10::optional<double> vis_thr, double thr, int64_t max_dets,
                                                     c10::string_view method) {
  const c10::cuda::CUDAGuard guard(keypoints.device());
  NmsCall c = prepare_call(keypoints, scores, areas, sigmas, counts, visibility, vis_thr, thr, "soft_oks_nms");
  const int64_t m = parse_method(method);
  TORCH_CHECK(max_dets >= 0, "soft_oks_nms: max_dets must be >= 0, got ", max_dets);
  TORCH_CHECK(m == kLinear || thr > 0, "soft_oks_nms: thr must be positive for the gaussian method, got ", thr);
  const int64_t M = std::min(c.N, max_dets);
  at::Tensor keep = at::full({c.B, M}, -1, keypoints.options().dtype(at::kLong));
  at::Tensor kept_scores = at::zeros({c.B, M}, keypoints.options().dtype(at::kDouble));
  if (keep.numel() == 0) return {keep, kept_scores};
  TORCH_CHECK(c.B < (int64_t{1} << 31), "soft_oks_nms: B too large for one launch (", c.B, ")");
  at::Tensor cur = at::empty({c.B, c.N}, keypoints.options().dtype(at::kDouble));
  at::Tensor alive = at::empty({c.B, c.N}, keypoints.options().dtype(at::kByte));
  auto stream = c10::cuda::getCurrentCUDAStream();
  soft_oks_nms_kernel<<<static_cast<unsigned>(c.B), block_size(c.N), 0, stream>>>(
      c.keypoints.const_data_ptr<float>(), c.scores.const_data_ptr<double>(), c.areas.const_data_ptr<double>(),
      c.sigmas.const_data_ptr<double>(), c.counts.const_data_ptr<int64_t>(),
      c.use_vis ? c.visibility.const_data_ptr<float>() : nullptr, c.use_vis, c.vis_thr, static_cast<float>(thr), thr,
      m, c.N, c.K, M, cur.mutable_data_ptr<double>(), alive.mutable_data_ptr<uint8_t>(),
      keep.mutable_data_ptr<int64_t>(), kept_scores.mutable_data_ptr<double>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {keep, kept_scores};
}

}  // namespace

TORCH_LIBRARY_IMPL(pyposefast, CUDA, m) {
  m.impl("oks_nms", &oks_nms_cuda);
  m.impl("soft_oks_nms", &soft_oks_nms_cuda);
}

}  // namespace nms
}  // namespace pyposefast
