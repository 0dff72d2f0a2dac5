/* Device-level power-loss proofs (issue 3, 5a and 5b), through the host library and the whole
 * device on a simulated NVM, with the reference model (tests/model) as the oracle.
 *
 * The model follows the acknowledged commands: for each command it says what the device must
 * answer and what state must follow. The device is observed only through the public host API
 * (partition table, counters, ACs, key slot and C-MAC counter, command table, the data of every
 * readable zone), never by comparing it with another run of the same code.
 *
 * exhaustive: a scripted mixed workload (atomic and non-atomic updates, decrements with data, AC
 * changes; one command in four C-MAC'd in a host session) after a host key is provisioned. For
 * every command, power is cut at each of its NVM program/erase operations under every write model
 * (torn and reordered ones with two seeds); after the reboot the device must open and its state
 * must equal the model after the acknowledged commands, or after those plus the interrupted one
 * applied whole (its data, counter, AC change and C-MAC counter step together), and nothing else.
 * Retrying the command after a cut that left it out must give the model's answer and state.
 * randomized: commands with cuts armed at random, state carried across reboots; after every cut
 * the same rule, the model following whichever of the two states the device holds.
 *
 * Sizes: VSAFE_PL_COMMANDS (exhaustive, default 220 commands per write-model family) and
 * VSAFE_PL_RANDOM (randomized, default 10000), for longer or quicker runs by hand; CTest runs the
 * defaults in every build, the sanitizer build included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "pl_common.h"

#define MAC_SHARE 4u

static model_t acked, post, seen;

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v != NULL && *v ? atoi(v) : dflt;
}

/* Whether the device's answer is one the model allows. */
static bool answer_ok(int rc, uint32_t refusals)
{
    if (refusals == 0) {
        return rc == VSAFE_OK;
    }
    int w = vsafe_status_wire(rc);
    return w > 0 && w < 32 && (refusals & MODEL_BIT(w)) != 0;
}

/* Opens the device after a reboot and observes it. Returns the open/observe status. */
static int observe(vsafe_sim_nvm_t *sim, model_t *obs, uint32_t *mask)
{
    pl_dev_t d;
    int rc = pl_open(&d, sim);
    if (rc == VSAFE_OK) {
        rc = model_observe(d.host, obs, mask);
    }
    pl_close(&d);
    return rc;
}

/* Formats the device, provisions the host key, and brings the model to the same point (zone 0's
 * content, read-only, copied in from the device). */
static void start(vsafe_sim_nvm_t *sim, model_t *m)
{
    pl_dev_t d;
    assert_int_equal(pl_open(&d, sim), VSAFE_OK); /* formats from the profile */
    model_init_spl05(m);
    assert_int_equal(vsafe_host_read_zone(d.host, VSAFE_HOST_PROT_NONE, 0, 0, m->z[0].data, m->z[0].len), VSAFE_OK);
    assert_int_equal(vsafe_host_provision_plaintext(d.host, VSAFE_HOST_KEY_AES128, pl_mac_key, pl_cipher_key),
                     VSAFE_OK);
    model_op_t kop = {.kind = MODEL_OP_WRITE_HOST_KEY, .key_type = VSAFE_HOST_KEY_AES128};
    model_apply(m, &kop, 1);
    pl_close(&d);
    uint32_t mask = 0;
    char why[300];
    assert_int_equal(observe(sim, &seen, &mask), VSAFE_OK);
    if (!model_matches(m, &seen, mask, why, sizeof why)) {
        fail_msg("provisioned device differs from the model: %s", why);
    }
    assert_int_equal(mask, (1u << m->zone_count) - 1u); /* every zone's data is observable */
}

static void run_exhaustive(int reorder, int commands)
{
    vsafe_sim_nvm_t *sim = pl_new_sim(reorder, 3);
    assert_non_null(sim);
    start(sim, &acked);
    pl_dev_t d;
    size_t size;
    uint8_t *mem = vsafe_sim_nvm_mem(sim, &size);
    uint8_t *clean = malloc(size);
    assert_non_null(clean);
    memcpy(clean, mem, size);
    uint64_t rng = 0xC0FFEEu + (uint64_t)reorder;
    unsigned long cuts = 0, violations = 0, ok_cmds = 0, mac_cmds = 0, compactions = 0, landed = 0, retries = 0;
    int models = reorder ? 4 : 3;
    char why[300], why2[300];

    for (int i = 0; i < commands; i++) {
        pl_cmd_t c;
        pl_make_cmd(&c, &rng, MAC_SHARE);
        model_op_t op = pl_model_op(&c);
        uint32_t refusals = model_refusals(&acked, &op);
        model_next(&acked, &op, &post);
        mac_cmds += c.mac;

        /* Without a cut: the model's answer and state, and the NVM operations the command takes. */
        memcpy(mem, clean, size);
        vsafe_sim_nvm_power_on(sim);
        assert_int_equal(pl_open_ex(&d, sim, 1), VSAFE_OK);
        vsafe_sim_nvm_stats_t s0, s1;
        vsafe_sim_nvm_stats(sim, &s0);
        uint32_t counter = 0;
        int crc = pl_run(&d, &c, &counter);
        vsafe_sim_nvm_stats(sim, &s1);
        pl_close(&d);
        if (!answer_ok(crc, refusals)) {
            fail_msg("cmd %d kind %d: device answered %s, model refusals %#x", i, (int)c.kind, vsafe_status_name(crc),
                     refusals);
        }
        if (crc == VSAFE_OK && op.kind == MODEL_OP_DECREMENT) {
            assert_int_equal(counter, post.z[c.zone].ctr);
        }
        uint64_t ops = (s1.program_ops + s1.erase_ops) - (s0.program_ops + s0.erase_ops);
        ok_cmds += crc == VSAFE_OK;
        uint32_t mask = 0;
        assert_int_equal(observe(sim, &seen, &mask), VSAFE_OK);
        if (!model_matches(&post, &seen, mask, why, sizeof why)) {
            fail_msg("cmd %d kind %d (uncut): %s", i, (int)c.kind, why);
        }
        uint8_t *next = malloc(size);
        assert_non_null(next);
        memcpy(next, mem, size);
        compactions += s1.erase_ops != s0.erase_ops;

        for (uint64_t k = 1; k <= ops; k++) {
            for (int m = 1; m <= models; m++) {
                int reps = m == VSAFE_SIM_CUT_DROPPED ? 1 : 2;
                for (int r = 0; r < reps; r++) {
                    memcpy(mem, clean, size);
                    vsafe_sim_nvm_power_on(sim);
                    vsafe_sim_nvm_reseed(sim, ((uint64_t)i << 24) ^ (k << 4) ^ (uint64_t)(m * 2 + r));
                    assert_int_equal(pl_open_ex(&d, sim, 1), VSAFE_OK);
                    assert_int_equal(vsafe_sim_nvm_arm_cut(sim, k, (vsafe_sim_cut_model_t)m), VSAFE_OK);
                    int rc = pl_run(&d, &c, &counter);
                    assert_true(vsafe_sim_nvm_cut_happened(sim));
                    assert_int_not_equal(rc, VSAFE_OK); /* no acknowledgement without durability */
                    pl_close(&d);
                    vsafe_sim_nvm_power_on(sim);
                    cuts++;
                    rc = observe(sim, &seen, &mask); /* the device always opens */
                    if (rc != VSAFE_OK) {
                        violations++;
                        print_message("violation: cmd %d kind %d op %llu model %d: open/observe %s\n", i,
                                      (int)c.kind, (unsigned long long)k, m, vsafe_status_name(rc));
                        continue;
                    }
                    bool is_before = model_matches(&acked, &seen, mask, why, sizeof why);
                    bool is_after = model_matches(&post, &seen, mask, why2, sizeof why2);
                    if (!is_before && !is_after) {
                        violations++;
                        print_message("violation: cmd %d kind %d op %llu model %d: neither before (%s) nor after "
                                      "(%s)\n",
                                      i, (int)c.kind, (unsigned long long)k, m, why, why2);
                        continue;
                    }
                    landed += !is_before;
                    if (is_before && r == 0) { /* retried after the reboot */
                        retries++;
                        assert_int_equal(pl_open_ex(&d, sim, 1), VSAFE_OK);
                        rc = pl_run(&d, &c, &counter);
                        pl_close(&d);
                        if (!answer_ok(rc, refusals) || observe(sim, &seen, &mask) != VSAFE_OK ||
                            !model_matches(&post, &seen, mask, why, sizeof why)) {
                            violations++;
                            print_message("violation: retry cmd %d op %llu model %d: rc %s, %s\n", i,
                                          (unsigned long long)k, m, vsafe_status_name(rc), why);
                        }
                    }
                }
            }
        }
        memcpy(clean, next, size);
        free(next);
        acked = post;
    }
    print_message("device exhaustive reorder=%d: %d commands (%lu C-MAC'd, %lu executed), %lu compactions, "
                  "%lu cut points (%lu left the command landed, %lu retried), %lu violations\n",
                  reorder, commands, mac_cmds, ok_cmds, compactions, cuts, landed, retries, violations);
    free(clean);
    vsafe_sim_nvm_free(sim);
    assert_int_equal(violations, 0);
    assert_true(cuts > (unsigned long)commands); /* every command was cut at least once */
}

static void test_device_exhaustive_no_reorder(void **state)
{
    (void)state;
    run_exhaustive(0, env_int("VSAFE_PL_COMMANDS", 220));
}

static void test_device_exhaustive_reorder(void **state)
{
    (void)state;
    run_exhaustive(1, env_int("VSAFE_PL_COMMANDS", 220));
}

static void test_device_randomized(void **state)
{
    (void)state;
    int commands = env_int("VSAFE_PL_RANDOM", 10000);
    vsafe_sim_nvm_t *sim = pl_new_sim(1, 11);
    assert_non_null(sim);
    start(sim, &acked);
    pl_dev_t d;
    assert_int_equal(pl_open_ex(&d, sim, 1), VSAFE_OK);
    uint64_t rng = 0xFACADEu;
    unsigned long cuts = 0, violations = 0, landed = 0, checks = 0;
    char why[300], why2[300];
    uint32_t mask = 0;
    for (int i = 0; i < commands; i++) {
        pl_cmd_t c;
        pl_make_cmd(&c, &rng, MAC_SHARE);
        model_op_t op = pl_model_op(&c);
        uint32_t refusals = model_refusals(&acked, &op);
        model_next(&acked, &op, &post);
        bool arm = pl_rand(&rng) % 4u == 0u;
        if (arm) {
            int m = 1 + (int)(pl_rand(&rng) % 4u);
            assert_int_equal(vsafe_sim_nvm_arm_cut(sim, 1u + pl_rand(&rng) % 6u, (vsafe_sim_cut_model_t)m), VSAFE_OK);
        }
        uint32_t counter = 0;
        int rc = pl_run(&d, &c, &counter);
        vsafe_sim_nvm_disarm(sim);
        if (!arm || !vsafe_sim_nvm_cut_happened(sim)) {
            if (!answer_ok(rc, refusals)) {
                fail_msg("cmd %d kind %d: device answered %s, model refusals %#x", i, (int)c.kind,
                         vsafe_status_name(rc), refusals);
            }
            if (rc == VSAFE_OK && op.kind == MODEL_OP_DECREMENT) {
                assert_int_equal(counter, post.z[c.zone].ctr);
            }
            acked = post;
            if (i % 500 == 499) { /* the model and the device still agree without a cut, too */
                pl_close(&d);
                assert_int_equal(observe(sim, &seen, &mask), VSAFE_OK);
                if (!model_matches(&acked, &seen, mask, why, sizeof why)) {
                    fail_msg("cmd %d: %s", i, why);
                }
                checks++;
                assert_int_equal(pl_open_ex(&d, sim, 1), VSAFE_OK);
            }
            continue;
        }
        /* power failed inside the command: reboot, then the state is the model before or after it */
        assert_int_not_equal(rc, VSAFE_OK);
        cuts++;
        pl_close(&d);
        vsafe_sim_nvm_power_on(sim);
        rc = observe(sim, &seen, &mask);
        if (rc != VSAFE_OK) {
            fail_msg("randomized: cmd %d: the device does not open after a cut: %s", i, vsafe_status_name(rc));
        }
        bool is_before = model_matches(&acked, &seen, mask, why, sizeof why);
        bool is_after = model_matches(&post, &seen, mask, why2, sizeof why2);
        if (!is_before && !is_after) {
            violations++;
            print_message("randomized violation at command %d kind %d: neither before (%s) nor after (%s)\n", i,
                          (int)c.kind, why, why2);
            acked = seen; /* go on from what the device holds, to count further violations */
        } else if (!is_before) {
            landed++;
            acked = post; /* the unacknowledged command landed whole: it counts from now on */
        }
        assert_int_equal(pl_open_ex(&d, sim, 1), VSAFE_OK);
    }
    pl_close(&d);
    print_message("device randomized: %d commands, %lu cuts (%lu left the command landed), %lu uncut checks, "
                  "%lu violations\n",
                  commands, cuts, landed, checks, violations);
    vsafe_sim_nvm_free(sim);
    assert_int_equal(violations, 0);
    assert_true(cuts > 0u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_exhaustive_no_reorder),
        cmocka_unit_test(test_device_exhaustive_reorder),
        cmocka_unit_test(test_device_randomized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
