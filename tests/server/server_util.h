/* Helpers of the server tests: start `vsafe serve` as a child process, speak the socket protocol
 * byte by byte as docs/SOCKET.md gives it (independently of src/server/proto.c), make devices. */
#ifndef VSAFE_TEST_SERVER_UTIL_H
#define VSAFE_TEST_SERVER_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vsafe/host.h"
#include "vsafe/se.h"

static int su_fails __attribute__((unused));
static int su_checks __attribute__((unused));
#define CHECK(cond, ...)                                                                                          \
    do {                                                                                                          \
        su_checks++;                                                                                              \
        if (!(cond)) {                                                                                            \
            su_fails++;                                                                                           \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                      \
            fprintf(stderr, __VA_ARGS__);                                                                         \
            fprintf(stderr, "\n");                                                                                \
        }                                                                                                         \
    } while (0)

static const char *su_vsafe; /* the CLI binary */
static char su_tmp[256];     /* a fresh directory for this test run */

static inline double su_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A device directory DIR/se.nvm created through the library (no identity: fast). */
static inline int su_make_device(const char *dir)
{
    char p[512];
    mkdir(dir, 0700);
    snprintf(p, sizeof p, "%s/se.nvm", dir);
    vsafe_se_t *se = NULL;
    vsafe_se_options_t o = {.profile = NULL, .state_path = p};
    vsafe_se_open_ext_t ext = {.no_identity = 1};
    int rc = vsafe_se_open_ex(&se, &o, &ext);
    vsafe_se_close(se);
    return rc;
}

typedef struct {
    pid_t pid;
    char addr[300];
    char err_path[400];
} su_server_t;

/* Starts `vsafe serve ARGS...` (NULL-terminated) and waits (10 s at most) for its ready line.
 * Returns 0 when it printed one, else the child's exit status (it has exited) or -1. */
static inline int su_start(su_server_t *s, const char *const *args)
{
    static int seq;
    int p[2];
    memset(s, 0, sizeof *s);
    snprintf(s->err_path, sizeof s->err_path, "%s/serve.%d.err", su_tmp, seq++);
    if (pipe(p) != 0) {
        return -1;
    }
    s->pid = fork();
    if (s->pid == 0) {
        const char *argv[32] = {su_vsafe, "serve"};
        int n = 2;
        for (int i = 0; args[i] != NULL && n < 31; i++) {
            argv[n++] = args[i];
        }
        argv[n] = NULL;
        int e = open(s->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(p[1], 1);
        dup2(e, 2);
        close(p[0]);
        execv(su_vsafe, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    double end = su_now() + 10.0;
    while (n < sizeof s->addr - 1 && su_now() < end) {
        struct pollfd pf = {p[0], POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0) {
            continue;
        }
        ssize_t r = read(p[0], s->addr + n, 1);
        if (r <= 0) {
            break;
        }
        if (s->addr[n] == '\n') {
            s->addr[n] = '\0';
            close(p[0]);
            return 0;
        }
        n++;
    }
    close(p[0]);
    int st = 0;
    if (waitpid(s->pid, &st, 0) == s->pid && WIFEXITED(st)) {
        s->pid = 0;
        return WEXITSTATUS(st) ? WEXITSTATUS(st) : -1;
    }
    s->pid = 0;
    return -1;
}

/* Sends sig and returns the exit status (256 + signal number if it died of a signal). */
static inline int su_stop(su_server_t *s, int sig)
{
    if (s->pid <= 0) {
        return -1;
    }
    kill(s->pid, sig);
    int st = 0;
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 256 + WTERMSIG(st);
}

/* Whether the server's stderr contains text. */
static inline int su_log_has(const su_server_t *s, const char *text)
{
    char buf[8192] = "";
    FILE *f = fopen(s->err_path, "r");
    if (f == NULL) {
        return 0;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

/* ---- The protocol, byte by byte ---- */

static inline int su_connect(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t pl = strlen(path);
    if (pl >= sizeof a.sun_path) {
        return -1;
    }
    memcpy(a.sun_path, path, pl + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static inline int su_write_all(int fd, const uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static inline int su_read_all(int fd, uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, b, n, 0);
        if (r <= 0) {
            return -1;
        }
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

/* A request: LEN (4, BE) VERSION OP ARGS. */
static inline int su_send(int fd, uint8_t version, uint8_t op, const uint8_t *args, size_t n)
{
    uint8_t *m = malloc(6 + n);
    uint32_t len = (uint32_t)(2 + n);
    m[0] = (uint8_t)(len >> 24);
    m[1] = (uint8_t)(len >> 16);
    m[2] = (uint8_t)(len >> 8);
    m[3] = (uint8_t)len;
    m[4] = version;
    m[5] = op;
    if (n) {
        memcpy(m + 6, args, n);
    }
    int rc = su_write_all(fd, m, 6 + n);
    free(m);
    return rc;
}

/* A reply: LEN VERSION OP STATUS(4) DATA. Returns 0, or -1 when the connection ended. */
static inline int su_recv(int fd, uint8_t *op, int32_t *status, uint8_t *data, size_t cap, size_t *n)
{
    uint8_t h[10];
    if (su_read_all(fd, h, sizeof h) != 0) {
        return -1;
    }
    uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    if (len < 6 || h[4] != 1) {
        return -2;
    }
    *op = h[5];
    *status = (int32_t)((uint32_t)h[6] << 24 | (uint32_t)h[7] << 16 | (uint32_t)h[8] << 8 | h[9]);
    size_t dl = len - 6;
    *n = dl;
    uint8_t sink[256];
    for (size_t done = 0; done < dl;) {
        size_t k = dl - done;
        uint8_t *dst = done < cap ? data + done : sink;
        if (done < cap && k > cap - done) {
            k = cap - done;
        }
        if (done >= cap && k > sizeof sink) {
            k = sizeof sink;
        }
        if (su_read_all(fd, dst, k) != 0) {
            return -1;
        }
        done += k;
    }
    return 0;
}

/* One request and its reply's status (INT32_MIN when the connection failed). */
static inline int32_t su_call(int fd, uint8_t op, const uint8_t *args, size_t n, uint8_t *data, size_t cap, size_t *dl)
{
    uint8_t rop = 0;
    int32_t st = 0;
    size_t got = 0;
    if (su_send(fd, 1, op, args, n) != 0 || su_recv(fd, &rop, &st, data, cap, &got) != 0 || rop != (op | 0x80)) {
        return INT32_MIN;
    }
    if (dl != NULL) {
        *dl = got;
    }
    return st;
}

/* STATS field i (docs/SOCKET.md order) on an open connection; UINT64_MAX on failure. */
static inline uint64_t su_stat(int fd, unsigned field)
{
    uint8_t d[1 + 8 * 64];
    size_t n = 0;
    if (su_call(fd, 0x24, NULL, 0, d, sizeof d, &n) != 0 || n < 1 || d[0] <= field || n != 1u + 8u * d[0]) {
        return UINT64_MAX;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | d[1 + 8 * field + i];
    }
    return v;
}

enum { ST_COMMANDS = 0, ST_COMMITS = 1, ST_NVM_BYTES = 2, ST_PROGRAM_OPS = 3, ST_ERASE_OPS = 4, ST_WEAR = 5,
       ST_DURABLE = 6, ST_DEVICE_SYNCS = 7, ST_SERVER_SYNC_CALLS = 8, ST_SERVER_DURABLE = 9, ST_POWER_CYCLES = 10,
       ST_CUTS = 11, ST_POWERED = 12, ST_CUT_ARMED = 13, ST_TIMING = 14, ST_DURABILITY = 15 };

static inline int su_hello(int fd, const char *name)
{
    uint8_t d[128];
    size_t n = 0;
    return su_call(fd, 0x01, (const uint8_t *)name, strlen(name), d, sizeof d, &n);
}

/* A host handle on a served device, initialised. */
static inline vsafe_host_t *su_host(const char *addr, const char *name)
{
    vsafe_host_t *h = NULL;
    if (vsafe_host_open_socket(&h, addr, name) != VSAFE_OK) {
        return NULL;
    }
    if (vsafe_host_init(h) != VSAFE_OK) {
        vsafe_host_close(h);
        return NULL;
    }
    return h;
}

#endif
