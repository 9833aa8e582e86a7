"""Training run used by the engine tests in subprocesses (resume after SIGKILL; 2-process gloo).

    python tests/engine/train_script.py DATA_ROOT WORK_DIR [--kill-at EPOCH ITER] [--resume]
        [--per-rank-work-dir] [--val]

Writes, besides what the trainer writes: ``WORK_DIR/result_rank<r>.json`` (fit's result) and
``WORK_DIR/params_rank<r>.pt`` (the final parameters) for every rank.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from pyposefast.datasets import load_coco_keypoints  # noqa: E402
from pyposefast.engine import TopdownTrainData, TopdownValData, Trainer  # noqa: E402
from pyposefast.evaluation import CocoMetric  # noqa: E402
from tests.engine.tiny import INPUT_SIZE, tiny_codec, tiny_model  # noqa: E402


class KillAt:
    """Training data that SIGKILLs its own process when batch ``it`` of ``epoch`` is requested."""

    def __init__(self, data, epoch: int, it: int) -> None:
        self.data, self.kill = data, (epoch, it)
        self.batch_size = data.batch_size
        self.epoch, self.skip = 0, 0

    def __len__(self) -> int:
        return len(self.data)

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip
        self.data.set_epoch(epoch, skip)

    def __iter__(self):
        for i, batch in enumerate(self.data, start=self.skip):
            if (self.epoch, i) == self.kill:
                os.kill(os.getpid(), signal.SIGKILL)
            yield batch


def _kill_in_save(n: int) -> None:
    """Make the n-th ``torch.save`` into a file object write half its bytes, then SIGKILL."""
    real_save, calls = torch.save, [0]

    def save(obj, f, *args, **kwargs):
        if not hasattr(f, "write"):
            return real_save(obj, f, *args, **kwargs)
        calls[0] += 1
        if calls[0] < n:
            return real_save(obj, f, *args, **kwargs)
        import io

        buf = io.BytesIO()
        real_save(obj, buf, *args, **kwargs)
        f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    torch.save = save


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_root")
    ap.add_argument("work_dir")
    ap.add_argument("--kill-at", type=int, nargs=2, default=None)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--per-rank-work-dir", action="store_true")
    ap.add_argument("--val", action="store_true")
    ap.add_argument("--max-epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--device", default="cpu", help="'cpu' or 'cuda' (cuda:<LOCAL_RANK> under torchrun)")
    ap.add_argument("--sync-bn", action="store_true")
    ap.add_argument("--kill-in-save", type=int, default=None,
                    help="SIGKILL this process half-way through writing its N-th checkpoint")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    if args.kill_in_save is not None:
        _kill_in_save(args.kill_in_save)
    rank = int(os.environ.get("RANK", 0))
    work_dir = os.path.join(args.work_dir, f"rank{rank}") if args.per_rank_work_dir else args.work_dir
    ann = os.path.join(args.data_root, "annotations", "person_keypoints_{}.json")
    img = os.path.join(args.data_root, "images", "{}")
    train = load_coco_keypoints(ann.format("train"), img.format("train"))
    device = args.device
    if device == "cuda":
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    data = TopdownTrainData(train, "coco", tiny_codec(), INPUT_SIZE, args.batch_size, num_workers=0, device=device,
                            seed=3)
    if args.kill_at is not None:
        data = KillAt(data, *args.kill_at)
    val = metric = None
    if args.val:
        val = TopdownValData(load_coco_keypoints(ann.format("val"), img.format("val")), "coco", INPUT_SIZE, 16,
                             num_workers=0, device=device)
        metric = CocoMetric(ann_file=ann.format("val"))
    trainer = Trainer(tiny_model(dropout=0.2), data, val, metric, work_dir=work_dir, max_epochs=args.max_epochs,
                      optimizer={"type": "adamw", "lr": 2e-3, "weight_decay": 0.01},
                      scheduler={"type": "cosine", "warmup_iters": 3, "warmup_ratio": 0.1}, grad_clip=5.0,
                      ema_decay=0.99, ema_gamma=None, log_interval=1, checkpoint_interval=2, keep_last=10,
                      progress=False, tensorboard=False, seed=7, device=device, sync_bn=args.sync_bn)
    result = trainer.fit(resume=args.resume)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(os.path.join(args.work_dir, f"result_rank{rank}.json"), "w") as f:
        json.dump(result, f, default=str)
    torch.save({k: v.detach().cpu().clone() for k, v in trainer.model.state_dict().items()},
               os.path.join(args.work_dir, f"params_rank{rank}.pt"))


if __name__ == "__main__":
    main()
