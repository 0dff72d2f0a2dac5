#!/bin/sh
# The host library's layers call only down: transport.c and transport_socket.c (frames on a bus or
# a socket to vsafe serve) <- session.c (framing,
# secure channel, trace) <- host.c and provision.c (the API). Checked twice: no upward #include
# in the sources, and no upward symbol among the undefined symbols of the compiled objects.
# Usage: check_layers.sh SOURCE_DIR OBJECT...
set -eu
src="$1"
shift
fail=0
if grep -nE '#include "(session|host_internal)\.h"' "$src/src/host/transport.c" "$src/src/host/transport.h" \
    "$src/src/host/transport_socket.c"; then
    echo "transport includes a layer above it"
    fail=1
fi
if grep -nE '#include "host_internal\.h"' "$src/src/host/session.c" "$src/src/host/session.h"; then
    echo "session includes the API layer"
    fail=1
fi
seen=0
for o in "$@"; do
    case "$o" in
    */src/host/transport.c.o | */src/host/transport_socket.c.o)
        above='^(host_session_|host_transfer|host_protection|host_max_|vsafe_host_)' ;;
    */src/host/session.c.o) above='^(host_transfer|host_protection|host_max_|vsafe_host_)' ;;
    *) continue ;;
    esac
    seen=$((seen + 1))
    bad=$(nm -u "$o" | awk '{print $NF}' | grep -E "$above" || true)
    if [ -n "$bad" ]; then
        echo "$(basename "$o") calls up: $bad"
        fail=1
    fi
done
if [ "$seen" -ne 3 ]; then
    echo "expected the objects of transport.c, transport_socket.c and session.c, found $seen"
    exit 1
fi
[ "$fail" -eq 0 ] && echo "host layers: transport (I2C, socket) <- session <- API, no upward calls"
exit "$fail"
