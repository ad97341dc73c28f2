#!/usr/bin/env bash
# Configures (Ninja, Release, ccache when present) and builds everything into ./build.
# Extra arguments go to cmake, e.g. -DS2V_BUILD_GUI=OFF or -DCMAKE_PREFIX_PATH=<CUDA LibTorch>.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
ninja -C build -j"$(nproc)"
