#!/usr/bin/env bash
# The CLI conventions tpm2-tools and swtpm users rely on: version, status lookup by wire byte.
# Expected values are the protocol's (wire byte 0x11 is the A120's "access condition not
# satisfied", 0x04 "command code not supported"), not read back from vsafe.
set -u
V="$1"
fail=0
check() { # description, then the command; the command must succeed
  local what="$1"; shift
  out=$("$@" 2>&1); local rc=$?
  if [ $rc -ne 0 ]; then echo "FAIL: $what: exit $rc ($out)"; fail=1; fi
}
expect_fail() {
  local what="$1"; shift
  if out=$("$@" 2>&1); then echo "FAIL: $what: succeeded ($out)"; fail=1; fi
}

# vsafe --version / -V: "vsafe X.Y.Z", exit 0
out=$("$V" --version) || { echo "FAIL: --version exit $?"; fail=1; }
echo "$out" | grep -Eq '^vsafe [0-9]+\.[0-9]+\.[0-9]+$' || { echo "FAIL: --version printed '$out'"; fail=1; }
[ "$("$V" -V)" = "$out" ] || { echo "FAIL: -V differs from --version"; fail=1; }

# vsafe status with a wire byte, hex or decimal, names the same status as the name does
for q in 0x11 17 0X11; do
  check "status $q" "$V" status "$q"
  echo "$out" | grep -q 'ACCESS_CONDITION_NOT_SATISFIED' || { echo "FAIL: status $q printed '$out'"; fail=1; }
  echo "$out" | grep -q '0x11' || { echo "FAIL: status $q does not show the wire byte"; fail=1; }
done
check "status 0x04" "$V" status 0x04
echo "$out" | grep -q 'COMMAND_CODE_NOT_SUPPORTED' || { echo "FAIL: status 0x04 printed '$out'"; fail=1; }
by_name=$("$V" --json status ACCESS_CONDITION_NOT_SATISFIED)
by_wire=$("$V" --json status 0x11)
[ "$by_name" = "$by_wire" ] || { echo "FAIL: --json status by name and by wire byte differ"; fail=1; }
echo "$by_wire" | python3 -c 'import json,sys; o=json.load(sys.stdin)["status"]; assert o["wire_status"]==0x11 and o["name"]=="ACCESS_CONDITION_NOT_SATISFIED", o' \
  || { echo "FAIL: --json status 0x11 shape"; fail=1; }
# a library value is 0 or negative: 0 is OK
check "status 0" "$V" status 0
echo "$out" | grep -q '^0  OK' || { echo "FAIL: status 0 printed '$out'"; fail=1; }
# out of range and undefined bytes are refused with a reason
expect_fail "status 300" "$V" status 300
echo "$out" | grep -q '1..255' || { echo "FAIL: status 300 message '$out'"; fail=1; }
expect_fail "status 0x99" "$V" status 0x99
expect_fail "status nosuch" "$V" status nosuch

# One JSON shape for a command's result: the fields once, under the command's name (never also
# flat at the top level).
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT
"$V" --device "$D/dev" init >/dev/null || { echo "FAIL: init"; fail=1; }
shape() { # command name, then its arguments
  local name="$1"; shift
  "$V" --device "$D/dev" --json "$@" | python3 -c '
import json, sys
name = sys.argv[1]
o = json.load(sys.stdin)
assert list(o) == [name], "top level %r, wanted only %r" % (list(o), name)
assert isinstance(o[name], (dict, list)), o' "$name" || { echo "FAIL: --json $* shape"; fail=1; }
}
shape read read 1 --length 4
shape read read 5 --length 0
shape update update 1 --data 0102
shape decrement decrement 5
shape zones zones
"$V" --device "$D/dev" --json read 5 --length 2 | python3 -c '
import json, sys
r = json.load(sys.stdin)["read"]
assert r["zone"] == 5 and r["offset"] == 0 and r["data"] == "0000" and r["counter"] == 0xFFFFFFFE, r' \
  || { echo "FAIL: --json read fields"; fail=1; }

# Binary input and output: --data-file (a file or - for stdin) wherever --data HEX is taken,
# read --out FILE; bytes round-trip exactly, NUL and 0xFF included.
printf 'a\000b\377c' >"$D/blob"
"$V" --device "$D/dev" update 1 --data-file "$D/blob" >/dev/null || { echo "FAIL: update --data-file"; fail=1; }
"$V" --device "$D/dev" read 1 --length 5 --out "$D/back" >/dev/null || { echo "FAIL: read --out"; fail=1; }
cmp -s "$D/blob" "$D/back" || { echo "FAIL: update --data-file / read --out did not round-trip"; fail=1; }
[ "$("$V" --device "$D/dev" --json read 1 --length 5 | python3 -c 'import json,sys; print(json.load(sys.stdin)["read"]["data"])')" = "610062ff63" ] \
  || { echo "FAIL: the bytes written from the file are not a 00 b ff c"; fail=1; }
printf '\001\002' | "$V" --device "$D/dev" decrement 5 --data-file - >/dev/null || { echo "FAIL: decrement --data-file -"; fail=1; }
[ "$("$V" --device "$D/dev" read 5 --length 2 --out - | od -An -tx1 | tr -d ' ')" = "0102" ] \
  || { echo "FAIL: decrement --data-file - / read --out - did not round-trip"; fail=1; }
"$V" --device "$D/dev" update 1 --data 00 --data-file "$D/blob" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: --data with --data-file exits $rc, wanted 2"; fail=1; }
"$V" --device "$D/dev" update 1 --data-file "$D/nosuch" >/dev/null 2>&1; rc=$?
[ $rc -ne 0 ] || { echo "FAIL: --data-file of a missing file succeeded"; fail=1; }
cmp -s "$D/blob" <("$V" --device "$D/dev" read 1 --length 5 --out -) || { echo "FAIL: a refused update changed zone 1"; fail=1; }

# --wait: a device another process holds (flock, as a running vsafe or server holds it) fails at
# once with ERR_LOCKED, and with --wait S succeeds once the holder lets go.
if command -v flock >/dev/null; then
  flock -x "$D/dev/se.nvm" sleep 1.5 &
  holder=$!
  sleep 0.3
  out=$("$V" --device "$D/dev" --json read 1 --length 1 2>/dev/null); rc=$?
  [ $rc -eq 1 ] && echo "$out" | grep -q '"error":"ERR_LOCKED"' || { echo "FAIL: a held device gave exit $rc '$out', wanted ERR_LOCKED"; fail=1; }
  "$V" --device "$D/dev" --wait 10 read 1 --length 1 >/dev/null || { echo "FAIL: --wait 10 did not get the device"; fail=1; }
  kill -0 $holder 2>/dev/null && { echo "FAIL: --wait returned while the holder still held the device"; fail=1; }
  wait $holder 2>/dev/null
  "$V" --device "$D/dev" --wait x read 1 >/dev/null 2>&1; rc=$?
  [ $rc -eq 2 ] || { echo "FAIL: --wait x exits $rc, wanted 2"; fail=1; }
else
  echo "--wait: SKIPPED (no flock(1))"
fi

# VSAFE_SE_SEED makes the device's random generator repeatable: two devices created and used with
# the same seed give the same bytes, another seed others.
for n in s1 s2; do VSAFE_SE_SEED=0x2a "$V" --device "$D/$n" init >/dev/null || { echo "FAIL: seeded init"; fail=1; }; done
r1=$(VSAFE_SE_SEED=42 "$V" --device "$D/s1" random 16)
r2=$(VSAFE_SE_SEED=42 "$V" --device "$D/s2" random 16)
r3=$(VSAFE_SE_SEED=43 "$V" --device "$D/s2" random 16)
[ -n "$r1" ] && [ "$r1" = "$r2" ] || { echo "FAIL: same VSAFE_SE_SEED gave '$r1' and '$r2'"; fail=1; }
[ "$r1" != "$r3" ] || { echo "FAIL: another VSAFE_SE_SEED gave the same bytes"; fail=1; }
# regress_seeded_runs_repeat: a seeded generator restarted from the seed in every process, so two
# commands drew the same bytes and a key generated into slot 1 was slot 0's identity key. Each run
# now has its own seed, repeatable from init on (s1 and s2 above ran the same commands).
r4=$(VSAFE_SE_SEED=42 "$V" --device "$D/s1" random 16)
r5=$(VSAFE_SE_SEED=42 "$V" --device "$D/s2" random 16)
[ -n "$r4" ] && [ "$r4" != "$r1" ] || { echo "FAIL: regress_seeded_runs_repeat: two seeded runs drew '$r1' and '$r4'"; fail=1; }
VSAFE_SE_SEED=42 "$V" --device "$D/s3" init >/dev/null
k1=$(VSAFE_SE_SEED=42 "$V" --device "$D/s3" --json key generate --slot 1 --curve P-256 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["key_generate"]["public_key"])')
k0=$(VSAFE_SE_SEED=42 "$V" --device "$D/s3" --json identity |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["identity"]["public_key"])')
[ -n "$k1" ] && [ "${k0#04}" != "$k1" ] || { echo "FAIL: regress_seeded_runs_repeat: slot 1's new key is the identity key ($k1)"; fail=1; }
for n in m1 m2; do VSAFE_MCU_SEED=7 "$V" --device "$D/$n" mcu trustzone on >/dev/null; done
c1=$(VSAFE_MCU_SEED=7 "$V" --device "$D/m1" --json mcu show); c2=$(VSAFE_MCU_SEED=7 "$V" --device "$D/m2" --json mcu show)
[ "$c1" = "$c2" ] || { echo "FAIL: two MCUs with one seed differ"; fail=1; }
VSAFE_SE_SEED=nope "$V" --device "$D/s1" random 4 >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: VSAFE_SE_SEED=nope exits $rc, wanted 2"; fail=1; }

# Profiles by name from $VSAFE_PROFILE_PATH; a profile with no zones is refused, nothing created.
mkdir -p "$D/prof"
printf '{"name": "tiny", "zones": [{"index": 0, "length": 1000}]}\n' >"$D/prof/tiny.json"
printf '{"name": "small0", "zones": [{"index": 0, "length": 16}]}\n' >"$D/prof/small0.json"
printf '{"name": "empty", "zones": []}\n' >"$D/prof/empty.json"
VSAFE_PROFILE_PATH="$D/nowhere:$D/prof" "$V" --device "$D/tiny" init --profile tiny >/dev/null \
  || { echo "FAIL: init --profile tiny from VSAFE_PROFILE_PATH"; fail=1; }
[ "$("$V" --device "$D/tiny" --json zones | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["zones"]))')" = 1 ] \
  || { echo "FAIL: the tiny profile's device does not have 1 zone"; fail=1; }
# vsafe info shows the profile the device was made from
"$V" --device "$D/tiny" info | grep -q "^profile  *tiny$" || { echo "FAIL: info does not show profile tiny"; fail=1; }
[ "$("$V" --device "$D/dev" --json info | python3 -c 'import json,sys; print(json.load(sys.stdin)["info"]["profile"])')" = spl05 ] \
  || { echo "FAIL: --json info has no profile spl05"; fail=1; }
out=$(VSAFE_PROFILE_PATH="$D/prof" "$V" --device "$D/empty" init --profile empty 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "at least one zone" || { echo "FAIL: a profile with no zones: exit $rc '$out'"; fail=1; }
[ -e "$D/empty/se.nvm" ] && { echo "FAIL: a refused profile left a device"; fail=1; }
# zone 0 too small for the device certificate: refused with the reason, not "invalid argument"
out=$(VSAFE_PROFILE_PATH="$D/prof" "$V" --device "$D/small0" init --profile small0 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "zone 0 of at least" || { echo "FAIL: a zone 0 too small: exit $rc '$out'"; fail=1; }
"$V" --device "$D/none2" init --profile nosuchprofile >/dev/null 2>&1 && { echo "FAIL: an unknown profile name was accepted"; fail=1; }

# A bare ACCESS_CONDITION_NOT_SATISFIED gets the reason when the CLI knows it, on the same line
# (stderr) and as "hint" (JSON); the status is still named and the exit status 1.
H="$D/hints"
"$V" --device "$H" init >/dev/null
"$V" --device "$H" ac 1 --update host >/dev/null
"$V" --device "$H" ac 2 --update never --lock >/dev/null
hint() { # expected text, then the command
  local want="$1"; shift
  err=$("$V" --device "$H" "$@" 2>&1 >/dev/null); rc=$?
  [ $rc -eq 1 ] || { echo "FAIL: $* exits $rc, wanted 1"; fail=1; }
  [ "$(echo "$err" | wc -l)" -eq 1 ] || { echo "FAIL: $*: refusal is not one line: $err"; fail=1; }
  echo "$err" | grep -q "ACCESS_CONDITION_NOT_SATISFIED" || { echo "FAIL: $*: status not named: $err"; fail=1; }
  echo "$err" | grep -q -- "$want" || { echo "FAIL: $*: no hint '$want' in: $err"; fail=1; }
}
hint "give --host-key FILE" update 1 --data 01
hint "can only be made stricter" ac 1 --update always
hint "update AC is never" update 2 --data 01
hint "change right was cleared" ac 2 --update never
hint "update zone 0 offset 0 (1 byte): " update 0 --data 00
"$V" --device "$H" --json update 1 --data 01 2>/dev/null | python3 -c '
import json, sys
o = json.load(sys.stdin)
assert o["error"] == "ACCESS_CONDITION_NOT_SATISFIED" and "--host-key" in o["hint"], o' || { echo "FAIL: JSON hint"; fail=1; }

# MCU and DA messages from the trial: OBK read in OPEN says why; discover counts in decimal; a
# regression with no credential says what to give; provisioning in OPEN names the state.
M="$D/mcu"
"$V" --device "$M" init >/dev/null && "$V" --device "$M" mcu reset >/dev/null || { echo "FAIL: mcu set-up"; fail=1; }
err=$("$V" --device "$M" mcu obk read HDPL1 --length 4 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$err" | grep -q "not readable in OPEN" || { echo "FAIL: obk read in OPEN: $rc '$err'"; fail=1; }
err=$("$V" --device "$M" da provision --password secret12 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$err" | grep -q "the state is OPEN" || { echo "FAIL: da provision in OPEN: $rc '$err'"; fail=1; }
"$V" --device "$M" mcu state PROVISIONING >/dev/null && "$V" --device "$M" mcu reset >/dev/null
"$V" --device "$M" da discover | grep -Eq '^attempts_left +16$' || { echo "FAIL: da discover attempts_left is not decimal 16"; fail=1; }
err=$("$V" --device "$M" da regress --full 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$err" | grep -q "no credential" && echo "$err" | grep -q -- "--password" \
  || { echo "FAIL: da regress without a credential: $rc '$err'"; fail=1; }
"$V" status ERR_MCU_NEEDS_FORCE | grep -q "unrecoverable" && { echo "FAIL: NEEDS_FORCE still claims every case is unrecoverable"; fail=1; }

[ $fail -eq 0 ] && echo "cli conventions: ok"
exit $fail
