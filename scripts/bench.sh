#!/bin/sh
# make bench: builds the Release tree quietly (scripts/quiet-build.sh: its output in
# BUILD_DIR/build.log, shown only when the build fails), runs every benchmark program (bench/*.c
# and tests/mcu/bench_mcu.c), then prints the project's own targets of all of them together, at
# the end. Run from anywhere; BUILD_DIR (default build-bench) is relative to the repository.
# usage: scripts/bench.sh [--json] [BUILD_DIR]
#   --json: one JSON object on stdout, {"device":{...},"keys":{...},"server":{...},"cli":{...},
#   "mcu":{...}}, each member the document its program prints with --json (bench/bench_report.h).
# Progress notes go to stderr, so stdout holds only the figures.
set -eu
JSON=
B=build-bench
for a in "$@"; do
    case $a in
    --json) JSON=--json ;;
    -*) echo "usage: scripts/bench.sh [--json] [BUILD_DIR]" >&2; exit 2 ;;
    *) B=$a ;;
    esac
done
cd "$(dirname "$0")/.."
./scripts/quiet-build.sh "$B" Release
echo "running the benchmarks (about a minute)..." >&2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# bench_mcu is a cmocka test: its own lines ("[ RUN ]", ...) are left out, shown only on failure.
mcu() {
    if ! "$B/tests/mcu/bench_mcu" "$@" >"$T/mcu.out" 2>&1; then
        cat "$T/mcu.out" >&2
        echo "bench: bench_mcu failed" >&2
        exit 1
    fi
    grep -v '^\[' "$T/mcu.out" || true
}

if [ -n "$JSON" ]; then
    printf '{"device":'
    "$B/bench/vsafe_bench" --json | tr -d '\n'
    printf ',"keys":'
    "$B/bench/vsafe_bench_keys" --json | tr -d '\n'
    printf ',"server":'
    "$B/bench/vsafe_bench_server" --json "$B/vsafe" | tr -d '\n'
    printf ',"cli":'
    "$B/bench/vsafe_bench_cli" --json "$B/vsafe" | tr -d '\n'
    printf ',"mcu":'
    mcu --json | grep '^{' | tr -d '\n'
    printf '}\n'
    exit 0
fi
"$B/bench/vsafe_bench" --targets "$T/targets"
"$B/bench/vsafe_bench_keys" --targets "$T/targets"
"$B/bench/vsafe_bench_server" --targets "$T/targets" "$B/vsafe"
"$B/bench/vsafe_bench_cli" --targets "$T/targets" "$B/vsafe"
mcu --targets "$T/targets"
cat "$T/targets"
