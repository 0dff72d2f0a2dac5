/* Helpers of the key-slot tests: raw frames to a device on a simulated NVM, and OpenSSL used
 * directly (never through the device's port) to check what the device returns. */
#ifndef VSAFE_TESTS_KEYS_UTIL_H
#define VSAFE_TESTS_KEYS_UTIL_H

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vsafe/se.h"
#include "vsafe/se_wire.h"
#include "vsafe/sim.h"

/* The curves as the tests know them, written from the CURVE_ID table (independent of src/se). */
typedef struct {
    const char *name;   /* OpenSSL group or key type name */
    uint8_t id[11];
    size_t id_len;
    size_t coord;
    int edwards;        /* 1 Ed25519, 2 X25519, 0 Weierstrass */
} ku_curve_t;

static const ku_curve_t ku_curves[] = {
    {"prime256v1", {0x00, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07}, 10, 32, 0},
    {"secp384r1", {0x00, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22}, 7, 48, 0},
    {"secp521r1", {0x00, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23}, 7, 66, 0},
    {"brainpoolP256r1", {0x00, 0x09, 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07}, 11, 32, 0},
    {"brainpoolP384r1", {0x00, 0x09, 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B}, 11, 48, 0},
    {"brainpoolP512r1", {0x00, 0x09, 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0D}, 11, 64, 0},
    {"X25519", {0x00, 0x03, 0x2B, 0x65, 0x6E}, 5, 32, 2},
    {"ED25519", {0x00, 0x03, 0x2B, 0x65, 0x70}, 5, 32, 1},
};
#define KU_P256 (&ku_curves[0])
#define KU_X25519 (&ku_curves[6])
#define KU_ED25519 (&ku_curves[7])

/* Sends cmd (header + payload) with its CRC; returns the status byte (or -1 when the device gave
 * no answer: a power cut), the payload in rsp/rsp_len. */
static inline int ku_cmd(vsafe_se_t *se, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t *rsp_len)
{
    uint8_t frame[800], r[800];
    size_t rl = 0;
    memcpy(frame, cmd, len);
    uint16_t crc = vsafe_crc16(cmd, len);
    frame[len] = (uint8_t)(crc >> 8);
    frame[len + 1] = (uint8_t)crc;
    if (vsafe_se_transceive(se, frame, len + 2, r, sizeof r, &rl) != 0 || rl < 5) {
        return -1;
    }
    size_t n = (size_t)((r[1] << 8) | r[2]) - 2u;
    if (rsp != NULL) {
        memcpy(rsp, r + 3, n);
    }
    if (rsp_len != NULL) {
        *rsp_len = n;
    }
    return r[0];
}

/* An EVP_PKEY from a public key as the device gives it (X||Y or K). */
static inline EVP_PKEY *ku_pub_key(const ku_curve_t *cv, const uint8_t *pub)
{
    if (cv->edwards != 0) {
        return EVP_PKEY_new_raw_public_key(cv->edwards == 1 ? EVP_PKEY_ED25519 : EVP_PKEY_X25519, NULL, pub, 32);
    }
    uint8_t pt[133];
    pt[0] = 0x04;
    memcpy(pt + 1, pub, 2 * cv->coord);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, cv->name, 0);
    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * cv->coord);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;
    if (EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        k = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    return k;
}

/* R||S (coord bytes each) -> DER ECDSA signature. */
static inline size_t ku_sig_der(const ku_curve_t *cv, const uint8_t *rs, uint8_t *der)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    ECDSA_SIG_set0(s, BN_bin2bn(rs, (int)cv->coord, NULL), BN_bin2bn(rs + cv->coord, (int)cv->coord, NULL));
    uint8_t *p = der;
    int n = i2d_ECDSA_SIG(s, &p);
    ECDSA_SIG_free(s);
    return n > 0 ? (size_t)n : 0;
}

/* 1 when sig (R||S) verifies over msg with OpenSSL directly: ECDSA over msg as the digest,
 * Ed25519 pure. */
static inline int ku_openssl_verify(const ku_curve_t *cv, const uint8_t *pub, const uint8_t *msg, size_t len,
                                    const uint8_t *rs)
{
    EVP_PKEY *k = ku_pub_key(cv, pub);
    int ok = 0;
    if (k == NULL) {
        return 0;
    }
    if (cv->edwards == 1) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        ok = EVP_DigestVerifyInit(m, NULL, NULL, NULL, k) == 1 && EVP_DigestVerify(m, rs, 64, msg, len) == 1;
        EVP_MD_CTX_free(m);
    } else {
        uint8_t der[160];
        size_t dl = ku_sig_der(cv, rs, der);
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
        ok = EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_verify(c, der, dl, msg, len) == 1;
        EVP_PKEY_CTX_free(c);
    }
    EVP_PKEY_free(k);
    return ok;
}

/* A fresh OpenSSL key pair of cv; its public key in device form (X||Y or K) into pub. */
static inline EVP_PKEY *ku_keygen(const ku_curve_t *cv, uint8_t *pub)
{
    EVP_PKEY *k = cv->edwards == 0 ? EVP_EC_gen(cv->name) : EVP_PKEY_Q_keygen(NULL, NULL, cv->name);
    if (cv->edwards != 0) {
        size_t n = 32;
        EVP_PKEY_get_raw_public_key(k, pub, &n);
    } else {
        uint8_t pt[133];
        size_t n = 0;
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n);
        memcpy(pub, pt + 1, n - 1);
    }
    return k;
}

/* ECDH secret of our key with the device's public key, OpenSSL directly. */
static inline size_t ku_ecdh(EVP_PKEY *mine, const ku_curve_t *cv, const uint8_t *peer_pub, uint8_t *out)
{
    EVP_PKEY *peer = ku_pub_key(cv, peer_pub);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(mine, NULL);
    size_t n = 132;
    if (EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer(c, peer) != 1 || EVP_PKEY_derive(c, out, &n) != 1) {
        n = 0;
    }
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(peer);
    return n;
}

/* Puts the wire form of a public key (point form 04 00 LL X 00 LL Y, or 00 20 K). */
static inline size_t ku_put_pub(uint8_t *o, const ku_curve_t *cv, const uint8_t *pub)
{
    if (cv->edwards != 0) {
        o[0] = 0;
        o[1] = 32;
        memcpy(o + 2, pub, 32);
        return 34;
    }
    o[0] = 0x04;
    o[1] = 0;
    o[2] = (uint8_t)cv->coord;
    memcpy(o + 3, pub, cv->coord);
    o[3 + cv->coord] = 0;
    o[4 + cv->coord] = (uint8_t)cv->coord;
    memcpy(o + 5 + cv->coord, pub + cv->coord, cv->coord);
    return 5 + 2 * cv->coord;
}

#endif
