#!/bin/sh
# The end-to-end rehearsal of docs/LIFECYCLE.md: three parties (iROT owner, secure owner,
# non-secure owner), each with its own P-256 key pair, provision a battery pack's board (an
# STM32H573-class MCU and an STSAFE-A120) by secure firmware install, the secure element's host
# keys go to OBK, debug authentication is provisioned, the product states advance as the
# lifecycle says; each party's update path; the product closes; a charger uses the secure element
# in the field; a field return regresses the board with ST's own DA certificate chain (or, without
# ST's sample files, with one made by vsafe da keygen) and what it erased is checked.
#
# usage: tests/mcu/rehearsal.sh VSAFE [ST_DA_DIR]
#   VSAFE      the vsafe binary (build/vsafe); the charger, examples/power_tool, is looked up
#              next to it (build/examples/power_tool) unless $VSAFE_POWER_TOOL names it
#   ST_DA_DIR  ST's sample DA files (STM32CubeH5's ROT_Provisioning/DA folder: Keys/,
#              Certificates/, ...), read where they are, never copied; also $VSAFE_ST_DA_DIR
# Prints the transcript (the worked example, see tests/mcu/transcript.sh for its format) on
# stdout; every step's outcome is checked (exit status, product state, refusal status names,
# values computed here from the inputs, never read back from the code under test); failures and
# the count go to stderr. Exit status 0 when every check passes, 1 otherwise, 2 on bad usage.
set -u
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 VSAFE [ST_DA_DIR]" >&2
    exit 2
fi
case $1 in
/*) VSAFE_BIN=$1 ;;
*) VSAFE_BIN=$PWD/$1 ;;
esac
POWER_TOOL=${VSAFE_POWER_TOOL:-$(dirname "$VSAFE_BIN")/examples/power_tool}
ST_DA=${VSAFE_ST_DA_DIR:-${2:-}}
case $ST_DA in
'' | /*) ;;
*) ST_DA=$PWD/$ST_DA ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
for x in "$VSAFE_BIN" "$POWER_TOOL"; do
    if [ ! -x "$x" ]; then
        echo "rehearsal: $x is not an executable (build first: make all)" >&2
        exit 2
    fi
done
if ! command -v openssl >/dev/null 2>&1; then
    echo "rehearsal: the parties make their keys with openssl, which is not installed" >&2
    exit 2
fi
. "$HERE/transcript.sh"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 2
transcript_begin "$W"
vsafe() { "$VSAFE_BIN" "$@"; }
power_tool() { "$POWER_TOOL" "$@"; }

# The values the checks expect come from the lifecycle and the profile, not from the program:
# product state codes, the SPL05 usage counter's initial value, the SHA-256 of each party's public
# key as openssl computes it.
COUNTER0=4294967295 # zone 5 of SPL05 starts at 0xFFFFFFFF
FF72=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
FF96=${FF72}ffffffffffffffffffffffffffffffffffffffffffffffff
# owner_hash KEY.pem: SHA-256 of the public key X||Y (the last 64 bytes of its DER SubjectPublicKeyInfo)
owner_hash() { openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | tail -c 64 | openssl dgst -sha256 -r | cut -d' ' -f1; }
# expect_state NAME CODE: `vsafe mcu show` (the last command) says product state NAME (CODE).
expect_state() { expect_field "product state" "$1 ($2)"; }
# expect_region NAME OWNER_KEY|free VERSION: the region's line of `vsafe sfi show` (the last command).
expect_region() {
    want=free
    [ "$2" != free ] && want=$(owner_hash "$2")
    got=$(awk -v r="$1" '$1 == r { print $4 " " $6 }' "$TR_OUT")
    check "sfi show: region $1 is '$got', want owner $want version $3" [ "$got" = "$want $3" ]
}
refused() { # refused STATUS 'COMMAND': exit status 1 and the status name on the error line
    run 1 "$2" "^(vsafe|power_tool): .*: $1( |:)"
}

section "The board, the parties' keys"
say "The board maker assembles the battery pack's controller board: an STM32H573-class MCU and an" \
    "STSAFE-A120 (profile spl05), in the directory \`board\`. The seeds make the random values (SoC ID," \
    "the SFI provisioning key, the secure element's identity) the same in every run; the vsafe CA in" \
    "\`maker-ca\` stands for the battery maker's CA."
run 0 'export VSAFE_DEVICE=board VSAFE_MCU_SEED=12 VSAFE_SE_SEED=12 VSAFE_CA_DIR=maker-ca'
run 0 'vsafe init' "created a device in board from profile spl05"
run 0 'vsafe identity export --ca maker-ca.pem' "maker-ca.pem"
run 0 'vsafe mcu trustzone on' "TrustZone on"
run 0 'vsafe mcu state PROVISIONING'
run 0 'vsafe mcu reset'
run 0 'vsafe mcu show'
expect_state PROVISIONING 0x17
expect_field "host keys" "absent (OBK HDPL3-S)"
SOC_SHOWN=$(out_field "SoC" | sed 's/.*ID //')
say "Each party makes its own key pair; nobody else sees its private key. Each party's image is its" \
    "code and its own public key (the key its code will check that party's updates with)."
for p in irot s ns; do
    run 0 "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $p-owner.pem"
done
run 0 'for p in irot s ns; do for v in 1 2 3; do { echo "$p image, version $v"; openssl pkey -in $p-owner.pem -pubout -outform DER; } >$p-v$v.bin; done; done'
say "The device gives the parties its SFI provisioning public key and its SoC ID; they pack for this" \
    "device alone with them, on their own machines."
run 0 'vsafe sfi pubkey' '^provisioning key  [0-9a-f]{128}$' '^soc id            [0-9a-f]{32}$'
check "sfi pubkey's SoC ID is the one mcu show gave ($SOC_SHOWN)" [ "$(out_field "soc id")" = "$SOC_SHOWN" ]
run 0 'DEVICE_KEY=$(vsafe sfi pubkey | awk '\''$1 == "provisioning" { print $3 }'\'') SOC_ID=$(vsafe sfi pubkey | awk '\''$1 == "soc" { print $3 }'\'')'
check "DEVICE_KEY is 64 bytes of hex" [ "$(printf %s "$DEVICE_KEY" | grep -Ec '^[0-9a-f]{128}$')" = 1 ]
check "SOC_ID is the SoC ID mcu show gave" [ "$SOC_ID" = "$SOC_SHOWN" ]
run 0 'pack() { vsafe sfi pack --device-key "$DEVICE_KEY" --soc-id "$SOC_ID" "$@"; }'

section "The OEM's debug-authentication credentials"
if [ -n "$ST_DA" ] && [ -f "$ST_DA/Certificates/cert_leaf_chain.b64" ]; then
    say "ST's sample DA files (STM32CubeH5, \`ROT_Provisioning/DA\`), read where they are: \`\$ST_DA\` is that" \
        "folder. The OEM provisions ST's root public key; the field-return station holds ST's chain and leaf key."
    run 0 'DA_ROOT_KEY=$ST_DA/Keys/key_1_root_pub.pem DA_CHAIN=$ST_DA/Certificates/cert_leaf_chain.b64 DA_LEAF_KEY=$ST_DA/Keys/key_3_leaf.pem'
else
    say "ST's sample DA files are not here: the OEM makes its own three-level chain with vsafe da keygen."
    run 0 'vsafe da keygen --out-dir oem-da' "cert_leaf_chain.b64"
    run 0 'DA_ROOT_KEY=oem-da/key_1_root.pem DA_CHAIN=oem-da/cert_leaf_chain.b64 DA_LEAF_KEY=oem-da/key_3_leaf.pem'
fi

section "The iROT owner, in PROVISIONING"
say "Region 1 (the immutable root of trust): version 1 installs, then version 2 (the iROT owner's" \
    "update path, which exists only in PROVISIONING); the replayed version 1 and an image signed with" \
    "another party's key are refused. Then debug authentication is provisioned and the product goes" \
    "to iROT_PROVISIONED."
run 0 'pack --region irot --version 1 --key irot-owner.pem --in irot-v1.bin --out irot-v1.sfi' "region irot, version 1"
run 0 'vsafe sfi install irot-v1.sfi' "^installed into region 1 \(version 1\)$"
run 0 'pack --region irot --version 2 --key irot-owner.pem --in irot-v2.bin --out irot-v2.sfi'
run 0 'vsafe sfi install irot-v2.sfi' "^installed into region 1 \(version 2\)$"
refused ERR_SFI_REPLAY 'vsafe sfi install irot-v1.sfi'
run 0 'pack --region irot --version 3 --key s-owner.pem --in irot-v3.bin --out irot-by-s-owner.sfi'
refused ERR_SFI_FOREIGN_REGION 'vsafe sfi install irot-by-s-owner.sfi'
run 0 'vsafe da provision --root-key "$DA_ROOT_KEY"' "written to OBK HDPL1"
run 0 'vsafe mcu state iROT_PROVISIONED'
run 0 'vsafe mcu reset'
run 0 'vsafe mcu show'
expect_state iROT_PROVISIONED 0x2E
expect_field "DA config" "provisioned, mask 77500000000000000000000000000000"
run 0 'pack --region irot --version 3 --key irot-owner.pem --in irot-v3.bin --out irot-v3.sfi'
refused ERR_SFI_STATE 'vsafe sfi install irot-v3.sfi'

section "The secure owner, in iROT_PROVISIONED"
say "Region 2 (the secure firmware): version 1, then version 2; the replay and another party's key" \
    "are refused. The secure owner puts the secure element's host keys in OBK HDPL3-S (and in the" \
    "secure element, whose key provisioning is then locked) and makes the usage counter (zone 5)" \
    "decrement only over the host channel; the product goes to TZ_CLOSED."
run 0 'pack --region s --version 1 --key s-owner.pem --in s-v1.bin --out s-v1.sfi'
run 0 'vsafe sfi install s-v1.sfi' "^installed into region 2 \(version 1\)$"
run 0 'pack --region s --version 2 --key s-owner.pem --in s-v2.bin --out s-v2.sfi'
run 0 'vsafe sfi install s-v2.sfi' "^installed into region 2 \(version 2\)$"
refused ERR_SFI_REPLAY 'vsafe sfi install s-v1.sfi'
run 0 'pack --region s --version 3 --key ns-owner.pem --in s-v3.bin --out s-by-ns-owner.sfi'
refused ERR_SFI_FOREIGN_REGION 'vsafe sfi install s-by-ns-owner.sfi'
run 0 'vsafe mcu hostkeys' "host keys in OBK HDPL3-S and in the secure element"
run 0 'vsafe ac 5 --update host --amount 1 --lock' "update AC is now host" "counter $((COUNTER0 - 1))$"
run 0 'vsafe mcu state TZ_CLOSED'
run 0 'vsafe mcu reset'
run 0 'vsafe mcu show'
expect_state TZ_CLOSED 0xC6
expect_field "host keys" "present (OBK HDPL3-S)"
run 0 'pack --region s --version 3 --key s-owner.pem --in s-v3.bin --out s-v3.sfi'
refused ERR_SFI_STATE 'vsafe sfi install s-v3.sfi'

section "The non-secure owner, in TZ_CLOSED"
say "Region 3 (the application): version 1, then version 2; the replay and another party's key are" \
    "refused. Then the product closes; no region takes an image any more."
run 0 'pack --region ns --version 1 --key ns-owner.pem --in ns-v1.bin --out ns-v1.sfi'
run 0 'vsafe sfi install ns-v1.sfi' "^installed into region 3 \(version 1\)$"
run 0 'pack --region ns --version 2 --key ns-owner.pem --in ns-v2.bin --out ns-v2.sfi'
run 0 'vsafe sfi install ns-v2.sfi' "^installed into region 3 \(version 2\)$"
refused ERR_SFI_REPLAY 'vsafe sfi install ns-v1.sfi'
run 0 'pack --region ns --version 3 --key irot-owner.pem --in ns-v3.bin --out ns-by-irot-owner.sfi'
refused ERR_SFI_FOREIGN_REGION 'vsafe sfi install ns-by-irot-owner.sfi'
run 0 'vsafe mcu state CLOSED'
run 0 'vsafe mcu reset'
run 0 'vsafe mcu show'
expect_state CLOSED 0x72
expect_field "debug access" "NS: HDPL1 no, HDPL2 no, HDPL3 no; S: HDPL1 no, HDPL2 no, HDPL3 no"
run 0 'pack --region ns --version 3 --key ns-owner.pem --in ns-v3.bin --out ns-v3.sfi'
refused ERR_SFI_STATE 'vsafe sfi install ns-v3.sfi'
run 0 'vsafe sfi show'
expect_region irot irot-owner.pem 2
expect_region s s-owner.pem 2
expect_region ns ns-owner.pem 2

section "In the field: a battery charger"
say "The charger trusts the battery maker's CA and nothing else. It authenticates the pack: the" \
    "certificate in zone 0 must chain to the CA, and the secure element must sign a fresh challenge" \
    "with the certified key. Then it asks the pack to count the charge: a charger writing the counter" \
    "itself is refused (zone 5's update AC is host); the pack's firmware opens the host channel with" \
    "the keys in OBK HDPL3-S and decrements the counter with the charge's record, C-MAC and R-MAC checked."
run 0 'power_tool board authenticate maker-ca.pem' "=> battery authenticated: genuine"
refused ACCESS_CONDITION_NOT_SATISFIED 'power_tool board charge 1767225600 0xC4A26001 88'
# The charge's record as power_tool lays it out: time, charger ID, energy (Wh), cycle number (the
# second decrement of zone 5: the AC change was the first), in the cycle's slot (16 * (cycle - 1) % 64).
check "the record is 2026-01-01, charger 0xC4A26001, 88 Wh, cycle 2" \
    [ "$(printf '%08x%08x%08x%08x' 1767225600 0xC4A26001 88 2)" = 6955b900c4a260010000005800000002 ]
run 0 'vsafe decrement 5 --offset 16 --data 6955b900c4a260010000005800000002 --host-key obk:HDPL3-S' \
    "^zone 5: counter $((COUNTER0 - 2))$"
run 0 'vsafe read 5 --offset 16 --length 16 --host-key obk:HDPL3-S' "counter $((COUNTER0 - 2))$" \
    "69 55 b9 00 c4 a2 60 01 00 00 00 58 00 00 00 02"

section "Field return: ST's certificate chain regresses the board"
say "The pack comes back. The return station reads the board's Discovery (ADAC), then regresses it" \
    "with the OEM's chain and leaf key, a full regression as ST's \`regression.sh\` asks for (per=a): it" \
    "erases flash, SRAM and OBK, draws a new DHUK and leaves the product OPEN. The secure element is a" \
    "separate chip: nothing erases it."
run 0 'vsafe da discover' "^st_provisioned +0xEAEAEAEA$"
expect_field product_state 0x72
expect_field attempts_left 16
run 0 'vsafe da regress --full --chain "$DA_CHAIN" --key "$DA_LEAF_KEY"' "^full regression granted: CLOSED -> OPEN "
run 0 'vsafe mcu show'
expect_state OPEN 0xED
expect_field "DA config" "not provisioned"
expect_field "DA attempts" "0 failed of 16 allowed"
expect_field "host keys" "absent (OBK HDPL3-S)"
expect_field "DHUK epoch" 1
run 0 'vsafe sfi show'
expect_region irot free 0
expect_region s free 0
expect_region ns free 0
say "The board's firmware can no longer open the host channel: in OPEN no OBK is readable, and once" \
    "the board is in PROVISIONING again OBK HDPL3-S and HDPL1 read erased (all 0xFF)."
refused ERR_STATE 'vsafe decrement 5 --host-key obk:HDPL3-S'
run 0 'vsafe mcu state PROVISIONING'
run 0 'vsafe mcu reset'
run 0 'vsafe mcu show'
expect_state PROVISIONING 0x17
run 0 'vsafe mcu obk read HDPL3-S --length 72'
check "OBK HDPL3-S (the host-key record) is erased" [ "$(cat "$TR_OUT")" = "$FF72" ]
run 0 'vsafe mcu obk read HDPL1 --length 96'
check "OBK HDPL1 (the DA configuration) is erased" [ "$(cat "$TR_OUT")" = "$FF96" ]
refused ERR_NOT_FOUND 'vsafe decrement 5 --host-key obk:HDPL3-S'
say "The secure element kept its counter and its record; it still holds the old host keys, which" \
    "nobody has any more, and takes no new ones (its key provisioning was locked): a field return" \
    "does not open the way to the usage counter."
run 0 'vsafe read 5 --offset 16 --length 16' "counter $((COUNTER0 - 2))$" "69 55 b9 00 c4 a2 60 01 00 00 00 58 00 00 00 02"
refused ACCESS_CONDITION_NOT_SATISFIED 'vsafe decrement 5'
run 0 'vsafe info' "^host key +AES-128, C-MAC counter [0-9]+$"
expect_field "key provisioning" "plaintext allowed, wrapped refused, re-provision refused, change right no, auth key slot 0xff"
refused ACCESS_CONDITION_NOT_SATISFIED 'vsafe mcu hostkeys'
check "mcu hostkeys says re-provisioning is what refused it" tr_matches "do not allow re-provisioning"
run 0 'vsafe mcu show'
expect_field "host keys" "absent (OBK HDPL3-S)"
transcript_end rehearsal
