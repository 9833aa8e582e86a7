// CUDA kernels of ae_decode: the whole batch in seven launches (and one memset) on the current
// stream, no host sync, CUDA-graph capturable.
//   1. peaks_kernel: many blocks per (b, k) plane, each scanning one chunk: NMS peaks above the
//      threshold appended (warp-aggregated atomics) to the plane's list in the workspace.
//   2. select_kernel: one block per plane: the top-k of the list in (value desc, index asc) order by
//      ranking (every candidate counts the candidates before it; the order is total, so the result
//      does not depend on the append order). A plane with more than kCap peaks (a flat or
//      negative-threshold map) falls back to selecting straight from the plane (slow, exact).
//   3. modulate_kernel (dark_udp only): one block per plane: MMPose's blurred, rescaled, clipped,
//      logged plane, into the workspace.
//   4. group_kernel: one warp per image: the CPU's steps (group_math.h) with the warp sharing the
//      group tags, the tag distances, the cost matrix, the Hungarian solver's column loops and the
//      group-key lookups.
//   5. refine_kernel: one warp per instance: refinement, centre shift, instance tag.
//   6. fill_partial_kernel: many blocks per missing (b, n, k) keypoint, each the argmin over one
//      chunk of the plane; 7. fill_kernel: one warp per (b, n, k) reduces the chunks' results.
// Kernel arguments are __grid_constant__ (read in place, never copied to local memory).
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <torch/library.h>

#include <cstdint>
#include <tuple>

#include "decode/decode_math.h"
#include "group/group_checks.h"
#include "group/group_math.h"

namespace pyposefast {
namespace group {
namespace {

constexpr int kThreads = 1024;  // select (slow path) and modulate: one plane per block
constexpr int kWarps = kThreads / 32;
constexpr int kScanThreads = 256;  // peaks and fill_partial: one chunk of a plane per block
constexpr int kScanWarps = kScanThreads / 32;
constexpr int kUnroll = 4;      // loads in flight per thread
constexpr int64_t kChunk = kScanThreads * kUnroll * 4;  // pixels per scanning block (4096)
constexpr int kCap = 2048;  // peaks per plane held in the workspace and ranked in shared memory
constexpr int kShS = 768;   // group kernel: solver columns (Gmax + T + 1) held in shared memory
constexpr int kShT = 128;   // group kernel: rows (top-k) held in shared memory
constexpr int kShF = 2048;  // group kernel: floats of group means (Gmax * L) / candidate tags (T * L)

// Everything a launch needs, by value (order travels here: K <= kMaxKeypoints).
struct Params {
  const float* hm;
  const float* tags;
  float* out_kp;
  float* out_sc;
  float* out_is;
  int64_t* out_n;
  // workspace
  int32_t* pcount;   // [B, K] peaks found (may exceed kCap)
  float* pvals;      // [B, K, kCap]
  int32_t* pidx;     // [B, K, kCap]
  float* cvals;      // [B, K, T]
  int32_t* cidx;     // [B, K, T]
  int32_t* ccount;   // [B, K]
  float* planes;     // [B, K, H, W] modulated (dark_udp) or nullptr
  float* joints;     // [B, Gmax, K, 3]
  float* gtags;      // [B, Gmax, K + 1, L]
  int32_t* ntags;    // [B, Gmax]
  float* key;        // [B, Gmax]
  float* mean;       // [B, Gmax, L]
  double* dist;      // [B, T, Gmax]
  double* cost;      // [B, T, Gmax]
  float* ctag;       // [B, T, L]
  int32_t* col;      // [B, T]
  double* u;         // [B, T]
  double* v;         // [B, S]  S = Gmax + T + 1
  double* minv;      // [B, S]
  int32_t* p;        // [B, S]
  int32_t* way;      // [B, S]
  uint8_t* used;     // [B, S]
  float* rows;       // [B, N, K, L] instance-tag rows
  float* itag;       // [B, N, L]
  float* fcost;      // [B, N, K, chunks] fill: each chunk's smallest cost
  int64_t* fidx;     // [B, N, K, chunks] and its pixel (-1: none)
  int64_t B, K, L, H, W, T, N, Gmax, S, chunks;
  int32_t nms_radius;
  double keypoint_thr, tag_thr;
  float center_shift;
  bool udp;
  decode::BlurKernel blur;
  int32_t order[kMaxKeypoints];
};

struct Cand {
  float v;
  int32_t i;  // -1: none
};

// a comes first in the candidate order (none comes last)
__device__ __forceinline__ bool first(Cand a, Cand b) {
  if (b.i < 0) return a.i >= 0;
  if (a.i < 0) return false;
  return cand_before(a.v, a.i, b.v, b.i);
}

__device__ Cand block_first(Cand c, Cand* shared) {
  for (int off = 16; off > 0; off >>= 1) {
    Cand o;
    o.v = __shfl_down_sync(0xffffffffu, c.v, off);
    o.i = __shfl_down_sync(0xffffffffu, c.i, off);
    c = first(o, c) ? o : c;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0) shared[warp] = c;
  __syncthreads();
  Cand r = shared[0];
  for (int w = 1; w < kWarps; ++w) r = first(shared[w], r) ? shared[w] : r;
  return r;
}

// The NMS value of pixel q when it qualifies as a candidate (value > thr), else none.
__device__ __forceinline__ Cand nms_candidate(const float* plane, int32_t H, int32_t W, int32_t r, double thr,
                                              int64_t q) {
  const float v = plane[q];
  if (thr >= 0.0 && !(static_cast<double>(v) > thr)) return Cand{0.f, -1};
  const int32_t qi = static_cast<int32_t>(q), y = qi / W, x = qi - y * W;
  if (thr >= 0.0) {
    if (!is_peak(plane, H, W, y, x, r, v)) return Cand{0.f, -1};
    return Cand{v, qi};
  }
  const float nv = is_peak(plane, H, W, y, x, r, v) ? v : v * 0.f;
  if (!(static_cast<double>(nv) > thr)) return Cand{0.f, -1};
  return Cand{nv, static_cast<int32_t>(q)};
}

// Stage 1: the NMS peaks of one chunk of one plane, appended to the plane's list.
__global__ void __launch_bounds__(kScanThreads) peaks_kernel(const __grid_constant__ Params P) {
  const int64_t bk = blockIdx.x;
  const int32_t H = static_cast<int32_t>(P.H), W = static_cast<int32_t>(P.W);
  const int64_t HW = P.H * P.W;
  const float* plane = P.hm + bk * HW;
  const int64_t end = min(HW, (static_cast<int64_t>(blockIdx.y) + 1) * kChunk);
  const int lane = threadIdx.x % 32;
  // block-uniform trip count: every lane reaches the ballots below
  for (int64_t base = blockIdx.y * kChunk; base < end; base += kScanThreads * kUnroll) {
    const int64_t q0 = base + threadIdx.x;
    float v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t q = q0 + u * kScanThreads;
      v[u] = q < end ? plane[q] : 0.f;
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t q = q0 + u * kScanThreads;
      Cand c{0.f, -1};
      if (q < end && !(P.keypoint_thr >= 0.0 && !(static_cast<double>(v[u]) > P.keypoint_thr)))
        c = nms_candidate(plane, H, W, P.nms_radius, P.keypoint_thr, q);
      // warp-aggregated append: one atomic per warp (every lane of the warp reaches this line)
      const unsigned found = __ballot_sync(0xffffffffu, c.i >= 0);
      if (!found) continue;
      int32_t base = 0;
      if (lane == __ffs(found) - 1) base = atomicAdd(P.pcount + bk, __popc(found));
      base = __shfl_sync(0xffffffffu, base, __ffs(found) - 1);
      if (c.i >= 0) {
        const int32_t slot = base + __popc(found & ((1u << lane) - 1u));
        if (slot < kCap) {
          P.pvals[bk * kCap + slot] = c.v;
          P.pidx[bk * kCap + slot] = c.i;
        }
      }
    }
  }
}

// Stage 2: the plane's top-k in candidate order, by rank.
__global__ void __launch_bounds__(kThreads) select_kernel(const __grid_constant__ Params P) {
  __shared__ float svals[kCap];
  __shared__ int32_t sidx[kCap];
  __shared__ Cand red[kWarps];
  const int64_t bk = blockIdx.x;
  const int32_t T = static_cast<int32_t>(P.T);
  float* ov = P.cvals + bk * P.T;
  int32_t* oi = P.cidx + bk * P.T;
  const int32_t n = P.pcount[bk];
  if (n <= kCap) {
    for (int32_t s = threadIdx.x; s < n; s += kThreads) {
      svals[s] = P.pvals[bk * kCap + s];
      sidx[s] = P.pidx[bk * kCap + s];
    }
    __syncthreads();
    for (int32_t s = threadIdx.x; s < n; s += kThreads) {
      const float v = svals[s];
      const int32_t i = sidx[s];
      int32_t rank = 0;
      for (int32_t t = 0; t < n && rank < T; ++t) rank += cand_before(svals[t], sidx[t], v, i) ? 1 : 0;
      if (rank < T) {
        ov[rank] = v;
        oi[rank] = i;
      }
    }
    if (threadIdx.x == 0) P.ccount[bk] = n < T ? n : T;
    return;
  }
  // more peaks than the list holds: select straight from the plane, one block-wide pass per slot
  const int32_t H = static_cast<int32_t>(P.H), W = static_cast<int32_t>(P.W);
  const int64_t HW = P.H * P.W;
  const float* plane = P.hm + bk * HW;
  Cand prev{0.f, -1};
  int32_t taken = 0;
  for (; taken < T; ++taken) {
    Cand best{0.f, -1};
    for (int64_t q = threadIdx.x; q < HW; q += kThreads) {
      const Cand c = nms_candidate(plane, H, W, P.nms_radius, P.keypoint_thr, q);
      if (c.i >= 0 && (prev.i < 0 || first(prev, c)) && first(c, best)) best = c;
    }
    best = block_first(best, red);
    if (best.i < 0) break;
    if (threadIdx.x == 0) {
      ov[taken] = best.v;
      oi[taken] = best.i;
    }
    prev = best;
  }
  if (threadIdx.x == 0) P.ccount[bk] = taken;
}

__global__ void __launch_bounds__(kThreads) modulate_kernel(const __grid_constant__ Params P) {
  __shared__ float red_o[kWarps], red_b[kWarps];
  __shared__ int red_nan;
  const int64_t bk = blockIdx.x;
  const int32_t H = static_cast<int32_t>(P.H), W = static_cast<int32_t>(P.W);
  const int64_t HW = P.H * P.W;
  const float* plane = P.hm + bk * HW;
  float* out = P.planes + bk * HW;
  float omax = -INFINITY, bmax = -INFINITY;
  int nan = 0;
  if (threadIdx.x == 0) red_nan = 0;
  for (int64_t q = threadIdx.x; q < HW; q += kThreads) {
    const float v = plane[q];
    const float b = decode::blur_at<false>(plane, H, W, static_cast<int32_t>(q / W), static_cast<int32_t>(q % W), P.blur);
    out[q] = b;
    nan |= (v != v) || (b != b);
    omax = v > omax ? v : omax;
    bmax = b > bmax ? b : bmax;
  }
  for (int off = 16; off > 0; off >>= 1) {
    const float o = __shfl_down_sync(0xffffffffu, omax, off), b = __shfl_down_sync(0xffffffffu, bmax, off);
    omax = o > omax ? o : omax;
    bmax = b > bmax ? b : bmax;
  }
  __syncthreads();
  if (nan) atomicOr(&red_nan, 1);
  if (threadIdx.x % 32 == 0) {
    red_o[threadIdx.x / 32] = omax;
    red_b[threadIdx.x / 32] = bmax;
  }
  __syncthreads();
  float om = red_o[0], bm = red_b[0];
  for (int w = 1; w < kWarps; ++w) {
    om = red_o[w] > om ? red_o[w] : om;
    bm = red_b[w] > bm ? red_b[w] : bm;
  }
  const float ratio = red_nan ? NAN : om / bm;
  for (int64_t q = threadIdx.x; q < HW; q += kThreads) out[q] = logf(decode::nan_clip(out[q] * ratio, 1e-3f, 50.f));
}

#include "group/cuda/warp_solver.cuh"

// One warp per image: the steps of group_image (group_math.h), the warp sharing the work.
__global__ void group_kernel(const __grid_constant__ Params P) {
  const int64_t b = blockIdx.x;
  const int lane = threadIdx.x;
  const int64_t K = P.K, L = P.L, T = P.T, Gmax = P.Gmax, S = P.S, HW = P.H * P.W;
  // the solver's and the group keys' arrays live in shared memory when they fit (COCO: S = 541)
  __shared__ double sh_v[kShS], sh_minv[kShS], sh_u[kShT];
  __shared__ int32_t sh_p[kShS], sh_way[kShS], sh_ntags[kShS], sh_col[kShT];
  __shared__ float sh_key[kShS];
  __shared__ uint8_t sh_used[kShS];
  __shared__ float sh_mean[kShF], sh_ctag[kShF];
  const bool small = S <= kShS && T <= kShT;
  const bool small_f = Gmax * L <= kShF && T * L <= kShF;
  GroupState g{P.joints + b * Gmax * K * 3, P.gtags + b * Gmax * (K + 1) * L,
               small ? sh_ntags : P.ntags + b * Gmax, small ? sh_key : P.key + b * Gmax,
               small_f ? sh_mean : P.mean + b * Gmax * L, 0};
  SolverScratch s = small ? SolverScratch{sh_u, sh_v, sh_minv, sh_p, sh_way, sh_used}
                          : SolverScratch{P.u + b * T, P.v + b * S, P.minv + b * S, P.p + b * S, P.way + b * S,
                                          P.used + b * S};
  double* dist = P.dist + b * T * Gmax;
  double* cost = P.cost + b * T * Gmax;
  float* ctag = small_f ? sh_ctag : P.ctag + b * T * L;
  int32_t* col = small ? sh_col : P.col + b * T;
  const float* tb = P.tags + b * K * L * HW;
  int32_t G = 0;  // the group count, the same in every lane
  for (int64_t i = 0; i < K; ++i) {
    const int64_t k = P.order[i];
    const int32_t M = P.ccount[b * K + k];
    if (M == 0) continue;
    const float* vals = P.cvals + (b * K + k) * T;
    const int32_t* idxs = P.cidx + (b * K + k) * T;
    for (int64_t q = lane; q < M * L; q += 32) ctag[q] = tb[((q % L) * K + k) * HW + idxs[q / L]];
    __syncwarp();
    const bool fresh = i == 0 || G == 0;
    const int32_t G0 = G;
    if (!fresh) {
      for (int32_t j = lane; j < G0; j += 32) group_mean(g, j, K, L);
      __syncwarp();
      const int32_t m = M > G0 ? M : G0;
      for (int64_t q = lane; q < static_cast<int64_t>(M) * m; q += 32) {
        const int32_t r = static_cast<int32_t>(q / m), j = static_cast<int32_t>(q % m);
        double c = kPadCost;
        if (j < G0) {
          const double d = tag_distance(ctag + r * L, g.mean + static_cast<int64_t>(j) * L, L);
          dist[static_cast<int64_t>(r) * G0 + j] = d;
          c = match_cost(d, vals[r]);
        }
        cost[q] = c;
      }
      __syncwarp();
      warp_hungarian(M, m, cost, s, col);
    }
    if (M <= 32) {
      // A lane per candidate. Only the unmatched candidates' group lookups depend on each other
      // (they create groups): they run in candidate order first (matched candidates never change
      // keys or the group count, so the lookups see what the sequential loop sees). Then, when no two
      // candidates write the same group, the writes run in parallel; else in candidate order.
      int32_t j = -1;
      bool matched = false;
      if (lane < M) {
        j = fresh ? -1 : col[lane];
        matched = j >= 0 && j < G0 && dist[static_cast<int64_t>(lane) * G0 + j] < P.tag_thr;
      }
      for (unsigned todo = __ballot_sync(0xffffffffu, lane < M && !matched); todo; todo &= todo - 1u) {
        const int32_t r = __ffs(todo) - 1;
        const int32_t jr = warp_group_for_key(g, G, ctag[r * L], K);
        if (lane == r) j = jr;
      }
      const unsigned same = __match_any_sync(0xffffffffu, lane < M ? j : -1 - lane);
      const bool clash = __any_sync(0xffffffffu, lane < M && __popc(same) > 1);
      if (!clash) {
        if (lane < M) {
          set_joint(g, j, K, k, static_cast<float>(idxs[lane] % P.W), static_cast<float>(idxs[lane] / P.W), vals[lane]);
          push_tag(g, j, K, L, ctag + lane * L, !matched);
        }
      } else {
        for (int32_t r = 0; r < M; ++r) {
          const int32_t jr = __shfl_sync(0xffffffffu, j, r);
          const bool mr = __shfl_sync(0xffffffffu, matched ? 1 : 0, r) != 0;
          if (lane == 0) {
            set_joint(g, jr, K, k, static_cast<float>(idxs[r] % P.W), static_cast<float>(idxs[r] / P.W), vals[r]);
            push_tag(g, jr, K, L, ctag + r * L, !mr);
          }
          __syncwarp();
        }
      }
      __syncwarp();
    } else {
      for (int32_t r = 0; r < M; ++r) {
        const float x = static_cast<float>(idxs[r] % P.W), y = static_cast<float>(idxs[r] / P.W);
        int32_t j = fresh ? -1 : col[r];
        const bool matched = j >= 0 && j < G0 && dist[static_cast<int64_t>(r) * G0 + j] < P.tag_thr;
        if (!matched) j = warp_group_for_key(g, G, ctag[r * L], K);
        if (lane == 0) {
          set_joint(g, j, K, k, x, y, vals[r]);
          push_tag(g, j, K, L, ctag + r * L, !matched);
        }
        __syncwarp();
      }
    }
  }
  const int64_t n_out = G < P.N ? G : P.N;
  for (int64_t q = lane; q < n_out * K; q += 32) {
    const int64_t n = q / K, k = q % K;
    const float* jt = g.joints + (n * K + k) * 3;
    float* kp = P.out_kp + ((b * P.N + n) * K + k) * 2;
    kp[0] = jt[0];
    kp[1] = jt[1];
    P.out_sc[(b * P.N + n) * K + k] = jt[2];
  }
  __syncwarp();
  for (int64_t n = lane; n < n_out; n += 32)
    P.out_is[b * P.N + n] = np_pairwise_sum(P.out_sc + (b * P.N + n) * K, K, 1) / static_cast<float>(K);
  if (lane == 0) P.out_n[b] = n_out;
}

// One warp per (b, n): refine, shift, instance tag.
__global__ void refine_kernel(const __grid_constant__ Params P) {
  const int64_t bn = blockIdx.x, b = bn / P.N, n = bn % P.N;
  if (n >= P.out_n[b]) return;
  const int64_t K = P.K, L = P.L, HW = P.H * P.W;
  const int32_t H = static_cast<int32_t>(P.H), W = static_cast<int32_t>(P.W);
  float* kp = P.out_kp + bn * K * 2;
  const float* sc = P.out_sc + bn * K;
  const float* pb = (P.udp ? P.planes : P.hm) + b * K * HW;
  for (int64_t k = threadIdx.x; k < K; k += 32) {
    float x = kp[2 * k], y = kp[2 * k + 1];
    if (P.udp) {
      float vals[decode::kUdpPoints];
      for (int i = 0; i < decode::kUdpPoints; ++i) {
        int64_t plane;
        int32_t row, c;
        decode::udp_read(i, x, y, k, K, H, W, &plane, &row, &c);
        vals[i] = pb[plane * HW + static_cast<int64_t>(row) * W + c];
      }
      decode::udp_step(vals, &x, &y);
    } else {
      decode::quarter_step(pb + k * HW, H, W, &x, &y);
    }
    if (sc[k] > 0.f) {
      x = fadd_rn(x, P.center_shift);
      y = fadd_rn(y, P.center_shift);
    }
    kp[2 * k] = x;
    kp[2 * k + 1] = y;
  }
  __syncwarp();
  if (threadIdx.x == 0) {
    const float* tb = P.tags + b * K * L * HW;
    auto tag = [&](int64_t k, int32_t idx, int64_t l) { return tb[(l * K + k) * HW + idx]; };
    instance_tag(kp, sc, K, L, P.H, P.W, tag, P.rows + bn * K * L, P.itag + bn * L);
  }
}

struct Arg {
  float c;
  int64_t i;  // -1: none
};

// np.argmin order: the first NaN, else the smaller cost, ties to the lower index.
__device__ __forceinline__ bool arg_first(Arg a, Arg b) {
  if (b.i < 0) return a.i >= 0;
  if (a.i < 0) return false;
  const bool an = a.c != a.c, bnan = b.c != b.c;
  if (an || bnan) return an && (!bnan || a.i < b.i);
  return a.c < b.c || (a.c == b.c && a.i < b.i);
}

// The arg_first of the warp's values, in lane 0.
__device__ __forceinline__ Arg warp_arg_first(Arg best) {
  for (int off = 16; off > 0; off >>= 1) {
    Arg o;
    o.c = __shfl_down_sync(0xffffffffu, best.c, off);
    o.i = __shfl_down_sync(0xffffffffu, best.i, off);
    best = arg_first(o, best) ? o : best;
  }
  return best;
}

// The keypoint (b, n, k) is missing and must be filled.
__device__ __forceinline__ bool fill_needed(const Params& P, int64_t bnk) {
  const int64_t bn = bnk / P.K;
  return bn % P.N < P.out_n[bn / P.N] && !(P.out_sc[bnk] > 0.f);
}

// Fill, stage 1: one block per (missing (b, n, k), chunk of the plane): the chunk's argmin.
__global__ void __launch_bounds__(kScanThreads) fill_partial_kernel(const __grid_constant__ Params P) {
  __shared__ Arg red[kScanWarps];
  const int64_t bnk = blockIdx.x, k = bnk % P.K, bn = bnk / P.K, b = bn / P.N;
  if (!fill_needed(P, bnk)) return;
  const int64_t K = P.K, L = P.L, HW = P.H * P.W;
  const float* plane = (P.udp ? P.planes : P.hm) + (b * K + k) * HW;
  const float* tag_k = P.tags + (b * K * L + k) * HW;
  float itag[kMaxTagDim];
  for (int64_t l = 0; l < L; ++l) itag[l] = P.itag[bn * L + l];
  const int64_t end = min(HW, (static_cast<int64_t>(blockIdx.y) + 1) * kChunk);
  Arg best{0.f, -1};
  for (int64_t q0 = blockIdx.y * kChunk + threadIdx.x; q0 < end; q0 += kScanThreads * kUnroll) {
    float h[kUnroll], t0[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t q = q0 + u * kScanThreads;
      h[u] = q < end ? plane[q] : 0.f;
      t0[u] = q < end ? tag_k[q] : 0.f;
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t q = q0 + u * kScanThreads;
      if (q >= end) continue;
      float d = t0[u] - itag[0];
      float sq = fmul_rn(d, d);
      for (int64_t l = 1; l < L; ++l) {
        d = tag_k[l * K * HW + q] - itag[l];
        sq = fadd_rn(sq, fmul_rn(d, d));
      }
      const Arg a{fmul_rn(round_even_nonneg(sqrtf(sq)), 100.f) - h[u], q};  // = fill_cost
      best = arg_first(a, best) ? a : best;
    }
  }
  best = warp_arg_first(best);  // lane 0 holds the warp's
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = best;
  __syncthreads();
  if (threadIdx.x == 0) {
    Arg r = red[0];
    for (int w = 1; w < kScanWarps; ++w) r = arg_first(red[w], r) ? red[w] : r;
    P.fcost[bnk * P.chunks + blockIdx.y] = r.c;
    P.fidx[bnk * P.chunks + blockIdx.y] = r.i;
  }
}

// Fill, stage 2: one warp per missing (b, n, k): the argmin over the chunks (arg_first is a total
// order, so the result is the whole plane's np.argmin), written as the keypoint and its score.
__global__ void fill_kernel(const __grid_constant__ Params P) {
  const int64_t bnk = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (bnk >= P.B * P.N * P.K || !fill_needed(P, bnk)) return;
  const int lane = threadIdx.x % 32;
  Arg best{0.f, -1};
  for (int64_t c = lane; c < P.chunks; c += 32) {
    const Arg a{P.fcost[bnk * P.chunks + c], P.fidx[bnk * P.chunks + c]};
    best = arg_first(a, best) ? a : best;
  }
  best = warp_arg_first(best);  // lane 0 holds the warp's
  if (lane == 0) {
    const int64_t k = bnk % P.K, b = bnk / P.K / P.N, HW = P.H * P.W;
    const float* plane = (P.udp ? P.planes : P.hm) + (b * P.K + k) * HW;
    float* kp = P.out_kp + bnk * 2;
    kp[0] = static_cast<float>(best.i % P.W);
    kp[1] = static_cast<float>(best.i / P.W);
    P.out_sc[bnk] = plane[best.i];
  }
}

template <typename T>
T* carve(uint8_t*& base, int64_t count) {
  T* p = reinterpret_cast<T*>(base);
  base += (count * static_cast<int64_t>(sizeof(T)) + 255) / 256 * 256;
  return p;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> ae_decode_cuda(
    const at::Tensor& heatmaps, const at::Tensor& tags, c10::IntArrayRef keypoint_order, int64_t nms_kernel,
    int64_t topk, double keypoint_thr, double tag_thr, int64_t max_instances, c10::string_view refine,
    int64_t blur_kernel_size, double center_shift) {
  const c10::cuda::CUDAGuard guard(heatmaps.device());
  AeDecodeCall c = prepare_ae_decode(heatmaps, tags, keypoint_order, nms_kernel, topk, keypoint_thr, tag_thr,
                                     max_instances, refine, blur_kernel_size, center_shift);
  if (c.B == 0 || c.N == 0) return {c.keypoints, c.keypoint_scores, c.instance_scores, c.counts};
  Params P;
  P.B = c.B;
  P.K = c.K;
  P.L = c.L;
  P.H = c.H;
  P.W = c.W;
  P.T = c.T;
  P.N = c.N;
  P.Gmax = c.K * c.T;
  P.S = P.Gmax + c.T + 1;
  P.chunks = (c.H * c.W + kChunk - 1) / kChunk;
  TORCH_CHECK(P.chunks <= 65535, "ae_decode: heatmaps of ", c.H, "x", c.W, " pixels are too large for the CUDA kernel (at most ",
              65535 * kChunk, " pixels per plane)");
  P.nms_radius = c.nms_radius;
  P.keypoint_thr = c.keypoint_thr;
  P.tag_thr = c.tag_thr;
  P.center_shift = c.center_shift;
  P.udp = c.udp;
  P.blur = c.blur;
  for (int64_t k = 0; k < c.K; ++k) P.order[k] = c.order[k];
  P.hm = c.heatmaps.data_ptr<float>();
  P.tags = c.tags.data_ptr<float>();
  P.out_kp = c.keypoints.data_ptr<float>();
  P.out_sc = c.keypoint_scores.data_ptr<float>();
  P.out_is = c.instance_scores.data_ptr<float>();
  P.out_n = c.counts.data_ptr<int64_t>();

  const int64_t B = c.B, K = c.K, L = c.L, T = c.T, N = c.N, G = P.Gmax, S = P.S, HW = c.H * c.W;
  const int64_t C = P.chunks;
  const int64_t counts[] = {B * K * 4, B * K * kCap * 4, B * K * kCap * 4, B * N * K * C * 4, B * N * K * C * 8,
                            B * K * T * 4, B * K * T * 4, B * K * 4, (c.udp ? B * K * HW : 0) * 4, B * G * K * 3 * 4,
                            B * G * (K + 1) * L * 4, B * G * 4, B * G * 4, B * G * L * 4, B * T * G * 8,
                            B * T * G * 8, B * T * L * 4, B * T * 4, B * T * 8, B * S * 8, B * S * 8, B * S * 4,
                            B * S * 4, B * S, B * N * K * L * 4, B * N * L * 4};
  int64_t bytes = 0;
  for (int64_t n : counts) bytes += (n + 255) / 256 * 256;
  at::Tensor work = at::empty({bytes}, heatmaps.options().dtype(at::kByte));
  uint8_t* base = work.data_ptr<uint8_t>();
  P.pcount = carve<int32_t>(base, B * K);
  P.pvals = carve<float>(base, B * K * kCap);
  P.pidx = carve<int32_t>(base, B * K * kCap);
  P.fcost = carve<float>(base, B * N * K * C);
  P.fidx = carve<int64_t>(base, B * N * K * C);
  P.cvals = carve<float>(base, B * K * T);
  P.cidx = carve<int32_t>(base, B * K * T);
  P.ccount = carve<int32_t>(base, B * K);
  P.planes = c.udp ? carve<float>(base, B * K * HW) : nullptr;
  P.joints = carve<float>(base, B * G * K * 3);
  P.gtags = carve<float>(base, B * G * (K + 1) * L);
  P.ntags = carve<int32_t>(base, B * G);
  P.key = carve<float>(base, B * G);
  P.mean = carve<float>(base, B * G * L);
  P.dist = carve<double>(base, B * T * G);
  P.cost = carve<double>(base, B * T * G);
  P.ctag = carve<float>(base, B * T * L);
  P.col = carve<int32_t>(base, B * T);
  P.u = carve<double>(base, B * T);
  P.v = carve<double>(base, B * S);
  P.minv = carve<double>(base, B * S);
  P.p = carve<int32_t>(base, B * S);
  P.way = carve<int32_t>(base, B * S);
  P.used = carve<uint8_t>(base, B * S);
  P.rows = carve<float>(base, B * N * K * L);
  P.itag = carve<float>(base, B * N * L);

  auto stream = c10::cuda::getCurrentCUDAStream();
  C10_CUDA_CHECK(cudaMemsetAsync(P.pcount, 0, B * K * sizeof(int32_t), stream));
  peaks_kernel<<<dim3(static_cast<unsigned>(B * K), static_cast<unsigned>(P.chunks)), kScanThreads, 0, stream>>>(P);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  select_kernel<<<static_cast<unsigned>(B * K), kThreads, 0, stream>>>(P);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  if (c.udp) {
    modulate_kernel<<<static_cast<unsigned>(B * K), kThreads, 0, stream>>>(P);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  group_kernel<<<static_cast<unsigned>(B), 32, 0, stream>>>(P);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  refine_kernel<<<static_cast<unsigned>(B * N), 32, 0, stream>>>(P);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  fill_partial_kernel<<<dim3(static_cast<unsigned>(B * N * K), static_cast<unsigned>(P.chunks)), kScanThreads, 0,
                        stream>>>(P);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  constexpr int kFillWarps = 8;
  fill_kernel<<<static_cast<unsigned>((B * N * K + kFillWarps - 1) / kFillWarps), 32 * kFillWarps, 0, stream>>>(P);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {c.keypoints, c.keypoint_scores, c.instance_scores, c.counts};
}

}  // namespace

TORCH_LIBRARY_IMPL(pyposefast, CUDA, m) { m.impl("ae_decode", &ae_decode_cuda); }

}  // namespace group
}  // namespace pyposefast
