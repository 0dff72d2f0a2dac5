/* The timing model (vsafe_se_open_ext_t timing): after a command the device NACKs for the A120's
 * processing time of that command, and twice that for an operation on NIST P-521 or Brainpool
 * P-512 (a project choice: the real per-curve times are not published). Measured on the same
 * monotonic clock from just before the write to the first read the device accepts; a loaded
 * machine can only make the measured time longer, so only lower bounds are checked, with an upper bound on
 * the shorter one only where it separates the two cases by a wide margin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <cmocka.h>

#include "hooks.h"
#include "keys_util.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Writes cmd with its CRC and returns the milliseconds until the device answers; status in *st. */
static double busy_ms(vsafe_se_t *se, const uint8_t *cmd, size_t len, int *st)
{
    uint8_t frame[800], r[800];
    memcpy(frame, cmd, len);
    uint16_t crc = vsafe_crc16(cmd, len);
    frame[len] = (uint8_t)(crc >> 8);
    frame[len + 1] = (uint8_t)crc;
    /* t0 before the write: the busy period starts when the command has been processed, inside
     * the write; a clock read after the write returns could come late on a loaded machine and
     * make the measured time shorter than the model's. */
    double t0 = now_ms();
    assert_int_equal(vsafe_se_i2c_write(se, 0x20, frame, len + 2), 0);
    while (vsafe_se_i2c_read(se, 0x20, r, 3) != 0) {
        struct timespec nap = {0, 200000};
        nanosleep(&nap, NULL);
    }
    *st = r[0];
    return now_ms() - t0;
}

static void test_slow_curves_take_twice(void **state)
{
    (void)state;
    vsafe_sim_nvm_t *sim = NULL;
    uint32_t bytes = vsafe_store_nvm_bytes(vsafe_se_core_image_size(&vsafe_profile_spl05), 16384u, 4096u);
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = 4096, .page_count = bytes / 4096u, .erased = 0xFF};
    assert_int_equal(vsafe_sim_nvm_new(&sim, &g, 3), VSAFE_OK);
    vsafe_se_open_ext_t ext = {.nvm = vsafe_sim_nvm_port(sim), .rng_seed = 3, .timing = 1, .no_identity = 1};
    vsafe_se_t *se = NULL;
    assert_int_equal(vsafe_se_open_ex(&se, NULL, &ext), VSAFE_OK);
    /* Generate key 11 13 SLOT 00FF 0000 CURVE_ID: 32 ms; P-521 64 ms */
    uint8_t f[40] = {0x11, 0x13, 0x01, 0x00, 0xFF, 0x00, 0x00};
    int st = -1;
    memcpy(f + 7, KU_P256->id, KU_P256->id_len);
    double t256 = busy_ms(se, f, 7 + KU_P256->id_len, &st);
    assert_int_equal(st, 0x00);
    const ku_curve_t *p521 = &ku_curves[2], *bp512 = &ku_curves[5];
    f[2] = 0x02;
    memcpy(f + 7, p521->id, p521->id_len);
    double t521 = busy_ms(se, f, 7 + p521->id_len, &st);
    assert_int_equal(st, 0x00);
    f[2] = 0x03;
    memcpy(f + 7, bp512->id, bp512->id_len);
    double t512 = busy_ms(se, f, 7 + bp512->id_len, &st);
    assert_int_equal(st, 0x00);
    /* Generate signature 16 SLOT LEN(2) MSG: 37 ms; with the P-521 key of slot 2: 74 ms */
    uint8_t s[40] = {0x16, 0x02, 0x00, 0x20};
    memset(s + 4, 0x33, 32);
    double tsig = busy_ms(se, s, 36, &st);
    assert_int_equal(st, 0x00);
    print_message("busy: P-256 keygen %.1f ms, P-521 %.1f ms, BP-512 %.1f ms, P-521 signature %.1f ms\n", t256,
                  t521, t512, tsig);
    assert_true(t256 >= 32.0);
    assert_true(t521 >= 64.0);
    assert_true(t512 >= 64.0);
    assert_true(tsig >= 74.0);
    vsafe_se_close(se);
    vsafe_sim_nvm_free(sim);
}

/* vsafe_se_command_time_ms (what make bench prints as the chip's time) gives the A120's published
 * processing times, and is what the model keeps the device busy for. */
static void test_command_time_is_the_models(void **state)
{
    (void)state;
    static const struct {
        uint8_t hdr;
        unsigned ms;
    } published[] = {{0x00, 2},  {0x02, 4},  {0x04, 23}, {0x05, 23}, {0x06, 22}, {0x09, 23},
                     {0x11, 32}, {0x16, 37}, {0x17, 62}, {0x18, 83}, {0x1B, 5}};
    for (size_t i = 0; i < sizeof published / sizeof published[0]; i++) {
        assert_int_equal(vsafe_se_command_time_ms(&published[i].hdr, 1), published[i].ms);
    }
    /* the protection bits of the header do not change the command */
    const uint8_t mac_read[] = {0xE5, 0x00};
    assert_int_equal(vsafe_se_command_time_ms(mac_read, sizeof mac_read), 23u);
    assert_int_equal(vsafe_se_command_time_ms(mac_read, 0), 0u);
    assert_int_equal(vsafe_se_command_time_ms(NULL, 1), 0u);

    vsafe_se_t *se = NULL;
    vsafe_se_open_ext_t ext = {.rng_seed = 4, .timing = 1, .no_identity = 1};
    assert_int_equal(vsafe_se_open_ex(&se, NULL, &ext), VSAFE_OK);
    /* Generate random 02 00 LEN and Read 05 00 ZONE OFFSET(2) LEN(2): busy at least their time */
    const uint8_t rnd[] = {0x02, 0x00, 0x10}, rd[] = {0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04};
    int st = -1;
    double t_rnd = busy_ms(se, rnd, sizeof rnd, &st);
    assert_int_equal(st, 0x00);
    double t_rd = busy_ms(se, rd, sizeof rd, &st);
    assert_int_equal(st, 0x00);
    print_message("busy: random %.1f ms (table %u), read %.1f ms (table %u)\n", t_rnd,
                  vsafe_se_command_time_ms(rnd, sizeof rnd), t_rd, vsafe_se_command_time_ms(rd, sizeof rd));
    assert_true(t_rnd >= (double)vsafe_se_command_time_ms(rnd, sizeof rnd));
    assert_true(t_rd >= (double)vsafe_se_command_time_ms(rd, sizeof rd));
    vsafe_se_close(se);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_curves_take_twice),
        cmocka_unit_test(test_command_time_is_the_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
