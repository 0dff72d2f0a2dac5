/* The built-in SPL05 profile against ST's SPL05 partitioning, the project's
 * decisions and the query payloads of the verified golden trace (rebuilt here from the struct
 * with the Query 0x12 and 0x24 layouts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hooks.h"
#include "vsafe/se_wire.h"

static size_t partition_payload(const vsafe_profile_t *p, uint8_t *out)
{
    size_t n = 0;
    out[n++] = p->zone_count;
    for (unsigned i = 0; i < p->zone_count; i++) {
        const vsafe_profile_zone_t *z = &p->zones[i];
        out[n++] = z->index;
        out[n++] = z->type;
        out[n++] = (uint8_t)((z->read_ac_cr ? 0x80u : 0u) | (unsigned)(z->read_ac << 4) |
                             (z->update_ac_cr ? 0x08u : 0u) | z->update_ac);
        out[n++] = (uint8_t)(z->length >> 8);
        out[n++] = (uint8_t)z->length;
        if (z->type == VSAFE_SE_ZONE_COUNTER) {
            for (int s = 24; s >= 0; s -= 8) {
                out[n++] = (uint8_t)(z->counter >> s);
            }
        }
    }
    return n;
}

static size_t cmd_auth_payload(const vsafe_profile_t *p, uint8_t *out)
{
    size_t n = 0;
    out[n++] = p->cmd_change_rights;
    out[n++] = p->cmd_count;
    for (unsigned i = 0; i < p->cmd_count; i++) {
        out[n++] = p->cmds[i].header;
        if (p->cmds[i].header == VSAFE_SE_CMD_EXTENDED) {
            out[n++] = p->cmds[i].ext;
        }
        out[n++] = p->cmds[i].ac;
        out[n++] = p->cmds[i].enc;
    }
    return n;
}

static void test_spl05_fields(void **state)
{
    (void)state;
    const vsafe_profile_t *p = &vsafe_profile_spl05;
    static const uint8_t pd[] = { 0x01, 0x03, 0x00, 0x60, 0x01 };
    static const uint16_t lens[12] = { 1000, 1000, 1000, 1000, 1000, 64, 64, 64, 64, 5120, 3072, 2944 };
    assert_string_equal(p->name, "spl05");
    assert_int_equal(p->product_data_len, sizeof pd);
    assert_memory_equal(p->product_data, pd, sizeof pd);
    assert_int_equal(p->life_cycle_state, 0x03);
    assert_int_equal(p->i2c_addr, 0x20);
    assert_int_equal(p->hostkey_ctrl[0], 0x0A);
    assert_int_equal(p->hostkey_ctrl[1], 0xFF);
    assert_int_equal(p->zone_count, 12);
    for (unsigned i = 0; i < 12; i++) {
        const vsafe_profile_zone_t *z = &p->zones[i];
        bool counter = i >= 5 && i <= 8;
        assert_int_equal(z->index, i);
        assert_int_equal(z->length, lens[i]);
        assert_int_equal(z->type, counter ? VSAFE_SE_ZONE_COUNTER : VSAFE_SE_ZONE_DATA);
        assert_int_equal(z->counter, counter ? 0xFFFFFFFFu : 0u);
        assert_int_equal(z->read_ac, VSAFE_SE_AC_ALWAYS);
        assert_int_equal(z->update_ac, i == 0 ? VSAFE_SE_AC_NEVER : VSAFE_SE_AC_ALWAYS);
        assert_int_equal(z->read_ac_cr, i != 0);
        assert_int_equal(z->update_ac_cr, i != 0);
        assert_null(z->content);
        assert_int_equal(z->content_len, 0);
    }
    /* Zone 0 holds no profile content: each device's own leaf certificate is issued when the
     * device is created (tests/keys/test_identity.c checks it as STSELib reads it). */
    assert_null(p->zones[0].content);
    assert_int_equal(p->zones[0].content_len, 0);
    assert_int_equal(p->cmd_change_rights, 0x03);
    assert_int_equal(p->cmd_count, 41);
    for (unsigned i = 0; i < p->cmd_count; i++) {
        assert_int_equal(p->cmds[i].ac, VSAFE_SE_CMD_AC_FREE);
        assert_int_equal(p->cmds[i].enc, 0);
    }
    char msg[200];
    assert_int_equal(vsafe_profile_validate(p, msg, sizeof msg), VSAFE_OK);
}

static void test_spl05_partition_query_matches_golden(void **state)
{
    (void)state;
    uint8_t out[800];
    size_t n = partition_payload(&vsafe_profile_spl05, out);
    assert_int_equal(n, 77);
    static const uint8_t head[] = { 0x0C, 0x00, 0x00, 0x07, 0x03, 0xE8, 0x01, 0x00, 0x88, 0x03, 0xE8 };
    static const uint8_t z5[] = { 0x05, 0x01, 0x88, 0x00, 0x40, 0xFF, 0xFF, 0xFF, 0xFF };
    static const uint8_t tail[] = { 0x0B, 0x00, 0x88, 0x0B, 0x80 };
    assert_memory_equal(out, head, sizeof head);
    assert_memory_equal(out + 1 + 5 * 5, z5, sizeof z5);
    assert_memory_equal(out + n - sizeof tail, tail, sizeof tail);
}

static void test_spl05_command_table_matches_golden(void **state)
{
    (void)state;
    uint8_t out[800];
    size_t n = cmd_auth_payload(&vsafe_profile_spl05, out);
    assert_int_equal(n, 150); /* response LEN 0x98 = 150 + CRC */
    static const uint8_t head[] = { 0x03, 0x29, 0x00, 0x01, 0x00, 0x02, 0x01, 0x00, 0x04, 0x01, 0x00 };
    static const uint8_t tail[] = { 0x1F, 0x1A, 0x01, 0x00 };
    assert_memory_equal(out, head, sizeof head);
    assert_memory_equal(out + n - sizeof tail, tail, sizeof tail);
    /* PD-45: what the device executes; the reserved 0x08, 0x15, extended 0x0C and 0x0D are out */
    static const uint8_t std[] = { 0x00, 0x02, 0x04, 0x05, 0x06, 0x09, 0x0A, 0x0E,
                                   0x0F, 0x11, 0x16, 0x17, 0x18, 0x1A, 0x1B, 0x1C };
    for (unsigned i = 0; i < sizeof std; i++) {
        assert_int_equal(vsafe_profile_spl05.cmds[i].header, std[i]);
    }
    unsigned k = sizeof std;
    for (unsigned e = 0; e <= 0x1A; e++) {
        if (e == 0x0C || e == 0x0D) {
            continue;
        }
        assert_int_equal(vsafe_profile_spl05.cmds[k].header, 0x1F);
        assert_int_equal(vsafe_profile_spl05.cmds[k].ext, e);
        k++;
    }
    assert_int_equal(k, vsafe_profile_spl05.cmd_count);
}

static void test_builtin_lookup(void **state)
{
    (void)state;
    assert_ptr_equal(vsafe_profile_builtin("spl05"), &vsafe_profile_spl05);
    assert_ptr_equal(vsafe_profile_builtin("SPL05"), &vsafe_profile_spl05);
    assert_ptr_equal(vsafe_profile_builtin("Default"), &vsafe_profile_spl05);
    assert_null(vsafe_profile_builtin("spl04"));
    assert_null(vsafe_profile_builtin("spl05 "));
    assert_null(vsafe_profile_builtin(""));
    assert_null(vsafe_profile_builtin(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spl05_fields),
        cmocka_unit_test(test_spl05_partition_query_matches_golden),
        cmocka_unit_test(test_spl05_command_table_matches_golden),
        cmocka_unit_test(test_builtin_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
