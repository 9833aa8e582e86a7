"""The training engine: data adaptors over the batched pipeline (top-down; pose lifting), ``evaluate``, and ``Trainer`` (AMP,
accumulation, clipping, schedules, EMA, resumable atomic checkpoints, DDP under ``torchrun``)."""

from .checkpoint import load_checkpoint_file, save_checkpoint
from .data import TopdownTrainData, TopdownValData, loss_targets
from .distributed import get_rank, get_world_size, is_main_process
from .ema import ModelEMA
from .evaluate import evaluate, predict_topdown
from .lifting import (LiftingMetrics, LiftingTrainData, LiftingValData, evaluate_lifting, mean_pose_baseline,
                      predict_lifting)
from .run_ahead import RunAheadLimit
from .schedules import build_optimizer, build_scheduler
from .throughput import measure_training_throughput
from .trainer import NonFiniteLossError, Trainer

__all__ = ["Trainer", "NonFiniteLossError", "TopdownTrainData", "TopdownValData", "evaluate", "predict_topdown",
           "save_checkpoint", "load_checkpoint_file", "loss_targets", "ModelEMA", "build_optimizer",
           "build_scheduler", "get_rank", "get_world_size", "is_main_process", "measure_training_throughput",
           "LiftingTrainData", "LiftingValData", "evaluate_lifting", "predict_lifting", "LiftingMetrics",
           "mean_pose_baseline", "RunAheadLimit"]
