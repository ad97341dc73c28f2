#!/usr/bin/env bash
# GUI start-up: the time from exec() of s2v-studio until its event loop starts (the main window
# built and shown, offscreen), its file size and the LibTorch libraries it loads. Prints a table.
#
#   bench/gui/gui_start.sh [RUNS] STUDIO_EXE [STUDIO_EXE...]
#
# A preloaded shim replaces QApplication::exec() with "print the time, _exit(0)", so the same
# measurement works on any build, old or new, without a flag in the application. Each run uses a
# fresh data and config folder (no journal, no saved settings). The first run of each executable
# is a warm-up (page cache) and is not counted; the table shows the median of the others.
set -euo pipefail
runs=7
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then runs=$1; shift; fi
[[ $# -ge 1 ]] || { echo "usage: $0 [RUNS] STUDIO_EXE..." >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/shim.c" <<'C'
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
/* QApplication::exec() (static): the window is built and shown when main() gets here */
int _ZN12QApplication4execEv(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  fprintf(stderr, "S2V_EXEC_AT %lld.%09ld\n", (long long)t.tv_sec, t.tv_nsec);
  fflush(stderr);
  _exit(0);
}
C
cc -shared -fPIC -O2 -o "$work/shim.so" "$work/shim.c"
printf '%-60s %10s %12s %10s %s\n' "executable" "size (MB)" "start (ms)" "runs" "LibTorch loaded"
for exe in "$@"; do
  times=()
  for ((i = 0; i <= runs; ++i)); do
    rm -rf "$work/data" "$work/config"
    mkdir -p "$work/data" "$work/config"
    start=$(date +%s.%N)
    out=$(S2V_DATA_DIR="$work/data" XDG_CONFIG_HOME="$work/config" QT_QPA_PLATFORM=offscreen \
          LD_PRELOAD="$work/shim.so" "$exe" 2>&1 >/dev/null | grep S2V_EXEC_AT || true)
    [[ -n "$out" ]] || { echo "$exe did not reach its event loop" >&2; exit 1; }
    at=${out#S2V_EXEC_AT }
    ((i == 0)) && continue
    times+=("$(echo "($at - $start) * 1000" | bc -l)")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]}')
  size=$(stat -c %s "$exe" | awk '{printf "%.1f", $1/1e6}')
  torch=$(ldd "$exe" | { grep -oE 'lib(torch|c10)[a-z_]*\.so[.0-9]*' || true; } | sort -u | tr '\n' ' ')
  printf '%-60s %10s %12s %10s %s\n' "$exe" "$size" "$median" "$runs" "${torch:-none}"
done
