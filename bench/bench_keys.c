/* make bench, key services: signatures, verifications, ECDH, AES-GCM and CMAC through the I2C
 * entry points, next to the real chip's processing time, and against the same primitive called
 * directly through OpenSSL in the same run.
 *
 *   vsafe_bench_keys [--json] [--targets FILE] [--only TEXT] [--seconds S]
 *   (--only: the primitives whose name contains TEXT; --seconds: per row of the first table, 0.4)
 *
 * The first table is what a user of the device sees: the host library (vsafe_host_sign, ...) on an
 * in-process volatile SPL05 device, each operation a command frame written with
 * vsafe_se_i2c_write and its response read with vsafe_se_i2c_read (CRC both ways, the device's
 * dispatch, key lookup, the crypto port, the command's store commit and wipes, the host's parsing
 * of the response): operations per second and latency per operation (bench_report.h).
 *
 * The project's target compares three figures per primitive, in operations per second of CPU time:
 *  - "I2C": the same host library path;
 *  - "port": the device's OpenSSL crypto port alone, given raw key bytes on every call as the
 *    device core gives them (shows where the I2C path's cost is);
 *  - "OpenSSL": the primitive itself, with everything prepared once (keys imported, contexts
 *    initialised and, for AES/CMAC, keyed), the fastest a host program could call it.
 * The ratio I2C / OpenSSL is the figure of merit (target >= 0.8). Each figure is the best of ten
 * runs of about 60 ms of the thread's CPU time, the three sides alternating, to keep a shared
 * machine's noise out of the ratio. Figures are printed; nothing here is a pass/fail test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "bench_report.h"
#include "port/posix/crypto_openssl.h"
#include "vsafe/host.h"
#include "vsafe/se.h"

/* The real STSAFE-A120's processing time of a command, in ms: the timing model's figure
 * (vsafe_se_command_time_ms) for Generate signature 0x16, Verify signature 0x17, Establish key
 * 0x18, Generate MAC 0x09 and Encrypt 0x1B. A chip does at most 1000 / ms such operations per
 * second; the speed-up is the I2C rate over that. */
static double chip_ms(uint8_t code)
{
    return (double)vsafe_se_command_time_ms(&code, 1);
}

#define ROUNDS 10
#define RUN_S 0.06

/* The thread's CPU time, not wall time: on a shared machine a descheduled thread's wait would
 * count against whichever side happened to run then. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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

/* Operations per second of fn over one run of about RUN_S of CPU time. The clock is read once per
 * batch, and batches grow until one takes at least 50 us, so reading it (a system call for the
 * thread's CPU time) costs the fast primitives under 1%. */
static double rate(op_fn fn, void *arg)
{
    long n = 0, batch = 8;
    double t0 = now_s(), t = t0, tb;
    do {
        tb = t;
        for (long i = 0; i < batch; i++) {
            need(fn(arg), "operation");
        }
        n += batch;
        t = now_s();
        if (t - tb < 50e-6) {
            batch *= 2;
        }
    } while (t - t0 < RUN_S);
    return (double)n / (t - t0);
}

typedef struct {
    vsafe_host_t *h;
    const vsafe_crypto_t *c;
    unsigned curve;
    uint8_t slot; /* the device's private key slot (asymmetric) or symmetric key slot */
    size_t half;
    /* the device's key (I2C side) */
    uint8_t dev_pub[132], dev_sig[132];
    /* the port's own key (port side) */
    uint8_t priv[66], pub[132], peer[132], sig[132], secret[66];
    uint8_t msg[64];
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

/* ---- through the I2C entry points (host library, in-process device) ---- */
static int i2c_sign(void *a)
{
    bench_t *b = a;
    size_t n = 0;
    return vsafe_host_sign(b->h, VSAFE_HOST_PROT_TABLE, b->slot, b->curve, b->msg, b->msg_len, b->dev_sig,
                           sizeof b->dev_sig, &n) == VSAFE_OK &&
           n == 2 * b->half;
}
static int i2c_verify(void *a)
{
    bench_t *b = a;
    int valid = 0;
    return vsafe_host_verify_signature(b->h, VSAFE_HOST_PROT_TABLE, b->curve, b->dev_pub,
                                       vsafe_host_curve_pub_size(b->curve), 0, b->dev_sig, 2 * b->half, b->msg,
                                       b->msg_len, &valid) == VSAFE_OK &&
           valid == 1;
}
static int i2c_ecdh(void *a)
{
    bench_t *b = a;
    size_t n = 0;
    return vsafe_host_establish_key(b->h, VSAFE_HOST_PROT_TABLE, b->slot, b->curve, b->peer, 2 * b->half, b->secret,
                                    sizeof b->secret, &n) == VSAFE_OK;
}
static int i2c_gcm(void *a)
{
    bench_t *b = a;
    vsafe_host_aead_t p = {.mode = VSAFE_AEAD_GCM, .slot = b->slot, .nonce = b->iv, .nonce_len = 12, .tag_len = 16};
    return vsafe_host_aead_encrypt(b->h, VSAFE_HOST_PROT_TABLE, &p, b->data, 64, b->out, b->tag, NULL) == VSAFE_OK;
}
static int i2c_cmac(void *a)
{
    bench_t *b = a;
    return vsafe_host_mac_generate(b->h, VSAFE_HOST_PROT_TABLE, b->slot, b->data, 64, b->tag, 16) == VSAFE_OK;
}

/* ---- the crypto port alone ---- */
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

/* ---- OpenSSL directly ---- */
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

/* ---- reporting ---- */
static const char *g_only;
static double g_secs = 0.4;

typedef struct {
    char name[40];
    double chip_ms, i2c, port, direct;
} target_row_t;
static target_row_t g_targets[16];
static size_t g_target_count;

/* The user's row now (wall clock, per operation), the CPU-time comparison kept for the targets. */
static void report(const char *name, uint8_t code, bench_t *b, op_fn i2c, op_fn port, op_fn direct)
{
    double d = 0, p = 0, w = 0;
    if (g_only != NULL && strstr(name, g_only) == NULL) {
        return;
    }
    vsafe_bench_result_t r;
    vsafe_bench_measure(i2c, b, g_secs, 20, &r);
    vsafe_bench_op(name, chip_ms(code), &r);
    for (int round = 0; round < ROUNDS; round++) {
        double rd = rate(direct, b), rw = rate(i2c, b), rp = rate(port, b);
        d = rd > d ? rd : d;
        w = rw > w ? rw : w;
        p = rp > p ? rp : p;
    }
    if (g_target_count < sizeof g_targets / sizeof g_targets[0]) {
        target_row_t *t = &g_targets[g_target_count++];
        snprintf(t->name, sizeof t->name, "%s", name);
        t->chip_ms = chip_ms(code);
        t->i2c = w;
        t->port = p;
        t->direct = d;
    }
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

/* The device's key in slot (I2C side), generated there; its first signature checked. */
static void device_key(bench_t *b)
{
    size_t n = 0;
    need(vsafe_host_generate_key(b->h, VSAFE_HOST_PROT_TABLE, b->slot, b->curve, 0, b->dev_pub, sizeof b->dev_pub,
                                 &n) == VSAFE_OK,
         "device key generation");
    need(i2c_sign(b) && i2c_verify(b), "device signature");
}

static void bench_ecdsa(vsafe_host_t *h, const vsafe_crypto_t *c, const char *label, unsigned curve,
                        const char *group, size_t half, uint8_t slot)
{
    bench_t b = {.h = h, .c = c, .curve = curve, .slot = slot, .half = half, .msg_len = half < 64 ? half : 64};
    char name[40];
    memset(b.msg, 0x5C, sizeof b.msg);
    device_key(&b);
    need(c->ec_keygen(c->ctx, curve, b.priv, b.pub) == VSAFE_OK, "keygen");
    need(port_sign(&b), "sign");
    /* the direct side: the port's key, imported once, contexts initialised once */
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
    report(name, 0x16, &b, i2c_sign, port_sign, direct_sign);
    snprintf(name, sizeof name, "%s verify", label);
    report(name, 0x17, &b, i2c_verify, port_verify, direct_verify);
    if (curve == VSAFE_CURVE_P256) {
        uint8_t peer_priv[66];
        need(c->ec_keygen(c->ctx, curve, peer_priv, b.peer) == VSAFE_OK, "peer keygen");
        b.peer_pk = ec_pub_pkey(group, b.peer, half);
        b.derive = EVP_PKEY_CTX_new_from_pkey(NULL, b.pk, NULL);
        need(EVP_PKEY_derive_init(b.derive) == 1 && EVP_PKEY_derive_set_peer(b.derive, b.peer_pk) == 1, "derive");
        need(i2c_ecdh(&b), "device ECDH");
        snprintf(name, sizeof name, "%s ECDH", label);
        report(name, 0x18, &b, i2c_ecdh, port_ecdh, direct_ecdh);
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

static void bench_ed25519(vsafe_host_t *h, const vsafe_crypto_t *c, uint8_t slot)
{
    bench_t b = {.h = h, .c = c, .curve = VSAFE_CURVE_ED25519, .slot = slot, .half = 32, .msg_len = 32};
    memset(b.msg, 0x5C, sizeof b.msg);
    device_key(&b);
    need(c->ec_keygen(c->ctx, b.curve, b.priv, b.pub) == VSAFE_OK, "keygen");
    need(port_sign(&b), "sign");
    b.pk = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, b.priv, 32);
    b.md_sign = EVP_MD_CTX_new();
    b.md_verify = EVP_MD_CTX_new();
    need(b.pk != NULL && EVP_DigestSignInit_ex(b.md_sign, NULL, NULL, NULL, NULL, b.pk, NULL) == 1 &&
             EVP_DigestVerifyInit_ex(b.md_verify, NULL, NULL, NULL, NULL, b.pk, NULL) == 1,
         "ed25519 init");
    report("Ed25519 sign", 0x16, &b, i2c_sign, port_sign, direct_sign);
    report("Ed25519 verify", 0x17, &b, i2c_verify, port_verify, direct_verify);
    EVP_MD_CTX_free(b.md_sign);
    EVP_MD_CTX_free(b.md_verify);
    EVP_PKEY_free(b.pk);
}

/* A plaintext symmetric key in slot (the slot's control fields first allow plaintext writes). */
static void device_symkey(vsafe_host_t *h, const vsafe_host_symkey_info_t *info, const uint8_t key[16])
{
    const uint8_t ctrl[3] = {VSAFE_HOST_SYM_CTRL_PLAINTEXT | VSAFE_HOST_SYM_CTRL_CHANGE_RIGHT, 0xFF, 0xFF};
    need(vsafe_host_put_symkey_ctrl(h, info->slot, ctrl) == VSAFE_OK, "symmetric control fields");
    need(vsafe_host_symkey_write_plain(h, VSAFE_HOST_PROT_TABLE, info, key, 16) == VSAFE_OK, "symmetric key write");
}

static void bench_sym(vsafe_host_t *h, const vsafe_crypto_t *c)
{
    bench_t b = {.h = h, .c = c};
    memset(b.key, 0x11, sizeof b.key);
    memset(b.iv, 0x22, sizeof b.iv);
    memset(b.data, 0x33, sizeof b.data);
    const vsafe_host_symkey_info_t gcm_info = {.slot = 1, .key_type = VSAFE_HOST_SYM_AES128,
                                               .mode = VSAFE_HOST_SYM_GCM,
                                               .usage = VSAFE_HOST_SYM_USE_ENCRYPT | VSAFE_HOST_SYM_USE_DECRYPT,
                                               .tag_len = 16};
    const vsafe_host_symkey_info_t cmac_info = {.slot = 2, .key_type = VSAFE_HOST_SYM_AES128,
                                                .mode = VSAFE_HOST_SYM_CMAC,
                                                .usage = VSAFE_HOST_SYM_USE_MAC_GENERATE |
                                                         VSAFE_HOST_SYM_USE_MAC_VERIFY,
                                                .min_mac_len = 16};
    device_symkey(h, &gcm_info, b.key);
    device_symkey(h, &cmac_info, b.key);
    EVP_CIPHER *gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    b.gcm = EVP_CIPHER_CTX_new();
    b.cmac = EVP_MAC_CTX_new(mac);
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0),
                       OSSL_PARAM_construct_end()};
    need(EVP_EncryptInit_ex2(b.gcm, gcm, b.key, b.iv, NULL) == 1 && EVP_MAC_init(b.cmac, b.key, 16, p) == 1,
         "sym init");
    /* the device's answers are the primitive's: checked once against OpenSSL's */
    uint8_t out[64], tag[16];
    b.slot = gcm_info.slot;
    need(i2c_gcm(&b), "device GCM");
    memcpy(out, b.out, 64);
    memcpy(tag, b.tag, 16);
    need(direct_gcm(&b) && memcmp(out, b.out, 64) == 0 && memcmp(tag, b.tag, 16) == 0, "device GCM = OpenSSL");
    report("AES-128-GCM encrypt 64 B", 0x1B, &b, i2c_gcm, port_gcm, direct_gcm);
    b.slot = cmac_info.slot;
    need(i2c_cmac(&b), "device CMAC");
    memcpy(tag, b.tag, 16);
    need(direct_cmac(&b) && memcmp(tag, b.tag, 16) == 0, "device CMAC = OpenSSL");
    report("AES-128-CMAC 64 B", 0x09, &b, i2c_cmac, port_cmac, direct_cmac);
    EVP_CIPHER_CTX_free(b.gcm);
    EVP_MAC_CTX_free(b.cmac);
    EVP_CIPHER_free(gcm);
    EVP_MAC_free(mac);
}

int main(int argc, char **argv)
{
    vsafe_bench_init("keys", &argc, argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            g_only = argv[++i];
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc && atof(argv[i + 1]) > 0) {
            g_secs = atof(argv[++i]);
        } else {
            fprintf(stderr, "usage: vsafe_bench_keys [--json] [--targets FILE] [--only TEXT] [--seconds S]\n");
            return 2;
        }
    }
    vsafe_openssl_crypto_t *oc = NULL;
    need(vsafe_openssl_crypto_new(&oc, 0) == VSAFE_OK, "port");
    const vsafe_crypto_t *c = vsafe_openssl_crypto_port(oc);
    /* a volatile SPL05 device: no file I/O in the figures */
    vsafe_se_options_t o = {.profile = "spl05", .state_path = NULL};
    vsafe_se_t *se = NULL;
    vsafe_host_t *h = NULL;
    need(vsafe_se_open(&se, &o) == VSAFE_OK && vsafe_host_open_se(&h, se) == VSAFE_OK && vsafe_host_init(h) == VSAFE_OK,
         "device");
    char how[200];
    snprintf(how, sizeof how, "in process through the host library and the I2C entry points; %s; %.1f s per row",
             OpenSSL_version(OPENSSL_VERSION), g_secs);
    vsafe_bench_section("Key services, volatile SPL05 device", how, 1);
    bench_ecdsa(h, c, "P-256", VSAFE_CURVE_P256, "prime256v1", 32, 1);
    bench_ecdsa(h, c, "P-384", VSAFE_CURVE_P384, "secp384r1", 48, 2);
    bench_ed25519(h, c, 3);
    bench_sym(h, c);
    for (size_t i = 0; i < g_target_count; i++) {
        const target_row_t *t = &g_targets[i];
        char name[96], detail[240];
        snprintf(name, sizeof name, "%.39s: I2C / OpenSSL", t->name);
        snprintf(detail, sizeof detail,
                 "CPU time, best of %d x %.0f ms: I2C %.0f/s, crypto port alone %.0f/s (%.2f of OpenSSL), "
                 "OpenSSL %.0f/s",
                 ROUNDS, RUN_S * 1000, t->i2c, t->port, t->port / t->direct, t->direct);
        static const char *const keys[] = {"i2c_per_s", "port_per_s", "openssl_per_s", "ratio_port_openssl",
                                           "chip_ms"};
        const double values[] = {t->i2c, t->port, t->direct, t->port / t->direct, t->chip_ms};
        vsafe_bench_target_kv(name, 1, 0.80, t->i2c / t->direct, "%.2f", "", detail, 5, keys, values);
    }
    vsafe_host_close(h);
    vsafe_se_close(se);
    vsafe_openssl_crypto_free(oc);
    return vsafe_bench_finish();
}
