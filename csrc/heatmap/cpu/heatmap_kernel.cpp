// CPU kernels of the heatmap-target ops: at::parallel_for over the B*K output planes. Each plane is
// zeroed, then every instance's Gaussian window is max-merged into it; each keypoint weight
// (b, n, k) is written by the one task that owns plane (b, k), so there are no races.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>


#include "common/cpu_memory.h"
#include "heatmap/heatmap_checks.h"
#include "heatmap/heatmap_math.h"

namespace pyposefast {
namespace heatmap {
namespace {

// Planes per task: enough pixels per task that scheduling costs nothing next to the writes.
int64_t plane_grain(int64_t plane_size) {
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, plane_size));
}

template <typename out_t>
void gaussian_planes(const float* kp, const float* vis, out_t* out, float* weights, int64_t B,
                     int64_t N, int64_t K, int64_t H, int64_t W, double sigma, int64_t method) {
  const int64_t plane_size = H * W;
  const double two_sigma_sq = 2.0 * sigma * sigma;
  // MSRA centres are whole numbers, so every axis factor is exp(-d^2 / (2 sigma^2)) for an integer
  // d in [-reach, reach]: tabulate those once instead of calling exp per keypoint.
  const int64_t reach = method == kMsra ? static_cast<int64_t>(std::ceil(6.0 * sigma + 1.0)) + 1 : 0;
  std::vector<double> msra_table(static_cast<size_t>(2 * reach + 1));
  for (int64_t d = -reach; d <= reach && method == kMsra; ++d)
    msra_table[d + reach] = gaussian_factor(static_cast<int32_t>(d), 0.0, two_sigma_sq);
  at::parallel_for(0, B * K, plane_grain(plane_size), [&](int64_t begin, int64_t end) {
    std::vector<double> fx(static_cast<size_t>(W)), fy(static_cast<size_t>(H));
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t b = plane / K, k = plane % K;
      out_t* hm = out + plane * plane_size;
      std::memset(static_cast<void*>(hm), 0, sizeof(out_t) * plane_size);  // +0 in every dtype
      for (int64_t n = 0; n < N; ++n) {
        const int64_t idx = (b * N + n) * K + k;
        const GaussianParams p =
            gaussian_params(kp[2 * idx], kp[2 * idx + 1], vis[idx], W, H, sigma, method);
        weights[idx] = p.weight;
        if (!p.active) continue;
        if (method == kMsra) {
          const int64_t cx = static_cast<int64_t>(p.cx) - reach, cy = static_cast<int64_t>(p.cy) - reach;
          for (int32_t c = p.x_begin; c < p.x_end; ++c) fx[c] = msra_table[c - cx];
          for (int32_t r = p.y_begin; r < p.y_end; ++r) fy[r] = msra_table[r - cy];
        } else {
          for (int32_t c = p.x_begin; c < p.x_end; ++c) fx[c] = gaussian_factor(c, p.cx, two_sigma_sq);
          for (int32_t r = p.y_begin; r < p.y_end; ++r) fy[r] = gaussian_factor(r, p.cy, two_sigma_sq);
        }
        for (int32_t r = p.y_begin; r < p.y_end; ++r) {
          out_t* row = hm + static_cast<int64_t>(r) * W;
          const double ey = fy[r];
          for (int32_t c = p.x_begin; c < p.x_end; ++c) {
            const float g = static_cast<float>(ey * fx[c]);
            if (g > static_cast<float>(row[c])) row[c] = static_cast<out_t>(g);
          }
        }
      }
    }
  });
}

template <typename out_t>
void offset_planes(const float* kp, const float* vis, out_t* out, float* weights, int64_t B,
                   int64_t N, int64_t K, int64_t H, int64_t W, double radius) {
  const int64_t plane_size = H * W;
  at::parallel_for(0, B * K, plane_grain(3 * plane_size), [&](int64_t begin, int64_t end) {
    std::vector<double> col_off(static_cast<size_t>(W)), row_off(static_cast<size_t>(H));
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t b = plane / K, k = plane % K;
      out_t* cls = out + (b * 3 * K + 3 * k) * plane_size;
      out_t* xo = cls + plane_size;
      out_t* yo = xo + plane_size;
      OffsetParams drawn;
      drawn.active = false;
      drawn.x = drawn.y = 0.0;
      drawn.weight = 0.f;
      for (int64_t n = 0; n < N; ++n) {
        const int64_t idx = (b * N + n) * K + k;
        const OffsetParams p = offset_params(kp[2 * idx], kp[2 * idx + 1], vis[idx]);
        weights[idx] = p.weight;
        if (p.active) drawn = p;  // MMPose overwrites: the last visible instance wins
      }
      if (!drawn.active) {
        std::memset(static_cast<void*>(cls), 0, sizeof(out_t) * 3 * plane_size);
        continue;
      }
      // x_off depends on the column only and y_off on the row only: compute each once.
      for (int32_t c = 0; c < W; ++c) col_off[c] = offset_value(drawn.x, drawn.y, c, 0, radius).x_off_d;
      for (int32_t r = 0; r < H; ++r) row_off[r] = offset_value(drawn.x, drawn.y, 0, r, radius).y_off_d;
      for (int32_t r = 0; r < H; ++r) {
        const int64_t row = static_cast<int64_t>(r) * W;
        const double yv = row_off[r];
        const out_t y_store = static_cast<out_t>(static_cast<float>(yv));
        for (int32_t c = 0; c < W; ++c) {
          const double xv = col_off[c];
          cls[row + c] = static_cast<out_t>(offset_class(xv, yv));
          xo[row + c] = static_cast<out_t>(static_cast<float>(xv));
          yo[row + c] = y_store;
        }
      }
    }
  });
}

// keypoints [B,N,K,2] f32, keypoints_visible [B,N,K] f32 -> heatmaps [B,K,H,W] dtype, weights [B,N,K]
std::tuple<at::Tensor, at::Tensor> gaussian_heatmaps_cpu(const at::Tensor& keypoints,
                                                         const at::Tensor& keypoints_visible,
                                                         int64_t W, int64_t H, double sigma,
                                                         c10::string_view method,
                                                         at::ScalarType dtype) {
  check_positive(sigma, "gaussian_heatmaps", "sigma");
  const int64_t m = parse_method(method);
  HeatmapCall c = prepare_call(keypoints, keypoints_visible, W, H, dtype, 1, "gaussian_heatmaps");
  if (c.heatmaps.numel() == 0) return {c.heatmaps, c.weights};  // B == 0 or K == 0: no weights either
  advise_huge_pages(c.heatmaps.data_ptr(), c.heatmaps.nbytes());
  PPF_DISPATCH_OUTPUT_TYPES(dtype, "gaussian_heatmaps_cpu", [&] {
    gaussian_planes<scalar_t>(c.keypoints.const_data_ptr<float>(), c.visible.const_data_ptr<float>(),
                              c.heatmaps.mutable_data_ptr<scalar_t>(), c.weights.mutable_data_ptr<float>(),
                              c.B, c.N, c.K, H, W, sigma, m);
  });
  return {c.heatmaps, c.weights};
}

// keypoints [B,N,K,2], keypoints_visible [B,N,K] -> heatmaps [B,3K,H,W] dtype, weights [B,N,K]
std::tuple<at::Tensor, at::Tensor> udp_offset_heatmaps_cpu(const at::Tensor& keypoints,
                                                           const at::Tensor& keypoints_visible,
                                                           int64_t W, int64_t H, double radius,
                                                           at::ScalarType dtype) {
  check_positive(radius, "udp_offset_heatmaps", "radius");
  HeatmapCall c = prepare_call(keypoints, keypoints_visible, W, H, dtype, 3, "udp_offset_heatmaps");
  if (c.heatmaps.numel() == 0) return {c.heatmaps, c.weights};
  advise_huge_pages(c.heatmaps.data_ptr(), c.heatmaps.nbytes());
  PPF_DISPATCH_OUTPUT_TYPES(dtype, "udp_offset_heatmaps_cpu", [&] {
    offset_planes<scalar_t>(c.keypoints.const_data_ptr<float>(), c.visible.const_data_ptr<float>(),
                            c.heatmaps.mutable_data_ptr<scalar_t>(), c.weights.mutable_data_ptr<float>(),
                            c.B, c.N, c.K, H, W, radius);
  });
  return {c.heatmaps, c.weights};
}

}  // namespace

TORCH_LIBRARY_IMPL(pyposefast, CPU, m) {
  m.impl("gaussian_heatmaps", &gaussian_heatmaps_cpu);
  m.impl("udp_offset_heatmaps", &udp_offset_heatmaps_cpu);
}

}  // namespace heatmap
}  // namespace pyposefast
