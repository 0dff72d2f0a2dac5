/* One served device (device.h).
 *
 * The device (vsafe_se_t) runs on the server's own NVM port, `port` below, which forwards to the
 * state file's NVM (port/posix/nvm_file) or, while a power cut is armed, to a simulated copy of it
 * (port/sim) that cuts at the chosen operation under the chosen write model.
 *
 * Invariants:
 *  1. The device's store calls sync exactly once per commit, at its end (one_sync), so deferring
 *     that sync until the command returned changes nothing on NVM as long as the next command of
 *     the same device starts only after it: commands are serialised by `lock`, and a durable
 *     command's write returns (and the lock is released) only after the committer made the file
 *     durable. A response is therefore never readable, by this client or another, before its
 *     command is durable at the device's level.
 *  2. Between two commands the simulated copy (when armed) holds exactly the bytes of the file:
 *     it is made from the file at arm time and written back, unit by unit where it differs, after
 *     every command. Switching the route between the two is invisible to the store.
 *  3. Power off is a power loss: the device object with every volatile state (sessions, response,
 *     ephemeral keys) is dropped, and power on mounts the NVM again, as a chip does at boot.
 *  4. The state file stays open (and locked) while the device is served, powered or not.
 */
#include "server/device.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "port/posix/nvm_file.h"
#include "store/store.h"
#include "vsafe/mcu.h"
#include "vsafe/se.h"
#include "vsafe/se_wire.h"
#include "vsafe/sim.h"

struct vsafe_server_dev {
    char name[VSAFE_PROTO_NAME_MAX + 1];
    char path[4096]; /* DIR/se.nvm */
    pthread_mutex_t lock;
    vsafe_server_committer_t *committer;
    vsafe_file_nvm_t *file;
    vsafe_nvm_t port;            /* what the device runs on */
    vsafe_sim_nvm_t *sim;        /* armed cut: the route goes here */
    uint64_t sim_ops_at_arm;
    uint32_t cut_n;
    uint32_t *page_erases;
    uint32_t page_count;
    vsafe_se_t *se;              /* NULL: powered off */
    char profile[32];            /* the profile recorded in the state, read at the first power-on */
    int durability;
    int timing;
    bool sync_pending;           /* programs since the last sync the store asked for */
    bool power_lost;             /* the last command written lost power (an armed cut fired) */
    uint64_t commands, durable, device_syncs, power_cycles, cuts;
    uint64_t nvm_bytes, program_ops, erase_ops;
    uint64_t commits_closed;     /* commits of earlier device objects (power cycles) */
    vsafe_pcap_t *pcap;          /* vsafe serve --pcap: every bus transaction, as bus number `bus` */
    uint8_t bus;
    char mcu_path[4096];         /* DIR/mcu.nvm */
    vsafe_mcu_t *mcu;            /* opened by the first DA_EXCHANGE; NULL until then */
};

static void set_why(char *why, size_t cap, const char *fmt, const char *a, const char *b)
{
    if (why != NULL && cap > 0) {
        snprintf(why, cap, fmt, a, b);
    }
}

/* ---- The server's NVM port ---- */

static const vsafe_nvm_t *route(const vsafe_server_dev_t *d)
{
    return d->sim != NULL ? vsafe_sim_nvm_port(d->sim) : vsafe_file_nvm_port(d->file);
}

static int port_read(void *ctx, uint32_t addr, uint8_t *buf, size_t len)
{
    vsafe_server_dev_t *d = ctx;
    const vsafe_nvm_t *r = route(d);
    return r->read(r->ctx, addr, buf, len);
}

static int port_prog(void *ctx, uint32_t addr, const uint8_t *buf, size_t len)
{
    vsafe_server_dev_t *d = ctx;
    const vsafe_nvm_t *r = route(d);
    d->program_ops++;
    d->nvm_bytes += len;
    d->sync_pending = true;
    return r->prog(r->ctx, addr, buf, len);
}

static int port_erase(void *ctx, uint32_t page)
{
    vsafe_server_dev_t *d = ctx;
    const vsafe_nvm_t *r = route(d);
    d->erase_ops++;
    if (page < d->page_count) {
        d->page_erases[page]++;
    }
    d->sync_pending = true;
    return r->erase(r->ctx, page);
}

/* The store's sync: on the simulated copy it is the copy's own (it orders the reorder log); on
 * the file it is deferred to the end of the command (invariant 1). */
static int port_sync(void *ctx)
{
    vsafe_server_dev_t *d = ctx;
    if (d->sim != NULL) {
        const vsafe_nvm_t *r = vsafe_sim_nvm_port(d->sim);
        return r->sync(r->ctx);
    }
    return 0;
}

static int file_sync_now(vsafe_server_dev_t *d)
{
    while (fdatasync(vsafe_file_nvm_fd(d->file)) != 0) {
        if (errno != EINTR) {
            return VSAFE_ERR_IO;
        }
    }
    return 0;
}

/* Makes what the last command wrote durable at the device's level (invariant 1). */
static int settle(vsafe_server_dev_t *d)
{
    if (!d->sync_pending) {
        return 0;
    }
    d->sync_pending = false;
    if (d->durability == VSAFE_PROTO_DURABLE_PROCESS) {
        return 0; /* pwrite has handed it to the kernel: a process crash cannot lose it */
    }
    d->durable++;
    d->device_syncs++;
    if (d->committer != NULL) {
        return vsafe_server_committer_wait(d->committer, vsafe_file_nvm_fd(d->file));
    }
    return file_sync_now(d);
}

/* ---- Device object ---- */

static int open_se(vsafe_server_dev_t *d, char *why, size_t why_cap)
{
    char msg[512] = "";
    if (d->file == NULL) {
        set_why(why, why_cap, "%s: %s", d->path, "the state file is not open (a restore failed)");
        return VSAFE_ERR_IO;
    }
    vsafe_se_options_t o = {.profile = NULL, .state_path = NULL};
    vsafe_se_open_ext_t ext = {.nvm = &d->port, .one_sync = 1, .timing = d->timing, .error_message = msg,
                               .error_message_cap = sizeof msg, .no_identity = 1};
    int rc = vsafe_se_open_ex(&d->se, &o, &ext);
    if (rc != VSAFE_OK) {
        d->se = NULL;
        set_why(why, why_cap, "%s: %s", d->path, msg[0] ? msg : vsafe_status_message(rc));
        return rc;
    }
    if (d->profile[0] == '\0') {
        (void)vsafe_se_profile_name(d->se, d->profile, sizeof d->profile);
    }
    /* A mount may write (a format migration): make it durable before any command runs. */
    if (d->sync_pending && d->sim == NULL) {
        d->sync_pending = false;
        rc = file_sync_now(d);
    }
    return rc;
}

static void close_se(vsafe_server_dev_t *d)
{
    if (d->se != NULL) {
        vsafe_se_stats_t st;
        if (vsafe_se_stats(d->se, &st) == VSAFE_OK) {
            d->commits_closed += st.commits;
        }
        vsafe_se_close(d->se);
        d->se = NULL;
    }
}

static int read_durability(const char *dir)
{
    char p[4200], buf[32] = "";
    snprintf(p, sizeof p, "%s/durability", dir);
    FILE *f = fopen(p, "r");
    if (f == NULL) {
        return VSAFE_PROTO_DURABLE_POWER;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strncmp(buf, "process", 7) == 0 ? VSAFE_PROTO_DURABLE_PROCESS : VSAFE_PROTO_DURABLE_POWER;
}

static int attach_file(vsafe_server_dev_t *d)
{
    int rc = vsafe_file_nvm_open(&d->file, d->path, 0, 0);
    if (rc != VSAFE_OK) {
        d->file = NULL;
        return rc;
    }
    const vsafe_nvm_t *f = vsafe_file_nvm_port(d->file);
    free(d->page_erases);
    d->page_count = f->geo.page_count;
    d->page_erases = calloc(d->page_count ? d->page_count : 1u, sizeof *d->page_erases);
    if (d->page_erases == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    d->port.geo = f->geo;
    return VSAFE_OK;
}

int vsafe_server_dev_open(vsafe_server_dev_t **out, const char *dir, const char *name, int durability,
                          vsafe_server_committer_t *committer, char *why, size_t why_cap)
{
    *out = NULL;
    vsafe_server_dev_t *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    snprintf(d->name, sizeof d->name, "%s", name);
    if ((size_t)snprintf(d->path, sizeof d->path, "%s/se.nvm", dir) >= sizeof d->path ||
        (size_t)snprintf(d->mcu_path, sizeof d->mcu_path, "%s/mcu.nvm", dir) >= sizeof d->mcu_path) {
        free(d);
        return VSAFE_ERR_ARGUMENT;
    }
    pthread_mutex_init(&d->lock, NULL);
    d->committer = committer;
    d->durability = durability >= 0 ? durability : read_durability(dir);
    d->port.ctx = d;
    d->port.read = port_read;
    d->port.prog = port_prog;
    d->port.erase = port_erase;
    d->port.sync = port_sync;
    struct stat sb;
    int rc = lstat(d->path, &sb) != 0 ? VSAFE_ERR_NOT_FOUND : !S_ISREG(sb.st_mode) ? VSAFE_ERR_SYMLINK : VSAFE_OK;
    if (rc == VSAFE_OK) {
        rc = attach_file(d);
    }
    uint32_t img = 0, tag = 0;
    if (rc == VSAFE_OK && vsafe_store_probe(vsafe_file_nvm_port(d->file), &img, &tag) == VSAFE_ERR_STORE_EMPTY) {
        /* Never formatted here: a blank state file is an init that was cut short, and a device made
         * by the server would lack the identity init gives it. */
        set_why(why, why_cap, "%s: %s", d->path, "holds no device state (an interrupted init?): run vsafe init --force");
        rc = VSAFE_ERR_STORE_EMPTY;
    } else if (rc != VSAFE_OK) {
        set_why(why, why_cap, "%s: %s", d->path, vsafe_status_message(rc));
    } else {
        rc = open_se(d, why, why_cap);
    }
    if (rc != VSAFE_OK) {
        vsafe_server_dev_close(d);
        return rc;
    }
    *out = d;
    return VSAFE_OK;
}

void vsafe_server_dev_close(vsafe_server_dev_t *d)
{
    if (d == NULL) {
        return;
    }
    close_se(d);
    vsafe_mcu_close(d->mcu);
    vsafe_sim_nvm_free(d->sim);
    vsafe_file_nvm_close(d->file);
    free(d->page_erases);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

const char *vsafe_server_dev_name(const vsafe_server_dev_t *d) { return d->name; }
const char *vsafe_server_dev_profile(const vsafe_server_dev_t *d) { return d->profile; }
int vsafe_server_dev_durability(const vsafe_server_dev_t *d) { return d->durability; }
int vsafe_server_dev_fd(const vsafe_server_dev_t *d) { return vsafe_file_nvm_fd(d->file); }

/* ---- Power cuts: the simulated copy (invariant 2) ---- */

/* Writes the copy's bytes into the file where they differ (whole program units), then syncs:
 * the state a cut left, or that a command on the copy made, is the file's. */
static int write_back(vsafe_server_dev_t *d)
{
    size_t len = 0;
    uint8_t *mem = vsafe_sim_nvm_mem(d->sim, &len);
    const vsafe_nvm_t *f = vsafe_file_nvm_port(d->file);
    uint8_t cur[VSAFE_FILE_NVM_PROG_UNIT];
    bool wrote = false;
    for (size_t off = 0; off + sizeof cur <= len; off += sizeof cur) {
        int rc = f->read(f->ctx, (uint32_t)off, cur, sizeof cur);
        if (rc == 0 && memcmp(cur, mem + off, sizeof cur) == 0) {
            continue;
        }
        if (rc == 0) {
            rc = f->prog(f->ctx, (uint32_t)off, mem + off, sizeof cur);
        }
        if (rc != 0) {
            return rc;
        }
        wrote = true;
    }
    return wrote ? file_sync_now(d) : 0;
}

/* After a command that ran on the copy: write it back; if the cut happened, the device lost
 * power: drop it and boot it again on the file (what it recovers is the test's subject). */
static int after_sim_command(vsafe_server_dev_t *d)
{
    bool cut = vsafe_sim_nvm_cut_happened(d->sim);
    int rc = write_back(d);
    d->sync_pending = false;
    if (!cut && rc == 0) {
        return 0;
    }
    vsafe_sim_nvm_free(d->sim);
    d->sim = NULL;
    d->cut_n = 0;
    if (cut) {
        d->cuts++;
        d->power_cycles++;
        d->power_lost = true;
    }
    close_se(d);
    if (rc == 0) {
        rc = open_se(d, NULL, 0);
    }
    return rc;
}

int vsafe_server_dev_cut(vsafe_server_dev_t *d, uint32_t n, int model, char *why, size_t why_cap)
{
    pthread_mutex_lock(&d->lock);
    int rc = VSAFE_OK;
    vsafe_sim_nvm_free(d->sim);
    d->sim = NULL;
    d->cut_n = 0;
    if (n > 0 && d->file == NULL) {
        rc = VSAFE_ERR_IO;
    } else if (n > 0) {
        const vsafe_nvm_t *f = vsafe_file_nvm_port(d->file);
        vsafe_sim_nvm_t *s = NULL;
        rc = vsafe_sim_nvm_new(&s, &f->geo, 0x5eed0000u ^ n ^ (uint64_t)model << 40);
        size_t len = 0;
        uint8_t *mem = rc == 0 ? vsafe_sim_nvm_mem(s, &len) : NULL;
        if (rc == 0) {
            rc = f->read(f->ctx, 0, mem, len);
        }
        if (rc == 0) {
            rc = vsafe_sim_nvm_arm_cut(s, n, (vsafe_sim_cut_model_t)model);
        }
        if (rc != 0) {
            vsafe_sim_nvm_free(s);
            set_why(why, why_cap, "%s: cannot arm the cut: %s", d->name, vsafe_status_message(rc));
        } else {
            vsafe_sim_nvm_stats_t st;
            vsafe_sim_nvm_stats(s, &st);
            d->sim_ops_at_arm = st.program_ops + st.erase_ops;
            d->sim = s;
            d->cut_n = n;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

/* ---- I2C ---- */

void vsafe_server_dev_set_pcap(vsafe_server_dev_t *d, vsafe_pcap_t *pcap, uint8_t bus)
{
    pthread_mutex_lock(&d->lock);
    d->pcap = pcap;
    d->bus = bus & 0x7Fu;
    pthread_mutex_unlock(&d->lock);
}

/* The device's bus, transaction by transaction, with the capture: a powered-off device NACKs. */
static int bus_write(vsafe_server_dev_t *d, uint8_t addr7, const uint8_t *buf, size_t len)
{
    int rc = d->se == NULL ? VSAFE_I2C_NACK : vsafe_se_i2c_write(d->se, addr7, buf, len);
    if (d->pcap != NULL && (rc == 0 || rc == VSAFE_I2C_NACK) &&
        vsafe_pcap_record(d->pcap, d->bus, addr7, 0, buf, len, rc == 0) != VSAFE_OK) {
        /* A capture that cannot be written must not fail the device: vsafe_pcap_close reports it. */
    }
    return rc;
}

static int bus_read(vsafe_server_dev_t *d, uint8_t addr7, uint8_t *buf, size_t len)
{
    int rc = d->se == NULL ? VSAFE_I2C_NACK : vsafe_se_i2c_read(d->se, addr7, buf, len);
    if (d->pcap != NULL && (rc == 0 || rc == VSAFE_I2C_NACK) &&
        vsafe_pcap_record(d->pcap, d->bus, addr7, 1, buf, len, rc == 0) != VSAFE_OK) {
        /* As in bus_write. */
    }
    return rc;
}

static int write_locked(vsafe_server_dev_t *d, uint8_t addr7, const uint8_t *buf, size_t len)
{
    int rc = bus_write(d, addr7, buf, len);
    if (rc != 0) {
        return rc;
    }
    d->power_lost = false;
    d->commands++;
    rc = d->sim != NULL ? after_sim_command(d) : settle(d);
    if (rc != 0) {
        /* The command's result may not be durable: its response must never be read. The device
         * goes dark (powered off) as a chip whose NVM failed; power on mounts what NVM holds. */
        close_se(d);
    }
    return rc;
}

int vsafe_server_dev_i2c_write(vsafe_server_dev_t *d, uint8_t addr7, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&d->lock);
    int rc = write_locked(d, addr7, buf, len);
    pthread_mutex_unlock(&d->lock);
    return rc;
}

int vsafe_server_dev_i2c_read(vsafe_server_dev_t *d, uint8_t addr7, uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&d->lock);
    int rc = bus_read(d, addr7, buf, len);
    pthread_mutex_unlock(&d->lock);
    return rc;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int vsafe_server_dev_transceive(vsafe_server_dev_t *d, uint8_t addr7, const uint8_t *cmd, size_t cmd_len,
                                uint8_t *rsp, size_t rsp_cap, size_t *rsp_len)
{
    *rsp_len = 0;
    if (rsp_cap < 5) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    pthread_mutex_lock(&d->lock);
    int rc = write_locked(d, addr7, cmd, cmd_len);
    bool acked = rc == 0;
    /* The timing model keeps the device busy (reads NACKed) for the command's processing time:
     * wait it out here, holding the device as the bus would be held, for at most 2 s. */
    for (unsigned waited = 0; rc == 0; waited++) {
        rc = bus_read(d, addr7, rsp, 5);
        if (rc != VSAFE_I2C_NACK || !d->timing || d->se == NULL || waited >= 2000u) {
            break;
        }
        sleep_ms(1);
        rc = 0;
    }
    if (rc == 0) {
        size_t total = (size_t)vsafe_get_be16(rsp + 1) + 3u;
        if (total > 5 && total <= rsp_cap) {
            rc = bus_read(d, addr7, rsp, total);
        } else {
            total = 5;
        }
        *rsp_len = rc == 0 ? total : 0;
    }
    if (acked && rc == VSAFE_I2C_NACK) {
        rc = d->power_lost ? VSAFE_PROTO_POWER_LOST : VSAFE_PROTO_NO_RESPONSE;
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

/* ---- Power, timing ---- */

int vsafe_server_dev_power(vsafe_server_dev_t *d, int on, char *why, size_t why_cap)
{
    pthread_mutex_lock(&d->lock);
    int rc = VSAFE_OK;
    if (!on && d->se != NULL) {
        close_se(d);
        d->power_cycles++;
    } else if (on && d->se == NULL) {
        rc = open_se(d, why, why_cap);
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

int vsafe_server_dev_reset(vsafe_server_dev_t *d, char *why, size_t why_cap)
{
    pthread_mutex_lock(&d->lock);
    if (d->se != NULL) {
        d->power_cycles++;
    }
    close_se(d);
    int rc = open_se(d, why, why_cap);
    pthread_mutex_unlock(&d->lock);
    return rc;
}

int vsafe_server_dev_timing(vsafe_server_dev_t *d, int on)
{
    pthread_mutex_lock(&d->lock);
    d->timing = on != 0;
    int rc = d->se != NULL ? vsafe_se_set_timing(d->se, d->timing) : VSAFE_OK;
    pthread_mutex_unlock(&d->lock);
    return rc;
}

void vsafe_server_dev_stats(vsafe_server_dev_t *d, uint64_t out[VSAFE_PROTO_STAT_COUNT])
{
    memset(out, 0, sizeof(uint64_t) * VSAFE_PROTO_STAT_COUNT);
    pthread_mutex_lock(&d->lock);
    uint64_t commits = d->commits_closed;
    vsafe_se_stats_t st;
    if (d->se != NULL && vsafe_se_stats(d->se, &st) == VSAFE_OK) {
        commits += st.commits;
    }
    uint32_t wear = 0;
    for (uint32_t p = 0; p < d->page_count; p++) {
        wear = d->page_erases[p] > wear ? d->page_erases[p] : wear;
    }
    out[VSAFE_PROTO_STAT_COMMANDS] = d->commands;
    out[VSAFE_PROTO_STAT_COMMITS] = commits;
    out[VSAFE_PROTO_STAT_NVM_BYTES] = d->nvm_bytes;
    out[VSAFE_PROTO_STAT_PROGRAM_OPS] = d->program_ops;
    out[VSAFE_PROTO_STAT_ERASE_OPS] = d->erase_ops;
    out[VSAFE_PROTO_STAT_WEAR_MAX_ERASES] = wear;
    out[VSAFE_PROTO_STAT_DURABLE_COMMANDS] = d->durable;
    out[VSAFE_PROTO_STAT_DEVICE_SYNCS] = d->device_syncs;
    out[VSAFE_PROTO_STAT_POWER_CYCLES] = d->power_cycles;
    out[VSAFE_PROTO_STAT_CUTS] = d->cuts;
    out[VSAFE_PROTO_STAT_POWERED] = d->se != NULL;
    if (d->sim != NULL) {
        vsafe_sim_nvm_stats_t ss;
        vsafe_sim_nvm_stats(d->sim, &ss);
        uint64_t used = ss.program_ops + ss.erase_ops - d->sim_ops_at_arm;
        out[VSAFE_PROTO_STAT_CUT_ARMED] = used < d->cut_n ? d->cut_n - used : 0;
    }
    out[VSAFE_PROTO_STAT_TIMING] = (uint64_t)d->timing;
    out[VSAFE_PROTO_STAT_DURABILITY] = (uint64_t)d->durability;
    pthread_mutex_unlock(&d->lock);
}

/* ---- State blob ---- */

int vsafe_server_dev_state_get(vsafe_server_dev_t *d, uint8_t **blob, size_t *blob_len)
{
    pthread_mutex_lock(&d->lock);
    if (d->file == NULL) {
        pthread_mutex_unlock(&d->lock);
        return VSAFE_ERR_IO;
    }
    const vsafe_nvm_t *f = vsafe_file_nvm_port(d->file);
    size_t n = (size_t)f->geo.page_count * f->geo.page_size;
    uint8_t *b = malloc(VSAFE_PROTO_BLOB_HDR + n);
    int rc = b == NULL ? VSAFE_ERR_NO_MEMORY : f->read(f->ctx, 0, b + VSAFE_PROTO_BLOB_HDR, n);
    pthread_mutex_unlock(&d->lock);
    if (rc != 0) {
        free(b);
        return rc;
    }
    memcpy(b, VSAFE_PROTO_BLOB_MAGIC, 8);
    vsafe_put_be32(b + 8, (uint32_t)n);
    *blob = b;
    *blob_len = VSAFE_PROTO_BLOB_HDR + n;
    return VSAFE_OK;
}

/* Whether nvm bytes hold a secure element's state that mounts (on a scratch copy). */
static int blob_mounts(const uint8_t *nvm, size_t len, char *why, size_t why_cap)
{
    vsafe_nvm_geometry_t geo = {.prog_unit = VSAFE_FILE_NVM_PROG_UNIT, .page_size = VSAFE_FILE_NVM_PAGE,
                                .page_count = (uint32_t)(len / VSAFE_FILE_NVM_PAGE), .erased = 0xFF,
                                .may_reorder = 1};
    vsafe_sim_nvm_t *s = NULL;
    int rc = vsafe_sim_nvm_new(&s, &geo, 1);
    if (rc != VSAFE_OK) {
        return rc;
    }
    size_t mlen = 0;
    memcpy(vsafe_sim_nvm_mem(s, &mlen), nvm, len);
    uint32_t img = 0, tag = 0;
    rc = vsafe_store_probe(vsafe_sim_nvm_port(s), &img, &tag);
    if (rc == VSAFE_OK) {
        char msg[400] = "";
        vsafe_se_t *se = NULL;
        vsafe_se_open_ext_t ext = {.nvm = vsafe_sim_nvm_port(s), .read_only = 1, .error_message = msg,
                                   .error_message_cap = sizeof msg, .no_identity = 1};
        rc = vsafe_se_open_ex(&se, NULL, &ext);
        vsafe_se_close(se);
        if (rc != VSAFE_OK) {
            set_why(why, why_cap, "the blob's state does not mount: %s%s", msg[0] ? msg : vsafe_status_message(rc),
                    "");
        }
    } else {
        set_why(why, why_cap, "the blob holds no device state: %s%s", vsafe_status_message(rc), "");
    }
    vsafe_sim_nvm_free(s);
    return rc == VSAFE_OK ? VSAFE_OK : VSAFE_ERR_SERVER_STATE_BLOB;
}

/* Replaces the state file by tmp + rename, so a crash leaves the old state or the new one. */
static int replace_file(const char *path, const uint8_t *nvm, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.restore", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return VSAFE_ERR_IO;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, nvm + done, len - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        done += (size_t)w;
    }
    int rc = done == len && fsync(fd) == 0 ? 0 : VSAFE_ERR_IO;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = VSAFE_ERR_IO;
    }
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    int dfd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        rc = fsync(dfd) == 0 ? 0 : VSAFE_ERR_IO;
        close(dfd);
    }
    return rc;
}

int vsafe_server_dev_state_set(vsafe_server_dev_t *d, const uint8_t *blob, size_t blob_len, char *why,
                               size_t why_cap)
{
    if (blob_len < VSAFE_PROTO_BLOB_HDR || memcmp(blob, VSAFE_PROTO_BLOB_MAGIC, 8) != 0) {
        set_why(why, why_cap, "not a vsafe state blob (magic %s expected)%s", VSAFE_PROTO_BLOB_MAGIC, "");
        return VSAFE_ERR_SERVER_STATE_BLOB;
    }
    uint32_t n = vsafe_get_be32(blob + 8);
    if ((size_t)n != blob_len - VSAFE_PROTO_BLOB_HDR || n == 0u || n % VSAFE_FILE_NVM_PAGE != 0u) {
        set_why(why, why_cap, "state blob length is inconsistent or not whole %s-byte pages%s", "4096", "");
        return VSAFE_ERR_SERVER_STATE_BLOB;
    }
    const uint8_t *nvm = blob + VSAFE_PROTO_BLOB_HDR;
    int rc = blob_mounts(nvm, n, why, why_cap);
    if (rc != VSAFE_OK) {
        return rc;
    }
    pthread_mutex_lock(&d->lock);
    close_se(d);
    vsafe_sim_nvm_free(d->sim);
    d->sim = NULL;
    d->cut_n = 0;
    d->power_cycles++;
    rc = replace_file(d->path, nvm, n);
    if (rc == VSAFE_OK) {
        vsafe_file_nvm_close(d->file);
        d->file = NULL;
        rc = attach_file(d);
    }
    if (rc == VSAFE_OK) {
        rc = open_se(d, why, why_cap);
    } else {
        set_why(why, why_cap, "%s: cannot write the restored state: %s", d->path, vsafe_status_message(rc));
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

int vsafe_server_dev_da(vsafe_server_dev_t *d, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                        size_t *out_len, int *outcome, char *why, size_t why_cap)
{
    *out_len = 0;
    *outcome = VSAFE_OK;
    pthread_mutex_lock(&d->lock);
    int rc = VSAFE_OK;
    if (d->mcu == NULL) {
        /* Opening would create a fresh MCU (its SoC ID and secrets drawn now): a board without
         * mcu.nvm is refused instead, as the CLI's read-only commands refuse it. */
        struct stat sb;
        if (lstat(d->mcu_path, &sb) != 0) {
            rc = VSAFE_ERR_NOT_FOUND;
            set_why(why, why_cap, "%s: %s", d->mcu_path, "no MCU on this board (no mcu.nvm)");
        } else if (!S_ISREG(sb.st_mode)) {
            rc = VSAFE_ERR_SYMLINK;
            set_why(why, why_cap, "%s: %s", d->mcu_path, "is not a regular file");
        } else {
            /* Attach, not power-on reset: the board stayed powered, as `vsafe da` attaches. */
            vsafe_mcu_options_t o = {.state_path = d->mcu_path, .power_on_reset = 0};
            rc = vsafe_mcu_open(&d->mcu, &o);
            if (rc != VSAFE_OK) {
                d->mcu = NULL;
                set_why(why, why_cap, "%s: %s", d->mcu_path, vsafe_status_message(rc));
            }
        }
    }
    if (rc == VSAFE_OK) {
        *outcome = vsafe_mcu_da_request(d->mcu, in, in_len, out, out_cap, out_len);
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}
