/* Every refusal of the project's status mapping (docs/STATUS.md) that applies without a host key, each with its status, and the
 * access-condition change rules: a refused command leaves the device unchanged. The frames and
 * expectations live in refusal_vectors.h, which the Cortex-M33 test firmware runs too; the CRC and
 * I2C addressing cases below are specific to the bus view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "refusal_vectors.h"
#include "test_util.h"
#include "vsafe/se.h"

#define ADDR 0x20

static bool ran[RV_CASES];

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

/* Runs one shared case (tests/protocol/refusal_vectors.h) step by step. */
static void run_case(vsafe_se_t *se, const char *name)
{
    const rv_case_t *c = NULL;
    for (size_t i = 0; i < RV_CASES; i++) {
        if (strcmp(rv_cases[i].name, name) == 0) {
            c = &rv_cases[i];
            ran[i] = true;
        }
    }
    assert_non_null(c);
    for (size_t i = 0; i < c->count; i++) {
        const rv_step_t *s = &c->steps[i];
        rsp_t r = send_hex(se, s->frame);
        assert_int_equal(r.status, s->status);
        if (s->payload != NULL) {
            uint8_t exp[800];
            size_t n = tu_hex(s->payload, exp, sizeof exp);
            assert_int_equal(r.len, n);
            assert_memory_equal(r.payload, exp, n);
        }
        if (s->len >= 0) {
            assert_int_equal(r.len, (size_t)s->len);
        }
        if (s->zone >= 0) {
            assert_int_equal(rv_zone_ac(r.payload, r.len, (uint8_t)s->zone), s->ac);
        }
    }
}

static void test_frame_shape(void **state) { run_case(*state, "frame_shape"); }
static void test_unknown_commands(void **state) { run_case(*state, "unknown_commands"); }
static void test_zone_errors(void **state) { run_case(*state, "zone_errors"); }
static void test_counter_limits(void **state) { run_case(*state, "counter_limits"); }
static void test_response_too_long(void **state) { run_case(*state, "response_too_long"); }
static void test_cmac_without_key(void **state) { run_case(*state, "cmac_without_key"); }
static void test_ac_change_rules(void **state) { run_case(*state, "ac_change_rules"); }

/* Runs last: every shared case had its test above. */
static void test_all_cases_run(void **state)
{
    (void)state;
    for (size_t i = 0; i < RV_CASES; i++) {
        if (!ran[i]) {
            fail_msg("case %s is not run", rv_cases[i].name);
        }
    }
}

static void test_crc_mismatch(void **state)
{
    uint8_t cmd[] = {0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x31, 0xB4}, rsp[5];
    assert_int_equal(vsafe_se_i2c_write(*state, ADDR, cmd, sizeof cmd), 0);
    assert_int_equal(vsafe_se_i2c_read(*state, ADDR, rsp, 5), 0);
    assert_int_equal(rsp[0], VSAFE_SE_ST_COMMUNICATION_ERROR);
    assert_int_equal(rsp[2], 2);
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
        cmocka_unit_test(test_all_cases_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
