/* make bench, second part: the key services of the OpenSSL crypto port against the same primitive
 * called directly through OpenSSL in the same run. The direct side gets everything prepared
 * once (keys imported, contexts initialised and, for AES/CMAC, keyed); the port gets raw key
 * bytes on every call, as the device core passes them. Each figure is the best of ten runs of
 * about 60 ms, port and direct alternating, to keep a shared machine's noise out of the ratio. Figures
 * are printed; nothing here is a pass/fail test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "port/posix/crypto_openssl.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void need(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench_keys: %s failed\n", what);
        exit(1);
    }
}

typedef int (*op_fn)(void *arg);

/* Operations per second of fn over one run of about 60 ms. */
static double rate(op_fn fn, void *arg)
{
    long n = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 8; i++) {
            need(fn(arg), "operation");
        }
        n += 8;
        t = now_s();
    } while (t - t0 < 0.06);
    return (double)n / (t - t0);
}

typedef struct {
    const vsafe_crypto_t *c;
    unsigned curve;
    size_t half;
    uint8_t priv[66], pub[132], peer[132], msg[64], sig[132], secret[66];
    size_t msg_len;
    /* direct OpenSSL */
    EVP_PKEY *pk, *peer_pk;
    EVP_PKEY_CTX *sign, *verify, *derive;
    EVP_MD_CTX *md_sign, *md_verify;
    uint8_t der[160], scratch[160]; /* der: the signature direct_verify checks */
    size_t der_len;
    /* symmetric */
    uint8_t key[16], iv[12], data[64], out[64], tag[16];
    EVP_CIPHER_CTX *gcm;
    EVP_MAC_CTX *cmac;
} bench_t;

static int port_sign(void *a)
{
    bench_t *b = a;
    return b->c->ec_sign(b->c->ctx, b->curve, b->priv, 0, b->msg, b->msg_len, b->sig) == VSAFE_OK;
}
static int port_verify(void *a)
{
    bench_t *b = a;
    int valid = 0;
    return b->c->ec_verify(b->c->ctx, b->curve, b->pub, 0, b->msg, b->msg_len, b->sig, &valid) == VSAFE_OK &&
           valid == 1;
}
static int port_ecdh(void *a)
{
    bench_t *b = a;
    return b->c->ec_ecdh(b->c->ctx, b->curve, b->priv, b->peer, b->secret) == VSAFE_OK;
}
static int port_gcm(void *a)
{
    bench_t *b = a;
    return b->c->aead_encrypt(b->c->ctx, VSAFE_AEAD_GCM, b->key, 16, b->iv, 12, NULL, 0, b->data, 64, b->out, b->tag,
                              16) == VSAFE_OK;
}
static int port_cmac(void *a)
{
    bench_t *b = a;
    return b->c->cmac_raw(b->c->ctx, b->key, 16, b->data, 64, b->tag) == VSAFE_OK;
}

static int direct_sign(void *a)
{
    bench_t *b = a;
    size_t n = sizeof b->scratch;
    if (b->md_sign != NULL) {
        n = 64;
        return EVP_DigestSign(b->md_sign, b->scratch, &n, b->msg, b->msg_len) == 1;
    }
    return EVP_PKEY_sign(b->sign, b->scratch, &n, b->msg, b->msg_len) == 1;
}
static int direct_verify(void *a)
{
    bench_t *b = a;
    if (b->md_verify != NULL) {
        return EVP_DigestVerify(b->md_verify, b->sig, 64, b->msg, b->msg_len) == 1;
    }
    return EVP_PKEY_verify(b->verify, b->der, b->der_len, b->msg, b->msg_len) == 1;
}
static int direct_ecdh(void *a)
{
    bench_t *b = a;
    size_t n = sizeof b->secret;
    return EVP_PKEY_derive(b->derive, b->secret, &n) == 1;
}
static int direct_gcm(void *a)
{
    bench_t *b = a;
    int outl = 0;
    uint8_t fin[16];
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, b->tag, 16),
                       OSSL_PARAM_construct_end()};
    return EVP_EncryptInit_ex2(b->gcm, NULL, NULL, b->iv, NULL) == 1 &&
           EVP_EncryptUpdate(b->gcm, b->out, &outl, b->data, 64) == 1 && EVP_EncryptFinal_ex(b->gcm, fin, &outl) == 1 &&
           EVP_CIPHER_CTX_get_params(b->gcm, p) == 1;
}
static int direct_cmac(void *a)
{
    bench_t *b = a;
    size_t n = 0;
    return EVP_MAC_init(b->cmac, NULL, 0, NULL) == 1 && EVP_MAC_update(b->cmac, b->data, 64) == 1 &&
           EVP_MAC_final(b->cmac, b->tag, &n, 16) == 1;
}

static void report(const char *name, bench_t *b, op_fn port, op_fn direct)
{
    double d = 0, p = 0;
    for (int round = 0; round < 10; round++) {
        double rd = rate(direct, b), rp = rate(port, b);
        d = rd > d ? rd : d;
        p = rp > p ? rp : p;
    }
    printf("  %-22s port %10.0f/s   direct OpenSSL %10.0f/s   ratio %.2f\n", name, p, d, p / d);
}

static EVP_PKEY *ec_pub_pkey(const char *group, const uint8_t *xy, size_t half)
{
    uint8_t pt[1 + 132];
    EVP_PKEY *pk = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    pt[0] = 0x04;
    memcpy(pt + 1, xy, 2 * half);
    need(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * half) == 1,
         "params");
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(bld);
    need(EVP_PKEY_fromdata_init(pc) == 1 && EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, p) == 1, "import");
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(pc);
    return pk;
}

static void bench_ecdsa(const vsafe_crypto_t *c, const char *label, unsigned curve, const char *group, size_t half)
{
    bench_t b = {.c = c, .curve = curve, .half = half, .msg_len = half < 64 ? half : 64};
    char name[40];
    memset(b.msg, 0x5C, sizeof b.msg);
    need(c->ec_keygen(c->ctx, curve, b.priv, b.pub) == VSAFE_OK, "keygen");
    need(port_sign(&b), "sign");
    /* the direct side: the same key, imported once, contexts initialised once */
    BIGNUM *d = BN_bin2bn(b.priv, (int)half, NULL);
    uint8_t pt[1 + 132];
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    pt[0] = 0x04;
    memcpy(pt + 1, b.pub, 2 * half);
    need(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * half) == 1 &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) == 1,
         "params");
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(bld);
    need(EVP_PKEY_fromdata_init(pc) == 1 && EVP_PKEY_fromdata(pc, &b.pk, EVP_PKEY_KEYPAIR, p) == 1, "import");
    b.sign = EVP_PKEY_CTX_new_from_pkey(NULL, b.pk, NULL);
    b.verify = EVP_PKEY_CTX_new_from_pkey(NULL, b.pk, NULL);
    need(EVP_PKEY_sign_init(b.sign) == 1 && EVP_PKEY_verify_init(b.verify) == 1, "init");
    b.der_len = sizeof b.der;
    need(EVP_PKEY_sign(b.sign, b.der, &b.der_len, b.msg, b.msg_len) == 1, "direct sign");
    snprintf(name, sizeof name, "%s sign", label);
    report(name, &b, port_sign, direct_sign);
    snprintf(name, sizeof name, "%s verify", label);
    report(name, &b, port_verify, direct_verify);
    if (curve == VSAFE_CURVE_P256) {
        uint8_t peer_priv[66];
        need(c->ec_keygen(c->ctx, curve, peer_priv, b.peer) == VSAFE_OK, "peer keygen");
        b.peer_pk = ec_pub_pkey(group, b.peer, half);
        b.derive = EVP_PKEY_CTX_new_from_pkey(NULL, b.pk, NULL);
        need(EVP_PKEY_derive_init(b.derive) == 1 && EVP_PKEY_derive_set_peer(b.derive, b.peer_pk) == 1, "derive");
        snprintf(name, sizeof name, "%s ECDH", label);
        report(name, &b, port_ecdh, direct_ecdh);
        EVP_PKEY_CTX_free(b.derive);
        EVP_PKEY_free(b.peer_pk);
    }
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(pc);
    BN_free(d);
    EVP_PKEY_CTX_free(b.sign);
    EVP_PKEY_CTX_free(b.verify);
    EVP_PKEY_free(b.pk);
}

static void bench_ed25519(const vsafe_crypto_t *c)
{
    bench_t b = {.c = c, .curve = VSAFE_CURVE_ED25519, .half = 32, .msg_len = 32};
    memset(b.msg, 0x5C, sizeof b.msg);
    need(c->ec_keygen(c->ctx, b.curve, b.priv, b.pub) == VSAFE_OK, "keygen");
    need(port_sign(&b), "sign");
    b.pk = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, b.priv, 32);
    b.md_sign = EVP_MD_CTX_new();
    b.md_verify = EVP_MD_CTX_new();
    need(b.pk != NULL && EVP_DigestSignInit_ex(b.md_sign, NULL, NULL, NULL, NULL, b.pk, NULL) == 1 &&
             EVP_DigestVerifyInit_ex(b.md_verify, NULL, NULL, NULL, NULL, b.pk, NULL) == 1,
         "ed25519 init");
    report("Ed25519 sign", &b, port_sign, direct_sign);
    report("Ed25519 verify", &b, port_verify, direct_verify);
    EVP_MD_CTX_free(b.md_sign);
    EVP_MD_CTX_free(b.md_verify);
    EVP_PKEY_free(b.pk);
}

static void bench_sym(const vsafe_crypto_t *c)
{
    bench_t b = {.c = c};
    memset(b.key, 0x11, sizeof b.key);
    memset(b.iv, 0x22, sizeof b.iv);
    memset(b.data, 0x33, sizeof b.data);
    EVP_CIPHER *gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    b.gcm = EVP_CIPHER_CTX_new();
    b.cmac = EVP_MAC_CTX_new(mac);
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0),
                       OSSL_PARAM_construct_end()};
    need(EVP_EncryptInit_ex2(b.gcm, gcm, b.key, b.iv, NULL) == 1 && EVP_MAC_init(b.cmac, b.key, 16, p) == 1,
         "sym init");
    report("AES-128-GCM 64 B", &b, port_gcm, direct_gcm);
    report("AES-128-CMAC 64 B", &b, port_cmac, direct_cmac);
    EVP_CIPHER_CTX_free(b.gcm);
    EVP_MAC_CTX_free(b.cmac);
    EVP_CIPHER_free(gcm);
    EVP_MAC_free(mac);
}

int main(void)
{
    vsafe_openssl_crypto_t *oc = NULL;
    need(vsafe_openssl_crypto_new(&oc, 0) == VSAFE_OK, "port");
    const vsafe_crypto_t *c = vsafe_openssl_crypto_port(oc);
    printf("key services, crypto port vs OpenSSL directly (%s):\n", OpenSSL_version(OPENSSL_VERSION));
    bench_ecdsa(c, "P-256", VSAFE_CURVE_P256, "prime256v1", 32);
    bench_ecdsa(c, "P-384", VSAFE_CURVE_P384, "secp384r1", 48);
    bench_ed25519(c);
    bench_sym(c);
    vsafe_openssl_crypto_free(oc);
    return 0;
}
