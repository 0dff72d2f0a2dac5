#!/usr/bin/env bash
# vsafe check and --cut-after, end to end: a power cut at every NVM operation of a decrement,
# through the CLI; after each cut the device opens, `check` says valid, and the counter is either
# the old or the new value (never anything else), and it never goes back up.
set -u
V="$1"
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$V" --device "$D" init >/dev/null || fail init
"$V" --device "$D" check >/dev/null || fail "check of a fresh device"
"$V" --device "$D" --json check | grep -q '"valid":true' || fail "check --json"
"$V" --device "$D" check --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "check usage error exit 2"
"$V" --device "$D" --cut-after 0 zones >/dev/null 2>&1; [ $? -eq 2 ] || fail "--cut-after 0 is a usage error"
"$V" --device "$D" --cut-model sideways zones >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --cut-model"

counter() { "$V" --device "$D" --json read 5 --length 0 | sed -n 's/.*"counter":\([0-9]*\).*/\1/p' | head -1; }
prev=$(counter)
cuts=0
for model in dropped torn-unit torn-page reordered; do
  for n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do
    out=$("$V" --device "$D" --cut-after $n --cut-model $model decrement 5 --data 0102030405060708 2>&1)
    rc=$?
    "$V" --device "$D" check >/dev/null || fail "check after cut $model/$n: $("$V" --device "$D" check)"
    now=$(counter)
    [ -n "$now" ] || fail "device does not open after cut $model/$n"
    if echo "$out" | grep -q "power cut at NVM operation"; then
      cuts=$((cuts + 1))
      [ $rc -ne 0 ] || fail "a cut command must not report success ($model/$n)"
      [ "$now" = "$prev" ] || [ "$now" = "$((prev - 1))" ] || fail "counter $prev -> $now after cut $model/$n"
    else
      echo "$out" | grep -q "no power cut" || fail "no cut report for $model/$n: $out"
      [ $rc -eq 0 ] || fail "uncut decrement failed ($model/$n): $out"
      [ "$now" = "$((prev - 1))" ] || fail "acknowledged decrement lost ($model/$n): $prev -> $now"
    fi
    [ "$now" -le "$prev" ] || fail "counter went up: $prev -> $now"
    prev=$now
  done
done
[ $cuts -gt 20 ] || fail "only $cuts cuts happened"
echo "check_cut: $cuts power cuts through the CLI, device valid after each, counter never increased"
