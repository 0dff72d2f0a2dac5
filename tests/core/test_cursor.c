/* The bounded cursor (common/cursor.h): every take checks the remaining length, a take that does
 * not fit changes nothing and zeroes its output, values are big-endian, leftovers are visible. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hooks.h"

static const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};

static void test_takes_in_order_big_endian(void **state)
{
    (void)state;
    vsafe_cursor_t c = vsafe_cursor(bytes, sizeof bytes);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    const uint8_t *p;
    assert_true(vsafe_cursor_u8(&c, &u8));
    assert_int_equal(u8, 0x01);
    assert_true(vsafe_cursor_be16(&c, &u16));
    assert_int_equal(u16, 0x0203);
    assert_true(vsafe_cursor_be32(&c, &u32));
    assert_int_equal(u32, 0x04050607u);
    assert_int_equal(vsafe_cursor_left(&c), 2);
    assert_false(vsafe_cursor_at_end(&c));
    assert_true(vsafe_cursor_bytes(&c, 2, &p));
    assert_ptr_equal(p, bytes + 7);
    assert_true(vsafe_cursor_at_end(&c));
}

static void test_short_take_changes_nothing(void **state)
{
    (void)state;
    vsafe_cursor_t c = vsafe_cursor(bytes, 3);
    uint8_t u8 = 0xAA;
    uint16_t u16 = 0xAAAA;
    uint32_t u32 = 0xAAAAAAAAu;
    const uint8_t *p = bytes;
    vsafe_cursor_t sub = vsafe_cursor(bytes, 1);
    assert_false(vsafe_cursor_be32(&c, &u32));
    assert_int_equal(u32, 0);
    assert_false(vsafe_cursor_bytes(&c, 4, &p));
    assert_null(p);
    assert_false(vsafe_cursor_sub(&c, 4, &sub));
    assert_int_equal(vsafe_cursor_left(&sub), 0);
    assert_false(vsafe_cursor_tail(&c, 4, &p));
    assert_null(p);
    /* Nothing was taken: the three bytes are all still there. */
    assert_int_equal(vsafe_cursor_left(&c), 3);
    assert_true(vsafe_cursor_be16(&c, &u16));
    assert_int_equal(u16, 0x0102);
    assert_false(vsafe_cursor_be16(&c, &u16));
    assert_int_equal(u16, 0);
    assert_true(vsafe_cursor_u8(&c, &u8));
    assert_int_equal(u8, 0x03);
    assert_false(vsafe_cursor_u8(&c, &u8));
    assert_int_equal(u8, 0);
    assert_false(vsafe_cursor_peek_u8(&c, &u8));
    assert_true(vsafe_cursor_at_end(&c));
}

static void test_tail_sub_peek_rest(void **state)
{
    (void)state;
    vsafe_cursor_t c = vsafe_cursor(bytes, sizeof bytes);
    vsafe_cursor_t sub;
    const uint8_t *p;
    size_t n;
    uint8_t u8;
    assert_true(vsafe_cursor_tail(&c, 4, &p));
    assert_ptr_equal(p, bytes + 5);
    assert_int_equal(vsafe_cursor_left(&c), 5);
    assert_true(vsafe_cursor_sub(&c, 2, &sub));
    assert_int_equal(vsafe_cursor_left(&sub), 2);
    assert_true(vsafe_cursor_u8(&sub, &u8));
    assert_int_equal(u8, 0x01);
    assert_true(vsafe_cursor_peek_u8(&c, &u8));
    assert_int_equal(u8, 0x03);
    assert_int_equal(vsafe_cursor_left(&c), 3); /* peek takes nothing */
    vsafe_cursor_rest(&c, &p, &n);
    assert_ptr_equal(p, bytes + 2);
    assert_int_equal(n, 3);
    assert_true(vsafe_cursor_at_end(&c));
    vsafe_cursor_rest(&c, &p, &n);
    assert_int_equal(n, 0);
}

static void test_null_input_is_empty(void **state)
{
    (void)state;
    vsafe_cursor_t c = vsafe_cursor(NULL, 5);
    uint8_t u8;
    assert_true(vsafe_cursor_at_end(&c));
    assert_false(vsafe_cursor_u8(&c, &u8));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_takes_in_order_big_endian),
        cmocka_unit_test(test_short_take_changes_nothing),
        cmocka_unit_test(test_tail_sub_peek_rest),
        cmocka_unit_test(test_null_input_is_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
