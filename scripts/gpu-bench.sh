#!/usr/bin/env bash
# The speed issue's measurements in one batch, for a GPU runner that has the runtime of
# ../shared/tools/gpu-runtime.sh in .gpu/ and the bench bundle (npm run bench -- --bundle-only .gpu/bench.js).
# Here (once):  bash ../shared/tools/gpu-runtime.sh .gpu && npm run bench -- --bundle-only .gpu/bench.js
# There:        BENCH_COMMIT=$(git rev-parse --short HEAD) bash scripts/gpu-bench.sh   (results in $OUT or ./bench-out)
# Each configuration is its own process with a time limit, so one that fails or runs long costs only
# itself. Lines go to results.jsonl (append them to src/bench/results.jsonl), errors to stderr.log.
set -uo pipefail
out=${OUT:-bench-out}
mkdir -p "$out"
bench() {
  echo "== $*" >>"$out/stderr.log"
  timeout "${LIMIT:-120}" .gpu/run.sh .gpu/bench.js --json --record "$out/results.jsonl" --commit "${BENCH_COMMIT:-unknown}" "$@" \
    2>>"$out/stderr.log" || echo "!! exit $? for: $*" >>"$out/stderr.log"
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >"$out/gpu.txt" 2>&1
# ceilings and per-kernel table at the 1B shape on each matrix-product back end (subgroup-matrix is
# refused, and logged, where the adapter lacks it)
bench --model llama3.2-1b --batch 8 --seq 512 --steps 3 --kernels --gemm scalar
bench --model llama3.2-1b --batch 8 --seq 512 --steps 3 --kernels --gemm subgroup-matrix
bench --model llama3.2-1b --batch 8 --seq 512 --steps 3 --gemm scalar-f16
# the table (r=16, seq 512, NF4 base)
bench --model smollm2-135m,qwen2.5-0.5b --batch 8 --seq 512 --steps 3
bench --model llama3.2-1b --batch 1,8 --seq 512 --steps 3
bench --model llama3.2-1b --batch 8 --seq 512 --steps 3 --target q_proj,v_proj
bench --model llama3-8b --batch 1 --seq 512 --steps 2 --gradient-checkpointing --quantize
LIMIT=240 bench --model llama3-8b --batch 8 --seq 512 --steps 1 --gradient-checkpointing
