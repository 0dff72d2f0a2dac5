/* Shared fixture of the crypto port tests: a fresh OpenSSL port per group, hex test vectors,
 * and a deterministic (non-cryptographic) generator for test data. Include after cmocka.h and
 * hooks.h. */
#ifndef VSAFE_TEST_CRYPTO_FIXTURE_H
#define VSAFE_TEST_CRYPTO_FIXTURE_H

#include <stdio.h>

static inline size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s != '\0') {
        if (*s == ' ') {
            s++;
            continue;
        }
        unsigned v;
        assert_true(n < cap);
        assert_int_equal(sscanf(s, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

typedef struct {
    vsafe_openssl_crypto_t *oc;
    const vsafe_crypto_t *c;
} fx_t;

static inline int setup(void **state)
{
    static fx_t fx;
    assert_int_equal(vsafe_openssl_crypto_new(&fx.oc, 0), VSAFE_OK);
    fx.c = vsafe_openssl_crypto_port(fx.oc);
    *state = &fx;
    return 0;
}

static inline int teardown(void **state)
{
    fx_t *fx = *state;
    vsafe_openssl_crypto_free(fx->oc);
    return 0;
}

/* Test data generator (not crypto): xorshift64*. */
static uint64_t rnd_state = 0x9E3779B97F4A7C15u;
static inline uint32_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return (uint32_t)((rnd_state * 2685821657736338717u) >> 32);
}
static inline void rnd_fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)rnd();
    }
}

#endif
