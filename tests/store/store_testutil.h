/* Helpers shared by the store tests: a deterministic generator, random transactions, and a
 * reference model (a plain RAM image the same patches are applied to). Header-only. */
#ifndef VSAFE_STORE_TESTUTIL_H
#define VSAFE_STORE_TESTUTIL_H

#include <stdint.h>
#include <string.h>

#include "hooks.h"
#include "vsafe/sim.h"

static inline uint64_t tu_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static inline uint32_t tu_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Applies txn to a reference image the plain way: patch after patch. */
static inline void tu_ref_apply(uint8_t *ref, const vsafe_txn_t *txn)
{
    uint32_t pos = 0;
    while (pos < txn->len) {
        const uint8_t *p = txn->buf + pos;
        uint32_t off = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
        uint32_t n = ((uint32_t)p[4] << 8) | p[5];
        memcpy(ref + off, p + 6, n);
        pos += 6u + n;
    }
}

/* A random transaction: 1..5 patches, mostly small (counter-like), sometimes large. */
static inline void tu_random_txn(vsafe_txn_t *txn, uint64_t *rng, uint32_t image_len)
{
    uint8_t data[600];
    vsafe_txn_begin(txn);
    unsigned count = 1u + (unsigned)(tu_rand(rng) % 5u);
    for (unsigned i = 0; i < count; i++) {
        uint32_t len;
        uint64_t r = tu_rand(rng);
        if (r % 10u == 0u) {
            len = 1u + (uint32_t)(tu_rand(rng) % (image_len < 600u ? image_len : 600u));
        } else {
            len = 1u + (uint32_t)(tu_rand(rng) % 16u);
        }
        if (len > image_len) {
            len = image_len;
        }
        if (txn->len + 6u + len > VSAFE_TXN_CAP) {
            break;
        }
        uint32_t off = (uint32_t)(tu_rand(rng) % (image_len - len + 1u));
        for (uint32_t k = 0; k < len; k++) {
            data[k] = (uint8_t)tu_rand(rng);
        }
        vsafe_txn_put(txn, off, data, len);
    }
}

/* CRC-32C the slow, bitwise way (independent of the table in store.c). */
static inline uint32_t tu_crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
    }
    return c ^ 0xFFFFFFFFu;
}

static inline vsafe_nvm_geometry_t tu_geo(uint32_t prog_unit, uint32_t page_size, uint32_t pages, int reorder)
{
    vsafe_nvm_geometry_t g = {.prog_unit = prog_unit, .page_size = page_size, .page_count = pages,
                              .erased = 0xFF, .may_reorder = (uint8_t)reorder};
    return g;
}

#endif
