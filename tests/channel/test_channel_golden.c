/* The verified byte traces with host keys (SPL05 state, the SDK's AES-128 test keys), byte for byte, through the contract's I2C entry points:
 * plaintext host-key write, Query 0x47, the C-MAC'd Read at counter 0 with its C-MAC and R-MAC,
 * the encrypted-command Update at counter 4, and the encrypted-response Read lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "chan_host.h"

typedef struct {
    vsafe_se_t *se;
    th_t th;
} fx_t;

static int setup(void **state)
{
    static fx_t fx;
    vsafe_se_options_t o = {"spl05", NULL};
    vsafe_se_open_ext_t ext = {.rng_seed = 5};
    assert_int_equal(vsafe_se_open_ex(&fx.se, &o, &ext), 0);
    th_init(&fx.th, th_se_xfer, fx.se);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    th_free(&fx->th);
    vsafe_se_close(fx->se);
    return 0;
}

static void expect_bytes(const uint8_t *got, size_t got_len, const char *hex)
{
    uint8_t exp[800];
    size_t n = tu_hex(hex, exp, sizeof exp);
    assert_int_equal(got_len, n);
    assert_memory_equal(got, exp, n);
}

static void test_section11_host_key_traces(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;

    /* Plaintext host-key write */
    assert_int_equal(th_cmd_hex(th, 0x1F, 0x07, "000000 00 " TH_MAC_KEY " " TH_CIPHER_KEY, 0), 0);
    expect_bytes(th->frame, th->frame_len, "1F 07 00 00 00 00 " TH_MAC_KEY " " TH_CIPHER_KEY " 3C BB");
    expect_bytes(th->rsp, th->rsp_len, "00 00 02 F0 78");

    /* Query host key v2: present, AES-128, counter 0 */
    assert_int_equal(th_cmd_hex(th, 0x14, 0, "47", 0), 0);
    expect_bytes(th->rsp, th->rsp_len, "00 00 08 01 00 00 00 00 00 88 5B");
    th_session(th, TH_MAC_KEY, TH_CIPHER_KEY, 0);

    /* C-MAC'd Read, counter 0, zone 1 offset 0 length 100 */
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0064", 0), 0);
    expect_bytes(th->frame, th->frame_len, "E5 00 01 00 00 00 64 05 01 F7 24 1A 77");
    assert_int_equal(th->rsp_len, 3 + 0x6A);
    expect_bytes(th->rsp, 3, "00 00 6A");
    /* The reference trace prints R-MAC A8 24 7F 32 / CRC 09 04 for "<100 data bytes>" it does not give; the CRC
     * shows they were not a fresh zone's zeros. For zeros, the R-MAC construction gives 65 79 CB 3E
     * (recomputed independently: `openssl mac -cipher AES-128-CBC -macopt hexkey:0011..EEFF CMAC`
     * over 00000001 40 80 00.. | 80 E5 0006 000100000064 | 00 0064 | 00 x 100). */
    expect_bytes(th->rsp + 3, 100, "00000000000000000000000000000000000000000000000000"
                                   "00000000000000000000000000000000000000000000000000"
                                   "00000000000000000000000000000000000000000000000000"
                                   "00000000000000000000000000000000000000000000000000");
    expect_bytes(th->rsp + 3 + 100, 6, "65 79 CB 3E 4D 29");
    assert_int_equal(th->counter, 1);
    assert_int_equal(th_query_counter(th), 1);

    /* Three more authenticated commands: counter 4 */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(th_cmd_hex(th, 0xE0, 0, "01 02 03", 0), 0);
        expect_bytes(th->data, th->data_len, "01 02 03");
    }
    assert_int_equal(th_query_counter(th), 4);

    /* Encryption flags (one Put: the table is one-time programmable): Update cmd-enc, Read rsp-enc */
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "2A 02 06 02 05 01", 0), 0);

    /* Encrypted-command Update, counter 4 -> 5, zone 2 offset 0, 37 bytes A0..C4 */
    uint8_t upd[4 + 37] = {0x00, 0x02, 0x00, 0x00};
    for (int i = 0; i < 37; i++) {
        upd[4 + i] = (uint8_t)(0xA0 + i);
    }
    assert_int_equal(th_cmd(th, 0xE6, 0, upd, sizeof upd, VSAFE_SE_ENC_CMD), 0);
    expect_bytes(th->frame, th->frame_len,
                 "E6 04 21 C3 ED DB 1F 08 69 18 A7 EF C3 7B A2 A9 CC CA 91 12 3A 84 71 25 4E 7F 08 25 B2 17 7D 08"
                 "AE 79 06 0A 21 A9 EB 40 4A 84 31 52 49 E2 7D 43 4F 02 B9 0C 1F FD C0");
    expect_bytes(th->rsp, 3, "00 00 06"); /* no payload, R-MAC only */
    assert_int_equal(th->counter, 5);

    /* Encrypted-response Read of 37 and of 32 bytes: LEN 0x0036 both times */
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 02 0000 0025", VSAFE_SE_ENC_RSP), 0);
    expect_bytes(th->rsp, 3, "00 00 36");
    expect_bytes(th->data, th->data_len,
                 "A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0C1C2C3C4");
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 02 0000 0020", VSAFE_SE_ENC_RSP), 0);
    expect_bytes(th->rsp, 3, "00 00 36");
    expect_bytes(th->data, th->data_len, "A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF");
    assert_int_equal(th_query_counter(th), 7);

    /* The table now says encrypted: a plain Read is refused, the flags cannot change again. */
    assert_int_equal(th_cmd_hex(th, 0x05, 0, "00 02 0000 0004", 0), 0x1E);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "2A 01 06 00", 0), 0x11);
    assert_int_equal(th_cmd_hex(th, 0x14, 0, "24", 0), 0);
    assert_int_equal(th->data[0], 0x02); /* CR: encryption-flag right gone, AC right kept */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_section11_host_key_traces, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
