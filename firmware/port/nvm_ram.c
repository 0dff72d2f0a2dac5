/* RAM NVM with power-cut injection (firmware/port/nvm_ram.h). No heap, no I/O.
 *
 * Invariants:
 *  - mem always holds what a reader would see now; operations complete in issue order, so sync
 *    only counts.
 *  - Once powered is false every operation returns VSAFE_ERR_POWER_LOSS and mem does not change
 *    until vsafe_fw_nvm_power_on.
 *  - prog enforces the flash rules (aligned whole units, target bytes erased), so a store that
 *    re-programs without an erase fails here as it would on the part.
 *  - The torn models leave exactly what src/port/sim leaves for an in-order NVM: a random prefix
 *    of whole units done, then garbage over one unit (TORN_UNIT) or up to the end of the page or
 *    operation (TORN_PAGE); an erase cut under TORN_PAGE leaves the whole page as garbage. */
#include "nvm_ram.h"

#include <string.h>

static uint64_t rnd(vsafe_fw_nvm_t *s)
{
    uint64_t z = (s->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void garbage(vsafe_fw_nvm_t *s, uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        p[i] = (uint8_t)rnd(s);
    }
}

/* The interrupted operation: [addr, addr+len) was being set to data, or erased when data is NULL. */
static void torn_apply(vsafe_fw_nvm_t *s, uint32_t addr, const uint8_t *data, uint32_t len, bool page_model)
{
    uint32_t unit = s->port.geo.prog_unit;
    uint32_t page = s->port.geo.page_size;
    uint32_t k = (uint32_t)rnd(s) % (len / unit); /* 32-bit: no 64-bit division helper on the cut path */
    if (data != NULL) {
        memcpy(s->mem + addr, data, (size_t)k * unit);
    } else {
        memset(s->mem + addr, s->port.geo.erased, (size_t)k * unit);
    }
    uint32_t g0 = addr + k * unit;
    uint32_t g1 = g0 + unit;
    if (page_model) {
        g1 = data != NULL ? (g0 / page + 1u) * page : addr + len;
        if (g1 > addr + len) {
            g1 = addr + len;
        }
    }
    garbage(s, s->mem + g0, g1 - g0);
}

/* Counts the operation; if it is the armed one, leaves its torn result and cuts power. */
static bool op_is_cut(vsafe_fw_nvm_t *s, uint32_t addr, const uint8_t *data, uint32_t len)
{
    s->ops++;
    if (s->cut_at == 0u || s->ops != s->cut_at) {
        return false;
    }
    s->cut_at = 0;
    if (s->model == VSAFE_SIM_CUT_TORN_UNIT || s->model == VSAFE_SIM_CUT_TORN_PAGE) {
        torn_apply(s, addr, data, len, s->model == VSAFE_SIM_CUT_TORN_PAGE);
    }
    s->powered = false;
    s->cut_happened = true;
    return true;
}

static int ram_read(void *ctx, uint32_t addr, uint8_t *buf, size_t len)
{
    vsafe_fw_nvm_t *s = ctx;
    if (!s->powered) {
        return VSAFE_ERR_POWER_LOSS;
    }
    if (addr > s->size || len > s->size - addr) {
        return VSAFE_ERR_NVM_READ;
    }
    s->read_ops++;
    memcpy(buf, s->mem + addr, len);
    return 0;
}

static int ram_prog(void *ctx, uint32_t addr, const uint8_t *buf, size_t len)
{
    vsafe_fw_nvm_t *s = ctx;
    uint32_t unit = s->port.geo.prog_unit;
    if (!s->powered) {
        return VSAFE_ERR_POWER_LOSS;
    }
    if (len == 0u || addr % unit != 0u || len % unit != 0u || addr > s->size || len > s->size - addr) {
        return VSAFE_ERR_NVM_PROGRAM;
    }
    for (size_t i = 0; i < len; i++) {
        if (s->mem[addr + i] != s->port.geo.erased) {
            return VSAFE_ERR_NVM_PROGRAM;
        }
    }
    if (op_is_cut(s, addr, buf, (uint32_t)len)) {
        return VSAFE_ERR_POWER_LOSS;
    }
    memcpy(s->mem + addr, buf, len);
    return 0;
}

static int ram_erase(void *ctx, uint32_t page)
{
    vsafe_fw_nvm_t *s = ctx;
    uint32_t ps = s->port.geo.page_size;
    if (!s->powered) {
        return VSAFE_ERR_POWER_LOSS;
    }
    if (page >= s->port.geo.page_count) {
        return VSAFE_ERR_NVM_ERASE;
    }
    if (op_is_cut(s, page * ps, NULL, ps)) {
        return VSAFE_ERR_POWER_LOSS;
    }
    memset(s->mem + (size_t)page * ps, s->port.geo.erased, ps);
    return 0;
}

static int ram_sync(void *ctx)
{
    vsafe_fw_nvm_t *s = ctx;
    if (!s->powered) {
        return VSAFE_ERR_POWER_LOSS;
    }
    s->sync_ops++;
    return 0;
}

int vsafe_fw_nvm_attach(vsafe_fw_nvm_t *nvm, const vsafe_nvm_geometry_t *geo, uint8_t *mem, size_t mem_len,
                        uint64_t seed)
{
    if (nvm == NULL || geo == NULL || mem == NULL || geo->prog_unit == 0u ||
        (geo->prog_unit & (geo->prog_unit - 1u)) != 0u || geo->page_size == 0u ||
        geo->page_size % geo->prog_unit != 0u || geo->page_count == 0u || geo->may_reorder != 0u ||
        (uint64_t)geo->page_size * geo->page_count > 0xFFFFFFFFull ||
        (uint64_t)geo->page_size * geo->page_count > mem_len) {
        return VSAFE_ERR_ARGUMENT;
    }
    memset(nvm, 0, sizeof *nvm);
    nvm->mem = mem;
    nvm->size = geo->page_size * geo->page_count;
    nvm->rng = seed;
    nvm->powered = true;
    nvm->model = VSAFE_SIM_CUT_DROPPED;
    nvm->port.ctx = nvm;
    nvm->port.geo = *geo;
    nvm->port.read = ram_read;
    nvm->port.prog = ram_prog;
    nvm->port.erase = ram_erase;
    nvm->port.sync = ram_sync;
    return VSAFE_OK;
}

int vsafe_fw_nvm_init(vsafe_fw_nvm_t *nvm, const vsafe_nvm_geometry_t *geo, uint8_t *mem, size_t mem_len,
                      uint64_t seed)
{
    int rc = vsafe_fw_nvm_attach(nvm, geo, mem, mem_len, seed);
    if (rc == VSAFE_OK) {
        memset(mem, geo->erased, nvm->size);
    }
    return rc;
}

int vsafe_fw_nvm_arm_cut(vsafe_fw_nvm_t *nvm, uint32_t n, vsafe_sim_cut_model_t model)
{
    if (n == 0u || model < VSAFE_SIM_CUT_DROPPED || model > VSAFE_SIM_CUT_REORDERED) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (model == VSAFE_SIM_CUT_REORDERED) {
        return VSAFE_ERR_UNSUPPORTED;
    }
    nvm->cut_at = nvm->ops + n;
    nvm->model = model;
    nvm->cut_happened = false;
    return VSAFE_OK;
}

void vsafe_fw_nvm_power_on(vsafe_fw_nvm_t *nvm)
{
    nvm->powered = true;
    nvm->cut_at = 0;
}

bool vsafe_fw_nvm_cut_happened(const vsafe_fw_nvm_t *nvm) { return nvm->cut_happened; }

void vsafe_fw_nvm_reseed(vsafe_fw_nvm_t *nvm, uint64_t seed) { nvm->rng = seed; }
