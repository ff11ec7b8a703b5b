#!/usr/bin/env bash
# The one script for a lent GPU machine (issue 9 "On a GPU", speed issue 16): one NVIDIA GPU, no network,
# no Node. In at most GPU_BENCH_BUDGET_S (510 s, 8.5 minutes; the device tool allows 9 a call) it
#   0. records the GPU, the driver and the versions;
#   1. checks every matrix-product back end against the CPU references and the golden run (device-check.js;
#      f16 back ends against the reference on f16-rounded operands, within a bound that grows with K);
#   1b. sweeps the product variants (bench --sweep --sweep-out $OUT/sweep.json) when the bench has --sweep;
#   2. times the per-kernel table per back end that passed, against independent ceilings (a vec4 copy
#      kernel, the sweep's best product or the datasheet) and the datasheet peaks;
#   3. times our training grid per back end that passed — SmolLM2-135M, Qwen2.5-0.5B, Llama-3.2-1B, batch
#      8 × 512, NF4 base, LoRA r=16 on all linears — each with a step profile (bench --profile: GPU time
#      by kernel from timestamp queries, a "profile" line beside the "train" line);
#   4. times PyTorch + PEFT on the same shapes on the same GPU (peft_baseline.py, CONFIGS=8x512 STEPS=5);
#   5. joins both sides into results lines with ratio = our tokens/s ÷ PEFT's (scripts/join-peft.mjs).
# Prepared here and run there as README.md "Benchmarks → On a GPU machine" says; results under $OUT
# (or ./bench-out): results.jsonl (append it to src/bench/results.jsonl), checks.jsonl, peft.jsonl,
# sweep.json (hand it to whoever keeps the tuning table), env.txt, log.txt — six files, inside the device
# tool's eight.
#
# A back end whose checks fail is reported (its verdict and failed checks in the log, the summary in
# results.jsonl) and not timed: a speed of wrong products is no result. PEFT still runs when checks fail:
# it does not depend on our kernels, the machine is already paid for, and its numbers are the reference
# the next run is compared with.
#
# Time budget (caps per process; expected on an H200 in brackets; Node start, Dawn and shader compiles inside):
#   step 0  30 s [~10: unpack Node + Dawn, nvidia-smi, import torch/transformers/peft for their versions]
#   step 1  90 s [~50: each back end (scalar, scalar-f16, subgroup-matrix, its emulation), ~210 checks each, the golden run]
#   step 1b 150 s [the sweep's own limit is 3 minutes; capped lower here so the grid keeps its time]
#   step 2  45 s per timed back end (subgroup-matrix, scalar-f16, scalar) [~15: random 1B weights on the CPU, ceilings, 6 kernels × 5 reps each]
#   step 3  40 / 50 / 90 s per back end for SmolLM2 / Qwen2.5 / Llama-3.2-1B [~15 / 20 / 40 on scalar, less
#           on tensor cores: random weights, warm-up step with compiles, 3 timed steps, one step segment by
#           segment, one step dispatch by dispatch], back end by back end in the order subgroup-matrix,
#           scalar-f16, scalar (the budget cuts the last first), then Llama-3.2-1B again on the first
#           back end with --lm-head-split-k auto (90 s; cut first)
#   step 4 110 s [~60: torch + CUDA start, three random-init models on the CPU, 3 + 5 steps each]
#   step 5  10 s [~1]
# Caps add to more than the budget on purpose: each step gets min(cap, what is left after reserving
# steps 4 and 5), so a slow step costs its own last configurations, never the PEFT side. Expected on an
# H200 from the first run's times: ≈90 s to the end of step 1, the sweep up to 150, the kernels ≈25, the
# subgroup-matrix grid ≈70, then scalar-f16 and scalar as far as the budget goes (scalar's 1B step
# takes ≈10 s: its grid is the likeliest cut), PEFT ≈60. The profile's
# timestamps are unquantized: DAWN_FLAGS gains disable-dawn-features=timestamp_quantization.
#
# Knobs: GPU_BENCH_DRY=1 prints each step's command and cap and runs nothing; GPU_BENCH_SMOKE=1 runs
# the plumbing at tiny shapes (e.g. here on SwiftShader: RUNNER=node VK_ICD_FILENAMES=… GPU_BENCH_SMOKE=1);
# GPU_BENCH_STEPS="3 4 5" runs only those steps (a rerun on a warm machine reuses step 1's verdict, kept
# in GPU_BENCH_STATE, default /tmp/gpu-bench; step 1b is "1b"); RUNNER runs a bundle (default .gpu/run.sh,
# which brings Node and Dawn); GPU_BENCH_BUNDLE is the bench bundle searched for the sweep's option (default
# .gpu/bench.js); PEFT_BASELINE names peft_baseline.py (default: .gpu/'s copy); BENCH_COMMIT
# names the commit (default .gpu/commit, written when the bundles were built: git describe --always --dirty).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bench-out}
mkdir -p "$out"
RUNNER=${RUNNER:-.gpu/run.sh}
budget=${GPU_BENCH_BUDGET_S:-510} # each process dies within its limit + 5 s (timeout -k 5): under the 540 s of the call
steps=" ${GPU_BENCH_STEPS:-0 1 1b 2 3 4 5} "
dry=${GPU_BENCH_DRY:-0}
smoke=${GPU_BENCH_SMOKE:-0}
state=${GPU_BENCH_STATE:-/tmp/gpu-bench} # outside $OUT, kept on the machine for a rerun of later steps
mkdir -p "$state"
backends_file=$state/backends.tsv # step 1's verdict
log=$out/log.txt
commit=${BENCH_COMMIT:-$(cat .gpu/commit 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo unknown)}
t0=$SECONDS
reserve_late=120 # steps 4 and 5 (PEFT and the join), kept free while steps 0–3 run
cap_scale=${GPU_BENCH_CAP_SCALE:-1} # caps × this (a smoke run on SwiftShader needs minutes where a GPU needs seconds)
sweep_file=$out/sweep.json
# GPU timestamps at full resolution for the step profile (Dawn quantizes them by default); the runner's
# own default flags (allow_unsafe_apis, f16 on NVIDIA) are kept when DAWN_FLAGS is unset.
export DAWN_FLAGS="${DAWN_FLAGS:-enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia} disable-dawn-features=timestamp_quantization"

if [ "$smoke" = 1 ]; then
  models=(tiny); shape=(--batch 1 --seq 32 --steps 1); check_mode=(--quick); kernel_model=tiny; cap_scale=${GPU_BENCH_CAP_SCALE:-5}
else
  models=(smollm2-135m qwen2.5-0.5b llama3.2-1b); shape=(--batch 8 --seq 512 --steps 3); check_mode=(); kernel_model=llama3.2-1b
fi
declare -A train_cap=([tiny]=120 [smollm2-135m]=40 [qwen2.5-0.5b]=50 [llama3.2-1b]=90)
peft_models=(smollm2-135m qwen2.5-0.5b llama3.2-1b) # peft_baseline.py's SHAPES use our shape names

say() { echo "$*" | tee -a "$log" >&2; } # progress on stderr: stdout of a step may be redirected into a results file
want() { [[ "$steps" == *" $1 "* ]]; }

# run CAP RESERVE LABEL DEST CMD...: CMD with a limit of min(CAP, budget left − RESERVE), its stdout
# written (DEST ">FILE") or appended (">>FILE") to a file, its stderr to the log. Returns the command's
# status (124: its limit), 125 when no time is left.
run() {
  local cap=$(($1 * cap_scale)) reserve=$2 label=$3 dest=$4; shift 4
  local left=$((budget - (SECONDS - t0) - reserve))
  local lim=$((cap < left ? cap : left))
  if [ "$dry" = 1 ]; then say "[dry] $label (cap ${cap}s): $* $dest"; return 0; fi
  if [ "$lim" -lt 5 ]; then say "!! $label: skipped, ${left}s of the budget left"; return 125; fi
  echo "== $label (limit ${lim}s): $* $dest" >>"$log"
  local s=$SECONDS rc
  # stdin from /dev/null: inside the back-end loops stdin is the list being read
  if [ "${dest:0:2}" = '>>' ]; then timeout -k 5 "$lim" "$@" </dev/null >>"${dest:2}" 2>>"$log"
  else timeout -k 5 "$lim" "$@" </dev/null >"${dest:1}" 2>>"$log"
  fi
  rc=$?
  say "-- $label: exit $rc after $((SECONDS - s))s (elapsed $((SECONDS - t0))s)"
  return $rc
}

bench() { # LABEL CAP FLAGS...: one bench process, its lines recorded with date and commit
  local label=$1 cap=$2; shift 2
  run "$cap" "$reserve_late" "$label" ">>$log" "$RUNNER" .gpu/bench.js --json --record "$out/results.jsonl" --commit "$commit" \
    ${gpu_name:+--device-name "$gpu_name"} "$@"
}

# The back ends step 1 passed, as "name<TAB>flags" lines; a dry run without a verdict shows the loop.
# Most telling first, so a budget cut costs the least: tensor cores, then the f16 walk a default browser
# runs, then f32, then any other name in the verdict's order.
passed_backends() {
  if [ -f "$backends_file" ]; then
    awk -F'\t' '$2 == "ok" { p = ($1 == "subgroup-matrix") ? 0 : ($1 == "scalar-f16") ? 1 : ($1 == "scalar") ? 2 : 3; print p "\t" NR "\t" $1 "\t" $3 }' "$backends_file" \
      | sort -t$'\t' -k1,1n -k2,2n | cut -f3-
  elif [ "$dry" = 1 ]; then printf '<each back end step 1 passes>\t<its flags from src/bench/backends.ts>\n'
  fi
}

gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
say "gpu-bench: commit $commit, GPU ${gpu_name:-none named by nvidia-smi}, budget ${budget}s, steps${steps% }"

if want 0 && [ "$dry" = 1 ]; then
  say "[dry] step 0: nvidia-smi --query-gpu=…; $RUNNER --version; python3 -c 'import torch, transformers, peft' (versions) >$out/env.txt"
elif want 0; then
  {
    echo "date: $(date -u +%FT%TZ)"; echo "commit: $commit"
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv 2>&1
    echo "node: $(timeout -k 5 30 "$RUNNER" --version 2>&1)" # the first call of .gpu/run.sh unpacks Node and Dawn
    [ "$smoke" = 1 ] || timeout -k 5 30 python3 -c 'import torch, transformers, peft; print("torch", torch.__version__, "cuda", torch.version.cuda, "| transformers", transformers.__version__, "| peft", peft.__version__)' 2>&1
  } >"$out/env.txt"
  cat "$out/env.txt" >>"$log"
  say "-- step 0: environment in $out/env.txt (elapsed $((SECONDS - t0))s)"
fi

if want 1; then
  rm -f "$backends_file"
  run 90 "$reserve_late" 'step 1: device check' ">$out/checks.jsonl" "$RUNNER" .gpu/device-check.js "${check_mode[@]}" --backends "$backends_file"
  rc=$?
  if [ "$dry" != 1 ]; then
    summary=$(grep '"check-summary"' "$out/checks.jsonl")
    say "   ${summary:-no summary: the check did not finish}"
    # the verdict travels with the timings: results.jsonl says which back ends were checked, when, at which commit
    [ -n "$summary" ] && echo "${summary%\}},\"date\":\"$(date -u +%FT%T.000Z)\",\"commit\":\"$commit\"}" >>"$out/results.jsonl"
  fi
  # every back end checked is reported, passed or not: only those that passed are timed
  [ -f "$backends_file" ] && while IFS=$'\t' read -r be verdict _; do
    case $verdict in ok) what='passed: timed' ;; ok-untimed) what='passed: checked only (not worth timing here)' ;; *) what='FAILED: reported, not timed' ;; esac
    say "   $be: $what"
  done <"$backends_file"
  case $rc in
    0) ;;
    1) say "!! step 1: checks failed; those back ends are not timed:"; grep '"kind":"check",.*"ok":false' "$out/checks.jsonl" | head -20 | tee -a "$log" >&2 ;;
    *) say "!! step 1 did not finish (exit $rc; 124: its limit): nothing of ours is timed; see $log" ;;
  esac
elif [ ! -f "$backends_file" ] && [ "$dry" != 1 ]; then
  say "!! no verdict of step 1 on this machine ($backends_file): steps 2 and 3 time nothing; run step 1 first"
fi

if want 1b; then
  # The sweep comes from another branch (issue 16 item 4): run it only when this bundle has it (its
  # --help lists --sweep, or the bundle declares the sweep-out option).
  if [ "$dry" != 1 ] && ! { timeout -k 5 60 "$RUNNER" .gpu/bench.js --help 2>&1 | grep -q -- '--sweep\b' || grep -q "[\"']sweep-out[\"']" "${GPU_BENCH_BUNDLE:-.gpu/bench.js}" 2>/dev/null; }; then
    say "-- step 1b: sweep skipped: this bench has no --sweep (bench --help does not list it)"
  else
    sweep_shape=(); [ "$smoke" = 1 ] && sweep_shape=(--model tiny)
    run 150 "$reserve_late" 'step 1b: variant sweep' ">>$log" "$RUNNER" .gpu/bench.js --sweep --sweep-out "$sweep_file" "${sweep_shape[@]}" ${gpu_name:+--device-name "$gpu_name"}
  fi
fi
# the kernel table's FLOP/s ceiling: the sweep's best product when it wrote one
ceiling=(); [ -s "$sweep_file" ] && ceiling=(--product-ceiling "$sweep_file")

if want 2 && [ "$smoke" = 1 ] && [ "${GPU_BENCH_SMOKE_KERNELS:-0}" != 1 ]; then
  say "-- step 2: skipped in a smoke run: the ceilings (a 2048³ product, 256 MB copies) take minutes on a software adapter (GPU_BENCH_SMOKE_KERNELS=1 runs it)"
elif want 2; then
  while IFS=$'\t' read -r be flags; do
    # A new back end brings its own flags (e.g. --gemm subgroup-matrix) from src/bench/backends.ts.
    # shellcheck disable=SC2086 # flags split into words on purpose
    bench "step 2: kernels, $be" 45 --model "$kernel_model" "${shape[@]}" --kernels-only "${ceiling[@]}" $flags
  done < <(passed_backends)
fi

if want 3; then
  # back end by back end, most telling first (passed_backends), each over the whole grid: a budget cut
  # takes the last back end's runs, never the first one's largest model
  while IFS=$'\t' read -r be flags; do
    for m in "${models[@]}"; do
      # shellcheck disable=SC2086
      bench "step 3: train $m, $be" "${train_cap[$m]}" --model "$m" "${shape[@]}" --profile $flags
    done
  done < <(passed_backends)
  # where each step's time goes, in the log (the whole profile is the "profile" line of results.jsonl)
  [ "$dry" = 1 ] || [ ! -f "$out/results.jsonl" ] || "$RUNNER" scripts/profile-summary.mjs "$out/results.jsonl" 2>&1 | tee -a "$log" >&2
  # Last, so it is the first thing a long run cuts: the largest shape again with the lm_head backward
  # split over the vocabulary (off by default until this says it pays; lm_head_split_k in the line), on
  # the first back end only.
  m=${models[${#models[@]}-1]}
  while IFS=$'\t' read -r be flags; do
    # shellcheck disable=SC2086
    bench "step 3: train $m, $be, lm_head split-K" "${train_cap[$m]}" --model "$m" "${shape[@]}" $flags --lm-head-split-k auto
  done < <(passed_backends | head -1)
fi

if want 4; then
  peft=
  for f in ${PEFT_BASELINE:-} .gpu/peft_baseline.py scripts/peft_baseline.py shared/tools/peft_baseline.py ../shared/tools/peft_baseline.py; do # first found; scripts/ is the project's copy
    [ -f "$f" ] && { peft=$f; break; }
  done
  # A dry run shows the command even before the copy is made (a fresh clone has no ../shared)
  [ -z "$peft" ] && [ "$dry" = 1 ] && { say "   (no peft_baseline.py yet: copy ../shared/tools/peft_baseline.py into .gpu/ when preparing)"; peft=.gpu/peft_baseline.py; }
  if [ -z "$peft" ]; then
    say "!! step 4: no peft_baseline.py (copy ../shared/tools/peft_baseline.py into .gpu/ when preparing)"
  elif [ "$smoke" = 1 ] && ! python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    say "-- step 4: PEFT skipped: no CUDA torch here (smoke run)"
  else
    # No network there: the script builds each model from its config with random weights (no download).
    # Its own copy of the lines goes to $state/peft_baseline.json, not $OUT: the lines on stdout are the record.
    run 110 10 'step 4: PEFT baseline' ">$out/peft.jsonl" env HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 \
      CONFIGS=8x512 STEPS=5 OUT="$state" python3 "$peft" "${peft_models[@]}"
  fi
fi

if want 5; then
  run 10 0 'step 5: join' ">$state/joined.jsonl" "$RUNNER" scripts/join-peft.mjs --ours "$out/results.jsonl" \
    --peft "$out/peft.jsonl" --device "${gpu_name:-unknown}" --commit "$commit" \
    && { [ "$dry" = 1 ] || cat "$state/joined.jsonl" >>"$out/results.jsonl"; }
  [ "$dry" = 1 ] || grep '"kind":"ratio"' "$state/joined.jsonl" | tee -a "$log" >&2
fi
lines=0; [ -f "$out/results.jsonl" ] && lines=$(wc -l <"$out/results.jsonl")
say "gpu-bench: done in $((SECONDS - t0))s; $lines lines in $out/results.jsonl"
