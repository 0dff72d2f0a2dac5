#!/usr/bin/env bash
# The STSELib platform layer over a served device: the driver of vsafe_stse_driver.c with
# VSAFE_CONNECT pointing at `vsafe serve`, then the CLI reads through the same server what the
# driver wrote. Usage: served.sh VSAFE STSELIB_DRIVER
set -eu
VSAFE="$1"
DRIVER="$2"
D=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
"$VSAFE" --device "$D/dev" init >/dev/null
"$VSAFE" serve --device "$D/dev" --socket "$D/s.sock" > "$D/ready" 2> "$D/serve.err" &
pid=$!
for _ in $(seq 100); do [ -s "$D/ready" ] && break; sleep 0.1; done
[ "$(head -n1 "$D/ready")" = "$D/s.sock" ] || { echo "FAIL: vsafe serve not ready"; cat "$D/serve.err"; exit 1; }
VSAFE_CONNECT="$D/s.sock" VSAFE_STSE_PCAP="$D/layer.pcap" "$DRIVER"
# zone 3 holds "kept!" (written by the driver before its power cycle), zone 2 its 300-byte pattern.
"$VSAFE" --connect "$D/s.sock" --json read 3 --length 5 | grep -q '"data":"6b65707421"' ||
    { echo "FAIL: the CLI does not read through the server what the layer wrote"; exit 1; }
kill -TERM "$pid"
wait "$pid"
pid=""
echo "served: ok"
