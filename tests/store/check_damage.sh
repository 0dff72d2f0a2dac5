#!/usr/bin/env bash
# vsafe check and --salvage end to end on a real state file (issue 8, finding 1): a flipped bit is
# reported as corrected and the device keeps its newest state; damage that is not a power cut is
# reported with its offset and the device refuses to open; nothing is written without --salvage;
# --salvage says what it gives up, records it in DIR/salvage.log and later checks report it; a torn
# tail is reported as a power cut. The MCU state file: a flipped bit is corrected, two in its only
# snapshot refuse.
set -u
V="$1"
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
F="$D/se.nvm"

flip() { # flip FILE OFFSET MASK
  local b nb
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  nb=$((b ^ $3))
  printf "\\$(printf %03o "$nb")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
field() { sed -n "s/.*\"$1\":\([0-9a-z]*\).*/\1/p" | head -1; }
counter() { "$V" --device "$D" --json read 5 --length 0 | sed -n 's/.*"counter":\([0-9]*\).*/\1/p' | head -1; }

"$V" --device "$D" init >/dev/null || fail init
last=""
acked=()  # acked[i]: the counter the device returned for decrement i (the commit with seq i + 1)
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
  last=$("$V" --device "$D" --json decrement 5 --data 0102 | sed -n 's/.*"counter":\([0-9]*\).*/\1/p' | head -1)
  acked[$i]=$last
done
[ -n "$last" ] || fail "no counter from decrement"
seq=$("$V" --device "$D" --json check | field sequence)
used=$("$V" --device "$D" --json check | field journal_used)
"$V" --device "$D" check | grep -q "recovery       clean" || fail "fresh device not clean"

# one flipped bit in a middle record: corrected, exact, and check wrote nothing
mid=$((used - 200))
flip "$F" $mid 4
cp "$F" "$D/before"
out=$("$V" --device "$D" check) || fail "check of a one-bit flip: $out"
echo "$out" | grep -q "corrected 1 flipped bit: record seq [0-9]*, half A, byte 0x$(printf %x $mid) bit 2" \
  || fail "correction not reported with its offset: $out"
"$V" --device "$D" --json check | grep -q '"state":"corrected"' || fail "check --json state corrected"
cmp -s "$F" "$D/before" || fail "check modified the state file"
[ "$(counter)" = "$last" ] || fail "corrected device shows counter $(counter), acknowledged $last"
flip "$F" $mid 4

# two flipped bits in a record that is not the newest: damage, refused, nothing written
flip "$F" $mid 1
flip "$F" $((mid + 5)) 16
cp "$F" "$D/before"
out=$("$V" --device "$D" check); rc=$?
[ $rc -eq 1 ] || fail "check of damage must exit 1 (got $rc): $out"
echo "$out" | grep -q "DAMAGED (not a power cut): damaged: a record fails its checks and newer records follow it (record seq [0-9]*, half A, byte 0x" \
  || fail "damage not reported with where: $out"
echo "$out" | grep -q "would keep the state at sequence" || fail "check does not say what salvage would lose: $out"
"$V" --device "$D" --json check | grep -q '"kind":"record"' || fail "check --json damage kind"
err=$("$V" --device "$D" read 5 --length 0 2>&1) && fail "a damaged device opened: $err"
echo "$err" | grep -q "damaged" || fail "open error does not say damaged: $err"
cmp -s "$F" "$D/before" || fail "check or a refused open modified the damaged file"
[ -e "$D/salvage.log" ] && fail "salvage.log exists before any salvage"

# explicit salvage: says what is lost, logs it, then the device opens at the kept state
out=$("$V" --device "$D" check --salvage) || fail "salvage failed: $out"
kept=$(echo "$out" | sed -n 's/.*salvaged: kept the state at sequence \([0-9]*\), gave up \([0-9]*\) commits (sequences \([0-9]*\)\.\.\([0-9]*\)).*/\1 \2 \3 \4/p' | head -1)
set -- $kept
[ $# -eq 4 ] || fail "salvage output: $out"
[ $(($1 + $2)) -eq "$seq" ] && [ "$3" -eq $(($1 + 1)) ] && [ "$4" -eq "$seq" ] && [ "$2" -ge 2 ] \
  || fail "salvage must give up from the damaged record to the newest ($seq): $out"
keptseq=$1
grep -q "se.nvm salvaged: kept the state at sequence" "$D/salvage.log" || fail "salvage.log: $(cat "$D/salvage.log")"
out=$("$V" --device "$D" check) || fail "check after salvage: $out"
echo "$out" | grep -q "salvaged       1 time" || fail "check does not report the salvage: $out"
now=$(counter)
[ -n "$now" ] || fail "salvaged device does not open"
[ "$now" = "${acked[$((keptseq - 1))]}" ] || fail "salvaged counter $now, acknowledged at seq $keptseq: ${acked[$((keptseq - 1))]}"
newseq=$("$V" --device "$D" --json check | field sequence)
[ "$newseq" -gt "$seq" ] || fail "salvaged snapshot seq $newseq not above every seen ($seq)"
"$V" --device "$D" --json check | grep -q '"salvages":{"count":1' || fail "check --json salvages"

# a torn tail (bytes after the last record, nothing valid after): a power cut, not damage
used=$("$V" --device "$D" --json check | field journal_used)
half=$("$V" --device "$D" --json check | field active_half)
size=$("$V" --device "$D" --json check | field journal_size)
used=$((half * size + used))
printf '\000\000\000\000\000\000\000\000' | dd of="$F" bs=1 seek="$used" conv=notrunc status=none
out=$("$V" --device "$D" check) || fail "torn tail refused: $out"
echo "$out" | grep -q "torn newest record (power cut, nothing acknowledged lost)" || fail "torn not reported: $out"

# the MCU's state file: a flip is corrected, two refuse, salvage works the same way
"$V" --device "$D" mcu state PROVISIONING >/dev/null 2>&1 || "$V" --device "$D" mcu reset >/dev/null 2>&1
M="$D/mcu.nvm"
if [ -e "$M" ]; then
  mu=$("$V" --device "$D" --json check | sed -n 's/.*"mcu":{[^}]*"journal_used":\([0-9]*\).*/\1/p')
  [ -n "$mu" ] || fail "no MCU journal size"
  flip "$M" 100 8
  "$V" --device "$D" check | grep -A8 "^MCU" | grep -q "corrected 1 flipped bit" || fail "MCU flip not corrected"
  flip "$M" 101 8
  "$V" --device "$D" check >/dev/null && fail "MCU with two flipped bits in its only snapshot passes check"
  echo "check_damage: SE and MCU damage reported, refused, salvaged and logged; torn tail is a power cut"
else
  echo "check_damage: SE damage reported, refused, salvaged and logged; torn tail is a power cut (no MCU file)"
fi
