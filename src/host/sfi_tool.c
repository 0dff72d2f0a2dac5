/* Host side of secure firmware install: the OEM (or party) packs an image for one region of one
 * device (format in include/vsafe/mcu.h and docs/LIFECYCLE.md). OpenSSL for every primitive. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/bytes.h"
#include "common/secure.h"
#include "vsafe/mcu.h"

static int sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned len = 0;
    return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32u ? VSAFE_OK : VSAFE_ERR_CRYPTO;
}

static EVP_PKEY *p256_from_pub(const uint8_t pub[64])
{
    uint8_t pt[65];
    pt[0] = 0x04;
    memcpy(pt + 1, pub, 64);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
                           OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt),
                           OSSL_PARAM_construct_end()};
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pk = NULL;
    if (c == NULL || EVP_PKEY_fromdata_init(c) != 1 || EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        pk = NULL;
    }
    EVP_PKEY_CTX_free(c);
    return pk;
}

static int ecdh(EVP_PKEY *mine, EVP_PKEY *peer, uint8_t secret[32])
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(mine, NULL);
    size_t n = 32;
    int ok = c != NULL && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
             EVP_PKEY_derive(c, secret, &n) == 1 && n == 32u;
    EVP_PKEY_CTX_free(c);
    return ok ? VSAFE_OK : VSAFE_ERR_CRYPTO;
}

static int hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len, const uint8_t *info,
                size_t info_len, uint8_t out[32])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *c = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len),
                           OSSL_PARAM_construct_end()};
    int ok = c != NULL && EVP_KDF_derive(c, out, 32, params) == 1;
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(kdf);
    return ok ? VSAFE_OK : VSAFE_ERR_CRYPTO;
}

static int gcm_encrypt(const uint8_t key[32], const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
                       const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;
    int ok = c != NULL && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
             EVP_EncryptInit_ex(c, NULL, NULL, key, iv) == 1 && EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) == 1 &&
             EVP_EncryptUpdate(c, out, &n, in, (int)len) == 1 && (size_t)n == len &&
             EVP_EncryptFinal_ex(c, out + n, &n) == 1 && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? VSAFE_OK : VSAFE_ERR_CRYPTO;
}

int vsafe_sfi_pack(const vsafe_sfi_pack_t *p, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (p == NULL || out == NULL || out_len == NULL || p->owner == NULL || p->payload == NULL ||
        p->region < 1u || p->region > 3u || p->payload_len == 0u ||
        p->payload_len > vsafe_mcu_sfi_region_size(p->region)) {
        return VSAFE_ERR_ARGUMENT;
    }
    size_t total = VSAFE_SFI_HEADER_LEN + p->payload_len + 16u + 64u;
    if (out_cap < total) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    memset(out, 0, VSAFE_SFI_HEADER_LEN);
    memcpy(out, "VSFI", 4);
    out[4] = 1;
    out[5] = (uint8_t)p->region;
    vsafe_put_be32(out + 8, p->version);
    vsafe_put_be32(out + 12, (uint32_t)p->payload_len);
    int rc = vsafe_da_key_public(p->owner, out + VSAFE_SFI_OFF_OWNER);
    /* the license: a fresh image key, wrapped to this device's provisioning key */
    uint8_t key[32], kek[32], secret[32], info[32] = "vsafe SFI v1 KEK", h[32];
    static const uint8_t wrap_iv[12];
    memcpy(info + 16, out, 16);
    EVP_PKEY *eph = NULL, *dev = NULL;
    if (rc == VSAFE_OK) {
        rc = RAND_bytes(key, sizeof key) == 1 && RAND_bytes(out + VSAFE_SFI_OFF_IV, 12) == 1 ? VSAFE_OK : VSAFE_ERR_CRYPTO;
    }
    if (rc == VSAFE_OK) {
        eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        dev = p256_from_pub(p->device_pub);
        rc = eph != NULL && dev != NULL ? VSAFE_OK : VSAFE_ERR_INVALID_PUBKEY;
    }
    if (rc == VSAFE_OK) {
        uint8_t pt[65];
        size_t n = 0;
        rc = EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n) == 1 && n == 65u
                 ? VSAFE_OK
                 : VSAFE_ERR_CRYPTO;
        memcpy(out + VSAFE_SFI_OFF_EPHEMERAL, pt + 1, 64);
    }
    if (rc == VSAFE_OK) {
        rc = ecdh(eph, dev, secret);
    }
    if (rc == VSAFE_OK) {
        rc = hkdf(p->device_soc_id, 16, secret, sizeof secret, info, sizeof info, kek);
    }
    if (rc == VSAFE_OK) {
        rc = gcm_encrypt(kek, wrap_iv, out, VSAFE_SFI_OFF_EPHEMERAL, key, 32, out + VSAFE_SFI_OFF_WRAPPED,
                         out + VSAFE_SFI_OFF_WRAPPED + 32);
    }
    /* the image under the image key, the header as AAD */
    if (rc == VSAFE_OK) {
        rc = gcm_encrypt(key, out + VSAFE_SFI_OFF_IV, out, VSAFE_SFI_OFF_EPHEMERAL, p->payload, p->payload_len,
                         out + VSAFE_SFI_HEADER_LEN, out + VSAFE_SFI_HEADER_LEN + p->payload_len);
    }
    /* the owner's signature over all of it */
    if (rc == VSAFE_OK) {
        rc = sha256(out, total - 64u, h);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_da_key_sign(p->owner, h, out + total - 64u);
    }
    vsafe_wipe(key, sizeof key);
    vsafe_wipe(kek, sizeof kek);
    vsafe_wipe(secret, sizeof secret);
    EVP_PKEY_free(eph);
    EVP_PKEY_free(dev);
    if (rc != VSAFE_OK) {
        vsafe_wipe(out, total);
        return rc;
    }
    *out_len = total;
    return VSAFE_OK;
}
