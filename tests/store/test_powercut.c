/* Store-level power-cut proofs on the simulated NVM.
 *
 * exhaustive: a workload of random transactions; for every transaction, power is cut at each of
 * its program/erase operations under every write model the geometry allows (torn and reordered
 * ones with several seeds), then the NVM is remounted. The recovered image must equal the state
 * before or after the interrupted transaction, the store must always mount, and committing after
 * the reboot (through the torn tail) must work.
 * randomized: 10,000 transactions with cuts armed at random points, state carried across cuts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_testutil.h"

#define IMG 300u
#define TAG VSAFE_STORE_TAG_SE

typedef struct {
    uint32_t prog_unit, page_size, pages;
    int reorder;
    int one_sync;
} config_t;

static const config_t configs[] = {
    {16, 256, 16, 0, 0},
    {16, 256, 16, 1, 0},
    {4, 128, 24, 0, 0},
    {8, 512, 6, 1, 0},
    {16, 256, 16, 1, 1}, /* may reorder, yet one sync per record: the CRCs must suffice */
};

static unsigned long total_cuts, total_violations;

static void run_exhaustive(const config_t *c, int txns)
{
    vsafe_sim_nvm_t *sim;
    vsafe_nvm_geometry_t g = tu_geo(c->prog_unit, c->page_size, c->pages, c->reorder);
    assert_int_equal(vsafe_sim_nvm_new(&sim, &g, 1), VSAFE_OK);
    vsafe_nvm_t *nvm = vsafe_sim_nvm_port(sim);
    size_t size;
    uint8_t *mem = vsafe_sim_nvm_mem(sim, &size);
    uint8_t *clean = malloc(size);
    uint8_t img[IMG], before[IMG], after[IMG], scratch[IMG];
    vsafe_store_t st, ss;
    vsafe_txn_t t;
    uint64_t rng = 0x5EED0000u + c->prog_unit * 131u + c->pages + (uint64_t)c->reorder;
    unsigned long cuts = 0, violations = 0, compactions = 0;

    for (uint32_t i = 0; i < IMG; i++) {
        img[i] = (uint8_t)(i ^ 0xA5u);
    }
    assert_int_equal(vsafe_store_format(&st, nvm, img, IMG, TAG), VSAFE_OK);
    memcpy(clean, mem, size);
    memcpy(before, img, IMG);

    int models = c->reorder ? 4 : 3;
    for (int i = 0; i < txns; i++) {
        tu_random_txn(&t, &rng, IMG);
        assert_int_equal(t.error, 0);

        /* clean run: how many operations does this commit take? */
        memcpy(mem, clean, size);
        vsafe_sim_nvm_power_on(sim);
        assert_int_equal(vsafe_store_mount(&st, nvm, img, IMG, TAG), VSAFE_OK);
        vsafe_store_set_one_sync(&st, c->one_sync);
        assert_memory_equal(img, before, IMG);
        vsafe_sim_nvm_stats_t s0, s1;
        vsafe_sim_nvm_stats(sim, &s0);
        assert_int_equal(vsafe_store_commit(&st, &t), VSAFE_OK);
        vsafe_sim_nvm_stats(sim, &s1);
        compactions += st.counters.compactions;
        uint64_t ops = (s1.program_ops + s1.erase_ops) - (s0.program_ops + s0.erase_ops);
        memcpy(after, img, IMG);
        uint8_t *next_clean = malloc(size);
        memcpy(next_clean, mem, size);

        for (uint64_t k = 1; k <= ops; k++) {
            for (int m = 1; m <= models; m++) {
                int reps = m == VSAFE_SIM_CUT_DROPPED ? 1 : 3;
                for (int r = 0; r < reps; r++) {
                    memcpy(mem, clean, size);
                    vsafe_sim_nvm_power_on(sim);
                    vsafe_sim_nvm_reseed(sim, ((uint64_t)i << 32) ^ (k << 8) ^ (uint64_t)(m * 16 + r));
                    assert_int_equal(vsafe_store_mount(&ss, nvm, scratch, IMG, TAG), VSAFE_OK);
                    vsafe_store_set_one_sync(&ss, c->one_sync);
                    assert_int_equal(vsafe_sim_nvm_arm_cut(sim, k, (vsafe_sim_cut_model_t)m), VSAFE_OK);
                    int rc = vsafe_store_commit(&ss, &t);
                    assert_int_equal(rc, VSAFE_ERR_POWER_LOSS);
                    assert_memory_equal(scratch, before, IMG); /* RAM never ahead of NVM */
                    vsafe_sim_nvm_power_on(sim);
                    cuts++;
                    rc = vsafe_store_mount(&ss, nvm, scratch, IMG, TAG);
                    vsafe_store_set_one_sync(&ss, c->one_sync);
                    bool is_before = rc == 0 && memcmp(scratch, before, IMG) == 0;
                    bool is_after = rc == 0 && memcmp(scratch, after, IMG) == 0;
                    if (!is_before && !is_after) {
                        violations++;
                        print_message("violation: txn %d op %llu model %d rep %d rc %d\n", i,
                                      (unsigned long long)k, m, r, rc);
                        continue;
                    }
                    if (is_before) { /* reboot, then the command is retried */
                        rc = vsafe_store_commit(&ss, &t);
                        if (rc != 0 || memcmp(scratch, after, IMG) != 0) {
                            violations++;
                            print_message("violation: retry after cut txn %d op %llu model %d rc %d\n", i,
                                          (unsigned long long)k, m, rc);
                            continue;
                        }
                    }
                    rc = vsafe_store_mount(&ss, nvm, scratch, IMG, TAG);
                    if (rc != 0 || memcmp(scratch, after, IMG) != 0) {
                        violations++;
                        print_message("violation: remount txn %d op %llu model %d rc %d\n", i,
                                      (unsigned long long)k, m, rc);
                    }
                }
            }
        }
        memcpy(clean, next_clean, size);
        free(next_clean);
        memcpy(before, after, IMG);
    }
    print_message("exhaustive pu=%u page=%u pages=%u reorder=%d one_sync=%d: %d txns, %lu cut points, %lu violations, "
                  "%lu compactions\n",
                  c->prog_unit, c->page_size, c->pages, c->reorder, c->one_sync, txns, cuts, violations, compactions);
    total_cuts += cuts;
    total_violations += violations;
    free(clean);
    vsafe_sim_nvm_free(sim);
    assert_int_equal(violations, 0);
}

static void test_exhaustive_cuts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        run_exhaustive(&configs[i], 250);
    }
    print_message("exhaustive total: %lu cut points, %lu violations\n", total_cuts, total_violations);
}

static void test_randomized_cuts(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof configs / sizeof configs[0]; ci++) {
        const config_t *c = &configs[ci];
        vsafe_sim_nvm_t *sim;
        vsafe_nvm_geometry_t g = tu_geo(c->prog_unit, c->page_size, c->pages, c->reorder);
        assert_int_equal(vsafe_sim_nvm_new(&sim, &g, 77 + ci), VSAFE_OK);
        vsafe_nvm_t *nvm = vsafe_sim_nvm_port(sim);
        uint8_t img[IMG], ref[IMG], prev[IMG];
        vsafe_store_t st;
        vsafe_txn_t t;
        uint64_t rng = 0xABCDEF01u + ci;
        unsigned long cuts = 0, violations = 0;
        memset(img, 0x42, IMG);
        memcpy(ref, img, IMG);
        assert_int_equal(vsafe_store_format(&st, nvm, img, IMG, TAG), VSAFE_OK);
        vsafe_store_set_one_sync(&st, c->one_sync);
        for (int i = 0; i < 10000; i++) {
            tu_random_txn(&t, &rng, IMG);
            memcpy(prev, ref, IMG);
            tu_ref_apply(ref, &t);
            bool armed = tu_rand(&rng) % 3u == 0u;
            if (armed) {
                int m = 1 + (int)(tu_rand(&rng) % (uint64_t)(c->reorder ? 4 : 3));
                assert_int_equal(vsafe_sim_nvm_arm_cut(sim, 1u + tu_rand(&rng) % 12u, (vsafe_sim_cut_model_t)m),
                                 VSAFE_OK);
            }
            int rc = vsafe_store_commit(&st, &t);
            vsafe_sim_nvm_disarm(sim);
            if (rc == VSAFE_OK) {
                if (memcmp(img, ref, IMG) != 0) {
                    violations++;
                }
                continue;
            }
            assert_int_equal(rc, VSAFE_ERR_POWER_LOSS);
            cuts++;
            vsafe_sim_nvm_power_on(sim);
            rc = vsafe_store_mount(&st, nvm, img, IMG, TAG);
            vsafe_store_set_one_sync(&st, c->one_sync);
            if (rc != 0) {
                violations++;
                char why[256];
                (void)vsafe_store_describe(&st.recovery, why, sizeof why);
                print_message("randomized: mount failed %d at txn %d: %s\n", rc, i, why);
                break;
            }
            if (memcmp(img, prev, IMG) == 0) {
                memcpy(ref, prev, IMG); /* rolled back: the command did not happen */
            } else if (memcmp(img, ref, IMG) != 0) {
                violations++;
                memcpy(ref, img, IMG);
            }
        }
        print_message("randomized pu=%u reorder=%d: 10000 txns, %lu cuts, %lu violations\n", c->prog_unit,
                      c->reorder, cuts, violations);
        total_violations += violations;
        assert_int_equal(violations, 0);
        vsafe_sim_nvm_free(sim);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exhaustive_cuts),
        cmocka_unit_test(test_randomized_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
