#!/usr/bin/env bash
# The GPU checks of the Array API backend, in one go, on a fresh GPU machine:
# install what they need, run the GPU tests (tests/array_api_backend/ on
# torch:cuda and CuPy, and scikit-learn's array API estimator checks on CUDA),
# then the GPU benchmark (benchmarks/bench_gpu.py). Logs, the benchmark's
# table and its JSON go to $OUT (default benchmarks/results/gpu).
#
#   bash benchmarks/gpu_check.sh             # on the GPU machine
#   bash benchmarks/gpu_check.sh --prepare   # beforehand, where PyPI is reachable
#
# A dry run of the same steps on the CPU, in an environment that has them all
# (PyTorch included): PYTHON=.venv/bin/python DEVICE=cpu BENCH_ARGS=--quick
# bash benchmarks/gpu_check.sh
#
# Two ways to install:
#
# * A machine that reaches PyPI: pip installs the project with its test extra
#   and PyTorch (the default Linux wheel, a CUDA build of several GB) into
#   .venv-gpu.
# * A machine that reaches nothing, such as the GPU machines this project is
#   lent: their python3 (3.12) already holds PyTorch, CuPy, numpy, scipy and
#   pytest. What it lacks travels in .gpu-carry/ (.gitignore'd): `--prepare`
#   downloads the wheels (scikit-learn 1.9.1, array-api-compat,
#   array-api-strict; cp312, manylinux) and copies the MNIST test set there;
#   the run then names .gpu-carry in `carry` and installs offline from it.
set -euo pipefail
cd "$(dirname "$0")/.."

CARRY=.gpu-carry
WHEELS=(scikit-learn==1.9.1 array-api-compat==1.16.0 array-api-strict==2.6.1)

if [ "${1:-}" = "--prepare" ]; then
    mkdir -p "$CARRY/wheels" "$CARRY/mnist"  # .gitignore ignores it
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$CARRY/wheels" "${WHEELS[@]}"
    cp ../shared/data/mnist/t10k-*-ubyte.gz "$CARRY/mnist/" 2>/dev/null ||
        echo "no MNIST beside the checkout: the benchmark will use synthetic data"
    du -sh "$CARRY"
    exit 0
fi

OUT=${OUT:-benchmarks/results/gpu}
DEVICE=${DEVICE:-cuda}
BENCH_ARGS=${BENCH_ARGS:-}
mkdir -p "$OUT"
export SCIPY_ARRAY_API=1 PYTHONUNBUFFERED=1

if [ -n "${PYTHON:-}" ]; then
    echo "== using $PYTHON as it is"
    python=$PYTHON
elif [ -d "$CARRY/wheels" ]; then
    echo "== installing offline from $CARRY/wheels"
    python=python3
    $python -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target /tmp/site "$CARRY"/wheels/*.whl
    export PYTHONPATH="/tmp/site:$PWD"
else
    echo "== installing the project, its test extra and PyTorch from PyPI"
    python3 -m venv .venv-gpu
    .venv-gpu/bin/pip install -q ".[test]" torch
    python=.venv-gpu/bin/python
fi
DATA=../shared/data/mnist
[ -d "$CARRY/mnist" ] && DATA="$CARRY/mnist"

{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
    $python -c 'import sys, numpy, scipy, sklearn, torch, array_api_compat
print("python", sys.version.split()[0], "numpy", numpy.__version__, "scipy",
      scipy.__version__, "scikit-learn", sklearn.__version__, "torch",
      torch.__version__, "cuda", torch.cuda.is_available(),
      "array-api-compat", array_api_compat.__version__)'
} 2>&1 | tee "$OUT/versions.txt"

status=0
echo "== tests/array_api_backend/ (torch:cuda, CuPy on a GPU); -rs lists the skips"
$python -m pytest -q -p no:cacheprovider -rs tests/array_api_backend \
    2>&1 | tee "$OUT/tests.txt" || status=1
echo "== scikit-learn's array API estimator checks on $DEVICE"
$python -m pytest -q -p no:cacheprovider -rs -k "array_api and $DEVICE" \
    tests/test_estimator_checks.py tests/test_option_checks.py \
    2>&1 | tee -a "$OUT/tests.txt" || status=1

echo "== benchmark on $DEVICE: 60000 x 784, 784-256-128-10, float32, 100 iterations"
# shellcheck disable=SC2086 # BENCH_ARGS holds options
$python benchmarks/bench_gpu.py --device "$DEVICE" --data "$DATA" $BENCH_ARGS \
    --json "$OUT/bench_gpu.json" 2>&1 | tee "$OUT/bench_gpu.txt" || status=1
exit $status
