#!/usr/bin/env bash
# Builds the DEB with cpack, unpacks it with dpkg -x into a temporary root, checks the desktop
# integration files are inside, and runs the unpacked s2v --version.
set -euo pipefail
build="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/out/*.deb | head -n1)
[ -f "$deb" ] || { echo "FAIL: no .deb produced"; exit 1; }
info=$(dpkg-deb --field "$deb" Package)
[ "$info" = "s2v-studio" ] || { echo "FAIL: package name is '$info', expected s2v-studio"; exit 1; }
dpkg -x "$deb" "$work/root"
for f in usr/bin/s2v usr/share/applications/s2v-studio.desktop \
         usr/share/metainfo/io.github.s2vstudio.S2VStudio.metainfo.xml \
         usr/share/icons/hicolor/scalable/apps/s2v-studio.svg; do
  [ -e "$work/root/$f" ] || { echo "FAIL: $f missing from the package"; exit 1; }
done
out=$("$work/root/usr/bin/s2v" --version)
echo "$out"
[[ "$out" == s2v\ * ]] || { echo "FAIL: unexpected --version output"; exit 1; }
echo "1 passed, 0 failed"
