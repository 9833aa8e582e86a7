"""Hand3DHeatmap batch encode / decode time (B=16, 42 keypoints, 64^3 volumes) on a device.

    python benchmarks/hand3d_bench.py cuda
"""
import sys
import time

import torch

from pyposefast.codecs import Hand3DHeatmap


def main(dev: str) -> None:
    c = Hand3DHeatmap(image_size=[256, 256], heatmap_size=[64, 64, 64], sigma=2.5, max_bound=255)
    scale = torch.tensor([256.0, 256, 300], device=dev)
    kp = torch.rand(16, 42, 3, device=dev) * scale - torch.tensor([0, 0, 150.0], device=dev)
    hm = torch.randn(16, 42, 64, 64, 64, device=dev)
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)

    def timed(f, n=10):
        f()
        f()
        sync()
        s = time.perf_counter()
        for _ in range(n):
            f()
        sync()
        return (time.perf_counter() - s) / n * 1e3

    enc = timed(lambda: c.batch_encode(kp))
    dec = timed(lambda: c.batch_decode(hm, torch.zeros(16, 1, device=dev), torch.zeros(16, 2, device=dev)))
    print(f"{dev}: Hand3DHeatmap batch_encode B16 {enc:.2f} ms, batch_decode B16 {dec:.2f} ms")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "cuda")
