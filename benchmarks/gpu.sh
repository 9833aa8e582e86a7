#!/usr/bin/env bash
# One call on a GPU machine (no network): build with CUDA, run the whole test suite (CUDA tests
# included), compute-sanitizer memcheck + racecheck + synccheck + initcheck on every kernel variant,
# then the benchmark table and the pytest-benchmark suites. Logs go to $OUT (default ./gpu-logs).
#
#   bash benchmarks/gpu.sh            # everything
#   STEPS="build test" bash benchmarks/gpu.sh
#   TESTS="tests/ops tests/codecs" BENCH_ARGS="--only decode" bash benchmarks/gpu.sh
#
# Test-only wheels that the machine lacks (hypothesis, ...) are installed from ./.whl if present.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
STEPS=${STEPS:-"build cpuonly test sanitize bench"}
ARCHS=${PYPOSEFAST_CUDA_ARCHITECTURES:-90}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
status=0

if compgen -G ".whl/*.whl" > /dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi

step() { [[ " $STEPS " == *" $1 "* ]]; }

# A CUDA extension built by an earlier call (saved by `STEPS="build save"` under $OUT, carried back in
# the ignored folder .prebuilt/) saves the ~150 s rebuild on a fresh machine: it is put beside the
# sources and the source tree is imported directly (same torch, same sources: only for unchanged csrc/).
if ! step build && compgen -G ".prebuilt/_C*.so" > /dev/null; then
  cp .prebuilt/_C*.so .prebuilt/_build_config.py pyposefast/
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
  $PY -c "import pyposefast, json; print('prebuilt', json.dumps(pyposefast.build_info())); assert pyposefast.cuda_available()" \
    || { echo "PREBUILT EXTENSION FAILED"; exit 1; }
fi

{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
  nvcc --version | tail -2
} 2>&1 | tee "$OUT/env.txt"

if step build; then
  echo "== build (CUDA ON, archs $ARCHS)"
  start=$(date +%s)
  PYPOSEFAST_CUDA=ON PYPOSEFAST_CUDA_ARCHITECTURES="$ARCHS" \
    $PY -m pip install --no-build-isolation --no-index --no-deps -v -e . -C build-dir=build/gpu \
    > "$OUT/build.log" 2>&1 || { echo "BUILD FAILED"; tail -50 "$OUT/build.log"; exit 1; }
  echo "build took $(( $(date +%s) - start )) s"
  grep -E "pyposefast:" "$OUT/build.log"
  env | grep -iE "^(LDFLAGS|CXXFLAGS|CFLAGS|CPPFLAGS|CMAKE_[A-Z_]*)=" || true
  so=$(ls build/gpu/_C*.so)
  readelf -d "$so" | grep -q "libstdc++" || { echo "ERROR: $so does not link the shared libstdc++"; status=1; }
  echo "std::basic_ostream symbols defined in $so (0 = shared libstdc++): $(nm -C --defined-only "$so" | grep -c "W std::basic_ostream")"
  $PY -c "import pyposefast, json; print(json.dumps(pyposefast.build_info())); assert pyposefast.cuda_available()"
fi

if step save; then  # the built extension, stripped, for later calls' .prebuilt/ (see above)
  cp build/gpu/_C*.so build/gpu/_build_config.py "$OUT/" && strip --strip-unneeded "$OUT"/_C*.so && ls -la "$OUT"/_C*.so
fi

if step cpuonly; then
  # A CUDA build of torch on a machine without the toolkit: AUTO must fall back to CPU-only kernels
  # (no find_package(Torch), which would fail), and the result must import and run.
  echo "== CPU-only build against the CUDA torch, nvcc hidden"
  rm -rf /tmp/ppf-cpuonly && mkdir -p /tmp/ppf-cpuonly
  pyabs=$(command -v "$PY")
  CUDACXX=/nonexistent/nvcc CUDA_HOME=/nonexistent PATH=$(dirname "$pyabs"):/usr/bin:/bin \
    "$pyabs" -m pip wheel --no-build-isolation --no-deps -v . -w /tmp/ppf-cpuonly/wheel -C build-dir=/tmp/ppf-cpuonly/build \
    > "$OUT/build-cpuonly.log" 2>&1 || { echo "CPU-ONLY BUILD FAILED"; tail -30 "$OUT/build-cpuonly.log"; status=1; }
  grep -E "pyposefast:" "$OUT/build-cpuonly.log"
  $PY -m pip install -q --no-deps --target /tmp/ppf-cpuonly/site /tmp/ppf-cpuonly/wheel/*.whl
  (cd /tmp && PYTHONPATH=/tmp/ppf-cpuonly/site${PYTHONPATH:+:$PYTHONPATH} $PY -c "
import sys
sys.meta_path = [f for f in sys.meta_path if 'editable' not in type(f).__module__]  # bypass the -e install
import torch, pyposefast
print(pyposefast.__file__)
info = pyposefast.build_info(); print(info); assert not info['with_cuda'] and not pyposefast.cuda_available()
h, w = pyposefast.ops.gaussian_heatmaps(torch.rand(2, 3, 2) * 8, None, (8, 8), 2.0); assert h.shape == (2, 3, 8, 8)
try:
    pyposefast.ops.gaussian_heatmaps(torch.rand(2, 3, 2, device='cuda'), None, (8, 8), 2.0)
except NotImplementedError as e:
    print('CUDA tensor on a CPU-only build:', str(e).splitlines()[0][:120])
else:
    raise SystemExit('expected NotImplementedError')
print('CPU-only build OK')") || status=1
fi

if step test; then
  echo "== C++ error path probe"
  if ! $PY benchmarks/probe_errors.py; then
    echo "probe crashed; backtrace:"
    cuda-gdb -batch -ex run -ex bt --args $PY benchmarks/probe_errors.py 2>&1 | tail -40 | tee "$OUT/probe-bt.txt"
  fi
  echo "== tests"
  $PY -m pytest ${TESTS:-tests} -q -rs -p no:cacheprovider 2>&1 | tee "$OUT/pytest.log" | tail -25
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

if step sanitize; then
  for tool in ${SANITIZERS:-memcheck racecheck synccheck initcheck}; do
    echo "== compute-sanitizer $tool"
    compute-sanitizer --tool "$tool" --error-exitcode 9 $PY benchmarks/sanitize_kernels.py \
      > "$OUT/sanitizer-$tool.log" 2>&1
    rc=$?
    tail -3 "$OUT/sanitizer-$tool.log"
    [ $rc -eq 0 ] || { echo "SANITIZER $tool FAILED (rc $rc)"; status=1; }
  done
fi

if step bench; then
  echo "== pyposefast bench"
  $PY -m pyposefast bench ${BENCH_ARGS:-} 2>&1 | tee "$OUT/bench.txt"
  echo "== pytest-benchmark (CUDA suite)"
  $PY -m pytest benchmarks -q -k cuda --benchmark-only --benchmark-columns=min,median,max,rounds \
    -p no:cacheprovider 2>&1 | tail -15 | tee "$OUT/pytest-benchmark.txt"
fi
exit $status
