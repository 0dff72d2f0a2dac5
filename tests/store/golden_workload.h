/* The deterministic workload behind the golden images in tests/store/golden/. Never change it:
 * the images were generated from it once and are kept so that old images keep loading. To add a
 * format version, add a new workload and new images next to these. */
#ifndef VSAFE_GOLDEN_WORKLOAD_H
#define VSAFE_GOLDEN_WORKLOAD_H

#include <stdint.h>
#include <string.h>

#include "store_testutil.h"

#define GOLDEN_IMG 300u
#define GOLDEN_TXNS 40
#define GOLDEN_TAG VSAFE_STORE_TAG_SE

typedef struct {
    const char *file;
    vsafe_nvm_geometry_t geo;
    int torn_tail; /* generator writes 20 bytes of 0x5A after the last record */
} golden_t;

static const golden_t goldens[] = {
    {"store_v1_flash.bin", {.prog_unit = 16, .page_size = 256, .page_count = 16, .erased = 0xFF, .may_reorder = 0}, 1},
    {"store_v1_file.bin", {.prog_unit = 16, .page_size = 4096, .page_count = 4, .erased = 0xFF, .may_reorder = 1}, 0},
};

static inline void golden_initial(uint8_t img[GOLDEN_IMG])
{
    for (uint32_t i = 0; i < GOLDEN_IMG; i++) {
        img[i] = (uint8_t)(i * 3u + 1u);
    }
}

/* Transaction number i (0-based) of the workload. */
static inline void golden_txn(vsafe_txn_t *t, int i)
{
    uint8_t data[200];
    vsafe_txn_begin(t);
    vsafe_txn_put_u32(t, 16, 1000000u - (uint32_t)i);            /* a counter going down */
    memset(data, (uint8_t)(0x10 + i), 16);
    vsafe_txn_put(t, 32u + (uint32_t)(i % 8) * 16u, data, 16);   /* its associated data */
    if (i % 5 == 4) {
        memset(data, (uint8_t)(0xC0 + i), sizeof data);
        vsafe_txn_put(t, 96, data, sizeof data);                 /* a large update */
    }
}

#endif
