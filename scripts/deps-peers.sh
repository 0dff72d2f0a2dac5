#!/usr/bin/env bash
# Installs the Debian packages make bench-peers needs (swtpm, its tools, tpm2-tools and the TSS2
# development files), only when one is missing. Exits non-zero with a clear message when they
# cannot be installed here, so the benchmark never reports a comparison it did not make.
set -uo pipefail
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in swtpm swtpm-tools tpm2-tools libtss2-dev pkg-config; do
  have_pkg "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "vsafe: installing missing packages for bench-peers: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need[@]}" >/dev/null; }; then
    echo "bench-peers: cannot install ${need[*]} on this machine; the swtpm comparison was NOT run" >&2
    exit 1
  fi
fi
if ! command -v swtpm >/dev/null || ! pkg-config --exists tss2-esys tss2-tcti-swtpm; then
  echo "bench-peers: swtpm or libtss2 (tss2-esys, tss2-tcti-swtpm) missing after install; the swtpm comparison was NOT run" >&2
  exit 1
fi
