/* Host library, key services: what keys.c, symkeys.c and services.c share (API layer, beside
 * host.c). The wire encodings of curves, public keys, signatures and hash identifiers, the one
 * command helper every key-service command goes through, and the host half of an ECDHE exchange.
 * Not installed. */
#ifndef VSAFE_HOST_SERVICES_H
#define VSAFE_HOST_SERVICES_H

#include <stddef.h>
#include <stdint.h>

#include "host_internal.h"

/* Command codes and subjects of the key services (bytes on the wire). */
enum {
    SVC_CMD_GENERATE_MAC = 0x09,
    SVC_CMD_VERIFY_MAC = 0x0A,
    SVC_CMD_DELETE = 0x0C,
    SVC_CMD_WRAP = 0x0E,
    SVC_CMD_UNWRAP = 0x0F,
    SVC_CMD_GENERATE_KEY = 0x11,
    SVC_CMD_SIGN = 0x16,
    SVC_CMD_VERIFY_SIGNATURE = 0x17,
    SVC_CMD_ESTABLISH_KEY = 0x18,
    SVC_CMD_ENCRYPT = 0x1B,
    SVC_CMD_DECRYPT = 0x1C
};
enum {
    SVC_EXT_HASH_START = 0x00,
    SVC_EXT_HASH_PROCESS = 0x01,
    SVC_EXT_HASH_FINISH = 0x02,
    SVC_EXT_START_KEK = 0x03,
    SVC_EXT_ESTABLISH_SYMKEYS = 0x04,
    SVC_EXT_CONFIRM_SYMKEYS = 0x05,
    SVC_EXT_STOP_KEK = 0x06,
    SVC_EXT_WRITE_SYMKEY_WRAPPED = 0x09,
    SVC_EXT_WRITE_PUBKEY = 0x0A,
    SVC_EXT_GENERATE_ECDHE = 0x0B,
    SVC_EXT_ENTITY_CHALLENGE = 0x0E,
    SVC_EXT_ENTITY_VERIFY = 0x0F,
    SVC_EXT_DERIVE = 0x10,
    SVC_EXT_START_ENCRYPT = 0x11,
    SVC_EXT_PROCESS_ENCRYPT = 0x12,
    SVC_EXT_FINISH_ENCRYPT = 0x13,
    SVC_EXT_START_DECRYPT = 0x14,
    SVC_EXT_PROCESS_DECRYPT = 0x15,
    SVC_EXT_FINISH_DECRYPT = 0x16,
    SVC_EXT_WRITE_SYMKEY_PLAIN = 0x17,
    SVC_EXT_ERASE_SYMKEY = 0x19,
    SVC_EXT_DECOMPRESS = 0x1A
};
enum {
    SVC_TAG_LOCAL_ENVELOPE = 0x07,
    SVC_TAG_PASSWORD = 0x09,
    SVC_TAG_PRIVATE_KEY_SLOT = 0x13,
    SVC_TAG_PRIVATE_KEY_TABLE = 0x14,
    SVC_TAG_SYMKEY_TABLE = 0x23,
    SVC_TAG_PUBKEY_TABLE = 0x48,
    SVC_TAG_SYMKEY_CTRL = 0x4B,
    SVC_TAG_PUBKEY_SLOT = 0x4C,
    SVC_TAG_PUBKEY_FLAGS = 0x4D
};

#define SVC_CURVE_ID_MAX 11u /* 00 LL + at most 9 OID bytes */
#define SVC_HASH_ID_LEN 11u
/* Largest public key on the wire: 04 00 LL X 00 LL Y for P-521. */
#define SVC_PUB_WIRE_MAX (1u + 2u * (2u + VSAFE_EC_MAX_KEY))

/* The 32-byte HKDF salt of the KEK and key-establishment derivations. */
extern const uint8_t svc_kek_salt[32];

/* CURVE_ID bytes of curve (NULL for an unknown curve), and the curve of a CURVE_ID (exact length
 * and value; VSAFE_CURVE_NONE if unknown). */
const uint8_t *svc_curve_id(unsigned curve, size_t *len);
unsigned svc_curve_from_id(const uint8_t *id, size_t len);
int svc_curve_is_weierstrass(unsigned curve);

/* The 11-byte identifier of enum vsafe_hash; NULL if unknown. */
const uint8_t *svc_hash_id(unsigned alg);

/* Public key (X||Y or K) in its wire form: the point form 04 00 LL X 00 LL Y for the NIST and
 * Brainpool curves, or when force_point is set; otherwise the short form 00 20 K.
 * Returns the bytes written, 0 when pub_len is not the curve's or out_cap too small. */
size_t svc_pub_encode(unsigned curve, int force_point, const uint8_t *pub, size_t pub_len, uint8_t *out,
                      size_t out_cap);
/* Signature R||S in its wire form 00 LL R 00 LL S (sig_len even, 2..2*255). 0 on a bad length. */
size_t svc_sig_encode(const uint8_t *sig, size_t sig_len, uint8_t *out, size_t out_cap);

/* One key-service command: hdr (1 or 2 bytes) + payload, through the command table (prot) or,
 * with raw set, always plain. Returns host_transfer's status; the response payload is in rsp. */
VSAFE_MUST_CHECK int svc_transfer(vsafe_host_t *h, vsafe_host_prot_t prot, int raw, const uint8_t *hdr,
                                  size_t hdr_len, const uint8_t *payload, size_t payload_len, uint8_t *rsp,
                                  size_t rsp_cap, size_t *rsp_len);
/* As svc_transfer for commands whose response is STATUS only (a payload is VSAFE_ERR_HOST_FRAME). */
VSAFE_MUST_CHECK int svc_status_only(vsafe_host_t *h, vsafe_host_prot_t prot, int raw, const uint8_t *hdr,
                                     size_t hdr_len, const uint8_t *payload, size_t payload_len);

/* The crypto port of the handle (OpenSSL), for host-side derivations; NULL if it cannot be set up. */
const vsafe_crypto_t *svc_crypto(vsafe_host_t *h);

/* Host half of an ECDHE exchange on curve: Generate ECDHE (1F 0B) on the device, a host key pair,
 * the shared secret. host_pub/dev_pub receive the API forms (X||Y or K, *pub_len bytes each),
 * secret the curve's shared-secret size (*secret_len). The host private key is wiped before return. */
typedef struct {
    unsigned curve;
    uint8_t host_pub[VSAFE_EC_MAX_PUB];
    uint8_t dev_pub[VSAFE_EC_MAX_PUB];
    size_t pub_len;
    uint8_t secret[VSAFE_EC_MAX_KEY];
    size_t secret_len;
} svc_ecdhe_t;
VSAFE_MUST_CHECK int svc_ecdhe(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned curve, svc_ecdhe_t *e);

/* Writes CURVE_ID || host public key (wire form) || alg, then, when auth is set, 00 SIG_SLOT HASH_ID
 * (or 00 00 for Ed25519) 00 LL R 00 LL S with the signature over CURVE_ID || host_pub || dev_pub.
 * Returns the bytes written in *len. VSAFE_ERR_ARGUMENT, the signer's status. */
VSAFE_MUST_CHECK int svc_ecdhe_payload(const svc_ecdhe_t *e, uint8_t alg, const vsafe_host_auth_t *auth,
                                       uint8_t *out, size_t out_cap, size_t *len);

#endif
