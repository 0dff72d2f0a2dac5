/* vsafe identity: the device certificate in zone 0, checked against private key slot 0 by asking
 * the device to sign a random challenge, and against the CA; export of the certificate and the
 * CA certificate, PEM or DER. */
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_io.h"
#include "device/identity.h"
#include "keyfmt.h"

#define CERT_MAX 1000u

/* Signs 32 random bytes with slot 0 (16 00 00 20 <challenge>) and verifies R||S over them as a
 * digest with the certificate's key. 1 match, 0 no match, -1 the device refused (status in *st). */
static int slot0_matches(vsafe_cli_t *cli, X509 *cert, int *st)
{
    uint8_t cmd[36] = {0x16, 0x00, 0x00, 0x20}, rsp[200];
    size_t rl = 0;
    if (RAND_bytes(cmd + 4, 32) != 1) {
        return -1;
    }
    *st = vsafe_host_raw(cli->host, cmd, sizeof cmd, rsp, sizeof rsp, &rl);
    if (*st != 0 || rl != 68 || rsp[0] != 0 || rsp[1] != 32 || rsp[34] != 0 || rsp[35] != 32) {
        return -1;
    }
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(rsp + 2, 32, NULL), BN_bin2bn(rsp + 36, 32, NULL));
    uint8_t der[80], *p = der;
    int dl = i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig);
    EVP_PKEY *key = X509_get0_pubkey(cert);
    EVP_PKEY_CTX *c = key != NULL ? EVP_PKEY_CTX_new(key, NULL) : NULL;
    int ok = c != NULL && dl > 0 && EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_verify(c, der, (size_t)dl, cmd + 4, 32) == 1;
    EVP_PKEY_CTX_free(c);
    return ok ? 1 : 0;
}

static char *name_text(const X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(b, n, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
    char *buf = NULL;
    long len = BIO_get_mem_data(b, &buf);
    char *s = malloc((size_t)len + 1);
    memcpy(s, buf, (size_t)len);
    s[len] = '\0';
    BIO_free(b);
    return s;
}

static char *time_text(const ASN1_TIME *t)
{
    BIO *b = BIO_new(BIO_s_mem());
    ASN1_TIME_print(b, t);
    char *buf = NULL;
    long len = BIO_get_mem_data(b, &buf);
    char *s = malloc((size_t)len + 1);
    memcpy(s, buf, (size_t)len);
    s[len] = '\0';
    BIO_free(b);
    return s;
}

static int write_out(vsafe_cli_t *cli, const char *path, X509 *cert, int der)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return vsafe_cli_fail(cli, VSAFE_ERR_IO, "%s: %s", path, strerror(errno));
    }
    int ok = der ? i2d_X509_fp(f, cert) == 1 : PEM_write_X509(f, cert) == 1;
    if (fclose(f) != 0 || !ok) {
        return vsafe_cli_fail(cli, VSAFE_ERR_IO, "%s: cannot write", path);
    }
    return 0;
}

static X509 *load_ca(vsafe_cli_t *cli, const char *ca_cert, int *rc)
{
    char dir[4096], path[4200];
    *rc = 0;
    int given = ca_cert != NULL;
    if (ca_cert == NULL) {
        if (vsafe_identity_local_ca_dir(dir, sizeof dir) != VSAFE_OK) {
            return NULL;
        }
        snprintf(path, sizeof path, "%s/ca-cert.pem", dir);
        ca_cert = path;
    }
    FILE *f = fopen(ca_cert, "r");
    if (f == NULL) {
        /* No local CA yet is no error (nothing to check against); a --ca-cert that cannot be read is. */
        if (given) {
            int e = errno;
            *rc = vsafe_cli_fail_named(cli, vsafe_status_name(vsafe_cli_errno_status(e)),
                                       "--ca-cert: cannot open '%s': %s", ca_cert, strerror(e));
        }
        return NULL;
    }
    X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (ca == NULL) {
        *rc = vsafe_cli_fail(cli, VSAFE_ERR_ARGUMENT, "%s: not a PEM certificate", ca_cert);
    }
    return ca;
}

int vsafe_cmd_identity(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *cert_out = NULL, *ca_out = NULL, *ca_cert = NULL, *pos[1] = {NULL};
    int der = 0, done = 0;
    size_t npos = 0;
    const vsafe_cli_opt_t opts[] = {{"cert", 1, &cert_out, NULL, "FILE", "export: write the device certificate here"}, {"ca", 1, &ca_out, NULL, "FILE", "export: write the CA certificate here"},
                                    {"der", 0, NULL, &der, NULL, "export: DER instead of PEM"},       {"ca-cert", 1, &ca_cert, NULL, "FILE", "the CA to check against (default: the local vsafe CA)"},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 0, 1, &npos, &done);
    if (rc != 0 || done) {
        return rc;
    }
    int export = npos == 1 && strcmp(pos[0], "export") == 0;
    if (npos == 1 && !export) {
        return vsafe_cli_usage_error(cli, "unknown subcommand '%s'", pos[0]);
    }
    if (!export && (cert_out != NULL || ca_out != NULL || der)) {
        return vsafe_cli_usage_error(cli, "--cert, --ca and --der belong to 'identity export'");
    }
    if (export && cert_out == NULL && ca_out == NULL) {
        return vsafe_cli_usage_error(cli, "identity export needs --cert F and/or --ca F");
    }
    X509 *ca = NULL;
    if (ca_out != NULL || !export) {
        ca = load_ca(cli, ca_cert, &rc);
        if (rc != 0) {
            return rc;
        }
        if (ca == NULL && ca_out != NULL) {
            return vsafe_cli_fail(cli, VSAFE_ERR_NOT_FOUND, "no CA certificate: give --ca-cert F (the local vsafe "
                                                            "CA is created by the first init that uses it)");
        }
    }
    rc = vsafe_cli_open_host(cli);
    if (rc != 0) {
        X509_free(ca);
        return rc;
    }
    uint8_t der_buf[CERT_MAX];
    size_t der_len = 0;
    rc = vsafe_cli_read_device_cert(cli, der_buf, sizeof der_buf, &der_len);
    if (rc != 0) {
        X509_free(ca);
        return rc;
    }
    const uint8_t *p = der_buf;
    X509 *cert = d2i_X509(NULL, &p, (long)der_len);
    if (cert == NULL) {
        X509_free(ca);
        return vsafe_cli_fail_named(cli, "NO_CERTIFICATE", "zone 0 holds no parsable X.509 certificate");
    }
    if (export) {
        rc = cert_out != NULL ? write_out(cli, cert_out, cert, der) : 0;
        if (rc == 0 && ca_out != NULL) {
            rc = write_out(cli, ca_out, ca, der);
        }
        if (rc == 0) {
            if (cli->json) {
                rc = vsafe_cli_json_out(cli, json_pack("{s:{s:s?, s:s?, s:s}}", "identity_export", "cert", cert_out,
                                                       "ca", ca_out, "format", der ? "der" : "pem"));
            } else {
                printf("exported %s%s%s%s%s (%s)\n", cert_out ? "the certificate to " : "", cert_out ? cert_out : "",
                       cert_out && ca_out ? " and " : "", ca_out ? "the CA certificate to " : "", ca_out ? ca_out : "",
                       der ? "DER" : "PEM");
            }
        }
        X509_free(cert);
        X509_free(ca);
        return rc;
    }
    int st = 0;
    int match = slot0_matches(cli, cert, &st);
    int chained = -1; /* -1 no CA to check against */
    if (ca != NULL) {
        EVP_PKEY *ck = X509_get0_pubkey(ca);
        chained = ck != NULL && X509_verify(cert, ck) == 1 &&
                  X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca)) == 0;
    }
    char *subject = name_text(X509_get_subject_name(cert));
    char *issuer = name_text(X509_get_issuer_name(cert));
    const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
    char *serial = vsafe_cli_hex(ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn));
    uint8_t pt[65];
    size_t ptl = 0;
    EVP_PKEY_get_octet_string_param(X509_get0_pubkey(cert), "pub", pt, sizeof pt, &ptl);
    char *pub = vsafe_cli_hex(pt, ptl);
    char *nb = time_text(X509_get0_notBefore(cert));
    char *na = time_text(X509_get0_notAfter(cert));
    if (cli->json) {
        rc = vsafe_cli_json_out(
            cli, json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:i}}", "identity", "subject", subject,
                           "issuer", issuer, "serial", serial, "public_key", pub, "not_before", nb, "not_after", na,
                           "matches_slot0", match == 1, "chains_to_ca", chained < 0 ? json_null() : json_boolean(chained),
                           "certificate_bytes", (int)der_len));
    } else {
        printf("subject     %s\nissuer      %s\nserial      %s\npublic key  %s (P-256)\nvalid       %s to %s\n", subject,
               issuer, serial, pub, nb, na);
        printf("slot 0      %s\n", match == 1 ? "holds the certificate's key (signed a random challenge, verified)"
                                   : match == 0 ? "DOES NOT hold the certificate's key (signature did not verify)"
                                                : "refused to sign (no key in slot 0?)");
        printf("CA          %s\n", chained < 0 ? "not checked (no CA certificate: --ca-cert F)"
                                   : chained    ? "signed by the CA"
                                                : "NOT signed by the CA");
        rc = match == 1 && chained != 0 ? 0 : VSAFE_CLI_EXIT_FAIL;
    }
    free(subject);
    free(issuer);
    free(serial);
    free(pub);
    free(nb);
    free(na);
    X509_free(cert);
    X509_free(ca);
    return rc;
}
