#!/bin/sh
# The worked example of docs/LIFECYCLE.md, run as a test: every command must behave as documented.
# usage: lifecycle_example.sh VSAFE_BINARY [DIR]
set -eu
V="$1"
D="${2:-$(mktemp -d)}"
rm -rf "$D"
export VSAFE_DEVICE="$D" VSAFE_MCU_SEED=1
set -x
"$V" init
"$V" mcu trustzone on
"$V" mcu state PROVISIONING
"$V" mcu reset
"$V" da keygen
"$V" da provision
"$V" mcu hostkeys
if "$V" mcu state LOCKED; then echo "LOCKED without --force must be refused"; exit 1; fi
"$V" mcu state CLOSED
"$V" mcu reset
"$V" mcu show
"$V" da discover
"$V" da open-debug --domain ns --hdpl 3
"$V" mcu show --json
"$V" da close-debug
"$V" mcu reset
"$V" da regress --partial
"$V" da regress --full
"$V" mcu show
"$V" mcu graph
if "$V" da regress --full; then echo "regression from OPEN must be refused"; exit 1; fi
"$V" mcu state PROVISIONING
"$V" mcu reset
if "$V" mcu state CLOSED; then echo "closing without DA config must be refused"; exit 1; fi
if "$V" da provision --password hunter22; then echo "password with TrustZone on must be refused"; exit 1; fi
rm -rf "$D"
