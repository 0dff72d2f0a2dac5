#!/bin/sh
# Configures a CMake build tree (once) and builds it, quietly: one line on stderr, the whole output
# in BUILD_DIR/build.log, shown only when configuring or building fails (then exit status 1).
# usage: scripts/quiet-build.sh BUILD_DIR BUILD_TYPE [TARGET...]   (no target: everything)
# Environment: JOBS (default nproc), CMAKE_FLAGS (extra cmake options at configure time).
set -eu
if [ $# -lt 2 ]; then
    echo "usage: scripts/quiet-build.sh BUILD_DIR BUILD_TYPE [TARGET...]" >&2
    exit 2
fi
B=$1
TYPE=$2
shift 2
mkdir -p "$B"
LOG=$B/build.log
targets=
for t in "$@"; do
    targets="$targets --target $t"
done
echo "building vsafe ($TYPE, in $B; log: $LOG)..." >&2
# CMAKE_FLAGS and targets are word-split on purpose: several options, several targets.
# shellcheck disable=SC2086
if ! { { test -f "$B/CMakeCache.txt" || cmake -S . -B "$B" -DCMAKE_BUILD_TYPE="$TYPE" ${CMAKE_FLAGS:-}; } &&
    cmake --build "$B" -j "${JOBS:-$(nproc)}" $targets; } >"$LOG" 2>&1; then
    cat "$LOG" >&2
    echo "the build failed: its output is above, and in $LOG" >&2
    exit 1
fi
