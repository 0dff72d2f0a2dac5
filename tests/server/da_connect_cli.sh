#!/bin/bash
# `vsafe --connect PATH da ...`: the debug-authentication exchange over the server's DA_EXCHANGE
# gives the same stdout and exit status as on the board's directory, and leaves the board in the
# same state. Two byte-identical closed boards (one copied from the other, DA provisioned with a
# chain from `vsafe da keygen`) run the same da commands, one locally and one served; outputs are
# compared (the measured time aside), the JSON results checked field by field, and both boards'
# `mcu show --json` compared once the server has stopped. Then: --trace over the socket, refusals
# (wrong key, the commands the socket does not carry, a board without an MCU), VSAFE_CONNECT.
# Usage: da_connect_cli.sh VSAFE
set -u
V=$1
T=$(mktemp -d)
SP=
cleanup() {
    [ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
n=0
fails=0
ok() { n=$((n + 1)); }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
unset VSAFE_DEVICE VSAFE_CONNECT
export VSAFE_MCU_SEED=7

L="$T/local" S="$T/served" K="$T/keys"
{ "$V" --device "$L" init && "$V" --device "$L" mcu trustzone on && "$V" --device "$L" mcu state PROVISIONING &&
    "$V" --device "$L" mcu reset && "$V" --device "$L" da keygen && "$V" --device "$L" da provision &&
    "$V" --device "$L" mcu hostkeys && "$V" --device "$L" mcu state CLOSED && "$V" --device "$L" mcu reset; } \
    >/dev/null 2>"$T/setup.err" || { echo "FAIL: board set-up: $(cat "$T/setup.err")"; exit 1; }
cp -r "$L" "$S"
cp -r "$L/da" "$K"
CRED="--chain $K/cert_leaf_chain.b64 --key $K/key_3_leaf.pem"
WRONG="--chain $K/cert_leaf_chain.b64 --key $K/key_2_intermediate.pem"

# The sequence: what a debugger does with a closed board, refusals included.
CMDS=(
    "--json da discover"
    "da discover"
    "--json da open-debug --per h $CRED"
    "--json da discover"
    "--json da close-debug"
    "da close-debug"
    "da open-debug --domain s --hdpl 2 $CRED"
    "da close-debug"
    "--trace da open-debug --per g $CRED"
    "--json da close-debug"
    "--json da regress --full $WRONG"
    "da regress --partial $WRONG"
    "--json da regress --partial $CRED"
    "--json da regress --partial $CRED"
    "--json da regress --full $CRED"
    "--json da regress --full $CRED"
    "da regress --full $CRED"
    "--json da open-debug --per c $CRED"
    "--json da discover"
)

run_all() { # run_all TAG PREFIX...: every command, outputs to T/TAG.out.N, T/TAG.err.N, T/TAG.rc.N
    local tag=$1
    shift
    local i=0
    for c in "${CMDS[@]}"; do
        # shellcheck disable=SC2086
        "$@" $c >"$T/$tag.out.$i" 2>"$T/$tag.err.$i"
        echo $? >"$T/$tag.rc.$i"
        i=$((i + 1))
    done
}
# The only things allowed to differ: the time an exchange took, and the bytes of a traced frame (the
# challenge is random, so the token's signature is too); each frame's header line must agree.
norm() { sed -E '/^   /d; s/"elapsed_ms":[0-9.eE+-]+/"elapsed_ms":T/; s/\(([0-9]+\.[0-9]+) ms\)/(T ms)/; s/; [0-9]+\.[0-9]+ ms\)/; T ms)/' "$1"; }

run_all local "$V" --device "$L"

"$V" --device "$S" serve --socket "$T/sock" >"$T/ready" 2>"$T/serve.err" &
SP=$!
for _ in $(seq 1 100); do [ -s "$T/ready" ] && break; sleep 0.05; done
[ "$(cat "$T/ready")" = "$T/sock" ] || { echo "FAIL: server not ready: $(cat "$T/serve.err")"; exit 1; }
run_all served "$V" --connect "$T/sock"

i=0
for c in "${CMDS[@]}"; do
    cmp -s "$T/local.rc.$i" "$T/served.rc.$i" && ok \
        || bad "'$c': exit $(cat "$T/local.rc.$i") locally, $(cat "$T/served.rc.$i") through the socket"
    if diff -u <(norm "$T/local.out.$i") <(norm "$T/served.out.$i") >"$T/diff"; then ok; else
        bad "'$c': stdout differs"
        head -20 "$T/diff" >&2
    fi
    # stderr too (the refusals' messages), except the time
    if diff -u <(norm "$T/local.err.$i") <(norm "$T/served.err.$i") >"$T/diff"; then ok; else
        bad "'$c': stderr differs"
        head -20 "$T/diff" >&2
    fi
    i=$((i + 1))
done

# Each result of the served run, field by field (expected values: what each step should do to a
# CLOSED board with TrustZone on and 16 attempts).
python3 - "$T" <<'PY' && ok || bad "JSON results of the served run"
import json, sys
t = sys.argv[1]
def out(i):
    return json.load(open(f"{t}/served.out.{i}"))
def rc(i):
    return int(open(f"{t}/served.rc.{i}").read())
def err(i):
    return open(f"{t}/served.err.{i}").read()
bad = []
count = 0
def check(cond, what):
    global count
    count += 1
    if not cond:
        bad.append(what)
d = out(0)
check(list(d) == ["da_discover"], f"discover: one result under da_discover: {d}")
d = d["da_discover"]
check(d["product_state_name"] == "CLOSED" and d["product_state"] == 0x72 and d["attempts_left"] == 16, f"discover: {d}")
check(d["tzen"] == 0xB4 and d["st_provisioned"] == 0xEAEAEAEA and d["debug_grant"] == "00" * 16, f"discover: {d}")
check(rc(0) == 0, "discover exit")
o = out(2)
check(list(o) == ["da_open_debug"], f"open-debug: {o}")
o = o["da_open_debug"]
check(o["from"] == "CLOSED" and o["state"] == "CLOSED" and o["granted_bit"] == 6 and o["domain"] == "ns"
      and o["hdpl"] == 3 and o["no_op"] is False and o["attempts_left"] == 16 and o["elapsed_ms"] > 0, f"open-debug: {o}")
check(out(3)["da_discover"]["debug_grant"] == "40" + "00" * 15, f"grant after open-debug: {out(3)}")
check(out(4) == {"da_close_debug": {"was_open": True, "closed": True}}, f"close-debug: {out(4)}")
check(open(f"{t}/served.out.5").read() == "no authenticated debug was open\n", "second close-debug")
check("debug reopened: secure domain at HDPL2" in open(f"{t}/served.out.6").read(), "open-debug --domain s")
check(open(f"{t}/served.out.7").read() == "authenticated debug closed (Lock Debug)\n", "close-debug text")
check(out(9) == {"da_close_debug": {"was_open": True, "closed": True}}, f"close-debug after --trace: {out(9)}")
e = out(10)
check(rc(10) == 1 and e["error"].startswith("ERR_DA_") and "attempts left: 15" in e["message"], f"wrong key: {e}")
check(rc(11) == 1 and "ERR_DA_" in err(11) and "attempts left: 14" in err(11), f"wrong key (text): {err(11)}")
r = out(12)["da_regress"]
check(rc(12) == 0 and r["from"] == "CLOSED" and r["state"] == "TZ_CLOSED" and r["granted_bit"] == 12
      and r["attempts_left"] == 14, f"partial: {r}")
e = out(13)
check(rc(13) == 1 and e["error"] == "ERR_MCU_TRANSITION" and "needs CLOSED with TrustZone on" in e["message"]
      and "the product is TZ_CLOSED" in e["message"], f"partial from TZ_CLOSED: {e}")
r = out(14)["da_regress"]
check(rc(14) == 0 and r["from"] == "TZ_CLOSED" and r["state"] == "OPEN" and r["granted_bit"] == 14, f"full: {r}")
e = out(15)
check(rc(15) == 1 and e["error"] == "ERR_MCU_TRANSITION" and "the product is OPEN" in e["message"]
      and "no attempt used" in e["message"], f"full in OPEN: {e}")
check(rc(16) == 1 and "nothing to regress" in err(16), f"full in OPEN (text): {err(16)}")
check(out(17) == {"da_open_debug": {"from": "OPEN", "state": "OPEN", "no_op": True}}, f"open-debug in OPEN: {out(17)}")
d = out(18)["da_discover"]
check(d["product_state_name"] == "OPEN" and d["attempts_left"] == 14 and d["st_provisioned"] == 0xFFFFFFFF,
      f"discover after the regression: {d}")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
print(f"da_connect_cli: {count} JSON checks, {len(bad)} failed")
sys.exit(1 if bad else 0)
PY

# --trace over the socket (command 8): every DA frame both ways, as in process (Discovery, Start, 3
# certificates, token, Discovery); the header lines were compared with the local run above.
cp "$T/served.err.8" "$T/trace"
[ "$(grep -c '^da >> ' "$T/trace")" = 7 ] && [ "$(grep -c '^da << ' "$T/trace")" = 7 ] && ok \
    || bad "--trace over the socket: $(grep -c '^da >> ' "$T/trace") requests, $(grep -c '^da << ' "$T/trace") responses"
[ "$(grep -c '^da >> Authentication Response' "$T/trace")" = 4 ] && ok || bad "--trace: want 4 Authentication Responses"
grep -q '^da << status 0x0002' "$T/trace" && ok || bad "--trace: no NEED_MORE_DATA answer"

# VSAFE_CONNECT does what --connect does.
VSAFE_CONNECT="$T/sock" "$V" --json da discover >"$T/env.out" 2>&1 && "$V" --connect "$T/sock" --json da discover >"$T/opt.out" 2>&1
cmp -s "$T/env.out" "$T/opt.out" && grep -q '"da_discover"' "$T/env.out" && ok || bad "VSAFE_CONNECT da discover: $(cat "$T/env.out")"

# What the socket does not carry is refused (exit 2, nothing run on a local directory); keygen is
# local file work and works; keygen --bind binds to the served board's SoC.
for c in "da provision --password hunter22" "mcu show" "sfi show" "mcu state CLOSED"; do
    # shellcheck disable=SC2086
    (cd "$T" && "$V" --connect "$T/sock" $c >/dev/null 2>"$T/lo.err")
    rc=$?
    [ "$rc" -eq 2 ] && grep -q "cannot go through --connect" "$T/lo.err" && ok || bad "'$c' with --connect: exit $rc: $(cat "$T/lo.err")"
done
[ ! -e "$T/vsafe-device" ] && ok || bad "a refused command created ./vsafe-device"
"$V" --connect "$T/sock" --json da keygen --out-dir "$T/k2" --bind >"$T/kg.out" 2>"$T/kg.err" && ok || bad "keygen --bind over --connect: $(cat "$T/kg.err")"
grep -q '"da_keygen":{' "$T/kg.out" && grep -q '"soc_bound":true' "$T/kg.out" && [ -f "$T/k2/cert_leaf_chain.b64" ] && ok \
    || bad "keygen --bind: $(cat "$T/kg.out")"

kill "$SP" && wait "$SP"
SP=
# The served board ends where the local one does.
"$V" --device "$L" --json mcu show >"$T/l.show" && "$V" --device "$S" --json mcu show >"$T/s.show" || bad "mcu show after the runs"
python3 - "$T/l.show" "$T/s.show" <<'PY' && ok || bad "board state after the runs differs"
import json, sys
l, s = (json.load(open(p))["mcu_show"] for p in sys.argv[1:3])
assert l["state"] == "OPEN" and l["da_attempts"] == 2, l
for k in ("state", "da_attempts", "da_provisioned", "dhuk_epoch", "soc_id", "trustzone", "host_keys", "debug_grant"):
    assert l[k] == s[k], (k, l[k], s[k])
PY

# A served board without an MCU: NO_MCU, as a query on such a directory, and nothing created.
B="$T/bare"
"$V" --device "$B" init >/dev/null
"$V" --device "$B" serve --socket "$T/sock2" >"$T/ready2" 2>"$T/serve2.err" &
SP=$!
for _ in $(seq 1 100); do [ -s "$T/ready2" ] && break; sleep 0.05; done
"$V" --connect "$T/sock2" --json da discover >"$T/nomcu.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q '"error":"NO_MCU"' "$T/nomcu.out" && ok || bad "served board without MCU: exit $rc: $(cat "$T/nomcu.out")"
"$V" --connect "$T/sock2" da close-debug >/dev/null 2>"$T/nomcu.err"
[ $? -eq 1 ] && grep -q "NO_MCU" "$T/nomcu.err" && ok || bad "close-debug without MCU: $(cat "$T/nomcu.err")"
kill "$SP" && wait "$SP"
SP=
[ ! -e "$B/mcu.nvm" ] && ok || bad "the refusal created mcu.nvm"

echo "da_connect_cli: $n checks, $fails failed"
[ "$fails" = 0 ]
