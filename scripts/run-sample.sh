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

# Curation on Debian's real sample clips (opencv-doc): scores, verdicts and the method of each.
samples=/usr/share/doc/opencv-doc/examples/data
clips=()
for c in Megamind.avi vtest.avi tree.avi; do [ -f "$samples/$c" ] && clips+=("$samples/$c"); done
if [ ${#clips[@]} -gt 0 ]; then
  rm -f "$out/scores.db"
  ./build/app/s2v curate "${clips[@]}" --out "$out/scores.db" --max_seconds 10
  ./build/app/s2v curate export "$out/scores.db" --format csv --out "$out/scores.csv"
  echo "Curation scores: $out/scores.csv"
fi
