#!/bin/bash
# Every CLI command that talks to the secure element gives the same stdout and exit status through
# `vsafe serve` + `--connect` as on the device directory itself. Two byte-identical devices (one
# copied from the other) run the same command list, one locally and one served; the outputs are
# diffed line by line. Relative paths (key files) are the same in both working directories.
# Usage: serve_cli_same.sh VSAFE
set -u
VSAFE=$1
T=$(mktemp -d)
SP=
cleanup() {
    [ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
bad() { fails=$((fails + 1)); echo "FAIL: $*" >&2; }

mkdir -p "$T/local" "$T/served"
"$VSAFE" --device "$T/local/dev" init >/dev/null || { echo "init failed"; exit 1; }
cp -r "$T/local/dev" "$T/served/dev"

# The command list: successes and refusals, text and --json, reads, writes, counters, ACs, the
# host key (provisioned with a key file, then used for MACed commands), the command table.
CMDS=(
    "zones"
    "--json zones"
    "info"
    "--json info"
    "read 1 --length 16"
    "update 1 --offset 4 --data 00112233445566778899"
    "--json read 1 --offset 2 --length 12"
    "update 2 --data 0a0b0c0d --atomic"
    "--json update 3 --data $(printf 'ab%.0s' $(seq 1 900))"
    "read 3 --offset 890 --length 20"
    "decrement 5"
    "--json decrement 5 --amount 1000 --data cafe"
    "read 5"
    "--json read 5"
    "decrement 2"
    "--json decrement 2"
    "read 99"
    "--json read 99"
    "update 0 --data 00"
    "echo 0102030405"
    "--json echo ffee"
    "ac 1 --update host"
    "update 1 --data 01"
    "--json ac 4 --read never"
    "read 4"
    "hostkey show"
    "hostkey provision --mac-key 000102030405060708090a0b0c0d0e0f --cipher-key 101112131415161718191a1b1c1d1e1f --out k.key"
    "--json hostkey show"
    "update 1 --data 0102 --host-key k.key"
    "read 1 --length 4 --host-key k.key"
    "--json decrement 6 --amount 7 --host-key k.key"
    "cmdac show"
    "--json cmdac show"
    "read 1 --length"
    "decrement 5 --amount 0"
    "status 0x11"
)

run_all() { # run_all DIR PREFIX...: runs every command in DIR, outputs to DIR/out.N, DIR/rc.N
    local dir=$1
    shift
    local i=0
    for c in "${CMDS[@]}"; do
        # shellcheck disable=SC2086
        (cd "$dir" && "$@" $c >"out.$i" 2>"err.$i"; echo $? >"rc.$i")
        i=$((i + 1))
    done
}

run_all "$T/local" "$VSAFE" --device dev

"$VSAFE" --device "$T/served/dev" serve --socket "$T/sock" >"$T/ready" 2>"$T/serve.err" &
SP=$!
for _ in $(seq 1 100); do [ -s "$T/ready" ] && break; sleep 0.05; done
[ "$(cat "$T/ready")" = "$T/sock" ] || { echo "FAIL: server not ready: $(cat "$T/serve.err")"; exit 1; }
run_all "$T/served" "$VSAFE" --connect "$T/sock"
# VSAFE_CONNECT works as --connect does.
(cd "$T/served" && VSAFE_CONNECT="$T/sock" "$VSAFE" zones >env.out 2>&1) || bad "VSAFE_CONNECT zones failed"
"$VSAFE" --device "$T/local/dev" zones >"$T/local/zones.now" 2>&1
cmp -s "$T/served/env.out" "$T/local/zones.now" || bad "VSAFE_CONNECT zones differs from local zones"

i=0
for c in "${CMDS[@]}"; do
    if ! cmp -s "$T/local/rc.$i" "$T/served/rc.$i"; then
        bad "'$c': exit $(cat "$T/local/rc.$i") locally, $(cat "$T/served/rc.$i") through the socket"
    fi
    if ! diff -u "$T/local/out.$i" "$T/served/out.$i" >"$T/diff"; then
        bad "'$c': stdout differs"
        head -20 "$T/diff" >&2
    fi
    i=$((i + 1))
done

# The run was not trivial: refusals and successes both occurred.
grep -qx 1 "$T"/local/rc.* || bad "no command failed: the list does not test refusals"
grep -qx 0 "$T"/local/rc.* || bad "no command succeeded"
grep -q WRONG_ZONE_TYPE "$T"/local/err.* || bad "the refusal of a decrement on a data zone was not seen"

# Commands that only work on a directory are refused with --connect, not run locally by surprise.
for c in init check "mcu show"; do
    # shellcheck disable=SC2086
    (cd "$T/served" && "$VSAFE" --connect "$T/sock" $c >/dev/null 2>"$T/lo.err")
    rc=$?
    [ "$rc" -eq 2 ] || bad "'$c' with --connect: exit $rc, wanted 2"
    grep -q "cannot go through --connect" "$T/lo.err" || bad "'$c' with --connect: no clear refusal"
done

# vsafe ctl through the same socket.
C() { (cd "$T/served" && "$VSAFE" --connect "$T/sock" "$@"); }
st=$(C --json ctl stats) || bad "ctl stats failed"
echo "$st" | grep -q '"commands":[1-9]' || bad "ctl stats --json has no commands count: $st"
echo "$st" | grep -q '"commits":[1-9]' || bad "ctl stats --json has no commits count: $st"
C ctl power off >/dev/null || bad "ctl power off"
C zones >/dev/null 2>"$T/off.err" && bad "zones answered while the device is off"
grep -q HOST_NACK "$T/off.err" || bad "powered off: no NACK reported: $(cat "$T/off.err")"
C ctl power on >/dev/null || bad "ctl power on"
C zones >/dev/null || bad "zones after power on"
C ctl state save "$T/blob" >/dev/null || bad "ctl state save"
before=$(C --json read 6)
C ctl cut-after 1 --cut-model torn-page >/dev/null || bad "ctl cut-after"
C decrement 6 >/dev/null 2>"$T/cut.err"
rc=$?
[ "$rc" -eq 1 ] && grep -q POWER_LOSS "$T/cut.err" || bad "cut decrement: exit $rc, $(cat "$T/cut.err")"
[ "$(C --json read 6)" = "$before" ] || bad "the cut decrement changed the counter"
C decrement 6 >/dev/null || bad "the command after the cut failed"
[ "$(C --json read 6)" != "$before" ] || bad "the decrement after the cut did not count"
C ctl state load "$T/blob" >/dev/null || bad "ctl state load"
[ "$(C --json read 6)" = "$before" ] || bad "state load did not restore the counter"
C ctl cut-after 1 --cut-model sideways >/dev/null 2>&1
[ $? -eq 2 ] || bad "a bad cut model is not a usage error"
C --json ctl bogus >/dev/null 2>&1
[ $? -eq 2 ] || bad "an unknown ctl request is not a usage error"
"$VSAFE" ctl stats >/dev/null 2>&1
[ $? -eq 2 ] || bad "ctl without --connect is not a usage error"
C ctl state load "$T/served/out.0" >/dev/null 2>"$T/load.err"
[ $? -eq 1 ] && grep -q SERVER_STATE_BLOB "$T/load.err" || bad "a non-blob file was not refused"
[ "$(C --json read 6)" = "$before" ] || bad "a refused state load changed the device"
C ctl state save "$T/blob" >/dev/null
cp "$T/blob" "$T/blob.ref"

kill -TERM "$SP"
wait "$SP"
rc=$?
SP=
[ "$rc" -eq 0 ] || bad "serve exited $rc after SIGTERM, wanted 0"
[ -e "$T/sock" ] && bad "the socket is still there after a clean stop"
# The served device holds exactly the state the local one does (same commands, same results):
# the counters read back the same once the server is gone.
# The state file the server leaves is the last state it served, byte for byte.
cmp -s "$T/served/dev/se.nvm" <(tail -c +13 "$T/blob.ref") || bad "se.nvm after the stop differs from the last saved state"
[ "$("$VSAFE" --device "$T/served/dev" --json read 6)" = "$before" ] || bad "counter after the stop"
# TCP loopback: the chosen port is printed; a non-loopback address is refused.
"$VSAFE" --device "$T/served/dev" serve --listen 127.0.0.1:0 >"$T/tready" 2>"$T/tserve.err" &
SP=$!
for _ in $(seq 1 100); do [ -s "$T/tready" ] && break; sleep 0.05; done
addr=$(cat "$T/tready")
case "$addr" in 127.0.0.1:[1-9]*) ;; *) bad "TCP ready line '$addr'" ;; esac
(cd "$T/served" && "$VSAFE" --connect "$addr" --json read 6 >"$T/tcp.out") || bad "read over TCP"
[ "$(cat "$T/tcp.out")" = "$before" ] || bad "read over TCP differs"
kill -TERM "$SP"; wait "$SP"; SP=
"$VSAFE" --device "$T/served/dev" serve --listen 0.0.0.0:0 >/dev/null 2>"$T/remote.err"
[ $? -eq 1 ] && grep -q "not a loopback address" "$T/remote.err" || bad "a non-loopback --listen was not refused"


echo "serve_cli_same: ${#CMDS[@]} commands both ways, $fails failure(s)"
[ "$fails" -eq 0 ]
