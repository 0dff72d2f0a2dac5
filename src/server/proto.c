/* The socket protocol's parser and message headers (proto.h, docs/SOCKET.md).
 *
 * Invariants:
 *  1. Every byte of a request is read through a cursor that checks the remaining length first;
 *     leftover bytes are an error (VSAFE_ERR_PROTO_MALFORMED), as in the device core.
 *  2. The argument layout of each request is one row of a const table {op, parser}: an unknown OP
 *     is VSAFE_ERR_PROTO_REQUEST, never a default.
 *  3. Nothing here allocates or does I/O: the server calls it on untrusted bytes and the fuzz
 *     target calls it on anything. */
#include "server/proto.h"

#include <string.h>

#include "common/bytes.h"
#include "common/cursor.h"

static const char *const STAT_NAMES[VSAFE_PROTO_STAT_COUNT] = {
    "commands",          "commits",     "nvm_bytes", "program_ops",  "erase_ops",       "wear_max_erases",
    "durable_commands",  "device_syncs", "server_sync_calls", "server_durable_commands", "power_cycles",
    "cuts",              "powered",     "cut_armed", "timing",       "durability"};

const char *vsafe_proto_stat_name(unsigned field)
{
    return field < VSAFE_PROTO_STAT_COUNT ? STAT_NAMES[field] : "unknown";
}

bool vsafe_proto_name_ok(const uint8_t *name, size_t len)
{
    if (name == NULL || len == 0u || len > VSAFE_PROTO_NAME_MAX || name[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static int parse_hello(vsafe_cursor_t *c, vsafe_proto_req_t *r)
{
    r->name_len = vsafe_cursor_left(c);
    if (!vsafe_cursor_bytes(c, r->name_len, &r->name)) {
        return VSAFE_ERR_PROTO_MALFORMED;
    }
    return r->name_len == 0u || vsafe_proto_name_ok(r->name, r->name_len) ? VSAFE_OK : VSAFE_ERR_PROTO_MALFORMED;
}

static int parse_none(vsafe_cursor_t *c, vsafe_proto_req_t *r)
{
    (void)c;
    (void)r;
    return VSAFE_OK;
}

static int parse_frame(vsafe_cursor_t *c, vsafe_proto_req_t *r)
{
    if (!vsafe_cursor_u8(c, &r->addr7) || r->addr7 > 0x7Fu) {
        return VSAFE_ERR_PROTO_MALFORMED;
    }
    r->data_len = vsafe_cursor_left(c);
    if (r->data_len > VSAFE_PROTO_I2C_MAX || !vsafe_cursor_bytes(c, r->data_len, &r->data)) {
        return VSAFE_ERR_PROTO_MALFORMED;
    }
    return VSAFE_OK;
}

static int parse_read(vsafe_cursor_t *c, vsafe_proto_req_t *r)
{
    if (!vsafe_cursor_u8(c, &r->addr7) || r->addr7 > 0x7Fu || !vsafe_cursor_be16(c, &r->read_len)) {
        return VSAFE_ERR_PROTO_MALFORMED;
    }
    return r->read_len >= 1u && r->read_len <= VSAFE_PROTO_I2C_MAX ? VSAFE_OK : VSAFE_ERR_PROTO_MALFORMED;
}

static int parse_flag(vsafe_cursor_t *c, vsafe_proto_req_t *r)
{
    return vsafe_cursor_u8(c, &r->value) && r->value <= 1u ? VSAFE_OK : VSAFE_ERR_PROTO_MALFORMED;
}

static int parse_cut(vsafe_cursor_t *c, vsafe_proto_req_t *r)
{
    if (!vsafe_cursor_be32(c, &r->count) || !vsafe_cursor_u8(c, &r->value)) {
        return VSAFE_ERR_PROTO_MALFORMED;
    }
    return r->value >= 1u && r->value <= 4u ? VSAFE_OK : VSAFE_ERR_PROTO_MALFORMED;
}

static int parse_blob(vsafe_cursor_t *c, vsafe_proto_req_t *r)
{
    r->data_len = vsafe_cursor_left(c);
    if (r->data_len < VSAFE_PROTO_BLOB_HDR || !vsafe_cursor_bytes(c, r->data_len, &r->data)) {
        return VSAFE_ERR_PROTO_MALFORMED;
    }
    return VSAFE_OK;
}

static int parse_da(vsafe_cursor_t *c, vsafe_proto_req_t *r)
{
    r->data_len = vsafe_cursor_left(c);
    if (r->data_len < VSAFE_PROTO_DA_MIN || r->data_len > VSAFE_PROTO_DA_MAX ||
        !vsafe_cursor_bytes(c, r->data_len, &r->data)) {
        return VSAFE_ERR_PROTO_MALFORMED;
    }
    return VSAFE_OK;
}

typedef struct {
    uint8_t op;
    int (*parse)(vsafe_cursor_t *c, vsafe_proto_req_t *r);
} op_row_t;

static const op_row_t OPS[] = {
    {VSAFE_PROTO_HELLO, parse_hello},      {VSAFE_PROTO_LIST, parse_none},
    {VSAFE_PROTO_I2C_WRITE, parse_frame},  {VSAFE_PROTO_I2C_READ, parse_read},
    {VSAFE_PROTO_TRANSCEIVE, parse_frame}, {VSAFE_PROTO_POWER, parse_flag},
    {VSAFE_PROTO_RESET, parse_none},       {VSAFE_PROTO_CUT, parse_cut},
    {VSAFE_PROTO_TIMING, parse_flag},      {VSAFE_PROTO_STATS, parse_none},
    {VSAFE_PROTO_STATE_GET, parse_none},   {VSAFE_PROTO_STATE_SET, parse_blob},
    {VSAFE_PROTO_DA_EXCHANGE, parse_da},
};

int vsafe_proto_parse_request(const uint8_t *body, size_t len, vsafe_proto_req_t *req)
{
    memset(req, 0, sizeof *req);
    vsafe_cursor_t c = vsafe_cursor(body, len);
    uint8_t version = 0;
    if (!vsafe_cursor_u8(&c, &version)) {
        return VSAFE_ERR_PROTO_MALFORMED;
    }
    if (!vsafe_cursor_u8(&c, &req->op)) {
        return VSAFE_ERR_PROTO_MALFORMED;
    }
    if (version != VSAFE_PROTO_VERSION) {
        return VSAFE_ERR_PROTO_VERSION;
    }
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
        if (OPS[i].op == req->op) {
            uint8_t op = req->op;
            int rc = OPS[i].parse(&c, req);
            req->op = op;
            if (rc == VSAFE_OK && !vsafe_cursor_at_end(&c)) {
                rc = VSAFE_ERR_PROTO_MALFORMED;
            }
            return rc;
        }
    }
    return VSAFE_ERR_PROTO_REQUEST;
}

bool vsafe_proto_len_ok(uint32_t len, bool reply)
{
    return len >= (reply ? VSAFE_PROTO_REPLY_HDR : VSAFE_PROTO_REQ_HDR) && len <= VSAFE_PROTO_MAX_MSG;
}

void vsafe_proto_request_header(uint8_t out[6], uint8_t op, size_t args_len)
{
    vsafe_put_be32(out, (uint32_t)(VSAFE_PROTO_REQ_HDR + args_len));
    out[4] = VSAFE_PROTO_VERSION;
    out[5] = op;
}

void vsafe_proto_reply_header(uint8_t out[10], uint8_t op, int32_t status, size_t data_len)
{
    vsafe_put_be32(out, (uint32_t)(VSAFE_PROTO_REPLY_HDR + data_len));
    out[4] = VSAFE_PROTO_VERSION;
    out[5] = (uint8_t)(op | VSAFE_PROTO_REPLY_BIT);
    vsafe_put_be32(out + 6, (uint32_t)status);
}

int vsafe_proto_parse_reply(const uint8_t *body, size_t len, uint8_t op, int32_t *status, const uint8_t **data,
                            size_t *data_len)
{
    vsafe_cursor_t c = vsafe_cursor(body, len);
    uint8_t version = 0, rop = 0;
    uint32_t st = 0;
    *status = 0;
    *data = NULL;
    *data_len = 0;
    if (!vsafe_cursor_u8(&c, &version) || !vsafe_cursor_u8(&c, &rop) || !vsafe_cursor_be32(&c, &st)) {
        return VSAFE_ERR_PROTO_MALFORMED;
    }
    if (version != VSAFE_PROTO_VERSION) {
        return VSAFE_ERR_PROTO_VERSION;
    }
    /* A reply with OP 0x80 answers a request the server could not read (its OP unknown). */
    if (rop != (uint8_t)(op | VSAFE_PROTO_REPLY_BIT) && rop != VSAFE_PROTO_REPLY_BIT) {
        return VSAFE_ERR_PROTO_MALFORMED;
    }
    *status = (int32_t)st;
    *data_len = vsafe_cursor_left(&c);
    if (!vsafe_cursor_bytes(&c, *data_len, data)) {
        return VSAFE_ERR_PROTO_MALFORMED;
    }
    return VSAFE_OK;
}
