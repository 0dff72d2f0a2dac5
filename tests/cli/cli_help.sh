#!/usr/bin/env bash
# Help everywhere, from one source (issue 11): every command and subcommand answers --help and -h
# with exit 0 and describes every option it parses; `vsafe GROUP --help` lists the subcommands; the
# man page renders with man -l; the bash completion completes commands, subcommands, options,
# file names and the device's zone numbers; docs/CLI-REFERENCE.md is what `vsafe help --markdown`
# prints today.
# usage: cli_help.sh PATH_TO_VSAFE SOURCE_DIR
set -u
V="$1"
SRC="$2"
fail=0
bad() { echo "FAIL: $*"; fail=1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$V" --json help >"$T/tree.json" || bad "vsafe help --json exit $?"
# Every command and subcommand described, every option with a help line; list them for below.
python3 - "$T/tree.json" >"$T/list" <<'PY' || fail=1
import json, sys
tree = json.load(open(sys.argv[1]))
ok = True
for c in tree["commands"]:
    name = c["command"] + (" " + c["sub"] if c.get("sub") else "")
    if c.get("undescribed"):
        print("FAIL: vsafe %s --help does not describe the command" % name, file=sys.stderr); ok = False
    text = c.get("text") or ""
    if not c.get("summary") and not text:
        print("FAIL: vsafe %s says nothing about what it does" % name, file=sys.stderr); ok = False
    import re
    for o in c["options"]:
        # described by its own help line, or in the subcommand's description text
        if not o.get("help") and not re.search(r"--%s([^a-z0-9-]|$)" % re.escape(o["name"]), text, re.M):
            print("FAIL: option --%s of vsafe %s is not described" % (o["name"], name), file=sys.stderr); ok = False
    print(name + "\t" + " ".join("--" + o["name"] for o in c["options"]))
sys.exit(0 if ok else 1)
PY
[ "$(wc -l <"$T/list")" -ge 30 ] || bad "only $(wc -l <"$T/list") commands in the help tree"

while IFS=$'\t' read -r cmd opts; do
  for h in --help -h; do
    # shellcheck disable=SC2086
    out=$("$V" --device "$T/none" $cmd $h 2>&1); rc=$?
    [ $rc -eq 0 ] || { bad "vsafe $cmd $h exits $rc: $(echo "$out" | head -2)"; continue; }
    echo "$out" | grep -q "^usage: vsafe " || bad "vsafe $cmd $h prints no usage line"
    for o in $opts; do
      echo "$out" | grep -Eq -- "$o([^a-z0-9-]|\$)" || bad "vsafe $cmd $h does not describe $o"
    done
  done
done <"$T/list"
[ -e "$T/none" ] && bad "--help created the device directory"

# Groups list their subcommands, exit 0 for help and 2 when the subcommand is missing or unknown.
for g in $(awk -F'\t' '{split($1, w, " "); if (w[2] != "") print w[1]}' "$T/list" | sort -u); do
  out=$("$V" $g --help) || bad "vsafe $g --help exit $?"
  for s in $(awk -F'\t' -v g="$g" '{split($1, w, " "); if (w[1] == g && w[2] != "") print w[2]}' "$T/list"); do
    echo "$out" | grep -Eq "^  (vsafe $g )?$s( |\$)" || bad "vsafe $g --help does not list $s"
  done
  "$V" $g >/dev/null 2>&1; rc=$?; [ $rc -eq 2 ] || bad "vsafe $g without a subcommand exits $rc, wanted 2"
  "$V" $g nosuch >/dev/null 2>&1; rc=$?; [ $rc -eq 2 ] || bad "vsafe $g nosuch exits $rc, wanted 2"
done
# vsafe help COMMAND is COMMAND --help
[ "$("$V" help read)" = "$("$V" read --help)" ] || bad "vsafe help read differs from vsafe read --help"

# --json: every usage error is a JSON object too
for args in "nosuch" "--bogus zones" "read" "read 1 --nope" "--cut-after x zones" "mcu nosuch"; do
  # shellcheck disable=SC2086
  out=$("$V" --device "$T/none" --json $args 2>/dev/null); rc=$?
  [ $rc -eq 2 ] || bad "vsafe --json $args exits $rc, wanted 2"
  echo "$out" | python3 -c 'import json,sys; o=json.load(sys.stdin); assert o["error"]=="USAGE" and o["message"]' 2>/dev/null \
    || bad "vsafe --json $args printed no JSON error object: '$out'"
done

# The man page renders, with every command in it.
"$V" help --man >"$T/vsafe.1" || bad "help --man exit $?"
if command -v man >/dev/null; then
  MANWIDTH=200 man -l "$T/vsafe.1" >"$T/man.txt" 2>"$T/man.err" || bad "man -l fails: $(head -3 "$T/man.err")"
  [ -s "$T/man.err" ] && bad "man -l warns: $(head -3 "$T/man.err")"
  for c in $(cut -f1 "$T/list" | cut -d' ' -f1 | sort -u); do
    grep -q "vsafe $c" "$T/man.txt" || bad "man page has no section for $c"
  done
  grep -q -- "--cut-after N" "$T/man.txt" || bad "man page lacks the global options"
else
  echo "man: SKIPPED (man-db not installed)"
fi

# Completion: source the script and ask it as bash would.
"$V" help --completion >"$T/vsafe.bash" || bad "help --completion exit $?"
"$V" --device "$T/dev" init >/dev/null || bad "init"
touch "$T/keyfile.json"
complete_words() { # words... (the last one is being completed); prints the candidates
  bash -c '
    PATH="$1:$PATH"; shift
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
    _vsafe
    printf "%s\n" "${COMPREPLY[@]}"' _ "$(dirname "$V")" "$T/vsafe.bash" "$@"
}
complete_words vsafe re | grep -qx read || bad "completion: 're' does not give read"
complete_words vsafe mcu s | grep -qx state || bad "completion: 'mcu s' does not give state"
complete_words vsafe read --o | grep -qx -- --offset || bad "completion: 'read --o' does not give --offset"
complete_words vsafe hostkey provision --ke | grep -qx -- --key-file || bad "completion: hostkey provision --key-file"
complete_words vsafe read --host-key "$T/keyf" | grep -qx "$T/keyfile.json" || bad "completion: --host-key FILE gives no file names"
zones=$(complete_words vsafe --device "$T/dev" read "" | sort -n | tr '\n' ' ')
[ "$zones" = "0 1 2 3 4 5 6 7 8 9 10 11 " ] || bad "completion: zone numbers of the device are '$zones'"

# docs/CLI-REFERENCE.md is current.
"$V" help --markdown >"$T/ref.md" || bad "help --markdown exit $?"
diff -u "$SRC/docs/CLI-REFERENCE.md" "$T/ref.md" >"$T/ref.diff" \
  || bad "docs/CLI-REFERENCE.md is not what 'vsafe help --markdown' prints (regenerate it): $(head -20 "$T/ref.diff")"

[ $fail -eq 0 ] && echo "cli help: ok"
exit $fail
