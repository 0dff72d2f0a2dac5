/* OpenSSL 3 implementation of the crypto port.
 *
 * Invariants:
 *  1. Every key slot owns one CMAC context, two ECB contexts and two CBC contexts (encrypt,
 *     decrypt), keyed once in key_set, plus the CMAC subkeys. Short messages (all channel traffic)
 *     run block by block on the ECB contexts, which need no re-initialisation at all; long ones
 *     re-initialise the CMAC/CBC contexts with a NULL key, which keeps the key schedule. No
 *     context is created or keyed per block or per message.
 *  2. Key bytes live only in the slot (for re-keying after a cipher change) and in OpenSSL's
 *     contexts; key_clear and free wipe both: our own buffers with vsafe_wipe (the project's one
 *     wipe), OpenSSL's contexts by freeing them (OpenSSL cleanses key schedules on free).
 *  3. With a non-zero seed, randomness is AES-256-CTR over zeros keyed by SHA-256 of the seed:
 *     reproducible, for tests only. With seed 0 it is RAND_bytes.
 *  4. A failed operation wipes its output before returning an error; temporaries that held
 *     plaintext blocks, CMAC chaining values, subkey material or private scalars are wiped on
 *     every exit.
 *  5. The ephemeral P-256 key is built from the port's own randomness, so a seeded port gives
 *     reproducible key pairs too. */
#include "port/posix/crypto_openssl.h"
#include "port/posix/crypto_openssl_keys.h"

#include "common/secure.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

typedef struct {
    bool set;
    size_t key_len;
    uint8_t key[32];
    uint8_t k1[16], k2[16]; /* CMAC subkeys (RFC 4493 §2.3) */
    EVP_MAC_CTX *cmac;
    EVP_CIPHER_CTX *ecb;
    EVP_CIPHER_CTX *ecb_dec;
    EVP_CIPHER_CTX *cbc_enc;
    EVP_CIPHER_CTX *cbc_dec;
} crypto_slot_t;

struct vsafe_openssl_crypto {
    vsafe_crypto_t port;
    crypto_slot_t slot[VSAFE_KEY_SLOTS];
    EVP_MAC *mac_cmac;
    EVP_CIPHER *ecb128, *ecb256, *cbc128, *cbc256, *ctr256, *kw128, *kw256;
    EVP_MD *sha256;
    EVP_MD_CTX *md;
    EVP_KDF *hkdf;
    EC_GROUP *group;
    EVP_PKEY *eph; /* ephemeral P-256 key, NULL when none */
    bool seeded;
    EVP_CIPHER_CTX *rng;
    vsafe_openssl_keys_t *keys; /* key services (crypto_openssl_keys.c, crypto_openssl_sym.c) */
};

static const char p256_name[] = "prime256v1";

/* ---- randomness ---- */

static int rng_bytes(void *vctx, uint8_t *out, size_t len)
{
    vsafe_openssl_crypto_t *c = vctx;
    if (len == 0u) {
        return VSAFE_OK;
    }
    if (!c->seeded) {
        while (len > 0u) {
            int n = len > 0x40000000u ? 0x40000000 : (int)len;
            if (RAND_bytes(out, n) != 1) {
                return VSAFE_ERR_CRYPTO;
            }
            out += n;
            len -= (size_t)n;
        }
        return VSAFE_OK;
    }
    memset(out, 0, len);
    while (len > 0u) {
        int n = len > 0x40000000u ? 0x40000000 : (int)len;
        int outl = 0;
        if (EVP_EncryptUpdate(c->rng, out, &outl, out, n) != 1 || outl != n) {
            vsafe_wipe(out, len);
            return VSAFE_ERR_CRYPTO;
        }
        out += n;
        len -= (size_t)n;
    }
    return VSAFE_OK;
}

/* ---- key slots ---- */

/* Doubling in GF(2^128) as CMAC uses it. */
static void cmac_dbl(uint8_t out[16], const uint8_t in[16])
{
    uint8_t carry = (uint8_t)(in[0] >> 7);
    for (int i = 0; i < 15; i++) {
        out[i] = (uint8_t)((in[i] << 1) | (in[i + 1] >> 7));
    }
    out[15] = (uint8_t)((in[15] << 1) ^ (0x87u & (uint8_t)(0u - carry)));
}

/* One block through a keyed ECB context: the cheapest AES call OpenSSL offers (no parameter
 * lookups, no re-initialisation). */
static int ecb_block(EVP_CIPHER_CTX *ctx, const uint8_t in[16], uint8_t out[16])
{
    int outl = 0;
    return EVP_CipherUpdate(ctx, out, &outl, in, 16) == 1 && outl == 16;
}

static void slot_free_ctx(crypto_slot_t *s)
{
    EVP_MAC_CTX_free(s->cmac);
    EVP_CIPHER_CTX_free(s->ecb);
    EVP_CIPHER_CTX_free(s->ecb_dec);
    EVP_CIPHER_CTX_free(s->cbc_enc);
    EVP_CIPHER_CTX_free(s->cbc_dec);
    s->cmac = NULL;
    s->ecb = s->ecb_dec = s->cbc_enc = s->cbc_dec = NULL;
}

static void key_clear(void *vctx, unsigned slot)
{
    vsafe_openssl_crypto_t *c = vctx;
    if (slot >= VSAFE_KEY_SLOTS) {
        return;
    }
    crypto_slot_t *s = &c->slot[slot];
    slot_free_ctx(s); /* OpenSSL cleanses cipher key schedules when freeing contexts */
    vsafe_wipe(s->key, sizeof s->key);
    vsafe_wipe(s->k1, sizeof s->k1);
    vsafe_wipe(s->k2, sizeof s->k2);
    s->key_len = 0;
    s->set = false;
}

static int key_set(void *vctx, unsigned slot, const uint8_t *key, size_t key_len)
{
    vsafe_openssl_crypto_t *c = vctx;
    if (slot >= VSAFE_KEY_SLOTS || key == NULL || (key_len != 16u && key_len != 32u)) {
        return VSAFE_ERR_ARGUMENT;
    }
    key_clear(c, slot);
    crypto_slot_t *s = &c->slot[slot];
    const EVP_CIPHER *ecb = key_len == 16u ? c->ecb128 : c->ecb256;
    const EVP_CIPHER *cbc = key_len == 16u ? c->cbc128 : c->cbc256;
    static const uint8_t zero_iv[16];
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
                                                 (char *)(key_len == 16u ? "AES-128-CBC" : "AES-256-CBC"), 0);
    params[1] = OSSL_PARAM_construct_end();

    s->cmac = EVP_MAC_CTX_new(c->mac_cmac);
    s->ecb = EVP_CIPHER_CTX_new();
    s->ecb_dec = EVP_CIPHER_CTX_new();
    s->cbc_enc = EVP_CIPHER_CTX_new();
    s->cbc_dec = EVP_CIPHER_CTX_new();
    if (s->cmac == NULL || s->ecb == NULL || s->ecb_dec == NULL || s->cbc_enc == NULL || s->cbc_dec == NULL ||
        EVP_MAC_init(s->cmac, key, key_len, params) != 1 ||
        EVP_EncryptInit_ex2(s->ecb, ecb, key, NULL, NULL) != 1 ||
        EVP_DecryptInit_ex2(s->ecb_dec, ecb, key, NULL, NULL) != 1 ||
        EVP_EncryptInit_ex2(s->cbc_enc, cbc, key, zero_iv, NULL) != 1 ||
        EVP_DecryptInit_ex2(s->cbc_dec, cbc, key, zero_iv, NULL) != 1) {
        key_clear(c, slot);
        return VSAFE_ERR_CRYPTO;
    }
    EVP_CIPHER_CTX_set_padding(s->ecb, 0);
    EVP_CIPHER_CTX_set_padding(s->ecb_dec, 0);
    EVP_CIPHER_CTX_set_padding(s->cbc_enc, 0);
    EVP_CIPHER_CTX_set_padding(s->cbc_dec, 0);
    /* CMAC subkeys: L = E(K, 0), K1 = L << 1 (^ 0x87), K2 = K1 << 1 (^ 0x87). */
    uint8_t l[16] = {0};
    int outl = 0;
    if (EVP_EncryptUpdate(s->ecb, l, &outl, l, 16) != 1 || outl != 16) {
        vsafe_wipe(l, sizeof l);
        key_clear(c, slot);
        return VSAFE_ERR_CRYPTO;
    }
    cmac_dbl(s->k1, l);
    cmac_dbl(s->k2, s->k1);
    vsafe_wipe(l, sizeof l);
    memcpy(s->key, key, key_len);
    s->key_len = key_len;
    s->set = true;
    return VSAFE_OK;
}

static crypto_slot_t *slot_get(vsafe_openssl_crypto_t *c, unsigned slot)
{
    if (slot >= VSAFE_KEY_SLOTS || !c->slot[slot].set) {
        return NULL;
    }
    return &c->slot[slot];
}

/* Short messages (every channel MAC): CMAC computed block by block on the slot's ECB context,
 * which costs a fraction of EVP_MAC's per-message re-initialisation. Long ones use EVP_MAC,
 * whose multi-block CBC is faster per byte. Both give the RFC 4493 tag. */
#define CMAC_SHORT_MAX 256u

static int cmac_short(crypto_slot_t *s, const vsafe_iov_t *iov, size_t iov_count, size_t total, uint8_t mac[16])
{
    uint8_t x[16] = {0}, blk[16];
    size_t fill = 0, seen = 0;
    int ok = 1;
    for (size_t i = 0; i < iov_count && ok; i++) {
        const uint8_t *p = iov[i].p;
        size_t n = iov[i].len;
        while (n > 0u && ok) {
            if (fill == 16u) {
                /* A full block with more data after it: chain it. */
                for (int j = 0; j < 16; j++) {
                    x[j] ^= blk[j];
                }
                ok = ecb_block(s->ecb, x, x);
                fill = 0;
            }
            size_t take = 16u - fill < n ? 16u - fill : n;
            memcpy(blk + fill, p, take);
            fill += take;
            p += take;
            n -= take;
            seen += take;
        }
    }
    if (ok && seen == total) {
        const uint8_t *k = s->k1;
        if (fill < 16u) {
            blk[fill] = 0x80;
            memset(blk + fill + 1, 0, 15u - fill);
            k = s->k2;
        }
        for (int j = 0; j < 16; j++) {
            x[j] ^= (uint8_t)(blk[j] ^ k[j]);
        }
        ok = ecb_block(s->ecb, x, mac);
    } else {
        ok = 0;
    }
    vsafe_wipe(x, sizeof x);
    vsafe_wipe(blk, sizeof blk);
    if (!ok) {
        vsafe_wipe(mac, 16);
        return VSAFE_ERR_CRYPTO;
    }
    return VSAFE_OK;
}

static int cmac(void *vctx, unsigned slot, const vsafe_iov_t *iov, size_t iov_count, uint8_t mac[16])
{
    crypto_slot_t *s = slot_get(vctx, slot);
    size_t outl = 0, total = 0;
    if (s == NULL) {
        memset(mac, 0, 16);
        return VSAFE_ERR_ARGUMENT;
    }
    for (size_t i = 0; i < iov_count; i++) {
        total += iov[i].len;
    }
    if (total <= CMAC_SHORT_MAX) {
        return cmac_short(s, iov, iov_count, total, mac);
    }
    if (EVP_MAC_init(s->cmac, NULL, 0, NULL) != 1) {
        goto fail;
    }
    for (size_t i = 0; i < iov_count; i++) {
        if (iov[i].len != 0u && EVP_MAC_update(s->cmac, iov[i].p, iov[i].len) != 1) {
            goto fail;
        }
    }
    if (EVP_MAC_final(s->cmac, mac, &outl, 16) != 1 || outl != 16u) {
        goto fail;
    }
    return VSAFE_OK;
fail:
    vsafe_wipe(mac, 16);
    return VSAFE_ERR_CRYPTO;
}

static int aes_ecb_encrypt(void *vctx, unsigned slot, const uint8_t in[16], uint8_t out[16])
{
    crypto_slot_t *s = slot_get(vctx, slot);
    int outl = 0;
    /* ECB holds no chaining state, so the keyed context is used as is. */
    if (s == NULL || EVP_EncryptUpdate(s->ecb, out, &outl, in, 16) != 1 || outl != 16) {
        vsafe_wipe(out, 16);
        return s == NULL ? VSAFE_ERR_ARGUMENT : VSAFE_ERR_CRYPTO;
    }
    return VSAFE_OK;
}

/* Short CBC (every channel payload of a few blocks): chained by hand on the ECB contexts, which
 * avoids re-initialising a CBC context for the IV. Long data uses the CBC contexts. */
#define CBC_SHORT_MAX 64u

static int cbc_short(crypto_slot_t *s, int encrypt, const uint8_t iv[16], const uint8_t *in, size_t len,
                     uint8_t *out)
{
    uint8_t prev[16], cur[16], tmp[16];
    int ok = 1;
    memcpy(prev, iv, 16);
    for (size_t off = 0; off < len && ok; off += 16u) {
        memcpy(cur, in + off, 16); /* in == out allowed */
        if (encrypt) {
            for (int j = 0; j < 16; j++) {
                tmp[j] = (uint8_t)(cur[j] ^ prev[j]);
            }
            ok = ecb_block(s->ecb, tmp, out + off);
            memcpy(prev, out + off, 16);
        } else {
            ok = ecb_block(s->ecb_dec, cur, tmp);
            for (int j = 0; j < 16; j++) {
                out[off + (size_t)j] = (uint8_t)(tmp[j] ^ prev[j]);
            }
            memcpy(prev, cur, 16);
        }
    }
    vsafe_wipe(tmp, sizeof tmp);
    vsafe_wipe(cur, sizeof cur);
    if (!ok) {
        vsafe_wipe(out, len);
        return VSAFE_ERR_CRYPTO;
    }
    return VSAFE_OK;
}

static int aes_cbc(void *vctx, unsigned slot, int encrypt, const uint8_t iv[16], const uint8_t *in, size_t len,
                   uint8_t *out)
{
    crypto_slot_t *s = slot_get(vctx, slot);
    if (s == NULL || len % 16u != 0u || len > 0x40000000u) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (len == 0u) {
        return VSAFE_OK;
    }
    if (len <= CBC_SHORT_MAX) {
        return cbc_short(s, encrypt, iv, in, len, out);
    }
    EVP_CIPHER_CTX *ctx = encrypt ? s->cbc_enc : s->cbc_dec;
    int outl = 0;
    if (EVP_CipherInit_ex2(ctx, NULL, NULL, iv, -1, NULL) != 1 ||
        EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1 || (size_t)outl != len) {
        vsafe_wipe(out, len);
        return VSAFE_ERR_CRYPTO;
    }
    return VSAFE_OK;
}

/* ---- hashing and key derivation ---- */

static int sha256(void *vctx, const vsafe_iov_t *iov, size_t iov_count, uint8_t out[32])
{
    vsafe_openssl_crypto_t *c = vctx;
    unsigned int outl = 0;
    if (EVP_DigestInit_ex2(c->md, c->sha256, NULL) != 1) {
        goto fail;
    }
    for (size_t i = 0; i < iov_count; i++) {
        if (iov[i].len != 0u && EVP_DigestUpdate(c->md, iov[i].p, iov[i].len) != 1) {
            goto fail;
        }
    }
    if (EVP_DigestFinal_ex(c->md, out, &outl) != 1 || outl != 32u) {
        goto fail;
    }
    return VSAFE_OK;
fail:
    vsafe_wipe(out, 32);
    return VSAFE_ERR_CRYPTO;
}

static int hkdf_sha256(void *vctx, const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                       const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    vsafe_openssl_crypto_t *c = vctx;
    static const uint8_t empty[1];
    int rc = VSAFE_ERR_CRYPTO;
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(c->hkdf);
    OSSL_PARAM params[5];
    size_t n = 0;
    if (kctx == NULL || out_len == 0u) {
        goto done;
    }
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(ikm_len ? ikm : empty), ikm_len);
    if (salt_len != 0u) {
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    }
    if (info_len != 0u) {
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    }
    params[n] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, out, out_len, params) == 1) {
        rc = VSAFE_OK;
    }
done:
    EVP_KDF_CTX_free(kctx);
    if (rc != VSAFE_OK && out != NULL) {
        vsafe_wipe(out, out_len);
    }
    return rc;
}

/* ---- P-256 ---- */

/* EVP_PKEY from an uncompressed point (04 || X || Y) and optionally a private scalar.
 * Importing checks that the point lies on the curve. */
static EVP_PKEY *p256_pkey(const uint8_t pub[64], const uint8_t *priv)
{
    uint8_t point[65];
    EVP_PKEY *pkey = NULL;
    BIGNUM *d = NULL;
    OSSL_PARAM *params = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    point[0] = 0x04;
    memcpy(point + 1, pub, 64);
    if (bld == NULL || pctx == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, p256_name, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point) != 1) {
        goto done;
    }
    if (priv != NULL) {
        d = BN_secure_new();
        if (d == NULL || BN_bin2bn(priv, 32, d) == NULL ||
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1) {
            goto done;
        }
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &pkey, priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
done:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(pctx);
    BN_clear_free(d);
    return pkey;
}

static void ecdh_clear(void *vctx)
{
    vsafe_openssl_crypto_t *c = vctx;
    EVP_PKEY_free(c->eph);
    c->eph = NULL;
}

static int ecdh_keygen(void *vctx, uint8_t pub[64])
{
    vsafe_openssl_crypto_t *c = vctx;
    uint8_t priv[32];
    uint8_t point[65];
    int rc = VSAFE_ERR_CRYPTO;
    BIGNUM *d = BN_secure_new();
    EC_POINT *q = EC_POINT_new(c->group);
    const BIGNUM *order = EC_GROUP_get0_order(c->group);
    ecdh_clear(c);
    if (d == NULL || q == NULL || order == NULL) {
        goto done;
    }
    for (int tries = 0;; tries++) {
        if (tries == 64 || rng_bytes(c, priv, sizeof priv) != VSAFE_OK || BN_bin2bn(priv, 32, d) == NULL) {
            goto done;
        }
        if (!BN_is_zero(d) && BN_cmp(d, order) < 0) {
            break;
        }
    }
    if (EC_POINT_mul(c->group, q, d, NULL, NULL, NULL) != 1 ||
        EC_POINT_point2oct(c->group, q, POINT_CONVERSION_UNCOMPRESSED, point, sizeof point, NULL) != sizeof point) {
        goto done;
    }
    c->eph = p256_pkey(point + 1, priv);
    if (c->eph == NULL) {
        goto done;
    }
    memcpy(pub, point + 1, 64);
    rc = VSAFE_OK;
done:
    vsafe_wipe(priv, sizeof priv);
    BN_clear_free(d);
    EC_POINT_free(q);
    if (rc != VSAFE_OK) {
        memset(pub, 0, 64);
    }
    return rc;
}

static int ecdh_derive(void *vctx, const uint8_t peer_pub[64], uint8_t secret[32])
{
    vsafe_openssl_crypto_t *c = vctx;
    int rc = VSAFE_ERR_CRYPTO;
    size_t len = 32;
    EVP_PKEY *peer = NULL;
    EVP_PKEY_CTX *dctx = NULL;
    if (c->eph == NULL) {
        rc = VSAFE_ERR_STATE;
        goto done;
    }
    peer = p256_pkey(peer_pub, NULL);
    if (peer == NULL) {
        rc = VSAFE_ERR_ARGUMENT; /* not a point on P-256 */
        goto done;
    }
    dctx = EVP_PKEY_CTX_new_from_pkey(NULL, c->eph, NULL);
    if (dctx != NULL && EVP_PKEY_derive_init(dctx) == 1 && EVP_PKEY_derive_set_peer(dctx, peer) == 1 &&
        EVP_PKEY_derive(dctx, secret, &len) == 1 && len == 32u) {
        rc = VSAFE_OK;
    }
done:
    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_free(peer);
    if (rc != VSAFE_OK) {
        vsafe_wipe(secret, 32);
    }
    return rc;
}

static int ecdsa_verify(void *vctx, const uint8_t pub[64], const uint8_t digest[32], const uint8_t sig[64])
{
    (void)vctx;
    int rc = VSAFE_ERR_CRYPTO;
    unsigned char *der = NULL;
    EVP_PKEY_CTX *vctx_pk = NULL;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
    EVP_PKEY *pkey = p256_pkey(pub, NULL);
    if (es == NULL || r == NULL || s == NULL || pkey == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        goto done;
    }
    int der_len = i2d_ECDSA_SIG(es, &der);
    vctx_pk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (der_len > 0 && vctx_pk != NULL && EVP_PKEY_verify_init(vctx_pk) == 1 &&
        EVP_PKEY_verify(vctx_pk, der, (size_t)der_len, digest, 32) == 1) {
        rc = VSAFE_OK;
    }
done:
    OPENSSL_free(der);
    EVP_PKEY_CTX_free(vctx_pk);
    EVP_PKEY_free(pkey);
    ECDSA_SIG_free(es);
    return rc;
}

static int aes_kw_unwrap(void *vctx, const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
                         uint8_t *out)
{
    vsafe_openssl_crypto_t *c = vctx;
    int rc = VSAFE_ERR_CRYPTO;
    int outl = 0, finl = 0;
    if ((kek_len != 16u && kek_len != 32u) || in_len < 24u || in_len % 8u != 0u || in_len > 0x10000u) {
        return VSAFE_ERR_ARGUMENT;
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        goto done;
    }
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_DecryptInit_ex2(ctx, kek_len == 16u ? c->kw128 : c->kw256, kek, NULL, NULL) == 1 &&
        EVP_DecryptUpdate(ctx, out, &outl, in, (int)in_len) == 1 && (size_t)outl == in_len - 8u &&
        EVP_DecryptFinal_ex(ctx, out + outl, &finl) == 1 && finl == 0) {
        rc = VSAFE_OK;
    }
done:
    EVP_CIPHER_CTX_free(ctx);
    if (rc != VSAFE_OK) {
        vsafe_wipe(out, in_len - 8u);
    }
    return rc;
}

static uint64_t now_us(void *vctx)
{
    (void)vctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- lifetime ---- */

void vsafe_openssl_crypto_free(vsafe_openssl_crypto_t *c)
{
    if (c == NULL) {
        return;
    }
    for (unsigned i = 0; i < VSAFE_KEY_SLOTS; i++) {
        key_clear(c, i);
    }
    ecdh_clear(c);
    vsafe_openssl_keys_free(c->keys);
    EVP_CIPHER_CTX_free(c->rng);
    EVP_MD_CTX_free(c->md);
    EVP_MAC_free(c->mac_cmac);
    EVP_CIPHER_free(c->ecb128);
    EVP_CIPHER_free(c->ecb256);
    EVP_CIPHER_free(c->cbc128);
    EVP_CIPHER_free(c->cbc256);
    EVP_CIPHER_free(c->ctr256);
    EVP_CIPHER_free(c->kw128);
    EVP_CIPHER_free(c->kw256);
    EVP_MD_free(c->sha256);
    EVP_KDF_free(c->hkdf);
    EC_GROUP_free(c->group);
    vsafe_wipe(c, sizeof *c);
    free(c);
}

int vsafe_openssl_crypto_new(vsafe_openssl_crypto_t **out, uint64_t seed)
{
    if (out == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *out = NULL;
    vsafe_openssl_crypto_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    c->mac_cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    c->ecb128 = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
    c->ecb256 = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
    c->cbc128 = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
    c->cbc256 = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    c->ctr256 = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
    c->kw128 = EVP_CIPHER_fetch(NULL, "AES-128-WRAP", NULL);
    c->kw256 = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    c->md = EVP_MD_CTX_new();
    c->hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    c->group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    if (c->mac_cmac == NULL || c->ecb128 == NULL || c->ecb256 == NULL || c->cbc128 == NULL ||
        c->cbc256 == NULL || c->ctr256 == NULL || c->kw128 == NULL || c->kw256 == NULL || c->sha256 == NULL ||
        c->md == NULL || c->hkdf == NULL || c->group == NULL) {
        vsafe_openssl_crypto_free(c);
        return VSAFE_ERR_CRYPTO;
    }
    if (seed != 0u) {
        uint8_t seed_bytes[8 + 16];
        uint8_t key[32];
        unsigned int kl = 0;
        static const uint8_t iv[16];
        memcpy(seed_bytes, "vsafe-rng-seed:\0", 16);
        for (int i = 0; i < 8; i++) {
            seed_bytes[16 + i] = (uint8_t)(seed >> (56 - 8 * i));
        }
        c->seeded = true;
        c->rng = EVP_CIPHER_CTX_new();
        int ok = c->rng != NULL && EVP_Digest(seed_bytes, sizeof seed_bytes, key, &kl, c->sha256, NULL) == 1 &&
                 EVP_EncryptInit_ex2(c->rng, c->ctr256, key, iv, NULL) == 1;
        vsafe_wipe(key, sizeof key);
        if (!ok) {
            vsafe_openssl_crypto_free(c);
            return VSAFE_ERR_CRYPTO;
        }
    }
    c->port = (vsafe_crypto_t){
        .ctx = c,
        .random = rng_bytes,
        .key_set = key_set,
        .key_clear = key_clear,
        .cmac = cmac,
        .aes_ecb_encrypt = aes_ecb_encrypt,
        .aes_cbc = aes_cbc,
        .sha256 = sha256,
        .hkdf_sha256 = hkdf_sha256,
        .ecdh_keygen = ecdh_keygen,
        .ecdh_derive = ecdh_derive,
        .ecdh_clear = ecdh_clear,
        .ecdsa_verify = ecdsa_verify,
        .aes_kw_unwrap = aes_kw_unwrap,
        .now_us = now_us,
    };
    int rc = vsafe_openssl_keys_new(&c->keys, &c->port);
    if (rc != VSAFE_OK) {
        vsafe_openssl_crypto_free(c);
        return rc;
    }
    *out = c;
    return VSAFE_OK;
}

vsafe_openssl_keys_t *vsafe_openssl_crypto_keys(void *port_ctx)
{
    return ((vsafe_openssl_crypto_t *)port_ctx)->keys;
}

const vsafe_crypto_t *vsafe_openssl_crypto_port(vsafe_openssl_crypto_t *c)
{
    return c == NULL ? NULL : &c->port;
}

size_t vsafe_openssl_crypto_memory(const vsafe_openssl_crypto_t *c)
{
    if (c == NULL) {
        return 0;
    }
    /* Our own struct plus an estimate of OpenSSL's per-slot contexts (key schedules, CMAC state). */
    size_t n = sizeof *c + vsafe_openssl_keys_memory(c->keys);
    for (unsigned i = 0; i < VSAFE_KEY_SLOTS; i++) {
        if (c->slot[i].set) {
            n += 4u * 1024u;
        }
    }
    return n;
}
