/* Power cut at every NVM operation of a protected, encrypted Decrement (and of a protected host-key
 * write), under each cut model of the simulated NVM. After the reboot the device holds either the
 * old state with the old counter or the new state with the counter advanced by one, never a mix;
 * the host, re-reading the counter with Query 0x47 as it does when it opens a session, is in sync
 * and its next protected commands (R-MAC checked) succeed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "chan_host.h"
#include "vsafe/sim.h"

#define PAGE 1024u
#define JOURNAL (8u * 1024u)

typedef struct {
    vsafe_sim_nvm_t *sim;
    vsafe_nvm_t *nvm;
    th_dev_t dev;
    th_t th;
    uint8_t *clean;
    size_t mem_len;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    uint32_t img = vsafe_se_core_image_size(&vsafe_profile_spl05);
    uint32_t bytes = vsafe_store_nvm_bytes(img, JOURNAL, PAGE);
    vsafe_nvm_geometry_t geo = {.prog_unit = 16, .page_size = PAGE, .page_count = (bytes + PAGE - 1) / PAGE,
                                .erased = 0xFF};
    assert_int_equal(vsafe_sim_nvm_new(&fx->sim, &geo, 3), VSAFE_OK);
    fx->nvm = vsafe_sim_nvm_port(fx->sim);
    th_dev_new(&fx->dev, fx->nvm, 31);
    th_init(&fx->th, th_core_xfer, &fx->dev.core);
    uint8_t *mem = vsafe_sim_nvm_mem(fx->sim, &fx->mem_len);
    (void)mem;
    fx->clean = malloc(fx->mem_len);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    th_free(&fx->th);
    th_dev_free(&fx->dev);
    vsafe_sim_nvm_free(fx->sim);
    free(fx->clean);
    free(fx);
    return 0;
}

static uint64_t nvm_ops(fx_t *fx)
{
    vsafe_sim_nvm_stats_t s;
    vsafe_sim_nvm_stats(fx->sim, &s);
    return s.program_ops + s.erase_ops;
}

static void save(fx_t *fx) { memcpy(fx->clean, vsafe_sim_nvm_mem(fx->sim, NULL), fx->mem_len); }

static void restore_and_boot(fx_t *fx)
{
    memcpy(vsafe_sim_nvm_mem(fx->sim, NULL), fx->clean, fx->mem_len);
    vsafe_sim_nvm_power_on(fx->sim);
    assert_int_equal(th_dev_remount(&fx->dev, fx->nvm), VSAFE_OK);
}

/* Zone 5: counter and the first 16 data bytes, read plainly. */
static void read_zone5(fx_t *fx, uint32_t *value, uint8_t data[16])
{
    assert_int_equal(th_cmd_hex(&fx->th, 0x05, 0, "00 05 0000 0010", 0), 0);
    assert_int_equal(fx->th.data_len, 20);
    *value = se_get32(fx->th.data);
    memcpy(data, fx->th.data + 4, 16);
}

static void test_cut_every_op_of_protected_decrement(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    static const vsafe_sim_cut_model_t models[] = {VSAFE_SIM_CUT_DROPPED, VSAFE_SIM_CUT_TORN_UNIT,
                                                   VSAFE_SIM_CUT_TORN_PAGE};
    assert_int_equal(th_provision_test_keys(th), 0);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "29 01 04 03", 0), 0);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "2A 01 04 03", 0), 0);
    unsigned long trials = 0;
    for (int round = 0; round < 12; round++) {
        uint8_t p[8 + 16] = {0x00, 0x05, 0x00, 0x00, 0, 0, 0, (uint8_t)(1 + round)};
        for (int i = 0; i < 16; i++) {
            p[8 + i] = (uint8_t)(round * 16 + i);
        }
        uint32_t old_value, new_value;
        uint8_t old_data[16], new_data[16];
        read_zone5(fx, &old_value, old_data);
        uint32_t ctr = th->counter;
        save(fx);
        /* Clean run: how many NVM operations does the command take? */
        uint64_t before = nvm_ops(fx);
        assert_int_equal(th_cmd(th, 0xE4, 0, p, sizeof p, VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP), 0);
        uint64_t ops = nvm_ops(fx) - before;
        assert_true(ops >= 1);
        read_zone5(fx, &new_value, new_data);
        assert_int_equal(new_value, old_value - (uint32_t)(1 + round));
        assert_memory_equal(new_data, p + 8, 16);
        /* The same state must come back from NVM. */
        assert_int_equal(th_dev_remount(&fx->dev, fx->nvm), VSAFE_OK);
        read_zone5(fx, &new_value, new_data);
        assert_memory_equal(new_data, p + 8, 16);
        uint8_t done_state[1];
        (void)done_state;

        for (uint64_t k = 1; k <= ops; k++) {
            for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
                restore_and_boot(fx);
                vsafe_sim_nvm_reseed(fx->sim, k * 7 + m + (uint64_t)round * 1000);
                assert_int_equal(vsafe_sim_nvm_arm_cut(fx->sim, k, models[m]), VSAFE_OK);
                th->counter = ctr;
                th_build(th, 0xE4, 0, p, sizeof p, true);
                int st = th_send(th, true);
                assert_true(vsafe_sim_nvm_cut_happened(fx->sim));
                assert_int_not_equal(st, 0); /* the command could not complete */
                /* Reboot */
                vsafe_sim_nvm_power_on(fx->sim);
                assert_int_equal(th_dev_remount(&fx->dev, fx->nvm), VSAFE_OK);
                int64_t dc = th_query_counter(th);
                uint32_t v;
                uint8_t d[16];
                read_zone5(fx, &v, d);
                if (dc == (int64_t)ctr) {
                    assert_int_equal(v, old_value);
                    assert_memory_equal(d, old_data, 16);
                } else {
                    assert_int_equal(dc, (int64_t)ctr + 1);
                    assert_int_equal(v, new_value);
                    assert_memory_equal(d, new_data, 16);
                }
                /* The host re-opens its session at the device's counter and goes on. */
                th_session(th, TH_MAC_KEY, TH_CIPHER_KEY, (uint32_t)dc);
                assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 05 0000 0004", 0), 0);
                assert_int_equal(se_get32(th->data), v);
                trials++;
            }
        }
        /* Continue from the clean, completed state. */
        restore_and_boot(fx);
        th->counter = ctr;
        assert_int_equal(th_cmd(th, 0xE4, 0, p, sizeof p, VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP), 0);
    }
    print_message("power cuts tried: %lu\n", trials);
    assert_true(trials >= 12);
}

static void test_cut_every_op_of_host_key_write(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    assert_int_equal(th_provision_test_keys(th), 0);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "4A 0E FF", 0), 0);
    /* Re-provision AES-256 keys with a protected (C-MAC + R-MAC) write */
    const char *mk = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
    const char *ck = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    char hex[200];
    snprintf(hex, sizeof hex, "000000 01 %s %s", mk, ck);
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0001", 0), 0);
    save(fx);
    uint32_t ctr = th->counter;
    uint64_t before = nvm_ops(fx);
    assert_int_equal(th_cmd_hex(th, 0xFF, 0x07, hex, 0), 0);
    uint64_t ops = nvm_ops(fx) - before;
    for (uint64_t k = 1; k <= ops; k++) {
        restore_and_boot(fx);
        assert_int_equal(vsafe_sim_nvm_arm_cut(fx->sim, k, VSAFE_SIM_CUT_TORN_UNIT), VSAFE_OK);
        th_session(th, TH_MAC_KEY, TH_CIPHER_KEY, ctr);
        assert_int_not_equal(th_cmd_hex(th, 0xFF, 0x07, hex, 0), 0);
        vsafe_sim_nvm_power_on(fx->sim);
        assert_int_equal(th_dev_remount(&fx->dev, fx->nvm), VSAFE_OK);
        assert_int_equal(th_cmd_hex(th, 0x14, 0, "47", 0), 0);
        if (th->data[1] == 0) {
            /* old key, old counter */
            assert_int_equal(se_get32(th->data + 2), ctr);
            th_session(th, TH_MAC_KEY, TH_CIPHER_KEY, ctr);
        } else {
            assert_int_equal(se_get32(th->data + 2), 0);
            th_session(th, mk, ck, 0);
        }
        assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0001", 0), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cut_every_op_of_protected_decrement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_every_op_of_host_key_write, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
