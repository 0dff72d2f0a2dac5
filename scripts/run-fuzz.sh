#!/usr/bin/env bash
# Runs every libFuzzer target of a VSAFE_FUZZ build for SECONDS each, starting from its committed
# seed corpus (tests/fuzz/corpus-<name>/); inputs it finds are kept in BUILD/corpus-new/<name>,
# out of the tree. Prints each target's executions and new inputs; fails on the first crash, with
# the end of its log (the crashing input is saved in the build directory as crash-*).
# Usage: scripts/run-fuzz.sh BUILD SECONDS [TARGET...]   (default: every target)
set -euo pipefail
build=$(cd "$1" && pwd)
seconds=$2
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frame profile state da keyfile)
src=$(cd "$(dirname "$0")/.." && pwd)
declare -A max_len=([frame]=4096 [profile]=16384 [state]=8192 [da]=2048 [keyfile]=4200)
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/fuzz_$t
  new=$build/corpus-new/$t
  log=$build/fuzz-$t.log
  rm -rf "$new" && mkdir -p "$new"
  rc=0
  (cd "$build" && "$bin" -max_total_time="$seconds" -max_len="${max_len[$t]:-4096}" -print_final_stats=1 \
     -timeout=20 "$new" "$src/tests/fuzz/corpus-$t") >"$log" 2>&1 || rc=$?
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  added=$(grep -E '^stat::new_units_added' "$log" | awk '{print $2}')
  if [ "$rc" -ne 0 ]; then
    grep -E '==[0-9]+==ERROR|SUMMARY|Test unit written' "$log" || true
    tail -n 40 "$log"
    echo "fuzz_$t: FAILED (exit $rc, log $log)"
    exit "$rc"
  fi
  echo "fuzz_$t: no crash in $seconds s, ${execs:-?} executions, ${added:-?} new inputs"
done
