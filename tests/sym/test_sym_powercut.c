/* Power cuts at every NVM operation of the symmetric key services' commits, under every write
 * model of the simulated NVM: a plaintext key write, an establishment of two keys (one Confirm),
 * a CCM* counter increment (one-shot Encrypt), an envelope key generation, a Derive keys into two
 * slots (with a third output to the host), the CCM* counter increment of a chunked Start encrypt. None of them is acknowledged when power
 * fails in it, so after the reboot the state image must be exactly the state before the command
 * or exactly the state the command defines, which the test writes down itself from the documented
 * record layout (docs/NVM-FORMAT.md), never from a run of the device code. Both keys of one
 * Confirm land together or not at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sym_util.h"

enum { SC_PLAIN, SC_ESTABLISH, SC_COUNTER, SC_ENVELOPE, SC_DERIVE, SC_CHUNK_COUNTER, SC_COUNT };
static const char *const sc_names[SC_COUNT] = {"plaintext write", "establish 2 keys", "CCM* counter",
                                               "envelope key", "derive into 2 slots", "chunked CCM* counter"};

/* A small journal (6 KiB, 1 KiB pages) so that the filler updates bring the commits under test
 * to where the store compacts. */
static void small_new(sdev_t *d, uint64_t seed)
{
    uint32_t bytes = vsafe_store_nvm_bytes(vsafe_se_core_image_size(&vsafe_profile_spl05), 6144u, 1024u);
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = 1024, .page_count = bytes / 1024u, .erased = 0xFF,
                              .may_reorder = 1};
    assert_int_equal(vsafe_sim_nvm_new(&d->sim, &g, seed), VSAFE_OK);
    su_open(d, seed);
}

static uint64_t nvm_ops(sdev_t *d)
{
    vsafe_sim_nvm_stats_t st;
    vsafe_sim_nvm_stats(d->sim, &st);
    return st.program_ops + st.erase_ops;
}

/* One zone update of len bytes; true when its commit compacted the journal (more than the two
 * programs of a plain append). */
static bool update(sdev_t *d, unsigned len)
{
    uint8_t u[210] = {0x06, 0x00, 0x01, 0x00, 0x00}, r[8];
    size_t rl;
    memset(u + 5, (int)len, len);
    uint64_t before = nvm_ops(d);
    assert_int_equal(su_cmd(d, u, 5 + len, r, &rl), 0x00);
    return nvm_ops(d) - before > 2u;
}

/* small < 0: no filling. Otherwise the journal is brought to just before a compaction (large
 * updates up to one before the next one that compacts), then small 8-byte updates: sweeping small
 * brings the command under test onto the compaction at some value. */
static void fill_journal(sdev_t *d, int small)
{
    if (small < 0) {
        return;
    }
    while (!update(d, 200)) {
    }
    unsigned period = 1;
    while (!update(d, 200)) {
        period++;
    }
    for (unsigned i = 0; i + 1 < period; i++) {
        (void)update(d, 200);
    }
    for (int i = 0; i < small; i++) {
        (void)update(d, 8);
    }
}

static void put_ctrl(sdev_t *d, uint8_t slot, uint8_t b0)
{
    uint8_t f[6] = {0x10, 0x4B, slot, b0, 0xFF, 0xFF}, r[8];
    size_t rl;
    assert_int_equal(su_cmd(d, f, 6, r, &rl), 0x00);
}

/* A symmetric record as the layout documents it: B0 TYPE MODE USAGE(2) PARAMS(6) PARAMS_LEN
 * CTRL(3) KEY_LEN KEY(32) COUNTER(4) reserved(4). */
static void sym_rec(uint8_t *rec, uint8_t b0, uint8_t type, uint8_t mode, uint8_t usage, const uint8_t *params,
                    uint8_t plen, uint8_t ctrl0, const uint8_t *key, uint8_t klen, uint32_t counter)
{
    memset(rec, 0, 56);
    rec[0] = b0;
    rec[1] = type;
    rec[2] = mode;
    rec[3] = 0;
    rec[4] = usage;
    memcpy(rec + 5, params, plen);
    rec[11] = plen;
    rec[12] = ctrl0;
    rec[13] = 0xFF;
    rec[14] = 0xFF;
    rec[15] = klen;
    memcpy(rec + 16, key, klen);
    rec[48] = (uint8_t)(counter >> 24);
    rec[49] = (uint8_t)(counter >> 16);
    rec[50] = (uint8_t)(counter >> 8);
    rec[51] = (uint8_t)counter;
}

static const uint8_t key16[16] = {0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78,
                                  0x89, 0x9A, 0xAB, 0xBC, 0xCD, 0xDE, 0xEF, 0xF0};

/* Brings the device to the state before the command; fills the command frame and, in want, the
 * image the command defines (old image patched from the layout). For the envelope key the key
 * bytes are random: free_off and free_len name them. */
static void prepare(sdev_t *d, int sc, int filler, uint8_t *cmd, size_t *cmd_len, uint8_t **old, uint8_t **want,
                    uint32_t *len, uint32_t *free_off, uint32_t *free_len)
{
    uint8_t r[100];
    size_t rl;
    *free_len = 0;
    *free_off = 0;
    uint8_t okm[80];
    if (sc == SC_PLAIN) {
        put_ctrl(d, 3, 0x10);
        *cmd_len = su_hex("1F 17 00 03 00 01 00 03 02", cmd);
        memcpy(cmd + *cmd_len, key16, 16);
        *cmd_len += 16;
    } else if (sc == SC_ESTABLISH) {
        put_ctrl(d, 0, 0x03);
        put_ctrl(d, 1, 0x03);
        uint8_t f[100] = {0x1F, 0x0B}, dp[64], hp[64], secret[32], recs[32], mac[16];
        memcpy(f + 2, KU_P256->id, 10);
        assert_int_equal(su_cmd(d, f, 12, r, &rl), 0x00);
        memcpy(dp, r + 13, 32);
        memcpy(dp + 32, r + 47, 32);
        EVP_PKEY *h = ku_keygen(KU_P256, hp);
        assert_int_equal(ku_ecdh(h, KU_P256, dp, secret), 32);
        EVP_PKEY_free(h);
        f[1] = 0x04;
        size_t n = 12 + ku_put_pub(f + 12, KU_P256, hp);
        f[n++] = 0x02;
        assert_int_equal(su_cmd(d, f, n, r, &rl), 0x00);
        size_t rn = su_hex("0007 00 00 00 01 00 03 02  0008 00 01 01 00 00 0C 04 00", recs);
        ossl_hkdf(su_salt, 32, secret, 32, (const uint8_t *)"\x12\x13", 2, okm, 80);
        ossl_cmac(okm, 32, recs, rn, mac);
        cmd[0] = 0x1F;
        cmd[1] = 0x05;
        memcpy(cmd + 2, mac, 8);
        memcpy(cmd + 10, recs, rn);
        *cmd_len = 10 + rn;
    } else if (sc == SC_COUNTER) {
        put_ctrl(d, 2, 0x10);
        *cmd_len = su_hex("1F 17 00 02 00 00 00 0C 04 80", cmd);
        memcpy(cmd + *cmd_len, key16, 16);
        assert_int_equal(su_cmd(d, cmd, *cmd_len + 16, r, &rl), 0x00);
        *cmd_len = su_hex("1B 02 02 000102030405060708090A0B0C 0002 5A5A 0010 00112233445566778899AABBCCDDEEFF", cmd);
    } else if (sc == SC_CHUNK_COUNTER) {
        put_ctrl(d, 6, 0x10);
        *cmd_len = su_hex("1F 17 00 06 00 00 00 30 04 80", cmd); /* CCM* by chunks, tag 4, counter at 0 */
        memcpy(cmd + *cmd_len, key16, 16);
        assert_int_equal(su_cmd(d, cmd, *cmd_len + 16, r, &rl), 0x00);
        *cmd_len = su_hex("1F 11 06 000D 000102030405060708090A0B0C 0002 00000020 0002 5A5A"
                          " 0010 00112233445566778899AABBCCDDEEFF", cmd);
    } else if (sc == SC_DERIVE) {
        /* slot 4 takes derived keys and holds an unlocked key; slot 9 takes them and is empty:
         * the first output goes to 9, the second to 4 (the device's choice, in that order) */
        put_ctrl(d, 4, 0x30);
        put_ctrl(d, 9, 0x20);
        *cmd_len = su_hex("1F 17 00 04 00 01 00 03 02", cmd);
        memcpy(cmd + *cmd_len, key16, 16);
        assert_int_equal(su_cmd(d, cmd, *cmd_len + 16, r, &rl), 0x00);
        *cmd_len = su_hex("1F 10 00 04 0010 00112233445566778899AABBCCDDEEFF 03 00 09 60 86 48 01 65 03 04 02 01"
                          " 00 0004 A1A2A3A4  0003 6162 63"
                          " 0008 02 00 01 00 00 0C 04 00" /* AES-256 CCM*, tag 4 */
                          " 0003 01 0010"                 /* 16 bytes to the host */
                          " 0007 02 00 00 01 00 03 02",   /* AES-128 CMAC */
                          cmd);
        static const uint8_t ikm[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                        0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
        ossl_hkdf((const uint8_t *)"\xA1\xA2\xA3\xA4", 4, ikm, 16, (const uint8_t *)"abc", 3, okm, 32 + 16 + 16);
    } else {
        *cmd_len = su_hex("11 07 00 01", cmd);
    }
    fill_journal(d, filler);
    *old = su_image(d, len);
    assert_non_null(*old);
    *want = malloc(*len);
    memcpy(*want, *old, *len);
    uint8_t *w = *want;
    static const uint8_t cmac_p[1] = {0x02}, ccm_p[2] = {0x04, 0x00}, ctr_p[2] = {0x04, 0x80};
    if (sc == SC_PLAIN) {
        sym_rec(w + SU_SYM_REC(w, 3), 0x01, 0, 1, 0x03, cmac_p, 1, 0x10, key16, 16, 0);
    } else if (sc == SC_ESTABLISH) {
        sym_rec(w + SU_SYM_REC(w, 0), 0x01, 0, 1, 0x03, cmac_p, 1, 0x03, okm + 32, 16, 0);
        sym_rec(w + SU_SYM_REC(w, 1), 0x01, 1, 0, 0x0C, ccm_p, 2, 0x03, okm + 48, 32, 0);
    } else if (sc == SC_COUNTER) {
        sym_rec(w + SU_SYM_REC(w, 2), 0x01, 0, 0, 0x0C, ctr_p, 2, 0x10, key16, 16, 1);
        assert_memory_equal(w + SU_SYM_REC(w, 2), *old + SU_SYM_REC(w, 2), 48); /* only the counter moves */
    } else if (sc == SC_CHUNK_COUNTER) {
        sym_rec(w + SU_SYM_REC(w, 6), 0x01, 0, 0, 0x30, ctr_p, 2, 0x10, key16, 16, 1);
        assert_memory_equal(w + SU_SYM_REC(w, 6), *old + SU_SYM_REC(w, 6), 48); /* only the counter moves */
    } else if (sc == SC_DERIVE) {
        sym_rec(w + SU_SYM_REC(w, 9), 0x01, 1, 0, 0x0C, ccm_p, 2, 0x20, okm, 32, 0);
        sym_rec(w + SU_SYM_REC(w, 4), 0x01, 0, 1, 0x03, cmac_p, 1, 0x30, okm + 48, 16, 0);
    } else {
        uint8_t *e = w + SU_ENV_REC(w, 0);
        e[0] = 1;
        e[1] = 1; /* AES-256 */
        *free_off = SU_ENV_REC(w, 0) + 2;
        *free_len = 32;
    }
}

static void test_power_cuts(void **state)
{
    (void)state;
    unsigned cuts[SC_COUNT] = {0}, old_seen[SC_COUNT] = {0}, new_seen[SC_COUNT] = {0};
    static const int fillers[] = {-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    for (int sc = 0; sc < SC_COUNT; sc++) {
        for (int model = 1; model <= VSAFE_SIM_CUT_MODELS; model++)
        for (size_t fi = 0; fi < sizeof fillers / sizeof fillers[0]; fi++) {
            for (uint64_t n = 1;; n++) {
                sdev_t d;
                uint8_t cmd[128], r[100], *old, *want;
                size_t cl, rl;
                uint32_t len, foff, flen;
                small_new(&d, n * 11u + (uint64_t)model * 3u + (uint64_t)sc);
                prepare(&d, sc, fillers[fi], cmd, &cl, &old, &want, &len, &foff, &flen);
                assert_int_equal(vsafe_sim_nvm_arm_cut(d.sim, n, (vsafe_sim_cut_model_t)model), VSAFE_OK);
                int st = su_cmd(&d, cmd, cl, r, &rl);
                bool cut = vsafe_sim_nvm_cut_happened(d.sim);
                vsafe_se_close(d.se);
                vsafe_sim_nvm_power_on(d.sim);
                uint32_t got_len;
                uint8_t *got = su_image(&d, &got_len);
                assert_non_null(got);
                assert_int_equal(got_len, len);
                if (flen > 0) {
                    /* the random key: take it from what was stored, but only when the record says a key is there */
                    if (got[foff - 2] == 1) {
                        bool zero = true;
                        for (uint32_t i = 0; i < flen; i++) {
                            zero = zero && got[foff + i] == 0;
                        }
                        assert_false(zero);
                        memcpy(want + foff, got + foff, flen);
                    }
                }
                bool is_old = memcmp(got, old, len) == 0, is_new = memcmp(got, want, len) == 0;
                if (!cut) {
                    assert_int_equal(st, 0x00); /* acknowledged: the new state */
                    assert_true(is_new);
                } else {
                    assert_int_equal(st, -1); /* not acknowledged: either state, nothing else */
                    cuts[sc]++;
                    if (!is_old && !is_new) {
                        fprintf(stderr, "%s, model %d, filler %d, cut %llu: neither state\n", sc_names[sc], model,
                                fillers[fi], (unsigned long long)n);
                    }
                    assert_true(is_old || is_new);
                    old_seen[sc] += is_old ? 1u : 0u;
                    new_seen[sc] += is_new && !is_old ? 1u : 0u;
                }
                /* and the device opens on it */
                su_open(&d, 5);
                free(got);
                free(old);
                free(want);
                su_free(&d);
                if (!cut) {
                    break;
                }
            }
        }
        print_message("%s: %u cuts, %u left the old state, %u the new\n", sc_names[sc], cuts[sc], old_seen[sc],
                      new_seen[sc]);
        assert_true(cuts[sc] > 2u * VSAFE_SIM_CUT_MODELS * 12u); /* more than two a run: some compact */
        assert_true(old_seen[sc] > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_power_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
