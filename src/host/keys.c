/* Host library, key services part 1 (services.h): the shared wire encodings and command helper,
 * private key slots (table, Generate key, ECDHE, sign, verify, ECDH, decompress), generic public
 * key slots and entity authentication.
 *
 * Invariants:
 *  1. Every response is parsed with the cursor (common/cursor.h) against the exact layout its
 *     command returns, ending at its last byte: a missing, extra or inconsistent byte is
 *     VSAFE_ERR_HOST_FRAME. Outputs are written only on VSAFE_OK.
 *  2. Public keys are written in the form each command uses on the wire (point form for the NIST
 *     and Brainpool curves, short form 00 20 K for X25519/Ed25519, except where a command is known
 *     to take the point form), and a received public key is checked against the same form.
 *  3. Shared secrets and host private keys are wiped (vsafe_wipe) on every exit path of the
 *     function that holds them; so are response buffers that held a secret. */
#include <string.h>

#include "common/bytes.h"
#include "common/cursor.h"
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

/* Takes a public key of curve in its wire form from the cursor. point: 04 00 LL X 00 LL Y;
 * otherwise 00 20 K. pub receives X||Y or K. */
static int take_pub(vsafe_cursor_t *c, unsigned curve, int point, uint8_t *pub)
{
    const curve_t *cv = curve_get(curve);
    const uint8_t *x = NULL, *y = NULL;
    uint8_t form = 0;
    uint16_t lx = 0, ly = 0;
    if (cv == NULL) {
        return VSAFE_ERR_HOST_FRAME;
    }
    size_t k = cv->key;
    if (point) {
        if (!vsafe_cursor_u8(c, &form) || form != 0x04 || !vsafe_cursor_be16(c, &lx) || lx != k ||
            !vsafe_cursor_bytes(c, k, &x) || !vsafe_cursor_be16(c, &ly) || ly != k || !vsafe_cursor_bytes(c, k, &y)) {
            return VSAFE_ERR_HOST_FRAME;
        }
        memcpy(pub, x, k);
        memcpy(pub + k, y, k);
        return VSAFE_OK;
    }
    if (!vsafe_cursor_be16(c, &lx) || lx != k || !vsafe_cursor_bytes(c, k, &x)) {
        return VSAFE_ERR_HOST_FRAME;
    }
    memcpy(pub, x, k);
    return VSAFE_OK;
}

/* A public key that must fill p[0..n) exactly. */
static int pub_decode(unsigned curve, int point, const uint8_t *p, size_t n, uint8_t *pub)
{
    uint8_t tmp[VSAFE_EC_MAX_PUB];
    vsafe_cursor_t c = vsafe_cursor(p, n);
    if (take_pub(&c, curve, point, tmp) != VSAFE_OK || !vsafe_cursor_at_end(&c)) {
        return VSAFE_ERR_HOST_FRAME;
    }
    memcpy(pub, tmp, vsafe_host_curve_pub_size(curve));
    return VSAFE_OK;
}

/* Takes a CURVE_ID: 00 LL then LL <= 9 bytes, of a curve the library knows. */
static int take_curve(vsafe_cursor_t *c, unsigned *curve)
{
    uint8_t hi = 0, ll = 0;
    const uint8_t *p = NULL;
    uint8_t id[SVC_CURVE_ID_MAX];
    if (!vsafe_cursor_u8(c, &hi) || hi != 0x00 || !vsafe_cursor_u8(c, &ll) || ll > SVC_CURVE_ID_MAX - 2u ||
        !vsafe_cursor_bytes(c, ll, &p)) {
        return VSAFE_ERR_HOST_FRAME;
    }
    id[0] = hi;
    id[1] = ll;
    memcpy(id + 2, p, ll);
    *curve = svc_curve_from_id(id, 2u + ll);
    return *curve == VSAFE_CURVE_NONE ? VSAFE_ERR_HOST_FRAME : VSAFE_OK;
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
    vsafe_cursor_t c = vsafe_cursor(buf, n);
    uint8_t total = 0, byte1 = 0;
    uint16_t global = 0;
    if (!vsafe_cursor_u8(&c, &total) || !vsafe_cursor_u8(&c, &byte1) || !vsafe_cursor_be16(&c, &global)) {
        return VSAFE_ERR_HOST_FRAME;
    }
    for (size_t s = 0; s < total; s++) {
        vsafe_host_privkey_t k = {0};
        uint8_t presence = 0;
        uint16_t mode = 0;
        if (!vsafe_cursor_u8(&c, &k.slot) || !vsafe_cursor_u8(&c, &presence) || presence > 1 ||
            !vsafe_cursor_be16(&c, &mode)) {
            return VSAFE_ERR_HOST_FRAME;
        }
        k.present = presence;
        k.mode = (uint16_t)(mode >> 8 | (mode & 0xFFu) << 8); /* byte 0 low, byte 1 high */
        if (k.present && (rc = take_curve(&c, &k.curve)) != VSAFE_OK) {
            return rc;
        }
        if (s < cap) {
            slots[s] = k;
        }
    }
    if (!vsafe_cursor_at_end(&c)) {
        return VSAFE_ERR_HOST_FRAME;
    }
    *count = total;
    if (global_usage_limit != NULL) {
        *global_usage_limit = global;
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
    vsafe_cursor_t c = vsafe_cursor(rsp, n);
    const uint8_t *echo = NULL;
    if (!vsafe_cursor_bytes(&c, id_len, &echo) || memcmp(echo, id, id_len) != 0) {
        return VSAFE_ERR_HOST_FRAME;
    }
    const uint8_t *key = NULL;
    size_t key_n = 0;
    vsafe_cursor_rest(&c, &key, &key_n);
    rc = pub_decode(curve, svc_curve_is_weierstrass(curve), key, key_n, pub);
    if (rc == VSAFE_OK) {
        *pub_len = vsafe_host_curve_pub_size(curve);
    }
    return rc;
}

/* ---- Signatures ---- */

/* Parses 00 LL R 00 LL S filling p[0..n) exactly, with LL = half. */
static int sig_decode(const uint8_t *p, size_t n, size_t half, uint8_t *sig)
{
    vsafe_cursor_t c = vsafe_cursor(p, n);
    const uint8_t *r = NULL, *s = NULL;
    uint16_t lr = 0, ls = 0;
    if (half == 0 || !vsafe_cursor_be16(&c, &lr) || lr != half || !vsafe_cursor_bytes(&c, half, &r) ||
        !vsafe_cursor_be16(&c, &ls) || ls != half || !vsafe_cursor_bytes(&c, half, &s) || !vsafe_cursor_at_end(&c)) {
        return VSAFE_ERR_HOST_FRAME;
    }
    memcpy(sig, r, half);
    memcpy(sig + half, s, half);
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
    vsafe_cursor_t c = vsafe_cursor(rsp, n);
    const uint8_t *x = NULL;
    uint16_t ll = 0;
    if (!vsafe_cursor_be16(&c, &ll) || ll != ss || !vsafe_cursor_bytes(&c, ss, &x) || !vsafe_cursor_at_end(&c)) {
        rc = VSAFE_ERR_HOST_FRAME;
    } else {
        memcpy(secret, x, ss);
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
    vsafe_cursor_t c = vsafe_cursor(buf, n);
    uint8_t total = 0;
    if (!vsafe_cursor_u8(&c, &total)) {
        return VSAFE_ERR_HOST_FRAME;
    }
    for (size_t s = 0; s < total; s++) {
        vsafe_host_pubkey_slot_t e = {0};
        uint8_t presence = 0;
        const uint8_t *flags = NULL;
        if (!vsafe_cursor_u8(&c, &e.slot) || !vsafe_cursor_u8(&c, &presence) || presence > 1 ||
            !vsafe_cursor_bytes(&c, 2, &flags)) {
            return VSAFE_ERR_HOST_FRAME;
        }
        e.present = presence;
        memcpy(e.flags, flags, 2);
        if (e.present && (rc = take_curve(&c, &e.curve)) != VSAFE_OK) {
            return rc;
        }
        if (s < cap) {
            slots[s] = e;
        }
    }
    if (!vsafe_cursor_at_end(&c)) {
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
    vsafe_cursor_t c = vsafe_cursor(buf, n);
    vsafe_host_pubkey_slot_t e = {.slot = slot};
    uint8_t presence = 0, form = 0;
    const uint8_t *flags = NULL;
    if (!vsafe_cursor_u8(&c, &presence) || presence > 1 || !vsafe_cursor_bytes(&c, 2, &flags)) {
        return VSAFE_ERR_HOST_FRAME;
    }
    e.present = presence;
    memcpy(e.flags, flags, 2);
    if (e.present) {
        if ((rc = take_curve(&c, &e.curve)) != VSAFE_OK) {
            return rc;
        }
        /* NIST/Brainpool: point form; Ed25519: short form; X25519: either (STSELib reads a point). */
        int point = svc_curve_is_weierstrass(e.curve) ||
                    (e.curve == VSAFE_CURVE_X25519 && vsafe_cursor_peek_u8(&c, &form) && form == 0x04);
        if (point && e.curve == VSAFE_CURVE_X25519) {
            const uint8_t *k = NULL, *y = NULL;
            uint16_t lk = 0, ly = 0;
            if (!vsafe_cursor_u8(&c, &form) || !vsafe_cursor_be16(&c, &lk) || lk != 32 ||
                !vsafe_cursor_bytes(&c, 32, &k) || !vsafe_cursor_be16(&c, &ly) || ly != 32 ||
                !vsafe_cursor_bytes(&c, 32, &y)) {
                return VSAFE_ERR_HOST_FRAME;
            }
            memcpy(e.pub, k, 32);
        } else if ((rc = take_pub(&c, e.curve, point, e.pub)) != VSAFE_OK) {
            return rc;
        }
        e.pub_len = vsafe_host_curve_pub_size(e.curve);
    }
    if (!vsafe_cursor_at_end(&c)) {
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
