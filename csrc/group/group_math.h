// Associative-embedding grouping math shared by the CPU and CUDA kernels (kernel family 6):
// candidate order, NumPy's float32 reductions, the tag costs, the Hungarian (shortest augmenting
// path) solver and the joint-type-by-joint-type grouping of MMPose 1.3.2
// (codecs/associative_embedding.py::_group_keypoints_by_tags), "as coded". ALGORITHMS.md (e) is
// the contract; the refinement steps come from decode/decode_math.h.
//
// Conventions: one heatmap plane is [H, W] row-major (flat index = y * W + x); tags are
// [K * L, H, W] with channel l * K + k (flip test: L = 2 * tag_dim, flipped tags concatenated);
// locations are (x, y) in heatmap pixels.
//
// Numbers, as MMPose computes them:
// * candidate costs are float64 (MMPose concatenates the int64 locations with the float32 values
//   and tags, so the cost row is float64): D = sqrt(sum_l (t_l - g_l)^2), C = rint(D) * 100 - val;
//   the padding columns cost 1e10;
// * a group's tag is the float32 mean of its tags (np.mean over the list: NumPy's pairwise sum when
//   L = 1, a plain running sum per component when L > 1);
// * the fill-in cost map and instance tags are float32 (running sums over L);
// * instance score = np.mean over K of the grouped scores (pairwise sum).
#pragma once

#include <cmath>
#include <cstdint>

#include "common/exact_math.h"
#include "decode/decode_math.h"

#if defined(__CUDACC__)
#define PPF_GHD __host__ __device__ __forceinline__
#else
#define PPF_GHD inline
#endif

namespace pyposefast {
namespace group {

// fmul_rn, fadd_rn, dmul_rn, dadd_rn (no FMA contraction: NumPy rounds each step): common/exact_math.h.

constexpr int64_t kMaxKeypoints = 512;  // K limit (keypoint_order travels in the CUDA kernel arguments)
constexpr int64_t kMaxTopk = 1024;
constexpr double kPadCost = 1e10;  // MMPose's padding columns (float32 1e10 is exactly 1e10)

// Candidate order: larger value first, ties to the lower flat index (a total order, so the CPU and
// CUDA kernels pick the same candidates; torch.topk leaves the order of ties unspecified).
PPF_GHD bool cand_before(float v, int32_t i, float bv, int32_t bi) { return v > bv || (v == bv && i < bi); }

// Insert (v, i) into the sorted list vals/idxs of length *count (capacity cap).
PPF_GHD void topk_insert(float* vals, int32_t* idxs, int32_t* count, int32_t cap, float v, int32_t i) {
  int32_t n = *count;
  if (n == cap && !cand_before(v, i, vals[n - 1], idxs[n - 1])) return;
  int32_t pos = n < cap ? n : cap - 1;
  while (pos > 0 && cand_before(v, i, vals[pos - 1], idxs[pos - 1])) {
    vals[pos] = vals[pos - 1];
    idxs[pos] = idxs[pos - 1];
    --pos;
  }
  vals[pos] = v;
  idxs[pos] = i;
  if (n < cap) *count = n + 1;
}

// MMPose's NMS: hm * (hm == max_pool2d(hm, ks, stride 1, pad ks // 2)); the window is clipped at the
// border (max_pool2d pads with -inf). True when no pixel of the window is larger.
PPF_GHD bool is_peak(const float* plane, int32_t H, int32_t W, int32_t y, int32_t x, int32_t r, float v) {
  const int32_t y0 = y - r < 0 ? 0 : y - r, y1 = y + r >= H ? H - 1 : y + r;
  const int32_t x0 = x - r < 0 ? 0 : x - r, x1 = x + r >= W ? W - 1 : x + r;
  for (int32_t yy = y0; yy <= y1; ++yy) {
    const float* row = plane + static_cast<int64_t>(yy) * W;
    for (int32_t xx = x0; xx <= x1; ++xx)
      if (row[xx] > v) return false;
  }
  return true;
}

// NumPy's pairwise summation of n float32 values at stride s (pairwise_sum: a plain loop below 8,
// eight accumulators up to 128, split in halves at a multiple of 8 above), i.e. np.add.reduce of a
// contiguous 1-D float32 array. Depth-limited recursion (n < 128 * 2^kDepth).
template <int kDepth = 5>
PPF_GHD float np_pairwise_sum(const float* a, int64_t n, int64_t s) {
  if (n < 8) {
    float r = 0.f;
    for (int64_t i = 0; i < n; ++i) r += a[i * s];
    return r;
  }
  if constexpr (kDepth > 0) {
    if (n > 128) {
      int64_t n2 = n / 2;
      n2 -= n2 % 8;
      return np_pairwise_sum<kDepth - 1>(a, n2, s) + np_pairwise_sum<kDepth - 1>(a + n2 * s, n - n2, s);
    }
  }
  {
    float r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j * s];
    int64_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[(i + j) * s];
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i * s];
    return res;
  }
}

// ---- Hungarian solver ------------------------------------------------------------------------------
// Minimum-cost assignment of n rows to distinct columns of an n x m matrix (n <= m), float64: row
// reduction and a greedy warm start (each row takes the first free column at its row minimum), then
// one shortest augmenting path (Dijkstra on reduced costs with row/column potentials) per row left
// unmatched, in row order; among equal reduced costs the lowest column index is taken. This is the
// rule of the `munkres` package's pure-Python solver (munkres 3.0.0, _core._solve_raw); its
// compiled kernel, which MMPose reaches for matrices of 16 cells or more, can pick a different
// assignment among exactly equal-cost optima (see pyposefast/ops/group.py).
// Scratch: u[n], v[m + 1], minv[m + 1] doubles; p[m + 1], way[m + 1] ints; used[m + 1] bytes.
// cost(i, j) gives C[i][j]; col_of_row[n] receives the assignment.
struct SolverScratch {
  double* u;
  double* v;
  double* minv;
  int32_t* p;
  int32_t* way;
  uint8_t* used;
};

template <typename CostFn>
PPF_GHD void hungarian(int32_t n, int32_t m, const CostFn& cost, SolverScratch s, int32_t* col_of_row) {
  const double inf = INFINITY;
  for (int32_t j = 0; j <= m; ++j) {
    s.v[j] = 0.0;
    s.p[j] = -1;
    s.way[j] = 0;
  }
  for (int32_t i = 0; i < n; ++i) col_of_row[i] = -1;  // here: "matched by the warm start"
  for (int32_t i = 0; i < n; ++i) {
    double low = inf;
    for (int32_t j = 0; j < m; ++j) {
      const double c = cost(i, j);
      low = c < low ? c : low;
    }
    s.u[i] = low;
    for (int32_t j = 0; j < m; ++j) {
      if (s.p[j] == -1 && cost(i, j) == low) {
        s.p[j] = i;
        col_of_row[i] = j;
        break;
      }
    }
  }
  for (int32_t i = 0; i < n; ++i) {
    if (col_of_row[i] >= 0) continue;
    s.p[m] = i;
    int32_t j0 = m;
    for (int32_t j = 0; j <= m; ++j) {
      s.minv[j] = inf;
      s.used[j] = 0;
    }
    while (true) {
      s.used[j0] = 1;
      const int32_t i0 = s.p[j0];
      const double ui = s.u[i0];
      for (int32_t j = 0; j < m; ++j) {
        if (!s.used[j]) {
          const double cur = cost(i0, j) - ui - s.v[j];
          if (cur < s.minv[j]) {
            s.minv[j] = cur;
            s.way[j] = j0;
          }
        }
      }
      double delta = inf;
      int32_t j1 = -1;
      for (int32_t j = 0; j < m; ++j) {
        if (!s.used[j] && s.minv[j] < delta) {
          delta = s.minv[j];
          j1 = j;
        }
      }
      if (j1 < 0) return;  // unreachable with finite costs (every column is allowed)
      for (int32_t j = 0; j <= m; ++j) {
        if (s.used[j]) {
          s.u[s.p[j]] += delta;
          s.v[j] -= delta;
        } else {
          s.minv[j] -= delta;
        }
      }
      j0 = j1;
      if (s.p[j0] == -1) break;
    }
    while (j0 != m) {
      const int32_t j1 = s.way[j0];
      s.p[j0] = s.p[j1];
      j0 = j1;
    }
  }
  for (int32_t j = 0; j < m; ++j)
    if (s.p[j] >= 0) col_of_row[s.p[j]] = j;
}

// ---- grouping state of one image -----------------------------------------------------------------
// G groups in creation order (MMPose's dict insertion order). Group g: joints[g][k] = (x, y, val),
// 0 where missing; its tag list tags[g][0 .. ntags[g]) of L-vectors (at most K + 1); key[g] = the
// first tag component of the candidate that created it (MMPose keys its dict by that float: a new
// candidate whose key equals an existing group's takes that group over, as coded).
struct GroupState {
  float* joints;   // [Gmax, K, 3]
  float* tags;     // [Gmax, K + 1, L]
  int32_t* ntags;  // [Gmax]
  float* key;      // [Gmax]
  float* mean;     // [Gmax, L]  group tags of the current joint type
  int32_t count;
};

// The group a new candidate with this key goes to: an existing one with an equal key, else a new one.
PPF_GHD int32_t group_for_key(GroupState& g, float key, int64_t K) {
  for (int32_t j = 0; j < g.count; ++j)
    if (g.key[j] == key) return j;
  const int32_t j = g.count++;
  g.key[j] = key;
  g.ntags[j] = 0;
  float* jt = g.joints + static_cast<int64_t>(j) * K * 3;
  for (int64_t q = 0; q < K * 3; ++q) jt[q] = 0.f;
  return j;
}

PPF_GHD void set_joint(GroupState& g, int32_t j, int64_t K, int64_t k, float x, float y, float val) {
  float* jt = g.joints + (static_cast<int64_t>(j) * K + k) * 3;
  jt[0] = x;
  jt[1] = y;
  jt[2] = val;
}

PPF_GHD void push_tag(GroupState& g, int32_t j, int64_t K, int64_t L, const float* tag, bool reset) {
  if (reset) g.ntags[j] = 0;
  if (g.ntags[j] > K) return;  // cannot happen (at most one append per joint type)
  float* dst = g.tags + (static_cast<int64_t>(j) * (K + 1) + g.ntags[j]) * L;
  for (int64_t l = 0; l < L; ++l) dst[l] = tag[l];
  g.ntags[j] += 1;
}

// np.mean(list of n float32 L-vectors, axis=0) -> out[L].
PPF_GHD void np_mean_rows(const float* rows, int32_t n, int64_t L, float* out) {
  for (int64_t l = 0; l < L; ++l) {
    float s;
    if (L == 1) {
      s = np_pairwise_sum(rows, n, 1);
    } else {
      s = rows[l];
      for (int32_t i = 1; i < n; ++i) s += rows[static_cast<int64_t>(i) * L + l];
    }
    out[l] = s / static_cast<float>(n);
  }
}

PPF_GHD void group_mean(GroupState& g, int32_t j, int64_t K, int64_t L) {
  np_mean_rows(g.tags + static_cast<int64_t>(j) * (K + 1) * L, g.ntags[j], L, g.mean + static_cast<int64_t>(j) * L);
}

// Tag distance of a candidate to a group mean, float64 (MMPose's float64 cost rows).
PPF_GHD double tag_distance(const float* tag, const float* mean, int64_t L) {
  double s = 0.0;
  for (int64_t l = 0; l < L; ++l) {
    const double d = static_cast<double>(tag[l]) - static_cast<double>(mean[l]);
    s = dadd_rn(s, dmul_rn(d, d));
  }
  return sqrt(s);
}

PPF_GHD double match_cost(double dist, float val) { return dmul_rn(rint(dist), 100.0) - static_cast<double>(val); }

// float32 round half to even of a non-negative value (vectorisable: no call).
PPF_GHD float round_even_nonneg(float d) { return d < 8388608.f ? (d + 8388608.f) - 8388608.f : d; }


// ---- the grouping of one image ---------------------------------------------------------------------
constexpr int64_t kMaxTagDim = 16;  // L limit (local tag vectors)

// Candidates of one image: vals/idxs [K, T] sorted (cand_before), counts [K] (only values above the
// keypoint threshold are kept). tag(k, idx, l) reads the tag map. Scratch: dist [T * Gmax] doubles,
// ctag [T * L], col [T]; g has room for Gmax = K * T groups. Returns the number of groups.
struct Candidates {
  const float* vals;
  const int32_t* idxs;
  const int32_t* counts;
  int64_t T;
};

template <typename TagFn>
PPF_GHD int32_t group_image(int64_t K, int64_t L, int64_t W, const int32_t* order, Candidates c, const TagFn& tag,
                            double tag_thr, GroupState& g, double* dist, float* ctag, int32_t* col,
                            SolverScratch s) {
  g.count = 0;
  for (int64_t i = 0; i < K; ++i) {
    const int64_t k = order[i];
    const int32_t M = c.counts[k];
    if (M == 0) continue;
    const float* vals = c.vals + k * c.T;
    const int32_t* idxs = c.idxs + k * c.T;
    for (int32_t r = 0; r < M; ++r)
      for (int64_t l = 0; l < L; ++l) ctag[r * L + l] = tag(k, idxs[r], l);
    if (i == 0 || g.count == 0) {
      for (int32_t r = 0; r < M; ++r) {
        const int32_t j = group_for_key(g, ctag[r * L], K);
        set_joint(g, j, K, k, static_cast<float>(idxs[r] % W), static_cast<float>(idxs[r] / W), vals[r]);
        push_tag(g, j, K, L, ctag + r * L, true);
      }
      continue;
    }
    const int32_t G = g.count;
    for (int32_t j = 0; j < G; ++j) group_mean(g, j, K, L);
    for (int32_t r = 0; r < M; ++r)
      for (int32_t j = 0; j < G; ++j)
        dist[static_cast<int64_t>(r) * G + j] = tag_distance(ctag + r * L, g.mean + static_cast<int64_t>(j) * L, L);
    const int32_t m = M > G ? M : G;
    auto cost = [&](int32_t r, int32_t j) -> double {
      return j < G ? match_cost(dist[static_cast<int64_t>(r) * G + j], vals[r]) : kPadCost;
    };
    hungarian(M, m, cost, s, col);
    for (int32_t r = 0; r < M; ++r) {
      const int32_t j = col[r];
      const float x = static_cast<float>(idxs[r] % W), y = static_cast<float>(idxs[r] / W);
      if (j >= 0 && j < G && dist[static_cast<int64_t>(r) * G + j] < tag_thr) {
        set_joint(g, j, K, k, x, y, vals[r]);
        push_tag(g, j, K, L, ctag + r * L, false);
      } else {
        const int32_t jn = group_for_key(g, ctag[r * L], K);
        set_joint(g, jn, K, k, x, y, vals[r]);
        push_tag(g, jn, K, L, ctag + r * L, true);
      }
    }
  }
  return g.count;
}

// ---- after grouping: instance tag and the fill-in cost ---------------------------------------------
// One pixel of MMPose's fill-in cost map (float32): round(||tag_k(p) - itag||) * 100 - hm_k(p).
// tag_k points at channel k (l = 0) of the image's tags, lstride = K * H * W.
PPF_GHD float fill_cost(const float* tag_k, int64_t lstride, int64_t p, const float* itag, int64_t L, float hm) {
  float d = tag_k[p] - itag[0];
  float s = fmul_rn(d, d);
  for (int64_t l = 1; l < L; ++l) {
    d = tag_k[l * lstride + p] - itag[l];
    s = fadd_rn(s, fmul_rn(d, d));
  }
  return fmul_rn(round_even_nonneg(sqrtf(s)), 100.f) - hm;
}

// The instance tag (np.mean of the tags at the detected keypoints' truncated, clipped positions):
// rows [K, L] scratch. Returns false when no keypoint is detected (MMPose: mean of nothing, NaN).
template <typename TagFn>
PPF_GHD bool instance_tag(const float* kps, const float* scores, int64_t K, int64_t L, int64_t H, int64_t W,
                          const TagFn& tag, float* rows, float* out) {
  int32_t n = 0;
  for (int64_t k = 0; k < K; ++k) {
    if (!(scores[k] > 0.f)) continue;
    int64_t x = static_cast<int64_t>(kps[2 * k]), y = static_cast<int64_t>(kps[2 * k + 1]);
    x = x < 0 ? 0 : (x > W - 1 ? W - 1 : x);
    y = y < 0 ? 0 : (y > H - 1 ? H - 1 : y);
    for (int64_t l = 0; l < L; ++l) rows[n * L + l] = tag(k, static_cast<int32_t>(y * W + x), l);
    ++n;
  }
  if (n == 0) {
    for (int64_t l = 0; l < L; ++l) out[l] = NAN;
    return false;
  }
  np_mean_rows(rows, n, L, out);
  return true;
}

}  // namespace group
}  // namespace pyposefast
