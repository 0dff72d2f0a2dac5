/* The device server (server.h): sockets, one thread per client connection, the device table.
 *
 * Invariants:
 *  1. A request is acted on only once all of its LEN bytes have arrived: a client that vanishes
 *     mid-request leaves nothing half done. One that vanishes after sending a command leaves the
 *     command complete (it runs to its commit; only the reply is lost).
 *  2. A malformed request gets an error reply and the connection goes on (LEN is known, so the
 *     next message is found); a LEN outside the limits gets an error reply and the connection is
 *     closed (the stream cannot be resynchronised). Neither touches any device.
 *  3. Devices are only ever added to the table while serving, never removed, so a device pointer
 *     a connection holds stays valid until shutdown, which first joins every connection.
 *  4. SIGTERM/SIGINT are blocked in every thread and read from a signalfd by the accept loop:
 *     shutdown stops accepting, ends each connection after the request it is executing (reads
 *     are shut down, writes are not, so that request's reply still goes out), then closes the
 *     devices (every command's commit already returned) and removes the socket and pid file.
 */
#define _GNU_SOURCE
#include "server/server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/bytes.h"
#include "server/device.h"
#include "server/proto.h"

typedef struct conn conn_t;

typedef struct {
    const vsafe_server_cfg_t *cfg;
    vsafe_server_committer_t *committer;
    pthread_mutex_t mu; /* devices[], conns, nconns */
    pthread_cond_t idle;
    vsafe_server_dev_t **devices;
    size_t ndevices, cap_devices;
    conn_t *conns;
    unsigned nconns;
    int listen_fd;
    int durability;
} server_t;

struct conn {
    server_t *srv;
    int fd;
    vsafe_server_dev_t *dev; /* chosen device; NULL until HELLO on a --root server */
    conn_t *next;
    uint8_t *buf;
    size_t buf_cap;
};

static void logf_(const server_t *s, const char *fmt, const char *a, const char *b)
{
    if (s->cfg->log != NULL) {
        fprintf(s->cfg->log, fmt, a, b);
        fflush(s->cfg->log);
    }
}

/* ---- Device table ---- */

static const char *base_name(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') {
        n--;
    }
    const char *b = dir + n;
    while (b > dir && b[-1] != '/') {
        b--;
    }
    return b;
}

static int add_device(server_t *s, vsafe_server_dev_t *d)
{
    if (s->ndevices == s->cap_devices) {
        size_t cap = s->cap_devices ? 2 * s->cap_devices : 16;
        vsafe_server_dev_t **n = realloc(s->devices, cap * sizeof *n);
        if (n == NULL) {
            return VSAFE_ERR_NO_MEMORY;
        }
        s->devices = n;
        s->cap_devices = cap;
    }
    if (s->cfg->pcap != NULL) {
        vsafe_server_dev_set_pcap(d, s->cfg->pcap, (uint8_t)(s->ndevices & 0x7Fu));
    }
    s->devices[s->ndevices++] = d;
    return VSAFE_OK;
}

static int open_named(server_t *s, const char *name, vsafe_server_dev_t **out, char *why, size_t why_cap)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", s->cfg->root, name);
    vsafe_server_dev_t *d = NULL;
    int rc = vsafe_server_dev_open(&d, dir, name, s->durability, s->committer, why, why_cap);
    if (rc == VSAFE_OK && (rc = add_device(s, d)) != VSAFE_OK) {
        vsafe_server_dev_close(d);
        d = NULL;
    }
    *out = d;
    return rc;
}

/* The device a HELLO names (opening a --root device on first use). */
static int find_device(server_t *s, const uint8_t *name, size_t len, vsafe_server_dev_t **out, char *why,
                       size_t why_cap)
{
    char n[VSAFE_PROTO_NAME_MAX + 1];
    memcpy(n, name, len);
    n[len] = '\0';
    *out = NULL;
    pthread_mutex_lock(&s->mu);
    int rc = VSAFE_ERR_SERVER_NO_DEVICE;
    if (s->cfg->root == NULL) {
        if (len == 0 || strcmp(n, vsafe_server_dev_name(s->devices[0])) == 0) {
            *out = s->devices[0];
            rc = VSAFE_OK;
        } else {
            snprintf(why, why_cap, "this server serves one device, '%s', not '%s'", vsafe_server_dev_name(s->devices[0]),
                     n);
        }
    } else if (len == 0) {
        snprintf(why, why_cap, "this server serves the devices below %s: name one", s->cfg->root);
    } else {
        for (size_t i = 0; i < s->ndevices && *out == NULL; i++) {
            if (strcmp(vsafe_server_dev_name(s->devices[i]), n) == 0) {
                *out = s->devices[i];
                rc = VSAFE_OK;
            }
        }
        if (*out == NULL) {
            char reason[512] = "";
            rc = open_named(s, n, out, reason, sizeof reason);
            if (rc != VSAFE_OK) {
                snprintf(why, why_cap, "no device '%s' below %s (%s)", n, s->cfg->root, reason);
                rc = rc == VSAFE_ERR_NOT_FOUND ? VSAFE_ERR_SERVER_NO_DEVICE : rc;
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int open_devices(server_t *s)
{
    char why[600] = "";
    if (s->cfg->device_dir != NULL) {
        vsafe_server_dev_t *d = NULL;
        int rc = vsafe_server_dev_open(&d, s->cfg->device_dir, base_name(s->cfg->device_dir), s->durability,
                                       s->committer, why, sizeof why);
        if (rc != VSAFE_OK) {
            logf_(s, "vsafe serve: cannot serve %s: %s\n", s->cfg->device_dir, why);
            return rc;
        }
        return add_device(s, d);
    }
    DIR *dir = opendir(s->cfg->root);
    if (dir == NULL) {
        logf_(s, "vsafe serve: cannot read the root directory %s%s\n", s->cfg->root, "");
        return VSAFE_ERR_NOT_FOUND;
    }
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        char probe[4400];
        struct stat sb;
        if (!vsafe_proto_name_ok((const uint8_t *)e->d_name, strlen(e->d_name))) {
            continue;
        }
        snprintf(probe, sizeof probe, "%s/%s/se.nvm", s->cfg->root, e->d_name);
        if (lstat(probe, &sb) != 0) {
            continue;
        }
        vsafe_server_dev_t *d = NULL;
        if (open_named(s, e->d_name, &d, why, sizeof why) != VSAFE_OK) {
            /* Not fatal: the other devices are served; a HELLO naming this one says why. */
            logf_(s, "vsafe serve: not serving %s: %s\n", e->d_name, why);
        }
    }
    closedir(dir);
    return VSAFE_OK;
}

/* ---- Messages ---- */

static int read_full(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(fd, buf + got, len - got, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

static int send_reply(conn_t *c, uint8_t op, int32_t status, const void *data, size_t len)
{
    uint8_t hdr[10];
    vsafe_proto_reply_header(hdr, op, status, len);
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)data, len}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
    size_t total = sizeof hdr + len;
    while (total > 0) {
        ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        total -= (size_t)n;
        while (n > 0 && m.msg_iovlen > 0) {
            size_t k = (size_t)n < m.msg_iov->iov_len ? (size_t)n : m.msg_iov->iov_len;
            m.msg_iov->iov_base = (uint8_t *)m.msg_iov->iov_base + k;
            m.msg_iov->iov_len -= k;
            n -= (ssize_t)k;
            if (m.msg_iov->iov_len == 0) {
                m.msg_iov++;
                m.msg_iovlen--;
            }
        }
    }
    return 0;
}

static int send_error(conn_t *c, uint8_t op, int status, const char *why)
{
    const char *msg = why != NULL && why[0] ? why : vsafe_status_message(status);
    return send_reply(c, op, status, msg, strlen(msg));
}

/* ---- Requests ---- */

static int do_hello(conn_t *c, const vsafe_proto_req_t *r)
{
    char why[600] = "";
    vsafe_server_dev_t *d = NULL;
    int rc = find_device(c->srv, r->name, r->name_len, &d, why, sizeof why);
    if (rc != VSAFE_OK) {
        return send_error(c, r->op, rc, why);
    }
    c->dev = d;
    uint64_t st[VSAFE_PROTO_STAT_COUNT];
    vsafe_server_dev_stats(d, st);
    const char *name = vsafe_server_dev_name(d);
    const char *profile = vsafe_server_dev_profile(d);
    uint8_t out[5 + VSAFE_PROTO_NAME_MAX + 32];
    size_t nl = strlen(name), pl = strlen(profile);
    out[0] = VSAFE_PROTO_VERSION;
    out[1] = (uint8_t)vsafe_server_dev_durability(d);
    out[2] = (uint8_t)((st[VSAFE_PROTO_STAT_POWERED] ? 1u : 0u) | (st[VSAFE_PROTO_STAT_TIMING] ? 2u : 0u));
    out[3] = (uint8_t)nl;
    memcpy(out + 4, name, nl);
    out[4 + nl] = (uint8_t)pl; /* pl < 32 */
    memcpy(out + 5 + nl, profile, pl);
    return send_reply(c, r->op, VSAFE_OK, out, 5 + nl + pl);
}

static int do_list(conn_t *c, const vsafe_proto_req_t *r)
{
    server_t *s = c->srv;
    pthread_mutex_lock(&s->mu);
    size_t cap = s->ndevices * (VSAFE_PROTO_NAME_MAX + 1) + 1, len = 0;
    char *out = malloc(cap);
    for (size_t i = 0; out != NULL && i < s->ndevices; i++) {
        len += (size_t)snprintf(out + len, cap - len, "%s\n", vsafe_server_dev_name(s->devices[i]));
    }
    pthread_mutex_unlock(&s->mu);
    int rc = out == NULL ? send_error(c, r->op, VSAFE_ERR_NO_MEMORY, NULL) : send_reply(c, r->op, 0, out, len);
    free(out);
    return rc;
}

static int do_stats(conn_t *c, const vsafe_proto_req_t *r)
{
    uint64_t st[VSAFE_PROTO_STAT_COUNT];
    vsafe_server_dev_stats(c->dev, st);
    vsafe_server_committer_counts(c->srv->committer, &st[VSAFE_PROTO_STAT_SERVER_SYNC_CALLS],
                                  &st[VSAFE_PROTO_STAT_SERVER_DURABLE]);
    uint8_t out[1 + 8 * VSAFE_PROTO_STAT_COUNT];
    out[0] = VSAFE_PROTO_STAT_COUNT;
    for (unsigned i = 0; i < VSAFE_PROTO_STAT_COUNT; i++) {
        vsafe_put_be64(out + 1 + 8 * i, st[i]);
    }
    return send_reply(c, r->op, VSAFE_OK, out, sizeof out);
}

/* DA_EXCHANGE: DATA is OUTCOME (i32 BE, the MCU's vsafe status for the frame) then the MCU's
 * response frame; a negative STATUS only when no MCU could take the frame. */
static int do_da(conn_t *c, const vsafe_proto_req_t *r)
{
    char why[600] = "";
    uint8_t out[4 + VSAFE_PROTO_DA_MAX];
    size_t n = 0;
    int outcome = VSAFE_OK;
    int rc = vsafe_server_dev_da(c->dev, r->data, r->data_len, out + 4, sizeof out - 4, &n, &outcome, why, sizeof why);
    if (rc != VSAFE_OK) {
        return send_error(c, r->op, rc, why);
    }
    vsafe_put_be32(out, (uint32_t)outcome);
    return send_reply(c, r->op, VSAFE_OK, out, 4 + n);
}

static int do_device_request(conn_t *c, const vsafe_proto_req_t *r)
{
    vsafe_server_dev_t *d = c->dev;
    char why[600] = "";
    uint8_t io[VSAFE_PROTO_I2C_MAX];
    size_t n = 0;
    int rc;
    switch (r->op) {
    case VSAFE_PROTO_I2C_WRITE:
        rc = vsafe_server_dev_i2c_write(d, r->addr7, r->data, r->data_len);
        return rc < 0 ? send_error(c, r->op, rc, NULL) : send_reply(c, r->op, rc, NULL, 0);
    case VSAFE_PROTO_I2C_READ:
        rc = vsafe_server_dev_i2c_read(d, r->addr7, io, r->read_len);
        return rc < 0 ? send_error(c, r->op, rc, NULL) : send_reply(c, r->op, rc, io, rc == 0 ? r->read_len : 0);
    case VSAFE_PROTO_TRANSCEIVE:
        rc = vsafe_server_dev_transceive(d, r->addr7, r->data, r->data_len, io, sizeof io, &n);
        return rc < 0 ? send_error(c, r->op, rc, NULL) : send_reply(c, r->op, rc, io, n);
    case VSAFE_PROTO_POWER:
        rc = vsafe_server_dev_power(d, r->value, why, sizeof why);
        break;
    case VSAFE_PROTO_RESET:
        rc = vsafe_server_dev_reset(d, why, sizeof why);
        break;
    case VSAFE_PROTO_CUT:
        rc = vsafe_server_dev_cut(d, r->count, r->value, why, sizeof why);
        break;
    case VSAFE_PROTO_TIMING:
        rc = vsafe_server_dev_timing(d, r->value);
        break;
    case VSAFE_PROTO_STATS:
        return do_stats(c, r);
    case VSAFE_PROTO_STATE_GET: {
        uint8_t *blob = NULL;
        rc = vsafe_server_dev_state_get(d, &blob, &n);
        int s = rc != VSAFE_OK ? send_error(c, r->op, rc, NULL) : send_reply(c, r->op, 0, blob, n);
        free(blob);
        return s;
    }
    case VSAFE_PROTO_STATE_SET:
        rc = vsafe_server_dev_state_set(d, r->data, r->data_len, why, sizeof why);
        break;
    case VSAFE_PROTO_DA_EXCHANGE:
        return do_da(c, r);
    default:
        rc = VSAFE_ERR_PROTO_REQUEST;
        break;
    }
    return rc != VSAFE_OK ? send_error(c, r->op, rc, why) : send_reply(c, r->op, 0, NULL, 0);
}

static int serve_one(conn_t *c, const uint8_t *body, size_t len)
{
    vsafe_proto_req_t r;
    int rc = vsafe_proto_parse_request(body, len, &r);
    if (rc != VSAFE_OK) {
        return send_error(c, r.op, rc, NULL); /* invariant 2 */
    }
    if (r.op == VSAFE_PROTO_HELLO) {
        return do_hello(c, &r);
    }
    if (r.op == VSAFE_PROTO_LIST) {
        return do_list(c, &r);
    }
    if (c->dev == NULL) {
        return send_error(c, r.op, VSAFE_ERR_SERVER_NO_DEVICE,
                          "no device chosen: this server serves several; send HELLO with a device name first");
    }
    return do_device_request(c, &r);
}

static void conn_finish(conn_t *c)
{
    server_t *s = c->srv;
    pthread_mutex_lock(&s->mu);
    for (conn_t **p = &s->conns; *p != NULL; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    s->nconns--;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
    close(c->fd);
    free(c->buf);
    free(c);
}

static void *conn_thread(void *arg)
{
    conn_t *c = arg;
    for (;;) {
        uint8_t lenb[4];
        if (read_full(c->fd, lenb, sizeof lenb) != 0) {
            break;
        }
        uint32_t len = vsafe_get_be32(lenb);
        if (!vsafe_proto_len_ok(len, false)) {
            (void)send_error(c, 0, len > VSAFE_PROTO_MAX_MSG ? VSAFE_ERR_PROTO_TOO_LONG : VSAFE_ERR_PROTO_MALFORMED,
                             len > VSAFE_PROTO_MAX_MSG ? "message longer than 1 MiB: connection closed"
                                                       : "message shorter than its header: connection closed");
            break;
        }
        if (len > c->buf_cap) {
            uint8_t *nb = realloc(c->buf, len);
            if (nb == NULL) {
                (void)send_error(c, 0, VSAFE_ERR_NO_MEMORY, NULL);
                break;
            }
            c->buf = nb;
            c->buf_cap = len;
        }
        if (read_full(c->fd, c->buf, len) != 0) {
            break; /* invariant 1: the partial request is dropped unread */
        }
        if (serve_one(c, c->buf, len) != 0) {
            break;
        }
    }
    conn_finish(c);
    return NULL;
}

static void accept_one(server_t *s)
{
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly on Unix sockets */
    conn_t *c = calloc(1, sizeof *c);
    unsigned max = s->cfg->max_clients ? s->cfg->max_clients : 256u;
    if (c == NULL) {
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    pthread_mutex_lock(&s->mu);
    bool full = s->nconns >= max;
    if (!full) {
        c->dev = s->cfg->root == NULL ? s->devices[0] : NULL;
        c->next = s->conns;
        s->conns = c;
        s->nconns++;
    }
    pthread_mutex_unlock(&s->mu);
    if (full) {
        (void)send_error(c, 0, VSAFE_ERR_SERVER_BUSY, NULL);
        close(fd);
        free(c);
        return;
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256u * 1024u);
    if (pthread_create(&t, &attr, conn_thread, c) != 0) {
        conn_finish(c);
    }
    pthread_attr_destroy(&attr);
}

/* ---- Listening ---- */

static int listen_unix(server_t *s, const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        logf_(s, "vsafe serve: socket path too long: %s%s\n", path, "");
        return VSAFE_ERR_ARGUMENT;
    }
    strcpy(a.sun_path, path);
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            logf_(s, "vsafe serve: %s exists and is not a socket: refused (remove it yourself)%s\n", path, "");
            return VSAFE_ERR_EXISTS;
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&a, sizeof a) == 0;
        int err = errno;
        if (probe >= 0) {
            close(probe);
        }
        if (live || (err != ECONNREFUSED && err != ENOENT)) {
            logf_(s, "vsafe serve: %s is in use by a running server: refused (stop it first)%s\n", path, "");
            return VSAFE_ERR_SERVER_IN_USE;
        }
        /* Nobody listens: a socket left behind by a killed server. */
        logf_(s, "vsafe serve: replacing the stale socket %s (no server listens on it)%s\n", path, "");
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return VSAFE_ERR_IO;
    }
    mode_t old = umask(0177); /* the socket is the owner's alone: it can power devices off */
    int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
    umask(old);
    if (rc != 0 || listen(fd, 128) != 0) {
        logf_(s, "vsafe serve: cannot listen on %s: %s\n", path, strerror(errno));
        close(fd);
        return errno == EADDRINUSE ? VSAFE_ERR_SERVER_IN_USE : VSAFE_ERR_IO;
    }
    s->listen_fd = fd;
    return VSAFE_OK;
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127u;
    }
    if (sa->sa_family == AF_INET6) {
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    }
    return false;
}

static int listen_tcp(server_t *s, const char *spec, char *shown, size_t shown_cap)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (colon == NULL || colon == spec || (size_t)(colon - spec) >= sizeof host || colon[1] == '\0') {
        logf_(s, "vsafe serve: --listen takes HOST:PORT (for example 127.0.0.1:7070), not '%s'%s\n", spec, "");
        return VSAFE_ERR_ARGUMENT;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || ai == NULL) {
        logf_(s, "vsafe serve: --listen: '%s' is not a numeric address and port%s\n", spec, "");
        return VSAFE_ERR_ARGUMENT;
    }
    if (!is_loopback(ai->ai_addr)) {
        if (!s->cfg->allow_remote) {
            logf_(s, "vsafe serve: --listen %s is not a loopback address: refused (the protocol has no "
                     "authentication; add --allow-remote to serve it anyway)%s\n", spec, "");
            freeaddrinfo(ai);
            return VSAFE_ERR_ARGUMENT;
        }
        logf_(s, "vsafe serve: WARNING: serving on %s, reachable from other hosts, without authentication%s\n",
              spec, "");
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        int err = errno;
        logf_(s, "vsafe serve: cannot listen on %s: %s\n", spec, strerror(err));
        if (fd >= 0) {
            close(fd);
        }
        freeaddrinfo(ai);
        return err == EADDRINUSE ? VSAFE_ERR_SERVER_IN_USE : VSAFE_ERR_IO;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    char h[INET6_ADDRSTRLEN] = "", p[16] = "";
    if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0 &&
        getnameinfo((struct sockaddr *)&got, gl, h, sizeof h, p, sizeof p, NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        snprintf(shown, shown_cap, strchr(h, ':') != NULL ? "[%s]:%s" : "%s:%s", h, p);
    }
    s->listen_fd = fd;
    return VSAFE_OK;
}

/* ---- Readiness ---- */

/* sd_notify's datagram, written here rather than linking libsystemd: one line per field to the
 * AF_UNIX datagram socket named by $NOTIFY_SOCKET ('@' = the abstract namespace). */
static void notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || (path[0] != '/' && path[0] != '@')) {
        return;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n >= sizeof a.sun_path) {
        return;
    }
    memcpy(a.sun_path, path, n);
    if (path[0] == '@') {
        a.sun_path[0] = '\0';
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    (void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&a,
                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
    close(fd);
}

static int write_pid_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        return VSAFE_ERR_IO;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    int rc = write(fd, buf, (size_t)n) == n ? VSAFE_OK : VSAFE_ERR_IO;
    close(fd);
    return rc;
}

/* ---- Run ---- */

static void shutdown_connections(server_t *s)
{
    pthread_mutex_lock(&s->mu);
    for (conn_t *c = s->conns; c != NULL; c = c->next) {
        shutdown(c->fd, SHUT_RD); /* invariant 4: the request in flight still gets its reply */
    }
    while (s->nconns > 0) {
        pthread_cond_wait(&s->idle, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
}

int vsafe_server_run(const vsafe_server_cfg_t *cfg)
{
    server_t s = {.cfg = cfg, .listen_fd = -1, .durability = cfg->durability};
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.idle, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every thread started below */
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    char shown[300] = "";
    bool made_socket = false, made_pid = false;
    vsafe_server_commit_cfg_t cc = {.group = !cfg->no_group_commit, .delay_ms = cfg->sync_delay_ms};
    int rc = sfd < 0 ? VSAFE_ERR_IO : vsafe_server_committer_new(&s.committer, &cc);
    /* The address first: a second server on a live socket is refused for that reason, before it
     * touches (or is refused) the devices the first one holds. */
    if (rc == VSAFE_OK) {
        if (cfg->listen != NULL) {
            rc = listen_tcp(&s, cfg->listen, shown, sizeof shown);
        } else {
            rc = listen_unix(&s, cfg->socket_path);
            snprintf(shown, sizeof shown, "%s", cfg->socket_path);
            made_socket = rc == VSAFE_OK;
        }
    }
    if (rc == VSAFE_OK) {
        rc = open_devices(&s);
    }
    if (rc == VSAFE_OK && cfg->pid_file != NULL) {
        rc = write_pid_file(cfg->pid_file);
        made_pid = rc == VSAFE_OK;
        if (rc != VSAFE_OK) {
            logf_(&s, "vsafe serve: cannot write the pid file %s%s\n", cfg->pid_file, "");
        }
    }
    if (rc == VSAFE_OK) {
        if (cfg->ready != NULL) {
            fprintf(cfg->ready, "%s\n", shown);
            fflush(cfg->ready);
        }
        char msg[512];
        snprintf(msg, sizeof msg, "READY=1\nMAINPID=%ld\nSTATUS=serving %zu device(s) on %s", (long)getpid(),
                 s.ndevices, shown);
        notify(msg);
        for (;;) {
            struct pollfd p[2] = {{s.listen_fd, POLLIN, 0}, {sfd, POLLIN, 0}};
            if (poll(p, 2, -1) < 0) {
                if (errno == EINTR) {
                    continue;
                }
                rc = VSAFE_ERR_IO;
                break;
            }
            if (p[1].revents & POLLIN) {
                struct signalfd_siginfo si;
                (void)read(sfd, &si, sizeof si);
                break;
            }
            if (p[0].revents & POLLIN) {
                accept_one(&s);
            }
        }
        notify("STOPPING=1");
    }
    if (s.listen_fd >= 0) {
        close(s.listen_fd);
    }
    shutdown_connections(&s);
    if (made_socket) {
        unlink(cfg->socket_path);
    }
    if (made_pid) {
        unlink(cfg->pid_file);
    }
    vsafe_server_committer_free(s.committer);
    for (size_t i = 0; i < s.ndevices; i++) {
        vsafe_server_dev_close(s.devices[i]);
    }
    free(s.devices);
    if (sfd >= 0) {
        close(sfd);
    }
    pthread_cond_destroy(&s.idle);
    pthread_mutex_destroy(&s.mu);
    return rc;
}
