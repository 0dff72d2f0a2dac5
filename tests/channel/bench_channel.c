/* Quick timing of the authenticated + encrypted Decrement (16 bytes of associated data) through
 * the I2C entry points on a volatile device. Not a test: `channel_bench [N]`.
 * Reports host+device per command, and device only (frames prepared beforehand). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "chan_host.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    vsafe_se_t *se;
    vsafe_se_options_t o = {"spl05", NULL};
    if (vsafe_se_open(&se, &o) != 0) {
        return 1;
    }
    th_t th;
    th_init(&th, th_se_xfer, se);
    if (th_provision_test_keys(&th) != 0 || th_cmd_hex(&th, 0x10, 0, "29 01 04 03", 0) != 0 ||
        th_cmd_hex(&th, 0x10, 0, "2A 01 04 03", 0) != 0) {
        return 1;
    }
    uint8_t p[8 + 16] = {0x00, 0x05, 0x00, 0x00, 0, 0, 0, 1};
    for (int i = 0; i < 16; i++) {
        p[8 + i] = (uint8_t)i;
    }
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        if (th_cmd(&th, 0xE4, 0, p, sizeof p, VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP) != 0) {
            fprintf(stderr, "failed at %ld\n", i);
            return 1;
        }
    }
    double t1 = now_s();
    printf("host+device: %ld decrements in %.3f s = %.0f /s\n", n, t1 - t0, (double)n / (t1 - t0));

    /* Device only: frames built beforehand with the host's future counters. */
    size_t fl = 0;
    uint8_t *frames = malloc((size_t)n * 64);
    uint32_t base = th.counter;
    for (long i = 0; i < n; i++) {
        th_build(&th, 0xE4, 0, p, sizeof p, true);
        fl = th.frame_len;
        memcpy(frames + (size_t)i * 64, th.frame, fl);
        th.counter++;
    }
    th.counter = base;
    uint8_t rsp[64];
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        if (vsafe_se_i2c_write(se, 0x20, frames + (size_t)i * 64, fl) != 0 || vsafe_se_i2c_read(se, 0x20, rsp, 5) != 0 ||
            vsafe_se_i2c_read(se, 0x20, rsp, (size_t)((rsp[1] << 8) | rsp[2]) + 3) != 0 || rsp[0] != 0) {
            fprintf(stderr, "device-only failed at %ld\n", i);
            return 1;
        }
    }
    t1 = now_s();
    printf("device only: %ld decrements in %.3f s = %.0f /s (frame %zu B, response %d B)\n", n, t1 - t0,
           (double)n / (t1 - t0), fl, (rsp[1] << 8 | rsp[2]) + 3);
    free(frames);
    th_free(&th);
    vsafe_se_close(se);
    return 0;
}
