/* Host key provisioning (plaintext, wrapped, ECDH) and the Put attributes of the command table:
 * API layer, beside host.c. Every command goes through host_transfer; host-side key derivation
 * uses the session layer's crypto port (HKDF) and OpenSSL directly for the ephemeral P-256 key
 * and the AES key wrap.
 *
 * Invariants:
 *  1. Keys, shared secrets, KEKs and plaintext key envelopes are wiped (vsafe_wipe) on every exit
 *     path of the function that holds them: one exit label each.
 *  2. A frame that carried host keys in plaintext is wiped from the session's frame buffers as
 *     soon as the exchange is over; keys never reach the trace (trace.c masks plaintext key
 *     writes). */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/secure.h"
#include "host_internal.h"

static const uint8_t CURVE_P256[10] = {0x00, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
static const uint8_t KEK_SALT[32] = {0xE4, 0x5D, 0x4C, 0xFD, 0x20, 0x15, 0xDE, 0x9E, 0x0A, 0xA9, 0xA9,
                                     0xF6, 0xA4, 0x9F, 0x45, 0x10, 0x0F, 0x99, 0xD9, 0x63, 0x3F, 0xB1,
                                     0xB2, 0xDD, 0xDB, 0xEE, 0xE6, 0x75, 0xD5, 0x4D, 0xE2, 0x5B};

static int hkdf(vsafe_host_t *h, const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len,
                uint8_t *out, size_t n)
{
    const vsafe_crypto_t *c = host_session_crypto(&h->session);
    if (c == NULL) {
        return VSAFE_ERR_CRYPTO;
    }
    return c->hkdf_sha256(c->ctx, KEK_SALT, sizeof KEK_SALT, ikm, ikm_len, info, info_len, out, n);
}

/* ---- Provisioning ---- */

static int key_args(unsigned key_type, size_t *klen)
{
    if (key_type > VSAFE_HOST_KEY_AES256) {
        return VSAFE_ERR_ARGUMENT;
    }
    *klen = key_type == VSAFE_HOST_KEY_AES256 ? 32u : 16u;
    return VSAFE_OK;
}

static int ext_cmd(vsafe_host_t *h, uint8_t ext, const uint8_t *p, size_t n, uint8_t *rsp, size_t cap, size_t *len)
{
    uint8_t hdr[2] = {VSAFE_SE_CMD_EXTENDED, ext};
    uint8_t dummy[16];
    size_t dummy_len = 0;
    if (rsp == NULL) {
        rsp = dummy;
        cap = sizeof dummy;
        len = &dummy_len;
    }
    return host_transfer(h, VSAFE_HOST_PROT_TABLE, hdr, 2, p, n, rsp, cap, len);
}

int vsafe_host_provision_plaintext(vsafe_host_t *h, unsigned key_type, const uint8_t *mac_key,
                                   const uint8_t *cipher_key)
{
    size_t klen = 0;
    if (h == NULL || mac_key == NULL || cipher_key == NULL || key_args(key_type, &klen) != VSAFE_OK) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t p[4 + 64] = {0, 0, 0, (uint8_t)key_type};
    memcpy(p + 4, mac_key, klen);
    memcpy(p + 4 + klen, cipher_key, klen);
    int rc = ext_cmd(h, VSAFE_SE_EXT_WRITE_HOST_KEY_PLAIN, p, 4 + 2 * klen, NULL, 0, NULL);
    vsafe_wipe(p, sizeof p);
    host_session_wipe_frames(&h->session); /* the command frame carried the keys */
    return rc;
}

/* Host ephemeral P-256 key: pub = X||Y. */
static int ec_keygen(EVP_PKEY **key, uint8_t pub[64])
{
    uint8_t pt[65];
    size_t n = 0;
    *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (*key == NULL || EVP_PKEY_get_octet_string_param(*key, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n) != 1 ||
        n != 65 || pt[0] != 0x04) {
        return VSAFE_ERR_CRYPTO;
    }
    memcpy(pub, pt + 1, 64);
    return VSAFE_OK;
}

static int ec_derive(EVP_PKEY *key, const uint8_t peer[64], uint8_t secret[32])
{
    int rc = VSAFE_ERR_CRYPTO;
    uint8_t pt[65];
    pt[0] = 0x04;
    memcpy(pt + 1, peer, 64);
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                           OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt), OSSL_PARAM_END};
    EVP_PKEY_CTX *fc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *peer_key = NULL;
    EVP_PKEY_CTX *dc = NULL;
    size_t n = 32;
    if (fc == NULL || EVP_PKEY_fromdata_init(fc) != 1 ||
        EVP_PKEY_fromdata(fc, &peer_key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        goto exit;
    }
    dc = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    if (dc == NULL || EVP_PKEY_derive_init(dc) != 1 || EVP_PKEY_derive_set_peer(dc, peer_key) != 1 ||
        EVP_PKEY_derive(dc, secret, &n) != 1 || n != 32) {
        goto exit;
    }
    rc = VSAFE_OK;
exit:
    EVP_PKEY_CTX_free(dc);
    EVP_PKEY_free(peer_key);
    EVP_PKEY_CTX_free(fc);
    return rc;
}

/* CURVE_ID · 04 00 20 X 00 20 Y */
static size_t put_pub(uint8_t *o, const uint8_t pub[64])
{
    memcpy(o, CURVE_P256, sizeof CURVE_P256);
    o += sizeof CURVE_P256;
    o[0] = 0x04, o[1] = 0x00, o[2] = 0x20;
    memcpy(o + 3, pub, 32);
    o[35] = 0x00, o[36] = 0x20;
    memcpy(o + 37, pub + 32, 32);
    return sizeof CURVE_P256 + 69u;
}

/* Generate ECDHE on the device, a host key pair, and the shared secret. */
static int ecdhe(vsafe_host_t *h, EVP_PKEY **key, uint8_t host_pub[64], uint8_t dev_pub[64], uint8_t secret[32])
{
    uint8_t rsp[128];
    size_t n = 0;
    int rc = ext_cmd(h, VSAFE_SE_EXT_GENERATE_ECDHE, CURVE_P256, sizeof CURVE_P256, rsp, sizeof rsp, &n);
    if (rc != VSAFE_OK) {
        return rc;
    }
    const uint8_t *p = rsp + sizeof CURVE_P256;
    if (n != sizeof CURVE_P256 + 69u || memcmp(rsp, CURVE_P256, sizeof CURVE_P256) != 0 || p[0] != 0x04 ||
        p[1] != 0x00 || p[2] != 0x20 || p[35] != 0x00 || p[36] != 0x20) {
        return VSAFE_ERR_HOST_FRAME;
    }
    memcpy(dev_pub, p + 3, 32);
    memcpy(dev_pub + 32, p + 37, 32);
    if ((rc = ec_keygen(key, host_pub)) != VSAFE_OK) {
        return rc;
    }
    return ec_derive(*key, dev_pub, secret);
}

int vsafe_host_provision_wrapped(vsafe_host_t *h, unsigned key_type, const uint8_t *mac_key, const uint8_t *cipher_key)
{
    size_t klen = 0;
    if (h == NULL || mac_key == NULL || cipher_key == NULL || key_args(key_type, &klen) != VSAFE_OK) {
        return VSAFE_ERR_ARGUMENT;
    }
    EVP_PKEY *key = NULL;
    EVP_CIPHER_CTX *c = NULL;
    uint8_t host_pub[64], dev_pub[64], secret[32], info[128], base[32], kek[32];
    uint8_t plain[72], env[80], p[128];
    int rc = ecdhe(h, &key, host_pub, dev_pub, secret);
    if (rc != VSAFE_OK) {
        goto exit;
    }
    size_t n = put_pub(p, host_pub);
    p[n++] = 0x01; /* ALG_ID: KEK unwrapping */
    if ((rc = ext_cmd(h, VSAFE_SE_EXT_START_KEK, p, n, NULL, 0, NULL)) != VSAFE_OK) {
        goto exit;
    }
    memcpy(info, dev_pub, 64);
    memcpy(info + 64, host_pub, 64);
    static const uint8_t work_info[3] = {0x10, 0x11, 0x01};
    if ((rc = hkdf(h, secret, 32, info, 128, base, 32)) != VSAFE_OK ||
        (rc = hkdf(h, base, 32, work_info, 3, kek, 32)) != VSAFE_OK) {
        goto stop;
    }
    size_t m = 4 + 2 * klen + 4;
    memset(plain, 0, sizeof plain);
    plain[3] = (uint8_t)key_type;
    memcpy(plain + 4, mac_key, klen);
    memcpy(plain + 4 + klen, cipher_key, klen);
    plain[4 + 2 * klen] = 0x80;
    int o1 = 0, o2 = 0;
    c = EVP_CIPHER_CTX_new();
    rc = VSAFE_ERR_CRYPTO;
    if (c == NULL) {
        goto stop;
    }
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_EncryptInit_ex(c, EVP_aes_256_wrap(), NULL, kek, NULL) != 1 ||
        EVP_EncryptUpdate(c, env, &o1, plain, (int)m) != 1 || EVP_EncryptFinal_ex(c, env + o1, &o2) != 1 ||
        (size_t)(o1 + o2) != m + 8) {
        goto stop;
    }
    rc = ext_cmd(h, VSAFE_SE_EXT_WRITE_HOST_KEY_WRAPPED, env, m + 8, NULL, 0, NULL);
stop:;
    int stop_rc = ext_cmd(h, VSAFE_SE_EXT_STOP_KEK, NULL, 0, NULL, 0, NULL);
    if (rc == VSAFE_OK) {
        rc = stop_rc;
    }
exit:
    EVP_CIPHER_CTX_free(c);
    EVP_PKEY_free(key);
    vsafe_wipe(secret, sizeof secret);
    vsafe_wipe(base, sizeof base);
    vsafe_wipe(kek, sizeof kek);
    vsafe_wipe(plain, sizeof plain);
    return rc;
}

int vsafe_host_provision_ecdh_ex(vsafe_host_t *h, unsigned key_type, vsafe_host_keys_ready_fn ready, void *ctx,
                                 uint8_t *mac_key_out, uint8_t *cipher_key_out)
{
    size_t klen = 0;
    if (h == NULL || mac_key_out == NULL || cipher_key_out == NULL || key_args(key_type, &klen) != VSAFE_OK) {
        return VSAFE_ERR_ARGUMENT;
    }
    EVP_PKEY *key = NULL;
    uint8_t host_pub[64], dev_pub[64], secret[32], info[128], okm[64], p[128];
    int rc = ecdhe(h, &key, host_pub, dev_pub, secret);
    if (rc != VSAFE_OK) {
        goto exit;
    }
    /* The keys are known before the device stores them: the caller can keep them first. */
    memcpy(info, host_pub, 64);
    memcpy(info + 64, dev_pub, 64);
    if ((rc = hkdf(h, secret, 32, info, 128, okm, 2 * klen)) != VSAFE_OK) {
        goto exit;
    }
    if (ready != NULL && (rc = ready(ctx, key_type, okm, okm + klen)) != VSAFE_OK) {
        goto exit;
    }
    size_t n = put_pub(p, host_pub);
    p[n++] = 0x03; /* ALG_ID: host key establishment */
    p[n++] = (uint8_t)key_type;
    if ((rc = ext_cmd(h, VSAFE_SE_EXT_ESTABLISH_HOST_KEY, p, n, NULL, 0, NULL)) != VSAFE_OK) {
        goto exit;
    }
    memcpy(mac_key_out, okm, klen);
    memcpy(cipher_key_out, okm + klen, klen);
exit:
    EVP_PKEY_free(key);
    vsafe_wipe(secret, sizeof secret);
    vsafe_wipe(okm, sizeof okm);
    return rc;
}

int vsafe_host_provision_ecdh(vsafe_host_t *h, unsigned key_type, uint8_t *mac_key_out, uint8_t *cipher_key_out)
{
    return vsafe_host_provision_ecdh_ex(h, key_type, NULL, NULL, mac_key_out, cipher_key_out);
}

/* ---- Put attribute ---- */

static int put(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *p, size_t n)
{
    uint8_t hdr[1] = {VSAFE_SE_CMD_PUT_ATTRIBUTE};
    uint8_t rsp[16];
    size_t len = 0;
    return host_transfer(h, prot, hdr, 1, p, n, rsp, sizeof rsp, &len);
}

int vsafe_host_put_command_table(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t tag, const vsafe_host_cmd_ac_t *rec,
                                 size_t count)
{
    if (h == NULL || rec == NULL || count == 0 || count > VSAFE_HOST_CMD_TABLE_MAX ||
        (tag != VSAFE_SE_TAG_CMD_AC && tag != VSAFE_SE_TAG_CMD_ENC)) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t p[2 + 3 * VSAFE_HOST_CMD_TABLE_MAX] = {tag, (uint8_t)count};
    size_t n = 2;
    for (size_t i = 0; i < count; i++) {
        uint8_t v = tag == VSAFE_SE_TAG_CMD_AC ? rec[i].ac : rec[i].enc;
        if (rec[i].header > VSAFE_SE_CMD_EXTENDED || v > 3) {
            return VSAFE_ERR_ARGUMENT;
        }
        p[n++] = rec[i].header;
        if (rec[i].header == VSAFE_SE_CMD_EXTENDED) {
            p[n++] = rec[i].ext;
        }
        p[n++] = v;
    }
    int rc = put(h, prot, p, n);
    if (rc == VSAFE_OK) {
        rc = vsafe_host_refresh_command_table(h);
    }
    return rc;
}

int vsafe_host_put_command_ac(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t header, uint8_t ext, uint8_t ac)
{
    vsafe_host_cmd_ac_t r = {.header = header, .ext = ext, .ac = ac};
    return vsafe_host_put_command_table(h, prot, VSAFE_SE_TAG_CMD_AC, &r, 1);
}

int vsafe_host_put_command_enc(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t header, uint8_t ext, uint8_t enc)
{
    vsafe_host_cmd_ac_t r = {.header = header, .ext = ext, .enc = enc};
    return vsafe_host_put_command_table(h, prot, VSAFE_SE_TAG_CMD_ENC, &r, 1);
}

int vsafe_host_put_key_ctrl(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t fields[2])
{
    if (h == NULL || fields == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t p[3] = {VSAFE_SE_TAG_HOST_KEY_CTRL, fields[0], fields[1]};
    return put(h, prot, p, 3);
}
