#!/usr/bin/env bash
# The main job on the bundled sample: renders the sample portrait (a frame of opencv-doc's
# Megamind.avi) and speech (espeak-ng) with the bundled demo model on the CPU, and prints where the
# MP4 is. The demo model has random weights: the video is noise, but every loader, the pipeline,
# the clip loop and the final mux are the real ones. Then scores Debian's sample clips (curation).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${S2V_SAMPLE_OUT:-$PWD/build/sample-output}"
mkdir -p "$out"
./build/app/s2v --version
./scripts/make-sample-inputs.sh build/sample >/dev/null
./build/app/s2v generate --ckpt_dir build/demo-model \
  --image build/sample/portrait.png --audio build/sample/speech.wav \
  --prompt "a young woman talks to the camera in a restaurant, warm light" \
  --size 256*256 --sample_steps 2 --device cpu --out "$out/generated.mp4"
echo "Generated video (Demo model (random weights: output is noise)): $out/generated.mp4"
# Curation on Debian's real sample clips (opencv-doc): scores, verdicts and the method of each.
# They are copied into the app's sample folder first (as the Curate workspace's "Score the sample
# clips" does), so the GUI and this script show the same files.
samples=/usr/share/doc/opencv-doc/examples/data
sample_dir="${S2V_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/s2v-studio}/samples"
mkdir -p "$sample_dir"
clips=()
for c in Megamind.avi vtest.avi tree.avi; do
  if [ -f "$samples/$c" ]; then
    cmp -s "$samples/$c" "$sample_dir/$c" || cp "$samples/$c" "$sample_dir/$c"
    clips+=("$sample_dir/$c")
  fi
done
if [ ${#clips[@]} -gt 0 ]; then
  rm -f "$out/scores.db"
  ./build/app/s2v curate "${clips[@]}" --out "$out/scores.db" --max_seconds 10
  ./build/app/s2v curate export "$out/scores.db" --format csv --out "$out/scores.csv"
  echo "Curation scores: $out/scores.csv"
fi
