/* Power cut at every NVM operation of a workload, on the target, with the oracle and the
 * expectations of the host proof (tests/powerloss/test_device_powercut.c): the reference model of
 * tests/model, which follows the acknowledged commands from the protocol's rules, never a run of
 * the device code.
 *  - The workload is the host's generator (tests/powerloss/pl_workload.h), without C-MAC'd
 *    commands: this port has no crypto, so no host key can be provisioned.
 *  - Each command first runs once from the state the acknowledged commands left: its answer must
 *    be one the model allows, and the device observed afterwards must equal the model after it.
 *  - Then, for every program/erase operation k of that command and every write model internal
 *    flash can show (DROPPED, TORN_UNIT, TORN_PAGE; torn ones with two seeds), it runs again from
 *    the same NVM with power cut at operation k. It must not be answered; after the reboot the
 *    device must mount and must equal the model after the acknowledged commands, or after those
 *    plus the interrupted one applied whole, and nothing else; retried after a cut that left it
 *    out, it must give an answer the model allows and the model's state after it.
 * One check per command (its clean run) and one per cut point. */
#include <string.h>

#include "fw_test.h"
#include "pl_workload.h"

#define SUITE "powercut"
#define PC_COMMANDS 220 /* as many as the host run */
#define PC_SEED 0xC0FFEEu

static model_t acked, post, seen;
static uint8_t clean[FW_NVM_MAX], next[FW_NVM_MAX];
static uint8_t frame[VSAFE_SE_FRAME_MAX], payload[VSAFE_SE_FRAME_MAX + 8];

static size_t put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

/* The frame (without CRC) the host library sends for c: one frame each, as every workload
 * command fits one (at most 200 data bytes). */
static size_t encode(const pl_cmd_t *c, uint8_t *f)
{
    uint8_t ac_opt = (uint8_t)(VSAFE_SE_OPT_CHANGE_AC | (c->cr ? VSAFE_SE_OPT_CR : 0u) | c->ac);
    size_t n = 0;
    switch (c->kind) {
    case PL_UPDATE_ATOMIC:
    case PL_UPDATE_PLAIN:
    case PL_UPDATE_AC:
        f[n++] = VSAFE_SE_CMD_UPDATE;
        f[n++] = (uint8_t)((c->kind == PL_UPDATE_PLAIN ? 0u : VSAFE_SE_OPT_ATOMIC) |
                           (c->kind == PL_UPDATE_AC ? ac_opt : 0u));
        f[n++] = c->zone;
        n += put_be16(f + n, c->offset);
        break;
    case PL_DECREMENT:
    case PL_DECREMENT_AC:
        f[n++] = VSAFE_SE_CMD_DECREMENT;
        f[n++] = c->kind == PL_DECREMENT_AC ? ac_opt : 0u;
        f[n++] = c->zone;
        n += put_be16(f + n, c->offset);
        n += put_be16(f + n, (uint16_t)(c->amount >> 16));
        n += put_be16(f + n, (uint16_t)c->amount);
        break;
    case PL_READ_AC:
        f[n++] = VSAFE_SE_CMD_READ;
        f[n++] = ac_opt;
        f[n++] = c->zone;
        n += put_be16(f + n, 0);
        n += put_be16(f + n, 0); /* length 0: only the access-condition change */
        return n;
    }
    memcpy(f + n, c->data, c->len);
    return n + c->len;
}

/* Runs the command; false if the device gave no answer. */
static bool run(fw_dev_t *d, const uint8_t *f, size_t n, uint8_t *status)
{
    size_t len = 0;
    return fw_exchange(d, f, n, status, payload, sizeof payload, &len);
}

/* Whether a wire status is an answer the model allows (refusals: model_refusals' set). */
static bool answer_ok(uint8_t status, uint32_t refusals)
{
    if (refusals == 0) {
        return status == VSAFE_SE_ST_OK;
    }
    return status > 0 && status < 32 && (refusals & MODEL_BIT(status)) != 0;
}

/* After a reboot: mounts and observes; *why says what failed. */
static bool observe_after_reboot(fw_dev_t *d, model_t *obs, uint32_t *mask, const char **why)
{
    if (fw_dev_mount(d) != VSAFE_OK) {
        *why = "device does not mount";
        return false;
    }
    if (fw_observe(d, obs, mask) != VSAFE_OK) {
        *why = "device cannot be observed";
        return false;
    }
    return true;
}

static void report_cut(int i, uint32_t k, int m, const char *why)
{
    (void)fw_check(false, SUITE, "cut", why);
    fw_note(SUITE, "  at command ", (uint32_t)i);
    fw_note(SUITE, "  at operation ", k);
    fw_note(SUITE, "  write model ", (uint32_t)m);
}

void fw_suite_powercut(fw_dev_t *d)
{
    uint32_t mask = 0;
    const char *why = NULL;
    if (!fw_check(fw_dev_create(d, 3) == VSAFE_OK, SUITE, "format", "device does not start")) {
        return;
    }
    uint32_t size = d->geo.page_size * d->geo.page_count;
    memcpy(clean, d->mem, size);
    model_init_spl05(&acked);
    /* zone 0 is read-only: its content (the certificate) is the one thing taken from the device */
    if (!fw_check(fw_observe(d, &seen, &mask) == VSAFE_OK && (mask & 1u) != 0u, SUITE, "factory state",
                  "device cannot be observed")) {
        return;
    }
    memcpy(acked.z[0].data, seen.z[0].data, acked.z[0].len);
    if (!fw_check(fw_model_equal(&acked, &seen, mask, &why), SUITE, "factory state", why)) {
        return;
    }
    uint64_t rng = PC_SEED;
    uint32_t cuts = 0, cut_failures = 0, ok_cmds = 0, compactions = 0, landed = 0;

    for (int i = 0; i < PC_COMMANDS; i++) {
        pl_cmd_t c;
        pl_make_cmd(&c, &rng, 0); /* no C-MAC: this port has no crypto */
        model_op_t op = pl_model_op(&c);
        uint32_t refusals = model_refusals(&acked, &op);
        model_next(&acked, &op, &post);
        size_t fl = encode(&c, frame);

        /* the run without a cut, from the acknowledged state */
        memcpy(d->mem, clean, size);
        why = NULL;
        uint8_t status = 0xFF;
        uint32_t ops = 0;
        if (fw_dev_mount(d) != VSAFE_OK) {
            why = "device does not mount";
        } else {
            uint32_t erases0 = d->core.store.counters.erase_ops;
            if (!run(d, frame, fl, &status)) {
                why = "no answer";
            } else if (!answer_ok(status, refusals)) {
                why = "answer differs from the model";
            }
            ops = d->nvm.ops;
            compactions += d->core.store.counters.erase_ops != erases0;
        }
        memcpy(next, d->mem, size);
        if (why == NULL && fw_observe(d, &seen, &mask) != VSAFE_OK) {
            why = "device cannot be observed";
        }
        if (why == NULL) {
            (void)fw_model_equal(&post, &seen, mask, &why);
        }
        if (why == NULL && status == VSAFE_SE_ST_OK && ops == 0u) {
            why = "acknowledged without reaching NVM";
        }
        if (!fw_check(why == NULL, SUITE, "command", why)) {
            fw_note(SUITE, "  at command ", (uint32_t)i);
            return; /* every later expectation builds on this state */
        }
        ok_cmds += status == VSAFE_SE_ST_OK;

        for (uint32_t k = 1; k <= ops; k++) {
            for (int m = VSAFE_SIM_CUT_DROPPED; m <= VSAFE_SIM_CUT_TORN_PAGE; m++) {
                int reps = m == VSAFE_SIM_CUT_DROPPED ? 1 : 2;
                for (int r = 0; r < reps; r++) {
                    uint8_t st2 = 0xFF;
                    why = NULL;
                    cuts++;
                    memcpy(d->mem, clean, size);
                    if (fw_dev_mount(d) != VSAFE_OK) {
                        why = "does not mount before the cut";
                    }
                    vsafe_fw_nvm_reseed(&d->nvm, ((uint64_t)i << 24) ^ ((uint64_t)k << 4) ^ (uint64_t)(m * 2 + r));
                    if (why == NULL && vsafe_fw_nvm_arm_cut(&d->nvm, k, (vsafe_sim_cut_model_t)m) != VSAFE_OK) {
                        why = "cannot arm";
                    }
                    if (why == NULL && run(d, frame, fl, &st2)) {
                        why = "answered although power failed"; /* no acknowledgement without durability */
                    }
                    if (why == NULL && !vsafe_fw_nvm_cut_happened(&d->nvm)) {
                        why = "the cut did not happen";
                    }
                    vsafe_fw_nvm_power_on(&d->nvm);
                    if (why == NULL) {
                        (void)observe_after_reboot(d, &seen, &mask, &why);
                    }
                    bool is_acked = false, is_post = false;
                    const char *w1 = NULL, *w2 = NULL;
                    if (why == NULL) {
                        is_acked = fw_model_equal(&acked, &seen, mask, &w1);
                        is_post = fw_model_equal(&post, &seen, mask, &w2);
                        if (!is_acked && !is_post) {
                            why = "state is neither the acknowledged one nor that plus the command, whole";
                        }
                    }
                    landed += why == NULL && is_post && !is_acked;
                    if (why == NULL && is_acked && !is_post && r == 0) { /* retried after the reboot */
                        if (!run(d, frame, fl, &st2) || !answer_ok(st2, refusals)) {
                            why = "retry: answer differs from the model";
                        } else if (fw_observe(d, &seen, &mask) != VSAFE_OK ||
                                   !fw_model_equal(&post, &seen, mask, &w2)) {
                            why = "retry: state differs from the model";
                        }
                    }
                    if (why != NULL) {
                        cut_failures++;
                        report_cut(i, k, m, why);
                    } else {
                        (void)fw_check(true, SUITE, "cut", NULL);
                    }
                }
            }
        }
        memcpy(clean, next, size);
        acked = post;
    }
    fw_note(SUITE, "NVM bytes ", size);
    fw_note(SUITE, "commands ", PC_COMMANDS);
    fw_note(SUITE, "commands acknowledged ", ok_cmds);
    fw_note(SUITE, "compactions ", compactions);
    fw_note(SUITE, "cut points ", cuts);
    fw_note(SUITE, "cuts after which the command had landed whole ", landed);
    fw_note(SUITE, "violations ", cut_failures);
}
