/* The verified byte traces of an SPL05 device (those that need no host key) and the CRC-16 vectors,
 * replayed byte for byte through the contract's I2C entry points, reading exactly as STSELib
 * does: 5 bytes first, then LEN + 3 bytes from byte 0 again. The bytes live in golden_vectors.h,
 * which the Cortex-M33 test firmware replays too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "golden_vectors.h"
#include "test_util.h"
#include "vsafe/se.h"

#define ADDR GV_I2C_ADDR

static int setup(void **state)
{
    vsafe_se_t *se = NULL;
    vsafe_se_options_t o = {"spl05", NULL};
    assert_int_equal(vsafe_se_open(&se, &o), 0);
    *state = se;
    return 0;
}

static int teardown(void **state)
{
    vsafe_se_close(*state);
    return 0;
}

/* Replays one shared trace (tests/protocol/golden_vectors.h) step by step. */
static void replay(vsafe_se_t *se, const gv_trace_t *t)
{
    uint8_t buf[800], exp[800], got[800];
    for (size_t i = 0; i < t->count; i++) {
        const gv_step_t *s = &t->steps[i];
        if (s->cmd != NULL) {
            size_t n = tu_hex(s->cmd, buf, sizeof buf);
            assert_int_equal(vsafe_se_i2c_write(se, ADDR, buf, n), 0);
        }
        if (s->read5 != NULL) {
            assert_int_equal(tu_hex(s->read5, exp, sizeof exp), 5);
            assert_int_equal(vsafe_se_i2c_read(se, ADDR, got, 5), 0);
            assert_memory_equal(got, exp, 5);
        }
        if (s->full != NULL) {
            size_t e = tu_hex(s->full, exp, sizeof exp);
            assert_true(e <= sizeof exp);
            if (s->read5 != NULL) { /* the LEN field announces exactly this frame */
                assert_int_equal(((size_t)got[1] << 8 | got[2]) + 3, e);
            }
            assert_int_equal(vsafe_se_i2c_read(se, ADDR, got, e), 0);
            assert_memory_equal(got, exp, e);
        }
    }
}

static bool replayed[GV_TRACES];

static const gv_trace_t *trace(const char *name)
{
    for (size_t i = 0; i < GV_TRACES; i++) {
        if (strcmp(gv_traces[i].name, name) == 0) {
            replayed[i] = true;
            return &gv_traces[i];
        }
    }
    fail_msg("no trace %s", name);
    return NULL;
}

static void test_crc_vectors(void **state)
{
    (void)state;
    uint8_t buf[32];
    assert_int_equal(vsafe_crc16((const uint8_t *)GV_CRC_CHECK_INPUT, 9), GV_CRC_CHECK_VALUE);
    for (size_t i = 0; i < GV_CRC_VECTORS; i++) {
        size_t n = tu_hex(gv_crc_vectors[i].in, buf, sizeof buf);
        assert_int_equal(vsafe_crc16(buf, n), gv_crc_vectors[i].crc);
    }
    /* Calculate over the first element then Accumulate over the rest = CRC of the whole. */
    tu_hex("05 00 01 00 00 00 04", buf, sizeof buf);
    assert_int_equal(vsafe_crc16_continue(vsafe_crc16(buf, 1), buf + 1, 6), 0x31B3);
}

static void test_init_product_data(void **state) { replay(*state, trace("init_product_data")); }
static void test_init_command_table(void **state) { replay(*state, trace("init_command_table")); }
static void test_partition_query(void **state) { replay(*state, trace("partition_query")); }
static void test_read_zone1(void **state) { replay(*state, trace("read_zone1")); }
static void test_counter_zone_and_decrement(void **state) { replay(*state, trace("counter_zone_and_decrement")); }
static void test_update_zone0_refused(void **state) { replay(*state, trace("update_zone0_refused")); }
static void test_echo_and_reads_restart(void **state) { replay(*state, trace("echo_and_reads_restart")); }

/* Runs last: every shared trace had its test above (one added to the header without a test
 * fails here). */
static void test_all_traces_replayed(void **state)
{
    (void)state;
    for (size_t i = 0; i < GV_TRACES; i++) {
        if (!replayed[i]) {
            fail_msg("trace %s is not replayed", gv_traces[i].name);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_vectors),
        cmocka_unit_test_setup_teardown(test_init_product_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_command_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partition_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_zone1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_zone_and_decrement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_zone0_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo_and_reads_restart, setup, teardown),
        cmocka_unit_test(test_all_traces_replayed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
