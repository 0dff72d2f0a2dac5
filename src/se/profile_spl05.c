/* The built-in personalization profiles: const data only (device core: no heap, no I/O).
 *
 * Invariants:
 *  - vsafe_profile_spl05 is exactly the STSAFE-A120 SPL05 personalization with vsafe's factory
 *    decisions (docs/PROFILE.md): its partition query (tag 0x12) is the 77-byte payload of the
 *    golden trace in tests/protocol and its command authorization query (tag 0x24) the 150-byte
 *    payload starting 03 29 00 01 00: exactly the commands the device executes, the reserved
 *    codes (0x08, 0x15, extended 0x0C and 0x0D) left out.
 *  - Zones are listed in ascending index order, as the partition query reports them.
 *  - profiles/spl05.json compiles to a struct equal to this one (tests/profile checks it). */
#include "se/profile.h"
#include "vsafe/se_wire.h"

#define SPL05_DATA(i, len)                                                                      \
    { .index = (i), .type = VSAFE_SE_ZONE_DATA, .read_ac = VSAFE_SE_AC_ALWAYS,                  \
      .update_ac = VSAFE_SE_AC_ALWAYS, .read_ac_cr = true, .update_ac_cr = true, .length = (len) }
#define SPL05_COUNTER(i)                                                                        \
    { .index = (i), .type = VSAFE_SE_ZONE_COUNTER, .read_ac = VSAFE_SE_AC_ALWAYS,               \
      .update_ac = VSAFE_SE_AC_ALWAYS, .read_ac_cr = true, .update_ac_cr = true, .length = 64,  \
      .counter = 0xFFFFFFFFu }
#define FREE_STD(code) { .header = (code), .ext = 0, .ac = VSAFE_SE_CMD_AC_FREE, .enc = 0 }
#define FREE_EXT(e) { .header = VSAFE_SE_CMD_EXTENDED, .ext = (e), .ac = VSAFE_SE_CMD_AC_FREE, .enc = 0 }

/* Zone 0 of SPL05 holds the device's leaf X.509 certificate. It is not profile data: every device
 * gets its own key in private slot 0 and a certificate for it, issued when the device is created
 * (src/device/identity.c), so the profile leaves the zone empty. */

const vsafe_profile_svc_t vsafe_profile_svc_spl05 = {
    .priv_count = 5,
    /* byte 0 bit 7 change right; byte 1: bit 0 key establishment, bit 2 signature over external
     * data, bits 5..4 Generate key AC (0 free, 2 forbidden), bits 7..6 EdDSA variant (0 pure) */
    .priv_mode = { 0x0024, 0x8005, 0x8005, 0x8005, 0x8005 },
    .eph_mode = 0x0001,
    .global_usage_limit = 0xFFFF,
    .gpub_count = 4,
    .gpub_flags = 0x0001,
    .sym_count = 16,
    .sym_ctrl = { 0x08, 0xFF, 0xFF },
    .env_count = 2,
};

const vsafe_profile_t vsafe_profile_spl05 = {
    .name = "spl05",
    .product_data = { 0x01, 0x03, 0x00, 0x60, 0x01 },
    .product_data_len = 5,
    .life_cycle_state = 0x03, /* OPERATIONAL */
    .i2c_addr = 0x20,
    .cmd_change_rights = 0x03,
    .cmd_count = 41,
    .cmds = {
        FREE_STD(0x00), FREE_STD(0x02), FREE_STD(0x04), FREE_STD(0x05), FREE_STD(0x06),
        FREE_STD(0x09), FREE_STD(0x0A), FREE_STD(0x0E), FREE_STD(0x0F),
        FREE_STD(0x11), FREE_STD(0x16), FREE_STD(0x17), FREE_STD(0x18),
        FREE_STD(0x1A), FREE_STD(0x1B), FREE_STD(0x1C),
        FREE_EXT(0x00), FREE_EXT(0x01), FREE_EXT(0x02), FREE_EXT(0x03), FREE_EXT(0x04),
        FREE_EXT(0x05), FREE_EXT(0x06), FREE_EXT(0x07), FREE_EXT(0x08), FREE_EXT(0x09),
        FREE_EXT(0x0A), FREE_EXT(0x0B), FREE_EXT(0x0E),
        FREE_EXT(0x0F), FREE_EXT(0x10), FREE_EXT(0x11), FREE_EXT(0x12), FREE_EXT(0x13),
        FREE_EXT(0x14), FREE_EXT(0x15), FREE_EXT(0x16), FREE_EXT(0x17), FREE_EXT(0x18),
        FREE_EXT(0x19), FREE_EXT(0x1A),
    },
    /* plaintext allowed + change right; no authentication key */
    .hostkey_ctrl = { 0x0A, 0xFF },
    .zone_count = 12,
    .zones = {
        { .index = 0, .type = VSAFE_SE_ZONE_DATA, .read_ac = VSAFE_SE_AC_ALWAYS,
          .update_ac = VSAFE_SE_AC_NEVER, .read_ac_cr = false, .update_ac_cr = false, .length = 1000 },
        SPL05_DATA(1, 1000), SPL05_DATA(2, 1000), SPL05_DATA(3, 1000), SPL05_DATA(4, 1000),
        SPL05_COUNTER(5), SPL05_COUNTER(6), SPL05_COUNTER(7), SPL05_COUNTER(8),
        SPL05_DATA(9, 5120), SPL05_DATA(10, 3072), SPL05_DATA(11, 2944),
    },
};

static bool name_equals(const char *a, const char *b)
{
    for (;; a++, b++) {
        char ca = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
        char cb = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a') : *b;
        if (ca != cb) {
            return false;
        }
        if (ca == '\0') {
            return true;
        }
    }
}

static const struct {
    const char *name;
    const vsafe_profile_t *profile;
} builtins[] = {
    { "spl05", &vsafe_profile_spl05 },
    { "default", &vsafe_profile_spl05 },
};

const vsafe_profile_t *vsafe_profile_builtin(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        if (name_equals(name, builtins[i].name)) {
            return builtins[i].profile;
        }
    }
    return NULL;
}
