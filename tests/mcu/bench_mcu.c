/* Timing of a complete debug-authentication full regression (Discovery, Start, one Response per
 * certificate of a 3-certificate chain, the token, erase, reset), of a forward transition (program
 * + reset) and of an SFI install of a 64 KiB image (the non-secure region, full), on the durable
 * file NVM (fdatasync per commit) and on a volatile store. Prints (bench_report.h: make bench runs it,
 * `bench_mcu [--json] [--targets FILE]`), checks nothing slow. */
#include "mcu_test_util.h"

#include "../../bench/bench_report.h"

#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static vsafe_da_key_t *sfi_owner;

static double sfi_install_us(vsafe_mcu_t *m)
{
    static uint8_t pl[VSAFE_SFI_PAYLOAD_MAX], img[VSAFE_SFI_IMAGE_MAX];
    uint8_t pub[64];
    vsafe_mcu_info_t info;
    CHECK(vsafe_mcu_sfi_pubkey(m, pub));
    CHECK(vsafe_mcu_info(m, &info));
    memset(pl, 0x5A, sizeof pl);
    vsafe_sfi_pack_t p = {.region = VSAFE_MCU_SFI_NONSECURE, .version = 1, .owner = sfi_owner, .device_pub = pub,
                          .device_soc_id = info.soc_id, .payload = pl, .payload_len = sizeof pl};
    size_t n = 0;
    CHECK(vsafe_sfi_pack(&p, img, sizeof img, &n));
    double t0 = now_us();
    CHECK(vsafe_mcu_sfi_install(m, img, n));
    return now_us() - t0;
}

static void run(const char *path, int rounds)
{
    static vsafe_bench_hist_t hda, hfwd, hsfi;
    memset(&hda, 0, sizeof hda);
    memset(&hfwd, 0, sizeof hfwd);
    memset(&hsfi, 0, sizeof hsfi);
    double da = 0, fwd = 0, sfi = 0, us;
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
        fwd += us = now_us() - t0;
        vsafe_bench_hist_add(&hfwd, (uint64_t)(us * 1e3));
        provision_da(m);
        write_markers(m);
        sfi += us = sfi_install_us(m);
        vsafe_bench_hist_add(&hsfi, (uint64_t)(us * 1e3));
        go(m, VSAFE_MCU_STATE_CLOSED);
        uint8_t req[8], rsp[512];
        size_t n, rn;
        t0 = now_us();
        CHECK(vsafe_da_frame_begin(VSAFE_DA_CMD_DISCOVERY, req, sizeof req, &n));
        CHECK(vsafe_mcu_da_request(m, req, n, rsp, sizeof rsp, &rn));
        CHECK(da_cert(m, VSAFE_DA_PERM_REGRESS_FULL));
        da += us = now_us() - t0;
        vsafe_bench_hist_add(&hda, (uint64_t)(us * 1e3));
        assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_OPEN);
        vsafe_mcu_close(m);
    }
    const char *where = path != NULL ? "file" : "volatile";
    const struct {
        const char *what;
        const vsafe_bench_hist_t *h;
        double sum_us;
    } rows[] = {{"forward transition (program + reset)", &hfwd, fwd},
                {"full DA regression (discovery..reset)", &hda, da},
                {"SFI install 64 KiB", &hsfi, sfi}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char name[96];
        vsafe_bench_result_t r;
        vsafe_bench_result_from(&r, rows[i].h);
        r.per_s = rounds / (rows[i].sum_us * 1e-6);
        snprintf(name, sizeof name, "%s, %s", rows[i].what, where);
        vsafe_bench_op(name, 0, &r);
    }
}

static void test_bench(void **state)
{
    (void)state;
    creds_init();
    CHECK(vsafe_da_key_generate(&sfi_owner));
    char path[256];
    snprintf(path, sizeof path, "%s/bench_mcu.nvm", getenv("VSAFE_BINARY_DIR") ? getenv("VSAFE_BINARY_DIR") : "/tmp");
    vsafe_bench_section("MCU lifecycle, in process (STM32H5-class model)",
                        "volatile: state in RAM; file: every commit on disk (pwrite + fdatasync); "
                        "50 and 10 rounds; the chip has no published figure for these",
                        1);
    run(NULL, 50);
    run(path, 10);
    unlink(path);
    vsafe_da_key_free(sfi_owner);
}

int main(int argc, char **argv)
{
    vsafe_bench_init("mcu", &argc, argv);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_bench)};
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    vsafe_bench_finish();
    return failed;
}
