#!/usr/bin/env bash
# Installs the Debian packages of the Cortex-M33 cross build and its QEMU test run, only when one
# is missing. Safe to run repeatedly. Exits 0 when everything is there, 1 when it could not be
# installed (make test reports that and goes on; make cross / test-cross stop).
set -uo pipefail
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in gcc-arm-none-eabi binutils-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm; do
  have_pkg "$p" || need+=("$p")
done
command -v python3 >/dev/null 2>&1 || need+=(python3)
[ ${#need[@]} -eq 0 ] && exit 0
echo "vsafe: installing missing cross packages: ${need[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "vsafe: not root and no sudo: cannot install ${need[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine: refresh once, then install.
$SUDO apt-get update -qq >/dev/null 2>&1 || true
if ! $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
  echo "vsafe: could not install ${need[*]}" >&2
  exit 1
fi
exit 0
