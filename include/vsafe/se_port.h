/* The device core's only way out: NVM, crypto and randomness, clock.
 *
 * The core (src/se) and the MCU model (src/mcu) never allocate and never do I/O; everything
 * they need from the world comes through these tables. Implementations: src/port/posix
 * (durable file NVM, OpenSSL crypto, OS randomness and clock) and src/port/sim (RAM NVM with
 * power-cut and torn-write injection). */
#ifndef VSAFE_SE_PORT_H
#define VSAFE_SE_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "vsafe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- NVM ---- */
typedef struct {
    uint32_t prog_unit;  /* program granularity in bytes (power of two); programs are whole,
                            unit-aligned units */
    uint32_t page_size;  /* erase unit in bytes (multiple of prog_unit) */
    uint32_t page_count;
    uint8_t erased;      /* value of an erased byte (0xFF on flash) */
    uint8_t may_reorder; /* programs issued between two syncs may reach NVM in any order */
} vsafe_nvm_geometry_t;

typedef struct vsafe_nvm {
    void *ctx;
    vsafe_nvm_geometry_t geo;
    /* Each returns 0 or a negative status (VSAFE_ERR_NVM_*, VSAFE_ERR_POWER_LOSS, VSAFE_ERR_IO).
     * prog writes whole program units to erased memory; erase sets a page to the erased value;
     * sync returns once every earlier program and erase is durable. */
    int (*read)(void *ctx, uint32_t addr, uint8_t *buf, size_t len);
    int (*prog)(void *ctx, uint32_t addr, const uint8_t *buf, size_t len);
    int (*erase)(void *ctx, uint32_t page);
    int (*sync)(void *ctx);
} vsafe_nvm_t;

/* ---- Crypto and randomness ---- */
typedef struct {
    const uint8_t *p;
    size_t len;
} vsafe_iov_t;

/* Key slots: a key is loaded once and its cipher/MAC contexts are reused for every operation. */
enum {
    VSAFE_KEY_HOST_MAC = 0,
    VSAFE_KEY_HOST_CIPHER = 1,
    VSAFE_KEY_SCRATCH0 = 2,
    VSAFE_KEY_SCRATCH1 = 3,
    VSAFE_KEY_SLOTS = 4
};

typedef struct vsafe_crypto {
    void *ctx;
    int (*random)(void *ctx, uint8_t *out, size_t len);
    /* Loads an AES key (16 or 32 bytes) into a slot; prepares CMAC and cipher contexts once. */
    int (*key_set)(void *ctx, unsigned slot, const uint8_t *key, size_t key_len);
    void (*key_clear)(void *ctx, unsigned slot);
    /* AES-CMAC (RFC 4493) over the concatenation of the iovecs, full 16-byte tag. */
    int (*cmac)(void *ctx, unsigned slot, const vsafe_iov_t *iov, size_t iov_count, uint8_t mac[16]);
    int (*aes_ecb_encrypt)(void *ctx, unsigned slot, const uint8_t in[16], uint8_t out[16]);
    /* AES-CBC without padding; len a multiple of 16; in == out allowed. */
    int (*aes_cbc)(void *ctx, unsigned slot, int encrypt, const uint8_t iv[16], const uint8_t *in, size_t len,
                   uint8_t *out);
    int (*sha256)(void *ctx, const vsafe_iov_t *iov, size_t iov_count, uint8_t out[32]);
    int (*hkdf_sha256)(void *ctx, const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                       const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);
    /* P-256: a fresh ephemeral key pair held inside ctx; pub = X||Y (64 bytes). */
    int (*ecdh_keygen)(void *ctx, uint8_t pub[64]);
    /* Shared secret X coordinate with the held ephemeral key; the ephemeral key is kept until the
     * next keygen or ecdh_clear. */
    int (*ecdh_derive)(void *ctx, const uint8_t peer_pub[64], uint8_t secret[32]);
    void (*ecdh_clear)(void *ctx);
    /* ECDSA P-256 over a SHA-256 digest; sig = r||s (64 bytes). 0 if valid, VSAFE_ERR_CRYPTO if not. */
    int (*ecdsa_verify)(void *ctx, const uint8_t pub[64], const uint8_t digest[32], const uint8_t sig[64]);
    /* NIST SP 800-38F AES key unwrap (KW), kek 16 or 32 bytes; out_len = in_len - 8. */
    int (*aes_kw_unwrap)(void *ctx, const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
                         uint8_t *out);
    /* Monotonic clock in microseconds (timing model); may be NULL. */
    uint64_t (*now_us)(void *ctx);

    /* ---- Key services (the chip's private key slots, hash, symmetric keys, AES/MAC, HKDF,
     * envelopes). Keys are passed as raw bytes: the core keeps them in its NVM image. A port
     * may cache keyed objects between calls for speed (the OpenSSL port keeps the last few
     * keys); forget_keys drops and wipes every such copy, but not the live hash and chunked-AEAD
     * contexts (the core ends those with their clear functions). The core calls it whenever a
     * key leaves the device state (slot erased or replaced, ephemeral or ECDHE key used), at
     * reset and at power loss, and clears the chunked-AEAD context whenever a symmetric key
     * changes (its key may be the one that went). The hash and
     * chunked-AEAD contexts below are one of each, like the chip's. A port may leave any of
     * these NULL: the core then answers the command with 0x04 (unsupported), as for an unknown
     * command. Every function returns 0,
     * VSAFE_ERR_ARGUMENT (bad length or unknown identifier), VSAFE_ERR_INVALID_PUBKEY (point
     * not on the curve, malformed key), VSAFE_ERR_CRYPTO (the library failed) or
     * VSAFE_ERR_UNSUPPORTED. Outputs of a failed call are zeroed. ---- */

    /* Elliptic curves: enum vsafe_curve (VSAFE_CURVE_*). Private keys are big-endian scalars of
     * the curve's key size (X25519/Ed25519: the 32-byte RFC 7748/8032 private key); public keys
     * are X||Y of the coordinate size each (X25519/Ed25519: the 32-byte key K). */
    int (*ec_keygen)(void *ctx, unsigned curve, uint8_t *priv, uint8_t *pub);
    /* ECDSA over msg as a digest (FIPS 186-5 truncation to the order's bit length) when curve is
     * a Weierstrass curve; Ed25519 pure (variant 0) or Ed25519ph with a 64-byte pre-hash as msg
     * (variant 1). sig = R||S, each of the curve's signature half size. */
    int (*ec_sign)(void *ctx, unsigned curve, const uint8_t *priv, unsigned variant, const uint8_t *msg,
                   size_t msg_len, uint8_t *sig);
    /* *valid = 1 when sig verifies, 0 when it does not (R or S out of range included); the call
     * still returns 0 then. VSAFE_ERR_INVALID_PUBKEY for a point not on the curve. */
    int (*ec_verify)(void *ctx, unsigned curve, const uint8_t *pub, unsigned variant, const uint8_t *msg,
                     size_t msg_len, const uint8_t *sig, int *valid);
    /* ECDH: the X coordinate of priv * peer (Weierstrass) or the X25519 output, of the curve's
     * shared-secret size. VSAFE_ERR_INVALID_PUBKEY for a bad point or an all-zero X25519 result. */
    int (*ec_ecdh)(void *ctx, unsigned curve, const uint8_t *priv, const uint8_t *peer_pub, uint8_t *secret);
    /* Y from X and the SEC 1 compressed-point prefix (0x02 even, 0x03 odd). */
    int (*ec_decompress)(void *ctx, unsigned curve, uint8_t prefix, const uint8_t *x, uint8_t *y);

    /* Hash: one context held by the port. alg is enum vsafe_hash (VSAFE_HASH_*). hash_start
     * replaces any context; hash_finish writes the digest and clears it; hash_clear drops it. */
    int (*hash_start)(void *ctx, unsigned alg);
    int (*hash_update)(void *ctx, const uint8_t *in, size_t len);
    int (*hash_finish)(void *ctx, uint8_t *digest, size_t digest_cap, size_t *digest_len);
    void (*hash_clear)(void *ctx);

    /* AES with a raw 16- or 32-byte key. ECB: len a multiple of 16. */
    int (*aes_ecb)(void *ctx, const uint8_t *key, size_t key_len, int encrypt, const uint8_t *in, size_t len,
                   uint8_t *out);
    /* One-shot AEAD, mode VSAFE_AEAD_CCM (CCM*, nonce 7..13 bytes, tag 0/4/6/8/10/12/14/16; tag
     * length 0 is CTR encryption only) or VSAFE_AEAD_GCM (any IV length >= 1, tag 4..16).
     * decrypt: *verified = 1 if the tag matches; on a mismatch the plaintext is zeroed and 0 is
     * returned with *verified = 0. */
    int (*aead_encrypt)(void *ctx, unsigned mode, const uint8_t *key, size_t key_len, const uint8_t *nonce,
                        size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                        uint8_t *out, uint8_t *tag, size_t tag_len);
    int (*aead_decrypt)(void *ctx, unsigned mode, const uint8_t *key, size_t key_len, const uint8_t *nonce,
                        size_t nonce_len, const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                        const uint8_t *tag, size_t tag_len, uint8_t *out, int *verified);
    /* Chunked AEAD: one context held by the port. CCM needs the totals up front (total_aad,
     * total_len exclude the tag); GCM ignores them. aead_update takes AAD and/or data (AAD first);
     * data may be any length, the output is as long as the input. aead_finish writes the tag when
     * encrypting, or checks tag and sets *verified when decrypting; the context is then dropped. */
    int (*aead_start)(void *ctx, unsigned mode, int encrypt, const uint8_t *key, size_t key_len,
                      const uint8_t *nonce, size_t nonce_len, size_t total_aad, size_t total_len, size_t tag_len);
    int (*aead_update)(void *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                       uint8_t *out);
    int (*aead_finish)(void *ctx, uint8_t *tag, size_t tag_len, int *verified);
    void (*aead_clear)(void *ctx);
    /* AES-CMAC (full 16-byte tag) and HMAC-SHA-256 (full 32-byte tag) with raw keys. */
    int (*cmac_raw)(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
                    uint8_t mac[16]);
    int (*hmac_sha256)(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
                       uint8_t mac[32]);
    /* RFC 5869 HKDF-SHA-256 in two steps (salt_len 0 = HashLen zero bytes). */
    int (*hkdf_extract)(void *ctx, const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                        uint8_t prk[32]);
    int (*hkdf_expand)(void *ctx, const uint8_t prk[32], const uint8_t *info, size_t info_len, uint8_t *out,
                       size_t out_len);
    /* NIST SP 800-38F AES key wrap (KW, RFC 3394 default IV); in_len a multiple of 8, >= 16;
     * out_len = in_len + 8. */
    int (*aes_kw_wrap)(void *ctx, const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
                       uint8_t *out);
    /* Wipes every cached copy of key material the port holds (see above); may be NULL. */
    void (*forget_keys)(void *ctx);
} vsafe_crypto_t;

/* Curves of the key services (never on the wire: the wire carries CURVE_ID bytes). */
enum vsafe_curve {
    VSAFE_CURVE_NONE = 0,
    VSAFE_CURVE_P256 = 1,
    VSAFE_CURVE_P384 = 2,
    VSAFE_CURVE_P521 = 3,
    VSAFE_CURVE_BP256 = 4,
    VSAFE_CURVE_BP384 = 5,
    VSAFE_CURVE_BP512 = 6,
    VSAFE_CURVE_X25519 = 7,
    VSAFE_CURVE_ED25519 = 8,
    VSAFE_CURVE_COUNT = 9
};
#define VSAFE_EC_MAX_KEY 66u   /* private key / coordinate bytes (P-521) */
#define VSAFE_EC_MAX_PUB 132u  /* X||Y of P-521 */
#define VSAFE_EC_MAX_SIG 132u  /* R||S of P-521 */

enum vsafe_hash {
    VSAFE_HASH_SHA256 = 1,
    VSAFE_HASH_SHA384 = 2,
    VSAFE_HASH_SHA512 = 3,
    VSAFE_HASH_SHA3_256 = 4,
    VSAFE_HASH_SHA3_384 = 5,
    VSAFE_HASH_SHA3_512 = 6
};

enum vsafe_aead { VSAFE_AEAD_CCM = 1, VSAFE_AEAD_GCM = 2 };

#ifdef __cplusplus
}
#endif
#endif
