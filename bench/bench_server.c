/* make bench, the device server: `vsafe serve` as a child process, clients in threads of this
 * process, each on its own connection and its own device (bench_report.h prints the figures).
 *   - round trip of one command (Decrement, a state-changing command; Read) on one connection;
 *   - commands/s and latency with 1, 8 and 64 clients on as many devices, durability process and
 *     power, with group commit and without (--no-group-commit);
 *   - a full debug-authentication exchange with a board's MCU over the socket (DA_EXCHANGE,
 *     docs/SOCKET.md): Discovery, Authentication Start, the three certificates, the token that
 *     regresses the MCU (erase and reset included);
 *   - group commit: the 64-device durable rate over the 1-device durable rate of the same run,
 *     and sync calls per durable command (from the server's STATS);
 *   - memory per served device (the server's RSS with 64 devices minus with 1, over 63) and the
 *     time to open one (the server's start-up time with 64 devices minus with 1, over 63).
 * Usage: vsafe_bench_server [--json] [--targets FILE] VSAFE_CLI [SECONDS_PER_RUN] */
#include <pthread.h>

#include "../tests/server/server_util.h"
#include "bench_report.h"
#include "vsafe/mcu.h"

#define ZONE 5

static const uint8_t dec_hdr = 0x04, read_hdr = 0x05;

typedef struct {
    const char *sock;
    char name[16];
    double until;
    uint64_t done;
    int ok;
    vsafe_bench_hist_t lat;
} client_t;

static void *client(void *arg)
{
    client_t *c = arg;
    vsafe_host_t *h = su_host(c->sock, c->name);
    c->ok = h != NULL;
    uint64_t prev = vsafe_bench_now_ns();
    while (h != NULL && su_now() < c->until) {
        if (vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, ZONE, 1, 0, NULL, 0, NULL) != VSAFE_OK) {
            c->ok = 0;
            break;
        }
        uint64_t now = vsafe_bench_now_ns();
        vsafe_bench_hist_add(&c->lat, now - prev);
        prev = now;
        c->done++;
    }
    vsafe_host_close(h);
    return NULL;
}

static long rss_kib(pid_t pid)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(p, "r");
    long kib = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kib;
}

typedef struct {
    vsafe_bench_result_t res;
    uint64_t syncs, durable;
} run_t;

/* Runs `clients` clients on devices dev0.. of the server at sock for `secs` seconds; latencies of
 * every client's commands together. */
static run_t run(const char *sock, int clients, double secs)
{
    client_t *cs = calloc((size_t)clients, sizeof *cs);
    pthread_t *t = calloc((size_t)clients, sizeof *t);
    vsafe_bench_need(cs != NULL && t != NULL, "memory");
    int c = su_connect(sock);
    (void)su_hello(c, "dev0");
    uint64_t s0 = su_stat(c, ST_SERVER_SYNC_CALLS), d0 = su_stat(c, ST_SERVER_DURABLE);
    double start = su_now();
    for (int i = 0; i < clients; i++) {
        cs[i].sock = sock;
        snprintf(cs[i].name, sizeof cs[i].name, "dev%d", i);
        cs[i].until = start + secs;
        pthread_create(&t[i], NULL, client, &cs[i]);
    }
    static vsafe_bench_hist_t all;
    memset(&all, 0, sizeof all);
    uint64_t total = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(t[i], NULL);
        total += cs[i].done;
        for (unsigned b = 0; b < VSAFE_BENCH_BINS; b++) {
            all.bins[b] += cs[i].lat.bins[b];
        }
        all.count += cs[i].lat.count;
        all.max_ns = cs[i].lat.max_ns > all.max_ns ? cs[i].lat.max_ns : all.max_ns;
        if (!cs[i].ok) {
            fprintf(stderr, "client %d failed\n", i);
        }
    }
    double el = su_now() - start;
    run_t r = {.syncs = su_stat(c, ST_SERVER_SYNC_CALLS) - s0, .durable = su_stat(c, ST_SERVER_DURABLE) - d0};
    vsafe_bench_result_from(&r.res, &all);
    r.res.per_s = total / el;
    close(c);
    free(cs);
    free(t);
    return r;
}

static int start_server(su_server_t *s, const char *root, const char *sock, const char *durability, int group,
                        double *startup)
{
    const char *args[12] = {"--root", root, "--socket", sock, "--durability", durability, NULL};
    if (!group) {
        args[6] = "--no-group-commit";
        args[7] = NULL;
    }
    double t0 = su_now();
    int rc = su_start(s, args);
    if (startup != NULL) {
        *startup = su_now() - t0;
    }
    return rc;
}

/* ---- one connection: the round trip ---- */
typedef struct {
    vsafe_host_t *h;
} rt_ctx_t;

static int rt_decrement(void *arg)
{
    return vsafe_host_decrement(((rt_ctx_t *)arg)->h, VSAFE_HOST_PROT_TABLE, ZONE, 1, 0, NULL, 0, NULL) == VSAFE_OK;
}

static int rt_read(void *arg)
{
    uint8_t out[16];
    return vsafe_host_read_zone(((rt_ctx_t *)arg)->h, VSAFE_HOST_PROT_TABLE, 1, 0, out, sizeof out) == VSAFE_OK;
}

/* ---- debug authentication over the socket ---- */
typedef struct {
    vsafe_da_key_t *root, *inter, *leaf;
    uint8_t chain[3][VSAFE_DA_CERT_LEN];
} da_creds_t;

/* A board MCU in CLOSED at path, TrustZone on, its DA configuration the certificate root of c. */
static int make_closed_board(const char *path, const da_creds_t *c)
{
    uint8_t root_pub[64], mask[16], cfg[VSAFE_DA_CONFIG_LEN];
    memset(mask, 0xFF, sizeof mask);
    vsafe_mcu_t *m = NULL;
    vsafe_mcu_options_t o = {.state_path = path, .rng_seed = 7, .power_on_reset = 1};
    int rc = vsafe_mcu_open(&m, &o);
    if (rc == VSAFE_OK) {
        rc = vsafe_mcu_set_trustzone(m, true);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_mcu_program_state(m, VSAFE_MCU_STATE_PROVISIONING);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_mcu_reset(m);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_da_key_public(c->root, root_pub);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_da_config_cert(root_pub, mask, cfg);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL1, 0, cfg, sizeof cfg);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_mcu_program_state(m, VSAFE_MCU_STATE_CLOSED);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_mcu_reset(m);
    }
    vsafe_mcu_close(m);
    return rc;
}

/* One DA_EXCHANGE; the MCU's ADAC status in *adac. Returns the OUTCOME, or a failure. */
static int da_call(int fd, const uint8_t *req, size_t req_len, uint8_t *rsp, size_t cap, size_t *rsp_len,
                   uint16_t *adac)
{
    size_t n = 0;
    if (su_call(fd, 0x30, req, req_len, rsp, cap, &n) != 0 || n < 4 + 8) {
        return VSAFE_ERR_PARSE;
    }
    int32_t outcome = (int32_t)((uint32_t)rsp[0] << 24 | (uint32_t)rsp[1] << 16 | (uint32_t)rsp[2] << 8 | rsp[3]);
    *rsp_len = n - 4;
    memmove(rsp, rsp + 4, n - 4);
    if (vsafe_da_response_status(rsp, *rsp_len, adac) != VSAFE_OK) {
        return VSAFE_ERR_PARSE;
    }
    return outcome;
}

/* Authentication Response with one TLV; VSAFE_OK when the MCU answered want. */
static int da_respond(int fd, uint16_t type, const uint8_t *v, size_t len, uint16_t want)
{
    uint8_t req[8 + 8 + 256], rsp[512];
    size_t n = 0, rn = 0;
    uint16_t adac = 0xFFFF;
    int rc = vsafe_da_frame_begin(VSAFE_DA_CMD_AUTH_RESPONSE, req, sizeof req, &n);
    if (rc == VSAFE_OK) {
        rc = vsafe_da_frame_tlv(type, v, len, req, sizeof req, &n);
    }
    if (rc == VSAFE_OK) {
        rc = da_call(fd, req, n, rsp, sizeof rsp, &rn, &adac);
    }
    return rc == VSAFE_OK && adac == want ? VSAFE_OK : (rc != VSAFE_OK ? rc : VSAFE_ERR_PARSE);
}

/* The whole exchange of a full regression, as an external host tool runs it. */
static int da_exchange(int fd, const da_creds_t *c)
{
    uint8_t req[16], rsp[4200], perm[16] = {0}, token[VSAFE_DA_TOKEN_LEN];
    size_t n = 0, rn = 0;
    uint16_t adac = 0xFFFF;
    int rc = vsafe_da_frame_begin(VSAFE_DA_CMD_DISCOVERY, req, sizeof req, &n);
    if (rc == VSAFE_OK) {
        rc = da_call(fd, req, n, rsp, sizeof rsp, &rn, &adac);
    }
    if (rc == VSAFE_OK) {
        rc = vsafe_da_frame_begin(VSAFE_DA_CMD_AUTH_START, req, sizeof req, &n);
    }
    if (rc == VSAFE_OK) {
        rc = da_call(fd, req, n, rsp, sizeof rsp, &rn, &adac);
    }
    /* the challenge TLV: format version word, then the 32-byte nonce */
    if (rc == VSAFE_OK && (rn != 8u + VSAFE_DA_CHALLENGE_LEN || rsp[8] != 1u)) {
        rc = VSAFE_ERR_PARSE;
    }
    perm[VSAFE_DA_PERM_REGRESS_FULL / 8] = (uint8_t)(1u << (VSAFE_DA_PERM_REGRESS_FULL % 8));
    if (rc == VSAFE_OK) {
        rc = vsafe_da_token_make(c->leaf, rsp + 12, perm, token);
    }
    for (int i = 0; i < 3 && rc == VSAFE_OK; i++) {
        rc = da_respond(fd, VSAFE_DA_TLV_CERT, c->chain[i], VSAFE_DA_CERT_LEN, VSAFE_DA_ST_NEED_MORE_DATA);
    }
    return rc == VSAFE_OK ? da_respond(fd, VSAFE_DA_TLV_TOKEN, token, sizeof token, VSAFE_DA_ST_SUCCESS) : rc;
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    int ok = a != NULL && b != NULL;
    char buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, a)) > 0) {
        ok = fwrite(buf, 1, n, b) == n;
    }
    ok = ok && ferror(a) == 0;
    if (a != NULL) {
        fclose(a);
    }
    if (b != NULL) {
        ok = fclose(b) == 0 && ok;
    }
    return ok ? 0 : -1;
}

/* Each round: the same CLOSED board (a copy of its state), a fresh server, one Discovery untimed
 * (the server opens the MCU on the first DA_EXCHANGE), then the timed exchange. */
static void bench_da(int rounds)
{
    da_creds_t c = {0};
    uint8_t mask[16];
    memset(mask, 0xFF, sizeof mask);
    int rc = vsafe_da_key_generate(&c.root) == VSAFE_OK && vsafe_da_key_generate(&c.inter) == VSAFE_OK &&
                     vsafe_da_key_generate(&c.leaf) == VSAFE_OK &&
                     vsafe_da_cert_make(c.root, c.root, VSAFE_DA_ROLE_ROOT, 0, NULL, mask, c.chain[0]) == VSAFE_OK &&
                     vsafe_da_cert_make(c.inter, c.root, VSAFE_DA_ROLE_INTERMEDIATE, 0, NULL, mask, c.chain[1]) ==
                         VSAFE_OK &&
                     vsafe_da_cert_make(c.leaf, c.inter, VSAFE_DA_ROLE_LEAF, 0, NULL, mask, c.chain[2]) == VSAFE_OK
                 ? VSAFE_OK
                 : VSAFE_ERR_ARGUMENT;
    char dev[300], sock[300], mcu[400], closed[400];
    snprintf(dev, sizeof dev, "%s/board", su_tmp);
    snprintf(sock, sizeof sock, "%s/da.sock", su_tmp);
    snprintf(mcu, sizeof mcu, "%s/mcu.nvm", dev);
    snprintf(closed, sizeof closed, "%s/closed-mcu.nvm", su_tmp);
    vsafe_bench_need(rc == VSAFE_OK && su_make_device(dev) == VSAFE_OK && make_closed_board(closed, &c) == VSAFE_OK,
                     "making a closed board");
    static vsafe_bench_hist_t h;
    memset(&h, 0, sizeof h);
    double total = 0;
    for (int r = 0; r < rounds; r++) {
        vsafe_bench_need(copy_file(closed, mcu) == 0, "copying the board's MCU state");
        su_server_t s;
        const char *args[] = {"--device", dev, "--socket", sock, NULL};
        vsafe_bench_need(su_start(&s, args) == 0, "starting the server");
        int fd = su_connect(sock);
        uint8_t req[8], rsp[4200];
        size_t n = 0, rn = 0;
        uint16_t adac = 0;
        vsafe_bench_need(fd >= 0 && vsafe_da_frame_begin(VSAFE_DA_CMD_DISCOVERY, req, sizeof req, &n) == VSAFE_OK &&
                             da_call(fd, req, n, rsp, sizeof rsp, &rn, &adac) == VSAFE_OK,
                         "the first Discovery");
        uint64_t t0 = vsafe_bench_now_ns();
        vsafe_bench_need(da_exchange(fd, &c) == VSAFE_OK, "the DA exchange over the socket");
        uint64_t ns = vsafe_bench_now_ns() - t0;
        vsafe_bench_hist_add(&h, ns);
        total += (double)ns * 1e-9;
        close(fd);
        vsafe_bench_need(su_stop(&s, SIGTERM) == 0, "stopping the server");
        /* the regression happened: the board is OPEN now */
        vsafe_mcu_t *m = NULL;
        vsafe_mcu_options_t o = {.state_path = mcu};
        vsafe_bench_need(vsafe_mcu_open(&m, &o) == VSAFE_OK && vsafe_mcu_state(m) == VSAFE_MCU_STATE_OPEN,
                         "the regressed board is OPEN");
        vsafe_mcu_close(m);
    }
    vsafe_bench_result_t res;
    vsafe_bench_result_from(&res, &h);
    res.per_s = rounds / total;
    vsafe_bench_op("DA full regression over the socket", 0, &res);
    vsafe_bench_note("DA: Discovery, Authentication Start, 3 certificates, the token; the MCU erases and resets; "
                     "file-backed, %d rounds on a fresh copy of a CLOSED board",
                     rounds);
    vsafe_da_key_free(c.root);
    vsafe_da_key_free(c.inter);
    vsafe_da_key_free(c.leaf);
}

int main(int argc, char **argv)
{
    vsafe_bench_init("server", &argc, argv);
    if (argc < 2) {
        fprintf(stderr, "usage: vsafe_bench_server [--json] [--targets FILE] VSAFE_CLI [SECONDS_PER_RUN]\n");
        return 2;
    }
    su_vsafe = argv[1];
    double secs = argc > 2 ? atof(argv[2]) : 1.5;
    snprintf(su_tmp, sizeof su_tmp, "/tmp/vsafe-bench-server-XXXXXX");
    if (mkdtemp(su_tmp) == NULL) {
        return 1;
    }
    char root1[300], root64[300], sock[300], dev[400];
    snprintf(root1, sizeof root1, "%s/one", su_tmp);
    snprintf(root64, sizeof root64, "%s/many", su_tmp);
    snprintf(sock, sizeof sock, "%s/s.sock", su_tmp);
    mkdir(root1, 0700);
    mkdir(root64, 0700);
    snprintf(dev, sizeof dev, "%s/dev0", root1);
    int bad = su_make_device(dev) != VSAFE_OK;
    for (int i = 0; i < 64 && !bad; i++) {
        snprintf(dev, sizeof dev, "%s/dev%d", root64, i);
        bad = su_make_device(dev) != VSAFE_OK;
    }
    if (bad) {
        fprintf(stderr, "cannot create the devices\n");
        return 1;
    }
    char how[200];
    snprintf(how, sizeof how, "vsafe serve as a child process, clients through the host library, %.1f s per row",
             secs);
    vsafe_bench_section("Over the socket: vsafe serve on a Unix socket", how, 1);

    /* Round trip on one connection, durability process (no sync): the socket and the command. */
    su_server_t s;
    if (start_server(&s, root64, sock, "process", 1, NULL) == 0) {
        rt_ctx_t rt = {su_host(sock, "dev0")};
        vsafe_bench_need(rt.h != NULL, "connecting");
        vsafe_bench_result_t r;
        vsafe_bench_measure(rt_decrement, &rt, secs, 20, &r);
        vsafe_bench_op("Decrement, round trip on one connection", vsafe_se_command_time_ms(&dec_hdr, 1), &r);
        vsafe_bench_measure(rt_read, &rt, secs, 20, &r);
        vsafe_bench_op("Read 16 B, round trip on one connection", vsafe_se_command_time_ms(&read_hdr, 1), &r);
        vsafe_host_close(rt.h);
        su_stop(&s, SIGTERM);
    }

    static const int counts[] = {1, 8, 64};
    const char *levels[] = {"process", "power"};
    double durable1 = 0, durable64 = 0, durable64_nogroup = 0;
    uint64_t syncs64 = 0, dur64 = 0;
    char sync_name[9][128];
    double sync_per[9];
    int nsync = 0;
    for (int l = 0; l < 2; l++) {
        for (int g = 1; g >= 0; g--) {
            if (l == 0 && g == 0) {
                continue; /* process durability never syncs: group commit changes nothing */
            }
            if (start_server(&s, root64, sock, levels[l], g, NULL) != 0) {
                fprintf(stderr, "server did not start\n");
                return 1;
            }
            for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
                run_t r = run(sock, counts[k], secs);
                char name[96];
                snprintf(name, sizeof name, "Decrement, %d client%s, %s%s", counts[k], counts[k] > 1 ? "s" : "",
                         levels[l], l == 0 ? "" : g ? ", group commit" : ", no group commit");
                /* N devices: against N chips working side by side */
                vsafe_bench_op(name, vsafe_se_command_time_ms(&dec_hdr, 1) / (double)counts[k], &r.res);
                if (l == 1 && nsync < 9) {
                    snprintf(sync_name[nsync], sizeof sync_name[0], "syncs per command, %d client%s, %s", counts[k],
                             counts[k] > 1 ? "s" : "", g ? "group commit" : "no group commit");
                    sync_per[nsync++] = r.durable ? (double)r.syncs / (double)r.durable : 0.0;
                }
                if (l == 1 && g == 1 && counts[k] == 1) {
                    durable1 = r.res.per_s;
                }
                if (l == 1 && g == 1 && counts[k] == 64) {
                    durable64 = r.res.per_s;
                    syncs64 = r.syncs;
                    dur64 = r.durable;
                }
                if (l == 1 && g == 0 && counts[k] == 64) {
                    durable64_nogroup = r.res.per_s;
                }
            }
            su_stop(&s, SIGTERM);
        }
    }
    vsafe_bench_note("N clients: N connections to N devices; chip: N chips side by side (its time over N); "
                     "process: acknowledged once in the server's memory; power: once on disk (fdatasync)");
    for (int i = 0; i < nsync; i++) {
        vsafe_bench_figure(sync_name[i], "%.3f", sync_per[i], "");
    }

    bench_da(8);

    /* Memory and open time: the same server with 1 device and with 64. */
    double t1 = 0, t64 = 0;
    long rss1 = -1, rss64 = -1;
    if (start_server(&s, root1, sock, "process", 1, &t1) == 0) {
        rss1 = rss_kib(s.pid);
        su_stop(&s, SIGTERM);
    }
    if (start_server(&s, root64, sock, "process", 1, &t64) == 0) {
        rss64 = rss_kib(s.pid);
        su_stop(&s, SIGTERM);
    }
    vsafe_bench_figure("time to open a served device", "%.2f", (t64 - t1) / 63.0 * 1e3, "ms");
    vsafe_bench_figure("server start-up with 1 device", "%.1f", t1 * 1e3, "ms");
    vsafe_bench_figure("server start-up with 64 devices", "%.1f", t64 * 1e3, "ms");
    vsafe_bench_figure("server memory (RSS) with 1 device", "%.0f", (double)rss1, "KiB");
    vsafe_bench_figure("server memory (RSS) with 64 devices", "%.0f", (double)rss64, "KiB");

    char d[240];
    snprintf(d, sizeof d,
             "64 devices %.0f durable commands/s, one device %.0f/s, %.3f syncs per command; without group commit "
             "64 devices reach %.0f/s (%.1f x)",
             durable64, durable1, dur64 ? (double)syncs64 / (double)dur64 : 0.0, durable64_nogroup,
             durable1 > 0 ? durable64_nogroup / durable1 : 0.0);
    vsafe_bench_target("group commit: 64 devices / 1 device, durable", 1, 10.0,
                       durable1 > 0 ? durable64 / durable1 : 0.0, "%.1f", "x", d);
    snprintf(d, sizeof d, "server RSS %ld KiB with 1 device, %ld KiB with 64, over 63", rss1, rss64);
    vsafe_bench_target("memory per served device", 0, 64.0, (double)(rss64 - rss1) / 63.0, "%.1f", "KiB", d);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", su_tmp);
    int rc = system(cmd) == 0 ? 0 : 1;
    vsafe_bench_finish();
    return rc;
}
