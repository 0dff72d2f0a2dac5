#!/usr/bin/env bash
# ST's DA sample files through the CLI, exactly as the contract names them:
#   vsafe da provision --obk DA_Config.obk; vsafe da regress --full|--partial --chain
#   cert_leaf_chain.b64 --key key_3_leaf.pem; vsafe da open-debug (same); vsafe da regress --full
#   --password-file password.bin (after provisioning DA_ConfigWithPassword.obk, TrustZone off).
# The files are read where they are (never copied into the repository); without them the test is
# skipped (exit 77). usage: st_samples_cli.sh VSAFE DEFAULT_DIR ($VSAFE_ST_DA_DIR overrides)
set -u
V="$1"
S="${VSAFE_ST_DA_DIR:-$2}"
if [ ! -f "$S/Certificates/cert_leaf_chain.b64" ]; then
    echo "SKIP: ST's DA sample set is not at $S (set VSAFE_ST_DA_DIR): nothing tested"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export VSAFE_MCU_SEED=5
n=0
fails=0
ok() { n=$((n + 1)); }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
field() { "$V" --device "$1" --json mcu show 2>/dev/null | sed -n "s/.*\"$2\":\\([^,}]*\\).*/\\1/p"; }
closed_board() { # closed_board DIR on|off OBK
    { "$V" --device "$1" init && "$V" --device "$1" mcu trustzone "$2" && "$V" --device "$1" mcu state PROVISIONING &&
        "$V" --device "$1" mcu reset && "$V" --device "$1" da provision --obk "$3" &&
        "$V" --device "$1" mcu state CLOSED --force && "$V" --device "$1" mcu reset; } >"$T/setup" 2>&1
}
CH="$S/Certificates/cert_leaf_chain.b64"
KEY="$S/Keys/key_3_leaf.pem"

D="$T/cert"
closed_board "$D" on "$S/Binary/DA_Config.obk" && ok || bad "certificate board: $(cat "$T/setup")"
grep -q "DA configuration valid" "$T/setup" && ok || bad "provision --obk did not find a valid DA configuration"
"$V" --device "$D" da discover >"$T/out" 2>&1 && grep -q "st_provisioned *0xEAEAEAEA" "$T/out" && ok || bad "discover: $(cat "$T/out")"
grep -q "soc_class *0x484" "$T/out" && ok || bad "soc_class is not STM32H573's 0x484"
"$V" --device "$D" da open-debug --per h --chain "$CH" --key "$KEY" >"$T/out" 2>&1 && ok || bad "open-debug: $(cat "$T/out")"
"$V" --device "$D" da regress --partial --chain "$CH" --key "$KEY" >"$T/out" 2>&1 && ok || bad "partial: $(cat "$T/out")"
[ "$(field "$D" state | tr -d '"')" = TZ_CLOSED ] && ok || bad "partial regression did not reach TZ_CLOSED"
# a chain with one base64 character changed is refused and costs one attempt
sed 's/^\(.\{500\}\)./\1A/' "$CH" >"$T/bad.b64"
cmp -s "$CH" "$T/bad.b64" && sed 's/^\(.\{500\}\)./\1B/' "$CH" >"$T/bad.b64"
"$V" --device "$D" da regress --full --chain "$T/bad.b64" --key "$KEY" >"$T/out" 2>&1
[ $? -ne 0 ] && ok || bad "a tampered chain was accepted"
[ "$(field "$D" da_attempts)" = 1 ] && ok || bad "the refusal cost $(field "$D" da_attempts) attempts, want 1"
"$V" --device "$D" da regress --full --chain "$CH" --key "$KEY" >"$T/out" 2>&1 && ok || bad "full: $(cat "$T/out")"
[ "$(field "$D" state | tr -d '"')" = OPEN ] && ok || bad "full regression did not reach OPEN"

D="$T/pw"
closed_board "$D" off "$S/Binary/DA_ConfigWithPassword.obk" && ok || bad "password board: $(cat "$T/setup")"
"$V" --device "$D" da regress --full --password wrong-password >/dev/null 2>&1
[ $? -ne 0 ] && ok || bad "a wrong password was accepted"
"$V" --device "$D" da regress --full --password-file "$S/Binary/password.bin" >"$T/out" 2>&1 && ok \
    || bad "password.bin: $(cat "$T/out")"
[ "$(field "$D" state | tr -d '"')" = OPEN ] && ok || bad "password regression did not reach OPEN"
echo "st_samples_cli: $n checks, $fails failed"
[ "$fails" = 0 ]
