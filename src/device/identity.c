/* Device identity certificates (device/identity.h).
 *
 * Invariants:
 *  1. The local CA directory is created whole or not at all: its files are written into a
 *     temporary sibling directory that is then renamed into place, so a concurrent creator or a
 *     crash never leaves a key without its certificate; the loser of a race uses the winner's.
 *  2. The CA private key file is created 0600 in a 0700 directory and never logged.
 *  3. A leaf is issued only by a CA certificate with basicConstraints CA:TRUE whose key matches. */
#include "device/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct vsafe_identity_ca {
    X509 *cert;
    EVP_PKEY *key;
};

static int say(char *msg, size_t cap, int rc, const char *fmt, ...)
{
    if (msg != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int vsafe_identity_local_ca_dir(char *out, size_t cap)
{
    const char *d = getenv("VSAFE_CA_DIR");
    int n;
    if (d != NULL && d[0] != '\0') {
        n = snprintf(out, cap, "%s", d);
    } else if ((d = getenv("XDG_DATA_HOME")) != NULL && d[0] == '/') {
        n = snprintf(out, cap, "%s/vsafe/ca", d);
    } else if ((d = getenv("HOME")) != NULL && d[0] != '\0') {
        n = snprintf(out, cap, "%s/.local/share/vsafe/ca", d);
    } else {
        return VSAFE_ERR_ARGUMENT;
    }
    return n < 0 || (size_t)n >= cap ? VSAFE_ERR_BUFFER_TOO_SMALL : VSAFE_OK;
}

/* mkdir -p with mode for the missing parents. */
static int make_parents(const char *dir)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
        return -1;
    }
    for (char *s = p + 1; *s != '\0'; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                return -1;
            }
            *s = '/';
        }
    }
    return 0;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ex == NULL) {
        return -1;
    }
    int ok = X509_add_ext(cert, ex, -1);
    X509_EXTENSION_free(ex);
    return ok == 1 ? 0 : -1;
}

static int write_pem(const char *path, mode_t mode, X509 *cert, EVP_PKEY *key)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
    if (fd < 0) {
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return -1;
    }
    int ok = cert != NULL ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    ok = ok == 1 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* X509_sign, drawing again until r and s of the ECDSA signature each take the curve's full length
 * (32 bytes for P-256). A shorter r or s (about 1 signature in 128) is a valid signature, but
 * STSELib's certificate check (v1.1.9, stse_certificate_is_parent) rejects it, so an identity
 * signed so would fail ST's device authentication examples now and then. Non-EC keys: one draw. */
static int sign_full_length(X509 *cert, EVP_PKEY *key)
{
    int full = (EVP_PKEY_get_bits(key) + 7) / 8;
    for (int attempt = 0; attempt < 64; attempt++) {
        if (X509_sign(cert, key, EVP_sha256()) <= 0) {
            return -1;
        }
        if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
            return 0;
        }
        const ASN1_BIT_STRING *sig = NULL;
        X509_get0_signature(&sig, NULL, cert);
        const unsigned char *p = sig != NULL ? ASN1_STRING_get0_data(sig) : NULL;
        ECDSA_SIG *es = p != NULL ? d2i_ECDSA_SIG(NULL, &p, ASN1_STRING_length(sig)) : NULL;
        if (es == NULL) {
            return -1;
        }
        int ok = BN_num_bytes(ECDSA_SIG_get0_r(es)) == full && BN_num_bytes(ECDSA_SIG_get0_s(es)) == full;
        ECDSA_SIG_free(es);
        if (ok) {
            return 0;
        }
    }
    return -1; /* 64 short draws in a row: the random source is broken */
}

/* A fresh self-signed P-256 root "O=vsafe, CN=vsafe test root", CA:TRUE, 30 years. */
static int make_root(X509 **cert_out, EVP_PKEY **key_out)
{
    EVP_PKEY *key = EVP_EC_gen("prime256v1");
    X509 *cert = X509_new();
    BIGNUM *bn = BN_new();
    int rc = -1;
    if (key == NULL || cert == NULL || bn == NULL || BN_rand(bn, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1) {
        goto out;
    }
    X509_NAME *name = X509_get_subject_name(cert);
    if (X509_set_version(cert, 2) != 1 || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"vsafe", -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)"vsafe test root", -1, -1, 0) != 1 ||
        X509_set_issuer_name(cert, name) != 1 || X509_gmtime_adj(X509_getm_notBefore(cert), 0) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 365 * 24 * 3600) == NULL || X509_set_pubkey(cert, key) != 1 ||
        add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE") != 0 ||
        add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
        add_ext(cert, cert, NID_subject_key_identifier, "hash") != 0 || sign_full_length(cert, key) != 0) {
        goto out;
    }
    *cert_out = cert;
    *key_out = key;
    cert = NULL;
    key = NULL;
    rc = 0;
out:
    BN_free(bn);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

/* Invariant 1. */
static int create_local_ca(const char *dir, char *msg, size_t cap)
{
    char tmp[4200], path[4300];
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    if (make_parents(dir) != 0) {
        return say(msg, cap, VSAFE_ERR_IO, "%s: cannot create its parent directories: %s", dir, strerror(errno));
    }
    snprintf(tmp, sizeof tmp, "%s.new-XXXXXX", dir);
    if (mkdtemp(tmp) == NULL) {
        return say(msg, cap, VSAFE_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    }
    int rc = VSAFE_ERR_IO;
    if (make_root(&cert, &key) != 0) {
        rc = say(msg, cap, VSAFE_ERR_CRYPTO, "cannot generate the local vsafe CA");
        goto out;
    }
    snprintf(path, sizeof path, "%s/ca-key.pem", tmp);
    if (write_pem(path, 0600, NULL, key) != 0) {
        say(msg, cap, rc, "%s: %s", path, strerror(errno));
        goto out;
    }
    snprintf(path, sizeof path, "%s/ca-cert.pem", tmp);
    if (write_pem(path, 0644, cert, NULL) != 0) {
        say(msg, cap, rc, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (rename(tmp, dir) != 0 && errno != EEXIST && errno != ENOTEMPTY) {
        say(msg, cap, rc, "%s: %s", dir, strerror(errno));
        goto out;
    }
    rc = VSAFE_OK; /* ours, or a concurrent creator's that won the rename */
out:
    snprintf(path, sizeof path, "%s/ca-key.pem", tmp);
    (void)unlink(path);
    snprintf(path, sizeof path, "%s/ca-cert.pem", tmp);
    (void)unlink(path);
    (void)rmdir(tmp);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

int vsafe_identity_ca_load(vsafe_identity_ca_t **out, const char *cert_path, const char *key_path, char *msg,
                           size_t msg_cap)
{
    char dir[4096], cpath[4200], kpath[4200];
    *out = NULL;
    if ((cert_path == NULL) != (key_path == NULL)) {
        return say(msg, msg_cap, VSAFE_ERR_ARGUMENT, "a CA needs both its certificate and its key");
    }
    if (cert_path == NULL) {
        int rc = vsafe_identity_local_ca_dir(dir, sizeof dir);
        if (rc != VSAFE_OK) {
            return say(msg, msg_cap, rc, "no place for the local vsafe CA: set VSAFE_CA_DIR or HOME");
        }
        snprintf(cpath, sizeof cpath, "%s/ca-cert.pem", dir);
        snprintf(kpath, sizeof kpath, "%s/ca-key.pem", dir);
        struct stat sb;
        if (stat(kpath, &sb) != 0) {
            rc = create_local_ca(dir, msg, msg_cap);
            if (rc != VSAFE_OK) {
                return rc;
            }
        }
        cert_path = cpath;
        key_path = kpath;
    }
    FILE *f = fopen(cert_path, "r");
    if (f == NULL) {
        return say(msg, msg_cap, VSAFE_ERR_NOT_FOUND, "%s: %s", cert_path, strerror(errno));
    }
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (cert == NULL) {
        return say(msg, msg_cap, VSAFE_ERR_ARGUMENT, "%s: not a PEM certificate", cert_path);
    }
    f = fopen(key_path, "r");
    if (f == NULL) {
        X509_free(cert);
        return say(msg, msg_cap, VSAFE_ERR_NOT_FOUND, "%s: %s", key_path, strerror(errno));
    }
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    int rc = VSAFE_OK;
    if (key == NULL) {
        rc = say(msg, msg_cap, VSAFE_ERR_ARGUMENT, "%s: not a PEM private key", key_path);
    } else if (X509_check_private_key(cert, key) != 1) {
        rc = say(msg, msg_cap, VSAFE_ERR_ARGUMENT, "%s: the key does not match %s", key_path, cert_path);
    } else if (X509_check_ca(cert) != 1) {
        rc = say(msg, msg_cap, VSAFE_ERR_ARGUMENT, "%s: not a CA certificate (basicConstraints CA:TRUE)", cert_path);
    }
    if (rc != VSAFE_OK) {
        X509_free(cert);
        EVP_PKEY_free(key);
        return rc;
    }
    vsafe_identity_ca_t *ca = calloc(1, sizeof *ca);
    if (ca == NULL) {
        X509_free(cert);
        EVP_PKEY_free(key);
        return VSAFE_ERR_NO_MEMORY;
    }
    ca->cert = cert;
    ca->key = key;
    *out = ca;
    return VSAFE_OK;
}

void vsafe_identity_ca_free(vsafe_identity_ca_t *ca)
{
    if (ca == NULL) {
        return;
    }
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    free(ca);
}

static int to_der(X509 *cert, uint8_t *out, size_t cap, size_t *len)
{
    int n = i2d_X509(cert, NULL);
    if (n <= 0) {
        return VSAFE_ERR_CRYPTO;
    }
    if ((size_t)n > cap) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    uint8_t *p = out;
    (void)i2d_X509(cert, &p);
    *len = (size_t)n;
    return VSAFE_OK;
}

int vsafe_identity_ca_der(const vsafe_identity_ca_t *ca, uint8_t *out, size_t cap, size_t *len)
{
    return to_der(ca->cert, out, cap, len);
}

int vsafe_identity_issue(const vsafe_identity_ca_t *ca, const uint8_t pub[64], const uint8_t serial[11], uint8_t *der,
                         size_t cap, size_t *der_len)
{
    char hex[23], cn[64];
    uint8_t pt[65];
    int rc = VSAFE_ERR_CRYPTO;
    if (serial[0] == 0u || serial[0] >= 0x80u) {
        return VSAFE_ERR_ARGUMENT;
    }
    for (int i = 0; i < 11; i++) {
        snprintf(hex + 2 * i, 3, "%02X", serial[i]);
    }
    snprintf(cn, sizeof cn, "vsafe STSAFE-A120 %s", hex);
    pt[0] = 0x04;
    memcpy(pt + 1, pub, 64);
    X509 *cert = X509_new();
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt),
        OSSL_PARAM_construct_end(),
    };
    BIGNUM *bn = BN_bin2bn(serial, 11, NULL);
    if (cert == NULL || kc == NULL || bn == NULL || EVP_PKEY_fromdata_init(kc) <= 0 ||
        EVP_PKEY_fromdata(kc, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        goto out;
    }
    X509_NAME *name = X509_get_subject_name(cert);
    if (X509_set_version(cert, 2) != 1 || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"vsafe", -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "serialNumber", MBSTRING_ASC, (const unsigned char *)hex, -1, -1, 0) != 1 ||
        X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(cert), 0) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(cert), 20L * 365 * 24 * 3600) == NULL || X509_set_pubkey(cert, key) != 1 ||
        add_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(cert, ca->cert, NID_key_usage, "critical,digitalSignature") != 0 ||
        sign_full_length(cert, ca->key) != 0) {
        goto out;
    }
    rc = to_der(cert, der, cap, der_len);
    if (rc == VSAFE_OK && (*der_len < 256u || der[0] != 0x30 || der[1] != 0x82)) {
        rc = VSAFE_ERR_CRYPTO; /* hosts take the size from bytes 2..3 of a 30 82 header */
    }
out:
    BN_free(bn);
    EVP_PKEY_CTX_free(kc);
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}
