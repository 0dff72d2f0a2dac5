#!/usr/bin/env bash
# The Cortex-M33 build's budgets as a CTest (cross_budgets): builds the core for the target and runs
# the size and stack report of make cross into OUT (argument 2), so a change that breaks the cross
# build or a budget of firmware/budgets.txt fails the ordinary test run. Skipped (status 77) where
# the arm-none-eabi toolchain is not installed; make cross / make test-cross install it.
set -uo pipefail
root=${1:?source dir}
out=${2:?output dir}
if ! command -v arm-none-eabi-gcc >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
  echo "cross_budgets: SKIPPED: arm-none-eabi-gcc is not installed (make cross installs it)"
  exit 77
fi
exec make --no-print-directory -j 2 -C "$root" -f firmware/firmware.mk report OUT="$out"
