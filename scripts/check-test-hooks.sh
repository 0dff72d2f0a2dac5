#!/usr/bin/env bash
# Architecture boundary 4, test side: a test sees inside the library only through tests/hooks.h.
# Fails if any file under tests/ other than tests/hooks.h includes a header that lives under src/
# (by its name relative to src/, e.g. "se/core.h" or <se/core.h>, or by a path into src/).
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
internal=$(cd src && find . -name '*.h' | sed 's|^\./||')
bad=0
checked=0
while IFS= read -r f; do
  checked=$((checked + 1))
  [ "$f" = tests/hooks.h ] && continue
  while IFS= read -r inc; do
    name=$(printf '%s\n' "$inc" | sed -E 's/^[^"<]*["<]([^">]*)[">].*$/\1/')
    hit=0
    case "$name" in
      *src/*) hit=1 ;;
    esac
    if [ "$hit" -eq 0 ] && printf '%s\n' "$internal" | grep -qxF "$name"; then
      hit=1
    fi
    if [ "$hit" -eq 1 ]; then
      echo "FAIL: $f includes internal header \"$name\" (use tests/hooks.h)"
      bad=1
    fi
  done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' "$f" || true)
done < <(find tests -type f \( -name '*.c' -o -name '*.h' \) | sort)
[ "$bad" -eq 0 ] && echo "tests use only tests/hooks.h to see inside: $checked files checked"
exit $bad
