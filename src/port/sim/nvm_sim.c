/* Simulated NVM with fault injection (include/vsafe/sim.h).
 *
 * Invariants:
 *  - mem always holds what a reader would see now. With may_reorder, every program and erase since
 *    the last sync is also kept in a log with the bytes it replaced, so that a cut can undo them
 *    all and re-apply a random subset in a random order (what a write-back cache may have flushed).
 *  - Once powered is false, every operation returns VSAFE_ERR_POWER_LOSS and mem does not change
 *    until vsafe_sim_nvm_power_on.
 *  - All randomness comes from one seeded generator, consumed only by fault injection, so an
 *    un-faulted run is independent of the seed and a faulted one is reproducible from it.
 *  - prog enforces flash rules (aligned whole units, target bytes erased) so that a store which
 *    re-programs without an erase is caught in tests.
 */
#include "vsafe/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/secure.h"

typedef struct {
    int is_erase;
    uint32_t addr;
    uint32_t len;
    uint8_t *old_bytes; /* what the op replaced */
    uint8_t *new_bytes; /* what it wrote (NULL for an erase: the erased value) */
} sim_op_t;

struct vsafe_sim_nvm {
    vsafe_nvm_t port;
    uint8_t *mem;
    size_t size;
    uint64_t rng;
    bool powered;
    bool cut_happened;
    uint64_t ops;    /* program + erase operations so far */
    uint64_t cut_at; /* 0 = not armed */
    vsafe_sim_cut_model_t model;
    uint64_t read_error_at; /* 0 = not armed; absolute read index */
    uint64_t read_flip_at;
    vsafe_sim_nvm_stats_t st;
    uint32_t *page_programs;
    uint32_t *page_erases;
    sim_op_t *log;
    size_t log_len;
    size_t log_cap;
};

static uint64_t rnd(vsafe_sim_nvm_t *s)
{
    uint64_t z = (s->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void garbage(vsafe_sim_nvm_t *s, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)rnd(s);
    }
}

static void log_clear(vsafe_sim_nvm_t *s)
{
    /* The logged bytes are device state (host keys included): wiped before they are freed. */
    for (size_t i = 0; i < s->log_len; i++) {
        vsafe_wipe(s->log[i].old_bytes, s->log[i].old_bytes != NULL ? s->log[i].len : 0u);
        vsafe_wipe(s->log[i].new_bytes, s->log[i].new_bytes != NULL ? s->log[i].len : 0u);
        free(s->log[i].old_bytes);
        free(s->log[i].new_bytes);
    }
    s->log_len = 0;
}

/* Records an operation about to be applied (may_reorder only). Returns 0 or VSAFE_ERR_NO_MEMORY. */
static int log_push(vsafe_sim_nvm_t *s, int is_erase, uint32_t addr, const uint8_t *data, uint32_t len)
{
    if (s->log_len == s->log_cap) {
        size_t cap = s->log_cap ? 2u * s->log_cap : 16u;
        sim_op_t *n = realloc(s->log, cap * sizeof *n);
        if (n == NULL) {
            return VSAFE_ERR_NO_MEMORY;
        }
        s->log = n;
        s->log_cap = cap;
    }
    sim_op_t *op = &s->log[s->log_len];
    op->is_erase = is_erase;
    op->addr = addr;
    op->len = len;
    op->old_bytes = malloc(len);
    op->new_bytes = data ? malloc(len) : NULL;
    if (op->old_bytes == NULL || (data != NULL && op->new_bytes == NULL)) {
        free(op->old_bytes);
        free(op->new_bytes);
        return VSAFE_ERR_NO_MEMORY;
    }
    memcpy(op->old_bytes, s->mem + addr, len);
    if (data) {
        memcpy(op->new_bytes, data, len);
    }
    s->log_len++;
    return 0;
}

static void op_apply(vsafe_sim_nvm_t *s, const sim_op_t *op)
{
    if (op->is_erase) {
        memset(s->mem + op->addr, s->port.geo.erased, op->len);
    } else {
        memcpy(s->mem + op->addr, op->new_bytes, op->len);
    }
}

/* Power fails with the logged operations in flight: undo them all, then let a random subset land
 * in a random order. */
static void reorder_cut(vsafe_sim_nvm_t *s)
{
    size_t n = s->log_len;
    for (size_t i = n; i-- > 0;) {
        memcpy(s->mem + s->log[i].addr, s->log[i].old_bytes, s->log[i].len);
    }
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rnd(s) % i);
        sim_op_t t = s->log[i - 1];
        s->log[i - 1] = s->log[j];
        s->log[j] = t;
    }
    for (size_t i = 0; i < n; i++) {
        if (rnd(s) & 1u) {
            op_apply(s, &s->log[i]);
        }
    }
    log_clear(s);
}

static void power_fail(vsafe_sim_nvm_t *s)
{
    if (s->port.geo.may_reorder) {
        reorder_cut(s);
    }
    s->powered = false;
    s->cut_happened = true;
    s->st.cuts++;
}

/* The interrupted operation under a torn model: [addr, addr+len) was being set to data (or erased
 * when data is NULL). */
static void torn_apply(vsafe_sim_nvm_t *s, uint32_t addr, const uint8_t *data, uint32_t len, bool page_model)
{
    uint32_t unit = s->port.geo.prog_unit;
    uint32_t page = s->port.geo.page_size;
    uint32_t units = len / unit;
    uint32_t k = (uint32_t)(rnd(s) % units);
    if (data) {
        memcpy(s->mem + addr, data, (size_t)k * unit);
    } else {
        memset(s->mem + addr, s->port.geo.erased, (size_t)k * unit);
    }
    uint32_t g0 = addr + k * unit;
    uint32_t g1 = g0 + unit;
    if (page_model) {
        g1 = data ? (g0 / page + 1u) * page : addr + len;
        if (g1 > addr + len) {
            g1 = addr + len;
        }
    }
    garbage(s, s->mem + g0, g1 - g0);
}

/* Counts the operation; if it is the armed one, performs the cut and returns true. */
static bool op_is_cut(vsafe_sim_nvm_t *s, int is_erase, uint32_t addr, const uint8_t *data, uint32_t len)
{
    s->ops++;
    if (s->cut_at == 0u || s->ops != s->cut_at) {
        return false;
    }
    s->cut_at = 0;
    switch (s->model) {
    case VSAFE_SIM_CUT_DROPPED:
        break;
    case VSAFE_SIM_CUT_TORN_UNIT:
    case VSAFE_SIM_CUT_TORN_PAGE:
        /* the in-flight op tears; with may_reorder, earlier unsynced ops still landed in order */
        log_clear(s);
        torn_apply(s, addr, data, len, s->model == VSAFE_SIM_CUT_TORN_PAGE);
        break;
    case VSAFE_SIM_CUT_REORDERED:
        if (log_push(s, is_erase, addr, data, len) == 0) {
            op_apply(s, &s->log[s->log_len - 1]);
        }
        break;
    }
    if (s->model != VSAFE_SIM_CUT_REORDERED) {
        log_clear(s);
    }
    power_fail(s);
    return true;
}

static int sim_read(void *ctx, uint32_t addr, uint8_t *buf, size_t len)
{
    vsafe_sim_nvm_t *s = ctx;
    if (!s->powered) {
        return VSAFE_ERR_POWER_LOSS;
    }
    if (addr > s->size || len > s->size - addr) {
        return VSAFE_ERR_NVM_READ;
    }
    s->st.read_ops++;
    if (s->read_error_at != 0u && s->st.read_ops == s->read_error_at) {
        s->read_error_at = 0;
        return VSAFE_ERR_NVM_READ;
    }
    memcpy(buf, s->mem + addr, len);
    if (s->read_flip_at != 0u && s->st.read_ops == s->read_flip_at) {
        s->read_flip_at = 0;
        if (len > 0u) {
            buf[rnd(s) % len] ^= (uint8_t)(1u << (rnd(s) % 8u));
        }
    }
    return 0;
}

static int sim_prog(void *ctx, uint32_t addr, const uint8_t *buf, size_t len)
{
    vsafe_sim_nvm_t *s = ctx;
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
    s->st.program_ops++;
    s->st.bytes_programmed += len;
    uint32_t p0 = addr / s->port.geo.page_size;
    uint32_t p1 = (uint32_t)((addr + len - 1u) / s->port.geo.page_size);
    for (uint32_t p = p0; p <= p1; p++) {
        if (++s->page_programs[p] > s->st.max_page_programs) {
            s->st.max_page_programs = s->page_programs[p];
        }
    }
    if (op_is_cut(s, 0, addr, buf, (uint32_t)len)) {
        return VSAFE_ERR_POWER_LOSS;
    }
    if (s->port.geo.may_reorder && log_push(s, 0, addr, buf, (uint32_t)len) != 0) {
        return VSAFE_ERR_NO_MEMORY;
    }
    memcpy(s->mem + addr, buf, len);
    return 0;
}

static int sim_erase(void *ctx, uint32_t page)
{
    vsafe_sim_nvm_t *s = ctx;
    uint32_t ps = s->port.geo.page_size;
    if (!s->powered) {
        return VSAFE_ERR_POWER_LOSS;
    }
    if (page >= s->port.geo.page_count) {
        return VSAFE_ERR_NVM_ERASE;
    }
    s->st.erase_ops++;
    if (++s->page_erases[page] > s->st.max_page_erases) {
        s->st.max_page_erases = s->page_erases[page];
    }
    if (op_is_cut(s, 1, page * ps, NULL, ps)) {
        return VSAFE_ERR_POWER_LOSS;
    }
    if (s->port.geo.may_reorder && log_push(s, 1, page * ps, NULL, ps) != 0) {
        return VSAFE_ERR_NO_MEMORY;
    }
    memset(s->mem + (size_t)page * ps, s->port.geo.erased, ps);
    return 0;
}

static int sim_sync(void *ctx)
{
    vsafe_sim_nvm_t *s = ctx;
    if (!s->powered) {
        return VSAFE_ERR_POWER_LOSS;
    }
    s->st.sync_ops++;
    log_clear(s);
    return 0;
}

static bool geo_ok(const vsafe_nvm_geometry_t *g)
{
    return g->prog_unit != 0u && (g->prog_unit & (g->prog_unit - 1u)) == 0u && g->page_size != 0u &&
           g->page_size % g->prog_unit == 0u && g->page_count != 0u &&
           (uint64_t)g->page_size * g->page_count <= 0xFFFFFFFFull;
}

int vsafe_sim_nvm_new(vsafe_sim_nvm_t **out, const vsafe_nvm_geometry_t *geo, uint64_t seed)
{
    *out = NULL;
    if (geo == NULL || !geo_ok(geo)) {
        return VSAFE_ERR_ARGUMENT;
    }
    vsafe_sim_nvm_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    s->size = (size_t)geo->page_size * geo->page_count;
    s->mem = malloc(s->size);
    s->page_programs = calloc(geo->page_count, sizeof *s->page_programs);
    s->page_erases = calloc(geo->page_count, sizeof *s->page_erases);
    if (s->mem == NULL || s->page_programs == NULL || s->page_erases == NULL) {
        vsafe_sim_nvm_free(s);
        return VSAFE_ERR_NO_MEMORY;
    }
    memset(s->mem, geo->erased, s->size);
    s->port.ctx = s;
    s->port.geo = *geo;
    s->port.read = sim_read;
    s->port.prog = sim_prog;
    s->port.erase = sim_erase;
    s->port.sync = sim_sync;
    s->rng = seed;
    s->powered = true;
    *out = s;
    return 0;
}

void vsafe_sim_nvm_free(vsafe_sim_nvm_t *sim)
{
    if (sim == NULL) {
        return;
    }
    log_clear(sim);
    free(sim->log);
    if (sim->mem != NULL) {
        vsafe_wipe(sim->mem, sim->size); /* the whole device image, host keys included */
    }
    free(sim->mem);
    free(sim->page_programs);
    free(sim->page_erases);
    free(sim);
}

vsafe_nvm_t *vsafe_sim_nvm_port(vsafe_sim_nvm_t *sim) { return &sim->port; }

int vsafe_sim_nvm_arm_cut(vsafe_sim_nvm_t *sim, uint64_t n, vsafe_sim_cut_model_t model)
{
    if (n == 0u || model < VSAFE_SIM_CUT_DROPPED || model > VSAFE_SIM_CUT_REORDERED ||
        (model == VSAFE_SIM_CUT_REORDERED && !sim->port.geo.may_reorder)) {
        return VSAFE_ERR_ARGUMENT;
    }
    sim->cut_at = sim->ops + n;
    sim->model = model;
    sim->cut_happened = false;
    return 0;
}

void vsafe_sim_nvm_disarm(vsafe_sim_nvm_t *sim) { sim->cut_at = 0; }

void vsafe_sim_nvm_cut_now(vsafe_sim_nvm_t *sim)
{
    if (sim->powered) {
        sim->cut_at = 0;
        power_fail(sim);
    }
}

bool vsafe_sim_nvm_cut_happened(const vsafe_sim_nvm_t *sim) { return sim->cut_happened; }

void vsafe_sim_nvm_power_on(vsafe_sim_nvm_t *sim)
{
    log_clear(sim);
    sim->powered = true;
    sim->cut_at = 0;
}

void vsafe_sim_nvm_reseed(vsafe_sim_nvm_t *sim, uint64_t seed) { sim->rng = seed; }

void vsafe_sim_nvm_arm_read_error(vsafe_sim_nvm_t *sim, uint64_t n)
{
    sim->read_error_at = n ? sim->st.read_ops + n : 0u;
}

void vsafe_sim_nvm_arm_read_flip(vsafe_sim_nvm_t *sim, uint64_t n)
{
    sim->read_flip_at = n ? sim->st.read_ops + n : 0u;
}

int vsafe_sim_nvm_flip_bit(vsafe_sim_nvm_t *sim, uint32_t addr, unsigned bit)
{
    if (addr >= sim->size || bit > 7u) {
        return VSAFE_ERR_ARGUMENT;
    }
    sim->mem[addr] ^= (uint8_t)(1u << bit);
    return 0;
}

void vsafe_sim_nvm_stats(const vsafe_sim_nvm_t *sim, vsafe_sim_nvm_stats_t *stats)
{
    *stats = sim->st;
    stats->powered = sim->powered;
}

void vsafe_sim_nvm_reset_stats(vsafe_sim_nvm_t *sim)
{
    uint32_t cuts = sim->st.cuts;
    memset(&sim->st, 0, sizeof sim->st);
    sim->st.cuts = cuts;
    memset(sim->page_programs, 0, sim->port.geo.page_count * sizeof *sim->page_programs);
    memset(sim->page_erases, 0, sim->port.geo.page_count * sizeof *sim->page_erases);
    sim->read_error_at = 0;
    sim->read_flip_at = 0;
}

uint32_t vsafe_sim_nvm_page_programs(const vsafe_sim_nvm_t *sim, uint32_t page)
{
    return page < sim->port.geo.page_count ? sim->page_programs[page] : 0u;
}

uint32_t vsafe_sim_nvm_page_erases(const vsafe_sim_nvm_t *sim, uint32_t page)
{
    return page < sim->port.geo.page_count ? sim->page_erases[page] : 0u;
}

uint8_t *vsafe_sim_nvm_mem(vsafe_sim_nvm_t *sim, size_t *len)
{
    if (len) {
        *len = sim->size;
    }
    return sim->mem;
}

int vsafe_sim_nvm_to_file(const vsafe_sim_nvm_t *sim, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return VSAFE_ERR_IO;
    }
    size_t n = fwrite(sim->mem, 1, sim->size, f);
    int rc = fclose(f);
    return (n == sim->size && rc == 0) ? 0 : VSAFE_ERR_IO;
}

int vsafe_sim_nvm_from_file(vsafe_sim_nvm_t **out, const char *path, const vsafe_nvm_geometry_t *geo,
                            uint64_t seed)
{
    *out = NULL;
    if (geo == NULL || geo->page_size == 0u) {
        return VSAFE_ERR_ARGUMENT;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return VSAFE_ERR_NOT_FOUND;
    }
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) {
        size = ftell(f);
    }
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return VSAFE_ERR_IO;
    }
    vsafe_nvm_geometry_t g = *geo;
    if (size == 0 || (unsigned long)size % g.page_size != 0u ||
        (g.page_count != 0u && (unsigned long)size != (unsigned long)g.page_count * g.page_size)) {
        fclose(f);
        return VSAFE_ERR_STORE_TRUNCATED;
    }
    g.page_count = (uint32_t)((unsigned long)size / g.page_size);
    vsafe_sim_nvm_t *s;
    int rc = vsafe_sim_nvm_new(&s, &g, seed);
    if (rc != 0) {
        fclose(f);
        return rc;
    }
    size_t n = fread(s->mem, 1, s->size, f);
    fclose(f);
    if (n != s->size) {
        vsafe_sim_nvm_free(s);
        return VSAFE_ERR_IO;
    }
    *out = s;
    return 0;
}
