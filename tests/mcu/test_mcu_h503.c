/* The STM32H503 variant (device ID 0x474): no OBK, no TrustZone, password-only debug
 * authentication, the DA password hash in OTP (written once, kept by every regression).
 *
 * The reference below is written from what docs/LIFECYCLE.md states for this part, not from the
 * code: the product states it has (OPEN, PROVISIONING, iROT_PROVISIONED, CLOSED, LOCKED), the
 * refusals (OBK, TrustZone, certificates, partial regression), and what a full regression keeps
 * (the OTP) and erases (flash, SRAM). */
#include "mcu_test_util.h"

#include "hooks.h"
#include "vsafe/sim.h"

#define H503_PW "h503-pw-16bytes!"

static const vsafe_mcu_state_t h503_states[] = {VSAFE_MCU_STATE_OPEN, VSAFE_MCU_STATE_PROVISIONING,
                                                VSAFE_MCU_STATE_IROT_PROVISIONED, VSAFE_MCU_STATE_CLOSED,
                                                VSAFE_MCU_STATE_LOCKED};

static vsafe_mcu_t *h503_volatile(uint64_t seed)
{
    vsafe_mcu_t *m = NULL;
    vsafe_mcu_options_t o = {.rng_seed = seed, .power_on_reset = 1, .soc_class = VSAFE_MCU_DEVID_H503};
    CHECK(vsafe_mcu_open(&m, &o));
    return m;
}

static void otp_provision(vsafe_mcu_t *m, const char *pw)
{
    uint8_t h[32];
    CHECK(vsafe_da_password_hash((const uint8_t *)pw, strlen(pw), h));
    CHECK(vsafe_mcu_otp_provision_password(m, h));
}

/* An STM32H503 in state s: markers in every memory region, the OTP provisioned (unless OPEN). */
static vsafe_mcu_t *h503_in_state(vsafe_mcu_state_t s, uint64_t seed)
{
    creds_init();
    vsafe_mcu_t *m = h503_volatile(seed);
    for (unsigned r = 0; r < VSAFE_MCU_MEM_COUNT; r++) {
        CHECK(vsafe_mcu_mem_write(m, (vsafe_mcu_mem_t)r, 0, marker, sizeof marker));
    }
    if (s == VSAFE_MCU_STATE_OPEN) {
        return m;
    }
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    otp_provision(m, H503_PW);
    if (s != VSAFE_MCU_STATE_PROVISIONING) {
        go(m, s);
    }
    return m;
}

static bool otp_blank(vsafe_mcu_t *m) { return obk_erased(m, VSAFE_MCU_OBK_HDPL1); }

static void test_h503_part_parse_and_name(void **state)
{
    (void)state;
    static const char *const names[] = {"STM32H503", "stm32h503", "H503", "h503"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        uint32_t id = 0;
        CHECK(vsafe_mcu_part_parse(names[i], &id));
        assert_int_equal(id, 0x474u);
    }
    uint32_t id = 0;
    assert_int_equal(vsafe_mcu_part_parse("STM32H504", &id), VSAFE_ERR_ARGUMENT);
    assert_string_equal(vsafe_mcu_part_name(0x474u), "STM32H503");
    assert_string_equal(vsafe_mcu_part_name(0x484u), "STM32H562/H563/H573");
    assert_string_equal(vsafe_mcu_part_name(0x478u), "STM32H523/H533");
    vsafe_mcu_t *m = h503_volatile(1);
    vsafe_mcu_info_t i;
    CHECK(vsafe_mcu_info(m, &i));
    assert_int_equal(i.soc_class, 0x474u);
    assert_false(i.trustzone);
    assert_false(i.da_provisioned);
    vsafe_mcu_close(m);
}

/* ---- the state x event matrix of the STM32H503 ---- */
typedef enum {
    HV_PROG_OPEN, HV_PROG_PROV, HV_PROG_IROT, HV_PROG_TZC, HV_PROG_CLOSED, HV_PROG_LOCKED,
    HV_FW_FULL, HV_FW_PARTIAL, HV_DA_PASSWORD, HV_DA_BAD_PASSWORD, HV_DA_CERT_FULL, HV_DA_CERT_PARTIAL,
    HV_DA_CERT_DEBUG, HV_OTP_PROVISION, HV_OBK_WRITE, HV_OBK_READ, HV_TZ_ON, HV_TZ_OFF, HV_RESET, HV_COUNT
} hevent_t;
static const char *const hv_names[] = {"prog OPEN", "prog PROVISIONING", "prog iROT", "prog TZ_CLOSED", "prog CLOSED",
                                       "prog LOCKED", "fw full", "fw partial", "DA password", "DA wrong password",
                                       "DA cert full", "DA cert partial", "DA cert debug", "OTP provision",
                                       "OBK write", "OBK read", "TZ on", "TZ off", "reset"};
typedef enum { HX_NONE, HX_FULL, HX_OTP } heffect_t;

typedef struct {
    int rc;
    vsafe_mcu_state_t after;
    heffect_t fx;
    bool counted; /* one DA attempt spent */
} hexpect_t;

static int rank_of(vsafe_mcu_state_t s)
{
    for (int i = 0; i < 6; i++) {
        if (all_states[i] == s) {
            return i;
        }
    }
    return -1;
}

static hexpect_t h503_reference(vsafe_mcu_state_t s, hevent_t ev)
{
    hexpect_t e = {VSAFE_OK, s, HX_NONE, false};
    bool locked = s == VSAFE_MCU_STATE_LOCKED, open = s == VSAFE_MCU_STATE_OPEN;
    bool prov = s == VSAFE_MCU_STATE_PROVISIONING;
    switch (ev) {
    case HV_PROG_OPEN: case HV_PROG_PROV: case HV_PROG_IROT: case HV_PROG_TZC: case HV_PROG_CLOSED: case HV_PROG_LOCKED: {
        vsafe_mcu_state_t t = all_states[ev - HV_PROG_OPEN];
        /* forward only; from OPEN only to PROVISIONING or iROT; never TZ_CLOSED (no TrustZone) */
        bool ok = rank_of(t) > rank_of(s) && t != VSAFE_MCU_STATE_TZ_CLOSED &&
                  (!open || t == VSAFE_MCU_STATE_PROVISIONING || t == VSAFE_MCU_STATE_IROT_PROVISIONED);
        if (locked) e.rc = VSAFE_ERR_MCU_LOCKED;
        else if (ok) e.after = t;
        else e.rc = VSAFE_ERR_MCU_TRANSITION;
        break;
    }
    case HV_FW_FULL:
        if (locked) e.rc = VSAFE_ERR_MCU_LOCKED;
        else if (prov) e.rc = VSAFE_ERR_MCU_NO_FIRMWARE;
        else if (open) e.rc = VSAFE_ERR_MCU_TRANSITION;
        else { e.after = VSAFE_MCU_STATE_OPEN; e.fx = HX_FULL; }
        break;
    case HV_FW_PARTIAL: /* no TrustZone, no TZ_CLOSED to fall back to */
        if (locked) e.rc = VSAFE_ERR_MCU_LOCKED;
        else if (prov) e.rc = VSAFE_ERR_MCU_NO_FIRMWARE;
        else e.rc = VSAFE_ERR_MCU_TRANSITION;
        break;
    case HV_DA_PASSWORD:
        if (locked) e.rc = VSAFE_ERR_MCU_LOCKED;
        else if (open) e.rc = VSAFE_ERR_STATE;
        else { e.after = VSAFE_MCU_STATE_OPEN; e.fx = HX_FULL; }
        break;
    case HV_DA_BAD_PASSWORD:
        if (locked) e.rc = VSAFE_ERR_MCU_LOCKED;
        else if (open) e.rc = VSAFE_ERR_STATE;
        else { e.rc = VSAFE_ERR_DA_BAD_PASSWORD; e.counted = true; }
        break;
    case HV_DA_CERT_FULL: case HV_DA_CERT_PARTIAL: case HV_DA_CERT_DEBUG: /* no certificate method */
        if (locked) e.rc = VSAFE_ERR_MCU_LOCKED;
        else if (open) e.rc = VSAFE_ERR_STATE;
        else { e.rc = VSAFE_ERR_DA_METHOD; e.counted = true; }
        break;
    case HV_OTP_PROVISION: /* the provisioning tool, in OPEN or PROVISIONING, once */
        if (!open && !prov) e.rc = VSAFE_ERR_STATE;
        else if (!open) e.rc = VSAFE_ERR_MCU_OTP_LOCKED; /* the fixture programmed it in PROVISIONING */
        else e.fx = HX_OTP;
        break;
    case HV_OBK_WRITE: case HV_OBK_READ:
        e.rc = VSAFE_ERR_MCU_NO_OBK;
        break;
    case HV_TZ_ON:
        e.rc = open || prov ? VSAFE_ERR_MCU_NO_TRUSTZONE : VSAFE_ERR_MCU_TZEN_FROZEN;
        break;
    case HV_TZ_OFF:
        if (!open && !prov) e.rc = VSAFE_ERR_MCU_TZEN_FROZEN;
        break;
    default:
        break;
    }
    return e;
}

static int h503_apply(vsafe_mcu_t *m, hevent_t ev)
{
    uint8_t b[16] = {0};
    switch (ev) {
    case HV_PROG_OPEN: case HV_PROG_PROV: case HV_PROG_IROT: case HV_PROG_TZC: case HV_PROG_CLOSED: case HV_PROG_LOCKED:
        return vsafe_mcu_program_state(m, all_states[ev - HV_PROG_OPEN]);
    case HV_FW_FULL: return vsafe_mcu_fw_regression(m, true);
    case HV_FW_PARTIAL: return vsafe_mcu_fw_regression(m, false);
    case HV_DA_PASSWORD: return vsafe_da_authenticate_password(m, H503_PW);
    case HV_DA_BAD_PASSWORD: return vsafe_da_authenticate_password(m, "not-the-password");
    case HV_DA_CERT_FULL: return da_cert(m, VSAFE_DA_PERM_REGRESS_FULL);
    case HV_DA_CERT_PARTIAL: return da_cert(m, VSAFE_DA_PERM_REGRESS_PARTIAL);
    case HV_DA_CERT_DEBUG: return da_cert(m, VSAFE_DA_PERM_DEBUG_NS_HDPL1 + 2u);
    case HV_OTP_PROVISION: {
        uint8_t h[32];
        CHECK(vsafe_da_password_hash((const uint8_t *)H503_PW, strlen(H503_PW), h));
        return vsafe_mcu_otp_provision_password(m, h);
    }
    case HV_OBK_WRITE: return vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, marker, 16);
    case HV_OBK_READ: return vsafe_mcu_obk_read(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL1, 0, b, 16);
    case HV_TZ_ON: return vsafe_mcu_set_trustzone(m, true);
    case HV_TZ_OFF: return vsafe_mcu_set_trustzone(m, false);
    default: return vsafe_mcu_reset(m);
    }
}

static void test_h503_matrix_state_by_event(void **state)
{
    (void)state;
    unsigned cells = 0;
    for (size_t si = 0; si < sizeof h503_states / sizeof h503_states[0]; si++) {
        vsafe_mcu_state_t s = h503_states[si];
        for (int ev = 0; ev < HV_COUNT; ev++) {
            vsafe_mcu_t *m = h503_in_state(s, 300u + (uint64_t)ev);
            uint8_t otp0[VSAFE_DA_CONFIG_LEN];
            memcpy(otp0, obk_raw(m, VSAFE_MCU_OBK_HDPL1), sizeof otp0);
            uint32_t attempts0 = mcu_attempts(m);
            hexpect_t e = h503_reference(s, (hevent_t)ev);
            int rc = h503_apply(m, (hevent_t)ev);
            if (rc != e.rc) {
                fail_msg("H503 %s %s: rc %d, want %d", vsafe_mcu_state_name(s), hv_names[ev], rc, e.rc);
            }
            assert_int_equal(mcu_attempts(m), attempts0 + (e.counted ? 1u : 0u));
            CHECK(vsafe_mcu_reset(m));
            if (vsafe_mcu_state(m) != e.after) {
                fail_msg("H503 %s %s: state %s, want %s", vsafe_mcu_state_name(s), hv_names[ev],
                         vsafe_mcu_state_name(vsafe_mcu_state(m)), vsafe_mcu_state_name(e.after));
            }
            assert_false(mcu_tz_on(m)); /* TrustZone never comes on */
            /* the other OBK areas are never used on this part */
            for (unsigned a = VSAFE_MCU_OBK_HDPL2; a < VSAFE_MCU_OBK_COUNT; a++) {
                assert_true(obk_erased(m, (vsafe_mcu_obk_t)a));
            }
            if (e.fx == HX_FULL) {
                for (unsigned r = 0; r < VSAFE_MCU_MEM_COUNT; r++) {
                    assert_true(mem_erased(m, (vsafe_mcu_mem_t)r));
                }
            } else {
                for (unsigned r = 0; r < VSAFE_MCU_MEM_COUNT; r++) {
                    assert_true(mem_has_marker(m, (vsafe_mcu_mem_t)r));
                }
            }
            /* the OTP: programmed once, by the OTP event in OPEN, kept through everything else */
            if (e.fx == HX_OTP) {
                assert_false(otp_blank(m));
                assert_true(mcu_da_config_valid(m));
            } else if (s == VSAFE_MCU_STATE_OPEN) {
                assert_true(otp_blank(m));
            } else {
                assert_memory_equal(obk_raw(m, VSAFE_MCU_OBK_HDPL1), otp0, sizeof otp0);
                assert_true(mcu_da_config_valid(m));
            }
            vsafe_mcu_close(m);
            cells++;
        }
    }
    assert_int_equal(cells, 5u * HV_COUNT);
}

/* The password works again after a full regression (it is in OTP, not in erased OBK), and a new
 * password cannot be provisioned over it. */
static void test_h503_otp_survives_regression_and_is_written_once(void **state)
{
    (void)state;
    vsafe_mcu_t *m = h503_in_state(VSAFE_MCU_STATE_CLOSED, 7);
    CHECK(vsafe_da_authenticate_password(m, H503_PW));
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_OPEN);
    vsafe_mcu_info_t i;
    CHECK(vsafe_mcu_info(m, &i));
    assert_true(i.da_provisioned);
    /* OPEN again: the OTP is written, so a second password is refused and the first one stays */
    uint8_t h[32];
    CHECK(vsafe_da_password_hash((const uint8_t *)"another-password", 16, h));
    assert_int_equal(vsafe_mcu_otp_provision_password(m, h), VSAFE_ERR_MCU_OTP_LOCKED);
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    assert_int_equal(vsafe_mcu_otp_provision_password(m, h), VSAFE_ERR_MCU_OTP_LOCKED);
    go(m, VSAFE_MCU_STATE_CLOSED);
    assert_int_equal(vsafe_da_authenticate_password(m, "another-password"), VSAFE_ERR_DA_BAD_PASSWORD);
    CHECK(vsafe_da_authenticate_password(m, H503_PW));
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_OPEN);
    vsafe_mcu_close(m);
}

/* ST's password files for the STM32H503, in their format (the bytes are this test's own): the
 * password (user_password.bin: any bytes, 12 here, zeros included), its SHA-256 as it goes to
 * OTP (board_password.bin), and the ADAC TLV the debugger sends (da_password.bin). The expected
 * hash was computed apart, with Python's hashlib. */
static void test_h503_password_bin_format(void **state)
{
    (void)state;
    static const uint8_t user_pw[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    static const uint8_t board_pw[32] = {0xff, 0xf3, 0xa9, 0xbc, 0xdd, 0x37, 0x36, 0x3d, 0x70, 0x3c, 0x1c,
                                         0x4f, 0x95, 0x12, 0x53, 0x36, 0x86, 0x15, 0x78, 0x68, 0xf0, 0xd4,
                                         0xf1, 0x6a, 0x0f, 0x02, 0xd0, 0xf1, 0xda, 0x24, 0xf9, 0xa2};
    uint8_t da_pw[8 + 12] = {0x00, 0x00, 0x00, 0x80, 0x0c, 0x00, 0x00, 0x00};
    memcpy(da_pw + 8, user_pw, sizeof user_pw);
    uint8_t h[32];
    CHECK(vsafe_da_password_hash(user_pw, sizeof user_pw, h));
    assert_memory_equal(h, board_pw, 32);

    vsafe_mcu_t *m = h503_volatile(11);
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    CHECK(vsafe_mcu_otp_provision_password(m, board_pw));
    go(m, VSAFE_MCU_STATE_CLOSED);
    const uint8_t *pw = NULL;
    size_t pw_len = 0;
    CHECK(vsafe_da_password_file_parse(da_pw, sizeof da_pw, &pw, &pw_len));
    assert_int_equal(pw_len, 12u);
    /* a byte flipped in the password is refused, and costs an attempt */
    uint8_t wrong[12];
    memcpy(wrong, pw, sizeof wrong);
    wrong[5] ^= 0x01;
    assert_int_equal(vsafe_da_authenticate_password_bytes(m, wrong, sizeof wrong), VSAFE_ERR_DA_BAD_PASSWORD);
    assert_int_equal(mcu_attempts(m), 1u);
    CHECK(vsafe_da_authenticate_password_bytes(m, pw, pw_len));
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_OPEN);
    assert_int_equal(mcu_attempts(m), 1u);
    vsafe_mcu_close(m);
}

/* Discovery announces the part: device ID 0x474, TrustZone off, and the OTP configuration. */
static void test_h503_discovery(void **state)
{
    (void)state;
    vsafe_mcu_t *m = h503_in_state(VSAFE_MCU_STATE_CLOSED, 13);
    uint8_t req[8], rsp[512];
    size_t rl, n, vl;
    const uint8_t *v;
    CHECK(vsafe_da_frame_begin(VSAFE_DA_CMD_DISCOVERY, req, sizeof req, &rl));
    CHECK(vsafe_mcu_da_request(m, req, rl, rsp, sizeof rsp, &n));
    CHECK(vsafe_da_response_tlv(rsp, n, VSAFE_DA_TLV_SOC_CLASS, &v, &vl));
    assert_int_equal(vl, 4u);
    assert_int_equal(v[0] | (v[1] << 8) | (v[2] << 16) | ((uint32_t)v[3] << 24), 0x474u);
    CHECK(vsafe_da_response_tlv(rsp, n, VSAFE_DA_TLV_TZEN, &v, &vl));
    assert_int_equal(v[0], VSAFE_MCU_TZEN_OFF);
    CHECK(vsafe_da_response_tlv(rsp, n, VSAFE_DA_TLV_ST_PROVISIONED, &v, &vl));
    assert_int_equal(v[0] | (v[1] << 8) | (v[2] << 16) | ((uint32_t)v[3] << 24), 0xEAEAEAEAu);
    vsafe_mcu_close(m);
}

/* What the part cannot do is refused with its own status, and the other parts are unchanged. */
static void test_h503_refusals_and_other_parts(void **state)
{
    (void)state;
    uint8_t h[32] = {1};
    /* a part with OBK keeps its DA configuration there: no OTP call */
    vsafe_mcu_t *m = mcu_volatile(17);
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    assert_int_equal(vsafe_mcu_otp_provision_password(m, h), VSAFE_ERR_UNSUPPORTED);
    CHECK(vsafe_mcu_set_trustzone(m, true));
    vsafe_mcu_close(m);
    /* the H503: footguns ask for a DA configuration, never for host keys (it has no OBK for them) */
    m = h503_volatile(19);
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    assert_int_equal(vsafe_mcu_footguns(m, VSAFE_MCU_STATE_CLOSED), VSAFE_MCU_WARN_NO_DA_CONFIG);
    assert_int_equal(vsafe_mcu_footguns(m, VSAFE_MCU_STATE_LOCKED), VSAFE_MCU_WARN_LOCKING);
    assert_false(vsafe_mcu_transition_allowed(m, VSAFE_MCU_STATE_TZ_CLOSED));
    otp_provision(m, H503_PW);
    assert_int_equal(vsafe_mcu_footguns(m, VSAFE_MCU_STATE_CLOSED), 0u);
    /* the board's firmware finds no host keys: there is no OBK to read them from */
    assert_int_equal(vsafe_board_session_open(m, NULL), VSAFE_ERR_MCU_NO_OBK);
    /* inert: the OTP waits for the reset like every other change */
    vsafe_mcu_close(m);
    m = h503_volatile(23);
    CHECK(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_PROVISIONING));
    assert_int_equal(vsafe_mcu_otp_provision_password(m, h), VSAFE_ERR_MCU_INERT);
    CHECK(vsafe_mcu_reset(m));
    CHECK(vsafe_mcu_otp_provision_password(m, h));
    vsafe_mcu_close(m);
}

/* ---- power cuts: the OTP write and a full regression, at every NVM operation ---- */
static vsafe_sim_nvm_t *sim;
static uint8_t *snapshot;
static size_t snapshot_len;
static vsafe_openssl_crypto_t *oc;

static struct vsafe_mcu *boot(void)
{
    struct vsafe_mcu *m = calloc(1, sizeof *m);
    assert_non_null(m);
    CHECK(vsafe_mcu_core_start_ex(m, vsafe_sim_nvm_port(sim), vsafe_openssl_crypto_port(oc), 0, VSAFE_MCU_DEVID_H503, 1));
    return m;
}

static void setup_sim(vsafe_mcu_state_t s, bool provisioned)
{
    vsafe_nvm_geometry_t geo = {.prog_unit = 16, .page_size = 4096, .erased = 0xFF};
    geo.page_count = vsafe_store_nvm_bytes(MCU_IMAGE_LEN, 16384, 4096) / 4096u;
    CHECK(vsafe_sim_nvm_new(&sim, &geo, 29));
    CHECK(vsafe_openssl_crypto_new(&oc, 29));
    struct vsafe_mcu *m = boot();
    for (unsigned r = 0; r < VSAFE_MCU_MEM_COUNT; r++) {
        CHECK(vsafe_mcu_mem_write(m, (vsafe_mcu_mem_t)r, 0, marker, sizeof marker));
    }
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    if (provisioned) {
        otp_provision(m, H503_PW);
    }
    if (s != VSAFE_MCU_STATE_PROVISIONING) {
        go(m, s);
    }
    free(m);
    uint8_t *mem = vsafe_sim_nvm_mem(sim, &snapshot_len);
    snapshot = malloc(snapshot_len);
    memcpy(snapshot, mem, snapshot_len);
}

static void teardown_sim(void)
{
    free(snapshot);
    vsafe_openssl_crypto_free(oc);
    vsafe_sim_nvm_free(sim);
}

static unsigned sweep(int (*op)(struct vsafe_mcu *), void (*check)(struct vsafe_mcu *, bool))
{
    static const vsafe_sim_cut_model_t models[] = {VSAFE_SIM_CUT_DROPPED, VSAFE_SIM_CUT_TORN_UNIT, VSAFE_SIM_CUT_TORN_PAGE};
    unsigned cuts = 0;
    for (size_t mi = 0; mi < 3; mi++) {
        for (uint64_t n = 1;; n++) {
            memcpy(vsafe_sim_nvm_mem(sim, &snapshot_len), snapshot, snapshot_len);
            vsafe_sim_nvm_power_on(sim);
            vsafe_sim_nvm_reseed(sim, n * 7919u + mi);
            struct vsafe_mcu *m = boot();
            CHECK(vsafe_sim_nvm_arm_cut(sim, n, models[mi]));
            int rc = op(m);
            bool cut = vsafe_sim_nvm_cut_happened(sim);
            vsafe_sim_nvm_disarm(sim);
            free(m);
            if (!cut) {
                assert_int_equal(rc, VSAFE_OK);
            }
            vsafe_sim_nvm_power_on(sim);
            m = boot();
            check(m, !cut);
            free(m);
            if (!cut) {
                break;
            }
            cuts++;
            assert_true(n < 2000); /* a runaway guard: one snapshot of the whole image is ~680 ops */
        }
    }
    return cuts;
}

static int op_otp(struct vsafe_mcu *m)
{
    uint8_t h[32];
    CHECK(vsafe_da_password_hash((const uint8_t *)H503_PW, strlen(H503_PW), h));
    return vsafe_mcu_otp_provision_password(m, h);
}

static void check_otp(struct vsafe_mcu *m, bool completed)
{
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_PROVISIONING);
    /* wholly blank or wholly programmed (and then valid): never a half-written OTP */
    bool blank = otp_blank(m);
    assert_true(blank || mcu_da_config_valid(m));
    if (completed) {
        assert_false(blank);
    }
}

static int op_regress(struct vsafe_mcu *m) { return vsafe_da_authenticate_password(m, H503_PW); }

static void check_regress(struct vsafe_mcu *m, bool completed)
{
    vsafe_mcu_state_t s = vsafe_mcu_state(m);
    assert_true(s == VSAFE_MCU_STATE_CLOSED || s == VSAFE_MCU_STATE_OPEN);
    if (completed) {
        assert_int_equal(s, VSAFE_MCU_STATE_OPEN);
    }
    if (s == VSAFE_MCU_STATE_OPEN) {
        for (unsigned r = 0; r < VSAFE_MCU_MEM_COUNT; r++) {
            assert_true(mem_erased(m, (vsafe_mcu_mem_t)r));
        }
    }
    assert_true(mcu_da_config_valid(m)); /* the OTP is never erased, even mid-regression */
}

static void test_h503_powercut_otp_write(void **state)
{
    (void)state;
    setup_sim(VSAFE_MCU_STATE_PROVISIONING, false);
    unsigned cuts = sweep(op_otp, check_otp);
    printf("  %u power cuts checked\n", cuts);
    assert_true(cuts >= 3u);
    teardown_sim();
}

static void test_h503_powercut_full_regression_keeps_otp(void **state)
{
    (void)state;
    setup_sim(VSAFE_MCU_STATE_CLOSED, true);
    unsigned cuts = sweep(op_regress, check_regress);
    printf("  %u power cuts checked\n", cuts);
    assert_true(cuts >= 6u);
    teardown_sim();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h503_part_parse_and_name),
        cmocka_unit_test(test_h503_matrix_state_by_event),
        cmocka_unit_test(test_h503_otp_survives_regression_and_is_written_once),
        cmocka_unit_test(test_h503_password_bin_format),
        cmocka_unit_test(test_h503_discovery),
        cmocka_unit_test(test_h503_refusals_and_other_parts),
        cmocka_unit_test(test_h503_powercut_otp_write),
        cmocka_unit_test(test_h503_powercut_full_regression_keeps_otp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
