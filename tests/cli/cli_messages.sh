#!/usr/bin/env bash
# Messages a new user met, each asserted in its new text with its exit status, on one stderr line.
set -u
V="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
# run EXPECTED_RC TEXT ARGS...: exit status, stderr contains TEXT, stderr is one line
run() {
  local want="$1" text="$2"; shift 2
  "$V" "$@" >"$T/out" 2>"$T/err"; local rc=$?
  [ "$rc" -eq "$want" ] || { echo "FAIL: vsafe $*: exit $rc, want $want"; fail=1; }
  grep -qF -- "$text" "$T/err" || { echo "FAIL: vsafe $*: stderr lacks '$text': $(cat "$T/err")"; fail=1; }
}
one_line() { [ "$(wc -l <"$T/err")" -eq 1 ] || { echo "FAIL: $1: stderr is not one line"; fail=1; }; }
D="$T/dev"
"$V" --device "$D" init >/dev/null || { echo "FAIL: init"; exit 1; }

# regress_typo_did_you_mean: one line with the nearest command, not the whole usage
run 2 "unknown command 'reed': did you mean 'read'?" --device "$D" reed 1
one_line "typo"
run 2 "unknown command 'frobnicate' (" --device "$D" frobnicate
# regress_profile_missing_file_unknown: a profile file that does not exist is ERR_PROFILE_UNKNOWN
run 1 "ERR_PROFILE_UNKNOWN" --device "$T/d2" init --profile "$T/nosuch.json"
grep -qF 'no such file' "$T/err" || { echo "FAIL: missing profile: no errno text"; fail=1; }
one_line "missing profile"
# regress_odd_hex: an odd number of hex digits says so
run 2 "odd number of hex digits" --device "$D" echo abc
# regress_one_byte_plural: "1 byte", not "1 bytes"
"$V" --device "$D" update 1 --data 00 >"$T/out" 2>&1
grep -qF "wrote 1 byte at offset 0" "$T/out" || { echo "FAIL: update 1 byte: $(cat "$T/out")"; fail=1; }
"$V" --device "$D" read 1 --length 1 >"$T/out" 2>&1
grep -qF "zone 1, offset 0, 1 byte" "$T/out" && ! grep -qF "1 bytes" "$T/out" || { echo "FAIL: read 1 byte: $(cat "$T/out")"; fail=1; }
# regress_info_labels_aligned: every label is followed by at least two spaces before its value
"$V" --device "$D" info >"$T/out" 2>&1 || { echo "FAIL: info"; fail=1; }
grep -q '^key provisioning  plaintext' "$T/out" || { echo "FAIL: info label runs into value: $(grep provisioning "$T/out")"; fail=1; }
[ "$(cut -c19 "$T/out" | grep -c ' ')" -eq 0 ] || { echo "FAIL: info values do not start in one column"; fail=1; }
# regress_random_echo_host_key: random and echo take --host-key
run 1 "/nonexistent-key" --device "$D" random 4 --host-key "$T/nonexistent-key"
run 1 "/nonexistent-key" --device "$D" echo 0102 --host-key "$T/nonexistent-key"
"$V" --device "$D" random --help | grep -q -- "--host-key" || { echo "FAIL: random --help lacks --host-key"; fail=1; }
"$V" --device "$D" echo --help | grep -q -- "--host-key" || { echo "FAIL: echo --help lacks --host-key"; fail=1; }
[ $fail -eq 0 ] && echo "cli_messages: all passed"
exit $fail
