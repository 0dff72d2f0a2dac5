#!/bin/sh
# End-to-end test of the vsafe CLI: exit statuses, JSON fields, refusals, usage errors, trace.
# usage: cli_e2e.sh PATH_TO_VSAFE
set -u
VSAFE=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
D="$T/dev"
fails=0
n=0

ok() { n=$((n + 1)); }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
# expect STATUS CMD...: runs vsafe, keeps stdout in $T/out and stderr in $T/err
expect() {
    want=$1; shift
    "$VSAFE" --device "$D" "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else bad "vsafe $* -> exit $got, wanted $want"; cat "$T/err" >&2; fi
}
has() { # has FILE TEXT
    if grep -q -- "$2" "$1"; then ok; else bad "'$2' not in $1: $(head -c 400 "$1")"; fi
}

# --- init
expect 1 zones
has "$T/err" "NO_DEVICE"
expect 0 init
has "$T/out" "12 zones"
expect 1 init
has "$T/err" "already exists"
expect 0 init --force
expect 2 init --profile
expect 1 --json init
has "$T/out" '"error":"DEVICE_EXISTS"'

# --- zones
expect 0 zones
has "$T/out" "counter"
expect 0 --json zones
for f in '"zones":\[' '"index":0' '"type":"data"' '"type":"counter"' '"length":1000' '"read_ac":"always"' \
         '"update_ac":"never"' '"read_ac_change_right":false' '"update_ac_change_right":true' '"counter":4294967295'; do
    has "$T/out" "$f"
done
expect 0 zones --json
has "$T/out" '"zones":\['

# --- update / read
expect 0 update 1 --data 48656c6c6f
expect 0 --json read 1 --length 5
has "$T/out" '"zone":1'
has "$T/out" '"offset":0'
has "$T/out" '"data":"48656c6c6f"'
expect 0 update 1 --offset 0x10 --data "0xCAFE" --atomic
expect 0 --json read 1 --offset 16 --length 2
has "$T/out" '"data":"cafe"'
expect 0 read 1 --length 5
has "$T/out" "Hello"
expect 0 --json read 1
if [ "$(sed 's/.*"data":"\([0-9a-f]*\)".*/\1/' "$T/out" | head -1 | tr -d '\n' | wc -c)" -eq 2000 ]; then ok; else bad "whole-zone read is not 1000 bytes"; fi

# --- decrement
expect 0 --json decrement 5 --amount 2 --data 0102 --offset 4
has "$T/out" '"zone":5'
has "$T/out" '"counter":4294967293'
expect 0 decrement 5
has "$T/out" "4294967292"
expect 0 --json read 5 --length 8
has "$T/out" '"counter":4294967292'
has "$T/out" '"data":"0000000001020000"'

# --- device refusals: exit 1, one line on stderr naming the status
expect 1 update 0 --data 00
has "$T/err" "ACCESS_CONDITION_NOT_SATISFIED"
if [ "$(wc -l <"$T/err")" -eq 1 ]; then ok; else bad "refusal message is not one line"; fi
expect 1 --json update 0 --data 00
has "$T/out" '"error":"ACCESS_CONDITION_NOT_SATISFIED"'
has "$T/out" '"message":'
expect 1 update 5 --data 00
has "$T/err" "WRONG_ZONE_TYPE"
expect 1 decrement 1
has "$T/err" "WRONG_ZONE_TYPE"
expect 1 read 1 --offset 998 --length 4
has "$T/err" "BOUNDARY_EXCEEDED"
expect 1 read 42
has "$T/err" "ENTRY_NOT_FOUND"
expect 1 decrement 5 --amount 0xFFFFFFFF
has "$T/err" "COUNTER_LIMIT_EXCEEDED"
expect 0 decrement 7 --amount 0xFFFFFFFF
expect 1 decrement 7
has "$T/err" "COUNTER_LIMIT_EXCEEDED"

# --- access conditions
expect 0 ac 2 --update never --lock
expect 1 update 2 --data 00
has "$T/err" "ACCESS_CONDITION_NOT_SATISFIED"
expect 1 ac 2 --update always
has "$T/err" "ACCESS_CONDITION_NOT_SATISFIED"
expect 0 ac 3 --read host
expect 1 read 3 --length 1
expect 2 ac 8 --update host
has "$T/err" "amount"
expect 0 --json ac 8 --update host --amount 1
has "$T/out" '"counter":4294967294'
expect 0 --json zones
has "$T/out" '"index":2,"type":"data","length":1000,"read_ac":"always","update_ac":"never","read_ac_change_right":true,"update_ac_change_right":false'

# --- usage errors: exit 2
expect 2
expect 2 frobnicate
expect 2 read
expect 2 read x
expect 2 read 256
expect 2 read 1 --offset 65536
expect 2 read 1 --bogus
expect 2 update 1
expect 2 update 1 --data 0
expect 2 update 1 --data zz
expect 2 decrement 5 --amount 0
expect 2 ac 1 --read sometimes
expect 2 ac 1
expect 2 --json read
has "$T/out" '"error":"USAGE"'

# --- misc
expect 0 info
has "$T/out" "STSAFE-A120"
expect 0 --json info
has "$T/out" '"mask_id":"006001"'
expect 0 echo 0a0b0c
has "$T/out" "0a0b0c"
expect 0 --json random 300
expect 0 status ACCESS_CONDITION_NOT_SATISFIED
has "$T/out" "0x11"
expect 0 status --list
has "$T/out" "ERR_HOST_NACK"

# --- trace
expect 0 --trace read 1 --length 4
has "$T/err" "H->D  05 00 01 00 00 00 04 31 B3"
has "$T/err" "Read (0x05)"
has "$T/err" "Query (0x14) tag=0x11"
has "$T/err" "CRC=31B3 ok"
has "$T/err" "D->H"
expect 1 update 0 --data 00 --trace
has "$T/err" "ACCESS_CONDITION_NOT_SATISFIED (0x11)"

# --- state survives between invocations; VSAFE_DEVICE is honoured
VSAFE_DEVICE="$D" "$VSAFE" --json read 5 --length 0 >"$T/out" 2>"$T/err" && ok || bad "VSAFE_DEVICE"
has "$T/out" '"counter":4294967292'

# --- host keys and the secure channel
K="$T/host.key"
expect 2 hostkey provision
expect 2 hostkey provision --method sideways --out "$K"
expect 2 hostkey provision --mac-key 00 --cipher-key 00
expect 0 hostkey provision --out "$K"
if [ "$(stat -c %a "$K")" = 600 ]; then ok; else bad "key file mode"; fi
has "$K" "type aes128"
expect 0 --json hostkey show
has "$T/out" '"present":true'
expect 1 hostkey provision --key-file "$K"
has "$T/err" "ACCESS_CONDITION_NOT_SATISFIED"
expect 0 ac 4 --update host --host-key "$K"
expect 1 update 4 --data 01
has "$T/err" "ACCESS_CONDITION_NOT_SATISFIED"
expect 0 --trace update 4 --data 0102 --host-key "$K"
has "$T/err" "C-MAC="
has "$T/err" "R-MAC="
if grep -q "$(sed -n 's/^mac //p' "$K")" "$T/err" "$T/out"; then bad "key printed in trace"; else ok; fi
expect 0 cmdac set read --ac host --encrypt-rsp --host-key "$K"
expect 0 --json cmdac show
has "$T/out" '"ac_change_right":false'
expect 1 read 4 --length 2
has "$T/err" "NO_SESSION"
expect 0 --json --trace read 4 --length 2 --host-key "$K"
has "$T/out" '"data":"0102"'
has "$T/err" "plaintext:"
expect 1 cmdac set update --ac host --host-key "$K"
has "$T/err" "ACCESS_CONDITION_NOT_SATISFIED"
printf 'type aes128\nmac 00\n' >"$T/bad.key"
expect 1 read 4 --host-key "$T/bad.key"
has "$T/err" "BAD_KEY_FILE"

echo "cli_e2e: $n checks, $fails failed"
[ "$fails" -eq 0 ]
