/* Debug authentication over ADAC framing (byte formats in
 * docs/LIFECYCLE.md).
 *
 * Invariants:
 *  D1 Every Authentication Response that reaches the checks is counted first, in its own commit
 *     that also consumes the challenge; it is un-counted only in the commit that performs the
 *     granted action. A power cut while checking therefore costs an attempt (spec §6.8).
 *  D2 A token verifies only over the nonce of the one outstanding challenge; each Start draws a
 *     fresh nonce from the port RNG and each Response consumes it.
 *  D3 The action is granted only for requested bits inside product & provisioned & every
 *     certificate & token; the decision is re-checked after branching, before committing.
 *  D4 LOCKED, INVALID, inert, OPEN, or attempts exhausted: Start and Response are refused
 *     uncounted. In OPEN nothing can be granted (debug is open, a regression has nowhere to go),
 *     so an attempt there could only waste one of the device's lifetime attempts.
 */
#include <string.h>

#include "common/bytes.h"

#include "common/secure.h"
#include "mcu/mcu_core.h"

#define ADAC_HDR 8u
#define CERT_LEN 168u
#define CERT_SIGNED_LEN 104u
#define TOKEN_LEN 84u
#define TOKEN_SIGNED_LEN 20u
#define CHAIN_MAX 4u

enum {
    ADAC_OK = 0x0000,
    ADAC_FAILURE = 0x0001,
    ADAC_UNSUPPORTED = 0x0003,
    ADAC_UNAUTHORIZED = 0x0004,
    ADAC_INVALID_PARAMETERS = 0x0005,
    ADAC_INVALID_COMMAND = 0x7FFF
};

enum {
    TLV_VERSION = 0x0001,
    TLV_SOC_CLASS = 0x0002,
    TLV_SOC_ID = 0x0003,
    TLV_PSA_LIFECYCLE = 0x0004,
    TLV_PRODUCT_MASK = 0x0005,
    TLV_PROVISIONED_MASK = 0x0006,
    TLV_TOKEN_FORMATS = 0x0007,
    TLV_CERT_FORMATS = 0x0008,
    TLV_CRYPTO_SYSTEMS = 0x0009,
    TLV_PRODUCT_STATE = 0x000A,
    TLV_TZEN = 0x000B,
    TLV_ATTEMPTS_LEFT = 0x000C,
    TLV_CERT = 0x0201,
    TLV_TOKEN = 0x0202,
    TLV_ST_PROVISIONED = 0x8000, /* Discovery: 0xEAEAEAEA when provisioned; Response: password */
    TLV_VSAFE_STATUS = 0x8001
};

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

static void w_tlv32(writer_t *w, uint16_t type, uint32_t v)
{
    uint8_t b[4];
    vsafe_put_le32(b, v);
    w_tlv(w, type, b, 4);
}

static uint16_t adac_status(int rc)
{
    switch (rc) {
    case VSAFE_OK: return ADAC_OK;
    case VSAFE_ERR_PARSE:
    case VSAFE_ERR_ARGUMENT: return ADAC_INVALID_PARAMETERS;
    case VSAFE_ERR_UNSUPPORTED: return ADAC_INVALID_COMMAND;
    case VSAFE_ERR_DA_METHOD: return ADAC_UNSUPPORTED;
    default:
        return (rc <= -700 && rc > -800) || rc == VSAFE_ERR_MCU_LOCKED ? ADAC_UNAUTHORIZED : ADAC_FAILURE;
    }
}

static void product_mask(uint8_t m[16])
{
    memset(m, 0, 16);
    m[0] = 0xFF; /* bits 0..7 */
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
    uint8_t ver[4] = {1, 0, 0, 0}; /* ADAC 1.0 */
    uint8_t pm[16];
    product_mask(pm);
    w_tlv(w, TLV_VERSION, ver, 4);
    w_tlv32(w, TLV_SOC_CLASS, info.soc_class);
    w_tlv(w, TLV_SOC_ID, info.soc_id, 16);
    w_tlv32(w, TLV_PSA_LIFECYCLE, info.psa_lifecycle);
    w_tlv(w, TLV_PRODUCT_MASK, pm, 16);
    w_tlv(w, TLV_PROVISIONED_MASK, info.da_mask, 16);
    w_tlv32(w, TLV_TOKEN_FORMATS, 0x0200u);
    w_tlv32(w, TLV_CERT_FORMATS, 0x0201u);
    w_tlv32(w, TLV_CRYPTO_SYSTEMS, 0x01u); /* ECDSA P-256 / SHA-256 */
    w_tlv32(w, TLV_PRODUCT_STATE, (uint32_t)info.state);
    w_tlv32(w, TLV_TZEN, info.trustzone ? VSAFE_MCU_TZEN_ON : VSAFE_MCU_TZEN_OFF);
    w_tlv32(w, TLV_ATTEMPTS_LEFT, info.da_attempts >= info.da_attempt_limit ? 0u : info.da_attempt_limit - info.da_attempts);
    w_tlv32(w, TLV_ST_PROVISIONED, info.da_provisioned ? 0xEAEAEAEAu : 0u);
    return VSAFE_OK;
}

static int da_gate(const struct vsafe_mcu *m)
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
    if (mcu_attempts(m) >= mcu_get32(m->image + MCU_OFF_ATTEMPT_LIMIT)) {
        return VSAFE_ERR_DA_ATTEMPTS_EXHAUSTED;
    }
    return VSAFE_OK;
}

static int cmd_start(struct vsafe_mcu *m, writer_t *w)
{
    int rc = da_gate(m);
    if (rc != VSAFE_OK) {
        return rc;
    }
    uint8_t nonce[32];
    rc = m->crypto->random(m->crypto->ctx, nonce, sizeof nonce);
    if (rc != VSAFE_OK) {
        return rc;
    }
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put(&m->txn, MCU_OFF_NONCE, nonce, sizeof nonce);
    vsafe_txn_put_u8(&m->txn, MCU_OFF_CHAL_VALID, MCU_CHAL_MAGIC);
    rc = vsafe_store_commit(&m->store, &m->txn);
    if (rc != VSAFE_OK) {
        return rc;
    }
    uint8_t hdr[4] = {1, 0, 0, 0}; /* challenge format version 1, reserved */
    w_bytes(w, hdr, 4);
    w_bytes(w, nonce, sizeof nonce);
    return VSAFE_OK;
}

static int sha256(const struct vsafe_mcu *m, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                  uint8_t out[32])
{
    vsafe_iov_t iov[2] = {{a, a_len}, {b, b_len}};
    return m->crypto->sha256(m->crypto->ctx, iov, b != NULL ? 2u : 1u, out);
}

typedef struct {
    const uint8_t *cert[CHAIN_MAX];
    unsigned certs;
    const uint8_t *token;
    const uint8_t *password;
    uint32_t password_len;
} auth_msg_t;

static int parse_auth(const uint8_t *p, size_t len, auth_msg_t *a)
{
    memset(a, 0, sizeof *a);
    size_t pos = 0;
    while (pos < len) {
        if (len - pos < 8u) {
            return VSAFE_ERR_PARSE;
        }
        uint16_t type = vsafe_get_le16(p + pos + 2);
        uint32_t n = vsafe_get_le32(p + pos + 4);
        size_t padded = (size_t)n + (4u - n % 4u) % 4u;
        if (n > 4096u || len - pos - 8u < padded) {
            return VSAFE_ERR_PARSE;
        }
        const uint8_t *v = p + pos + 8;
        if (type == TLV_CERT) {
            if (n != CERT_LEN || a->certs >= CHAIN_MAX) {
                return VSAFE_ERR_PARSE;
            }
            a->cert[a->certs++] = v;
        } else if (type == TLV_TOKEN) {
            if (n != TOKEN_LEN || a->token != NULL) {
                return VSAFE_ERR_PARSE;
            }
            a->token = v;
        } else if (type == TLV_ST_PROVISIONED) {
            if (n < 4u || n > 16u || a->password != NULL) {
                return VSAFE_ERR_PARSE;
            }
            a->password = v;
            a->password_len = n;
        } else {
            return VSAFE_ERR_PARSE;
        }
        pos += 8u + padded;
    }
    return VSAFE_OK;
}

/* Certificate method: returns the granted permission bits in req (the token's request). */
static int check_certificates(struct vsafe_mcu *m, const auth_msg_t *a, const uint8_t nonce[32], uint8_t req[16])
{
    const uint8_t *cfg = m->image + mcu_obk_off(VSAFE_MCU_OBK_HDPL1);
    if (a->certs < 2u || a->token == NULL || a->password != NULL) {
        return VSAFE_ERR_PARSE;
    }
    /* Order first: root, intermediates, leaf. */
    for (unsigned i = 0; i < a->certs; i++) {
        uint8_t role_want = i == 0u ? 1u : (i + 1u == a->certs ? 3u : 2u);
        if (a->cert[i][0] != 1u || a->cert[i][1] != role_want) {
            return VSAFE_ERR_DA_BAD_CHAIN;
        }
    }
    uint8_t h[32];
    int rc = sha256(m, a->cert[0] + 40, 64, NULL, 0, h);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (!vsafe_ct_equal(h, cfg + 32, 32)) {
        return VSAFE_ERR_DA_UNAUTHORIZED;
    }
    uint8_t allowed[16];
    product_mask(allowed);
    const uint8_t soc_zero[16] = {0};
    for (unsigned i = 0; i < a->certs; i++) {
        const uint8_t *c = a->cert[i];
        const uint8_t *parent = i == 0u ? c + 40 : a->cert[i - 1u] + 40;
        rc = sha256(m, c, CERT_SIGNED_LEN, NULL, 0, h);
        if (rc != VSAFE_OK) {
            return rc;
        }
        if (m->crypto->ecdsa_verify(m->crypto->ctx, parent, h, c + CERT_SIGNED_LEN) != VSAFE_OK) {
            return VSAFE_ERR_DA_BAD_CHAIN;
        }
        uint32_t cls = vsafe_get_le32(c + 4);
        if ((cls != 0u && cls != mcu_get32(m->image + MCU_OFF_SOC_CLASS)) ||
            (!vsafe_ct_equal(c + 8, soc_zero, 16) && !vsafe_ct_equal(c + 8, m->image + MCU_OFF_SOC_ID, 16))) {
            return VSAFE_ERR_DA_SOC_MISMATCH;
        }
        for (int j = 0; j < 16; j++) {
            allowed[j] &= c[24 + j];
        }
    }
    const uint8_t *t = a->token;
    if (t[0] != 1u) {
        return VSAFE_ERR_PARSE;
    }
    rc = sha256(m, nonce, 32, t, TOKEN_SIGNED_LEN, h);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (m->crypto->ecdsa_verify(m->crypto->ctx, a->cert[a->certs - 1u] + 40, h, t + TOKEN_SIGNED_LEN) != VSAFE_OK) {
        return VSAFE_ERR_DA_STALE_NONCE;
    }
    uint8_t any = 0, outside = 0;
    for (int j = 0; j < 16; j++) {
        allowed[j] &= cfg[64 + j];
        req[j] = t[4 + j];
        any |= req[j];
        outside |= (uint8_t)(req[j] & (uint8_t)~allowed[j]);
    }
    if (any == 0u || outside != 0u) {
        return VSAFE_ERR_DA_PERMISSION;
    }
    /* D3: re-check after branching. */
    outside = 0;
    for (int j = 0; j < 16; j++) {
        outside |= (uint8_t)(req[j] & (uint8_t)~(allowed[j] & cfg[64 + j]));
    }
    return outside == 0u ? VSAFE_OK : VSAFE_ERR_CORRUPTION_DETECTED;
}

static int check_password(struct vsafe_mcu *m, const auth_msg_t *a, uint8_t req[16])
{
    const uint8_t *cfg = m->image + mcu_obk_off(VSAFE_MCU_OBK_HDPL1);
    if (a->password == NULL || a->certs != 0u || a->token != NULL) {
        return VSAFE_ERR_PARSE;
    }
    uint8_t h[32];
    int rc = sha256(m, a->password, a->password_len, NULL, 0, h);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (!vsafe_ct_equal(h, cfg + 32, 32)) {
        return VSAFE_ERR_DA_BAD_PASSWORD;
    }
    memset(req, 0, 16);
    req[0] = 1u << VSAFE_DA_PERM_REGRESS_FULL; /* the password method only regresses */
    return vsafe_ct_equal(h, cfg + 32, 32) ? VSAFE_OK : VSAFE_ERR_CORRUPTION_DETECTED;
}

static int cmd_response(struct vsafe_mcu *m, const uint8_t *p, size_t len)
{
    int rc = da_gate(m);
    if (rc != VSAFE_OK) {
        return rc;
    }
    /* D1: count the attempt and consume the challenge before looking at anything. */
    uint8_t nonce[32];
    bool have_chal = m->image[MCU_OFF_CHAL_VALID] == MCU_CHAL_MAGIC;
    memcpy(nonce, m->image + MCU_OFF_NONCE, sizeof nonce);
    uint32_t attempts = mcu_attempts(m);
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put_u32(&m->txn, MCU_OFF_ATTEMPTS, attempts + 1u);
    vsafe_txn_put_u32(&m->txn, MCU_OFF_ATTEMPTS_INV, ~(attempts + 1u));
    vsafe_txn_put_u8(&m->txn, MCU_OFF_CHAL_VALID, 0u);
    rc = vsafe_store_commit(&m->store, &m->txn);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (!have_chal) {
        return VSAFE_ERR_DA_NO_CHALLENGE;
    }
    auth_msg_t a;
    rc = parse_auth(p, len, &a);
    if (rc != VSAFE_OK) {
        return rc;
    }
    bool tz = mcu_tz_on(m);
    if ((tz && a.password != NULL) || (!tz && (a.certs != 0u || a.token != NULL))) {
        return VSAFE_ERR_DA_METHOD;
    }
    if (!mcu_da_config_valid(m)) {
        return VSAFE_ERR_DA_NOT_PROVISIONED;
    }
    uint8_t req[16];
    rc = tz ? check_certificates(m, &a, nonce, req) : check_password(m, &a, req);
    vsafe_wipe(nonce, sizeof nonce);
    if (rc != VSAFE_OK) {
        return rc;
    }
    vsafe_mcu_state_t s = vsafe_mcu_state(m);
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put_u32(&m->txn, MCU_OFF_ATTEMPTS, attempts);
    vsafe_txn_put_u32(&m->txn, MCU_OFF_ATTEMPTS_INV, ~attempts);
    if (mcu_bit(req, VSAFE_DA_PERM_REGRESS_FULL)) {
        if (s == VSAFE_MCU_STATE_OPEN || s == VSAFE_MCU_STATE_LOCKED || s == VSAFE_MCU_STATE_INVALID) {
            return VSAFE_ERR_MCU_TRANSITION;
        }
        return mcu_request_regression(m, true, &m->txn);
    }
    if (mcu_bit(req, VSAFE_DA_PERM_REGRESS_PARTIAL)) {
        if (s != VSAFE_MCU_STATE_CLOSED || !tz) {
            return VSAFE_ERR_MCU_TRANSITION;
        }
        return mcu_request_regression(m, false, &m->txn);
    }
    /* T9: debug reopen, in force until the next reset. */
    uint8_t grant[16];
    for (int j = 0; j < 16; j++) {
        grant[j] = (uint8_t)(m->image[MCU_OFF_GRANT + j] | req[j]);
    }
    vsafe_txn_put(&m->txn, MCU_OFF_GRANT, grant, sizeof grant);
    return vsafe_store_commit(&m->store, &m->txn);
}

static int cmd_lock_debug(struct vsafe_mcu *m)
{
    if (mcu_inert(m)) {
        return VSAFE_ERR_MCU_INERT;
    }
    static const uint8_t none[16];
    if (memcmp(m->image + MCU_OFF_GRANT, none, 16) == 0) {
        return VSAFE_OK;
    }
    vsafe_txn_begin(&m->txn);
    vsafe_txn_put(&m->txn, MCU_OFF_GRANT, none, 16);
    return vsafe_store_commit(&m->store, &m->txn);
}

int vsafe_mcu_da_request(vsafe_mcu_t *m, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                         size_t *out_len)
{
    if (m == NULL || in == NULL || out == NULL || out_len == NULL || out_cap < ADAC_HDR) {
        return VSAFE_ERR_ARGUMENT;
    }
    writer_t w = {out, out_cap, ADAC_HDR, false};
    int rc;
    if (in_len < ADAC_HDR || (in_len - ADAC_HDR) % 4u != 0u || vsafe_get_le32(in + 4) != (in_len - ADAC_HDR) / 4u) {
        rc = VSAFE_ERR_PARSE;
    } else {
        const uint8_t *payload = in + ADAC_HDR;
        size_t plen = in_len - ADAC_HDR;
        switch (vsafe_get_le16(in + 2)) {
        case 0x0001: rc = plen == 0u ? cmd_discovery(m, &w) : VSAFE_ERR_PARSE; break;
        case 0x0002: rc = plen == 0u ? cmd_start(m, &w) : VSAFE_ERR_PARSE; break;
        case 0x0003: rc = cmd_response(m, payload, plen); break;
        case 0x0005: rc = mcu_inert(m) ? VSAFE_ERR_MCU_INERT : VSAFE_OK; break; /* Resume Boot */
        case 0x0006: rc = cmd_lock_debug(m); break;
        default: rc = VSAFE_ERR_UNSUPPORTED; break;
        }
    }
    if (rc == VSAFE_OK && w.overflow) {
        rc = VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    if (rc != VSAFE_OK) {
        w.len = ADAC_HDR;
        w.overflow = false;
        w_tlv32(&w, TLV_VSAFE_STATUS, (uint32_t)(int32_t)rc);
        if (w.overflow) {
            w.len = ADAC_HDR;
        }
    }
    vsafe_put_le16(out, 0);
    vsafe_put_le16(out + 2, adac_status(rc));
    vsafe_put_le32(out + 4, (uint32_t)((w.len - ADAC_HDR) / 4u));
    *out_len = w.len;
    return rc;
}
