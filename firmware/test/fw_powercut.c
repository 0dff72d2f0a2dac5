/* Power cut at every NVM operation of a short workload, on the target, with the expectations of
 * the host proof (tests/powerloss/test_device_powercut.c):
 *  - each command of the scripted workload (tests/powerloss/pl_workload.h, the host's generator,
 *    without C-MAC'd commands: this port has no crypto) runs once cleanly from the state the previous one left; its counters
 *    must follow a reference model of the counter zones (an oracle independent of the store);
 *  - then, for every program/erase operation k of that command and every write model the part's
 *    flash can show (DROPPED, TORN_UNIT, TORN_PAGE; torn ones with two seeds), the command is run
 *    again from the same state with power cut at operation k. It must not be answered; after the
 *    reboot the NVM must hold exactly the state before the command or exactly the state after it
 *    (whole), the device must mount, and a command retried after a cut that left the before-state
 *    must give the clean run's answer and after-state.
 * One check per clean command and one per cut point. */
#include <string.h>

#include "fw_test.h"
#include "pl_workload.h"
#include "se/layout.h"

#define SUITE "powercut"
#define PC_COMMANDS 220 /* as many as the host run */
#define PC_SEED 0xC0FFEEu

static uint8_t before[FW_IMAGE_MAX], after[FW_IMAGE_MAX], got[FW_IMAGE_MAX];
static uint8_t clean[FW_NVM_MAX], next[FW_NVM_MAX];
static uint8_t frame[VSAFE_SE_FRAME_MAX], payload[VSAFE_SE_FRAME_MAX + 8];

static uint32_t counter_of(const uint8_t *img, unsigned zone) { return se_get32(img + se_zone_rec(zone) + 12u); }

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

/* Runs the command; returns false if the device gave no answer. */
static bool run(fw_dev_t *d, const uint8_t *f, size_t n, uint8_t *status, uint32_t *counter)
{
    size_t len = 0;
    if (!fw_exchange(d, f, n, status, payload, sizeof payload, &len)) {
        return false;
    }
    if (*status == VSAFE_SE_ST_OK && len == 4u) {
        *counter = se_get32(payload);
    }
    return true;
}

static bool is_decrement(const pl_cmd_t *c) { return c->kind == PL_DECREMENT || c->kind == PL_DECREMENT_AC; }

void fw_suite_powercut(fw_dev_t *d)
{
    if (!fw_check(fw_dev_create(d, 3) == VSAFE_OK, SUITE, "format", "device does not start")) {
        return;
    }
    uint32_t size = d->geo.page_size * d->geo.page_count;
    uint32_t len = 0, len2 = 0;
    memcpy(clean, d->mem, size);
    if (!fw_check(fw_nvm_image(d, before, sizeof before, &len) == VSAFE_OK, SUITE, "format", "no state on NVM")) {
        return;
    }
    uint32_t model[4];
    for (unsigned z = 0; z < 4; z++) {
        model[z] = counter_of(before, 5 + z);
    }
    uint64_t rng = PC_SEED;
    uint32_t cuts = 0, cut_failures = 0, ok_cmds = 0, compactions = 0;

    for (int i = 0; i < PC_COMMANDS; i++) {
        pl_cmd_t c;
        pl_make_cmd(&c, &rng, 0); /* no C-MAC: this port has no crypto */
        size_t fl = encode(&c, frame);

        /* the clean run */
        memcpy(d->mem, clean, size);
        bool ok = fw_dev_mount(d) == VSAFE_OK;
        uint32_t ops0 = d->nvm.ops;
        uint32_t erases0 = d->core.store.counters.erase_ops;
        uint8_t status = 0xFF, st2 = 0xFF;
        uint32_t counter = 0, c2 = 0;
        ok = ok && run(d, frame, fl, &status, &counter);
        uint32_t ops = d->nvm.ops - ops0;
        compactions += d->core.store.counters.erase_ops != erases0;
        ok = ok && fw_nvm_image(d, after, sizeof after, &len2) == VSAFE_OK && len2 == len;
        if (ok && status == VSAFE_SE_ST_OK) {
            ok_cmds++;
            ok = ops > 0u; /* an acknowledged command reached NVM */
        } else if (ok) {
            ok = memcmp(after, before, len) == 0; /* a refused command changes nothing */
        }
        if (ok && status == VSAFE_SE_ST_OK && is_decrement(&c)) {
            model[c.zone - 5] -= c.amount;
            ok = counter == model[c.zone - 5];
        }
        for (unsigned z = 0; z < 4 && ok; z++) {
            ok = counter_of(after, 5 + z) == model[z];
        }
        if (!fw_check(ok, SUITE, "clean run", "a command's clean run broke the reference model")) {
            return; /* every later expectation builds on this state */
        }
        memcpy(next, d->mem, size);

        for (uint32_t k = 1; k <= ops; k++) {
            for (int m = VSAFE_SIM_CUT_DROPPED; m <= VSAFE_SIM_CUT_TORN_PAGE; m++) {
                int reps = m == VSAFE_SIM_CUT_DROPPED ? 1 : 2;
                for (int r = 0; r < reps; r++) {
                    const char *why = NULL;
                    memcpy(d->mem, clean, size);
                    if (fw_dev_mount(d) != VSAFE_OK) {
                        why = "does not mount before the cut";
                    }
                    vsafe_fw_nvm_reseed(&d->nvm, ((uint64_t)i << 24) ^ ((uint64_t)k << 4) ^ (uint64_t)(m * 2 + r));
                    if (why == NULL && vsafe_fw_nvm_arm_cut(&d->nvm, k, (vsafe_sim_cut_model_t)m) != VSAFE_OK) {
                        why = "cannot arm";
                    }
                    if (why == NULL && run(d, frame, fl, &st2, &c2)) {
                        why = "answered although power failed"; /* no acknowledgement without durability */
                    }
                    if (why == NULL && !vsafe_fw_nvm_cut_happened(&d->nvm)) {
                        why = "the cut did not happen";
                    }
                    vsafe_fw_nvm_power_on(&d->nvm);
                    bool is_before = false, is_after = false;
                    if (why == NULL) {
                        int rc = fw_nvm_image(d, got, sizeof got, &len2);
                        is_before = rc == VSAFE_OK && len2 == len && memcmp(got, before, len) == 0;
                        is_after = rc == VSAFE_OK && len2 == len && memcmp(got, after, len) == 0;
                        if (!is_before && !is_after) {
                            why = "recovered state is neither the state before nor after the command";
                        }
                    }
                    if (why == NULL && fw_dev_mount(d) != VSAFE_OK) {
                        why = "device does not mount after the cut";
                    }
                    if (why == NULL && is_before && r == 0) { /* retried after the reboot */
                        st2 = 0xFF;
                        if (!run(d, frame, fl, &st2, &c2) || st2 != status ||
                            fw_nvm_image(d, got, sizeof got, &len2) != VSAFE_OK || memcmp(got, after, len) != 0) {
                            why = "retry after the cut differs from the clean run";
                        }
                    }
                    cuts++;
                    if (!fw_check(why == NULL, SUITE, "cut", why)) {
                        cut_failures++;
                        fw_note(SUITE, "  at command ", (uint32_t)i);
                        fw_note(SUITE, "  at operation ", k);
                        fw_note(SUITE, "  write model ", (uint32_t)m);
                    }
                }
            }
        }
        memcpy(clean, next, size);
        memcpy(before, after, len);
    }
    fw_note(SUITE, "image bytes ", len);
    fw_note(SUITE, "NVM bytes ", size);
    fw_note(SUITE, "commands ", PC_COMMANDS);
    fw_note(SUITE, "commands executed ", ok_cmds);
    fw_note(SUITE, "compactions ", compactions);
    fw_note(SUITE, "cut points ", cuts);
    fw_note(SUITE, "violations ", cut_failures);
}
