/* Every way a protected exchange can go wrong, on a device core driven directly so the whole state
 * image can be compared: wrong, missing or replayed C-MAC, a flipped bit in every bit of a
 * protected command and of a protected response, tampered ciphertext and padding, wrong key type,
 * AES-256 keys, the command table's refusals and the counter maximum. "Nothing changed" is checked
 * on the whole image, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "chan_host.h"

typedef struct {
    th_dev_t dev;
    th_t th;
    uint8_t *snap;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    th_dev_new(&fx->dev, NULL, 11);
    th_init(&fx->th, th_core_xfer, &fx->dev.core);
    fx->snap = malloc(fx->dev.image_len);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    th_free(&fx->th);
    th_dev_free(&fx->dev);
    free(fx->snap);
    free(fx);
    return 0;
}

static void snap(fx_t *fx) { memcpy(fx->snap, fx->dev.image, fx->dev.image_len); }
static void assert_unchanged(fx_t *fx) { assert_memory_equal(fx->snap, fx->dev.image, fx->dev.image_len); }
static uint32_t dev_counter(fx_t *fx) { return vsafe_get_be32(fx->dev.image + SE_OFF_HK_COUNTER); }

/* Image unchanged except the host counter, which advanced by one. */
static void assert_only_counter_advanced(fx_t *fx)
{
    uint32_t before = vsafe_get_be32(fx->snap + SE_OFF_HK_COUNTER);
    assert_int_equal(dev_counter(fx), before + 1);
    vsafe_put_be32(fx->snap + SE_OFF_HK_COUNTER, before + 1);
    assert_unchanged(fx);
}

static void test_cmac_without_key(void **state)
{
    fx_t *fx = *state;
    th_session(&fx->th, TH_MAC_KEY, TH_CIPHER_KEY, 0);
    snap(fx);
    assert_int_equal(th_cmd_hex(&fx->th, 0xE5, 0, "00 01 0000 0004", 0), VSAFE_SE_ST_KEY_NOT_FOUND);
    assert_unchanged(fx);
}

static void test_wrong_mac_and_replay(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    assert_int_equal(th_provision_test_keys(th), 0);
    /* Wrong MAC key on the host */
    th_session(th, "FF112233445566778899AABBCCDDEEFF", TH_CIPHER_KEY, 0);
    snap(fx);
    assert_int_equal(th_cmd_hex(th, 0xE6, 0, "00 01 0000 DEADBEEF", 0), VSAFE_SE_ST_INVALID_C_MAC);
    assert_unchanged(fx);
    assert_int_equal(th->counter, 0); /* the host does not advance on 0x16 either */
    /* Host counter ahead of the device: the MAC no longer matches */
    th_session(th, TH_MAC_KEY, TH_CIPHER_KEY, 1);
    assert_int_equal(th_cmd_hex(th, 0xE6, 0, "00 01 0000 DEADBEEF", 0), VSAFE_SE_ST_INVALID_C_MAC);
    assert_unchanged(fx);
    /* Right key, right counter: executes */
    th_session(th, TH_MAC_KEY, TH_CIPHER_KEY, 0);
    assert_int_equal(th_cmd_hex(th, 0xE6, 0, "00 01 0000 DEADBEEF", 0), 0);
    assert_int_equal(dev_counter(fx), 1);
    /* The same frame again: replay refused, nothing changed */
    snap(fx);
    assert_int_equal(th_send(th, false), VSAFE_SE_ST_INVALID_C_MAC);
    assert_unchanged(fx);
    /* And the session goes on */
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0004", 0), 0);
    assert_int_equal(th->data_len, 4);
    assert_memory_equal(th->data, "\xDE\xAD\xBE\xEF", 4);
    assert_int_equal(dev_counter(fx), 2);
}

/* Every bit of a protected, encrypted Update frame, flipped one at a time. With a wrong CRC the
 * device answers 0x01; with the CRC fixed up it must still refuse; either way nothing changes. */
static void test_bitflip_every_command_bit(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    assert_int_equal(th_provision_test_keys(th), 0);
    /* Update needs HOST and is command-encrypted; so stripping the C-MAC cannot pass either. */
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "29 01 06 03", 0), 0);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "2A 01 06 02", 0), 0);
    uint8_t payload[4 + 20] = {0x00, 0x03, 0x00, 0x10};
    memset(payload + 4, 0x5C, 20);
    th_build(th, 0xE6, 0, payload, sizeof payload, true);
    uint8_t good[64];
    size_t n = th->frame_len;
    memcpy(good, th->frame, n);
    snap(fx);
    for (size_t i = 0; i < n; i++) {
        for (int b = 0; b < 8; b++) {
            memcpy(th->frame, good, n);
            th->frame[i] ^= (uint8_t)(1u << b);
            int st = th_send(th, false);
            assert_int_equal(st, VSAFE_SE_ST_COMMUNICATION_ERROR);
            assert_unchanged(fx);
            if (i < n - 2) {
                tu_crc(th->frame, n - 2);
                st = th_send(th, false);
                if (st == 0) {
                    fail_msg("flip of byte %zu bit %d accepted", i, b);
                }
                assert_unchanged(fx);
            }
        }
    }
    /* The unmodified frame still works: no flip moved the counter. */
    memcpy(th->frame, good, n);
    th->frame_len = n;
    th->counter = 0;
    assert_int_equal(th_send(th, false), 0);
    assert_int_equal(dev_counter(fx), 1);
}

/* Every bit of a protected, response-encrypted Read response, flipped: the host must reject it. */
static void test_bitflip_every_response_bit(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    assert_int_equal(th_provision_test_keys(th), 0);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "2A 01 05 01", 0), 0);
    assert_int_equal(th_cmd_hex(th, 0xE6, 0, "00 01 0000 0102030405060708090A", 0), 0);
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 000A", VSAFE_SE_ENC_RSP), 0);
    assert_memory_equal(th->data, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0A", 10);
    th_canned_t k;
    memcpy(k.rsp, th->rsp, th->rsp_len);
    k.len = th->rsp_len;
    uint8_t good[64];
    memcpy(good, k.rsp, k.len);
    th->xfer = th_canned_xfer;
    th->xctx = &k;
    for (size_t i = 0; i < k.len; i++) {
        for (int b = 0; b < 8; b++) {
            memcpy(k.rsp, good, k.len);
            k.rsp[i] ^= (uint8_t)(1u << b);
            th->counter = 1; /* as before the Read */
            assert_int_not_equal(th_send(th, true), 0);
            if (i >= 3 && i < k.len - 2) {
                /* Same flip with a valid CRC: only the R-MAC can catch it. */
                uint16_t c = vsafe_crc16(k.rsp, 1);
                c = vsafe_crc16_continue(c, k.rsp + 3, k.len - 5);
                k.rsp[k.len - 2] = (uint8_t)(c >> 8);
                k.rsp[k.len - 1] = (uint8_t)c;
                th->counter = 1;
                assert_int_equal(th_send(th, true), TH_ERR_RMAC);
            }
        }
    }
    memcpy(k.rsp, good, k.len);
    th->counter = 1;
    assert_int_equal(th_send(th, true), 0);
}

static void test_tampered_ciphertext_and_padding(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    assert_int_equal(th_provision_test_keys(th), 0);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "2A 01 06 02", 0), 0);

    /* Ciphertext changed after the C-MAC was computed: 0x16, nothing changed */
    uint8_t payload[8] = {0x00, 0x01, 0x00, 0x00, 1, 2, 3, 4};
    th_build(th, 0xE6, 0, payload, sizeof payload, true);
    th->frame[5] ^= 0x40;
    tu_crc(th->frame, th->frame_len - 2);
    snap(fx);
    assert_int_equal(th_send(th, false), VSAFE_SE_ST_INVALID_C_MAC);
    assert_unchanged(fx);

    /* A host with the key MACs a ciphertext whose padding is wrong: 0x18, counter advanced only */
    uint8_t ct[16] = {0x00, 0x01, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    th_cbc(th, 1, th->counter + 1, 0x80, ct, 16);
    th_build(th, 0xE6, 0, ct, 16, false);
    snap(fx);
    assert_int_equal(th_send(th, false), VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR);
    assert_only_counter_advanced(fx);
    /* Not a multiple of the block size */
    th_build(th, 0xE6, 0, ct, 15, false);
    snap(fx);
    assert_int_equal(th_send(th, false), VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR);
    assert_only_counter_advanced(fx);
    /* Empty ciphertext */
    th_build(th, 0xE6, 0, ct, 0, false);
    snap(fx);
    assert_int_equal(th_send(th, false), VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR);
    assert_only_counter_advanced(fx);
    /* Encrypted with the previous counter's IV: padding check fails (or data is garbage) */
    uint8_t pt[16] = {0x00, 0x01, 0x00, 0x00, 9, 9, 9, 9, 0x80};
    th_cbc(th, 1, th->counter, 0x80, pt, 16);
    th_build(th, 0xE6, 0, pt, 16, false);
    snap(fx);
    assert_int_equal(th_send(th, false), VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR);
    assert_only_counter_advanced(fx);
    /* Still in sync */
    assert_int_equal(th_cmd(th, 0xE6, 0, payload, sizeof payload, VSAFE_SE_ENC_CMD), 0);
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0004", 0), 0);
    assert_memory_equal(th->data, "\x01\x02\x03\x04", 4);
}

static void test_wrong_key_type(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    snap(fx);
    assert_int_equal(th_cmd_hex(th, 0x1F, 0x07, "000000 02 " TH_MAC_KEY " " TH_CIPHER_KEY, 0),
                     VSAFE_SE_ST_WRONG_KEY_TYPE);
    assert_int_equal(th_cmd_hex(th, 0x1F, 0x07, "000000 01 " TH_MAC_KEY " " TH_CIPHER_KEY, 0),
                     VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(th_cmd_hex(th, 0x1F, 0x07, "000001 00 " TH_MAC_KEY " " TH_CIPHER_KEY, 0),
                     VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(th_cmd_hex(th, 0x1F, 0x07, "000000 00 " TH_MAC_KEY, 0), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_unchanged(fx);
    /* AES-128 slot, host uses AES-256 keys: the MAC cannot match */
    assert_int_equal(th_provision_test_keys(th), 0);
    th_session(th, TH_MAC_KEY TH_MAC_KEY, TH_CIPHER_KEY TH_CIPHER_KEY, 0);
    snap(fx);
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0004", 0), VSAFE_SE_ST_INVALID_C_MAC);
    assert_unchanged(fx);
    /* Re-provisioning is not allowed by the factory control fields (0A FF) */
    assert_int_equal(th_cmd_hex(th, 0x1F, 0x07, "000000 00 " TH_MAC_KEY " " TH_CIPHER_KEY, 0),
                     VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    assert_unchanged(fx);
}

static void test_aes256_keys(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    const char *mk = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
    const char *ck = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    char hex[200];
    snprintf(hex, sizeof hex, "000000 01 %s %s", mk, ck);
    assert_int_equal(th_cmd_hex(th, 0x1F, 0x07, hex, 0), 0);
    assert_int_equal(th_cmd_hex(th, 0x14, 0, "47", 0), 0);
    assert_memory_equal(th->data, "\x01\x01\x00\x00\x00\x00", 6);
    th_session(th, mk, ck, 0);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "2A 02 06 02 04 03", 0), 0);
    uint8_t upd[4 + 40] = {0x00, 0x04, 0x00, 0x08};
    for (int i = 0; i < 40; i++) {
        upd[4 + i] = (uint8_t)(i * 3);
    }
    assert_int_equal(th_cmd(th, 0xE6, 0, upd, sizeof upd, VSAFE_SE_ENC_CMD), 0);
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 04 0008 0028", 0), 0);
    assert_memory_equal(th->data, upd + 4, 40);
    /* Encrypted decrement both ways, 16 bytes of associated data */
    assert_int_equal(th_cmd_hex(th, 0xE4, 0, "00 05 0000 00000003 000102030405060708090A0B0C0D0E0F",
                                VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP),
                     0);
    assert_memory_equal(th->data, "\xFF\xFF\xFF\xFC", 4);
    assert_int_equal(th_query_counter(th), 3);
    /* The 128-bit halves alone do not authenticate */
    th_session(th, "603deb1015ca71be2b73aef0857d7781", "000102030405060708090a0b0c0d0e0f", 3);
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 04 0008 0004", 0), VSAFE_SE_ST_INVALID_C_MAC);
}

static void test_command_table_refusals(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    assert_int_equal(th_provision_test_keys(th), 0);
    /* Update HOST, Random NEVER, Read ADMIN */
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "29 03 06 03 02 00 05 02", 0), 0);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "29 01 06 01", 0), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    snap(fx);
    assert_int_equal(th_cmd_hex(th, 0x06, 0, "00 01 0000 01", 0), VSAFE_SE_ST_COMMAND_NOT_AUTHORIZED);
    assert_int_equal(th_cmd_hex(th, 0x02, 0, "00 10", 0), VSAFE_SE_ST_COMMAND_NOT_AUTHORIZED);
    assert_int_equal(th_cmd_hex(th, 0x05, 0, "00 01 0000 0001", 0), VSAFE_SE_ST_COMMAND_NOT_AUTHORIZED);
    assert_unchanged(fx);
    /* With a valid C-MAC: NEVER and ADMIN still refused, but the counter advance is earned */
    assert_int_equal(th_cmd_hex(th, 0xE2, 0, "00 10", 0), VSAFE_SE_ST_COMMAND_NOT_AUTHORIZED);
    assert_only_counter_advanced(fx);
    snap(fx);
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0001", 0), VSAFE_SE_ST_COMMAND_NOT_AUTHORIZED);
    assert_only_counter_advanced(fx);
    assert_int_equal(th_cmd_hex(th, 0xE6, 0, "00 01 0000 01", 0), 0);
    /* R-MAC asked without a C-MAC; C-MAC without the host-channel bit */
    snap(fx);
    assert_int_equal(th_cmd_hex(th, 0x40, 0, "01", 0), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(th_cmd_hex(th, 0xC0, 0, "01", 0), VSAFE_SE_ST_SESSION_ERROR);
    th->counter--; /* the test host advanced on 0x07; the device did not verify anything */
    assert_unchanged(fx);
    /* Encryption flag set: a plain frame is refused, and a C-MAC without encryption is 0x18 */
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "2A 01 00 02", 0), 0);
    assert_int_equal(th_cmd_hex(th, 0x00, 0, "01", 0), VSAFE_SE_ST_COMMAND_NOT_AUTHORIZED);
    assert_int_equal(th_cmd_hex(th, 0xE0, 0, "01", 0), VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR);
    assert_int_equal(th_cmd_hex(th, 0xE0, 0, "01 02 03", VSAFE_SE_ENC_CMD), 0);
    assert_memory_equal(th->data, "\x01\x02\x03", 3);
    assert_int_equal(th_query_counter(th), th->counter);
}

static void test_put_table_parsing(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    snap(fx);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "29", 0), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "29 02 06 03", 0), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "29 01 06 03 00", 0), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "29 01 06 04", 0), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "29 01 14 03", 0), VSAFE_SE_ST_ENTRY_NOT_FOUND);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "29 01 1F", 0), VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "29 01 1F 1B 03", 0), VSAFE_SE_ST_ENTRY_NOT_FOUND);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "2A 01 06 04", 0), VSAFE_SE_ST_VALUE_OUT_OF_RANGE);
    assert_unchanged(fx);
    /* Extended record, then the 0x24 view shows it */
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "29 02 1F 07 03 06 03", 0), 0);
    const uint8_t *rec = vsafe_se_state_cmd_record(&fx->dev.core, 0x1F, 0x07);
    assert_non_null(rec);
    assert_int_equal(rec[2], 3);
    assert_int_equal(fx->dev.image[SE_OFF_CMD_CR], 0x01);
    /* Count 0 only locks */
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "2A 00", 0), 0);
    assert_int_equal(fx->dev.image[SE_OFF_CMD_CR], 0x00);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "2A 00", 0), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    /* Host-key write now needs HOST, and there is no key yet: refused */
    assert_int_equal(th_cmd_hex(th, 0x1F, 0x07, "000000 00 " TH_MAC_KEY " " TH_CIPHER_KEY, 0),
                     VSAFE_SE_ST_COMMAND_NOT_AUTHORIZED);
}

static void test_counter_maximum(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    assert_int_equal(th_provision_test_keys(th), 0);
    /* White box: bring the slot to the edge (a real host would need 2^32 commands) */
    vsafe_put_be32(fx->dev.image + SE_OFF_HK_COUNTER, 0xFFFFFFFEu);
    th->counter = 0xFFFFFFFEu;
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0001", 0), 0);
    assert_int_equal(dev_counter(fx), 0xFFFFFFFFu);
    snap(fx);
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0001", 0), VSAFE_SE_ST_C_MAC_COUNTER_MAXIMUM_REACHED);
    th->counter = 0xFFFFFFFFu;
    assert_int_equal(th_cmd_hex(th, 0xE6, 0, "00 01 0000 01", 0), VSAFE_SE_ST_C_MAC_COUNTER_MAXIMUM_REACHED);
    assert_unchanged(fx);
    /* Unusable until re-provisioned; allow re-provisioning, then it works from 0 again */
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "4A 0E FF", 0), 0);
    assert_int_equal(th_provision_test_keys(th), 0);
    assert_int_equal(dev_counter(fx), 0);
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0001", 0), 0);
    assert_int_equal(th_query_counter(th), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cmac_without_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_mac_and_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bitflip_every_command_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bitflip_every_response_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_ciphertext_and_padding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aes256_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_table_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_table_parsing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_maximum, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
