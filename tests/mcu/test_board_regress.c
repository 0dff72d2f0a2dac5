/* Issue 8 regressions at the library level. Finding 5: host keys were left in the MCU's OBK when
 * the secure element refused them, and nothing checked that both parts hold the same keys.
 * Finding 6: debug authentication in OPEN spent one of the device's lifetime attempts although
 * nothing can be granted there. */
#include "mcu_test_util.h"

#include "vsafe/host.h"
#include "vsafe/se.h"

typedef struct {
    vsafe_se_t *se;
    vsafe_host_t *host;
} se_t;

static se_t se_new(void)
{
    se_t s;
    vsafe_se_options_t so = {.profile = "spl05", .state_path = NULL};
    CHECK(vsafe_se_open(&s.se, &so));
    CHECK(vsafe_host_open_se(&s.host, s.se));
    CHECK(vsafe_host_init(s.host));
    return s;
}

static void se_free(se_t *s)
{
    vsafe_host_close(s->host);
    vsafe_se_close(s->se);
}

static void test_regress_finding5_install_all_or_nothing(void **state)
{
    (void)state;
    se_t s = se_new();
    vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_PROVISIONING, true, 51);
    uint8_t before[VSAFE_MCU_HOSTKEY_LEN], after[VSAFE_MCU_HOSTKEY_LEN];
    CHECK(vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, before, sizeof before));
    /* the secure element already holds someone's key, and SPL05 refuses re-provisioning */
    uint8_t other[16];
    memset(other, 0x3C, sizeof other);
    CHECK(vsafe_host_provision_plaintext(s.host, VSAFE_HOST_KEY_AES128, other, other));
    assert_int_equal(vsafe_board_provision_hostkeys(m, s.host, false), VSAFE_DEV_STATUS(0x11));
    vsafe_mcu_info_t info;
    CHECK(vsafe_mcu_info(m, &info));
    assert_false(info.host_keys); /* rolled back: the board is as it was */
    CHECK(vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, after, sizeof after));
    assert_memory_equal(before, after, sizeof before);
    assert_int_not_equal(vsafe_mcu_footguns(m, VSAFE_MCU_STATE_CLOSED) & VSAFE_MCU_WARN_NO_HOST_KEYS, 0u);
    vsafe_mcu_close(m);
    se_free(&s);
}

static void test_regress_finding5_verify_same_keys(void **state)
{
    (void)state;
    se_t s = se_new();
    vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_PROVISIONING, true, 52);
    /* OBK keys present, the secure element empty: not the same keys */
    uint8_t rec[VSAFE_MCU_HOSTKEY_LEN];
    CHECK(vsafe_board_hostkeys_generate(false, rec));
    CHECK(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, rec, sizeof rec));
    assert_int_equal(vsafe_board_hostkeys_verify(m, s.host), VSAFE_ERR_DEV_KEY_NOT_FOUND);
    /* the secure element holds other keys */
    uint8_t other[16];
    memset(other, 0xC3, sizeof other);
    CHECK(vsafe_host_provision_plaintext(s.host, VSAFE_HOST_KEY_AES128, other, other));
    assert_int_not_equal(vsafe_board_hostkeys_verify(m, s.host), VSAFE_OK);
    vsafe_mcu_close(m);
    se_free(&s);
    /* provisioned together: the same keys */
    s = se_new();
    m = mcu_in_state(VSAFE_MCU_STATE_PROVISIONING, true, 53);
    CHECK(vsafe_board_provision_hostkeys(m, s.host, true));
    CHECK(vsafe_board_hostkeys_verify(m, s.host));
    /* no keys in OBK at all */
    vsafe_mcu_close(m);
    m = mcu_in_state(VSAFE_MCU_STATE_PROVISIONING, true, 54);
    assert_int_equal(vsafe_board_hostkeys_verify(m, s.host), VSAFE_ERR_NOT_FOUND);
    vsafe_mcu_close(m);
    se_free(&s);
}

static uint32_t attempts(vsafe_mcu_t *m)
{
    vsafe_mcu_info_t info;
    CHECK(vsafe_mcu_info(m, &info));
    return info.da_attempts;
}

static void test_regress_finding6_da_in_open_uncounted(void **state)
{
    (void)state;
    vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_OPEN, false, 61);
    assert_int_equal(vsafe_da_authenticate_password(m, PASSWORD), VSAFE_ERR_STATE);
    assert_int_equal(attempts(m), 0u);
    vsafe_mcu_close(m);
    m = mcu_in_state(VSAFE_MCU_STATE_OPEN, true, 62);
    for (unsigned bit = 0; bit < 8u; bit++) {
        assert_int_equal(da_cert(m, bit), VSAFE_ERR_STATE);
    }
    assert_int_equal(attempts(m), 0u);
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_OPEN);
    vsafe_mcu_close(m);
}

static void test_regress_finding6_closing_with_attempts_spent(void **state)
{
    (void)state;
    vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_PROVISIONING, true, 63);
    assert_int_equal(vsafe_mcu_footguns(m, VSAFE_MCU_STATE_CLOSED) & VSAFE_MCU_WARN_DA_EXHAUSTED, 0u);
    for (unsigned i = 0; i < 16u; i++) {
        assert_int_equal(vsafe_da_authenticate_password(m, "wrong-method"), VSAFE_ERR_DA_METHOD);
    }
    assert_int_equal(attempts(m), 16u);
    assert_int_not_equal(vsafe_mcu_footguns(m, VSAFE_MCU_STATE_CLOSED) & VSAFE_MCU_WARN_DA_EXHAUSTED, 0u);
    assert_int_not_equal(vsafe_mcu_footguns(m, VSAFE_MCU_STATE_TZ_CLOSED) & VSAFE_MCU_WARN_DA_EXHAUSTED, 0u);
    vsafe_mcu_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regress_finding5_install_all_or_nothing),
        cmocka_unit_test(test_regress_finding5_verify_same_keys),
        cmocka_unit_test(test_regress_finding6_da_in_open_uncounted),
        cmocka_unit_test(test_regress_finding6_closing_with_attempts_spent),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vsafe_da_key_free(creds.root);
    vsafe_da_key_free(creds.inter);
    vsafe_da_key_free(creds.leaf);
    vsafe_da_key_free(creds.other);
    return rc;
}
