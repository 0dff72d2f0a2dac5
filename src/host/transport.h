/* Host transport: the bottom layer of the host library. It moves one command frame to the device
 * and brings back that command's complete response frame; it knows frames and buses, nothing of
 * sessions, MACs or the command set. The layers above (session.c, then host.c) only call down.
 *
 * A transport is an object whose first member is host_transport_t and whose behaviour is an ops
 * table. Two implementations: I2C through caller callbacks (which also carries the in-process
 * device, whose bus view is vsafe_se_i2c_write/read), and a socket to a device server
 * (transport_socket.c: send one frame, receive one frame; no NACK polling).
 * Not installed. */
#ifndef VSAFE_HOST_TRANSPORT_H
#define VSAFE_HOST_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "vsafe/host.h"
#include "vsafe/se_wire.h"

typedef struct host_transport host_transport_t;

typedef struct {
    const char *name; /* "i2c", for messages */
    /* Writes the command frame cmd (CRC included) and reads back the whole response frame
     * (STATUS, LEN, payload, CRC) into rsp (rsp_cap >= VSAFE_SE_RSP_WIRE_MAX).
     * VSAFE_OK: *rsp_len is the frame's length (>= 5).
     * VSAFE_ERR_HOST_FRAME: LEN is impossible; rsp holds the *rsp_len bytes read (for the trace).
     * VSAFE_ERR_HOST_NACK / _TIMEOUT / _TRANSPORT (or the callback's own vsafe status): nothing
     * usable was read, *rsp_len = 0. The CRC is not checked here (host_transport_exchange does). */
    int (*exchange)(host_transport_t *t, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t rsp_cap,
                    size_t *rsp_len);
    void (*destroy)(host_transport_t *t); /* frees the object */
} host_transport_ops_t;

/* Told about each NACK the bus answered while polling (for the trace). */
typedef void (*host_transport_nack_fn)(void *ctx);

struct host_transport {
    const host_transport_ops_t *ops;
    host_transport_nack_fn on_nack; /* may be NULL */
    void *on_nack_ctx;
    vsafe_pcap_t *pcap; /* may be NULL: where each bus transaction is recorded */
};

/* One response, checked: LEN consistent with the bytes read and within the frame limit, CRC
 * (over STATUS and the bytes after LEN) correct. */
typedef struct {
    size_t wire_len;     /* bytes of the response frame in the caller's buffer; 0 when none was read */
    uint8_t status;      /* wire status (low 5 bits of the first byte) */
    uint8_t raw_status;  /* the first byte as received (R-MAC input) */
    const uint8_t *body; /* the bytes after LEN: payload (+ R-MAC) */
    size_t body_len;     /* their count, CRC excluded */
} host_response_t;

/* An I2C transport over caller callbacks, with the defaults of vsafe_host_transport_t applied
 * (address 0x20, 100 attempts, 10 ms poll interval). VSAFE_ERR_ARGUMENT (no write or read
 * callback), VSAFE_ERR_NO_MEMORY. */
VSAFE_MUST_CHECK int host_transport_open_i2c(host_transport_t **out, const vsafe_host_transport_t *cfg);

/* A transport over a connection to a device server (transport_socket.c): one TRANSCEIVE request
 * per command, no NACK polling (the server waits out the device's busy time). owns: destroying
 * the transport closes the connection. VSAFE_ERR_ARGUMENT, VSAFE_ERR_NO_MEMORY. */
VSAFE_MUST_CHECK int host_transport_open_socket(host_transport_t **out, vsafe_host_conn_t *conn, int owns);

/* Destroys t (any implementation). NULL is fine. */
void host_transport_close(host_transport_t *t);

void host_transport_set_nack_hook(host_transport_t *t, host_transport_nack_fn fn, void *ctx);

/* Every implementation reports each bus transaction it makes here, once it is over: rc is the
 * bus result (0 = acknowledged, VSAFE_I2C_NACK = not); a host-side failure (rc < 0) moved
 * nothing on the bus and is not recorded. */
void host_transport_capture(host_transport_t *t, uint8_t addr7, int is_read, const uint8_t *buf, size_t len, int rc);

/* Appends the frame CRC (high byte first) after len bytes of frame; returns len + 2. */
size_t host_frame_seal(uint8_t *frame, size_t len);

/* One exchange through t, then the checks every transport shares (host_response_t).
 * On VSAFE_OK every field of *out is set. On VSAFE_ERR_HOST_FRAME or VSAFE_ERR_HOST_CRC only
 * out->wire_len is (the bytes in rsp, for the trace); on a bus error out->wire_len is 0.
 * VSAFE_ERR_FRAME_TOO_LONG when cmd exceeds the frame limit (nothing is sent). */
VSAFE_MUST_CHECK int host_transport_exchange(host_transport_t *t, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
                                             size_t rsp_cap, host_response_t *out);

#endif
