#!/bin/sh
# docs/STATUS.md is what the status tables generate (tools/docgen/gen_status_md.c), and the CLI's
# `vsafe status --list --markdown` prints the same library table.
# Usage: check_status_md.sh GENERATOR VSAFE_CLI DOC
set -eu
gen=$1
cli=$2
doc=$3
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$gen" >"$tmp"
if ! diff -u "$doc" "$tmp"; then
  echo "FAIL: docs/STATUS.md is out of date with include/vsafe/wire_status.def / status.def;"
  echo "      regenerate it: cmake --build build --target status-md"
  exit 1
fi
"$cli" status --list --markdown >"$tmp"
lines=0
while IFS= read -r line; do
  lines=$((lines + 1))
  if ! grep -Fxq -- "$line" "$doc"; then
    echo "FAIL: 'vsafe status --list --markdown' prints a line docs/STATUS.md lacks: $line"
    exit 1
  fi
done <"$tmp"
echo "docs/STATUS.md is current: $(grep -c '^| 0x' "$doc") wire status rows, $lines CLI lines all in it"
