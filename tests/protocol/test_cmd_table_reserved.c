/* Regression: ST's 02_Command_AC_provisioning example puts all 45 records of STSELib's command
 * list (Put 0x29 and 0x2A), reserved codes 0x08, 0x15, 1F 0C and 1F 0D included. Once the factory
 * table stopped listing those codes, the device refused the whole Put with 0x10 and the example,
 * which passed before, failed. Reserved records are now accepted and ignored; a record for any
 * other command the table does not hold is still refused with 0x10 ENTRY_NOT_FOUND. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vsafe/se.h"
#include "vsafe/se_wire.h"

static vsafe_se_t *open_device(void)
{
    vsafe_se_t *se = NULL;
    vsafe_se_open_ext_t ext;
    memset(&ext, 0, sizeof ext);
    ext.no_identity = 1;
    assert_int_equal(vsafe_se_open_ex(&se, NULL, &ext), 0);
    return se;
}

/* Sends body (header and payload) with its CRC; returns the response status byte. */
static uint8_t send(vsafe_se_t *se, const uint8_t *body, size_t n, uint8_t *rsp, size_t *rsp_len)
{
    uint8_t frame[64];
    memcpy(frame, body, n);
    uint16_t crc = vsafe_crc16(frame, n);
    frame[n] = (uint8_t)(crc >> 8);
    frame[n + 1] = (uint8_t)crc;
    assert_int_equal(vsafe_se_transceive(se, frame, n + 2, rsp, 800, rsp_len), 0);
    return rsp[0];
}

static void regress_put_cmd_table_reserved_codes(void **state)
{
    (void)state;
    vsafe_se_t *se = open_device();
    uint8_t rsp[800], before[800], after[800];
    size_t n = 0, nb = 0, na = 0;
    const uint8_t query[] = {0x14, 0x24};
    assert_int_equal(send(se, query, sizeof query, before, &nb), 0x00);
    /* Put command AC: Read (0x05) free, 0x08 host, 0x15 host, 1F 0C host, 1F 0D host. */
    const uint8_t put_ac[] = {0x10, 0x29, 0x05, 0x05, 0x00, 0x08, 0x01, 0x15, 0x01, 0x1F, 0x0C, 0x01, 0x1F, 0x0D, 0x01};
    assert_int_equal(send(se, put_ac, sizeof put_ac, rsp, &n), 0x00);
    assert_int_equal(send(se, query, sizeof query, after, &na), 0x00);
    assert_int_equal(na, nb); /* no record was added for a reserved code */
    /* The reserved commands still do not run. */
    const uint8_t lora[] = {0x08, 0x00};
    assert_int_equal(send(se, lora, sizeof lora, rsp, &n), 0x04);
    vsafe_se_close(se);
}

static void put_cmd_table_unknown_code_refused(void **state)
{
    (void)state;
    vsafe_se_t *se = open_device();
    uint8_t rsp[800];
    size_t n = 0;
    /* 0x03 (Start session) is neither executed nor reserved: the whole Put is refused. */
    const uint8_t put_ac[] = {0x10, 0x29, 0x02, 0x05, 0x00, 0x03, 0x01};
    assert_int_equal(send(se, put_ac, sizeof put_ac, rsp, &n), 0x10);
    /* The change right was not used up by the refused Put. */
    const uint8_t put_ok[] = {0x10, 0x29, 0x01, 0x05, 0x00};
    assert_int_equal(send(se, put_ok, sizeof put_ok, rsp, &n), 0x00);
    vsafe_se_close(se);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regress_put_cmd_table_reserved_codes),
        cmocka_unit_test(put_cmd_table_unknown_code_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
