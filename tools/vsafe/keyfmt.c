/* Curve and hash names, public key and signature formats (keyfmt.h). OpenSSL does every
 * encoding; this file only maps the API's raw forms onto OpenSSL's objects. */
#include "keyfmt.h"

#include <ctype.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "cli_io.h"

typedef struct {
    unsigned curve;
    const char *label;
    const char *group; /* OpenSSL group name; NULL for X25519/Ed25519 */
    int pkey_type;     /* EVP_PKEY_EC, EVP_PKEY_X25519, EVP_PKEY_ED25519 */
    const char *aliases[3];
} curve_info_t;

static const curve_info_t curves[] = {
    {VSAFE_CURVE_P256, "P-256", "prime256v1", EVP_PKEY_EC, {"prime256v1", "secp256r1", "nistp256"}},
    {VSAFE_CURVE_P384, "P-384", "secp384r1", EVP_PKEY_EC, {"secp384r1", "nistp384", NULL}},
    {VSAFE_CURVE_P521, "P-521", "secp521r1", EVP_PKEY_EC, {"secp521r1", "nistp521", NULL}},
    {VSAFE_CURVE_BP256, "brainpoolP256r1", "brainpoolP256r1", EVP_PKEY_EC, {"bp256", NULL, NULL}},
    {VSAFE_CURVE_BP384, "brainpoolP384r1", "brainpoolP384r1", EVP_PKEY_EC, {"bp384", NULL, NULL}},
    {VSAFE_CURVE_BP512, "brainpoolP512r1", "brainpoolP512r1", EVP_PKEY_EC, {"bp512", NULL, NULL}},
    {VSAFE_CURVE_X25519, "X25519", NULL, EVP_PKEY_X25519, {"curve25519", NULL, NULL}},
    {VSAFE_CURVE_ED25519, "Ed25519", NULL, EVP_PKEY_ED25519, {"edwards25519", NULL, NULL}},
};
#define CURVE_COUNT (sizeof curves / sizeof curves[0])

/* Lowercase without '-' and '_', at most cap - 1 characters. */
static void fold(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in != '\0' && n + 1 < cap; in++) {
        if (*in != '-' && *in != '_') {
            out[n++] = (char)tolower((unsigned char)*in);
        }
    }
    out[n] = '\0';
}

static const curve_info_t *curve_info(unsigned curve)
{
    for (size_t i = 0; i < CURVE_COUNT; i++) {
        if (curves[i].curve == curve) {
            return &curves[i];
        }
    }
    return NULL;
}

unsigned vsafe_cli_curve_parse(const char *name)
{
    char want[32], have[32];
    if (name == NULL) {
        return VSAFE_CURVE_NONE;
    }
    fold(name, want, sizeof want);
    for (size_t i = 0; i < CURVE_COUNT; i++) {
        fold(curves[i].label, have, sizeof have);
        if (strcmp(want, have) == 0) {
            return curves[i].curve;
        }
        for (size_t a = 0; a < 3 && curves[i].aliases[a] != NULL; a++) {
            fold(curves[i].aliases[a], have, sizeof have);
            if (strcmp(want, have) == 0) {
                return curves[i].curve;
            }
        }
    }
    return VSAFE_CURVE_NONE;
}

const char *vsafe_cli_curve_label(unsigned curve)
{
    const curve_info_t *c = curve_info(curve);
    return c != NULL ? c->label : "none";
}

static const struct {
    unsigned alg;
    const char *label;
    const char *md;
} hashes[] = {
    {VSAFE_HASH_SHA256, "sha256", "SHA256"},     {VSAFE_HASH_SHA384, "sha384", "SHA384"},
    {VSAFE_HASH_SHA512, "sha512", "SHA512"},     {VSAFE_HASH_SHA3_256, "sha3-256", "SHA3-256"},
    {VSAFE_HASH_SHA3_384, "sha3-384", "SHA3-384"}, {VSAFE_HASH_SHA3_512, "sha3-512", "SHA3-512"},
};

unsigned vsafe_cli_hash_parse(const char *name)
{
    char want[32], have[32];
    if (name == NULL) {
        return 0;
    }
    fold(name, want, sizeof want);
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        fold(hashes[i].label, have, sizeof have);
        if (strcmp(want, have) == 0) {
            return hashes[i].alg;
        }
    }
    return 0;
}

const char *vsafe_cli_hash_label(unsigned alg)
{
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        if (hashes[i].alg == alg) {
            return hashes[i].label;
        }
    }
    return "unknown";
}

int vsafe_cli_host_digest(unsigned alg, const uint8_t *data, size_t len, uint8_t *out, size_t *out_len)
{
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        if (hashes[i].alg == alg) {
            EVP_MD *md = EVP_MD_fetch(NULL, hashes[i].md, NULL);
            unsigned n = 0;
            int ok = md != NULL && EVP_Digest(data, len, out, &n, md, NULL) == 1;
            EVP_MD_free(md);
            *out_len = n;
            return ok ? 0 : -1;
        }
    }
    return -1;
}

int vsafe_cli_pub_format(const char *name)
{
    if (name == NULL || strcmp(name, "pem") == 0) {
        return VSAFE_CLI_PUB_PEM;
    }
    if (strcmp(name, "der") == 0) {
        return VSAFE_CLI_PUB_DER;
    }
    if (strcmp(name, "raw") == 0) {
        return VSAFE_CLI_PUB_RAW;
    }
    return -1;
}

/* An OpenSSL public key from X||Y or K; NULL when it is not a valid key of the curve. */
static EVP_PKEY *pkey_from_raw(unsigned curve, const uint8_t *pub, size_t pub_len)
{
    const curve_info_t *c = curve_info(curve);
    if (c == NULL || pub_len != vsafe_host_curve_pub_size(curve)) {
        return NULL;
    }
    if (c->group == NULL) {
        return EVP_PKEY_new_raw_public_key(c->pkey_type, NULL, pub, pub_len);
    }
    uint8_t point[1 + VSAFE_EC_MAX_PUB];
    point[0] = 0x04;
    memcpy(point + 1, pub, pub_len);
    OSSL_PARAM params[3] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)c->group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, pub_len + 1u),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    if (key != NULL) {
        /* fromdata does not check the point: the key is refused unless it is on the curve. */
        EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new(key, NULL);
        int ok = chk != NULL && EVP_PKEY_public_check(chk) == 1;
        EVP_PKEY_CTX_free(chk);
        if (!ok) {
            EVP_PKEY_free(key);
            key = NULL;
        }
    }
    return key;
}

/* The curve and raw form of an OpenSSL public key. Returns 0 or -1 (a curve vsafe does not know). */
static int pkey_to_raw(EVP_PKEY *key, unsigned *curve, uint8_t *pub, size_t *pub_len)
{
    int type = EVP_PKEY_get_base_id(key);
    if (type == EVP_PKEY_X25519 || type == EVP_PKEY_ED25519) {
        size_t n = 32;
        if (EVP_PKEY_get_raw_public_key(key, pub, &n) != 1 || n != 32) {
            return -1;
        }
        *curve = type == EVP_PKEY_X25519 ? VSAFE_CURVE_X25519 : VSAFE_CURVE_ED25519;
        *pub_len = 32;
        return 0;
    }
    if (type != EVP_PKEY_EC) {
        return -1;
    }
    char group[64];
    size_t gl = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &gl) != 1) {
        return -1;
    }
    unsigned c = vsafe_cli_curve_parse(group);
    uint8_t point[1 + VSAFE_EC_MAX_PUB + 1];
    size_t pl = 0;
    /* Ask for the uncompressed form explicitly: a key read from a file keeps the file's form. */
    (void)EVP_PKEY_set_utf8_string_param(key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed");
    if (c == VSAFE_CURVE_NONE ||
        EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &pl) != 1 ||
        pl != vsafe_host_curve_pub_size(c) + 1u || point[0] != 0x04) {
        return -1;
    }
    memcpy(pub, point + 1, pl - 1u);
    *pub_len = pl - 1u;
    *curve = c;
    return 0;
}

int vsafe_cli_pub_encode(unsigned curve, const uint8_t *pub, size_t pub_len, int fmt, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    if (fmt == VSAFE_CLI_PUB_RAW) {
        *out = malloc(pub_len > 0 ? pub_len : 1u);
        if (*out == NULL) {
            return -1;
        }
        memcpy(*out, pub, pub_len);
        *out_len = pub_len;
        return 0;
    }
    EVP_PKEY *key = pkey_from_raw(curve, pub, pub_len);
    if (key == NULL) {
        return -1;
    }
    int rc = -1;
    if (fmt == VSAFE_CLI_PUB_DER) {
        unsigned char *der = NULL;
        int n = i2d_PUBKEY(key, &der);
        if (n > 0) {
            *out = malloc((size_t)n);
            if (*out != NULL) {
                memcpy(*out, der, (size_t)n);
                *out_len = (size_t)n;
                rc = 0;
            }
        }
        OPENSSL_free(der);
    } else {
        BIO *b = BIO_new(BIO_s_mem());
        char *data = NULL;
        long n = 0;
        if (b != NULL && PEM_write_bio_PUBKEY(b, key) == 1 && (n = BIO_get_mem_data(b, &data)) > 0) {
            *out = malloc((size_t)n);
            if (*out != NULL) {
                memcpy(*out, data, (size_t)n);
                *out_len = (size_t)n;
                rc = 0;
            }
        }
        BIO_free(b);
    }
    EVP_PKEY_free(key);
    return rc;
}

int vsafe_cli_pub_write(vsafe_cli_t *cli, const char *opt, const char *path, unsigned curve, const uint8_t *pub,
                        size_t pub_len, int fmt)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    if (vsafe_cli_pub_encode(curve, pub, pub_len, fmt, &buf, &n) != 0) {
        return vsafe_cli_fail(cli, VSAFE_ERR_CRYPTO, "%s: the %s public key does not encode", opt,
                              vsafe_cli_curve_label(curve));
    }
    int rc = vsafe_cli_write_file(cli, opt, path, buf, n, 0);
    free(buf);
    return rc;
}

int vsafe_cli_pub_parse(vsafe_cli_t *cli, const char *opt, const char *path, const uint8_t *buf, size_t n,
                        unsigned hint, unsigned *curve, uint8_t *pub, size_t *pub_len)
{
    EVP_PKEY *key = NULL;
    static const char pem_mark[] = "-----BEGIN";
    if (n >= sizeof pem_mark - 1u && memcmp(buf, pem_mark, sizeof pem_mark - 1u) == 0) {
        BIO *b = BIO_new_mem_buf(buf, (int)n);
        key = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
        if (key == NULL) {
            /* A certificate stands for its public key (the zone-0 certificate, for one). */
            (void)BIO_reset(b);
            X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
            if (x != NULL) {
                key = X509_get_pubkey(x);
                X509_free(x);
            }
        }
        BIO_free(b);
    } else if (n > 0 && buf[0] == 0x30) {
        const unsigned char *p = buf;
        key = d2i_PUBKEY(NULL, &p, (long)n);
        if (key == NULL) {
            p = buf;
            X509 *x = d2i_X509(NULL, &p, (long)n);
            if (x != NULL) {
                key = X509_get_pubkey(x);
                X509_free(x);
            }
        }
        if (key != NULL && p != buf + n) {
            EVP_PKEY_free(key);
            key = NULL;
        }
    }
    int rc = 0;
    if (key != NULL) {
        if (pkey_to_raw(key, curve, pub, pub_len) != 0) {
            rc = vsafe_cli_fail_named(cli, "BAD_PUBLIC_KEY", "%s: '%s' holds a key of a curve vsafe does not know", opt,
                                      path);
        } else if (hint != VSAFE_CURVE_NONE && *curve != hint) {
            rc = vsafe_cli_fail_named(cli, "BAD_PUBLIC_KEY", "%s: '%s' holds a %s key, %s expected", opt, path,
                                      vsafe_cli_curve_label(*curve), vsafe_cli_curve_label(hint));
        }
        EVP_PKEY_free(key);
        return rc;
    }
    /* Raw bytes: the curve must be known. */
    size_t want = vsafe_host_curve_pub_size(hint);
    if (hint == VSAFE_CURVE_NONE) {
        return vsafe_cli_fail_named(cli, "BAD_PUBLIC_KEY",
                                    "%s: '%s' is not a PEM or DER public key (for raw bytes give --curve)", opt, path);
    }
    if (n == want || (n == want + 1u && buf[0] == 0x04 && hint != VSAFE_CURVE_X25519 && hint != VSAFE_CURVE_ED25519)) {
        memcpy(pub, buf + (n - want), want);
        *pub_len = want;
        *curve = hint;
        return 0;
    }
    return vsafe_cli_fail_named(cli, "BAD_PUBLIC_KEY",
                                "%s: '%s' is not a PEM or DER public key, nor %zu raw bytes of a %s key", opt, path,
                                want, vsafe_cli_curve_label(hint));
}

int vsafe_cli_pub_read(vsafe_cli_t *cli, const char *opt, const char *path, unsigned hint, unsigned *curve,
                       uint8_t *pub, size_t *pub_len)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = vsafe_cli_read_key_file(cli, opt, path, 64u * 1024u, &buf, &n);
    if (rc != 0) {
        return rc;
    }
    rc = vsafe_cli_pub_parse(cli, opt, path, buf, n, hint, curve, pub, pub_len);
    free(buf);
    return rc;
}

int vsafe_cli_sig_to_der(unsigned curve, const uint8_t *sig, size_t sig_len, uint8_t *der, size_t cap, size_t *der_len)
{
    if (sig_len != vsafe_host_curve_sig_size(curve) || sig_len == 0) {
        return -1;
    }
    if (curve == VSAFE_CURVE_ED25519) {
        if (cap < sig_len) {
            return -1;
        }
        memcpy(der, sig, sig_len);
        *der_len = sig_len;
        return 0;
    }
    size_t half = sig_len / 2u;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL), *ss = BN_bin2bn(sig + half, (int)half, NULL);
    if (s == NULL || r == NULL || ss == NULL || ECDSA_SIG_set0(s, r, ss) != 1) {
        BN_free(r);
        BN_free(ss);
        ECDSA_SIG_free(s);
        return -1;
    }
    int n = i2d_ECDSA_SIG(s, NULL);
    int rc = -1;
    if (n > 0 && (size_t)n <= cap) {
        unsigned char *p = der;
        n = i2d_ECDSA_SIG(s, &p);
        *der_len = (size_t)n;
        rc = 0;
    }
    ECDSA_SIG_free(s);
    return rc;
}

int vsafe_cli_sig_from_any(unsigned curve, const uint8_t *in, size_t in_len, uint8_t *sig, size_t *sig_len)
{
    size_t want = vsafe_host_curve_sig_size(curve), half = want / 2u;
    if (want == 0) {
        return -1;
    }
    if (curve != VSAFE_CURVE_ED25519 && in_len > 0 && in[0] == 0x30) {
        const unsigned char *p = in;
        ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)in_len);
        if (s != NULL && p == in + in_len) {
            const BIGNUM *r = NULL, *ss = NULL;
            ECDSA_SIG_get0(s, &r, &ss);
            int ok = BN_bn2binpad(r, sig, (int)half) == (int)half && BN_bn2binpad(ss, sig + half, (int)half) == (int)half;
            ECDSA_SIG_free(s);
            if (ok) {
                *sig_len = want;
                return 0;
            }
            return -1;
        }
        ECDSA_SIG_free(s);
    }
    if (in_len != want) {
        return -1;
    }
    memcpy(sig, in, want);
    *sig_len = want;
    return 0;
}

int vsafe_cli_read_device_cert(vsafe_cli_t *cli, uint8_t *der, size_t der_cap, size_t *len)
{
    int rc = vsafe_host_read_zone(cli->host, VSAFE_HOST_PROT_NONE, 0, 0, der, 4);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "read zone 0");
    }
    size_t n = ((size_t)der[2] << 8 | der[3]) + 4u;
    if (der[0] != 0x30 || der[1] != 0x82 || n > der_cap) {
        return vsafe_cli_fail_named(cli, "NO_CERTIFICATE", "zone 0 does not start with a DER certificate (30 82 ...)");
    }
    rc = vsafe_host_read_zone(cli->host, VSAFE_HOST_PROT_NONE, 0, 0, der, n);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "read zone 0");
    }
    *len = n;
    return 0;
}

int vsafe_cli_priv_load(vsafe_cli_t *cli, const char *opt, const char *path, EVP_PKEY **key, unsigned *curve)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = vsafe_cli_read_key_file(cli, opt, path, 64u * 1024u, &buf, &n);
    if (rc != 0) {
        return rc;
    }
    BIO *b = BIO_new_mem_buf(buf, (int)n);
    *key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    OPENSSL_cleanse(buf, n);
    free(buf);
    uint8_t pub[VSAFE_EC_MAX_PUB];
    size_t pl = 0;
    if (*key == NULL || pkey_to_raw(*key, curve, pub, &pl) != 0) {
        EVP_PKEY_free(*key);
        *key = NULL;
        return vsafe_cli_fail_named(cli, "BAD_PRIVATE_KEY", "%s: '%s' is not a PEM private key of a curve vsafe knows",
                                    opt, path);
    }
    return 0;
}

int vsafe_cli_priv_sign(EVP_PKEY *key, unsigned curve, unsigned alg, const uint8_t *msg, size_t len, uint8_t *sig,
                        size_t sig_cap, size_t *sig_len)
{
    size_t want = vsafe_host_curve_sig_size(curve);
    if (want == 0 || sig_cap < want) {
        return -1;
    }
    if (curve == VSAFE_CURVE_ED25519) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        size_t n = want;
        int ok = m != NULL && EVP_DigestSignInit(m, NULL, NULL, NULL, key) == 1 &&
                 EVP_DigestSign(m, sig, &n, msg, len) == 1 && n == want;
        EVP_MD_CTX_free(m);
        *sig_len = want;
        return ok ? 0 : -1;
    }
    uint8_t digest[64];
    size_t dl = len;
    const uint8_t *d = msg;
    if (alg != 0) {
        if (vsafe_cli_host_digest(alg, msg, len, digest, &dl) != 0) {
            return -1;
        }
        d = digest;
    }
    uint8_t der[160];
    size_t der_len = sizeof der;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
    int ok = c != NULL && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_sign(c, der, &der_len, d, dl) == 1;
    EVP_PKEY_CTX_free(c);
    return ok ? vsafe_cli_sig_from_any(curve, der, der_len, sig, sig_len) : -1;
}

void vsafe_cli_gpk_hint(vsafe_cli_t *cli, const char *opt, const char *path, unsigned curve, uint8_t slot,
                        uint8_t flag, const char *flag_name, char *out, size_t cap)
{
    out[0] = '\0';
    vsafe_host_pubkey_slot_t s;
    if (cli->host == NULL || vsafe_host_pubkey_slot(cli->host, slot, &s) != VSAFE_OK) {
        return;
    }
    if (!s.present) {
        snprintf(out, cap, "generic public key slot %u is empty: vsafe pubkey write --slot %u --pubkey-file F", slot,
                 slot);
    } else if (s.curve != curve) {
        snprintf(out, cap, "%s '%s' holds a %s key, generic public key slot %u a %s key", opt, path,
                 vsafe_cli_curve_label(curve), slot, vsafe_cli_curve_label(s.curve));
    } else if (flag != 0u && (s.flags[1] & flag) == 0u) {
        snprintf(out, cap, "generic public key slot %u may not %s: vsafe pubkey flags --slot %u --set %s", slot,
                 flag == VSAFE_HOST_GPK_ENTITY_AUTH ? "authenticate entities" : "do this", slot, flag_name);
    }
}
