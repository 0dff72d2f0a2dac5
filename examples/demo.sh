#!/bin/sh
# make demo: a power-tool battery on a fresh SPL05 device, authenticated by the tool before it
# believes anything the battery says, and two counterfeit batteries that the tool refuses.
# usage: examples/demo.sh PATH_TO_VSAFE   (examples/power_tool is looked up next to it)
# The genuine battery is made with the CA vsafe uses by default (VSAFE_CA_DIR, else the local vsafe
# CA, see docs/IDENTITY.md); the counterfeiter's CA lives in a temporary directory.
# Exit status 0 only if the genuine battery is accepted and both counterfeits are refused.
set -eu
VSAFE=${1:-build/vsafe}
TOOL=$(dirname "$VSAFE")/examples/power_tool
HERE=$(dirname "$0")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DEV=$WORK/battery

step() { printf '\n== %s\n' "$*"; }
say() { printf '   %s\n' "$@"; }

# expect_refused WHAT CMD...: the tool must refuse the battery: exit status 3 and "battery refused,
# not genuine" on its stderr (its reason is on its stdout, "=> REFUSED: ..."). Acceptance, or
# failing for any other reason, ends the demo with an error.
expect_refused() {
    what=$1
    shift
    rc=0
    "$@" 2>"$WORK/refusal" || rc=$?
    if [ "$rc" -ne 3 ] || ! grep -q '^power_tool: battery refused, not genuine: ' "$WORK/refusal"; then
        cat "$WORK/refusal" >&2
        printf 'demo: FAILED: the tool did not refuse %s (exit status %s, expected 3)\n' "$what" "$rc" >&2
        exit 1
    fi
    printf '   -> %s: refused, as expected (exit status 3, not genuine)\n' "$what"
}

step "A new battery pack leaves the line with a fresh STSAFE-A120 (SPL05 profile)"
say "The chip makes its own P-256 key in private key slot 0 (the key never leaves it) and gets a" \
    "certificate for that key in zone 0, signed by the battery maker's CA."
"$VSAFE" --device "$DEV" init
"$VSAFE" --device "$DEV" identity
"$VSAFE" --device "$DEV" identity export --ca "$WORK/maker-ca.pem" >/dev/null
say "The power tool's firmware trusts that CA, and nothing else: $WORK/maker-ca.pem"

step "Manufacturing writes the battery's data into zone 1"
"$TOOL" "$DEV" manufacture PT18-2024-000731 "Li-ion NMC 5S2P" 5000 2024-03-14

step "Three months of charging: each charge decrements zone 5 and records the event"
"$TOOL" "$DEV" charge 1710950400 0xC4A26001 88
"$TOOL" "$DEV" charge 1711555200 0xC4A26001 91
"$TOOL" "$DEV" charge 1712246400 0xC4A27342 87
"$TOOL" "$DEV" charge 1713801600 0xC4A26001 90
"$TOOL" "$DEV" charge 1716825600 0xC4A27342 85

step "The tool authenticates the battery, then reads it"
say "Certificate from zone 0, checked against the trusted CA; a fresh random challenge signed by" \
    "slot 0 and verified with the certificate's key. Only then are zone 1 and zone 5 believed."
"$TOOL" "$DEV" report "$WORK/maker-ca.pem"

step "The same bytes through the CLI (16-byte events: time, charger, Wh, cycle)"
"$VSAFE" --device "$DEV" read 5 --length 32
"$VSAFE" --device "$DEV" --json read 5 --length 16

step "The counter only goes down: zone 5 refuses an Update"
say "\$ vsafe update 5 --data 00"
rc=0
"$VSAFE" --device "$DEV" update 5 --data 00 >"$WORK/update" 2>&1 || rc=$?
if [ "$rc" -ne 1 ] || ! grep -q WRONG_ZONE_TYPE "$WORK/update"; then
    cat "$WORK/update" >&2
    printf 'demo: FAILED: zone 5 did not refuse the Update as a counter zone (exit status %s)\n' "$rc" >&2
    exit 1
fi
printf '   -> refused, as expected (exit status 1): %s\n' "$(cat "$WORK/update")"

step "Counterfeit 1: a battery whose chip was personalised with another CA"
say "The counterfeiter runs a CA of their own with the same name (O=vsafe, CN=vsafe test root)" \
    "and copies the genuine battery's manufacturing data. The names match; the CA's signature" \
    "on the certificate does not."
VSAFE_CA_DIR=$WORK/counterfeiter-ca "$VSAFE" --device "$WORK/fake1" init >/dev/null
"$TOOL" "$WORK/fake1" manufacture PT18-2024-000731 "Li-ion NMC 5S2P" 5000 2024-03-14 >/dev/null
expect_refused "the battery with a certificate from another CA" "$TOOL" "$WORK/fake1" report "$WORK/maker-ca.pem"

step "Counterfeit 2: a clone carrying a copy of the genuine battery's certificate"
say "A certificate is public: anyone can read it from zone 0. The clone's chip (examples/counterfeit-chip.json:" \
    "zone 0 left writable) gets a byte-exact copy of it, and the genuine manufacturing data. The CA check" \
    "passes; the clone cannot sign the challenge with the certificate's key, which it does not have."
VSAFE_CA_DIR=$WORK/counterfeiter-ca "$VSAFE" --device "$WORK/fake2" init --profile "$HERE/counterfeit-chip.json" >/dev/null
"$VSAFE" --device "$DEV" identity export --cert "$WORK/genuine-cert.der" --der >/dev/null
"$VSAFE" --device "$WORK/fake2" update 0 --data "$(od -An -v -tx1 "$WORK/genuine-cert.der" | tr -d ' \n')"
"$TOOL" "$WORK/fake2" manufacture PT18-2024-000731 "Li-ion NMC 5S2P" 5000 2024-03-14 >/dev/null
expect_refused "the clone with a copied certificate" "$TOOL" "$WORK/fake2" report "$WORK/maker-ca.pem"

step "What the demo showed"
say "accepted: the genuine battery (certificate from the trusted CA, fresh challenge signed by its" \
    "          own key); only then were its data and its 5 charge cycles read" \
    "refused, as expected: the battery with another CA's certificate (not issued by the trusted CA)" \
    "refused, as expected: the clone with a copied certificate (it cannot sign with the certificate's key)" \
    "refused, as expected: an Update of counter zone 5 (a counter only goes down)"
printf '\ndemo finished: 1 genuine battery accepted, 2 counterfeits refused, as expected.\n'
