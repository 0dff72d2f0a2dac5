/* Host key provisioning: extended commands 0x07 (plaintext write), 0x0B (Generate
 * ECDHE key), 0x03 / 0x06 (start / stop volatile KEK session), 0x08 (wrapped write) and 0x18
 * (establish host key by ECDH), anonymous. Generate ECDHE serves every curve with key
 * establishment (its context is shared with the symmetric-key establishment); the host-key
 * derivations of 0x03 and 0x18 are P-256.
 *
 * Invariants:
 *  1. A key write stages the whole slot in core->txn (present, type, both keys zero-padded to 32
 *     bytes, counter 0, unblocked): it lands in the command's one commit or not at all.
 *  2. Permission comes from the control fields (Query 0x4A byte 0): bit1 plaintext, bit0 anonymous
 *     wrapped and ECDH, bit2 re-provisioning when a key is present; byte 1 must be 0xFF (no
 *     authentication key) for the anonymous variants. Refused: 0x11.
 *  3. The device ephemeral key is used by at most one Start KEK or Establish: it is dropped after
 *     the attempt, successful or not. KEK material is volatile (core->kek_*) and wiped at Stop KEK
 *     and reset.
 *  4. Shared secrets, KEKs, unwrapped envelopes and derived keys are wiped (vsafe_wipe) on every
 *     exit path after they were written.
 *  5. Requests and unwrapped envelopes are parsed with a cursor (common/cursor.h). The
 *     dispatcher checks the fixed lengths of 0x0B and 0x06 and the minimum of 0x03 and 0x18;
 *     0x07 and 0x08 check their permission first and then their length here (se_cmd.h).
 *
 * Choices where the sources are silent (documented for the project):
 *  - Establish / Start KEK without a preceding Generate ECDHE: 0x17 CHALLENGE_MISSING.
 *  - Wrapped write without a KEK session: 0x07 SESSION_ERROR. Envelope integrity failure: 0x18.
 *  - Working KEK info = 10 11 ctr with ctr one byte, 1 for the first write of a session,
 *    advanced on each successful wrapped write.
 *  - Curve other than P-256, or a wrong ALG_ID: 0x03. Malformed public key: 0x19.
 *  - Authenticated variants (PD-16): 00 SIG_SLOT HASH_ID R S after the fixed part; the host's
 *    signature over CURVE_ID || host pub || device pub is checked with the generic public key
 *    slot (se/auth.h) before the ECDHE key is used; no key, no flag or a bad signature: 0x11.
 */
#include <string.h>

#include "common/bytes.h"
#include "common/cursor.h"
#include "common/secure.h"
#include "se/auth.h"
#include "se/curves.h"
#include "se/layout.h"
#include "se/se_cmd.h"
#include "se/state.h"
#include "se/symslot.h"

#define HK_CTRL_ANON 0x01u
#define HK_CTRL_PLAIN 0x02u
#define HK_CTRL_REPROV 0x04u

#define HK_CURVE_ID_LEN VSAFE_SE_HK_CURVE_ID_LEN
#define HK_PUB_LEN VSAFE_SE_HK_PUB_LEN /* 04 00 20 X 00 20 Y */

static const uint8_t hk_curve_p256[HK_CURVE_ID_LEN] = {0x00, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};


static uint8_t hk_may_write(const vsafe_se_core_t *core, uint8_t way)
{
    const uint8_t *img = core->image;
    if ((img[SE_OFF_HK_CTRL0] & way) == 0u) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    if (way == HK_CTRL_ANON && img[SE_OFF_HK_CTRL1] != 0xFFu) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED; /* an authenticated variant is required */
    }
    if (img[SE_OFF_HK_PRESENT] != 0u && (img[SE_OFF_HK_CTRL0] & HK_CTRL_REPROV) == 0u) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    return VSAFE_SE_ST_OK;
}

/* The authenticated Establish host key: the ECDH way allowed (control byte 0 bit 0), re-provisioning
 * as for the anonymous one, and the signing slot (the byte after 00 in rest) the authentication
 * key slot of control byte 1 when that names one. */
static uint8_t hk_may_write_auth(const vsafe_se_core_t *core, const vsafe_cursor_t *rest)
{
    const uint8_t *img = core->image;
    vsafe_cursor_t r = *rest;
    uint8_t zero, slot;
    if (!vsafe_cursor_u8(&r, &zero) || !vsafe_cursor_u8(&r, &slot)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if ((img[SE_OFF_HK_CTRL0] & HK_CTRL_ANON) == 0u ||
        (img[SE_OFF_HK_CTRL1] != 0xFFu && img[SE_OFF_HK_CTRL1] != slot) ||
        (img[SE_OFF_HK_PRESENT] != 0u && (img[SE_OFF_HK_CTRL0] & HK_CTRL_REPROV) == 0u)) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    return VSAFE_SE_ST_OK;
}

/* Invariant 1. klen 16 or 32. */
static void hk_stage_key(vsafe_se_core_t *core, uint8_t type, const uint8_t *mac, const uint8_t *cipher, size_t klen)
{
    uint8_t buf[32];
    vsafe_txn_t *t = &core->txn;
    vsafe_txn_put_u8(t, SE_OFF_HK_PRESENT, 1);
    vsafe_txn_put_u8(t, SE_OFF_HK_TYPE, type);
    vsafe_txn_put_u32(t, SE_OFF_HK_COUNTER, 0);
    vsafe_txn_put_u8(t, SE_OFF_HK_BLOCKED, 0);
    memset(buf, 0, sizeof buf);
    memcpy(buf, mac, klen);
    vsafe_txn_put(t, SE_OFF_HK_MAC_KEY, buf, sizeof buf);
    memset(buf, 0, sizeof buf);
    memcpy(buf, cipher, klen);
    vsafe_txn_put(t, SE_OFF_HK_CIPHER_KEY, buf, sizeof buf);
    vsafe_wipe(buf, sizeof buf);
    /* The crypto slots keep the old key until the next channel open reloads from the committed image. */
    core->host_keys_loaded = false;
}

/* 1F 07 · 00 00 00 · TYPE · MAC · CIPHER */
uint8_t vsafe_se_cmd_hk_write_plain(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const uint8_t *reserved, *mac, *cipher;
    uint8_t type;
    (void)req;
    if (core->crypto == NULL) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    uint8_t st = hk_may_write(core, HK_CTRL_PLAIN);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    size_t n = vsafe_cursor_left(in);
    if ((n != 36u && n != 68u) || !vsafe_cursor_bytes(in, 3u, &reserved) || reserved[0] != 0u ||
        reserved[1] != 0u || reserved[2] != 0u || !vsafe_cursor_u8(in, &type)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (type > 1u) {
        return VSAFE_SE_ST_WRONG_KEY_TYPE;
    }
    size_t klen = type == 1u ? 32u : 16u;
    if (!vsafe_cursor_bytes(in, klen, &mac) || !vsafe_cursor_bytes(in, klen, &cipher) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    hk_stage_key(core, type, mac, cipher, klen);
    return VSAFE_SE_ST_OK;
}

/* Checks CURVE_ID (0x03 if not P-256) and parses a host public key 04 00 20 X 00 20 Y (0x19 if
 * malformed) into pub (X||Y). in holds exactly CURVE_ID || key. */
static uint8_t hk_parse_pub(vsafe_cursor_t *in, uint8_t pub[64])
{
    const uint8_t *curve, *x, *y;
    uint8_t form;
    uint16_t xlen, ylen;
    if (!vsafe_cursor_bytes(in, HK_CURVE_ID_LEN, &curve) || memcmp(curve, hk_curve_p256, HK_CURVE_ID_LEN) != 0) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (!vsafe_cursor_u8(in, &form) || !vsafe_cursor_be16(in, &xlen) || !vsafe_cursor_bytes(in, 32u, &x) ||
        !vsafe_cursor_be16(in, &ylen) || !vsafe_cursor_bytes(in, 32u, &y) || !vsafe_cursor_at_end(in) ||
        form != 0x04u || xlen != 32u || ylen != 32u) {
        return VSAFE_SE_ST_INVALID_PUBLIC_KEY;
    }
    memcpy(pub, x, 32);
    memcpy(pub + 32, y, 32);
    return VSAFE_SE_ST_OK;
}

/* Drops the ECDHE context (invariant 3). */
static void hk_ecdhe_drop(vsafe_se_core_t *core)
{
    bool had = core->ecdhe_ready;
    core->ecdhe_ready = false;
    core->ecdhe_curve = VSAFE_CURVE_NONE;
    vsafe_wipe(core->ecdhe_priv, sizeof core->ecdhe_priv);
    if (had) {
        vsafe_se_state_forget_keys(core); /* the port may hold the used key */
    }
}

/* 1F 0B · CURVE_ID  ->  CURVE_ID · public key (04 00 LL X 00 LL Y; X25519: 00 20 K), any curve
 * with key establishment. The private key stays in core->ecdhe_priv (RAM) for the one following
 * command that uses it; this context is not the private key slot 0xFF. */
uint8_t vsafe_se_cmd_hk_generate_ecdhe(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const vsafe_crypto_t *c = core->crypto;
    (void)req;
    if (c == NULL) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    int curve = vsafe_se_curve_take(in);
    if (curve < 0 || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (curve == VSAFE_CURVE_NONE) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    const vsafe_se_curve_t *cv = vsafe_se_curve((unsigned)curve);
    if (!cv->can_ecdh) {
        return VSAFE_SE_ST_WRONG_KEY_TYPE; /* Ed25519 has no key establishment */
    }
    if (c->ec_keygen == NULL) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    hk_ecdhe_drop(core);
    memset(core->ecdhe_pub, 0, sizeof core->ecdhe_pub);
    vsafe_se_core_note_curve(core, (unsigned)curve);
    if (c->ec_keygen(c->ctx, (unsigned)curve, core->ecdhe_priv, core->ecdhe_pub) != VSAFE_OK) {
        hk_ecdhe_drop(core);
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    core->ecdhe_curve = (uint8_t)curve;
    core->ecdhe_ready = true;
    memcpy(core->out, cv->id, cv->id_len);
    core->out_len = cv->id_len + vsafe_se_curve_put_pub(core->out + cv->id_len, cv, true, core->ecdhe_pub);
    return VSAFE_SE_ST_OK;
}

/* ECDH with the held ephemeral key, which is dropped afterwards (invariant 3). The host-key
 * derivations are defined for P-256 only: an ECDHE of another curve is refused with 0x03. */
static uint8_t hk_ecdh(vsafe_se_core_t *core, const uint8_t host_pub[64], uint8_t secret[32])
{
    const vsafe_crypto_t *c = core->crypto;
    int rc = VSAFE_ERR_UNSUPPORTED;
    bool p256 = core->ecdhe_curve == VSAFE_CURVE_P256;
    if (p256 && c->ec_ecdh != NULL) {
        rc = c->ec_ecdh(c->ctx, VSAFE_CURVE_P256, core->ecdhe_priv, host_pub, secret);
    }
    hk_ecdhe_drop(core);
    if (!p256) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (rc == VSAFE_ERR_ARGUMENT || rc == VSAFE_ERR_INVALID_PUBKEY) {
        return VSAFE_SE_ST_INVALID_PUBLIC_KEY;
    }
    return rc == VSAFE_OK ? VSAFE_SE_ST_OK : VSAFE_SE_ST_UNEXPECTED_ERROR;
}

/* The fixed part of 1F 03 / 1F 18 (base_len bytes) as a cursor of its own. A longer payload is the
 * authenticated variant when its next byte is 0x00 (*auth set; in then holds the signature part,
 * se/auth.h), otherwise malformed (0x02). */
static uint8_t hk_fixed_part(vsafe_cursor_t *in, size_t base_len, vsafe_cursor_t *fixed, bool *auth)
{
    uint8_t next;
    *auth = false;
    if (!vsafe_cursor_sub(in, base_len, fixed)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (vsafe_cursor_peek_u8(in, &next)) {
        if (next != 0x00u) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        *auth = true;
    }
    return VSAFE_SE_ST_OK;
}

/* The host public key's wire bytes (after the CURVE_ID) of a fixed part cursor holding CURVE_ID ||
 * key, for the signed TBS. */
static const uint8_t *hk_pub_wire(const vsafe_cursor_t *key)
{
    vsafe_cursor_t k = *key;
    const uint8_t *p;
    size_t n;
    vsafe_cursor_rest(&k, &p, &n);
    return p + HK_CURVE_ID_LEN;
}

/* PD-16: the authenticated variant's signature, checked before the ECDHE key is used; the ECDHE
 * context is consumed when it fails. */
static uint8_t hk_auth(vsafe_se_core_t *core, vsafe_cursor_t *rest, uint16_t flag, const uint8_t *pub_wire)
{
    uint8_t st = vsafe_se_auth_check(core, rest, flag, VSAFE_CURVE_P256, pub_wire, HK_PUB_LEN);
    if (st != VSAFE_SE_ST_OK) {
        hk_ecdhe_drop(core);
    }
    return st;
}

/* 1F 03 · CURVE_ID · host pub · ALG_ID 01 */
uint8_t vsafe_se_cmd_hk_start_kek(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    vsafe_cursor_t fixed, key;
    uint8_t host_pub[64], secret[32], info[128];
    uint8_t alg;
    (void)req;
    if (core->crypto == NULL) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    bool auth;
    uint8_t st = hk_fixed_part(in, VSAFE_SE_HK_START_KEK_LEN, &fixed, &auth);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if (!vsafe_cursor_sub(&fixed, HK_CURVE_ID_LEN + HK_PUB_LEN, &key) || !vsafe_cursor_u8(&fixed, &alg)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    const uint8_t *pub_wire = hk_pub_wire(&key);
    st = hk_parse_pub(&key, host_pub);
    if (st == VSAFE_SE_ST_OK && alg != 0x01u) {
        st = VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if (!core->ecdhe_ready) {
        return VSAFE_SE_ST_CHALLENGE_MISSING;
    }
    uint8_t auth_slot = 0xFFu; /* the generic public key slot that signed the session; 0xFF anonymous */
    if (auth) {
        vsafe_cursor_t peek = *in;
        uint8_t zero;
        if (!vsafe_cursor_u8(&peek, &zero) || !vsafe_cursor_u8(&peek, &auth_slot)) {
            auth_slot = 0xFFu; /* too short: hk_auth refuses it */
        }
        st = hk_auth(core, in, VSAFE_SE_AUTH_KEK, pub_wire);
        if (st != VSAFE_SE_ST_OK) {
            return st;
        }
    }
    /* A new session replaces any open one. */
    core->kek_active = false;
    vsafe_wipe(core->kek_base, sizeof core->kek_base);
    st = hk_ecdh(core, host_pub, secret);
    if (st == VSAFE_SE_ST_OK) {
        memcpy(info, core->ecdhe_pub, 64);
        memcpy(info + 64, host_pub, 64);
        if (core->crypto->hkdf_sha256(core->crypto->ctx, vsafe_se_kek_salt, sizeof vsafe_se_kek_salt, secret, sizeof secret, info,
                                      sizeof info, core->kek_base, sizeof core->kek_base) == VSAFE_OK) {
            core->kek_active = true;
            core->kek_auth_slot = auth_slot;
            core->kek_counter = 0;
        } else {
            vsafe_wipe(core->kek_base, sizeof core->kek_base);
            st = VSAFE_SE_ST_UNEXPECTED_ERROR;
        }
    }
    vsafe_wipe(secret, sizeof secret);
    return st;
}

/* 1F 06 */
uint8_t vsafe_se_cmd_hk_stop_kek(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    if (core->crypto == NULL) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    if (!vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    core->kek_active = false;
    core->kek_counter = 0;
    vsafe_wipe(core->kek_base, sizeof core->kek_base);
    return VSAFE_SE_ST_OK;
}

/* The unwrapped envelope 00 00 00 · TYPE · MAC · CIPHER · 80 00 00 00; stages the key. */
static uint8_t hk_stage_envelope(vsafe_se_core_t *core, vsafe_cursor_t *env)
{
    const uint8_t *reserved, *mac, *cipher, *pad;
    uint8_t type;
    if (!vsafe_cursor_bytes(env, 3u, &reserved) || reserved[0] != 0u || reserved[1] != 0u || reserved[2] != 0u ||
        !vsafe_cursor_u8(env, &type)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (type > 1u) {
        return VSAFE_SE_ST_WRONG_KEY_TYPE;
    }
    size_t klen = type == 1u ? 32u : 16u;
    if (vsafe_cursor_left(env) != 2u * klen + 4u || !vsafe_cursor_bytes(env, klen, &mac) ||
        !vsafe_cursor_bytes(env, klen, &cipher) || !vsafe_cursor_bytes(env, 4u, &pad) || pad[0] != 0x80u ||
        pad[1] != 0u || pad[2] != 0u || pad[3] != 0u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    hk_stage_key(core, type, mac, cipher, klen);
    return VSAFE_SE_ST_OK;
}

/* 1F 08 · AES-256-KW(working KEK, 00 00 00 TYPE MAC CIPHER 80 00 00 00) */
uint8_t vsafe_se_cmd_hk_write_wrapped(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    uint8_t kek[32], plain[72];
    uint8_t info[3];
    const uint8_t *wrapped;
    size_t n;
    (void)req;
    if (core->crypto == NULL) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    uint8_t st = hk_may_write(core, HK_CTRL_ANON);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    vsafe_cursor_rest(in, &wrapped, &n);
    if (n != 48u && n != 80u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (!core->kek_active || core->kek_counter >= 0xFFu) {
        return VSAFE_SE_ST_SESSION_ERROR;
    }
    info[0] = 0x10;
    info[1] = 0x11;
    info[2] = (uint8_t)(core->kek_counter + 1u);
    if (core->crypto->hkdf_sha256(core->crypto->ctx, vsafe_se_kek_salt, sizeof vsafe_se_kek_salt, core->kek_base,
                                  sizeof core->kek_base, info, sizeof info, kek, sizeof kek) != VSAFE_OK) {
        st = VSAFE_SE_ST_UNEXPECTED_ERROR;
        goto done;
    }
    if (core->crypto->aes_kw_unwrap(core->crypto->ctx, kek, sizeof kek, wrapped, n, plain) != VSAFE_OK) {
        st = VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR;
        goto done;
    }
    vsafe_cursor_t env = vsafe_cursor(plain, n - 8u);
    st = hk_stage_envelope(core, &env);
    if (st == VSAFE_SE_ST_OK) {
        core->kek_counter++;
    }
done:
    vsafe_wipe(kek, sizeof kek);
    vsafe_wipe(plain, sizeof plain);
    return st;
}

/* 1F 18 · CURVE_ID · host pub · ALG_ID 03 · HOST_KEY_TYPE */
uint8_t vsafe_se_cmd_hk_establish(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    vsafe_cursor_t fixed, key;
    uint8_t host_pub[64], secret[32], info[128], okm[64];
    uint8_t alg, type;
    (void)req;
    if (core->crypto == NULL) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    bool auth;
    uint8_t st = hk_fixed_part(in, VSAFE_SE_HK_ESTABLISH_LEN, &fixed, &auth);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if (!vsafe_cursor_sub(&fixed, HK_CURVE_ID_LEN + HK_PUB_LEN, &key) || !vsafe_cursor_u8(&fixed, &alg) ||
        !vsafe_cursor_u8(&fixed, &type)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    const uint8_t *pub_wire = hk_pub_wire(&key);
    st = hk_parse_pub(&key, host_pub);
    if (st == VSAFE_SE_ST_OK && alg != 0x03u) {
        st = VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (st == VSAFE_SE_ST_OK && type > 1u) {
        st = VSAFE_SE_ST_WRONG_KEY_TYPE;
    }
    if (st == VSAFE_SE_ST_OK) {
        st = auth ? hk_may_write_auth(core, in) : hk_may_write(core, HK_CTRL_ANON);
    }
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if (!core->ecdhe_ready) {
        return VSAFE_SE_ST_CHALLENGE_MISSING;
    }
    if (auth) {
        st = hk_auth(core, in, VSAFE_SE_AUTH_HOST_KEY, pub_wire);
        if (st != VSAFE_SE_ST_OK) {
            return st;
        }
    }
    size_t klen = type == 1u ? 32u : 16u;
    st = hk_ecdh(core, host_pub, secret);
    if (st == VSAFE_SE_ST_OK) {
        memcpy(info, host_pub, 64);
        memcpy(info + 64, core->ecdhe_pub, 64);
        if (core->crypto->hkdf_sha256(core->crypto->ctx, vsafe_se_kek_salt, sizeof vsafe_se_kek_salt, secret, sizeof secret, info,
                                      sizeof info, okm, 2u * klen) == VSAFE_OK) {
            hk_stage_key(core, type, okm, okm + klen, klen);
        } else {
            st = VSAFE_SE_ST_UNEXPECTED_ERROR;
        }
    }
    vsafe_wipe(secret, sizeof secret);
    vsafe_wipe(okm, sizeof okm);
    return st;
}
