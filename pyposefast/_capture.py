"""The process-wide lock around CUDA-graph captures.

Held while pyposefast captures a CUDA graph (``StaticGraph``, ``GraphedTrainStep``); pyposefast's
data-loading thread (``DevicePrefetcher``) takes it around its host-to-device copies, so that none
of its work overlaps a capture. A capture in ``thread_local`` mode tolerates other threads' CUDA
calls in principle, but a copy made meanwhile was seen to invalidate one on the H100.
"""

import threading

capture_lock = threading.RLock()
