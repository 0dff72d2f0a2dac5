/* make bench, device commands: operations per second and latency of the virtual secure element
 * in process, through the contract's I2C entry points exactly as a host drives them (one write, a
 * 5-byte read, a full read), on a volatile and on a file-backed SPL05 device, next to the real
 * chip's processing time of the same command; the session-authenticated Decrement; the wear of a
 * simulated flash. Figures are printed; nothing here is a pass/fail test.
 *   vsafe_bench [--json] [--targets FILE] [SECONDS_PER_FIGURE [DECREMENTS_ON_SIMULATED_FLASH]] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_report.h"
#include "store/store.h"
#include "vsafe/host.h"
#include "vsafe/se.h"
#include "vsafe/sim.h"
#include "vsafe/se_wire.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t frame(const uint8_t *body, size_t n, uint8_t *out)
{
    memcpy(out, body, n);
    uint16_t c = vsafe_crc16(body, n);
    out[n] = (uint8_t)(c >> 8);
    out[n + 1] = (uint8_t)c;
    return n + 2;
}

static void transact(vsafe_se_t *se, const uint8_t *cmd, size_t n, uint8_t *rsp)
{
    if (vsafe_se_i2c_write(se, 0x20, cmd, n) != 0 || vsafe_se_i2c_read(se, 0x20, rsp, 5) != 0) {
        fprintf(stderr, "bench: device did not answer\n");
        exit(1);
    }
    size_t len = ((size_t)rsp[1] << 8 | rsp[2]) + 3u;
    if (len > 5u && vsafe_se_i2c_read(se, 0x20, rsp, len) != 0) {
        exit(1);
    }
    if (rsp[0] != 0) {
        fprintf(stderr, "bench: device status %s\n", vsafe_se_wire_status_name(rsp[0]));
        exit(1);
    }
}

typedef struct {
    const char *name;
    uint8_t cmd[64];
    size_t len;
} op_t;

enum { OP_READ, OP_UPDATE, OP_DECREMENT, OP_RANDOM, OP_ECHO, OP_COUNT };

/* Read 16 B of zone 1, Update 16 B of zone 1, Decrement zone 5 by 1 writing 16 B, Generate
 * random 32 B, Echo 16 B. */
static void build_ops(op_t ops[OP_COUNT])
{
    static const uint8_t rd[] = {0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10};
    static const uint8_t rnd[] = {0x02, 0x00, 0x20};
    uint8_t up[5 + 16] = {0x06, 0x00, 0x01, 0x00, 0x20};
    uint8_t dec[9 + 16] = {0x04, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
    uint8_t echo[1 + 16] = {0x00};
    for (int i = 0; i < 16; i++) {
        up[5 + i] = (uint8_t)i;
        dec[9 + i] = (uint8_t)(0xA0 + i);
        echo[1 + i] = (uint8_t)(0x30 + i);
    }
    ops[OP_READ].name = "Read 16 B";
    ops[OP_READ].len = frame(rd, sizeof rd, ops[OP_READ].cmd);
    ops[OP_UPDATE].name = "Update 16 B";
    ops[OP_UPDATE].len = frame(up, sizeof up, ops[OP_UPDATE].cmd);
    ops[OP_DECREMENT].name = "Decrement +16 B data";
    ops[OP_DECREMENT].len = frame(dec, sizeof dec, ops[OP_DECREMENT].cmd);
    ops[OP_RANDOM].name = "Generate random 32 B";
    ops[OP_RANDOM].len = frame(rnd, sizeof rnd, ops[OP_RANDOM].cmd);
    ops[OP_ECHO].name = "Echo 16 B";
    ops[OP_ECHO].len = frame(echo, sizeof echo, ops[OP_ECHO].cmd);
}

typedef struct {
    vsafe_se_t *se;
    const op_t *op;
} op_ctx_t;

static int do_op(void *arg)
{
    op_ctx_t *c = arg;
    uint8_t rsp[VSAFE_SE_RSP_WIRE_MAX];
    transact(c->se, c->op->cmd, c->op->len, rsp);
    return 1;
}

static vsafe_bench_result_t measure_op(vsafe_se_t *se, const op_t *op, double seconds)
{
    op_ctx_t c = {se, op};
    vsafe_bench_result_t r;
    vsafe_bench_measure(do_op, &c, seconds, 20, &r);
    vsafe_bench_op(op->name, vsafe_se_command_time_ms(op->cmd, op->len), &r);
    return r;
}

typedef struct {
    vsafe_host_t *h;
    uint8_t data[64];
} hash_ctx_t;

/* SHA-256 of 64 bytes on the device: Start hash with the data, then an empty Finish hash. */
static int do_hash(void *arg)
{
    hash_ctx_t *c = arg;
    uint8_t digest[32];
    size_t n = 0;
    return vsafe_host_hash(c->h, VSAFE_HOST_PROT_TABLE, VSAFE_HASH_SHA256, c->data, sizeof c->data, digest,
                           sizeof digest, &n) == VSAFE_OK &&
           n == 32;
}

/* The CRC-16 work every Decrement costs anyway: the command frame checked, the response made. */
static double crc_rate(const op_t *dec, double seconds)
{
    static const uint8_t rsp[] = {0x00, 0xFF, 0xFF, 0xFF, 0xFE};
    volatile uint16_t sink = 0;
    long n = 0, batch = 10000;
    double t0 = now_s(), t;
    do {
        for (long i = 0; i < batch; i++) {
            sink ^= vsafe_crc16(dec->cmd, dec->len - 2);
            sink ^= vsafe_crc16_continue(vsafe_crc16(rsp, 1), rsp + 1, 4);
        }
        n += batch;
        t = now_s() - t0;
    } while (t < seconds);
    (void)sink;
    return (double)n / t;
}

static double fdatasync_floor(const char *path, int iters)
{
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        return 0;
    }
    uint8_t buf[64];
    memset(buf, 0x5A, sizeof buf);
    double t0 = now_s();
    for (int i = 0; i < iters; i++) {
        if (pwrite(fd, buf, sizeof buf, 8192 + (i % 64) * 64) != (ssize_t)sizeof buf || fdatasync(fd) != 0) {
            break;
        }
    }
    double t = (now_s() - t0) / iters;
    close(fd);
    return t;
}

/* Write amplification and wear on a simulated flash over `count` decrements. */
static void bench_wear(long count)
{
    vsafe_nvm_geometry_t geo = {.prog_unit = 16, .page_size = 4096, .page_count = 0, .erased = 0xFF};
    geo.page_count = vsafe_store_nvm_bytes(20u * 1024u, 64u * 1024u, geo.page_size) / geo.page_size;
    vsafe_sim_nvm_t *sim = NULL;
    if (vsafe_sim_nvm_new(&sim, &geo, 7) != 0) {
        return;
    }
    vsafe_se_open_ext_t ext = {0};
    ext.nvm = vsafe_sim_nvm_port(sim);
    vsafe_se_t *se = NULL;
    if (vsafe_se_open_ex(&se, NULL, &ext) != 0) {
        fprintf(stderr, "bench: cannot open a device on the simulated NVM\n");
        vsafe_sim_nvm_free(sim);
        return;
    }
    op_t ops[OP_COUNT];
    build_ops(ops);
    uint8_t rsp[VSAFE_SE_RSP_WIRE_MAX];
    vsafe_sim_nvm_reset_stats(sim);
    double t0 = now_s();
    for (long i = 0; i < count; i++) {
        transact(se, ops[OP_DECREMENT].cmd, ops[OP_DECREMENT].len, rsp);
    }
    double t = now_s() - t0;
    vsafe_sim_nvm_stats_t s;
    vsafe_sim_nvm_stats(sim, &s);
    char title[200], how[200];
    snprintf(title, sizeof title, "Flash wear: %ld decrements with 16 B data on a simulated flash", count);
    snprintf(how, sizeof how, "%u pages of %u B, program unit %u B; payload staged per command: 20 B",
             geo.page_count, geo.page_size, geo.prog_unit);
    vsafe_bench_section(title, how, 0);
    vsafe_bench_figure("NVM bytes programmed per command", "%.1f", (double)s.bytes_programmed / count, "B");
    vsafe_bench_figure("program operations per command", "%.2f", (double)s.program_ops / count, "");
    vsafe_bench_figure("most-worn page: program operations", "%.0f", (double)s.max_page_programs, "");
    vsafe_bench_figure("most-worn page: erases", "%.0f", (double)s.max_page_erases, "");
    vsafe_bench_figure("rate on the simulated flash", "%.0f", count / t, "decrements/s");
    vsafe_se_close(se);
    vsafe_sim_nvm_free(sim);
}

/* ---- Session-authenticated commands ---- */
typedef struct {
    vsafe_se_t *se;
    uint8_t *log; /* recorded command frames: [u16 len][frame] */
    size_t log_len, log_cap;
} rec_t;

static int rec_write(void *ctx, uint8_t addr7, const uint8_t *buf, size_t len)
{
    rec_t *r = ctx;
    if (r->log != NULL && r->log_len + len + 2 <= r->log_cap) {
        r->log[r->log_len++] = (uint8_t)(len >> 8);
        r->log[r->log_len++] = (uint8_t)len;
        memcpy(r->log + r->log_len, buf, len);
        r->log_len += len;
    }
    return vsafe_se_i2c_write(r->se, addr7, buf, len);
}

static int rec_read(void *ctx, uint8_t addr7, uint8_t *buf, size_t len)
{
    return vsafe_se_i2c_read(((rec_t *)ctx)->se, addr7, buf, len);
}

static const uint8_t k_mac[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                  0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
static const uint8_t k_cip[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
                                  0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};

/* A device with a host key whose command table makes Decrement HOST with command and response
 * encryption. */
static vsafe_host_t *secure_device(rec_t *r)
{
    vsafe_host_transport_t tr = {.write = rec_write, .read = rec_read, .ctx = r};
    vsafe_host_t *h = NULL;
    if (vsafe_se_open(&r->se, NULL) != 0 || vsafe_host_open(&h, &tr) != 0 || vsafe_host_init(h) != 0 ||
        vsafe_host_provision_plaintext(h, VSAFE_HOST_KEY_AES128, k_mac, k_cip) != 0 ||
        vsafe_host_put_command_ac(h, VSAFE_HOST_PROT_NONE, VSAFE_SE_CMD_DECREMENT, 0, VSAFE_SE_CMD_AC_HOST) != 0 ||
        vsafe_host_put_command_enc(h, VSAFE_HOST_PROT_NONE, VSAFE_SE_CMD_DECREMENT, 0,
                                   VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP) != 0 ||
        vsafe_host_init(h) != 0 || vsafe_host_session_open(h, k_mac, k_cip, VSAFE_HOST_KEY_AES128) != 0) {
        fprintf(stderr, "bench: cannot set up the secure channel\n");
        exit(1);
    }
    return h;
}

typedef struct {
    vsafe_host_t *h;
    uint8_t data[16];
} sess_ctx_t;

static int do_sess_decrement(void *arg)
{
    sess_ctx_t *c = arg;
    return vsafe_host_decrement(c->h, VSAFE_HOST_PROT_MAC, 5, 1, 0, c->data, sizeof c->data, NULL) == VSAFE_OK;
}

static int do_sess_read(void *arg)
{
    sess_ctx_t *c = arg;
    uint8_t out[16];
    return vsafe_host_read_zone(c->h, VSAFE_HOST_PROT_MAC, 1, 0, out, sizeof out) == VSAFE_OK;
}

typedef struct {
    vsafe_se_t *se;
    const uint8_t *log;
    size_t off, len;
} replay_ctx_t;

static int do_replay(void *arg)
{
    replay_ctx_t *c = arg;
    uint8_t rsp[VSAFE_SE_RSP_WIRE_MAX];
    if (c->off + 2u > c->len) {
        return 0;
    }
    size_t n = (size_t)c->log[c->off] << 8 | c->log[c->off + 1];
    transact(c->se, c->log + c->off + 2, n, rsp);
    c->off += 2u + n;
    return 1;
}

/* Returns the device-only rate of the authenticated + encrypted Decrement. */
static double bench_secure(double secs)
{
    static const uint8_t dec_hdr = VSAFE_SE_CMD_DECREMENT, read_hdr = VSAFE_SE_CMD_READ;
    vsafe_bench_section("Session-authenticated commands, volatile SPL05 device",
                        "host key session: C-MAC and R-MAC on every command; the Decrement also AES-128-CBC "
                        "encrypted both ways, as its command table requires",
                        1);
    /* End to end: host library (C-MAC, encryption, R-MAC check, decryption) + device. */
    rec_t a = {0};
    sess_ctx_t sc = {.h = secure_device(&a)};
    memset(sc.data, 0x3C, sizeof sc.data);
    vsafe_bench_result_t r;
    vsafe_bench_measure(do_sess_decrement, &sc, secs, 20, &r);
    vsafe_bench_op("Decrement +16 B, host library + device", vsafe_se_command_time_ms(&dec_hdr, 1), &r);
    vsafe_bench_measure(do_sess_read, &sc, secs, 20, &r);
    vsafe_bench_op("Read 16 B with MACs, host library + device", vsafe_se_command_time_ms(&read_hdr, 1), &r);
    vsafe_host_close(sc.h);
    vsafe_se_close(a.se);

    /* Device only: record the frames a host sends, then replay them into an identical device. */
    long frames = 400000;
    rec_t b = {0};
    vsafe_host_t *h = secure_device(&b);
    b.log_cap = (size_t)frames * 64u;
    b.log = malloc(b.log_cap);
    vsafe_bench_need(b.log != NULL, "memory");
    b.log_len = 0;
    for (long i = 0; i < frames; i++) {
        vsafe_bench_need(vsafe_host_decrement(h, VSAFE_HOST_PROT_MAC, 5, 1, 0, sc.data, sizeof sc.data, NULL) ==
                             VSAFE_OK,
                         "recording a protected decrement");
    }
    vsafe_host_close(h);
    vsafe_se_close(b.se);
    rec_t c = {0};
    h = secure_device(&c);
    replay_ctx_t rc = {.se = c.se, .log = b.log, .len = b.log_len};
    vsafe_bench_measure_n(do_replay, &rc, secs, 20, frames / 2, &r);
    vsafe_bench_op("Decrement +16 B, device only", vsafe_se_command_time_ms(&dec_hdr, 1), &r);
    vsafe_bench_note("device only: frames a host library sent, recorded, then replayed into an identical device");
    free(b.log);
    vsafe_host_close(h);
    vsafe_se_close(c.se);
    return r.per_s;
}

int main(int argc, char **argv)
{
    vsafe_bench_init("device", &argc, argv);
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    long wear = argc > 2 ? atol(argv[2]) : 1000000L;
    if (argc > 3 || secs <= 0 || wear <= 0) {
        fprintf(stderr, "usage: vsafe_bench [--json] [--targets FILE] [SECONDS_PER_FIGURE [DECREMENTS]]\n");
        return 2;
    }
    op_t ops[OP_COUNT];
    build_ops(ops);
    if (!vsafe_bench_rep.json) {
        printf("vsafe bench: device commands (%.1f s per row; latency: per operation, each including one "
               "clock read of %.0f ns)\n",
               secs, vsafe_bench_clock_ns());
        printf("chip: the real STSAFE-A120's processing time of the command; speed-up: ops/s over the chip's "
               "1000 / chip ms\n");
    }

    /* Volatile device. A first open/close warms OpenSSL's process-wide state (providers, DRBG),
     * which is shared by every device and not part of one device's memory. */
    vsafe_se_t *se = NULL;
    if (vsafe_se_open(&se, NULL) != 0) {
        fprintf(stderr, "bench: cannot open a volatile device\n");
        return 1;
    }
    vsafe_se_close(se);
    struct mallinfo2 m0 = mallinfo2();
    if (vsafe_se_open(&se, NULL) != 0) {
        fprintf(stderr, "bench: cannot open a volatile device\n");
        return 1;
    }
    struct mallinfo2 m1 = mallinfo2();
    size_t mem_reported = vsafe_se_memory(se), mem_heap = (size_t)(m1.uordblks - m0.uordblks);
    vsafe_bench_section("Device commands, volatile SPL05 device (state in RAM)",
                        "in process: vsafe_se_i2c_write, then vsafe_se_i2c_read of 5 bytes and of the rest, "
                        "as a host drives the bus",
                        1);
    double vol[OP_COUNT];
    for (int i = 0; i < OP_COUNT; i++) {
        vol[i] = measure_op(se, &ops[i], secs).per_s;
    }
    hash_ctx_t hc = {0};
    memset(hc.data, 0x61, sizeof hc.data);
    vsafe_bench_need(vsafe_host_open_se(&hc.h, se) == VSAFE_OK && vsafe_host_init(hc.h) == VSAFE_OK, "host");
    vsafe_bench_result_t r;
    vsafe_bench_measure(do_hash, &hc, secs, 20, &r);
    static const uint8_t ext_hdr = VSAFE_SE_CMD_EXTENDED;
    vsafe_bench_op("SHA-256 of 64 B (Start + Finish hash)", 2.0 * vsafe_se_command_time_ms(&ext_hdr, 1), &r);
    vsafe_bench_note("SHA-256: through the host library, two commands; chip: the timing model's 500 ms for an "
                     "extended command, twice");
    vsafe_host_close(hc.h);
    double c = crc_rate(&ops[OP_DECREMENT], secs);
    vsafe_se_close(se);

    /* File-backed device */
    char dir[] = "/tmp/vsafe-bench-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/se.nvm", dir);
    vsafe_se_options_t o = {"spl05", path};
    if (vsafe_se_open(&se, &o) != 0) {
        fprintf(stderr, "bench: cannot open a file-backed device\n");
        return 1;
    }
    vsafe_bench_section("Device commands, file-backed SPL05 device (every commit on disk: pwrite + fdatasync)",
                        "in process, as above; the state file is in /tmp", 1);
    double fsecs = secs < 0.5 ? secs : secs / 2;
    double dec_us = 0, per[3] = {0};
    for (int i = OP_READ; i <= OP_DECREMENT; i++) {
        vsafe_se_stats_t s0, s1;
        (void)vsafe_se_stats(se, &s0);
        vsafe_bench_result_t fr = measure_op(se, &ops[i], fsecs);
        (void)vsafe_se_stats(se, &s1);
        per[i] = s1.commits > s0.commits ? (double)(s1.bytes_programmed - s0.bytes_programmed) /
                                               (double)(s1.commits - s0.commits)
                                         : 0.0;
        dec_us = 1e6 / fr.per_s;
    }
    for (int i = OP_READ; i <= OP_DECREMENT; i++) {
        char label[80];
        snprintf(label, sizeof label, "%s: NVM bytes written per commit", ops[i].name);
        vsafe_bench_figure(label, "%.1f", per[i], "B");
    }
    vsafe_se_close(se);
    double floor = fdatasync_floor(path, 300);
    vsafe_bench_figure("bare pwrite + fdatasync on the same file", "%.1f", floor * 1e6, "us");
    unlink(path);
    rmdir(dir);
    bench_wear(wear);
    double sec_dev = bench_secure(secs);

    char d[200];
    snprintf(d, sizeof d, "volatile device, Decrement +16 B data, from the table above");
    vsafe_bench_target("decrements/s, volatile device", 1, 3000000, vol[OP_DECREMENT], "%.0f", "/s", d);
    snprintf(d, sizeof d, "CRC-16 work of one Decrement (command checked, response made): %.1f ns; Decrement %.1f ns",
             1e9 / c, 1e9 / vol[OP_DECREMENT]);
    vsafe_bench_target("Decrement time / its CRC-16 work", 0, 6.0, c / vol[OP_DECREMENT], "%.2f", "x", d);
    snprintf(d, sizeof d, "%zu B reported by vsafe_se_memory, %zu B heap growth at open (the larger is shown)",
             mem_reported, mem_heap);
    vsafe_bench_target("memory of one open volatile device", 0, 65536,
                       (double)(mem_reported > mem_heap ? mem_reported : mem_heap), "%.0f", "B", d);
    snprintf(d, sizeof d, "file-backed Decrement %.1f us, bare pwrite + fdatasync %.1f us", dec_us, floor * 1e6);
    vsafe_bench_target("file-backed Decrement / fdatasync floor", 0, 1.5, floor > 0 ? dec_us / (floor * 1e6) : 0.0,
                       "%.2f", "x", d);
    vsafe_bench_target("authenticated + encrypted Decrement, device only", 1, 500000, sec_dev, "%.0f", "/s",
                       "C-MAC, R-MAC, AES-128-CBC both ways, 16 B data; recorded frames replayed");
    return vsafe_bench_finish();
}
