#!/bin/sh
# make demo: a power-tool battery on a fresh SPL05 device.
# usage: examples/demo.sh PATH_TO_VSAFE   (examples/power_tool is looked up next to it)
set -eu
VSAFE=${1:-build/vsafe}
TOOL=$(dirname "$VSAFE")/examples/power_tool
DEV=$(mktemp -d)/battery
trap 'rm -rf "$(dirname "$DEV")"' EXIT

step() { printf '\n== %s\n' "$*"; }

step "A new battery pack leaves the line with a fresh STSAFE-A120 (SPL05 profile)"
"$VSAFE" --device "$DEV" init
"$VSAFE" --device "$DEV" zones

step "Manufacturing writes the battery's data into zone 1"
"$TOOL" "$DEV" manufacture PT18-2024-000731 "Li-ion NMC 5S2P" 5000 2024-03-14

step "Three months of charging: each charge decrements zone 5 and records the event"
"$TOOL" "$DEV" charge 1710950400 0xC4A26001 88
"$TOOL" "$DEV" charge 1711555200 0xC4A26001 91
"$TOOL" "$DEV" charge 1712246400 0xC4A27342 87
"$TOOL" "$DEV" charge 1713801600 0xC4A26001 90
"$TOOL" "$DEV" charge 1716825600 0xC4A27342 85

step "The tool reads the battery"
"$TOOL" "$DEV" report

step "The same bytes through the CLI (16-byte events: time, charger, Wh, cycle)"
"$VSAFE" --device "$DEV" read 5 --length 32
"$VSAFE" --device "$DEV" --json read 5 --length 16

step "The counter only goes down: zone 5 refuses an Update"
"$VSAFE" --device "$DEV" update 5 --data 00 2>&1 || true
