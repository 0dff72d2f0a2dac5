/* Host library, key services part 1 (services.h): the shared wire encodings and command helper,
 * private key slots (table, Generate key, ECDHE, sign, verify, ECDH, decompress), generic public
 * key slots and entity authentication.
 *
 * Invariants:
 *  1. Every response is parsed against the exact layout its command returns: the expected length
 *     is computed (or each variable field bounds-checked) before any byte is read, and a missing,
 *     extra or inconsistent byte is VSAFE_ERR_HOST_FRAME. Outputs are written only on VSAFE_OK.
 *  2. Public keys are written in the form each command uses on the wire (point form for the NIST
 *     and Brainpool curves, short form 00 20 K for X25519/Ed25519, except where a command is known
 *     to take the point form), and a received public key is checked against the same form.
 *  3. Shared secrets and host private keys are wiped (vsafe_wipe) on every exit path of the
 *     function that holds them; so are response buffers that held a secret. */
#include <string.h>

#include "common/bytes.h"
#include "common/secure.h"
#include "services.h"

/* ---- Curves and hashes ---- */

typedef struct {
    const char *name;
    uint8_t id[SVC_CURVE_ID_MAX];
    uint8_t id_len;
    uint8_t key;    /* coordinate / private key size */
    uint8_t pub;    /* API form: X||Y or K */
    uint8_t sig;    /* R||S, 0 = no signatures */
    uint8_t secret; /* 0 = no ECDH */
} curve_t;

static const curve_t CURVES[VSAFE_CURVE_COUNT] = {
    [VSAFE_CURVE_P256] = {"NIST P-256", {0x00, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07}, 10, 32, 64, 64, 32},
    [VSAFE_CURVE_P384] = {"NIST P-384", {0x00, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22}, 7, 48, 96, 96, 48},
    [VSAFE_CURVE_P521] = {"NIST P-521", {0x00, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23}, 7, 66, 132, 132, 66},
    [VSAFE_CURVE_BP256] = {"Brainpool P-256r1",
                           {0x00, 0x09, 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07}, 11, 32, 64, 64, 32},
    [VSAFE_CURVE_BP384] = {"Brainpool P-384r1",
                           {0x00, 0x09, 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B}, 11, 48, 96, 96, 48},
    [VSAFE_CURVE_BP512] = {"Brainpool P-512r1",
                           {0x00, 0x09, 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0D}, 11, 64, 128, 128, 64},
    [VSAFE_CURVE_X25519] = {"X25519", {0x00, 0x03, 0x2B, 0x65, 0x6E}, 5, 32, 32, 0, 32},
    [VSAFE_CURVE_ED25519] = {"Ed25519", {0x00, 0x03, 0x2B, 0x65, 0x70}, 5, 32, 32, 64, 0},
};

static const curve_t *curve_get(unsigned curve)
{
    return curve < VSAFE_CURVE_COUNT && CURVES[curve].name != NULL ? &CURVES[curve] : NULL;
}

size_t vsafe_host_curve_key_size(unsigned curve)
{
    const curve_t *c = curve_get(curve);
    return c != NULL ? c->key : 0u;
}

size_t vsafe_host_curve_pub_size(unsigned curve)
{
    const curve_t *c = curve_get(curve);
    return c != NULL ? c->pub : 0u;
}

size_t vsafe_host_curve_sig_size(unsigned curve)
{
    const curve_t *c = curve_get(curve);
    return c != NULL ? c->sig : 0u;
}

size_t vsafe_host_curve_secret_size(unsigned curve)
{
    const curve_t *c = curve_get(curve);
    return c != NULL ? c->secret : 0u;
}

const char *vsafe_host_curve_name(unsigned curve)
{
    const curve_t *c = curve_get(curve);
    return c != NULL ? c->name : NULL;
}

const uint8_t *svc_curve_id(unsigned curve, size_t *len)
{
    const curve_t *c = curve_get(curve);
    *len = c != NULL ? c->id_len : 0u;
    return c != NULL ? c->id : NULL;
}

unsigned svc_curve_from_id(const uint8_t *id, size_t len)
{
    for (unsigned i = 1; i < VSAFE_CURVE_COUNT; i++) {
        if (CURVES[i].id_len == len && memcmp(CURVES[i].id, id, len) == 0) {
            return i;
        }
    }
    return VSAFE_CURVE_NONE;
}

int svc_curve_is_weierstrass(unsigned curve)
{
    return curve >= VSAFE_CURVE_P256 && curve <= VSAFE_CURVE_BP512;
}

typedef struct {
    const char *name;
    uint8_t id[SVC_HASH_ID_LEN];
    uint8_t size;
} hash_t;

#define NIST_HASH(last) {0x00, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, (last)}
static const hash_t HASHES[] = {
    [VSAFE_HASH_SHA256] = {"SHA-256", NIST_HASH(0x01), 32},   [VSAFE_HASH_SHA384] = {"SHA-384", NIST_HASH(0x02), 48},
    [VSAFE_HASH_SHA512] = {"SHA-512", NIST_HASH(0x03), 64},   [VSAFE_HASH_SHA3_256] = {"SHA3-256", NIST_HASH(0x08), 32},
    [VSAFE_HASH_SHA3_384] = {"SHA3-384", NIST_HASH(0x09), 48}, [VSAFE_HASH_SHA3_512] = {"SHA3-512", NIST_HASH(0x0A), 64},
};

static const hash_t *hash_get(unsigned alg)
{
    return alg < sizeof HASHES / sizeof HASHES[0] && HASHES[alg].name != NULL ? &HASHES[alg] : NULL;
}

size_t vsafe_host_hash_size(unsigned alg)
{
    const hash_t *x = hash_get(alg);
    return x != NULL ? x->size : 0u;
}

const char *vsafe_host_hash_name(unsigned alg)
{
    const hash_t *x = hash_get(alg);
    return x != NULL ? x->name : NULL;
}

const uint8_t *svc_hash_id(unsigned alg)
{
    const hash_t *x = hash_get(alg);
    return x != NULL ? x->id : NULL;
}

const uint8_t svc_kek_salt[32] = {0xE4, 0x5D, 0x4C, 0xFD, 0x20, 0x15, 0xDE, 0x9E, 0x0A, 0xA9, 0xA9,
                                  0xF6, 0xA4, 0x9F, 0x45, 0x10, 0x0F, 0x99, 0xD9, 0x63, 0x3F, 0xB1,
                                  0xB2, 0xDD, 0xDB, 0xEE, 0xE6, 0x75, 0xD5, 0x4D, 0xE2, 0x5B};

/* ---- Wire forms ---- */

size_t svc_pub_encode(unsigned curve, int force_point, const uint8_t *pub, size_t pub_len, uint8_t *out,
                      size_t out_cap)
{
    const curve_t *c = curve_get(curve);
    if (c == NULL || pub == NULL || pub_len != c->pub) {
        return 0;
    }
    if (svc_curve_is_weierstrass(curve) || force_point) {
        size_t k = c->key;
        size_t n = 1u + 2u * (2u + k);
        if (!svc_curve_is_weierstrass(curve) || n > out_cap) {
            return 0; /* the point form exists only for X||Y keys */
        }
        out[0] = 0x04;
        vsafe_put_be16(out + 1, (uint16_t)k);
        memcpy(out + 3, pub, k);
        vsafe_put_be16(out + 3 + k, (uint16_t)k);
        memcpy(out + 5 + k, pub + k, k);
        return n;
    }
    if (2u + pub_len > out_cap) {
        return 0;
    }
    vsafe_put_be16(out, (uint16_t)pub_len);
    memcpy(out + 2, pub, pub_len);
    return 2u + pub_len;
}

/* Parses a public key of curve in its wire form at p[0..n) and requires it to fill it exactly.
 * point: 04 00 LL X 00 LL Y; otherwise 00 20 K. pub receives X||Y or K. */
static int pub_decode(unsigned curve, int point, const uint8_t *p, size_t n, uint8_t *pub)
{
    const curve_t *c = curve_get(curve);
    if (c == NULL) {
        return VSAFE_ERR_HOST_FRAME;
    }
    size_t k = c->key;
    if (point) {
        if (n != 1u + 2u * (2u + k) || p[0] != 0x04 || vsafe_get_be16(p + 1) != k || vsafe_get_be16(p + 3 + k) != k) {
            return VSAFE_ERR_HOST_FRAME;
        }
        memcpy(pub, p + 3, k);
        memcpy(pub + k, p + 5 + k, k);
        return VSAFE_OK;
    }
    if (n != 2u + k || vsafe_get_be16(p) != k) {
        return VSAFE_ERR_HOST_FRAME;
    }
    memcpy(pub, p + 2, k);
    return VSAFE_OK;
}

size_t svc_sig_encode(const uint8_t *sig, size_t sig_len, uint8_t *out, size_t out_cap)
{
    size_t half = sig_len / 2u;
    if (sig == NULL || sig_len == 0 || sig_len % 2u != 0 || half > 255u || 4u + sig_len > out_cap) {
        return 0;
    }
    vsafe_put_be16(out, (uint16_t)half);
    memcpy(out + 2, sig, half);
    vsafe_put_be16(out + 2 + half, (uint16_t)half);
    memcpy(out + 4 + half, sig + half, half);
    return 4u + sig_len;
}

/* ---- Transfers ---- */

int svc_transfer(vsafe_host_t *h, vsafe_host_prot_t prot, int raw, const uint8_t *hdr, size_t hdr_len,
                 const uint8_t *payload, size_t payload_len, uint8_t *rsp, size_t rsp_cap, size_t *rsp_len)
{
    if (raw) {
        prot = VSAFE_HOST_PROT_NONE;
    } else if (prot != VSAFE_HOST_PROT_TABLE && prot != VSAFE_HOST_PROT_NONE && prot != VSAFE_HOST_PROT_MAC) {
        return VSAFE_ERR_ARGUMENT;
    }
    return host_transfer(h, prot, hdr, hdr_len, payload, payload_len, rsp, rsp_cap, rsp_len);
}

int svc_status_only(vsafe_host_t *h, vsafe_host_prot_t prot, int raw, const uint8_t *hdr, size_t hdr_len,
                    const uint8_t *payload, size_t payload_len)
{
    uint8_t rsp[16];
    size_t n = 0;
    int rc = svc_transfer(h, prot, raw, hdr, hdr_len, payload, payload_len, rsp, sizeof rsp, &n);
    if (rc == VSAFE_OK && n != 0) {
        rc = VSAFE_ERR_HOST_FRAME;
    }
    return rc;
}

const vsafe_crypto_t *svc_crypto(vsafe_host_t *h)
{
    return host_session_crypto(&h->session);
}

/* ---- Private key table ---- */

int vsafe_host_privkey_table(vsafe_host_t *h, vsafe_host_privkey_t *slots, size_t cap, size_t *count,
                             uint16_t *global_usage_limit)
{
    if (h == NULL || count == NULL || (slots == NULL && cap > 0)) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {VSAFE_SE_CMD_QUERY}, tag = SVC_TAG_PRIVATE_KEY_TABLE;
    uint8_t buf[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = svc_transfer(h, VSAFE_HOST_PROT_NONE, 1, hdr, 1, &tag, 1, buf, sizeof buf, &n);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (n < 4) {
        return VSAFE_ERR_HOST_FRAME;
    }
    size_t total = buf[0];
    size_t i = 4;
    for (size_t s = 0; s < total; s++) {
        if (i + 4 > n) {
            return VSAFE_ERR_HOST_FRAME;
        }
        vsafe_host_privkey_t k = {.slot = buf[i], .present = buf[i + 1] == 1};
        if (buf[i + 1] > 1) {
            return VSAFE_ERR_HOST_FRAME;
        }
        k.mode = (uint16_t)(buf[i + 2] | buf[i + 3] << 8);
        i += 4;
        if (k.present) {
            /* CURVE_ID: 00 LL then LL <= 9 bytes */
            if (i + 2 > n || buf[i] != 0x00 || buf[i + 1] > SVC_CURVE_ID_MAX - 2u || i + 2u + buf[i + 1] > n) {
                return VSAFE_ERR_HOST_FRAME;
            }
            size_t id_len = 2u + buf[i + 1];
            k.curve = svc_curve_from_id(buf + i, id_len);
            if (k.curve == VSAFE_CURVE_NONE) {
                return VSAFE_ERR_HOST_FRAME;
            }
            i += id_len;
        }
        if (s < cap) {
            slots[s] = k;
        }
    }
    if (i != n) {
        return VSAFE_ERR_HOST_FRAME;
    }
    *count = total;
    if (global_usage_limit != NULL) {
        *global_usage_limit = vsafe_get_be16(buf + 2);
    }
    return total > cap ? VSAFE_ERR_BUFFER_TOO_SMALL : VSAFE_OK;
}

/* ---- Generate key, ECDHE ---- */

int vsafe_host_generate_key(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, unsigned curve,
                            uint16_t usage_limit, uint8_t *pub, size_t pub_cap, size_t *pub_len)
{
    size_t id_len = 0;
    const uint8_t *id = svc_curve_id(curve, &id_len);
    if (h == NULL || id == NULL || pub == NULL || pub_len == NULL || pub_cap < vsafe_host_curve_pub_size(curve)) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {SVC_CMD_GENERATE_KEY};
    uint8_t p[6 + SVC_CURVE_ID_MAX] = {SVC_TAG_PRIVATE_KEY_SLOT, slot, 0, 0, 0x00, 0x00};
    vsafe_put_be16(p + 2, usage_limit);
    memcpy(p + 6, id, id_len);
    uint8_t rsp[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = svc_transfer(h, prot, 0, hdr, 1, p, 6 + id_len, rsp, sizeof rsp, &n);
    if (rc != VSAFE_OK) {
        return rc;
    }
    /* No CURVE_ID echo; X25519 and Ed25519 keys in the short form. */
    rc = pub_decode(curve, svc_curve_is_weierstrass(curve), rsp, n, pub);
    if (rc == VSAFE_OK) {
        *pub_len = vsafe_host_curve_pub_size(curve);
    }
    return rc;
}

int vsafe_host_generate_ecdhe(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned curve, uint8_t *pub, size_t pub_cap,
                              size_t *pub_len)
{
    size_t id_len = 0;
    const uint8_t *id = svc_curve_id(curve, &id_len);
    if (h == NULL || id == NULL || curve == VSAFE_CURVE_ED25519 || pub == NULL || pub_len == NULL ||
        pub_cap < vsafe_host_curve_pub_size(curve)) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_GENERATE_ECDHE};
    uint8_t rsp[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = svc_transfer(h, prot, 0, hdr, 2, id, id_len, rsp, sizeof rsp, &n);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (n < id_len || memcmp(rsp, id, id_len) != 0) {
        return VSAFE_ERR_HOST_FRAME;
    }
    rc = pub_decode(curve, svc_curve_is_weierstrass(curve), rsp + id_len, n - id_len, pub);
    if (rc == VSAFE_OK) {
        *pub_len = vsafe_host_curve_pub_size(curve);
    }
    return rc;
}

/* ---- Signatures ---- */

/* Parses 00 LL R 00 LL S filling p[0..n) exactly, with LL = half. */
static int sig_decode(const uint8_t *p, size_t n, size_t half, uint8_t *sig)
{
    if (half == 0 || n != 4u + 2u * half || vsafe_get_be16(p) != half || vsafe_get_be16(p + 2 + half) != half) {
        return VSAFE_ERR_HOST_FRAME;
    }
    memcpy(sig, p + 2, half);
    memcpy(sig + half, p + 4 + half, half);
    return VSAFE_OK;
}

int vsafe_host_sign(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, unsigned curve, const uint8_t *msg,
                    size_t msg_len, uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
    size_t sig_size = vsafe_host_curve_sig_size(curve);
    if (h == NULL || sig_size == 0 || msg == NULL || msg_len == 0 || msg_len > VSAFE_SE_FRAME_MAX - 4u ||
        sig == NULL || sig_len == NULL || sig_cap < sig_size) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {SVC_CMD_SIGN};
    uint8_t p[VSAFE_SE_FRAME_MAX];
    p[0] = slot;
    vsafe_put_be16(p + 1, (uint16_t)msg_len);
    memcpy(p + 3, msg, msg_len);
    uint8_t rsp[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = svc_transfer(h, prot, 0, hdr, 1, p, 3 + msg_len, rsp, sizeof rsp, &n);
    if (rc == VSAFE_OK) {
        rc = sig_decode(rsp, n, sig_size / 2u, sig);
    }
    if (rc == VSAFE_OK) {
        *sig_len = sig_size;
    }
    return rc;
}

/* VALIDITY(1): 01 valid, 00 invalid; anything else is not a validity byte. */
static int validity(int rc, const uint8_t *rsp, size_t n, int *valid)
{
    *valid = 0;
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (n != 1 || rsp[0] > 1) {
        return VSAFE_ERR_HOST_FRAME;
    }
    *valid = rsp[0];
    return VSAFE_OK;
}

int vsafe_host_verify_signature(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned curve, const uint8_t *pub,
                                size_t pub_len, unsigned eddsa_variant, const uint8_t *sig, size_t sig_len,
                                const uint8_t *msg, size_t msg_len, int *valid)
{
    if (valid != NULL) {
        *valid = 0;
    }
    size_t id_len = 0;
    const uint8_t *id = svc_curve_id(curve, &id_len);
    size_t sig_size = vsafe_host_curve_sig_size(curve);
    if (h == NULL || id == NULL || sig_size == 0 || valid == NULL || sig_len != sig_size ||
        (msg == NULL && msg_len > 0) || (curve == VSAFE_CURVE_ED25519 && eddsa_variant > 1)) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {SVC_CMD_VERIFY_SIGNATURE};
    uint8_t p[VSAFE_SE_FRAME_MAX];
    size_t i = 0;
    p[i++] = 0x00; /* subject: public key in the command */
    memcpy(p + i, id, id_len);
    i += id_len;
    size_t k = svc_pub_encode(curve, 0, pub, pub_len, p + i, sizeof p - i);
    if (k == 0) {
        return VSAFE_ERR_ARGUMENT;
    }
    i += k;
    i += svc_sig_encode(sig, sig_len, p + i, sizeof p - i);
    if (curve == VSAFE_CURVE_ED25519) {
        p[i++] = (uint8_t)eddsa_variant;
    }
    if (i + 2 + msg_len > sizeof p - 1u) {
        return VSAFE_ERR_FRAME_TOO_LONG;
    }
    vsafe_put_be16(p + i, (uint16_t)msg_len);
    i += 2;
    if (msg_len > 0) {
        memcpy(p + i, msg, msg_len);
    }
    i += msg_len;
    uint8_t rsp[16];
    size_t n = 0;
    int rc = svc_transfer(h, prot, 0, hdr, 1, p, i, rsp, sizeof rsp, &n);
    return validity(rc, rsp, n, valid);
}

int vsafe_host_establish_key(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, unsigned curve,
                             const uint8_t *peer_pub, size_t peer_len, uint8_t *secret, size_t secret_cap,
                             size_t *secret_len)
{
    size_t ss = vsafe_host_curve_secret_size(curve);
    if (h == NULL || ss == 0 || secret == NULL || secret_len == NULL || secret_cap < ss) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {SVC_CMD_ESTABLISH_KEY};
    uint8_t p[1 + SVC_PUB_WIRE_MAX];
    p[0] = slot;
    size_t k = svc_pub_encode(curve, 0, peer_pub, peer_len, p + 1, sizeof p - 1);
    if (k == 0) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t rsp[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = svc_transfer(h, prot, 0, hdr, 1, p, 1 + k, rsp, sizeof rsp, &n);
    if (rc != VSAFE_OK) {
        return rc; /* nothing was copied to rsp */
    }
    if (n != 2u + ss || vsafe_get_be16(rsp) != ss) {
        rc = VSAFE_ERR_HOST_FRAME;
    } else {
        memcpy(secret, rsp + 2, ss);
        *secret_len = ss;
    }
    vsafe_wipe(rsp, n);
    return rc;
}

int vsafe_host_decompress_key(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned curve, uint8_t prefix,
                              const uint8_t *x, size_t x_len, uint8_t *y, size_t y_cap)
{
    size_t id_len = 0;
    const uint8_t *id = svc_curve_id(curve, &id_len);
    size_t k = vsafe_host_curve_key_size(curve);
    if (h == NULL || id == NULL || !svc_curve_is_weierstrass(curve) || x == NULL || x_len != k || y == NULL ||
        y_cap < k) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_DECOMPRESS};
    uint8_t p[SVC_CURVE_ID_MAX + 1 + VSAFE_EC_MAX_KEY];
    memcpy(p, id, id_len);
    p[id_len] = prefix;
    memcpy(p + id_len + 1, x, k);
    uint8_t rsp[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = svc_transfer(h, prot, 0, hdr, 2, p, id_len + 1 + k, rsp, sizeof rsp, &n);
    if (rc == VSAFE_OK && n != k) {
        rc = VSAFE_ERR_HOST_FRAME;
    }
    if (rc == VSAFE_OK) {
        memcpy(y, rsp, k);
    }
    return rc;
}

/* ---- Generic public key slots ---- */

/* A CURVE_ID at p[*i..n): 00 LL then LL <= 9 bytes of a known curve. */
static int take_curve(const uint8_t *p, size_t n, size_t *i, unsigned *curve)
{
    if (*i + 2 > n || p[*i] != 0x00 || p[*i + 1] > SVC_CURVE_ID_MAX - 2u || *i + 2u + p[*i + 1] > n) {
        return VSAFE_ERR_HOST_FRAME;
    }
    size_t id_len = 2u + p[*i + 1];
    *curve = svc_curve_from_id(p + *i, id_len);
    if (*curve == VSAFE_CURVE_NONE) {
        return VSAFE_ERR_HOST_FRAME;
    }
    *i += id_len;
    return VSAFE_OK;
}

int vsafe_host_pubkey_table(vsafe_host_t *h, vsafe_host_pubkey_slot_t *slots, size_t cap, size_t *count)
{
    if (h == NULL || count == NULL || (slots == NULL && cap > 0)) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {VSAFE_SE_CMD_QUERY}, tag = SVC_TAG_PUBKEY_TABLE;
    uint8_t buf[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = svc_transfer(h, VSAFE_HOST_PROT_NONE, 1, hdr, 1, &tag, 1, buf, sizeof buf, &n);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (n < 1) {
        return VSAFE_ERR_HOST_FRAME;
    }
    size_t total = buf[0], i = 1;
    for (size_t s = 0; s < total; s++) {
        if (i + 4 > n || buf[i + 1] > 1) {
            return VSAFE_ERR_HOST_FRAME;
        }
        vsafe_host_pubkey_slot_t e = {.slot = buf[i], .present = buf[i + 1], .flags = {buf[i + 2], buf[i + 3]}};
        i += 4;
        if (e.present && (rc = take_curve(buf, n, &i, &e.curve)) != VSAFE_OK) {
            return rc;
        }
        if (s < cap) {
            slots[s] = e;
        }
    }
    if (i != n) {
        return VSAFE_ERR_HOST_FRAME;
    }
    *count = total;
    return total > cap ? VSAFE_ERR_BUFFER_TOO_SMALL : VSAFE_OK;
}

int vsafe_host_pubkey_slot(vsafe_host_t *h, uint8_t slot, vsafe_host_pubkey_slot_t *out)
{
    if (h == NULL || out == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {VSAFE_SE_CMD_QUERY}, q[2] = {SVC_TAG_PUBKEY_SLOT, slot};
    uint8_t buf[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = svc_transfer(h, VSAFE_HOST_PROT_NONE, 1, hdr, 1, q, 2, buf, sizeof buf, &n);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (n < 3 || buf[0] > 1) {
        return VSAFE_ERR_HOST_FRAME;
    }
    vsafe_host_pubkey_slot_t e = {.slot = slot, .present = buf[0], .flags = {buf[1], buf[2]}};
    size_t i = 3;
    if (e.present) {
        if ((rc = take_curve(buf, n, &i, &e.curve)) != VSAFE_OK) {
            return rc;
        }
        /* NIST/Brainpool: point form; Ed25519: short form; X25519: either (STSELib reads it as a point). */
        int point = svc_curve_is_weierstrass(e.curve) || (e.curve == VSAFE_CURVE_X25519 && i < n && buf[i] == 0x04);
        if (point && e.curve == VSAFE_CURVE_X25519) {
            if (n - i != 1u + 2u * 34u || buf[i + 1] != 0x00 || buf[i + 2] != 0x20 || buf[i + 35] != 0x00 ||
                buf[i + 36] != 0x20) {
                return VSAFE_ERR_HOST_FRAME;
            }
            memcpy(e.pub, buf + i + 3, 32);
        } else if ((rc = pub_decode(e.curve, point, buf + i, n - i, e.pub)) != VSAFE_OK) {
            return rc;
        }
        e.pub_len = vsafe_host_curve_pub_size(e.curve);
    } else if (n != 3) {
        return VSAFE_ERR_HOST_FRAME;
    }
    *out = e;
    return VSAFE_OK;
}

int vsafe_host_write_pubkey(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, unsigned curve,
                            const uint8_t *pub, size_t pub_len)
{
    size_t id_len = 0;
    const uint8_t *id = svc_curve_id(curve, &id_len);
    if (h == NULL || id == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_WRITE_PUBKEY};
    uint8_t p[1 + SVC_CURVE_ID_MAX + SVC_PUB_WIRE_MAX];
    p[0] = slot;
    memcpy(p + 1, id, id_len);
    size_t k = svc_pub_encode(curve, 0, pub, pub_len, p + 1 + id_len, sizeof p - 1 - id_len);
    if (k == 0) {
        return VSAFE_ERR_ARGUMENT;
    }
    return svc_status_only(h, prot, 0, hdr, 2, p, 1 + id_len + k);
}

int vsafe_host_put_pubkey_flags(vsafe_host_t *h, uint8_t slot, const uint8_t flags[2])
{
    if (h == NULL || flags == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {VSAFE_SE_CMD_PUT_ATTRIBUTE};
    const uint8_t p[4] = {SVC_TAG_PUBKEY_FLAGS, slot, flags[0], flags[1]};
    return svc_status_only(h, VSAFE_HOST_PROT_NONE, 1, hdr, 1, p, sizeof p);
}

/* ---- Entity authentication ---- */

int vsafe_host_entity_challenge(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t challenge[16])
{
    if (h == NULL || challenge == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_ENTITY_CHALLENGE};
    uint8_t rsp[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = svc_transfer(h, prot, 0, hdr, 2, NULL, 0, rsp, sizeof rsp, &n);
    if (rc == VSAFE_OK && n != 16) {
        rc = VSAFE_ERR_HOST_FRAME;
    }
    if (rc == VSAFE_OK) {
        memcpy(challenge, rsp, 16);
    }
    return rc;
}

int vsafe_host_entity_verify(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, const uint8_t *sig,
                             size_t sig_len, int *valid)
{
    if (valid != NULL) {
        *valid = 0;
    }
    if (h == NULL || valid == NULL || sig == NULL || sig_len == 0 || sig_len % 2u != 0 ||
        sig_len > VSAFE_EC_MAX_SIG) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_ENTITY_VERIFY};
    uint8_t p[2 + 4 + VSAFE_EC_MAX_SIG] = {0x00, slot};
    size_t k = svc_sig_encode(sig, sig_len, p + 2, sizeof p - 2);
    uint8_t rsp[16];
    size_t n = 0;
    int rc = svc_transfer(h, prot, 0, hdr, 2, p, 2 + k, rsp, sizeof rsp, &n);
    return validity(rc, rsp, n, valid);
}

/* ---- ECDHE, shared by the KEK session and symmetric key establishment ---- */

int svc_ecdhe(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned curve, svc_ecdhe_t *e)
{
    uint8_t priv[VSAFE_EC_MAX_KEY];
    size_t k = vsafe_host_curve_key_size(curve);
    memset(e, 0, sizeof *e);
    e->curve = curve;
    if (vsafe_host_curve_secret_size(curve) == 0) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = vsafe_host_generate_ecdhe(h, prot, curve, e->dev_pub, sizeof e->dev_pub, &e->pub_len);
    if (rc != VSAFE_OK) {
        return rc;
    }
    const vsafe_crypto_t *c = svc_crypto(h);
    rc = VSAFE_ERR_CRYPTO;
    if (c != NULL && c->ec_keygen != NULL && c->ec_ecdh != NULL &&
        c->ec_keygen(c->ctx, curve, priv, e->host_pub) == VSAFE_OK) {
        rc = c->ec_ecdh(c->ctx, curve, priv, e->dev_pub, e->secret);
        if (rc == VSAFE_ERR_INVALID_PUBKEY) {
            rc = VSAFE_ERR_HOST_FRAME; /* the device sent a key that is not on its curve */
        } else if (rc != VSAFE_OK) {
            rc = VSAFE_ERR_CRYPTO;
        }
    }
    e->secret_len = vsafe_host_curve_secret_size(curve);
    vsafe_wipe(priv, k);
    if (rc != VSAFE_OK) {
        vsafe_wipe(e->secret, sizeof e->secret);
    }
    return rc;
}

int svc_ecdhe_payload(const svc_ecdhe_t *e, uint8_t alg, const vsafe_host_auth_t *auth, uint8_t *out,
                      size_t out_cap, size_t *len)
{
    size_t id_len = 0;
    const uint8_t *id = svc_curve_id(e->curve, &id_len);
    if (id == NULL || out_cap < id_len) {
        return VSAFE_ERR_ARGUMENT;
    }
    memcpy(out, id, id_len);
    size_t k = svc_pub_encode(e->curve, 0, e->host_pub, e->pub_len, out + id_len, out_cap - id_len);
    size_t i = id_len + k;
    if (k == 0 || i + 1 > out_cap) {
        return VSAFE_ERR_ARGUMENT;
    }
    out[i++] = alg;
    if (auth != NULL) {
        const uint8_t *hid = svc_hash_id(auth->hash);
        if (auth->sign == NULL || (!auth->ed25519 && hid == NULL)) {
            return VSAFE_ERR_ARGUMENT;
        }
        /* TBS = CURVE_ID || host_pub || device_pub, each key in its wire form */
        uint8_t tbs[SVC_CURVE_ID_MAX + 2 * SVC_PUB_WIRE_MAX];
        memcpy(tbs, out, i - 1);
        size_t d = svc_pub_encode(e->curve, 0, e->dev_pub, e->pub_len, tbs + i - 1, sizeof tbs - (i - 1));
        uint8_t sig[VSAFE_EC_MAX_SIG];
        size_t sig_len = 0;
        int rc = auth->sign(auth->ctx, tbs, i - 1 + d, sig, sizeof sig, &sig_len);
        if (rc != VSAFE_OK) {
            return rc;
        }
        size_t need = 2u + (auth->ed25519 ? 2u : SVC_HASH_ID_LEN) + 4u + sig_len;
        if (sig_len == 0 || sig_len % 2u != 0 || sig_len > sizeof sig || i + need > out_cap) {
            return VSAFE_ERR_ARGUMENT;
        }
        out[i++] = 0x00;
        out[i++] = auth->sig_slot;
        if (auth->ed25519) {
            out[i++] = 0x00;
            out[i++] = 0x00;
        } else {
            memcpy(out + i, hid, SVC_HASH_ID_LEN);
            i += SVC_HASH_ID_LEN;
        }
        i += svc_sig_encode(sig, sig_len, out + i, out_cap - i);
    }
    *len = i;
    return VSAFE_OK;
}
