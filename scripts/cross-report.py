#!/usr/bin/env python3
"""Flash, RAM and worst-case stack of the device core on the Cortex-M33 build, checked against
budgets (firmware/budgets.txt). Exits 1 when a budget is exceeded or the stack cannot be bounded.

Sizes: arm-none-eabi-size on every object, summed per module (flash = text + data, static RAM =
data + bss), and what the test firmware actually links per module after --gc-sections (from the
linker map).

Stack: the frame of every function of the core and the port comes from GCC's -fstack-usage (.su);
the call graph from -fcallgraph-info (.ci), completed with every call relocation of the object
code (library calls the compiler adds, such as __aeabi_uldivmod, and tail calls). Frames of C
library and libgcc functions are read from their disassembly (every push and sp decrement summed:
an upper bound). A call through a pointer is resolved by the name of the member or variable called
(the expression at the call site), through firmware/stack-indirect.txt; an unresolved one, a
recursion, or a dynamic frame fails the report. A path's figure is the sum of the frames on it,
as GCC counts them (the return address pushed by the callee's prologue is in its frame).
"""
import argparse
import collections
import glob
import os
import re
import subprocess
import sys

FAIL = []


def fail(msg):
    if msg not in FAIL:
        FAIL.append(msg)


def run(cmd):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout


# ---------------------------------------------------------------- budgets
def read_budgets(path):
    budgets = {}
    for n, line in enumerate(open(path), 1):
        line = line.split("#", 1)[0].split()
        if not line:
            continue
        if len(line) != 3:
            sys.exit(f"{path}:{n}: want 'KIND NAME LIMIT'")
        budgets[(line[0], line[1])] = int(line[2], 0)
    return budgets


def check(budgets, kind, name, value, unit="B"):
    lim = budgets.get((kind, name))
    if lim is None:
        return ""
    if value > lim:
        fail(f"{kind} {name}: {value} {unit} over its budget of {lim} {unit}")
        return f"  OVER {kind.upper()} BUDGET ({lim})"
    return f"  ({kind} budget {lim})"


# ---------------------------------------------------------------- sizes
def object_sizes(size_tool, objs):
    out = run([size_tool, "-B"] + objs)
    sizes = {}
    for line in out.splitlines()[1:]:
        f = line.split()
        sizes[f[5]] = (int(f[0]), int(f[1]), int(f[2]))
    return sizes


def linked_sizes(map_path):
    """Bytes each input object contributes to the linked image, by object basename."""
    contrib = collections.Counter()
    pending = None
    in_map = False
    sec_re = re.compile(r"^ (\.(?:text|rodata|data|bss)[^\s]*)\s*(?:(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(.*))?$")
    cont_re = re.compile(r"^\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S.*)$")
    for line in open(map_path):
        if line.startswith("Linker script and memory map"):
            in_map = True
            continue
        if not in_map:
            continue
        m = sec_re.match(line)
        if m:
            pending = m.group(1)
            if m.group(2):
                contrib[(os.path.basename(m.group(4).strip()), pending)] += int(m.group(3), 16)
                pending = None
            continue
        m = cont_re.match(line)
        if m and pending:
            contrib[(os.path.basename(m.group(3).strip()), pending)] += int(m.group(2), 16)
        pending = None
    per = collections.Counter()
    for (obj, sec), n in contrib.items():
        member = re.sub(r"^.*\((.*)\)$", r"\1", obj)
        kind = "ram" if sec.startswith(".bss") else "flash"
        per[(member, kind)] += n
        if sec.startswith(".data"):
            per[(member, "ram")] += n
    return per


def size_report(args, budgets):
    modules = args.module
    objs = [o for _, group in modules for o in group]
    sizes = object_sizes(args.size, objs)
    linked = linked_sizes(args.map) if args.map else {}
    print("Flash and static RAM per module (arm-none-eabi-size, -Os; flash = text + data, RAM = data + bss)")
    print(f"  {'module / object':34} {'text':>7} {'data':>6} {'bss':>6} {'flash':>7} {'RAM':>6}   linked in test firmware")
    total = [0, 0, 0]
    for name, group in modules:
        t = [0, 0, 0]
        for o in group:
            s = sizes[o]
            t = [a + b for a, b in zip(t, s)]
            lf = linked.get((os.path.basename(o), "flash"), 0)
            print(f"    {os.path.basename(o):32} {s[0]:7} {s[1]:6} {s[2]:6} {s[0] + s[1]:7} {s[1] + s[2]:6}   {lf:6}")
        total = [a + b for a, b in zip(total, t)]
        flash, ram = t[0] + t[1], t[1] + t[2]
        lf = sum(linked.get((os.path.basename(o), "flash"), 0) for o in group)
        note = check(budgets, "flash", name, flash) + check(budgets, "ram", name, ram)
        print(f"  {name:34} {t[0]:7} {t[1]:6} {t[2]:6} {flash:7} {ram:6}   {lf:6}{note}")
    flash, ram = total[0] + total[1], total[1] + total[2]
    note = check(budgets, "flash", "total", flash) + check(budgets, "ram", "total", ram)
    print(f"  {'all of the above':34} {total[0]:7} {total[1]:6} {total[2]:6} {flash:7} {ram:6}{note}")
    if args.elf:
        out = run([args.size, "-A", args.elf])
        sec = {l.split()[0]: int(l.split()[1]) for l in out.splitlines() if l.startswith(".")}
        code = sec.get(".text", 0) + sec.get(".ARM.exidx", 0) + sec.get(".data", 0)
        print(f"  test firmware {os.path.basename(args.elf)}: {code} B flash, {sec.get('.data', 0) + sec.get('.bss', 0)} B "
              f"static RAM (device object, SPL05 image, NVM and test buffers) + {sec.get('.stack', 0)} B stack")


# ---------------------------------------------------------------- stack
class Graph:
    def __init__(self):
        self.frame = {}       # title -> bytes
        self.where = {}       # title -> "file:line" (defined functions)
        self.edges = collections.defaultdict(set)
        self.indirect = collections.defaultdict(list)  # title -> [(file, line, col)]
        self.by_name = collections.defaultdict(set)   # plain name -> titles
        self.lib = set()


def plain(title):
    return title.rsplit(":", 1)[-1]


def load_ci(g, ci_files, root):
    node_re = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
    edge_re = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)" label: "([^"]*)"')
    su = {}
    for ci in ci_files:
        su_path = ci[:-3] + ".su"
        for line in open(su_path):
            loc, n, qual = line.rstrip("\n").split("\t")
            su[loc] = (int(n), qual)
    for ci in ci_files:
        for line in open(ci):
            m = node_re.match(line)
            if m:
                title, label = m.group(1), m.group(2).split("\\n")
                if len(label) >= 3 and "bytes" in label[2]:
                    key = label[1] + ":" + label[0]
                    if key not in su:
                        fail(f"{title}: no -fstack-usage entry")
                        continue
                    n, qual = su[key]
                    if qual not in ("static", "dynamic,bounded"):
                        fail(f"{title}: {qual} stack frame cannot be bounded")
                    g.frame[title] = n
                    g.where[title] = label[1]
                    g.by_name[plain(title)].add(title)
                continue
            m = edge_re.match(line)
            if m:
                src, dst, loc = m.groups()
                if dst == "__indirect_call":
                    f, l, c = loc.rsplit(":", 2)
                    g.indirect[src].append((f, int(l), int(c)))
                else:
                    g.edges[src].add(dst)


def disassembly_functions(objdump, path):
    """{function: (sum of sp decrements, set of call/tail-call targets, dynamic?)} from objdump -dr."""
    out = run([objdump, "-dr", "--no-show-raw-insn", path])
    funcs = {}
    cur = None
    fn_re = re.compile(r"^[0-9a-f]+ <([^>]+)>:$")
    rel_re = re.compile(r"R_ARM_THM_(?:CALL|JUMP24|JUMP19|PC22)\s+(\S+)")
    for line in out.splitlines():
        m = fn_re.match(line)
        if m:
            cur = m.group(1)
            funcs.setdefault(cur, [0, set(), False])
            continue
        if cur is None:
            continue
        m = rel_re.search(line)
        if m:
            tgt = m.group(1)
            if tgt.startswith(".text."):
                tgt = tgt[len(".text."):]
            tgt = re.sub(r"\+0x[0-9a-f]+$", "", tgt)
            if tgt != cur:
                funcs[cur][1].add(tgt)
            continue
        ins = line.split("\t")
        if len(ins) < 3:
            continue
        op, arg = ins[1].strip(), ins[2].strip() if len(ins) > 2 else ""
        arg = arg.split("@")[0].strip()
        if op.startswith("push") or (op.startswith("stmdb") and arg.startswith("sp!")):
            regs = re.search(r"\{([^}]*)\}", arg)
            n = 0
            for r in regs.group(1).split(",") if regs else []:
                r = r.strip()
                if "-" in r:
                    a, b = r.split("-")
                    n += int(b[1:]) - int(a[1:]) + 1
                elif r:
                    n += 1
            funcs[cur][0] += 4 * n
        elif op.startswith("vpush"):
            regs = re.search(r"\{([^}]*)\}", arg).group(1)
            a, _, b = regs.partition("-")
            cnt = (int(b.strip()[1:]) - int(a.strip()[1:]) + 1) if b else 1
            funcs[cur][0] += (8 if a.strip().startswith("d") else 4) * cnt
        elif re.match(r"^subw?(\.w)?$", op) and re.match(r"^sp,\s*(sp,\s*)?#", arg):
            funcs[cur][0] += int(re.search(r"#(\d+)", arg).group(1))
        elif re.match(r"^subs?(\.w)?$", op) and re.match(r"^sp,\s*(sp,\s*)?r", arg):
            funcs[cur][2] = True
        elif op.startswith("str") and re.search(r"\[sp,\s*#-(\d+)\]!", arg):
            funcs[cur][0] += int(re.search(r"\[sp,\s*#-(\d+)\]!", arg).group(1))
        elif op.startswith("blx") and not arg.startswith("0"):
            funcs[cur][2] = True  # a call through a register in library code: not bounded here
    return funcs


def add_object_calls(g, objdump, objs):
    """Adds the calls the object code makes that the compiler's call graph does not list."""
    for o in objs:
        src = re.sub(r"^.*?/obj/", "", o)[:-2] + ".c"  # OUT/obj/src/se/core.o -> src/se/core.c
        for fn, (_, calls, _) in disassembly_functions(objdump, o).items():
            title = f"{src}:{fn}" if src and f"{src}:{fn}" in g.frame else fn
            if title not in g.frame:
                continue
            for c in calls:
                tgt = f"{src}:{c}" if src and f"{src}:{c}" in g.frame else c
                g.edges[title].add(tgt)


def add_library(g, objdump, nm, libs):
    """Frames of the C library and libgcc functions, under every name they are defined by (an
    alias such as __aeabi_ldiv0 shares its code with the name objdump shows)."""
    lib = {}
    for path in libs:
        funcs = disassembly_functions(objdump, path)
        for fn, (n, calls, dyn) in funcs.items():
            old = lib.get(fn)
            if old is None or n > old[0]:
                lib[fn] = (n, calls, dyn)
        at = collections.defaultdict(list)
        for line in run([nm, "-A", "--defined-only", path]).splitlines():
            m = re.match(r"^.*?:(.*?):([0-9a-f]+) [TtWw] (\S+)$", line)
            if m:
                at[(m.group(1), m.group(2))].append(m.group(3))
        for names in at.values():
            known = [x for x in names if x in funcs]
            for x in names:
                if x not in lib and known:
                    lib[x] = lib[known[0]]
    return lib


def resolve_name(g, name):
    if name in g.frame:
        return name
    titles = g.by_name.get(name, set())
    if len(titles) == 1:
        return next(iter(titles))
    if len(titles) > 1:
        fail(f"stack-indirect: '{name}' is ambiguous ({', '.join(sorted(titles))}); qualify it as file.c:name")
    else:
        fail(f"stack-indirect: no function '{name}' in the build (stale entry?)")
    return None


def table_targets(objdump, objs, table):
    """Functions whose addresses a const table holds, from the relocations of its data section."""
    for o in objs:
        out = run([objdump, "-r", "-j", f".rodata.{table}", o]) if f".rodata.{table}" in run([objdump, "-h", o]) else ""
        tg = re.findall(r"R_ARM_ABS32\s+(\S+)", out)
        if tg:
            return [t[len(".text."):] if t.startswith(".text.") else t for t in tg]
    return None


def resolve_indirect(g, cfg_path, objdump, objs):
    cfg = {}
    for n, line in enumerate(open(cfg_path), 1):
        f = line.split("#", 1)[0].split()
        if f:
            if f[-1] == "-":  # NAME... -: members that are NULL in this port
                for name in f[:-1]:
                    cfg[name] = []
            else:
                cfg[f[0]] = f[1:]
    used = set()
    call_re = re.compile(r"([A-Za-z_]\w*(?:\s*(?:->|\.)\s*[A-Za-z_]\w*)*)\s*\(")
    for caller, sites in g.indirect.items():
        for f, l, c in sites:
            try:
                text = open(f).read().splitlines()[l - 1][c - 1:]
            except (OSError, IndexError):
                fail(f"{caller}: cannot read the call site {f}:{l}")
                continue
            m = call_re.match(text)
            member = re.split(r"->|\.", m.group(1))[-1].strip() if m else None
            if member not in cfg:
                fail(f"{caller}: call through a pointer at {f}:{l} ('{text[:40].strip()}') is not in "
                     f"{cfg_path}: add its possible targets")
                continue
            used.add(member)
            for t in cfg[member]:
                if t == "-":
                    continue
                if t.startswith("table:") or t.startswith("table?:"):
                    name = t.split(":", 1)[1]
                    names = table_targets(objdump, objs, name)
                    if not names:
                        if t.startswith("table:"):
                            fail(f"stack-indirect: table {name} not found")
                        continue
                else:
                    names = [t]
                for nm in names:
                    title = resolve_name(g, nm)
                    if title:
                        g.edges[caller].add(title)
    unused = sorted(m for m in cfg if m not in used)
    if unused:  # harmless for the bound (it can only over-approximate), but worth a look
        print(f"  note: {cfg_path} lists members no call site uses now: {' '.join(unused)}")


class Stack:
    def __init__(self, g, lib):
        self.g, self.lib, self.memo = g, lib, {}

    def worst(self, title, stack=()):
        """(bytes, path) of the deepest call chain from title."""
        if title in self.memo:
            return self.memo[title]
        if title in stack:
            fail("recursion: " + " -> ".join(plain(t) for t in stack + (title,)))
            return (0, [title])
        if title in self.g.frame:
            own, callees = self.g.frame[title], self.g.edges.get(title, set())
        elif title in self.lib:
            own, callees, dyn = self.lib[title]
            if dyn:
                fail(f"{title}: library function with a dynamic frame or a call through a register")
            callees = set(callees)
        else:
            fail(f"{title}: no frame size known (not in the core's objects nor the C library)")
            return (0, [title])
        best = (0, [])
        for c in sorted(callees):
            r = self.worst(c, stack + (title,))
            if r[0] > best[0]:
                best = r
        res = (own + best[0], [title] + best[1])
        self.memo[title] = res
        return res


def stack_report(args, budgets):
    g = Graph()
    objs = [o for _, group in args.module for o in group]
    load_ci(g, [o[:-2] + ".ci" for o in objs], ".")
    add_object_calls(g, args.objdump, objs)
    resolve_indirect(g, args.indirect, args.objdump, objs)
    libs = [run([args.cc] + args.cpu.split() + ["-print-file-name=libc.a"]).strip(),
            run([args.cc] + args.cpu.split() + ["-print-libgcc-file-name"]).strip()]
    lib = add_library(g, args.objdump, args.nm, libs)
    st = Stack(g, lib)
    called = set(t for s in g.edges.values() for t in s)

    def show(title):
        n, path = st.worst(title)
        return n, " > ".join(plain(p) for p in path)

    print("\nWorst-case stack (bytes; -fstack-usage frames along the deepest call chain, crypto port = stubs)")
    entry = "vsafe_se_core_i2c_write"
    handlers = []
    for table in args.dispatch.split(","):  # a table the compiler folded away has no targets left
        handlers += table_targets(args.objdump, objs, table) or []
    handler_titles = set(t for t in (resolve_name(g, x) for x in handlers) if t)
    dispatchers = sorted(f for f, es in g.edges.items() if es & handler_titles)
    if entry not in g.frame or not handler_titles or not dispatchers:
        fail(f"command paths: no {entry}, or no handler table {args.dispatch} called in the core's objects")
    else:
        worst_cmd = 0
        print(f"  command paths: {entry} > ... > {' / '.join(plain(x) for x in dispatchers)} > handler, for each handler"
              f" of {args.dispatch};")
        print("  'handler' is the deepest chain from the handler down, 'path' the whole command from the bus")
        for ht in sorted(handler_titles, key=plain):
            # the graph with every dispatch restricted to this handler
            g2 = Graph()
            g2.frame, g2.where, g2.by_name = g.frame, g.where, g.by_name
            g2.edges = collections.defaultdict(set, {k: set(v) for k, v in g.edges.items()})
            for dsp in dispatchers:
                g2.edges[dsp] = set(c for c in g.edges[dsp] if c not in handler_titles or c == ht)
            n, path = Stack(g2, lib).worst(entry)
            worst_cmd = max(worst_cmd, n)
            h = st.worst(ht)[0]
            path = " > ".join(plain(p) for p in path)
            print(f"    {plain(ht):34} handler {h:5}  path {n:5}{check(budgets, 'stack', 'command', n)}   {path}")
        if args.bound_out:
            with open(args.bound_out, "w") as f:
                f.write(f"{worst_cmd}\n")
    roots = sorted(t for t in g.frame if ":" not in t and t not in called)
    print("  entry points (every external function of the core and port no other one calls):")
    worst_entry = 0
    for r in roots:
        n, path = show(r)
        worst_entry = max(worst_entry, n)
        print(f"    {r:36} {n:5}{check(budgets, 'stack', r, n)}   {path}")
    print(f"  deepest entry point: {worst_entry} B{check(budgets, 'stack', 'entry', worst_entry)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="arm-none-eabi-size")
    ap.add_argument("--objdump", default="arm-none-eabi-objdump")
    ap.add_argument("--cc", default="arm-none-eabi-gcc")
    ap.add_argument("--nm", default="arm-none-eabi-nm")
    ap.add_argument("--cpu", default="-mcpu=cortex-m33 -mthumb -mfloat-abi=soft")
    ap.add_argument("--elf")
    ap.add_argument("--map")
    ap.add_argument("--budgets", required=True)
    ap.add_argument("--indirect", required=True)
    ap.add_argument("--dispatch", default="cmd_table,tag_table",
                    help="comma-separated const tables of command handlers (src/se/dispatch.c)")
    ap.add_argument("--bound-out", help="file to write the worst command path's bound to")
    ap.add_argument("--module", nargs="+", action="append", required=True, metavar=("NAME", "OBJ"))
    args = ap.parse_args()
    args.module = [(m[0], m[1:]) for m in args.module]
    budgets = read_budgets(args.budgets)
    size_report(args, budgets)
    stack_report(args, budgets)
    if FAIL:
        print("\ncross: FAILED")
        for f in FAIL:
            print("  " + f)
        return 1
    print("\ncross: every figure within its budget (firmware/budgets.txt)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
