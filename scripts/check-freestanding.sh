#!/usr/bin/env bash
# The device core (src/se, src/common, src/mcu) must not allocate or do I/O: none of its object
# files may reference the C library's heap, stdio, file, clock or process functions.
set -euo pipefail
forbidden='^(malloc|calloc|realloc|free|aligned_alloc|posix_memalign|strdup|printf|fprintf|sprintf|snprintf|vprintf|vfprintf|vsnprintf|puts|fputs|putchar|fopen|fclose|fread|fwrite|fflush|open|close|read|write|pread|pwrite|fsync|fdatasync|time|clock|clock_gettime|gettimeofday|rand|srand|getenv|exit|abort|syscall)(@.*)?$'
bad=0
for obj in "$@"; do
  hits=$(${NM:-nm} -u "$obj" | awk '{print $NF}' | grep -E "$forbidden" || true)
  if [ -n "$hits" ]; then
    echo "FAIL: $(basename "$obj") references: $(echo $hits)"
    bad=1
  fi
done
[ "$bad" -eq 0 ] && echo "core is freestanding: $# object files checked, no heap or I/O symbols"
exit $bad
