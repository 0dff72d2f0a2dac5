/* The device server behind `vsafe serve`: one device directory (--device) or every device
 * directory below a root (--root), on a Unix socket or TCP loopback, speaking the socket protocol
 * of docs/SOCKET.md. Not installed; the CLI and the tests use it. */
#ifndef VSAFE_SERVER_H
#define VSAFE_SERVER_H

#include <stdio.h>

#include "vsafe/host.h"

#include "vsafe/status.h"

typedef struct {
    const char *device_dir;  /* serve this one device directory, or */
    const char *root;        /* every DIR/NAME holding NAME/se.nvm (clients choose NAME) */
    const char *socket_path; /* Unix socket, or */
    const char *listen;      /* "HOST:PORT" (TCP); PORT 0 picks a free port */
    int allow_remote;        /* accept a non-loopback HOST (with a warning) */
    const char *pid_file;    /* NULL: none */
    int durability;          /* VSAFE_PROTO_DURABLE_*, or -1: each device's own (DIR/durability) */
    int no_group_commit;     /* one sync per durable command instead of shared rounds */
    unsigned sync_delay_ms;  /* test and benchmark knob: every sync round sleeps first */
    unsigned max_clients;    /* 0 = 256 */
    vsafe_pcap_t *pcap;      /* NULL, or every I2C transaction of every device (bus number = the
                                device's order of opening, 0..127), from vsafe serve --pcap */
    FILE *ready;             /* the address is printed here (one line) once clients can connect */
    FILE *log;               /* warnings and errors */
} vsafe_server_cfg_t;

/* Runs until SIGTERM or SIGINT (blocked in the calling thread and every thread it starts), then
 * finishes the requests in flight, closes the devices, removes the socket and the pid file and
 * returns VSAFE_OK. Startup errors are printed to cfg->log and returned: VSAFE_ERR_SERVER_IN_USE
 * (a live server holds the socket path), VSAFE_ERR_EXISTS (the path is not a socket),
 * VSAFE_ERR_ARGUMENT (bad address, refused remote address), device open errors, VSAFE_ERR_IO. */
VSAFE_MUST_CHECK int vsafe_server_run(const vsafe_server_cfg_t *cfg);

#endif
