#!/usr/bin/env bash
# Installs every Debian 12 package S2V Studio needs to build, test and run. Idempotent: packages
# already present are skipped; uses sudo when not root. Nothing is downloaded from outside apt.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git dpkg-dev file clang
  # engine
  libtorch-dev libopenblas0-pthread libsentencepiece-dev sentencepiece nlohmann-json3-dev
  libsqlite3-dev zlib1g-dev
  # media
  ffmpeg libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev
  # curation
  libopencv-dev libopencv-contrib-dev opencv-data opencv-doc tesseract-ocr tesseract-ocr-eng
  libtesseract-dev libleptonica-dev
  # GUI
  qt6-base-dev qt6-multimedia-dev qt6-charts-dev libqt6opengl6-dev libqt6svg6 qt6-qpa-plugins libgl-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav
  # test media and screenshots
  espeak-ng sox xvfb xauth x11-apps imagemagick
  python3-pil  # media: reference for the PIL-exact resize test (test_media_resize)
)
# test_sound_playback runs a private PulseAudio server with a null sink. A desktop whose sound goes
# through PipeWire keeps it: pulseaudio and pipewire-pulse conflict, so it is not installed there
# (and that test says it was skipped for want of the server).
dpkg-query -W -f='${Status}' pipewire-pulse 2>/dev/null | grep -q "install ok installed" || packages+=(pulseaudio)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The sample clips (opencv-doc's Megamind.avi, vtest.avi, tree.avi) go into the app's sample folder,
# where the Curate workspace's "Score the sample clips" and scripts/run-sample.sh find them.
copy_samples() {
  local from=/usr/share/doc/opencv-doc/examples/data
  local to="${S2V_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/s2v-studio}/samples"
  mkdir -p "$to"
  for c in Megamind.avi vtest.avi tree.avi; do
    [ -f "$from/$c" ] && { cmp -s "$from/$c" "$to/$c" || cp "$from/$c" "$to/$c"; }
  done
  echo "setup: sample clips in $to"
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  copy_samples
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
copy_samples
