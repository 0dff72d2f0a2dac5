# Sourced (POSIX sh) by the scripts whose run is a worked example of docs/LIFECYCLE.md
# (lifecycle_example.sh, rehearsal.sh). Each step prints what a user sees, one kind per line:
#   "## TITLE"    a heading                                  section TITLE
#   "> TEXT"      a line of prose                            say TEXT...
#   "$ COMMAND"   the command, then its stdout, then its stderr
#                                                            run RC 'COMMAND' [ERE...]
# run evaluates COMMAND in the calling shell (so the line printed is exactly the line run, and
# variables it sets stay set), checks its exit status is RC and that its output (stdout and
# stderr together) matches every ERE. check WHAT CMD... counts one more assertion. A failure is
# reported on stderr as "FAIL: ..." and the run goes on; transcript_end prints the count on stderr
# and returns 1 if any check failed. tests/docs/lifecycle_doc.sh turns the transcript (stdout)
# into the markdown of docs/LIFECYCLE.md and checks the document against a fresh run.
# After run, $TR_OUT and $TR_ERR hold the command's stdout and stderr (files), $TR_RC its status.

TR_N=0
TR_FAILS=0

# transcript_begin DIR: files for the captured output live in DIR.
transcript_begin() {
    TR_OUT=$1/.transcript.out
    TR_ERR=$1/.transcript.err
}

section() { printf '## %s\n' "$*"; }

say() {
    for tr_line in "$@"; do
        printf '> %s\n' "$tr_line"
    done
}

check() {
    tr_what=$1
    shift
    TR_N=$((TR_N + 1))
    if ! "$@"; then
        TR_FAILS=$((TR_FAILS + 1))
        printf 'FAIL: %s\n' "$tr_what" >&2
    fi
}

# tr_show FILE: the file as it is, ended by a newline if its last line has none.
tr_show() {
    cat "$1"
    if [ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" != '\n' ]; then
        echo
    fi
}

run() {
    tr_want=$1
    tr_cmd=$2
    shift 2
    printf '$ %s\n' "$tr_cmd"
    TR_RC=0
    eval "$tr_cmd" >"$TR_OUT" 2>"$TR_ERR" || TR_RC=$?
    tr_show "$TR_OUT"
    tr_show "$TR_ERR"
    check "'$tr_cmd' exited with $TR_RC, want $tr_want" [ "$TR_RC" -eq "$tr_want" ]
    for tr_re in "$@"; do
        check "'$tr_cmd' printed nothing matching /$tr_re/" tr_matches "$tr_re"
    done
}

tr_matches() { cat "$TR_OUT" "$TR_ERR" | grep -Eq -- "$1"; }

# out_field PREFIX: the rest of the last command's first stdout line that starts with PREFIX
# followed by blanks ("product state   CLOSED (0x72)" -> "CLOSED (0x72)").
out_field() { sed -n "s/^$1  *//p" "$TR_OUT" | head -n 1; }

# expect_field PREFIX VALUE: that field of the last command's output is exactly VALUE.
expect_field() {
    tr_got=$(out_field "$1")
    check "'$1' is '$tr_got', want '$2'" [ "$tr_got" = "$2" ]
}

transcript_end() {
    printf '%s: %d checks, %d failed\n' "$1" "$TR_N" "$TR_FAILS" >&2
    [ "$TR_FAILS" -eq 0 ]
}
