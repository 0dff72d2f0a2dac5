/* Secrets leave no trace in the device core (finding 7, "decrypted command data in core->plain and
 * the staged transaction buffer are never wiped"): after a command, none of the core's working
 * memory (decrypted payload, staged transaction, response working buffer, KEK base) and no other
 * byte of the core object except the response frame holds the plaintext the command carried —
 * after a success, after a refusal that came after decryption, after a plaintext host-key write
 * and after a plain Read (whose data belongs in the response frame only). Each scenario fails on
 * the code before the end-of-command wipe.
 *
 * The core is driven directly (tests/channel/chan_host.h builds the protected frames with its own
 * crypto), and its memory is seen through the test hook vsafe_se_core_hook_working_memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "channel/chan_host.h"

/* Where needle (n >= 8 bytes) occurs in hay, by any 8-byte window of it; -1 if nowhere. A
 * partial trace counts: 8 bytes of a key are a leak. */
static long find_trace(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t n)
{
    for (size_t w = 0; w + 8 <= n; w++) {
        for (size_t i = 0; i + 8 <= hay_len; i++) {
            if (memcmp(hay + i, needle + w, 8) == 0) {
                return (long)i;
            }
        }
    }
    return -1;
}

/* No trace of secret in the working-memory regions, nor anywhere in the core object outside the
 * response frame (which holds what the bus may read). */
static void assert_no_trace(const vsafe_se_core_t *core, const uint8_t *secret, size_t n, const char *when)
{
    vsafe_se_hook_region_t r[8];
    size_t count = vsafe_se_core_hook_working_memory(core, r, 8);
    assert_true(count >= 4 && count <= 8);
    for (size_t i = 0; i < count; i++) {
        long at = find_trace(r[i].data, r[i].len, secret, n);
        if (at >= 0) {
            fprintf(stderr, "%s: plaintext left in core->%s at byte %ld\n", when, r[i].name, at);
        }
        assert_true(at < 0);
    }
    const uint8_t *all = (const uint8_t *)core;
    size_t rsp_at = (size_t)(core->rsp - all);
    long before = find_trace(all, rsp_at, secret, n);
    long after = find_trace(core->rsp + sizeof core->rsp, sizeof *core - rsp_at - sizeof core->rsp, secret, n);
    if (before >= 0 || after >= 0) {
        fprintf(stderr, "%s: plaintext left in the core object (offset %ld / %ld after rsp)\n", when, before, after);
    }
    assert_true(before < 0 && after < 0);
}

typedef struct {
    th_dev_t dev;
    th_t th;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    th_dev_new(&fx->dev, NULL, 41);
    th_init(&fx->th, th_core_xfer, &fx->dev.core);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    th_free(&fx->th);
    th_dev_free(&fx->dev);
    free(fx);
    return 0;
}

static void test_plaintext_key_write_leaves_no_key(void **state)
{
    fx_t *fx = *state;
    uint8_t mac_key[16], cipher_key[16];
    tu_hex(TH_MAC_KEY, mac_key, sizeof mac_key);
    tu_hex(TH_CIPHER_KEY, cipher_key, sizeof cipher_key);
    assert_int_equal(th_provision_test_keys(&fx->th), 0);
    /* The key is in the image (where it belongs), so the scan can find it... */
    assert_true(find_trace(fx->dev.image, fx->dev.image_len, mac_key, 16) >= 0);
    /* ...but not in the core's working memory. */
    assert_no_trace(&fx->dev.core, mac_key, sizeof mac_key, "after Write host key plaintext");
    assert_no_trace(&fx->dev.core, cipher_key, sizeof cipher_key, "after Write host key plaintext");
}

static void test_encrypted_update_leaves_no_plaintext(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    uint8_t secret[40], p[4 + sizeof secret];
    for (size_t i = 0; i < sizeof secret; i++) {
        secret[i] = (uint8_t)(0x5A ^ (i * 37u));
    }
    assert_int_equal(th_provision_test_keys(th), 0);
    /* Update (0x06) and Read (0x05): encrypted both ways from now on. */
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "2A 02 06 03 05 03", 0), 0);
    p[0] = 0x00; /* OPT */
    p[1] = 0x01; /* zone 1 */
    p[2] = 0x00;
    p[3] = 0x10; /* offset 16 */
    memcpy(p + 4, secret, sizeof secret);
    assert_int_equal(th_cmd(th, 0xE6, 0, p, sizeof p, VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP), 0);
    assert_true(find_trace(fx->dev.image, fx->dev.image_len, secret, sizeof secret) >= 0);
    assert_no_trace(&fx->dev.core, secret, sizeof secret, "after an encrypted Update");

    /* Read it back encrypted: the host gets the plaintext, the core keeps none. */
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0010 0028", VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP), 0);
    assert_int_equal(th->data_len, sizeof secret);
    assert_memory_equal(th->data, secret, sizeof secret);
    assert_no_trace(&fx->dev.core, secret, sizeof secret, "after an encrypted Read");
}

static void test_refused_after_decryption_leaves_no_plaintext(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    uint8_t secret[32], p[4 + sizeof secret];
    for (size_t i = 0; i < sizeof secret; i++) {
        secret[i] = (uint8_t)(0xC3 ^ (i * 11u));
    }
    assert_int_equal(th_provision_test_keys(th), 0);
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "2A 01 06 02", 0), 0);
    /* Offset 0x03F0 + 32 bytes is past the end of zone 1 (1000 bytes): refused after decryption. */
    p[0] = 0x00;
    p[1] = 0x01;
    p[2] = 0x03;
    p[3] = 0xF0;
    memcpy(p + 4, secret, sizeof secret);
    assert_int_equal(th_cmd(th, 0xA6, 0, p, sizeof p, VSAFE_SE_ENC_CMD), VSAFE_SE_ST_BOUNDARY_EXCEEDED);
    assert_true(find_trace(fx->dev.image, fx->dev.image_len, secret, sizeof secret) < 0);
    assert_no_trace(&fx->dev.core, secret, sizeof secret, "after a refused encrypted Update");
}

static void test_read_leaves_data_in_the_response_only(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    uint8_t secret[24], p[4 + sizeof secret];
    for (size_t i = 0; i < sizeof secret; i++) {
        secret[i] = (uint8_t)(0x96 ^ (i * 53u));
    }
    p[0] = 0x00;
    p[1] = 0x02; /* zone 2, offset 0 */
    p[2] = 0x00;
    p[3] = 0x00;
    memcpy(p + 4, secret, sizeof secret);
    assert_int_equal(th_cmd(th, 0x06, 0, p, sizeof p, 0), 0);
    assert_no_trace(&fx->dev.core, secret, sizeof secret, "after a plain Update");
    assert_int_equal(th_cmd_hex(th, 0x05, 0, "00 02 0000 0018", 0), 0);
    assert_memory_equal(th->data, secret, sizeof secret);
    /* The response frame is what the bus reads: the data is there, and only there. */
    assert_true(find_trace(fx->dev.core.rsp, fx->dev.core.rsp_len, secret, sizeof secret) >= 0);
    assert_no_trace(&fx->dev.core, secret, sizeof secret, "after a plain Read");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plaintext_key_write_leaves_no_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encrypted_update_leaves_no_plaintext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_after_decryption_leaves_no_plaintext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_leaves_data_in_the_response_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
