/* Regressions of the issue-12 review of the lifecycle model, one test per finding:
 *  - TrustZone (TZEN) can be changed in PROVISIONING as well as OPEN, and the refusal elsewhere
 *    says that TZEN is frozen (not that "the TrustZone setting" is wrong);
 *  - a LOCKED device answers nothing on the debug mailbox, Discovery included;
 *  - reopened debug applies at the HDPL that DBG_AUTH_HDPL names, not from that level upward;
 *  - user firmware does not run in PROVISIONING: the firmware calls are refused there. */
#include "mcu_test_util.h"

static void regress_tz_change_in_provisioning(void **state)
{
    (void)state;
    creds_init();
    vsafe_mcu_t *m = mcu_volatile(71);
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    CHECK(vsafe_mcu_set_trustzone(m, true));
    assert_true(mcu_tz_on(m));
    CHECK(vsafe_mcu_mem_write(m, VSAFE_MCU_FLASH_S, 0, marker, sizeof marker));
    CHECK(vsafe_mcu_set_trustzone(m, false)); /* and back: the secure world is erased with it */
    assert_false(mcu_tz_on(m));
    assert_true(mem_erased(m, VSAFE_MCU_FLASH_S));
    CHECK(vsafe_mcu_set_trustzone(m, true));
    go(m, VSAFE_MCU_STATE_IROT_PROVISIONED);
    assert_int_equal(vsafe_mcu_set_trustzone(m, false), VSAFE_ERR_MCU_TZEN_FROZEN);
    assert_string_equal(vsafe_status_message(VSAFE_ERR_MCU_TZEN_FROZEN),
                        "TrustZone (TZEN) can be changed only in OPEN or PROVISIONING");
    assert_true(mcu_tz_on(m));
    vsafe_mcu_close(m);
}

static void regress_locked_no_discovery(void **state)
{
    (void)state;
    vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_LOCKED, true, 72);
    uint8_t req[8], rsp[512];
    size_t n, rn;
    CHECK(vsafe_da_frame_begin(VSAFE_DA_CMD_DISCOVERY, req, sizeof req, &n));
    assert_int_equal(vsafe_mcu_da_request(m, req, n, rsp, sizeof rsp, &rn), VSAFE_ERR_MCU_LOCKED);
    /* nothing of the device in the answer: only the header and the vsafe status */
    const uint8_t *v;
    size_t vl;
    assert_int_equal(vsafe_da_response_tlv(rsp, rn, VSAFE_DA_TLV_SOC_ID, &v, &vl), VSAFE_ERR_NOT_FOUND);
    assert_int_equal(vsafe_da_response_tlv(rsp, rn, VSAFE_DA_TLV_ST_PROVISIONED, &v, &vl), VSAFE_ERR_NOT_FOUND);
    assert_int_equal(rn, 8u + 12u);
    uint16_t st;
    CHECK(vsafe_da_response_status(rsp, rn, &st));
    assert_int_equal(st, VSAFE_DA_ST_UNAUTHORIZED);
    vsafe_mcu_close(m);
}

static void regress_debug_at_dbg_auth_hdpl(void **state)
{
    (void)state;
    for (unsigned l = 1; l <= 3; l++) {
        for (int sec = 0; sec < 2; sec++) {
            vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_CLOSED, true, 73u + l);
            vsafe_mcu_domain_t d = sec ? VSAFE_MCU_SECURE : VSAFE_MCU_NONSECURE;
            CHECK(da_cert(m, (sec ? VSAFE_DA_PERM_DEBUG_S_HDPL1 : VSAFE_DA_PERM_DEBUG_NS_HDPL1) + l - 1u));
            for (unsigned h = 1; h <= 3; h++) {
                assert_int_equal(vsafe_mcu_debug_access(m, d, h), h == l);
                assert_false(vsafe_mcu_debug_access(m, sec ? VSAFE_MCU_NONSECURE : VSAFE_MCU_SECURE, h));
            }
            vsafe_mcu_close(m);
        }
    }
}

static void regress_no_firmware_in_provisioning(void **state)
{
    (void)state;
    vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_PROVISIONING, true, 77);
    uint8_t in[16] = {0}, out[64];
    size_t ol;
    assert_int_equal(vsafe_mcu_hdpl_raise(m, 2), VSAFE_ERR_MCU_NO_FIRMWARE);
    assert_int_equal(vsafe_mcu_fw_regression(m, true), VSAFE_ERR_MCU_NO_FIRMWARE);
    assert_int_equal(vsafe_mcu_dhuk_wrap(m, in, sizeof in, out, sizeof out, &ol), VSAFE_ERR_MCU_NO_FIRMWARE);
    /* provisioning itself (OBK through the debug port) still works */
    CHECK(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL2, 0, marker, sizeof marker));
    /* once past PROVISIONING the firmware runs */
    go(m, VSAFE_MCU_STATE_IROT_PROVISIONED);
    CHECK(vsafe_mcu_dhuk_wrap(m, in, sizeof in, out, sizeof out, &ol));
    CHECK(vsafe_mcu_hdpl_raise(m, 2));
    vsafe_mcu_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regress_tz_change_in_provisioning),
        cmocka_unit_test(regress_locked_no_discovery),
        cmocka_unit_test(regress_debug_at_dbg_auth_hdpl),
        cmocka_unit_test(regress_no_firmware_in_provisioning),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vsafe_da_key_free(creds.root);
    vsafe_da_key_free(creds.inter);
    vsafe_da_key_free(creds.leaf);
    vsafe_da_key_free(creds.other);
    return rc;
}
