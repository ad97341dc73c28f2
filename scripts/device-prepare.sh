#!/usr/bin/env bash
# Prepares what scripts/device-check.sh needs on a bare GPU machine, here (on the build machine),
# into the ignored folder third_party/, which the device call then carries:
#   third_party/include/nlohmann/   nlohmann/json (header-only; Debian's nlohmann-json3-dev copy)
#   third_party/parity/             the parity vectors parity_check runs (dit_s2v_*, vae_2_1_*,
#                                   umt5_encoder_*, wav2vec2_*, sched_*: about 27 MB) from
#                                   ../shared/testdata/parity, which does not travel with a checkout
#   third_party/wan2.2/wan/         the official Wan2.2 Python package, for the side-by-side forward
#                                   (never committed: exported from a local git mirror of
#                                   github.com/Wan-Video/Wan2.2)
# usage: scripts/device-prepare.sh [WAN_GIT_DIR]
#   WAN_GIT_DIR: a git directory of Wan-Video/Wan2.2 (default $S2V_WAN_GIT_DIR, else
#   /work/.mirror/Wan-Video+Wan2.2/repo); without one the official forward is skipped on the device.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p third_party/include
if [ -d /usr/include/nlohmann ]; then
  rm -rf third_party/include/nlohmann
  cp -r /usr/include/nlohmann third_party/include/
  echo "third_party/include/nlohmann: copied from /usr/include/nlohmann"
else
  echo "no /usr/include/nlohmann (apt-get install nlohmann-json3-dev): the device build will stop at configure" >&2
  exit 1
fi
parity="${S2V_PARITY_DIR:-${S2V_SHARED_DIR:-../shared}/testdata/parity}"
rm -rf third_party/parity
mkdir -p third_party/parity
for prefix in dit_s2v_ vae_2_1_ umt5_encoder_ wav2vec2_ sched_; do
  cp "$parity"/"$prefix"*.safetensors third_party/parity/ 2>/dev/null || echo "no $prefix* in $parity" >&2
done
echo "third_party/parity: $(ls third_party/parity | wc -l) vectors from $parity"
git_dir="${1:-${S2V_WAN_GIT_DIR:-/work/.mirror/Wan-Video+Wan2.2/repo}}"
if git --git-dir="$git_dir" rev-parse --verify -q HEAD >/dev/null 2>&1; then
  rm -rf third_party/wan2.2
  mkdir -p third_party/wan2.2
  git --git-dir="$git_dir" archive HEAD wan | tar -x -C third_party/wan2.2
  git --git-dir="$git_dir" rev-parse HEAD > third_party/wan2.2/COMMIT
  echo "third_party/wan2.2/wan: Wan-Video/Wan2.2 @ $(cut -c1-12 third_party/wan2.2/COMMIT)"
else
  echo "no Wan2.2 git directory at '$git_dir': the official forward will be skipped" >&2
fi
du -sh third_party
echo "carry: third_party"
