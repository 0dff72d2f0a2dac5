/* Derive keys (extended 0x10): HKDF-SHA-256 (RFC 5869) extract and/or expand, with the input key
 * material in the command or in a symmetric key slot, the outputs returned to the host or written
 * into symmetric key slots the device chooses.
 *
 *   1F 10 INPUT FLAGS HASH_ID(11) [SALT] [INFO_LEN INFO { DESC_LEN DEST ... } x n]
 *     INPUT  00 04 IKM_LEN(2) IKM  (in the command, mode HKDF)  |  02 SLOT
 *     FLAGS  bit 1 extract, bit 0 expand
 *     SALT   00 SALT_LEN(2) SALT  |  02 SLOT               (extract only)
 *     DEST   01 KEY_LEN(2) (DESC_LEN 3)  |  02 OUT_KEY_INFO (the key information record without
 *            its SLOT byte; DESC_LEN 1 + its length)
 *   -> extract only: PRK_SLOT; expand: per output, in order, KEY(KEY_LEN) or the SLOT chosen
 *
 * Invariants:
 *  1. Everything is parsed and checked before anything is derived, and everything is derived
 *     before anything is staged: a refusal stages nothing. All slot outputs (or the PRK of an
 *     extract) are staged together and land in the command's one commit, or none does.
 *  2. A key slot used as input (IKM or salt) must hold a generic secret (0x0C otherwise) with
 *     the derive usage (0x1B). Output to the host needs every such slot's FLAGS bit 0 ("derived
 *     output may go to the host"; 0x11 otherwise); input key material sent in the command may
 *     always go back to the host.
 *  3. A slot destination is chosen by the device: the first empty slot whose control fields
 *     allow derived keys (byte 0 bit 5), else the first unlocked one that allows them, never one
 *     already chosen in this command; none left: 0x14. A slot output takes 16, 32 or
 *     GENERIC_KEY_LEN bytes of the OKM by its key type, in descriptor order.
 *  4. Extract only stores the 32-byte PRK as a generic secret, mode HKDF, usage derive, unlocked,
 *     with the "to the host" flag of its inputs. Expand only uses the input as the PRK, which
 *     must then be exactly 32 bytes (command 0x02, slot 0x0C).
 *  5. The OKM is computed in core->out, which holds at most VSAFE_SE_FRAME_MAX bytes of it
 *     (more: 0x06, as a response that long would be), and is compacted in place into the
 *     response (a slot output's key becomes its 1-byte slot number, so the response never
 *     overtakes the OKM it is read from); the bytes past the response are wiped. The PRK and
 *     every key are wiped on every exit path.
 *
 * Choices where the sources are silent (documented for the project): a salt taken from a slot
 * is checked as an input slot (invariant 2); an OUT_KEY_INFO whose LOCK is locked or erasable
 * is stored with that lock; DESC_LEN that disagrees with the record's mode is 0x02; more than 32
 * outputs, or none with expand, is 0x02; FLAGS bits above bit 1 are 0x03.
 */
#include <string.h>

#include "common/bytes.h"
#include "common/cursor.h"
#include "common/secure.h"
#include "se/layout_svc.h"
#include "se/se_cmd.h"
#include "se/state.h"
#include "se/symslot.h"

#define DERIVE_OUT_MAX 32u
#define DERIVE_SRC_COMMAND 0x00u
#define DERIVE_SRC_SLOT 0x02u
#define DERIVE_DEST_HOST 0x01u
#define DERIVE_DEST_SLOT 0x02u
#define DERIVE_MODE_HKDF 0x04u
#define DERIVE_EXTRACT 0x02u
#define DERIVE_EXPAND 0x01u
#define DERIVE_OKM_LIMIT (255u * 32u)

typedef struct {
    bool to_slot;
    uint16_t key_len;       /* host: KEY_LEN; slot: the record's key length */
    vsafe_se_keyinfo_t ki;  /* slot outputs: the attributes, ki.slot chosen by the device */
} derive_out_t;

/* Invariant 2 for a slot used as input; *allow_host cleared when its flag forbids the host. */
static uint8_t input_slot(const vsafe_se_core_t *core, uint8_t slot, const uint8_t **rec, bool *allow_host)
{
    uint8_t st = vsafe_se_sym_use(core, slot, rec);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if ((*rec)[SVC_SREC_TYPE] != VSAFE_SYM_GENERIC) {
        return VSAFE_SE_ST_WRONG_KEY_TYPE;
    }
    if (((*rec)[SVC_SREC_USAGE + 1] & VSAFE_SYM_USE_DERIVE) == 0u) {
        return VSAFE_SE_ST_WRONG_KEY_USAGE;
    }
    if ((*rec)[SVC_SREC_MODE] != VSAFE_SYM_HKDF || ((*rec)[SVC_SREC_PARAMS] & 0x01u) == 0u) {
        *allow_host = false;
    }
    return VSAFE_SE_ST_OK;
}

/* Invariant 3: the destination slot for one output, given the slots already taken. */
static bool pick_slot(const vsafe_se_core_t *core, uint32_t taken, uint8_t *slot)
{
    unsigned count = vsafe_se_sym_count(core);
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned s = 0; s < count; s++) {
            const uint8_t *r = vsafe_se_sym_rec(core, s);
            bool present = vsafe_se_sym_present(r);
            if ((taken & (1u << s)) != 0u || (r[SVC_SREC_CTRL] & VSAFE_SYM_CTRL_DERIVED) == 0u ||
                (pass == 0 ? present : (present && vsafe_se_sym_lock(r) != VSAFE_SYM_UNLOCKED))) {
                continue;
            }
            *slot = (uint8_t)s;
            return true;
        }
    }
    return false;
}

/* The output descriptors, up to the end of the command. */
static uint8_t take_outputs(vsafe_cursor_t *in, derive_out_t *outs, unsigned *n, size_t *okm_len,
                            size_t *rsp_len, bool *any_host)
{
    *n = 0;
    *okm_len = 0;
    *rsp_len = 0;
    *any_host = false;
    while (!vsafe_cursor_at_end(in)) {
        uint16_t dl;
        uint8_t dest;
        vsafe_cursor_t d;
        if (*n == DERIVE_OUT_MAX || !vsafe_cursor_be16(in, &dl) || !vsafe_cursor_sub(in, dl, &d) ||
            !vsafe_cursor_u8(&d, &dest)) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        derive_out_t *o = &outs[*n];
        memset(o, 0, sizeof *o);
        if (dest == DERIVE_DEST_HOST) {
            if (!vsafe_cursor_be16(&d, &o->key_len) || !vsafe_cursor_at_end(&d) || o->key_len == 0u) {
                return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
            }
            *any_host = true;
            *rsp_len += o->key_len;
        } else if (dest == DERIVE_DEST_SLOT) {
            uint8_t st = vsafe_se_keyinfo_take(&d, false, &o->ki);
            if (st == VSAFE_SE_ST_OK && !vsafe_cursor_at_end(&d)) {
                st = VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA; /* DESC_LEN disagrees with MODE */
            }
            if (st == VSAFE_SE_ST_OK) {
                st = vsafe_se_keyinfo_check(&o->ki);
            }
            if (st != VSAFE_SE_ST_OK) {
                return st;
            }
            o->to_slot = true;
            o->key_len = o->ki.key_len;
            *rsp_len += 1u;
        } else {
            return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
        }
        *okm_len += o->key_len;
        (*n)++;
    }
    return *n == 0u ? VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA : VSAFE_SE_ST_OK;
}

static bool derive_supported(const vsafe_crypto_t *c)
{
    return c != NULL && c->hkdf_extract != NULL && c->hkdf_expand != NULL;
}

uint8_t vsafe_se_cmd_derive(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    derive_out_t outs[DERIVE_OUT_MAX];
    const uint8_t *ikm = NULL, *salt = NULL, *info = NULL, *rec;
    uint16_t ikm_len = 0, salt_len = 0, info_len = 0;
    uint8_t src, flags, prk[32];
    bool allow_host = true;
    unsigned n = 0;
    size_t okm_len = 0, rsp_len = 0;
    (void)req;
    if (!derive_supported(c)) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    /* INPUT */
    if (!vsafe_cursor_u8(in, &src)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (src == DERIVE_SRC_COMMAND) {
        uint8_t mode;
        if (!vsafe_cursor_u8(in, &mode)) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        if (mode != DERIVE_MODE_HKDF) {
            return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
        }
        if (!vsafe_cursor_be16(in, &ikm_len) || !vsafe_cursor_bytes(in, ikm_len, &ikm)) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
    } else if (src == DERIVE_SRC_SLOT) {
        uint8_t slot;
        if (!vsafe_cursor_u8(in, &slot)) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        uint8_t st = input_slot(core, slot, &rec, &allow_host);
        if (st != VSAFE_SE_ST_OK) {
            return st;
        }
        ikm = rec + SVC_SREC_KEY;
        ikm_len = rec[SVC_SREC_KEY_LEN];
    } else {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    /* FLAGS HASH_ID */
    if (!vsafe_cursor_u8(in, &flags)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if ((flags & (DERIVE_EXTRACT | DERIVE_EXPAND)) == 0u || (flags & ~(DERIVE_EXTRACT | DERIVE_EXPAND)) != 0u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    bool extract = (flags & DERIVE_EXTRACT) != 0u, expand = (flags & DERIVE_EXPAND) != 0u;
    int hash = vsafe_se_hash_id_take(in);
    if (hash < 0) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (hash != VSAFE_HASH_SHA256) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    /* SALT */
    if (extract) {
        uint8_t salt_src;
        if (!vsafe_cursor_u8(in, &salt_src)) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        if (salt_src == DERIVE_SRC_COMMAND) {
            if (!vsafe_cursor_be16(in, &salt_len) || !vsafe_cursor_bytes(in, salt_len, &salt)) {
                return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
            }
        } else if (salt_src == DERIVE_SRC_SLOT) {
            uint8_t slot;
            const uint8_t *srec;
            if (!vsafe_cursor_u8(in, &slot)) {
                return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
            }
            uint8_t st = input_slot(core, slot, &srec, &allow_host);
            if (st != VSAFE_SE_ST_OK) {
                return st;
            }
            salt = srec + SVC_SREC_KEY;
            salt_len = srec[SVC_SREC_KEY_LEN];
        } else {
            return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
        }
    }
    /* INFO and the outputs; extract only ends here */
    if (!expand) {
        if (!vsafe_cursor_at_end(in)) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
    } else {
        bool any_host;
        if (!vsafe_cursor_be16(in, &info_len) || !vsafe_cursor_bytes(in, info_len, &info)) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        uint8_t st = take_outputs(in, outs, &n, &okm_len, &rsp_len, &any_host);
        if (st != VSAFE_SE_ST_OK) {
            return st;
        }
        if (any_host && !allow_host) {
            return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
        }
        if (okm_len > DERIVE_OKM_LIMIT) {
            return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
        }
        if (okm_len > VSAFE_SE_FRAME_MAX || 1u + rsp_len > VSAFE_SE_FRAME_MAX) {
            return VSAFE_SE_ST_BUFFER_LENGTH_EXCEEDED; /* invariant 5 */
        }
        if (!extract && ikm_len != sizeof prk) {
            return src == DERIVE_SRC_SLOT ? VSAFE_SE_ST_WRONG_KEY_TYPE : VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
    }
    /* slot destinations (invariant 3) */
    uint32_t taken = 0;
    unsigned slot_outs = 0;
    for (unsigned i = 0; i < n; i++) {
        if (outs[i].to_slot) {
            if (!pick_slot(core, taken, &outs[i].ki.slot)) {
                return VSAFE_SE_ST_BOUNDARY_EXCEEDED;
            }
            taken |= 1u << outs[i].ki.slot;
            slot_outs++;
        }
    }
    vsafe_se_keyinfo_t prk_ki;
    if (!expand) {
        memset(&prk_ki, 0, sizeof prk_ki);
        if (!pick_slot(core, 0, &prk_ki.slot)) {
            return VSAFE_SE_ST_BOUNDARY_EXCEEDED;
        }
        prk_ki.lock = VSAFE_SYM_UNLOCKED;
        prk_ki.type = VSAFE_SYM_GENERIC;
        prk_ki.mode = VSAFE_SYM_HKDF;
        prk_ki.usage[1] = VSAFE_SYM_USE_DERIVE;
        prk_ki.params[0] = allow_host ? 0x01u : 0x00u;
        prk_ki.params[1] = sizeof prk;
        prk_ki.params_len = 2;
        prk_ki.key_len = sizeof prk;
    }
    /* derive (invariant 1: nothing staged before this succeeds) */
    uint8_t st = VSAFE_SE_ST_OK;
    if (extract) {
        if (c->hkdf_extract(c->ctx, salt, salt_len, ikm, ikm_len, prk) != VSAFE_OK) {
            st = VSAFE_SE_ST_UNEXPECTED_ERROR;
            goto done;
        }
    } else {
        memcpy(prk, ikm, sizeof prk);
    }
    if (!expand) {
        vsafe_se_sym_stage_key(core, &prk_ki, prk, sizeof prk);
        core->out[0] = prk_ki.slot;
        core->out_len = 1;
        vsafe_se_state_sym_changed(core);
        goto done;
    }
    uint8_t *okm = core->out;
    core->out_len = okm_len; /* covers the OKM until it is compacted (invariant 5) */
    if (c->hkdf_expand(c->ctx, prk, info, info_len, okm, okm_len) != VSAFE_OK) {
        st = VSAFE_SE_ST_UNEXPECTED_ERROR;
        goto done;
    }
    size_t r = 0, o = 0;
    for (unsigned i = 0; i < n; i++) {
        if (outs[i].to_slot) {
            vsafe_se_sym_stage_key(core, &outs[i].ki, okm + o, (uint8_t)outs[i].key_len);
            okm[r++] = outs[i].ki.slot;
        } else {
            memmove(okm + r, okm + o, outs[i].key_len);
            r += outs[i].key_len;
        }
        o += outs[i].key_len;
    }
    vsafe_wipe(okm + r, okm_len - r);
    core->out_len = r;
    if (slot_outs > 0u) {
        vsafe_se_state_sym_changed(core);
    }
done:
    vsafe_wipe(prk, sizeof prk);
    return st;
}
