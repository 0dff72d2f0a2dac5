/* Device-level power-loss proofs (issue 3, 5a and 5b), through the host library and the whole
 * device on a simulated NVM.
 *
 * exhaustive: a scripted mixed workload (atomic and non-atomic updates, decrements with data, AC
 * changes) of 220 commands; for every command, power is cut at each of its NVM program/erase
 * operations under every write model (torn and reordered ones with two seeds); then the NVM is
 * remounted and its state image compared with the state before and after the command (from a
 * clean run): it must equal one of them, so counters never go up and metadata is intact. The
 * device must always open again, and retrying the command must give the after-state.
 * randomized: 10,000 commands with cuts armed at random, state carried across reboots; every
 * acknowledged decrement must still be there after each reboot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "pl_common.h"

static uint8_t before[PL_MAX_IMAGE], after[PL_MAX_IMAGE], got[PL_MAX_IMAGE];

static void run_exhaustive(int reorder, int commands)
{
    vsafe_sim_nvm_t *sim = pl_new_sim(reorder, 3);
    assert_non_null(sim);
    pl_dev_t d;
    assert_int_equal(pl_open(&d, sim), VSAFE_OK); /* formats from the profile */
    pl_close(&d);
    size_t size;
    uint8_t *mem = vsafe_sim_nvm_mem(sim, &size);
    uint8_t *clean = malloc(size), *next = malloc(size);
    memcpy(clean, mem, size);
    uint32_t len = 0, len2 = 0;
    assert_int_equal(pl_image(sim, before, &len), VSAFE_OK);
    uint32_t model[4];
    for (unsigned z = 0; z < 4; z++) {
        model[z] = pl_counter(before, 5 + z);
    }
    uint64_t rng = 0xC0FFEEu + (uint64_t)reorder;
    unsigned long cuts = 0, violations = 0, ok_cmds = 0, compactions = 0;
    int models = reorder ? 4 : 3;

    for (int i = 0; i < commands; i++) {
        pl_cmd_t c;
        pl_make_cmd(&c, &rng);

        memcpy(mem, clean, size);
        vsafe_sim_nvm_power_on(sim);
        assert_int_equal(pl_open(&d, sim), VSAFE_OK);
        vsafe_sim_nvm_stats_t s0, s1;
        vsafe_sim_nvm_stats(sim, &s0);
        uint32_t counter = 0;
        int crc = pl_run(&d, &c, &counter);
        vsafe_sim_nvm_stats(sim, &s1);
        pl_close(&d);
        uint64_t ops = (s1.program_ops + s1.erase_ops) - (s0.program_ops + s0.erase_ops);
        assert_int_equal(pl_image(sim, after, &len2), VSAFE_OK);
        assert_int_equal(len2, len);
        if (crc == VSAFE_OK) {
            ok_cmds++;
            assert_true(ops > 0u);
        } else {
            assert_memory_equal(after, before, len); /* a refused command changes nothing */
        }
        /* reference model of the counters */
        if (crc == VSAFE_OK && (c.kind == PL_DECREMENT || c.kind == PL_DECREMENT_AC)) {
            model[c.zone - 5] -= c.amount;
            assert_int_equal(counter, model[c.zone - 5]);
        }
        for (unsigned z = 0; z < 4; z++) {
            assert_int_equal(pl_counter(after, 5 + z), model[z]);
        }
        memcpy(next, mem, size);
        compactions += s1.erase_ops != s0.erase_ops;

        for (uint64_t k = 1; k <= ops; k++) {
            for (int m = 1; m <= models; m++) {
                int reps = m == VSAFE_SIM_CUT_DROPPED ? 1 : 2;
                for (int r = 0; r < reps; r++) {
                    memcpy(mem, clean, size);
                    vsafe_sim_nvm_power_on(sim);
                    vsafe_sim_nvm_reseed(sim, ((uint64_t)i << 24) ^ (k << 4) ^ (uint64_t)(m * 2 + r));
                    assert_int_equal(pl_open(&d, sim), VSAFE_OK);
                    assert_int_equal(vsafe_sim_nvm_arm_cut(sim, k, (vsafe_sim_cut_model_t)m), VSAFE_OK);
                    int rc = pl_run(&d, &c, &counter);
                    assert_true(vsafe_sim_nvm_cut_happened(sim));
                    assert_int_not_equal(rc, VSAFE_OK); /* no acknowledgement without durability */
                    pl_close(&d);
                    vsafe_sim_nvm_power_on(sim);
                    cuts++;
                    rc = pl_image(sim, got, &len2);
                    bool is_before = rc == 0 && memcmp(got, before, len) == 0;
                    bool is_after = rc == 0 && memcmp(got, after, len) == 0;
                    if (!is_before && !is_after) {
                        violations++;
                        print_message("violation: cmd %d kind %d op %llu model %d: rc %d\n", i, (int)c.kind,
                                      (unsigned long long)k, m, rc);
                        continue;
                    }
                    rc = pl_open(&d, sim); /* the device always opens */
                    if (rc != 0) {
                        violations++;
                        print_message("violation: cmd %d op %llu model %d: open %d\n", i, (unsigned long long)k, m,
                                      rc);
                        continue;
                    }
                    if (is_before && r == 0) { /* retried after the reboot */
                        rc = pl_run(&d, &c, &counter);
                        pl_close(&d);
                        if (rc != crc || pl_image(sim, got, &len2) != 0 || memcmp(got, after, len) != 0) {
                            violations++;
                            print_message("violation: retry cmd %d op %llu model %d: rc %d\n", i,
                                          (unsigned long long)k, m, rc);
                        }
                    } else {
                        pl_close(&d);
                    }
                }
            }
        }
        memcpy(clean, next, size);
        memcpy(before, after, len);
    }
    vsafe_sim_nvm_stats_t ss;
    vsafe_sim_nvm_stats(sim, &ss);
    print_message("device exhaustive reorder=%d: image %u B, %d commands (%lu executed), %lu compactions, "
                  "%lu cut points, %lu violations\n",
                  reorder, len, commands, ok_cmds, compactions, cuts, violations);
    free(clean);
    free(next);
    vsafe_sim_nvm_free(sim);
    assert_int_equal(violations, 0);
}

static void test_device_exhaustive_no_reorder(void **state)
{
    (void)state;
    run_exhaustive(0, 220);
}

static void test_device_exhaustive_reorder(void **state)
{
    (void)state;
    run_exhaustive(1, 220);
}

static void test_device_randomized(void **state)
{
    (void)state;
    vsafe_sim_nvm_t *sim = pl_new_sim(1, 11);
    vsafe_sim_nvm_t *shadow = pl_new_sim(1, 11);
    assert_non_null(sim);
    assert_non_null(shadow);
    pl_dev_t d, sd;
    assert_int_equal(pl_open(&d, sim), VSAFE_OK);
    size_t size;
    uint8_t *mem = vsafe_sim_nvm_mem(sim, &size);
    uint8_t *smem = vsafe_sim_nvm_mem(shadow, NULL);
    uint8_t *pre = malloc(size);
    uint32_t len = 0, len2 = 0;
    uint64_t rng = 0xFACADEu;
    uint32_t acked[4];
    assert_int_equal(pl_image(sim, before, &len), VSAFE_OK);
    for (unsigned z = 0; z < 4; z++) {
        acked[z] = pl_counter(before, 5 + z);
    }
    unsigned long cuts = 0, violations = 0;
    for (int i = 0; i < 10000; i++) {
        pl_cmd_t c;
        pl_make_cmd(&c, &rng);
        bool arm = pl_rand(&rng) % 4u == 0u;
        if (arm) {
            memcpy(pre, mem, size);
            int m = 1 + (int)(pl_rand(&rng) % 4u);
            assert_int_equal(vsafe_sim_nvm_arm_cut(sim, 1u + pl_rand(&rng) % 6u, (vsafe_sim_cut_model_t)m), VSAFE_OK);
        }
        uint32_t counter = 0;
        int rc = pl_run(&d, &c, &counter);
        vsafe_sim_nvm_disarm(sim);
        if (!vsafe_sim_nvm_cut_happened(sim) || !arm) {
            if (rc == VSAFE_OK && (c.kind == PL_DECREMENT || c.kind == PL_DECREMENT_AC)) {
                if (counter > acked[c.zone - 5]) {
                    violations++;
                }
                acked[c.zone - 5] = counter;
            }
            continue;
        }
        /* power failed inside the command: reboot and compare with a clean run from pre */
        assert_int_not_equal(rc, VSAFE_OK);
        cuts++;
        pl_close(&d);
        vsafe_sim_nvm_power_on(sim);
        memcpy(smem, pre, size);
        vsafe_sim_nvm_power_on(shadow);
        assert_int_equal(pl_image(shadow, before, &len2), VSAFE_OK);
        assert_int_equal(pl_open(&sd, shadow), VSAFE_OK);
        uint32_t sc = 0;
        (void)pl_run(&sd, &c, &sc);
        pl_close(&sd);
        assert_int_equal(pl_image(shadow, after, &len2), VSAFE_OK);
        rc = pl_image(sim, got, &len2);
        if (rc != 0 || (memcmp(got, before, len) != 0 && memcmp(got, after, len) != 0)) {
            violations++;
            print_message("randomized violation at command %d (rc %d)\n", i, rc);
        }
        for (unsigned z = 0; z < 4; z++) {
            uint32_t v = pl_counter(got, 5 + z);
            if (v > acked[z]) { /* an acknowledged decrement was lost */
                violations++;
            }
            acked[z] = v; /* an unacknowledged one may have landed: never count it twice */
        }
        assert_int_equal(pl_open(&d, sim), VSAFE_OK);
    }
    pl_close(&d);
    print_message("device randomized: 10000 commands, %lu cuts, %lu violations\n", cuts, violations);
    free(pre);
    vsafe_sim_nvm_free(shadow);
    vsafe_sim_nvm_free(sim);
    assert_int_equal(violations, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_exhaustive_no_reorder),
        cmocka_unit_test(test_device_exhaustive_reorder),
        cmocka_unit_test(test_device_randomized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
