#!/bin/sh
# vsafe init / identity / identity export end to end, with the local CA in a temporary
# $VSAFE_CA_DIR and with a user CA made by the openssl tool.
set -eu
V="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export VSAFE_CA_DIR="$T/ca"
"$V" --device "$T/d1" init >/dev/null
test "$(stat -c %a "$T/ca/ca-key.pem")" = 600
"$V" --device "$T/d1" --json identity > "$T/id.json"
grep -q '"matches_slot0":true' "$T/id.json"
grep -q '"chains_to_ca":true' "$T/id.json"
grep -q '"issuer":"O = vsafe, CN = vsafe test root"' "$T/id.json"
"$V" --device "$T/d1" identity export --cert "$T/leaf.pem" --ca "$T/ca.pem" >/dev/null
"$V" --device "$T/d1" identity export --cert "$T/leaf.der" --ca "$T/ca.der" --der >/dev/null
head -c 2 "$T/leaf.der" | od -An -tx1 | grep -q "30 82"
head -c 1 "$T/leaf.pem" | grep -q -- "-"
if command -v openssl >/dev/null 2>&1; then
    openssl verify -CAfile "$T/ca.pem" "$T/leaf.pem" >/dev/null
    # a user CA given at init signs instead; the local CA then does not verify it
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/u.key" \
        -out "$T/u.pem" -subj "/C=NL/O=Test PKI/CN=Test Root" -days 2 \
        -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
    "$V" --device "$T/d2" init --ca-cert "$T/u.pem" --ca-key "$T/u.key" >/dev/null
    "$V" --device "$T/d2" identity export --cert "$T/leaf2.pem" >/dev/null
    openssl verify -CAfile "$T/u.pem" "$T/leaf2.pem" >/dev/null
    if "$V" --device "$T/d2" identity >/dev/null 2>&1; then
        echo "identity against the local CA should fail for a user-CA device"; exit 1
    fi
    "$V" --device "$T/d2" identity --ca-cert "$T/u.pem" >/dev/null
fi
# half a CA is a usage error
if "$V" --device "$T/d3" init --ca-cert "$T/ca.pem" >/dev/null 2>&1; then exit 1; fi
echo "1 passed, 0 failed"
