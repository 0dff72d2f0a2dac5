#!/usr/bin/env bash
# Finding (issue 9, CLI): `vsafe key show` showed a stale public key after a `key generate` whose
# response was lost. A power cut after the device committed the new key (the reordered write
# model at the second NVM operation does it) left the old key's public key in DIR/key-slot-1.pem,
# and `key show` offered it for the new key. Oracle: after a cut at every NVM operation under every
# write model, `key show` either refuses (PUBLIC_KEY_UNKNOWN) or shows the key the slot signs with,
# as openssl verifies.
set -u
V="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export VSAFE_CA_DIR="$T/ca"
fail=0 runs=0
"$V" --device "$T/base" init >/dev/null && "$V" --device "$T/base" key generate --slot 1 --curve P-256 >/dev/null || exit 1
printf 'challenge' > "$T/m"
for model in dropped torn-unit torn-page reordered; do
  for n in $(seq 1 40); do
    rm -rf "$T/d"; cp -r "$T/base" "$T/d"
    "$V" --device "$T/d" --cut-after $n --cut-model $model key generate --slot 1 --curve P-256 >/dev/null 2>"$T/e"
    grep -q "no power cut" "$T/e" && break
    runs=$((runs + 1))
    if "$V" --device "$T/d" key show --slot 1 --out "$T/p.pem" >/dev/null 2>"$T/e2"; then
      "$V" --device "$T/d" key sign --slot 1 --message-file "$T/m" --out "$T/s.der" >/dev/null 2>&1
      if ! openssl dgst -sha256 -verify "$T/p.pem" -signature "$T/s.der" "$T/m" >/dev/null 2>&1; then
        echo "FAIL: $model, cut at $n: key show shows a key that is not the slot's"; fail=1
      fi
    elif ! grep -q PUBLIC_KEY_UNKNOWN "$T/e2"; then
      echo "FAIL: $model, cut at $n: key show: $(cat "$T/e2")"; fail=1
    fi
  done
done
[ $runs -gt 0 ] || { echo "FAIL: no cut happened"; fail=1; }
echo "$runs cuts checked"
exit $fail
