#!/usr/bin/env bash
# vsafe key ...: every result checked with the openssl tool, never with vsafe itself: signatures
# verified against the exported public key (openssl dgst / pkeyutl -verify), ECDH secrets
# recomputed (openssl pkeyutl -derive), decompressed points against openssl's own compression;
# JSON shapes parsed with python3; refusals leave the state file byte for byte as it was.
set -u
V="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export VSAFE_CA_DIR="$T/ca"
D="$T/dev"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
# run DESCRIPTION CMD...: must succeed; output in $out
run() { local what="$1"; shift; if out=$("$@" 2>"$T/err"); then ok; else bad "$what: exit $? ($(cat "$T/err"))"; fi; }
# refused DESCRIPTION EXPECTED_RC PATTERN CMD...: must exit EXPECTED_RC, stderr matching PATTERN, se.nvm unchanged
refused() {
  local what="$1" want="$2" pat="$3"; shift 3
  local before after rc
  before=$(sha256sum "$D/se.nvm")
  "$@" >"$T/out" 2>"$T/err"; rc=$?
  after=$(sha256sum "$D/se.nvm")
  if [ $rc -ne "$want" ]; then bad "$what: exit $rc, expected $want ($(cat "$T/err"))"; return; fi
  if [ -n "$pat" ] && ! grep -Eq -- "$pat" "$T/err"; then bad "$what: stderr '$(cat "$T/err")' lacks /$pat/"; return; fi
  if [ "$before" != "$after" ]; then bad "$what: se.nvm changed"; return; fi
  ok
}
json() { # json DESCRIPTION PYTHON-ASSERTION (on object o) < JSON
  if python3 -c "import json,sys; o=json.load(sys.stdin); assert $2, o" 2>"$T/perr"; then ok; else bad "$1: $(tail -1 "$T/perr")"; fi
}
K() { "$V" --device "$D" key "$@"; }

"$V" --device "$D" init >/dev/null || { echo "init failed"; exit 1; }
printf 'the message to sign' > "$T/msg"

# ---- table ----
run "key table --json" K table --json
echo "$out" | json "table shape" 'len(o["key_table"]["slots"])==6 and [s["slot"] for s in o["key_table"]["slots"]]==[0,1,2,3,4,255] and o["key_table"]["slots"][0]["curve"]=="P-256" and o["key_table"]["slots"][0]["generate_key_ac"]=="forbidden" and o["key_table"]["slots"][1]["present"]==False and o["key_table"]["global_usage_limit"]==65535'

# ---- slot 0: the certificate's key signs; openssl verifies with the certificate's key ----
run "key show slot 0" K show --slot 0 --out "$T/p0.pem"
"$V" --device "$D" identity export --cert "$T/leaf.pem" >/dev/null
if cmp -s <(openssl x509 -in "$T/leaf.pem" -pubkey -noout) "$T/p0.pem"; then ok; else bad "slot 0 public key differs from the certificate's"; fi
run "sign slot 0" K sign --slot 0 --message-file "$T/msg" --out "$T/s0.der"
if openssl dgst -sha256 -verify "$T/p0.pem" -signature "$T/s0.der" "$T/msg" >/dev/null; then ok; else bad "openssl rejects slot-0 signature"; fi

# ---- every curve: generate, export, sign, openssl verifies ----
for c in P-256 P-384 P-521 brainpoolP256r1 brainpoolP384r1 brainpoolP512r1; do
  run "generate $c" K generate --slot 1 --curve "$c" --out "$T/p1.pem" --json
  echo "$out" | json "generate $c JSON" 'o["key_generate"]["slot"]==1 and o["key_generate"]["curve"]=="'$c'" and len(bytes.fromhex(o["key_generate"]["public_key"]))>=64'
  oc=$(openssl pkey -pubin -in "$T/p1.pem" -noout -text 2>/dev/null | grep -E 'ASN1 OID|NIST CURVE' | head -1)
  [ -n "$oc" ] && ok || bad "openssl cannot read the $c key"
  for h in sha256 sha384 sha512; do
    run "sign $c $h" K sign --slot 1 --message-file "$T/msg" --hash $h --out "$T/s.der"
    if openssl dgst -$h -verify "$T/p1.pem" -signature "$T/s.der" "$T/msg" >/dev/null 2>&1; then ok; else bad "openssl rejects $c/$h signature"; fi
  done
  # a digest given as it is, raw R||S out: openssl pkeyutl checks it over the same digest
  openssl dgst -sha256 -binary "$T/msg" > "$T/dg"
  run "sign $c digest raw" K sign --slot 1 --digest-file "$T/dg" --format raw --out "$T/s.raw"
  run "sign $c digest der" K sign --slot 1 --digest-file "$T/dg" --out "$T/s2.der"
  if openssl pkeyutl -verify -pubin -inkey "$T/p1.pem" -in "$T/dg" -sigfile "$T/s2.der" >/dev/null 2>&1; then ok; else bad "openssl pkeyutl rejects $c digest signature"; fi
  # the device verifies what openssl made, and refuses it for another message
  openssl ecparam -name "$(case $c in P-256) echo prime256v1;; P-384) echo secp384r1;; P-521) echo secp521r1;; *) echo $c;; esac)" -genkey -noout -out "$T/u.key" 2>/dev/null
  openssl pkey -in "$T/u.key" -pubout -out "$T/u.pub"
  openssl dgst -sha384 -sign "$T/u.key" -out "$T/u.sig" "$T/msg"
  run "verify openssl $c" K verify --pubkey-file "$T/u.pub" --signature-file "$T/u.sig" --message-file "$T/msg" --hash sha384
  printf 'another message' > "$T/msg2"
  refused "verify $c wrong message" 1 "" K verify --pubkey-file "$T/u.pub" --signature-file "$T/u.sig" --message-file "$T/msg2" --hash sha384
  grep -q INVALID "$T/out" && ok || bad "verify $c wrong message did not say INVALID"
done

# ---- Ed25519 (pure): openssl verifies the raw message; X25519 cannot sign ----
run "generate Ed25519" K generate --slot 2 --curve Ed25519 --out "$T/e.pem"
run "sign Ed25519" K sign --slot 2 --message-file "$T/msg" --out "$T/e.sig"
if openssl pkeyutl -verify -pubin -inkey "$T/e.pem" -rawin -in "$T/msg" -sigfile "$T/e.sig" >/dev/null 2>&1; then ok; else bad "openssl rejects Ed25519 signature"; fi
run "verify Ed25519 on device" K verify --slot 2 --signature-file "$T/e.sig" --message-file "$T/msg"
openssl genpkey -algorithm ED25519 -out "$T/ue.key" 2>/dev/null; openssl pkey -in "$T/ue.key" -pubout -out "$T/ue.pub"
openssl pkeyutl -sign -inkey "$T/ue.key" -rawin -in "$T/msg" -out "$T/ue.sig"
run "verify openssl Ed25519" K verify --pubkey-file "$T/ue.pub" --signature-file "$T/ue.sig" --message-file "$T/msg" --json
echo "$out" | json "verify JSON" 'o["key_verify"]["valid"] is True and o["key_verify"]["curve"]=="Ed25519"'
refused "Ed25519 with --digest" 2 "pure Ed25519" K sign --slot 2 --digest 00112233

# ---- ECDH: openssl derives the same secret from the other side ----
for c in P-256 P-384 P-521 brainpoolP256r1 brainpoolP512r1 X25519; do
  run "generate $c for ECDH" K generate --slot 3 --curve $c --out "$T/p3.pem"
  if [ $c = X25519 ]; then openssl genpkey -algorithm X25519 -out "$T/peer.key" 2>/dev/null
  else openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:"$(case $c in P-256) echo P-256;; P-384) echo P-384;; P-521) echo P-521;; *) echo $c;; esac)" -out "$T/peer.key" 2>/dev/null; fi
  openssl pkey -in "$T/peer.key" -pubout -out "$T/peer.pub"
  run "ecdh $c" K ecdh --slot 3 --peer-file "$T/peer.pub" --out "$T/sec.bin"
  openssl pkeyutl -derive -inkey "$T/peer.key" -peerkey "$T/p3.pem" -out "$T/sec.ossl" 2>/dev/null
  if cmp -s "$T/sec.bin" "$T/sec.ossl"; then ok; else bad "ECDH $c secret differs from openssl's"; fi
  [ "$(stat -c %a "$T/sec.bin")" = 600 ] && ok || bad "secret file not 0600"
done
# raw DER peer key and hex peer key give the same secret; JSON carries it
openssl pkey -pubin -in "$T/peer.pub" -outform DER -out "$T/peer.der"
run "ecdh DER peer" K ecdh --slot 3 --peer-file "$T/peer.der" --json
echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key_ecdh"]["secret"])' > "$T/sec.hex"
[ "$(cat "$T/sec.hex")" = "$(xxd -p -c 200 "$T/sec.ossl")" ] && ok || bad "ecdh --json secret differs from openssl's"
# ephemeral slot in one run: generate, derive; the slot is empty afterwards
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/pe.key" 2>/dev/null; openssl pkey -in "$T/pe.key" -pubout -out "$T/pe.pub"
run "ecdh ephemeral" K ecdh --slot ephemeral --generate --curve P-256 --peer-file "$T/pe.pub" --pub-out "$T/eph.pem" --out "$T/esec"
openssl pkeyutl -derive -inkey "$T/pe.key" -peerkey "$T/eph.pem" -out "$T/esec.ossl" 2>/dev/null
cmp -s "$T/esec" "$T/esec.ossl" && ok || bad "ephemeral ECDH secret differs from openssl's"
# --trace shows the command, never the secret
"$V" --device "$D" --trace key ecdh --slot 3 --peer-file "$T/peer.pub" --out "$T/sec2" 2>"$T/trace" >/dev/null
grep -qi "establish" "$T/trace" && ok || bad "trace does not name Establish key"
# the hex dump is spaced and wrapped: compare without the layout
if tr -d ' \n' < "$T/trace" | tr 'A-F' 'a-f' | grep -q "$(xxd -p -c 200 "$T/sec2" | cut -c1-16)"; then
  bad "trace shows the shared secret"; else ok; fi

# ---- decompress: openssl compresses the point, the device recovers Y ----
openssl pkey -pubin -in "$T/p1.pem" -outform DER -out "$T/p1.der" 2>/dev/null
openssl ec -pubin -in "$T/p1.pem" -conv_form compressed -outform DER -out "$T/p1c.der" 2>/dev/null
cs=64  # brainpoolP512r1 is the last curve generated in slot 1
tail -c $((cs + 1)) "$T/p1c.der" > "$T/pt"
run "decompress" K decompress --curve brainpoolP512r1 --point-file "$T/pt" --format raw --out "$T/xy"
cmp -s "$T/xy" <(tail -c $((2 * cs)) "$T/p1.der") && ok || bad "decompressed point differs from the key"

# ---- usage limit counts down ----
run "generate limited" K generate --slot 4 --curve P-256 --usage-limit 2
run "use 1" K sign --slot 4 --digest-file "$T/dg"
run "use 2" K sign --slot 4 --digest-file "$T/dg"
refused "use 3" 1 "KEY_BLOCKED" K sign --slot 4 --digest-file "$T/dg"

# ---- refusals: clear message, non-zero exit, nothing changed ----
refused "bad slot" 1 "ENTRY_NOT_FOUND" K generate --slot 7 --curve P-256
refused "slot 0 forbidden" 1 "ACCESS_CONDITION_NOT_SATISFIED" K generate --slot 0 --curve P-256
refused "bad curve" 2 "not a curve vsafe knows" K generate --slot 1 --curve P-255
refused "missing file" 1 "cannot open.*nosuch" K sign --slot 1 --message-file "$T/nosuch"
refused "bad pubkey file" 1 "BAD_PUBLIC_KEY" K verify --pubkey-file "$T/msg" --signature-file "$T/e.sig" --message-file "$T/msg"
refused "bad hash" 2 "--hash" K sign --slot 1 --message-file "$T/msg" --hash md5
refused "no input" 2 "digest" K sign --slot 1
refused "slot out of range" 2 "out of range" K sign --slot 300 --digest 00
refused "unknown option" 2 "unknown option" K table --bogus
refused "unknown subcommand" 2 "unknown subcommand" K frobnicate
"$V" --device "$D" --json key generate --slot 7 --curve P-256 > "$T/ej" 2>/dev/null
json "error JSON" 'o["error"]=="ENTRY_NOT_FOUND" and "slot 7" in o["message"]' < "$T/ej"
"$V" --device "$D" --json key generate --slot 1 --curve nope > "$T/ej" 2>/dev/null
json "usage error JSON" 'o["error"]=="USAGE"' < "$T/ej"

# ---- generic public key slots and entity authentication ----
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/g.key" 2>/dev/null; openssl pkey -in "$T/g.key" -pubout -out "$T/g.pub"
run "pubkey write" "$V" --device "$D" pubkey write --slot 1 --pubkey-file "$T/g.pub"
run "pubkey show" "$V" --device "$D" pubkey show --slot 1 --out "$T/g2.pub"
cmp -s "$T/g.pub" "$T/g2.pub" && ok || bad "pubkey show returns another key than written"
refused "pubkey write twice" 1 "ACCESS_CONDITION_NOT_SATISFIED" "$V" --device "$D" pubkey write --slot 1 --pubkey-file "$T/g.pub"
refused "authenticate without the flag" 1 "ACCESS_CONDITION_NOT_SATISFIED|REFUSED" "$V" --device "$D" pubkey authenticate --slot 1 --key "$T/g.key"
run "pubkey flags" "$V" --device "$D" pubkey flags --slot 1 --set entity-auth
run "authenticate" "$V" --device "$D" --json pubkey authenticate --slot 1 --key "$T/g.key"
echo "$out" | json "authenticate JSON" 'o["pubkey_authenticate"]["valid"] is True and len(o["pubkey_authenticate"]["challenge"])==32'
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/g3.key" 2>/dev/null
"$V" --device "$D" pubkey authenticate --slot 1 --key "$T/g3.key" >/dev/null 2>&1 && bad "another key authenticated" || ok
refused "pubkey flags twice" 1 "ACCESS_CONDITION_NOT_SATISFIED" "$V" --device "$D" pubkey flags --slot 1 --set kek-session
run "pubkey table" "$V" --device "$D" --json pubkey table
echo "$out" | json "pubkey table JSON" 'o["pubkey_table"][1]["curve"]=="P-384" and o["pubkey_table"][1]["flags"]["entity_auth"] is True and o["pubkey_table"][1]["flags"]["change_right"] is False and o["pubkey_table"][0]["present"] is False'

# ---- hash: every algorithm against openssl dgst, every way of giving the data ----
head -c 3000 /dev/urandom > "$T/big"
for a in sha256 sha384 sha512 sha3-256 sha3-384 sha3-512; do
  run "hash $a" "$V" --device "$D" hash --alg $a "$T/big"
  [ "$out" = "$(openssl dgst -$a -r "$T/big" | cut -d' ' -f1)" ] && ok || bad "hash $a differs from openssl dgst"
done
run "hash stdin" sh -c "'$V' --device '$D' --json hash --alg sha512 - < '$T/big'"
echo "$out" | json "hash JSON" 'o["hash"]["alg"]=="sha512" and o["hash"]["length"]==3000 and o["hash"]["digest"]=="'"$(openssl dgst -sha512 -r "$T/big" | cut -d' ' -f1)"'"'
run "hash --data" "$V" --device "$D" hash --data 616263
[ "$out" = "$(printf abc | openssl dgst -sha256 -r | cut -d' ' -f1)" ] && ok || bad "hash --data differs"
run "hash --out" "$V" --device "$D" hash --data-file "$T/msg" --alg sha384 --out "$T/h.bin"
cmp -s "$T/h.bin" <(openssl dgst -sha384 -binary "$T/msg") && ok || bad "hash --out differs"
: > "$T/empty"
refused "hash empty" 2 "at least|expected" "$V" --device "$D" hash "$T/empty"
refused "hash bad alg" 2 "md5" "$V" --device "$D" hash --alg md5 --data 00
refused "hash missing file" 1 "cannot open" "$V" --device "$D" hash --data-file "$T/nosuch"

# ---- --help and -h, exit 0, every option described ----
help_ok() { # help_ok WORDS...: --help and -h agree, exit 0, and describe every option of the usage line
  local h
  if h=$("$V" "$@" --help) && [ "$("$V" "$@" -h)" = "$h" ]; then ok; else bad "$* --help"; return; fi
  for o in $(echo "$h" | head -1 | grep -oE -- '--[a-z-]+' | sort -u); do
    echo "$h" | tail -n +2 | grep -q -- "$o" || bad "$* --help does not describe $o"
  done
}
for sub in table generate show sign verify ecdh ecdhe decompress; do help_ok key $sub; done
for sub in table show write flags authenticate; do help_ok pubkey $sub; done
help_ok hash
K --help | grep -q "key sign" && ok || bad "key --help lists no subcommands"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
