/* RAM NVM with power-cut injection for the microcontroller build: a vsafe_nvm_t over a buffer the
 * caller provides (no heap), counting program and erase operations and cutting power at the n-th.
 *
 * It keeps the flash rules of src/port/sim (aligned whole program units, programs only over erased
 * bytes) and three of its write models, with the same meaning (vsafe_sim_cut_model_t):
 * DROPPED, TORN_UNIT and TORN_PAGE. REORDERED is not offered: an MCU's internal flash completes
 * its operations in order, and this port reports may_reorder = 0. The host simulator
 * (include/vsafe/sim.h) stays the place for reordering write caches.
 *
 * Typical use (cut power in the 2nd NVM operation of a command, reboot, check):
 *
 *     static uint8_t mem[6 * 8192];
 *     vsafe_fw_nvm_t nvm;
 *     vsafe_nvm_geometry_t geo = {.prog_unit = 16, .page_size = 8192, .page_count = 6, .erased = 0xFF};
 *     if (vsafe_fw_nvm_init(&nvm, &geo, mem, sizeof mem, 7) != VSAFE_OK) ...;
 *     ... format / mount the device on vsafe_fw_nvm_port(&nvm) ...
 *     (void)vsafe_fw_nvm_arm_cut(&nvm, 2, VSAFE_SIM_CUT_TORN_UNIT);
 *     ... run a command: the store sees VSAFE_ERR_POWER_LOSS, the device gives no answer ...
 *     vsafe_fw_nvm_power_on(&nvm);   // reboot: memory as the cut left it
 *     ... mount again and check ... */
#ifndef VSAFE_FW_NVM_RAM_H
#define VSAFE_FW_NVM_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsafe/se_port.h"
#include "vsafe/sim.h"
#include "vsafe/status.h"

typedef struct {
    vsafe_nvm_t port;  /* first member: the port's ctx points back here */
    uint8_t *mem;
    uint32_t size;
    uint64_t rng;      /* drawn only by fault injection: an unfaulted run does not depend on the seed */
    bool powered;
    bool cut_happened;
    uint32_t ops;      /* program + erase operations since init */
    uint32_t cut_at;   /* absolute operation index of the armed cut; 0 = none */
    vsafe_sim_cut_model_t model;
    uint32_t read_ops;
    uint32_t sync_ops;
} vsafe_fw_nvm_t;

/* Starts an erased NVM of geo->page_count pages on mem (at least page_size * page_count bytes,
 * it is overwritten with the erased value). VSAFE_ERR_ARGUMENT for a geometry the store cannot
 * use, may_reorder set, or mem too small. */
VSAFE_MUST_CHECK int vsafe_fw_nvm_init(vsafe_fw_nvm_t *nvm, const vsafe_nvm_geometry_t *geo, uint8_t *mem,
                                       size_t mem_len, uint64_t seed);
/* Starts on memory that already holds an NVM image (a reboot onto saved contents). Same checks. */
VSAFE_MUST_CHECK int vsafe_fw_nvm_attach(vsafe_fw_nvm_t *nvm, const vsafe_nvm_geometry_t *geo, uint8_t *mem,
                                         size_t mem_len, uint64_t seed);

static inline const vsafe_nvm_t *vsafe_fw_nvm_port(const vsafe_fw_nvm_t *nvm) { return &nvm->port; }

/* The n-th program or erase from now (n >= 1) is interrupted under model and returns
 * VSAFE_ERR_POWER_LOSS, as does every operation after it until vsafe_fw_nvm_power_on.
 * VSAFE_ERR_ARGUMENT for n == 0, VSAFE_ERR_UNSUPPORTED for VSAFE_SIM_CUT_REORDERED. */
VSAFE_MUST_CHECK int vsafe_fw_nvm_arm_cut(vsafe_fw_nvm_t *nvm, uint32_t n, vsafe_sim_cut_model_t model);
/* Power comes back; memory keeps what the cut left; the armed cut, if any, is dropped. */
void vsafe_fw_nvm_power_on(vsafe_fw_nvm_t *nvm);
bool vsafe_fw_nvm_cut_happened(const vsafe_fw_nvm_t *nvm);
void vsafe_fw_nvm_reseed(vsafe_fw_nvm_t *nvm, uint64_t seed);

#endif
