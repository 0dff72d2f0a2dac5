#!/bin/sh
# examples/demo.sh end to end (CTest examples_demo): the genuine battery is authenticated and read,
# the battery made by another CA and the clone with a copied certificate are refused, each for its
# own reason and before its manufacturing data is read. The maker's CA is a fresh one in a
# temporary VSAFE_CA_DIR, so the user's local vsafe CA is never touched.
# usage: demo_battery.sh DEMO_SH VSAFE POWER_TOOL
set -eu
DEMO=$1 V=$2 TOOL=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export VSAFE_CA_DIR="$T/ca"
fails=0 checks=0
check() { # check WHAT COMMAND...
    what=$1
    shift
    checks=$((checks + 1))
    if "$@"; then :; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
count() { grep -c -- "$1" "$T/out" || true; }

# demo.sh finds power_tool next to vsafe, as in a build directory
mkdir -p "$T/bin/examples"
ln -s "$V" "$T/bin/vsafe"
ln -s "$TOOL" "$T/bin/examples/power_tool"
rc=0
sh "$DEMO" "$T/bin/vsafe" >"$T/out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
    cat "$T/out"
    echo "FAIL: demo.sh exited with $rc"
    exit 1
fi

# one genuine battery accepted, its data and cycles read after the authentication
check "one battery authenticated" test "$(count '=> battery authenticated: genuine')" -eq 1
check "step 4 proven once" test "$(count '4. the signature verifies')" -eq 1
check "manufacturing data read once" test "$(count '  serial     PT18-2024-000731')" -eq 1
check "cycles read" test "$(count 'cycles used 5')" -eq 1
check "authentication before the data" test \
    "$(grep -n -m1 'battery authenticated' "$T/out" | cut -d: -f1)" -lt \
    "$(grep -n -m1 '  serial     PT18' "$T/out" | cut -d: -f1)"
# two refusals, each with its reason
check "another CA refused" test "$(count 'REFUSED: its certificate is not issued by the trusted CA')" -eq 1
check "clone refused" test "$(count 'REFUSED: its signature does not verify with the certificate')" -eq 1
# demo.sh says "refused, as expected" only after the tool exited 3 with its refusal on stderr
check "another CA refused as expected" test \
    "$(count 'the battery with a certificate from another CA: refused, as expected (exit status 3, not genuine)')" -eq 1
check "clone refused as expected" test \
    "$(count 'the clone with a copied certificate: refused, as expected (exit status 3, not genuine)')" -eq 1
check "the tool's stderr line is not shown" test "$(count 'power_tool: battery refused')" -eq 0
# the clone passed the CA check (the copy is genuine), so the signature is what refused it
check "CA check passed twice (genuine, clone)" test "$(count '2. the certificate is signed by the trusted CA')" -eq 2
check "the clone carried the genuine certificate" test \
    "$(grep 'subject  ' "$T/out" | sort | uniq -d | wc -l)" -eq 1
check "zone 5 refused an Update, as expected" test \
    "$(count '-> refused, as expected (exit status 1): vsafe: update zone 5 offset 0 (1 byte): WRONG_ZONE_TYPE')" -eq 1
check "zone 5's refusal shown once" test "$(count 'WRONG_ZONE_TYPE')" -eq 1
# the last words say what was shown, and nothing reads like a failure
check "last line is the outcome" test \
    "$(tail -n 1 "$T/out")" = "demo finished: 1 genuine battery accepted, 2 counterfeits refused, as expected."
check "no failure line" test "$(grep -c 'FAILED\|ERR_\|rror' "$T/out" || true)" -eq 0

# the tool on its own: a wrong CA file and a missing argument are errors (1, 2), not refusals (3)
"$V" --device "$T/d" init >/dev/null
rc=0; "$TOOL" "$T/d" authenticate "$T/none.pem" >/dev/null 2>&1 || rc=$?
check "missing CA file is an error" test "$rc" -eq 1
rc=0; "$TOOL" "$T/d" report >/dev/null 2>&1 || rc=$?
check "report without CA is a usage error" test "$rc" -eq 2
"$V" --device "$T/d" identity export --ca "$T/ca.pem" >/dev/null
check "fresh device authenticates" "$TOOL" "$T/d" authenticate "$T/ca.pem" >/dev/null

if [ "$fails" -ne 0 ]; then
    cat "$T/out"
    echo "$fails of $checks failed"
    exit 1
fi
echo "$checks passed, 0 failed"
