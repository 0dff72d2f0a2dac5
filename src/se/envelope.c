/* Local envelopes: Generate key 0x11 tag 0x07 (an envelope key from the device RNG), Wrap 0x0E,
 * Unwrap 0x0F (AES key wrap, RFC 3394 / SP 800-38F KW, default IV), Query 0x07 (the table).
 *
 * Invariants:
 *  1. Envelope keys never leave the device. A generated key is staged whole (presence, length,
 *     key zero-padded to 32 bytes) in the command's one commit; the RAM copy is wiped.
 *  2. A slot with a key is never regenerated (0x11): the key is fixed for the device's life.
 *  3. Wrap takes n bytes, n a multiple of 8 and at least 16 (two KW blocks), and answers n + 8;
 *     Unwrap takes m = n + 8 bytes; an integrity failure is 0x18 and answers nothing.
 *  4. Wrap, Unwrap and the query change no state.
 */
#include <string.h>

#include "common/cursor.h"
#include "common/secure.h"
#include "se/layout_svc.h"
#include "se/se_cmd.h"

#define ENV_MAX_PAYLOAD 480u

static unsigned env_count(const vsafe_se_core_t *core) { return core->image[core->svc + SVC_OFF_ENV_COUNT]; }

static const uint8_t *env_rec(const vsafe_se_core_t *core, unsigned slot)
{
    return core->image + svc_env_rec(core->svc, slot);
}

static uint8_t env_key_len(const uint8_t *rec) { return rec[SVC_EREC_KEYLEN] == 1u ? 32u : 16u; }

/* 11 07 SLOT KEYLEN (0 AES-128, 1 AES-256) */
uint8_t vsafe_se_cmd_env_generate(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    uint8_t slot, keylen, rec[SVC_ENV_REC];
    (void)req;
    if (c == NULL || c->random == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    if (!vsafe_cursor_u8(in, &slot) || !vsafe_cursor_u8(in, &keylen) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (slot >= env_count(core)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    if (keylen > 1u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (env_rec(core, slot)[SVC_EREC_PRESENT] != 0u) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    memset(rec, 0, sizeof rec);
    rec[SVC_EREC_PRESENT] = 1;
    rec[SVC_EREC_KEYLEN] = keylen;
    uint8_t st = VSAFE_SE_ST_OK;
    if (c->random(c->ctx, rec + SVC_EREC_KEY, keylen == 1u ? 32u : 16u) != VSAFE_OK) {
        st = VSAFE_SE_ST_UNEXPECTED_ERROR;
    } else {
        vsafe_txn_put(&core->txn, svc_env_rec(core->svc, slot), rec, sizeof rec);
    }
    vsafe_wipe(rec, sizeof rec);
    return st;
}

/* SLOT: 0x10 out of the table, 0x0A empty. */
static uint8_t env_use(const vsafe_se_core_t *core, vsafe_cursor_t *in, const uint8_t **rec)
{
    uint8_t slot;
    *rec = NULL;
    if (!vsafe_cursor_u8(in, &slot)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (slot >= env_count(core)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    const uint8_t *r = env_rec(core, slot);
    if (r[SVC_EREC_PRESENT] == 0u) {
        return VSAFE_SE_ST_KEY_NOT_FOUND;
    }
    *rec = r;
    return VSAFE_SE_ST_OK;
}

/* 0E SLOT PAYLOAD(n) -> ENVELOPE(n + 8) */
uint8_t vsafe_se_cmd_env_wrap(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    const uint8_t *rec, *p;
    size_t n;
    (void)req;
    if (c == NULL || c->aes_kw_wrap == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    uint8_t st = env_use(core, in, &rec);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    vsafe_cursor_rest(in, &p, &n);
    if (n < 16u || n > ENV_MAX_PAYLOAD || n % 8u != 0u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    core->out_len = n + 8u;
    if (c->aes_kw_wrap(c->ctx, rec + SVC_EREC_KEY, env_key_len(rec), p, n, core->out) != VSAFE_OK) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    return VSAFE_SE_ST_OK;
}

/* 0F SLOT ENVELOPE(m) -> PAYLOAD(m - 8) */
uint8_t vsafe_se_cmd_env_unwrap(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    const uint8_t *rec, *p;
    size_t m;
    (void)req;
    if (c == NULL || c->aes_kw_unwrap == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    uint8_t st = env_use(core, in, &rec);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    vsafe_cursor_rest(in, &p, &m);
    if (m < 24u || m > ENV_MAX_PAYLOAD + 8u || m % 8u != 0u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    core->out_len = m - 8u; /* covers what the port writes, even when it then fails */
    if (c->aes_kw_unwrap(c->ctx, rec + SVC_EREC_KEY, env_key_len(rec), p, m, core->out) != VSAFE_OK) {
        return VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR;
    }
    return VSAFE_SE_ST_OK;
}

/* 14 07 -> COUNT then per slot SLOT PRESENCE KEYLEN */
uint8_t vsafe_se_cmd_query_env_table(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    (void)in;
    unsigned count = env_count(core);
    uint8_t *o = core->out;
    size_t n = 0;
    o[n++] = (uint8_t)count;
    for (unsigned s = 0; s < count; s++) {
        const uint8_t *r = env_rec(core, s);
        o[n++] = (uint8_t)s;
        o[n++] = r[SVC_EREC_PRESENT];
        o[n++] = r[SVC_EREC_PRESENT] != 0u ? r[SVC_EREC_KEYLEN] : 0u;
    }
    core->out_len = n;
    return VSAFE_SE_ST_OK;
}
