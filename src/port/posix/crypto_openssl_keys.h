/* Key services of the OpenSSL crypto port (the vsafe_crypto_t entry points after now_us): elliptic
 * curves, hash, AES ECB, CCM* and GCM (one-shot and chunked), CMAC/HMAC with raw keys, HKDF steps, AES
 * key wrap. Internal to src/port/posix: crypto_openssl.c creates one vsafe_openssl_keys_t per
 * port and installs the functions; crypto_openssl_keys.c holds the curve half and the lifetime,
 * crypto_openssl_sym.c the symmetric half.
 *
 * State held between calls (everything else is per call):
 *  - a small cache of EVP_PKEYs built from raw key bytes, keyed by (curve, private/public, key
 *    bytes), so a slot key used again costs no import. Key bytes are compared with
 *    vsafe_ct_equal; an evicted entry is wiped and its OpenSSL objects freed (OpenSSL clears
 *    private keys when freeing them). The cache therefore holds copies of up to
 *    VSAFE_OPENSSL_EC_CACHE keys after the core has dropped them; vsafe_openssl_keys_forget
 *    wipes it.
 *  - the one hash context and the one chunked-AEAD context of the port contract;
 *  - fetched algorithm objects (fetched on first use, so creating a port stays cheap) and reusable
 *    contexts, which may hold the key schedule of the last symmetric operation until the next
 *    one or vsafe_openssl_keys_forget. */
#ifndef VSAFE_CRYPTO_OPENSSL_KEYS_H
#define VSAFE_CRYPTO_OPENSSL_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "vsafe/se_port.h"

#define VSAFE_OPENSSL_EC_CACHE 8u

typedef struct {
    EVP_PKEY *pkey;     /* NULL: the entry is empty */
    EVP_PKEY_CTX *pctx; /* ECDSA sign/verify or ECDH derive, initialised for op */
    EVP_MD_CTX *mdctx;  /* Ed25519 sign/verify, initialised for op */
    int op;             /* EC_OP_* the context is initialised for, 0 for none */
    uint64_t used;      /* least recently used goes first */
    uint8_t curve;
    uint8_t is_priv;
    uint8_t key[VSAFE_EC_MAX_PUB];
} vsafe_openssl_ec_entry_t;

/* Chunked AEAD context (one, like the chip). CCM is built here from AES-CBC (the CBC-MAC) and
 * AES-CTR because OpenSSL's CCM takes the message in one call only; GCM streams in OpenSSL. */
typedef struct {
    bool active;
    bool encrypt;
    bool aad_done;    /* CCM: the AAD block is padded; GCM: message data has started */
    unsigned mode;
    size_t tag_len;
    size_t total_aad, total_len, aad_seen, data_seen;
    uint8_t s0[16];   /* CCM: E(K, A_0), masks the tag */
    uint8_t blk[16];  /* CCM: partial CBC-MAC input block */
    uint8_t x[16];    /* CCM: last CBC-MAC output block */
    size_t fill;
    EVP_CIPHER_CTX *mac; /* CCM: AES-CBC, IV 0: the CBC-MAC chain */
    EVP_CIPHER_CTX *ctr; /* CCM: AES-CTR from A_0; GCM: the AES-GCM context */
} vsafe_openssl_aead_t;

enum {
    VSAFE_OSSL_ECB128, VSAFE_OSSL_ECB256, VSAFE_OSSL_CBC128, VSAFE_OSSL_CBC256,
    VSAFE_OSSL_CTR128, VSAFE_OSSL_CTR256, VSAFE_OSSL_CCM128, VSAFE_OSSL_CCM256,
    VSAFE_OSSL_GCM128, VSAFE_OSSL_GCM256, VSAFE_OSSL_KW128, VSAFE_OSSL_KW256,
    VSAFE_OSSL_CIPHERS
};

/* The key a reusable context is keyed with, so that a call with the same key (compared with
 * vsafe_ct_equal) skips the key schedule. valid false: the context must be keyed afresh. */
typedef struct {
    bool valid;
    size_t len;
    size_t iv_len; /* GCM: the IV length the context is set to */
    uint8_t key[64];
} vsafe_openssl_keyed_t;

typedef struct vsafe_openssl_keys {
    const vsafe_crypto_t *port; /* the owning port: randomness for key generation */
    vsafe_openssl_ec_entry_t ec[VSAFE_OPENSSL_EC_CACHE];
    uint64_t tick;
    EC_GROUP *group[VSAFE_CURVE_COUNT]; /* Weierstrass curves, created on first use */
    ECDSA_SIG *sig;                     /* reused by d2i when converting DER signatures */
    /* hash */
    EVP_MD_CTX *hash;
    bool hash_active;
    EVP_MD *md[7];   /* by enum vsafe_hash */
    /* symmetric */
    EVP_CIPHER *cipher[VSAFE_OSSL_CIPHERS];
    EVP_CIPHER_CTX *ecb, *aead1; /* one-shot work contexts, keyed per call */
    EVP_CIPHER_CTX *gcm1;        /* one-shot GCM, kept keyed with gcm1_key */
    vsafe_openssl_keyed_t gcm1_key;
    EVP_MAC *cmac_alg, *hmac_alg;
    EVP_MAC_CTX *cmac128, *cmac256, *hmac; /* cipher/digest set once; kept keyed with *_key */
    vsafe_openssl_keyed_t cmac128_key, cmac256_key, hmac_key;
    EVP_KDF *hkdf;
    vsafe_openssl_aead_t aead;
} vsafe_openssl_keys_t;

/* Creates the state and installs every key-service entry point in *port (port->ctx and
 * port->random must already be set; port must outlive the state). VSAFE_ERR_NO_MEMORY. */
VSAFE_MUST_CHECK int vsafe_openssl_keys_new(vsafe_openssl_keys_t **out, vsafe_crypto_t *port);
/* Wipes and frees everything; NULL is fine. */
void vsafe_openssl_keys_free(vsafe_openssl_keys_t *k);
/* Wipes the key cache and drops the hash, chunked-AEAD and symmetric work contexts. */
void vsafe_openssl_keys_forget(vsafe_openssl_keys_t *k);
/* Bytes held (estimate, for vsafe_se_memory). */
size_t vsafe_openssl_keys_memory(const vsafe_openssl_keys_t *k);

/* Defined in crypto_openssl.c: the key-services state of a port's ctx. */
vsafe_openssl_keys_t *vsafe_openssl_crypto_keys(void *port_ctx);

/* Between the two halves: install the symmetric entry points; drop the keyed symmetric work
 * contexts (forget; the live hash and chunked-AEAD contexts stay); free everything symmetric
 * (forget, then the hash and chunked-AEAD contexts and the fetched algorithms). */
void vsafe_openssl_keys_install_sym(vsafe_crypto_t *port);
void vsafe_openssl_keys_forget_sym(vsafe_openssl_keys_t *k);
void vsafe_openssl_keys_free_sym(vsafe_openssl_keys_t *k);
/* The fetched cipher (fetched on first use); NULL if OpenSSL does not provide it. */
const EVP_CIPHER *vsafe_openssl_keys_cipher(vsafe_openssl_keys_t *k, unsigned which);

#endif
