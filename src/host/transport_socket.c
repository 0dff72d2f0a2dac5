/* The socket transport and connections to a device server (host.h, transport.h; the protocol is
 * docs/SOCKET.md, its layout server/proto.h).
 *
 * Invariants:
 *  - One request is one message out and one reply back, in order: the connection is
 *    synchronous, so a reply always answers the request just sent (its OP is checked).
 *  - A reply whose LEN is outside the protocol's limits, or that ends early, is a transport
 *    failure: the connection is closed and every later request fails (VSAFE_ERR_HOST_TRANSPORT),
 *    never resynchronised on guesswork.
 *  - Bytes of a reply beyond the caller's buffer are read and dropped, so the stream stays in step.
 * This file calls nothing of session.c or host.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/secure.h"
#include "server/proto.h"
#include "transport.h"

struct vsafe_host_conn {
    int fd;
};

static int write_all(int fd, const struct iovec *iov_in, int n)
{
    struct iovec iov[2];
    memcpy(iov, iov_in, (size_t)n * sizeof *iov);
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    while (m.msg_iovlen > 0) {
        ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        while (w > 0 && m.msg_iovlen > 0) {
            size_t k = (size_t)w < m.msg_iov->iov_len ? (size_t)w : m.msg_iov->iov_len;
            m.msg_iov->iov_base = (uint8_t *)m.msg_iov->iov_base + k;
            m.msg_iov->iov_len -= k;
            w -= (ssize_t)k;
            if (m.msg_iov->iov_len == 0) {
                m.msg_iov++;
                m.msg_iovlen--;
            }
        }
    }
    return 0;
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = recv(fd, buf + got, len - got, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

static void conn_fail(vsafe_host_conn_t *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

int vsafe_host_conn_request(vsafe_host_conn_t *c, uint8_t op, const uint8_t *args, size_t args_len, int32_t *status,
                            uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (c == NULL || status == NULL || out_len == NULL || (args == NULL && args_len > 0) ||
        args_len > VSAFE_PROTO_MAX_MSG - VSAFE_PROTO_REQ_HDR) {
        return VSAFE_ERR_ARGUMENT;
    }
    *status = 0;
    *out_len = 0;
    if (c->fd < 0) {
        return VSAFE_ERR_HOST_TRANSPORT;
    }
    uint8_t hdr[6];
    vsafe_proto_request_header(hdr, op, args_len);
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)args, args_len}};
    if (write_all(c->fd, iov, args_len ? 2 : 1) != 0) {
        conn_fail(c);
        return VSAFE_ERR_HOST_TRANSPORT;
    }
    uint8_t rh[4 + VSAFE_PROTO_REPLY_HDR];
    if (read_all(c->fd, rh, sizeof rh) != 0 || !vsafe_proto_len_ok(vsafe_get_be32(rh), true)) {
        conn_fail(c);
        return VSAFE_ERR_HOST_TRANSPORT;
    }
    int32_t st = 0;
    const uint8_t *data = NULL;
    size_t dlen = 0;
    int rc = vsafe_proto_parse_reply(rh + 4, VSAFE_PROTO_REPLY_HDR, op, &st, &data, &dlen);
    if (rc != VSAFE_OK) {
        conn_fail(c);
        return rc;
    }
    size_t total = vsafe_get_be32(rh) - VSAFE_PROTO_REPLY_HDR;
    size_t keep = total < out_cap ? total : out_cap;
    if (keep > 0 && read_all(c->fd, out, keep) != 0) {
        conn_fail(c);
        return VSAFE_ERR_HOST_TRANSPORT;
    }
    for (size_t left = total - keep; left > 0;) {
        uint8_t sink[512];
        size_t k = left < sizeof sink ? left : sizeof sink;
        if (read_all(c->fd, sink, k) != 0) {
            conn_fail(c);
            return VSAFE_ERR_HOST_TRANSPORT;
        }
        left -= k;
    }
    *status = st;
    *out_len = total;
    return VSAFE_OK;
}

/* HOST:PORT when there is no '/' and the part after the last ':' is all digits. */
static int is_tcp(const char *a)
{
    const char *colon = strrchr(a, ':');
    if (strchr(a, '/') != NULL || colon == NULL || colon == a || colon[1] == '\0') {
        return 0;
    }
    for (const char *p = colon + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return 0;
        }
    }
    return 1;
}

static int connect_tcp(const char *a)
{
    char host[256];
    const char *colon = strrchr(a, ':');
    size_t hl = (size_t)(colon - a);
    if (hl >= sizeof host) {
        return -1;
    }
    memcpy(host, a, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *p = ai; p != NULL && fd < 0; p = p->ai_next) {
        fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, p->ai_addr, p->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd >= 0) {
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        return -1;
    }
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int vsafe_host_conn_open(vsafe_host_conn_t **out, const char *address, const char *device, char *msg, size_t msg_cap)
{
    if (out == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *out = NULL;
    if (msg != NULL && msg_cap > 0) {
        msg[0] = '\0';
    }
    size_t dl = device != NULL ? strlen(device) : 0;
    if (address == NULL || address[0] == '\0' || dl > VSAFE_PROTO_NAME_MAX) {
        return VSAFE_ERR_ARGUMENT;
    }
    vsafe_host_conn_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    if (strncmp(address, "unix:", 5) == 0) {
        c->fd = connect_unix(address + 5);
    } else {
        c->fd = is_tcp(address) ? connect_tcp(address) : connect_unix(address);
    }
    if (c->fd < 0) {
        free(c);
        return VSAFE_ERR_HOST_TRANSPORT;
    }
    if (device == NULL) {
        /* A server of one device has it chosen already; on a server of several, every device
         * request is refused until a HELLO names one (VSAFE_ERR_SERVER_NO_DEVICE). */
        *out = c;
        return VSAFE_OK;
    }
    int32_t st = 0;
    uint8_t reply[256];
    size_t rl = 0;
    int rc = vsafe_host_conn_request(c, VSAFE_PROTO_HELLO, (const uint8_t *)device, dl, &st, reply, sizeof reply - 1,
                                     &rl);
    if (rc == VSAFE_OK && st != 0) {
        if (msg != NULL && msg_cap > 0) {
            size_t k = rl < sizeof reply - 1 ? rl : sizeof reply - 1;
            snprintf(msg, msg_cap, "%.*s", (int)k, (const char *)reply);
        }
        rc = st < 0 ? st : VSAFE_ERR_PROTO_MALFORMED;
    }
    if (rc != VSAFE_OK) {
        vsafe_host_conn_close(c);
        return rc;
    }
    *out = c;
    return VSAFE_OK;
}

void vsafe_host_conn_close(vsafe_host_conn_t *c)
{
    if (c != NULL) {
        conn_fail(c);
        free(c);
    }
}

/* ---- The transport ---- */

typedef struct {
    host_transport_t base; /* first: the object is reached through a host_transport_t pointer */
    vsafe_host_conn_t *conn;
    int owns;
    uint8_t addr7;
} socket_transport_t;

static int socket_exchange(host_transport_t *base, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t rsp_cap,
                           size_t *rsp_len)
{
    socket_transport_t *t = (socket_transport_t *)base;
    uint8_t args[1 + VSAFE_SE_FRAME_MAX + VSAFE_SE_CRC_LEN];
    *rsp_len = 0;
    if (cmd_len > sizeof args - 1) {
        return VSAFE_ERR_FRAME_TOO_LONG;
    }
    args[0] = t->addr7;
    memcpy(args + 1, cmd, cmd_len);
    int32_t st = 0;
    size_t got = 0;
    int rc = vsafe_host_conn_request(t->conn, VSAFE_PROTO_TRANSCEIVE, args, 1 + cmd_len, &st, rsp, rsp_cap, &got);
    vsafe_wipe(args, 1 + cmd_len);
    if (rc != VSAFE_OK) {
        return rc == VSAFE_ERR_HOST_TRANSPORT ? rc : VSAFE_ERR_HOST_TRANSPORT;
    }
    if (st == VSAFE_I2C_NACK) {
        host_transport_capture(base, t->addr7, 0, cmd, cmd_len, VSAFE_I2C_NACK);
        return VSAFE_ERR_HOST_NACK;
    }
    host_transport_capture(base, t->addr7, 0, cmd, cmd_len, 0);
    if (st == VSAFE_PROTO_NO_RESPONSE || st == VSAFE_PROTO_POWER_LOST) {
        host_transport_capture(base, t->addr7, 1, rsp, 5, VSAFE_I2C_NACK);
        /* As in process: a power loss is reported as such, a device that stays busy as a timeout. */
        return st == VSAFE_PROTO_POWER_LOST ? VSAFE_ERR_POWER_LOSS : VSAFE_ERR_HOST_TIMEOUT;
    }
    if (st != 0) {
        return st < 0 ? st : VSAFE_ERR_HOST_TRANSPORT;
    }
    if (got > rsp_cap) {
        *rsp_len = rsp_cap;
        return VSAFE_ERR_HOST_FRAME;
    }
    /* The capture shows the reads the I2C transport makes: the first 5 bytes, then the frame. */
    host_transport_capture(base, t->addr7, 1, rsp, got < 5 ? got : 5, 0);
    if (got > 5) {
        host_transport_capture(base, t->addr7, 1, rsp, got, 0);
    }
    *rsp_len = got;
    return VSAFE_OK;
}

static void socket_destroy(host_transport_t *base)
{
    socket_transport_t *t = (socket_transport_t *)base;
    if (t->owns) {
        vsafe_host_conn_close(t->conn);
    }
    free(t);
}

static const host_transport_ops_t SOCKET_OPS = {
    .name = "socket",
    .exchange = socket_exchange,
    .destroy = socket_destroy,
};

int host_transport_open_socket(host_transport_t **out, vsafe_host_conn_t *conn, int owns)
{
    if (out == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *out = NULL;
    if (conn == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    socket_transport_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    t->base.ops = &SOCKET_OPS;
    t->conn = conn;
    t->owns = owns;
    t->addr7 = VSAFE_SE_DEFAULT_I2C_ADDR;
    *out = &t->base;
    return VSAFE_OK;
}
