#!/usr/bin/env bash
# Through the CLI binary:
#   h503: an STM32H503 board (vsafe mcu create --part H503): the DA password hash into OTP once
#         (ST's board_password.bin, da provision --otp), no OBK, no TrustZone, host keys not asked
#         for when closing, a full regression with ST's da_password.bin format, the OTP kept;
#   regress_da_password_grants_full_only: a password sent for a partial regression or a debug
#         opening was a full regression (the password grants nothing else): the device was
#         erased. Now refused before anything is sent, the state and the attempts unchanged.
# usage: h503_cli.sh VSAFE h503|regress_da_password_grants_full_only
set -u
V="$1"
WHICH="$2"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export VSAFE_MCU_SEED=503
n=0
fails=0
ok() { n=$((n + 1)); }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
field() { "$V" --device "$1" --json mcu show 2>/dev/null | sed -n "s/.*\"$2\":\\([^,}]*\\).*/\\1/p" | tr -d '"'; }
# ST's STM32H503 password files, in their format (these bytes are the test's own): a 12-byte
# password with zeros in it, its SHA-256 (board_password.bin) and the ADAC TLV (da_password.bin).
printf '\000\001\002\003\004\005\006\007\010\011\012\013' >"$T/user_password.bin"
printf '\377\363\251\274\3357\066=p<\034O\225\022S6\206\025xh\360\324\361j\017\002\320\361\332$\371\242' \
    >"$T/board_password.bin"
{ printf '\000\000\000\200\014\000\000\000'; cat "$T/user_password.bin"; } >"$T/da_password.bin"
[ "$(sha256sum <"$T/user_password.bin" | cut -c1-64)" = "$(od -An -tx1 -v "$T/board_password.bin" | tr -d ' \n')" ] &&
    ok || bad "board_password.bin is not SHA-256 of user_password.bin"

case "$WHICH" in
h503)
    D="$T/board"
    "$V" --device "$D" init >/dev/null 2>&1 || { echo "FAIL: init"; exit 1; }
    "$V" --device "$D" mcu create --part STM32H503 >"$T/out" 2>&1 && ok || bad "mcu create: $(cat "$T/out")"
    grep -q "STM32H503 (device ID 0x474)" "$T/out" && ok || bad "create said: $(cat "$T/out")"
    "$V" --device "$D" mcu create --part H573 >"$T/out" 2>&1 && bad "a second mcu create was accepted" || ok
    grep -q "MCU_EXISTS" "$T/out" && ok || bad "second create said: $(cat "$T/out")"
    [ "$(field "$D" part)" = STM32H503 ] && ok || bad "mcu show part: $(field "$D" part)"
    [ "$(field "$D" soc_class)" = 1140 ] && ok || bad "soc_class $(field "$D" soc_class), want 1140 (0x474)"
    "$V" --device "$D" mcu trustzone on >"$T/out" 2>&1 && bad "TrustZone on accepted" || ok
    grep -q "ERR_MCU_NO_TRUSTZONE" "$T/out" && ok || bad "trustzone on said: $(cat "$T/out")"
    "$V" --device "$D" mcu state PROVISIONING >/dev/null 2>&1 && "$V" --device "$D" mcu reset >/dev/null 2>&1 &&
        ok || bad "to PROVISIONING"
    "$V" --device "$D" mcu obk read HDPL1 >"$T/out" 2>&1 && bad "OBK read accepted" || ok
    grep -q "ERR_MCU_NO_OBK" "$T/out" && ok || bad "obk read said: $(cat "$T/out")"
    "$V" --device "$D" da provision --obk "$T/board_password.bin" >"$T/out" 2>&1 && bad "an .obk accepted" || ok
    "$V" --device "$D" da provision --otp "$T/board_password.bin" >"$T/out" 2>&1 && ok || bad "provision: $(cat "$T/out")"
    grep -q "written to OTP" "$T/out" && ok || bad "provision said: $(cat "$T/out")"
    "$V" --device "$D" da provision --password other-pw >"$T/out" 2>&1 && bad "a second password accepted" || ok
    grep -q "ERR_MCU_OTP_LOCKED" "$T/out" && ok || bad "second provision said: $(cat "$T/out")"
    [ "$(field "$D" da_provisioned)" = true ] && ok || bad "not provisioned"
    # closing: no host-key warning (there is no OBK for them), the DA configuration is there
    "$V" --device "$D" mcu state CLOSED >"$T/out" 2>&1 && ok || bad "state CLOSED: $(cat "$T/out")"
    "$V" --device "$D" mcu reset >/dev/null 2>&1
    [ "$(field "$D" state)" = CLOSED ] && ok || bad "state $(field "$D" state), want CLOSED"
    "$V" --device "$D" da regress --partial --password-file "$T/da_password.bin" >/dev/null 2>&1 &&
        bad "partial regression with a password accepted" || ok
    "$V" --device "$D" da regress --full --password-file "$T/da_password.bin" >"$T/out" 2>&1 && ok ||
        bad "regress: $(cat "$T/out")"
    grep -q "full regression granted: CLOSED -> OPEN" "$T/out" && ok || bad "regress said: $(cat "$T/out")"
    [ "$(field "$D" da_provisioned)" = true ] && ok || bad "the OTP did not survive the regression"
    [ "$(field "$D" da_attempts)" = 0 ] && ok || bad "attempts $(field "$D" da_attempts) after a granted regression"
    # again: the same password still regresses (it is in OTP), ST's discovery shows the part
    { "$V" --device "$D" mcu state PROVISIONING && "$V" --device "$D" mcu reset; } >/dev/null 2>&1
    "$V" --device "$D" da discover >"$T/out" 2>&1 && ok || bad "discover: $(cat "$T/out")"
    grep -q "soc_class *0x474" "$T/out" && ok || bad "discover: $(cat "$T/out")"
    "$V" --device "$D" da regress --full --password-file "$T/da_password.bin" >/dev/null 2>&1 && ok ||
        bad "second regression with the OTP password"
    ;;
regress_da_password_grants_full_only)
    # a TrustZone-off STM32H573 with a password configuration, closed, a marker in flash
    D="$T/board"
    { "$V" --device "$D" init && "$V" --device "$D" mcu state PROVISIONING && "$V" --device "$D" mcu reset &&
        "$V" --device "$D" da provision --password pw-1234 && "$V" --device "$D" mcu state CLOSED --force &&
        "$V" --device "$D" mcu reset; } >/dev/null 2>&1 || { echo "FAIL: setup"; exit 1; }
    for args in "open-debug --password pw-1234" "open-debug --domain ns --hdpl 3 --password pw-1234" \
        "regress --partial --password pw-1234" "regress --per b --password pw-1234"; do
        # shellcheck disable=SC2086
        "$V" --device "$D" da $args >"$T/out" 2>&1
        rc=$?
        [ "$rc" = 2 ] && ok || bad "da $args: exit $rc, want 2 (refused): $(cat "$T/out")"
        grep -q "full regression only" "$T/out" && ok || bad "da $args said: $(cat "$T/out")"
        [ "$(field "$D" state)" = CLOSED ] && ok || bad "da $args: state $(field "$D" state), want CLOSED"
        [ "$(field "$D" da_attempts)" = 0 ] && ok || bad "da $args: an attempt was used"
    done
    "$V" --device "$D" da regress --full --password pw-1234 >/dev/null 2>&1 && ok || bad "full regression refused"
    [ "$(field "$D" state)" = OPEN ] && ok || bad "full regression: state $(field "$D" state)"
    ;;
*)
    echo "usage: h503_cli.sh VSAFE h503|regress_da_password_grants_full_only" >&2
    exit 2
    ;;
esac
echo "$((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
