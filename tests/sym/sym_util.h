/* Helpers of the symmetric key-service tests: a device on a simulated NVM, frames with their CRC,
 * and OpenSSL called directly (never through the device's port) to compute what the device must
 * answer. */
#ifndef VSAFE_TESTS_SYM_UTIL_H
#define VSAFE_TESTS_SYM_UTIL_H

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdbool.h>

#include "../keys/keys_util.h"
#include "hooks.h"

typedef struct {
    vsafe_sim_nvm_t *sim;
    vsafe_se_t *se;
} sdev_t;

static inline vsafe_nvm_geometry_t su_geo(void)
{
    uint32_t bytes = vsafe_store_nvm_bytes(vsafe_se_core_image_size(&vsafe_profile_spl05), 16384u, 4096u);
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = 4096, .page_count = bytes / 4096u, .erased = 0xFF,
                              .may_reorder = 1};
    return g;
}

static inline void su_open(sdev_t *d, uint64_t seed)
{
    vsafe_se_open_ext_t ext = {.nvm = vsafe_sim_nvm_port(d->sim), .rng_seed = seed};
    if (vsafe_se_open_ex(&d->se, NULL, &ext) != VSAFE_OK) {
        fprintf(stderr, "device open failed\n");
        abort();
    }
}

static inline void su_new(sdev_t *d, uint64_t seed)
{
    vsafe_nvm_geometry_t g = su_geo();
    if (vsafe_sim_nvm_new(&d->sim, &g, seed) != VSAFE_OK) {
        abort();
    }
    su_open(d, seed);
}

static inline void su_free(sdev_t *d)
{
    vsafe_se_close(d->se);
    vsafe_sim_nvm_free(d->sim);
}

/* The whole NVM, copied (the before/after oracle of a refusal). */
static inline uint8_t *su_nvm_copy(sdev_t *d, size_t *n)
{
    uint8_t *m = vsafe_sim_nvm_mem(d->sim, n);
    uint8_t *c = malloc(*n);
    memcpy(c, m, *n);
    return c;
}

/* The committed state image, read back through the store (not through the device). */
static inline uint8_t *su_image(sdev_t *d, uint32_t *len)
{
    uint32_t tag = 0;
    vsafe_store_t st;
    if (vsafe_store_probe(vsafe_sim_nvm_port(d->sim), len, &tag) != VSAFE_OK) {
        return NULL;
    }
    uint8_t *img = calloc(1, *len);
    if (vsafe_store_mount(&st, vsafe_sim_nvm_port(d->sim), img, *len, tag) != VSAFE_OK) {
        free(img);
        return NULL;
    }
    return img;
}

/* Offsets written down from the documented layout of the key-services region (docs/NVM-FORMAT.md):
 * region offset at header 0x0AC; symmetric records of 56 bytes after 32 + 5 * 208 + 4 * 136;
 * envelope records of 36 bytes after the 16 symmetric ones. */
static inline uint32_t su_region(const uint8_t *img)
{
    return ((uint32_t)img[0xAC] << 24) | ((uint32_t)img[0xAD] << 16) | ((uint32_t)img[0xAE] << 8) | img[0xAF];
}
#define SU_SYM_REC(img, s) (su_region(img) + 32u + 5u * 208u + 4u * 136u + (uint32_t)(s) * 56u)
#define SU_ENV_REC(img, s) (su_region(img) + 32u + 5u * 208u + 4u * 136u + 16u * 56u + (uint32_t)(s) * 36u)

static inline int su_cmd(sdev_t *d, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t *rl)
{
    return ku_cmd(d->se, cmd, len, rsp, rl);
}

/* Frame from hex text ("1F 05 0A ..."; spaces ignored). */
static inline size_t su_hex(const char *h, uint8_t *out)
{
    size_t n = 0;
    int hi = -1;
    for (; *h != '\0'; h++) {
        int v;
        if (*h >= '0' && *h <= '9') {
            v = *h - '0';
        } else if (*h >= 'a' && *h <= 'f') {
            v = *h - 'a' + 10;
        } else if (*h >= 'A' && *h <= 'F') {
            v = *h - 'A' + 10;
        } else {
            continue;
        }
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

static inline int su_hexcmd(sdev_t *d, const char *h, uint8_t *rsp, size_t *rl)
{
    uint8_t f[800];
    size_t n = su_hex(h, f);
    return su_cmd(d, f, n, rsp, rl);
}

/* ---- OpenSSL directly ---- */

static inline void ossl_cmac(const uint8_t *key, size_t klen, const uint8_t *msg, size_t n, uint8_t out[16])
{
    EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(m);
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string("cipher", klen == 32 ? "AES-256-CBC" : "AES-128-CBC", 0),
                      OSSL_PARAM_construct_end()};
    size_t ol = 0;
    if (EVP_MAC_init(c, key, klen, p) != 1 || EVP_MAC_update(c, msg, n) != 1 || EVP_MAC_final(c, out, &ol, 16) != 1) {
        abort();
    }
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(m);
}

static inline void ossl_hmac(const uint8_t *key, size_t klen, const uint8_t *msg, size_t n, uint8_t out[32])
{
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(m);
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0), OSSL_PARAM_construct_end()};
    size_t ol = 0;
    if (EVP_MAC_init(c, key, klen, p) != 1 || EVP_MAC_update(c, msg, n) != 1 || EVP_MAC_final(c, out, &ol, 32) != 1) {
        abort();
    }
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(m);
}

static inline void ossl_hkdf(const uint8_t *salt, size_t sl, const uint8_t *ikm, size_t il, const uint8_t *info,
                             size_t nl, uint8_t *out, size_t ol)
{
    EVP_KDF *k = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *c = EVP_KDF_CTX_new(k);
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
                      OSSL_PARAM_construct_octet_string("salt", (void *)salt, sl),
                      OSSL_PARAM_construct_octet_string("key", (void *)ikm, il),
                      OSSL_PARAM_construct_octet_string("info", (void *)info, nl), OSSL_PARAM_construct_end()};
    if (EVP_KDF_derive(c, out, ol, p) != 1) {
        abort();
    }
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(k);
}

/* AES key wrap (RFC 3394, default IV) of in under kek. */
static inline size_t ossl_kw(const uint8_t *kek, size_t kl, const uint8_t *in, size_t n, uint8_t *out, bool wrap)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    int l1 = 0, l2 = 0;
    const EVP_CIPHER *ci = kl == 32 ? EVP_aes_256_wrap() : EVP_aes_128_wrap();
    if (EVP_CipherInit_ex(c, ci, NULL, kek, NULL, wrap ? 1 : 0) != 1 || EVP_CipherUpdate(c, out, &l1, in, (int)n) != 1 ||
        EVP_CipherFinal_ex(c, out + l1, &l2) != 1) {
        l1 = -1;
        l2 = 0;
    }
    EVP_CIPHER_CTX_free(c);
    return l1 < 0 ? 0 : (size_t)(l1 + l2);
}

/* AES-CCM / AES-GCM encryption with OpenSSL directly: ct and tag. */
static inline void ossl_aead_enc(bool gcm, const uint8_t *key, size_t kl, const uint8_t *nonce, size_t nl,
                                 const uint8_t *aad, size_t al, const uint8_t *pt, size_t n, uint8_t *ct,
                                 uint8_t *tag, size_t tl)
{
    const EVP_CIPHER *ci = gcm ? (kl == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm())
                               : (kl == 32 ? EVP_aes_256_ccm() : EVP_aes_128_ccm());
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l = 0;
    if (EVP_EncryptInit_ex(c, ci, NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, (int)nl, NULL) != 1 ||
        (!gcm && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)tl, NULL) != 1) ||
        EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) != 1 ||
        (!gcm && EVP_EncryptUpdate(c, NULL, &l, NULL, (int)n) != 1) ||
        (al > 0 && EVP_EncryptUpdate(c, NULL, &l, aad, (int)al) != 1) ||
        EVP_EncryptUpdate(c, ct, &l, pt, (int)n) != 1 || EVP_EncryptFinal_ex(c, ct + l, &l) != 1) {
        abort();
    }
    uint8_t full[16];
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, gcm ? 16 : (int)tl, full) != 1) {
        abort();
    }
    memcpy(tag, full, tl);
    EVP_CIPHER_CTX_free(c);
}

static inline void ossl_ecb(const uint8_t *key, size_t kl, bool enc, const uint8_t *in, size_t n, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l = 0;
    if (EVP_CipherInit_ex(c, kl == 32 ? EVP_aes_256_ecb() : EVP_aes_128_ecb(), NULL, key, NULL, enc ? 1 : 0) != 1 ||
        EVP_CIPHER_CTX_set_padding(c, 0) != 1 || EVP_CipherUpdate(c, out, &l, in, (int)n) != 1) {
        abort();
    }
    EVP_CIPHER_CTX_free(c);
}

static inline void ossl_digest(const char *name, const uint8_t *m, size_t n, uint8_t *out, unsigned *ol)
{
    if (EVP_Digest(m, n, out, ol, EVP_get_digestbyname(name), NULL) != 1) {
        abort();
    }
}

/* STSELib's KEK HKDF salt, as the host library defines it. */
static const uint8_t su_salt[32] = {0xE4, 0x5D, 0x4C, 0xFD, 0x20, 0x15, 0xDE, 0x9E, 0x0A, 0xA9, 0xA9,
                                    0xF6, 0xA4, 0x9F, 0x45, 0x10, 0x0F, 0x99, 0xD9, 0x63, 0x3F, 0xB1,
                                    0xB2, 0xDD, 0xDB, 0xEE, 0xE6, 0x75, 0xD5, 0x4D, 0xE2, 0x5B};

#endif
