/* Crypto port that supports nothing (firmware/port/crypto_none.h). Every entry fails closed with
 * VSAFE_ERR_UNSUPPORTED and leaves its outputs untouched; the clears have nothing to clear. */
#include "crypto_none.h"

static int none_random(void *ctx, uint8_t *out, size_t len) { return VSAFE_ERR_UNSUPPORTED; }

static int none_key_set(void *ctx, unsigned slot, const uint8_t *key, size_t key_len) { return VSAFE_ERR_UNSUPPORTED; }

static void none_key_clear(void *ctx, unsigned slot) {}

static int none_cmac(void *ctx, unsigned slot, const vsafe_iov_t *iov, size_t iov_count, uint8_t mac[16])
{
    return VSAFE_ERR_UNSUPPORTED;
}

static int none_aes_ecb(void *ctx, unsigned slot, const uint8_t in[16], uint8_t out[16])
{
    return VSAFE_ERR_UNSUPPORTED;
}

static int none_aes_cbc(void *ctx, unsigned slot, int encrypt, const uint8_t iv[16], const uint8_t *in, size_t len,
                        uint8_t *out)
{
    return VSAFE_ERR_UNSUPPORTED;
}

static int none_sha256(void *ctx, const vsafe_iov_t *iov, size_t iov_count, uint8_t out[32])
{
    return VSAFE_ERR_UNSUPPORTED;
}

static int none_hkdf(void *ctx, const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                     const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    return VSAFE_ERR_UNSUPPORTED;
}

static int none_ecdh_keygen(void *ctx, uint8_t pub[64]) { return VSAFE_ERR_UNSUPPORTED; }

static int none_ecdh_derive(void *ctx, const uint8_t peer_pub[64], uint8_t secret[32]) { return VSAFE_ERR_UNSUPPORTED; }

static void none_ecdh_clear(void *ctx) {}

static int none_ecdsa_verify(void *ctx, const uint8_t pub[64], const uint8_t digest[32], const uint8_t sig[64])
{
    return VSAFE_ERR_UNSUPPORTED;
}

static int none_kw_unwrap(void *ctx, const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
                          uint8_t *out)
{
    return VSAFE_ERR_UNSUPPORTED;
}

static const vsafe_crypto_t crypto_none = {
    .ctx = 0,
    .random = none_random,
    .key_set = none_key_set,
    .key_clear = none_key_clear,
    .cmac = none_cmac,
    .aes_ecb_encrypt = none_aes_ecb,
    .aes_cbc = none_aes_cbc,
    .sha256 = none_sha256,
    .hkdf_sha256 = none_hkdf,
    .ecdh_keygen = none_ecdh_keygen,
    .ecdh_derive = none_ecdh_derive,
    .ecdh_clear = none_ecdh_clear,
    .ecdsa_verify = none_ecdsa_verify,
    .aes_kw_unwrap = none_kw_unwrap,
    .now_us = 0, /* no timing model: the bus never reports busy */
};

const vsafe_crypto_t *vsafe_fw_crypto_none(void) { return &crypto_none; }
