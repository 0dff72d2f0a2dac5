/* Host transport: frames on the bus exactly as STSELib puts them (spec §1.2–§1.5).
 *
 * Invariants:
 *  - one command = one write transaction of the whole frame (CRC last);
 *  - a response is read as 5 bytes, then (LEN > 2) the whole LEN + 3 bytes again from byte 0;
 *  - NACKs are retried a bounded number of times (write: VSAFE_ERR_HOST_NACK, read:
 *    VSAFE_ERR_HOST_TIMEOUT when exhausted); nothing else is retried;
 *  - the response CRC covers STATUS + payload (+ R-MAC), not the LEN bytes. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "host_internal.h"
#include "port/posix/crypto_openssl.h"

void host_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void host_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

uint32_t host_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int se_write(void *ctx, uint8_t addr7, const uint8_t *buf, size_t len)
{
    return vsafe_se_i2c_write((vsafe_se_t *)ctx, addr7, buf, len);
}

static int se_read(void *ctx, uint8_t addr7, uint8_t *buf, size_t len)
{
    return vsafe_se_i2c_read((vsafe_se_t *)ctx, addr7, buf, len);
}

int vsafe_host_open(vsafe_host_t **h, const vsafe_host_transport_t *transport)
{
    if (h == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *h = NULL;
    if (transport == NULL || transport->write == NULL || transport->read == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    vsafe_host_t *n = calloc(1, sizeof *n);
    if (n == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    n->t = *transport;
    if (n->t.addr7 == 0) {
        n->t.addr7 = VSAFE_SE_DEFAULT_I2C_ADDR;
    }
    if (n->t.max_retries == 0) {
        n->t.max_retries = 100;
    }
    if (n->t.poll_interval_ms == 0) {
        n->t.poll_interval_ms = 10;
    }
    *h = n;
    return VSAFE_OK;
}

int vsafe_host_open_se(vsafe_host_t **h, vsafe_se_t *se)
{
    if (h == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *h = NULL;
    if (se == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    vsafe_host_transport_t t = {.write = se_write, .read = se_read, .ctx = se};
    int rc = vsafe_host_open(h, &t);
    if (rc == VSAFE_OK) {
        (*h)->se = se;
    }
    return rc;
}

void vsafe_host_close(vsafe_host_t *h)
{
    if (h == NULL) {
        return;
    }
    vsafe_openssl_crypto_free(h->crypto); /* wipes the session keys */
    OPENSSL_cleanse(h, sizeof *h);
    free(h);
}

void vsafe_host_set_trace(vsafe_host_t *h, vsafe_host_trace_fn fn, void *ctx)
{
    if (h != NULL) {
        h->trace = fn;
        h->trace_ctx = ctx;
    }
}

static int map_transport(int rc)
{
    if (rc < 0 && strcmp(vsafe_status_name(rc), "UNKNOWN") != 0) {
        return rc;
    }
    return VSAFE_ERR_HOST_TRANSPORT;
}

static void trace_nack(vsafe_host_t *h)
{
    if (h->trace != NULL) {
        vsafe_host_trace_t ev = {.dir = VSAFE_HOST_TRACE_NACK};
        h->trace(h->trace_ctx, &ev);
    }
}

static void delay(vsafe_host_t *h)
{
    if (h->t.delay_ms != NULL) {
        h->t.delay_ms(h->t.ctx, h->t.poll_interval_ms);
    }
}

static int bus_write(vsafe_host_t *h, const uint8_t *buf, size_t len)
{
    for (unsigned attempt = 0; attempt < h->t.max_retries; attempt++) {
        int rc = h->t.write(h->t.ctx, h->t.addr7, buf, len);
        if (rc == 0) {
            return VSAFE_OK;
        }
        if (rc != VSAFE_I2C_NACK) {
            return map_transport(rc);
        }
        trace_nack(h);
        delay(h);
    }
    return VSAFE_ERR_HOST_NACK;
}

static int bus_read(vsafe_host_t *h, uint8_t *buf, size_t len)
{
    for (unsigned attempt = 0; attempt < h->t.max_retries; attempt++) {
        int rc = h->t.read(h->t.ctx, h->t.addr7, buf, len);
        if (rc == 0) {
            return VSAFE_OK;
        }
        if (rc != VSAFE_I2C_NACK) {
            return map_transport(rc);
        }
        trace_nack(h);
        delay(h);
    }
    return VSAFE_ERR_HOST_TIMEOUT;
}

void host_trace_response(vsafe_host_t *h, const uint8_t *cmd, size_t cmd_len, size_t rsp_wire_len,
                         int protected_frame, uint32_t counter, const uint8_t *plain, size_t plain_len)
{
    if (h->trace == NULL) {
        return;
    }
    vsafe_host_trace_t ev = {
        .dir = VSAFE_HOST_TRACE_RESPONSE,
        .frame = h->rx,
        .len = rsp_wire_len,
        .command = cmd,
        .command_len = cmd_len,
        .protected_frame = protected_frame,
        .mac_counter = counter,
        .plain = plain,
        .plain_len = plain_len,
    };
    h->trace(h->trace_ctx, &ev);
}

int host_exchange(vsafe_host_t *h, const uint8_t *frame, size_t frame_len, const host_trace_info_t *info,
                  uint8_t *status, const uint8_t **body, size_t *body_len)
{
    if (frame_len > VSAFE_SE_FRAME_MAX + VSAFE_SE_CRC_LEN) {
        return VSAFE_ERR_FRAME_TOO_LONG;
    }
    if (h->trace != NULL) {
        vsafe_host_trace_t ev = {.dir = VSAFE_HOST_TRACE_COMMAND, .frame = frame, .len = frame_len};
        if (info != NULL) {
            ev.protected_frame = info->protected_frame;
            ev.mac_counter = info->cmd_counter;
            ev.plain = info->cmd_plain;
            ev.plain_len = info->cmd_plain_len;
        }
        h->trace(h->trace_ctx, &ev);
    }
    int rc = bus_write(h, frame, frame_len);
    if (rc != VSAFE_OK) {
        return rc;
    }
    rc = bus_read(h, h->rx, 5);
    if (rc != VSAFE_OK) {
        return rc;
    }
    size_t len = (size_t)h->rx[1] << 8 | h->rx[2];
    size_t wire_len = 5;
    if (len < 2 || len + 3 > sizeof h->rx || len - 1 > VSAFE_SE_FRAME_MAX) {
        host_trace_response(h, frame, frame_len, 5, 0, 0, NULL, 0);
        return VSAFE_ERR_HOST_FRAME;
    }
    if (len > 2) {
        wire_len = len + 3;
        rc = bus_read(h, h->rx, wire_len);
        if (rc != VSAFE_OK) {
            return rc;
        }
    }
    int traced_later = info != NULL && info->protected_frame;
    if (!traced_later) {
        host_trace_response(h, frame, frame_len, wire_len, 0, 0, NULL, 0);
    }
    size_t n = len - 2; /* payload (+ R-MAC) */
    uint16_t crc = vsafe_crc16(h->rx, 1);
    crc = vsafe_crc16_continue(crc, h->rx + 3, n);
    uint16_t got = (uint16_t)(h->rx[3 + n] << 8 | h->rx[4 + n]);
    if (crc != got) {
        return VSAFE_ERR_HOST_CRC;
    }
    *status = h->rx[0] & VSAFE_SE_HDR_CODE;
    *body = h->rx + 3;
    *body_len = n;
    return VSAFE_OK;
}

static const vsafe_host_cmd_ac_t *table_find(const vsafe_host_t *h, const uint8_t *hdr, size_t hdr_len)
{
    uint8_t code = hdr[0] & VSAFE_SE_HDR_CODE;
    uint8_t ext = (code == VSAFE_SE_CMD_EXTENDED && hdr_len > 1) ? hdr[1] : 0;
    for (size_t i = 0; i < h->table.count; i++) {
        const vsafe_host_cmd_ac_t *r = &h->table.rec[i];
        if (r->header == code && (code != VSAFE_SE_CMD_EXTENDED || r->ext == ext)) {
            return r;
        }
    }
    return NULL;
}

int host_protection(const vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len, uint8_t *enc)
{
    *enc = 0;
    if (prot == VSAFE_HOST_PROT_NONE) {
        return 0;
    }
    const vsafe_host_cmd_ac_t *r = table_find(h, hdr, hdr_len);
    int mac = prot == VSAFE_HOST_PROT_MAC;
    if (r != NULL) {
        *enc = r->enc & (VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP);
        if (r->ac != VSAFE_SE_CMD_AC_FREE || *enc != 0) {
            mac = 1;
        }
    }
    if (!mac) {
        *enc = 0;
        return 0;
    }
    if (!h->session_open) {
        return VSAFE_ERR_HOST_NO_SESSION;
    }
    return *enc != 0 ? 2 : 1;
}

static size_t pad16(size_t n)
{
    return (n / 16u + 1u) * 16u;
}

size_t host_max_cmd_payload(const vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len)
{
    uint8_t enc = 0;
    int p = host_protection(h, prot, hdr, hdr_len, &enc);
    if (p <= 0) {
        return VSAFE_SE_FRAME_MAX - hdr_len;
    }
    size_t room = VSAFE_SE_FRAME_MAX - hdr_len - VSAFE_SE_MAC_LEN;
    if (enc & VSAFE_SE_ENC_CMD) {
        return (room / 16u) * 16u - 1u; /* at least one padding byte */
    }
    return room;
}

size_t host_max_rsp_payload(const vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len)
{
    uint8_t enc = 0;
    int p = host_protection(h, prot, hdr, hdr_len, &enc);
    size_t room = HOST_RSP_BODY_MAX - 1u;
    if (p <= 0) {
        return room;
    }
    room -= VSAFE_SE_MAC_LEN;
    if (enc & VSAFE_SE_ENC_RSP) {
        return (room / 16u) * 16u - 1u;
    }
    (void)pad16;
    return room;
}

int host_transfer(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len, const uint8_t *payload,
                  size_t payload_len, uint8_t *rsp, size_t rsp_cap, size_t *rsp_len)
{
    uint8_t enc = 0;
    int p = host_protection(h, prot, hdr, hdr_len, &enc);
    if (p < 0) {
        return p;
    }
    if (p > 0) {
        return host_session_transfer(h, enc, hdr, hdr_len, payload, payload_len, rsp, rsp_cap, rsp_len);
    }
    if (hdr_len + payload_len > VSAFE_SE_FRAME_MAX) {
        return VSAFE_ERR_FRAME_TOO_LONG;
    }
    memcpy(h->tx, hdr, hdr_len);
    if (payload_len > 0) {
        memcpy(h->tx + hdr_len, payload, payload_len);
    }
    size_t n = hdr_len + payload_len;
    uint16_t crc = vsafe_crc16(h->tx, n);
    h->tx[n] = (uint8_t)(crc >> 8);
    h->tx[n + 1] = (uint8_t)crc;
    uint8_t status = 0;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    int rc = host_exchange(h, h->tx, n + 2, NULL, &status, &body, &body_len);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (status != VSAFE_SE_ST_OK) {
        return VSAFE_DEV_STATUS(status);
    }
    if (body_len > rsp_cap) {
        return VSAFE_ERR_HOST_FRAME;
    }
    if (body_len > 0) {
        memcpy(rsp, body, body_len);
    }
    *rsp_len = body_len;
    return VSAFE_OK;
}
