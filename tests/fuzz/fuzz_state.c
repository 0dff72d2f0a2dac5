/* libFuzzer target on the state-file loader: an NVM image of the state-file geometry (4096-byte
 * pages, 16-byte program unit) mounted through the store and the secure element, or the MCU.
 *
 * Input: [mode] then
 *   mode bit1 clear: patches on a reference image built here once by a real workload (a secure
 *     element with a host key, updates, decrements and an AC change; or a CLOSED MCU with debug
 *     authentication provisioned and attempts spent): repeated [offset u24 BE, modulo the NVM size]
 *     [n] then, for n < 0x80, n + 1 bytes XORed in; for n >= 0x80, ((n & 0x7F) + 1) * 16 bytes set
 *     to the erased value (a torn or erased region; no bytes consumed);
 *   mode bit1 set: the rest of the input is the NVM image itself (padded with erased bytes to whole
 *     pages);
 *   mode bit0: 0 = secure element, 1 = MCU.
 * Properties: opening either fails cleanly or gives a device that answers commands; a device that
 * opened and then committed opens again (its own writes never make it unloadable). ASan/UBSan
 * catch the rest. --seeds DIR (replay binary) writes the seed corpus. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "vsafe/host.h"
#include "vsafe/mcu.h"
#include "vsafe/sim.h"

#define PAGE 4096u
#define MAX_PAGES 48u

typedef struct {
    uint8_t *mem;
    size_t len;
} ref_t;

static ref_t ref_se, ref_mcu;

static const uint8_t mac_key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t cipher_key[16] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

static vsafe_sim_nvm_t *new_sim(size_t bytes)
{
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = PAGE, .page_count = (uint32_t)((bytes + PAGE - 1) / PAGE),
                              .erased = 0xFF};
    vsafe_sim_nvm_t *sim = NULL;
    if (g.page_count == 0 || vsafe_sim_nvm_new(&sim, &g, 1) != VSAFE_OK) {
        abort();
    }
    return sim;
}

static int se_open(vsafe_se_t **se, vsafe_sim_nvm_t *sim)
{
    vsafe_se_options_t o = {.profile = "spl05", .state_path = NULL};
    vsafe_se_open_ext_t ext;
    memset(&ext, 0, sizeof ext);
    ext.nvm = vsafe_sim_nvm_port(sim);
    ext.rng_seed = 1;
    ext.one_sync = 1;
    return vsafe_se_open_ex(se, &o, &ext);
}

static int mcu_open(vsafe_mcu_t **m, vsafe_sim_nvm_t *sim)
{
    vsafe_mcu_options_t o = {.nvm = vsafe_sim_nvm_port(sim), .rng_seed = 1, .power_on_reset = 1};
    return vsafe_mcu_open(m, &o);
}

static void check(int ok)
{
    if (!ok) {
        abort();
    }
}

static void keep(ref_t *r, vsafe_sim_nvm_t *sim)
{
    size_t len;
    uint8_t *mem = vsafe_sim_nvm_mem(sim, &len);
    r->mem = malloc(len);
    check(r->mem != NULL);
    memcpy(r->mem, mem, len);
    r->len = len;
}

static void build_se_reference(void)
{
    vsafe_sim_nvm_t *sim = new_sim(vsafe_store_nvm_bytes(vsafe_se_core_image_size(&vsafe_profile_spl05), 64u * 1024u,
                                                         PAGE));
    vsafe_se_t *se = NULL;
    vsafe_host_t *h = NULL;
    check(se_open(&se, sim) == VSAFE_OK && vsafe_host_open_se(&h, se) == VSAFE_OK);
    check(vsafe_host_provision_plaintext(h, VSAFE_HOST_KEY_AES128, mac_key, cipher_key) == VSAFE_OK);
    check(vsafe_host_session_open(h, mac_key, cipher_key, VSAFE_HOST_KEY_AES128) == VSAFE_OK);
    uint8_t data[64];
    for (int i = 0; i < 40; i++) {
        memset(data, i, sizeof data);
        vsafe_host_prot_t p = i % 3 == 0 ? VSAFE_HOST_PROT_MAC : VSAFE_HOST_PROT_NONE;
        check(vsafe_host_update_zone(h, p, (uint8_t)(1 + i % 4), (uint16_t)(i * 7), data, sizeof data, i % 2) ==
              VSAFE_OK);
        check(vsafe_host_decrement(h, p, (uint8_t)(5 + i % 4), 1u + (uint32_t)i, 0, data, 8, NULL) == VSAFE_OK);
    }
    check(vsafe_host_change_read_ac(h, VSAFE_HOST_PROT_MAC, 2, VSAFE_SE_AC_HOST, 1) == VSAFE_OK);
    vsafe_host_close(h);
    vsafe_se_close(se);
    keep(&ref_se, sim);
    vsafe_sim_nvm_free(sim);
}

static void build_mcu_reference(void)
{
    vsafe_sim_nvm_t *sim = new_sim(vsafe_store_nvm_bytes(MCU_IMAGE_LEN, 16u * 1024u, PAGE));
    vsafe_mcu_t *m = NULL;
    check(mcu_open(&m, sim) == VSAFE_OK);
    check(vsafe_mcu_set_trustzone(m, false) == VSAFE_OK);
    check(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_PROVISIONING) == VSAFE_OK && vsafe_mcu_reset(m) == VSAFE_OK);
    uint8_t cfg[VSAFE_DA_CONFIG_LEN];
    check(vsafe_da_config_password("fuzz-pass", cfg) == VSAFE_OK);
    check(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL1, 0, cfg, sizeof cfg) == VSAFE_OK);
    check(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_CLOSED) == VSAFE_OK && vsafe_mcu_reset(m) == VSAFE_OK);
    for (int i = 0; i < 3; i++) {
        check(vsafe_da_authenticate_password(m, "wrong-pass") != VSAFE_OK); /* attempts spent */
    }
    vsafe_mcu_close(m);
    keep(&ref_mcu, sim);
    vsafe_sim_nvm_free(sim);
}

static void build_references(void)
{
    if (ref_se.mem == NULL) {
        build_se_reference();
        build_mcu_reference();
    }
}

/* The device answers; then it commits something, closes, and must open again. */
static void exercise_se(vsafe_sim_nvm_t *sim, vsafe_se_t *se)
{
    vsafe_host_t *h = NULL;
    check(vsafe_host_open_se(&h, se) == VSAFE_OK);
    vsafe_host_zone_t zs[32];
    size_t count = 0;
    check(vsafe_host_zones(h, zs, 32, &count) == VSAFE_OK && count > 0);
    uint8_t buf[32];
    int rc = vsafe_host_read_zone(h, VSAFE_HOST_PROT_NONE, 1, 0, buf, sizeof buf);
    check(rc == VSAFE_OK || (rc <= VSAFE_DEV_STATUS(1) && rc >= VSAFE_DEV_STATUS(0x1F))); /* or a device refusal */
    vsafe_host_key_slot_t ks;
    check(vsafe_host_query_key_slot(h, &ks) == VSAFE_OK);
    memset(buf, 0x5A, sizeof buf);
    int wrote = vsafe_host_update_zone(h, VSAFE_HOST_PROT_NONE, 3, 0, buf, sizeof buf, 1) == VSAFE_OK;
    wrote |= vsafe_host_decrement(h, VSAFE_HOST_PROT_NONE, 6, 1, 0, buf, 4, NULL) == VSAFE_OK;
    vsafe_host_close(h);
    vsafe_se_close(se);
    if (wrote) {
        vsafe_se_t *again = NULL;
        check(se_open(&again, sim) == VSAFE_OK);
        vsafe_se_close(again);
    }
}

static void exercise_mcu(vsafe_sim_nvm_t *sim, vsafe_mcu_t *m)
{
    vsafe_mcu_info_t info;
    check(vsafe_mcu_info(m, &info) == VSAFE_OK);
    check(info.da_attempts <= info.da_attempt_limit || info.state == VSAFE_MCU_STATE_INVALID);
    uint8_t req[8], rsp[256];
    size_t n = 0, rn = 0;
    check(vsafe_da_frame_begin(VSAFE_DA_CMD_DISCOVERY, req, sizeof req, &n) == VSAFE_OK);
    uint16_t st;
    int rc = vsafe_mcu_da_request(m, req, n, rsp, sizeof rsp, &rn);
    (void)rc; /* any outcome (a damaged state may refuse); the response frame is checked */
    check(rn >= 8u && rn <= sizeof rsp && vsafe_da_response_status(rsp, rn, &st) == VSAFE_OK);
    int wrote = vsafe_da_authenticate_password(m, "fuzz-pass") == VSAFE_OK; /* commits an attempt either way */
    wrote |= vsafe_mcu_reset(m) == VSAFE_OK;
    vsafe_mcu_close(m);
    if (wrote) {
        vsafe_mcu_t *again = NULL;
        check(mcu_open(&again, sim) == VSAFE_OK);
        vsafe_mcu_close(again);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    build_references();
    int mcu = data[0] & 1u, raw = (data[0] & 2u) != 0;
    data++;
    size--;
    const ref_t *ref = mcu ? &ref_mcu : &ref_se;
    vsafe_sim_nvm_t *sim;
    if (raw) {
        size_t len = size < PAGE ? PAGE : size;
        if (len > (size_t)MAX_PAGES * PAGE) {
            len = (size_t)MAX_PAGES * PAGE;
        }
        sim = new_sim(len);
        size_t cap;
        uint8_t *mem = vsafe_sim_nvm_mem(sim, &cap);
        memset(mem, 0xFF, cap);
        memcpy(mem, data, size < cap ? size : cap);
    } else {
        sim = new_sim(ref->len);
        size_t cap;
        uint8_t *mem = vsafe_sim_nvm_mem(sim, &cap);
        check(cap == ref->len);
        memcpy(mem, ref->mem, cap);
        size_t i = 0;
        while (i + 4u <= size) {
            size_t off = ((size_t)data[i] << 16 | (size_t)data[i + 1] << 8 | data[i + 2]) % cap;
            uint8_t n = data[i + 3];
            i += 4;
            if (n >= 0x80u) {
                size_t len = ((size_t)(n & 0x7Fu) + 1u) * 16u;
                memset(mem + off, 0xFF, len < cap - off ? len : cap - off);
            } else {
                for (size_t k = 0; k <= n && i < size; k++, i++) {
                    mem[(off + k) % cap] ^= data[i];
                }
            }
        }
    }
    vsafe_sim_nvm_power_on(sim);
    if (mcu) {
        vsafe_mcu_t *m = NULL;
        if (mcu_open(&m, sim) == VSAFE_OK) {
            exercise_mcu(sim, m);
        }
    } else {
        vsafe_se_t *se = NULL;
        if (se_open(&se, sim) == VSAFE_OK) {
            exercise_se(sim, se);
        }
    }
    vsafe_sim_nvm_free(sim);
    return 0;
}

/* ---- seed corpus (replay binary: --seeds DIR) ---- */
static void write_seed(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    check(f != NULL && fwrite(p, 1, n, f) == n && fclose(f) == 0);
}

int vsafe_fuzz_write_seeds(const char *dir);
int vsafe_fuzz_write_seeds(const char *dir)
{
    build_references();
    uint8_t s[64];
    /* the reference images untouched */
    s[0] = 0;
    write_seed(dir, "se_reference", s, 1);
    s[0] = 1;
    write_seed(dir, "mcu_reference", s, 1);
    /* one bit flipped in a record of each, an erased stretch in the middle of each */
    const ref_t *refs[2] = {&ref_se, &ref_mcu};
    for (int m = 0; m < 2; m++) {
        size_t used = refs[m]->len;
        while (used > 0 && refs[m]->mem[used - 1] == 0xFF) {
            used--;
        }
        size_t offs[3] = {40, used / 2, used > 20 ? used - 20 : 0};
        for (int k = 0; k < 3; k++) {
            s[0] = (uint8_t)m;
            s[1] = (uint8_t)(offs[k] >> 16);
            s[2] = (uint8_t)(offs[k] >> 8);
            s[3] = (uint8_t)offs[k];
            s[4] = 0;
            s[5] = 0x10;
            char name[64];
            snprintf(name, sizeof name, "%s_flip_%d", m ? "mcu" : "se", k);
            write_seed(dir, name, s, 6);
            s[4] = 0x83;
            snprintf(name, sizeof name, "%s_erased_%d", m ? "mcu" : "se", k);
            write_seed(dir, name, s, 5);
        }
    }
    /* raw images: blank, and garbage */
    memset(s, 0xFF, sizeof s);
    s[0] = 2;
    write_seed(dir, "se_raw_blank", s, sizeof s);
    s[0] = 3;
    write_seed(dir, "mcu_raw_blank", s, sizeof s);
    for (size_t i = 1; i < sizeof s; i++) {
        s[i] = (uint8_t)(i * 37u);
    }
    s[0] = 2;
    write_seed(dir, "se_raw_garbage", s, sizeof s);
    return 0;
}
