/* The vsafe socket protocol, version 1 (docs/SOCKET.md gives every byte): the message layout, the
 * request codes and the one request parser, shared by the server (src/server) and the host
 * library's socket transport (src/host/transport_socket.c). No I/O and no heap here, so the
 * parser can be fuzzed and unit-tested on its own.
 *
 * Every message is LEN (u32, big-endian: the bytes after LEN) then LEN bytes.
 *   request: VERSION (1) | OP | ARGS
 *   reply:   VERSION (1) | OP | 0x80 | STATUS (i32 BE: 0, VSAFE_I2C_NACK or a negative status) | DATA
 * A failed request's DATA is a one-line UTF-8 message (possibly empty). Not installed. */
#ifndef VSAFE_SERVER_PROTO_H
#define VSAFE_SERVER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsafe/status.h"

#define VSAFE_PROTO_VERSION 1u
#define VSAFE_PROTO_LEN_BYTES 4u
#define VSAFE_PROTO_REQ_HDR 2u   /* VERSION, OP */
#define VSAFE_PROTO_REPLY_HDR 6u /* VERSION, OP | 0x80, STATUS */
#define VSAFE_PROTO_REPLY_BIT 0x80u
/* Largest LEN either side accepts: room for a state blob (a device's whole NVM file, ~140 KiB
 * for the built-in profile) with margin. */
#define VSAFE_PROTO_MAX_MSG (1024u * 1024u)
#define VSAFE_PROTO_NAME_MAX 64u     /* device names on a --root server */
#define VSAFE_PROTO_I2C_MAX 1024u    /* bytes of one I2C write or read */
/* Bytes of one debug-authentication frame either way (a header is 8 bytes; the largest the host
 * tooling sends is a certificate TLV of 212 bytes, so this leaves ample room). */
#define VSAFE_PROTO_DA_MIN 8u
#define VSAFE_PROTO_DA_MAX 4096u

/* TRANSCEIVE's STATUS when the write was acknowledged but no response could be read (I2C_WRITE
 * and I2C_READ answer 0 or VSAFE_I2C_NACK, as the bus does). */
#define VSAFE_PROTO_NO_RESPONSE 2
/* TRANSCEIVE's STATUS when the write was acknowledged and the device lost power during the
 * command (an armed CUT fired): no response, the device has booted again on what the cut left. */
#define VSAFE_PROTO_POWER_LOST 3

enum vsafe_proto_op {
    VSAFE_PROTO_HELLO = 0x01,      /* NAME (0..64 bytes): choose the device */
    VSAFE_PROTO_LIST = 0x02,       /* -: names of the served devices */
    VSAFE_PROTO_I2C_WRITE = 0x10,  /* ADDR, FRAME */
    VSAFE_PROTO_I2C_READ = 0x11,   /* ADDR, LEN (u16) */
    VSAFE_PROTO_TRANSCEIVE = 0x12, /* ADDR, FRAME: write, then the whole response */
    VSAFE_PROTO_POWER = 0x20,      /* 0 off, 1 on */
    VSAFE_PROTO_RESET = 0x21,      /* - */
    VSAFE_PROTO_CUT = 0x22,        /* N (u32, 0 disarms), MODEL (1..4) */
    VSAFE_PROTO_TIMING = 0x23,     /* 0 off, 1 on */
    VSAFE_PROTO_STATS = 0x24,      /* -: COUNT, COUNT x u64 */
    VSAFE_PROTO_STATE_GET = 0x25,  /* -: the state blob */
    VSAFE_PROTO_STATE_SET = 0x26,  /* BLOB */
    VSAFE_PROTO_DA_EXCHANGE = 0x30 /* DA request frame (8..VSAFE_PROTO_DA_MAX): OUTCOME, response */
};

/* The fields of STATS, in wire order (new ones are only ever appended). */
enum vsafe_proto_stat {
    VSAFE_PROTO_STAT_COMMANDS = 0,       /* command frames the device accepted (write ACKed) */
    VSAFE_PROTO_STAT_COMMITS,            /* store commits (each command that changed state: one) */
    VSAFE_PROTO_STAT_NVM_BYTES,          /* bytes programmed into NVM */
    VSAFE_PROTO_STAT_PROGRAM_OPS,        /* NVM program operations */
    VSAFE_PROTO_STAT_ERASE_OPS,          /* NVM page erases */
    VSAFE_PROTO_STAT_WEAR_MAX_ERASES,    /* erases of this device's most-erased page */
    VSAFE_PROTO_STAT_DURABLE_COMMANDS,   /* commands whose response waited for a sync */
    VSAFE_PROTO_STAT_DEVICE_SYNCS,       /* sync rounds this device's commands took part in */
    VSAFE_PROTO_STAT_SERVER_SYNC_CALLS,  /* fdatasync/syncfs calls of the whole server */
    VSAFE_PROTO_STAT_SERVER_DURABLE,     /* durable commands of the whole server */
    VSAFE_PROTO_STAT_POWER_CYCLES,       /* power off/on, reset and cut recoveries of this device */
    VSAFE_PROTO_STAT_CUTS,               /* armed power cuts that happened */
    VSAFE_PROTO_STAT_POWERED,            /* 1 powered, 0 off */
    VSAFE_PROTO_STAT_CUT_ARMED,          /* NVM operations left before an armed cut; 0 none */
    VSAFE_PROTO_STAT_TIMING,             /* 1 timing model on */
    VSAFE_PROTO_STAT_DURABILITY,         /* 0 power, 1 process */
    VSAFE_PROTO_STAT_COUNT
};

/* Names of the STATS fields as `vsafe ctl stats --json` prints them. */
const char *vsafe_proto_stat_name(unsigned field);

/* Durability levels (docs/SOCKET.md, "Durability"). */
enum { VSAFE_PROTO_DURABLE_POWER = 0, VSAFE_PROTO_DURABLE_PROCESS = 1 };

/* A parsed request. Pointers point into the parsed body. */
typedef struct {
    uint8_t op;
    const uint8_t *name; /* HELLO */
    size_t name_len;
    uint8_t addr7;       /* I2C_* and TRANSCEIVE */
    const uint8_t *data; /* I2C_WRITE, TRANSCEIVE, DA_EXCHANGE: the frame; STATE_SET: the blob */
    size_t data_len;
    uint16_t read_len;   /* I2C_READ */
    uint8_t value;       /* POWER, TIMING: 0/1; CUT: the model */
    uint32_t count;      /* CUT: N */
} vsafe_proto_req_t;

/* Parses a request body (the LEN bytes after LEN). Returns VSAFE_OK, or
 * VSAFE_ERR_PROTO_VERSION (VERSION is not 1), VSAFE_ERR_PROTO_REQUEST (unknown OP),
 * VSAFE_ERR_PROTO_MALFORMED (arguments too short, too long or out of range: a device name that
 * is not [A-Za-z0-9_.-] or starts with '.', a POWER or TIMING value other than 0/1, a cut model
 * outside 1..4, an I2C length of 0 or above VSAFE_PROTO_I2C_MAX, a DA frame shorter than
 * VSAFE_PROTO_DA_MIN or longer than VSAFE_PROTO_DA_MAX). On error req->op is still the
 * OP byte when the body had one (0 otherwise), so the reply can name it. */
VSAFE_MUST_CHECK int vsafe_proto_parse_request(const uint8_t *body, size_t len, vsafe_proto_req_t *req);

/* Whether a LEN value is acceptable (2 .. VSAFE_PROTO_MAX_MSG for a request, 6 .. for a reply). */
bool vsafe_proto_len_ok(uint32_t len, bool reply);

/* Writes LEN, VERSION, OP of a request with args_len argument bytes to follow (6 bytes). */
void vsafe_proto_request_header(uint8_t out[6], uint8_t op, size_t args_len);
/* Writes LEN, VERSION, OP | 0x80, STATUS of a reply with data_len bytes to follow (10 bytes). */
void vsafe_proto_reply_header(uint8_t out[10], uint8_t op, int32_t status, size_t data_len);

/* Checks a reply body against the request op: VSAFE_OK with *status and the data, or
 * VSAFE_ERR_PROTO_VERSION / _MALFORMED (short, or a reply to another request). */
VSAFE_MUST_CHECK int vsafe_proto_parse_reply(const uint8_t *body, size_t len, uint8_t op, int32_t *status,
                                             const uint8_t **data, size_t *data_len);

/* The state blob: "VSAFEST1", NVM_LEN (u32 BE), the NVM bytes (the device's se.nvm). */
#define VSAFE_PROTO_BLOB_MAGIC "VSAFEST1"
#define VSAFE_PROTO_BLOB_HDR 12u

/* A device name as --root accepts it: 1..64 bytes of [A-Za-z0-9_.-], not starting with '.'. */
bool vsafe_proto_name_ok(const uint8_t *name, size_t len);

#endif
