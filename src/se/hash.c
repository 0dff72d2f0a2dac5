/* Hash service: extended commands 0x00 Start hash, 0x01 Process hash, 0x02 Finish hash.
 *
 * Invariants:
 *  1. One hash context, held by the port (vsafe_crypto_t hash_*); core->hash_active says whether
 *     a Start since the last reset left it open. It is volatile: a reset or power loss drops it
 *     (se/state.c), and no hash command stages anything in core->txn.
 *  2. Start replaces any previous context; Finish answers the digest and closes the context,
 *     whatever the outcome; a port failure closes it too, so a half-fed digest is never returned.
 *  3. Process or Finish without an open context: 0x17 CHALLENGE_MISSING. Other commands between
 *     Start and Finish leave the context alone.
 *  4. The algorithm identifier is a fixed 11-byte field, matched whole: SHA-1, SHA-224 and every
 *     identifier not in the table are 0x03.
 */
#include "common/bytes.h"
#include "common/cursor.h"
#include "se/se_cmd.h"
#include "se/symslot.h"

static bool hash_supported(const vsafe_crypto_t *c)
{
    return c != NULL && c->hash_start != NULL && c->hash_update != NULL && c->hash_finish != NULL &&
           c->hash_clear != NULL;
}

static void hash_close(vsafe_se_core_t *core)
{
    core->crypto->hash_clear(core->crypto->ctx);
    core->hash_active = false;
}

/* Feeds the rest of the payload (at least one byte: the dispatcher's minimum). */
static uint8_t hash_feed(vsafe_se_core_t *core, vsafe_cursor_t *in)
{
    const uint8_t *p;
    size_t n;
    vsafe_cursor_rest(in, &p, &n);
    if (n > 0u && core->crypto->hash_update(core->crypto->ctx, p, n) != VSAFE_OK) {
        hash_close(core);
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    return VSAFE_SE_ST_OK;
}

/* 1F 00 HASH_ID(11) DATA(n >= 1) -> STATUS */
uint8_t vsafe_se_cmd_hash_start(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    if (!hash_supported(core->crypto)) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    int alg = vsafe_se_hash_id_take(in);
    if (alg < 0) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (alg == 0) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA; /* Start carries at least one byte */
    }
    core->hash_active = false;
    if (core->crypto->hash_start(core->crypto->ctx, (unsigned)alg) != VSAFE_OK) {
        hash_close(core);
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    core->hash_active = true;
    return hash_feed(core, in);
}

/* 1F 01 DATA(n >= 1) -> STATUS */
uint8_t vsafe_se_cmd_hash_process(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    if (!hash_supported(core->crypto)) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    if (!core->hash_active) {
        return VSAFE_SE_ST_CHALLENGE_MISSING;
    }
    return hash_feed(core, in);
}

/* 1F 02 [DATA(n)] -> DIGEST_LEN(2) DIGEST */
uint8_t vsafe_se_cmd_hash_finish(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    size_t dlen = 0;
    (void)req;
    if (!hash_supported(core->crypto)) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    if (!core->hash_active) {
        return VSAFE_SE_ST_CHALLENGE_MISSING;
    }
    uint8_t st = hash_feed(core, in);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    core->out_len = 2u + 64u; /* covers what the port may write, even on failure */
    int rc = core->crypto->hash_finish(core->crypto->ctx, core->out + 2, 64u, &dlen);
    hash_close(core);
    if (rc != VSAFE_OK || dlen == 0u || dlen > 64u) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    vsafe_put_be16(core->out, (uint16_t)dlen);
    core->out_len = 2u + dlen;
    return VSAFE_SE_ST_OK;
}
