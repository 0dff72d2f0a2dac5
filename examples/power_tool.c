/* Power-tool battery: the usage-monitoring scenario of the SPL05 profile, against the public host API.
 *
 *   power_tool DIR manufacture SERIAL CHEMISTRY CAPACITY_MAH DATE   (the factory, once)
 *   power_tool DIR charge TIME CHARGER_ID ENERGY_WH                 (a charger, each charge)
 *   power_tool DIR authenticate CA_CERT                             (the tool: is the battery genuine?)
 *   power_tool DIR report CA_CERT                                   (the tool: authenticate, then read)
 *
 * Zone 1 holds the manufacturing record as readable text ("serial=...\n..."). Zone 5 is a one-way
 * counter starting at 0xFFFFFFFF: each charge decrements it by one and records the event (16 bytes)
 * as associated data, in a ring of four slots, so cycles used = 0xFFFFFFFF - counter and the last
 * four charges are always on the battery. DIR is a vsafe device directory (vsafe init).
 *
 * Authentication (before the tool trusts anything the battery says): the leaf certificate at the
 * start of zone 0 must be issued by CA_CERT (PEM), and the battery must sign a fresh random
 * challenge with private key slot 0 so that the signature verifies with that certificate's public
 * key. The first check alone proves nothing about the battery, since a certificate is public and a
 * clone can carry a copy; the second proves the chip holds the private key the CA certified.
 * Exit status: 0 done, 1 error, 2 usage, 3 battery refused as not genuine. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "vsafe/host.h"

#define MFG_ZONE 1
#define MFG_LEN 128
#define CYCLE_ZONE 5
#define EVENT_LEN 16
#define EVENT_SLOTS 4
#define CERT_ZONE 0
#define CERT_MAX 1000  /* zone 0 of SPL05 */
#define ID_SLOT 0
#define CHALLENGE_LEN 32 /* a P-256 digest: the slot signs it as the digest */
#define EXIT_REFUSED 3

static int fail(const char *what, int rc)
{
    fprintf(stderr, "power_tool: %s: %s (%s)\n", what, vsafe_status_name(rc), vsafe_status_message(rc));
    return 1;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int manufacture(vsafe_host_t *h, char **argv)
{
    char rec[MFG_LEN] = {0};
    int n = snprintf(rec, sizeof rec, "serial=%s\nchemistry=%s\ncapacity=%s mAh\ndate=%s\n", argv[0], argv[1],
                     argv[2], argv[3]);
    if (n < 0 || n >= MFG_LEN) {
        fprintf(stderr, "power_tool: manufacturing record longer than %d bytes\n", MFG_LEN - 1);
        return 2;
    }
    /* One atomic update: the record is all there or not at all. */
    int rc = vsafe_host_update_zone(h, VSAFE_HOST_PROT_TABLE, MFG_ZONE, 0, (const uint8_t *)rec, sizeof rec, 1);
    if (rc != VSAFE_OK) {
        return fail("write manufacturing data", rc);
    }
    printf("factory: wrote %d bytes of manufacturing data to zone %d\n", n, MFG_ZONE);
    return 0;
}

static int charge(vsafe_host_t *h, char **argv)
{
    uint32_t counter = 0;
    int rc = vsafe_host_read_counter_zone(h, VSAFE_HOST_PROT_TABLE, CYCLE_ZONE, 0, NULL, 0, &counter);
    if (rc != VSAFE_OK) {
        return fail("read cycle counter", rc);
    }
    uint32_t cycle = 0xFFFFFFFFu - counter + 1u; /* the number this charge will get */
    uint8_t ev[EVENT_LEN];
    put32(ev, (uint32_t)strtoul(argv[0], NULL, 0));
    put32(ev + 4, (uint32_t)strtoul(argv[1], NULL, 0));
    put32(ev + 8, (uint32_t)strtoul(argv[2], NULL, 0));
    put32(ev + 12, cycle);
    uint16_t slot = (uint16_t)(((cycle - 1u) % EVENT_SLOTS) * EVENT_LEN);
    /* Counter and event in one Decrement: the device commits them together. */
    rc = vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, CYCLE_ZONE, 1, slot, ev, sizeof ev, &counter);
    if (rc != VSAFE_OK) {
        return fail("record charge", rc);
    }
    printf("charger %s: charge #%u recorded (%s Wh), counter now %u\n", argv[1], cycle, argv[2], counter);
    return 0;
}

static int report(vsafe_host_t *h)
{
    char rec[MFG_LEN + 1] = {0};
    int rc = vsafe_host_read_zone(h, VSAFE_HOST_PROT_TABLE, MFG_ZONE, 0, (uint8_t *)rec, MFG_LEN);
    if (rc != VSAFE_OK) {
        return fail("read manufacturing data", rc);
    }
    printf("Battery (zone %d)\n", MFG_ZONE);
    if (rec[0] == '\0') {
        printf("  (no manufacturing data)\n");
    }
    for (char *line = strtok(rec, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (eq != NULL) {
            *eq = '\0';
            printf("  %-10s %s\n", line, eq + 1);
        }
    }
    uint8_t events[EVENT_LEN * EVENT_SLOTS];
    uint32_t counter = 0;
    rc = vsafe_host_read_counter_zone(h, VSAFE_HOST_PROT_TABLE, CYCLE_ZONE, 0, events, sizeof events, &counter);
    if (rc != VSAFE_OK) {
        return fail("read cycle counter", rc);
    }
    uint32_t used = 0xFFFFFFFFu - counter;
    printf("Charge cycles (zone %d): counter %u, cycles used %u\n", CYCLE_ZONE, counter, used);
    if (used == 0) {
        return 0;
    }
    if (used > EVENT_SLOTS) {
        printf("  the last %d charges:\n", EVENT_SLOTS);
    }
    printf("  %-6s %-18s %-11s %s\n", "cycle", "time (UTC)", "charger", "energy");
    uint32_t first = used > EVENT_SLOTS ? used - EVENT_SLOTS + 1u : 1u;
    for (uint32_t c = first; c <= used; c++) {
        const uint8_t *e = events + ((c - 1u) % EVENT_SLOTS) * EVENT_LEN;
        time_t t = (time_t)get32(e);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", gmtime(&t));
        printf("  %-6u %-18s 0x%08x  %u Wh\n", get32(e + 12), when, get32(e + 4), get32(e + 8));
    }
    return 0;
}

static void print_name(const char *label, const X509_NAME *name)
{
    char buf[256];
    X509_NAME_oneline(name, buf, sizeof buf);
    printf("       %-8s %s\n", label, buf);
}

static int refuse(const char *why)
{
    printf("  => REFUSED: %s\n", why);
    fprintf(stderr, "power_tool: battery refused, not genuine: %s\n", why);
    return EXIT_REFUSED;
}

/* The CA certificate the tool trusts (PEM), in a store of its own: nothing else is trusted. */
static X509_STORE *load_trust(const char *ca_path)
{
    FILE *f = fopen(ca_path, "r");
    if (f == NULL) {
        fprintf(stderr, "power_tool: %s: cannot open the CA certificate\n", ca_path);
        return NULL;
    }
    X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    X509_STORE *store = X509_STORE_new();
    if (ca == NULL || store == NULL || X509_STORE_add_cert(store, ca) != 1) {
        fprintf(stderr, "power_tool: %s: not a PEM certificate\n", ca_path);
        X509_STORE_free(store);
        store = NULL;
    }
    X509_free(ca);
    return store;
}

/* Step 1: the certificate at the start of zone 0. Its size comes from the DER header 30 82 HH LL,
 * as host libraries take it. NULL (with the reason printed) when the zone holds none. */
static X509 *read_certificate(vsafe_host_t *h, int *rc)
{
    uint8_t der[CERT_MAX];
    *rc = vsafe_host_read_zone(h, VSAFE_HOST_PROT_TABLE, CERT_ZONE, 0, der, 4);
    if (*rc != VSAFE_OK) {
        *rc = fail("read zone 0", *rc);
        return NULL;
    }
    size_t len = (size_t)(der[2] << 8 | der[3]) + 4u;
    if (der[0] != 0x30 || der[1] != 0x82 || len > sizeof der) {
        *rc = refuse("zone 0 does not start with a DER certificate");
        return NULL;
    }
    *rc = vsafe_host_read_zone(h, VSAFE_HOST_PROT_TABLE, CERT_ZONE, 0, der, len);
    if (*rc != VSAFE_OK) {
        *rc = fail("read zone 0", *rc);
        return NULL;
    }
    const unsigned char *p = der;
    X509 *cert = d2i_X509(NULL, &p, (long)len);
    if (cert == NULL || p != der + len) {
        X509_free(cert);
        *rc = refuse("zone 0 holds no parsable X.509 certificate");
        return NULL;
    }
    printf("  1. read the certificate from zone 0 (%zu bytes)\n", len);
    print_name("subject", X509_get_subject_name(cert));
    print_name("issuer", X509_get_issuer_name(cert));
    *rc = 0;
    return cert;
}

/* Step 4's check: sig (R||S, 32 bytes each) over the challenge taken as the digest, with key. */
static int ecdsa_p256_valid(EVP_PKEY *key, const uint8_t *digest, size_t digest_len, const uint8_t *sig)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    int der_len = -1, valid = 0;
    if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        der_len = i2d_ECDSA_SIG(es, &der);
    }
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    if (der_len > 0 && ctx != NULL && EVP_PKEY_verify_init(ctx) == 1) {
        valid = EVP_PKEY_verify(ctx, der, (size_t)der_len, digest, digest_len) == 1;
    }
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return valid;
}

/* Is the battery genuine? 0 yes; EXIT_REFUSED no (reason printed); 1 an error on the way. */
static int authenticate(vsafe_host_t *h, const char *ca_path)
{
    X509_STORE *trust = load_trust(ca_path);
    if (trust == NULL) {
        return 1;
    }
    printf("Authenticating the battery against the CA in %s\n", ca_path);
    int rc = 0;
    X509 *cert = read_certificate(h, &rc);
    X509_STORE_CTX *vctx = X509_STORE_CTX_new();
    EVP_PKEY *key = NULL;
    if (cert == NULL) {
        goto out;
    }
    if (vctx == NULL || X509_STORE_CTX_init(vctx, trust, cert, NULL) != 1) {
        rc = fail("certificate check", VSAFE_ERR_NO_MEMORY);
        goto out;
    }
    if (X509_verify_cert(vctx) != 1) {
        char why[200];
        snprintf(why, sizeof why, "its certificate is not issued by the trusted CA (%s)",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)));
        rc = refuse(why);
        goto out;
    }
    printf("  2. the certificate is signed by the trusted CA: the CA issued it for some genuine chip.\n"
           "     A certificate is public, so a clone can carry a copy: this alone proves nothing yet.\n");
    key = X509_get_pubkey(cert);
    char group[32] = "";
    size_t group_len = 0;
    if (key == NULL || !EVP_PKEY_is_a(key, "EC") ||
        EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &group_len) != 1 ||
        strcmp(group, "prime256v1") != 0) {
        rc = refuse("the certificate's key is not a NIST P-256 key");
        goto out;
    }
    uint8_t challenge[CHALLENGE_LEN], sig[64];
    size_t sig_len = 0;
    if (RAND_bytes(challenge, sizeof challenge) != 1) {
        rc = fail("random challenge", VSAFE_ERR_CRYPTO);
        goto out;
    }
    printf("  3. sent a fresh random challenge (%d bytes, %02x%02x%02x%02x...) to sign with key slot %d:\n"
           "     a recorded answer to an earlier challenge cannot be replayed.\n",
           CHALLENGE_LEN, challenge[0], challenge[1], challenge[2], challenge[3], ID_SLOT);
    rc = vsafe_host_sign(h, VSAFE_HOST_PROT_TABLE, ID_SLOT, VSAFE_CURVE_P256, challenge, sizeof challenge, sig,
                         sizeof sig, &sig_len);
    if (rc != VSAFE_OK && (rc > VSAFE_DEV_STATUS(1) || rc < VSAFE_DEV_STATUS(255))) {
        rc = fail("sign the challenge", rc);
        goto out;
    }
    if (rc != VSAFE_OK) { /* the device answered, and refused: no usable key in slot 0 */
        char why[200];
        snprintf(why, sizeof why, "it does not sign with key slot %d (%s)", ID_SLOT, vsafe_status_name(rc));
        rc = refuse(why);
        goto out;
    }
    if (sig_len != sizeof sig || !ecdsa_p256_valid(key, challenge, sizeof challenge, sig)) {
        rc = refuse("its signature does not verify with the certificate's public key: "
                    "the chip does not hold the key the certificate was issued for (a copied certificate)");
        goto out;
    }
    printf("  4. the signature verifies with the certificate's public key: the chip holds the private\n"
           "     key the CA certified, which never leaves a genuine chip.\n"
           "  => battery authenticated: genuine\n");
    rc = 0;
out:
    EVP_PKEY_free(key);
    X509_STORE_CTX_free(vctx);
    X509_free(cert);
    X509_STORE_free(trust);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: power_tool DIR manufacture SERIAL CHEMISTRY CAPACITY_MAH DATE\n"
                    "       power_tool DIR charge TIME CHARGER_ID ENERGY_WH\n"
                    "       power_tool DIR authenticate CA_CERT.pem\n"
                    "       power_tool DIR report CA_CERT.pem\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *step;
        int argc;
    } steps[] = {{"manufacture", 7}, {"charge", 6}, {"authenticate", 4}, {"report", 4}};
    int known = 0;
    for (size_t i = 0; argc >= 3 && i < sizeof steps / sizeof steps[0]; i++) {
        if (strcmp(argv[2], steps[i].step) == 0) {
            if (argc != steps[i].argc) {
                return usage();
            }
            known = 1;
        }
    }
    if (!known) {
        return usage();
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/se.nvm", argv[1]);
    vsafe_se_options_t opt = {.profile = NULL, .state_path = path};
    vsafe_se_t *se = NULL;
    vsafe_host_t *h = NULL;
    int rc = vsafe_se_open(&se, &opt);
    if (rc != VSAFE_OK) {
        return fail("open device", rc);
    }
    if ((rc = vsafe_host_open_se(&h, se)) != VSAFE_OK || (rc = vsafe_host_init(h)) != VSAFE_OK) {
        vsafe_host_close(h);
        vsafe_se_close(se);
        return fail("init", rc);
    }
    int status;
    if (strcmp(argv[2], "manufacture") == 0) {
        status = manufacture(h, argv + 3);
    } else if (strcmp(argv[2], "charge") == 0) {
        status = charge(h, argv + 3);
    } else if (strcmp(argv[2], "authenticate") == 0) {
        status = authenticate(h, argv[3]);
    } else {
        /* Nothing the battery reports is trusted before it is authenticated. */
        status = authenticate(h, argv[3]);
        if (status == 0) {
            printf("\n");
            status = report(h);
        }
    }
    vsafe_host_close(h);
    vsafe_se_close(se);
    return status;
}
