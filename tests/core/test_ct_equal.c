/* vsafe_ct_equal, the one constant-time compare (MACs, keys of the crypto port's keyed contexts):
 * for every length 0..80 and every start alignment of either buffer, equal buffers compare equal
 * and a buffer differing in any single bit at any position compares unequal (also a difference
 * in the last, partial 8-byte step, and differences in several bytes that would cancel under a
 * sum). Bytes outside [0, n) never matter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hooks.h"

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

static void test_every_length_alignment_and_bit(void **state)
{
    (void)state;
    uint8_t a[96], b[96];
    for (size_t n = 0; n <= 80; n++) {
        for (size_t oa = 0; oa < 8; oa++) {
            for (size_t ob = 0; ob < 8; ob++) {
                fill(a, sizeof a, (uint32_t)n);
                memcpy(b + ob, a + oa, n);
                b[ob + n] = (uint8_t)~a[oa + n]; /* just past the end: must not matter */
                assert_true(vsafe_ct_equal(a + oa, b + ob, n));
                for (size_t i = 0; i < n; i++) {
                    for (int bit = 0; bit < 8; bit++) {
                        b[ob + i] ^= (uint8_t)(1u << bit);
                        assert_false(vsafe_ct_equal(a + oa, b + ob, n));
                        b[ob + i] ^= (uint8_t)(1u << bit);
                    }
                }
                assert_true(vsafe_ct_equal(a + oa, b + ob, n));
            }
        }
    }
}

static void test_differences_that_cancel_in_a_sum(void **state)
{
    (void)state;
    uint8_t a[16], b[16];
    memset(a, 0x40, sizeof a);
    memcpy(b, a, sizeof b);
    b[3] = 0x41; /* +1 */
    b[9] = 0x3F; /* -1 */
    assert_false(vsafe_ct_equal(a, b, sizeof a));
    b[3] = 0x40;
    b[9] = 0x40;
    b[15] = 0xC0; /* the top bit of the last byte */
    assert_false(vsafe_ct_equal(a, b, sizeof a));
    assert_true(vsafe_ct_equal(a, b, 15));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_length_alignment_and_bit),
        cmocka_unit_test(test_differences_that_cancel_in_a_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
