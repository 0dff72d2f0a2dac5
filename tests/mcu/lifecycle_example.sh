#!/bin/sh
# The worked example of docs/LIFECYCLE.md ("Worked example"), run as a test: every command must
# behave as documented. Prints the transcript on stdout (format: tests/mcu/transcript.sh), which
# tests/docs/lifecycle_doc.sh compares with the document; the checks' failures go to stderr.
# usage: lifecycle_example.sh VSAFE
set -u
case $1 in
/*) VSAFE_BIN=$1 ;;
*) VSAFE_BIN=$PWD/$1 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/transcript.sh"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 2
transcript_begin "$W"
vsafe() { "$VSAFE_BIN" "$@"; }
refused() { run 1 "$2" "^vsafe: .*: $1( |:)"; }

run 0 'export VSAFE_DEVICE=./board VSAFE_MCU_SEED=1'
run 0 'vsafe init' "created a device in ./board"
run 0 'vsafe mcu trustzone on' "TrustZone on"
run 0 'vsafe mcu state PROVISIONING'
run 0 'vsafe mcu reset' "product state PROVISIONING$"
run 0 'vsafe da keygen' "cert_leaf_chain.b64"
run 0 'vsafe da provision' "written to OBK HDPL1"
run 0 'vsafe mcu hostkeys' "host keys in OBK HDPL3-S and in the secure element"
refused ERR_MCU_NEEDS_FORCE 'vsafe mcu state LOCKED'
run 0 'vsafe mcu state CLOSED'
run 0 'vsafe mcu reset' "product state CLOSED$"
run 0 'vsafe mcu show'
expect_field "product state" "CLOSED (0x72)"
expect_field "DA config" "provisioned, mask 77500000000000000000000000000000"
expect_field "host keys" "present (OBK HDPL3-S)"
run 0 'vsafe da discover'
expect_field st_provisioned 0xEAEAEAEA
expect_field product_state 0x72
expect_field attempts_left 16
run 0 'vsafe da open-debug --domain ns --hdpl 3' "^debug reopened: non-secure domain at HDPL3"
run 0 'vsafe mcu show --json' '"ns_hdpl3":true' '"ns_hdpl2":false' '"s_hdpl3":false' '"state":"CLOSED"'
run 0 'vsafe da close-debug' "authenticated debug closed"
run 0 'vsafe mcu reset'
run 0 'vsafe da regress --partial' "^partial regression granted: CLOSED -> TZ_CLOSED "
run 0 'vsafe da regress --full' "^full regression granted: TZ_CLOSED -> OPEN "
run 0 'vsafe mcu show'
expect_field "product state" "OPEN (0xED)"
expect_field "DA config" "not provisioned"
expect_field "host keys" "absent (OBK HDPL3-S)"
expect_field "DHUK epoch" 1
run 0 'vsafe mcu graph' "^digraph product_state \{$" 'OPEN \[label="OPEN\\n0xED", style="rounded,filled'
refused ERR_MCU_TRANSITION 'vsafe da regress --full'
run 0 'vsafe mcu state PROVISIONING'
run 0 'vsafe mcu reset'
refused ERR_MCU_NEEDS_FORCE 'vsafe mcu state CLOSED'
refused ERR_MCU_NEEDS_FORCE 'vsafe da provision --password hunter22'
transcript_end lifecycle_example
