/* Invariant 7 (and 8 for whole DA attempts): a power cut at every NVM program/erase operation of a
 * state change, an OBK write and a DA attempt, under three cut models, leaves the old or the new
 * state after the next power-on, never INVALID, never a lower state unless the regression was
 * granted, and an OBK area either wholly old or wholly new. */
#include "mcu_test_util.h"

#include "hooks.h"
#include "vsafe/sim.h"

static vsafe_sim_nvm_t *sim;
static uint8_t *snapshot;
static size_t snapshot_len;
static vsafe_openssl_crypto_t *oc;
static const uint8_t new_obk[1024] = {[0] = 'N', [1] = 'E', [2] = 'W', [1023] = 0x77};

static struct vsafe_mcu *boot(void)
{
    struct vsafe_mcu *m = calloc(1, sizeof *m);
    assert_non_null(m);
    CHECK(vsafe_mcu_core_start(m, vsafe_sim_nvm_port(sim), vsafe_openssl_crypto_port(oc), 0, 1));
    return m;
}

static void setup_board(bool tz)
{
    creds_init();
    vsafe_nvm_geometry_t geo = {.prog_unit = 16, .page_size = 4096, .erased = 0xFF};
    geo.page_count = vsafe_store_nvm_bytes(MCU_IMAGE_LEN, 16384, 4096) / 4096u;
    CHECK(vsafe_sim_nvm_new(&sim, &geo, 5));
    CHECK(vsafe_openssl_crypto_new(&oc, 5));
    struct vsafe_mcu *m = boot();
    CHECK(vsafe_mcu_set_trustzone(m, tz));
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    provision_da(m);
    write_markers(m);
    go(m, VSAFE_MCU_STATE_CLOSED);
    free(m);
    uint8_t *mem = vsafe_sim_nvm_mem(sim, &snapshot_len);
    snapshot = malloc(snapshot_len);
    memcpy(snapshot, mem, snapshot_len);
}

static void teardown_board(void)
{
    free(snapshot);
    vsafe_openssl_crypto_free(oc);
    vsafe_sim_nvm_free(sim);
}

typedef int (*op_fn)(struct vsafe_mcu *m);
typedef void (*check_fn)(struct vsafe_mcu *m, bool completed);

/* Runs op under a cut at each operation n = 1, 2, ... until op completes uncut, for each model. */
static unsigned sweep(op_fn op, check_fn check)
{
    static const vsafe_sim_cut_model_t models[] = {VSAFE_SIM_CUT_DROPPED, VSAFE_SIM_CUT_TORN_UNIT, VSAFE_SIM_CUT_TORN_PAGE};
    unsigned cuts = 0;
    for (size_t mi = 0; mi < 3; mi++) {
        for (uint64_t n = 1;; n++) {
            memcpy(vsafe_sim_nvm_mem(sim, &snapshot_len), snapshot, snapshot_len);
            vsafe_sim_nvm_power_on(sim);
            vsafe_sim_nvm_reseed(sim, n * 7919u + mi);
            struct vsafe_mcu *m = boot();
            CHECK(vsafe_sim_nvm_arm_cut(sim, n, models[mi]));
            int rc = op(m);
            bool cut = vsafe_sim_nvm_cut_happened(sim);
            vsafe_sim_nvm_disarm(sim);
            free(m);
            if (!cut) {
                assert_int_equal(rc, VSAFE_OK);
            }
            vsafe_sim_nvm_power_on(sim);
            m = boot(); /* power-on reset: pending changes complete here */
            assert_int_not_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_INVALID);
            check(m, !cut);
            free(m);
            if (!cut) {
                break;
            }
            cuts++;
            assert_true(n < 2000); /* a runaway guard: one snapshot of the 157 KiB image is ~680 ops */
        }
    }
    printf("  %u power cuts checked\n", cuts);
    return cuts;
}

/* ---- state change ---- */
static int op_lock(struct vsafe_mcu *m)
{
    int rc = vsafe_mcu_program_state(m, VSAFE_MCU_STATE_LOCKED);
    return rc != VSAFE_OK ? rc : vsafe_mcu_reset(m);
}

static void check_lock(struct vsafe_mcu *m, bool completed)
{
    vsafe_mcu_state_t s = vsafe_mcu_state(m);
    assert_true(s == VSAFE_MCU_STATE_CLOSED || s == VSAFE_MCU_STATE_LOCKED);
    if (completed) {
        assert_int_equal(s, VSAFE_MCU_STATE_LOCKED);
    }
    assert_false(mcu_inert(m));
}

static void test_inv7_power_cut_state_change(void **state)
{
    (void)state;
    setup_board(true);
    unsigned cuts = sweep(op_lock, check_lock);
    assert_true(cuts >= 3);
    teardown_board();
}

/* ---- OBK write ---- */
static int op_obk(struct vsafe_mcu *m)
{
    return vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, new_obk, sizeof new_obk);
}

static void check_obk(struct vsafe_mcu *m, bool completed)
{
    const uint8_t *p = obk_raw(m, VSAFE_MCU_OBK_HDPL3_S);
    bool is_new = memcmp(p, new_obk, sizeof new_obk) == 0;
    bool is_old = memcmp(p, marker, 16) == 0;
    for (size_t i = 16; is_old && i < sizeof new_obk; i++) {
        is_old = p[i] == 0xFF;
    }
    assert_true(is_new != is_old);
    if (completed) {
        assert_true(is_new);
    }
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_CLOSED);
}

static void test_inv7_power_cut_obk_write(void **state)
{
    (void)state;
    setup_board(true);
    assert_true(sweep(op_obk, check_obk) >= 3);
    teardown_board();
}

/* ---- DA attempts: full and partial regression, firmware request ---- */
static int op_da_full(struct vsafe_mcu *m) { return da_cert(m, VSAFE_DA_PERM_REGRESS_FULL); }
static int op_da_partial(struct vsafe_mcu *m) { return da_cert(m, VSAFE_DA_PERM_REGRESS_PARTIAL); }
static int op_da_password(struct vsafe_mcu *m) { return vsafe_da_authenticate_password(m, PASSWORD); }

static void check_regressed(struct vsafe_mcu *m, bool completed, bool full)
{
    vsafe_mcu_state_t s = vsafe_mcu_state(m);
    vsafe_mcu_state_t target = full ? VSAFE_MCU_STATE_OPEN : VSAFE_MCU_STATE_TZ_CLOSED;
    uint32_t a = mcu_attempts(m);
    assert_false(mcu_inert(m));
    if (s == VSAFE_MCU_STATE_CLOSED) {
        assert_false(completed);
        assert_true(a <= 1u); /* 1: counted, then cut before the grant landed */
        assert_true(mem_has_marker(m, VSAFE_MCU_FLASH_NS));
    } else {
        assert_int_equal(s, target);
        assert_int_equal(a, 0u); /* granted: un-counted */
        assert_true(mem_erased(m, VSAFE_MCU_FLASH_NS));
        assert_true(mem_erased(m, VSAFE_MCU_SRAM_NS));
        assert_true(obk_erased(m, VSAFE_MCU_OBK_HDPL3_NS));
        if (full) {
            assert_true(mem_erased(m, VSAFE_MCU_FLASH_S));
            assert_true(obk_erased(m, VSAFE_MCU_OBK_HDPL1));
            assert_true(obk_erased(m, VSAFE_MCU_OBK_HDPL3_S));
        } else {
            assert_true(mem_has_marker(m, VSAFE_MCU_FLASH_S));
            assert_memory_equal(obk_raw(m, VSAFE_MCU_OBK_HDPL3_S), marker, 16);
        }
    }
}

static void check_full(struct vsafe_mcu *m, bool completed) { check_regressed(m, completed, true); }
static void check_partial(struct vsafe_mcu *m, bool completed) { check_regressed(m, completed, false); }

static void test_inv7_inv8_power_cut_da_full_regression(void **state)
{
    (void)state;
    setup_board(true);
    assert_true(sweep(op_da_full, check_full) >= 10);
    teardown_board();
}

static void test_inv7_inv8_power_cut_da_partial_regression(void **state)
{
    (void)state;
    setup_board(true);
    assert_true(sweep(op_da_partial, check_partial) >= 5);
    teardown_board();
}

static void test_inv7_inv8_power_cut_da_password(void **state)
{
    (void)state;
    setup_board(false);
    assert_true(sweep(op_da_password, check_full) >= 10);
    teardown_board();
}

static int op_fw_full(struct vsafe_mcu *m)
{
    int rc = vsafe_mcu_fw_regression(m, true);
    return rc != VSAFE_OK ? rc : vsafe_mcu_reset(m);
}

static void test_inv7_power_cut_fw_regression(void **state)
{
    (void)state;
    setup_board(true);
    assert_true(sweep(op_fw_full, check_full) >= 10);
    teardown_board();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inv7_power_cut_state_change),
        cmocka_unit_test(test_inv7_power_cut_obk_write),
        cmocka_unit_test(test_inv7_inv8_power_cut_da_full_regression),
        cmocka_unit_test(test_inv7_inv8_power_cut_da_partial_regression),
        cmocka_unit_test(test_inv7_inv8_power_cut_da_password),
        cmocka_unit_test(test_inv7_power_cut_fw_regression),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vsafe_da_key_free(creds.root);
    vsafe_da_key_free(creds.inter);
    vsafe_da_key_free(creds.leaf);
    vsafe_da_key_free(creds.other);
    return rc;
}
