#!/usr/bin/env bash
# Runs every test suite (ctest) in ./build; GUI tests run offscreen. Needs ../shared beside the
# repository for the parity vectors (S2V_SHARED_DIR / S2V_PARITY_DIR override).
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
