#!/usr/bin/env bash
# One run on a machine with a GPU (or any accelerator JAX sees), for the README's GPU figures:
# the devices, the benchmark, the accuracy table, the numerics and benchmark tests and the
# main job, each with a time limit (about 10 minutes in all), each into its own file under
# $OUT.  It runs from the checkout with PYTHONPATH, so it needs no network where jax (with its
# CUDA plugin), numpy, mpmath, pytest and hypothesis are installed already; elsewhere,
# `pip install -e ".[test]" "jax[cuda12]"` first.  SIZES overrides the benchmark's sizes.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-results}
PY=${PYTHON:-python3}
SIZES=${SIZES:-65536 1048576 16777216}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

run() {  # run NAME SECONDS COMMAND...: stdout and stderr to $OUT/NAME, the exit status logged
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name" 2>&1
    echo "$name: exit $? in $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
}

run devices.txt 60 "$PY" -c "import jax; print(jax.__version__, jax.default_backend(), jax.devices())"
# shellcheck disable=SC2086  # SIZES is a list of numbers
run bench.md 180 "$PY" -m actfn bench --sizes $SIZES --dtypes float32 bfloat16 \
    --repeats 15 --mlp-repeats 5 --json "$OUT/bench.json"
run accuracy.md 100 "$PY" -m actfn accuracy
run pytest.txt 180 "$PY" -m pytest -q -p no:cacheprovider tests/test_accuracy.py tests/test_bench.py
run verify.txt 120 "$PY" -m actfn
