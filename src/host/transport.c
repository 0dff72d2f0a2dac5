/* Host transport (transport.h): frames on the bus exactly as STSELib puts them.
 *
 * Invariants of the I2C transport:
 *  - one command = one write transaction of the whole frame (CRC last);
 *  - a response is read as 5 bytes, then (LEN > 2) the whole LEN + 3 bytes again from byte 0,
 *    because each read of the device restarts at byte 0 of its response;
 *  - NACKs are retried a bounded number of times (write: VSAFE_ERR_HOST_NACK, read:
 *    VSAFE_ERR_HOST_TIMEOUT when exhausted), each one reported to the NACK hook; nothing else is
 *    retried;
 *  - every write and read attempt, ACKed or NACKed, is reported to host_transport_capture.
 * Common to every transport (host_transport_exchange): the response CRC covers STATUS + the
 * bytes after LEN (payload, R-MAC), not the LEN bytes; a frame whose LEN disagrees with the bytes
 * delivered is refused before its CRC is looked at.
 * This file calls nothing of session.c or host.c. */
#include "transport.h"

#include <stdlib.h>
#include <string.h>

#include "common/secure.h"

typedef struct {
    host_transport_t base; /* first: the object is reached through a host_transport_t pointer */
    vsafe_host_transport_t cfg;
} i2c_transport_t;

/* A callback's negative status passes through when it is one of ours, else it is a transport failure. */
static int map_bus_error(int rc)
{
    if (rc < 0 && strcmp(vsafe_status_name(rc), "UNKNOWN") != 0) {
        return rc;
    }
    return VSAFE_ERR_HOST_TRANSPORT;
}

static void nacked(i2c_transport_t *t)
{
    if (t->base.on_nack != NULL) {
        t->base.on_nack(t->base.on_nack_ctx);
    }
    if (t->cfg.delay_ms != NULL) {
        t->cfg.delay_ms(t->cfg.ctx, t->cfg.poll_interval_ms);
    }
}

static int bus_write(i2c_transport_t *t, const uint8_t *buf, size_t len)
{
    for (unsigned attempt = 0; attempt < t->cfg.max_retries; attempt++) {
        int rc = t->cfg.write(t->cfg.ctx, t->cfg.addr7, buf, len);
        host_transport_capture(&t->base, t->cfg.addr7, 0, buf, len, rc);
        if (rc == 0) {
            return VSAFE_OK;
        }
        if (rc != VSAFE_I2C_NACK) {
            return map_bus_error(rc);
        }
        nacked(t);
    }
    return VSAFE_ERR_HOST_NACK;
}

static int bus_read(i2c_transport_t *t, uint8_t *buf, size_t len)
{
    for (unsigned attempt = 0; attempt < t->cfg.max_retries; attempt++) {
        int rc = t->cfg.read(t->cfg.ctx, t->cfg.addr7, buf, len);
        host_transport_capture(&t->base, t->cfg.addr7, 1, buf, len, rc);
        if (rc == 0) {
            return VSAFE_OK;
        }
        if (rc != VSAFE_I2C_NACK) {
            return map_bus_error(rc);
        }
        nacked(t);
    }
    return VSAFE_ERR_HOST_TIMEOUT;
}

static size_t frame_len_field(const uint8_t *rsp)
{
    return (size_t)rsp[1] << 8 | rsp[2];
}

/* LEN counts STATUS's successor bytes: payload (+ R-MAC) + CRC, at least the CRC. */
static int len_possible(size_t len, size_t rsp_cap)
{
    return len >= 2 && len + 3 <= rsp_cap && len - 1 <= VSAFE_SE_FRAME_MAX;
}

static int i2c_exchange(host_transport_t *base, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t rsp_cap,
                        size_t *rsp_len)
{
    i2c_transport_t *t = (i2c_transport_t *)base;
    *rsp_len = 0;
    int rc = bus_write(t, cmd, cmd_len);
    if (rc != VSAFE_OK) {
        return rc;
    }
    rc = bus_read(t, rsp, 5);
    if (rc != VSAFE_OK) {
        return rc;
    }
    size_t len = frame_len_field(rsp);
    if (!len_possible(len, rsp_cap)) {
        *rsp_len = 5;
        return VSAFE_ERR_HOST_FRAME;
    }
    if (len > 2) {
        rc = bus_read(t, rsp, len + 3);
        if (rc != VSAFE_OK) {
            return rc;
        }
    }
    *rsp_len = len + 3;
    return VSAFE_OK;
}

static void i2c_destroy(host_transport_t *base)
{
    i2c_transport_t *t = (i2c_transport_t *)base;
    vsafe_wipe(t, sizeof *t);
    free(t);
}

static const host_transport_ops_t I2C_OPS = {
    .name = "i2c",
    .exchange = i2c_exchange,
    .destroy = i2c_destroy,
};

int host_transport_open_i2c(host_transport_t **out, const vsafe_host_transport_t *cfg)
{
    if (out == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *out = NULL;
    if (cfg == NULL || cfg->write == NULL || cfg->read == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    i2c_transport_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    t->base.ops = &I2C_OPS;
    t->cfg = *cfg;
    if (t->cfg.addr7 == 0) {
        t->cfg.addr7 = VSAFE_SE_DEFAULT_I2C_ADDR;
    }
    if (t->cfg.max_retries == 0) {
        t->cfg.max_retries = 100;
    }
    if (t->cfg.poll_interval_ms == 0) {
        t->cfg.poll_interval_ms = 10;
    }
    *out = &t->base;
    return VSAFE_OK;
}

void host_transport_close(host_transport_t *t)
{
    if (t != NULL) {
        t->ops->destroy(t);
    }
}

void host_transport_set_nack_hook(host_transport_t *t, host_transport_nack_fn fn, void *ctx)
{
    t->on_nack = fn;
    t->on_nack_ctx = ctx;
}

void host_transport_capture(host_transport_t *t, uint8_t addr7, int is_read, const uint8_t *buf, size_t len, int rc)
{
    if (t->pcap == NULL || (rc != 0 && rc != VSAFE_I2C_NACK)) {
        return;
    }
    if (vsafe_pcap_record(t->pcap, 0, addr7, is_read, buf, len, rc == 0) != VSAFE_OK) {
        /* A capture that cannot be written must not fail the command: the capture stays failed
         * and vsafe_pcap_close reports it. */
        return;
    }
}

size_t host_frame_seal(uint8_t *frame, size_t len)
{
    uint16_t crc = vsafe_crc16(frame, len);
    frame[len] = (uint8_t)(crc >> 8);
    frame[len + 1] = (uint8_t)crc;
    return len + 2;
}

int host_transport_exchange(host_transport_t *t, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t rsp_cap,
                            host_response_t *out)
{
    memset(out, 0, sizeof *out);
    if (cmd_len > VSAFE_SE_FRAME_MAX + VSAFE_SE_CRC_LEN) {
        return VSAFE_ERR_FRAME_TOO_LONG;
    }
    size_t got = 0;
    int rc = t->ops->exchange(t, cmd, cmd_len, rsp, rsp_cap, &got);
    out->wire_len = got;
    if (rc != VSAFE_OK) {
        return rc;
    }
    size_t len = got >= 5 ? frame_len_field(rsp) : 0;
    if (got < 5 || !len_possible(len, rsp_cap) || len + 3 != got) {
        return VSAFE_ERR_HOST_FRAME;
    }
    size_t n = len - 2; /* payload (+ R-MAC) */
    uint16_t crc = vsafe_crc16(rsp, 1);
    crc = vsafe_crc16_continue(crc, rsp + 3, n);
    if (crc != (uint16_t)(rsp[3 + n] << 8 | rsp[4 + n])) {
        return VSAFE_ERR_HOST_CRC;
    }
    out->raw_status = rsp[0];
    out->status = rsp[0] & VSAFE_SE_HDR_CODE;
    out->body = rsp + 3;
    out->body_len = n;
    return VSAFE_OK;
}
