/* Signature checks of the authenticated variants (se/auth.h).
 *
 * Invariants:
 *  1. A refusal never says which part failed beyond PD-16's one status: missing slot key,
 *     missing flag and a bad signature are all 0x11.
 *  2. Nothing here writes the image or the volatile state; the caller consumes its ECDHE
 *     context whatever this returns. The TBS is built in core->out (before the caller writes its
 *     response) and wiped there before returning; core->out_len is untouched. */
#include "se/auth.h"

#include <string.h>

#include "common/bytes.h"
#include "common/secure.h"
#include "se/curves.h"
#include "se/layout_svc.h"

static const uint8_t auth_sha256_id[11] = {0x00, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};

uint8_t vsafe_se_auth_check(vsafe_se_core_t *core, vsafe_cursor_t *in, uint16_t flag, unsigned curve,
                            const uint8_t *host_pub_wire, size_t host_pub_len)
{
    const vsafe_crypto_t *c = core->crypto;
    uint8_t filler, slot, sig[VSAFE_EC_MAX_SIG], digest[32];
    uint8_t *tbs = core->out; /* scratch (public bytes), wiped below; the stack stays in budget */
    const uint8_t *hash_id;
    if (!vsafe_cursor_u8(in, &filler) || !vsafe_cursor_u8(in, &slot) || filler != 0x00u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (slot >= core->image[core->svc + SVC_OFF_GPUB_COUNT]) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    const uint8_t *g = core->image + svc_gpub_rec(core->svc, slot);
    const vsafe_se_curve_t *kv = g[SVC_GREC_PRESENT] == 1u ? vsafe_se_curve(g[SVC_GREC_CURVE]) : NULL;
    bool ed = kv != NULL && g[SVC_GREC_CURVE] == VSAFE_CURVE_ED25519;
    size_t hl = ed ? 2u : 11u;
    if (!vsafe_cursor_bytes(in, hl, &hash_id)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (kv == NULL || !kv->can_sign || (vsafe_get_be16(g + SVC_GREC_FLAGS) & flag) == 0u) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    if (!vsafe_se_curve_take_sig(in, kv, sig) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (ed ? (hash_id[0] != 0u || hash_id[1] != 0u) : memcmp(hash_id, auth_sha256_id, 11) != 0) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    const vsafe_se_curve_t *cv = vsafe_se_curve(curve);
    if (cv == NULL || host_pub_len > 133u || c == NULL || c->ec_verify == NULL || (!ed && c->sha256 == NULL)) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    size_t n = 0;
    memcpy(tbs, cv->id, cv->id_len);
    n += cv->id_len;
    memcpy(tbs + n, host_pub_wire, host_pub_len);
    n += host_pub_len;
    n += vsafe_se_curve_put_pub(tbs + n, cv, true, core->ecdhe_pub);
    const uint8_t *msg = tbs;
    size_t msg_len = n;
    if (!ed) {
        vsafe_iov_t iov = {tbs, n};
        if (c->sha256(c->ctx, &iov, 1, digest) != VSAFE_OK) {
            vsafe_wipe(tbs, n);
            return VSAFE_SE_ST_UNEXPECTED_ERROR;
        }
        msg = digest;
        msg_len = sizeof digest;
    }
    int valid = 0;
    int rc = c->ec_verify(c->ctx, g[SVC_GREC_CURVE], g + SVC_GREC_PUB, 0, msg, msg_len, sig, &valid);
    vsafe_wipe(tbs, n);
    if (rc != VSAFE_OK || valid != 1) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    return VSAFE_SE_ST_OK;
}
