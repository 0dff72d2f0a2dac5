#!/usr/bin/env bash
# Installs Debian's tshark when it is missing (the capture tests read vsafe's pcap files with it).
# Exit 0 when tshark is there afterwards, 1 when it cannot be installed here. One install at a
# time: tests that need it may run in parallel.
set -u
command -v tshark >/dev/null 2>&1 && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
lock=/tmp/vsafe-deps-tshark.lock
(
    flock -w 600 9 || exit 1
    command -v tshark >/dev/null 2>&1 && exit 0
    echo "vsafe: installing tshark (Debian package) for the capture tests" >&2
    # wireshark-common asks whether non-root users may capture: no (we only read files).
    echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
    $SUDO apt-get install -y -qq tshark >/dev/null 2>&1 ||
        { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO apt-get install -y -qq tshark >/dev/null 2>&1; }
) 9>"$lock"
command -v tshark >/dev/null 2>&1
