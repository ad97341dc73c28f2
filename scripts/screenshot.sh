#!/usr/bin/env bash
# Takes screenshots of the main window under Xvfb (one per workspace, with the job dock showing a
# finished test-pattern job) into docs/. Rerun after UI changes: ./scripts/screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
app=./build/app/studio/s2v-studio
[ -x "$app" ] || { echo "build first: ./scripts/build.sh"; exit 1; }
export S2V_DATA_DIR=$(mktemp -d)
export XDG_CONFIG_HOME=$S2V_DATA_DIR/config
./build/app/s2v test-pattern --segments 2 --frames 8 --width 160 --height 120 >/dev/null
samples=/usr/share/doc/opencv-doc/examples/data
./build/app/s2v curate "$samples/Megamind.avi" "$samples/vtest.avi" --out "$S2V_DATA_DIR/scores.db" \
  --max_seconds 6 >/dev/null 2>&1 || true
./scripts/make-sample-inputs.sh build/sample >/dev/null  # the portrait and speech of the generate shot
# 1280x800 (docs/screenshot-TAB.png) and the smallest supported screen, 1024x640
# (docs/screenshot-TAB-1024x640.png)
for size in 1280x800 1024x640; do
  suffix=$([ "$size" = 1280x800 ] && echo "" || echo "-$size")
  for tab in generate curate history; do
    xvfb-run -a -s "-screen 0 ${size}x24" bash -c "
      '$app' --tab $tab --open-results '$S2V_DATA_DIR/scores.db' --geometry $size \
        build/sample/portrait.png build/sample/speech.wav & pid=\$!
      sleep 6
      import -window root docs/screenshot-$tab$suffix.png
      kill \$pid"
    echo "wrote docs/screenshot-$tab$suffix.png"
  done
done
rm -rf "$S2V_DATA_DIR"
