#!/usr/bin/env bash
# GPU figures for bench/search_step.py: the equivalence tests on CUDA (eager, fused edges, the search
# recorded as CUDA graphs, the compiled step), every variant's step at gpu-cifar in fp32 / bf16, eager
# and as a CUDA graph, against the plain fp32 formulation in the same run, and one full search epoch
# of DARTS first order (batch 64) and PC-DARTS (batch 256) on CIFAR-10-sized fake data, projected to
# 50 epochs. At most 9 minutes 10 seconds (each part has its own time limit and keeps what it
# printed). Writes markdown/text files to $OUT (default: .).
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
  git log --oneline -1 2>/dev/null
} | tee "$OUT/machine.txt"
step() {  # step NAME SECONDS COMMAND...: run with a time limit, keep the output
  local name=$1 limit=$2; shift 2
  echo "== $name"; timeout "$limit" "$@" > "$OUT/$name.md" 2>&1; echo "rc=$?" >> "$OUT/$name.md"; tail -25 "$OUT/$name.md"
}
# Fits one lease of 15 device minutes (a fresh machine's start included); each part keeps what it
# printed when its limit stops it. "cudagraphs" settings record the whole eager step as one CUDA graph
# (toolkit/graphed.py): no compilation, the recording takes about one step.
if "$PY" -c 'import pytest' 2>/dev/null; then
  step tests-cuda 90 "$PY" -m pytest -q -p no:cacheprovider -k cuda tests/test_step_equivalence.py \
    tests/test_fused_edges.py tests/test_graphed_step.py
fi
# the targets: darts-1st and pcdarts-k4 (and adarts-k4), eager and CUDA-graphed, fp32 and bf16, against plain fp32
step gpu-cifar 180 "$PY" bench/search_step.py --config gpu-cifar --device cuda --variants darts-1st pcdarts-k4 adarts-k4 \
  --settings fp32 bf16 fp32-cudagraphs bf16-cudagraphs --repeats 8 --warmup 3 --no-sweep
step epoch 220 "$PY" bench/search_step.py --epoch --device cuda --variants pcdarts-k4 darts-1st \
  --settings fp32-cudagraphs bf16-cudagraphs
if "$PY" -c 'import pytest' 2>/dev/null; then  # inductor on CUDA: as many as fit
  step tests-compiled-cuda 60 "$PY" -m pytest -q -p no:cacheprovider -x -k cuda tests/test_compiled_step.py
fi
