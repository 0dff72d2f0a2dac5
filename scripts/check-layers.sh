#!/usr/bin/env bash
# The device core is layered: each object file may call only into layers strictly below its own,
# so there is no import circle (a handler never calls the dispatcher, the secure channel never
# calls the core). Usage: check-layers.sh OBJECT... (the vsafe_core objects; others are ignored).
# Layers, top to bottom (the same list is in src/se/core.h):
#   6 se/core_hooks    test-only views (tests/hooks.h); nothing in the library calls them
#   5 se/core          entry points: frame, commit, response, I2C view
#   4 se/dispatch      descriptor table -> handlers
#   3 se/channel, se/partition, se/query, se/hostkey, se/keys, se/pubkeys, se/hash, se/symkeys,
#     se/aes, se/mac, se/derive, se/envelope, se/password   secure channel and handlers
#   2 se/state, se/profile_spl05, se/symslot, se/auth   lookups, volatile state, built-in profile,
#     symmetric slot and key-info lookups, signature checks of the authenticated variants
#   1 se/curves        the curve wire table (beside the store: neither calls the other)
#   1 store/*          the journaled store
#   0 common/*         byte order, cursor, wipe, CRC, status names
# Calls between two files of src/store, or of src/common, are that room's own business and are
# not checked; every other call must go strictly down.
set -euo pipefail

rank_of() {
  case "$1" in
    se/core_hooks) echo 6 ;;
    se/core) echo 5 ;;
    se/dispatch) echo 4 ;;
    se/channel | se/partition | se/query | se/hostkey | se/keys | se/pubkeys | se/hash | se/symkeys | se/aes | se/mac | se/derive | se/envelope | se/password) echo 3 ;;
    se/state | se/profile_spl05 | se/symslot | se/auth) echo 2 ;;
    se/curves) echo 1 ;;
    store/*) echo 1 ;;
    common/*) echo 0 ;;
    se/*) echo "?" ;;
    *) echo "" ;;
  esac
}

declare -A rank owner
objs=()
bad=0
for obj in "$@"; do
  # .../src/<room>/<name>.c.o -> <room>/<name>
  rel=$(echo "$obj" | sed -E 's#.*/src/([^/]+)/([^/]+)\.c\.o$#\1/\2#')
  r=$(rank_of "$rel")
  if [ -z "$r" ]; then
    continue
  fi
  if [ "$r" = "?" ]; then
    echo "FAIL: $rel is in src/se but has no layer in scripts/check-layers.sh"
    bad=1
    continue
  fi
  rank[$rel]=$r
  objs+=("$obj")
  for sym in $(nm --defined-only "$obj" | awk '$2 ~ /^[TDBR]$/ {print $3}'); do
    owner[$sym]=$rel
  done
done

edges=0
for obj in "${objs[@]}"; do
  rel=$(echo "$obj" | sed -E 's#.*/src/([^/]+)/([^/]+)\.c\.o$#\1/\2#')
  for sym in $(nm -u "$obj" | awk '{print $NF}'); do
    to=${owner[$sym]:-}
    if [ -z "$to" ] || [ "$to" = "$rel" ]; then
      continue
    fi
    case "$rel" in
      store/* | common/*)
        if [ "${to%%/*}" = "${rel%%/*}" ]; then
          continue
        fi
        ;;
    esac
    edges=$((edges + 1))
    if [ "${rank[$to]}" -ge "${rank[$rel]}" ]; then
      echo "FAIL: $rel (layer ${rank[$rel]}) calls $sym in $to (layer ${rank[$to]}): not below it"
      bad=1
    fi
  done
done
[ "$bad" -eq 0 ] && echo "core layers hold: ${#objs[@]} object files, $edges calls between them, all downward"
exit $bad
