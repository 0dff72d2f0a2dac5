/* Generic public key slots: Query 0x48 (table), Query 0x4C SLOT (one slot), Write public key
 * 1F 0A, Put configuration flags 10 4D; entity authentication: Generate challenge 1F 0E and
 * Verify entity signature 1F 0F.
 *
 * Invariants:
 *  1. A slot is write-once: a key is written only into an empty slot (0x11 otherwise), as one
 *     staged patch set (present, curve, key) in the command's commit.
 *  2. Flags change only while the slot's change right (byte 1 bit 0) is set; the Put stores the
 *     flags as given, so clearing the change right ends further changes.
 *  3. The entity challenge is volatile, used by at most one Verify entity signature (consumed
 *     whatever the outcome), and dropped at reset; "entity authenticated" holds from a valid
 *     signature until reset or the next challenge.
 *  4. A Weierstrass key is accepted only if it is on its curve (checked by decompressing X with
 *     Y's parity through the port and comparing Y).
 */
#include <string.h>

#include "common/bytes.h"
#include "common/cursor.h"
#include "common/secure.h"
#include "se/curves.h"
#include "se/layout_svc.h"
#include "se/se_cmd.h"

#define GPUB_CHANGE_RIGHT 0x0001u
#define GPUB_ENTITY_AUTH 0x0008u
#define GPUB_RESERVED 0x00E0u

static unsigned gpub_count(const vsafe_se_core_t *core) { return core->image[core->svc + SVC_OFF_GPUB_COUNT]; }

static const uint8_t *gpub_rec(const vsafe_se_core_t *core, unsigned slot)
{
    return core->image + svc_gpub_rec(core->svc, slot);
}

/* 14 48 -> COUNT then per slot SLOT PRESENCE FLAGS(2) [CURVE_ID] (PD-15) */
uint8_t vsafe_se_cmd_query_gpub_table(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    (void)in;
    uint8_t *o = core->out;
    size_t n = 0;
    o[n++] = (uint8_t)gpub_count(core);
    for (unsigned i = 0; i < gpub_count(core); i++) {
        const uint8_t *g = gpub_rec(core, i);
        o[n++] = (uint8_t)i;
        o[n++] = g[SVC_GREC_PRESENT];
        o[n++] = g[SVC_GREC_FLAGS];
        o[n++] = g[SVC_GREC_FLAGS + 1];
        const vsafe_se_curve_t *cv = g[SVC_GREC_PRESENT] == 1u ? vsafe_se_curve(g[SVC_GREC_CURVE]) : NULL;
        if (cv != NULL) {
            memcpy(o + n, cv->id, cv->id_len);
            n += cv->id_len;
        }
    }
    core->out_len = n;
    return VSAFE_SE_ST_OK;
}

/* 14 4C SLOT -> PRESENCE FLAGS(2) [CURVE_ID PUBLIC_KEY]; X25519 in point form, Ed25519 short. */
uint8_t vsafe_se_cmd_query_gpub_slot(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    uint8_t slot;
    (void)req;
    if (!vsafe_cursor_u8(in, &slot)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (slot >= gpub_count(core)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    const uint8_t *g = gpub_rec(core, slot);
    uint8_t *o = core->out;
    o[0] = g[SVC_GREC_PRESENT];
    o[1] = g[SVC_GREC_FLAGS];
    o[2] = g[SVC_GREC_FLAGS + 1];
    size_t n = 3;
    const vsafe_se_curve_t *cv = g[SVC_GREC_PRESENT] == 1u ? vsafe_se_curve(g[SVC_GREC_CURVE]) : NULL;
    if (cv != NULL) {
        memcpy(o + n, cv->id, cv->id_len);
        n += cv->id_len;
        bool short_form = g[SVC_GREC_CURVE] == VSAFE_CURVE_ED25519;
        n += vsafe_se_curve_put_pub(o + n, cv, short_form, g + SVC_GREC_PUB);
    }
    core->out_len = n;
    return VSAFE_SE_ST_OK;
}

/* 10 4D SLOT FLAGS(2) */
uint8_t vsafe_se_cmd_put_gpub_flags(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    uint8_t slot;
    uint16_t flags;
    (void)req;
    if (!vsafe_cursor_u8(in, &slot) || !vsafe_cursor_be16(in, &flags) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (slot >= gpub_count(core)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    const uint8_t *g = gpub_rec(core, slot);
    if ((vsafe_get_be16(g + SVC_GREC_FLAGS) & GPUB_CHANGE_RIGHT) == 0u) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    if ((flags & 0xFF00u) != 0u || (flags & GPUB_RESERVED) != 0u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE; /* filler byte and reserved bits are 0 */
    }
    vsafe_txn_put_u16(&core->txn, svc_gpub_rec(core->svc, slot) + SVC_GREC_FLAGS, flags);
    return VSAFE_SE_ST_OK;
}

/* Invariant 4. */
static uint8_t gpub_on_curve(const vsafe_se_core_t *core, unsigned curve, const uint8_t *pub)
{
    const vsafe_se_curve_t *cv = vsafe_se_curve(curve);
    const vsafe_crypto_t *c = core->crypto;
    uint8_t y[VSAFE_EC_MAX_KEY];
    if (cv->edwards_or_montgomery) {
        return VSAFE_SE_ST_OK;
    }
    if (c == NULL || c->ec_decompress == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    uint8_t prefix = (uint8_t)(0x02u | (pub[2u * cv->coord - 1u] & 1u));
    if (c->ec_decompress(c->ctx, curve, prefix, pub, y) != VSAFE_OK || memcmp(y, pub + cv->coord, cv->coord) != 0) {
        return VSAFE_SE_ST_INVALID_PUBLIC_KEY;
    }
    return VSAFE_SE_ST_OK;
}

/* 1F 0A SLOT CURVE_ID PUBLIC_KEY (X25519 and Ed25519 short form) */
uint8_t vsafe_se_cmd_write_gpub(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    uint8_t slot, pub[VSAFE_EC_MAX_PUB];
    (void)req;
    if (!vsafe_cursor_u8(in, &slot)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    int curve = vsafe_se_curve_take(in);
    if (curve < 0) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (slot >= gpub_count(core)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    if (gpub_rec(core, slot)[SVC_GREC_PRESENT] != 0u) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED; /* write-once */
    }
    if (curve == VSAFE_CURVE_NONE) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    const vsafe_se_curve_t *cv = vsafe_se_curve((unsigned)curve);
    memset(pub, 0, sizeof pub);
    if (!vsafe_se_curve_take_pub(in, cv, true, pub) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INVALID_PUBLIC_KEY;
    }
    uint8_t st = gpub_on_curve(core, (unsigned)curve, pub);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    uint32_t rec = svc_gpub_rec(core->svc, slot);
    vsafe_txn_put_u8(&core->txn, rec + SVC_GREC_PRESENT, 1u);
    vsafe_txn_put_u8(&core->txn, rec + SVC_GREC_CURVE, (uint8_t)curve);
    vsafe_txn_put(&core->txn, rec + SVC_GREC_PUB, pub, VSAFE_EC_MAX_PUB);
    return VSAFE_SE_ST_OK;
}

/* 1F 0E -> CHALLENGE(16) */
uint8_t vsafe_se_cmd_entity_challenge(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    (void)req;
    (void)in;
    core->entity_pending = false;
    core->entity_authenticated = false;
    if (c == NULL || c->random == NULL || c->random(c->ctx, core->entity_challenge, 16) != VSAFE_OK) {
        vsafe_wipe(core->entity_challenge, sizeof core->entity_challenge);
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    core->entity_pending = true;
    memcpy(core->out, core->entity_challenge, 16);
    core->out_len = 16;
    return VSAFE_SE_ST_OK;
}

/* 1F 0F 00 SLOT 00 LL R 00 LL S -> VALIDITY (PD-18: ECDSA over the 16 challenge bytes as the
 * digest, Ed25519 pure over them) */
uint8_t vsafe_se_cmd_entity_verify(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    uint8_t filler, slot, sig[VSAFE_EC_MAX_SIG];
    (void)req;
    if (!vsafe_cursor_u8(in, &filler) || !vsafe_cursor_u8(in, &slot)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (!core->entity_pending) {
        return VSAFE_SE_ST_CHALLENGE_MISSING;
    }
    /* Invariant 3: consumed from here on, whatever the outcome. */
    uint8_t challenge[16];
    memcpy(challenge, core->entity_challenge, sizeof challenge);
    core->entity_pending = false;
    core->entity_authenticated = false;
    vsafe_wipe(core->entity_challenge, sizeof core->entity_challenge);
    if (slot >= gpub_count(core)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    const uint8_t *g = gpub_rec(core, slot);
    if (g[SVC_GREC_PRESENT] != 1u) {
        return VSAFE_SE_ST_KEY_NOT_FOUND;
    }
    if ((vsafe_get_be16(g + SVC_GREC_FLAGS) & GPUB_ENTITY_AUTH) == 0u) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    const vsafe_se_curve_t *cv = vsafe_se_curve(g[SVC_GREC_CURVE]);
    if (cv == NULL || !cv->can_sign) {
        return VSAFE_SE_ST_WRONG_KEY_TYPE;
    }
    if (filler != 0x00u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (!vsafe_se_curve_take_sig(in, cv, sig) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (c == NULL || c->ec_verify == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    int valid = 0;
    vsafe_se_core_note_curve(core, g[SVC_GREC_CURVE]);
    if (c->ec_verify(c->ctx, g[SVC_GREC_CURVE], g + SVC_GREC_PUB, 0, challenge, sizeof challenge, sig, &valid) !=
        VSAFE_OK) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    core->entity_authenticated = valid == 1;
    core->out[0] = valid == 1 ? 0x01u : 0x00u;
    core->out_len = 1;
    return VSAFE_SE_ST_OK;
}
