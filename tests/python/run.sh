#!/usr/bin/env bash
# The Python package as a user gets it: `make install` into a temporary prefix, then the unittest
# suite with nothing but PYTHONPATH pointing into that prefix (no LD_LIBRARY_PATH, no VSAFE_LIBRARY),
# from a directory outside the source tree.  Usage: run.sh BUILD_DIR SOURCE_DIR
set -eu
BUILD="$1"
SRC="$2"
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
cmake --install "$BUILD" --prefix "$D/prefix" >/dev/null
SITE="$D/prefix/lib/python3/site-packages"
[ -f "$SITE/vsafe/__init__.py" ] || { echo "FAIL: vsafe package not installed in $SITE"; exit 1; }
cd "$D"
env -u LD_LIBRARY_PATH -u VSAFE_LIBRARY PYTHONPATH="$SITE" python3 -c 'import vsafe' ||
    { echo "FAIL: import vsafe with PYTHONPATH alone"; exit 1; }
cp "$SRC/tests/python/test_vsafe.py" "$D/"
env -u LD_LIBRARY_PATH -u VSAFE_LIBRARY PYTHONPATH="$SITE" VSAFE_TEST_PREFIX="$D/prefix" \
    python3 -m unittest -v test_vsafe 2>&1 | tee "$D/log"
tail -n 3 "$D/log" | grep -q '^OK' || exit 1
