/* The data-storage refusals that apply without a host key, and the access-condition change rules,
 * as data shared by the host test (tests/protocol/test_refusals.c) and the Cortex-M33 test firmware
 * (firmware/test). Each case runs on a freshly created SPL05 device, its steps in order; a refused
 * command leaves the device unchanged, which the later steps of a case observe.
 *
 * A step sends frame (hex, without CRC: the runner appends it), reads the whole response, checks
 * its CRC and then:
 *   status   the wire status byte expected;
 *   payload  the exact response payload (hex), unless NULL;
 *   len      the payload length, unless -1;
 *   zone     unless -1: frame is Query partitions (14 12), and the access-condition byte the
 *            answer lists for this zone must be ac.
 * Expected values come from the protocol description and the SPL05 profile, never from a run.
 * Header-only and freestanding. */
#ifndef VSAFE_TESTS_REFUSAL_VECTORS_H
#define VSAFE_TESTS_REFUSAL_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#include "vsafe/se_wire.h"

typedef struct {
    const char *frame;
    uint8_t status;
    const char *payload;
    int len;
    int zone;
    uint8_t ac;
} rv_step_t;

typedef struct {
    const char *name;
    const rv_step_t *steps;
    size_t count;
} rv_case_t;

#define RV_ST(f, s) {(f), (s), NULL, -1, -1, 0}
#define RV_PL(f, p) {(f), VSAFE_SE_ST_OK, (p), -1, -1, 0}
#define RV_LEN(f, n) {(f), VSAFE_SE_ST_OK, NULL, (n), -1, 0}
#define RV_AC(z, a) {"14 12", VSAFE_SE_ST_OK, NULL, -1, (z), (a)}

/* Short, trailing and truncated frames. */
static const rv_step_t rv_frame_shape[] = {
    RV_ST("05 00 01 00 00 00", VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA),       /* short */
    RV_ST("05 00 01 00 00 00 04 00", VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA), /* trailing */
    RV_ST("14 12 00", VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA),
    RV_ST("04 00 05 00 00 00 00 00", VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA),
    RV_ST("1F", VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA),
};

static const rv_step_t rv_unknown_commands[] = {
    RV_ST("1D 00", VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED),
    RV_ST("08 00", VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED), /* Derive LoRa key: reserved */
    RV_ST("1F 0D", VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED), /* reserved extended code */
};

static const rv_step_t rv_zone_errors[] = {
    RV_ST("05 00 0C 00 00 00 04", VSAFE_SE_ST_ENTRY_NOT_FOUND),
    RV_ST("06 00 00 00 00 AA", VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED),
    RV_ST("06 00 05 00 00 AA", VSAFE_SE_ST_WRONG_ZONE_TYPE),
    RV_ST("04 00 01 00 00 00 00 00 01", VSAFE_SE_ST_WRONG_ZONE_TYPE),
    RV_ST("05 00 05 00 3C 00 08", VSAFE_SE_ST_BOUNDARY_EXCEEDED),
    RV_ST("06 00 01 03 E7 AA BB", VSAFE_SE_ST_BOUNDARY_EXCEEDED),
    RV_ST("04 00 05 00 3F 00 00 00 01 AA BB", VSAFE_SE_ST_BOUNDARY_EXCEEDED),
    RV_ST("06 00 01 03 E7 AA", VSAFE_SE_ST_OK), /* the last byte is fine */
};

static const rv_step_t rv_counter_limits[] = {
    RV_ST("04 00 05 00 00 00 00 00 00", VSAFE_SE_ST_VALUE_OUT_OF_RANGE), /* amount 0 */
    RV_PL("04 00 05 00 00 FF FF FF FE", "00 00 00 01"),
    RV_ST("04 00 05 00 00 00 00 00 02", VSAFE_SE_ST_COUNTER_LIMIT_EXCEEDED),
    RV_PL("04 00 05 00 00 00 00 00 01", "00 00 00 00"),
    /* At zero the counter is locked. */
    RV_ST("04 00 05 00 00 00 00 00 01", VSAFE_SE_ST_COUNTER_LIMIT_EXCEEDED),
    RV_PL("05 00 05 00 00 00 00", "00 00 00 00"),
};

static const rv_step_t rv_response_too_long[] = {
    /* 751 data bytes fit (1 + 751 = 752); 752 do not. */
    RV_LEN("05 00 09 00 00 02 EF", 751),
    RV_ST("05 00 09 00 00 02 F0", VSAFE_SE_ST_BUFFER_LENGTH_EXCEEDED),
    /* A counter zone read carries 4 counter bytes too. */
    RV_LEN("05 00 05 00 00 00 40", 68),
};

static const rv_step_t rv_cmac_without_key[] = {
    RV_ST("E5 00 01 00 00 00 04 11 22 33 44", VSAFE_SE_ST_KEY_NOT_FOUND),
};

static const rv_step_t rv_ac_change_rules[] = {
    /* Read AC of zone 1: Always -> Host, change right kept (STSELib form: length 0). */
    RV_ST("05 19 01 00 00 00 00", VSAFE_SE_ST_OK),
    RV_AC(1, 0x98),
    /* Without a C-MAC the zone can no longer be read, and not loosened back to Always. */
    RV_ST("05 00 01 00 00 00 04", VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED),
    /* Update AC: the access (Always) is done and the AC tightened in one command. */
    RV_ST("06 97 02 00 00 5A", VSAFE_SE_ST_OK), /* atomic, change, CR cleared, Never */
    RV_AC(2, 0x87),
    RV_ST("06 00 02 00 00 5B", VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED),
    RV_PL("05 00 02 00 00 00 01", "5A"),
    /* Loosening is refused and writes nothing, data included. */
    RV_ST("06 00 03 00 00 11", VSAFE_SE_ST_OK),
    RV_ST("06 19 03 00 00 22", VSAFE_SE_ST_OK), /* -> Host, CR kept */
    RV_AC(3, 0x89),
    RV_ST("05 18 03 00 00 00 00", VSAFE_SE_ST_OK), /* read AC: Always -> Always, fine */
    /* A cleared right stays cleared even when the new CR bit asks for it. */
    RV_ST("05 10 04 00 00 00 00", VSAFE_SE_ST_OK), /* Always, CR cleared */
    RV_AC(4, 0x08),
    RV_ST("05 19 04 00 00 00 00", VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED),
    RV_AC(4, 0x08),
    /* Decrement AC change on a counter zone, with the decrement performed in the same command. */
    RV_ST("04 17 06 00 00 00 00 00 01 AB", VSAFE_SE_ST_OK),
    RV_AC(6, 0x87),
    RV_ST("04 00 06 00 00 00 00 00 01", VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED),
    /* A refused AC change does not perform the access either. */
    RV_ST("04 10 07 00 00 00 00 00 01", VSAFE_SE_ST_OK), /* Always, CR cleared */
    RV_ST("04 11 07 00 00 00 00 00 01", VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED),
    RV_PL("05 00 07 00 00 00 00", "FF FF FF FE"), /* only the first decrement happened */
};

#define RV_CASE(c) {#c, rv_##c, sizeof rv_##c / sizeof rv_##c[0]}
static const rv_case_t rv_cases[] = {
    RV_CASE(frame_shape),     RV_CASE(unknown_commands),    RV_CASE(zone_errors),
    RV_CASE(counter_limits),  RV_CASE(response_too_long),   RV_CASE(cmac_without_key),
    RV_CASE(ac_change_rules),
};
#undef RV_CASE
#define RV_CASES (sizeof rv_cases / sizeof rv_cases[0])

/* The access-condition byte Query partitions lists for zone (records: index, type, AC, length u16,
 * then a counter u32 for counter zones), or -1 if the zone is not listed. */
static inline int rv_zone_ac(const uint8_t *payload, size_t len, uint8_t zone)
{
    size_t i = 1; /* zone count */
    while (i + 5u <= len) {
        if (payload[i] == zone) {
            return payload[i + 2];
        }
        i += payload[i + 1] == VSAFE_SE_ZONE_COUNTER ? 9u : 5u;
    }
    return -1;
}

#endif
