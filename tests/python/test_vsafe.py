"""The installed Python package (docs/PYTHON.md), run by tests/python/run.sh after `make install`
into a temporary prefix, with only PYTHONPATH set: in-process devices, refusals, the raw bus, a
capture, and results cross-checked with the installed vsafe command line on the same state file.

Environment: VSAFE_TEST_PREFIX (the install prefix), VSAFE_CA_DIR (set by CTest).
Also runs under pytest (plain unittest classes)."""
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import unittest

import vsafe

PREFIX = os.environ.get("VSAFE_TEST_PREFIX", "")
CLI = os.path.join(PREFIX, "bin", "vsafe")


def crc16_x25(data):
    """CRC-16/X-25 written from its definition (reflected 0x1021, init and xorout 0xFFFF), bit by
    bit: the frame CRC of the STSAFE-A wire protocol."""
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def frame(body):
    c = crc16_x25(body)
    return bytes(body) + bytes([c >> 8, c & 0xFF])


def cli(*args, ok=True):
    r = subprocess.run([CLI, *args], capture_output=True, text=True)
    if ok and r.returncode != 0:
        raise AssertionError(f"vsafe {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r


class Installed(unittest.TestCase):
    def test_library_is_the_installed_one(self):
        self.assertTrue(PREFIX, "VSAFE_TEST_PREFIX is not set")
        self.assertTrue(os.path.realpath(vsafe.LIBRARY_PATH).startswith(os.path.realpath(PREFIX)), vsafe.LIBRARY_PATH)
        self.assertEqual(cli("--version").stdout.strip(), "vsafe " + vsafe.version())


class InProcess(unittest.TestCase):
    def setUp(self):
        self.dev = vsafe.Device(state_path=None, profile="spl05")

    def tearDown(self):
        self.dev.close()

    def test_update_then_read(self):
        self.dev.update_zone(1, b"\x01\x02\x03\x04", offset=10)
        self.assertEqual(self.dev.read_zone(1, offset=10, length=4), b"\x01\x02\x03\x04")
        self.dev.update_zone(1, b"\xAA\xBB", offset=11, atomic=True)
        self.assertEqual(self.dev.read_zone(1, 10, 4), b"\x01\xAA\xBB\x04")
        z1 = [z for z in self.dev.zones() if z["index"] == 1][0]
        whole = self.dev.read_zone(1)
        self.assertEqual(len(whole), z1["length"])
        self.assertEqual(whole[10:14], b"\x01\xAA\xBB\x04")
        self.assertEqual(len(self.dev.read_zone(1, offset=996)), z1["length"] - 996)

    def test_update_larger_than_one_frame(self):
        data = bytes(range(256)) * 3  # 768 bytes: more than one frame carries
        self.dev.update_zone(2, data)
        self.assertEqual(self.dev.read_zone(2, length=len(data)), data)

    def test_decrement(self):
        before = [z for z in self.dev.zones() if z["index"] == 5][0]["counter"]
        self.assertEqual(self.dev.decrement(5, amount=3, offset=2, data=b"\x55\x66"), before - 3)
        self.assertEqual(self.dev.decrement(5), before - 4)
        self.assertEqual(self.dev.read_counter(5), before - 4)
        self.assertEqual(self.dev.read_zone(5, offset=2, length=2), b"\x55\x66")

    def test_refusals_raise_device_error_with_the_status_name(self):
        with self.assertRaises(vsafe.DeviceError) as cm:
            self.dev.update_zone(0, b"\x00")  # zone 0: update AC never
        self.assertEqual(cm.exception.status, "ACCESS_CONDITION_NOT_SATISFIED")
        self.assertEqual(cm.exception.wire, 0x11)
        with self.assertRaises(vsafe.DeviceError) as cm:
            self.dev.decrement(1)  # a data zone
        self.assertEqual(cm.exception.status, "WRONG_ZONE_TYPE")
        with self.assertRaises(vsafe.DeviceError) as cm:
            self.dev.read_zone(200)
        self.assertEqual(cm.exception.status, "ENTRY_NOT_FOUND")
        with self.assertRaises(vsafe.DeviceError) as cm:
            self.dev.read_zone(1, offset=999, length=5)
        self.assertEqual(cm.exception.status, "BOUNDARY_EXCEEDED")
        self.assertIn("ACCESS_CONDITION_NOT_SATISFIED", str(vsafe.DeviceError(-500 - 0x11)))

    def test_raw_i2c_echo(self):
        cmd = frame(b"\x00" + b"raw bytes")  # Echo
        self.assertEqual(self.dev.i2c_write(cmd), 0)
        head = self.dev.i2c_read(5)
        self.assertEqual(head[0], 0)
        length = head[1] << 8 | head[2]
        self.assertEqual(length, len(b"raw bytes") + 2)
        rsp = self.dev.i2c_read(3 + length)
        self.assertEqual(rsp[:5], head)  # each read starts again at byte 0
        self.assertEqual(rsp[3:-2], b"raw bytes")
        c = crc16_x25(rsp[:1] + rsp[3:-2])  # the response CRC leaves out LEN
        self.assertEqual(rsp[-2:], bytes([c >> 8, c & 0xFF]))
        self.assertEqual(self.dev.echo(b"\x00\xFF"), b"\x00\xFF")

    def test_raw_i2c_nack_and_bad_crc(self):
        self.assertEqual(self.dev.i2c_write(frame(b"\x00\x01"), addr=0x21), vsafe._lib.I2C_NACK)  # nobody there
        with self.assertRaises(vsafe.DeviceError) as cm:
            self.dev.i2c_read(5, addr=0x21)
        self.assertEqual(cm.exception.status, "I2C_NACK")
        bad = bytearray(frame(b"\x00\x01"))
        bad[-1] ^= 1
        self.assertEqual(self.dev.i2c_write(bytes(bad)), 0)
        self.assertEqual(self.dev.i2c_read(5)[0] & 0x1F, 0x01)  # COMMUNICATION_ERROR

    def test_arguments_checked_before_the_device(self):
        for bad in (-1, 256, "1", 1.0):
            with self.assertRaises(ValueError):
                self.dev.read_zone(bad, length=1)
        with self.assertRaises(ValueError):
            self.dev.decrement(5, amount=0)
        with self.assertRaises(ValueError):
            self.dev.update_zone(1, b"x", offset=1 << 16)

    def test_offset_past_the_end_is_the_devices_refusal(self):
        # One rule with the CLI: what a frame can carry goes to the device, which refuses an offset
        # past the zone's end whether or not a length is given (zone 1 of spl05 is 1000 bytes).
        for length in (None, 1):
            with self.assertRaises(vsafe.DeviceError) as cm:
                self.dev.read_zone(1, offset=1001, length=length)
            self.assertEqual(cm.exception.status, "BOUNDARY_EXCEEDED")

    def test_closed_device(self):
        self.dev.close()
        with self.assertRaises(ValueError):
            self.dev.read_zone(1, length=1)
        self.dev.close()  # twice is fine


class SecureChannel(unittest.TestCase):
    MAC, CIPHER = bytes(range(16)), bytes(range(16, 32))

    def setUp(self):
        self.dev = vsafe.Device()

    def tearDown(self):
        self.dev.close()

    def test_host_zone_needs_the_session(self):
        self.dev.provision_host_key(self.MAC, self.CIPHER)
        self.dev.change_access(1, update="host")
        self.assertEqual([z["update_ac"] for z in self.dev.zones() if z["index"] == 1], ["host"])
        with self.assertRaises(vsafe.DeviceError) as cm:
            self.dev.update_zone(1, b"plain")
        self.assertEqual(cm.exception.status, "ACCESS_CONDITION_NOT_SATISFIED")
        self.dev.open_session(self.MAC, self.CIPHER)
        c0 = self.dev.session_counter()
        self.dev.update_zone(1, b"maced")
        self.assertEqual(self.dev.session_counter(), c0 + 1)  # one protected command
        self.assertEqual(self.dev.read_zone(1, length=5), b"maced")
        self.dev.close_session()
        with self.assertRaises(vsafe.DeviceError):
            self.dev.update_zone(1, b"plain")
        with self.assertRaises(vsafe.DeviceError) as cm:
            self.dev.change_access(1, update="always")  # never less strict
        self.assertEqual(cm.exception.status, "ACCESS_CONDITION_NOT_SATISFIED")

    def test_wrong_keys_fail_the_mac(self):
        self.dev.provision_host_key(self.MAC, self.CIPHER)
        self.dev.change_access(2, update="host")
        self.dev.open_session(self.CIPHER, self.MAC)  # swapped: not the provisioned pair
        with self.assertRaises(vsafe.DeviceError):
            self.dev.update_zone(2, b"x")

    def test_anonymous_provisioning_refused_by_spl05(self):
        # SPL05's host-key control fields (Query 0x4A) allow plaintext provisioning only.
        with self.assertRaises(vsafe.DeviceError) as cm:
            self.dev.provision_host_key_ecdh()
        self.assertEqual(cm.exception.status, "ACCESS_CONDITION_NOT_SATISFIED")
        with self.assertRaises(vsafe.DeviceError) as cm:
            self.dev.provision_host_key(self.MAC, self.CIPHER, method="wrapped")
        self.assertEqual(cm.exception.status, "ACCESS_CONDITION_NOT_SATISFIED")
        self.dev.provision_host_key(self.MAC, self.CIPHER)  # plaintext still works after them
        self.dev.change_access(3, update="host", lock=True)
        self.dev.open_session(self.MAC, self.CIPHER)
        self.dev.update_zone(3, b"after")
        self.assertEqual(self.dev.read_zone(3, length=5), b"after")
        z3 = [z for z in self.dev.zones() if z["index"] == 3][0]
        self.assertFalse(z3["update_ac_change_right"])

    def test_random(self):
        a, b = self.dev.random(48), self.dev.random(48)
        self.assertEqual((len(a), len(b)), (48, 48))
        self.assertNotEqual(a, b)


class Capture(unittest.TestCase):
    def test_pcap_of_host_and_raw_transactions(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "py.pcap")
            with vsafe.Device(pcap=path) as dev:
                dev.echo(b"cap")
                dev.i2c_write(frame(b"\x00\x07"))
                dev.i2c_read(5)
            with open(path, "rb") as f:
                blob = f.read()
            self.assertEqual(struct.unpack("<IHHiIII", blob[:24]), (0xA1B2C3D4, 2, 4, 0, 0, 65535, 209))
            packets, off = [], 24
            while off < len(blob):
                _, _, incl, orig = struct.unpack("<IIII", blob[off:off + 16])
                self.assertEqual(incl, orig)
                packets.append(blob[off + 16:off + 16 + incl])
                off += 16 + incl
            self.assertEqual(off, len(blob))
            writes = [p[6:] for p in packets if p[1:5] == b"\x00\x00\x00\x00"]
            self.assertIn(frame(b"\x00cap"), writes)  # the host library's Echo
            self.assertEqual(writes[-1], frame(b"\x00\x07"))  # the raw write
            self.assertEqual(packets[-1][:6], b"\x00\x00\x00\x00\x01\x41")  # the raw read of 5 bytes
            self.assertEqual(len(packets[-1]), 6 + 5)
            if shutil.which("tshark"):
                r = subprocess.run(["tshark", "-r", path], capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(len(r.stdout.splitlines()), len(packets))


class WithTheCli(unittest.TestCase):
    """The same state file through Python and through the installed CLI."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = os.path.join(self.tmp.name, "dev")
        cli("--device", self.dir, "init")
        self.state = os.path.join(self.dir, "se.nvm")

    def tearDown(self):
        self.tmp.cleanup()

    def test_python_writes_cli_reads(self):
        with vsafe.Device(state_path=self.state) as dev:
            dev.update_zone(3, b"from python", offset=7)
            counter = dev.decrement(6, amount=5, data=b"\x42")
            # The state file is locked while Python has it open.
            r = cli("--device", self.dir, "--json", "zones", ok=False)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(json.loads(r.stdout)["error"], "ERR_LOCKED")
        r = json.loads(cli("--device", self.dir, "--json", "read", "3", "--offset", "7", "--length", "11").stdout)
        self.assertEqual(bytes.fromhex(r["read"]["data"]), b"from python")
        r = json.loads(cli("--device", self.dir, "--json", "read", "6", "--length", "1").stdout)
        self.assertEqual(r["read"]["counter"], counter)
        self.assertEqual(r["read"]["data"], "42")

    def test_cli_writes_python_reads(self):
        cli("--device", self.dir, "update", "4", "--data", "c0ffee", "--offset", "100")
        out = json.loads(cli("--device", self.dir, "--json", "decrement", "7", "--amount", "9").stdout)
        cli_zones = json.loads(cli("--device", self.dir, "--json", "zones").stdout)["zones"]
        with vsafe.Device(state_path=self.state) as dev:
            self.assertEqual(dev.read_zone(4, offset=100, length=3), bytes.fromhex("c0ffee"))
            self.assertEqual(dev.read_counter(7), out["decrement"]["counter"])
            self.assertEqual(dev.zones(), cli_zones)

    def test_refusal_names_agree(self):
        r = cli("--device", self.dir, "--json", "update", "0", "--data", "00", ok=False)
        with vsafe.Device(state_path=self.state) as dev:
            with self.assertRaises(vsafe.DeviceError) as cm:
                dev.update_zone(0, b"\x00")
        self.assertEqual(json.loads(r.stdout)["error"], cm.exception.status)


def has_serve():
    return hasattr(vsafe._lib.lib, "vsafe_host_conn_open")


class Server:
    """`vsafe serve` of the installed CLI on a fresh device, stopped with SIGTERM."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "served")
        self.sock = os.path.join(tmp, "s.sock")
        cli("--device", self.dir, "init")
        self.proc = subprocess.Popen([CLI, "serve", "--device", self.dir, "--socket", self.sock],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready = self.proc.stdout.readline().strip()  # the socket path, once clients can connect
        if ready != self.sock:
            self.proc.kill()
            raise AssertionError(f"vsafe serve did not become ready: {ready!r} {self.proc.stderr.read()}")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.communicate(timeout=30)  # also closes the pipes
        return self.proc.returncode


@unittest.skipUnless(has_serve(), "this build has no socket transport (vsafe serve)")
class Served(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.server = Server(self.tmp.name)
        self.dev = vsafe.connect(self.server.sock)

    def tearDown(self):
        self.dev.close()
        rc = self.server.stop()
        self.tmp.cleanup()
        self.assertEqual(rc, 0)

    def test_operations_and_the_cli_agree(self):
        self.dev.update_zone(2, b"over the socket", offset=30)
        counter = self.dev.decrement(8, amount=6, data=b"\x01")
        r = json.loads(cli("--connect", self.server.sock, "--json", "read", "2", "--offset", "30", "--length",
                           "15").stdout)
        self.assertEqual(bytes.fromhex(r["read"]["data"]), b"over the socket")
        out = json.loads(cli("--connect", self.server.sock, "--json", "decrement", "8").stdout)
        self.assertEqual(out["decrement"]["counter"], counter - 1)
        self.assertEqual(self.dev.read_counter(8), counter - 1)
        self.assertEqual(self.dev.zones(), json.loads(cli("--connect", self.server.sock, "--json", "zones").stdout)["zones"])
        with self.assertRaises(vsafe.DeviceError) as cm:
            self.dev.update_zone(0, b"x")
        self.assertEqual(cm.exception.status, "ACCESS_CONDITION_NOT_SATISFIED")

    def test_raw_bus(self):
        self.assertEqual(self.dev.i2c_write(frame(b"\x00served")), 0)
        rsp = self.dev.i2c_read(5 + 6)
        self.assertEqual(rsp[:3], b"\x00\x00\x08")
        self.assertEqual(rsp[3:9], b"served")
        self.assertEqual(self.dev.i2c_write(frame(b"\x00\x01"), addr=0x21), 1)
        with self.assertRaises(vsafe.BusNack):
            self.dev.i2c_read(5, addr=0x21)

    def test_power_and_cut(self):
        self.dev.update_zone(1, b"kept")
        self.dev.power(False)
        with self.assertRaises(vsafe.DeviceError):
            self.dev.read_zone(1, length=4)  # a powered-off device acknowledges nothing
        self.dev.power(True)
        self.assertEqual(self.dev.read_zone(1, length=4), b"kept")
        before = self.dev.read_counter(5)
        self.dev.cut_after(1, model="dropped")
        with self.assertRaises(vsafe.DeviceError):
            self.dev.decrement(5)  # power lost at its first NVM operation: no response
        after = self.dev.read_counter(5)
        self.assertEqual(after, before)  # nothing of it reached NVM (dropped)
        self.assertEqual(self.dev.decrement(5), before - 1)
        st = self.dev.stats()
        self.assertEqual(st["cuts"], 1)
        self.assertGreaterEqual(st["power_cycles"], 2)
        self.assertGreaterEqual(st["commits"], 2)

    def test_reset_and_timing(self):
        self.assertEqual(self.dev.i2c_write(frame(b"\x00\x10")), 0)
        self.dev.reset()  # power off and on: the pending response is volatile
        with self.assertRaises(vsafe.BusNack):
            self.dev.i2c_read(5)
        self.assertEqual(self.dev.stats()["timing"], 0)
        self.dev.timing(True)
        self.assertEqual(self.dev.stats()["timing"], 1)
        self.assertEqual(self.dev.echo(b"slow"), b"slow")  # the host library waits the device out
        self.dev.timing(False)
        with self.assertRaises(ValueError):
            self.dev.cut_after(1, model="sideways")

    def test_pcap_over_the_socket(self):
        path = os.path.join(self.tmp.name, "client.pcap")
        with vsafe.connect(self.server.sock, pcap=path) as dev:
            dev.i2c_write(frame(b"\x00\x42"))
            dev.i2c_read(7)
        with open(path, "rb") as f:
            blob = f.read()
        self.assertEqual(struct.unpack("<I", blob[20:24])[0], 209)
        self.assertIn(b"\x00\x00\x00\x00\x00\x40" + frame(b"\x00\x42"), blob)


if __name__ == "__main__":
    unittest.main()
