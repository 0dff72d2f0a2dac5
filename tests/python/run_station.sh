#!/usr/bin/env bash
# examples/python/test_station.py (the manufacturing test station) under pytest, against the
# package and CLI installed into a temporary prefix. pytest is Debian's python3-pytest, installed
# when missing (scripts/deps-pytest.sh); exit 77 (skipped) where it cannot be had.
# Usage: run_station.sh BUILD_DIR SOURCE_DIR
set -eu
BUILD="$1"
SRC="$2"
PY=$(bash "$SRC/scripts/deps-pytest.sh") || { echo "python_station: SKIPPED: pytest cannot be installed here"; exit 77; }
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
cmake --install "$BUILD" --prefix "$D/prefix" >/dev/null
cp "$SRC/examples/python/test_station.py" "$D/"
cd "$D"
export PYTHONPATH="$D/prefix/lib/python3/site-packages"
"$PY" -c 'import sys, vsafe; sys.exit(0 if hasattr(vsafe._lib.lib, "vsafe_host_conn_open") else 3)' ||
    { echo "python_station: SKIPPED: this build has no socket transport (vsafe serve)"; exit 77; }
env -u LD_LIBRARY_PATH -u VSAFE_LIBRARY PYTHONPATH="$D/prefix/lib/python3/site-packages" \
    VSAFE_CLI="$D/prefix/bin/vsafe" "$PY" -m pytest -v -p no:cacheprovider test_station.py
