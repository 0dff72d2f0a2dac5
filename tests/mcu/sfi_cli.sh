#!/usr/bin/env bash
# vsafe sfi through the CLI: three parties pack (their own keys) and install their images on one
# board as the lifecycle steps go; a replay, another party's region, an image for another board
# and a tampered image are refused; sfi show lists each party's version. The payloads fill their
# regions (iROT 16 KiB, secure and non-secure 64 KiB); one byte more is refused by pack.
# usage: sfi_cli.sh VSAFE
set -u
V="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export VSAFE_MCU_SEED=33
n=0
fails=0
ok() { n=$((n + 1)); }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
D="$T/board"
O="$T/other"
for d in "$D" "$O"; do
    # a different seed for the other board: the same seed would draw the same keys and SoC ID
    [ "$d" = "$O" ] && export VSAFE_MCU_SEED=34
    { "$V" --device "$d" init && "$V" --device "$d" mcu trustzone on && "$V" --device "$d" mcu state PROVISIONING &&
        "$V" --device "$d" mcu reset; } >/dev/null 2>&1 || { echo "FAIL: setup"; exit 1; }
done
export VSAFE_MCU_SEED=33
"$V" --device "$T/keys" da keygen --out-dir "$T/k1" >/dev/null 2>&1
"$V" --device "$T/keys" da keygen --out-dir "$T/k2" >/dev/null 2>&1
"$V" --device "$T/keys" da keygen --out-dir "$T/k3" >/dev/null 2>&1
head -c 16384 /dev/urandom >"$T/irot.bin"
head -c 65536 /dev/urandom >"$T/sec.bin"
head -c 65536 /dev/urandom >"$T/ns.bin"
head -c 65537 /dev/urandom >"$T/big.bin"
pk() { "$V" --device "$D" sfi pack --region "$1" --version "$2" --key "$3" --in "$4" --out "$5" >/dev/null 2>"$T/err"; }
pk irot 1 "$T/k1/key_1_root.pem" "$T/irot.bin" "$T/irot.sfi" && ok || bad "pack irot: $(cat "$T/err")"
pk ns 1 "$T/k3/key_1_root.pem" "$T/big.bin" "$T/big.sfi" && bad "a 65537-byte payload was packed" || ok
pk irot 1 "$T/k1/key_1_root.pem" "$T/sec.bin" "$T/big.sfi" && bad "a 64 KiB payload was packed for the 16 KiB iROT region" || ok
"$V" --device "$D" sfi install "$T/irot.sfi" >/dev/null 2>"$T/err" && ok || bad "install irot: $(cat "$T/err")"
"$V" --device "$D" sfi install "$T/irot.sfi" >/dev/null 2>"$T/err"
grep -q ERR_SFI_REPLAY "$T/err" && ok || bad "replay not refused: $(cat "$T/err")"
VSAFE_MCU_SEED=34 "$V" --device "$O" sfi install "$T/irot.sfi" >/dev/null 2>"$T/err"
grep -q ERR_SFI_WRONG_DEVICE "$T/err" && ok || bad "image for another board not refused: $(cat "$T/err")"
"$V" --device "$D" mcu state iROT_PROVISIONED >/dev/null 2>&1 && "$V" --device "$D" mcu reset >/dev/null 2>&1
pk s 1 "$T/k2/key_1_root.pem" "$T/sec.bin" "$T/sec.sfi" && ok || bad "pack s"
"$V" --device "$D" sfi install "$T/sec.sfi" >/dev/null 2>"$T/err" && ok || bad "install s: $(cat "$T/err")"
pk s 2 "$T/k3/key_1_root.pem" "$T/sec.bin" "$T/sec3.sfi"
"$V" --device "$D" sfi install "$T/sec3.sfi" >/dev/null 2>"$T/err"
grep -q ERR_SFI_FOREIGN_REGION "$T/err" && ok || bad "another party's region not refused: $(cat "$T/err")"
"$V" --device "$D" mcu state TZ_CLOSED >/dev/null 2>&1 && "$V" --device "$D" mcu reset >/dev/null 2>&1
pk ns 1 "$T/k3/key_1_root.pem" "$T/ns.bin" "$T/ns.sfi" && ok || bad "pack ns"
cp "$T/ns.sfi" "$T/bad.sfi"
printf '\x55' | dd of="$T/bad.sfi" bs=1 seek=300 conv=notrunc 2>/dev/null
"$V" --device "$D" sfi install "$T/bad.sfi" >/dev/null 2>"$T/err"
[ $? -ne 0 ] && ok || bad "tampered image installed"
"$V" --device "$D" sfi install "$T/ns.sfi" >/dev/null 2>"$T/err" && ok || bad "install ns: $(cat "$T/err")"
"$V" --device "$D" sfi show >"$T/show" 2>&1 && [ "$(grep -c 'version 1' "$T/show")" = 3 ] && ok || bad "sfi show: $(cat "$T/show")"
echo "sfi_cli: $n checks, $fails failed"
[ "$fails" = 0 ]
