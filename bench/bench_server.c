/* Benchmark of the device server (make bench): `vsafe serve` as a child process, clients in
 * threads of this process, each on its own connection and its own device.
 *   - round trip of one command (Decrement, a state-changing command) on one connection;
 *   - commands/s with 1, 8 and 64 clients on as many devices, durability process and power,
 *     with group commit and without (--no-group-commit);
 *   - group commit: the 64-device durable rate over the 1-device durable rate of the same run,
 *     and sync calls per durable command (from the server's STATS);
 *   - memory per served device (the server's RSS with 64 devices minus with 1, over 63) and the
 *     time to open one (the server's start-up time with 64 devices minus with 1, over 63).
 * Usage: vsafe_bench_server VSAFE_CLI [SECONDS_PER_RUN] */
#include <pthread.h>

#include "../tests/server/server_util.h"

#define ZONE 5

typedef struct {
    const char *sock;
    char name[16];
    double until;
    uint64_t done;
    int ok;
} client_t;

static void *client(void *arg)
{
    client_t *c = arg;
    vsafe_host_t *h = su_host(c->sock, c->name);
    c->ok = h != NULL;
    while (h != NULL && su_now() < c->until) {
        for (int i = 0; i < 8; i++) {
            if (vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, ZONE, 1, 0, NULL, 0, NULL) != VSAFE_OK) {
                c->ok = 0;
                break;
            }
            c->done++;
        }
        if (!c->ok) {
            break;
        }
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
    double rate;
    uint64_t syncs, durable;
} run_t;

/* Runs `clients` clients on devices dev0.. of the server at sock for `secs` seconds. */
static run_t run(const char *sock, int clients, double secs)
{
    client_t *cs = calloc((size_t)clients, sizeof *cs);
    pthread_t *t = calloc((size_t)clients, sizeof *t);
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
    uint64_t total = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(t[i], NULL);
        total += cs[i].done;
        if (!cs[i].ok) {
            fprintf(stderr, "client %d failed\n", i);
        }
    }
    double el = su_now() - start;
    run_t r = {total / el, su_stat(c, ST_SERVER_SYNC_CALLS) - s0, su_stat(c, ST_SERVER_DURABLE) - d0};
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: vsafe_bench_server VSAFE_CLI [SECONDS_PER_RUN]\n");
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
    printf("vsafe serve over a Unix socket, Decrement commands through the host library (%.1f s per run)\n", secs);

    /* Memory and open time: the same server with 1 device and with 64. */
    su_server_t s;
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
    printf("memory per served device: %.1f KiB (server RSS %ld KiB with 1 device, %ld KiB with 64)\n",
           (double)(rss64 - rss1) / 63.0, rss1, rss64);
    printf("time to open a device:    %.2f ms (start-up %.1f ms with 1 device, %.1f ms with 64)\n",
           (t64 - t1) / 63.0 * 1e3, t1 * 1e3, t64 * 1e3);

    /* Round trip on one connection, durability process (no sync): the socket and the command. */
    if (start_server(&s, root64, sock, "process", 1, NULL) == 0) {
        vsafe_host_t *h = su_host(sock, "dev0");
        int n = 2000;
        double t0 = su_now();
        for (int i = 0; h != NULL && i < n; i++) {
            if (vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, ZONE, 1, 0, NULL, 0, NULL) != VSAFE_OK) {
                fprintf(stderr, "decrement failed\n");
                break;
            }
        }
        double el = su_now() - t0;
        printf("round trip, one connection, durability process: %.1f us per command (%d commands)\n",
               el / n * 1e6, n);
        vsafe_host_close(h);
        su_stop(&s, SIGTERM);
    }

    static const int counts[] = {1, 8, 64};
    const char *levels[] = {"process", "power"};
    double durable1 = 0, durable64 = 0, durable64_nogroup = 0;
    uint64_t syncs64 = 0, dur64 = 0;
    printf("\n%-12s %-14s %8s %14s %10s %14s\n", "durability", "group commit", "clients", "commands/s", "syncs",
           "syncs/command");
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
                printf("%-12s %-14s %8d %14.0f %10llu %14.3f\n", levels[l], l == 0 ? "-" : g ? "yes" : "no",
                       counts[k], r.rate, (unsigned long long)r.syncs,
                       r.durable ? (double)r.syncs / (double)r.durable : 0.0);
                if (l == 1 && g == 1 && counts[k] == 1) {
                    durable1 = r.rate;
                }
                if (l == 1 && g == 1 && counts[k] == 64) {
                    durable64 = r.rate;
                    syncs64 = r.syncs;
                    dur64 = r.durable;
                }
                if (l == 1 && g == 0 && counts[k] == 64) {
                    durable64_nogroup = r.rate;
                }
            }
            su_stop(&s, SIGTERM);
        }
    }
    printf("\ngroup commit: 64 devices %.0f durable commands/s = %.1f x one device's %.0f/s "
           "(%.3f syncs per command); without group commit 64 devices reach %.0f/s (%.1f x)\n",
           durable64, durable1 > 0 ? durable64 / durable1 : 0.0, durable1, dur64 ? (double)syncs64 / (double)dur64 : 0.0,
           durable64_nogroup, durable1 > 0 ? durable64_nogroup / durable1 : 0.0);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", su_tmp);
    return system(cmd) == 0 ? 0 : 1;
}
