"""The shared library libvsafe.so, found without LD_LIBRARY_PATH, and the C prototypes used.

Where the library is looked for, first found wins:
  1. $VSAFE_LIBRARY, a path to libvsafe.so (for a build tree, or a library moved elsewhere);
  2. next to the package as `make install` lays it out: PREFIX/lib/python3/site-packages/vsafe
     is three levels below PREFIX/lib, where libvsafe.so is;
  3. the library directory written into _install.py by `make install` (the prefix it installed to);
  4. the system's search path (ctypes.util.find_library).
"""
import ctypes
import ctypes.util
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    env = os.environ.get("VSAFE_LIBRARY")
    if env:
        yield env
    yield os.path.normpath(os.path.join(_HERE, "..", "..", "..", "libvsafe.so"))
    try:
        from . import _install  # written by make install
        yield os.path.join(_install.LIBDIR, "libvsafe.so")
    except ImportError:
        pass
    found = ctypes.util.find_library("vsafe")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError("vsafe: cannot find libvsafe.so; tried: " + "; ".join(tried) +
                      " (set VSAFE_LIBRARY to its path)")


lib, LIBRARY_PATH = _load()

c_p = ctypes.c_void_p
c_pp = ctypes.POINTER(ctypes.c_void_p)
u8, u16, u32, sz, i32 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_size_t, ctypes.c_int32
buf = ctypes.c_char_p  # bytes in; ctypes.create_string_buffer for out


class SeOptions(ctypes.Structure):
    _fields_ = [("profile", ctypes.c_char_p), ("state_path", ctypes.c_char_p)]


class HostZone(ctypes.Structure):
    _fields_ = [("index", u8), ("type", u8), ("length", u16), ("read_ac", u8), ("update_ac", u8),
                ("read_ac_cr", u8), ("update_ac_cr", u8), ("counter", u32)]


def _proto(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_proto("vsafe_status_name", ctypes.c_char_p, ctypes.c_int)
_proto("vsafe_status_message", ctypes.c_char_p, ctypes.c_int)
_proto("vsafe_status_wire", ctypes.c_int, ctypes.c_int)
_proto("vsafe_version", ctypes.c_char_p)
_proto("vsafe_se_open", ctypes.c_int, c_pp, ctypes.POINTER(SeOptions))
_proto("vsafe_se_close", None, c_p)
_proto("vsafe_se_i2c_write", ctypes.c_int, c_p, u8, buf, sz)
_proto("vsafe_se_i2c_read", ctypes.c_int, c_p, u8, ctypes.c_void_p, sz)
_proto("vsafe_host_open_se", ctypes.c_int, c_pp, c_p)
_proto("vsafe_host_close", None, c_p)
_proto("vsafe_host_init", ctypes.c_int, c_p)
_proto("vsafe_host_zones", ctypes.c_int, c_p, ctypes.POINTER(HostZone), sz, ctypes.POINTER(sz))
_proto("vsafe_host_read_zone", ctypes.c_int, c_p, ctypes.c_int, u8, u16, ctypes.c_void_p, sz)
_proto("vsafe_host_read_counter_zone", ctypes.c_int, c_p, ctypes.c_int, u8, u16, ctypes.c_void_p, sz,
       ctypes.POINTER(u32))
_proto("vsafe_host_update_zone", ctypes.c_int, c_p, ctypes.c_int, u8, u16, buf, sz, ctypes.c_int)
_proto("vsafe_host_decrement", ctypes.c_int, c_p, ctypes.c_int, u8, u32, u16, buf, sz, ctypes.POINTER(u32))
_proto("vsafe_host_echo", ctypes.c_int, c_p, buf, sz, ctypes.c_void_p)
_proto("vsafe_host_random", ctypes.c_int, c_p, ctypes.c_void_p, sz)
_proto("vsafe_host_change_read_ac", ctypes.c_int, c_p, ctypes.c_int, u8, u8, ctypes.c_int)
_proto("vsafe_host_change_update_ac", ctypes.c_int, c_p, ctypes.c_int, u8, u8, ctypes.c_int, u16, buf, sz, ctypes.c_int)
_proto("vsafe_host_change_decrement_ac", ctypes.c_int, c_p, ctypes.c_int, u8, u8, ctypes.c_int, u32, u16, buf, sz,
       ctypes.POINTER(u32))
_proto("vsafe_host_session_open", ctypes.c_int, c_p, buf, buf, ctypes.c_uint)
_proto("vsafe_host_session_close", None, c_p)
_proto("vsafe_host_session_counter", ctypes.c_int, c_p, ctypes.POINTER(u32))
_proto("vsafe_host_provision_plaintext", ctypes.c_int, c_p, ctypes.c_uint, buf, buf)
_proto("vsafe_host_provision_wrapped", ctypes.c_int, c_p, ctypes.c_uint, buf, buf)
_proto("vsafe_host_provision_ecdh", ctypes.c_int, c_p, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p)
_proto("vsafe_host_set_pcap", None, c_p, c_p)
_proto("vsafe_pcap_open", ctypes.c_int, c_pp, ctypes.c_char_p)
_proto("vsafe_pcap_record", ctypes.c_int, c_p, u8, u8, ctypes.c_int, buf, sz, ctypes.c_int)
_proto("vsafe_pcap_close", ctypes.c_int, c_p)

PROT_TABLE = 0  # VSAFE_HOST_PROT_TABLE: as the device's command table requires (the CLI's default)
PROT_MAC = 2  # VSAFE_HOST_PROT_MAC: C-MAC and R-MAC (the CLI with --host-key)
I2C_NACK = 1  # VSAFE_I2C_NACK
ZONE_COUNTER = 1  # VSAFE_SE_ZONE_COUNTER
DEFAULT_ADDR = 0x20
