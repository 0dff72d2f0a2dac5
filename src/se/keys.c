/* Private key slots: Query 0x14 (the slot table), Generate key 0x11 tag 0x13, Generate
 * signature 0x16, Verify signature 0x17, Establish key 0x18, Decompress public key 1F 1A.
 *
 * Invariants:
 *  1. Static slots 0..priv_count-1 live in the image (se/layout_svc.h); the ephemeral slot 0xFF
 *     lives in core->eph_* only (RAM), never in core->txn.
 *  2. A static slot's key, curve, usage limit and remaining count are staged together in one
 *     patch set: Generate key lands whole in the command's commit or not at all. A use that
 *     counts (signature, key establishment) stages the new remaining count in the same commit as
 *     its response; a refused or failed use stages nothing.
 *  3. The ephemeral key is single-use: after one Establish key, successful or not, it is wiped
 *     and the slot reads empty.
 *  4. Private keys copied out of the image for an operation and every secret produced (shared
 *     secrets) are wiped on every exit path; the response buffer holding a shared secret is
 *     wiped by the core (core.c invariant 6).
 */
#include <string.h>

#include "common/bytes.h"
#include "common/cursor.h"
#include "common/secure.h"
#include "se/curves.h"
#include "se/layout_svc.h"
#include "se/se_cmd.h"
#include "se/state.h"

#define EPH_SLOT 0xFFu

static const uint8_t *svc_region(const vsafe_se_core_t *core) { return core->image + core->svc; }

static unsigned priv_count(const vsafe_se_core_t *core) { return svc_region(core)[SVC_OFF_PRIV_COUNT]; }

/* 14 14 -> COUNT 00 GLOBAL_LIMIT(2) then per slot SLOT PRESENT MODE(2) [CURVE_ID] */
uint8_t vsafe_se_cmd_query_priv_table(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    (void)in;
    const uint8_t *r = svc_region(core);
    uint8_t *o = core->out;
    size_t n = 0;
    unsigned count = priv_count(core);
    o[n++] = (uint8_t)(count + 1u);
    o[n++] = 0x00;
    o[n++] = r[SVC_OFF_GLOBAL_LIMIT];
    o[n++] = r[SVC_OFF_GLOBAL_LIMIT + 1];
    for (unsigned i = 0; i <= count; i++) {
        bool eph = i == count;
        const uint8_t *p = eph ? NULL : core->image + svc_priv_rec(core->svc, i);
        bool present = eph ? core->eph_present : p[SVC_PREC_PRESENT] == 1u;
        unsigned curve = eph ? core->eph_curve : p[SVC_PREC_CURVE];
        o[n++] = eph ? (uint8_t)EPH_SLOT : (uint8_t)i;
        o[n++] = present ? 1u : 0u;
        o[n++] = eph ? r[SVC_OFF_EPH_MODE] : p[SVC_PREC_MODE];
        o[n++] = eph ? r[SVC_OFF_EPH_MODE + 1] : p[SVC_PREC_MODE + 1];
        const vsafe_se_curve_t *cv = present ? vsafe_se_curve(curve) : NULL;
        if (cv != NULL) {
            memcpy(o + n, cv->id, cv->id_len);
            n += cv->id_len;
        }
    }
    core->out_len = n;
    return VSAFE_SE_ST_OK;
}

/* ---- Slot access ---- */

typedef struct {
    bool eph;
    unsigned index;        /* static slot number */
    uint32_t rec;          /* image offset of a static slot's record */
    bool present;
    unsigned curve;
    uint16_t mode;
    uint16_t limit, remaining;
    const uint8_t *priv;   /* the key (image or core->eph_priv) */
} priv_slot_t;

#define MODE_CHANGE_RIGHT 0x8000u
#define MODE_ESTABLISH 0x0001u
#define MODE_SIGN_EXT 0x0004u
#define MODE_GENKEY_SHIFT 4u
#define MODE_EDDSA_SHIFT 6u

/* The slot of number n, or false if n is not in the table (0x10). */
static bool priv_slot(const vsafe_se_core_t *core, uint8_t n, priv_slot_t *s)
{
    memset(s, 0, sizeof *s);
    if (n == EPH_SLOT) {
        s->eph = true;
        s->present = core->eph_present;
        s->curve = core->eph_curve;
        s->mode = vsafe_get_be16(svc_region(core) + SVC_OFF_EPH_MODE);
        s->priv = core->eph_priv;
        return true;
    }
    if (n >= priv_count(core)) {
        return false;
    }
    const uint8_t *p = core->image + svc_priv_rec(core->svc, n);
    s->index = n;
    s->rec = svc_priv_rec(core->svc, n);
    s->present = p[SVC_PREC_PRESENT] == 1u;
    s->curve = p[SVC_PREC_CURVE];
    s->mode = vsafe_get_be16(p + SVC_PREC_MODE);
    s->limit = vsafe_get_be16(p + SVC_PREC_LIMIT);
    s->remaining = vsafe_get_be16(p + SVC_PREC_REMAINING);
    s->priv = p + SVC_PREC_PRIV;
    return true;
}

/* PD-14: a static slot with a limit refuses at 0 uses left (0x0B); the key stays present. */
static bool priv_exhausted(const priv_slot_t *s) { return !s->eph && s->limit != 0u && s->remaining == 0u; }

/* Stages one counted use (invariant 2). */
static void priv_count_use(vsafe_se_core_t *core, const priv_slot_t *s)
{
    if (!s->eph && s->limit != 0u) {
        vsafe_txn_put_u16(&core->txn, s->rec + SVC_PREC_REMAINING, (uint16_t)(s->remaining - 1u));
    }
}

static uint8_t port_status(int rc)
{
    if (rc == VSAFE_ERR_INVALID_PUBKEY) {
        return VSAFE_SE_ST_INVALID_PUBLIC_KEY;
    }
    if (rc == VSAFE_ERR_ARGUMENT) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    return VSAFE_SE_ST_UNEXPECTED_ERROR;
}

/* ---- Generate key: 11 13 SLOT USAGE_LIMIT(2) 00 00 CURVE_ID -> public key ---- */
uint8_t vsafe_se_cmd_generate_key(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    uint8_t tag, slot_no;
    uint16_t limit, filler;
    uint8_t priv[VSAFE_EC_MAX_KEY], pub[VSAFE_EC_MAX_PUB];
    priv_slot_t s;
    if (!vsafe_cursor_u8(in, &tag)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (tag != 0x13u) {
        /* Tag 0x07 (local envelope key) belongs to the envelope room when it exists. */
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (!vsafe_cursor_u8(in, &slot_no) || !vsafe_cursor_be16(in, &limit) || !vsafe_cursor_be16(in, &filler)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    int curve = vsafe_se_curve_take(in);
    if (curve < 0 || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (!priv_slot(core, slot_no, &s)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    unsigned ac = (s.mode >> MODE_GENKEY_SHIFT) & 3u;
    if (ac >= 2u || (ac == 1u && !req->authenticated)) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    if (curve == VSAFE_CURVE_NONE) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (s.eph && curve == VSAFE_CURVE_ED25519) {
        return VSAFE_SE_ST_WRONG_KEY_TYPE;
    }
    if (limit > vsafe_get_be16(svc_region(core) + SVC_OFF_GLOBAL_LIMIT)) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (c == NULL || c->ec_keygen == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    const vsafe_se_curve_t *cv = vsafe_se_curve((unsigned)curve);
    uint8_t st = VSAFE_SE_ST_OK;
    memset(priv, 0, sizeof priv);
    memset(pub, 0, sizeof pub);
    vsafe_se_core_note_curve(core, (unsigned)curve);
    if (c->ec_keygen(c->ctx, (unsigned)curve, priv, pub) != VSAFE_OK) {
        st = VSAFE_SE_ST_UNEXPECTED_ERROR;
        goto done;
    }
    if (s.eph) {
        /* RAM only (invariant 1); a new key replaces the old one. */
        memcpy(core->eph_priv, priv, sizeof priv);
        memcpy(core->eph_pub, pub, sizeof pub);
        core->eph_curve = (uint8_t)curve;
        core->eph_present = true;
    } else {
        uint8_t rec[SVC_PRIV_REC - SVC_PREC_LIMIT];
        vsafe_txn_put_u8(&core->txn, s.rec + SVC_PREC_PRESENT, 1u);
        vsafe_txn_put_u8(&core->txn, s.rec + SVC_PREC_CURVE, (uint8_t)curve);
        /* limit, remaining, key and public key in one patch (invariant 2) */
        memset(rec, 0, sizeof rec);
        vsafe_put_be16(rec, limit);
        vsafe_put_be16(rec + 2, limit);
        memcpy(rec + (SVC_PREC_PRIV - SVC_PREC_LIMIT), priv, VSAFE_EC_MAX_KEY);
        memcpy(rec + (SVC_PREC_PUB - SVC_PREC_LIMIT), pub, VSAFE_EC_MAX_PUB);
        vsafe_txn_put(&core->txn, s.rec + SVC_PREC_LIMIT, rec, sizeof rec);
        vsafe_wipe(rec, sizeof rec);
    }
    core->out_len = vsafe_se_curve_put_pub(core->out, cv, true, pub);
    if (s.present) {
        vsafe_se_state_forget_keys(core); /* the replaced key may be cached by the port */
    }
done:
    vsafe_wipe(priv, sizeof priv);
    return st;
}

/* ---- Generate signature: 16 SLOT MSG_LEN(2) MESSAGE -> 00 LL R 00 LL S ---- */
uint8_t vsafe_se_cmd_sign(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    uint8_t slot_no;
    uint16_t len;
    const uint8_t *msg;
    uint8_t sig[VSAFE_EC_MAX_SIG];
    priv_slot_t s;
    (void)req;
    if (!vsafe_cursor_u8(in, &slot_no) || !vsafe_cursor_be16(in, &len) || !vsafe_cursor_bytes(in, len, &msg) ||
        !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (!priv_slot(core, slot_no, &s)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    if (s.eph) {
        return VSAFE_SE_ST_WRONG_KEY_USAGE; /* the ephemeral key never signs */
    }
    if (!s.present) {
        return VSAFE_SE_ST_KEY_NOT_FOUND;
    }
    const vsafe_se_curve_t *cv = vsafe_se_curve(s.curve);
    if (cv == NULL || !cv->can_sign) {
        return VSAFE_SE_ST_WRONG_KEY_TYPE;
    }
    if ((s.mode & MODE_SIGN_EXT) == 0u) {
        return VSAFE_SE_ST_WRONG_KEY_USAGE;
    }
    if (priv_exhausted(&s)) {
        return VSAFE_SE_ST_KEY_BLOCKED;
    }
    unsigned variant = 0;
    if (s.curve == VSAFE_CURVE_ED25519) {
        variant = (s.mode >> MODE_EDDSA_SHIFT) & 3u;
        if (variant > 1u || (variant == 1u && len != 64u)) {
            return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
        }
    } else if (len < 1u || len > 64u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE; /* PD-6 */
    }
    if (c == NULL || c->ec_sign == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    uint8_t key[VSAFE_EC_MAX_KEY];
    memcpy(key, s.priv, sizeof key); /* the message may overlap nothing of the image; copy keeps it local */
    vsafe_se_core_note_curve(core, s.curve);
    int rc = c->ec_sign(c->ctx, s.curve, key, variant, msg, len, sig);
    vsafe_wipe(key, sizeof key);
    if (rc != VSAFE_OK) {
        return port_status(rc);
    }
    priv_count_use(core, &s);
    core->out_len = vsafe_se_curve_put_sig(core->out, cv, sig);
    return VSAFE_SE_ST_OK;
}

/* ---- Verify signature: 17 00 CURVE_ID PUB 00 LL R 00 LL S [VARIANT] MSG_LEN(2) MESSAGE -> VALID ---- */
uint8_t vsafe_se_cmd_verify(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    uint8_t subject, variant = 0;
    uint16_t len;
    const uint8_t *msg;
    uint8_t pub[VSAFE_EC_MAX_PUB], sig[VSAFE_EC_MAX_SIG];
    (void)req;
    if (!vsafe_cursor_u8(in, &subject)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (subject != 0x00u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE; /* PD-9 */
    }
    int curve = vsafe_se_curve_take(in);
    if (curve < 0) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    const vsafe_se_curve_t *cv = vsafe_se_curve((unsigned)curve);
    if (cv == NULL || !cv->can_sign) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (!vsafe_se_curve_take_pub(in, cv, true, pub)) {
        return VSAFE_SE_ST_INVALID_PUBLIC_KEY; /* PD-10: wrong 04 / length bytes */
    }
    if (!vsafe_se_curve_take_sig(in, cv, sig)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (curve == VSAFE_CURVE_ED25519 && !vsafe_cursor_u8(in, &variant)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (!vsafe_cursor_be16(in, &len) || !vsafe_cursor_bytes(in, len, &msg) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (curve == VSAFE_CURVE_ED25519) {
        if (variant > 1u || (variant == 1u && len != 64u)) {
            return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
        }
    } else if (len < 1u || len > 64u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (c == NULL || c->ec_verify == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    int valid = 0;
    vsafe_se_core_note_curve(core, (unsigned)curve);
    int rc = c->ec_verify(c->ctx, (unsigned)curve, pub, variant, msg, len, sig, &valid);
    if (rc != VSAFE_OK) {
        return port_status(rc);
    }
    core->out[0] = valid == 1 ? 0x01u : 0x00u;
    core->out_len = 1;
    return VSAFE_SE_ST_OK;
}

/* ---- Establish key: 18 SLOT PEER_PUB -> 00 LL SECRET ---- */
uint8_t vsafe_se_cmd_establish_key(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    uint8_t slot_no;
    uint8_t peer[VSAFE_EC_MAX_PUB], key[VSAFE_EC_MAX_KEY], secret[VSAFE_EC_MAX_KEY];
    priv_slot_t s;
    uint8_t st;
    (void)req;
    if (!vsafe_cursor_u8(in, &slot_no)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (!priv_slot(core, slot_no, &s)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    if (!s.present) {
        return VSAFE_SE_ST_KEY_NOT_FOUND;
    }
    memcpy(key, s.priv, sizeof key);
    if (s.eph) {
        /* PD-11, PD-46: the ephemeral key is used up by this attempt whatever its outcome. */
        core->eph_present = false;
        core->eph_curve = VSAFE_CURVE_NONE;
        vsafe_wipe(core->eph_priv, sizeof core->eph_priv);
        vsafe_wipe(core->eph_pub, sizeof core->eph_pub);
    }
    const vsafe_se_curve_t *cv = vsafe_se_curve(s.curve);
    if (cv == NULL || !cv->can_ecdh) {
        st = VSAFE_SE_ST_WRONG_KEY_TYPE;
        goto done;
    }
    if ((s.mode & MODE_ESTABLISH) == 0u) {
        st = VSAFE_SE_ST_WRONG_KEY_USAGE;
        goto done;
    }
    if (!vsafe_se_curve_take_pub(in, cv, true, peer) || !vsafe_cursor_at_end(in)) {
        st = VSAFE_SE_ST_INVALID_PUBLIC_KEY;
        goto done;
    }
    if (priv_exhausted(&s)) {
        st = VSAFE_SE_ST_KEY_BLOCKED;
        goto done;
    }
    if (c == NULL || c->ec_ecdh == NULL) {
        st = VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
        goto done;
    }
    vsafe_se_core_note_curve(core, s.curve);
    int rc = c->ec_ecdh(c->ctx, s.curve, key, peer, secret);
    if (rc != VSAFE_OK) {
        st = rc == VSAFE_ERR_ARGUMENT ? VSAFE_SE_ST_INVALID_PUBLIC_KEY : port_status(rc);
        goto done;
    }
    priv_count_use(core, &s);
    vsafe_put_be16(core->out, cv->coord);
    memcpy(core->out + 2, secret, cv->coord);
    core->out_len = 2u + cv->coord;
    st = VSAFE_SE_ST_OK;
done:
    if (s.eph) {
        vsafe_se_state_forget_keys(core); /* the used-up ephemeral key may be cached by the port */
    }
    vsafe_wipe(key, sizeof key);
    vsafe_wipe(secret, sizeof secret);
    return st;
}

/* ---- Decompress public key: 1F 1A CURVE_ID PREFIX X -> Y ---- */
uint8_t vsafe_se_cmd_decompress(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    uint8_t prefix;
    const uint8_t *x;
    (void)req;
    int curve = vsafe_se_curve_take(in);
    if (curve < 0 || !vsafe_cursor_u8(in, &prefix)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    const vsafe_se_curve_t *cv = vsafe_se_curve((unsigned)curve);
    if (cv == NULL || cv->edwards_or_montgomery || (prefix != 0x02u && prefix != 0x03u)) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE; /* PD-13 */
    }
    if (!vsafe_cursor_bytes(in, cv->coord, &x) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (c == NULL || c->ec_decompress == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    vsafe_se_core_note_curve(core, (unsigned)curve);
    int rc = c->ec_decompress(c->ctx, (unsigned)curve, prefix, x, core->out);
    core->out_len = cv->coord;
    if (rc != VSAFE_OK) {
        return rc == VSAFE_ERR_ARGUMENT ? VSAFE_SE_ST_INVALID_PUBLIC_KEY : port_status(rc);
    }
    return VSAFE_SE_ST_OK;
}
