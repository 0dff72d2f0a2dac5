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
} vsafe_crypto_t;

#ifdef __cplusplus
}
#endif
#endif
