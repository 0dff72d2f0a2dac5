#!/usr/bin/env bash
# Installs the Debian packages vsafe needs, only when one is missing. Safe to run repeatedly.
set -euo pipefail
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# python3, openssl and man-db: the CLI tests check JSON with python3, results with the openssl
# command, and the man page with man -l.
for p in cmake make gcc pkg-config libssl-dev libcmocka-dev libjansson-dev clang libclang-rt-14-dev python3 openssl man-db; do
  have_pkg "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "vsafe: installing missing packages: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
