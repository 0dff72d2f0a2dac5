/* Shared by the bit-flip proofs (test_bitflip_se.c, test_bitflip_mcu.c): flip every bit of the used
 * part of a state file held in a simulated NVM, mount the store after each flip, and sort the
 * outcome. The oracle is never the code under test: the mounted image is compared with the image
 * of the undamaged file, which the test has checked field by field (through the public device
 * API) against its own record of what the device acknowledged; a mounted image that differs from
 * it is a silent wrong state, checked again through the device API to tell whether it is older. */
#ifndef VSAFE_BITFLIP_UTIL_H
#define VSAFE_BITFLIP_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "vsafe/sim.h"

typedef struct {
    unsigned long tried;
    unsigned long unaffected;  /* mounted, exactly the newest state, nothing to report */
    unsigned long corrected;   /* mounted, exactly the newest state, a bit corrected */
    unsigned long torn;        /* mounted, exactly the newest state, a torn tail discarded */
    unsigned long refused;     /* mount refused (damage reported) */
    unsigned long wrong;       /* mounted a state that is not the newest acknowledged one */
    unsigned long older;       /* ... of which the device API shows an older state */
} bf_counts_t;

/* Geometry of a state file written by the file backend (from its size). */
static inline vsafe_nvm_geometry_t bf_file_geo(void)
{
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = 4096, .page_count = 0, .erased = 0xFF,
                              .may_reorder = 1};
    return g;
}

/* The used part of half h: from its start to the end of its last non-erased program unit. */
static inline uint32_t bf_used_end(const uint8_t *mem, uint32_t half_start, uint32_t half_bytes, uint32_t unit)
{
    uint32_t end = half_bytes;
    while (end > 0u && mem[half_start + end - 1u] == 0xFFu) {
        end--;
    }
    return (end + unit - 1u) / unit * unit;
}

/* Called for a flip whose mount gave an image different from the clean one: returns true when
 * the device, opened on the damaged NVM, shows an older state than acknowledged. */
typedef bool (*bf_older_fn)(vsafe_sim_nvm_t *sim, void *ctx);

/* Every bit of the used part is tried, unless the test was given "--every N" (the sanitizer build
 * does, being some twenty times slower): then every N-th bit, in a pattern that still visits every
 * bit position of a byte and every region of every record. */
static unsigned bf_every = 1;

static inline void bf_args(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--every") == 0) {
        bf_every = (unsigned)strtoul(argv[2], NULL, 10);
        if (bf_every == 0u) {
            bf_every = 1;
        }
    }
}

/* Optional: the sampling stride for the byte at offset off of a half (1 = every bit; multiplied
 * by --every). NULL = 1 everywhere. */
typedef unsigned (*bf_stride_fn)(uint32_t off);
static bf_stride_fn bf_stride;

static inline void bf_run(vsafe_sim_nvm_t *sim, const uint8_t *clean_img, uint32_t image_len, uint32_t tag,
                          bf_older_fn older, void *ctx, bf_counts_t *c)
{
    uint64_t nth = 0;
    vsafe_nvm_t *nvm = vsafe_sim_nvm_port(sim);
    size_t size;
    uint8_t *mem = vsafe_sim_nvm_mem(sim, &size);
    uint8_t *pristine = malloc(size);
    uint8_t *img = malloc(image_len);
    memcpy(pristine, mem, size);
    uint32_t half = (uint32_t)(size / 2u / nvm->geo.page_size * nvm->geo.page_size);
    memset(c, 0, sizeof *c);
    for (uint32_t h = 0; h < 2u; h++) {
        uint32_t used = bf_used_end(pristine, h * half, half, nvm->geo.prog_unit);
        for (uint32_t off = 0; off < used; off++) {
            uint32_t addr = h * half + off;
            unsigned every = bf_every * (bf_stride != NULL ? bf_stride(off) : 1u);
            for (unsigned bit = 0; bit < 8u; bit++) {
                vsafe_store_t st;
                if (nth++ % every != 0u) {
                    continue;
                }
                mem[addr] ^= (uint8_t)(1u << bit);
                c->tried++;
                int rc = vsafe_store_mount(&st, nvm, img, image_len, tag);
                if (rc != VSAFE_OK) {
                    c->refused++;
                } else if (memcmp(img, clean_img, image_len) == 0) {
                    if (st.recovery.corrected_bits != 0u) {
                        c->corrected++;
                    } else if (st.recovery.torn) {
                        c->torn++;
                    } else {
                        c->unaffected++;
                    }
                } else {
                    c->wrong++;
                    if (c->wrong <= 8u) {
                        printf("  silent wrong state: half %u offset 0x%x bit %u\n", h, off, bit);
                    }
                    if (c->wrong <= 64u && older(sim, ctx)) {
                        c->older++;
                    }
                    memcpy(mem, pristine, size); /* the device open may have written; undoes the flip */
                    continue;
                }
                mem[addr] ^= (uint8_t)(1u << bit);
            }
        }
    }
    assert_memory_equal(mem, pristine, size);
    free(img);
    free(pristine);
}

static inline void bf_print(const char *what, const bf_counts_t *c)
{
    if (bf_every != 1u) {
        printf("(subsampled: every %u-th bit of the used part%s)\n", bf_every,
               bf_stride != NULL ? ", times the test's own strides" : "");
    }
    printf("%s: %lu flips tried, %lu unaffected, %lu corrected, %lu torn-discarded, %lu refused, "
           "%lu silent rollbacks (wrong state; %lu of the first 64 checked older through the device API)\n",
           what, c->tried, c->unaffected, c->corrected, c->torn, c->refused, c->wrong, c->older);
    fflush(stdout);
}

#endif
