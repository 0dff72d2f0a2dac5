#!/usr/bin/env bash
# vsafe symkey / aes / mac / derive / envelope / wrap / unwrap / password: every result checked
# outside vsafe: CMAC, HMAC, GMAC, AES-ECB and HKDF with the openssl tool, AES-GCM and AES-CCM with
# cli_oracle (OpenSSL EVP directly); keys that only the device and the tool know (established,
# wrapped, derived into a slot) are checked by a MAC the device computes with them, recomputed by
# openssl from the key the tool printed. JSON shapes parsed with python3; refusals leave se.nvm
# byte for byte as it was; --trace never shows a key, a payload or a plaintext.
set -u
V="$1"
O="$2"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export VSAFE_CA_DIR="$T/ca"
D="$T/dev"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
run() { local what="$1"; shift; if out=$("$@" 2>"$T/err"); then ok; else bad "$what: exit $? ($(cat "$T/err"))"; fi; }
refused() {
  local what="$1" want="$2" pat="$3"; shift 3
  local before after rc
  before=$(sha256sum "$D/se.nvm")
  "$@" >"$T/out" 2>"$T/err"; rc=$?
  after=$(sha256sum "$D/se.nvm")
  if [ $rc -ne "$want" ]; then bad "$what: exit $rc, expected $want ($(cat "$T/err"))"; return; fi
  if [ -n "$pat" ] && ! grep -Eq -- "$pat" "$T/err" "$T/out"; then bad "$what: output '$(cat "$T/err" "$T/out")' lacks /$pat/"; return; fi
  if [ "$before" != "$after" ]; then bad "$what: se.nvm changed"; return; fi
  ok
}
json() { if python3 -c "import json,sys; o=json.load(sys.stdin); assert $2, o" 2>"$T/perr"; then ok; else bad "$1: $(tail -1 "$T/perr")"; fi; }
same() { [ "$2" = "$3" ] && ok || bad "$1: '$2' != '$3'"; }
S() { "$V" --device "$D" "$@"; }
hexf() { xxd -p -c 100000 "$1"; }
flat() { tr -d ' \n' < "$1" | tr 'A-F' 'a-f'; } # a trace without its layout (spaced, wrapped hex)
ossl_mac() { # ossl_mac cmac|hmac KEYHEX FILE [LEN]
  local m
  if [ "$1" = cmac ]; then
    m=$(openssl mac -cipher "AES-$(( ${#2} * 4 ))-CBC" -macopt hexkey:"$2" -in "$3" CMAC)
  else
    m=$(openssl mac -digest SHA256 -macopt hexkey:"$2" -in "$3" HMAC)
  fi
  m=$(echo "$m" | tr 'A-F' 'a-f'); echo "${m:0:$((${4:-32} * 2))}"
}
ossl_hkdf() { # ossl_hkdf LEN IKMHEX SALTHEX INFOHEX
  local args=(-keylen "$1" -kdfopt digest:SHA256 -kdfopt hexkey:"$2")
  [ -n "$3" ] && args+=(-kdfopt hexsalt:"$3")
  [ -n "$4" ] && args+=(-kdfopt hexinfo:"$4")
  openssl kdf "${args[@]}" HKDF | tr -d ':\n' | tr 'A-F' 'a-f'
}

S init >/dev/null || { echo "init failed"; exit 1; }
head -c 200 /dev/urandom > "$T/msg"
K16=$(head -c 16 /dev/urandom | xxd -p -c 64)
K32=$(head -c 32 /dev/urandom | xxd -p -c 64)

# ---- table and control fields ----
run "table" S --json symkey table
echo "$out" | json "table shape" 'len(o["symkey_table"])==16 and all(not s["present"] for s in o["symkey_table"])'
run "ctrl all" S --json symkey ctrl
echo "$out" | json "ctrl factory" 'len(o["symkey_ctrl"])==16 and all(s["change_right"] and not s["plaintext"] and s["wrapped_auth_slot"] is None for s in o["symkey_ctrl"])'
refused "plaintext write not allowed yet" 1 "ACCESS_CONDITION_NOT_SATISFIED" S symkey write --slot 0 --mode cmac --key "$K16"
for s in 0 1 2 3 4 5 10 11 14; do run "ctrl $s" S symkey ctrl --slot $s --set plaintext --keep-open; done
run "ctrl lock 15" S --json symkey ctrl --slot 15 --set plaintext
echo "$out" | json "ctrl JSON" 'o["symkey_ctrl"]["slot"]==15 and o["symkey_ctrl"]["plaintext"] and not o["symkey_ctrl"]["change_right"]'
refused "ctrl once" 1 "ACCESS_CONDITION_NOT_SATISFIED" S symkey ctrl --slot 15 --set plaintext,ecdhe

# ---- CMAC and HMAC: openssl mac ----
run "write cmac" S symkey write --slot 0 --mode cmac --key "$K16" --min-mac-len 4
run "mac cmac" S mac generate --slot 0 --data-file "$T/msg"
same "CMAC vs openssl" "$out" "$(ossl_mac cmac "$K16" "$T/msg")"
run "mac cmac 8" S mac generate --slot 0 --data-file "$T/msg" --mac-len 8 --out "$T/mac8"
same "CMAC-64 vs openssl" "$(hexf "$T/mac8")" "$(ossl_mac cmac "$K16" "$T/msg" 8)"
run "mac verify" S --json mac verify --slot 0 --data-file "$T/msg" --mac-file "$T/mac8"
echo "$out" | json "mac verify JSON" 'o["mac_verify"]["verified"] is True and o["mac_verify"]["mode"]=="cmac"'
refused "mac verify wrong" 1 "does NOT verify" S mac verify --slot 0 --data-file "$T/msg" --mac 0011223344556677
refused "mac too short" 1 "WRONG_MAC_LENGTH" S mac generate --slot 0 --data-file "$T/msg" --mac-len 2
run "write hmac" S symkey write --slot 1 --mode hmac --key "$K32"
run "mac hmac" S --json mac generate --slot 1 --data-file "$T/msg"
echo "$out" | json "HMAC vs openssl" 'o["mac_generate"]["mac"]=="'"$(ossl_mac hmac "$K32" "$T/msg" 32)"'" and o["mac_generate"]["mode"]=="hmac"'
head -c 256 /dev/urandom > "$T/big"
refused "mac message too long" 2 "255" S mac generate --slot 1 --data-file "$T/big"

# ---- ECB: openssl enc ----
run "write ecb" S symkey write --slot 2 --mode ecb --type aes256 --key "$K32"
head -c 48 /dev/urandom > "$T/pt48"
run "ecb encrypt" S aes encrypt --slot 2 --data-file "$T/pt48" --out "$T/ct48"
same "ECB vs openssl enc" "$(hexf "$T/ct48")" "$(openssl enc -aes-256-ecb -K "$K32" -nopad -in "$T/pt48" | xxd -p -c 1000)"
run "ecb decrypt" S aes decrypt --slot 2 --data-file "$T/ct48" --out "$T/pt48b"
cmp -s "$T/pt48" "$T/pt48b" && ok || bad "ECB decrypt does not give the plaintext back"
[ "$(stat -c %a "$T/pt48b")" = 600 ] && ok || bad "plaintext file not 0600"
refused "ecb length" 1 "INCONSISTENT_COMMAND_DATA|ARGUMENT" S aes encrypt --slot 2 --data 00112233

# ---- GCM: cli_oracle; GMAC: openssl mac ----
run "write gcm" S symkey write --slot 3 --mode gcm --key "$K16" --tag-len 16 --usage encrypt,decrypt,encrypt-chunks,decrypt-chunks
IV=000102030405060708090a0b AAD=$(head -c 20 /dev/urandom | xxd -p -c 64)
head -c 100 /dev/urandom > "$T/pt"
run "gcm encrypt" S --json aes encrypt --slot 3 --data-file "$T/pt" --nonce $IV --aad "$AAD"
want=$("$O" gcm "$K16" $IV "$AAD" "$(hexf "$T/pt")" 16)
echo "$out" | json "GCM vs OpenSSL" 'o["aes_encrypt"]["ciphertext"]+o["aes_encrypt"]["tag"]=="'"$want"'" and o["aes_encrypt"]["mode"]=="gcm" and o["aes_encrypt"]["counter"] is None'
run "gcm encrypt --out" S aes encrypt --slot 3 --data-file "$T/pt" --nonce $IV --aad "$AAD" --out "$T/ct"
same "GCM --out is ct||tag" "$(hexf "$T/ct")" "$want"
run "gcm decrypt" S aes decrypt --slot 3 --data-file "$T/ct" --nonce $IV --aad "$AAD" --out "$T/ptb"
cmp -s "$T/pt" "$T/ptb" && ok || bad "GCM decrypt does not give the plaintext back"
rm -f "$T/ptc"
refused "gcm wrong aad" 1 "does NOT verify" S aes decrypt --slot 3 --data-file "$T/ct" --nonce $IV --aad 00 --out "$T/ptc"
[ -e "$T/ptc" ] && bad "a failed decryption wrote its output" || ok
S --json aes decrypt --slot 3 --data-file "$T/ct" --nonce $IV > "$T/j" 2>/dev/null
json "gcm failure JSON" 'o["aes_decrypt"]["verified"] is False and o["aes_decrypt"]["plaintext"] is None' < "$T/j"
run "gmac" S aes gmac --slot 3 --nonce $IV --aad "$AAD"
printf '%s' "$AAD" | xxd -r -p > "$T/aad"
same "GMAC vs openssl" "$out" "$(openssl mac -cipher AES-128-GCM -macopt hexkey:"$K16" -macopt hexiv:$IV -in "$T/aad" GMAC | tr 'A-F' 'a-f')"
run "gmac verify" S aes gmac --slot 3 --nonce $IV --aad "$AAD" --tag "$out"
refused "gmac verify wrong" 1 "does NOT verify" S aes gmac --slot 3 --nonce $IV --aad "$AAD" --tag 00000000000000000000000000000000

# ---- CCM*: cli_oracle, with and without the device counter ----
run "write ccm" S symkey write --slot 4 --mode ccm --type aes256 --key "$K32" --tag-len 8
N13=000102030405060708090a0b0c
run "ccm encrypt" S aes encrypt --slot 4 --data-file "$T/pt" --nonce $N13 --aad "$AAD" --out "$T/cct"
same "CCM vs OpenSSL" "$(hexf "$T/cct")" "$("$O" ccm "$K32" $N13 "$AAD" "$(hexf "$T/pt")" 8)"
run "ccm decrypt" S aes decrypt --slot 4 --data-file "$T/cct" --nonce $N13 --aad "$AAD" --out "$T/cpt"
cmp -s "$T/pt" "$T/cpt" && ok || bad "CCM decrypt does not give the plaintext back"
run "ccm no aad" S aes encrypt --slot 4 --data-file "$T/pt" --nonce $N13 --out "$T/cct0"
same "CCM without AAD vs OpenSSL" "$(hexf "$T/cct0")" "$("$O" ccm "$K32" $N13 - "$(hexf "$T/pt")" 8)"
run "write ccm counter" S symkey write --slot 5 --mode ccm --key "$K16" --tag-len 16 --counter-offset 2
for c in 0 1 2; do
  run "ccm counter $c" S --json aes encrypt --slot 5 --data-file "$T/pt" --nonce $N13
  echo "$out" | json "ccm counter $c reported" 'o["aes_encrypt"]["counter"]=='$c
  # the device puts its counter, big-endian, at nonce bytes 2..5
  nonce=0001$(printf '%08x' $c)060708090a0b0c
  want=$("$O" ccm "$K16" $nonce - "$(hexf "$T/pt")" 16)
  echo "$out" | json "CCM with counter $c vs OpenSSL" 'o["aes_encrypt"]["ciphertext"]+o["aes_encrypt"]["tag"]=="'"$want"'"'
done
run "table after counters" S --json symkey table
echo "$out" | json "counter in table" 'o["symkey_table"][5]["counter"]==3 and o["symkey_table"][5]["counter_offset"]==2 and o["symkey_table"][4]["tag_len"]==8 and o["symkey_table"][3]["usage"]==["decrypt","encrypt","decrypt-chunks","encrypt-chunks"]'

# ---- wrong mode, empty slot, bad slot, bad names, missing files: nothing changes ----
refused "aes on a cmac key" 1 "WRONG_MODE_OF_OPERATION" S aes encrypt --slot 0 --data-file "$T/pt" --nonce $IV
refused "aes on an empty slot" 1 "EMPTY_SLOT" S aes encrypt --slot 9 --data-file "$T/pt" --nonce $IV
refused "mac on an empty slot" 1 "KEY_NOT_FOUND" S mac generate --slot 9 --data-file "$T/msg" --mac-len 16
refused "write bad slot" 1 "ENTRY_NOT_FOUND" S symkey write --slot 16 --mode cmac --key "$K16"
refused "write bad mode" 2 "--mode" S symkey write --slot 0 --mode cbc --key "$K16"
refused "write short key" 2 "bytes" S symkey write --slot 0 --mode cmac --key 0011
refused "write bad usage" 1 "WRONG_KEY_USAGE" S symkey write --slot 10 --mode cmac --key "$K16" --usage encrypt
refused "write bad tag" 1 "WRONG_MAC_LENGTH" S symkey write --slot 10 --mode gcm --key "$K16" --tag-len 3
refused "missing data file" 1 "cannot open" S aes encrypt --slot 3 --data-file "$T/nosuch" --nonce $IV
refused "missing key file" 1 "cannot read key file .*nosuch.: No such file or directory" S symkey write --slot 10 --mode cmac --key-file "$T/nosuch"
refused "short nonce" 2 "nonce" S aes encrypt --slot 4 --data-file "$T/pt" --nonce 0001

# ---- keys from a file, a descriptor, the environment ----
printf '%s\n' "$K16" > "$T/k16"
run "write key-file" S symkey write --slot 10 --mode cmac --key-file "$T/k16"
run "mac key-file" S mac generate --slot 10 --data-file "$T/msg"
same "key-file key" "$out" "$(ossl_mac cmac "$K16" "$T/msg")"
run "write key-fd" sh -c "'$V' --device '$D' symkey write --slot 10 --mode cmac --key-fd 3 3<'$T/k16'"
run "write key-env" env KEYV="$K16" "$V" --device "$D" symkey write --slot 10 --mode cmac --key-env KEYV

# ---- erase; a locked key stays ----
run "erase" S symkey erase --slot 10
run "table after erase" S --json symkey table
echo "$out" | json "erased" 'o["symkey_table"][10]["present"] is False and o["symkey_table"][0]["present"]'
run "erase empty" S symkey erase --slot 10
run "write locked" S symkey write --slot 11 --mode cmac --key "$K16" --lock locked
refused "erase locked" 1 "ACCESS_CONDITION_NOT_SATISFIED" S symkey erase --slot 11
refused "overwrite locked" 1 "ACCESS_CONDITION_NOT_SATISFIED" S symkey write --slot 11 --mode cmac --key "$K16"

# ---- establishment (ECDHE) and wrapped writes: the device's MAC under the key the tool reports ----
run "ctrl ecdhe" S symkey ctrl --slot 6 --set ecdhe --keep-open
for c in P-256 X25519; do
  run "establish $c" S --json symkey establish --slot 6 --mode cmac --type aes256 --curve $c
  key=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["symkey_establish"]["key"])')
  [ ${#key} -eq 64 ] && ok || bad "establish $c: key '$key'"
  run "mac established $c" S mac generate --slot 6 --data-file "$T/msg"
  same "established $c key: device CMAC vs openssl" "$out" "$(ossl_mac cmac "$key" "$T/msg")"
done
run "establish --out" S symkey establish --slot 6 --mode hmac --out "$T/ek"
[ "$(stat -c %a "$T/ek")" = 600 ] && ok || bad "established key file not 0600"
run "mac established hmac" S mac generate --slot 6 --data-file "$T/msg"
same "established HMAC key (16 bytes) vs openssl" "$out" "$(ossl_mac hmac "$(hexf "$T/ek")" "$T/msg" 32)"
refused "establish not allowed" 1 "ACCESS_CONDITION_NOT_SATISFIED" S symkey establish --slot 7 --mode cmac
run "ctrl wrapped" S symkey ctrl --slot 7 --set wrapped --keep-open
run "write wrapped" S --json symkey write --slot 7 --mode cmac --key "$K16" --wrapped
echo "$out" | json "wrapped JSON" 'o["symkey_write"]["method"]=="wrapped" and o["symkey_write"]["mode"]=="cmac"'
run "mac wrapped" S mac generate --slot 7 --data-file "$T/msg"
same "wrapped key: device CMAC vs openssl" "$out" "$(ossl_mac cmac "$K16" "$T/msg")"
# authenticated by a generic public key slot
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/auth.key" 2>/dev/null
openssl pkey -in "$T/auth.key" -pubout -out "$T/auth.pub"
run "auth pubkey" S pubkey write --slot 2 --pubkey-file "$T/auth.pub"
run "auth flags" S pubkey flags --slot 2 --set symkey-establish,kek-session
run "ctrl auth" S symkey ctrl --slot 8 --set ecdhe,wrapped --ecdhe-auth 2 --wrapped-auth 2 --keep-open
refused "establish unauthenticated" 1 "ACCESS_CONDITION_NOT_SATISFIED" S symkey establish --slot 8 --mode cmac
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.key" 2>/dev/null
refused "establish with another key" 1 "ACCESS_CONDITION_NOT_SATISFIED" S symkey establish --slot 8 --mode cmac --auth-slot 2 --auth-key "$T/other.key"
run "establish authenticated" S --json symkey establish --slot 8 --mode cmac --auth-slot 2 --auth-key "$T/auth.key"
key=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["symkey_establish"]["key"])' 2>/dev/null)
run "mac authenticated" S mac generate --slot 8 --data-file "$T/msg"
same "authenticated establishment key vs openssl" "$out" "$(ossl_mac cmac "$key" "$T/msg")"
openssl genpkey -algorithm ED25519 -out "$T/ed.key" 2>/dev/null; openssl pkey -in "$T/ed.key" -pubout -out "$T/ed.pub"
run "ed25519 auth pubkey" S pubkey write --slot 3 --pubkey-file "$T/ed.pub"
run "ed25519 auth flags" S pubkey flags --slot 3 --set symkey-establish
run "ctrl ed25519 auth" S symkey ctrl --slot 9 --set ecdhe --ecdhe-auth 3 --keep-open
run "establish Ed25519-authenticated" S --json symkey establish --slot 9 --mode hmac --auth-slot 3 --auth-key "$T/ed.key"
key=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["symkey_establish"]["key"])' 2>/dev/null)
run "mac Ed25519-authenticated" S mac generate --slot 9 --data-file "$T/msg"
same "Ed25519-authenticated key vs openssl" "$out" "$(ossl_mac hmac "$key" "$T/msg" 32)"
run "wrapped authenticated" S symkey write --slot 8 --mode cmac --key "$K32" --type aes256 --wrapped --auth-slot 2 --auth-key "$T/auth.key"
run "mac wrapped authenticated" S mac generate --slot 8 --data-file "$T/msg"
same "authenticated wrapped key vs openssl" "$out" "$(ossl_mac cmac "$K32" "$T/msg")"
refused "auth hash the device does not take" 1 "VALUE_OUT_OF_RANGE" S symkey write --slot 8 --mode cmac --key "$K16" --wrapped --auth-slot 2 --auth-key "$T/auth.key" --auth-hash sha384

# The device checks the host's signature in the authenticated Start KEK session (1F 03): the
# right key is accepted there (OK), another key refused (0x11).
S --trace symkey write --slot 8 --mode cmac --key "$K16" --wrapped --auth-slot 2 --auth-key "$T/auth.key" 2>"$T/tr" >/dev/null
grep -A2 "Start volatile KEK session" "$T/tr" | grep -q "authenticated by slot=2" && ok || bad "trace: 1F 03 not authenticated by slot 2"
grep -A4 "Start volatile KEK session" "$T/tr" | grep -q "^D->H  00 00 02" && ok || bad "device refused the host's KEK-session signature"
S --trace symkey write --slot 8 --mode cmac --key "$K16" --wrapped --auth-slot 2 --auth-key "$T/other.key" 2>"$T/tr" >/dev/null
grep -A4 "Start volatile KEK session" "$T/tr" | grep -q "^D->H  11 00 02" && ok || bad "device accepted a KEK-session signature by another key"

# ---- chunked AES (Start / Process / Finish): the same bytes as OpenSSL's one-shot ----
head -c 300 /dev/urandom > "$T/cpt"
run "chunked gcm encrypt" S aes encrypt --slot 3 --data-file "$T/cpt" --nonce $IV --aad "$AAD" --chunk 64 --out "$T/cgc"
same "chunked GCM vs OpenSSL" "$(hexf "$T/cgc")" "$("$O" gcm "$K16" $IV "$AAD" "$(hexf "$T/cpt")" 16)"
run "chunked gcm decrypt" S aes decrypt --slot 3 --data-file "$T/cgc" --nonce $IV --aad "$AAD" --chunk 100 --out "$T/cgp"
cmp -s "$T/cpt" "$T/cgp" && ok || bad "chunked GCM decrypt does not give the plaintext back"
rm -f "$T/cgq"
refused "chunked gcm wrong aad" 1 "does NOT verify" S aes decrypt --slot 3 --data-file "$T/cgc" --nonce $IV --aad 00 --chunk 100 --out "$T/cgq"
[ -e "$T/cgq" ] && bad "a failed chunked decryption wrote its output" || ok
N8=0011223344556677
run "ctrl 12" S symkey ctrl --slot 12 --set plaintext --keep-open
run "write ccm chunks" S symkey write --slot 12 --mode ccm --key "$K16" --tag-len 16 --usage encrypt,decrypt,encrypt-chunks,decrypt-chunks
run "chunked ccm encrypt" S aes encrypt --slot 12 --data-file "$T/cpt" --nonce $N8 --aad "$AAD" --chunk 50 --out "$T/ccc"
same "chunked CCM (8-byte nonce) vs OpenSSL" "$(hexf "$T/ccc")" "$("$O" ccm "$K16" $N8 "$AAD" "$(hexf "$T/cpt")" 16)"
run "chunked ccm decrypt" S aes decrypt --slot 12 --data-file "$T/ccc" --nonce $N8 --aad "$AAD" --chunk 77 --out "$T/ccp"
cmp -s "$T/cpt" "$T/ccp" && ok || bad "chunked CCM decrypt does not give the plaintext back"
refused "chunks without the usage" 1 "WRONG_KEY_USAGE" S aes encrypt --slot 4 --data-file "$T/cpt" --nonce $N13 --chunk 64

# ---- derive (HKDF-SHA256): openssl kdf ----
IKM=$(head -c 24 /dev/urandom | xxd -p -c 64) SALT=a1a2a3a4 INFO=$(printf 'vsafe test' | xxd -p)
run "derive to host" S --json derive --ikm "$IKM" --salt $SALT --info "$INFO" --length 16,42
want=$(ossl_hkdf 58 "$IKM" $SALT "$INFO")
echo "$out" | json "derive vs openssl kdf" 'o["derive"]["keys"]==["'"${want:0:32}"'","'"${want:32}"'"] and o["derive"]["slots"]==[] and o["derive"]["prk_slot"] is None'
run "derive no salt --out" S derive --ikm "$IKM" --length 32 --out "$T/okm"
same "derive without salt vs openssl kdf" "$(hexf "$T/okm")" "$(ossl_hkdf 32 "$IKM" "" "")"
[ "$(stat -c %a "$T/okm")" = 600 ] && ok || bad "derived key file not 0600"
printf '%s' "$IKM" | xxd -r -p > "$T/ikm"
run "derive --ikm-file" S derive --ikm-file "$T/ikm" --salt $SALT --length 20
same "derive --ikm-file" "$(echo "$out" | awk '{print $3}')" "$(ossl_hkdf 20 "$IKM" $SALT "")"
# into a slot the device picks: the device's HMAC under it, recomputed with openssl's OKM
run "ctrl derived" S symkey ctrl --slot 13 --set derived --keep-open
run "derive to slot" S --json derive --ikm "$IKM" --salt $SALT --info "$INFO" --to-slot --mode hmac --key-len 32
echo "$out" | json "derive to slot JSON" 'o["derive"]["slots"]==[13] and o["derive"]["keys"]==[]'
run "mac derived" S mac generate --slot 13 --data-file "$T/msg"
same "derived slot key vs openssl" "$out" "$(ossl_mac hmac "$(ossl_hkdf 32 "$IKM" $SALT "$INFO")" "$T/msg" 32)"
# from a slot's generic key; to the host only with --allow-host
run "write hkdf key" S symkey write --slot 14 --mode hkdf --key "$K32"
refused "derive from slot to host, not allowed" 1 "ACCESS_CONDITION_NOT_SATISFIED" S derive --ikm-slot 14 --length 16
run "erase hkdf" S symkey erase --slot 14
run "write hkdf key allow-host" S symkey write --slot 14 --mode hkdf --key "$K32" --allow-host
run "derive from slot" S derive --ikm-slot 14 --salt $SALT --length 16
same "derive from slot vs openssl kdf" "$(echo "$out" | awk '{print $3}')" "$(ossl_hkdf 16 "$K32" $SALT "")"
refused "derive from an empty slot" 1 "KEY_NOT_FOUND" S derive --ikm-slot 15 --length 16 --salt 00
refused "derive nothing" 2 "say which keys" S derive --ikm 00
S --trace derive --ikm "$IKM" --length 16 --out "$T/okm2" 2>"$T/tr" >/dev/null
flat "$T/tr" | grep -q "${IKM:0:16}" && bad "trace shows the IKM" || ok
flat "$T/tr" | grep -q "$(hexf "$T/okm2" | cut -c1-16)" && bad "trace shows the derived key" || ok

# ---- local envelopes ----
run "envelope keygen" S --json envelope keygen --slot 0 --aes256
echo "$out" | json "keygen JSON" 'o["envelope_keygen"]=={"slot":0,"key_type":"aes256"}'
refused "envelope keygen twice" 1 "ACCESS_CONDITION_NOT_SATISFIED" S envelope keygen --slot 0
run "envelope table" S --json envelope table
echo "$out" | json "envelope table JSON" 'o["envelope_table"][0]=={"slot":0,"present":True,"key_type":"aes256"} and o["envelope_table"][1]["present"] is False'
head -c 32 /dev/urandom > "$T/payload"
run "wrap" S wrap --slot 0 --data-file "$T/payload" --out "$T/env"
[ "$(stat -c %s "$T/env")" = 40 ] && ok || bad "envelope is not 8 bytes longer"
run "unwrap" S unwrap --slot 0 --data-file "$T/env" --out "$T/payload2"
cmp -s "$T/payload" "$T/payload2" && ok || bad "unwrap does not give the payload back"
[ "$(stat -c %a "$T/payload2")" = 600 ] && ok || bad "payload file not 0600"
b=$(xxd -s 5 -l 1 -p "$T/env"); printf "$(printf '\\%03o' $(( 0x$b ^ 0xff )))" | dd of="$T/env" bs=1 seek=5 conv=notrunc 2>/dev/null
cmp -s "$T/env" <(S wrap --slot 0 --data-file "$T/payload" --out - 2>/dev/null) && bad "envelope not damaged" || ok
refused "unwrap damaged" 1 "COMMAND_DECRYPTION_ERROR" S unwrap --slot 0 --data-file "$T/env"
refused "wrap empty slot" 1 "KEY_NOT_FOUND" S wrap --slot 1 --data-file "$T/payload"
refused "wrap bad length" 2 "not a multiple of 8" S wrap --slot 0 --data 00112233445566778899aabbccddeeff00

# ---- password (the SPL05 device has none: never verified) ----
S --json password verify --password 00000000000000000000000000000000 > "$T/j" 2>/dev/null; rc=$?
[ $rc -eq 1 ] && ok || bad "password verify exit $rc"
json "password JSON" 'o["password_verify"]["verified"] is False and o["password_verify"]["remaining_tries"]==0' < "$T/j"
refused "password length" 2 "16" S password verify --password 0011

# ---- --trace shows the commands, never a key, a payload or a plaintext ----
S --trace symkey write --slot 0 --mode cmac --key "$K16" 2>"$T/tr" >/dev/null
grep -q "0x1F 0x17\|Write symmetric key" "$T/tr" && ok || bad "trace does not name the write"
flat "$T/tr" | grep -q "${K16:0:16}" && bad "trace shows the key" || ok
S --trace aes decrypt --slot 3 --data-file "$T/ct" --nonce $IV --aad "$AAD" 2>"$T/tr" >/dev/null
flat "$T/tr" | grep -q "$(hexf "$T/pt" | cut -c1-16)" && bad "trace shows the plaintext" || ok
S --trace unwrap --slot 0 --data-file "$T/env" 2>"$T/tr" >/dev/null
S --trace wrap --slot 0 --data-file "$T/payload" 2>"$T/tr" >/dev/null
flat "$T/tr" | grep -q "$(hexf "$T/payload" | cut -c1-16)" && bad "trace shows the payload to wrap" || ok
S --trace symkey establish --slot 6 --mode cmac --out "$T/ek2" 2>"$T/tr" >/dev/null
flat "$T/tr" | grep -q "$(hexf "$T/ek2" | cut -c1-16)" && bad "trace shows the established key" || ok

# ---- the shared byte input of the data commands: update --data-file, decrement from stdin ----
head -c 40 /dev/urandom > "$T/z"
run "update --data-file" S update 1 --data-file "$T/z"
run "read back" S --json read 1 --length 40
echo "$out" | json "update --data-file wrote the file" 'o["read"]["data"]=="'"$(hexf "$T/z")"'"'
printf '\001\002' > "$T/assoc"
run "decrement --data-file -" sh -c "'$V' --device '$D' decrement 5 --data-file - < '$T/assoc'"
run "read counter zone" S --json read 5 --length 2
echo "$out" | json "decrement data from stdin" 'o["read"]["data"]=="0102"'
refused "update both ways" 2 "not both" S update 1 --data 00 --data-file "$T/z"

# ---- --help and -h of every subcommand describe every option ----
help_ok() {
  local h
  if h=$("$V" "$@" --help) && [ "$("$V" "$@" -h)" = "$h" ]; then ok; else bad "$* --help"; return; fi
  for o in $(echo "$h" | head -1 | grep -oE -- '--[a-z-]+' | sort -u); do
    echo "$h" | tail -n +2 | grep -q -- "$o" || bad "$* --help does not describe $o"
  done
}
for sub in table ctrl write establish erase; do help_ok symkey $sub; done
for sub in encrypt decrypt gmac; do help_ok aes $sub; done
for sub in generate verify; do help_ok mac $sub; done
for sub in keygen table; do help_ok envelope $sub; done
help_ok wrap; help_ok unwrap; help_ok password verify; help_ok derive
for g in symkey aes mac envelope password; do "$V" $g --help >/dev/null && ok || bad "$g --help"; done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
