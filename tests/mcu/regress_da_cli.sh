#!/usr/bin/env bash
# Regressions of the issue-12 review through the CLI binary:
#   regress_da_close_debug: `vsafe da close-debug` sends Lock Debug and closes what `da open-debug`
#                           opened, without a reset;
#   regress_da_trace: `vsafe --trace da ...` shows every frame both ways (the chain is sent one
#                     certificate per Authentication Response, so a 3-level chain shows 1 + 1 + 3 + 1 + 1
#                     requests for discover, start, certificates, token, and the Discovery after it
#                     that tells the state and the attempts left).
# usage: regress_da_cli.sh VSAFE
set -u
V="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export VSAFE_MCU_SEED=12
n=0
fails=0
ok() { n=$((n + 1)); }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
field() { "$V" --device "$1" --json mcu show 2>/dev/null | sed -n "s/.*\"$2\":\\([^,}]*\\).*/\\1/p"; }
D="$T/board"
{ "$V" --device "$D" init && "$V" --device "$D" mcu trustzone on && "$V" --device "$D" mcu state PROVISIONING &&
    "$V" --device "$D" mcu reset && "$V" --device "$D" da keygen && "$V" --device "$D" da provision &&
    "$V" --device "$D" mcu state CLOSED --force && "$V" --device "$D" mcu reset; } >/dev/null 2>&1 || { echo "FAIL: setup"; exit 1; }

# regress_da_trace
"$V" --device "$D" --trace da open-debug --domain ns --hdpl 3 >"$T/out" 2>"$T/trace" && ok || bad "open-debug: $(cat "$T/out")"
req=$(grep -c '^da >> ' "$T/trace")
rsp=$(grep -c '^da << ' "$T/trace")
[ "$req" = 7 ] && [ "$rsp" = 7 ] && ok || bad "--trace showed $req requests and $rsp responses, want 7 and 7"
[ "$(grep '^da >> ' "$T/trace" | sed -n '1p;7p' | cut -d' ' -f3 | sort -u)" = Discovery ] && ok \
    || bad "the first and last requests are not Discovery: $(grep '^da >> ' "$T/trace")"
[ "$(grep -c '^da >> Authentication Response' "$T/trace")" = 4 ] && ok || bad "want 4 Authentication Responses"
grep -q '^da << status 0x0002' "$T/trace" && ok || bad "no NEED_MORE_DATA answer in the trace"
"$V" --device "$D" da open-debug --domain ns --hdpl 3 >/dev/null 2>"$T/trace2" && ok || bad "open-debug without --trace"
[ ! -s "$T/trace2" ] && ok || bad "frames printed without --trace"

# regress_da_close_debug
[ "$(field "$D" debug_grant | tr -d '"')" != 00000000000000000000000000000000 ] && ok || bad "debug not open"
"$V" --device "$D" --trace da close-debug >"$T/out" 2>"$T/trace" && ok || bad "close-debug: $(cat "$T/out")"
grep -q '^da >> Lock Debug (0x0006)' "$T/trace" && ok || bad "close-debug did not send Lock Debug"
grep -q "authenticated debug closed" "$T/out" && ok || bad "close-debug said: $(cat "$T/out")"
[ "$(field "$D" debug_grant | tr -d '"')" = 00000000000000000000000000000000 ] && ok || bad "debug still open after close-debug"
[ "$(field "$D" state | tr -d '"')" = CLOSED ] && ok || bad "close-debug changed the state"
"$V" --device "$D" da close-debug >"$T/out" 2>&1 && grep -q "no authenticated debug was open" "$T/out" && ok \
    || bad "second close-debug: $(cat "$T/out")"
echo "regress_da_cli: $n checks, $fails failed"
[ "$fails" = 0 ]
