#!/usr/bin/env bash
# What a walk through README.md and docs/CLI.md as a new user found where the program, not the
# document, was wrong: each finding asserted in its new behaviour (exit status, text, JSON shape).
set -u
V="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
# run EXPECTED_RC ARGS...: stdout in $T/out, stderr in $T/err
run() {
  local want="$1"; shift
  "$V" "$@" >"$T/out" 2>"$T/err"; local rc=$?
  [ "$rc" -eq "$want" ] || bad "vsafe $*: exit $rc, want $want: $(cat "$T/err")"
}
err_has() { grep -qF -- "$1" "$T/err" || bad "$2: stderr lacks '$1': $(cat "$T/err")"; }
# json_is PY_EXPR: the expression over o (stdout parsed as JSON) is true
json_is() { python3 -c "import json,sys; o=json.load(open('$T/out')); sys.exit(0 if ($1) else 1)" 2>/dev/null \
  || bad "$2: JSON $(cat "$T/out") fails: $1"; }
D="$T/dev"
export VSAFE_CA_DIR="$T/ca"
"$V" --device "$D" init >/dev/null || { echo "FAIL: init"; exit 1; }

# regress_usage_lists_every_option: the usage line names the options the command's help describes
run 0 init --help
grep -q '^usage: vsafe init .*\[--durability power|process\]' "$T/out" || bad "init usage lacks --durability: $(head -1 "$T/out")"
run 0 identity --help
grep -q '^usage: vsafe identity \[--ca-cert F\]' "$T/out" || bad "identity usage lacks --ca-cert: $(head -1 "$T/out")"

# regress_init_blames_directory: a state file that cannot be created is the directory's fault, not
# the profile's
run 1 --device /proc init
err_has "cannot write the device directory '/proc': cannot create '/proc/se.nvm.new'" "init in /proc"
grep -qF "from profile" "$T/err" && bad "init in /proc blames the profile: $(cat "$T/err")"

# regress_identity_export_sentence: "the certificate to A and the CA certificate to B", and its
# JSON under the command's name
run 0 --device "$D" identity export --cert "$T/c.pem" --ca "$T/ca.pem"
grep -qxF "exported the certificate to $T/c.pem and the CA certificate to $T/ca.pem (PEM)" "$T/out" \
  || bad "identity export text: $(cat "$T/out")"
run 0 --device "$D" --json identity export --cert "$T/c2.der" --der
json_is 'o == {"identity_export": {"cert": "'"$T/c2.der"'", "ca": None, "format": "der"}}' "identity export JSON"

# regress_json_under_command_name: info, status and ctl stats/list put their result under the
# command's name, like every other command
run 0 --device "$D" --json info
json_is 'list(o) == ["info"] and o["info"]["mask_id"] == "006001"' "info JSON"
run 0 --json status 0x11
json_is 'list(o) == ["status"] and o["status"]["wire_status"] == 17' "status JSON"
run 0 --json status --list
json_is 'list(o) == ["status"] and o["status"][0]["name"] == "OK"' "status --list JSON"

# regress_cmdac_refusal_hints: a refused command-table Put says why
run 1 --device "$D" cmdac set reset --ac host
err_has "the command table has no entry for 01" "cmdac set for a command the table lacks"
run 0 --device "$D" cmdac set echo --ac free
run 1 --device "$D" cmdac set echo --ac host
err_has "the command table's AC change right was cleared" "second cmdac set"
run 1 --device "$D" --json cmdac set echo --ac host
json_is '"change right was cleared" in o["hint"]' "second cmdac set, JSON hint"

# regress_symkey_write_ctrl_hint: a write the slot's control fields refuse says so (and "an aes128")
run 1 --device "$D" symkey write --slot 3 --mode gcm --key 000102030405060708090a0b0c0d0e0f
err_has "write an aes128 gcm key into symmetric key slot 3 (plaintext)" "symkey write"
err_has "slot 3's provisioning control fields do not allow plaintext writes: vsafe symkey ctrl --slot 3 --set plaintext" "symkey write"

# regress_key_len_not_ignored: --key-len with a wrapped write or an establishment (always 16 bytes
# but for aes256) is refused, not silently ignored; a refused establishment names the control field
run 2 --device "$D" symkey establish --slot 4 --mode hmac --key-len 24
err_has "--key-len does not go with establish" "establish --key-len"
run 2 --device "$D" symkey write --slot 4 --mode hmac --key-len 24 --wrapped --key 000102030405060708090a0b0c0d0e0f
err_has "--key-len does not go with --wrapped" "wrapped write --key-len"
run 1 --device "$D" symkey establish --slot 4 --mode hmac
err_has "slot 4's provisioning control fields do not allow anonymous ECDHE establishment: vsafe symkey ctrl --slot 4 --set ecdhe" "establish refused"

# regress_wrap_payload_blocks: a payload AES key wrap cannot take is a usage error, nothing sent
run 0 --device "$D" envelope keygen --slot 0
run 2 --device "$D" wrap --slot 0 --data 0102
err_has "2 bytes given, 16..480 expected" "wrap 2 bytes"
run 2 --device "$D" wrap --slot 0 --data 000102030405060708090a0b0c0d0e0f00
err_has "17 bytes, not a multiple of 8" "wrap 17 bytes"

# regress_json_out_null: a key-service result has "out" (null without --out), as documented
run 0 --device "$D" --json key show --slot 0
json_is '"out" in o["key_show"] and o["key_show"]["out"] is None' "key show JSON out"
run 0 --device "$D" --json key ecdhe --curve P-256
json_is '"out" in o["key_ecdhe"] and o["key_ecdhe"]["out"] is None' "key ecdhe JSON out"

run 0 --device "$D" --json hash --data 616263
json_is 'o["hash"]["out"] is None and o["hash"]["digest"].startswith("ba7816bf")' "hash JSON out"

# regress_check_json_under_name: check --json is {"check": {...}} like every other command
run 0 --device "$D" --json check
json_is 'list(o) == ["check"] and o["check"]["valid"] is True and "salvages" in o["check"]' "check JSON"

# regress_write_once_hints: a second write to a write-once slot says the slot is taken
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/p.key" 2>/dev/null \
  && openssl pkey -in "$T/p.key" -pubout -out "$T/p.pem" 2>/dev/null || bad "openssl key"
run 0 --device "$D" pubkey write --slot 0 --pubkey-file "$T/p.pem"
run 1 --device "$D" pubkey write --slot 0 --pubkey-file "$T/p.pem"
err_has "(the slot already holds a key, and generic public key slots are write-once)" "second pubkey write"
run 1 --device "$D" envelope keygen --slot 0
err_has "(the slot already holds a key, and a local envelope key is never replaced)" "second envelope keygen"
# (regress_json_out_null, continued) pubkey show reports its --out too
run 0 --device "$D" --json pubkey show --slot 0 --out "$T/gpk.pem"
json_is 'o["pubkey_show"]["out"] == "'"$T/gpk.pem"'"' "pubkey show JSON out"

# regress_no_cut_grammar: a command that needs no NVM operation is not "fewer than 1 NVM operations"
run 0 --device "$D" --cut-after 1 random 4
err_has "vsafe: no power cut: the command ended before NVM operation 1" "cut-after on random"

# regress_served_power_off_hint: a served device that is powered off is named as such, and ctl
# stats/list answer under "ctl"
S="$T/s.sock"
"$V" serve --device "$D" --socket "$S" --pid-file "$T/pid" >"$T/ready" 2>"$T/serve.err" &
for _ in $(seq 100); do [ -s "$T/ready" ] && break; sleep 0.05; done
[ -s "$T/ready" ] || bad "serve did not start: $(cat "$T/serve.err")"
run 0 --connect "$S" --json ctl stats
json_is 'list(o) == ["ctl"] and "commands" in o["ctl"]["stats"]' "ctl stats JSON"
run 0 --connect "$S" --json ctl list
json_is 'o == {"ctl": {"devices": ["dev"]}}' "ctl list JSON"
# regress_locked_hint_names_connect: a device that a server holds points at --connect
run 1 --device "$D" zones
err_has "ERR_LOCKED: device is in use by another process (--wait SECONDS waits for it; a device that vsafe serve holds is reached with --connect ADDR)" "zones on a served device"
run 0 --connect "$S" ctl power off
run 1 --connect "$S" zones
err_has "ERR_HOST_NACK" "zones on a powered-off served device"
err_has "(a served device does not answer while it is powered off: vsafe --connect ADDR ctl power on)" "zones powered off"
kill -TERM "$(cat "$T/pid")" 2>/dev/null
wait

[ "$fail" -eq 0 ] && echo "cli_docwalk: all findings hold"
exit "$fail"
