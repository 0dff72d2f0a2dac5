"""A device served by `vsafe serve`, through the host library's socket transport (docs/SOCKET.md).

The host operations (zones, read, update, decrement, echo) use the same C code as
`vsafe --connect`; the raw bus and the control requests are single requests of the protocol."""
import ctypes
import struct

from . import _lib
from . import DeviceError, BusNack, _Handle, _check, _u

# Requests of the socket protocol (docs/SOCKET.md).
_OP_I2C_WRITE, _OP_I2C_READ = 0x10, 0x11
_OP_POWER, _OP_RESET, _OP_CUT, _OP_TIMING, _OP_STATS = 0x20, 0x21, 0x22, 0x23, 0x24
# STATS fields in wire order (docs/SOCKET.md); a newer server may append more, kept as field_N.
_STATS = ("commands", "commits", "nvm_bytes", "program_ops", "erase_ops", "wear_max_erases", "durable_commands",
          "device_syncs", "server_sync_calls", "server_durable_commands", "power_cycles", "cuts", "powered",
          "cut_armed", "timing", "durability")
_CUT_MODELS = {"dropped": 1, "torn-unit": 2, "torn-page": 3, "reordered": 4}

_HAVE_SOCKET = hasattr(_lib.lib, "vsafe_host_conn_open")
if _HAVE_SOCKET:
    _lib._proto("vsafe_host_conn_open", ctypes.c_int, _lib.c_pp, ctypes.c_char_p, ctypes.c_char_p,
                ctypes.c_char_p, _lib.sz)
    _lib._proto("vsafe_host_conn_close", None, _lib.c_p)
    _lib._proto("vsafe_host_conn_request", ctypes.c_int, _lib.c_p, _lib.u8, _lib.buf, _lib.sz,
                ctypes.POINTER(_lib.i32), ctypes.c_void_p, _lib.sz, ctypes.POINTER(_lib.sz))
    _lib._proto("vsafe_host_open_conn", ctypes.c_int, _lib.c_pp, _lib.c_p)


class Served(_Handle):
    """What vsafe.connect returns: the operations of vsafe.Device, plus power(), reset() and
    cut_after() of the control channel."""

    def __init__(self, address, device=None, pcap=None):
        self._conn = None
        if not _HAVE_SOCKET:
            raise NotImplementedError(f"vsafe: {_lib.LIBRARY_PATH} has no socket transport")
        conn = ctypes.c_void_p()
        msg = ctypes.create_string_buffer(256)
        rc = _lib.lib.vsafe_host_conn_open(ctypes.byref(conn), str(address).encode(),
                                          device.encode() if device else None, msg, len(msg))
        if rc != 0:
            text = msg.value.decode(errors="replace")
            raise DeviceError(rc, f"connect {address}" + (f": {text}" if text else ""))
        self._conn = conn
        h = ctypes.c_void_p()
        try:
            _check(_lib.lib.vsafe_host_open_conn(ctypes.byref(h), conn), "host handle")
            self._host = h
            self._attach_pcap(pcap)
            _check(_lib.lib.vsafe_host_init(h), "init")
        except BaseException:
            self.close()
            raise

    def _close_backend(self):
        if self._conn is not None:
            _lib.lib.vsafe_host_conn_close(self._conn)
            self._conn = None

    def _request(self, op, args, what, out_cap=0):
        if self._conn is None:
            raise ValueError("vsafe: the device is closed")
        st = _lib.i32()
        out = ctypes.create_string_buffer(max(out_cap, 1))
        n = _lib.sz()
        _check(_lib.lib.vsafe_host_conn_request(self._conn, op, bytes(args), len(args), ctypes.byref(st), out,
                                                out_cap, ctypes.byref(n)), what)
        if st.value < 0:
            raise DeviceError(st.value, what)
        return st.value, out.raw[: min(n.value, out_cap)]

    # ---- the raw bus, one transaction per request ----
    def i2c_write(self, frame, addr=_lib.DEFAULT_ADDR):
        frame = bytes(frame)
        st, _ = self._request(_OP_I2C_WRITE, bytes([_u(addr, 7, "addr")]) + frame, "i2c_write")
        self._record(addr, 0, frame, st)
        return st

    def i2c_read(self, n, addr=_lib.DEFAULT_ADDR):
        st, data = self._request(_OP_I2C_READ, struct.pack(">BH", _u(addr, 7, "addr"), _u(n, 16, "n")), "i2c_read",
                                 out_cap=n)
        self._record(addr, 1, data, st)
        if st == _lib.I2C_NACK:
            raise BusNack(addr)
        return data

    def _record(self, addr, is_read, data, st):
        if self._pcap is not None and st in (0, _lib.I2C_NACK):
            _lib.lib.vsafe_pcap_record(self._pcap, 0, addr, is_read, data, len(data), 1 if st == 0 else 0)

    # ---- control ----
    def power(self, on):
        """Power off (the device loses its volatile state, as at a power loss) or on."""
        self._request(_OP_POWER, bytes([1 if on else 0]), "power")

    def reset(self):
        self._request(_OP_RESET, b"", "reset")

    def cut_after(self, n, model="torn-unit"):
        """The next command loses power at its n-th NVM operation (0 disarms)."""
        if model not in _CUT_MODELS:
            raise ValueError(f"cut model is one of {', '.join(_CUT_MODELS)}")
        self._request(_OP_CUT, struct.pack(">IB", _u(n, 32, "n"), _CUT_MODELS[model]), "cut")

    def timing(self, on):
        """The timing model: while on, the device NACKs for each command's processing time."""
        self._request(_OP_TIMING, bytes([1 if on else 0]), "timing")

    def stats(self):
        """The device's and the server's counters, as `vsafe ctl stats --json` names them."""
        _, data = self._request(_OP_STATS, b"", "stats", out_cap=1 + 8 * 255)
        if not data or len(data) < 1 + 8 * data[0]:
            raise DeviceError(-801, "stats: short reply")
        values = struct.unpack(f">{data[0]}Q", data[1:1 + 8 * data[0]])
        return {(_STATS[i] if i < len(_STATS) else f"field_{i}"): v for i, v in enumerate(values)}
