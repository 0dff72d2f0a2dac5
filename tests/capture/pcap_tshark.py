#!/usr/bin/env python3
"""`vsafe --pcap FILE COMMAND` against tshark: the capture is read by tshark as link type 209
(I2C with the Linux pseudo-header), and the I2C transactions it shows are exactly the frames the
host library's trace (--trace, a different layer of the same run) says were written and read.

Usage: pcap_tshark.py VSAFE SOURCE_DIR.  Exit 77 (CTest: skipped) when tshark cannot be installed."""
import os
import re
import subprocess
import sys
import tempfile

VSAFE, SRC = sys.argv[1], sys.argv[2]
fails = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails.append(what)


if subprocess.run(["bash", os.path.join(SRC, "scripts/deps-tshark.sh")]).returncode != 0:
    print("pcap_tshark: SKIPPED: tshark is missing and cannot be installed here")
    sys.exit(77)


def vsafe(*args, ok=True):
    r = subprocess.run([VSAFE, *args], capture_output=True, text=True)
    if ok and r.returncode != 0:
        sys.exit(f"vsafe {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r


def trace_frames(text):
    """[('H->D'|'D->H', bytes)] from --trace output: a direction line with hex, then hex-only
    continuation lines (indented 10), then decoding lines (indented 6)."""
    frames = []
    for line in text.splitlines():
        m = re.match(r"^(H->D|D->H)  ((?:[0-9A-F]{2} ?)+)$", line)
        if m:
            frames.append((m.group(1), bytearray.fromhex(m.group(2))))
            continue
        m = re.match(r"^ {10}((?:[0-9A-F]{2} ?)+)$", line)
        if m and frames:
            frames[-1][1].extend(bytes.fromhex(m.group(1)))
    return frames


def tshark_packets(path):
    r = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "i2c.flags", "-e", "i2c.addr", "-e", "data.data"],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"tshark -r reads {os.path.basename(path)}")
    pk = []
    for line in r.stdout.splitlines():
        flags, addr, data = (line.split("\t") + ["", "", ""])[:3]
        pk.append((int(flags, 16), int(addr, 16), bytes.fromhex(data)))
    return pk


def exchanges(packets):
    """Group packets into (write bytes, [read bytes...]) per command; address byte removed."""
    ex = []
    bad = [(f, a, d[:1]) for f, a, d in packets if a != 0x20 or d[:1] != (b"\x41" if f & 1 else b"\x40")]
    check(packets and not bad, f"{len(packets)} packets to 0x20, address byte matching the read flag {bad[:3]}")
    for flags, addr, data in packets:
        if flags & 1 == 0:
            ex.append((data[1:], []))
        elif ex:
            ex[-1][1].append(data[1:])
    return ex


with tempfile.TemporaryDirectory() as d:
    dev, cap = os.path.join(d, "dev"), os.path.join(d, "update.pcap")
    vsafe("--device", dev, "init")
    r = vsafe("--device", dev, "--pcap", cap, "--trace", "update", "1", "--offset", "4", "--data", "0a0b0c", "--atomic")
    v = subprocess.run(["tshark", "-r", cap, "-V"], capture_output=True, text=True).stdout
    check("I2C with Linux-specific pseudo-header" in v, "tshark -V: encapsulation is I2C with the Linux pseudo-header")
    check("Target address: 0x20" in v, "tshark -V: target address 0x20")
    with open(cap, "rb") as f:
        head = f.read(24)
    check(int.from_bytes(head[20:24], "little") == 209, "file header: link type 209")

    frames = trace_frames(r.stderr)
    ex = exchanges(tshark_packets(cap))
    cmds = [b for dirn, b in frames if dirn == "H->D"]
    rsps = [b for dirn, b in frames if dirn == "D->H"]
    check(len(cmds) >= 3 and len(cmds) == len(ex), f"one write per command frame ({len(cmds)} traced, {len(ex)} captured)")
    check([bytes(c) for c in cmds] == [w for w, _ in ex], "every write is the traced command frame, byte for byte")
    check([bytes(b) for b in rsps] == [rd[-1] if rd else b"" for _, rd in ex],
          "the last read of every command is the traced response frame, byte for byte")
    check(all(len(rd[0]) == 5 for _, rd in ex if rd), "each response is first read as its 5-byte header")
    upd = ex[-1][0]
    check(upd[0] == 0x06 and upd[1] == 0x80 and upd[2] == 1 and upd[3:5] == b"\x00\x04" and upd[5:8] == b"\x0a\x0b\x0c",
          "the Update frame carries opt atomic, zone 1, offset 4 and the data")

    cap2 = os.path.join(d, "read.pcap")
    vsafe("--device", dev, "--pcap", cap2, "read", "1", "--offset", "4", "--length", "3")
    last = exchanges(tshark_packets(cap2))[-1][1][-1]
    check(last[0] == 0 and last[3:6] == b"\x0a\x0b\x0c", "the Read response in the capture holds the bytes written")

    cap3 = os.path.join(d, "refused.pcap")
    r3 = vsafe("--device", dev, "--pcap", cap3, "update", "0", "--data", "01", ok=False)
    check(r3.returncode == 1 and "ACCESS_CONDITION_NOT_SATISFIED" in r3.stderr, "update of zone 0 is refused")
    # The refused Update (code 0x06) and its response; the CLI may ask the partition table
    # afterwards to explain the refusal, so it need not be the last exchange.
    upds = [rd for w, rd in exchanges(tshark_packets(cap3)) if w[:1] == b"\x06" and rd]
    last = upds[-1][-1] if upds else b"\x00"
    check(last[0] & 0x1F == 0x11, f"a refused command is captured too, with its status byte ({last[0]:#04x})")

    r4 = vsafe("--device", dev, "--pcap", os.path.join(d, "no-dir", "x.pcap"), "zones", ok=False)
    check(r4.returncode == 1 and "--pcap" in r4.stderr, "an unwritable capture path is an error, not a silent no-op")

def tshark_buses(path):
    r = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "i2c.bus"], capture_output=True, text=True)
    return [int(x) for x in r.stdout.split()]


def regress_pcap_over_connect_empty(ccap, trace):
    """Finding: `vsafe --connect ADDR --pcap FILE` wrote a capture with no packet (the CLI attached
    the capture only to in-process devices). Its capture must hold the frames it traced."""
    client = exchanges(tshark_packets(ccap))
    cmds = [bytes(b) for dirn, b in trace_frames(trace) if dirn == "H->D"]
    check([w for w, _ in client] == cmds and len(cmds) >= 3,
          "regress_pcap_over_connect_empty: the client's capture over the socket is its traced frames")
    return cmds


def serve_part(d):
    """`vsafe serve --pcap`: the server's capture shows the command frames the client's
    (`vsafe --connect ... --pcap`) shows, and each device of a --root server is its own bus."""
    root, sock = os.path.join(d, "root"), os.path.join(d, "s.sock")
    for name in ("a", "b"):
        vsafe("--device", os.path.join(root, name), "init")
    scap, ccap = os.path.join(d, "server.pcap"), os.path.join(d, "client.pcap")
    srv = subprocess.Popen([VSAFE, "serve", "--root", root, "--socket", sock, "--pcap", scap],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = srv.stdout.readline().strip()
    check(ready == sock, f"vsafe serve --pcap is ready ({ready!r})")
    vsafe("--connect", sock, "--device", "a", "update", "2", "--data", "5e5e")
    r = vsafe("--connect", sock, "--device", "b", "--pcap", ccap, "--trace", "read", "2", "--length", "2")
    srv.terminate()
    check(srv.wait(timeout=30) == 0, "vsafe serve --pcap stops with 0 on SIGTERM")

    cmds = regress_pcap_over_connect_empty(ccap, r.stderr)
    server_writes = [w for w, _ in exchanges(tshark_packets(scap))]
    check(server_writes[-len(cmds):] == cmds, "the server's capture ends with the same command frames")
    check(any(w[0] == 0x06 and w[-4:-2] == b"\x5e\x5e" for w in server_writes), "the server captured device a's update")
    buses = tshark_buses(scap)
    check(sorted(set(buses)) == [0, 1], f"two devices, two bus numbers in the server's capture ({sorted(set(buses))})")


if subprocess.run([VSAFE, "serve", "--help"], capture_output=True).returncode == 0:
    with tempfile.TemporaryDirectory() as d:
        serve_part(d)
else:
    print("skip: this vsafe has no serve command (the serve part of this test)")

print(f"pcap_tshark: {'FAILED' if fails else 'ok'}")
sys.exit(1 if fails else 0)
