// Schemas of the OKS-NMS ops (kernel family: evaluation). Kernels: cpu/nms_kernel.cpp,
// cuda/nms_kernel.cu; fake kernels: pyposefast/ops/_meta.py; checks and docs: pyposefast/ops/nms.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(pyposefast, m) {
  // Greedy OKS-NMS over B images at once. keypoints [B, N, K, 2] float32 (x, y), scores [B, N]
  // float64, areas [B, N] float64, sigmas [K] float64, counts [B] int64 (candidates [0, counts[b])
  // of image b are real, the rest padding), visibility [B, N, K] float32 (read only when vis_thr is
  // given). Returns keep [B, N] int64: kept candidate indices in score order, then -1.
  m.def(
      "oks_nms(Tensor keypoints, Tensor scores, Tensor areas, Tensor sigmas, Tensor counts, "
      "Tensor? visibility, float? vis_thr, float thr) -> Tensor");
  // Soft OKS-NMS (method "gaussian" | "linear"): repeatedly keep the best remaining candidate and
  // rescore the others by their OKS with it, at most max_dets times. Returns (keep [B, M] int64,
  // kept_scores [B, M] float64) with M = min(N, max_dets), padded with -1 / 0.
  m.def(
      "soft_oks_nms(Tensor keypoints, Tensor scores, Tensor areas, Tensor sigmas, Tensor counts, "
      "Tensor? visibility, float? vis_thr, float thr, int max_dets, str method) -> (Tensor, Tensor)");
}
