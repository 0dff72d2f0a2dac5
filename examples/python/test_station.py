"""A manufacturing test station for a battery pack's secure element, written as a test engineer
would: every test gets a fresh device served by `vsafe serve` (the pytest fixture below), the
station provisions it (host key, serial number, access conditions), and the checks include a
power cut at every NVM operation of a usage-counter update.

Run it (after `make install PREFIX=DIR`):
    PYTHONPATH=DIR/lib/python3/site-packages VSAFE_CLI=DIR/bin/vsafe python3 -m pytest -v test_station.py
"""
import os
import shutil
import subprocess

import pytest

import vsafe

VSAFE_CLI = os.environ.get("VSAFE_CLI") or shutil.which("vsafe")
HOST_MAC_KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
HOST_CIPHER_KEY = bytes.fromhex("ffeeddccbbaa99887766554433221100")
SERIAL_ZONE, USAGE_ZONE = 1, 5

if not hasattr(vsafe._lib.lib, "vsafe_host_conn_open"):
    pytest.skip("this vsafe has no socket transport (vsafe serve)", allow_module_level=True)


@pytest.fixture
def dut(tmp_path):
    """A fresh device under test, served on its own socket for the length of one test."""
    unit, sock = tmp_path / "unit", tmp_path / "dut.sock"
    subprocess.run([VSAFE_CLI, "--device", str(unit), "init"], check=True, capture_output=True)
    server = subprocess.Popen([VSAFE_CLI, "serve", "--device", str(unit), "--socket", str(sock)],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == str(sock), "vsafe serve did not come up"
    dev = vsafe.connect(str(sock))
    yield dev
    dev.close()
    server.terminate()
    assert server.wait(timeout=30) == 0


def provision(dev, serial):
    """The station's provisioning step: host key, serial number (write-once), usage counter
    reachable only over the authenticated channel."""
    dev.provision_host_key(HOST_MAC_KEY, HOST_CIPHER_KEY)
    dev.update_zone(SERIAL_ZONE, serial, atomic=True)
    dev.change_access(SERIAL_ZONE, update="never", lock=True)
    dev.change_access(USAGE_ZONE, update="host", lock=True)
    dev.open_session(HOST_MAC_KEY, HOST_CIPHER_KEY)


def test_serial_number_is_write_once(dut):
    provision(dut, b"BP-000417")
    assert dut.read_zone(SERIAL_ZONE, length=9) == b"BP-000417"
    with pytest.raises(vsafe.DeviceError) as refused:
        dut.update_zone(SERIAL_ZONE, b"BP-999999")
    assert refused.value.status == "ACCESS_CONDITION_NOT_SATISFIED"


def test_usage_counter_needs_the_host_key(dut):
    provision(dut, b"BP-000418")
    start = dut.read_counter(USAGE_ZONE)
    assert dut.decrement(USAGE_ZONE, amount=10, data=b"\x01") == start - 10
    dut.close_session()
    with pytest.raises(vsafe.DeviceError) as refused:
        dut.decrement(USAGE_ZONE)
    assert refused.value.status == "ACCESS_CONDITION_NOT_SATISFIED"


def test_power_cut_never_gives_back_usage(dut):
    """Cut power at the 1st, 2nd, ... NVM operation of a decrement until one completes: after
    every cut the counter is what it was or one less, never more, and the device keeps working."""
    provision(dut, b"BP-000419")
    for n in range(1, 65):
        before = dut.read_counter(USAGE_ZONE)
        cuts = dut.stats()["cuts"]
        dut.cut_after(n, model="torn-unit")
        try:
            dut.decrement(USAGE_ZONE)
        except vsafe.DeviceError:
            pass  # power was lost: no response
        cut = dut.stats()["cuts"] > cuts
        if not cut:
            dut.cut_after(0)  # the decrement needed fewer than n operations: disarm
        dut.open_session(HOST_MAC_KEY, HOST_CIPHER_KEY)  # a power loss ends the session
        after = dut.read_counter(USAGE_ZONE)
        assert after in (before, before - 1), f"cut at NVM operation {n}: {before} -> {after}"
        if not cut:
            assert after == before - 1
            break
    else:
        pytest.fail("a decrement never completed within 64 NVM operations")
    assert n > 1, "no cut happened at all"
    assert dut.decrement(USAGE_ZONE) == dut.read_counter(USAGE_ZONE)
