// The warp-parallel pieces of the grouping kernel (group_kernel.cu): the Hungarian solver and the
// group-key lookup of group_math.h for one warp. Included once, inside group_kernel.cu's anonymous
// namespace (it uses SolverScratch / GroupState from group_math.h).
#pragma once

// ---- warp-parallel pieces of the grouping (lanes split the columns; results identical to the
// sequential code in group_math.h: every element sees the same operations, and every reduction
// picks the lowest column among equal values, as the sequential scans do).
__device__ __forceinline__ void warp_min_first(double& v, int32_t& j) {  // smallest v, then lowest j
  for (int off = 16; off > 0; off >>= 1) {
    const double ov = __shfl_down_sync(0xffffffffu, v, off);
    const int32_t oj = __shfl_down_sync(0xffffffffu, j, off);
    if (oj >= 0 && (j < 0 || ov < v || (ov == v && oj < j))) {
      v = ov;
      j = oj;
    }
  }
  v = __shfl_sync(0xffffffffu, v, 0);
  j = __shfl_sync(0xffffffffu, j, 0);
}

// hungarian() of group_math.h for one warp, cost = row-major [n, m] matrix.
__device__ void warp_hungarian(int32_t n, int32_t m, const double* cost, SolverScratch s, int32_t* col_of_row) {
  const int lane = threadIdx.x;
  const double inf = INFINITY;
  for (int32_t j = lane; j <= m; j += 32) {
    s.v[j] = 0.0;
    s.p[j] = -1;
    s.way[j] = 0;
  }
  for (int32_t i = lane; i < n; i += 32) col_of_row[i] = -1;
  __syncwarp();
  if (n <= 32 && m <= 32) {
    // Warm start with a lane per row: the row minimum and the columns that reach it (a bit mask),
    // then the rows claim their first free minimal column in row order (the sequential rule).
    double low = inf;
    unsigned at_low = 0u;
    if (lane < n) {
      const double* row = cost + static_cast<int64_t>(lane) * m;
      for (int32_t j = 0; j < m; ++j) low = row[j] < low ? row[j] : low;
      for (int32_t j = 0; j < m; ++j) at_low |= row[j] == low ? 1u << j : 0u;
    }
    unsigned claimed = 0u;
    int32_t mine = -1;
    for (int32_t i = 0; i < n; ++i) {
      const unsigned free_low = __shfl_sync(0xffffffffu, at_low, i) & ~claimed;
      const int32_t jf = free_low ? __ffs(free_low) - 1 : -1;
      if (jf >= 0) claimed |= 1u << jf;
      if (lane == i) mine = jf;
    }
    if (lane < n) {
      s.u[lane] = low;
      col_of_row[lane] = mine;
      if (mine >= 0) s.p[mine] = lane;
    }
    __syncwarp();
  } else {
    for (int32_t i = 0; i < n; ++i) {
      const double* row = cost + static_cast<int64_t>(i) * m;
      double low = inf;
      for (int32_t j = lane; j < m; j += 32) low = row[j] < low ? row[j] : low;
      for (int off = 16; off > 0; off >>= 1) {
        const double o = __shfl_xor_sync(0xffffffffu, low, off);
        low = o < low ? o : low;
      }
      double dummy = 0.0;
      int32_t jf = -1;
      for (int32_t j = lane; j < m; j += 32)
        if (s.p[j] == -1 && row[j] == low) {
          jf = j;
          break;
        }
      warp_min_first(dummy, jf);
      __syncwarp();  // every lane has read p before lane 0 claims a column
      if (lane == 0) {
        s.u[i] = low;
        if (jf >= 0) {
          s.p[jf] = i;
          col_of_row[i] = jf;
        }
      }
      __syncwarp();
    }
  }
  for (int32_t i = 0; i < n; ++i) {
    if (col_of_row[i] >= 0) continue;
    if (lane == 0) s.p[m] = i;
    for (int32_t j = lane; j <= m; j += 32) {
      s.minv[j] = inf;
      s.used[j] = 0;
    }
    __syncwarp();
    int32_t j0 = m;
    while (true) {
      if (lane == 0) s.used[j0] = 1;
      __syncwarp();
      const int32_t i0 = s.p[j0];
      const double ui = s.u[i0];
      const double* row = cost + static_cast<int64_t>(i0) * m;
      double best = inf;
      int32_t j1 = -1;
      for (int32_t j = lane; j < m; j += 32) {
        if (!s.used[j]) {
          const double cur = row[j] - ui - s.v[j];
          if (cur < s.minv[j]) {
            s.minv[j] = cur;
            s.way[j] = j0;
          }
          if (s.minv[j] < best) {
            best = s.minv[j];
            j1 = j;
          }
        }
      }
      warp_min_first(best, j1);
      if (j1 < 0) return;
      __syncwarp();  // minv, way, used reads done before the potentials move
      const double delta = best;
      for (int32_t j = lane; j <= m; j += 32) {
        if (s.used[j]) {
          s.u[s.p[j]] += delta;
          s.v[j] -= delta;
        } else {
          s.minv[j] -= delta;
        }
      }
      __syncwarp();
      j0 = j1;
      if (s.p[j0] == -1) break;
    }
    __syncwarp();  // every lane has read p before lane 0 flips the path
    if (lane == 0) {
      while (j0 != m) {
        const int32_t j1 = s.way[j0];
        s.p[j0] = s.p[j1];
        j0 = j1;
      }
    }
    __syncwarp();
  }
  __syncwarp();  // every lane has read col_of_row (rows matched by the warm start skip the loop body)
  for (int32_t j = lane; j < m; j += 32)
    if (s.p[j] >= 0) col_of_row[s.p[j]] = j;
  __syncwarp();
}

// group_for_key for one warp: the first group with an equal key, else a new (zeroed) one.
__device__ int32_t warp_group_for_key(GroupState& g, int32_t& count, float key, int64_t K) {
  const int lane = threadIdx.x;
  int32_t found = -1;
  for (int32_t base = 0; base < count && found < 0; base += 32) {
    const int32_t j = base + lane;
    const unsigned hit = __ballot_sync(0xffffffffu, j < count && g.key[j] == key);
    if (hit) found = base + __ffs(hit) - 1;
  }
  if (found >= 0) return found;
  const int32_t j = count++;
  float* jt = g.joints + static_cast<int64_t>(j) * K * 3;
  for (int64_t q = lane; q < K * 3; q += 32) jt[q] = 0.f;
  if (lane == 0) {
    g.key[j] = key;
    g.ntags[j] = 0;
  }
  __syncwarp();
  return j;
}
