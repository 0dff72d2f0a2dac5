/* The board end to end (issue 5 point 3): one MCU and its secure element. The host keys live in
 * the MCU's OBK HDPL3-S and in the SE; a Host-protected zone and counter work through the channel
 * opened with them; after a field return (full regression by debug authentication) the keys are
 * gone and the board can no longer update the zone nor decrement the counter (0x11). */
#include "mcu_test_util.h"

#include "vsafe/host.h"
#include "vsafe/se.h"

#define ZONE 1
#define COUNTER 5
#define REFUSED VSAFE_DEV_STATUS(0x11) /* ACCESS_CONDITION_NOT_SATISFIED */

static void test_board_field_return_loses_host_keys(void **state)
{
    (void)state;
    creds_init();
    vsafe_se_t *se;
    vsafe_host_t *host;
    vsafe_se_options_t so = {.profile = "spl05", .state_path = NULL};
    CHECK(vsafe_se_open(&se, &so));
    CHECK(vsafe_host_open_se(&host, se));
    CHECK(vsafe_host_init(host));

    /* factory: TrustZone on, PROVISIONING, DA config, host keys into OBK and SE */
    vsafe_mcu_t *m = mcu_volatile(1);
    CHECK(vsafe_mcu_set_trustzone(m, true));
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    provision_da(m);
    CHECK(vsafe_board_provision_hostkeys(m, host, false));
    assert_int_equal(vsafe_mcu_footguns(m, VSAFE_MCU_STATE_CLOSED), 0u);

    /* the firmware (which first runs in iROT_PROVISIONED: none runs in PROVISIONING) opens the
     * channel with the OBK keys and makes a zone and a counter Host-only */
    go(m, VSAFE_MCU_STATE_IROT_PROVISIONED);
    CHECK(vsafe_mcu_hdpl_raise(m, 3));
    CHECK(vsafe_board_session_open(m, host));
    CHECK(vsafe_host_change_update_ac(host, VSAFE_HOST_PROT_MAC, ZONE, VSAFE_SE_AC_HOST, 0, 0, NULL, 0, 0));
    uint32_t ctr = 0;
    CHECK(vsafe_host_change_decrement_ac(host, VSAFE_HOST_PROT_MAC, COUNTER, VSAFE_SE_AC_HOST, 0, 1, 0, NULL, 0, &ctr));
    const uint8_t usage[4] = {1, 2, 3, 4};
    CHECK(vsafe_host_update_zone(host, VSAFE_HOST_PROT_MAC, ZONE, 0, usage, sizeof usage, 0));
    CHECK(vsafe_host_decrement(host, VSAFE_HOST_PROT_MAC, COUNTER, 1, 0, usage, sizeof usage, &ctr));
    vsafe_host_session_close(host);
    /* without the channel: refused */
    assert_int_equal(vsafe_host_update_zone(host, VSAFE_HOST_PROT_NONE, ZONE, 0, usage, 4, 0), REFUSED);
    assert_int_equal(vsafe_host_decrement(host, VSAFE_HOST_PROT_NONE, COUNTER, 1, 0, NULL, 0, NULL), REFUSED);

    /* ship: CLOSED; the board keeps working across resets */
    go(m, VSAFE_MCU_STATE_CLOSED);
    CHECK(vsafe_mcu_hdpl_raise(m, 3));
    CHECK(vsafe_board_session_open(m, host));
    CHECK(vsafe_host_decrement(host, VSAFE_HOST_PROT_MAC, COUNTER, 1, 0, NULL, 0, &ctr));
    vsafe_host_session_close(host);

    /* field return: full regression by debug authentication */
    CHECK(da_cert(m, VSAFE_DA_PERM_REGRESS_FULL));
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_OPEN);
    assert_int_equal(vsafe_board_session_open(m, host), VSAFE_ERR_STATE); /* OPEN: no OBK at all */
    go(m, VSAFE_MCU_STATE_IROT_PROVISIONED);
    CHECK(vsafe_mcu_hdpl_raise(m, 3));
    assert_int_equal(vsafe_board_session_open(m, host), VSAFE_ERR_NOT_FOUND); /* keys erased */
    vsafe_mcu_info_t info;
    CHECK(vsafe_mcu_info(m, &info));
    assert_false(info.host_keys);

    /* the regressed board can no longer update the Host zone nor decrement the Host counter */
    assert_int_equal(vsafe_host_update_zone(host, VSAFE_HOST_PROT_NONE, ZONE, 0, usage, 4, 0), REFUSED);
    assert_int_equal(vsafe_host_decrement(host, VSAFE_HOST_PROT_NONE, COUNTER, 1, 0, NULL, 0, NULL), REFUSED);
    /* nor with keys guessed afresh: the SE still holds the old ones */
    uint8_t guess[VSAFE_MCU_HOSTKEY_LEN];
    CHECK(vsafe_board_hostkeys_generate(false, guess));
    CHECK(vsafe_host_session_open(host, guess + 8, guess + 40, VSAFE_HOST_KEY_AES128));
    assert_int_not_equal(vsafe_host_update_zone(host, VSAFE_HOST_PROT_MAC, ZONE, 0, usage, 4, 0), VSAFE_OK);
    assert_int_not_equal(vsafe_host_decrement(host, VSAFE_HOST_PROT_MAC, COUNTER, 1, 0, NULL, 0, NULL), VSAFE_OK);
    vsafe_host_session_close(host);
    /* and the usage data is still there, readable, unchanged */
    uint8_t back[4];
    CHECK(vsafe_host_read_zone(host, VSAFE_HOST_PROT_NONE, ZONE, 0, back, sizeof back));
    assert_memory_equal(back, usage, 4);

    vsafe_mcu_close(m);
    vsafe_host_close(host);
    vsafe_se_close(se);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_board_field_return_loses_host_keys),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vsafe_da_key_free(creds.root);
    vsafe_da_key_free(creds.inter);
    vsafe_da_key_free(creds.leaf);
    vsafe_da_key_free(creds.other);
    return rc;
}
