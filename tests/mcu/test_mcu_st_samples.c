/* ST's own debug-authentication artifacts (STM32CubeH5 ROT_Provisioning/DA: keys, .b64
 * certificates, .obk configurations, password.bin) against the model, read from the directory in
 * $VSAFE_ST_DA_DIR or, by default, the one the build names (VSAFE_ST_DA_DEFAULT). They are
 * third-party files and are never copied into this repository: when the directory is absent the
 * whole test is skipped (exit 77, CTest "Not Run") and says so.
 *
 * What is checked:
 *  - the formats, byte for byte: vsafe's own certificate builder, given ST's keys and ST's mask,
 *    produces ST's certificate bytes 0..147 (everything but the randomized ECDSA signature), and
 *    vsafe's DA configuration builder produces ST's two .obk payloads exactly;
 *  - ST's chain and leaf key regress (full, partial) and reopen debug on a CLOSED board provisioned
 *    with ST's DA_Config.obk, ST's password.bin regresses one provisioned with
 *    DA_ConfigWithPassword.obk;
 *  - any one byte of the chain file flipped is refused (and counted as an attempt), and the
 *    untouched chain still works afterwards. */
#include "mcu_test_util.h"

#include <sys/stat.h>

#include <openssl/evp.h>


static char dir[1024];
static int have_dir;

static void path_of(char *out, size_t cap, const char *rel) { snprintf(out, cap, "%s/%s", dir, rel); }

static size_t read_all(const char *rel, uint8_t *buf, size_t cap)
{
    char p[1200];
    path_of(p, sizeof p, rel);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    assert_true(feof(f));
    fclose(f);
    return n;
}

static vsafe_da_key_t *st_key(const char *name)
{
    char p[1200];
    path_of(p, sizeof p, name);
    vsafe_da_key_t *k = NULL;
    CHECK(vsafe_da_key_load(&k, p));
    return k;
}

static size_t st_chain(const char *name, uint8_t (*certs)[VSAFE_DA_CERT_LEN], size_t max)
{
    uint8_t text[4096];
    size_t n = read_all(name, text, sizeof text), count = 0;
    CHECK(vsafe_da_chain_parse_b64((const char *)text, n, certs, max, &count));
    return count;
}

static const uint8_t st_mask[16] = {0x77, 0x50}; /* 0x00005077, the permission of ST's XML */

static void test_st_certificates_byte_exact(void **state)
{
    (void)state;
    uint8_t chain[4][VSAFE_DA_CERT_LEN], one[1][VSAFE_DA_CERT_LEN];
    assert_int_equal(st_chain("Certificates/cert_leaf_chain.b64", chain, 4), 3);
    static const char *const singles[3] = {"Certificates/cert_root.b64", "Certificates/cert_intermediate.b64",
                                           "Certificates/cert_leaf.b64"};
    static const char *const keys[3] = {"Keys/key_1_root.pem", "Keys/key_2_intermediate.pem", "Keys/key_3_leaf.pem"};
    vsafe_da_key_t *k[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(st_chain(singles[i], one, 1), 1);
        assert_memory_equal(one[0], chain[i], VSAFE_DA_CERT_LEN); /* the chain is the singles, root first */
        k[i] = st_key(keys[i]);
    }
    for (int i = 0; i < 3; i++) {
        uint8_t mine[VSAFE_DA_CERT_LEN];
        CHECK(vsafe_da_cert_make(k[i], k[i == 0 ? 0 : i - 1], (uint8_t)(i + 1), 0, NULL, st_mask, mine));
        assert_memory_equal(mine, chain[i], 148); /* all but the signature, which ECDSA randomizes */
        /* the public key in ST's certificate is the one of ST's key file */
        uint8_t pub[64];
        CHECK(vsafe_da_key_public(k[i], pub));
        assert_memory_equal(chain[i] + 52, pub, 64);
    }
    /* intermediate chain file = root + intermediate */
    uint8_t two[4][VSAFE_DA_CERT_LEN];
    assert_int_equal(st_chain("Certificates/cert_intermediate_chain.b64", two, 4), 2);
    assert_memory_equal(two, chain, 2u * VSAFE_DA_CERT_LEN);
    /* and vsafe's .b64 writer gives back ST's file text */
    char b64[2048];
    size_t bl;
    uint8_t again[4][VSAFE_DA_CERT_LEN], text[4096];
    assert_int_equal(st_chain("Certificates/cert_leaf_chain.b64", again, 4), 3);
    CHECK(vsafe_da_chain_to_b64((const uint8_t(*)[VSAFE_DA_CERT_LEN])again, 3, b64, sizeof b64, &bl));
    size_t tl = read_all("Certificates/cert_leaf_chain.b64", text, sizeof text);
    while (tl > 0 && (text[tl - 1] == '\n' || text[tl - 1] == '\r')) {
        tl--;
    }
    assert_int_equal(bl, tl);
    assert_memory_equal(b64, text, tl);
    for (int i = 0; i < 3; i++) {
        vsafe_da_key_free(k[i]);
    }
}

static void test_st_obk_byte_exact(void **state)
{
    (void)state;
    uint8_t file[256], cfg[VSAFE_DA_CONFIG_LEN], root_pub[64];
    const uint8_t *payload;
    size_t plen;
    vsafe_mcu_obk_t area;
    uint32_t off;
    bool enc;
    size_t n = read_all("Binary/DA_Config.obk", file, sizeof file);
    CHECK(vsafe_da_obk_parse(file, n, &area, &off, &payload, &plen, &enc));
    assert_int_equal(area, VSAFE_MCU_OBK_HDPL1);
    assert_int_equal(off, 0);
    assert_int_equal(plen, VSAFE_DA_CONFIG_LEN);
    assert_true(enc);
    vsafe_da_key_t *root = st_key("Keys/key_1_root.pem");
    CHECK(vsafe_da_key_public(root, root_pub));
    vsafe_da_key_free(root);
    CHECK(vsafe_da_config_cert(root_pub, st_mask, cfg));
    assert_memory_equal(cfg, payload, VSAFE_DA_CONFIG_LEN);
    /* the public key file gives the same configuration */
    char p[1200];
    path_of(p, sizeof p, "Keys/key_1_root_pub.pem");
    vsafe_da_key_t *pubk = NULL;
    uint8_t pub2[64];
    CHECK(vsafe_da_key_load_public(&pubk, p));
    CHECK(vsafe_da_key_public(pubk, pub2));
    vsafe_da_key_free(pubk);
    assert_memory_equal(pub2, root_pub, 64);
    /* password configuration: ST's password (password.bin) gives ST's payload */
    n = read_all("Binary/DA_ConfigWithPassword.obk", file, sizeof file);
    CHECK(vsafe_da_obk_parse(file, n, &area, &off, &payload, &plen, &enc));
    uint8_t pwf[64];
    const uint8_t *pw;
    size_t pwl, fl = read_all("Binary/password.bin", pwf, sizeof pwf);
    CHECK(vsafe_da_password_file_parse(pwf, fl, &pw, &pwl));
    assert_int_equal(pwl, 16);
    char pws[17];
    memcpy(pws, pw, 16);
    pws[16] = '\0';
    CHECK(vsafe_da_config_password(pws, cfg));
    assert_memory_equal(cfg, payload, VSAFE_DA_CONFIG_LEN);
    /* header refusals: a length that does not match, an address in HDPL0, a flag of 2 */
    uint8_t bad[256];
    memcpy(bad, file, n);
    bad[4] ^= 0x04;
    assert_int_equal(vsafe_da_obk_parse(bad, n, &area, &off, &payload, &plen, &enc), VSAFE_ERR_PARSE);
    memcpy(bad, file, n);
    bad[1] = 0x00; /* 0x0FFD0000: HDPL0 */
    assert_int_equal(vsafe_da_obk_parse(bad, n, &area, &off, &payload, &plen, &enc), VSAFE_ERR_PARSE);
    memcpy(bad, file, n);
    bad[8] = 2;
    assert_int_equal(vsafe_da_obk_parse(bad, n, &area, &off, &payload, &plen, &enc), VSAFE_ERR_PARSE);
}

/* A CLOSED board (TrustZone tz) provisioned with one of ST's .obk files, through OBK as ST's
 * provisioning writes it. */
static vsafe_mcu_t *st_board(bool tz, const char *obk, uint32_t limit)
{
    vsafe_mcu_t *m = NULL;
    vsafe_mcu_options_t o = {.rng_seed = 0x57, .power_on_reset = 1, .da_attempt_limit = limit};
    CHECK(vsafe_mcu_open(&m, &o));
    CHECK(vsafe_mcu_set_trustzone(m, tz));
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    uint8_t file[256];
    const uint8_t *payload;
    size_t plen, n = read_all(obk, file, sizeof file);
    vsafe_mcu_obk_t area;
    uint32_t off;
    bool enc;
    CHECK(vsafe_da_obk_parse(file, n, &area, &off, &payload, &plen, &enc));
    CHECK(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, area, off, payload, plen));
    go(m, VSAFE_MCU_STATE_CLOSED);
    return m;
}

static int st_auth(vsafe_mcu_t *m, const uint8_t (*chain)[VSAFE_DA_CERT_LEN], size_t n, vsafe_da_key_t *leaf, int bit)
{
    const uint8_t *ptr[4];
    for (size_t i = 0; i < n; i++) {
        ptr[i] = chain[i];
    }
    uint8_t perm[16];
    perm_bit(perm, (unsigned)bit);
    return vsafe_da_authenticate(m, ptr, n, leaf, perm);
}

static void test_st_chain_regresses_and_opens_debug(void **state)
{
    (void)state;
    uint8_t chain[4][VSAFE_DA_CERT_LEN];
    size_t n = st_chain("Certificates/cert_leaf_chain.b64", chain, 4);
    vsafe_da_key_t *leaf = st_key("Keys/key_3_leaf.pem"), *root = st_key("Keys/key_1_root.pem");
    vsafe_mcu_t *m = st_board(true, "Binary/DA_Config.obk", 0);
    /* Discovery: provisioned, the STM32H573 device ID */
    uint8_t req[8], rsp[512];
    size_t rl, rn;
    const uint8_t *v;
    size_t vl;
    CHECK(vsafe_da_frame_begin(VSAFE_DA_CMD_DISCOVERY, req, sizeof req, &rl));
    CHECK(vsafe_mcu_da_request(m, req, rl, rsp, sizeof rsp, &rn));
    CHECK(vsafe_da_response_tlv(rsp, rn, VSAFE_DA_TLV_ST_PROVISIONED, &v, &vl));
    assert_memory_equal(v, "\xEA\xEA\xEA\xEA", 4);
    /* debug opening per=h (non-secure, HDPL3), then a wrong signer (counted), then partial, full */
    CHECK(st_auth(m, chain, n, leaf, vsafe_da_per_bit('h')));
    assert_true(vsafe_mcu_debug_access(m, VSAFE_MCU_NONSECURE, 3));
    assert_int_equal(st_auth(m, chain, n, root, vsafe_da_per_bit('a')), VSAFE_ERR_DA_STALE_NONCE);
    vsafe_mcu_info_t info;
    CHECK(vsafe_mcu_info(m, &info));
    assert_int_equal(info.da_attempts, 1);
    CHECK(st_auth(m, chain, n, leaf, vsafe_da_per_bit('b')));
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_TZ_CLOSED);
    CHECK(st_auth(m, chain, n, leaf, vsafe_da_per_bit('a')));
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_OPEN);
    CHECK(vsafe_mcu_info(m, &info));
    assert_int_equal(info.da_attempts, 1); /* successes un-counted, the failure stays */
    assert_false(info.da_provisioned);     /* a full regression erases the DA configuration */
    vsafe_mcu_close(m);
    vsafe_da_key_free(leaf);
    vsafe_da_key_free(root);
}

static void test_st_chain_any_flipped_byte_refused(void **state)
{
    (void)state;
    uint8_t bin[1024];
    uint8_t chain[4][VSAFE_DA_CERT_LEN];
    size_t n = st_chain("Certificates/cert_leaf_chain.b64", chain, 4);
    assert_int_equal(n, 3);
    /* the binary the .b64 carries: three 220-byte TLVs */
    size_t bl = 0;
    for (size_t i = 0; i < n; i++) {
        vsafe_put_le16(bin + bl, 0);
        vsafe_put_le16(bin + bl + 2, VSAFE_DA_TLV_CERT);
        vsafe_put_le32(bin + bl + 4, VSAFE_DA_CERT_LEN);
        memcpy(bin + bl + 8, chain[i], VSAFE_DA_CERT_LEN);
        bl += 8u + VSAFE_DA_CERT_LEN;
    }
    vsafe_da_key_t *leaf = st_key("Keys/key_3_leaf.pem");
    vsafe_mcu_t *m = st_board(true, "Binary/DA_Config.obk", 100000);
    unsigned refused_parse = 0, refused_device = 0;
    for (size_t pos = 0; pos < bl; pos++) {
        uint8_t t[1024];
        memcpy(t, bin, bl);
        t[pos] ^= 0x01;
        /* through the .b64 file format: a flipped TLV header no longer parses as ST's chain */
        char b64[2048];
        size_t b64l, cnt = 0;
        uint8_t c2[4][VSAFE_DA_CERT_LEN];
        int ok = 1;
        size_t tlv = 8u + VSAFE_DA_CERT_LEN;
        for (size_t i = 0; i < n && ok; i++) {
            const uint8_t *p = t + i * tlv;
            ok = vsafe_get_le16(p) == 0 && vsafe_get_le16(p + 2) == VSAFE_DA_TLV_CERT &&
                 vsafe_get_le32(p + 4) == VSAFE_DA_CERT_LEN;
            memcpy(c2[i], p + 8, VSAFE_DA_CERT_LEN);
        }
        if (!ok) {
            /* a flipped TLV header: the .b64 reader refuses the file, nothing reaches the device */
            b64l = (size_t)EVP_EncodeBlock((unsigned char *)b64, t, (int)bl);
            assert_int_equal(vsafe_da_chain_parse_b64(b64, b64l, c2, 4, &cnt), VSAFE_ERR_PARSE);
            refused_parse++;
            continue;
        }
        int rc = st_auth(m, (const uint8_t(*)[VSAFE_DA_CERT_LEN])c2, n, leaf, vsafe_da_per_bit('a'));
        if (rc == VSAFE_OK) {
            fail_msg("chain with byte %zu flipped was accepted", pos);
        }
        assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_CLOSED);
        refused_device++;
    }
    vsafe_mcu_info_t info;
    CHECK(vsafe_mcu_info(m, &info));
    assert_int_equal(info.da_attempts, refused_device); /* every refusal counted once */
    printf("ST chain: %u byte flips refused by the device, %u by the TLV framing\n", refused_device, refused_parse);
    assert_int_equal(refused_device, 3u * VSAFE_DA_CERT_LEN);
    /* the untouched chain still regresses */
    CHECK(st_auth(m, (const uint8_t(*)[VSAFE_DA_CERT_LEN])chain, n, leaf, vsafe_da_per_bit('a')));
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_OPEN);
    vsafe_mcu_close(m);
    vsafe_da_key_free(leaf);
}

static void test_st_password_bin_regresses(void **state)
{
    (void)state;
    uint8_t pwf[64];
    const uint8_t *pw;
    size_t pwl, fl = read_all("Binary/password.bin", pwf, sizeof pwf);
    CHECK(vsafe_da_password_file_parse(pwf, fl, &pw, &pwl));
    vsafe_mcu_t *m = st_board(false, "Binary/DA_ConfigWithPassword.obk", 0);
    uint8_t wrong[16];
    for (size_t i = 0; i < pwl; i++) {
        memcpy(wrong, pw, pwl);
        wrong[i] ^= 0x20;
        assert_int_equal(vsafe_da_authenticate_password_bytes(m, wrong, pwl), VSAFE_ERR_DA_BAD_PASSWORD);
        if (i == 14) {
            break; /* 15 wrong tries: one attempt left of 16 */
        }
    }
    CHECK(vsafe_da_authenticate_password_bytes(m, pw, pwl));
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_OPEN);
    vsafe_mcu_close(m);
    /* the certificate method is refused on the password board, and the password on a TrustZone one */
    m = st_board(false, "Binary/DA_ConfigWithPassword.obk", 0);
    uint8_t chain[4][VSAFE_DA_CERT_LEN];
    size_t n = st_chain("Certificates/cert_leaf_chain.b64", chain, 4);
    vsafe_da_key_t *leaf = st_key("Keys/key_3_leaf.pem");
    assert_int_equal(st_auth(m, chain, n, leaf, vsafe_da_per_bit('a')), VSAFE_ERR_DA_METHOD);
    vsafe_mcu_close(m);
    m = st_board(true, "Binary/DA_Config.obk", 0);
    assert_int_equal(vsafe_da_authenticate_password_bytes(m, pw, pwl), VSAFE_ERR_DA_METHOD);
    vsafe_mcu_close(m);
    vsafe_da_key_free(leaf);
}

int main(void)
{
    const char *d = getenv("VSAFE_ST_DA_DIR");
    snprintf(dir, sizeof dir, "%s", d != NULL && d[0] != '\0' ? d : VSAFE_ST_DA_DEFAULT);
    struct stat st;
    char probe[1200];
    path_of(probe, sizeof probe, "Certificates/cert_leaf_chain.b64");
    have_dir = stat(probe, &st) == 0;
    if (!have_dir) {
        printf("SKIP: ST's DA sample set is not at %s (set VSAFE_ST_DA_DIR): nothing tested\n", dir);
        return 77;
    }
    printf("ST's DA sample set: %s\n", dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_st_certificates_byte_exact),
        cmocka_unit_test(test_st_obk_byte_exact),
        cmocka_unit_test(test_st_chain_regresses_and_opens_debug),
        cmocka_unit_test(test_st_chain_any_flipped_byte_refused),
        cmocka_unit_test(test_st_password_bin_regresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
