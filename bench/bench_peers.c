/* Benchmark against swtpm at equal durability (make bench-peers), both measured in one run:
 *   - vsafe: Decrement commands (a monotonic counter step, one store commit each) through the host
 *     library over one connection to `vsafe serve`, durability `process` (written without sync,
 *     as swtpm writes its state) and, for the record, durability `power` (fdatasync per command);
 *   - swtpm: TPM2_NV_Increment of an NV counter index on one persistent TCP connection through
 *     tss2-esys and tss2-tcti-swtpm, the index defined once before the loop. The index is not
 *     orderly, so every increment is written to swtpm's state file (swtpm does not fsync it).
 * Both servers are child processes this program starts in a fresh temporary directory and stops
 * by pid at the end. Each side's best of --rounds rounds (3) is reported: the machine may be shared. Usage: vsafe_bench_peers VSAFE_CLI [--seconds S] [--rounds N] [--json] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tcti_swtpm.h>

#include "../tests/server/server_util.h"
#include "common/bytes.h"

#define ZONE 5
#define NV_INDEX 0x01500010u

static int port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* A loopback TCP port P with P and P + 1 free at the time of the call: tss2-tcti-swtpm reaches
 * swtpm's control channel at the server port + 1. */
static int free_port_pair(void)
{
    for (int tries = 0; tries < 100; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t l = sizeof a;
        int port = -1;
        if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
            getsockname(fd, (struct sockaddr *)&a, &l) == 0) {
            port = ntohs(a.sin_port);
        }
        if (fd >= 0) {
            close(fd);
        }
        if (port > 0 && port < 65535 && port_free(port + 1)) {
            return port;
        }
    }
    return -1;
}

static int port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* Starts swtpm (TPM 2.0, state in dir, already initialised and started up so the TSS needs no
 * platform commands) and waits (10 s at most) until its control port accepts connections; the
 * server port is only probed through the TSS, because swtpm serves one connection at a time. */
static pid_t start_swtpm(const char *dir, int port, int ctrl, const char *log)
{
    char server[64], ctrlarg[64], state[400];
    snprintf(server, sizeof server, "type=tcp,port=%d", port);
    snprintf(ctrlarg, sizeof ctrlarg, "type=tcp,port=%d", ctrl);
    snprintf(state, sizeof state, "dir=%s", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int e = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (e >= 0) {
            dup2(e, 1);
            dup2(e, 2);
        }
        execlp("swtpm", "swtpm", "socket", "--tpm2", "--server", server, "--ctrl", ctrlarg, "--tpmstate", state,
               "--flags", "not-need-init,startup-clear", (char *)NULL);
        _exit(127);
    }
    double end = su_now() + 10.0;
    while (pid > 0 && su_now() < end) {
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            return -1; /* it exited: see the log */
        }
        if (port_open(ctrl)) {
            return pid;
        }
        usleep(20000);
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return -1;
}

static void stop_pid(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

/* swtpm's NV_Increment rate on one ESYS context for secs seconds; < 0 on failure (printed). */
static double swtpm_rate(int port, double secs, uint64_t *ops, uint64_t *final_value)
{
    char conf[64];
    snprintf(conf, sizeof conf, "host=127.0.0.1,port=%d", port);
    size_t size = 0;
    TSS2_RC rc = Tss2_Tcti_Swtpm_Init(NULL, &size, conf);
    TSS2_TCTI_CONTEXT *tcti = rc == TSS2_RC_SUCCESS ? calloc(1, size) : NULL;
    ESYS_CONTEXT *ctx = NULL;
    double rate = -1.0;
    if (tcti == NULL || (rc = Tss2_Tcti_Swtpm_Init(tcti, &size, conf)) != TSS2_RC_SUCCESS ||
        (rc = Esys_Initialize(&ctx, tcti, NULL)) != TSS2_RC_SUCCESS) {
        fprintf(stderr, "swtpm: cannot open an ESYS context: 0x%x\n", (unsigned)rc);
        free(tcti);
        return -1.0;
    }
    /* A counter index (TPM_NT_COUNTER), authorised by its own (empty) auth value. */
    TPM2B_AUTH auth = {.size = 0};
    TPM2B_NV_PUBLIC pub = {
        .size = 0,
        .nvPublic = {.nvIndex = NV_INDEX,
                     .nameAlg = TPM2_ALG_SHA256,
                     .attributes = (TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT) | TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD,
                     .authPolicy = {.size = 0},
                     .dataSize = 8},
    };
    ESYS_TR nv = ESYS_TR_NONE;
    rc = Esys_NV_DefineSpace(ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &auth, &pub, &nv);
    if (rc != TSS2_RC_SUCCESS) {
        fprintf(stderr, "swtpm: NV_DefineSpace failed: 0x%x\n", (unsigned)rc);
    } else {
        uint64_t n = 0;
        double t0 = su_now(), until = t0 + secs, el = 0;
        while (rc == TSS2_RC_SUCCESS && su_now() < until) {
            for (int i = 0; i < 8 && rc == TSS2_RC_SUCCESS; i++) {
                rc = Esys_NV_Increment(ctx, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
                n += rc == TSS2_RC_SUCCESS;
            }
        }
        el = su_now() - t0;
        if (rc != TSS2_RC_SUCCESS) {
            fprintf(stderr, "swtpm: NV_Increment failed after %llu: 0x%x\n", (unsigned long long)n, (unsigned)rc);
        } else {
            /* Read the counter back: the increments really happened, and each one counted. */
            TPM2B_MAX_NV_BUFFER *data = NULL;
            rc = Esys_NV_Read(ctx, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, 8, 0, &data);
            if (rc == TSS2_RC_SUCCESS && data != NULL && data->size == 8) {
                *final_value = vsafe_get_be64(data->buffer);
                rate = (double)n / el;
                *ops = n;
            } else {
                fprintf(stderr, "swtpm: NV_Read failed: 0x%x\n", (unsigned)rc);
            }
            Esys_Free(data);
        }
        (void)Esys_NV_UndefineSpace(ctx, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
    }
    Esys_Finalize(&ctx);
    Tss2_Tcti_Finalize(tcti);
    free(tcti);
    return rate;
}

/* vsafe's Decrement rate on one connection to a server of one device at durability level. */
static double vsafe_rate(const char *root, const char *sock, const char *level, double secs, uint64_t *ops,
                         uint32_t *drop)
{
    su_server_t s;
    const char *args[] = {"--root", root, "--socket", sock, "--durability", level, NULL};
    if (su_start(&s, args) != 0) {
        fprintf(stderr, "vsafe serve (durability %s) did not start\n", level);
        return -1.0;
    }
    vsafe_host_t *h = su_host(sock, "dev0");
    uint32_t first = 0, last = 0;
    double rate = -1.0;
    uint64_t n = 0;
    if (h != NULL && vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, ZONE, 1, 0, NULL, 0, &first) == VSAFE_OK) {
        int ok = 1;
        double t0 = su_now(), until = t0 + secs;
        while (ok && su_now() < until) {
            for (int i = 0; i < 8 && ok; i++) {
                ok = vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, ZONE, 1, 0, NULL, 0, &last) == VSAFE_OK;
                n += (uint64_t)ok;
            }
        }
        double el = su_now() - t0;
        if (ok) {
            rate = (double)n / el;
            *ops = n;
            *drop = first - last; /* the counter moved by one per acknowledged command */
        } else {
            fprintf(stderr, "vsafe: decrement failed after %llu\n", (unsigned long long)n);
        }
    } else {
        fprintf(stderr, "vsafe: cannot reach the served device\n");
    }
    vsafe_host_close(h);
    su_stop(&s, SIGTERM);
    return rate;
}

int main(int argc, char **argv)
{
    double secs = 2.0;
    int json = 0, rounds = 3;
    if (argc < 2) {
        fprintf(stderr, "usage: vsafe_bench_peers VSAFE_CLI [--seconds S] [--rounds N] [--json]\n");
        return 2;
    }
    su_vsafe = argv[1];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            secs = atof(argv[++i]);
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: vsafe_bench_peers VSAFE_CLI [--seconds S] [--rounds N] [--json]\n");
            return 2;
        }
    }
    if (rounds < 1 || !(secs > 0)) {
        fprintf(stderr, "vsafe_bench_peers: --rounds must be >= 1 and --seconds > 0\n");
        return 2;
    }
    snprintf(su_tmp, sizeof su_tmp, "/tmp/vsafe-bench-peers-XXXXXX");
    if (mkdtemp(su_tmp) == NULL) {
        return 1;
    }
    char root[300], dev[400], sock[300], tpmdir[300], tpmlog[300];
    snprintf(root, sizeof root, "%s/devs", su_tmp);
    snprintf(dev, sizeof dev, "%s/dev0", root);
    snprintf(sock, sizeof sock, "%s/s.sock", su_tmp);
    snprintf(tpmdir, sizeof tpmdir, "%s/tpm", su_tmp);
    snprintf(tpmlog, sizeof tpmlog, "%s/swtpm.log", su_tmp);
    mkdir(root, 0700);
    mkdir(tpmdir, 0700);
    int bad = su_make_device(dev) != VSAFE_OK;

    /* ROUNDS rounds, each measuring the three in turn with fresh servers; each side's best round
     * is kept, so a burst of load from other processes on this machine during one run does not
     * decide the ratio alone. A failed or inconsistent run in any round fails the benchmark. */
    double r_proc = -1, r_pow = -1, r_tpm = -1;
    int failed = bad;
    if (!json) {
        printf("vsafe vs swtpm, one connection each, %.1f s per run\n", secs);
    }
    for (int round = 0; round < rounds && !failed; round++) {
        uint64_t n_proc = 0, n_pow = 0, n_tpm = 0, tpm_value = 0;
        uint32_t d_proc = 0, d_pow = 0;
        double p = vsafe_rate(root, sock, "process", secs, &n_proc, &d_proc);
        double w = vsafe_rate(root, sock, "power", secs, &n_pow, &d_pow);
        double t = -1;
        char dir[340];
        snprintf(dir, sizeof dir, "%s/%d", tpmdir, round);
        mkdir(dir, 0700);
        int port = free_port_pair();
        pid_t tpm = port <= 0 ? -1 : start_swtpm(dir, port, port + 1, tpmlog);
        if (tpm > 0) {
            t = swtpm_rate(port, secs, &n_tpm, &tpm_value);
            stop_pid(tpm);
        } else {
            fprintf(stderr, "swtpm did not start (log %s)\n", tpmlog);
        }
        /* Each side's counter moved once per acknowledged operation (the first vsafe Decrement
         * is before the timed loop; a fresh TPM counter reads n - 1 after n increments, or more). */
        if (p > 0 && d_proc != n_proc) {
            fprintf(stderr, "vsafe process: counter moved %u for %llu decrements\n", d_proc,
                    (unsigned long long)n_proc);
            p = -1;
        }
        if (w > 0 && d_pow != n_pow) {
            fprintf(stderr, "vsafe power: counter moved %u for %llu decrements\n", d_pow, (unsigned long long)n_pow);
            w = -1;
        }
        if (t > 0 && tpm_value + 1 < n_tpm) {
            fprintf(stderr, "swtpm: counter %llu after %llu increments\n", (unsigned long long)tpm_value,
                    (unsigned long long)n_tpm);
            t = -1;
        }
        failed = p <= 0 || w <= 0 || t <= 0;
        if (!json) {
            printf("  round %d: vsafe process %.0f, vsafe power %.0f, swtpm %.0f ops/s\n", round + 1, p, w, t);
        }
        r_proc = p > r_proc ? p : r_proc;
        r_pow = w > r_pow ? w : r_pow;
        r_tpm = t > r_tpm ? t : r_tpm;
    }
    if (failed) {
        r_proc = r_pow = r_tpm = -1;
    }
    int ok = !bad && r_proc > 0 && r_pow > 0 && r_tpm > 0;
    double ratio_proc = ok ? r_proc / r_tpm : 0, ratio_pow = ok ? r_pow / r_tpm : 0;
    if (json) {
        printf("{\"seconds_per_run\": %.2f, \"rounds\": %d, \"vsafe_process_ops_per_s\": %.0f, "
               "\"vsafe_power_ops_per_s\": %.0f, "
               "\"swtpm_nv_increment_ops_per_s\": %.0f, \"ratio_process_vs_swtpm\": %.2f, "
               "\"ratio_power_vs_swtpm\": %.2f, \"target_ratio\": 20, \"target_met\": %s, \"ok\": %s}\n",
               secs, rounds, r_proc, r_pow, r_tpm, ratio_proc, ratio_pow, ok && ratio_proc >= 20 ? "true" : "false",
               ok ? "true" : "false");
    } else {
        printf("best of %d rounds:\n", rounds);
        printf("  vsafe Decrement, durability process (no sync): %10.0f ops/s\n", r_proc);
        printf("  vsafe Decrement, durability power (fdatasync): %10.0f ops/s\n", r_pow);
        printf("  swtpm TPM2_NV_Increment (no fsync):            %10.0f ops/s\n", r_tpm);
        printf("  ratio process / swtpm: %.1f x (target >= 20 x: %s)\n", ratio_proc,
               ok && ratio_proc >= 20 ? "met" : "NOT met");
        printf("  ratio power / swtpm:   %.2f x (for the record: power syncs, swtpm does not)\n", ratio_pow);
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", su_tmp);
    int rm = system(cmd);
    return ok && rm == 0 ? 0 : 1;
}
