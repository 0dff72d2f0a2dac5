/* Shared helpers for the MCU tests: devices in a given state, DA credentials. */
#ifndef VSAFE_MCU_TEST_UTIL_H
#define VSAFE_MCU_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hooks.h"
#include "vsafe/mcu.h"
#include "vsafe/se_wire.h"

#define CHECK(expr) assert_int_equal((expr), VSAFE_OK)
#define PASSWORD "s3cret-pw"

static const vsafe_mcu_state_t all_states[] = {VSAFE_MCU_STATE_OPEN,      VSAFE_MCU_STATE_PROVISIONING,
                                               VSAFE_MCU_STATE_IROT_PROVISIONED, VSAFE_MCU_STATE_TZ_CLOSED,
                                               VSAFE_MCU_STATE_CLOSED,    VSAFE_MCU_STATE_LOCKED};

/* One credential set per test binary: root -> intermediate -> leaf, all permissions, any SoC. */
typedef struct {
    vsafe_da_key_t *root, *inter, *leaf, *other;
    uint8_t root_pub[64];
    uint8_t chain[3][VSAFE_DA_CERT_LEN];
    const uint8_t *chain_ptr[3];
    uint8_t all_mask[16];
} creds_t;

static creds_t creds;

static inline void creds_init(void)
{
    if (creds.root != NULL) {
        return;
    }
    CHECK(vsafe_da_key_generate(&creds.root));
    CHECK(vsafe_da_key_generate(&creds.inter));
    CHECK(vsafe_da_key_generate(&creds.leaf));
    CHECK(vsafe_da_key_generate(&creds.other));
    CHECK(vsafe_da_key_public(creds.root, creds.root_pub));
    memset(creds.all_mask, 0xFF, 16);
    CHECK(vsafe_da_cert_make(creds.root, creds.root, VSAFE_DA_ROLE_ROOT, 0, NULL, creds.all_mask, creds.chain[0]));
    CHECK(vsafe_da_cert_make(creds.inter, creds.root, VSAFE_DA_ROLE_INTERMEDIATE, 0, NULL, creds.all_mask, creds.chain[1]));
    CHECK(vsafe_da_cert_make(creds.leaf, creds.inter, VSAFE_DA_ROLE_LEAF, 0, NULL, creds.all_mask, creds.chain[2]));
    for (int i = 0; i < 3; i++) {
        creds.chain_ptr[i] = creds.chain[i];
    }
}

static inline void perm_bit(uint8_t perm[16], unsigned bit)
{
    memset(perm, 0, 16);
    perm[bit / 8u] = (uint8_t)(1u << (bit % 8u));
}

static inline int da_cert(vsafe_mcu_t *m, unsigned bit)
{
    uint8_t perm[16];
    perm_bit(perm, bit);
    return vsafe_da_authenticate(m, creds.chain_ptr, 3, creds.leaf, perm);
}

static inline vsafe_mcu_t *mcu_volatile(uint64_t seed)
{
    vsafe_mcu_t *m = NULL;
    vsafe_mcu_options_t o = {.rng_seed = seed, .power_on_reset = 1};
    CHECK(vsafe_mcu_open(&m, &o));
    return m;
}

static inline void go(vsafe_mcu_t *m, vsafe_mcu_state_t to)
{
    CHECK(vsafe_mcu_program_state(m, to));
    CHECK(vsafe_mcu_reset(m));
    assert_int_equal(vsafe_mcu_state(m), to);
}

/* Provisions the DA configuration (cert with TZ on, password with TZ off) at HDPL1. */
static inline void provision_da(vsafe_mcu_t *m)
{
    uint8_t cfg[VSAFE_DA_CONFIG_LEN];
    if (mcu_tz_on(m)) {
        CHECK(vsafe_da_config_cert(creds.root_pub, creds.all_mask, cfg));
    } else {
        CHECK(vsafe_da_config_password(PASSWORD, cfg));
    }
    CHECK(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL1, 0, cfg, sizeof cfg));
}

static const uint8_t marker[16] = "vsafe-marker-16b";

/* Writes a marker into every region and OBK HDPL2..3-NS (must be in a state allowing OBK, HDPL1). */
static inline void write_markers(vsafe_mcu_t *m)
{
    for (unsigned r = 0; r < VSAFE_MCU_MEM_COUNT; r++) {
        CHECK(vsafe_mcu_mem_write(m, (vsafe_mcu_mem_t)r, 0, marker, sizeof marker));
    }
    CHECK(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL2, 0, marker, sizeof marker));
    CHECK(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, marker, sizeof marker));
    CHECK(vsafe_mcu_obk_write(m, VSAFE_MCU_NONSECURE, VSAFE_MCU_OBK_HDPL3_NS, 0, marker, sizeof marker));
}

static inline bool mem_has_marker(vsafe_mcu_t *m, vsafe_mcu_mem_t r)
{
    uint8_t b[16];
    CHECK(vsafe_mcu_mem_read(m, r, 0, b, sizeof b));
    return memcmp(b, marker, 16) == 0;
}

static inline bool mem_erased(vsafe_mcu_t *m, vsafe_mcu_mem_t r)
{
    uint8_t b[1024];
    uint32_t size = vsafe_mcu_mem_size(r);
    uint8_t v = (r == VSAFE_MCU_FLASH_S || r == VSAFE_MCU_FLASH_NS) ? 0xFF : 0x00;
    for (uint32_t off = 0; off < size; off += sizeof b) { /* the regions are larger than b */
        uint32_t n = size - off < sizeof b ? size - off : (uint32_t)sizeof b;
        CHECK(vsafe_mcu_mem_read(m, r, off, b, n));
        for (uint32_t i = 0; i < n; i++) {
            if (b[i] != v) {
                return false;
            }
        }
    }
    return true;
}

static inline const uint8_t *obk_raw(vsafe_mcu_t *m, vsafe_mcu_obk_t a) { return m->image + mcu_obk_off(a); }

static inline bool obk_erased(vsafe_mcu_t *m, vsafe_mcu_obk_t a)
{
    const uint8_t *p = obk_raw(m, a);
    for (uint32_t i = 0; i < vsafe_mcu_obk_size(a); i++) {
        if (p[i] != 0xFF) {
            return false;
        }
    }
    return true;
}

/* A device in state s, TrustZone tz, DA provisioned (unless OPEN) and markers written. */
static inline vsafe_mcu_t *mcu_in_state(vsafe_mcu_state_t s, bool tz, uint64_t seed)
{
    creds_init();
    vsafe_mcu_t *m = mcu_volatile(seed);
    CHECK(vsafe_mcu_set_trustzone(m, tz));
    for (unsigned r = 0; r < VSAFE_MCU_MEM_COUNT; r++) {
        CHECK(vsafe_mcu_mem_write(m, (vsafe_mcu_mem_t)r, 0, marker, sizeof marker));
    }
    if (s == VSAFE_MCU_STATE_OPEN) {
        return m;
    }
    go(m, VSAFE_MCU_STATE_PROVISIONING);
    provision_da(m);
    write_markers(m);
    if (s != VSAFE_MCU_STATE_PROVISIONING) {
        go(m, s);
    }
    return m;
}

#endif
