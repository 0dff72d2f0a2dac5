/* libFuzzer target on the debug-authentication messages (vsafe_mcu_da_request, src/mcu/mcu_da.c):
 * a sequence of ADAC request frames sent to a CLOSED MCU (psa-adac formats: one fragment per
 * Authentication Response).
 *
 * Input: [variant] then repeated [len u16 BE][len bytes], at most 8 requests. variant bit0: 0 = the
 * MCU trusts a certificate chain (TrustZone on, root key from tests/fuzz/da-keys/), 1 = it takes a
 * password (TrustZone off, "fuzz-pass"). Each MCU starts from the same NVM image and random seed,
 * so the challenge nonce is the same in every run and a seed can carry a valid token.
 * Properties: every request gets a well-formed response (at least the 8-byte header, within the
 * buffer, its status parseable); failed attempts never pass the limit; the MCU opens again from
 * what the requests committed. --seeds DIR (replay binary) writes the seed corpus. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "vsafe/mcu.h"
#include "vsafe/sim.h"

#ifndef VSAFE_FUZZ_DA_KEYS
#error "VSAFE_FUZZ_DA_KEYS (the directory of the test keys) must be defined by the build"
#endif

#define PAGE 4096u
#define MAX_REQUESTS 10

static const char *const PASSWORD = "fuzz-pass";

typedef struct {
    uint8_t *mem;
    size_t len;
} ref_t;

static ref_t ref[2];
static vsafe_da_key_t *root, *inter, *leaf;
static uint8_t chain[3][VSAFE_DA_CERT_LEN];

static void check(int ok)
{
    if (!ok) {
        abort();
    }
}

static vsafe_sim_nvm_t *new_sim(void)
{
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = PAGE, .erased = 0xFF};
    g.page_count = vsafe_store_nvm_bytes(MCU_IMAGE_LEN, 16u * 1024u, PAGE) / PAGE;
    vsafe_sim_nvm_t *sim = NULL;
    check(vsafe_sim_nvm_new(&sim, &g, 1) == VSAFE_OK);
    return sim;
}

static int mcu_open(vsafe_mcu_t **m, vsafe_sim_nvm_t *sim)
{
    vsafe_mcu_options_t o = {.nvm = vsafe_sim_nvm_port(sim), .rng_seed = 7, .power_on_reset = 1};
    return vsafe_mcu_open(m, &o);
}

static void load_key(vsafe_da_key_t **k, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", VSAFE_FUZZ_DA_KEYS, name);
    if (vsafe_da_key_load(k, path) != VSAFE_OK) {
        fprintf(stderr, "fuzz_da: cannot load %s\n", path);
        abort();
    }
}

static void init(void)
{
    if (ref[0].mem != NULL) {
        return;
    }
    load_key(&root, "root.pem");
    load_key(&inter, "intermediate.pem");
    load_key(&leaf, "leaf.pem");
    uint8_t mask[16] = {0}, root_pub[64];
    vsafe_put_le32(mask, VSAFE_DA_PRODUCT_MASK);
    check(vsafe_da_key_public(root, root_pub) == VSAFE_OK);
    check(vsafe_da_cert_make(root, root, VSAFE_DA_ROLE_ROOT, 0, NULL, mask, chain[0]) == VSAFE_OK);
    check(vsafe_da_cert_make(inter, root, VSAFE_DA_ROLE_INTERMEDIATE, 0, NULL, mask, chain[1]) == VSAFE_OK);
    check(vsafe_da_cert_make(leaf, inter, VSAFE_DA_ROLE_LEAF, 0, NULL, mask, chain[2]) == VSAFE_OK);
    for (int v = 0; v < 2; v++) {
        vsafe_sim_nvm_t *sim = new_sim();
        vsafe_mcu_t *m = NULL;
        check(mcu_open(&m, sim) == VSAFE_OK);
        check(vsafe_mcu_set_trustzone(m, v == 0) == VSAFE_OK);
        check(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_PROVISIONING) == VSAFE_OK && vsafe_mcu_reset(m) == VSAFE_OK);
        uint8_t cfg[VSAFE_DA_CONFIG_LEN];
        check((v == 0 ? vsafe_da_config_cert(root_pub, mask, cfg) : vsafe_da_config_password(PASSWORD, cfg)) ==
              VSAFE_OK);
        check(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL1, 0, cfg, sizeof cfg) == VSAFE_OK);
        check(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_CLOSED) == VSAFE_OK && vsafe_mcu_reset(m) == VSAFE_OK);
        vsafe_mcu_close(m);
        size_t len;
        uint8_t *mem = vsafe_sim_nvm_mem(sim, &len);
        ref[v].mem = malloc(len);
        check(ref[v].mem != NULL);
        memcpy(ref[v].mem, mem, len);
        ref[v].len = len;
        vsafe_sim_nvm_free(sim);
    }
}

static vsafe_sim_nvm_t *start(int variant, vsafe_mcu_t **m)
{
    vsafe_sim_nvm_t *sim = new_sim();
    size_t len;
    uint8_t *mem = vsafe_sim_nvm_mem(sim, &len);
    check(len == ref[variant].len);
    memcpy(mem, ref[variant].mem, len);
    vsafe_sim_nvm_power_on(sim);
    check(mcu_open(m, sim) == VSAFE_OK);
    return sim;
}

/* One request; the response must be well formed. Returns the MCU's outcome. */
static int request(vsafe_mcu_t *m, const uint8_t *req, size_t n, uint8_t *rsp, size_t cap, size_t *rn)
{
    *rn = 0;
    int rc = vsafe_mcu_da_request(m, req, n, rsp, cap, rn);
    uint16_t st = 0;
    check(*rn >= 8u && *rn <= cap);
    check(vsafe_da_response_status(rsp, *rn, &st) == VSAFE_OK);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    init();
    int variant = data[0] & 1;
    vsafe_mcu_t *m = NULL;
    vsafe_sim_nvm_t *sim = start(variant, &m);
    size_t i = 1;
    uint8_t rsp[512];
    size_t rn;
    for (int r = 0; r < MAX_REQUESTS && i + 2u <= size; r++) {
        size_t n = (size_t)data[i] << 8 | data[i + 1];
        i += 2;
        if (n > size - i) {
            n = size - i;
        }
        (void)request(m, data + i, n, rsp, sizeof rsp, &rn);
        i += n;
    }
    vsafe_mcu_info_t info;
    check(vsafe_mcu_info(m, &info) == VSAFE_OK);
    check(info.da_attempts <= info.da_attempt_limit);
    vsafe_mcu_close(m);
    check(mcu_open(&m, sim) == VSAFE_OK);
    vsafe_mcu_close(m);
    vsafe_sim_nvm_free(sim);
    return 0;
}

/* ---- seed corpus (replay binary: --seeds DIR) ---- */
typedef struct {
    uint8_t b[2048];
    size_t n;
} seed_t;

static void seed_add(seed_t *s, const uint8_t *req, size_t n)
{
    check(s->n + 2u + n <= sizeof s->b);
    s->b[s->n++] = (uint8_t)(n >> 8);
    s->b[s->n++] = (uint8_t)n;
    memcpy(s->b + s->n, req, n);
    s->n += n;
}

static void seed_cmd(seed_t *s, uint16_t cmd)
{
    uint8_t req[8];
    size_t n;
    check(vsafe_da_frame_begin(cmd, req, sizeof req, &n) == VSAFE_OK);
    seed_add(s, req, n);
}

static void write_seed(const char *dir, const char *name, const seed_t *s)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    check(f != NULL && fwrite(s->b, 1, s->n, f) == s->n && fclose(f) == 0);
}

/* The nonce the MCU of this variant hands out for its first Authentication Start. */
static void first_nonce(int variant, uint8_t nonce[32])
{
    vsafe_mcu_t *m = NULL;
    vsafe_sim_nvm_t *sim = start(variant, &m);
    uint8_t req[8], rsp[512];
    size_t n, rn;
    check(vsafe_da_frame_begin(VSAFE_DA_CMD_AUTH_START, req, sizeof req, &n) == VSAFE_OK);
    check(request(m, req, n, rsp, sizeof rsp, &rn) == VSAFE_OK);
    check(rn == 8u + 36u); /* header, then the nonce TLV: type, length, 32 bytes */
    memcpy(nonce, rsp + 12, 32);
    vsafe_mcu_close(m);
    vsafe_sim_nvm_free(sim);
}

/* Replays a seed and returns the outcome of its last request. */
static int replay_last(const seed_t *s)
{
    vsafe_mcu_t *m = NULL;
    vsafe_sim_nvm_t *sim = start(s->b[0] & 1, &m);
    size_t i = 1;
    int rc = VSAFE_ERR_ARGUMENT;
    uint8_t rsp[512];
    size_t rn;
    while (i + 2u <= s->n) {
        size_t n = (size_t)s->b[i] << 8 | s->b[i + 1];
        i += 2;
        rc = request(m, s->b + i, n, rsp, sizeof rsp, &rn);
        i += n;
    }
    vsafe_mcu_close(m);
    vsafe_sim_nvm_free(sim);
    return rc;
}

/* Test-only keys: generated once (when absent) and committed, so that every run trusts the same root. */
static void make_keys(void)
{
    static const char *names[] = {"root.pem", "intermediate.pem", "leaf.pem"};
    for (size_t i = 0; i < 3; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", VSAFE_FUZZ_DA_KEYS, names[i]);
        FILE *f = fopen(path, "rb");
        if (f != NULL) {
            fclose(f);
            continue;
        }
        vsafe_da_key_t *k = NULL;
        check(vsafe_da_key_generate(&k) == VSAFE_OK && vsafe_da_key_save(k, path) == VSAFE_OK);
        vsafe_da_key_free(k);
    }
}

int vsafe_fuzz_write_seeds(const char *dir);
int vsafe_fuzz_write_seeds(const char *dir)
{
    make_keys();
    init();
    seed_t s;
    for (int v = 0; v < 2; v++) {
        char name[64];
        s.n = 0;
        s.b[s.n++] = (uint8_t)v;
        seed_cmd(&s, VSAFE_DA_CMD_DISCOVERY);
        snprintf(name, sizeof name, "%s_discovery", v ? "password" : "cert");
        write_seed(dir, name, &s);
        s.n = 1;
        seed_cmd(&s, VSAFE_DA_CMD_AUTH_START);
        seed_cmd(&s, VSAFE_DA_CMD_LOCK_DEBUG);
        seed_cmd(&s, VSAFE_DA_CMD_RESUME_BOOT);
        snprintf(name, sizeof name, "%s_start_lock_resume", v ? "password" : "cert");
        write_seed(dir, name, &s);
    }
    /* a complete, valid certificate authentication as psa-adac's host runs it: start, then one
     * Authentication Response per certificate (root first), then one with the token */
    uint8_t nonce[32], perm[16] = {0}, token[VSAFE_DA_TOKEN_LEN];
    uint8_t frag[4][8 + 8 + VSAFE_DA_CERT_LEN];
    size_t fl[4];
    uint8_t req[8 + 8 + VSAFE_DA_CERT_LEN];
    size_t n;
    first_nonce(0, nonce);
    perm[VSAFE_DA_PERM_REGRESS_FULL / 8] = (uint8_t)(1u << (VSAFE_DA_PERM_REGRESS_FULL % 8));
    check(vsafe_da_token_make(leaf, nonce, perm, token) == VSAFE_OK);
    for (int c = 0; c < 4; c++) {
        check(vsafe_da_frame_begin(VSAFE_DA_CMD_AUTH_RESPONSE, frag[c], sizeof frag[c], &fl[c]) == VSAFE_OK);
        check((c < 3 ? vsafe_da_frame_tlv(VSAFE_DA_TLV_CERT, chain[c], VSAFE_DA_CERT_LEN, frag[c], sizeof frag[c], &fl[c])
                     : vsafe_da_frame_tlv(VSAFE_DA_TLV_TOKEN, token, sizeof token, frag[c], sizeof frag[c], &fl[c])) ==
              VSAFE_OK);
    }
    s.n = 0;
    s.b[s.n++] = 0;
    seed_cmd(&s, VSAFE_DA_CMD_AUTH_START);
    for (int c = 0; c < 4; c++) {
        seed_add(&s, frag[c], fl[c]);
    }
    check(replay_last(&s) == VSAFE_OK); /* the seed really authenticates */
    write_seed(dir, "cert_auth_valid", &s);
    /* the fragments without a start first, out of order, and with the token's last byte changed */
    s.n = 1;
    for (int c = 0; c < 4; c++) {
        seed_add(&s, frag[c], fl[c]);
    }
    write_seed(dir, "cert_response_no_start", &s);
    s.n = 1;
    seed_cmd(&s, VSAFE_DA_CMD_AUTH_START);
    seed_add(&s, frag[1], fl[1]);
    seed_add(&s, frag[0], fl[0]);
    seed_add(&s, frag[2], fl[2]);
    seed_add(&s, frag[3], fl[3]);
    check(replay_last(&s) != VSAFE_OK);
    write_seed(dir, "cert_auth_out_of_order", &s);
    s.n = 1;
    seed_cmd(&s, VSAFE_DA_CMD_AUTH_START);
    for (int c = 0; c < 3; c++) {
        seed_add(&s, frag[c], fl[c]);
    }
    frag[3][fl[3] - 1] ^= 0x01;
    seed_add(&s, frag[3], fl[3]);
    check(replay_last(&s) != VSAFE_OK);
    write_seed(dir, "cert_auth_bad_signature", &s);
    /* password: right, then wrong */
    for (int right = 1; right >= 0; right--) {
        const char *pw = right ? PASSWORD : "fuzz-wrong";
        check(vsafe_da_frame_begin(VSAFE_DA_CMD_AUTH_RESPONSE, req, sizeof req, &n) == VSAFE_OK);
        check(vsafe_da_frame_tlv(VSAFE_DA_TLV_PASSWORD, (const uint8_t *)pw, strlen(pw), req, sizeof req, &n) ==
              VSAFE_OK);
        s.n = 0;
        s.b[s.n++] = 1;
        seed_cmd(&s, VSAFE_DA_CMD_AUTH_START);
        seed_add(&s, req, n);
        check((replay_last(&s) == VSAFE_OK) == right);
        write_seed(dir, right ? "password_auth_valid" : "password_auth_wrong", &s);
    }
    return 0;
}
