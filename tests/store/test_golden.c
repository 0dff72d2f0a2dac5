/* The golden store images must keep loading, to the state their workload defines, through the
 * simulated NVM and (for the file-geometry image) through the read-only file backend; and today's
 * writer must still produce them byte for byte (the format has not drifted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden_workload.h"
#include "hooks.h"

static void golden_path(char *out, size_t cap, const char *file)
{
    const char *src = getenv("VSAFE_SOURCE_DIR");
    snprintf(out, cap, "%s/tests/store/golden/%s", src ? src : ".", file);
}

static void expected_state(uint8_t img[GOLDEN_IMG])
{
    vsafe_txn_t t;
    golden_initial(img);
    for (int i = 0; i < GOLDEN_TXNS; i++) {
        golden_txn(&t, i);
        tu_ref_apply(img, &t);
    }
}

static void check_mount(const vsafe_nvm_t *nvm, bool torn)
{
    uint8_t want[GOLDEN_IMG], got[GOLDEN_IMG];
    expected_state(want);
    uint32_t len = 0, tag = 0;
    assert_int_equal(vsafe_store_probe(nvm, &len, &tag), VSAFE_OK);
    assert_int_equal(len, GOLDEN_IMG);
    assert_int_equal(tag, GOLDEN_TAG);
    vsafe_store_report_t rep;
    assert_int_equal(vsafe_store_inspect(nvm, &rep), VSAFE_OK);
    assert_int_equal(rep.format_version, 1);
    assert_int_equal(rep.seq, 1u + GOLDEN_TXNS);
    assert_int_equal(rep.tail_clean, !torn);
    vsafe_store_t st;
    assert_int_equal(vsafe_store_mount(&st, nvm, got, GOLDEN_IMG, GOLDEN_TAG), VSAFE_OK);
    assert_memory_equal(got, want, GOLDEN_IMG);
    assert_int_equal(st.need_compact, torn);
    assert_int_equal(got[16] << 24 | got[17] << 16 | got[18] << 8 | got[19], 1000000u - (GOLDEN_TXNS - 1));
}

static void test_golden_images_load(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof goldens / sizeof goldens[0]; i++) {
        char path[4096];
        golden_path(path, sizeof path, goldens[i].file);
        vsafe_sim_nvm_t *sim = NULL;
        int rc = vsafe_sim_nvm_from_file(&sim, path, &goldens[i].geo, 0);
        if (rc != 0) {
            fail_msg("%s: %d (generate once with store_gen_golden tests/store/golden)", path, rc);
        }
        check_mount(vsafe_sim_nvm_port(sim), goldens[i].torn_tail);

        /* the writer of today reproduces the image byte for byte */
        vsafe_sim_nvm_t *fresh;
        vsafe_store_t st;
        vsafe_txn_t t;
        uint8_t img[GOLDEN_IMG];
        assert_int_equal(vsafe_sim_nvm_new(&fresh, &goldens[i].geo, 0), VSAFE_OK);
        golden_initial(img);
        assert_int_equal(vsafe_store_format(&st, vsafe_sim_nvm_port(fresh), img, GOLDEN_IMG, GOLDEN_TAG), VSAFE_OK);
        for (int k = 0; k < GOLDEN_TXNS; k++) {
            golden_txn(&t, k);
            assert_int_equal(vsafe_store_commit(&st, &t), VSAFE_OK);
        }
        size_t n1, n2;
        uint8_t *a = vsafe_sim_nvm_mem(fresh, &n1);
        uint8_t *b = vsafe_sim_nvm_mem(sim, &n2);
        assert_int_equal(n1, n2);
        if (goldens[i].torn_tail) {
            memset(a + st.half * st.half_bytes + st.tail, 0x5A, 20);
        }
        assert_memory_equal(a, b, n1);
        vsafe_sim_nvm_free(fresh);
        vsafe_sim_nvm_free(sim);

        if (goldens[i].geo.page_size == VSAFE_FILE_NVM_PAGE) {
            vsafe_file_nvm_t *f;
            assert_int_equal(vsafe_file_nvm_open(&f, path, VSAFE_FILE_NVM_READ_ONLY, 0), VSAFE_OK);
            check_mount(vsafe_file_nvm_port(f), goldens[i].torn_tail);
            vsafe_file_nvm_close(f);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_images_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
