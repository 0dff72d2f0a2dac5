/* The golden byte traces that need no host key, and the CRC vectors, as data shared by the host
 * test (tests/protocol/test_golden.c) and the Cortex-M33 test firmware (firmware/test): both replay
 * exactly these bytes, so the firmware proves the same protocol facts as the host build.
 *
 * Every byte here comes from the protocol description of the STSAFE-A120 and the SPL05 profile
 * (frame = header, payload, CRC-16/X-25 high byte first; response = status, LEN (payload + 2, big
 * endian), payload, CRC over status and payload only), never from a run of vsafe.
 *
 * A trace is replayed on a freshly created SPL05 device, step by step, the way STSELib reads:
 *   cmd   (hex, CRC included) is written, if not NULL;
 *   read5 (hex, 5 bytes) must be what a 5-byte read returns, if not NULL;
 *   full  (hex) must be what a read of exactly that many bytes returns, if not NULL; every read
 *         restarts at byte 0 of the response and the bus reads 0xFF past its end.
 * Header-only and freestanding: no allocation, no I/O. */
#ifndef VSAFE_TESTS_GOLDEN_VECTORS_H
#define VSAFE_TESTS_GOLDEN_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#define GV_I2C_ADDR 0x20u

typedef struct {
    const char *in; /* hex */
    uint16_t crc;
} gv_crc_vector_t;

/* CRC-16/X-25 check value over the ASCII string "123456789". */
#define GV_CRC_CHECK_INPUT "123456789"
#define GV_CRC_CHECK_VALUE 0x906Eu

static const gv_crc_vector_t gv_crc_vectors[] = {
    {"14 11", 0xFCBE}, {"14 12", 0xCE25}, {"14 24", 0x9A90}, {"14 47", 0xCB0D},
    {"00 01 02 03", 0xA729}, {"05 00 01 00 00 00 04", 0x31B3}, {"02 00 10", 0x63F5},
    {"00", 0xF078}, {"11", 0xF170}, {"16", 0x85CF},
};
#define GV_CRC_VECTORS (sizeof gv_crc_vectors / sizeof gv_crc_vectors[0])

typedef struct {
    const char *cmd;
    const char *read5;
    const char *full;
} gv_step_t;

typedef struct {
    const char *name;
    const gv_step_t *steps;
    size_t count;
} gv_trace_t;

/* Query product data (tag 0x11). */
static const gv_step_t gv_init_product_data[] = {
    {"14 11 FC BE", "00 00 07 01 03", "00 00 07 01 03 00 60 01 AD DA"},
};

/* Query command authorization (tag 0x24): change rights 03, 0x29 = 41 records {header, AC, enc}:
 * the commands the device executes (standard 00 02 04 05 06 09 0A 0E 0F 11 16 17 18 1A 1B 1C,
 * extended 0x00..0x1A except the reserved 0x0C and 0x0D; 0x08 Derive LoRa key and 0x15 Get
 * signature are reserved too), all FREE and unencrypted. STSELib asks twice; both answers must be
 * identical. */
#define GV_CMD_TABLE_RSP                                                                           \
    "00 00 98 03 29"                                                                               \
    " 00 01 00 02 01 00 04 01 00 05 01 00 06 01 00 09 01 00 0A 01 00 0E 01 00"                     \
    " 0F 01 00 11 01 00 16 01 00 17 01 00 18 01 00 1A 01 00 1B 01 00 1C 01 00"                     \
    " 1F 00 01 00 1F 01 01 00 1F 02 01 00 1F 03 01 00 1F 04 01 00 1F 05 01 00 1F 06 01 00"        \
    " 1F 07 01 00 1F 08 01 00 1F 09 01 00 1F 0A 01 00 1F 0B 01 00"                                \
    " 1F 0E 01 00 1F 0F 01 00 1F 10 01 00 1F 11 01 00 1F 12 01 00 1F 13 01 00 1F 14 01 00"        \
    " 1F 15 01 00 1F 16 01 00 1F 17 01 00 1F 18 01 00 1F 19 01 00 1F 1A 01 00"                    \
    " 8E E2"
static const gv_step_t gv_init_command_table[] = {
    {"14 24 9A 90", "00 00 98 03 29", GV_CMD_TABLE_RSP},
    {"14 24 9A 90", "00 00 98 03 29", GV_CMD_TABLE_RSP},
};

/* Query partitions (tag 0x12): 12 zones; counter zones carry their counter. */
static const gv_step_t gv_partition_query[] = {
    {"14 12 CE 25", "00 00 4F 0C 00",
     "00 00 4F 0C"
     " 00 00 07 03 E8  01 00 88 03 E8  02 00 88 03 E8  03 00 88 03 E8  04 00 88 03 E8"
     " 05 01 88 00 40 FF FF FF FF  06 01 88 00 40 FF FF FF FF"
     " 07 01 88 00 40 FF FF FF FF  08 01 88 00 40 FF FF FF FF"
     " 09 00 88 14 00  0A 00 88 0C 00  0B 00 88 0B 80  3F 29"},
};

/* Read 4 bytes of zone 1 at offset 0: a fresh data zone holds zeros. */
static const gv_step_t gv_read_zone1[] = {
    {"05 00 01 00 00 00 04 31 B3", "00 00 06 00 00", "00 00 06 00 00 00 00 CF 77"},
};

/* Read counter zone 5, decrement it by 1 with 20 bytes of associated data at offset 0, then the
 * data and the new counter are there on the next read (read directly at full length). */
static const gv_step_t gv_counter_zone_and_decrement[] = {
    {"05 00 05 00 00 00 04 1C A3", "00 00 0A FF FF", "00 00 0A FF FF FF FF 00 00 00 00 C5 1B"},
    {"04 00 05 00 00 00 00 00 01 00 03 06 09 0C 0F 12 15 18 1B 1E 21 24 27 2A 2D DA 4F", "00 00 06 FF FF",
     "00 00 06 FF FF FF FE 2D 67"},
    {"05 00 05 00 00 00 10 4A 06", NULL,
     "00 00 16 FF FF FF FE 00 03 06 09 0C 0F 12 15 18 1B 1E 21 24 27 2A 2D A5 2C"},
};

/* Update of zone 0 (update AC Never) is refused: ACCESS_CONDITION_NOT_SATISFIED, no payload. */
static const gv_step_t gv_update_zone0_refused[] = {
    {"06 00 00 00 00 AA E5 25", "11 00 02 F1 70", NULL},
};

/* Echo; then two more reads of 9 bytes each see the same 8-byte response from byte 0, then idle 0xFF. */
static const gv_step_t gv_echo_and_reads_restart[] = {
    {"00 01 02 03 A7 29", "00 00 05 01 02", NULL},
    {NULL, NULL, "00 00 05 01 02 03 A7 29 FF"},
    {NULL, NULL, "00 00 05 01 02 03 A7 29 FF"},
};

#define GV_TRACE(t) {#t, gv_##t, sizeof gv_##t / sizeof gv_##t[0]}
static const gv_trace_t gv_traces[] = {
    GV_TRACE(init_product_data),
    GV_TRACE(init_command_table),
    GV_TRACE(partition_query),
    GV_TRACE(read_zone1),
    GV_TRACE(counter_zone_and_decrement),
    GV_TRACE(update_zone0_refused),
    GV_TRACE(echo_and_reads_restart),
};
#undef GV_TRACE
#define GV_TRACES (sizeof gv_traces / sizeof gv_traces[0])

#endif
