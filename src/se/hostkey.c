/* Host key provisioning (spec §6.1, §13): extended commands 0x07 (plaintext write), 0x0B (Generate
 * ECDHE key), 0x03 / 0x06 (start / stop volatile KEK session), 0x08 (wrapped write) and 0x18
 * (establish host key by ECDH), all P-256 and anonymous.
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
 *  4. Shared secrets, KEKs, unwrapped envelopes and derived keys are wiped on every exit path.
 *
 * Choices where the sources are silent (documented for the project):
 *  - Establish / Start KEK without a preceding Generate ECDHE: 0x17 CHALLENGE_MISSING.
 *  - Wrapped write without a KEK session: 0x07 SESSION_ERROR. Envelope integrity failure: 0x18.
 *  - Working KEK info = 10 11 ctr with ctr one byte, 1 for the first write of a session,
 *    advanced on each successful wrapped write.
 *  - Curve other than P-256, or a wrong ALG_ID: 0x03. Malformed public key: 0x19.
 *  - Authenticated variants (signature by a generic public key slot): 0x0A, this device has no
 *    generic public key slots.
 */
#include <string.h>

#include "se/core.h"
#include "se/layout.h"

#define HK_CTRL_ANON 0x01u
#define HK_CTRL_PLAIN 0x02u
#define HK_CTRL_REPROV 0x04u

#define HK_CURVE_ID_LEN 10u
#define HK_PUB_LEN 69u /* 04 00 20 X 00 20 Y */

static const uint8_t hk_curve_p256[HK_CURVE_ID_LEN] = {0x00, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};

/* STSAFEA_KEK_HKDF_SALT (spec §6.1) */
static const uint8_t hk_salt[32] = {0xE4, 0x5D, 0x4C, 0xFD, 0x20, 0x15, 0xDE, 0x9E, 0x0A, 0xA9, 0xA9,
                                    0xF6, 0xA4, 0x9F, 0x45, 0x10, 0x0F, 0x99, 0xD9, 0x63, 0x3F, 0xB1,
                                    0xB2, 0xDD, 0xDB, 0xEE, 0xE6, 0x75, 0xD5, 0x4D, 0xE2, 0x5B};

static void hk_wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n-- > 0u) {
        *v++ = 0;
    }
}

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
    hk_wipe(buf, sizeof buf);
    /* The crypto slots keep the old key until the next channel open reloads from the committed image. */
    core->host_keys_loaded = false;
}

/* 1F 07 · 00 00 00 · TYPE · MAC · CIPHER */
static uint8_t hk_write_plain(vsafe_se_core_t *core, const uint8_t *p, size_t n)
{
    uint8_t st = hk_may_write(core, HK_CTRL_PLAIN);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if ((n != 36u && n != 68u) || p[0] != 0u || p[1] != 0u || p[2] != 0u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (p[3] > 1u) {
        return VSAFE_SE_ST_WRONG_KEY_TYPE;
    }
    size_t klen = p[3] == 1u ? 32u : 16u;
    if (n != 4u + 2u * klen) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    hk_stage_key(core, p[3], p + 4, p + 4 + klen, klen);
    return VSAFE_SE_ST_OK;
}

/* Checks CURVE_ID and parses a host public key 04 00 20 X 00 20 Y into pub (X||Y). */
static uint8_t hk_parse_pub(const uint8_t *p, uint8_t pub[64])
{
    if (memcmp(p, hk_curve_p256, HK_CURVE_ID_LEN) != 0) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    p += HK_CURVE_ID_LEN;
    if (p[0] != 0x04u || p[1] != 0x00u || p[2] != 0x20u || p[35] != 0x00u || p[36] != 0x20u) {
        return VSAFE_SE_ST_INVALID_PUBLIC_KEY;
    }
    memcpy(pub, p + 3, 32);
    memcpy(pub + 32, p + 37, 32);
    return VSAFE_SE_ST_OK;
}

/* 1F 0B · CURVE_ID  ->  CURVE_ID · 04 00 20 X 00 20 Y */
static uint8_t hk_generate_ecdhe(vsafe_se_core_t *core, const uint8_t *p, size_t n)
{
    const vsafe_crypto_t *c = core->crypto;
    if (n != HK_CURVE_ID_LEN) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (memcmp(p, hk_curve_p256, HK_CURVE_ID_LEN) != 0) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    core->ecdhe_ready = false;
    if (c->ecdh_keygen(c->ctx, core->ecdhe_pub) != VSAFE_OK) {
        c->ecdh_clear(c->ctx);
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    core->ecdhe_ready = true;
    uint8_t *o = core->out;
    memcpy(o, hk_curve_p256, HK_CURVE_ID_LEN);
    o += HK_CURVE_ID_LEN;
    o[0] = 0x04;
    o[1] = 0x00;
    o[2] = 0x20;
    memcpy(o + 3, core->ecdhe_pub, 32);
    o[35] = 0x00;
    o[36] = 0x20;
    memcpy(o + 37, core->ecdhe_pub + 32, 32);
    core->out_len = HK_CURVE_ID_LEN + HK_PUB_LEN;
    return VSAFE_SE_ST_OK;
}

/* ECDH with the held ephemeral key, which is dropped afterwards (invariant 3). */
static uint8_t hk_ecdh(vsafe_se_core_t *core, const uint8_t host_pub[64], uint8_t secret[32])
{
    const vsafe_crypto_t *c = core->crypto;
    int rc = c->ecdh_derive(c->ctx, host_pub, secret);
    c->ecdh_clear(c->ctx);
    core->ecdhe_ready = false;
    if (rc == VSAFE_ERR_ARGUMENT) {
        return VSAFE_SE_ST_INVALID_PUBLIC_KEY;
    }
    return rc == VSAFE_OK ? VSAFE_SE_ST_OK : VSAFE_SE_ST_UNEXPECTED_ERROR;
}

/* 1F 03 · CURVE_ID · host pub · ALG_ID 01 */
static uint8_t hk_start_kek(vsafe_se_core_t *core, const uint8_t *p, size_t n)
{
    const size_t base_len = HK_CURVE_ID_LEN + HK_PUB_LEN + 1u;
    uint8_t host_pub[64], secret[32], info[128];
    uint8_t st;
    if (n > base_len && p[base_len] == 0x00u) {
        return VSAFE_SE_ST_KEY_NOT_FOUND; /* authenticated variant: no generic public key slots */
    }
    if (n != base_len) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    st = hk_parse_pub(p, host_pub);
    if (st == VSAFE_SE_ST_OK && p[base_len - 1u] != 0x01u) {
        st = VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if (!core->ecdhe_ready) {
        return VSAFE_SE_ST_CHALLENGE_MISSING;
    }
    /* A new session replaces any open one. */
    core->kek_active = false;
    hk_wipe(core->kek_base, sizeof core->kek_base);
    st = hk_ecdh(core, host_pub, secret);
    if (st == VSAFE_SE_ST_OK) {
        memcpy(info, core->ecdhe_pub, 64);
        memcpy(info + 64, host_pub, 64);
        if (core->crypto->hkdf_sha256(core->crypto->ctx, hk_salt, sizeof hk_salt, secret, sizeof secret, info,
                                      sizeof info, core->kek_base, sizeof core->kek_base) == VSAFE_OK) {
            core->kek_active = true;
            core->kek_counter = 0;
        } else {
            hk_wipe(core->kek_base, sizeof core->kek_base);
            st = VSAFE_SE_ST_UNEXPECTED_ERROR;
        }
    }
    hk_wipe(secret, sizeof secret);
    return st;
}

/* 1F 06 */
static uint8_t hk_stop_kek(vsafe_se_core_t *core, size_t n)
{
    if (n != 0u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    core->kek_active = false;
    core->kek_counter = 0;
    hk_wipe(core->kek_base, sizeof core->kek_base);
    return VSAFE_SE_ST_OK;
}

/* 1F 08 · AES-256-KW(working KEK, 00 00 00 TYPE MAC CIPHER 80 00 00 00) */
static uint8_t hk_write_wrapped(vsafe_se_core_t *core, const uint8_t *p, size_t n)
{
    uint8_t kek[32], plain[72];
    uint8_t info[3];
    uint8_t st = hk_may_write(core, HK_CTRL_ANON);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if (n != 48u && n != 80u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (!core->kek_active || core->kek_counter >= 0xFFu) {
        return VSAFE_SE_ST_SESSION_ERROR;
    }
    size_t m = n - 8u;
    info[0] = 0x10;
    info[1] = 0x11;
    info[2] = (uint8_t)(core->kek_counter + 1u);
    if (core->crypto->hkdf_sha256(core->crypto->ctx, hk_salt, sizeof hk_salt, core->kek_base,
                                  sizeof core->kek_base, info, sizeof info, kek, sizeof kek) != VSAFE_OK) {
        st = VSAFE_SE_ST_UNEXPECTED_ERROR;
        goto done;
    }
    if (core->crypto->aes_kw_unwrap(core->crypto->ctx, kek, sizeof kek, p, n, plain) != VSAFE_OK) {
        st = VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR;
        goto done;
    }
    if (plain[0] != 0u || plain[1] != 0u || plain[2] != 0u) {
        st = VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        goto done;
    }
    if (plain[3] > 1u) {
        st = VSAFE_SE_ST_WRONG_KEY_TYPE;
        goto done;
    }
    size_t klen = plain[3] == 1u ? 32u : 16u;
    if (m != 4u + 2u * klen + 4u || plain[m - 4u] != 0x80u || plain[m - 3u] != 0u || plain[m - 2u] != 0u ||
        plain[m - 1u] != 0u) {
        st = VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        goto done;
    }
    hk_stage_key(core, plain[3], plain + 4, plain + 4 + klen, klen);
    core->kek_counter++;
    st = VSAFE_SE_ST_OK;
done:
    hk_wipe(kek, sizeof kek);
    hk_wipe(plain, sizeof plain);
    return st;
}

/* 1F 18 · CURVE_ID · host pub · ALG_ID 03 · HOST_KEY_TYPE */
static uint8_t hk_establish(vsafe_se_core_t *core, const uint8_t *p, size_t n)
{
    const size_t base_len = HK_CURVE_ID_LEN + HK_PUB_LEN + 2u;
    uint8_t host_pub[64], secret[32], info[128], okm[64];
    uint8_t st;
    if (n > base_len && p[base_len] == 0x00u) {
        return VSAFE_SE_ST_KEY_NOT_FOUND; /* authenticated variant: no generic public key slots */
    }
    if (n != base_len) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    st = hk_parse_pub(p, host_pub);
    if (st == VSAFE_SE_ST_OK && p[base_len - 2u] != 0x03u) {
        st = VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (st == VSAFE_SE_ST_OK && p[base_len - 1u] > 1u) {
        st = VSAFE_SE_ST_WRONG_KEY_TYPE;
    }
    if (st == VSAFE_SE_ST_OK) {
        st = hk_may_write(core, HK_CTRL_ANON);
    }
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if (!core->ecdhe_ready) {
        return VSAFE_SE_ST_CHALLENGE_MISSING;
    }
    uint8_t type = p[base_len - 1u];
    size_t klen = type == 1u ? 32u : 16u;
    st = hk_ecdh(core, host_pub, secret);
    if (st == VSAFE_SE_ST_OK) {
        memcpy(info, host_pub, 64);
        memcpy(info + 64, core->ecdhe_pub, 64);
        if (core->crypto->hkdf_sha256(core->crypto->ctx, hk_salt, sizeof hk_salt, secret, sizeof secret, info,
                                      sizeof info, okm, 2u * klen) == VSAFE_OK) {
            hk_stage_key(core, type, okm, okm + klen, klen);
        } else {
            st = VSAFE_SE_ST_UNEXPECTED_ERROR;
        }
    }
    hk_wipe(secret, sizeof secret);
    hk_wipe(okm, sizeof okm);
    return st;
}

uint8_t vsafe_se_cmd_hostkey(vsafe_se_core_t *core, const vsafe_se_req_t *req)
{
    const uint8_t *p = req->payload;
    size_t n = req->payload_len;
    if (core->crypto == NULL) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    switch (req->ext) {
    case VSAFE_SE_EXT_WRITE_HOST_KEY_PLAIN:
        return hk_write_plain(core, p, n);
    case VSAFE_SE_EXT_GENERATE_ECDHE:
        return hk_generate_ecdhe(core, p, n);
    case VSAFE_SE_EXT_START_KEK:
        return hk_start_kek(core, p, n);
    case VSAFE_SE_EXT_STOP_KEK:
        return hk_stop_kek(core, n);
    case VSAFE_SE_EXT_WRITE_HOST_KEY_WRAPPED:
        return hk_write_wrapped(core, p, n);
    case VSAFE_SE_EXT_ESTABLISH_HOST_KEY:
        return hk_establish(core, p, n);
    default:
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
}
