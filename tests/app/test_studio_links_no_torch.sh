#!/usr/bin/env bash
# The GUI links no LibTorch (issue #15): neither its own needed libraries (readelf -d) nor anything
# they pull in (ldd) is libtorch* or libc10*. The same check on the CLI, which must link it, shows
# that the check sees LibTorch where it is.
#   test_studio_links_no_torch.sh STUDIO CLI
set -euo pipefail
studio=$1 cli=$2
torch_re='lib(torch|c10)[a-z_]*\.so'
needed() { readelf -d "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'; }
echo "s2v-studio needs: $(needed "$studio" | tr '\n' ' ')"
if needed "$studio" | grep -E "$torch_re"; then echo "FAIL: s2v-studio needs LibTorch directly"; exit 1; fi
if ldd "$studio" | grep -E "$torch_re"; then echo "FAIL: s2v-studio loads LibTorch through a library it needs"; exit 1; fi
# (counted, not grep -q: an early exit of grep fails ldd with SIGPIPE, and pipefail the test)
in_cli=$(ldd "$cli" | grep -cE "$torch_re" || true)
if [[ "$in_cli" -eq 0 ]]; then echo "FAIL: the check does not see LibTorch in s2v either"; exit 1; fi
echo "s2v-studio: $(ldd "$studio" | wc -l) libraries, none of LibTorch; s2v: $in_cli of LibTorch"
