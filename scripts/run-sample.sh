#!/usr/bin/env bash
# The main job on the bundled sample. Until the generation pipeline lands this runs the
# "Test pattern" diagnostic job (it is not generation) and prints where its MP4 is.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${S2V_SAMPLE_OUT:-$PWD/build/sample-output}"
mkdir -p "$out"
./build/app/s2v --version
./build/app/s2v test-pattern --segments 4 --frames 16 --out "$out/test_pattern.mp4"
echo "Test pattern video (diagnostic, not generation): $out/test_pattern.mp4"
