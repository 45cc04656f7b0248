#!/usr/bin/env bash
# GPU figures for bench/search_step.py, the equivalence tests on CUDA, and the thread/contention
# measurement on this machine's CPU pinned to 2 cores. Writes markdown/text files to $OUT (default: .).
# Usage, from the repository root:  bash bench/search_step_gpu.sh
set -u
OUT=${OUT:-.}
export PYTHONPATH=$PWD
PY=""
for p in python3 python /opt/conda/bin/python /usr/local/bin/python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import torch, numpy' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "no python with torch and numpy found"; exit 1; }
{
  echo "python: $(command -v $PY)"
  nvidia-smi -L
  lscpu | grep -E 'Model name|^CPU\(s\)'
  "$PY" -c 'import torch, sys; print("torch", torch.__version__, "CUDA", torch.version.cuda, "python", sys.version.split()[0])'
  "$PY" -c 'import pytest; print("pytest", pytest.__version__)' 2>&1 | tail -1
} | tee "$OUT/machine.txt"
step() {  # step NAME SECONDS COMMAND...: run with a time limit, keep the output
  local name=$1 limit=$2; shift 2
  echo "== $name"; timeout "$limit" "$@" > "$OUT/$name.md" 2>&1; echo "rc=$?" >> "$OUT/$name.md"; tail -25 "$OUT/$name.md"
}
step gpu-cifar 120 "$PY" bench/search_step.py --config gpu-cifar --device cuda --amp bf16 --channels-last --repeats 10 --warmup 3
step gpu-cifar-fp32 50 "$PY" bench/search_step.py --config gpu-cifar --device cuda --repeats 10 --warmup 3 --no-sweep
if "$PY" -c 'import pytest' 2>/dev/null; then
  step tests-cuda 60 "$PY" -m pytest -q -p no:cacheprovider tests/test_step_equivalence.py
fi
step contention-quickstart 60 taskset -c 0,1 "$PY" bench/search_step.py --config quickstart --contention --repeats 4 --warmup 1
step contention-cpu-small 90 taskset -c 0,1 "$PY" bench/search_step.py --config cpu-small --contention --repeats 4 --warmup 1
step cpu-small-2cores 60 taskset -c 0,1 "$PY" bench/search_step.py --config cpu-small --repeats 3 --warmup 1 --no-sweep --no-rss
