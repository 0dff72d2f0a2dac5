/* Store regressions of issue 8, each named after its finding:
 *  regress_read_error_at_mount: a read that fails or returns a flipped bit while mounting must
 *      give an error or exactly the newest state, never an older one (it used to drop the record
 *      it could not read and mount the state before it).
 *  regress_seq_wrap: sequence numbers compare wrap-safely: a store whose sequence numbers pass
 *      0xFFFFFFFF -> 0 keeps mounting its newest state (it used to pick the half with the larger
 *      number, an older one). */
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

static vsafe_sim_nvm_t *new_sim(uint32_t pages, int reorder)
{
    vsafe_sim_nvm_t *sim = NULL;
    vsafe_nvm_geometry_t g = tu_geo(16, 256, pages, reorder);
    assert_int_equal(vsafe_sim_nvm_new(&sim, &g, 7), VSAFE_OK);
    return sim;
}

static void regress_read_error_at_mount(void **state)
{
    (void)state;
    for (int reorder = 0; reorder < 2; reorder++) {
        vsafe_sim_nvm_t *sim = new_sim(16, reorder);
        vsafe_nvm_t *nvm = vsafe_sim_nvm_port(sim);
        uint8_t img[IMG], ref[IMG], back[IMG];
        vsafe_store_t st;
        for (uint32_t i = 0; i < IMG; i++) {
            img[i] = (uint8_t)(i * 11u);
        }
        memcpy(ref, img, IMG);
        assert_int_equal(vsafe_store_format(&st, nvm, img, IMG, TAG), VSAFE_OK);
        uint64_t rng = 0x5EEDu;
        vsafe_txn_t t;
        /* enough commits that the store compacted once and has a journal on top */
        while (st.counters.compactions < 1u || st.tail < 1000u) {
            tu_random_txn(&t, &rng, IMG);
            assert_int_equal(vsafe_store_commit(&st, &t), VSAFE_OK);
            tu_ref_apply(ref, &t);
        }
        vsafe_sim_nvm_stats_t s0, s1;
        vsafe_sim_nvm_stats(sim, &s0);
        assert_int_equal(vsafe_store_mount(&st, nvm, back, IMG, TAG), VSAFE_OK);
        vsafe_sim_nvm_stats(sim, &s1);
        assert_memory_equal(back, ref, IMG);
        uint64_t reads = s1.read_ops - s0.read_ops;
        unsigned long errors = 0, flips_ok = 0, flips_refused = 0;
        for (uint64_t n = 1; n <= reads + 2u; n++) {
            vsafe_sim_nvm_arm_read_error(sim, n);
            int rc = vsafe_store_mount(&st, nvm, back, IMG, TAG);
            vsafe_sim_nvm_arm_read_error(sim, 0);
            if (n <= reads) {
                if (rc != VSAFE_ERR_NVM_READ) {
                    fail_msg("read %llu of %llu failed, mount gave %d", (unsigned long long)n,
                             (unsigned long long)reads, rc);
                }
                errors++;
            } else {
                assert_int_equal(rc, VSAFE_OK);
                assert_memory_equal(back, ref, IMG);
            }
            vsafe_sim_nvm_arm_read_flip(sim, n);
            rc = vsafe_store_mount(&st, nvm, back, IMG, TAG);
            vsafe_sim_nvm_arm_read_flip(sim, 0);
            if (rc == VSAFE_OK) {
                if (memcmp(back, ref, IMG) != 0) {
                    fail_msg("a flipped bit in read %llu mounted a state that is not the newest", (unsigned long long)n);
                }
                flips_ok++;
            } else {
                flips_refused++;
            }
        }
        printf("regress_read_error_at_mount reorder=%d: %llu reads per mount, %lu read errors all reported, "
               "%lu transient flips: %lu mounted the newest state, %lu refused, 0 older\n",
               reorder, (unsigned long long)reads, errors, flips_ok + flips_refused, flips_ok, flips_refused);
        vsafe_sim_nvm_free(sim);
    }
}

static void regress_seq_wrap(void **state)
{
    (void)state;
    vsafe_sim_nvm_t *sim = new_sim(16, 0);
    vsafe_nvm_t *nvm = vsafe_sim_nvm_port(sim);
    uint8_t img[IMG], ref[IMG], back[IMG];
    vsafe_store_t st, st2;
    memset(img, 0x3C, IMG);
    memcpy(ref, img, IMG);
    assert_int_equal(vsafe_store_format(&st, nvm, img, IMG, TAG), VSAFE_OK);
    /* Jump the sequence close to the wrap (as if billions of commits had happened): two forced
     * compactions leave both halves with snapshots near 2^32 that compare consistently. */
    st.seq = 0xFFFFFF00u;
    vsafe_txn_t t;
    for (int k = 0; k < 2; k++) {
        st.need_compact = true;
        vsafe_txn_begin(&t);
        vsafe_txn_put_u32(&t, 0, (uint32_t)k);
        assert_int_equal(vsafe_store_commit(&st, &t), VSAFE_OK);
        tu_ref_apply(ref, &t);
    }
    assert_int_equal(st.seq, 0xFFFFFF02u);
    uint64_t rng = 0x3A9u;
    bool wrapped = false;
    unsigned long compactions0 = (unsigned long)st.counters.compactions;
    for (int i = 0; i < 600; i++) {
        tu_random_txn(&t, &rng, IMG);
        assert_int_equal(vsafe_store_commit(&st, &t), VSAFE_OK);
        tu_ref_apply(ref, &t);
        wrapped |= st.seq < 0x100u;
        int rc = vsafe_store_mount(&st2, nvm, back, IMG, TAG);
        if (rc != VSAFE_OK || memcmp(back, ref, IMG) != 0 || st2.seq != st.seq) {
            fail_msg("commit %d (seq 0x%08x): mount gave %d, seq 0x%08x, %s", i, st.seq, rc, st2.seq,
                     memcmp(back, ref, IMG) == 0 ? "newest state" : "NOT the newest state");
        }
    }
    assert_true(wrapped);
    printf("regress_seq_wrap: 600 commits from seq 0xFFFFFF02 to 0x%08x, %lu compactions, every mount newest\n",
           st.seq, (unsigned long)st.counters.compactions - compactions0);
    vsafe_sim_nvm_free(sim);
}

/* Damage that is not the newest record is refused, and only an explicit salvage opens it: at the
 * state before the damaged record (the reference model's state after that many commits), with the
 * lost sequence numbers reported, and mounting normally afterwards. A salvage of clean NVM writes
 * nothing. */
static void test_salvage(void **state)
{
    (void)state;
    for (uint32_t tag = 0; tag < 2u; tag++) {
        uint32_t layout = tag ? VSAFE_STORE_TAG_MCU : VSAFE_STORE_TAG_SE;
        vsafe_sim_nvm_t *sim = new_sim(16, (int)tag);
        vsafe_nvm_t *nvm = vsafe_sim_nvm_port(sim);
        uint8_t img[IMG], back[IMG], refs[12][IMG];
        vsafe_store_t st;
        memset(img, 0x5A, IMG);
        assert_int_equal(vsafe_store_format(&st, nvm, img, IMG, layout), VSAFE_OK);
        uint32_t rec_at[12];
        vsafe_txn_t t;
        uint64_t rng = 0x5A1u + tag;
        memcpy(refs[0], img, IMG);
        for (int i = 1; i < 12; i++) {
            rec_at[i] = st.tail;
            vsafe_txn_begin(&t);
            vsafe_txn_put_u32(&t, 16, 1000000u - (uint32_t)i); /* a counter going down */
            vsafe_txn_put_u32(&t, 40u + (uint32_t)i * 4u, (uint32_t)tu_rand(&rng));
            assert_int_equal(vsafe_store_commit(&st, &t), VSAFE_OK);
            memcpy(refs[i], refs[i - 1], IMG);
            tu_ref_apply(refs[i], &t);
        }
        assert_int_equal(st.counters.compactions, 0);
        vsafe_sim_nvm_stats_t s0, s1;
        vsafe_store_report_t rep;
        vsafe_sim_nvm_stats(sim, &s0);
        assert_int_equal(vsafe_store_salvage(nvm, back, IMG, &rep), VSAFE_OK);
        vsafe_sim_nvm_stats(sim, &s1);
        assert_int_equal(rep.lost_count, 0);
        assert_int_equal(s1.program_ops + s1.erase_ops, s0.program_ops + s0.erase_ops);
        /* two bits of record 7 (seq 8): beyond correction, and records 8..11 follow it */
        assert_int_equal(vsafe_sim_nvm_flip_bit(sim, rec_at[7] + 30u, 0), VSAFE_OK);
        assert_int_equal(vsafe_sim_nvm_flip_bit(sim, rec_at[7] + 33u, 5), VSAFE_OK);
        assert_int_equal(vsafe_store_mount(&st, nvm, back, IMG, layout), VSAFE_ERR_STORE_DAMAGED);
        assert_int_equal(st.recovery.damage, VSAFE_STORE_DAMAGE_RECORD);
        assert_int_equal(st.recovery.damage_seq, 8);
        assert_int_equal(st.recovery.damage_offset, rec_at[7]);
        assert_int_equal(vsafe_store_inspect(nvm, &rep), VSAFE_ERR_STORE_DAMAGED);
        assert_int_equal(rep.seq, 7);
        assert_int_equal(rep.recovery.newest_seen_seq, 12);
        char line[256];
        assert_true(vsafe_store_describe(&rep.recovery, line, sizeof line) > 0u);
        assert_non_null(strstr(line, "record seq 8"));
        assert_int_equal(vsafe_store_salvage(nvm, back, IMG, &rep), VSAFE_OK);
        assert_int_equal(rep.lost_first, 8);
        assert_int_equal(rep.lost_last, 12);
        assert_int_equal(rep.lost_count, 5);
        assert_int_equal(rep.salvage_seq, 13);
        assert_memory_equal(back, refs[6], IMG);
        memset(back, 0, IMG);
        assert_int_equal(vsafe_store_mount(&st, nvm, back, IMG, layout), VSAFE_OK);
        assert_memory_equal(back, refs[6], IMG);
        assert_int_equal(st.seq, 13);
        assert_int_equal(st.recovery.damage, VSAFE_STORE_DAMAGE_NONE);
        /* and it keeps working */
        tu_random_txn(&t, &rng, IMG);
        assert_int_equal(vsafe_store_commit(&st, &t), VSAFE_OK);
        tu_ref_apply(refs[6], &t);
        assert_int_equal(vsafe_store_mount(&st, nvm, back, IMG, layout), VSAFE_OK);
        assert_memory_equal(back, refs[6], IMG);
        vsafe_sim_nvm_free(sim);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_salvage),
        cmocka_unit_test(regress_read_error_at_mount),
        cmocka_unit_test(regress_seq_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
