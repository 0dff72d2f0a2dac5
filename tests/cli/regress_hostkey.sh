#!/usr/bin/env bash
# Regression tests of issue 8, findings 2, 3 and 4 (host keys lost, leaked, taken over), through
# the real CLI binary. usage: regress_hostkey.sh VSAFE FINDING [BUS_ATTACKER]
#   finding2  a failure or a SIGKILL at any instant of `hostkey provision` leaves either no key on
#             the device or a complete key file that opens the channel
#   finding3  key files: no overwrite without --force, mode 0600 always, no symlink followed
#             (key file or state file), strict parser, secrets from file/fd/env
#   finding4  after the README's flow a bus master without the key cannot take the key over
set -u
V="$1"
WHAT="$2"
ATTACKER="${3:-}"
PROFILES="$(cd "$(dirname "$0")/../../profiles" && pwd)"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
present() { # present DIR -> "true" or "false": is a host key in the slot?
    "$V" --device "$1" --json hostkey show 2>/dev/null | sed -n 's/.*"present":\([a-z]*\).*/\1/p'
}
key_works() { # key_works DIR KEYFILE: the key file opens the channel (C-MAC and R-MAC verify)
    "$V" --device "$1" read 1 --length 1 --host-key "$2" >/dev/null 2>&1
}
complete_keyfile() { # the canonical text the CLI writes, whole
    grep -qE '^type aes128$' "$1" && grep -qE '^mac [0-9a-f]{32}$' "$1" && grep -qE '^cipher [0-9a-f]{32}$' "$1"
}

finding2() {
    # regress_finding2_out_nonexistent: the file cannot be written, so the device is not touched
    D="$T/d2"
    "$V" --device "$D" init >/dev/null || { bad init; return; }
    "$V" --device "$D" hostkey provision --out /nonexistent/dir/host.key >/dev/null 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "--out /nonexistent must fail"
    [ "$(present "$D")" = false ] && ok || bad "provisioned although the key file could not be written (key lost)"
    "$V" --device "$D" hostkey provision --out "$T/d2.key" >/dev/null 2>&1 && ok || bad "provision after the failure"
    key_works "$D" "$T/d2.key" && ok || bad "the key file does not open the channel"

    # regress_finding2_sigkill: kill -9 at random instants of `hostkey provision`
    D="$T/k"
    total_ns=0
    for i in 1 2 3 4 5; do
        rm -rf "$D" "$T/k.key"
        "$V" --device "$D" init >/dev/null
        start=$(date +%s%N)
        "$V" --device "$D" hostkey provision --out "$T/k.key" >/dev/null
        total_ns=$((total_ns + $(date +%s%N) - start))
    done
    # the kills land uniformly over one provisioning run (measured here, this machine, now)
    span=$((total_ns / 5000))
    [ "$span" -ge 1000 ] || span=1000
    tries=40 on_device=0 lost=0 partial=0
    for i in $(seq 1 $tries); do
        rm -rf "$D" "$T/k.key" "$T"/.k.key.*
        "$V" --device "$D" init >/dev/null
        delay_us=$((RANDOM * 32768 + RANDOM))
        delay_us=$((delay_us % span))
        { timeout -s KILL "$(printf '0.%06d' "$delay_us")" "$V" --device "$D" hostkey provision --out "$T/k.key" \
            >/dev/null 2>&1; } 2>/dev/null
        if [ "$(present "$D")" = true ]; then
            on_device=$((on_device + 1))
            if [ ! -f "$T/k.key" ] || ! key_works "$D" "$T/k.key"; then
                lost=$((lost + 1))
            fi
        fi
        if [ -e "$T/k.key" ] && ! complete_keyfile "$T/k.key"; then
            partial=$((partial + 1))
        fi
    done
    echo "finding2 sigkill: $tries kills at random instants (0..${span} us): key on device $on_device times," \
         "key lost $lost times, partial key file $partial times"
    [ "$lost" -eq 0 ] && ok || bad "SIGKILL left a key on the device without its key file ($lost of $tries)"
    [ "$partial" -eq 0 ] && ok || bad "SIGKILL left a partial key file under its name ($partial of $tries)"

    # regress_finding2_sigkill_ecdh: the same when the keys are derived on both sides (ECDH)
    sed 's/"wrapped": false/"wrapped": true/' "$PROFILES/spl05.json" >"$T/anon.json"
    span_e=$((span * 3 / 2))
    tries=20 on_device=0 lost=0
    for i in $(seq 1 $tries); do
        rm -rf "$D" "$T/k.key" "$T"/.k.key.*
        "$V" --device "$D" init --profile "$T/anon.json" >/dev/null || { bad "init anon profile"; return; }
        delay_us=$(((RANDOM * 32768 + RANDOM) % span_e))
        { timeout -s KILL "$(printf '0.%06d' "$delay_us")" "$V" --device "$D" hostkey provision --method ecdh \
            --out "$T/k.key" >/dev/null 2>&1; } 2>/dev/null
        if [ "$(present "$D")" = true ]; then
            on_device=$((on_device + 1))
            if [ ! -f "$T/k.key" ] || ! key_works "$D" "$T/k.key"; then
                lost=$((lost + 1))
            fi
        fi
    done
    echo "finding2 sigkill ecdh: $tries kills (0..${span_e} us): key on device $on_device times, key lost $lost times"
    [ "$lost" -eq 0 ] && ok || bad "SIGKILL during ECDH provisioning lost the key ($lost of $tries)"
}

finding3() {
    D="$T/d3"
    "$V" --device "$D" init >/dev/null || { bad init; return; }
    # regress_finding3_no_overwrite: an existing file is kept, with its mode, and the device untouched
    printf 'old contents\n' >"$T/exists.key"
    chmod 644 "$T/exists.key"
    "$V" --device "$D" hostkey provision --out "$T/exists.key" >/dev/null 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "--out over an existing file must be refused without --force"
    grep -q "old contents" "$T/exists.key" && ok || bad "existing key file overwritten without --force"
    [ "$(present "$D")" = false ] && ok || bad "device provisioned although the key file was refused"
    # regress_finding3_force_mode: --force replaces it atomically, and the mode is 0600, not the old 0644
    "$V" --device "$D" hostkey provision --out "$T/exists.key" --force >/dev/null 2>"$T/err" && ok || bad "--force"
    [ "$(stat -c %a "$T/exists.key")" = 600 ] && ok || bad "replaced key file has mode $(stat -c %a "$T/exists.key")"
    key_works "$D" "$T/exists.key" && ok || bad "replaced key file does not open the channel"
    # regress_finding3_umask: 0600 whatever the umask
    D="$T/d3u"
    "$V" --device "$D" init >/dev/null
    (umask 000 && "$V" --device "$D" hostkey provision --out "$T/umask.key" >/dev/null 2>&1)
    [ "$(stat -c %a "$T/umask.key" 2>/dev/null)" = 600 ] && ok || bad "key file mode under umask 000"
    # regress_finding3_symlink: a planted symlink is never followed, with or without --force
    D="$T/d3s"
    "$V" --device "$D" init >/dev/null
    ln -s "$T/planted-target" "$T/link.key"
    "$V" --device "$D" hostkey provision --out "$T/link.key" >/dev/null 2>&1
    [ $? -eq 1 ] && ok || bad "--out through a symlink must be refused"
    [ ! -e "$T/planted-target" ] && ok || bad "key written through a planted symlink"
    [ "$(present "$D")" = false ] && ok || bad "device provisioned although the key file was refused"
    "$V" --device "$D" hostkey provision --out "$T/link.key" --force >/dev/null 2>&1 && ok || bad "--force over a link"
    [ ! -e "$T/planted-target" ] && ok || bad "--force followed the symlink"
    [ -f "$T/link.key" ] && [ ! -L "$T/link.key" ] && ok || bad "--force did not replace the link itself"
    # regress_finding3_state_symlink: DIR/se.nvm as a symlink is refused
    D="$T/d3l"
    "$V" --device "$T/real" init >/dev/null
    mkdir -p "$D"
    ln -s "$T/real/se.nvm" "$D/se.nvm"
    "$V" --device "$D" zones >/dev/null 2>"$T/err"
    [ $? -eq 1 ] && ok || bad "a symlinked se.nvm must be refused"
    grep -q "symbolic link" "$T/err" && ok || bad "no word about the symlink: $(cat "$T/err")"
    # regress_finding3_strict_parser: signs, trailing text, wrong lengths, duplicates
    D="$T/d3p"
    "$V" --device "$D" init >/dev/null
    "$V" --device "$D" hostkey provision --out "$T/good.key" --keep-open >/dev/null || bad "provision"
    mac=$(sed -n 's/^mac //p' "$T/good.key")
    cipher=$(sed -n 's/^cipher //p' "$T/good.key")
    i=0
    for body in \
        "type aes128\nmac -1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1\ncipher $cipher\n" \
        "type aes128\nmac $mac\ncipher +f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f\n" \
        "type aes128\nmac $mac\ncipher $cipher junk\n" \
        "type aes128\nmac $mac\ncipher $cipher\ntrailing text\n" \
        "type aes128\nmac ${mac%??}\ncipher $cipher\n" \
        "type aes128\nmac $mac\nmac $mac\ncipher $cipher\n" \
        "type aes128\ntype aes128\nmac $mac\ncipher $cipher\n" \
        "type aes128\nmac 0x${mac#??}\ncipher $cipher\n" \
        " type aes128\nmac $mac\ncipher $cipher\n" \
        "type aes256\nmac $mac\ncipher $cipher\n"; do
        i=$((i + 1))
        printf "$body" >"$T/bad$i.key"
        "$V" --device "$D" read 1 --length 1 --host-key "$T/bad$i.key" >/dev/null 2>"$T/err"
        grep -q BAD_KEY_FILE "$T/err" && ok || bad "key file $i accepted: $(tr '\n' '|' <"$T/bad$i.key")"
    done
    key_works "$D" "$T/good.key" && ok || bad "the canonical key file is refused"
    # secrets from a file, a descriptor and the environment (not only argv)
    D="$T/d3x"
    "$V" --device "$D" init >/dev/null
    printf '%s\n' "$mac" >"$T/mac.txt"
    VSAFE_TEST_CIPHER="$cipher" "$V" --device "$D" hostkey provision --mac-key-file "$T/mac.txt" \
        --cipher-key-env VSAFE_TEST_CIPHER --out "$T/x.key" >/dev/null 2>"$T/err" && ok || bad "secrets: $(cat "$T/err")"
    grep -q "^mac $mac$" "$T/x.key" && grep -q "^cipher $cipher$" "$T/x.key" && ok || bad "secret keys not used"
    D="$T/d3y"
    "$V" --device "$D" init >/dev/null
    printf '%s' "$cipher" | "$V" --device "$D" hostkey provision --mac-key "$mac" --cipher-key-fd 0 \
        --out "$T/y.key" >/dev/null 2>"$T/err" && ok || bad "secret from fd: $(cat "$T/err")"
    grep -q "^cipher $cipher$" "$T/y.key" && ok || bad "secret from fd not used"
    "$V" --device "$D" hostkey provision --mac-key "$mac" --mac-key-env X --cipher-key "$cipher" >/dev/null 2>&1
    [ $? -eq 2 ] && ok || bad "two ways for one secret must be a usage error"
}

finding4() {
    # regress_finding4_bus_takeover: the README's flow, then an attacker without the key
    D="$T/d4"
    K="$T/host.key"
    "$V" --device "$D" init >/dev/null || { bad init; return; }
    "$V" --device "$D" hostkey provision --out "$K" >"$T/out" 2>&1 && ok || bad "provision: $(cat "$T/out")"
    "$V" --device "$D" ac 6 --update host --amount 1 --host-key "$K" >/dev/null 2>&1 && ok || bad "ac 6"
    "$V" --device "$D" decrement 6 --host-key "$K" >/dev/null 2>&1 && ok || bad "decrement 6"
    "$V" --device "$D" cmdac set decrement --ac host --encrypt-cmd --encrypt-rsp --host-key "$K" >/dev/null 2>&1 \
        && ok || bad "cmdac set"
    before=$("$V" --device "$D" --json read 6 --length 0 --host-key "$K" | sed -n 's/.*"counter":\([0-9]*\).*/\1/p' | head -1)
    "$ATTACKER" "$D" 6 >"$T/attack" 2>&1
    rc=$?
    [ $rc -eq 0 ] && ok || bad "a bus master without the key took the host key over (exit $rc): $(tr '\n' ';' <"$T/attack")"
    key_works "$D" "$K" && ok || bad "the owner is locked out after the attack"
    after=$("$V" --device "$D" --json read 6 --length 0 --host-key "$K" | sed -n 's/.*"counter":\([0-9]*\).*/\1/p' | head -1)
    [ "$before" = "$after" ] && ok || bad "the Host counter moved: $before -> $after"
    "$V" --device "$D" --json hostkey show >"$T/out"
    grep -q '"change_right":false' "$T/out" && ok || bad "control fields not locked: $(cat "$T/out")"
    if grep -q hostkey_control "$T/out"; then bad "hostkey show warns about locked fields"; else ok; fi
    # --keep-open leaves them open, and hostkey show says so; hostkey lock closes them
    D="$T/d4o"
    "$V" --device "$D" init >/dev/null
    "$V" --device "$D" hostkey provision --out "$T/open.key" --keep-open >/dev/null 2>&1 && ok || bad "--keep-open"
    "$V" --device "$D" hostkey show >"$T/out"
    grep -q "warning: the host-key provisioning control fields can still be changed by anyone on the bus" "$T/out" \
        && ok || bad "no warning with the fields open: $(cat "$T/out")"
    "$V" --device "$D" check >"$T/out"
    grep -q "warning: the host-key provisioning control fields can still be changed" "$T/out" && ok \
        || bad "check does not warn about open control fields: $(cat "$T/out")"
    "$V" --device "$D" hostkey lock >/dev/null && ok || bad "hostkey lock"
    "$ATTACKER" "$D" 6 >/dev/null 2>&1 && ok || bad "attacker succeeded after hostkey lock"
    # the command table warnings, and cmdac lock
    "$V" --device "$D" hostkey show >"$T/out"
    grep -q "command access conditions can still be changed by anyone" "$T/out" && ok || bad "no command-table warning"
    "$V" --device "$D" cmdac lock >/dev/null && ok || bad "cmdac lock"
    "$V" --device "$D" --json hostkey show >"$T/out"
    grep -q '"warnings":\[\]' "$T/out" && ok || bad "warnings left after locking: $(cat "$T/out")"
    "$V" --device "$D" --json check >"$T/out"
    grep -q '"warnings":\[\]' "$T/out" && ok || bad "check warns after locking: $(cat "$T/out")"
}

case "$WHAT" in
finding2) finding2 ;;
finding3) finding3 ;;
finding4) finding4 ;;
*) echo "unknown test $WHAT" >&2; exit 2 ;;
esac
echo "regress_hostkey $WHAT: $n checks, $fails failed"
[ "$fails" -eq 0 ]
