#!/usr/bin/env bash
# The GPU device check (issue #14): one command that builds the engine against the machine's CUDA
# LibTorch, proves parity on the GPU, and measures the 14B DiT step side by side with the official
# code, in one 10-minute run.
#
# HOW TO RUN IT (a session lent the `nvidia-h200` machine; 15 device minutes in all):
#   1. here, on the build machine:   scripts/device-prepare.sh
#      (copies nlohmann/json, the parity vectors and the official Wan2.2 `wan/` package into the
#      ignored folder third_party/; about 35 MB)
#   2. here, once:                   scripts/device-check.sh --dry-run
#      (the same steps on the CPU with tiny shapes against Debian's LibTorch: proves the script)
#   3. one device call:  run(command="scripts/device-check.sh", carry=["third_party"], timeout_s=600)
#   4. copy the table at the end of the output (also $OUT/summary.md) into docs/performance.md,
#      section "GPU"; $OUT/results.json and $OUT/device-check.log hold everything else.
#
# usage: scripts/device-check.sh [--dry-run] [--build-dir DIR] [--out DIR] [--jobs N]
#   --dry-run   CPU, Debian's LibTorch (no prefix), tiny shapes, no deadline; CI runs it (ctest
#               engine_only_dry_run) so the script itself is tested
#   --build-dir build folder of the engine-only tree (default build-device, dry run build-engine)
#   --out       where the log, summary and results go (default $OUT, else ./device-out)
#   --jobs      compile jobs (default: all cores; dry run 2)
#
# Steps (each one's output goes to the log; a failed step is reported and the next ones still run):
#   0. environment: GPU, driver, python3's torch, cmake, ninja, cores
#   1. configure (-DS2V_ENGINE_ONLY=ON, CMAKE_PREFIX_PATH = torch.utils.cmake_prefix_path) and build
#      parity_check, bench_dit, bench_vae with all cores
#   2. parity on the device in float32 with our plain attention (bar 1e-5 / 1e-4, TF32 off)
#   3. bench_dit: the real 14B shapes, named-random weights, 480p (832x480) x 80 frames, CFG, bf16:
#      seconds per step, TFLOP/s against models/wan/dit_cost.h, peak memory against the estimate;
#      saves its last step's outputs for step 4
#   4. the official WanModel_S2V forward (scripts/device/official_forward.py, the machine's python3
#      and its SDPA) on the same config, shapes and numbers: seconds per step, and its output against
#      ours (relative error)
#   5. bench_dit again with --offload_blocks (blocks streamed over PCIe)
#   6. parity in float32 through SDPA's memory-efficient kernel (flash cannot take float32), and the
#      DiT and umT5 in bf16 through SDPA's flash kernel (bounds derived in tools/parity/parity_check.cpp);
#      the dry run checks the bf16 bounds with the plain attention (LibTorch 1.13 has no SDPA)
#   7. the bf16 matmul ceiling of this GPU (8192^3 through torch), for the "% of peak" column
#   8. summary table ($OUT/summary.md, $OUT/results.json)
#   6b. bench_dit with the block weights packed as GGUF Q8_0 and Q4_K (quantised on the device, each
#      block dequantised before it runs: models/wan/packed_weights.h); the dry run does Q8_0 only
# The real run keeps a deadline of 570 s from its start: a step that would pass it is cut short
# (timeout) and the rest is skipped, so the summary always comes back within the 600-s call.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

dry=0
build=""
out="${OUT:-}"
jobs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --build-dir) build="$2"; shift ;;
    --out) out="$2"; shift ;;
    --jobs) jobs="$2"; shift ;;
    -h|--help) sed -n '2,45p' "$0"; exit 0 ;;
    *) echo "device-check: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$out" ] || out="$root/device-out"
if [ "$dry" = 1 ]; then
  [ -n "$build" ] || build="$root/build-engine"
  [ -n "$jobs" ] || jobs=2
  deadline=100000
else
  [ -n "$build" ] || build="$root/build-device"
  [ -n "$jobs" ] || jobs=$(nproc)
  # S2V_DEVICE_DEADLINE: a shorter deadline when less device time is left than a full call
  deadline=${S2V_DEVICE_DEADLINE:-570}
fi
mkdir -p "$out" "$build"
out=$(cd "$out" && pwd)
build=$(cd "$build" && pwd)
work="$build/device-work"
mkdir -p "$work"
rm -f "$out/device-check.log" "$out/summary.md" "$out/results.json" "$work"/*.json
exec > >(tee -a "$out/device-check.log") 2>&1
SECONDS=0
failures=0
summary=()

# smi_watch FILE: samples the GPU's used memory every 200 ms into FILE until smi_stop (a second
# peak-memory reading beside the caching allocator's, which a build without the CUDA headers lacks)
smi_pid=""
smi_watch() {
  smi_pid=""
  command -v nvidia-smi >/dev/null || return 0
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$1" 2>/dev/null &
  smi_pid=$!
}
smi_stop() {
  [ -n "$smi_pid" ] && kill "$smi_pid" 2>/dev/null && wait "$smi_pid" 2>/dev/null
  smi_pid=""
  [ -s "$1" ] && add "| $2: GPU memory used at most (nvidia-smi, 200 ms samples) | $(sort -n "$1" | tail -1) MiB |"
  return 0
}

say() { printf '\n=== [%4ds] %s\n' "$SECONDS" "$*"; }
add() { summary+=("$*"); printf '%s\n' "$*" >> "$out/summary.md"; }
# run_step NAME SECONDS CMD...: runs CMD with a timeout capped by the deadline; records the outcome
run_step() {
  local name="$1" limit="$2"
  shift 2
  local left=$((deadline - SECONDS))
  if [ "$left" -le 5 ]; then
    say "$name: skipped (deadline)"
    add "| $name | skipped: deadline |"
    return 124
  fi
  # the limits are sized for the 16-core GPU machine; a dry run on a loaded 2-core machine gets 70 min a step
  [ "$dry" = 1 ] && limit=4200
  [ "$limit" -gt "$left" ] && limit=$left
  say "$name (limit ${limit}s): $*"
  local t0=$SECONDS
  timeout --kill-after=10 "$limit" "$@"
  local rc=$?
  if [ $rc -ne 0 ]; then
    failures=$((failures + 1))
    add "| $name | FAILED (exit $rc$([ $rc = 124 ] && echo ', timeout')) after $((SECONDS - t0)) s |"
  else
    add "| $name | ok, $((SECONDS - t0)) s |"
  fi
  return $rc
}

echo "# Device check $(date -u +%Y-%m-%dT%H:%M:%SZ) $([ $dry = 1 ] && echo '(dry run: CPU, tiny shapes)')" > "$out/summary.md"
echo "" >> "$out/summary.md"
echo "| step | outcome |" >> "$out/summary.md"
echo "|---|---|" >> "$out/summary.md"

# --- 0. environment ---------------------------------------------------------------------------
say "environment"
git -C "$root" log -1 --format='commit %h %s' 2>/dev/null || true
nproc
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv
py=""
for cand in python3 /usr/bin/python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import torch' 2>/dev/null; then py=$(command -v "$cand"); break; fi
done
if [ -n "$py" ]; then
  "$py" -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
else
  echo "no python3 with torch"
fi
cmake --version | head -1
ninja --version

parity_dir="${S2V_PARITY_DIR:-}"
if [ -z "$parity_dir" ]; then
  if [ -d "$root/third_party/parity" ]; then parity_dir="$root/third_party/parity"
  else parity_dir="${S2V_SHARED_DIR:-$root/../shared}/testdata/parity"; fi
fi
echo "parity vectors: $parity_dir ($(ls "$parity_dir"/*.safetensors 2>/dev/null | wc -l) files)"

# --- 1. configure and build ---------------------------------------------------------------------
cmake_args=(-S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DS2V_ENGINE_ONLY=ON)
if [ "$dry" = 0 ]; then
  if [ -z "$py" ]; then
    echo "device-check: the real run needs python3 with torch (its LibTorch)"; exit 1
  fi
  prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  # TORCH_CUDA_ARCH_LIST: no GPU probe at configure time; the H200 is sm_90
  cmake_args+=(-DCMAKE_PREFIX_PATH="$prefix" -DTORCH_CUDA_ARCH_LIST=9.0)
fi
built=0
if run_step "configure (engine only)" 150 cmake "${cmake_args[@]}" &&
   run_step "build ($jobs jobs)" 330 nice cmake --build "$build" -j "$jobs" --target parity_check bench_dit bench_vae -- -k 0; then
  built=1
fi
pc="$build/tools/parity_check"
bd="$build/bench/dit/bench_dit"

if [ "$dry" = 1 ]; then dev=cpu; else dev=cuda; fi

# --- 2. parity, float32, plain attention --------------------------------------------------------
if [ $built = 1 ]; then
  run_step "parity $dev float32 (math attention)" 90 \
    "$pc" --dir "$parity_dir" --device $dev --dtype float32 --attention math --json "$work/parity_f32_math.json"
fi

# --- 3. bench_dit ---------------------------------------------------------------------------------
if [ "$dry" = 1 ]; then
  shape=(--shape tiny --size 128*128 --frames 9 --cfg --dtype float32 --device cpu --attention math --steps 1 --warmup 0)
else
  shape=(--shape 14b --size 832*480 --frames 80 --cfg --dtype bfloat16 --device cuda --attention sdpa --steps 2 --warmup 1)
fi
ours_ok=0
if [ $built = 1 ]; then
  smi_watch "$work/smi_ours.txt"
  run_step "bench_dit ${shape[*]}" 150 "$bd" "${shape[@]}" --json "$work/ours.json" \
    --save_output "$work/ours_out.safetensors" && ours_ok=1
  smi_stop "$work/smi_ours.txt" "bench_dit"
fi

# --- 4. the official forward ----------------------------------------------------------------------
official_reason=""
if [ -z "$py" ]; then official_reason="no python3 with torch"
elif [ ! -d "$root/third_party/wan2.2/wan" ]; then official_reason="no official checkout (run scripts/device-prepare.sh)"
elif [ $ours_ok = 0 ] && [ "$dry" = 1 ]; then official_reason="bench_dit did not run"
elif ! "$py" -c 'import numpy' 2>/dev/null; then official_reason="$py lacks numpy"
fi
if [ -z "$official_reason" ]; then
  if [ "$dry" = 1 ]; then osteps=(--steps 1 --warmup 0); else osteps=(--steps 2 --warmup 1); fi
  # without our figures (a failed build) the official 14B step is still measured, from its own config
  with_ours=()
  [ $ours_ok = 1 ] && with_ours=(--ours "$work/ours.json" --compare "$work/ours_out.safetensors")
  smi_watch "$work/smi_official.txt"
  run_step "official WanModel_S2V forward ($dev)" 200 env PYTHONUNBUFFERED=1 "$py" "$root/scripts/device/official_forward.py" \
    --wan "$root/third_party/wan2.2" --device $dev "${osteps[@]}" "${with_ours[@]}" --json "$work/official.json"
  smi_stop "$work/smi_official.txt" "official (includes its fp32 construction)"
else
  say "official forward: skipped ($official_reason)"
  add "| official WanModel_S2V forward | skipped: $official_reason |"
fi

# --- 5. offload -----------------------------------------------------------------------------------
if [ $built = 1 ]; then
  if [ "$dry" = 1 ]; then
    add "| bench_dit --offload_blocks | skipped: nothing to offload on a CPU |"
  else
    run_step "bench_dit --offload_blocks" 120 "$bd" "${shape[@]}" --offload_blocks --steps 1 \
      --json "$work/ours_offload.json"
  fi
fi

# --- 6. parity through SDPA -------------------------------------------------------------------------
if [ $built = 1 ]; then
  if [ "$dry" = 0 ]; then
    run_step "parity cuda float32 (SDPA memory-efficient, flash off)" 60 \
      "$pc" --dir "$parity_dir" --device cuda --dtype float32 --attention sdpa --sdpa_kernel efficient \
      --json "$work/parity_f32_sdpa.json"
    run_step "parity cuda bfloat16 (SDPA, flash)" 60 \
      "$pc" --dir "$parity_dir" --device cuda --dtype bfloat16 --attention sdpa --sdpa_kernel flash \
      --only dit_s2v_,umt5_encoder_ --json "$work/parity_bf16_flash.json"
  else
    # Debian's LibTorch 1.13 has no SDPA: the bf16 bounds are checked with the plain attention
    run_step "parity cpu bfloat16 (math attention)" 600 \
      "$pc" --dir "$parity_dir" --device cpu --dtype bfloat16 --attention math --only dit_s2v_,umt5_encoder_ \
      --json "$work/parity_bf16_math.json"
  fi
fi

# --- 6b. packed (GGUF) block weights ----------------------------------------------------------------
if [ $built = 1 ]; then
  if [ "$dry" = 1 ]; then kinds=(q8_0); else kinds=(q8_0 q4_k); fi
  for kind in "${kinds[@]}"; do
    run_step "bench_dit --packed $kind" 90 "$bd" "${shape[@]}" --packed $kind --steps 1 --warmup 1 \
      --json "$work/ours_$kind.json"
  done
fi

# --- 7. matmul ceiling ------------------------------------------------------------------------------
if [ "$dry" = 0 ] && [ -n "$py" ]; then
  run_step "bf16 matmul ceiling" 40 "$py" - "$work/ceiling.json" <<'PY'
import json, sys, time, torch
n = 8192
a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
for _ in range(3):
    a @ b
torch.cuda.synchronize()
t = time.time()
for _ in range(20):
    a @ b
torch.cuda.synchronize()
tflops = 20 * 2 * n ** 3 / (time.time() - t) / 1e12
print("bf16 matmul %d^3 on random data: %.0f TFLOP/s" % (n, tflops))
json.dump({"bf16_matmul_tflops": tflops}, open(sys.argv[1], "w"))
PY
fi

# --- 8. summary -------------------------------------------------------------------------------------
say "summary"
spy="${py:-python3}"
"$spy" - "$work" "$out" "$dry" <<'PY' || echo "(no summary table: python3 failed)"
import glob, json, os, sys
work, out, dry = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
def load(name):
    p = os.path.join(work, name)
    return json.load(open(p)) if os.path.exists(p) else None
res = {n[:-5]: load(n) for n in map(os.path.basename, sorted(glob.glob(os.path.join(work, "*.json"))))}
json.dump(res, open(os.path.join(out, "results.json"), "w"), indent=2)
ceiling = (res.get("ceiling") or {}).get("bf16_matmul_tflops")
lines = ["", "| implementation | case | s/step | TFLOP/s (formula) | % of bf16 matmul | peak GiB | estimate GiB |",
         "|---|---|---|---|---|---|---|"]
def row(name, r):
    if not r:
        return
    peak = r.get("peak_allocated_bytes")
    est = r.get("estimate_bytes")
    pct = "%.0f %%" % (100 * r["tflops_achieved"] / ceiling) if ceiling else "-"
    lines.append("| %s | %s | %.3f | %.1f | %s | %s | %s |" % (
        name, r.get("case", "-"), r["seconds_per_step_median"], r["tflops_achieved"], pct,
        "%.2f" % (peak / 2**30) if peak and peak > 0 else "n/a", "%.2f" % (est / 2**30) if est else "-"))
row("ours (LibTorch)", res.get("ours"))
row("ours, --offload_blocks", res.get("ours_offload"))
row("ours, blocks packed Q8_0", res.get("ours_q8_0"))
row("ours, blocks packed Q4_K", res.get("ours_q4_k"))
row("official (PyTorch)", res.get("official"))
o, f = res.get("ours"), res.get("official")
if o and f:
    lines.append("")
    lines.append("ours / official seconds per step: %.3f; output of the conditional branch, ours vs official: "
                 "relative error %.3g" % (o["seconds_per_step_median"] / f["seconds_per_step_median"],
                                          f.get("rel_error_cond_vs_ours", float("nan"))))
    for n in f.get("notes", []):
        lines.append("- official run: " + n)
if ceiling:
    lines.append("")
    lines.append("bf16 matmul ceiling measured in this run: %.0f TFLOP/s" % ceiling)
lines.append("")
lines.append("| parity run | rows | within bound | worst error / bound |")
lines.append("|---|---|---|---|")
for k, v in res.items():
    if k.startswith("parity") and v:
        worst = max(v, key=lambda r: (r["rel_error"] / r["bound"]) if r["rel_error"] is not None and r["bound"] else 1e9)
        ratio = worst["rel_error"] / worst["bound"] if worst["rel_error"] is not None and worst["bound"] else float("inf")
        lines.append("| %s | %d | %d | %.3g (%s %s) |" % (k, len(v), sum(r["pass"] for r in v), ratio,
                                                       worst["file"], worst["output"]))
open(os.path.join(out, "summary.md"), "a").write("\n".join(lines) + "\n")
PY
cat "$out/summary.md"
echo
echo "device-check: $failures step(s) failed; $SECONDS s; log, summary and results in $out"
[ $failures = 0 ]
