/* AES services: Encrypt 0x1B / Decrypt 0x1C (sub-command 0x02) for ECB, CCM* and GCM (GMAC is
 * GCM with no message), selected by the slot's mode.
 *
 * Invariants:
 *  1. The slot is checked before the frame is read any further: 0x10 out of the table, 0x0A
 *     empty, 0x1C a mode that is not ECB, CCM* or GCM, 0x1B a usage bit missing. Then the frame's
 *     lengths must add up exactly (0x02), leftover bytes included.
 *  2. A CCM* slot with a counter (CTR_BYTE bit 7) encrypts with its 32-bit counter written big-
 *     endian into the nonce at the slot's offset, answers the counter used, and stages counter + 1
 *     in the command's commit: the answer and the new counter are durable together. A counter at
 *     0xFFFFFFFF cannot advance: 0x13, nothing encrypted.
 *  3. A tag that does not verify is status 0x00 with VERIFIED 0x00 and the plaintext all zero
 *     (the port zeroes it); TAG_LEN 0 (CCM* without authentication) is VERIFIED 0x01.
 *  4. The key goes to the port straight from the committed image; no copy of it is made here.
 *  5. Chunked AES (extended 0x11-0x16) keeps one context, in RAM only: the port holds the cipher
 *     state, core->aead_* say what it is (direction, mode, tag length, the CCM* totals and the
 *     bytes given so far). Reset and power loss drop it (se/state.c). Every Start ends any
 *     previous context first, whether it is then accepted or refused. Process and Finish without
 *     a context of their direction answer 0x17 and leave any other context alone; a Process or
 *     Finish that is malformed, gives AAD after message bytes, or runs past the CCM* totals (or
 *     short of them at Finish) answers 0x02 and drops the context. Finish drops it whatever the
 *     result. The only NVM change is the CCM* counter advance of Start encrypt (invariant 2).
 */
#include <string.h>

#include "common/bytes.h"
#include "common/cursor.h"
#include "common/secure.h"
#include "se/layout_svc.h"
#include "se/se_cmd.h"
#include "se/symslot.h"

#define CCM_NONCE_LEN 13u

/* Invariant 1: sub-command, slot and mode. */
static uint8_t aes_slot(const vsafe_se_core_t *core, vsafe_cursor_t *in, const uint8_t **rec)
{
    uint8_t sub, slot;
    if (!vsafe_cursor_u8(in, &sub) || !vsafe_cursor_u8(in, &slot)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (sub != 0x02u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    uint8_t st = vsafe_se_sym_use(core, slot, rec);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    uint8_t mode = (*rec)[SVC_SREC_MODE];
    if (mode != VSAFE_SYM_ECB && mode != VSAFE_SYM_CCM && mode != VSAFE_SYM_GCM) {
        return VSAFE_SE_ST_WRONG_MODE_OF_OPERATION;
    }
    return VSAFE_SE_ST_OK;
}

/* GMAC (GCM without message) may use the MAC usage bits instead of encrypt / decrypt. */
static bool usage_ok(const uint8_t *rec, bool enc, bool gmac)
{
    uint8_t u = rec[SVC_SREC_USAGE + 1];
    uint8_t need = enc ? VSAFE_SYM_USE_ENCRYPT : VSAFE_SYM_USE_DECRYPT;
    uint8_t mac = enc ? VSAFE_SYM_USE_MAC_GEN : VSAFE_SYM_USE_MAC_VERIFY;
    return (u & need) != 0u || (gmac && (u & mac) != 0u);
}

static uint8_t aes_ecb(vsafe_se_core_t *core, const uint8_t *rec, bool enc, vsafe_cursor_t *in)
{
    const uint8_t *p;
    size_t n;
    if (!usage_ok(rec, enc, false)) {
        return VSAFE_SE_ST_WRONG_KEY_USAGE;
    }
    vsafe_cursor_rest(in, &p, &n);
    if (n == 0u || n % 16u != 0u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    core->out_len = n;
    if (core->crypto->aes_ecb(core->crypto->ctx, rec + SVC_SREC_KEY, rec[SVC_SREC_KEY_LEN], enc ? 1 : 0, p, n,
                              core->out) != VSAFE_OK) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    return VSAFE_SE_ST_OK;
}

/* Takes LEN(2) and LEN bytes. */
static bool take_lv(vsafe_cursor_t *in, const uint8_t **p, uint16_t *len)
{
    return vsafe_cursor_be16(in, len) && vsafe_cursor_bytes(in, *len, p);
}

/* CCM*: NONCE(13) AAD_LEN AAD then encrypt: MSG_LEN PT -> CT TAG CTR_PRESENT [COUNTER]
 *                                  decrypt: CT_LEN (tag included) CT TAG -> VERIFIED PT */
static uint8_t aes_ccm(vsafe_se_core_t *core, const uint8_t *rec, bool enc, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    const uint8_t *nonce_in, *aad, *msg;
    uint16_t aad_len, msg_len;
    uint8_t nonce[CCM_NONCE_LEN];
    uint8_t tag_len = rec[SVC_SREC_PARAMS], ctr_byte = rec[SVC_SREC_PARAMS + 1];
    if (!usage_ok(rec, enc, false)) {
        return VSAFE_SE_ST_WRONG_KEY_USAGE;
    }
    if (!vsafe_cursor_bytes(in, CCM_NONCE_LEN, &nonce_in) || !take_lv(in, &aad, &aad_len) ||
        !take_lv(in, &msg, &msg_len) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    memcpy(nonce, nonce_in, sizeof nonce);
    if (enc) {
        bool with_ctr = (ctr_byte & 0x80u) != 0u;
        uint32_t ctr = vsafe_get_be32(rec + SVC_SREC_COUNTER);
        if (with_ctr) {
            if (ctr == 0xFFFFFFFFu) {
                return VSAFE_SE_ST_COUNTER_LIMIT_EXCEEDED;
            }
            vsafe_put_be32(nonce + (ctr_byte & 0x7Fu), ctr);
        }
        uint8_t *o = core->out;
        core->out_len = (size_t)msg_len + tag_len + 1u + (with_ctr ? 4u : 0u);
        if (c->aead_encrypt(c->ctx, VSAFE_AEAD_CCM, rec + SVC_SREC_KEY, rec[SVC_SREC_KEY_LEN], nonce, sizeof nonce,
                            aad, aad_len, msg, msg_len, o, o + msg_len, tag_len) != VSAFE_OK) {
            return VSAFE_SE_ST_UNEXPECTED_ERROR;
        }
        o[msg_len + tag_len] = with_ctr ? 1u : 0u;
        if (with_ctr) {
            vsafe_put_be32(o + msg_len + tag_len + 1u, ctr);
            /* invariant 2: the offset of the counter record is in the image's key-services region */
            vsafe_txn_put_u32(&core->txn, (uint32_t)(rec - core->image) + SVC_SREC_COUNTER, ctr + 1u);
        }
        return VSAFE_SE_ST_OK;
    }
    if (msg_len < tag_len) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    size_t ct_len = (size_t)msg_len - tag_len;
    int verified = 0;
    core->out_len = 1u + ct_len;
    if (c->aead_decrypt(c->ctx, VSAFE_AEAD_CCM, rec + SVC_SREC_KEY, rec[SVC_SREC_KEY_LEN], nonce, sizeof nonce,
                        aad, aad_len, msg, ct_len, msg + ct_len, tag_len, core->out + 1, &verified) != VSAFE_OK) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    core->out[0] = verified == 1 ? 1u : 0u;
    if (verified != 1) {
        vsafe_wipe(core->out + 1, ct_len);
    }
    return VSAFE_SE_ST_OK;
}

/* GCM: IV_LEN IV AAD_LEN AAD MSG_LEN then encrypt: PT -> CT TAG; decrypt: CT TAG -> VERIFIED PT */
static uint8_t aes_gcm(vsafe_se_core_t *core, const uint8_t *rec, bool enc, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    const uint8_t *iv, *aad, *msg, *tag;
    uint16_t iv_len, aad_len, msg_len;
    uint8_t tag_len = rec[SVC_SREC_PARAMS];
    if (!take_lv(in, &iv, &iv_len) || !take_lv(in, &aad, &aad_len) || !take_lv(in, &msg, &msg_len)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (!usage_ok(rec, enc, msg_len == 0u)) {
        return VSAFE_SE_ST_WRONG_KEY_USAGE;
    }
    if (iv_len == 0u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (enc) {
        if (!vsafe_cursor_at_end(in)) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        core->out_len = (size_t)msg_len + tag_len;
        if (c->aead_encrypt(c->ctx, VSAFE_AEAD_GCM, rec + SVC_SREC_KEY, rec[SVC_SREC_KEY_LEN], iv, iv_len, aad,
                            aad_len, msg, msg_len, core->out, core->out + msg_len, tag_len) != VSAFE_OK) {
            return VSAFE_SE_ST_UNEXPECTED_ERROR;
        }
        return VSAFE_SE_ST_OK;
    }
    if (vsafe_cursor_left(in) != tag_len || !vsafe_cursor_bytes(in, tag_len, &tag)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    int verified = 0;
    core->out_len = 1u + msg_len;
    if (c->aead_decrypt(c->ctx, VSAFE_AEAD_GCM, rec + SVC_SREC_KEY, rec[SVC_SREC_KEY_LEN], iv, iv_len, aad, aad_len,
                        msg, msg_len, tag, tag_len, core->out + 1, &verified) != VSAFE_OK) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    core->out[0] = verified == 1 ? 1u : 0u;
    if (verified != 1) {
        vsafe_wipe(core->out + 1, msg_len);
    }
    return VSAFE_SE_ST_OK;
}

static uint8_t aes_oneshot(vsafe_se_core_t *core, vsafe_cursor_t *in, bool enc)
{
    const vsafe_crypto_t *c = core->crypto;
    const uint8_t *rec;
    if (c == NULL || c->aes_ecb == NULL || c->aead_encrypt == NULL || c->aead_decrypt == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    uint8_t st = aes_slot(core, in, &rec);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    switch (rec[SVC_SREC_MODE]) {
    case VSAFE_SYM_ECB:
        return aes_ecb(core, rec, enc, in);
    case VSAFE_SYM_CCM:
        return aes_ccm(core, rec, enc, in);
    default:
        return aes_gcm(core, rec, enc, in);
    }
}

/* 1B 02 SLOT ... */
uint8_t vsafe_se_cmd_encrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    return aes_oneshot(core, in, true);
}

/* 1C 02 SLOT ... */
uint8_t vsafe_se_cmd_decrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    return aes_oneshot(core, in, false);
}

/* ---- Chunked AES (invariant 5) ---- */

static bool chunk_supported(const vsafe_crypto_t *c)
{
    return c != NULL && c->aead_start != NULL && c->aead_update != NULL && c->aead_finish != NULL &&
           c->aead_clear != NULL;
}

static void chunk_drop(vsafe_se_core_t *core)
{
    core->crypto->aead_clear(core->crypto->ctx);
    core->aead_active = false;
    core->aead_data_seen = false;
    core->aead_total_aad = 0;
    core->aead_total_len = 0;
    core->aead_aad_done = 0;
    core->aead_len_done = 0;
}

/* One chunk: AAD then data, checked against the context (GCM: no AAD after data; CCM*: the
 * announced totals, all AAD before data) and fed to the port; out gets len bytes. Drops the
 * context on any refusal. */
static uint8_t chunk_feed(vsafe_se_core_t *core, const uint8_t *aad, uint16_t aad_len, const uint8_t *in,
                          uint16_t len, uint8_t *out)
{
    const vsafe_crypto_t *c = core->crypto;
    bool ccm = core->aead_mode == VSAFE_AEAD_CCM;
    bool ok = !(aad_len != 0u && core->aead_data_seen);
    if (ccm) {
        ok = ok && aad_len <= core->aead_total_aad - core->aead_aad_done &&
             len <= core->aead_total_len - core->aead_len_done &&
             (len == 0u || core->aead_aad_done + aad_len == core->aead_total_aad);
    }
    if (!ok) {
        chunk_drop(core);
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if ((aad_len != 0u || len != 0u) && c->aead_update(c->ctx, aad, aad_len, in, len, out) != VSAFE_OK) {
        chunk_drop(core);
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    core->aead_aad_done += aad_len;
    core->aead_len_done += len;
    core->aead_data_seen = core->aead_data_seen || len != 0u;
    return VSAFE_SE_ST_OK;
}

/* Start: SLOT then
 *   CCM*: NONCE_LEN NONCE TOTAL_AAD_LEN(2) TOTAL_LEN(4) AAD_LEN AAD LEN DATA
 *   GCM:  IV_LEN IV AAD_LEN AAD LEN DATA
 * -> DATA out; CCM* encrypt adds CTR_PRESENT COUNTER(4), the counter always sent (0 when the slot
 * has none). */
static uint8_t chunk_start(vsafe_se_core_t *core, vsafe_cursor_t *in, bool enc)
{
    const vsafe_crypto_t *c = core->crypto;
    const uint8_t *rec, *nonce_in, *aad, *msg;
    uint16_t nonce_len, aad_len, msg_len, total_aad = 0;
    uint32_t total_len = 0;
    uint8_t slot, nonce[CCM_NONCE_LEN];
    if (!chunk_supported(c)) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    chunk_drop(core);
    if (!vsafe_cursor_u8(in, &slot)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    uint8_t st = vsafe_se_sym_use(core, slot, &rec);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    uint8_t mode = rec[SVC_SREC_MODE];
    if (mode != VSAFE_SYM_CCM && mode != VSAFE_SYM_GCM) {
        return VSAFE_SE_ST_WRONG_MODE_OF_OPERATION;
    }
    if ((rec[SVC_SREC_USAGE + 1] & (enc ? VSAFE_SYM_USE_ENCRYPT_CHUNKS : VSAFE_SYM_USE_DECRYPT_CHUNKS)) == 0u) {
        return VSAFE_SE_ST_WRONG_KEY_USAGE;
    }
    bool ccm = mode == VSAFE_SYM_CCM;
    if (!take_lv(in, &nonce_in, &nonce_len)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (ccm) {
        uint16_t lo;
        if (!vsafe_cursor_be16(in, &total_aad)) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        if (enc) {
            if (!vsafe_cursor_be32(in, &total_len)) {
                return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
            }
        } else {
            /* STSELib sends a 16-bit total as 4 bytes, the high two undefined: the low 16 bits count */
            const uint8_t *hi;
            if (!vsafe_cursor_bytes(in, 2u, &hi) || !vsafe_cursor_be16(in, &lo)) {
                return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
            }
            total_len = lo;
        }
    }
    if (!take_lv(in, &aad, &aad_len) || !take_lv(in, &msg, &msg_len) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    uint8_t tag_len = rec[SVC_SREC_PARAMS], ctr_byte = ccm ? rec[SVC_SREC_PARAMS + 1] : 0u;
    bool with_ctr = enc && ccm && (ctr_byte & 0x80u) != 0u;
    uint32_t ctr = vsafe_get_be32(rec + SVC_SREC_COUNTER);
    if (ccm) {
        /* nonce 7..13 bytes, L = 15 - NONCE_LEN bytes must hold the total; room for the counter */
        size_t l = 15u - nonce_len;
        if (nonce_len < 7u || nonce_len > CCM_NONCE_LEN || (l < 4u && total_len >> (8u * l) != 0u) ||
            aad_len > total_aad || msg_len > total_len ||
            (with_ctr && (size_t)(ctr_byte & 0x7Fu) + 4u > nonce_len)) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        if (with_ctr && ctr == 0xFFFFFFFFu) {
            return VSAFE_SE_ST_COUNTER_LIMIT_EXCEEDED;
        }
    } else if (nonce_len == 0u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    const uint8_t *n = nonce_in;
    if (ccm) {
        memcpy(nonce, nonce_in, nonce_len);
        if (with_ctr) {
            vsafe_put_be32(nonce + (ctr_byte & 0x7Fu), ctr);
        }
        n = nonce;
    }
    if (c->aead_start(c->ctx, ccm ? VSAFE_AEAD_CCM : VSAFE_AEAD_GCM, enc ? 1 : 0, rec + SVC_SREC_KEY,
                      rec[SVC_SREC_KEY_LEN], n, nonce_len, total_aad, total_len, tag_len) != VSAFE_OK) {
        c->aead_clear(c->ctx);
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    core->aead_active = true;
    core->aead_encrypt = enc;
    core->aead_mode = ccm ? VSAFE_AEAD_CCM : VSAFE_AEAD_GCM;
    core->aead_tag_len = tag_len;
    core->aead_total_aad = total_aad;
    core->aead_total_len = total_len;
    core->out_len = msg_len;
    st = chunk_feed(core, aad, aad_len, msg, msg_len, core->out);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if (enc && ccm) {
        uint8_t *o = core->out + msg_len;
        core->out_len = (size_t)msg_len + 5u;
        o[0] = with_ctr ? 1u : 0u;
        vsafe_put_be32(o + 1, with_ctr ? ctr : 0u);
        if (with_ctr) {
            /* invariant 2: the counter used is answered and advanced in this command's commit */
            vsafe_txn_put_u32(&core->txn, (uint32_t)(rec - core->image) + SVC_SREC_COUNTER, ctr + 1u);
        }
    }
    return VSAFE_SE_ST_OK;
}

/* Process / Finish: AAD_LEN AAD LEN DATA [TAG: Finish decrypt] */
static uint8_t chunk_next(vsafe_se_core_t *core, vsafe_cursor_t *in, bool enc, bool finish)
{
    const vsafe_crypto_t *c = core->crypto;
    const uint8_t *aad, *msg, *tag = NULL;
    uint16_t aad_len, msg_len;
    if (!chunk_supported(c)) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    if (!core->aead_active || core->aead_encrypt != enc) {
        return VSAFE_SE_ST_CHALLENGE_MISSING;
    }
    uint8_t tag_len = core->aead_tag_len;
    if (!take_lv(in, &aad, &aad_len) || !take_lv(in, &msg, &msg_len) ||
        (finish && !enc && !vsafe_cursor_bytes(in, tag_len, &tag)) || !vsafe_cursor_at_end(in)) {
        chunk_drop(core);
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    uint8_t *o = finish && !enc ? core->out + 1 : core->out;
    core->out_len = (size_t)msg_len + (finish ? (enc ? tag_len : 1u) : 0u);
    uint8_t st = chunk_feed(core, aad, aad_len, msg, msg_len, o);
    if (st != VSAFE_SE_ST_OK || !finish) {
        return st;
    }
    if (core->aead_mode == VSAFE_AEAD_CCM &&
        (core->aead_aad_done != core->aead_total_aad || core->aead_len_done != core->aead_total_len)) {
        chunk_drop(core);
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    int verified = 0;
    int rc = c->aead_finish(c->ctx, enc ? o + msg_len : (uint8_t *)tag, tag_len, enc ? NULL : &verified);
    chunk_drop(core);
    if (rc != VSAFE_OK) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    if (!enc) {
        /* invariant 3: a tag that does not verify answers VERIFIED 0 and no plaintext */
        core->out[0] = verified == 1 ? 1u : 0u;
        if (verified != 1) {
            vsafe_wipe(o, msg_len);
        }
    }
    return VSAFE_SE_ST_OK;
}

/* 1F 11 Start encrypt */
uint8_t vsafe_se_cmd_aes_start_encrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    return chunk_start(core, in, true);
}

/* 1F 12 Process encrypt */
uint8_t vsafe_se_cmd_aes_process_encrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    return chunk_next(core, in, true, false);
}

/* 1F 13 Finish encrypt -> DATA TAG */
uint8_t vsafe_se_cmd_aes_finish_encrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    return chunk_next(core, in, true, true);
}

/* 1F 14 Start decrypt */
uint8_t vsafe_se_cmd_aes_start_decrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    return chunk_start(core, in, false);
}

/* 1F 15 Process decrypt */
uint8_t vsafe_se_cmd_aes_process_decrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    return chunk_next(core, in, false, false);
}

/* 1F 16 Finish decrypt ... TAG -> VERIFIED DATA */
uint8_t vsafe_se_cmd_aes_finish_decrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    return chunk_next(core, in, false, true);
}
