"""Fake (meta) kernels of every pyposefast op, so torch.compile and FakeTensor can trace them.

Each one returns empty tensors of the shapes and dtypes its kernels produce.
"""

from __future__ import annotations

import torch


@torch.library.register_fake("pyposefast::gaussian_heatmaps")
def _gaussian_heatmaps_fake(keypoints, keypoints_visible, heatmap_width, heatmap_height, sigma, method, dtype):
    torch._check(keypoints.dim() == 4 and keypoints.shape[3] == 2, lambda: "keypoints must be [B, N, K, 2]")
    B, N, K = keypoints.shape[0], keypoints.shape[1], keypoints.shape[2]
    heatmaps = keypoints.new_empty((B, K, heatmap_height, heatmap_width), dtype=dtype)
    weights = keypoints.new_empty((B, N, K), dtype=torch.float32)
    return heatmaps, weights


@torch.library.register_fake("pyposefast::udp_offset_heatmaps")
def _udp_offset_heatmaps_fake(keypoints, keypoints_visible, heatmap_width, heatmap_height, radius, dtype):
    torch._check(keypoints.dim() == 4 and keypoints.shape[3] == 2, lambda: "keypoints must be [B, N, K, 2]")
    B, N, K = keypoints.shape[0], keypoints.shape[1], keypoints.shape[2]
    heatmaps = keypoints.new_empty((B, 3 * K, heatmap_height, heatmap_width), dtype=dtype)
    weights = keypoints.new_empty((B, N, K), dtype=torch.float32)
    return heatmaps, weights


@torch.library.register_fake("pyposefast::warp_affine")
def _warp_affine_fake(images, image_offsets, image_sizes, image_index, matrices, channels, out_width, out_height,
                      mean, std, bgr_to_rgb, flip, border_value, out_dtype):
    torch._check(matrices.dim() == 3, lambda: "matrices must be [N, 2, 3]")
    return images.new_empty((image_index.shape[0], channels, out_height, out_width), dtype=out_dtype)


@torch.library.register_fake("pyposefast::_warp_affine_backward")
def _warp_affine_backward_fake(grad, images, image_offsets, image_sizes, image_index, matrices, channels, std,
                               bgr_to_rgb, flip):
    return torch.empty_like(images)


@torch.library.register_fake("pyposefast::decode_heatmaps")
def _decode_heatmaps_fake(heatmaps, refine, blur_kernel_size, offset_radius):
    torch._check(heatmaps.dim() == 4, lambda: "heatmaps must be [B, C, H, W]")
    B, C = heatmaps.shape[0], heatmaps.shape[1]
    K = C // 3 if refine == "udp_combined" else C
    return (heatmaps.new_empty((B, K, 2), dtype=torch.float32), heatmaps.new_empty((B, K), dtype=torch.float32))


@torch.library.register_fake("pyposefast::decode_simcc")
def _decode_simcc_fake(simcc_x, simcc_y, blur_x, blur_y):
    torch._check(simcc_x.dim() == 3, lambda: "simcc_x must be [B, K, Wx]")
    B, K = simcc_x.shape[0], simcc_x.shape[1]
    return (simcc_x.new_empty((B, K, 2), dtype=torch.float32), simcc_x.new_empty((B, K), dtype=torch.float32))
@torch.library.register_fake("pyposefast::oks_nms")
def _oks_nms_fake(keypoints, scores, areas, sigmas, counts, visibility, vis_thr, thr):
    torch._check(keypoints.dim() == 4 and keypoints.shape[3] == 2, lambda: "keypoints must be [B, N, K, 2]")
    return keypoints.new_empty((keypoints.shape[0], keypoints.shape[1]), dtype=torch.int64)


@torch.library.register_fake("pyposefast::soft_oks_nms")
def _soft_oks_nms_fake(keypoints, scores, areas, sigmas, counts, visibility, vis_thr, thr, max_dets, method):
    torch._check(keypoints.dim() == 4 and keypoints.shape[3] == 2, lambda: "keypoints must be [B, N, K, 2]")
    torch._check(max_dets >= 0, lambda: "max_dets must be >= 0")
    M = torch.sym_min(keypoints.shape[1], max_dets)
    return (keypoints.new_empty((keypoints.shape[0], M), dtype=torch.int64),
            keypoints.new_empty((keypoints.shape[0], M), dtype=torch.float64))


@torch.library.register_fake("pyposefast::ae_decode")
def _ae_decode_fake(heatmaps, tags, keypoint_order, nms_kernel, topk, keypoint_thr, tag_thr, max_instances, refine,
                    blur_kernel_size, center_shift):
    torch._check(heatmaps.dim() == 4, lambda: "heatmaps must be [B, K, H, W]")
    B, K = heatmaps.shape[0], heatmaps.shape[1]
    f = torch.float32
    return (heatmaps.new_empty((B, max_instances, K, 2), dtype=f), heatmaps.new_empty((B, max_instances, K), dtype=f),
            heatmaps.new_empty((B, max_instances), dtype=f), heatmaps.new_empty((B,), dtype=torch.int64))
