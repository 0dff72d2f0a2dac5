/* Elliptic-curve half of the OpenSSL key services (key generation, ECDSA/EdDSA sign and verify,
 * ECDH, point decompression) and the lifetime of vsafe_openssl_keys_t.
 *
 * Invariants:
 *  1. Every raw key reaches OpenSSL through key_get: a hit matches (curve, private/public) and
 *     the key bytes, compared with vsafe_ct_equal over every occupied entry; a miss imports the
 *     key and replaces an empty or the least recently used entry, which is wiped first. The entry
 *     a call fetched first is the most recently used one, so fetching a second key (ECDH: the peer,
 *     then the private key) never evicts the first.
 *  2. Imports check keys. A Weierstrass public point must decode (EC_POINT_oct2point refuses
 *     coordinates >= p and points off the curve); every curve here has cofactor 1, so a point on
 *     the curve is in the prime-order group. A Weierstrass private scalar must lie in [1, n-1].
 *     OpenSSL 3.0 has no decoding check for X25519/Ed25519 public keys: any 32 bytes import, an
 *     Ed25519 key that does not decode simply verifies nothing.
 *  3. Key generation draws from the port's own randomness, so a seeded port generates
 *     reproducible keys: a Weierstrass scalar by rejection sampling below the order n (the bits
 *     above n's bit length cleared, which keeps the sampling uniform), an X25519/Ed25519 private
 *     key as 32 random bytes (RFC 7748 clamping and the RFC 8032 expansion happen in OpenSSL).
 *  4. ECDSA takes msg as the digest: EVP_PKEY_sign/verify on a context without a digest set pass
 *     the bytes to OpenSSL's ECDSA, which keeps the leftmost bits of the order's length (FIPS
 *     186-5). R and S leave and enter as big-endian integers of the curve's half signature size.
 *  5. One exit per function; on failure the outputs are zeroed. */
#include "port/posix/crypto_openssl_keys.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "common/secure.h"

typedef struct {
    const char *group; /* OpenSSL group name; NULL for X25519/Ed25519 */
    const char *type;  /* EVP_PKEY key type */
    int nid;
    size_t key_len;    /* private key, coordinate and signature-half bytes */
    bool can_sign;
    bool can_ecdh;
} curve_t;

static const curve_t curves[VSAFE_CURVE_COUNT] = {
    [VSAFE_CURVE_P256] = {"prime256v1", "EC", NID_X9_62_prime256v1, 32, true, true},
    [VSAFE_CURVE_P384] = {"secp384r1", "EC", NID_secp384r1, 48, true, true},
    [VSAFE_CURVE_P521] = {"secp521r1", "EC", NID_secp521r1, 66, true, true},
    [VSAFE_CURVE_BP256] = {"brainpoolP256r1", "EC", NID_brainpoolP256r1, 32, true, true},
    [VSAFE_CURVE_BP384] = {"brainpoolP384r1", "EC", NID_brainpoolP384r1, 48, true, true},
    [VSAFE_CURVE_BP512] = {"brainpoolP512r1", "EC", NID_brainpoolP512r1, 64, true, true},
    [VSAFE_CURVE_X25519] = {NULL, "X25519", NID_X25519, 32, false, true},
    [VSAFE_CURVE_ED25519] = {NULL, "ED25519", NID_ED25519, 32, true, false},
};

enum { EC_OP_NONE = 0, EC_OP_SIGN, EC_OP_VERIFY, EC_OP_DERIVE };

/* ECDSA message (digest) bounds: the chip signs 1..64 bytes (the largest digest, SHA-512). */
#define EC_DIGEST_MAX 64u
/* DER of an ECDSA signature over P-521, with room: SEQUENCE { INTEGER r, INTEGER s }. */
#define EC_DER_MAX 160u
/* Ed25519ph takes the 64-byte SHA-512 of the message. */
#define ED25519PH_PREHASH 64u

static const uint8_t no_bytes[1];

static const curve_t *curve_get(unsigned curve)
{
    return curve < VSAFE_CURVE_COUNT && curves[curve].key_len != 0u ? &curves[curve] : NULL;
}

static size_t pub_len(const curve_t *cv)
{
    return cv->group != NULL ? 2u * cv->key_len : cv->key_len;
}

static const EC_GROUP *group_get(vsafe_openssl_keys_t *k, unsigned curve)
{
    if (k->group[curve] == NULL) {
        k->group[curve] = EC_GROUP_new_by_curve_name(curves[curve].nid);
    }
    return k->group[curve];
}

/* ---- the key cache ---- */

static void entry_clear(vsafe_openssl_ec_entry_t *e)
{
    EVP_PKEY_CTX_free(e->pctx);
    EVP_MD_CTX_free(e->mdctx);
    EVP_PKEY_free(e->pkey); /* OpenSSL clears private key material when it frees it */
    vsafe_wipe(e, sizeof *e);
}

/* 04 || X || Y = d * G. point holds 1 + 2 * key_len bytes. */
static bool weier_mul_base(vsafe_openssl_keys_t *k, unsigned curve, const BIGNUM *d, uint8_t *point)
{
    const EC_GROUP *g = group_get(k, curve);
    size_t n = 1u + 2u * curves[curve].key_len;
    EC_POINT *q = g != NULL ? EC_POINT_new(g) : NULL;
    bool ok = q != NULL && EC_POINT_mul(g, q, d, NULL, NULL, NULL) == 1 &&
              EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, point, n, NULL) == n;
    EC_POINT_free(q);
    return ok;
}

/* EVP_PKEY from an uncompressed point (or none: point NULL) and, if d is not NULL, the private
 * scalar. */
static EVP_PKEY *weier_fromdata(const curve_t *cv, const uint8_t *point, const BIGNUM *d)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (bld == NULL || pctx == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, cv->group, 0) != 1 ||
        (point != NULL &&
         OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1u + 2u * cv->key_len) != 1) ||
        (d != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1)) {
        goto done;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &pkey, d != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
done:
    OSSL_PARAM_free(params); /* the private scalar sits in its secure (cleared on free) part */
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(pctx);
    return pkey;
}

static EVP_PKEY *import_priv(vsafe_openssl_keys_t *k, unsigned curve, const uint8_t *priv, int *rc)
{
    const curve_t *cv = &curves[curve];
    EVP_PKEY *pkey = NULL;
    BIGNUM *d = NULL;
    uint8_t point[1u + 2u * VSAFE_EC_MAX_KEY];
    const EC_GROUP *g;
    *rc = VSAFE_ERR_CRYPTO;
    if (cv->group == NULL) {
        pkey = EVP_PKEY_new_raw_private_key_ex(NULL, cv->type, NULL, priv, cv->key_len);
        goto done;
    }
    g = group_get(k, curve);
    d = BN_secure_new();
    if (g == NULL || d == NULL || BN_bin2bn(priv, (int)cv->key_len, d) == NULL) {
        goto done;
    }
    if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0) {
        *rc = VSAFE_ERR_ARGUMENT;
        goto done;
    }
    /* ECDSA signing and ECDH need only the scalar: importing it alone saves a scalar
     * multiplication on every cache miss (an ephemeral key is always one). Should an OpenSSL
     * refuse a private key without its public point, the point is computed and given too. */
    pkey = weier_fromdata(cv, NULL, d);
    if (pkey == NULL && weier_mul_base(k, curve, d, point)) {
        pkey = weier_fromdata(cv, point, d);
    }
done:
    BN_clear_free(d);
    if (pkey != NULL) {
        *rc = VSAFE_OK;
    }
    return pkey;
}

static EVP_PKEY *import_pub(vsafe_openssl_keys_t *k, unsigned curve, const uint8_t *pub, int *rc)
{
    const curve_t *cv = &curves[curve];
    EVP_PKEY *pkey = NULL;
    EC_POINT *q = NULL;
    uint8_t point[1u + 2u * VSAFE_EC_MAX_KEY];
    const EC_GROUP *g;
    *rc = VSAFE_ERR_CRYPTO;
    if (cv->group == NULL) {
        pkey = EVP_PKEY_new_raw_public_key_ex(NULL, cv->type, NULL, pub, cv->key_len);
        goto done;
    }
    g = group_get(k, curve);
    q = g != NULL ? EC_POINT_new(g) : NULL;
    if (q == NULL) {
        goto done;
    }
    point[0] = 0x04;
    memcpy(point + 1, pub, 2u * cv->key_len);
    if (EC_POINT_oct2point(g, q, point, 1u + 2u * cv->key_len, NULL) != 1) {
        ERR_clear_error();
        *rc = VSAFE_ERR_INVALID_PUBKEY;
        goto done;
    }
    pkey = weier_fromdata(cv, point, NULL);
done:
    EC_POINT_free(q);
    if (pkey != NULL) {
        *rc = VSAFE_OK;
    }
    return pkey;
}

static vsafe_openssl_ec_entry_t *key_get(vsafe_openssl_keys_t *k, unsigned curve, bool is_priv, const uint8_t *key,
                                         int *rc)
{
    const curve_t *cv = &curves[curve];
    size_t len = is_priv ? cv->key_len : pub_len(cv);
    vsafe_openssl_ec_entry_t *hit = NULL, *victim = &k->ec[0];
    for (unsigned i = 0; i < VSAFE_OPENSSL_EC_CACHE; i++) {
        vsafe_openssl_ec_entry_t *e = &k->ec[i];
        if (e->pkey != NULL && e->curve == curve && e->is_priv == (uint8_t)is_priv &&
            vsafe_ct_equal(e->key, key, len)) {
            hit = e;
        }
        if (victim->pkey != NULL && (e->pkey == NULL || e->used < victim->used)) {
            victim = e;
        }
    }
    if (hit != NULL) {
        hit->used = ++k->tick;
        *rc = VSAFE_OK;
        return hit;
    }
    EVP_PKEY *pkey = is_priv ? import_priv(k, curve, key, rc) : import_pub(k, curve, key, rc);
    if (pkey == NULL) {
        return NULL;
    }
    entry_clear(victim);
    victim->pkey = pkey;
    victim->curve = (uint8_t)curve;
    victim->is_priv = (uint8_t)is_priv;
    memcpy(victim->key, key, len);
    victim->used = ++k->tick;
    return victim;
}

/* Makes the entry's context ready for op (kept between calls for the same op). */
static bool entry_prepare(vsafe_openssl_ec_entry_t *e, int op)
{
    bool ok;
    if (e->op == op) {
        return true;
    }
    EVP_PKEY_CTX_free(e->pctx);
    EVP_MD_CTX_free(e->mdctx);
    e->pctx = NULL;
    e->mdctx = NULL;
    e->op = EC_OP_NONE;
    if (e->curve == VSAFE_CURVE_ED25519) {
        e->mdctx = EVP_MD_CTX_new();
        ok = e->mdctx != NULL &&
             (op == EC_OP_SIGN ? EVP_DigestSignInit_ex(e->mdctx, NULL, NULL, NULL, NULL, e->pkey, NULL)
                               : EVP_DigestVerifyInit_ex(e->mdctx, NULL, NULL, NULL, NULL, e->pkey, NULL)) == 1;
    } else {
        e->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, e->pkey, NULL);
        ok = e->pctx != NULL && (op == EC_OP_SIGN     ? EVP_PKEY_sign_init(e->pctx)
                                 : op == EC_OP_VERIFY ? EVP_PKEY_verify_init(e->pctx)
                                                      : EVP_PKEY_derive_init(e->pctx)) == 1;
    }
    if (!ok) {
        EVP_PKEY_CTX_free(e->pctx);
        EVP_MD_CTX_free(e->mdctx);
        e->pctx = NULL;
        e->mdctx = NULL;
        return false;
    }
    e->op = op;
    return true;
}

/* ---- Ed25519 ---- */

/* Pure Ed25519 one-shot sign or verify on the entry's kept context. OpenSSL 3.0 lets a one-shot
 * context run again; later versions may refuse a second call, so a failure on a reused context
 * is retried once on a fresh one. Returns OpenSSL's result (1 success/valid) or -1. */
static int ed25519_run(vsafe_openssl_ec_entry_t *e, int op, const uint8_t *msg, size_t msg_len, uint8_t *sig)
{
    bool fresh = e->op != op;
    for (;;) {
        size_t sig_len = 64;
        int r;
        if (!entry_prepare(e, op)) {
            return -1;
        }
        r = op == EC_OP_SIGN ? EVP_DigestSign(e->mdctx, sig, &sig_len, msg, msg_len)
                             : EVP_DigestVerify(e->mdctx, sig, 64, msg, msg_len);
        if (r == 1 && sig_len == 64u) {
            return 1;
        }
        if (fresh) {
            return r == 1 ? -1 : r;
        }
        e->op = EC_OP_NONE;
        fresh = true;
    }
}

/* Ed25519ph over a caller-made SHA-512 pre-hash. OpenSSL takes a pre-hash as the input of
 * EVP_PKEY_sign/verify with the "ED25519ph" signature algorithm from version 3.4 on; before that
 * (3.0 here) its Ed25519ph exists only inside EVP_DigestSign, which hashes the message itself, so
 * the port reports VSAFE_ERR_UNSUPPORTED. */
static int ed25519ph_run(EVP_PKEY *pkey, int op, const uint8_t prehash[ED25519PH_PREHASH], uint8_t *sig, int *res)
{
#if OPENSSL_VERSION_NUMBER >= 0x30400000L
    int rc = VSAFE_ERR_CRYPTO;
    size_t sig_len = 64;
    EVP_SIGNATURE *alg = EVP_SIGNATURE_fetch(NULL, "ED25519ph", NULL);
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    *res = -1;
    if (alg == NULL) {
        rc = VSAFE_ERR_UNSUPPORTED;
    } else if (pctx != NULL && op == EC_OP_SIGN) {
        if (EVP_PKEY_sign_init_ex2(pctx, alg, NULL) == 1 &&
            EVP_PKEY_sign(pctx, sig, &sig_len, prehash, ED25519PH_PREHASH) == 1 && sig_len == 64u) {
            *res = 1;
            rc = VSAFE_OK;
        }
    } else if (pctx != NULL && EVP_PKEY_verify_init_ex2(pctx, alg, NULL) == 1) {
        *res = EVP_PKEY_verify(pctx, sig, 64, prehash, ED25519PH_PREHASH);
        rc = VSAFE_OK;
    }
    EVP_PKEY_CTX_free(pctx);
    EVP_SIGNATURE_free(alg);
    return rc;
#else
    (void)pkey;
    (void)op;
    (void)prehash;
    (void)sig;
    *res = -1;
    return VSAFE_ERR_UNSUPPORTED;
#endif
}

/* ---- entry points ---- */

static int ec_keygen(void *ctx, unsigned curve, uint8_t *priv, uint8_t *pub)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    const curve_t *cv = curve_get(curve);
    int rc = VSAFE_ERR_CRYPTO;
    BIGNUM *d = NULL;
    EVP_PKEY *pkey = NULL;
    uint8_t point[1u + 2u * VSAFE_EC_MAX_KEY];
    size_t len = 0;
    if (cv == NULL || priv == NULL || pub == NULL) {
        rc = VSAFE_ERR_ARGUMENT;
        goto done;
    }
    if (cv->group == NULL) {
        rc = k->port->random(k->port->ctx, priv, cv->key_len);
        if (rc != VSAFE_OK) {
            goto done;
        }
        rc = VSAFE_ERR_CRYPTO;
        len = cv->key_len;
        pkey = EVP_PKEY_new_raw_private_key_ex(NULL, cv->type, NULL, priv, cv->key_len);
        if (pkey == NULL || EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 || len != cv->key_len) {
            goto done;
        }
        rc = VSAFE_OK;
        goto done;
    }
    const EC_GROUP *g = group_get(k, curve);
    const BIGNUM *order = g != NULL ? EC_GROUP_get0_order(g) : NULL;
    d = BN_secure_new();
    if (order == NULL || d == NULL) {
        goto done;
    }
    /* The leading byte keeps only the order's bits (P-521: 1 of 8); candidates >= n are drawn again.
     * The smallest order here is above half its bit range, so a draw fails with probability < 1/2. */
    uint8_t top_mask = (uint8_t)(0xFFu >> (8u * cv->key_len - (unsigned)BN_num_bits(order)));
    for (int tries = 0;; tries++) {
        if (tries == 128) {
            goto done;
        }
        rc = k->port->random(k->port->ctx, priv, cv->key_len);
        if (rc != VSAFE_OK) {
            goto done;
        }
        rc = VSAFE_ERR_CRYPTO;
        priv[0] &= top_mask;
        if (BN_bin2bn(priv, (int)cv->key_len, d) == NULL) {
            goto done;
        }
        if (!BN_is_zero(d) && BN_cmp(d, order) < 0) {
            break;
        }
    }
    if (!weier_mul_base(k, curve, d, point)) {
        goto done;
    }
    memcpy(pub, point + 1, pub_len(cv));
    rc = VSAFE_OK;
done:
    BN_clear_free(d);
    EVP_PKEY_free(pkey);
    if (rc != VSAFE_OK && cv != NULL) {
        if (priv != NULL) {
            vsafe_wipe(priv, cv->key_len);
        }
        if (pub != NULL) {
            memset(pub, 0, pub_len(cv));
        }
    }
    return rc;
}

static int ec_sign(void *ctx, unsigned curve, const uint8_t *priv, unsigned variant, const uint8_t *msg,
                   size_t msg_len, uint8_t *sig)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    const curve_t *cv = curve_get(curve);
    int rc = VSAFE_ERR_ARGUMENT, res = -1;
    uint8_t der[EC_DER_MAX];
    size_t der_len = sizeof der;
    const unsigned char *p = der;
    const BIGNUM *r = NULL, *s = NULL;
    vsafe_openssl_ec_entry_t *e;
    if (cv == NULL || !cv->can_sign || priv == NULL || sig == NULL || (msg == NULL && msg_len != 0u)) {
        goto done;
    }
    if (cv->group != NULL) {
        /* variant is EdDSA's only: ignored for ECDSA */
        if (msg_len == 0u || msg_len > EC_DIGEST_MAX) {
            goto done;
        }
        e = key_get(k, curve, true, priv, &rc);
        if (e == NULL) {
            goto done;
        }
        rc = VSAFE_ERR_CRYPTO;
        if (!entry_prepare(e, EC_OP_SIGN) || EVP_PKEY_sign(e->pctx, der, &der_len, msg, msg_len) != 1 ||
            d2i_ECDSA_SIG(&k->sig, &p, (long)der_len) == NULL) {
            goto done;
        }
        ECDSA_SIG_get0(k->sig, &r, &s);
        if (BN_bn2binpad(r, sig, (int)cv->key_len) != (int)cv->key_len ||
            BN_bn2binpad(s, sig + cv->key_len, (int)cv->key_len) != (int)cv->key_len) {
            goto done;
        }
        rc = VSAFE_OK;
        goto done;
    }
    if (variant > 1u || (variant == 1u && msg_len != ED25519PH_PREHASH)) {
        goto done;
    }
    e = key_get(k, curve, true, priv, &rc);
    if (e == NULL) {
        goto done;
    }
    if (variant == 0u) {
        rc = ed25519_run(e, EC_OP_SIGN, msg_len != 0u ? msg : no_bytes, msg_len, sig) == 1 ? VSAFE_OK
                                                                                          : VSAFE_ERR_CRYPTO;
    } else {
        rc = ed25519ph_run(e->pkey, EC_OP_SIGN, msg, sig, &res);
    }
done:
    if (rc != VSAFE_OK) {
        ERR_clear_error();
        if (cv != NULL && sig != NULL) {
            memset(sig, 0, 2u * cv->key_len);
        }
    }
    return rc;
}

static int ec_verify(void *ctx, unsigned curve, const uint8_t *pub, unsigned variant, const uint8_t *msg,
                     size_t msg_len, const uint8_t *sig, int *valid)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    const curve_t *cv = curve_get(curve);
    int rc = VSAFE_ERR_ARGUMENT, res = -1;
    BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG *es = NULL;
    uint8_t der[EC_DER_MAX];
    unsigned char *p = der;
    vsafe_openssl_ec_entry_t *e;
    if (valid == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *valid = 0;
    if (cv == NULL || !cv->can_sign || pub == NULL || sig == NULL || (msg == NULL && msg_len != 0u)) {
        goto done;
    }
    if (cv->group != NULL) {
        if (msg_len == 0u || msg_len > EC_DIGEST_MAX) {
            goto done;
        }
        e = key_get(k, curve, false, pub, &rc);
        if (e == NULL) {
            goto done;
        }
        rc = VSAFE_ERR_CRYPTO;
        const EC_GROUP *g = group_get(k, curve); /* exists: the key imported on it */
        const BIGNUM *order = g != NULL ? EC_GROUP_get0_order(g) : NULL;
        r = BN_bin2bn(sig, (int)cv->key_len, NULL);
        s = BN_bin2bn(sig + cv->key_len, (int)cv->key_len, NULL);
        if (r == NULL || s == NULL || order == NULL) {
            goto done;
        }
        if (BN_is_zero(r) || BN_is_zero(s) || BN_cmp(r, order) >= 0 || BN_cmp(s, order) >= 0) {
            rc = VSAFE_OK; /* outside [1, n-1]: not a signature */
            goto done;
        }
        es = ECDSA_SIG_new();
        if (es == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
            goto done;
        }
        r = s = NULL; /* owned by es */
        int der_len = i2d_ECDSA_SIG(es, NULL);
        if (der_len <= 0 || (size_t)der_len > sizeof der || i2d_ECDSA_SIG(es, &p) != der_len ||
            !entry_prepare(e, EC_OP_VERIFY)) {
            goto done;
        }
        res = EVP_PKEY_verify(e->pctx, der, (size_t)der_len, msg, msg_len);
        if (res < 0) {
            goto done;
        }
        rc = VSAFE_OK;
        *valid = res == 1;
        goto done;
    }
    if (variant > 1u || (variant == 1u && msg_len != ED25519PH_PREHASH)) {
        goto done;
    }
    e = key_get(k, curve, false, pub, &rc);
    if (e == NULL) {
        goto done;
    }
    if (variant == 0u) {
        /* 0 is a signature that does not verify, S >= L included; OpenSSL reports nothing else */
        res = ed25519_run(e, EC_OP_VERIFY, msg_len != 0u ? msg : no_bytes, msg_len, (uint8_t *)sig);
        rc = VSAFE_OK;
    } else {
        rc = ed25519ph_run(e->pkey, EC_OP_VERIFY, msg, (uint8_t *)sig, &res);
    }
    *valid = rc == VSAFE_OK && res == 1;
done:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    if (rc != VSAFE_OK || *valid != 1) {
        ERR_clear_error();
    }
    return rc;
}

static int ec_ecdh(void *ctx, unsigned curve, const uint8_t *priv, const uint8_t *peer_pub, uint8_t *secret)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    const curve_t *cv = curve_get(curve);
    int rc = VSAFE_ERR_ARGUMENT;
    vsafe_openssl_ec_entry_t *peer, *e;
    size_t len = 0;
    if (cv == NULL || !cv->can_ecdh || priv == NULL || peer_pub == NULL || secret == NULL) {
        goto done;
    }
    peer = key_get(k, curve, false, peer_pub, &rc);
    if (peer == NULL) {
        goto done;
    }
    e = key_get(k, curve, true, priv, &rc); /* never evicts peer: see invariant 1 */
    if (e == NULL) {
        goto done;
    }
    rc = VSAFE_ERR_CRYPTO;
    len = cv->key_len;
    /* No validation pass in set_peer: the peer passed the import checks of invariant 2 (and
     * OpenSSL 3.0 offers no public-key check for X25519). */
    if (!entry_prepare(e, EC_OP_DERIVE) || EVP_PKEY_derive_set_peer_ex(e->pctx, peer->pkey, 0) != 1) {
        goto done;
    }
    if (EVP_PKEY_derive(e->pctx, secret, &len) != 1) {
        /* X25519 fails exactly when the output is all zero (a small-order peer point) */
        rc = curve == VSAFE_CURVE_X25519 ? VSAFE_ERR_INVALID_PUBKEY : VSAFE_ERR_CRYPTO;
        goto done;
    }
    if (len != cv->key_len) {
        goto done;
    }
    if (curve == VSAFE_CURVE_X25519) {
        uint8_t acc = 0;
        for (size_t i = 0; i < len; i++) {
            acc |= secret[i];
        }
        if (acc == 0u) {
            rc = VSAFE_ERR_INVALID_PUBKEY;
            goto done;
        }
    }
    rc = VSAFE_OK;
done:
    if (rc != VSAFE_OK) {
        ERR_clear_error();
        if (cv != NULL && secret != NULL) {
            vsafe_wipe(secret, cv->key_len);
        }
    }
    return rc;
}

static int ec_decompress(void *ctx, unsigned curve, uint8_t prefix, const uint8_t *x, uint8_t *y)
{
    vsafe_openssl_keys_t *k = vsafe_openssl_crypto_keys(ctx);
    const curve_t *cv = curve_get(curve);
    int rc = VSAFE_ERR_ARGUMENT;
    const EC_GROUP *g;
    EC_POINT *q = NULL;
    BIGNUM *yb = NULL;
    uint8_t enc[1u + VSAFE_EC_MAX_KEY];
    if (cv == NULL || cv->group == NULL || (prefix != 0x02u && prefix != 0x03u) || x == NULL || y == NULL) {
        goto done;
    }
    rc = VSAFE_ERR_CRYPTO;
    g = group_get(k, curve);
    q = g != NULL ? EC_POINT_new(g) : NULL;
    yb = BN_new();
    if (q == NULL || yb == NULL) {
        goto done;
    }
    enc[0] = prefix;
    memcpy(enc + 1, x, cv->key_len);
    if (EC_POINT_oct2point(g, q, enc, 1u + cv->key_len, NULL) != 1) {
        rc = VSAFE_ERR_INVALID_PUBKEY; /* X >= p, or X^3 + aX + b has no square root */
        goto done;
    }
    if (EC_POINT_get_affine_coordinates(g, q, NULL, yb, NULL) != 1 ||
        BN_bn2binpad(yb, y, (int)cv->key_len) != (int)cv->key_len) {
        goto done;
    }
    rc = VSAFE_OK;
done:
    EC_POINT_free(q);
    BN_free(yb);
    if (rc != VSAFE_OK) {
        ERR_clear_error();
        if (cv != NULL && y != NULL) {
            memset(y, 0, cv->key_len);
        }
    }
    return rc;
}

/* ---- lifetime ---- */

void vsafe_openssl_keys_forget(vsafe_openssl_keys_t *k)
{
    if (k == NULL) {
        return;
    }
    for (unsigned i = 0; i < VSAFE_OPENSSL_EC_CACHE; i++) {
        entry_clear(&k->ec[i]);
    }
    vsafe_openssl_keys_forget_sym(k);
}

void vsafe_openssl_keys_free(vsafe_openssl_keys_t *k)
{
    if (k == NULL) {
        return;
    }
    vsafe_openssl_keys_forget(k);
    vsafe_openssl_keys_free_sym(k);
    for (unsigned i = 0; i < VSAFE_CURVE_COUNT; i++) {
        EC_GROUP_free(k->group[i]);
    }
    ECDSA_SIG_free(k->sig);
    vsafe_wipe(k, sizeof *k);
    free(k);
}

static void forget_keys(void *ctx) { vsafe_openssl_keys_forget(vsafe_openssl_crypto_keys(ctx)); }

int vsafe_openssl_keys_new(vsafe_openssl_keys_t **out, vsafe_crypto_t *port)
{
    if (out == NULL || port == NULL || port->random == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *out = NULL;
    vsafe_openssl_keys_t *k = calloc(1, sizeof *k);
    if (k == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    k->port = port;
    port->ec_keygen = ec_keygen;
    port->ec_sign = ec_sign;
    port->ec_verify = ec_verify;
    port->ec_ecdh = ec_ecdh;
    port->ec_decompress = ec_decompress;
    port->forget_keys = forget_keys;
    vsafe_openssl_keys_install_sym(port);
    *out = k;
    return VSAFE_OK;
}

size_t vsafe_openssl_keys_memory(const vsafe_openssl_keys_t *k)
{
    if (k == NULL) {
        return 0;
    }
    /* Our struct plus an estimate of OpenSSL's objects: a cached key with its context, a group. */
    size_t n = sizeof *k;
    for (unsigned i = 0; i < VSAFE_OPENSSL_EC_CACHE; i++) {
        if (k->ec[i].pkey != NULL) {
            n += 2u * 1024u;
        }
    }
    for (unsigned i = 0; i < VSAFE_CURVE_COUNT; i++) {
        if (k->group[i] != NULL) {
            n += 1024u;
        }
    }
    return n;
}
