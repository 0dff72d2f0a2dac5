/* The port may keep keyed objects between calls (the OpenSSL port caches EVP_PKEYs and keyed
 * cipher/MAC contexts): the core must tell it to forget them whenever a key leaves the device
 * state. A device core is assembled by hand on the OpenSSL port with forget_keys wrapped by a
 * counter, and each way a key can leave is checked to call it: a private key replaced by Generate
 * key, the ephemeral key used by Establish key, the ECDHE key used by Establish symmetric keys or
 * replaced by a new Generate ECDHE, a symmetric key written over or erased, a Reset command, a
 * power loss (through the simulated NVM), and closing the device. Commands that remove no key
 * must not need it, and are checked not to call it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sym_util.h"

static unsigned forgets;
static void (*real_forget)(void *ctx);
static void spy_forget(void *ctx)
{
    forgets++;
    real_forget(ctx);
}

typedef struct {
    vsafe_se_core_t core;
    vsafe_openssl_crypto_t *oc;
    vsafe_crypto_t port;
    uint8_t *image;
    uint32_t image_len;
} fdev_t;

static void fdev_new(fdev_t *d, const vsafe_nvm_t *nvm)
{
    memset(d, 0, sizeof *d);
    d->image_len = vsafe_se_core_image_size(&vsafe_profile_spl05);
    d->image = calloc(1, d->image_len);
    assert_non_null(d->image);
    assert_int_equal(vsafe_openssl_crypto_new(&d->oc, 9), 0);
    d->port = *vsafe_openssl_crypto_port(d->oc);
    real_forget = d->port.forget_keys;
    assert_non_null(real_forget);
    d->port.forget_keys = spy_forget;
    assert_int_equal(vsafe_se_core_build_image(&vsafe_profile_spl05, d->image, d->image_len), 0);
    assert_int_equal(vsafe_se_core_create(&d->core, nvm, &d->port, d->image, d->image_len), 0);
}

static void fdev_free(fdev_t *d)
{
    vsafe_openssl_crypto_free(d->oc);
    free(d->image);
}

/* Status of the command (hex, CRC added), or -1 when the device gave no answer; *calls gets how
 * many times it made the core call forget_keys. */
static int cmd(fdev_t *d, const char *hex, unsigned *calls)
{
    uint8_t f[800];
    size_t n = su_hex(hex, f);
    uint16_t crc = vsafe_crc16(f, n);
    f[n] = (uint8_t)(crc >> 8);
    f[n + 1] = (uint8_t)crc;
    unsigned before = forgets;
    d->core.have_response = false;
    vsafe_se_core_process(&d->core, f, n + 2);
    *calls = forgets - before;
    return d->core.have_response ? d->core.rsp[0] : -1;
}

#define P256 "00 08 2A 86 48 CE 3D 03 01 07"
#define KEY16 "000102030405060708090A0B0C0D0E0F"

/* A P-256 public key in wire form, made with OpenSSL. */
static void host_pub_hex(char *out)
{
    uint8_t pub[64], w[80];
    EVP_PKEY *k = ku_keygen(KU_P256, pub);
    EVP_PKEY_free(k);
    size_t n = ku_put_pub(w, KU_P256, pub);
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02X", w[i]);
    }
}

static void test_forget_when_keys_leave(void **state)
{
    (void)state;
    fdev_t d;
    fdev_new(&d, NULL);
    unsigned c;
    char pub[200], f[400];
    host_pub_hex(pub);
    /* a key generated into an empty slot, then used: nothing leaves */
    assert_int_equal(cmd(&d, "11 13 01 00FF 0000 " P256, &c), 0x00);
    assert_int_equal(c, 0);
    assert_int_equal(cmd(&d, "16 01 0020 " KEY16 KEY16, &c), 0x00);
    assert_int_equal(c, 0);
    /* replaced: the old key leaves */
    assert_int_equal(cmd(&d, "11 13 01 00FF 0000 " P256, &c), 0x00);
    assert_int_equal(c, 1);
    /* the ephemeral slot: generated (empty before), then used up by Establish key */
    assert_int_equal(cmd(&d, "11 13 FF 0001 0000 " P256, &c), 0x00);
    assert_int_equal(c, 0);
    snprintf(f, sizeof f, "18 FF %s", pub);
    assert_int_equal(cmd(&d, f, &c), 0x00);
    assert_int_equal(c, 1);
    /* ECDHE: replaced by a new one, then used by Establish symmetric keys */
    assert_int_equal(cmd(&d, "1F 0B " P256, &c), 0x00);
    assert_int_equal(c, 0);
    assert_int_equal(cmd(&d, "1F 0B " P256, &c), 0x00);
    assert_int_equal(c, 1);
    snprintf(f, sizeof f, "1F 04 " P256 " %s 02", pub);
    assert_int_equal(cmd(&d, f, &c), 0x00);
    assert_int_equal(c, 1);
    /* symmetric keys: written into an empty slot, used, written over, erased */
    assert_int_equal(cmd(&d, "10 4B 03 10 FF FF", &c), 0x00);
    assert_int_equal(cmd(&d, "1F 17 00 03 00 01 00 03 02 " KEY16, &c), 0x00);
    assert_int_equal(c, 1); /* any symmetric change ends the chunked context and forgets */
    assert_int_equal(cmd(&d, "09 03 03 04 " KEY16, &c), 0x00);
    assert_int_equal(c, 0);
    assert_int_equal(cmd(&d, "1F 17 00 03 00 01 00 03 02 " KEY16, &c), 0x00);
    assert_int_equal(c, 1);
    assert_int_equal(cmd(&d, "1F 19 03", &c), 0x00);
    assert_int_equal(c, 1);
    /* a refused write forgets nothing */
    assert_int_equal(cmd(&d, "1F 17 00 04 00 01 00 03 02 " KEY16, &c), VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED);
    assert_int_equal(c, 0);
    /* Reset */
    assert_int_equal(cmd(&d, "01", &c), 0x00);
    assert_int_equal(c, 1);
    /* closing the device (the core's reset on close) */
    unsigned before = forgets;
    vsafe_se_core_reset(&d.core);
    assert_int_equal(forgets - before, 1);
    fdev_free(&d);
}

static void test_forget_at_power_loss(void **state)
{
    (void)state;
    vsafe_sim_nvm_t *sim = NULL;
    vsafe_nvm_geometry_t g = su_geo();
    assert_int_equal(vsafe_sim_nvm_new(&sim, &g, 4), VSAFE_OK);
    fdev_t d;
    fdev_new(&d, vsafe_sim_nvm_port(sim));
    unsigned c;
    assert_int_equal(cmd(&d, "11 13 01 00FF 0000 " P256, &c), 0x00);
    assert_int_equal(cmd(&d, "16 01 0020 " KEY16 KEY16, &c), 0x00); /* the key is cached now */
    assert_int_equal(vsafe_sim_nvm_arm_cut(sim, 1, VSAFE_SIM_CUT_TORN_UNIT), VSAFE_OK);
    assert_int_equal(cmd(&d, "06 00 01 0000 0102", &c), -1);
    assert_true(vsafe_sim_nvm_cut_happened(sim));
    assert_int_equal(c, 1);
    fdev_free(&d);
    vsafe_sim_nvm_free(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forget_when_keys_leave),
        cmocka_unit_test(test_forget_at_power_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
