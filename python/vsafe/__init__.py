"""vsafe: the virtual STSAFE-A120 secure element, from Python.

    import vsafe
    with vsafe.Device() as dev:                 # a fresh volatile device of the spl05 profile
        dev.update_zone(1, b"hello")
        assert dev.read_zone(1, length=5) == b"hello"
        left = dev.decrement(5, amount=2)       # one-way counter: the new value

    dev = vsafe.Device(state_path="dev/se.nvm") # persistent, the file `vsafe --device dev` uses
    dev = vsafe.connect("/run/vsafe.sock")      # a device served by `vsafe serve`

Operations go through the C host library (libvsafe.so, with ctypes), the same code as the vsafe
command line, so results match it frame for frame. A refusal raises vsafe.DeviceError; its
.status is the status name the CLI prints (for example "ACCESS_CONDITION_NOT_SATISFIED").
docs/PYTHON.md describes every method.
"""
import ctypes

from . import _lib
from ._lib import LIBRARY_PATH

__all__ = ["Device", "DeviceError", "connect", "version", "LIBRARY_PATH"]


class DeviceError(Exception):
    """A vsafe operation failed: the device refused the command, or the host side failed.

    .status  the status name: a device refusal's wire status name ("ACCESS_CONDITION_NOT_SATISFIED",
             "COUNTER_LIMIT_EXCEEDED", ...) or a library status ("ERR_HOST_NACK", "ERR_LOCKED", ...)
    .code    the library's status value (negative int)
    .wire    the device's wire status byte for a refusal, else None
    """

    def __init__(self, code, context=""):
        self.code = code
        self.status = _lib.lib.vsafe_status_name(code).decode()
        w = _lib.lib.vsafe_status_wire(code)
        self.wire = w if w >= 0 else None
        message = _lib.lib.vsafe_status_message(code).decode()
        super().__init__(f"{context}: {self.status} ({message})" if context else f"{self.status} ({message})")


def _check(rc, context):
    if rc != 0:
        raise DeviceError(rc, context)


def version():
    """The library's version string (as `vsafe --version` prints after "vsafe ")."""
    return _lib.lib.vsafe_version().decode()


def _u(value, bits, what):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >> bits:
        raise ValueError(f"{what} must be an int in 0..{(1 << bits) - 1}, not {value!r}")
    return value


_ACS = {"always": 0, "host": 1, "never": 2}


def _key_pair(mac_key, cipher_key):
    mac_key, cipher_key = bytes(mac_key), bytes(cipher_key)
    if len(mac_key) not in (16, 32) or len(cipher_key) != len(mac_key):
        raise ValueError("host keys are two keys of 16 bytes (AES-128) or two of 32 (AES-256)")
    return mac_key, cipher_key, 0 if len(mac_key) == 16 else 1


class _Handle:
    """What Device and a served device share: the host-library handle and the operations."""

    _host = None
    _pcap = None
    _prot = _lib.PROT_TABLE

    def _attach_pcap(self, pcap):
        if pcap is None:
            return
        p = ctypes.c_void_p()
        _check(_lib.lib.vsafe_pcap_open(ctypes.byref(p), str(pcap).encode()), f"pcap {pcap}")
        self._pcap = p
        _lib.lib.vsafe_host_set_pcap(self._host, p)

    def _h(self):
        if self._host is None:
            raise ValueError("vsafe: the device is closed")
        return self._host

    # ---- zones and counters ----
    def zones(self):
        """The partition table: a list of dicts as `vsafe --json zones` gives (index, type,
        length, read_ac, update_ac, read_ac_change_right, update_ac_change_right, counter)."""
        cap = 64
        arr = (_lib.HostZone * cap)()
        n = _lib.sz()
        _check(_lib.lib.vsafe_host_zones(self._h(), arr, cap, ctypes.byref(n)), "zones")
        acs = {0: "always", 1: "host"}
        out = []
        for z in arr[: n.value]:
            d = {"index": z.index, "type": "counter" if z.type == _lib.ZONE_COUNTER else "data", "length": z.length,
                 "read_ac": acs.get(z.read_ac, "never"), "update_ac": acs.get(z.update_ac, "never"),
                 "read_ac_change_right": bool(z.read_ac_cr), "update_ac_change_right": bool(z.update_ac_cr)}
            if z.type == _lib.ZONE_COUNTER:
                d["counter"] = z.counter
            out.append(d)
        return out

    def _zone(self, zone):
        for z in self.zones():
            if z["index"] == zone:
                return z
        # Not in the partition table: the device itself gives the refusal (ENTRY_NOT_FOUND).
        one = ctypes.create_string_buffer(1)
        _check(_lib.lib.vsafe_host_read_zone(self._h(), self._prot, zone, 0, one, 1), f"read zone {zone}")
        raise ValueError(f"zone {zone} is not in the partition table, yet the device read it")

    def _read(self, zone, offset, length):
        _u(zone, 8, "zone")
        _u(offset, 16, "offset")
        z = self._zone(zone)
        if length is None:
            # The CLI's rule: what fits a frame goes to the device, whose refusal (BOUNDARY_EXCEEDED)
            # an offset past the end gets, as with an explicit length.
            length = z["length"] - offset if offset <= z["length"] else 1
        _u(length, 16, "length")
        out = ctypes.create_string_buffer(max(length, 1))
        ctx = f"read zone {zone} offset {offset} length {length}"
        if z["type"] == "counter":
            c = _lib.u32()
            _check(_lib.lib.vsafe_host_read_counter_zone(self._h(), self._prot, zone, offset, out, length,
                                                         ctypes.byref(c)), ctx)
            return out.raw[:length], c.value
        _check(_lib.lib.vsafe_host_read_zone(self._h(), self._prot, zone, offset, out, length), ctx)
        return out.raw[:length], None

    def read_zone(self, zone, offset=0, length=None):
        """length bytes of a zone from offset (to the end of the zone when length is None)."""
        return self._read(zone, offset, length)[0]

    def read_counter(self, zone):
        """The counter of a counter zone."""
        data, counter = self._read(zone, 0, 0)
        if counter is None:
            raise ValueError(f"zone {zone} is a data zone, it has no counter")
        return counter

    def update_zone(self, zone, data, offset=0, atomic=False):
        """Writes data into a data zone at offset; atomic=True: one command, all or nothing."""
        data = bytes(data)
        _check(_lib.lib.vsafe_host_update_zone(self._h(), self._prot, _u(zone, 8, "zone"), _u(offset, 16, "offset"),
                                               data, len(data), 1 if atomic else 0),
               f"update zone {zone} offset {offset}")

    def decrement(self, zone, amount=1, offset=0, data=b""):
        """Decrements a counter zone by amount, writing data at offset; returns the new counter."""
        data = bytes(data)
        if amount == 0:
            raise ValueError("amount must be at least 1")
        c = _lib.u32()
        _check(_lib.lib.vsafe_host_decrement(self._h(), self._prot, _u(zone, 8, "zone"), _u(amount, 32, "amount"),
                                             _u(offset, 16, "offset"), data, len(data), ctypes.byref(c)),
               f"decrement zone {zone}")
        return c.value

    def echo(self, data):
        """The device sends data back (Echo command)."""
        data = bytes(data)
        out = ctypes.create_string_buffer(max(len(data), 1))
        _check(_lib.lib.vsafe_host_echo(self._h(), data, len(data), out), "echo")
        return out.raw[: len(data)]

    def random(self, n):
        """n random bytes from the device."""
        out = ctypes.create_string_buffer(max(_u(n, 16, "n"), 1))
        _check(_lib.lib.vsafe_host_random(self._h(), out, n), "random")
        return out.raw[:n]

    # ---- access conditions ----
    def change_access(self, zone, read=None, update=None, lock=False, amount=1):
        """Makes a zone's read and/or update access condition stricter ("always" < "host" <
        "never"); lock=True also clears the change right for good. An update AC change of a
        counter zone is a Decrement by amount (the device has no other way to carry it)."""
        _u(zone, 8, "zone")
        cr = 0 if lock else 1
        for ac in (read, update):
            if ac is not None and ac not in _ACS:
                raise ValueError(f"access condition is one of {', '.join(_ACS)}, not {ac!r}")
        if read is not None:
            _check(_lib.lib.vsafe_host_change_read_ac(self._h(), self._prot, zone, _ACS[read], cr),
                   f"change read AC of zone {zone}")
        if update is not None:
            if self._zone(zone)["type"] == "counter":
                c = _lib.u32()
                _check(_lib.lib.vsafe_host_change_decrement_ac(self._h(), self._prot, zone, _ACS[update], cr,
                                                               _u(amount, 32, "amount"), 0, b"", 0, ctypes.byref(c)),
                       f"change update AC of zone {zone}")
            else:
                _check(_lib.lib.vsafe_host_change_update_ac(self._h(), self._prot, zone, _ACS[update], cr, 0, b"", 0, 0),
                       f"change update AC of zone {zone}")

    # ---- host key and secure channel ----
    def provision_host_key(self, mac_key, cipher_key, method="plaintext"):
        """Writes the host key pair (two AES-128 or two AES-256 keys) into the device, in
        plaintext (1F 07) or wrapped under a volatile KEK session ("wrapped")."""
        mac_key, cipher_key, kt = _key_pair(mac_key, cipher_key)
        fn = {"plaintext": _lib.lib.vsafe_host_provision_plaintext,
              "wrapped": _lib.lib.vsafe_host_provision_wrapped}.get(method)
        if fn is None:
            raise ValueError("method is 'plaintext' or 'wrapped' (or use provision_host_key_ecdh)")
        _check(fn(self._h(), kt, mac_key, cipher_key), f"provision host key ({method})")

    def provision_host_key_ecdh(self, aes256=False):
        """Establishes a host key pair by ECDH with the device; returns (mac_key, cipher_key),
        which the caller must keep: the device never gives them again."""
        n = 32 if aes256 else 16
        mac, cip = ctypes.create_string_buffer(n), ctypes.create_string_buffer(n)
        try:
            _check(_lib.lib.vsafe_host_provision_ecdh(self._h(), 1 if aes256 else 0, mac, cip), "provision host key (ecdh)")
            return mac.raw, cip.raw
        finally:
            ctypes.memset(mac, 0, n)
            ctypes.memset(cip, 0, n)

    def open_session(self, mac_key, cipher_key):
        """Opens the host secure channel: from now on every data command carries a C-MAC and
        expects an R-MAC (encrypted where the command table says), as the CLI's --host-key."""
        mac_key, cipher_key, kt = _key_pair(mac_key, cipher_key)
        _check(_lib.lib.vsafe_host_session_open(self._h(), mac_key, cipher_key, kt), "open session")
        self._prot = _lib.PROT_MAC

    def close_session(self):
        _lib.lib.vsafe_host_session_close(self._h())
        self._prot = _lib.PROT_TABLE

    def session_counter(self):
        """The C-MAC sequence counter the next protected command will carry."""
        c = _lib.u32()
        _check(_lib.lib.vsafe_host_session_counter(self._h(), ctypes.byref(c)), "session counter")
        return c.value

    # ---- lifetime ----
    def close(self):
        """Closes the device (a persistent one is already durable: nothing is lost) and the
        capture, if any. Raises DeviceError("ERR_IO") if the capture could not be written."""
        if self._host is not None:
            _lib.lib.vsafe_host_close(self._host)
            self._host = None
        self._close_backend()
        if self._pcap is not None:
            p, self._pcap = self._pcap, None
            _check(_lib.lib.vsafe_pcap_close(p), "pcap")

    def _close_backend(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Device(_Handle):
    """A device in this process.

    state_path: the NVM image (created from the profile when absent; the file `vsafe --device DIR`
                uses is DIR/se.nvm); None = a volatile device that ends with close().
    profile:    a built-in profile name ("spl05") or a profile file, for a new device.
    pcap:       a file that receives every I2C transaction of the host library, as a pcap capture.
    While open, the state file is locked: another process (the CLI too) gets ERR_LOCKED.
    """

    def __init__(self, state_path=None, profile="spl05", pcap=None):
        self._se = None
        opts = _lib.SeOptions(profile.encode() if profile else None,
                              str(state_path).encode() if state_path is not None else None)
        se = ctypes.c_void_p()
        _check(_lib.lib.vsafe_se_open(ctypes.byref(se), ctypes.byref(opts)), f"open {state_path or '(volatile)'}")
        self._se = se
        h = ctypes.c_void_p()
        try:
            _check(_lib.lib.vsafe_host_open_se(ctypes.byref(h), se), "host handle")
            self._host = h
            self._attach_pcap(pcap)
            _check(_lib.lib.vsafe_host_init(h), "init")
        except BaseException:
            self.close()
            raise

    def _close_backend(self):
        if self._se is not None:
            _lib.lib.vsafe_se_close(self._se)
            self._se = None

    # ---- the raw bus ----
    def i2c_write(self, frame, addr=_lib.DEFAULT_ADDR):
        """One I2C write transaction of a whole command frame (CRC included). Returns 0 when the
        device acknowledged, 1 (NACK) when it did not. Recorded in the capture, if any."""
        frame = bytes(frame)
        rc = _lib.lib.vsafe_se_i2c_write(self._se_h(), _u(addr, 7, "addr"), frame, len(frame))
        self._record(addr, 0, frame, rc)
        if rc < 0:
            raise DeviceError(rc, "i2c_write")
        return rc

    def i2c_read(self, n, addr=_lib.DEFAULT_ADDR):
        """One I2C read transaction of n bytes of the current response (always from its byte 0).
        A NACK (no response yet, or nothing at addr) raises DeviceError with status "I2C_NACK"."""
        out = ctypes.create_string_buffer(max(_u(n, 16, "n"), 1))
        rc = _lib.lib.vsafe_se_i2c_read(self._se_h(), _u(addr, 7, "addr"), out, n)
        self._record(addr, 1, out.raw[:n], rc)
        if rc == _lib.I2C_NACK:
            raise BusNack(addr)
        if rc < 0:
            raise DeviceError(rc, "i2c_read")
        return out.raw[:n]

    def _se_h(self):
        if self._se is None:
            raise ValueError("vsafe: the device is closed")
        return self._se

    def _record(self, addr, is_read, data, rc):
        if self._pcap is not None and rc in (0, _lib.I2C_NACK):
            _lib.lib.vsafe_pcap_record(self._pcap, 0, addr, is_read, data, len(data), 1 if rc == 0 else 0)


class BusNack(DeviceError):
    """The device did not acknowledge an I2C read (status "I2C_NACK")."""

    def __init__(self, addr):
        Exception.__init__(self, f"i2c_read: I2C_NACK (the device at {addr:#04x} did not acknowledge)")
        self.code = _lib.I2C_NACK
        self.status = "I2C_NACK"
        self.wire = None


def connect(path, device=None, pcap=None):
    """A device served by `vsafe serve` on a Unix socket path (or HOST:PORT on loopback TCP);
    device: its name on a server of several (--root)."""
    from ._served import Served
    return Served(path, device=device, pcap=pcap)
