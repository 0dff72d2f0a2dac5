/* Host library, key services part 2 (services.h): the symmetric key table, provisioning control
 * fields, plaintext and wrapped key writes (KEK session), key establishment with confirmation, and
 * erase. The host-side derivations (working KEK, envelope, confirmation MAC) use OpenSSL
 * libcrypto directly; the ECDHE key agreement goes through the handle's crypto port (keys.c).
 *
 * Invariants:
 *  1. Key information records are serialised field by field (never a struct in memory), in the
 *     layout LOCK SLOT KEY_TYPE MODE USAGE(2) PARAMS whose PARAMS length follows from MODE.
 *  2. Keys, shared secrets, base and working KEKs, envelope plaintexts and OKM are wiped on every
 *     exit path of the function that holds them (one exit label each); so are the frames that
 *     carried a key in plaintext (session frame buffers) and the Confirm payload's OKM.
 *  3. A KEK session that was started is stopped (1F 06) whatever happened after the start. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "common/bytes.h"
#include "common/cursor.h"
#include "common/secure.h"
#include "services.h"

#define SYM_INFO_MAX 8u     /* longest record: CCM*, HKDF, HMAC */
#define SYM_CONFIRM_MAX 16u /* records in one Confirm */

static const uint8_t ALG_KEK_UNWRAP = 0x01, ALG_ESTABLISH_SYMKEY = 0x02;

/* ---- Key information records ---- */

static int params_len(uint8_t mode, size_t *n)
{
    static const uint8_t len[6] = {2, 1, 0, 1, 2, 2}; /* CCM*, CMAC, ECB, GCM, HKDF, HMAC */
    if (mode > VSAFE_HOST_SYM_HMAC) {
        return VSAFE_ERR_ARGUMENT;
    }
    *n = len[mode];
    return VSAFE_OK;
}

int vsafe_host_symkey_info_encode(const vsafe_host_symkey_info_t *info, int with_slot, uint8_t *out, size_t out_cap,
                                  size_t *out_len)
{
    size_t pl = 0;
    if (info == NULL || out == NULL || out_len == NULL || params_len(info->mode, &pl) != VSAFE_OK) {
        return VSAFE_ERR_ARGUMENT;
    }
    size_t n = (with_slot ? 6u : 5u) + pl;
    if (n > out_cap) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    size_t i = 0;
    out[i++] = info->lock;
    if (with_slot) {
        out[i++] = info->slot;
    }
    out[i++] = info->key_type;
    out[i++] = info->mode;
    out[i++] = 0x00;
    out[i++] = info->usage;
    switch (info->mode) {
    case VSAFE_HOST_SYM_CCM:
        out[i++] = info->tag_len;
        out[i++] = info->ctr_byte;
        break;
    case VSAFE_HOST_SYM_CMAC:
        out[i++] = info->min_mac_len;
        break;
    case VSAFE_HOST_SYM_GCM:
        out[i++] = info->tag_len;
        break;
    case VSAFE_HOST_SYM_HKDF:
        out[i++] = info->hkdf_flags;
        out[i++] = info->generic_key_len;
        break;
    case VSAFE_HOST_SYM_HMAC:
        out[i++] = info->min_mac_len;
        out[i++] = info->generic_key_len;
        break;
    default: /* ECB: no parameters */
        break;
    }
    *out_len = i;
    return VSAFE_OK;
}

size_t vsafe_host_symkey_key_len(const vsafe_host_symkey_info_t *info)
{
    if (info == NULL) {
        return 0;
    }
    switch (info->key_type) {
    case VSAFE_HOST_SYM_AES128:
        return 16;
    case VSAFE_HOST_SYM_AES256:
        return 32;
    case VSAFE_HOST_SYM_GENERIC:
        return info->generic_key_len;
    default:
        return 0;
    }
}

/* The key length the wrapped envelope and the establishment give a record: 32 for AES-256 and 16
 * for every other type, generic secrets included (STSELib's rule; the device follows it). */
static size_t host_key_len(const vsafe_host_symkey_info_t *info)
{
    return info->key_type == VSAFE_HOST_SYM_AES256 ? 32u : 16u;
}

/* ---- Table and control fields ---- */

int vsafe_host_symkey_table(vsafe_host_t *h, vsafe_host_symkey_slot_t *slots, size_t cap, size_t *count)
{
    if (h == NULL || count == NULL || (slots == NULL && cap > 0)) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {VSAFE_SE_CMD_QUERY}, tag = SVC_TAG_SYMKEY_TABLE;
    uint8_t b[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = svc_transfer(h, VSAFE_HOST_PROT_NONE, 1, hdr, 1, &tag, 1, b, sizeof b, &n);
    if (rc != VSAFE_OK) {
        return rc;
    }
    vsafe_cursor_t c = vsafe_cursor(b, n);
    uint8_t total = 0;
    if (!vsafe_cursor_u8(&c, &total)) {
        return VSAFE_ERR_HOST_FRAME;
    }
    for (size_t s = 0; s < total; s++) {
        uint8_t b0 = 0, usage0 = 0;
        if (!vsafe_cursor_u8(&c, &b0)) {
            return VSAFE_ERR_HOST_FRAME;
        }
        vsafe_host_symkey_slot_t e = {.present = b0 & 1u, .lock = (uint8_t)((b0 >> 1) & 3u)};
        if (e.present) {
            if (!vsafe_cursor_u8(&c, &e.key_type) || !vsafe_cursor_u8(&c, &e.mode) || !vsafe_cursor_u8(&c, &usage0) ||
                !vsafe_cursor_u8(&c, &e.usage)) {
                return VSAFE_ERR_HOST_FRAME;
            }
            int ok = 1;
            switch (e.mode) {
            case VSAFE_HOST_SYM_CCM:
                ok = vsafe_cursor_u8(&c, &e.tag_len) && vsafe_cursor_u8(&c, &e.ctr_byte) &&
                     ((e.ctr_byte & 0x80u) == 0 || vsafe_cursor_be32(&c, &e.counter));
                break;
            case VSAFE_HOST_SYM_CMAC:
                ok = vsafe_cursor_u8(&c, &e.min_mac_len);
                break;
            case VSAFE_HOST_SYM_GCM:
                ok = vsafe_cursor_u8(&c, &e.tag_len);
                break;
            case VSAFE_HOST_SYM_ECB:
            case VSAFE_HOST_SYM_HKDF:
            case VSAFE_HOST_SYM_HMAC:
                break; /* no parameters in the table */
            default:
                ok = 0; /* an unknown mode: its parameters cannot be skipped */
                break;
            }
            if (!ok) {
                return VSAFE_ERR_HOST_FRAME;
            }
        }
        if (s < cap) {
            slots[s] = e;
        }
    }
    if (!vsafe_cursor_at_end(&c)) {
        return VSAFE_ERR_HOST_FRAME;
    }
    *count = total;
    return total > cap ? VSAFE_ERR_BUFFER_TOO_SMALL : VSAFE_OK;
}

int vsafe_host_symkey_ctrl(vsafe_host_t *h, uint8_t slot, uint8_t fields[3])
{
    if (h == NULL || fields == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {VSAFE_SE_CMD_QUERY}, q[2] = {SVC_TAG_SYMKEY_CTRL, slot};
    uint8_t rsp[16];
    size_t n = 0;
    int rc = svc_transfer(h, VSAFE_HOST_PROT_NONE, 1, hdr, 1, q, 2, rsp, sizeof rsp, &n);
    if (rc == VSAFE_OK && n != 3) {
        rc = VSAFE_ERR_HOST_FRAME;
    }
    if (rc == VSAFE_OK) {
        memcpy(fields, rsp, 3);
    }
    return rc;
}

int vsafe_host_put_symkey_ctrl(vsafe_host_t *h, uint8_t slot, const uint8_t fields[3])
{
    if (h == NULL || fields == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {VSAFE_SE_CMD_PUT_ATTRIBUTE};
    const uint8_t p[5] = {SVC_TAG_SYMKEY_CTRL, slot, fields[0], fields[1], fields[2]};
    return svc_status_only(h, VSAFE_HOST_PROT_NONE, 1, hdr, 1, p, sizeof p);
}

/* ---- Writes ---- */

int vsafe_host_symkey_write_plain(vsafe_host_t *h, vsafe_host_prot_t prot, const vsafe_host_symkey_info_t *info,
                                  const uint8_t *key, size_t key_len)
{
    uint8_t p[SYM_INFO_MAX + 32];
    size_t n = 0;
    if (h == NULL || key == NULL || key_len == 0 || key_len > 32u || key_len != vsafe_host_symkey_key_len(info) ||
        vsafe_host_symkey_info_encode(info, 1, p, sizeof p, &n) != VSAFE_OK) {
        return VSAFE_ERR_ARGUMENT;
    }
    memcpy(p + n, key, key_len);
    const uint8_t hdr[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_WRITE_SYMKEY_PLAIN};
    int rc = svc_status_only(h, prot, 0, hdr, 2, p, n + key_len);
    vsafe_wipe(p, sizeof p);
    host_session_wipe_frames(&h->session); /* the command frame carried the key */
    return rc;
}

/* HKDF-SHA256 with the KEK salt (RFC 5869, extract then expand). */
static int hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len, uint8_t *out, size_t n)
{
    int rc = VSAFE_ERR_CRYPTO;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kc = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)svc_kek_salt, sizeof svc_kek_salt),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len),
        OSSL_PARAM_END,
    };
    if (kc != NULL && EVP_KDF_derive(kc, out, n, params) == 1) {
        rc = VSAFE_OK;
    }
    EVP_KDF_CTX_free(kc);
    EVP_KDF_free(kdf);
    return rc;
}

int vsafe_host_working_kek(const uint8_t base_kek[32], uint8_t ctr, uint8_t kek[32])
{
    if (base_kek == NULL || kek == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t info[3] = {0x10, 0x11, ctr};
    return hkdf(base_kek, 32, info, sizeof info, kek, 32);
}

int vsafe_host_symkey_envelope(const uint8_t base_kek[32], uint8_t ctr, const vsafe_host_symkey_info_t *info,
                               const uint8_t *key, size_t key_len, uint8_t *env, size_t env_cap, size_t *env_len)
{
    uint8_t plain[SYM_INFO_MAX + 32 + 8], kek[32];
    size_t n = 0;
    if (base_kek == NULL || key == NULL || env == NULL || env_len == NULL || info == NULL ||
        key_len != host_key_len(info) || vsafe_host_symkey_info_encode(info, 1, plain, sizeof plain, &n) != VSAFE_OK) {
        return VSAFE_ERR_ARGUMENT;
    }
    memcpy(plain + n, key, key_len);
    n += key_len;
    /* ISO padding to a multiple of 8, always at least one byte: 80 then zeros. */
    size_t padded = (n / 8u + 1u) * 8u;
    plain[n] = 0x80;
    memset(plain + n + 1, 0, padded - n - 1);
    int rc = VSAFE_ERR_BUFFER_TOO_SMALL;
    EVP_CIPHER_CTX *c = NULL;
    if (env_cap < padded + 8u) {
        goto exit;
    }
    if ((rc = vsafe_host_working_kek(base_kek, ctr, kek)) != VSAFE_OK) {
        goto exit;
    }
    rc = VSAFE_ERR_CRYPTO;
    int o1 = 0, o2 = 0;
    c = EVP_CIPHER_CTX_new();
    if (c == NULL) {
        goto exit;
    }
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_EncryptInit_ex(c, EVP_aes_256_wrap(), NULL, kek, NULL) != 1 ||
        EVP_EncryptUpdate(c, env, &o1, plain, (int)padded) != 1 || EVP_EncryptFinal_ex(c, env + o1, &o2) != 1 ||
        (size_t)(o1 + o2) != padded + 8u) {
        goto exit;
    }
    *env_len = padded + 8u;
    rc = VSAFE_OK;
exit:
    EVP_CIPHER_CTX_free(c);
    vsafe_wipe(plain, sizeof plain);
    vsafe_wipe(kek, sizeof kek);
    return rc;
}

int vsafe_host_symkey_write_wrapped(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned curve,
                                    const vsafe_host_auth_t *auth, const vsafe_host_symkey_info_t *info,
                                    const uint8_t *key, size_t key_len)
{
    uint8_t probe[SYM_INFO_MAX];
    size_t probe_len = 0;
    if (h == NULL || info == NULL || key == NULL || key_len != host_key_len(info) ||
        vsafe_host_symkey_info_encode(info, 1, probe, sizeof probe, &probe_len) != VSAFE_OK ||
        vsafe_host_curve_secret_size(curve) == 0) {
        return VSAFE_ERR_ARGUMENT;
    }
    svc_ecdhe_t e;
    uint8_t p[VSAFE_SE_FRAME_MAX], kdf_info[2 * VSAFE_EC_MAX_PUB], base[32], env[SYM_INFO_MAX + 32 + 16];
    size_t n = 0, env_len = 0;
    const uint8_t start[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_START_KEK};
    const uint8_t write[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_WRITE_SYMKEY_WRAPPED};
    const uint8_t stop[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_STOP_KEK};
    int rc = svc_ecdhe(h, prot, curve, &e);
    if (rc != VSAFE_OK) {
        goto exit;
    }
    if ((rc = svc_ecdhe_payload(&e, ALG_KEK_UNWRAP, auth, p, sizeof p, &n)) != VSAFE_OK ||
        (rc = svc_status_only(h, prot, 0, start, 2, p, n)) != VSAFE_OK) {
        goto exit;
    }
    /* base KEK: info = device_pub || host_pub (the reverse of host-key establishment) */
    memcpy(kdf_info, e.dev_pub, e.pub_len);
    memcpy(kdf_info + e.pub_len, e.host_pub, e.pub_len);
    if ((rc = hkdf(e.secret, e.secret_len, kdf_info, 2 * e.pub_len, base, sizeof base)) == VSAFE_OK &&
        (rc = vsafe_host_symkey_envelope(base, 1, info, key, key_len, env, sizeof env, &env_len)) == VSAFE_OK) {
        rc = svc_status_only(h, prot, 0, write, 2, env, env_len);
    }
    int stop_rc = svc_status_only(h, prot, 0, stop, 2, NULL, 0);
    if (rc == VSAFE_OK) {
        rc = stop_rc;
    }
exit:
    vsafe_wipe(&e, sizeof e);
    vsafe_wipe(base, sizeof base);
    return rc;
}

/* ---- Establishment ---- */

static int cmac256(const uint8_t key[32], const uint8_t *msg, size_t len, uint8_t mac[16])
{
    int rc = VSAFE_ERR_CRYPTO;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *mc = m != NULL ? EVP_MAC_CTX_new(m) : NULL;
    char cipher[] = "AES-256-CBC";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0), OSSL_PARAM_END};
    size_t out = 0;
    if (mc != NULL && EVP_MAC_init(mc, key, 32, params) == 1 && EVP_MAC_update(mc, msg, len) == 1 &&
        EVP_MAC_final(mc, mac, &out, 16) == 1 && out == 16) {
        rc = VSAFE_OK;
    }
    EVP_MAC_CTX_free(mc);
    EVP_MAC_free(m);
    return rc;
}

int vsafe_host_symkey_confirm(const uint8_t *secret, size_t secret_len, const vsafe_host_symkey_info_t *infos,
                              size_t count, uint8_t *payload, size_t payload_cap, size_t *payload_len, uint8_t *keys,
                              size_t keys_cap, size_t *keys_len)
{
    if (secret == NULL || secret_len == 0 || infos == NULL || count == 0 || count > SYM_CONFIRM_MAX ||
        payload == NULL || payload_len == NULL || keys == NULL || keys_len == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t okm[32 + SYM_CONFIRM_MAX * 32], mac[16];
    size_t i = 8, total = 0;
    int rc = VSAFE_ERR_ARGUMENT;
    for (size_t r = 0; r < count; r++) {
        size_t n = 0;
        if (payload_cap < i + 2u ||
            vsafe_host_symkey_info_encode(&infos[r], 1, payload + i + 2, payload_cap - i - 2, &n) != VSAFE_OK) {
            goto exit;
        }
        vsafe_put_be16(payload + i, (uint16_t)n);
        i += 2 + n;
        total += host_key_len(&infos[r]);
    }
    if (keys_cap < total) {
        goto exit;
    }
    static const uint8_t kdf_info[2] = {0x12, 0x13}; /* symmetric key, confirmation key */
    if ((rc = hkdf(secret, secret_len, kdf_info, sizeof kdf_info, okm, 32 + total)) != VSAFE_OK ||
        (rc = cmac256(okm, payload + 8, i - 8, mac)) != VSAFE_OK) {
        goto exit;
    }
    memcpy(payload, mac, 8);
    memcpy(keys, okm + 32, total);
    *payload_len = i;
    *keys_len = total;
exit:
    vsafe_wipe(okm, sizeof okm);
    vsafe_wipe(mac, sizeof mac);
    return rc;
}

int vsafe_host_symkey_establish(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned curve,
                                const vsafe_host_auth_t *auth, const vsafe_host_symkey_info_t *infos, size_t count,
                                uint8_t *keys, size_t keys_cap, size_t *keys_len)
{
    if (h == NULL || infos == NULL || count == 0 || count > SYM_CONFIRM_MAX || keys == NULL || keys_len == NULL ||
        vsafe_host_curve_secret_size(curve) == 0) {
        return VSAFE_ERR_ARGUMENT;
    }
    size_t total = 0;
    for (size_t r = 0; r < count; r++) {
        size_t pl = 0;
        if (params_len(infos[r].mode, &pl) != VSAFE_OK) {
            return VSAFE_ERR_ARGUMENT;
        }
        total += host_key_len(&infos[r]);
    }
    if (keys_cap < total) {
        return VSAFE_ERR_ARGUMENT;
    }
    svc_ecdhe_t e;
    uint8_t p[VSAFE_SE_FRAME_MAX], out[SYM_CONFIRM_MAX * 32];
    size_t n = 0, out_len = 0;
    const uint8_t est[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_ESTABLISH_SYMKEYS};
    const uint8_t conf[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_CONFIRM_SYMKEYS};
    int rc = svc_ecdhe(h, prot, curve, &e);
    if (rc != VSAFE_OK) {
        goto exit;
    }
    if ((rc = svc_ecdhe_payload(&e, ALG_ESTABLISH_SYMKEY, auth, p, sizeof p, &n)) != VSAFE_OK ||
        (rc = svc_status_only(h, prot, 0, est, 2, p, n)) != VSAFE_OK) {
        goto exit;
    }
    if ((rc = vsafe_host_symkey_confirm(e.secret, e.secret_len, infos, count, p, VSAFE_SE_FRAME_MAX - 2u, &n, out,
                                        sizeof out, &out_len)) != VSAFE_OK ||
        (rc = svc_status_only(h, prot, 0, conf, 2, p, n)) != VSAFE_OK) {
        goto exit;
    }
    memcpy(keys, out, out_len);
    *keys_len = out_len;
exit:
    vsafe_wipe(&e, sizeof e);
    vsafe_wipe(out, sizeof out);
    return rc;
}

int vsafe_host_symkey_erase(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot)
{
    if (h == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_ERASE_SYMKEY};
    return svc_status_only(h, prot, 0, hdr, 2, &slot, 1);
}
