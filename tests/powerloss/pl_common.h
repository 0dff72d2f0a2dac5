/* Shared by the device-level power-loss proofs: a simulated NVM sized for the SPL05 device with a
 * small journal (so compactions happen often), a scripted mixed workload (plain and C-MAC'd), its
 * description for the reference model (tests/model), and helpers to open the device and a host
 * (with a session once a host key is provisioned) on the NVM. */
#ifndef VSAFE_PL_COMMON_H
#define VSAFE_PL_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "model.h"
#include "vsafe/host.h"
#include "vsafe/se.h"
#include "vsafe/se_wire.h"
#include "vsafe/sim.h"

#include "pl_workload.h"

#define PL_MAX_IMAGE 20000u
#define PL_JOURNAL 6144u

static inline vsafe_sim_nvm_t *pl_new_sim(int reorder, uint64_t seed)
{
    uint32_t bytes = vsafe_store_nvm_bytes(PL_MAX_IMAGE, PL_JOURNAL, 1024);
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = 1024, .page_count = bytes / 1024u, .erased = 0xFF,
                              .may_reorder = (uint8_t)reorder};
    vsafe_sim_nvm_t *sim = NULL;
    if (vsafe_sim_nvm_new(&sim, &g, seed) != 0) {
        return NULL;
    }
    return sim;
}

/* The host key the workloads provision (AES-128) and their sessions use. */
static const uint8_t pl_mac_key[16] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE,
                                       0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
static const uint8_t pl_cipher_key[16] = {0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96, 0x87,
                                          0x78, 0x69, 0x5A, 0x4B, 0x3C, 0x2D, 0x1E, 0x0F};

typedef struct {
    vsafe_se_t *se;
    vsafe_host_t *host;
} pl_dev_t;

/* Opens the device on sim and a host on it; with session, also a host session (the host reads
 * the device's C-MAC counter, as it does after every reboot). */
static inline int pl_open_ex(pl_dev_t *d, vsafe_sim_nvm_t *sim, int session)
{
    vsafe_se_options_t o = {.profile = "spl05", .state_path = NULL};
    vsafe_se_open_ext_t ext;
    memset(&ext, 0, sizeof ext);
    ext.nvm = vsafe_sim_nvm_port(sim);
    ext.rng_seed = 1;
    d->se = NULL;
    d->host = NULL;
    int rc = vsafe_se_open_ex(&d->se, &o, &ext);
    if (rc == 0) {
        rc = vsafe_host_open_se(&d->host, d->se);
    }
    if (rc == 0 && session) {
        rc = vsafe_host_session_open(d->host, pl_mac_key, pl_cipher_key, VSAFE_HOST_KEY_AES128);
    }
    return rc;
}

static inline int pl_open(pl_dev_t *d, vsafe_sim_nvm_t *sim) { return pl_open_ex(d, sim, 0); }

static inline void pl_close(pl_dev_t *d)
{
    vsafe_host_close(d->host);
    vsafe_se_close(d->se);
    d->host = NULL;
    d->se = NULL;
}

/* Runs c through the host library. Returns the host status; *counter gets a decrement's result. */
static inline int pl_run(pl_dev_t *d, const pl_cmd_t *c, uint32_t *counter)
{
    const vsafe_host_prot_t p = c->mac ? VSAFE_HOST_PROT_MAC : VSAFE_HOST_PROT_NONE;
    switch (c->kind) {
    case PL_UPDATE_ATOMIC:
        return vsafe_host_update_zone(d->host, p, c->zone, c->offset, c->data, c->len, 1);
    case PL_UPDATE_PLAIN:
        return vsafe_host_update_zone(d->host, p, c->zone, c->offset, c->data, c->len, 0);
    case PL_DECREMENT:
        return vsafe_host_decrement(d->host, p, c->zone, c->amount, c->offset, c->data, c->len, counter);
    case PL_READ_AC:
        return vsafe_host_change_read_ac(d->host, p, c->zone, c->ac, c->cr);
    case PL_UPDATE_AC:
        return vsafe_host_change_update_ac(d->host, p, c->zone, c->ac, c->cr, c->offset, c->data, c->len, 1);
    case PL_DECREMENT_AC:
        return vsafe_host_change_decrement_ac(d->host, p, c->zone, c->ac, c->cr, c->amount, c->offset, c->data,
                                              c->len, counter);
    }
    return VSAFE_ERR_ARGUMENT;
}

#endif
