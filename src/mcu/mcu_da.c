/* Debug authentication, Arm PSA ADAC as the STM32H5 implements it (byte formats in
 * docs/LIFECYCLE.md): Discovery, Authentication Start (challenge), then Authentication Responses
 * carrying one fragment each (a certificate, root first, answered NEED_MORE_DATA; then the token;
 * or the password), Resume Boot, Lock Debug, and the lifecycle-change command (unsupported here).
 *
 * The exchange state (phase, accepted certificates, AND of their masks, key of the last one) is
 * part of the image, so an exchange spans several requests and several tool invocations of a
 * board that stays powered; reset discards it.
 *
 * Invariants:
 *  D1 The first Response after a Start is counted before anything in it is looked at, in its own
 *     commit; it is un-counted only in the commit that performs the granted action. A power cut
 *     while checking therefore costs an attempt (lifecycle invariant 8). Every refusal ends the
 *     exchange (challenge consumed, phase IDLE): a new Start, hence a new attempt, is needed.
 *  D2 A token verifies only over the vector of the one outstanding challenge; each Start draws a
 *     fresh vector from the port RNG and ends any exchange under way.
 *  D3 The action is granted only for requested bits inside product & provisioned & every
 *     certificate & token; the decision is re-checked after branching, before committing.
 *  D4 LOCKED answers nothing (not even Discovery); INVALID, inert, OPEN, or attempts exhausted:
 *     Start and Response are refused uncounted. In OPEN nothing can be granted (debug is open, a
 *     regression has nowhere to go), so an attempt there could only waste a lifetime attempt.
 *  D5 An STM32H503 keeps its DA configuration in OTP (the bytes of OBK HDPL1, mcu_core.h): it is
 *     written once, by vsafe_mcu_otp_provision_password, and only while erased.
 */
#include <string.h>

#include "common/bytes.h"
#include "common/secure.h"
#include "mcu/mcu_core.h"

#define ADAC_HDR 8u
#define CERT_SIGNED_LEN 148u  /* header (52) + public key (64) + extensions hash (32) */
#define CERT_OFF_ROLE 4u
#define CERT_OFF_EXT_BYTES 12u
#define CERT_OFF_SOC_CLASS 16u
#define CERT_OFF_SOC_ID 20u
#define CERT_OFF_MASK 36u
#define CERT_OFF_PUB 52u
#define TOKEN_SIGNED_LEN 56u  /* header (24) + extensions hash (32) */
#define TOKEN_OFF_EXT_BYTES 4u
#define TOKEN_OFF_PERM 8u
#define CHAIN_MAX 4u
#define TLV_MAX 4096u

static const uint8_t zeros16[16];

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;
} writer_t;

static void w_bytes(writer_t *w, const void *p, size_t n)
{
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void w_tlv(writer_t *w, uint16_t type, const void *v, uint32_t n)
{
    static const uint8_t pad[4];
    uint8_t h[8] = {0};
    vsafe_put_le16(h + 2, type);
    vsafe_put_le32(h + 4, n);
    w_bytes(w, h, 8);
    w_bytes(w, v, n);
    w_bytes(w, pad, (4u - n % 4u) % 4u);
}

static void w_tlv16(writer_t *w, uint16_t type, uint16_t v)
{
    uint8_t b[2];
    vsafe_put_le16(b, v);
    w_tlv(w, type, b, 2);
}

static void w_tlv32(writer_t *w, uint16_t type, uint32_t v)
{
    uint8_t b[4];
    vsafe_put_le32(b, v);
    w_tlv(w, type, b, 4);
}

static uint16_t adac_status(int rc)
{
    switch (rc) {
    case VSAFE_OK: return VSAFE_DA_ST_SUCCESS;
    case VSAFE_ERR_PARSE:
    case VSAFE_ERR_ARGUMENT: return VSAFE_DA_ST_INVALID_PARAMETERS;
    case VSAFE_ERR_UNSUPPORTED: return VSAFE_DA_ST_INVALID_COMMAND;
    case VSAFE_ERR_DA_METHOD: return VSAFE_DA_ST_UNSUPPORTED;
    default:
        return (rc <= -700 && rc > -800) || rc == VSAFE_ERR_MCU_LOCKED ? VSAFE_DA_ST_UNAUTHORIZED : VSAFE_DA_ST_FAILURE;
    }
}

static void product_mask(uint8_t m[16])
{
    memset(m, 0, 16);
    vsafe_put_le32(m, VSAFE_DA_PRODUCT_MASK);
}

/* ---- commands ---- */

static int cmd_discovery(struct vsafe_mcu *m, writer_t *w)
{
    if (mcu_inert(m)) {
        return VSAFE_ERR_MCU_INERT;
    }
    vsafe_mcu_info_t info;
    int rc = vsafe_mcu_info(m, &info);
    if (rc != VSAFE_OK) {
        return rc;
    }
    static const uint8_t version[2] = {1, 0};   /* ADAC 1.0: major, minor */
    static const uint8_t vendor[2] = {0x20, 0}; /* STMicroelectronics (JEP106 0x20), as ST's parts send it */
    static const uint8_t crypto[1] = {0x01};    /* ECDSA P-256 / SHA-256 */
    uint8_t pm[16];
    product_mask(pm);
    w_tlv(w, VSAFE_DA_TLV_AUTH_VERSION, version, sizeof version);
    w_tlv(w, VSAFE_DA_TLV_VENDOR_ID, vendor, sizeof vendor);
    w_tlv32(w, VSAFE_DA_TLV_SOC_CLASS, info.soc_class);
    w_tlv(w, VSAFE_DA_TLV_SOC_ID, info.soc_id, 16);
    w_tlv(w, VSAFE_DA_TLV_HW_PERMISSIONS_MASK, pm, 16);
    w_tlv16(w, VSAFE_DA_TLV_PSA_LIFECYCLE, (uint16_t)info.psa_lifecycle);
    w_tlv16(w, VSAFE_DA_TLV_TOKEN_FORMATS, VSAFE_DA_TLV_TOKEN);
    w_tlv16(w, VSAFE_DA_TLV_CERT_FORMATS, VSAFE_DA_TLV_CERT);
    w_tlv(w, VSAFE_DA_TLV_CRYPTOSYSTEMS, crypto, sizeof crypto);
    w_tlv32(w, VSAFE_DA_TLV_ST_PROVISIONED, info.da_provisioned ? 0xEAEAEAEAu : 0xFFFFFFFFu);
    w_tlv(w, VSAFE_DA_TLV_PROVISIONED_MASK, info.da_mask, 16);
    w_tlv32(w, VSAFE_DA_TLV_PRODUCT_STATE, (uint32_t)info.state);
    w_tlv32(w, VSAFE_DA_TLV_TZEN, info.trustzone ? VSAFE_MCU_TZEN_ON : VSAFE_MCU_TZEN_OFF);
    w_tlv32(w, VSAFE_DA_TLV_ATTEMPTS_LEFT,
            info.da_attempts >= info.da_attempt_limit ? 0u : info.da_attempt_limit - info.da_attempts);
    /* What an authentication opened (until reset or Lock Debug), so that a host outside the
     * process can tell whether Lock Debug has anything to close. */
    w_tlv(w, VSAFE_DA_TLV_DEBUG_GRANT, info.debug_grant, 16);
    return VSAFE_OK;
}

/* counted: this request continues an exchange whose attempt is already counted (the limit is
 * then reached by that attempt itself, which may still finish). */
static int da_gate(const struct vsafe_mcu *m, bool counted)
{
    if (mcu_inert(m)) {
        return VSAFE_ERR_MCU_INERT;
    }
    vsafe_mcu_state_t s = vsafe_mcu_state(m);
    if (s == VSAFE_MCU_STATE_INVALID) {
        return VSAFE_ERR_MCU_INVALID_STATE;
    }
    if (s == VSAFE_MCU_STATE_LOCKED) {
        return VSAFE_ERR_MCU_LOCKED;
    }
    if (s == VSAFE_MCU_STATE_OPEN) {
        return VSAFE_ERR_STATE;
    }
    uint32_t a = mcu_attempts(m), limit = mcu_get32(m->image + MCU_OFF_ATTEMPT_LIMIT);
    if (a == UINT32_MAX || (counted ? a > limit : a >= limit)) {
        return VSAFE_ERR_DA_ATTEMPTS_EXHAUSTED;
    }
    return VSAFE_OK;
}

static bool exchange_counted(const struct vsafe_mcu *m)
{
    uint8_t phase = m->image[MCU_OFF_AUTH_PHASE];
    return m->image[MCU_OFF_CHAL_VALID] == MCU_CHAL_MAGIC && phase >= MCU_AUTH_ROOT && phase <= MCU_AUTH_LEAF;
}

static void stage_exchange_end(vsafe_txn_t *txn)
{
    vsafe_txn_put_u8(txn, MCU_OFF_CHAL_VALID, 0u);
    vsafe_txn_put_u8(txn, MCU_OFF_AUTH_PHASE, MCU_AUTH_IDLE);
    vsafe_txn_put_u8(txn, MCU_OFF_AUTH_CERTS, 0u);
}

static int cmd_start(struct vsafe_mcu *m, writer_t *w)
{
    int rc = da_gate(m, false);
    if (rc != VSAFE_OK) {
        return rc;
    }
    uint8_t vec[32];
    rc = m->crypto->random(m->crypto->ctx, vec, sizeof vec);
    if (rc != VSAFE_OK) {
        return rc;
    }
    uint8_t all[16];
    memset(all, 0xFF, sizeof all);
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put(&m->txn, MCU_OFF_NONCE, vec, sizeof vec);
    vsafe_txn_put_u8(&m->txn, MCU_OFF_CHAL_VALID, MCU_CHAL_MAGIC);
    vsafe_txn_put_u8(&m->txn, MCU_OFF_AUTH_PHASE, MCU_AUTH_CHALLENGE);
    vsafe_txn_put_u8(&m->txn, MCU_OFF_AUTH_CERTS, 0u);
    vsafe_txn_put(&m->txn, MCU_OFF_AUTH_MASK, all, sizeof all);
    rc = vsafe_store_commit(&m->store, &m->txn);
    if (rc != VSAFE_OK) {
        return rc;
    }
    static const uint8_t hdr[4] = {1, 0, 0, 0}; /* challenge format version 1.0, reserved */
    w_bytes(w, hdr, 4);
    w_bytes(w, vec, sizeof vec);
    vsafe_wipe(vec, sizeof vec);
    return VSAFE_OK;
}

static int sha256(const struct vsafe_mcu *m, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                  uint8_t out[32])
{
    vsafe_iov_t iov[2] = {{a, a_len}, {b, b_len}};
    return m->crypto->sha256(m->crypto->ctx, iov, b != NULL ? 2u : 1u, out);
}

/* One fragment {u16 reserved, u16 type, u32 length, value padded to words}: exactly the payload. */
static int parse_fragment(const uint8_t *p, size_t len, uint16_t *type, const uint8_t **v, uint32_t *n)
{
    if (len < 8u || vsafe_get_le16(p) != 0u) {
        return VSAFE_ERR_PARSE;
    }
    *type = vsafe_get_le16(p + 2);
    *n = vsafe_get_le32(p + 4);
    if (*n > TLV_MAX || len - 8u != ((size_t)*n + 3u) / 4u * 4u) {
        return VSAFE_ERR_PARSE;
    }
    *v = p + 8;
    return VSAFE_OK;
}

/* A certificate fragment: verifies it under the root hash (root) or the previous key, checks its
 * SoC binding, then records its key and mask (not committed here). */
static int take_certificate(struct vsafe_mcu *m, const uint8_t *c, uint32_t n, uint8_t phase, vsafe_txn_t *txn)
{
    if (n != VSAFE_DA_CERT_LEN) {
        return VSAFE_ERR_PARSE;
    }
    uint8_t role = c[CERT_OFF_ROLE];
    /* psa-adac: version 1.x, ECDSA P-256 signature and key, no extensions in a 212-byte body. */
    if (c[0] != 1u || c[2] != 1u || c[3] != 1u || vsafe_get_le32(c + CERT_OFF_EXT_BYTES) != 0u) {
        return VSAFE_ERR_DA_BAD_CHAIN;
    }
    bool want_root = phase == MCU_AUTH_CHALLENGE;
    if (want_root ? role != VSAFE_DA_ROLE_ROOT
                  : ((phase != MCU_AUTH_ROOT && phase != MCU_AUTH_CHAIN) ||
                     (role != VSAFE_DA_ROLE_INTERMEDIATE && role != VSAFE_DA_ROLE_LEAF))) {
        return VSAFE_ERR_DA_BAD_CHAIN; /* out of order: root, intermediates, then leaf */
    }
    if (m->image[MCU_OFF_AUTH_CERTS] >= CHAIN_MAX) {
        return VSAFE_ERR_DA_BAD_CHAIN;
    }
    uint8_t h[32];
    int rc;
    if (want_root) {
        const uint8_t *cfg = m->image + mcu_obk_off(VSAFE_MCU_OBK_HDPL1);
        rc = sha256(m, c + CERT_OFF_PUB, 64, NULL, 0, h);
        if (rc != VSAFE_OK) {
            return rc;
        }
        if (!vsafe_ct_equal(h, cfg + 32, 32)) {
            return VSAFE_ERR_DA_UNAUTHORIZED;
        }
    }
    const uint8_t *signer = want_root ? c + CERT_OFF_PUB : m->image + MCU_OFF_AUTH_KEY;
    rc = sha256(m, c, CERT_SIGNED_LEN, NULL, 0, h);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (m->crypto->ecdsa_verify(m->crypto->ctx, signer, h, c + CERT_SIGNED_LEN) != VSAFE_OK) {
        return VSAFE_ERR_DA_BAD_CHAIN;
    }
    uint32_t cls = vsafe_get_le32(c + CERT_OFF_SOC_CLASS);
    if ((cls != 0u && cls != mcu_get32(m->image + MCU_OFF_SOC_CLASS)) ||
        (!vsafe_ct_equal(c + CERT_OFF_SOC_ID, zeros16, 16) &&
         !vsafe_ct_equal(c + CERT_OFF_SOC_ID, m->image + MCU_OFF_SOC_ID, 16))) {
        return VSAFE_ERR_DA_SOC_MISMATCH;
    }
    uint8_t mask[16];
    for (int j = 0; j < 16; j++) {
        mask[j] = (uint8_t)(m->image[MCU_OFF_AUTH_MASK + j] & c[CERT_OFF_MASK + j]);
    }
    uint8_t next = role == VSAFE_DA_ROLE_ROOT ? MCU_AUTH_ROOT
                                              : (role == VSAFE_DA_ROLE_INTERMEDIATE ? MCU_AUTH_CHAIN : MCU_AUTH_LEAF);
    vsafe_txn_put(txn, MCU_OFF_AUTH_MASK, mask, sizeof mask);
    vsafe_txn_put(txn, MCU_OFF_AUTH_KEY, c + CERT_OFF_PUB, 64);
    vsafe_txn_put_u8(txn, MCU_OFF_AUTH_PHASE, next);
    vsafe_txn_put_u8(txn, MCU_OFF_AUTH_CERTS, (uint8_t)(m->image[MCU_OFF_AUTH_CERTS] + 1u));
    return VSAFE_OK;
}

/* The token: signed by the last accepted key (the leaf) over its body and the challenge vector.
 * Returns the granted bits in req. A chain of the root alone is allowed, as in psa-adac. */
static int take_token(struct vsafe_mcu *m, const uint8_t *t, uint32_t n, uint8_t phase, uint8_t req[16])
{
    if (phase != MCU_AUTH_ROOT && phase != MCU_AUTH_LEAF) {
        return VSAFE_ERR_DA_BAD_CHAIN; /* no certificate yet, or an intermediate without its leaf */
    }
    if (n != VSAFE_DA_TOKEN_LEN || t[0] != 1u || t[2] != 1u || vsafe_get_le32(t + TOKEN_OFF_EXT_BYTES) != 0u) {
        return VSAFE_ERR_PARSE;
    }
    uint8_t h[32];
    int rc = sha256(m, t, TOKEN_SIGNED_LEN, m->image + MCU_OFF_NONCE, 32, h);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (m->crypto->ecdsa_verify(m->crypto->ctx, m->image + MCU_OFF_AUTH_KEY, h, t + TOKEN_SIGNED_LEN) != VSAFE_OK) {
        return VSAFE_ERR_DA_STALE_NONCE;
    }
    const uint8_t *cfg = m->image + mcu_obk_off(VSAFE_MCU_OBK_HDPL1);
    uint8_t allowed[16], any = 0, outside = 0;
    product_mask(allowed);
    for (int j = 0; j < 16; j++) {
        allowed[j] &= (uint8_t)(cfg[64 + j] & m->image[MCU_OFF_AUTH_MASK + j]);
        req[j] = t[TOKEN_OFF_PERM + j];
        any |= req[j];
        outside |= (uint8_t)(req[j] & (uint8_t)~allowed[j]);
    }
    if (any == 0u || outside != 0u) {
        return VSAFE_ERR_DA_PERMISSION;
    }
    /* D3: re-check after branching, from the image. */
    outside = 0;
    for (int j = 0; j < 16; j++) {
        outside |= (uint8_t)(req[j] & (uint8_t)~(cfg[64 + j] & m->image[MCU_OFF_AUTH_MASK + j]));
    }
    outside |= (uint8_t)(vsafe_get_le32(req) & ~VSAFE_DA_PRODUCT_MASK);
    return outside == 0u ? VSAFE_OK : VSAFE_ERR_CORRUPTION_DETECTED;
}

static int take_password(struct vsafe_mcu *m, const uint8_t *pw, uint32_t n, uint8_t phase, uint8_t req[16])
{
    const uint8_t *cfg = m->image + mcu_obk_off(VSAFE_MCU_OBK_HDPL1);
    if (phase != MCU_AUTH_CHALLENGE || n < 4u || n > 16u) {
        return VSAFE_ERR_PARSE;
    }
    uint8_t h[32];
    int rc = sha256(m, pw, n, NULL, 0, h);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (!vsafe_ct_equal(h, cfg + 32, 32)) {
        return VSAFE_ERR_DA_BAD_PASSWORD;
    }
    memset(req, 0, 16);
    req[VSAFE_DA_PERM_REGRESS_FULL / 8u] = 1u << (VSAFE_DA_PERM_REGRESS_FULL % 8u); /* password: full only */
    rc = vsafe_ct_equal(h, cfg + 32, 32) ? VSAFE_OK : VSAFE_ERR_CORRUPTION_DETECTED;
    vsafe_wipe(h, sizeof h);
    return rc;
}

/* Performs what a verified token or password grants, un-counting the attempt in the same commit. */
static int grant(struct vsafe_mcu *m, const uint8_t req[16], uint32_t attempts)
{
    vsafe_mcu_state_t s = vsafe_mcu_state(m);
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put_u32(&m->txn, MCU_OFF_ATTEMPTS, attempts);
    vsafe_txn_put_u32(&m->txn, MCU_OFF_ATTEMPTS_INV, ~attempts);
    stage_exchange_end(&m->txn);
    if (mcu_bit(req, VSAFE_DA_PERM_REGRESS_FULL)) {
        if (s == VSAFE_MCU_STATE_OPEN || s == VSAFE_MCU_STATE_LOCKED || s == VSAFE_MCU_STATE_INVALID) {
            return VSAFE_ERR_MCU_TRANSITION;
        }
        return mcu_request_regression(m, true, &m->txn);
    }
    if (mcu_bit(req, VSAFE_DA_PERM_REGRESS_PARTIAL)) {
        if (s != VSAFE_MCU_STATE_CLOSED || !mcu_tz_on(m)) {
            return VSAFE_ERR_MCU_TRANSITION;
        }
        return mcu_request_regression(m, false, &m->txn);
    }
    /* T9: debug reopen at the HDPLs the bits name, in force until the next reset. */
    uint8_t g[16];
    for (int j = 0; j < 16; j++) {
        g[j] = (uint8_t)(m->image[MCU_OFF_GRANT + j] | req[j]);
    }
    vsafe_txn_put(&m->txn, MCU_OFF_GRANT, g, sizeof g);
    return vsafe_store_commit(&m->store, &m->txn);
}

static int cmd_response(struct vsafe_mcu *m, const uint8_t *p, size_t len, bool *more)
{
    int rc = da_gate(m, exchange_counted(m));
    if (rc != VSAFE_OK) {
        return rc;
    }
    uint8_t phase = m->image[MCU_OFF_AUTH_PHASE];
    bool have_chal = m->image[MCU_OFF_CHAL_VALID] == MCU_CHAL_MAGIC && phase >= MCU_AUTH_CHALLENGE &&
                     phase <= MCU_AUTH_LEAF;
    uint32_t attempts = mcu_attempts(m);
    if (!have_chal) {
        /* Nothing outstanding: counted all the same (D1), so that probing costs attempts. */
        vsafe_txn_begin(&m->txn);
        vsafe_txn_put_u32(&m->txn, MCU_OFF_ATTEMPTS, attempts + 1u);
        vsafe_txn_put_u32(&m->txn, MCU_OFF_ATTEMPTS_INV, ~(attempts + 1u));
        stage_exchange_end(&m->txn);
        rc = vsafe_store_commit(&m->store, &m->txn);
        return rc != VSAFE_OK ? rc : VSAFE_ERR_DA_NO_CHALLENGE;
    }
    if (phase == MCU_AUTH_CHALLENGE) {
        /* D1: the first fragment is counted before it is looked at. The counted value stays in
         * the image until the grant, which writes back attempts - 1. */
        vsafe_txn_begin(&m->txn);
        vsafe_txn_put_u32(&m->txn, MCU_OFF_ATTEMPTS, attempts + 1u);
        vsafe_txn_put_u32(&m->txn, MCU_OFF_ATTEMPTS_INV, ~(attempts + 1u));
        rc = vsafe_store_commit(&m->store, &m->txn);
        if (rc != VSAFE_OK) {
            return rc;
        }
    } else {
        attempts -= 1u; /* already counted at the first fragment */
    }
    uint16_t type = 0;
    const uint8_t *v = NULL;
    uint32_t n = 0;
    uint8_t req[16];
    bool tz = mcu_tz_on(m);
    rc = parse_fragment(p, len, &type, &v, &n);
    if (rc == VSAFE_OK && ((tz && type == VSAFE_DA_TLV_PASSWORD) ||
                           (!tz && (type == VSAFE_DA_TLV_CERT || type == VSAFE_DA_TLV_TOKEN)))) {
        rc = VSAFE_ERR_DA_METHOD;
    }
    if (rc == VSAFE_OK && !mcu_da_config_valid(m)) {
        rc = VSAFE_ERR_DA_NOT_PROVISIONED;
    }
    if (rc == VSAFE_OK) {
        vsafe_txn_begin(&m->txn);
        if (type == VSAFE_DA_TLV_CERT) {
            rc = take_certificate(m, v, n, phase, &m->txn);
            if (rc == VSAFE_OK) {
                *more = true;
                return vsafe_store_commit(&m->store, &m->txn);
            }
        } else if (type == VSAFE_DA_TLV_TOKEN) {
            rc = take_token(m, v, n, phase, req);
        } else if (type == VSAFE_DA_TLV_PASSWORD) {
            rc = take_password(m, v, n, phase, req);
        } else {
            rc = VSAFE_ERR_PARSE;
        }
    }
    if (rc == VSAFE_OK) {
        return grant(m, req, attempts);
    }
    /* D1: a refusal ends the exchange; the attempt stays counted. */
    vsafe_txn_begin(&m->txn);
    stage_exchange_end(&m->txn);
    int rc2 = vsafe_store_commit(&m->store, &m->txn);
    return rc2 != VSAFE_OK ? rc2 : rc;
}

int vsafe_mcu_otp_provision_password(vsafe_mcu_t *m, const uint8_t pw_hash[32])
{
    if (m == NULL || pw_hash == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (!mcu_part_h503(m)) {
        return VSAFE_ERR_UNSUPPORTED; /* a part with OBK keeps its DA configuration in OBK HDPL1 */
    }
    if (mcu_inert(m)) {
        return VSAFE_ERR_MCU_INERT;
    }
    vsafe_mcu_state_t s = vsafe_mcu_state(m);
    if (s == VSAFE_MCU_STATE_INVALID) {
        return VSAFE_ERR_MCU_INVALID_STATE;
    }
    if (s != VSAFE_MCU_STATE_OPEN && s != VSAFE_MCU_STATE_PROVISIONING) {
        return VSAFE_ERR_STATE; /* the provisioning tool reaches the OTP through the debug port */
    }
    const uint8_t *otp = m->image + mcu_obk_off(MCU_OTP_AREA);
    uint8_t erased = 0xFF;
    for (uint32_t i = 0; i < vsafe_mcu_obk_size(MCU_OTP_AREA); i++) {
        erased &= otp[i];
    }
    if (erased != 0xFFu) {
        return VSAFE_ERR_MCU_OTP_LOCKED; /* D5: once programmed, never again */
    }
    /* The model's form of the OTP content: the DA configuration of a password (docs/LIFECYCLE.md). */
    uint8_t cfg[VSAFE_DA_CONFIG_LEN];
    memset(cfg, 0, sizeof cfg);
    memcpy(cfg + 32, pw_hash, 32);
    product_mask(cfg + 64);
    int rc = sha256(m, cfg + 32, VSAFE_DA_CONFIG_LEN - 32u, NULL, 0, cfg);
    if (rc == VSAFE_OK) {
        vsafe_txn_begin(&m->txn);
        vsafe_txn_put(&m->txn, mcu_obk_off(MCU_OTP_AREA), cfg, sizeof cfg);
        rc = vsafe_store_commit(&m->store, &m->txn);
    }
    vsafe_wipe(cfg, sizeof cfg);
    return rc;
}

static int cmd_lock_debug(struct vsafe_mcu *m)
{
    if (mcu_inert(m)) {
        return VSAFE_ERR_MCU_INERT;
    }
    if (memcmp(m->image + MCU_OFF_GRANT, zeros16, 16) == 0) {
        return VSAFE_OK;
    }
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put(&m->txn, MCU_OFF_GRANT, zeros16, 16);
    return vsafe_store_commit(&m->store, &m->txn);
}

int vsafe_mcu_da_request(vsafe_mcu_t *m, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                         size_t *out_len)
{
    if (m == NULL || in == NULL || out == NULL || out_len == NULL || out_cap < ADAC_HDR) {
        return VSAFE_ERR_ARGUMENT;
    }
    writer_t w = {out, out_cap, ADAC_HDR, false};
    bool more = false, lcs = false;
    int rc;
    if (vsafe_mcu_state(m) == VSAFE_MCU_STATE_LOCKED) {
        rc = VSAFE_ERR_MCU_LOCKED; /* D4: the debug port is closed for good, Discovery included */
    } else if (in_len < ADAC_HDR || (in_len - ADAC_HDR) % 4u != 0u ||
               vsafe_get_le32(in + 4) != (in_len - ADAC_HDR) / 4u || vsafe_get_le16(in) != 0u) {
        rc = VSAFE_ERR_PARSE;
    } else {
        const uint8_t *payload = in + ADAC_HDR;
        size_t plen = in_len - ADAC_HDR;
        switch (vsafe_get_le16(in + 2)) {
        case VSAFE_DA_CMD_DISCOVERY: rc = plen == 0u ? cmd_discovery(m, &w) : VSAFE_ERR_PARSE; break;
        case VSAFE_DA_CMD_AUTH_START: rc = plen == 0u ? cmd_start(m, &w) : VSAFE_ERR_PARSE; break;
        case VSAFE_DA_CMD_AUTH_RESPONSE: rc = cmd_response(m, payload, plen, &more); break;
        case VSAFE_DA_CMD_RESUME_BOOT: rc = mcu_inert(m) ? VSAFE_ERR_MCU_INERT : VSAFE_OK; break;
        case VSAFE_DA_CMD_LOCK_DEBUG: rc = cmd_lock_debug(m); break;
        case VSAFE_DA_CMD_LCS_CHANGE: rc = VSAFE_ERR_UNSUPPORTED, lcs = true; break; /* by option bytes here */
        default: rc = VSAFE_ERR_UNSUPPORTED; break;
        }
    }
    if (rc == VSAFE_OK && w.overflow) {
        rc = VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    if (rc != VSAFE_OK) {
        w.len = ADAC_HDR;
        w.overflow = false;
        w_tlv32(&w, VSAFE_DA_TLV_VSAFE_STATUS, (uint32_t)(int32_t)rc);
        if (w.overflow) {
            w.len = ADAC_HDR;
        }
    }
    vsafe_put_le16(out, 0);
    vsafe_put_le16(out + 2, lcs ? VSAFE_DA_ST_UNSUPPORTED
                                : (rc == VSAFE_OK && more ? VSAFE_DA_ST_NEED_MORE_DATA : adac_status(rc)));
    vsafe_put_le32(out + 4, (uint32_t)((w.len - ADAC_HDR) / 4u));
    *out_len = w.len;
    return rc;
}
