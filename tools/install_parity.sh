#!/usr/bin/env bash
# Install MMPose 1.3.2 as a test-only reference (never a runtime dependency): the parity tests in
# tests/codecs compare our codecs with it on the same inputs and skip when it is absent.
# CPU only, no mmcv compilation: mmcv-lite (pure Python) and xtcocotools rebuilt against numpy 2.
set -euo pipefail
PY=${PYTHON:-python3}
$PY -m pip install -q mmengine munkres json-tricks six tqdm scipy cython
$PY -m pip install -q --no-deps mmpose==1.3.2
$PY -m pip install -q --no-deps mmpretrain==1.2.0
MMCV_WITH_OPS=0 $PY -m pip install -q mmcv-lite==2.2.0
# xtcocotools' wheel is built against numpy 1.x ("numpy.dtype size changed"): build it from source
$PY -m pip install -q --no-build-isolation --no-binary xtcocotools --force-reinstall --no-deps xtcocotools==1.14.3
$PY -c "import mmpose.codecs; print('MMPose', __import__('mmpose').__version__, 'ready for parity tests')"
