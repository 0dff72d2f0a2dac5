/* regress_bitflip_rollback_se (issue 8, finding 1): one flipped bit of a secure element's state
 * file must never open as an older state. A file-backed SPL05 device runs a 420-command history
 * of Updates and Decrements through the host library, one in four C-MAC'd in a host session; the
 * test keeps its own record of what was acknowledged (zone contents it wrote, counter values the
 * device returned, the C-MAC sequence counter as the host library counted it). Then every bit of
 * the used part of the state file is flipped in turn and the store mounted: each flip must be
 * corrected, refused, or discarded as a torn tail, and every mount that succeeds must give exactly
 * the acknowledged state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bitflip_util.h"
#include "vsafe/host.h"
#include "vsafe/se.h"

#define HISTORY 420
#define DATA_LEN 1000u
#define CTR_DATA_LEN 64u

typedef struct {
    uint8_t data[5][DATA_LEN];         /* zones 1..4 */
    uint32_t counter[9];               /* zones 5..8 */
    uint8_t ctr_data[9][CTR_DATA_LEN]; /* their associated data */
    uint32_t cmac_counter;             /* the host C-MAC sequence counter (Query 0x47) */
} model_t;

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static int read_state(vsafe_host_t *h, model_t *m)
{
    vsafe_host_key_slot_t slot;
    int krc = vsafe_host_query_key_slot(h, &slot);
    if (krc != 0) {
        return krc;
    }
    m->cmac_counter = slot.counter;
    for (uint8_t z = 1; z <= 4; z++) {
        int rc = vsafe_host_read_zone(h, VSAFE_HOST_PROT_NONE, z, 0, m->data[z], DATA_LEN);
        if (rc != 0) {
            return rc;
        }
    }
    for (uint8_t z = 5; z <= 8; z++) {
        int rc = vsafe_host_read_counter_zone(h, VSAFE_HOST_PROT_NONE, z, 0, m->ctr_data[z], CTR_DATA_LEN,
                                              &m->counter[z]);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* 0: the device on nvm shows exactly model; 1: an older state (a counter is higher than
 * acknowledged); 2: some other difference; < 0: it does not open. */
static int compare_device(vsafe_nvm_t *nvm, const model_t *want)
{
    vsafe_se_t *se = NULL;
    vsafe_host_t *h = NULL;
    vsafe_se_options_t o = {.profile = "spl05", .state_path = NULL};
    vsafe_se_open_ext_t ext;
    memset(&ext, 0, sizeof ext);
    ext.nvm = nvm;
    ext.rng_seed = 1;
    ext.one_sync = 1;
    int rc = vsafe_se_open_ex(&se, &o, &ext);
    if (rc == 0) {
        rc = vsafe_host_open_se(&h, se);
    }
    model_t *got = calloc(1, sizeof *got);
    if (rc == 0) {
        rc = read_state(h, got);
    }
    if (rc == 0) {
        rc = 0;
        for (int z = 5; z <= 8; z++) {
            if (got->counter[z] > want->counter[z]) {
                rc = 1;
            }
        }
        if (got->cmac_counter < want->cmac_counter) {
            rc = 1; /* the C-MAC counter went down: captured frames would replay */
        }
        if (rc == 0 && memcmp(got, want, sizeof *got) != 0) {
            rc = 2;
        }
    }
    free(got);
    vsafe_host_close(h);
    vsafe_se_close(se);
    return rc;
}

static const model_t *older_model;
static bool older_se(vsafe_sim_nvm_t *sim, void *ctx)
{
    (void)ctx;
    return compare_device(vsafe_sim_nvm_port(sim), older_model) == 1;
}

static void regress_bitflip_rollback_se(void **state)
{
    (void)state;
    char dir[] = "/tmp/vsafe-bitflip-se-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/se.nvm", dir);

    vsafe_se_t *se = NULL;
    vsafe_host_t *h = NULL;
    vsafe_se_options_t o = {.profile = "spl05", .state_path = path};
    assert_int_equal(vsafe_se_open(&se, &o), VSAFE_OK);
    assert_int_equal(vsafe_host_open_se(&h, se), VSAFE_OK);

    /* A host key, so that part of the history runs C-MAC'd and the C-MAC counter is in the state. */
    static const uint8_t mac_key[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                        0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
    static const uint8_t cipher_key[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
                                           0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
    assert_int_equal(vsafe_host_provision_plaintext(h, VSAFE_HOST_KEY_AES128, mac_key, cipher_key), VSAFE_OK);
    assert_int_equal(vsafe_host_session_open(h, mac_key, cipher_key, VSAFE_HOST_KEY_AES128), VSAFE_OK);
    /* The record of what was acknowledged starts from what the device shows when created. */
    model_t *m = calloc(1, sizeof *m);
    assert_int_equal(read_state(h, m), VSAFE_OK);
    uint64_t rng = 0xB17F11Bu;
    unsigned updates = 0, decrements = 0, macd = 0;
    for (int i = 0; i < HISTORY; i++) {
        uint8_t buf[32];
        /* one command in four is C-MAC'd: the host counts what the device acknowledged */
        vsafe_host_prot_t prot = rnd(&rng) % 4u == 0u ? VSAFE_HOST_PROT_MAC : VSAFE_HOST_PROT_NONE;
        if (rnd(&rng) % 2u == 0u) {
            uint8_t z = (uint8_t)(1u + rnd(&rng) % 4u);
            uint16_t len = (uint16_t)(1u + rnd(&rng) % 24u);
            uint16_t off = (uint16_t)(rnd(&rng) % (DATA_LEN - len + 1u));
            for (unsigned k = 0; k < len; k++) {
                buf[k] = (uint8_t)rnd(&rng);
            }
            assert_int_equal(vsafe_host_update_zone(h, prot, z, off, buf, len, (int)(i & 1)), VSAFE_OK);
            memcpy(m->data[z] + off, buf, len);
            updates++;
        } else {
            uint8_t z = (uint8_t)(5u + rnd(&rng) % 4u);
            uint32_t amount = 1u + (uint32_t)(rnd(&rng) % 3u);
            uint16_t len = (uint16_t)(rnd(&rng) % 17u);
            uint16_t off = (uint16_t)(rnd(&rng) % (CTR_DATA_LEN - len + 1u));
            for (unsigned k = 0; k < len; k++) {
                buf[k] = (uint8_t)rnd(&rng);
            }
            uint32_t now = 0;
            assert_int_equal(vsafe_host_decrement(h, prot, z, amount, off, buf, len, &now), VSAFE_OK);
            assert_int_equal(now, m->counter[z] - amount); /* the device counts as we do */
            m->counter[z] = now;                            /* what was acknowledged */
            memcpy(m->ctr_data[z] + off, buf, len);
            decrements++;
        }
        if (prot == VSAFE_HOST_PROT_MAC) {
            macd++;
        }
    }
    assert_int_equal(vsafe_host_session_counter(h, &m->cmac_counter), VSAFE_OK); /* host side */
    vsafe_host_close(h);
    vsafe_se_close(se);

    vsafe_nvm_geometry_t g = bf_file_geo();
    vsafe_sim_nvm_t *sim = NULL;
    assert_int_equal(vsafe_sim_nvm_from_file(&sim, path, &g, 0), VSAFE_OK);
    unlink(path);
    rmdir(dir);

    /* The undamaged file opens as exactly the acknowledged state. */
    assert_int_equal(compare_device(vsafe_sim_nvm_port(sim), m), 0);
    uint32_t len = 0, tag = 0;
    assert_int_equal(vsafe_store_probe(vsafe_sim_nvm_port(sim), &len, &tag), VSAFE_OK);
    assert_int_equal(tag, VSAFE_STORE_TAG_SE);
    uint8_t *clean = malloc(len);
    vsafe_store_t st;
    assert_int_equal(vsafe_store_mount(&st, vsafe_sim_nvm_port(sim), clean, len, tag), VSAFE_OK);
    printf("history: %u updates, %u decrements (%u of them C-MAC'd, C-MAC counter %u), newest record seq %u, "
           "image %u bytes\n",
           updates, decrements, macd, m->cmac_counter, st.seq, len);

    bf_counts_t c;
    older_model = m;
    bf_run(sim, clean, len, tag, older_se, NULL, &c);
    bf_print("regress_bitflip_rollback_se", &c);
    assert_int_equal(c.wrong, 0);
    assert_int_equal(c.tried, c.unaffected + c.corrected + c.torn + c.refused);
    free(clean);
    free(m);
    vsafe_sim_nvm_free(sim);
}

int main(int argc, char **argv)
{
    bf_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regress_bitflip_rollback_se),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
