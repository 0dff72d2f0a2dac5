#!/usr/bin/env bash
# Contract: `make install PREFIX=DIR` gives bin/vsafe, include/vsafe/, lib/libvsafe.a and .so, and
# lib/pkgconfig/vsafe.pc such that `pkg-config --cflags --libs --static vsafe` links a C program.
set -eu
BUILD="$1"
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
cmake --install "$BUILD" --prefix "$D/prefix" >/dev/null
for f in bin/vsafe include/vsafe/se.h include/vsafe/host.h include/vsafe/status.h include/vsafe/version.h lib/libvsafe.a lib/libvsafe.so lib/pkgconfig/vsafe.pc share/man/man1/vsafe.1 share/bash-completion/completions/vsafe; do
  [ -e "$D/prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
cat > "$D/t.c" <<'C'
#include <stdio.h>
#include <vsafe/host.h>
#include <string.h>
#include <vsafe/se.h>
#include <vsafe/version.h>
int main(void)
{
    if (strcmp(vsafe_version(), VSAFE_VERSION_STRING) != 0) {
        return 2;
    }
    vsafe_se_t *se;
    vsafe_host_t *h;
    uint32_t c = 0;
    uint8_t d[2] = {1, 2};
    if (vsafe_se_open(&se, NULL) || vsafe_host_open_se(&h, se) || vsafe_host_init(h) ||
        vsafe_host_decrement(h, VSAFE_HOST_PROT_NONE, 5, 1, 0, d, 2, &c) || c != 0xFFFFFFFEu) {
        return 1;
    }
    vsafe_host_close(h);
    vsafe_se_close(se);
    puts("linked and ran");
    return 0;
}
C
export PKG_CONFIG_PATH="$D/prefix/lib/pkgconfig"
cc "$D/t.c" $(pkg-config --cflags --libs --static vsafe) -o "$D/t_static"
"$D/t_static"
cc "$D/t.c" $(pkg-config --cflags --libs vsafe) -o "$D/t_shared"
"$D/t_shared"
"$D/prefix/bin/vsafe" --device "$D/dev" init >/dev/null
# One version number: the CLI, pkg-config and the header agree (-V is the short form).
cli=$("$D/prefix/bin/vsafe" --version)
pc=$(pkg-config --modversion vsafe)
hdr=$(sed -n 's/^#define VSAFE_VERSION_STRING "\(.*\)"$/\1/p' "$D/prefix/include/vsafe/version.h")
[ "$cli" = "vsafe $pc" ] || { echo "FAIL: vsafe --version says '$cli', pkg-config '$pc'"; exit 1; }
[ "$hdr" = "$pc" ] || { echo "FAIL: version.h says '$hdr', pkg-config '$pc'"; exit 1; }
[ "$("$D/prefix/bin/vsafe" -V)" = "$cli" ] || { echo "FAIL: vsafe -V differs from --version"; exit 1; }
# Installed profiles are found by name, beside the installed program.
[ -f "$D/prefix/share/vsafe/profiles/usage-monitor.json" ] || { echo "FAIL: profiles not installed"; exit 1; }
(cd "$D" && "$D/prefix/bin/vsafe" --device "$D/dev2" init --profile usage-monitor) | grep -q "from profile usage-monitor" \
  || { echo "FAIL: the installed profile usage-monitor is not found by name"; exit 1; }
# The installed man page is readable with man -l, the completion is valid bash.
if command -v man >/dev/null; then
  MANWIDTH=120 man -l "$D/prefix/share/man/man1/vsafe.1" | grep -q "vsafe read ZONE" || { echo "FAIL: man -l vsafe.1"; exit 1; }
fi
bash -n "$D/prefix/share/bash-completion/completions/vsafe" || { echo "FAIL: completion script is not valid bash"; exit 1; }
echo "install: ok"
