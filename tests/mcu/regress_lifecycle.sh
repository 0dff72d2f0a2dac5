#!/usr/bin/env bash
# Regression tests of issue 8, findings 5 and 6, through the real CLI binary.
# usage: regress_lifecycle.sh VSAFE finding5|finding6
#   finding5  `mcu hostkeys` is all or nothing across OBK and the secure element; closing checks that
#             both hold the same keys
#   finding6  DA attempts not spent in OPEN; closing with spent attempts warns (all spent: refused);
#             replacing the DA root key of a closed device needs --force; da keygen --out-dir creates
#             the directory; --cut-after cuts mcu/da commands or is refused; mcu show creates nothing
set -u
V="$1"
WHAT="$2"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export VSAFE_MCU_SEED=7
n=0
fails=0
ok() { n=$((n + 1)); }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
field() { # field DIR NAME: a scalar of `mcu show --json`
    "$V" --device "$1" --json mcu show 2>/dev/null | sed -n "s/.*\"$2\":\\([^,}]*\\).*/\\1/p"
}
provisioning_board() { # a board in PROVISIONING with TrustZone on and a DA configuration
    "$V" --device "$1" init >/dev/null &&
        "$V" --device "$1" mcu trustzone on >/dev/null &&
        "$V" --device "$1" mcu state PROVISIONING >/dev/null &&
        "$V" --device "$1" mcu reset >/dev/null &&
        "$V" --device "$1" da keygen >/dev/null &&
        "$V" --device "$1" da provision >/dev/null
}

finding5() {
    # regress_finding5_hostkeys_rolled_back: the SE refuses, so OBK keeps nothing and closing is refused
    D="$T/b5"
    provisioning_board "$D" || { bad "board setup"; return; }
    "$V" --device "$D" hostkey provision --out "$T/other.key" >/dev/null 2>&1 || bad "hostkey provision"
    "$V" --device "$D" mcu hostkeys >/dev/null 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "mcu hostkeys must fail when the secure element refuses"
    [ "$(field "$D" host_keys)" = false ] && ok || bad "the keys stayed in OBK although the secure element refused"
    "$V" --device "$D" mcu state CLOSED >/dev/null 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "closing a half-provisioned board must be refused without --force"
    grep -q NEEDS_FORCE "$T/err" && ok || bad "no NEEDS_FORCE: $(cat "$T/err")"
    # regress_finding5_close_checks_same_keys: OBK holds keys the secure element does not
    D="$T/b5m"
    provisioning_board "$D" || { bad "board setup"; return; }
    rec="484b455900000000$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    "$V" --device "$D" mcu obk write HDPL3-S --data "$rec" >/dev/null || bad "obk write"
    "$V" --device "$D" hostkey provision --out "$T/se.key" >/dev/null 2>&1 || bad "hostkey provision"
    [ "$(field "$D" host_keys)" = true ] && ok || bad "setup: OBK has no host-key record"
    "$V" --device "$D" mcu state CLOSED >/dev/null 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "closing with different keys in OBK and SE must be refused without --force"
    grep -q "does not hold the host keys of OBK HDPL3-S" "$T/err" && ok || bad "no explanation: $(cat "$T/err")"
    "$V" --device "$D" mcu state CLOSED --force >/dev/null 2>&1 && ok || bad "--force must still close"
    # regress_finding5_hostkeys_power_cut: a cut at any NVM operation of mcu.nvm during `mcu hostkeys`
    # never leaves keys in the secure element that OBK does not hold (checked with the OBK bytes)
    cuts=0 se_keys=0
    for k in 1 2 3 4 5 6 7 8; do
        D="$T/b5c$k"
        provisioning_board "$D" || { bad "board setup"; return; }
        "$V" --device "$D" --cut-after $k mcu hostkeys >/dev/null 2>"$T/err"
        grep -q "power cut at NVM operation $k" "$T/err" && cuts=$((cuts + 1))
        se_has=$("$V" --device "$D" --json hostkey show | sed -n 's/.*"present":\([a-z]*\).*/\1/p')
        if [ "$se_has" = true ]; then
            se_keys=$((se_keys + 1))
            rec=$("$V" --device "$D" --json mcu obk read HDPL3-S --length 72 | sed -n 's/.*"data":"\([0-9a-f]*\)".*/\1/p')
            printf 'type aes128\nmac %s\ncipher %s\n' "${rec:16:32}" "${rec:80:32}" >"$T/obk.key"
            "$V" --device "$D" read 1 --length 1 --host-key "$T/obk.key" >/dev/null 2>&1 && ok \
                || bad "cut $k: the secure element holds host keys that OBK does not"
        else
            ok
        fi
    done
    echo "finding5 power cuts: $cuts of 8 runs of mcu hostkeys cut, secure element provisioned in $se_keys"
    [ $cuts -ge 1 ] && ok || bad "no cut happened during mcu hostkeys"
    # the good path: provisioned together, closing is allowed
    D="$T/b5g"
    provisioning_board "$D" || { bad "board setup"; return; }
    "$V" --device "$D" mcu hostkeys >/dev/null 2>&1 && ok || bad "mcu hostkeys"
    "$V" --device "$D" mcu state CLOSED >/dev/null 2>"$T/err" && ok || bad "closing a good board: $(cat "$T/err")"
}

finding6() {
    # regress_finding6_da_in_open: no attempt spent, a clear refusal
    D="$T/b6o"
    "$V" --device "$D" init >/dev/null
    "$V" --device "$D" mcu trustzone off >/dev/null
    "$V" --device "$D" da regress --full --password hunter22 >/dev/null 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "da regress in OPEN must fail"
    grep -q "nothing to regress" "$T/err" && ok || bad "no clear message: $(cat "$T/err")"
    [ "$(field "$D" da_attempts)" = 0 ] && ok || bad "da regress in OPEN spent an attempt ($(field "$D" da_attempts))"
    "$V" --device "$D" mcu trustzone on >/dev/null
    "$V" --device "$D" da open-debug --domain s --hdpl 1 >"$T/out" 2>&1
    [ "$(field "$D" da_attempts)" = 0 ] && ok || bad "da open-debug in OPEN spent an attempt"
    # regress_finding6_close_attempts_spent: a warning; all spent: refused without --force
    D="$T/b6a"
    provisioning_board "$D" || { bad "board setup"; return; }
    "$V" --device "$D" mcu hostkeys >/dev/null 2>&1 || bad "mcu hostkeys"
    "$V" --device "$D" da regress --full --password wrong-method >/dev/null 2>&1
    [ "$(field "$D" da_attempts)" = 1 ] && ok || bad "setup: one attempt should be spent"
    "$V" --device "$D" mcu state CLOSED >/dev/null 2>"$T/err" && ok || bad "closing with 1 attempt spent"
    grep -q "1 of the 16 debug-authentication attempts are already spent" "$T/err" && ok \
        || bad "no warning about spent attempts: $(cat "$T/err")"
    D="$T/b6x"
    provisioning_board "$D" || { bad "board setup"; return; }
    "$V" --device "$D" mcu hostkeys >/dev/null 2>&1 || bad "mcu hostkeys"
    for i in $(seq 1 16); do "$V" --device "$D" da regress --full --password wrong-method >/dev/null 2>&1; done
    [ "$(field "$D" da_attempts)" = 16 ] && ok || bad "setup: 16 attempts should be spent"
    "$V" --device "$D" mcu state CLOSED >/dev/null 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "closing with every attempt spent must be refused without --force"
    grep -q "every debug-authentication attempt is already spent" "$T/err" && ok || bad "no reason: $(cat "$T/err")"
    # regress_finding6_replace_root_key_closed
    D="$T/b6r"
    provisioning_board "$D" || { bad "board setup"; return; }
    "$V" --device "$D" mcu hostkeys >/dev/null 2>&1 || bad "mcu hostkeys"
    "$V" --device "$D" mcu state CLOSED >/dev/null 2>&1 && "$V" --device "$D" mcu reset >/dev/null || bad "close"
    "$V" --device "$D" da keygen --out-dir "$T/newkeys" >/dev/null || bad "keygen --out-dir"
    "$V" --device "$D" da provision --root-key "$T/newkeys/key_1_root.pem" >/dev/null 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "replacing the DA root key of a CLOSED device must need --force"
    grep -q "replaces" "$T/err" && ok || bad "no warning: $(cat "$T/err")"
    "$V" --device "$D" da provision --root-key "$T/newkeys/key_1_root.pem" --force >/dev/null 2>"$T/err" && ok \
        || bad "--force must replace it"
    grep -q "warning" "$T/err" && ok || bad "no warning with --force"
    # regress_finding6_keygen_out_dir: the directory (and its parents) are created, 0700
    "$V" --device "$D" da keygen --out-dir "$T/a/b/c" >/dev/null 2>"$T/err" && ok || bad "keygen: $(cat "$T/err")"
    [ "$(stat -c %a "$T/a/b/c" 2>/dev/null)" = 700 ] && ok || bad "--out-dir mode $(stat -c %a "$T/a/b/c" 2>&1)"
    [ -f "$T/a/b/c/key_1_root.pem" ] && [ -f "$T/a/b/c/cert_leaf_chain.b64" ] && ok || bad "keys not in --out-dir"
    "$V" --device "$D" da keygen --out-dir "$T/a/b/c" >/dev/null 2>&1
    [ $? -eq 1 ] && ok || bad "keygen over existing keys must need --force"
    # regress_finding6_cut_after_mcu: the cut applies to mcu.nvm, or is refused
    D="$T/b6c"
    provisioning_board "$D" || { bad "board setup"; return; }
    "$V" --device "$D" --cut-after 1 mcu state CLOSED --force >/dev/null 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "a cut mcu command must not report success"
    grep -q "power cut at NVM operation 1" "$T/err" && ok || bad "--cut-after ignored by mcu: $(cat "$T/err")"
    "$V" --device "$D" mcu show >/dev/null && ok || bad "the MCU does not open after the cut"
    cuts=0
    for k in 1 2 3 4 5 6; do
        "$V" --device "$D" --cut-after $k da regress --full --password wrong-method >/dev/null 2>"$T/err"
        grep -q "power cut at NVM operation $k" "$T/err" && cuts=$((cuts + 1))
        "$V" --device "$D" mcu show >/dev/null || bad "the MCU does not open after cut $k of da regress"
    done
    [ $cuts -ge 1 ] && ok || bad "--cut-after never cut a da command"
    "$V" --device "$D" --cut-after 2 da keygen --out-dir "$T/cutkeys" >/dev/null 2>&1
    [ $? -eq 2 ] && ok || bad "--cut-after on da keygen (no state file) must be refused"
    "$V" --device "$D" --cut-after 2 status OK >/dev/null 2>&1
    [ $? -eq 2 ] && ok || bad "--cut-after on status must be refused"
    # regress_finding6_mcu_show_read_only: a query never creates the MCU
    D="$T/b6s"
    "$V" --device "$D" init >/dev/null
    "$V" --device "$D" mcu show >/dev/null 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "mcu show without an MCU must fail"
    [ ! -e "$D/mcu.nvm" ] && ok || bad "mcu show created mcu.nvm"
    "$V" --device "$D" da discover >/dev/null 2>&1
    [ ! -e "$D/mcu.nvm" ] && ok || bad "da discover created mcu.nvm"
}

case "$WHAT" in
finding5) finding5 ;;
finding6) finding6 ;;
*) echo "unknown test $WHAT" >&2; exit 2 ;;
esac
echo "regress_lifecycle $WHAT: $n checks, $fails failed"
[ "$fails" -eq 0 ]
