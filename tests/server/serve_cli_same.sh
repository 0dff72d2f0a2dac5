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

kill -TERM "$SP"
wait "$SP"
rc=$?
SP=
[ "$rc" -eq 0 ] || bad "serve exited $rc after SIGTERM, wanted 0"
[ -e "$T/sock" ] && bad "the socket is still there after a clean stop"
# The served device holds exactly the state the local one does (same commands, same results):
# the counters read back the same once the server is gone.
a=$("$VSAFE" --device "$T/local/dev" --json read 6)
b=$("$VSAFE" --device "$T/served/dev" --json read 6)
[ "$a" = "$b" ] || bad "state after the run differs: local $a, served $b"

echo "serve_cli_same: ${#CMDS[@]} commands both ways, $fails failure(s)"
[ "$fails" -eq 0 ]
