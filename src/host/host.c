/* Host library, API layer: the handle, init, queries, partition table, the data-storage commands
 * and the session entry points (provisioning and Put attribute are in provision.c).
 *
 * Layers: this file -> session.c (framing, secure channel, trace) -> transport.c (bus). Every
 * command goes through host_transfer, which decides the protection from the caller's choice and
 * the cached command table and hands the command to the session layer. Reads and non-atomic
 * updates are split so that no frame exceeds the frame limits for the protection in use.
 * Stack copies of zone data, echo, random and raw payloads (under encryption, the plaintext) are
 * wiped once used, on every exit, sized to the bytes used. */
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/secure.h"
#include "host_internal.h"

/* ---- Handle ---- */

static int se_write(void *ctx, uint8_t addr7, const uint8_t *buf, size_t len)
{
    return vsafe_se_i2c_write((vsafe_se_t *)ctx, addr7, buf, len);
}

/* In process the host can tell a device that lost power from a busy one: the bus would only
 * NACK until the host gave up (VSAFE_ERR_HOST_TIMEOUT); the cause is reported instead. */
static int se_read(void *ctx, uint8_t addr7, uint8_t *buf, size_t len)
{
    vsafe_se_t *se = (vsafe_se_t *)ctx;
    int rc = vsafe_se_i2c_read(se, addr7, buf, len);
    if (rc == VSAFE_I2C_NACK && vsafe_se_power_lost(se)) {
        return VSAFE_ERR_POWER_LOSS;
    }
    return rc;
}

/* The handle around a transport it then owns (closed here on failure). */
static int open_on(vsafe_host_t **h, host_transport_t *t)
{
    vsafe_host_t *n = calloc(1, sizeof *n);
    if (n == NULL) {
        host_transport_close(t);
        return VSAFE_ERR_NO_MEMORY;
    }
    n->transport = t;
    host_session_init(&n->session, n->transport);
    *h = n;
    return VSAFE_OK;
}

int vsafe_host_open_conn(vsafe_host_t **h, vsafe_host_conn_t *c)
{
    if (h == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *h = NULL;
    host_transport_t *t = NULL;
    int rc = host_transport_open_socket(&t, c, 0);
    return rc != VSAFE_OK ? rc : open_on(h, t);
}

int vsafe_host_open_socket(vsafe_host_t **h, const char *address, const char *device)
{
    if (h == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *h = NULL;
    vsafe_host_conn_t *c = NULL;
    int rc = vsafe_host_conn_open(&c, address, device, NULL, 0);
    if (rc != VSAFE_OK) {
        return rc;
    }
    host_transport_t *t = NULL;
    rc = host_transport_open_socket(&t, c, 1);
    if (rc != VSAFE_OK) {
        vsafe_host_conn_close(c);
        return rc;
    }
    return open_on(h, t);
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
    int rc = host_transport_open_i2c(&n->transport, transport);
    if (rc != VSAFE_OK) {
        free(n);
        return rc;
    }
    host_session_init(&n->session, n->transport);
    *h = n;
    return VSAFE_OK;
}

/* The in-process device is driven through its bus view, exactly as a chip on I2C. */
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
    return vsafe_host_open(h, &t);
}

void vsafe_host_close(vsafe_host_t *h)
{
    if (h == NULL) {
        return;
    }
    host_session_destroy(&h->session); /* wipes the session keys and the frame buffers */
    host_transport_close(h->transport);
    vsafe_wipe(h, sizeof *h);
    free(h);
}

void vsafe_host_set_trace(vsafe_host_t *h, vsafe_host_trace_fn fn, void *ctx)
{
    if (h != NULL) {
        host_session_set_trace(&h->session, fn, ctx);
    }
}

void vsafe_host_set_pcap(vsafe_host_t *h, vsafe_pcap_t *p)
{
    if (h != NULL) {
        h->transport->pcap = p;
    }
}

/* ---- Protection and transfer ---- */

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
    if (!h->session.open) {
        return VSAFE_ERR_HOST_NO_SESSION;
    }
    return *enc != 0 ? 2 : 1;
}

size_t host_max_cmd_payload(const vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len)
{
    uint8_t enc = 0;
    int p = host_protection(h, prot, hdr, hdr_len, &enc);
    return host_session_max_cmd_payload(p > 0, enc, hdr_len);
}

size_t host_max_rsp_payload(const vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len)
{
    uint8_t enc = 0;
    int p = host_protection(h, prot, hdr, hdr_len, &enc);
    return host_session_max_rsp_payload(p > 0, enc);
}

int host_transfer(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len, const uint8_t *payload,
                  size_t payload_len, uint8_t *rsp, size_t rsp_cap, size_t *rsp_len)
{
    uint8_t enc = 0;
    int p = host_protection(h, prot, hdr, hdr_len, &enc);
    if (p < 0) {
        return p;
    }
    return host_session_transfer(&h->session, p > 0, enc, hdr, hdr_len, payload, payload_len, rsp, rsp_cap,
                                 rsp_len);
}

/* ---- Session ---- */

int vsafe_host_session_open(vsafe_host_t *h, const uint8_t *mac_key, const uint8_t *cipher_key, unsigned key_type)
{
    if (h == NULL || mac_key == NULL || cipher_key == NULL || key_type > VSAFE_HOST_KEY_AES256) {
        return VSAFE_ERR_ARGUMENT;
    }
    host_session_end(&h->session);
    vsafe_host_key_slot_t slot;
    int rc = vsafe_host_query_key_slot(h, &slot);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (!slot.present) {
        return VSAFE_DEV_STATUS(VSAFE_SE_ST_KEY_NOT_FOUND);
    }
    if (slot.key_type != key_type) {
        return VSAFE_DEV_STATUS(VSAFE_SE_ST_WRONG_KEY_TYPE);
    }
    return host_session_start(&h->session, mac_key, cipher_key, key_type, slot.counter);
}

void vsafe_host_session_close(vsafe_host_t *h)
{
    if (h != NULL) {
        host_session_end(&h->session);
    }
}

int vsafe_host_session_counter(const vsafe_host_t *h, uint32_t *counter)
{
    if (h == NULL || counter == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (!h->session.open) {
        return VSAFE_ERR_HOST_NO_SESSION;
    }
    *counter = h->session.mac_counter;
    return VSAFE_OK;
}

/* ---- Init and queries ---- */

static const uint8_t HDR_READ[1] = {VSAFE_SE_CMD_READ};
static const uint8_t HDR_UPDATE[1] = {VSAFE_SE_CMD_UPDATE};
static const uint8_t HDR_DECREMENT[1] = {VSAFE_SE_CMD_DECREMENT};

int vsafe_host_query(vsafe_host_t *h, uint8_t tag, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (h == NULL || (out == NULL && out_cap > 0) || out_len == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t hdr[1] = {VSAFE_SE_CMD_QUERY};
    uint8_t buf[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = host_transfer(h, VSAFE_HOST_PROT_TABLE, hdr, 1, &tag, 1, buf, sizeof buf, &n);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (n > out_cap) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    if (n > 0) {
        memcpy(out, buf, n);
    }
    *out_len = n;
    return VSAFE_OK;
}

static int parse_table(const uint8_t *p, size_t n, vsafe_host_cmd_table_t *t)
{
    if (n < 2) {
        return VSAFE_ERR_HOST_FRAME;
    }
    memset(t, 0, sizeof *t);
    t->change_rights = p[0];
    size_t count = p[1];
    if (count > VSAFE_HOST_CMD_TABLE_MAX) {
        return VSAFE_ERR_HOST_FRAME;
    }
    size_t i = 2;
    for (size_t r = 0; r < count; r++) {
        vsafe_host_cmd_ac_t *rec = &t->rec[r];
        if (i >= n) {
            return VSAFE_ERR_HOST_FRAME;
        }
        rec->header = p[i++];
        if (rec->header == VSAFE_SE_CMD_EXTENDED) {
            if (i >= n) {
                return VSAFE_ERR_HOST_FRAME;
            }
            rec->ext = p[i++];
        }
        if (i + 2 > n) {
            return VSAFE_ERR_HOST_FRAME;
        }
        rec->ac = p[i++];
        rec->enc = p[i++];
    }
    if (i != n) {
        return VSAFE_ERR_HOST_FRAME;
    }
    t->count = count;
    return VSAFE_OK;
}

int vsafe_host_refresh_command_table(vsafe_host_t *h)
{
    if (h == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t buf[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = vsafe_host_query(h, VSAFE_SE_TAG_CMD_AUTH, buf, sizeof buf, &n);
    if (rc != VSAFE_OK) {
        return rc;
    }
    vsafe_host_cmd_table_t t;
    rc = parse_table(buf, n, &t);
    if (rc == VSAFE_OK) {
        h->table = t;
    }
    return rc;
}

int vsafe_host_init(vsafe_host_t *h)
{
    if (h == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    h->initialised = 0;
    memset(&h->table, 0, sizeof h->table);
    uint8_t buf[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = vsafe_host_query(h, VSAFE_SE_TAG_PRODUCT_DATA, buf, sizeof buf, &n);
    if (rc != VSAFE_OK) {
        return rc;
    }
    /* Mask-ID TLV first: 01 size id0 id1 id2; mask number id1:id2 >= 0x6000 is an A120. */
    if (n < 5 || buf[0] != 0x01 || ((unsigned)buf[3] << 8 | buf[4]) < 0x6000u) {
        return VSAFE_ERR_HOST_DEVICE_TYPE;
    }
    h->product_len = n < sizeof h->product ? n : sizeof h->product;
    memcpy(h->product, buf, h->product_len);
    rc = vsafe_host_refresh_command_table(h);
    if (rc != VSAFE_OK) {
        return rc;
    }
    h->initialised = 1;
    return VSAFE_OK;
}

int vsafe_host_product_data(const vsafe_host_t *h, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (h == NULL || out_len == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (!h->initialised) {
        return VSAFE_ERR_STATE;
    }
    if (h->product_len > out_cap) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    memcpy(out, h->product, h->product_len);
    *out_len = h->product_len;
    return VSAFE_OK;
}

int vsafe_host_command_table(const vsafe_host_t *h, vsafe_host_cmd_table_t *out)
{
    if (h == NULL || out == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (!h->initialised) {
        return VSAFE_ERR_STATE;
    }
    *out = h->table;
    return VSAFE_OK;
}

/* Queries tag and requires a payload of exactly len bytes (VSAFE_ERR_HOST_FRAME otherwise). */
static int query_exact(vsafe_host_t *h, uint8_t tag, uint8_t *out, size_t len)
{
    uint8_t buf[16];
    size_t n = 0;
    int rc = vsafe_host_query(h, tag, buf, sizeof buf, &n);
    if (rc != VSAFE_OK) {
        return rc == VSAFE_ERR_BUFFER_TOO_SMALL ? VSAFE_ERR_HOST_FRAME : rc;
    }
    if (n != len) {
        return VSAFE_ERR_HOST_FRAME;
    }
    memcpy(out, buf, len);
    return VSAFE_OK;
}

int vsafe_host_query_key_slot(vsafe_host_t *h, vsafe_host_key_slot_t *out)
{
    uint8_t buf[6];
    if (out == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = query_exact(h, VSAFE_SE_TAG_HOST_KEY_V2, buf, sizeof buf);
    if (rc != VSAFE_OK) {
        return rc;
    }
    out->present = buf[0] != 0;
    out->key_type = buf[1];
    out->counter = vsafe_get_be32(buf + 2);
    return VSAFE_OK;
}

int vsafe_host_query_key_ctrl(vsafe_host_t *h, uint8_t fields[2])
{
    return fields == NULL ? VSAFE_ERR_ARGUMENT : query_exact(h, VSAFE_SE_TAG_HOST_KEY_CTRL, fields, 2);
}

int vsafe_host_query_life_cycle(vsafe_host_t *h, uint8_t *lcs)
{
    return lcs == NULL ? VSAFE_ERR_ARGUMENT : query_exact(h, VSAFE_SE_TAG_LIFE_CYCLE, lcs, 1);
}

int vsafe_host_zones(vsafe_host_t *h, vsafe_host_zone_t *zones, size_t cap, size_t *count)
{
    if (h == NULL || count == NULL || (zones == NULL && cap > 0)) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t buf[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = vsafe_host_query(h, VSAFE_SE_TAG_PARTITIONS, buf, sizeof buf, &n);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (n < 1) {
        return VSAFE_ERR_HOST_FRAME;
    }
    size_t total = buf[0];
    size_t i = 1;
    for (size_t z = 0; z < total; z++) {
        if (i + 5 > n) {
            return VSAFE_ERR_HOST_FRAME;
        }
        vsafe_host_zone_t zone = {0};
        zone.index = buf[i];
        zone.type = buf[i + 1];
        uint8_t ac = buf[i + 2];
        zone.length = (uint16_t)(buf[i + 3] << 8 | buf[i + 4]);
        zone.read_ac_cr = (ac >> 7) & 1u;
        zone.read_ac = (ac >> 4) & 7u;
        zone.update_ac_cr = (ac >> 3) & 1u;
        zone.update_ac = ac & 7u;
        i += 5;
        if (zone.type == VSAFE_SE_ZONE_COUNTER) {
            if (i + 4 > n) {
                return VSAFE_ERR_HOST_FRAME;
            }
            zone.counter = vsafe_get_be32(buf + i);
            i += 4;
        } else if (zone.type != VSAFE_SE_ZONE_DATA) {
            return VSAFE_ERR_HOST_FRAME;
        }
        if (z < cap) {
            zones[z] = zone;
        }
    }
    if (i != n) {
        return VSAFE_ERR_HOST_FRAME;
    }
    *count = total;
    return total > cap ? VSAFE_ERR_BUFFER_TOO_SMALL : VSAFE_OK;
}

/* One Read command; counter zones return the counter before the data. */
static int read_chunk(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t opt, uint8_t zone, uint16_t offset,
                      uint8_t *out, uint16_t len, int counter_zone, uint32_t *counter)
{
    uint8_t p[6] = {opt, zone, 0, 0, 0, 0};
    vsafe_put_be16(p + 2, offset);
    vsafe_put_be16(p + 4, len);
    uint8_t rsp[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = host_transfer(h, prot, HDR_READ, 1, p, sizeof p, rsp, sizeof rsp, &n);
    if (rc != VSAFE_OK) {
        return rc; /* nothing was copied to rsp */
    }
    size_t head = counter_zone ? 4u : 0u;
    if (n != head + len) {
        rc = VSAFE_ERR_HOST_FRAME;
        goto exit;
    }
    if (counter_zone && counter != NULL) {
        *counter = vsafe_get_be32(rsp);
    }
    if (len > 0) {
        memcpy(out, rsp + head, len);
    }
exit:
    vsafe_wipe(rsp, n);
    return rc;
}

static int read_any(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint16_t offset, uint8_t *out, size_t len,
                    int counter_zone, uint32_t *counter)
{
    if (h == NULL || (out == NULL && len > 0) || (size_t)offset + len > 0xFFFFu + 1u) {
        return VSAFE_ERR_ARGUMENT;
    }
    size_t chunk = host_max_rsp_payload(h, prot, HDR_READ, 1) - (counter_zone ? 4u : 0u);
    size_t done = 0;
    do {
        size_t n = len - done < chunk ? len - done : chunk;
        int rc = read_chunk(h, prot, 0, zone, (uint16_t)(offset + done), out + done, (uint16_t)n, counter_zone,
                            counter);
        if (rc != VSAFE_OK) {
            return rc;
        }
        done += n;
    } while (done < len);
    return VSAFE_OK;
}

int vsafe_host_read_zone(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint16_t offset, uint8_t *out,
                         size_t len)
{
    return read_any(h, prot, zone, offset, out, len, 0, NULL);
}

int vsafe_host_read_counter_zone(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint16_t offset,
                                 uint8_t *out, size_t len, uint32_t *counter)
{
    if (counter == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    return read_any(h, prot, zone, offset, out, len, 1, counter);
}

static int update_one(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t opt, uint8_t zone, uint16_t offset,
                      const uint8_t *data, size_t len)
{
    uint8_t p[VSAFE_SE_FRAME_MAX];
    if (4 + len > sizeof p) {
        return VSAFE_ERR_FRAME_TOO_LONG;
    }
    p[0] = opt;
    p[1] = zone;
    vsafe_put_be16(p + 2, offset);
    if (len > 0) {
        memcpy(p + 4, data, len);
    }
    uint8_t rsp[16];
    size_t n = 0;
    int rc = host_transfer(h, prot, HDR_UPDATE, 1, p, 4 + len, rsp, sizeof rsp, &n);
    vsafe_wipe(p + 4, len);
    if (rc == VSAFE_OK && n != 0) {
        return VSAFE_ERR_HOST_FRAME;
    }
    return rc;
}

static int update_any(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t opt, uint8_t zone, uint16_t offset,
                      const uint8_t *data, size_t len, int atomic)
{
    if (h == NULL || (data == NULL && len > 0) || (size_t)offset + len > 0xFFFFu + 1u) {
        return VSAFE_ERR_ARGUMENT;
    }
    size_t max = host_max_cmd_payload(h, prot, HDR_UPDATE, 1) - 4u;
    if (atomic) {
        opt |= VSAFE_SE_OPT_ATOMIC;
    }
    if (atomic || (opt & VSAFE_SE_OPT_CHANGE_AC) != 0) {
        if (len > max) {
            return VSAFE_ERR_FRAME_TOO_LONG;
        }
        return update_one(h, prot, opt, zone, offset, data, len);
    }
    if (len <= max) {
        return update_one(h, prot, opt, zone, offset, data, len);
    }
    /* The chunk that holds the last byte goes first: every refusal the device can give a split
     * write (no such zone, wrong type, update AC, the end beyond the zone) then comes before any
     * byte is written, so a refused update changes nothing. The others follow in order; only a
     * failure after the first chunk (power loss, a bus error) leaves the write partial, as any
     * non-atomic write may be. */
    size_t tail = len % max != 0 ? len % max : max;
    size_t head = len - tail;
    int rc = update_one(h, prot, opt, zone, (uint16_t)(offset + head), data + head, tail);
    for (size_t done = 0; rc == VSAFE_OK && done < head; done += max) {
        rc = update_one(h, prot, opt, zone, (uint16_t)(offset + done), data + done, max);
    }
    return rc;
}

size_t vsafe_host_zone_data_max(const vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t cmd)
{
    if (h == NULL) {
        return 0;
    }
    if (cmd == VSAFE_SE_CMD_UPDATE) {
        return host_max_cmd_payload(h, prot, HDR_UPDATE, 1) - 4u; /* OPT ZONE OFFSET(2) */
    }
    if (cmd == VSAFE_SE_CMD_DECREMENT) {
        return host_max_cmd_payload(h, prot, HDR_DECREMENT, 1) - 8u; /* OPT ZONE OFFSET(2) AMOUNT(4) */
    }
    return 0;
}

int vsafe_host_update_zone(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint16_t offset,
                           const uint8_t *data, size_t len, int atomic)
{
    return update_any(h, prot, 0, zone, offset, data, len, atomic);
}

static int decrement_any(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t opt, uint8_t zone, uint32_t amount,
                         uint16_t offset, const uint8_t *data, size_t len, uint32_t *new_counter)
{
    if (h == NULL || amount == 0 || (data == NULL && len > 0) || (size_t)offset + len > 0xFFFFu + 1u) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (8 + len > host_max_cmd_payload(h, prot, HDR_DECREMENT, 1)) {
        return VSAFE_ERR_FRAME_TOO_LONG;
    }
    uint8_t p[VSAFE_SE_FRAME_MAX];
    p[0] = opt;
    p[1] = zone;
    vsafe_put_be16(p + 2, offset);
    vsafe_put_be32(p + 4, amount);
    if (len > 0) {
        memcpy(p + 8, data, len);
    }
    uint8_t rsp[16];
    size_t n = 0;
    int rc = host_transfer(h, prot, HDR_DECREMENT, 1, p, 8 + len, rsp, sizeof rsp, &n);
    vsafe_wipe(p + 8, len);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (n != 4) {
        return VSAFE_ERR_HOST_FRAME;
    }
    if (new_counter != NULL) {
        *new_counter = vsafe_get_be32(rsp);
    }
    return VSAFE_OK;
}

int vsafe_host_decrement(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint32_t amount, uint16_t offset,
                         const uint8_t *data, size_t len, uint32_t *new_counter)
{
    return decrement_any(h, prot, 0, zone, amount, offset, data, len, new_counter);
}

static int ac_option(uint8_t ac, int change_right, uint8_t *opt)
{
    if (ac > VSAFE_SE_OPT_AC_MASK) {
        return VSAFE_ERR_ARGUMENT;
    }
    *opt = (uint8_t)(VSAFE_SE_OPT_CHANGE_AC | (change_right ? VSAFE_SE_OPT_CR : 0u) | ac);
    return VSAFE_OK;
}

int vsafe_host_change_read_ac(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint8_t ac, int change_right)
{
    uint8_t opt = 0;
    if (h == NULL || ac_option(ac, change_right, &opt) != VSAFE_OK) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t p[6] = {opt, zone, 0, 0, 0, 0};
    uint8_t rsp[16];
    size_t n = 0;
    /* A counter zone answers with its counter even for length 0; a data zone with nothing. */
    int rc = host_transfer(h, prot, HDR_READ, 1, p, sizeof p, rsp, sizeof rsp, &n);
    if (rc == VSAFE_OK && n != 0 && n != 4) {
        return VSAFE_ERR_HOST_FRAME;
    }
    return rc;
}

int vsafe_host_change_update_ac(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint8_t ac, int change_right,
                                uint16_t offset, const uint8_t *data, size_t len, int atomic)
{
    uint8_t opt = 0;
    if (h == NULL || ac_option(ac, change_right, &opt) != VSAFE_OK) {
        return VSAFE_ERR_ARGUMENT;
    }
    return update_any(h, prot, opt, zone, offset, data, len, atomic);
}

int vsafe_host_change_decrement_ac(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint8_t ac,
                                   int change_right, uint32_t amount, uint16_t offset, const uint8_t *data,
                                   size_t len, uint32_t *new_counter)
{
    uint8_t opt = 0;
    if (h == NULL || ac_option(ac, change_right, &opt) != VSAFE_OK) {
        return VSAFE_ERR_ARGUMENT;
    }
    return decrement_any(h, prot, opt, zone, amount, offset, data, len, new_counter);
}

int vsafe_host_echo(vsafe_host_t *h, const uint8_t *in, size_t len, uint8_t *out)
{
    return vsafe_host_echo_prot(h, VSAFE_HOST_PROT_TABLE, in, len, out);
}

int vsafe_host_echo_prot(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *in, size_t len, uint8_t *out)
{
    if (h == NULL || ((in == NULL || out == NULL) && len > 0) || len > HOST_RSP_BODY_MAX - 1u) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t hdr[1] = {VSAFE_SE_CMD_ECHO};
    uint8_t rsp[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = host_transfer(h, prot, hdr, 1, in, len, rsp, sizeof rsp, &n);
    if (rc == VSAFE_OK && n != len) {
        rc = VSAFE_ERR_HOST_FRAME;
    }
    if (rc == VSAFE_OK && len > 0) {
        memcpy(out, rsp, len);
    }
    vsafe_wipe(rsp, n);
    return rc;
}

int vsafe_host_random(vsafe_host_t *h, uint8_t *out, size_t len)
{
    return vsafe_host_random_prot(h, VSAFE_HOST_PROT_TABLE, out, len);
}

int vsafe_host_random_prot(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t *out, size_t len)
{
    if (h == NULL || (out == NULL && len > 0)) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t hdr[1] = {VSAFE_SE_CMD_RANDOM};
    size_t done = 0;
    while (done < len) {
        size_t want = len - done < 255u ? len - done : 255u;
        uint8_t p[2] = {0x00, (uint8_t)want};
        uint8_t rsp[VSAFE_SE_FRAME_MAX];
        size_t n = 0;
        int rc = host_transfer(h, prot, hdr, 1, p, sizeof p, rsp, sizeof rsp, &n);
        if (rc == VSAFE_OK && n != want) {
            rc = VSAFE_ERR_HOST_FRAME;
        }
        if (rc == VSAFE_OK) {
            memcpy(out + done, rsp, n);
            done += n;
        }
        vsafe_wipe(rsp, n);
        if (rc != VSAFE_OK) {
            return rc;
        }
    }
    return VSAFE_OK;
}

int vsafe_host_reset(vsafe_host_t *h)
{
    if (h == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t hdr[1] = {VSAFE_SE_CMD_RESET};
    uint8_t rsp[16];
    size_t n = 0;
    return host_transfer(h, VSAFE_HOST_PROT_TABLE, hdr, 1, NULL, 0, rsp, sizeof rsp, &n);
}

int vsafe_host_raw(vsafe_host_t *h, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t rsp_cap, size_t *rsp_len)
{
    if (h == NULL || cmd == NULL || cmd_len == 0 || rsp_len == NULL || (rsp == NULL && rsp_cap > 0)) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t buf[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    size_t hdr_len = (cmd[0] & VSAFE_SE_HDR_CODE) == VSAFE_SE_CMD_EXTENDED && cmd_len > 1 ? 2u : 1u;
    int rc = host_transfer(h, VSAFE_HOST_PROT_NONE, cmd, hdr_len, cmd + hdr_len, cmd_len - hdr_len, buf, sizeof buf,
                           &n);
    if (rc == VSAFE_OK && n > rsp_cap) {
        rc = VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    if (rc == VSAFE_OK) {
        if (n > 0) {
            memcpy(rsp, buf, n);
        }
        *rsp_len = n;
    }
    vsafe_wipe(buf, n);
    return rc;
}
