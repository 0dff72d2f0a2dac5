/* Power cut at every NVM operation of a protected, encrypted Decrement (and of a protected host-key
 * write), under each cut model of the simulated NVM, with the reference model (tests/model) as the
 * oracle. After the reboot the device's whole observable state (partition table, counters, ACs,
 * zone data, key slot and C-MAC counter, command table; read through the public host API) equals
 * the model after the acknowledged commands, or after those plus the interrupted command applied
 * whole (its data, counter and C-MAC counter step together), and nothing else. The host, re-reading
 * the counter with Query 0x47 as it does when it opens a session, is in sync and its next
 * protected command (R-MAC checked) succeeds with the keys the model says the device holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "chan_host.h"
#include "model.h"
#include "vsafe/host.h"
#include "vsafe/sim.h"

#define PAGE 1024u
#define JOURNAL (8u * 1024u)

typedef struct {
    vsafe_sim_nvm_t *sim;
    vsafe_nvm_t *nvm;
    th_dev_t dev;
    th_t th;
    vsafe_host_t *obs_host; /* the public host library on the same core: observes, never MACs */
    uint8_t *clean;
    size_t mem_len;
} fx_t;

static model_t acked, post, seen;

/* I2C view of the core for the host library: a write is one command, each read restarts at byte 0. */
static int core_i2c_write(void *ctx, uint8_t addr7, const uint8_t *buf, size_t len)
{
    (void)addr7;
    vsafe_se_core_process(ctx, buf, len);
    return 0;
}

static int core_i2c_read(void *ctx, uint8_t addr7, uint8_t *buf, size_t len)
{
    vsafe_se_core_t *core = ctx;
    (void)addr7;
    if (!core->have_response) {
        return VSAFE_I2C_NACK;
    }
    size_t n = len < core->rsp_len ? len : core->rsp_len;
    memcpy(buf, core->rsp, n);
    memset(buf + n, 0, len - n);
    return 0;
}

/* The device's state as the public host API shows it, compared with the model before (acked) and
 * after (post) the command. Returns 1 for before, 2 for after; fails the test otherwise. */
static int before_or_after(fx_t *fx, const char *what)
{
    uint32_t mask = 0;
    char why[300], why2[300];
    assert_int_equal(model_observe(fx->obs_host, &seen, &mask), VSAFE_OK);
    assert_true((mask & (1u << 5)) != 0); /* the zone under test is observed */
    if (model_matches(&acked, &seen, mask, why, sizeof why)) {
        return 1;
    }
    if (model_matches(&post, &seen, mask, why2, sizeof why2)) {
        return 2;
    }
    fail_msg("%s: the state is neither the model before (%s) nor after (%s)", what, why, why2);
    return 0;
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    uint32_t img = vsafe_se_core_image_size(&vsafe_profile_spl05);
    uint32_t bytes = vsafe_store_nvm_bytes(img, JOURNAL, PAGE);
    vsafe_nvm_geometry_t geo = {.prog_unit = 16, .page_size = PAGE, .page_count = (bytes + PAGE - 1) / PAGE,
                                .erased = 0xFF};
    assert_int_equal(vsafe_sim_nvm_new(&fx->sim, &geo, 3), VSAFE_OK);
    fx->nvm = vsafe_sim_nvm_port(fx->sim);
    th_dev_new(&fx->dev, fx->nvm, 31);
    th_init(&fx->th, th_core_xfer, &fx->dev.core);
    vsafe_host_transport_t t = {.write = core_i2c_write, .read = core_i2c_read, .ctx = &fx->dev.core,
                                .max_retries = 1};
    assert_int_equal(vsafe_host_open(&fx->obs_host, &t), VSAFE_OK);
    uint8_t *mem = vsafe_sim_nvm_mem(fx->sim, &fx->mem_len);
    (void)mem;
    fx->clean = malloc(fx->mem_len);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    vsafe_host_close(fx->obs_host);
    th_free(&fx->th);
    th_dev_free(&fx->dev);
    vsafe_sim_nvm_free(fx->sim);
    free(fx->clean);
    free(fx);
    return 0;
}

static uint64_t nvm_ops(fx_t *fx)
{
    vsafe_sim_nvm_stats_t s;
    vsafe_sim_nvm_stats(fx->sim, &s);
    return s.program_ops + s.erase_ops;
}

static void save(fx_t *fx) { memcpy(fx->clean, vsafe_sim_nvm_mem(fx->sim, NULL), fx->mem_len); }

static void restore_and_boot(fx_t *fx)
{
    memcpy(vsafe_sim_nvm_mem(fx->sim, NULL), fx->clean, fx->mem_len);
    vsafe_sim_nvm_power_on(fx->sim);
    assert_int_equal(th_dev_remount(&fx->dev, fx->nvm), VSAFE_OK);
}

/* The model at the device's factory state with the test keys provisioned (zone 0's read-only
 * content copied in from the device). */
static void model_start(fx_t *fx, model_t *m)
{
    model_init_spl05(m);
    assert_int_equal(vsafe_host_read_zone(fx->obs_host, VSAFE_HOST_PROT_NONE, 0, 0, m->z[0].data, m->z[0].len),
                     VSAFE_OK);
    assert_int_equal(th_provision_test_keys(&fx->th), 0);
    model_op_t kop = {.kind = MODEL_OP_WRITE_HOST_KEY, .key_type = VSAFE_HOST_KEY_AES128};
    model_apply(m, &kop, 1);
}

/* A plain Put of one command-table record for Decrement, in device and model. */
static void put_decrement(fx_t *fx, model_t *m, uint8_t tag, uint8_t value)
{
    uint8_t p[4] = {tag, 0x01, VSAFE_SE_CMD_DECREMENT, value};
    assert_int_equal(th_cmd(&fx->th, VSAFE_SE_CMD_PUT_ATTRIBUTE, 0, p, sizeof p, 0), 0);
    model_op_t op = {.kind = tag == VSAFE_SE_TAG_CMD_AC ? MODEL_OP_PUT_CMD_AC : MODEL_OP_PUT_CMD_ENC, .nrec = 1};
    op.rec_cmd[0] = MODEL_TCMD_DECREMENT;
    op.rec_val[0] = value;
    assert_int_equal(model_refusals(m, &op), 0u);
    model_apply(m, &op, 1);
}

static void test_cut_every_op_of_protected_decrement(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    static const vsafe_sim_cut_model_t models[] = {VSAFE_SIM_CUT_DROPPED, VSAFE_SIM_CUT_TORN_UNIT,
                                                   VSAFE_SIM_CUT_TORN_PAGE};
    model_start(fx, &acked);
    /* Decrement: Host AC and encrypted both ways, through the command table */
    put_decrement(fx, &acked, VSAFE_SE_TAG_CMD_AC, VSAFE_SE_CMD_AC_HOST);
    put_decrement(fx, &acked, VSAFE_SE_TAG_CMD_ENC, VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP);
    memcpy(&post, &acked, sizeof post);
    assert_int_equal(before_or_after(fx, "setup"), 1);
    unsigned long trials = 0, landed = 0;
    for (int round = 0; round < 12; round++) {
        uint8_t p[8 + 16] = {0x00, 0x05, 0x00, 0x00, 0, 0, 0, (uint8_t)(1 + round)};
        for (int i = 0; i < 16; i++) {
            p[8 + i] = (uint8_t)(round * 16 + i);
        }
        model_op_t op = {.kind = MODEL_OP_DECREMENT, .macd = 1, .zone = 5, .off = 0, .len = 16, .data = p + 8,
                         .amount = (uint32_t)(1 + round)};
        assert_int_equal(model_refusals(&acked, &op), 0u);
        model_next(&acked, &op, &post);
        uint32_t ctr = th->counter;
        assert_int_equal(ctr, acked.mac_ctr);
        save(fx);
        /* Clean run: the answer the model gives, and how many NVM operations the command takes */
        uint64_t before = nvm_ops(fx);
        assert_int_equal(th_cmd(th, 0xE4, 0, p, sizeof p, VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP), 0);
        uint64_t ops = nvm_ops(fx) - before;
        assert_true(ops >= 1);
        assert_int_equal(th->data_len, 4);
        assert_int_equal(vsafe_get_be32(th->data), post.z[5].ctr);
        assert_int_equal(th_dev_remount(&fx->dev, fx->nvm), VSAFE_OK); /* and it is what NVM holds */
        assert_int_equal(before_or_after(fx, "clean run"), 2);

        for (uint64_t k = 1; k <= ops; k++) {
            for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
                restore_and_boot(fx);
                vsafe_sim_nvm_reseed(fx->sim, k * 7 + m + (uint64_t)round * 1000);
                assert_int_equal(vsafe_sim_nvm_arm_cut(fx->sim, k, models[m]), VSAFE_OK);
                th->counter = ctr;
                th_build(th, 0xE4, 0, p, sizeof p, true);
                int st = th_send(th, true);
                assert_true(vsafe_sim_nvm_cut_happened(fx->sim));
                assert_int_not_equal(st, 0); /* the command could not complete */
                /* Reboot */
                vsafe_sim_nvm_power_on(fx->sim);
                assert_int_equal(th_dev_remount(&fx->dev, fx->nvm), VSAFE_OK);
                char what[80];
                snprintf(what, sizeof what, "round %d, cut at op %llu, model %d", round, (unsigned long long)k,
                         (int)models[m]);
                int which = before_or_after(fx, what);
                landed += which == 2;
                const model_t *now = which == 1 ? &acked : &post;
                /* The host re-opens its session at the device's counter and goes on. */
                int64_t dc = th_query_counter(th);
                assert_int_equal(dc, (int64_t)now->mac_ctr);
                th_session(th, TH_MAC_KEY, TH_CIPHER_KEY, (uint32_t)dc);
                assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 05 0000 0004", 0), 0);
                assert_int_equal(vsafe_get_be32(th->data), now->z[5].ctr);
                trials++;
            }
        }
        /* Continue from the clean, completed state. */
        restore_and_boot(fx);
        th->counter = ctr;
        assert_int_equal(th_cmd(th, 0xE4, 0, p, sizeof p, VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP), 0);
        memcpy(&acked, &post, sizeof acked);
    }
    print_message("power cuts tried: %lu (%lu left the decrement landed whole)\n", trials, landed);
    assert_true(trials >= 12);
}

static void test_cut_every_op_of_host_key_write(void **state)
{
    fx_t *fx = *state;
    th_t *th = &fx->th;
    model_start(fx, &acked);
    /* host-key control fields opened for re-provisioning (not part of the model: unchanged here) */
    assert_int_equal(th_cmd_hex(th, 0x10, 0, "4A 0E FF", 0), 0);
    /* Re-provision AES-256 keys with a protected (C-MAC + R-MAC) write */
    const char *mk = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
    const char *ck = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    char hex[200];
    snprintf(hex, sizeof hex, "000000 01 %s %s", mk, ck);
    assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0001", 0), 0);
    model_op_t rop = {.kind = MODEL_OP_READ, .macd = 1, .zone = 1, .off = 0, .len = 1};
    model_next(&acked, &rop, &acked);
    model_op_t kop = {.kind = MODEL_OP_WRITE_HOST_KEY, .macd = 1, .key_type = VSAFE_HOST_KEY_AES256};
    model_next(&acked, &kop, &post);
    save(fx);
    uint32_t ctr = th->counter;
    assert_int_equal(ctr, acked.mac_ctr);
    uint64_t before = nvm_ops(fx);
    assert_int_equal(th_cmd_hex(th, 0xFF, 0x07, hex, 0), 0);
    uint64_t ops = nvm_ops(fx) - before;
    assert_int_equal(before_or_after(fx, "clean run"), 2);
    unsigned long landed = 0;
    for (uint64_t k = 1; k <= ops; k++) {
        restore_and_boot(fx);
        assert_int_equal(vsafe_sim_nvm_arm_cut(fx->sim, k, VSAFE_SIM_CUT_TORN_UNIT), VSAFE_OK);
        th_session(th, TH_MAC_KEY, TH_CIPHER_KEY, ctr);
        assert_int_not_equal(th_cmd_hex(th, 0xFF, 0x07, hex, 0), 0);
        vsafe_sim_nvm_power_on(fx->sim);
        assert_int_equal(th_dev_remount(&fx->dev, fx->nvm), VSAFE_OK);
        char what[64];
        snprintf(what, sizeof what, "key write cut at op %llu", (unsigned long long)k);
        int which = before_or_after(fx, what);
        landed += which == 2;
        /* the keys the model says the device holds open a working session (R-MAC checked) */
        if (which == 1) {
            th_session(th, TH_MAC_KEY, TH_CIPHER_KEY, acked.mac_ctr);
        } else {
            th_session(th, mk, ck, post.mac_ctr);
        }
        assert_int_equal(th_cmd_hex(th, 0xE5, 0, "00 01 0000 0001", 0), 0);
    }
    print_message("host key write: %llu cut points (%lu left the new key landed whole)\n", (unsigned long long)ops,
                  landed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cut_every_op_of_protected_decrement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_every_op_of_host_key_write, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
