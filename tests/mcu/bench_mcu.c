/* Timing of a complete debug-authentication full regression (Discovery, Start, Response with a
 * 3-certificate chain, erase, reset) and of a forward transition (program + reset), on the
 * durable file NVM (fdatasync per commit) and on a volatile store. Prints, checks nothing slow. */
#include "mcu_test_util.h"

#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void run(const char *path, int rounds)
{
    double da = 0, fwd = 0;
    for (int r = 0; r < rounds; r++) {
        if (path != NULL) {
            unlink(path);
        }
        vsafe_mcu_t *m;
        vsafe_mcu_options_t o = {.state_path = path, .rng_seed = (uint64_t)r + 1, .power_on_reset = 1};
        CHECK(vsafe_mcu_open(&m, &o));
        CHECK(vsafe_mcu_set_trustzone(m, true));
        double t0 = now_us();
        go(m, VSAFE_MCU_STATE_PROVISIONING);
        fwd += now_us() - t0;
        provision_da(m);
        write_markers(m);
        go(m, VSAFE_MCU_STATE_CLOSED);
        uint8_t req[8], rsp[512];
        size_t n, rn;
        t0 = now_us();
        CHECK(vsafe_da_frame_begin(VSAFE_DA_CMD_DISCOVERY, req, sizeof req, &n));
        CHECK(vsafe_mcu_da_request(m, req, n, rsp, sizeof rsp, &rn));
        CHECK(da_cert(m, VSAFE_DA_PERM_REGRESS_FULL));
        da += now_us() - t0;
        assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_OPEN);
        vsafe_mcu_close(m);
    }
    printf("%-8s forward transition (program + reset): %8.1f us   full DA regression (discovery..reset): %8.1f us\n",
           path != NULL ? "file" : "volatile", fwd / rounds, da / rounds);
}

static void test_bench(void **state)
{
    (void)state;
    creds_init();
    char path[256];
    snprintf(path, sizeof path, "%s/bench_mcu.nvm", getenv("VSAFE_BINARY_DIR") ? getenv("VSAFE_BINARY_DIR") : "/tmp");
    run(NULL, 50);
    run(path, 10);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_bench)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
