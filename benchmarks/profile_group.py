"""Per-kernel CUDA times of ops.ae_decode (torch.profiler), for tuning the grouping kernels.

    python benchmarks/profile_group.py [people] [size]
"""
import sys

import numpy as np
import torch

from pyposefast import ops
from pyposefast.benchmark_group import COCO_ORDER, synth_ae_batch

people = int(sys.argv[1]) if len(sys.argv) > 1 else 20
size = int(sys.argv[2]) if len(sys.argv) > 2 else 512
rng = np.random.default_rng(0)
hm, tags = synth_ae_batch(rng, [people], W=size, H=size, L=2, sigma=size / 64)
hm, tags = hm.cuda(), tags.cuda()
kw = dict(keypoint_order=COCO_ORDER, nms_kernel=5, topk=30, keypoint_thr=0.1, tag_thr=1.0, max_instances=30,
          refine="quarter", center_shift=0.5)
for _ in range(5):
    out = ops.ae_decode(hm, tags, **kw)
torch.cuda.synchronize()
g = torch.cuda.CUDAGraph()
with torch.cuda.graph(g):
    out = ops.ae_decode(hm, tags, **kw)
start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
for _ in range(3):
    g.replay()
start.record()
for _ in range(50):
    g.replay()
end.record()
torch.cuda.synchronize()
print(f"{people} people {size}x{size}: graph replay {start.elapsed_time(end) / 50:.3f} ms, found {int(out[3][0])}")
from torch.profiler import ProfilerActivity, profile

with profile(activities=[ProfilerActivity.CUDA]) as prof:
    for _ in range(10):
        ops.ae_decode(hm, tags, **kw)
    torch.cuda.synchronize()
print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=12))
