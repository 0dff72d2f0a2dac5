/* Symmetric key table and provisioning: Query 0x23 (the table), Query / Put 0x4B (provisioning
 * control fields), extended 0x17 (write plaintext), 0x09 (write wrapped, inside a KEK session),
 * 0x04 / 0x05 (establish by ECDHE, confirm), 0x19 (erase).
 *
 * Invariants:
 *  1. Every change is staged in core->txn after every check passed, and lands in the command's
 *     one commit or not at all: a key with its attributes and CCM* counter 0 (se/symslot.c); all
 *     keys of one Confirm together; a control-field Put; an erase. A refusal stages nothing.
 *  2. Control fields (Query 0x4B) are written only while their change right (byte 0 bit 3) is 1;
 *     a Put stores the value as given, so a byte 0 with bit 3 clear locks them for good.
 *  3. A slot holding a key that is locked (or erasable) is never overwritten (0x11); a locked key
 *     is never erased (0x11). Erasing an empty slot succeeds and stages nothing.
 *  4. The pending establishment (core->sym_pending, sym_secret, sym_auth_slot) is RAM only: it
 *     is set by a successful 1F 04, consumed by the next 1F 05 whatever its result, wiped at
 *     reset. The device ECDHE key is consumed by 1F 04 whether it succeeds or not, also when the
 *     signature of the authenticated variant is refused. A Confirm writes a slot whose control
 *     byte 2 names a generic public key slot only after an establishment signed by that slot,
 *     and a slot without the "ECDHE anonymous" bit only after a signed one.
 *  5. A Confirm whose MAC does not verify answers 0x02, never 0x16: the host reads 0x16 as a
 *     failed C-MAC and would not advance its channel counter.
 *  6. Shared secrets, derived keys and unwrapped envelopes are wiped on every exit path.
 *
 * Choices (documented for the project): a wrapped or established generic secret receives the 16
 * bytes the host sends or derives for it (STSELib's limit) whatever its GENERIC_KEY_LEN says; a
 * Confirm names each slot at most once and at most one record per slot of the table (0x02).
 */
#include <string.h>

#include "common/bytes.h"
#include "common/cursor.h"
#include "common/secure.h"
#include "se/auth.h"
#include "se/curves.h"
#include "se/layout_svc.h"
#include "se/se_cmd.h"
#include "se/state.h"
#include "se/symslot.h"

static const uint8_t *ctrl_of(const uint8_t *rec) { return rec + SVC_SREC_CTRL; }


/* 14 23 -> COUNT then per slot: 00 (empty) or B0 TYPE MODE USAGE(2) PARAMS as the host parses
 * them (CCM*: TAG CTR_BYTE [COUNTER(4) when CTR_BYTE bit 7]; CMAC: MIN_MAC_LEN; GCM: TAG; none
 * for ECB, HKDF, HMAC). */
uint8_t vsafe_se_cmd_query_sym_table(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    (void)in;
    unsigned count = vsafe_se_sym_count(core);
    uint8_t *o = core->out;
    size_t n = 0;
    o[n++] = (uint8_t)count;
    for (unsigned s = 0; s < count; s++) {
        const uint8_t *r = vsafe_se_sym_rec(core, s);
        if (!vsafe_se_sym_present(r)) {
            o[n++] = 0x00;
            continue;
        }
        o[n++] = r[SVC_SREC_B0] & 0x07u;
        o[n++] = r[SVC_SREC_TYPE];
        o[n++] = r[SVC_SREC_MODE];
        o[n++] = r[SVC_SREC_USAGE];
        o[n++] = r[SVC_SREC_USAGE + 1];
        switch (r[SVC_SREC_MODE]) {
        case VSAFE_SYM_CCM:
            o[n++] = r[SVC_SREC_PARAMS];
            o[n++] = r[SVC_SREC_PARAMS + 1];
            if ((r[SVC_SREC_PARAMS + 1] & 0x80u) != 0u) {
                memcpy(o + n, r + SVC_SREC_COUNTER, 4);
                n += 4;
            }
            break;
        case VSAFE_SYM_CMAC:
        case VSAFE_SYM_GCM:
            o[n++] = r[SVC_SREC_PARAMS];
            break;
        default:
            break;
        }
    }
    core->out_len = n;
    return VSAFE_SE_ST_OK;
}

/* 14 4B SLOT -> B0 B1 B2 */
uint8_t vsafe_se_cmd_query_sym_ctrl(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    uint8_t slot;
    (void)req;
    if (!vsafe_cursor_u8(in, &slot) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (slot >= vsafe_se_sym_count(core)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    memcpy(core->out, ctrl_of(vsafe_se_sym_rec(core, slot)), 3);
    core->out_len = 3;
    return VSAFE_SE_ST_OK;
}

/* 10 4B SLOT B0 B1 B2 (invariant 2) */
uint8_t vsafe_se_cmd_put_sym_ctrl(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    uint8_t slot;
    const uint8_t *v;
    (void)req;
    if (!vsafe_cursor_u8(in, &slot) || !vsafe_cursor_bytes(in, 3u, &v) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (slot >= vsafe_se_sym_count(core)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    if ((ctrl_of(vsafe_se_sym_rec(core, slot))[0] & VSAFE_SYM_CTRL_CHANGE_RIGHT) == 0u) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    if ((v[0] & 0xC0u) != 0u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    vsafe_txn_put(&core->txn, vsafe_se_sym_rec_off(core, slot) + SVC_SREC_CTRL, v, 3);
    return VSAFE_SE_ST_OK;
}

/* The lock rule of invariant 3 and the record's own checks, for a write into ki->slot. */
static uint8_t may_overwrite(const vsafe_se_core_t *core, const vsafe_se_keyinfo_t *ki)
{
    const uint8_t *r = vsafe_se_sym_rec(core, ki->slot);
    if (vsafe_se_sym_present(r) && vsafe_se_sym_lock(r) != VSAFE_SYM_UNLOCKED) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    return vsafe_se_keyinfo_check(ki);
}

/* 1F 17 KEY_INFO (slot byte included) KEY(key length of KEY_TYPE / GENERIC_KEY_LEN) */
uint8_t vsafe_se_cmd_sym_write_plain(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    vsafe_se_keyinfo_t ki;
    const uint8_t *key;
    (void)req;
    uint8_t st = vsafe_se_keyinfo_take(in, true, &ki);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if (ki.slot >= vsafe_se_sym_count(core)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    if ((ctrl_of(vsafe_se_sym_rec(core, ki.slot))[0] & VSAFE_SYM_CTRL_PLAINTEXT) == 0u) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    st = may_overwrite(core, &ki);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if (!vsafe_cursor_bytes(in, ki.key_len, &key) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    vsafe_se_sym_stage_key(core, &ki, key, ki.key_len);
    vsafe_se_state_sym_changed(core);
    return VSAFE_SE_ST_OK;
}

/* 1F 19 SLOT */
uint8_t vsafe_se_cmd_sym_erase(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    uint8_t slot;
    (void)req;
    if (!vsafe_cursor_u8(in, &slot) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (slot >= vsafe_se_sym_count(core)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    const uint8_t *r = vsafe_se_sym_rec(core, slot);
    if (!vsafe_se_sym_present(r)) {
        return VSAFE_SE_ST_OK;
    }
    if (vsafe_se_sym_lock(r) == VSAFE_SYM_LOCKED) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    vsafe_se_sym_stage_erase(core, slot);
    vsafe_se_state_sym_changed(core);
    return VSAFE_SE_ST_OK;
}

/* The key length a wrapped or established key carries: 32 for AES-256, 16 for every other type. */
static uint8_t transported_len(const vsafe_se_keyinfo_t *ki) { return ki->type == VSAFE_SYM_AES256 ? 32u : 16u; }

/* 1F 09 AES-256-KW(working KEK, KEY_INFO KEY 80 00..) */
uint8_t vsafe_se_cmd_sym_write_wrapped(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    uint8_t kek[32], plain[48], info[3];
    const uint8_t *wrapped, *key, *pad;
    vsafe_se_keyinfo_t ki;
    size_t n, padn;
    uint8_t st;
    (void)req;
    if (c == NULL || c->hkdf_sha256 == NULL || c->aes_kw_unwrap == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    if (!core->kek_active || core->kek_counter >= 0xFFu) {
        return VSAFE_SE_ST_SESSION_ERROR;
    }
    vsafe_cursor_rest(in, &wrapped, &n);
    if (n < 24u || n > sizeof plain + 8u || n % 8u != 0u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    info[0] = 0x10;
    info[1] = 0x11;
    info[2] = (uint8_t)(core->kek_counter + 1u);
    if (c->hkdf_sha256(c->ctx, vsafe_se_kek_salt, sizeof vsafe_se_kek_salt, core->kek_base, sizeof core->kek_base,
                       info, sizeof info, kek, sizeof kek) != VSAFE_OK) {
        st = VSAFE_SE_ST_UNEXPECTED_ERROR;
        goto done;
    }
    if (c->aes_kw_unwrap(c->ctx, kek, sizeof kek, wrapped, n, plain) != VSAFE_OK) {
        st = VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR;
        goto done;
    }
    vsafe_cursor_t env = vsafe_cursor(plain, n - 8u);
    st = vsafe_se_keyinfo_take(&env, true, &ki);
    if (st == VSAFE_SE_ST_OK && !vsafe_cursor_bytes(&env, transported_len(&ki), &key)) {
        st = VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (st != VSAFE_SE_ST_OK) {
        goto done;
    }
    /* 80 then zeros, 1..8 bytes: the padding is part of what the envelope proves */
    vsafe_cursor_rest(&env, &pad, &padn);
    bool pad_ok = padn >= 1u && padn <= 8u && pad[0] == 0x80u;
    for (size_t i = 1; pad_ok && i < padn; i++) {
        pad_ok = pad[i] == 0u;
    }
    if (!pad_ok) {
        st = VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR;
        goto done;
    }
    if (ki.slot >= vsafe_se_sym_count(core)) {
        st = VSAFE_SE_ST_ENTRY_NOT_FOUND;
        goto done;
    }
    const uint8_t *ctrl = ctrl_of(vsafe_se_sym_rec(core, ki.slot));
    if ((core->kek_auth_slot == 0xFFu && (ctrl[0] & VSAFE_SYM_CTRL_WRAPPED_ANON) == 0u) ||
        (ctrl[1] != 0xFFu && ctrl[1] != core->kek_auth_slot)) {
        st = VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
        goto done;
    }
    st = may_overwrite(core, &ki);
    if (st == VSAFE_SE_ST_OK) {
        vsafe_se_sym_stage_key(core, &ki, key, transported_len(&ki) < ki.key_len ? transported_len(&ki)
                                                                                 : ki.key_len);
        core->kek_counter++;
        vsafe_se_state_sym_changed(core);
    }
done:
    vsafe_wipe(kek, sizeof kek);
    vsafe_wipe(plain, sizeof plain);
    return st;
}

/* The shared secret of the device ECDHE key (curve cv) with a host public key: the ECDHE context
 * is consumed whatever the result (invariant 4). */
static uint8_t sym_ecdh(vsafe_se_core_t *core, const vsafe_se_curve_t *cv, const uint8_t *host_pub)
{
    const vsafe_crypto_t *c = core->crypto;
    vsafe_se_core_note_curve(core, core->ecdhe_curve);
    int rc = c->ec_ecdh(c->ctx, core->ecdhe_curve, core->ecdhe_priv, host_pub, core->sym_secret);
    core->ecdhe_ready = false;
    core->ecdhe_curve = VSAFE_CURVE_NONE;
    vsafe_wipe(core->ecdhe_priv, sizeof core->ecdhe_priv);
    vsafe_se_state_forget_keys(core);
    if (rc != VSAFE_OK) {
        vsafe_wipe(core->sym_secret, sizeof core->sym_secret);
        return rc == VSAFE_ERR_ARGUMENT || rc == VSAFE_ERR_INVALID_PUBKEY ? VSAFE_SE_ST_INVALID_PUBLIC_KEY
                                                                          : VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    core->sym_secret_len = cv->coord;
    return VSAFE_SE_ST_OK;
}

/* 1F 04 CURVE_ID HOST_PUB 02 [00 SIG_SLOT HASH_ID R S] */
uint8_t vsafe_se_cmd_sym_establish(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    uint8_t host_pub[VSAFE_EC_MAX_PUB];
    uint8_t alg;
    (void)req;
    if (core->crypto == NULL || core->crypto->ec_ecdh == NULL || core->crypto->hkdf_sha256 == NULL ||
        core->crypto->cmac_raw == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    /* a new establishment replaces a pending one */
    core->sym_pending = false;
    vsafe_wipe(core->sym_secret, sizeof core->sym_secret);
    int curve = vsafe_se_curve_take(in);
    if (curve < 0) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    const vsafe_se_curve_t *cv = vsafe_se_curve((unsigned)curve);
    if (cv == NULL || !cv->can_ecdh) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    vsafe_cursor_t pub_at = *in;
    if (!vsafe_se_curve_take_pub(in, cv, true, host_pub)) {
        return VSAFE_SE_ST_INVALID_PUBLIC_KEY;
    }
    const uint8_t *pub_wire;
    size_t pub_wire_len = vsafe_cursor_left(&pub_at) - vsafe_cursor_left(in);
    if (!vsafe_cursor_bytes(&pub_at, pub_wire_len, &pub_wire) || !vsafe_cursor_u8(in, &alg)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (alg != 0x02u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (!core->ecdhe_ready) {
        return VSAFE_SE_ST_CHALLENGE_MISSING;
    }
    if (core->ecdhe_curve != (uint8_t)curve) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE; /* not the curve of the device's ECDHE key */
    }
    /* The authenticated variant: 00 SIG_SLOT HASH_ID R S, the host's signature over CURVE_ID ||
     * host pub || device pub checked with the generic public key of SIG_SLOT (its "may
     * authenticate 1F 04" flag set) before the ECDHE key is used; a refusal consumes it (PD-16). */
    uint8_t auth_slot = 0xFFu;
    if (!vsafe_cursor_at_end(in)) {
        vsafe_cursor_t peek = *in;
        uint8_t zero;
        if (!vsafe_cursor_u8(&peek, &zero) || !vsafe_cursor_u8(&peek, &auth_slot)) {
            auth_slot = 0xFFu; /* too short: vsafe_se_auth_check refuses it */
        }
        uint8_t st = vsafe_se_auth_check(core, in, VSAFE_SE_AUTH_SYM_ESTABLISH, (unsigned)curve, pub_wire,
                                         pub_wire_len);
        if (st != VSAFE_SE_ST_OK) {
            core->ecdhe_ready = false;
            core->ecdhe_curve = VSAFE_CURVE_NONE;
            vsafe_wipe(core->ecdhe_priv, sizeof core->ecdhe_priv);
            vsafe_se_state_forget_keys(core);
            return st;
        }
    }
    uint8_t st = sym_ecdh(core, cv, host_pub);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    core->sym_auth_slot = auth_slot;
    core->sym_pending = true;
    return VSAFE_SE_ST_OK;
}

#define CONFIRM_MAC_LEN 8u

/* 1F 05 MAC(8) { LEN(2) KEY_INFO(LEN) } x n, n >= 1 */
uint8_t vsafe_se_cmd_sym_confirm(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    vsafe_se_keyinfo_t ki[SVC_SYM_SLOTS];
    const uint8_t *mac, *records;
    uint8_t full[16];
    unsigned n = 0;
    size_t okm_len = 32, records_len;
    uint8_t st;
    static const uint8_t info[2] = {0x12, 0x13};
    (void)req;
    if (c == NULL || c->hkdf_sha256 == NULL || c->cmac_raw == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    if (!core->sym_pending) {
        return VSAFE_SE_ST_CHALLENGE_MISSING;
    }
    /* invariant 4: consumed here, whatever follows (the secret is wiped at done) */
    core->sym_pending = false;
    if (!vsafe_cursor_bytes(in, CONFIRM_MAC_LEN, &mac)) {
        st = VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        goto done;
    }
    vsafe_cursor_t recs = *in;
    vsafe_cursor_rest(in, &records, &records_len);
    while (!vsafe_cursor_at_end(&recs)) {
        uint16_t len;
        vsafe_cursor_t one;
        if (n == vsafe_se_sym_count(core) || !vsafe_cursor_be16(&recs, &len) || !vsafe_cursor_sub(&recs, len, &one)) {
            st = VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
            goto done;
        }
        st = vsafe_se_keyinfo_take(&one, true, &ki[n]);
        if (st == VSAFE_SE_ST_OK && !vsafe_cursor_at_end(&one)) {
            st = VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA; /* LEN disagrees with MODE */
        }
        for (unsigned j = 0; st == VSAFE_SE_ST_OK && j < n; j++) {
            if (ki[j].slot == ki[n].slot) {
                st = VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
            }
        }
        if (st != VSAFE_SE_ST_OK) {
            goto done;
        }
        okm_len += transported_len(&ki[n]);
        n++;
    }
    if (n == 0u) {
        st = VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        goto done;
    }
    /* The OKM lives in the response working buffer (no response payload here); the core wipes
     * core->out over out_len, which covers it until it is wiped below. */
    uint8_t *okm = core->out;
    core->out_len = okm_len;
    if (c->hkdf_sha256(c->ctx, vsafe_se_kek_salt, sizeof vsafe_se_kek_salt, core->sym_secret, core->sym_secret_len,
                       info, sizeof info, okm, okm_len) != VSAFE_OK ||
        c->cmac_raw(c->ctx, okm, 32u, records, records_len, full) != VSAFE_OK) {
        st = VSAFE_SE_ST_UNEXPECTED_ERROR;
        goto done;
    }
    if (!vsafe_ct_equal(full, mac, CONFIRM_MAC_LEN)) {
        st = VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA; /* invariant 5 */
        goto done;
    }
    for (unsigned i = 0; i < n; i++) {
        if (ki[i].slot >= vsafe_se_sym_count(core)) {
            st = VSAFE_SE_ST_ENTRY_NOT_FOUND;
            goto done;
        }
        const uint8_t *ctrl = ctrl_of(vsafe_se_sym_rec(core, ki[i].slot));
        if ((core->sym_auth_slot == 0xFFu && (ctrl[0] & VSAFE_SYM_CTRL_ECDHE_ANON) == 0u) ||
            (ctrl[2] != 0xFFu && ctrl[2] != core->sym_auth_slot)) {
            st = VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
            goto done;
        }
        st = may_overwrite(core, &ki[i]);
        if (st != VSAFE_SE_ST_OK) {
            goto done;
        }
    }
    size_t off = 32;
    for (unsigned i = 0; i < n; i++) {
        uint8_t t = transported_len(&ki[i]);
        vsafe_se_sym_stage_key(core, &ki[i], okm + off, t < ki[i].key_len ? t : ki[i].key_len);
        off += t;
    }
    vsafe_se_state_sym_changed(core);
    st = VSAFE_SE_ST_OK;
done:
    if (core->out_len > 0u) {
        vsafe_wipe(core->out, core->out_len);
        core->out_len = 0;
    }
    vsafe_wipe(full, sizeof full);
    vsafe_wipe(core->sym_secret, sizeof core->sym_secret);
    core->sym_secret_len = 0;
    return st;
}
