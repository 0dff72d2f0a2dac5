/* Every refusal of spec §13 that applies without a host key, each with its status, and the
 * access-condition change rules: a refused command leaves the device unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "test_util.h"
#include "vsafe/se.h"

#define ADDR 0x20

typedef struct {
    uint8_t status;
    uint8_t payload[800];
    size_t len;
} rsp_t;

static int setup(void **state)
{
    vsafe_se_t *se = NULL;
    assert_int_equal(vsafe_se_open(&se, NULL), 0);
    *state = se;
    return 0;
}

static int teardown(void **state)
{
    vsafe_se_close(*state);
    return 0;
}

/* Sends a frame given without CRC (the CRC is appended) and parses the response. */
static rsp_t send_hex(vsafe_se_t *se, const char *hex)
{
    static uint8_t cmd[1024];
    uint8_t raw[1024];
    rsp_t r;
    size_t n = tu_crc(cmd, tu_hex(hex, cmd, sizeof cmd - 2));
    assert_int_equal(vsafe_se_i2c_write(se, ADDR, cmd, n), 0);
    assert_int_equal(vsafe_se_i2c_read(se, ADDR, raw, 5), 0);
    size_t len = ((size_t)raw[1] << 8 | raw[2]) + 3;
    assert_int_equal(vsafe_se_i2c_read(se, ADDR, raw, len), 0);
    r.status = raw[0];
    r.len = len - 5;
    memcpy(r.payload, raw + 3, r.len);
    uint16_t crc = vsafe_crc16_continue(vsafe_crc16(raw, 1), raw + 3, r.len);
    assert_int_equal(raw[len - 2], crc >> 8);
    assert_int_equal(raw[len - 1], crc & 0xFF);
    return r;
}

static uint8_t st(vsafe_se_t *se, const char *hex) { return send_hex(se, hex).status; }

static void test_frame_shape(void **state)
{
    vsafe_se_t *se = *state;
    assert_int_equal(st(se, "05 00 01 00 00 00"), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);       /* short */
    assert_int_equal(st(se, "05 00 01 00 00 00 04 00"), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA); /* trailing */
    assert_int_equal(st(se, "14 12 00"), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(st(se, "04 00 05 00 00 00 00 00"), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(st(se, "1F"), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
}

static void test_crc_mismatch(void **state)
{
    uint8_t cmd[] = {0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x31, 0xB4}, rsp[5];
    assert_int_equal(vsafe_se_i2c_write(*state, ADDR, cmd, sizeof cmd), 0);
    assert_int_equal(vsafe_se_i2c_read(*state, ADDR, rsp, 5), 0);
    assert_int_equal(rsp[0], VSAFE_SE_ST_COMMUNICATION_ERROR);
    assert_int_equal(rsp[2], 2);
}

static void test_unknown_commands(void **state)
{
    assert_int_equal(st(*state, "1D 00"), VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED);
    assert_int_equal(st(*state, "09 00"), VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED);
    assert_int_equal(st(*state, "1F 19"), VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED);
}

static void test_zone_errors(void **state)
{
    vsafe_se_t *se = *state;
    assert_int_equal(st(se, "05 00 0C 00 00 00 04"), VSAFE_SE_ST_ENTRY_NOT_FOUND);
    assert_int_equal(st(se, "06 00 00 00 00 AA"), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    assert_int_equal(st(se, "06 00 05 00 00 AA"), VSAFE_SE_ST_WRONG_ZONE_TYPE);
    assert_int_equal(st(se, "04 00 01 00 00 00 00 00 01"), VSAFE_SE_ST_WRONG_ZONE_TYPE);
    assert_int_equal(st(se, "05 00 05 00 3C 00 08"), VSAFE_SE_ST_BOUNDARY_EXCEEDED);
    assert_int_equal(st(se, "06 00 01 03 E7 AA BB"), VSAFE_SE_ST_BOUNDARY_EXCEEDED);
    assert_int_equal(st(se, "04 00 05 00 3F 00 00 00 01 AA BB"), VSAFE_SE_ST_BOUNDARY_EXCEEDED);
    assert_int_equal(st(se, "06 00 01 03 E7 AA"), VSAFE_SE_ST_OK); /* last byte is fine */
}

static void test_counter_limits(void **state)
{
    vsafe_se_t *se = *state;
    assert_int_equal(st(se, "04 00 05 00 00 00 00 00 00"), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    rsp_t r = send_hex(se, "04 00 05 00 00 FF FF FF FE");
    assert_int_equal(r.status, 0);
    assert_int_equal(r.len, 4);
    assert_int_equal(r.payload[3], 1);
    assert_int_equal(st(se, "04 00 05 00 00 00 00 00 02"), VSAFE_SE_ST_COUNTER_LIMIT_EXCEEDED);
    r = send_hex(se, "04 00 05 00 00 00 00 00 01");
    assert_int_equal(r.status, 0);
    assert_int_equal(r.payload[3], 0);
    /* At zero the counter is locked. */
    assert_int_equal(st(se, "04 00 05 00 00 00 00 00 01"), VSAFE_SE_ST_COUNTER_LIMIT_EXCEEDED);
    r = send_hex(se, "05 00 05 00 00 00 00");
    assert_memory_equal(r.payload, "\0\0\0\0", 4);
}

static void test_response_too_long(void **state)
{
    /* 751 data bytes fit (1 + 751 = 752); 752 do not. */
    rsp_t r = send_hex(*state, "05 00 09 00 00 02 EF");
    assert_int_equal(r.status, 0);
    assert_int_equal(r.len, 751);
    assert_int_equal(st(*state, "05 00 09 00 00 02 F0"), VSAFE_SE_ST_BUFFER_LENGTH_EXCEEDED);
    /* A counter zone read carries 4 counter bytes too. */
    assert_int_equal(st(*state, "05 00 05 00 00 00 40"), 0);
}

static void test_cmac_without_key(void **state)
{
    assert_int_equal(st(*state, "E5 00 01 00 00 00 04 11 22 33 44"), VSAFE_SE_ST_KEY_NOT_FOUND);
}

static void test_i2c_nacks(void **state)
{
    vsafe_se_t *se = *state;
    uint8_t buf[8];
    uint8_t cmd[] = {0x14, 0x11, 0xFC, 0xBE};
    /* Nothing to read before the first command. */
    assert_int_equal(vsafe_se_i2c_read(se, ADDR, buf, 5), VSAFE_I2C_NACK);
    assert_int_equal(vsafe_se_i2c_write(se, 0x21, cmd, sizeof cmd), VSAFE_I2C_NACK);
    assert_int_equal(vsafe_se_i2c_read(se, ADDR, buf, 5), VSAFE_I2C_NACK);
    assert_int_equal(vsafe_se_i2c_write(se, ADDR, cmd, sizeof cmd), 0);
    assert_int_equal(vsafe_se_i2c_read(se, 0x21, buf, 5), VSAFE_I2C_NACK);
    assert_int_equal(vsafe_se_i2c_read(se, ADDR, buf, 5), 0);
    assert_int_equal(vsafe_se_i2c_write(se, ADDR, NULL, 4), VSAFE_ERR_ARGUMENT);
}

static uint8_t zone_ac(vsafe_se_t *se, uint8_t zone)
{
    rsp_t r = send_hex(se, "14 12");
    size_t i = 1;
    while (i < r.len) {
        if (r.payload[i] == zone) {
            return r.payload[i + 2];
        }
        i += r.payload[i + 1] ? 9 : 5;
    }
    fail();
    return 0;
}

static void test_ac_change_rules(void **state)
{
    vsafe_se_t *se = *state;
    /* Read AC of zone 1: Always -> Host, change right kept (STSELib form: length 0). */
    assert_int_equal(st(se, "05 19 01 00 00 00 00"), 0);
    assert_int_equal(zone_ac(se, 1), 0x98);
    /* Without a C-MAC the zone can no longer be read, and not loosened back to Always. */
    assert_int_equal(st(se, "05 00 01 00 00 00 04"), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    /* Update AC: the access (Always) is done and the AC tightened in one command. */
    assert_int_equal(st(se, "06 97 02 00 00 5A"), 0); /* atomic, change, CR cleared, Never */
    assert_int_equal(zone_ac(se, 2), 0x87);
    assert_int_equal(st(se, "06 00 02 00 00 5B"), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    rsp_t r = send_hex(se, "05 00 02 00 00 00 01");
    assert_int_equal(r.payload[0], 0x5A);
    /* Loosening is refused and writes nothing, data included. */
    assert_int_equal(st(se, "06 00 03 00 00 11"), 0);
    assert_int_equal(st(se, "06 19 03 00 00 22"), 0); /* -> Host, CR kept */
    assert_int_equal(zone_ac(se, 3), 0x89);
    assert_int_equal(st(se, "05 18 03 00 00 00 00"), 0); /* read AC: Always -> Always, fine */
    /* A cleared right stays cleared even when the new CR bit asks for it. */
    assert_int_equal(st(se, "05 10 04 00 00 00 00"), 0); /* Always, CR cleared */
    assert_int_equal(zone_ac(se, 4), 0x08);
    assert_int_equal(st(se, "05 19 04 00 00 00 00"), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    assert_int_equal(zone_ac(se, 4), 0x08);
    /* Decrement AC change on a counter zone, with the decrement performed in the same command. */
    r = send_hex(se, "04 17 06 00 00 00 00 00 01 AB");
    assert_int_equal(r.status, 0);
    assert_int_equal(zone_ac(se, 6), 0x87);
    assert_int_equal(st(se, "04 00 06 00 00 00 00 00 01"), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    /* A refused AC change does not perform the access either. */
    assert_int_equal(st(se, "04 10 07 00 00 00 00 00 01"), 0); /* Always, CR cleared */
    assert_int_equal(st(se, "04 11 07 00 00 00 00 00 01"), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    r = send_hex(se, "05 00 07 00 00 00 00");
    assert_int_equal(r.payload[3], 0xFE); /* only the first decrement happened */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_frame_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crc_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zone_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cmac_without_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_i2c_nacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ac_change_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
