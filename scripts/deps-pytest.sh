#!/usr/bin/env bash
# Prints a Python interpreter that has pytest, installing Debian's python3-pytest (for
# /usr/bin/python3) when none has it. Exit 1 when pytest cannot be had here.
set -u
for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import pytest' >/dev/null 2>&1; then
        command -v "$py"
        exit 0
    fi
done
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
(
    flock -w 600 9 || exit 1
    /usr/bin/python3 -c 'import pytest' >/dev/null 2>&1 && exit 0
    echo "vsafe: installing python3-pytest (Debian package) for the Python example" >&2
    $SUDO apt-get install -y -qq python3-pytest >/dev/null 2>&1 ||
        { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO apt-get install -y -qq python3-pytest >/dev/null 2>&1; }
) 9>/tmp/vsafe-deps-pytest.lock
/usr/bin/python3 -c 'import pytest' >/dev/null 2>&1 && { echo /usr/bin/python3; exit 0; }
exit 1
