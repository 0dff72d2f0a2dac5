/* make bench: throughput and latency of the virtual secure element, measured in process through
 * the contract's I2C entry points exactly as a host drives them (one write, a 5-byte read, a full
 * read). Figures are printed; nothing here is a pass/fail test. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static void build_ops(op_t ops[3])
{
    static const uint8_t rd[] = {0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10};
    uint8_t up[5 + 16] = {0x06, 0x00, 0x01, 0x00, 0x20};
    uint8_t dec[9 + 16] = {0x04, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
    for (int i = 0; i < 16; i++) {
        up[5 + i] = (uint8_t)i;
        dec[9 + i] = (uint8_t)(0xA0 + i);
    }
    ops[0].name = "Read 16 B";
    ops[0].len = frame(rd, sizeof rd, ops[0].cmd);
    ops[1].name = "Update 16 B";
    ops[1].len = frame(up, sizeof up, ops[1].cmd);
    ops[2].name = "Decrement +16 B data";
    ops[2].len = frame(dec, sizeof dec, ops[2].cmd);
}

/* Operations per second of one op over about `seconds`. */
static double rate(vsafe_se_t *se, const op_t *op, double seconds)
{
    uint8_t rsp[VSAFE_SE_RSP_WIRE_MAX];
    long n = 0, batch = 1000;
    double t0 = now_s(), t;
    do {
        for (long i = 0; i < batch; i++) {
            transact(se, op->cmd, op->len, rsp);
        }
        n += batch;
        t = now_s() - t0;
    } while (t < seconds);
    return (double)n / t;
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

/* ---- Issue 3: write amplification and wear on a simulated flash, one million decrements ---- */
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
    op_t ops[3];
    build_ops(ops);
    uint8_t rsp[VSAFE_SE_RSP_WIRE_MAX];
    vsafe_sim_nvm_reset_stats(sim);
    double t0 = now_s();
    for (long i = 0; i < count; i++) {
        transact(se, ops[2].cmd, ops[2].len, rsp);
    }
    double t = now_s() - t0;
    vsafe_sim_nvm_stats_t s;
    vsafe_sim_nvm_stats(sim, &s);
    printf("simulated flash (%u pages of %u B, program unit %u B), %ld decrements with 16 B data\n",
           geo.page_count, geo.page_size, geo.prog_unit, count);
    printf("  NVM bytes programmed per command: %.1f (payload staged: 20 B)\n", (double)s.bytes_programmed / count);
    printf("  program operations per command:   %.2f\n", (double)s.program_ops / count);
    printf("  most-worn page: %u program operations, %u erases (over %u pages)\n", s.max_page_programs,
           s.max_page_erases, geo.page_count);
    printf("  rate on the simulated flash: %.0f decrements/s\n\n", count / t);
    vsafe_se_close(se);
    vsafe_sim_nvm_free(sim);
}

/* ---- Issue 4: authenticated and encrypted Decrement ---- */
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

static void bench_secure(double secs)
{
    uint8_t data[16];
    memset(data, 0x3C, sizeof data);
    /* End to end: host library (C-MAC, encryption, R-MAC check, decryption) + device. */
    rec_t a = {0};
    vsafe_host_t *h = secure_device(&a);
    long n = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 1000; i++) {
            uint32_t ctr;
            if (vsafe_host_decrement(h, VSAFE_HOST_PROT_MAC, 5, 1, 0, data, sizeof data, &ctr) != 0) {
                fprintf(stderr, "bench: protected decrement failed\n");
                exit(1);
            }
        }
        n += 1000;
        t = now_s() - t0;
    } while (t < secs);
    double e2e = n / t;
    vsafe_host_close(h);
    vsafe_se_close(a.se);

    /* Device only: record the frames a host sends, then replay them into an identical device. */
    long frames = (long)(e2e * secs < 200000 ? e2e * secs : 200000);
    rec_t b = {0};
    h = secure_device(&b);
    b.log_cap = (size_t)frames * 64u;
    b.log = malloc(b.log_cap);
    b.log_len = 0;
    for (long i = 0; i < frames; i++) {
        if (vsafe_host_decrement(h, VSAFE_HOST_PROT_MAC, 5, 1, 0, data, sizeof data, NULL) != 0) {
            exit(1);
        }
    }
    vsafe_host_close(h);
    vsafe_se_close(b.se);
    rec_t c = {0};
    h = secure_device(&c);
    uint8_t rsp[VSAFE_SE_RSP_WIRE_MAX];
    t0 = now_s();
    for (size_t off = 0; off < b.log_len;) {
        size_t len = (size_t)b.log[off] << 8 | b.log[off + 1];
        transact(c.se, b.log + off + 2, len, rsp);
        off += 2 + len;
    }
    t = now_s() - t0;
    printf("authenticated + encrypted Decrement (C-MAC, R-MAC, AES-128-CBC both ways, 16 B data)\n");
    printf("  device only (recorded frames replayed): %.0f /s  (%ld frames; target >= 500,000)\n", frames / t,
           frames);
    printf("  end to end with the host library:       %.0f /s\n\n", e2e);
    free(b.log);
    vsafe_host_close(h);
    vsafe_se_close(c.se);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    op_t ops[3];
    build_ops(ops);
    printf("vsafe bench (in process, through vsafe_se_i2c_write/read; %.1f s per figure)\n\n", secs);

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
    printf("volatile SPL05 device\n");
    double r[3];
    for (int i = 0; i < 3; i++) {
        r[i] = rate(se, &ops[i], secs);
        printf("  %-22s %12.0f ops/s  %8.1f ns/op\n", ops[i].name, r[i], 1e9 / r[i]);
    }
    double c = crc_rate(&ops[2], secs);
    printf("  CRC-16 work of one Decrement (command + response): %.1f ns\n", 1e9 / c);
    printf("  Decrement / CRC-16 ratio: %.2fx   (target <= 6x; decrements/s target >= 3,000,000)\n", c / r[2]);
    printf("  memory of one open device: %zu bytes reported by vsafe_se_memory, %zu bytes heap growth at open"
           " (target <= 65536)\n\n",
           vsafe_se_memory(se), (size_t)(m1.uordblks - m0.uordblks));
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
    printf("file-backed SPL05 device (%s)\n", dir);
    double fsecs = secs < 0.5 ? secs : secs / 2;
    double dec_us = 0;
    for (int i = 0; i < 3; i++) {
        vsafe_se_stats_t s0, s1;
        (void)vsafe_se_stats(se, &s0);
        double fr = rate(se, &ops[i], fsecs);
        (void)vsafe_se_stats(se, &s1);
        double per = s1.commits > s0.commits ? (double)(s1.bytes_programmed - s0.bytes_programmed) /
                                                   (double)(s1.commits - s0.commits)
                                             : 0.0;
        printf("  %-22s %10.0f ops/s  %8.1f us/op  %6.1f NVM bytes/commit\n", ops[i].name, fr, 1e6 / fr, per);
        dec_us = 1e6 / fr;
    }
    vsafe_se_close(se);
    double floor = fdatasync_floor(path, 300);
    printf("  bare pwrite+fdatasync on the same file: %.1f us; Decrement / floor = %.2fx (target <= 1.5x)\n",
           floor * 1e6, floor > 0 ? dec_us / (floor * 1e6) : 0.0);
    unlink(path);
    rmdir(dir);
    printf("\n");
    bench_wear(argc > 2 ? atol(argv[2]) : 1000000L);
    bench_secure(secs);
    return 0;
}
