/* Process-level proof (issue 3, 5c): a child process decrements a file-backed device's counter in
 * a loop and reports each acknowledged value through a pipe; the parent kills it with SIGKILL at a
 * random instant, 200 times. After every kill the device must open (the lock died with the child),
 * and its counter must be at most the last acknowledged value (acknowledged decrements survive)
 * and at least that value minus one (only the one command in flight may have landed unacknowledged).
 * The counter never goes up across kills. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vsafe/host.h"
#include "vsafe/se.h"

#define ZONE 5
#define KILLS 200

static char dir[128], path[200];

static int open_dev(vsafe_se_t **se, vsafe_host_t **h)
{
    vsafe_se_options_t o = {.profile = "spl05", .state_path = path};
    int rc = vsafe_se_open(se, &o);
    if (rc == 0) {
        rc = vsafe_host_open_se(h, *se);
        if (rc != 0) {
            vsafe_se_close(*se);
        }
    }
    return rc;
}

static void child(int wfd)
{
    vsafe_se_t *se;
    vsafe_host_t *h;
    if (open_dev(&se, &h) != 0) {
        _exit(3);
    }
    for (uint32_t n = 0;; n++) {
        uint8_t data[16];
        uint32_t c = 0;
        memset(data, (int)(n & 0xFF), sizeof data);
        if (vsafe_host_decrement(h, VSAFE_HOST_PROT_NONE, ZONE, 1, 0, data, sizeof data, &c) != 0) {
            _exit(4);
        }
        uint8_t b[4] = {(uint8_t)(c >> 24), (uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c};
        if (write(wfd, b, 4) != 4) {
            _exit(5);
        }
    }
}

static uint32_t read_counter(void)
{
    vsafe_se_t *se;
    vsafe_host_t *h;
    uint32_t c = 0;
    assert_int_equal(open_dev(&se, &h), VSAFE_OK);
    assert_int_equal(vsafe_host_read_counter_zone(h, VSAFE_HOST_PROT_NONE, ZONE, 0, NULL, 0, &c), VSAFE_OK);
    vsafe_host_close(h);
    vsafe_se_close(se);
    return c;
}

static void test_sigkill_loop(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/vsafe-sigkill-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/device.nvm", dir);
    uint32_t prev = read_counter(); /* creates the device */
    unsigned long total_acked = 0, unacked_landed = 0, violations = 0;
    srand(12345);
    for (int i = 0; i < KILLS; i++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            child(p[1]);
        }
        close(p[1]);
        struct timespec ts = {0, (long)(1000000 + rand() % 15000000)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status)); /* it was still decrementing when killed */
        uint32_t last = prev;
        uint8_t b[4];
        size_t have = 0;
        for (;;) {
            ssize_t n = read(p[0], b + have, 4 - have);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                break;
            }
            have += (size_t)n;
            if (have == 4) {
                uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
                if (v >= last) {
                    violations++; /* acknowledged values must go down */
                }
                last = v;
                total_acked++;
                have = 0;
            }
        }
        close(p[0]);
        uint32_t now = read_counter(); /* the device opens after every kill */
        if (now > last || now + 1u < last) {
            violations++;
            print_message("kill %d: counter %u, last acknowledged %u\n", i, now, last);
        }
        unacked_landed += now + 1u == last;
        prev = now;
    }
    print_message("sigkill: %d kills, %lu acknowledged decrements, %lu unacknowledged ones landed, %lu violations\n",
                  KILLS, total_acked, unacked_landed, violations);
    unlink(path);
    rmdir(dir);
    assert_int_equal(violations, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
