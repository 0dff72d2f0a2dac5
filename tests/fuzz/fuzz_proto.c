/* libFuzzer target on the socket protocol's request parser (src/server/proto.h): any request body
 * (the bytes after LEN). There is exactly one encoding of each request (docs/SOCKET.md), so a body
 * that parses must be rebuilt byte for byte from the parsed fields by the encoder below, written
 * from the document; a body that does not parse must be refused with one of the three protocol
 * errors, never anything else. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"

/* The request body docs/SOCKET.md gives for the parsed request; its length, or 0 when the OP is
 * not one the document lists. */
static size_t encode(const vsafe_proto_req_t *r, uint8_t *out)
{
    size_t n = 0;
    out[n++] = 1;
    out[n++] = r->op;
    switch (r->op) {
    case 0x01:
        memcpy(out + n, r->name, r->name_len);
        return n + r->name_len;
    case 0x02: case 0x21: case 0x24: case 0x25:
        return n;
    case 0x10: case 0x12:
        out[n++] = r->addr7;
        memcpy(out + n, r->data, r->data_len);
        return n + r->data_len;
    case 0x11:
        out[n++] = r->addr7;
        out[n++] = (uint8_t)(r->read_len >> 8);
        out[n++] = (uint8_t)r->read_len;
        return n;
    case 0x20: case 0x23:
        out[n++] = r->value;
        return n;
    case 0x22:
        out[n++] = (uint8_t)(r->count >> 24);
        out[n++] = (uint8_t)(r->count >> 16);
        out[n++] = (uint8_t)(r->count >> 8);
        out[n++] = (uint8_t)r->count;
        out[n++] = r->value;
        return n;
    case 0x26: case 0x30: /* STATE_SET: the blob; DA_EXCHANGE: one ADAC request frame */
        memcpy(out + n, r->data, r->data_len);
        return n + r->data_len;
    default:
        return 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vsafe_proto_req_t r;
    int rc = vsafe_proto_parse_request(data, size, &r);
    if (rc != VSAFE_OK) {
        if (rc != VSAFE_ERR_PROTO_VERSION && rc != VSAFE_ERR_PROTO_MALFORMED && rc != VSAFE_ERR_PROTO_REQUEST) {
            abort();
        }
        return 0;
    }
    uint8_t *again = malloc(size + 8);
    size_t n = again != NULL ? encode(&r, again) : 0;
    if (again == NULL || n != size || memcmp(again, data, size) != 0) {
        abort(); /* accepted bytes that are not the one encoding of what was parsed */
    }
    if ((r.op == 0x10 || r.op == 0x11 || r.op == 0x12) && r.addr7 > 0x7F) {
        abort();
    }
    if (r.op == 0x01 && r.name_len > 0 && !vsafe_proto_name_ok(r.name, r.name_len)) {
        abort();
    }
    free(again);
    return 0;
}
