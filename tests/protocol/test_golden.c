/* The verified byte traces of spec §11 (those that need no host key) and the CRC vectors of §1.6,
 * replayed byte for byte through the contract's I2C entry points, reading exactly as STSELib
 * does: 5 bytes first, then LEN + 3 bytes from byte 0 again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "test_util.h"
#include "vsafe/se.h"

#define ADDR 0x20

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

/* Writes cmd_hex (CRC included), then checks the 5-byte read and, if given, the full read. */
static void exchange(vsafe_se_t *se, const char *cmd_hex, const char *read5_hex, const char *full_hex)
{
    uint8_t cmd[800], exp[800], got[800];
    size_t n = tu_hex(cmd_hex, cmd, sizeof cmd);
    assert_int_equal(vsafe_se_i2c_write(se, ADDR, cmd, n), 0);
    size_t e = tu_hex(read5_hex, exp, sizeof exp);
    assert_int_equal(e, 5);
    assert_int_equal(vsafe_se_i2c_read(se, ADDR, got, 5), 0);
    assert_memory_equal(got, exp, 5);
    if (full_hex != NULL) {
        e = tu_hex(full_hex, exp, sizeof exp);
        size_t len = ((size_t)got[1] << 8 | got[2]) + 3;
        assert_int_equal(len, e);
        assert_int_equal(vsafe_se_i2c_read(se, ADDR, got, len), 0);
        assert_memory_equal(got, exp, e);
    }
}

static void test_crc_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint16_t crc;
    } v[] = {
        {"14 11", 0xFCBE}, {"14 12", 0xCE25}, {"14 24", 0x9A90}, {"14 47", 0xCB0D},
        {"00 01 02 03", 0xA729}, {"05 00 01 00 00 00 04", 0x31B3}, {"02 00 10", 0x63F5},
        {"00", 0xF078}, {"11", 0xF170}, {"16", 0x85CF},
    };
    uint8_t buf[32];
    assert_int_equal(vsafe_crc16((const uint8_t *)"123456789", 9), 0x906E);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = tu_hex(v[i].in, buf, sizeof buf);
        assert_int_equal(vsafe_crc16(buf, n), v[i].crc);
    }
    /* Calculate over the first element then Accumulate over the rest = CRC of the whole. */
    tu_hex("05 00 01 00 00 00 04", buf, sizeof buf);
    assert_int_equal(vsafe_crc16_continue(vsafe_crc16(buf, 1), buf + 1, 6), 0x31B3);
}

static void test_init_product_data(void **state)
{
    exchange(*state, "14 11 FC BE", "00 00 07 01 03", "00 00 07 01 03 00 60 01 AD DA");
}

static void test_init_command_table(void **state)
{
    char full[1024];
    int n = snprintf(full, sizeof full, "00 00 A6 03 2D");
    static const uint8_t std[] = {0x00, 0x02, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0A, 0x0E,
                                  0x0F, 0x11, 0x15, 0x16, 0x17, 0x18, 0x1A, 0x1B, 0x1C};
    for (size_t i = 0; i < sizeof std; i++) {
        n += snprintf(full + n, sizeof full - (size_t)n, " %02X 01 00", std[i]);
    }
    for (unsigned ext = 0; ext <= 0x1A; ext++) {
        n += snprintf(full + n, sizeof full - (size_t)n, " 1F %02X 01 00", ext);
    }
    snprintf(full + n, sizeof full - (size_t)n, " 14 B4");
    exchange(*state, "14 24 9A 90", "00 00 A6 03 2D", full);
    /* STSELib asks twice; both answers must be identical. */
    exchange(*state, "14 24 9A 90", "00 00 A6 03 2D", full);
}

static void test_partition_query(void **state)
{
    exchange(*state, "14 12 CE 25", "00 00 4F 0C 00",
             "00 00 4F 0C"
             " 00 00 07 03 E8  01 00 88 03 E8  02 00 88 03 E8  03 00 88 03 E8  04 00 88 03 E8"
             " 05 01 88 00 40 FF FF FF FF  06 01 88 00 40 FF FF FF FF"
             " 07 01 88 00 40 FF FF FF FF  08 01 88 00 40 FF FF FF FF"
             " 09 00 88 14 00  0A 00 88 0C 00  0B 00 88 0B 80  3F 29");
}

static void test_read_zone1(void **state)
{
    uint8_t rsp[16] = {0x00, 0x00, 0x06, 0, 0, 0, 0};
    uint16_t crc = vsafe_crc16_continue(vsafe_crc16(rsp, 1), rsp + 3, 4);
    char full[64];
    snprintf(full, sizeof full, "00 00 06 00 00 00 00 %02X %02X", crc >> 8, crc & 0xFF);
    exchange(*state, "05 00 01 00 00 00 04 31 B3", "00 00 06 00 00", full);
}

static void test_counter_zone_and_decrement(void **state)
{
    exchange(*state, "05 00 05 00 00 00 04 1C A3", "00 00 0A FF FF",
             "00 00 0A FF FF FF FF 00 00 00 00 C5 1B");
    exchange(*state,
             "04 00 05 00 00 00 00 00 01 00 03 06 09 0C 0F 12 15 18 1B 1E 21 24 27 2A 2D DA 4F",
             "00 00 06 FF FF", "00 00 06 FF FF FF FE 2D 67");
    /* The associated data and the new counter are there on the next read. */
    uint8_t cmd[16], got[32];
    size_t n = tu_hex("05 00 05 00 00 00 10", cmd, sizeof cmd);
    n = tu_crc(cmd, n);
    assert_int_equal(vsafe_se_i2c_write(*state, ADDR, cmd, n), 0);
    assert_int_equal(vsafe_se_i2c_read(*state, ADDR, got, 25), 0);
    uint8_t exp[20];
    tu_hex("FF FF FF FE 00 03 06 09 0C 0F 12 15 18 1B 1E 21 24 27 2A 2D", exp, sizeof exp);
    assert_memory_equal(got + 3, exp, 20);
}

static void test_update_zone0_refused(void **state)
{
    uint8_t cmd[16];
    size_t n = tu_hex("06 00 00 00 00 AA", cmd, sizeof cmd);
    n = tu_crc(cmd, n);
    assert_int_equal(vsafe_se_i2c_write(*state, ADDR, cmd, n), 0);
    uint8_t got[5], exp[5];
    tu_hex("11 00 02 F1 70", exp, 5);
    assert_int_equal(vsafe_se_i2c_read(*state, ADDR, got, 5), 0);
    assert_memory_equal(got, exp, 5);
}

static void test_echo_and_reads_restart(void **state)
{
    exchange(*state, "00 01 02 03 A7 29", "00 00 05 01 02", NULL);
    uint8_t a[8], b[8];
    /* Every read restarts at byte 0 and never consumes the response. */
    assert_int_equal(vsafe_se_i2c_read(*state, ADDR, a, 8), 0);
    assert_int_equal(vsafe_se_i2c_read(*state, ADDR, b, 8), 0);
    assert_memory_equal(a, b, 8);
    assert_int_equal(a[0], 0x00);
    assert_int_equal(a[3], 0x01);
    assert_int_equal(a[5], 0x03);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
