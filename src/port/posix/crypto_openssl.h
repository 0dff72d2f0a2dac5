/* OpenSSL (libcrypto 3) implementation of the crypto port (vsafe_crypto_t). Contexts for each key
 * slot are created once in key_set and reused. */
#ifndef VSAFE_CRYPTO_OPENSSL_H
#define VSAFE_CRYPTO_OPENSSL_H

#include <stdint.h>

#include "vsafe/se_port.h"

typedef struct vsafe_openssl_crypto vsafe_openssl_crypto_t;

/* seed 0: randomness from OpenSSL's RAND_bytes; otherwise a deterministic generator seeded with
 * it (tests, reproducible runs). VSAFE_ERR_NO_MEMORY, VSAFE_ERR_CRYPTO. */
VSAFE_MUST_CHECK int vsafe_openssl_crypto_new(vsafe_openssl_crypto_t **out, uint64_t seed);
const vsafe_crypto_t *vsafe_openssl_crypto_port(vsafe_openssl_crypto_t *c);
/* Wipes every key and frees. NULL is fine. */
void vsafe_openssl_crypto_free(vsafe_openssl_crypto_t *c);
/* Bytes held (for vsafe_se_memory). */
size_t vsafe_openssl_crypto_memory(const vsafe_openssl_crypto_t *c);

#endif
