/* MCU lifecycle: encodings, the full state x event matrix against a reference model written from
 * the lifecycle model's transition table (not from the implementation), and its invariants 1, 2, 3, 5, 6
 * (docs/LIFECYCLE.md). */
#include "mcu_test_util.h"

/* ---- encodings (the model's rule: sparse words >= 8 bits apart, far from 0 and ~0) ---- */
static unsigned popcount32(uint32_t x)
{
    unsigned n = 0;
    for (; x != 0u; x &= x - 1u) {
        n++;
    }
    return n;
}

static void test_sparse_words_generator_and_distances(void **state)
{
    (void)state;
    static const uint8_t codes[] = {0xED, 0x17, 0x2E, 0xC6, 0x72, 0x5C, 0x9A, 0xA3, 0xB4, 0xC3};
    /* Re-run the recorded generator: xorshift32(13,17,5), seed 0x4C435354, popcount 12..20,
     * >= 12 from every earlier word. */
    uint32_t gen[10];
    unsigned n = 0;
    uint32_t x = 0x4C435354u;
    while (n < 10u) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        unsigned pc = popcount32(x);
        if (pc < 12u || pc > 20u) {
            continue;
        }
        bool ok = true;
        for (unsigned i = 0; i < n; i++) {
            ok = ok && popcount32(x ^ gen[i]) >= 12u;
        }
        if (ok) {
            gen[n++] = x;
        }
    }
    for (unsigned i = 0; i < 10u; i++) {
        uint32_t w = mcu_sparse_word(codes[i]);
        assert_int_equal(w, gen[i]);
        assert_true(popcount32(w) >= 8u && popcount32(~w) >= 8u);
        for (unsigned j = i + 1u; j < 10u; j++) {
            assert_true(popcount32(w ^ mcu_sparse_word(codes[j])) >= 8u);
            assert_int_not_equal(codes[i], codes[j]);
        }
        assert_int_not_equal(codes[i], 0x00);
        assert_int_not_equal(codes[i], 0xFF);
    }
    assert_int_equal(mcu_sparse_word(0x00), 0);
    assert_int_equal(mcu_sparse_word(0xFF), 0);
}

static void test_record_mismatch_decodes_invalid(void **state)
{
    (void)state;
    vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_CLOSED, true, 11);
    uint8_t saved[MCU_REC_LEN];
    memcpy(saved, m->image + MCU_OFF_LC, MCU_REC_LEN);
    /* every single-bit flip of the record decodes to INVALID */
    for (unsigned bit = 0; bit < MCU_REC_LEN * 8u; bit++) {
        memcpy(m->image + MCU_OFF_LC, saved, MCU_REC_LEN);
        m->image[MCU_OFF_LC + bit / 8u] ^= (uint8_t)(1u << (bit % 8u));
        assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_INVALID);
    }
    /* code of another state with the CLOSED sparse word and a fixed-up CRC: still INVALID */
    memcpy(m->image + MCU_OFF_LC, saved, MCU_REC_LEN);
    m->image[MCU_OFF_LC] = VSAFE_MCU_STATE_OPEN;
    uint16_t crc = vsafe_crc16(m->image + MCU_OFF_LC, 6);
    m->image[MCU_OFF_LC + 6] = (uint8_t)(crc >> 8);
    m->image[MCU_OFF_LC + 7] = (uint8_t)crc;
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_INVALID);
    /* all-zero and all-FF records */
    memset(m->image + MCU_OFF_LC, 0, MCU_REC_LEN);
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_INVALID);
    memset(m->image + MCU_OFF_LC, 0xFF, MCU_REC_LEN);
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_INVALID);
    /* INVALID grants nothing */
    assert_false(vsafe_mcu_debug_access(m, VSAFE_MCU_NONSECURE, 3));
    assert_int_equal(vsafe_mcu_psa_lifecycle(m), VSAFE_MCU_PSA_UNKNOWN);
    assert_int_equal(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_LOCKED), VSAFE_ERR_MCU_INVALID_STATE);
    assert_int_equal(vsafe_mcu_fw_regression(m, true), VSAFE_ERR_MCU_INVALID_STATE);
    assert_int_equal(da_cert(m, VSAFE_DA_PERM_REGRESS_FULL), VSAFE_ERR_MCU_INVALID_STATE);
    uint8_t b[4];
    assert_int_equal(vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, b, 4), VSAFE_ERR_MCU_INVALID_STATE);
    vsafe_mcu_close(m);
}

/* ---- the matrix ---- */
typedef enum {
    EV_PROG_OPEN, EV_PROG_PROV, EV_PROG_IROT, EV_PROG_TZC, EV_PROG_CLOSED, EV_PROG_LOCKED,
    EV_FW_FULL, EV_FW_PARTIAL, EV_DA_FULL, EV_DA_PARTIAL, EV_DA_DEBUG, EV_TZ_ON, EV_TZ_OFF, EV_RESET, EV_COUNT
} event_t;
static const char *const ev_names[] = {"prog OPEN", "prog PROVISIONING", "prog iROT", "prog TZ_CLOSED", "prog CLOSED",
                                       "prog LOCKED", "fw full", "fw partial", "DA full", "DA partial", "DA debug",
                                       "TZ on", "TZ off", "reset"};
typedef enum { FX_NONE, FX_FULL, FX_PARTIAL, FX_GRANT } effect_t;

typedef struct {
    int rc;
    vsafe_mcu_state_t after;
    effect_t fx;
} expect_t;

/* Allowed option-byte programs, straight from the transition table (T1, T2, T4, T5). */
static bool spec_forward(vsafe_mcu_state_t f, vsafe_mcu_state_t t, bool tz)
{
    static const struct { vsafe_mcu_state_t f, t; } ok[] = {
        {VSAFE_MCU_STATE_OPEN, VSAFE_MCU_STATE_PROVISIONING},      {VSAFE_MCU_STATE_OPEN, VSAFE_MCU_STATE_IROT_PROVISIONED},
        {VSAFE_MCU_STATE_PROVISIONING, VSAFE_MCU_STATE_IROT_PROVISIONED}, {VSAFE_MCU_STATE_PROVISIONING, VSAFE_MCU_STATE_TZ_CLOSED},
        {VSAFE_MCU_STATE_PROVISIONING, VSAFE_MCU_STATE_CLOSED},    {VSAFE_MCU_STATE_PROVISIONING, VSAFE_MCU_STATE_LOCKED},
        {VSAFE_MCU_STATE_IROT_PROVISIONED, VSAFE_MCU_STATE_TZ_CLOSED}, {VSAFE_MCU_STATE_IROT_PROVISIONED, VSAFE_MCU_STATE_CLOSED},
        {VSAFE_MCU_STATE_IROT_PROVISIONED, VSAFE_MCU_STATE_LOCKED}, {VSAFE_MCU_STATE_TZ_CLOSED, VSAFE_MCU_STATE_CLOSED},
        {VSAFE_MCU_STATE_TZ_CLOSED, VSAFE_MCU_STATE_LOCKED},       {VSAFE_MCU_STATE_CLOSED, VSAFE_MCU_STATE_LOCKED},
    };
    if (t == VSAFE_MCU_STATE_TZ_CLOSED && !tz) {
        return false;
    }
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (ok[i].f == f && ok[i].t == t) {
            return true;
        }
    }
    return false;
}

static expect_t reference(vsafe_mcu_state_t s, bool tz, event_t ev)
{
    expect_t e = {VSAFE_OK, s, FX_NONE};
    bool locked = s == VSAFE_MCU_STATE_LOCKED;
    bool regressable = s == VSAFE_MCU_STATE_PROVISIONING || s == VSAFE_MCU_STATE_IROT_PROVISIONED ||
                       s == VSAFE_MCU_STATE_TZ_CLOSED || s == VSAFE_MCU_STATE_CLOSED;
    switch (ev) {
    case EV_PROG_OPEN: case EV_PROG_PROV: case EV_PROG_IROT: case EV_PROG_TZC: case EV_PROG_CLOSED: case EV_PROG_LOCKED: {
        vsafe_mcu_state_t t = all_states[ev - EV_PROG_OPEN];
        if (locked) {
            e.rc = VSAFE_ERR_MCU_LOCKED;
        } else if (spec_forward(s, t, tz)) {
            e.after = t;
        } else {
            e.rc = VSAFE_ERR_MCU_TRANSITION;
        }
        break;
    }
    /* User firmware does not run in PROVISIONING: no HDPL1 firmware to ask for a regression. */
    case EV_FW_FULL:
        if (locked) e.rc = VSAFE_ERR_MCU_LOCKED;
        else if (s == VSAFE_MCU_STATE_PROVISIONING) e.rc = VSAFE_ERR_MCU_NO_FIRMWARE;
        else if (regressable) { e.after = VSAFE_MCU_STATE_OPEN; e.fx = FX_FULL; }
        else e.rc = VSAFE_ERR_MCU_TRANSITION;
        break;
    case EV_FW_PARTIAL:
        if (locked) e.rc = VSAFE_ERR_MCU_LOCKED;
        else if (s == VSAFE_MCU_STATE_PROVISIONING) e.rc = VSAFE_ERR_MCU_NO_FIRMWARE;
        else if (s == VSAFE_MCU_STATE_CLOSED && tz) { e.after = VSAFE_MCU_STATE_TZ_CLOSED; e.fx = FX_PARTIAL; }
        else e.rc = VSAFE_ERR_MCU_TRANSITION;
        break;
    /* DA in OPEN is refused before it is counted: nothing can be granted there (issue 8 finding 6). */
    case EV_DA_FULL:
        if (locked) e.rc = VSAFE_ERR_MCU_LOCKED;
        else if (s == VSAFE_MCU_STATE_OPEN) e.rc = VSAFE_ERR_STATE;
        else { e.after = VSAFE_MCU_STATE_OPEN; e.fx = FX_FULL; }
        break;
    case EV_DA_PARTIAL:
    case EV_DA_DEBUG:
        if (locked) e.rc = VSAFE_ERR_MCU_LOCKED;
        else if (s == VSAFE_MCU_STATE_OPEN) e.rc = VSAFE_ERR_STATE;
        else if (!tz) e.rc = VSAFE_ERR_DA_METHOD;
        else if (ev == EV_DA_DEBUG) e.fx = FX_GRANT;
        else if (s == VSAFE_MCU_STATE_CLOSED) { e.after = VSAFE_MCU_STATE_TZ_CLOSED; e.fx = FX_PARTIAL; }
        else e.rc = VSAFE_ERR_MCU_TRANSITION;
        break;
    /* TZEN is an option byte that can change in OPEN and in PROVISIONING (RM0481). */
    case EV_TZ_ON:
    case EV_TZ_OFF:
        if (s != VSAFE_MCU_STATE_OPEN && s != VSAFE_MCU_STATE_PROVISIONING) e.rc = VSAFE_ERR_MCU_TZEN_FROZEN;
        break;
    default:
        break;
    }
    return e;
}

static int apply(vsafe_mcu_t *m, event_t ev)
{
    switch (ev) {
    case EV_PROG_OPEN: case EV_PROG_PROV: case EV_PROG_IROT: case EV_PROG_TZC: case EV_PROG_CLOSED: case EV_PROG_LOCKED:
        return vsafe_mcu_program_state(m, all_states[ev - EV_PROG_OPEN]);
    case EV_FW_FULL: return vsafe_mcu_fw_regression(m, true);
    case EV_FW_PARTIAL: return vsafe_mcu_fw_regression(m, false);
    case EV_DA_FULL:
        return mcu_tz_on(m) ? da_cert(m, VSAFE_DA_PERM_REGRESS_FULL) : vsafe_da_authenticate_password(m, PASSWORD);
    case EV_DA_PARTIAL: return da_cert(m, VSAFE_DA_PERM_REGRESS_PARTIAL);
    case EV_DA_DEBUG: return da_cert(m, VSAFE_DA_PERM_DEBUG_NS_HDPL1 + 2u);
    case EV_TZ_ON: return vsafe_mcu_set_trustzone(m, true);
    case EV_TZ_OFF: return vsafe_mcu_set_trustzone(m, false);
    default: return vsafe_mcu_reset(m);
    }
}

static void test_matrix_state_by_event(void **state)
{
    (void)state;
    unsigned cells = 0;
    for (int tzi = 0; tzi < 2; tzi++) {
        bool tz = tzi == 1;
        for (size_t si = 0; si < 6; si++) {
            vsafe_mcu_state_t s = all_states[si];
            if (s == VSAFE_MCU_STATE_TZ_CLOSED && !tz) {
                continue;
            }
            for (int ev = 0; ev < EV_COUNT; ev++) {
                vsafe_mcu_t *m = mcu_in_state(s, tz, 100u + (uint64_t)ev);
                uint32_t epoch = m->image[MCU_OFF_DHUK_EPOCH + 3];
                uint8_t h0[256];
                memcpy(h0, obk_raw(m, VSAFE_MCU_OBK_HDPL0), 256);
                expect_t e = reference(s, tz, (event_t)ev);
                int rc = apply(m, (event_t)ev);
                if (rc != e.rc) {
                    fail_msg("%s tz=%d %s: rc %d, want %d", vsafe_mcu_state_name(s), tz, ev_names[ev], rc, e.rc);
                }
                if (e.fx == FX_GRANT) {
                    /* granted until reset: NS debug at HDPL3, nothing secure */
                    assert_true(vsafe_mcu_debug_access(m, VSAFE_MCU_NONSECURE, 3));
                    assert_false(vsafe_mcu_debug_access(m, VSAFE_MCU_SECURE, 3));
                }
                /* T11: a programmed change is pending, inert until reset; a DA regression resets itself */
                if (rc == VSAFE_OK && ev <= EV_FW_PARTIAL) {
                    assert_int_equal(vsafe_mcu_state(m), s);
                    assert_int_equal(vsafe_mcu_mem_write(m, VSAFE_MCU_FLASH_NS, 0, marker, 4), VSAFE_ERR_MCU_INERT);
                    assert_int_equal(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_LOCKED), VSAFE_ERR_MCU_INERT);
                    assert_false(vsafe_mcu_debug_access(m, VSAFE_MCU_NONSECURE, 3));
                }
                CHECK(vsafe_mcu_reset(m));
                if (vsafe_mcu_state(m) != e.after) {
                    fail_msg("%s tz=%d %s: state %s, want %s", vsafe_mcu_state_name(s), tz, ev_names[ev],
                             vsafe_mcu_state_name(vsafe_mcu_state(m)), vsafe_mcu_state_name(e.after));
                }
                /* debug grants close at reset (invariant 5) */
                for (unsigned h = 1; h <= 3; h++) {
                    if (e.after != VSAFE_MCU_STATE_OPEN) {
                        assert_false(vsafe_mcu_debug_access(m, VSAFE_MCU_SECURE, h));
                    }
                }
                assert_memory_equal(obk_raw(m, VSAFE_MCU_OBK_HDPL0), h0, 256); /* invariant 3 */
                if (e.fx == FX_FULL) {
                    for (unsigned r = 0; r < VSAFE_MCU_MEM_COUNT; r++) {
                        assert_true(mem_erased(m, (vsafe_mcu_mem_t)r));
                    }
                    for (unsigned a = 1; a < VSAFE_MCU_OBK_COUNT; a++) {
                        assert_true(obk_erased(m, (vsafe_mcu_obk_t)a));
                    }
                    assert_int_equal(m->image[MCU_OFF_DHUK_EPOCH + 3], epoch + 1u);
                    assert_false(mcu_da_config_valid(m));
                } else if (e.fx == FX_PARTIAL) {
                    assert_true(mem_erased(m, VSAFE_MCU_FLASH_NS));
                    assert_true(mem_erased(m, VSAFE_MCU_SRAM_NS));
                    assert_true(obk_erased(m, VSAFE_MCU_OBK_HDPL3_NS));
                    assert_true(mem_has_marker(m, VSAFE_MCU_FLASH_S));
                    assert_true(mem_has_marker(m, VSAFE_MCU_SRAM_S));
                    assert_memory_equal(obk_raw(m, VSAFE_MCU_OBK_HDPL2), marker, 16);
                    assert_memory_equal(obk_raw(m, VSAFE_MCU_OBK_HDPL3_S), marker, 16);
                    assert_true(mcu_da_config_valid(m));
                    assert_int_equal(m->image[MCU_OFF_DHUK_EPOCH + 3], epoch);
                } else if (ev != EV_TZ_OFF) {
                    for (unsigned r = 0; r < VSAFE_MCU_MEM_COUNT; r++) {
                        assert_true(mem_has_marker(m, (vsafe_mcu_mem_t)r));
                    }
                    assert_int_equal(m->image[MCU_OFF_DHUK_EPOCH + 3], epoch);
                }
                vsafe_mcu_close(m);
                cells++;
            }
        }
    }
    assert_int_equal(cells, 11u * EV_COUNT);
}

/* Invariant 1 and 2: random event sequences without credentials never lower the state, except
 * the HDPL1 firmware request; LOCKED is absorbing. */
static void test_inv1_inv2_random_sequences_never_lower(void **state)
{
    (void)state;
    creds_init();
    static const int rank_of[256] = {[0xED] = 0, [0x17] = 1, [0x2E] = 2, [0xC6] = 3, [0x72] = 4, [0x5C] = 5};
    uint32_t rng = 0x12345678u;
    vsafe_da_key_t *bad_leaf = creds.other;
    for (int run = 0; run < 40; run++) {
        vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_PROVISIONING, run % 2 == 0, 500u + (uint64_t)run);
        for (int step = 0; step < 60; step++) {
            rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5;
            vsafe_mcu_state_t before = vsafe_mcu_state(m);
            bool locked_before = before == VSAFE_MCU_STATE_LOCKED;
            unsigned k = rng % 9u;
            bool fw_regress = false;
            uint8_t perm[16];
            int rc = VSAFE_OK;
            switch (k) {
            case 0: case 1: case 2:
                rc = vsafe_mcu_program_state(m, all_states[(rng >> 8) % 6u]);
                break;
            case 3:
                rc = vsafe_mcu_reset(m);
                break;
            case 4:
                perm_bit(perm, (rng >> 8) % 8u);
                rc = vsafe_da_authenticate(m, creds.chain_ptr, 3, bad_leaf, perm); /* wrong leaf key */
                break;
            case 5:
                rc = vsafe_da_authenticate_password(m, "wrong-password");
                break;
            case 6:
                rc = vsafe_mcu_hdpl_raise(m, 1u + (rng >> 8) % 3u);
                break;
            case 7:
                rc = vsafe_mcu_set_trustzone(m, (rng >> 8) & 1u);
                break;
            default:
                rc = vsafe_mcu_fw_regression(m, (rng >> 8) & 1u);
                fw_regress = rc == VSAFE_OK;
                break;
            }
            (void)rc;
            if (fw_regress) {
                CHECK(vsafe_mcu_reset(m));
                continue;
            }
            CHECK(vsafe_mcu_reset(m));
            vsafe_mcu_state_t after = vsafe_mcu_state(m);
            assert_int_not_equal(after, VSAFE_MCU_STATE_INVALID);
            assert_true(rank_of[after] >= rank_of[before]);
            if (locked_before) {
                assert_int_equal(after, VSAFE_MCU_STATE_LOCKED);
            }
            /* keep the attempt budget from running out in long runs */
            m->image[MCU_OFF_ATTEMPTS + 3] = 0;
            m->image[MCU_OFF_ATTEMPTS_INV + 3] = 0xFF;
        }
        vsafe_mcu_close(m);
    }
}

static void test_inv2_locked_refuses_everything(void **state)
{
    (void)state;
    vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_LOCKED, true, 7);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(vsafe_mcu_program_state(m, all_states[i]), VSAFE_ERR_MCU_LOCKED);
    }
    assert_int_equal(vsafe_mcu_fw_regression(m, true), VSAFE_ERR_MCU_LOCKED);
    assert_int_equal(vsafe_mcu_fw_regression(m, false), VSAFE_ERR_MCU_LOCKED);
    for (unsigned b = 0; b < 8; b++) {
        assert_int_equal(da_cert(m, b), VSAFE_ERR_MCU_LOCKED);
    }
    /* even a pending REGRESSION forced into the record does not leave LOCKED at reset */
    vsafe_txn_begin(&m->txn);
    mcu_stage_rec(&m->txn, MCU_OFF_LC_PENDING, VSAFE_MCU_STATE_REGRESSION);
    CHECK(vsafe_store_commit(&m->store, &m->txn));
    CHECK(vsafe_mcu_reset(m));
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_LOCKED);
    assert_true(mem_has_marker(m, VSAFE_MCU_FLASH_S));
    vsafe_mcu_close(m);
}

static void test_inv1_fw_regression_needs_hdpl1(void **state)
{
    (void)state;
    vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_CLOSED, true, 8);
    CHECK(vsafe_mcu_hdpl_raise(m, 2));
    assert_int_equal(vsafe_mcu_fw_regression(m, true), VSAFE_ERR_MCU_HDPL);
    assert_int_equal(vsafe_mcu_hdpl_raise(m, 1), VSAFE_ERR_MCU_HDPL); /* HDPL never lowers */
    CHECK(vsafe_mcu_reset(m));
    CHECK(vsafe_mcu_fw_regression(m, false));
    CHECK(vsafe_mcu_reset(m));
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_TZ_CLOSED);
    vsafe_mcu_close(m);
}

static void test_obk_access_rule(void **state)
{
    (void)state;
    /* iROT_PROVISIONED: the first state where the boot stages (and so the HDPL steps) run */
    vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_IROT_PROVISIONED, true, 9);
    uint8_t b[16];
    /* HDPL1: own level and higher; HDPL0 never */
    assert_int_equal(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL0, 0, b, 4), VSAFE_ERR_MCU_HDPL);
    CHECK(vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL1, 0, b, 16));
    CHECK(vsafe_mcu_hdpl_raise(m, 2));
    assert_int_equal(vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL1, 0, b, 16), VSAFE_ERR_MCU_HDPL);
    CHECK(vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL2, 0, b, 16));
    CHECK(vsafe_mcu_hdpl_raise(m, 3));
    assert_int_equal(vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL2, 0, b, 16), VSAFE_ERR_MCU_HDPL);
    CHECK(vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, b, 16));
    /* domains: non-secure only reaches HDPL3-NS */
    assert_int_equal(vsafe_mcu_obk_read(m, VSAFE_MCU_NONSECURE, VSAFE_MCU_OBK_HDPL3_S, 0, b, 16), VSAFE_ERR_MCU_HDPL);
    CHECK(vsafe_mcu_obk_read(m, VSAFE_MCU_NONSECURE, VSAFE_MCU_OBK_HDPL3_NS, 0, b, 16));
    assert_int_equal(vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_NS, 0, b, 16), VSAFE_ERR_MCU_HDPL);
    /* sizes of the spec, bounds */
    static const uint32_t sizes[] = {256, 2048, 768, 3072, 2032};
    for (unsigned a = 0; a < 5; a++) {
        assert_int_equal(vsafe_mcu_obk_size((vsafe_mcu_obk_t)a), sizes[a]);
    }
    assert_int_equal(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 3070, b, 4), VSAFE_ERR_ARGUMENT);
    vsafe_mcu_close(m);
    /* OPEN: no DHUK, no OBK */
    m = mcu_volatile(3);
    assert_int_equal(vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL1, 0, b, 4), VSAFE_ERR_STATE);
    vsafe_mcu_close(m);
}

/* Invariant 5: debug opens only at the authorised HDPL and domain, closes at reset. */
static void test_inv5_debug_reopen_scope(void **state)
{
    (void)state;
    vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_CLOSED, true, 12);
    for (unsigned h = 1; h <= 3; h++) {
        assert_false(vsafe_mcu_debug_access(m, VSAFE_MCU_NONSECURE, h));
        assert_false(vsafe_mcu_debug_access(m, VSAFE_MCU_SECURE, h));
    }
    assert_int_equal(vsafe_mcu_psa_lifecycle(m), VSAFE_MCU_PSA_SECURED);
    CHECK(da_cert(m, VSAFE_DA_PERM_DEBUG_S_HDPL1 + 1u)); /* secure, DBG_AUTH_HDPL = 2 */
    assert_false(vsafe_mcu_debug_access(m, VSAFE_MCU_SECURE, 1));
    assert_true(vsafe_mcu_debug_access(m, VSAFE_MCU_SECURE, 2));
    assert_false(vsafe_mcu_debug_access(m, VSAFE_MCU_SECURE, 3)); /* at that HDPL only */
    assert_false(vsafe_mcu_debug_access(m, VSAFE_MCU_NONSECURE, 3));
    assert_int_equal(vsafe_mcu_psa_lifecycle(m), VSAFE_MCU_PSA_SECURED); /* HDPL1 now: not open yet */
    CHECK(vsafe_mcu_hdpl_raise(m, 2));
    assert_int_equal(vsafe_mcu_psa_lifecycle(m), VSAFE_MCU_PSA_RECOVERABLE_PSA_ROT_DEBUG);
    CHECK(vsafe_mcu_hdpl_raise(m, 3));
    assert_int_equal(vsafe_mcu_psa_lifecycle(m), VSAFE_MCU_PSA_SECURED); /* closed again past HDPL2 */
    CHECK(vsafe_mcu_reset(m));
    assert_false(vsafe_mcu_debug_access(m, VSAFE_MCU_SECURE, 2));
    CHECK(da_cert(m, VSAFE_DA_PERM_DEBUG_NS_HDPL1 + 2u));
    CHECK(vsafe_mcu_hdpl_raise(m, 3));
    assert_int_equal(vsafe_mcu_psa_lifecycle(m), VSAFE_MCU_PSA_NON_PSA_ROT_DEBUG);
    /* Lock Debug closes it again */
    uint8_t req[8], rsp[64];
    size_t n, rn;
    CHECK(vsafe_da_frame_begin(VSAFE_DA_CMD_LOCK_DEBUG, req, sizeof req, &n));
    CHECK(vsafe_mcu_da_request(m, req, n, rsp, sizeof rsp, &rn));
    assert_false(vsafe_mcu_debug_access(m, VSAFE_MCU_NONSECURE, 3));
    vsafe_mcu_close(m);
}

static void test_psa_view_and_default_debug(void **state)
{
    (void)state;
    static const uint32_t psa[] = {0x1000, 0x2000, 0x2000, 0x4000, 0x3000, 0x3000};
    for (size_t i = 0; i < 6; i++) {
        vsafe_mcu_t *m = mcu_in_state(all_states[i], true, 20u + i);
        /* no boot stages run in PROVISIONING: its HDPL stays 1, which the PSA view does not depend on */
        assert_int_equal(vsafe_mcu_hdpl_raise(m, 3),
                         all_states[i] == VSAFE_MCU_STATE_PROVISIONING ? VSAFE_ERR_MCU_NO_FIRMWARE : VSAFE_OK);
        assert_int_equal(vsafe_mcu_psa_lifecycle(m), psa[i]);
        bool ns3 = vsafe_mcu_debug_access(m, VSAFE_MCU_NONSECURE, 3);
        bool s3 = vsafe_mcu_debug_access(m, VSAFE_MCU_SECURE, 3);
        assert_int_equal(ns3, i <= 3);
        assert_int_equal(s3, i == 0);
        vsafe_mcu_close(m);
    }
}

/* Invariant 6: after a full regression, data wrapped with the old DHUK fails to unwrap. */
static void test_inv6_dhuk_changes_on_full_regression(void **state)
{
    (void)state;
    vsafe_mcu_t *m = mcu_in_state(VSAFE_MCU_STATE_CLOSED, true, 30);
    uint8_t secret[32], wrapped[64], out[64];
    size_t wl, ol;
    memset(secret, 0x42, sizeof secret);
    CHECK(vsafe_mcu_dhuk_wrap(m, secret, sizeof secret, wrapped, sizeof wrapped, &wl));
    CHECK(vsafe_mcu_dhuk_unwrap(m, wrapped, wl, out, sizeof out, &ol));
    assert_memory_equal(out, secret, 32);
    /* partial regression keeps the DHUK */
    CHECK(da_cert(m, VSAFE_DA_PERM_REGRESS_PARTIAL));
    CHECK(vsafe_mcu_dhuk_unwrap(m, wrapped, wl, out, sizeof out, &ol));
    CHECK(da_cert(m, VSAFE_DA_PERM_REGRESS_FULL));
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_OPEN);
    assert_int_equal(vsafe_mcu_dhuk_unwrap(m, wrapped, wl, out, sizeof out, &ol), VSAFE_ERR_STATE);
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    assert_int_equal(vsafe_mcu_dhuk_unwrap(m, wrapped, wl, out, sizeof out, &ol), VSAFE_ERR_MCU_NO_FIRMWARE);
    go(m, VSAFE_MCU_STATE_IROT_PROVISIONED);
    assert_int_equal(vsafe_mcu_dhuk_unwrap(m, wrapped, wl, out, sizeof out, &ol), VSAFE_ERR_CRYPTO);
    vsafe_mcu_close(m);
}

static void test_t3_t6_t10_refusals_and_pending(void **state)
{
    (void)state;
    vsafe_mcu_t *m = mcu_volatile(40);
    assert_int_equal(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_CLOSED), VSAFE_ERR_MCU_TRANSITION);
    assert_int_equal(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_REGRESSION), VSAFE_ERR_MCU_TRANSITION);
    CHECK(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_PROVISIONING));
    vsafe_mcu_info_t info;
    CHECK(vsafe_mcu_info(m, &info));
    assert_true(info.pending_set);
    assert_int_equal(info.pending, VSAFE_MCU_STATE_PROVISIONING);
    assert_int_equal(info.state, VSAFE_MCU_STATE_OPEN);
    CHECK(vsafe_mcu_reset(m));
    CHECK(vsafe_mcu_info(m, &info));
    assert_false(info.pending_set);
    assert_int_equal(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_TZ_CLOSED), VSAFE_ERR_MCU_TRANSITION); /* TZ off */
    vsafe_mcu_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sparse_words_generator_and_distances),
        cmocka_unit_test(test_record_mismatch_decodes_invalid),
        cmocka_unit_test(test_matrix_state_by_event),
        cmocka_unit_test(test_inv1_inv2_random_sequences_never_lower),
        cmocka_unit_test(test_inv2_locked_refuses_everything),
        cmocka_unit_test(test_inv1_fw_regression_needs_hdpl1),
        cmocka_unit_test(test_obk_access_rule),
        cmocka_unit_test(test_inv5_debug_reopen_scope),
        cmocka_unit_test(test_psa_view_and_default_debug),
        cmocka_unit_test(test_inv6_dhuk_changes_on_full_regression),
        cmocka_unit_test(test_t3_t6_t10_refusals_and_pending),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vsafe_da_key_free(creds.root);
    vsafe_da_key_free(creds.inter);
    vsafe_da_key_free(creds.leaf);
    vsafe_da_key_free(creds.other);
    return rc;
}
