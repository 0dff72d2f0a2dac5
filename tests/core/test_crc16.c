/* CRC-16/X-25 of the frames: the table-driven, eight-bytes-per-step implementation equals a plain
 * bit-by-bit CRC (written here from the definition: reflected polynomial 0x8408, init 0xFFFF,
 * xorout 0xFFFF) for every length 0..80, every start alignment and every split point of
 * vsafe_crc16_continue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vsafe/se_wire.h"

static uint16_t crc_bitwise(const uint8_t *p, size_t n)
{
    uint16_t reg = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        reg ^= p[i];
        for (int b = 0; b < 8; b++) {
            reg = (reg & 1u) ? (uint16_t)((reg >> 1) ^ 0x8408u) : (uint16_t)(reg >> 1);
        }
    }
    return (uint16_t)(reg ^ 0xFFFFu);
}

static void test_check_value(void **state)
{
    (void)state;
    assert_int_equal(crc_bitwise((const uint8_t *)"123456789", 9), 0x906E); /* the catalogue's check */
    assert_int_equal(vsafe_crc16((const uint8_t *)"123456789", 9), 0x906E);
    assert_int_equal(vsafe_crc16(NULL, 0), 0x0000);
}

static void test_every_length_alignment_and_split(void **state)
{
    (void)state;
    uint8_t buf[96];
    uint32_t x = 0x12345678u;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t align = 0; align < 8; align++) {
        for (size_t n = 0; n + align <= 88 && n <= 80; n++) {
            const uint8_t *p = buf + align;
            uint16_t want = crc_bitwise(p, n);
            assert_int_equal(vsafe_crc16(p, n), want);
            for (size_t cut = 0; cut <= n; cut++) {
                assert_int_equal(vsafe_crc16_continue(vsafe_crc16(p, cut), p + cut, n - cut), want);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_every_length_alignment_and_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
