/* Simulated NVM with fault injection: a RAM vsafe_nvm_t for tests of your own firmware and of
 * vsafe itself. It counts program and erase operations (in total and per page, for wear), and can
 * cut power at the n-th program-or-erase operation with one of several write models, fail a read,
 * or flip a bit. Everything random is drawn from a seeded generator: the same seed and the same
 * operations give the same memory, byte for byte.
 *
 * Typical use (cut power in the 3rd NVM write of a command, reboot, check):
 *
 *     vsafe_sim_nvm_t *sim;
 *     vsafe_nvm_geometry_t geo = {.prog_unit = 16, .page_size = 4096, .page_count = 34, .erased = 0xFF};
 *     if (vsafe_sim_nvm_new(&sim, &geo, 42) != VSAFE_OK) ...;
 *     ... format / mount a device on vsafe_sim_nvm_port(sim) ...
 *     (void)vsafe_sim_nvm_arm_cut(sim, 3, VSAFE_SIM_CUT_TORN_UNIT);
 *     ... run a command: it fails with VSAFE_ERR_POWER_LOSS ...
 *     vsafe_sim_nvm_power_on(sim);   // reboot: memory as the cut left it
 *     ... mount again and check ...
 *     vsafe_sim_nvm_free(sim);
 *
 * Not thread safe; one simulated NVM per thread. */
#ifndef VSAFE_SIM_H
#define VSAFE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsafe/se_port.h"
#include "vsafe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vsafe_sim_nvm vsafe_sim_nvm_t;

/* What the interrupted operation leaves behind. */
typedef enum {
    VSAFE_SIM_CUT_DROPPED = 1,   /* the operation is not performed at all */
    VSAFE_SIM_CUT_TORN_UNIT = 2, /* a random prefix of program units is written, the unit being
                                    written when power failed holds garbage, the rest is untouched
                                    (an erase: a prefix erased, one unit of garbage) */
    VSAFE_SIM_CUT_TORN_PAGE = 3, /* as TORN_UNIT, but garbage over the rest of the page region the
                                    operation covers (an erase: the whole page is garbage) */
    VSAFE_SIM_CUT_REORDERED = 4  /* every operation since the last sync, the interrupted one
                                    included, reaches NVM or not, in a random subset and a random
                                    order. Only for a geometry with may_reorder. */
} vsafe_sim_cut_model_t;

#define VSAFE_SIM_CUT_MODELS 4

typedef struct {
    uint64_t read_ops;
    uint64_t program_ops;      /* completed or interrupted program calls */
    uint64_t erase_ops;
    uint64_t sync_ops;
    uint64_t bytes_programmed;
    uint32_t max_page_programs; /* wear: program calls touching the most-programmed page */
    uint32_t max_page_erases;   /* wear: erases of the most-erased page */
    uint32_t cuts;              /* power cuts that happened */
    bool powered;               /* false between a cut and vsafe_sim_nvm_power_on */
} vsafe_sim_nvm_stats_t;

/* Creates an erased NVM of geo->page_count pages. prog_unit must be a power of two dividing
 * page_size. VSAFE_ERR_ARGUMENT, VSAFE_ERR_NO_MEMORY. */
VSAFE_MUST_CHECK int vsafe_sim_nvm_new(vsafe_sim_nvm_t **out, const vsafe_nvm_geometry_t *geo, uint64_t seed);
void vsafe_sim_nvm_free(vsafe_sim_nvm_t *sim);

/* The port to hand to the store or device. Valid until vsafe_sim_nvm_free. Its prog refuses
 * (VSAFE_ERR_NVM_PROGRAM) misaligned programs and programs over bytes that are not erased, as
 * flash would. */
vsafe_nvm_t *vsafe_sim_nvm_port(vsafe_sim_nvm_t *sim);

/* Arms a power cut: the n-th program or erase operation from now (n >= 1) is interrupted under
 * model and returns VSAFE_ERR_POWER_LOSS; so does every NVM operation after it until
 * vsafe_sim_nvm_power_on. VSAFE_ERR_ARGUMENT for n == 0 or REORDERED without may_reorder. */
VSAFE_MUST_CHECK int vsafe_sim_nvm_arm_cut(vsafe_sim_nvm_t *sim, uint64_t n, vsafe_sim_cut_model_t model);
void vsafe_sim_nvm_disarm(vsafe_sim_nvm_t *sim);
/* Cuts power now, as if between two operations (with REORDERED semantics for unsynced
 * operations when the geometry may reorder). */
void vsafe_sim_nvm_cut_now(vsafe_sim_nvm_t *sim);
/* True once an armed cut has happened (until the next arm). */
bool vsafe_sim_nvm_cut_happened(const vsafe_sim_nvm_t *sim);
/* Reboot: power comes back, memory keeps what the cut left; operations work again. */
void vsafe_sim_nvm_power_on(vsafe_sim_nvm_t *sim);
/* Re-seeds the generator behind garbage, torn lengths, reorder choices. */
void vsafe_sim_nvm_reseed(vsafe_sim_nvm_t *sim, uint64_t seed);

/* The n-th read from now (n >= 1) fails with VSAFE_ERR_NVM_READ (once; memory unchanged). */
void vsafe_sim_nvm_arm_read_error(vsafe_sim_nvm_t *sim, uint64_t n);
/* The n-th read from now returns its data with one bit flipped (transient; memory unchanged). */
void vsafe_sim_nvm_arm_read_flip(vsafe_sim_nvm_t *sim, uint64_t n);
/* Flips bit (0..7) of the byte at addr in memory (a persistent corruption). VSAFE_ERR_ARGUMENT. */
VSAFE_MUST_CHECK int vsafe_sim_nvm_flip_bit(vsafe_sim_nvm_t *sim, uint32_t addr, unsigned bit);

void vsafe_sim_nvm_stats(const vsafe_sim_nvm_t *sim, vsafe_sim_nvm_stats_t *stats);
void vsafe_sim_nvm_reset_stats(vsafe_sim_nvm_t *sim);
uint32_t vsafe_sim_nvm_page_programs(const vsafe_sim_nvm_t *sim, uint32_t page);
uint32_t vsafe_sim_nvm_page_erases(const vsafe_sim_nvm_t *sim, uint32_t page);

/* Direct access to the memory (page_count * page_size bytes), for tests that copy, restore or
 * damage it. Writing through it is allowed while no operation is pending (call power_on after a
 * restore to drop the reorder log). */
uint8_t *vsafe_sim_nvm_mem(vsafe_sim_nvm_t *sim, size_t *len);

/* Saves the memory as a raw file of page_count * page_size bytes. VSAFE_ERR_IO. */
VSAFE_MUST_CHECK int vsafe_sim_nvm_to_file(const vsafe_sim_nvm_t *sim, const char *path);
/* Creates a simulated NVM holding a raw file's bytes. geo->page_count 0 = from the file size.
 * VSAFE_ERR_NOT_FOUND, VSAFE_ERR_IO, VSAFE_ERR_STORE_TRUNCATED (size not whole pages or not
 * page_count pages), VSAFE_ERR_ARGUMENT, VSAFE_ERR_NO_MEMORY. */
VSAFE_MUST_CHECK int vsafe_sim_nvm_from_file(vsafe_sim_nvm_t **out, const char *path,
                                             const vsafe_nvm_geometry_t *geo, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
