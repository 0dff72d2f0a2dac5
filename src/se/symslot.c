/* Symmetric key slot lookups, the key information record and the hash identifiers
 * (se/symslot.h).
 *
 * Invariants:
 *  1. Nothing here writes the image: the stage functions only add patches to core->txn, which the
 *     command's one commit makes durable or drops.
 *  2. A staged key record is whole: presence, lock, type, mode, usage, parameters, key length,
 *     the key zero-padded to 32 bytes and the CCM* counter 0 go together; the control fields
 *     (a separate, one-time attribute) are never part of it.
 */
#include "se/symslot.h"

#include <string.h>

#include "common/bytes.h"
#include "common/secure.h"
#include "se/layout_svc.h"

const uint8_t vsafe_se_kek_salt[32] = {0xE4, 0x5D, 0x4C, 0xFD, 0x20, 0x15, 0xDE, 0x9E, 0x0A, 0xA9, 0xA9,
                                       0xF6, 0xA4, 0x9F, 0x45, 0x10, 0x0F, 0x99, 0xD9, 0x63, 0x3F, 0xB1,
                                       0xB2, 0xDD, 0xDB, 0xEE, 0xE6, 0x75, 0xD5, 0x4D, 0xE2, 0x5B};

static const struct {
    uint8_t id[VSAFE_SE_HASH_ID_LEN];
    uint8_t alg;
} hash_ids[] = {
    {{0x00, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}, VSAFE_HASH_SHA256},
    {{0x00, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02}, VSAFE_HASH_SHA384},
    {{0x00, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03}, VSAFE_HASH_SHA512},
    {{0x00, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x08}, VSAFE_HASH_SHA3_256},
    {{0x00, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x09}, VSAFE_HASH_SHA3_384},
    {{0x00, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x0A}, VSAFE_HASH_SHA3_512},
};

int vsafe_se_hash_id_take(vsafe_cursor_t *in)
{
    const uint8_t *id;
    if (!vsafe_cursor_bytes(in, VSAFE_SE_HASH_ID_LEN, &id)) {
        return -1;
    }
    for (size_t i = 0; i < sizeof hash_ids / sizeof hash_ids[0]; i++) {
        if (memcmp(id, hash_ids[i].id, VSAFE_SE_HASH_ID_LEN) == 0) {
            return hash_ids[i].alg;
        }
    }
    return 0;
}

uint8_t vsafe_se_sym_params_len(uint8_t mode)
{
    static const uint8_t len[6] = {2, 1, 0, 1, 2, 2};
    return mode < 6u ? len[mode] : 0xFFu;
}

uint8_t vsafe_se_keyinfo_take(vsafe_cursor_t *in, bool with_slot, vsafe_se_keyinfo_t *ki)
{
    const uint8_t *p;
    memset(ki, 0, sizeof *ki);
    if (!vsafe_cursor_u8(in, &ki->lock) || (with_slot && !vsafe_cursor_u8(in, &ki->slot)) ||
        !vsafe_cursor_u8(in, &ki->type) || !vsafe_cursor_u8(in, &ki->mode) || !vsafe_cursor_bytes(in, 2u, &p)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    ki->usage[0] = p[0];
    ki->usage[1] = p[1];
    uint8_t n = vsafe_se_sym_params_len(ki->mode);
    if (n == 0xFFu) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (!vsafe_cursor_bytes(in, n, &p)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    memcpy(ki->params, p, n);
    ki->params_len = n;
    if (ki->type == VSAFE_SYM_AES128) {
        ki->key_len = 16;
    } else if (ki->type == VSAFE_SYM_AES256) {
        ki->key_len = 32;
    } else if (ki->mode == VSAFE_SYM_HKDF || ki->mode == VSAFE_SYM_HMAC) {
        ki->key_len = ki->params[1]; /* GENERIC_KEY_LEN */
    }
    return VSAFE_SE_ST_OK;
}

static bool tag_allowed(uint8_t mode, uint8_t tag)
{
    if (mode == VSAFE_SYM_CCM) {
        return tag == 0u || tag == 4u || tag == 8u || tag == 16u;
    }
    return tag == 4u || tag == 8u || (tag >= 12u && tag <= 16u); /* GCM */
}

uint8_t vsafe_se_keyinfo_check(const vsafe_se_keyinfo_t *ki)
{
    static const uint8_t usage_allowed[6] = {
        [VSAFE_SYM_CCM] = VSAFE_SYM_USE_ENCRYPT | VSAFE_SYM_USE_DECRYPT | VSAFE_SYM_USE_ENCRYPT_CHUNKS |
                          VSAFE_SYM_USE_DECRYPT_CHUNKS,
        [VSAFE_SYM_CMAC] = VSAFE_SYM_USE_MAC_GEN | VSAFE_SYM_USE_MAC_VERIFY,
        [VSAFE_SYM_ECB] = VSAFE_SYM_USE_ENCRYPT | VSAFE_SYM_USE_DECRYPT,
        /* GMAC is GCM: its MAC bits are the ones GMAC compute / verify use */
        [VSAFE_SYM_GCM] = VSAFE_SYM_USE_ENCRYPT | VSAFE_SYM_USE_DECRYPT | VSAFE_SYM_USE_ENCRYPT_CHUNKS |
                          VSAFE_SYM_USE_DECRYPT_CHUNKS | VSAFE_SYM_USE_MAC_GEN | VSAFE_SYM_USE_MAC_VERIFY,
        [VSAFE_SYM_HKDF] = VSAFE_SYM_USE_DERIVE,
        [VSAFE_SYM_HMAC] = VSAFE_SYM_USE_MAC_GEN | VSAFE_SYM_USE_MAC_VERIFY,
    };
    bool generic_mode = ki->mode == VSAFE_SYM_HKDF || ki->mode == VSAFE_SYM_HMAC;
    if (generic_mode && (ki->params[1] < 16u || ki->params[1] > 32u)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (ki->type > VSAFE_SYM_GENERIC || ki->mode > VSAFE_SYM_HMAC) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (generic_mode != (ki->type == VSAFE_SYM_GENERIC)) {
        return VSAFE_SE_ST_WRONG_MODE_OF_OPERATION;
    }
    if (ki->usage[0] != 0u || (ki->usage[1] & (uint8_t)~usage_allowed[ki->mode]) != 0u) {
        return VSAFE_SE_ST_WRONG_KEY_USAGE;
    }
    switch (ki->mode) {
    case VSAFE_SYM_CCM:
    case VSAFE_SYM_GCM:
        if (!tag_allowed(ki->mode, ki->params[0])) {
            return VSAFE_SE_ST_WRONG_MAC_LENGTH;
        }
        break;
    case VSAFE_SYM_CMAC:
        if (ki->params[0] < 1u || ki->params[0] > 16u) {
            return VSAFE_SE_ST_WRONG_MAC_LENGTH;
        }
        break;
    case VSAFE_SYM_HMAC:
        if (ki->params[0] < 1u || ki->params[0] > 32u) {
            return VSAFE_SE_ST_WRONG_MAC_LENGTH;
        }
        break;
    default:
        break;
    }
    if (ki->lock > VSAFE_SYM_ERASABLE) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (ki->mode == VSAFE_SYM_CCM && (ki->params[1] & 0x7Fu) > 9u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE; /* counter offset: 4 bytes inside the 13-byte nonce */
    }
    if (ki->mode == VSAFE_SYM_HKDF && (ki->params[0] & 0xFEu) != 0u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    return VSAFE_SE_ST_OK;
}

unsigned vsafe_se_sym_count(const vsafe_se_core_t *core) { return core->image[core->svc + SVC_OFF_SYM_COUNT]; }

uint32_t vsafe_se_sym_rec_off(const vsafe_se_core_t *core, unsigned slot) { return svc_sym_rec(core->svc, slot); }

const uint8_t *vsafe_se_sym_rec(const vsafe_se_core_t *core, unsigned slot)
{
    return core->image + vsafe_se_sym_rec_off(core, slot);
}

bool vsafe_se_sym_present(const uint8_t *rec) { return (rec[SVC_SREC_B0] & 1u) != 0u; }

uint8_t vsafe_se_sym_lock(const uint8_t *rec) { return (uint8_t)((rec[SVC_SREC_B0] >> 1) & 3u); }

uint8_t vsafe_se_sym_use(const vsafe_se_core_t *core, unsigned slot, const uint8_t **rec)
{
    *rec = NULL;
    if (slot >= vsafe_se_sym_count(core)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    const uint8_t *r = vsafe_se_sym_rec(core, slot);
    if (!vsafe_se_sym_present(r)) {
        return VSAFE_SE_ST_KEY_NOT_FOUND;
    }
    *rec = r;
    return VSAFE_SE_ST_OK;
}

void vsafe_se_sym_stage_key(vsafe_se_core_t *core, const vsafe_se_keyinfo_t *ki, const uint8_t *key,
                            uint8_t key_len)
{
    uint8_t head[SVC_SREC_CTRL];
    uint8_t tail[SVC_SREC_COUNTER + 4u - SVC_SREC_KEY_LEN];
    uint32_t off = vsafe_se_sym_rec_off(core, ki->slot);
    memset(head, 0, sizeof head);
    head[SVC_SREC_B0] = (uint8_t)(1u | (uint8_t)(ki->lock << 1));
    head[SVC_SREC_TYPE] = ki->type;
    head[SVC_SREC_MODE] = ki->mode;
    head[SVC_SREC_USAGE] = ki->usage[0];
    head[SVC_SREC_USAGE + 1] = ki->usage[1];
    memcpy(head + SVC_SREC_PARAMS, ki->params, ki->params_len);
    head[SVC_SREC_PARAMS_LEN] = ki->params_len;
    memset(tail, 0, sizeof tail);
    tail[0] = key_len;
    memcpy(tail + (SVC_SREC_KEY - SVC_SREC_KEY_LEN), key, key_len);
    /* the counter (last 4 bytes of tail) starts at 0 */
    vsafe_txn_put(&core->txn, off, head, sizeof head);
    vsafe_txn_put(&core->txn, off + SVC_SREC_KEY_LEN, tail, sizeof tail);
    vsafe_wipe(tail, sizeof tail);
}

void vsafe_se_sym_stage_erase(vsafe_se_core_t *core, unsigned slot)
{
    uint8_t zero[SVC_SREC_COUNTER + 4u - SVC_SREC_KEY_LEN];
    uint32_t off = vsafe_se_sym_rec_off(core, slot);
    memset(zero, 0, sizeof zero);
    vsafe_txn_put(&core->txn, off, zero, SVC_SREC_CTRL);
    vsafe_txn_put(&core->txn, off + SVC_SREC_KEY_LEN, zero, sizeof zero);
}
