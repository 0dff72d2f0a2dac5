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
# both RC NAME TEXT HINT ARGS...: plain, exit RC and stderr has TEXT (and HINT unless empty); with
# --json, exit RC and stdout is one object {"error": NAME, "message": ...TEXT..., "hint": ...HINT...}
both() {
  local want="$1" name="$2" text="$3" hint="$4"; shift 4
  run "$want" "$text" "$@"
  [ -z "$hint" ] || grep -qF -- "$hint" "$T/err" || { echo "FAIL: vsafe $*: stderr lacks hint '$hint': $(cat "$T/err")"; fail=1; }
  "$V" --json "$@" >"$T/jout" 2>/dev/null; local rc=$?
  [ "$rc" -eq "$want" ] || { echo "FAIL: vsafe --json $*: exit $rc, want $want"; fail=1; }
  python3 - "$T/jout" "$name" "$text" "$hint" <<'PY' || { echo "FAIL: vsafe --json $*: $(cat "$T/jout")"; fail=1; }
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
o = json.loads(lines[0])
assert o["error"] == sys.argv[2], o
assert sys.argv[3] in o["message"], o
assert sys.argv[4] == "" or sys.argv[4] in o.get("hint", ""), o
PY
}
# ok ARGS...: the command succeeds
ok() { "$V" "$@" >"$T/out" 2>"$T/err" || { echo "FAIL: vsafe $*: exit $? ($(cat "$T/err"))"; fail=1; }; }
D="$T/dev"
"$V" --device "$D" init >/dev/null || { echo "FAIL: init"; exit 1; }

# regress_typo_did_you_mean: one line with the nearest command, not the whole usage
run 2 "unknown command 'reed': did you mean 'read'?" --device "$D" reed 1
one_line "typo"
run 2 "unknown command 'frobnicate' (" --device "$D" frobnicate
# regress_profile_missing_file_unknown: a profile file that does not exist is ERR_PROFILE_UNKNOWN
both 1 ERR_PROFILE_UNKNOWN "--profile: cannot read profile file '$T/nosuch.json': No such file or directory" "" \
  --device "$T/d2" init --profile "$T/nosuch.json"
one_line "missing profile"
[ ! -e "$T/d2" ] || { echo "FAIL: a refused init left the directory '$T/d2'"; fail=1; }
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

# ---- Offsets and lengths: one rule (docs/CLI.md). What no device could accept is a usage error
# (exit 2) before anything is sent; everything else the device checks against the zone (exit 1,
# its status, a hint with the zone's length). Zone 1 of spl05 is 1000 bytes, zone 5 a counter zone
# of 64, zone 9 5120 bytes; a frame is 752 bytes: 1 header, Update OPT ZONE OFFSET(2), Decrement 4 more.
big() { head -c "$1" /dev/zero | tr '\0' "${2:-A}" >"$T/data$1"; echo "$T/data$1"; }
both 2 USAGE "--length: 65536 is out of range (0..65535)" "" --device "$D" read 1 --length 65536
both 2 USAGE "--offset: 65536 is out of range (0..65535)" "" --device "$D" read 1 --offset 65536
both 2 USAGE "--offset 65000 + --length 536 ends at 65536, beyond the largest zone a device can have (65535 bytes)" "" \
  --device "$D" read 1 --offset 65000 --length 536
both 1 BOUNDARY_EXCEEDED "read zone 1 offset 65000 length 535" "zone 1 is 1000 bytes: offset 65000 is past its end" \
  --device "$D" read 1 --offset 65000 --length 535
both 2 USAGE "--offset 65535 + data 1 ends at 65536" "" --device "$D" update 1 --offset 65535 --data 00
both 1 BOUNDARY_EXCEEDED "update zone 1 offset 65534 (1 byte)" "offset 65534 is past its end" --device "$D" update 1 --offset 65534 --data 00
both 2 USAGE "--offset 65535 + data 1 ends at 65536" "" --device "$D" decrement 5 --offset 65535 --data 00
# regress_range_two_exit_codes: --offset past the zone's end was a usage error (exit 2) while
# --length past it was the device's BOUNDARY_EXCEEDED (exit 1); both are now the device's
both 1 BOUNDARY_EXCEEDED "read zone 1 from offset 2000 to its end" "zone 1 is 1000 bytes: offset 2000 is past its end" \
  --device "$D" read 1 --offset 2000
both 1 BOUNDARY_EXCEEDED "read zone 1 offset 0 length 2000" \
  "zone 1 is 1000 bytes: offset 0 + 2000 bytes would end at 2000; from offset 0 at most 1000 bytes" --device "$D" read 1 --length 2000
one_line "boundary"
both 1 BOUNDARY_EXCEEDED "read zone 1 offset 0 length 1001" "from offset 0 at most 1000 bytes" --device "$D" read 1 --length 1001
ok --device "$D" read 1 --length 1000
both 1 BOUNDARY_EXCEEDED "read zone 1 from offset 1001 to its end" "offset 1001 is past its end" --device "$D" read 1 --offset 1001
ok --device "$D" read 1 --offset 1000
grep -qF "zone 1, offset 1000, 0 bytes" "$T/out" || { echo "FAIL: read at the zone's end: $(cat "$T/out")"; fail=1; }
both 1 BOUNDARY_EXCEEDED "update zone 1 offset 999 (2 bytes)" "offset 999 + 2 bytes would end at 1001; from offset 999 at most 1 byte" \
  --device "$D" update 1 --offset 999 --data 0000
ok --device "$D" update 1 --offset 999 --data 00
# the frame: an atomic Update carries at most 747 bytes, a Decrement's data 743 (no session)
both 2 USAGE "--atomic --data: 748 bytes do not fit the one Update command that carries them (at most 747 bytes)" "" \
  --device "$D" update 9 --atomic --data-file "$(big 748)"
ok --device "$D" update 9 --atomic --data-file "$(big 747)"
both 2 USAGE "--data: 744 bytes do not fit the one Decrement command that carries them (at most 743 bytes)" "" \
  --device "$D" decrement 5 --data-file "$(big 744)"
both 1 BOUNDARY_EXCEEDED "decrement zone 5 by 1" \
  "zone 5 holds, beside its counter, 64 bytes: offset 0 + 743 bytes would end at 743; from offset 0 at most 64 bytes" \
  --device "$D" decrement 5 --data-file "$(big 743)"
# with a host session the C-MAC takes 4 bytes of the frame
DK="$T/devk"
"$V" --device "$DK" init >/dev/null && "$V" --device "$DK" hostkey provision --out "$T/hk" >/dev/null || { echo "FAIL: host key"; fail=1; }
both 2 USAGE "--atomic --data: 744 bytes do not fit the one Update command that carries them (at most 743 bytes here: the C-MAC takes 4 bytes of the frame)" "" \
  --device "$DK" update 9 --atomic --data-file "$(big 744)" --host-key "$T/hk"
ok --device "$DK" update 9 --atomic --data-file "$(big 743)" --host-key "$T/hk"
both 2 USAGE "--data-file: '$(big 65536)' is longer than 65535 bytes" "" --device "$D" update 9 --data-file "$T/data65536"
# regress_split_update_past_end_writes_nothing: a non-atomic write past the zone's end is refused
# before any of its frames is written (it used to leave the first 747 bytes written)
ok --device "$D" read 1 --length 8 --out "$T/before"
both 1 BOUNDARY_EXCEEDED "update zone 1 offset 0 (1500 bytes)" "from offset 0 at most 1000 bytes" \
  --device "$D" update 1 --data-file "$(big 1500 Z)"
ok --device "$D" read 1 --length 8 --out "$T/after"
cmp -s "$T/before" "$T/after" || { echo "FAIL: a refused split update changed zone 1"; fail=1; }
# the other refusals of zone commands say why, from the partition table
both 1 ENTRY_NOT_FOUND "read zone 99 from offset 0 to its end" "the partition table has 12 zones, 0..11: vsafe zones lists them" \
  --device "$D" read 99
both 1 ENTRY_NOT_FOUND "update zone 99 offset 0 (1 byte)" "12 zones, 0..11" --device "$D" update 99 --data 00
both 1 ENTRY_NOT_FOUND "change read AC of zone 99 to host" "12 zones, 0..11" --device "$D" ac 99 --read host
both 1 WRONG_ZONE_TYPE "update zone 5 offset 0 (1 byte)" "zone 5 is a counter zone: its data is written with vsafe decrement 5 --data HEX" \
  --device "$D" update 5 --data 00
both 1 WRONG_ZONE_TYPE "decrement zone 1 by 1" "zone 1 is a data zone: only counter zones decrement" --device "$D" decrement 1
ok --device "$D" decrement 6 --amount 0xFFFFFFFE
both 1 COUNTER_LIMIT_EXCEEDED "decrement zone 6 by 2" "zone 6's counter is 1: it cannot go down by 2" --device "$D" decrement 6 --amount 2

# ---- Key files: every file error says the path and the system's reason (regress_key_file_errno:
# a missing host key file said only "ERR_NOT_FOUND: not found")
mkdir -p "$T/adir"
both 1 ERR_NOT_FOUND "--host-key: cannot read key file '$T/nokey': No such file or directory" "" --device "$D" read 1 --host-key "$T/nokey"
one_line "missing host key file"
both 1 ERR_IO "--host-key: cannot read key file '$T/adir': Is a directory" "" --device "$D" read 1 --host-key "$T/adir"
both 1 ERR_NOT_FOUND "--host-key: cannot read key file '$T/adir/x/k': No such file or directory" "" --device "$D" update 1 --data 00 --host-key "$T/adir/x/k"
both 1 ERR_NOT_FOUND "--key-file: cannot read key file '$T/nokey': No such file or directory" "" --device "$D" hostkey provision --key-file "$T/nokey"
both 1 ERR_NOT_FOUND "--mac-key-file: cannot read mac-key file '$T/nokey': No such file or directory" "" \
  --device "$D" hostkey provision --mac-key-file "$T/nokey" --cipher-key 00112233445566778899aabbccddeeff
both 1 ERR_NOT_FOUND "--key-file: cannot read key file '$T/nokey': No such file or directory" "" \
  --device "$D" symkey write --slot 3 --mode gcm --key-file "$T/nokey"
both 1 BAD_SECRET "--key-file: cannot read key file '$T/adir': Is a directory" "" --device "$D" symkey write --slot 3 --mode gcm --key-file "$T/adir"
# regress_key_file_write_errno: writing a key file said "no such directory: ERR_NOT_FOUND: not found"
# (its own text twice, no reason) or no reason at all
both 1 ERR_NOT_FOUND "cannot write key file '$T/adir/x/k': No such file or directory" "" --device "$D" hostkey provision --out "$T/adir/x/k"
one_line "key file in a missing directory"
chmod 0500 "$T/adir"
if [ "$(id -u)" != 0 ]; then
  both 1 ERR_IO "cannot write key file '$T/adir/k': Permission denied" "" --device "$D" hostkey provision --out "$T/adir/k"
fi
chmod 0700 "$T/adir"
both 1 ERR_NOT_FOUND "--auth-key: cannot read key file '$T/nokey.pem': No such file or directory" "" \
  --device "$D" symkey write --slot 3 --mode gcm --wrapped --key 00112233445566778899aabbccddeeff --auth-slot 0 --auth-key "$T/nokey.pem"
both 1 ERR_NOT_FOUND "--pubkey-file: cannot read key file '$T/nokey.pem': No such file or directory" "" \
  --device "$D" key verify --pubkey-file "$T/nokey.pem" --signature 00 --digest 00
both 1 ERR_IO "--peer-file: cannot read key file '$T/adir': Is a directory" "" --device "$D" key ecdh --slot 1 --peer-file "$T/adir" --curve P-256
both 1 ERR_NOT_FOUND "--pubkey-file: cannot read key file '$T/nokey.pem': No such file or directory" "" \
  --device "$D" pubkey write --slot 0 --pubkey-file "$T/nokey.pem"
both 1 ERR_NOT_FOUND "--key: cannot read key file '$T/nokey.pem': No such file or directory" "" \
  --device "$D" pubkey authenticate --slot 0 --key "$T/nokey.pem"
both 1 ERR_NOT_FOUND "--data-file: cannot open '$T/nodata': No such file or directory" "" --device "$D" update 1 --data-file "$T/nodata"

# ---- Key type and length mismatches say what was expected and what was given
# (regress_key_mismatch_says_which)
sed 's/^type aes128/type aes256/' "$T/hk" >"$T/hk-type256"
both 1 BAD_KEY_FILE "--host-key: key file '$T/hk-type256': 'type aes256' takes 32-byte mac and cipher keys, and it holds a 16-byte key" "" \
  --device "$DK" read 1 --host-key "$T/hk-type256"
python3 - "$T/hk" "$T/hk256" <<'PY'
import re, sys
t = open(sys.argv[1]).read().replace("type aes128", "type aes256")
open(sys.argv[2], "w").write(re.sub(r"^(mac|cipher) ([0-9a-f]+)$", lambda m: m.group(1) + " " + m.group(2) * 2, t, flags=re.M))
PY
both 1 WRONG_KEY_TYPE "open host session with '$T/hk256'" "'$T/hk256' holds 32-byte AES-256 keys, the device's host key slot a 16-byte AES-128 key" \
  --device "$DK" read 1 --host-key "$T/hk256"
both 1 KEY_NOT_FOUND "open host session with '$T/hk'" "the device holds no host key: vsafe hostkey provision --out F makes one" \
  --device "$D" read 1 --host-key "$T/hk"
both 2 USAGE "--mac-key: 2 bytes given, an AES-128 host key is 16 bytes (32 hex digits; with --aes256, 32)" "" \
  --device "$D" hostkey provision --mac-key 0011 --cipher-key 0011 --out "$T/hk-new"
both 2 USAGE "--cipher-key: 16 bytes given, an AES-256 host key is 32 bytes (64 hex digits; without --aes256, 16)" "" \
  --device "$D" hostkey provision --aes256 --mac-key 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff \
  --cipher-key 00112233445566778899aabbccddeeff --out "$T/hk-new"
both 2 USAGE "--key: 16 bytes given, an aes256 key (--type aes256) is 32 bytes" "" \
  --device "$D" symkey write --slot 3 --mode gcm --type aes256 --key 00112233445566778899aabbccddeeff
both 2 USAGE "--key: 2 bytes given, a generic key of --key-len 32 is 32 bytes" "" --device "$D" symkey write --slot 3 --mode hmac --key 0011
both 2 USAGE "--key: 32 bytes given, a wrapped write of an aes128 key carries 16 bytes" "" \
  --device "$D" symkey write --slot 3 --mode gcm --wrapped --key 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
openssl ecparam -name prime256v1 -genkey -noout -out "$T/p256.pem" && openssl ec -in "$T/p256.pem" -pubout -out "$T/p256pub.pem" 2>/dev/null
openssl ecparam -name secp384r1 -genkey -noout -out "$T/p384.pem" && openssl ec -in "$T/p384.pem" -pubout -out "$T/p384pub.pem" 2>/dev/null
ok --device "$D" key generate --slot 1 --curve P-256
both 1 BAD_PUBLIC_KEY "--peer-file: '$T/p384pub.pem' holds a P-384 key, P-256 expected" "" --device "$D" key ecdh --slot 1 --peer-file "$T/p384pub.pem"
both 1 KEY_NOT_FOUND "entity signature check by slot 0" "generic public key slot 0 is empty: vsafe pubkey write --slot 0 --pubkey-file F" \
  --device "$D" pubkey authenticate --slot 0 --key "$T/p256.pem"
ok --device "$D" pubkey write --slot 0 --pubkey-file "$T/p256pub.pem"
both 1 ACCESS_CONDITION_NOT_SATISFIED "entity signature check by slot 0" "--key '$T/p384.pem' holds a P-384 key, generic public key slot 0 a P-256 key" \
  --device "$D" pubkey authenticate --slot 0 --key "$T/p384.pem"
both 1 ACCESS_CONDITION_NOT_SATISFIED "entity signature check by slot 0" "generic public key slot 0 may not authenticate entities: vsafe pubkey flags --slot 0 --set entity-auth" \
  --device "$D" pubkey authenticate --slot 0 --key "$T/p256.pem"
ok --device "$D" pubkey flags --slot 0 --set entity-auth,kek-session
ok --device "$D" symkey ctrl --slot 3 --set wrapped --wrapped-auth 0
both 1 INCONSISTENT_COMMAND_DATA "write an aes128 gcm key into symmetric key slot 3 (wrapped-authenticated)" \
  "--auth-key '$T/p384.pem' holds a P-384 key, generic public key slot 0 a P-256 key" \
  --device "$D" symkey write --slot 3 --mode gcm --wrapped --key 00112233445566778899aabbccddeeff --auth-slot 0 --auth-key "$T/p384.pem"
ok --device "$D" pubkey authenticate --slot 0 --key "$T/p256.pem"

# ---- init: each failure blames what failed, with the system's reason (regress_init_blames_profile:
# --device /proc init said "cannot create the device from profile 'spl05'")
both 1 ERR_NOT_FOUND "cannot write the device directory '/proc': cannot create '/proc/se.nvm.new': No such file or directory" "" \
  --device /proc init
one_line "init in /proc"
both 1 ERR_NOT_FOUND "cannot create the device directory '/proc/vsafe-test': No such file or directory" "" --device /proc/vsafe-test init
touch "$T/plainfile"
both 1 ERR_NOT_FOUND "cannot create the device directory '$T/plainfile/dev': Not a directory" "" --device "$T/plainfile/dev" init
both 1 ERR_IO "cannot use '$T/plainfile' as the device directory: Not a directory" "" --device "$T/plainfile" init
both 1 ERR_IO "--profile: cannot read profile file '$T/adir': Is a directory" "" --device "$T/d3" init --profile "$T/adir"
echo 'nojson' >"$T/bad.json"
both 1 ERR_PROFILE_SYNTAX "--profile: $T/bad.json:1:" "" --device "$T/d3" init --profile "$T/bad.json"
grep -qF "from profile" "$T/err" && { echo "FAIL: a profile error still says 'from profile'"; fail=1; }
echo '{"zones": []}' >"$T/nozones.json"
both 1 ERR_BAD_PROFILE "--profile: $T/nozones.json:1: zones: a profile needs at least one zone" "" --device "$T/d3" init --profile "$T/nozones.json"
both 1 ERR_PROFILE_UNKNOWN "--profile: unknown profile \"nosuch\": not a built-in" "" --device "$T/d3" init --profile nosuch
both 1 ERR_NOT_FOUND "--ca-cert: cannot open '$T/noca.pem': No such file or directory" "" \
  --device "$T/d3" init --ca-cert "$T/noca.pem" --ca-key "$T/p256.pem"
both 1 ERR_NOT_FOUND "--ca-key: cannot read key file '$T/noca.key': No such file or directory" "" \
  --device "$T/d3" init --ca-cert "$T/p256pub.pem" --ca-key "$T/noca.key"
[ ! -e "$T/d3" ] || { echo "FAIL: refused inits left the directory '$T/d3'"; fail=1; }
both 1 DEVICE_EXISTS "a device already exists in '$D'; use --force to replace it (its state is lost)" "" --device "$D" init

# ---- Other failures that printed no JSON, or no reason (regress_refusals_without_json: --connect
# refusals and --pcap printed only a stderr line; identity ignored a --ca-cert it could not read)
both 2 USAGE "'init' works on a device directory and cannot go through --connect" "" --connect "$T/nosock" init
both 2 USAGE "--cut-after cannot go through --connect" "" --connect "$T/nosock" --cut-after 1 zones
both 1 ERR_IO "--pcap: cannot create '$T/adir/x/c.pcap': No such file or directory" "" --device "$D" --pcap "$T/adir/x/c.pcap" zones
both 1 ERR_NOT_FOUND "--ca-cert: cannot open '$T/noca.pem': No such file or directory" "" --device "$D" identity --ca-cert "$T/noca.pem"
# regress_da_regress_needs_state: a regression refused for the product state says which state it
# needs (not a bare ERR_MCU_TRANSITION), on one line, before any attempt is spent
M="$T/mcu"
"$V" --device "$M" init >/dev/null && "$V" --device "$M" mcu trustzone on >/dev/null || { echo "FAIL: mcu set-up"; fail=1; }
run 1 "a full regression needs PROVISIONING, iROT_PROVISIONED, TZ_CLOSED or CLOSED, a partial one CLOSED with TrustZone on" \
  --device "$M" da regress --full --password hunter22
grep -qF "ERR_MCU_TRANSITION" "$T/err" && grep -qF "the product is OPEN" "$T/err" || { echo "FAIL: OPEN refusal: $(cat "$T/err")"; fail=1; }
one_line "da regress in OPEN"
"$V" --device "$M" mcu state PROVISIONING >/dev/null && "$V" --device "$M" mcu reset >/dev/null && "$V" --device "$M" da keygen >/dev/null \
  && "$V" --device "$M" da provision >/dev/null || { echo "FAIL: provisioning set-up"; fail=1; }
run 1 "a partial regression needs CLOSED with TrustZone on; the product is PROVISIONING with TrustZone on" \
  --device "$M" da regress --partial
one_line "da regress --partial in PROVISIONING"
"$V" --device "$M" --json mcu show | grep -qF '"da_attempts":0,' || { echo "FAIL: the refused partial regression spent an attempt"; fail=1; }
[ $fail -eq 0 ] && echo "cli_messages: all passed"
exit $fail
