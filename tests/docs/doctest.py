#!/usr/bin/env python3
"""Runs the ```console blocks of Markdown documents and checks that every command prints what the
document shows, so the README and the guides cannot drift from the program.

A block is a sequence of `$ COMMAND` lines, each followed by the output the document promises
(stdout and stderr together, in the order a terminal shows them). Matching rules:
- a line that is only `...` (or `...` and a comment in parentheses) stands for any number of
  lines, zero included;
- `...` inside a line stands for any text on that line;
- trailing spaces are ignored.
A command must exit 0 unless the document shows its status (`$?` in the command line, e.g.
`; echo "exit $?"`), so a failure cannot pass as a success whose output happens to match (the
status of a pipeline is its last command's, as in the shell: `vsafe ... | head` checks head's).

An HTML comment right before the block changes how it runs (several directives may be combined,
separated by `;`):
  <!-- doctest: skip (REASON) -->        not run; the reason is printed
  <!-- doctest: continue -->             run in the previous block's directory (default: a new one)
  <!-- doctest: setup CMD -->            run CMD first, unseen (one per comment, taking the rest of
                                         it; several comments for several); its failure fails the block
  <!-- doctest: cleanup CMD -->          run CMD after the block, unseen, whether it passed or not
                                         (e.g. stop a server the set-up started); its failure fails
                                         the block
  <!-- doctest: random -->               frames (4 or more hex bytes) and hex values after '=' of
                                         4 or more digits match any such (ciphertexts and MACs under
                                         keys drawn from the host's random source)

Each block runs in a fresh temporary directory with `vsafe` first on PATH, no VSAFE_DEVICE (the
default ./vsafe-device), seeded device random generators, and a CA of its own.
Usage: doctest.py VSAFE_BINARY DOC.md [DOC.md ...]
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

# In a `random` block: runs of four or more space-separated hex bytes (frames on the wire), and hex
# values of four or more digits after '=' (ciphertexts, MACs, CRCs).
HEX_RUN = re.compile(r"\b[0-9A-Fa-f]{2}(?: [0-9A-Fa-f]{2}){3,}\b|(?<==)[0-9A-Fa-f]{4,}\b")
LONE_ELLIPSIS = re.compile(r"\.\.\.(\s+\(.*\))?")
DIRECTIVE = re.compile(r"<!--\s*doctest:\s*(.*?)\s*-->")
SETUP_OR_CLEANUP = re.compile(r"(?:^|;)\s*(setup|cleanup)\s+(.*)$")


def parse(path):
    """Yields (line number, directives, [(command, [expected lines])]) per console block."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks = []
    i = 0
    pending = []
    while i < len(lines):
        m = DIRECTIVE.fullmatch(lines[i].strip())
        if m:
            body = m.group(1)
            # `setup CMD` and `cleanup CMD` take the rest of the comment (CMD may hold ';').
            cmd = SETUP_OR_CLEANUP.search(body)
            head = body[:cmd.start()] if cmd else body
            pending += [d.strip() for d in head.split(";") if d.strip()]
            if cmd:
                pending.append(f"{cmd.group(1)} {cmd.group(2).strip()}")
            i += 1
            continue
        if lines[i].strip() == "```console":
            start = i + 1
            i += 1
            cmds = []
            while i < len(lines) and lines[i].strip() != "```":
                if lines[i].startswith("$ "):
                    cmds.append((lines[i][2:], []))
                elif cmds:
                    cmds[-1][1].append(lines[i])
                else:
                    raise SystemExit(f"{path}:{i + 1}: console block output before any '$ ' command")
                i += 1
            blocks.append((start, pending, cmds))
            pending = []
        elif lines[i].strip():
            pending = []
        i += 1
    return blocks


def line_matches(want, got, random):
    want = want.rstrip()
    got = got.rstrip()
    if random:
        want = HEX_RUN.sub("\0", want)
        got = HEX_RUN.sub("\0", got)
    parts = [re.escape(p) for p in want.split("...")]
    pattern = ".*".join(parts)
    if random:
        pattern = pattern.replace(re.escape("\0"), "\0")
    return re.fullmatch(pattern, got, re.S) is not None


def output_matches(want, got, random):
    """Expected lines against actual lines; a lone '...' matches any run of lines."""
    memo = {}

    def go(i, j):
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(want):
            r = j == len(got)
        elif LONE_ELLIPSIS.fullmatch(want[i].strip()):
            r = any(go(i + 1, k) for k in range(j, len(got) + 1))
        else:
            r = j < len(got) and line_matches(want[i], got[j], random) and go(i + 1, j + 1)
        memo[key] = r
        return r

    return go(0, 0)


def run(cmd, cwd, env):
    p = subprocess.run(["sh", "-c", cmd], cwd=cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    out = p.stdout.decode("utf-8", "replace").split("\n")
    if out and out[-1] == "":
        out.pop()
    return p.returncode, out


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    vsafe = os.path.abspath(sys.argv[1])
    bindir = tempfile.mkdtemp(prefix="vsafe-doctest-bin.")
    os.symlink(vsafe, os.path.join(bindir, "vsafe"))
    workdirs = []
    failures = 0
    checked = 0
    skipped = 0
    try:
        for doc in sys.argv[2:]:
            workdir = None
            for start, directives, cmds in parse(doc):
                where = f"{doc}:{start}"
                skip = [d for d in directives if d.startswith("skip")]
                if skip:
                    print(f"SKIP {where}: {skip[0][4:].strip(' ()') or 'no reason given'}")
                    skipped += 1
                    continue
                random = "random" in directives
                if "continue" not in directives or workdir is None:
                    workdir = tempfile.mkdtemp(prefix="vsafe-doctest.")
                    workdirs.append(workdir)
                env = dict(os.environ)
                env.pop("VSAFE_DEVICE", None)
                env.pop("VSAFE_CONNECT", None)
                env.update(PATH=bindir + os.pathsep + env.get("PATH", ""), VSAFE_SE_SEED="1",
                           VSAFE_MCU_SEED="1", VSAFE_CA_DIR=os.path.join(workdir, ".ca"),
                           LC_ALL="C", COLUMNS="100")
                ok = True
                for d in directives:
                    if d.startswith("setup "):
                        rc, out = run(d[6:], workdir, env)
                        if rc != 0:
                            print(f"FAIL {where}: setup '{d[6:]}' exited {rc}:\n  " + "\n  ".join(out))
                            ok = False
                            break
                for cmd, want in cmds if ok else []:
                    rc, got = run(cmd, workdir, env)
                    checked += 1
                    if rc != 0 and "$?" not in cmd:
                        ok = False
                        print(f"FAIL {where}: $ {cmd}\n--- exited {rc}, and the document does not show it "
                              "(add '; echo \"exit $?\"' and the line it prints)\n" + "\n".join(got) + "\n---")
                        break
                    if not output_matches(want, got, random):
                        ok = False
                        print(f"FAIL {where}: $ {cmd}\n--- the document shows\n" + "\n".join(want) +
                              f"\n--- the command printed (exit {rc})\n" + "\n".join(got) + "\n---")
                        break
                for d in directives:
                    if d.startswith("cleanup "):
                        rc, out = run(d[8:], workdir, env)
                        if rc != 0:
                            print(f"FAIL {where}: cleanup '{d[8:]}' exited {rc}:\n  " + "\n  ".join(out))
                            ok = False
                if not ok:
                    failures += 1
    finally:
        for d in workdirs + [bindir]:
            shutil.rmtree(d, ignore_errors=True)
    print(f"doctest: {checked} commands checked, {failures} blocks failed, {skipped} skipped")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
