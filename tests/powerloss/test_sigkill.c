/* Process-level proof (issue 3, 5c): a child process decrements a file-backed device's counter in
 * a loop and reports each acknowledged value through a pipe; the parent kills it with SIGKILL, 200
 * times. After every kill the device must open (the lock died with the child), and its counter
 * must be at most the last acknowledged value (acknowledged decrements survive) and at least that
 * value minus one (only the one command in flight may have landed unacknowledged). The counter
 * never goes up across kills.
 *
 * Most kills wait for the child's first acknowledgement and then a random 0-8 ms, so that every
 * one of them lands inside the decrement loop however loaded the machine is (a fixed sleep alone
 * let a slow child be killed before it had decremented anything). One kill in ten is sent at once,
 * before any acknowledgement: the judgement must accept an untouched counter there; with
 * unsigned arithmetic "now + 1 < last" wrapped at 0xFFFFFFFF and called that a violation
 * (regress_8_sigkill_wrap). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
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

/* The rule after a kill: now == last (the command in flight did not land) or now == last - 1 (it
 * landed but its acknowledgement died with the child). Nothing else; no unsigned wrap. */
static bool kill_outcome_ok(uint32_t now, uint32_t last) { return now <= last && last - now <= 1u; }

/* regress_8_sigkill_wrap: the judgement on its own, at the edges (counter zones start at
 * 0xFFFFFFFF, so "no decrement acknowledged yet" is last == 0xFFFFFFFF). */
static void regress_8_sigkill_wrap(void **state)
{
    (void)state;
    assert_true(kill_outcome_ok(0xFFFFFFFFu, 0xFFFFFFFFu)); /* nothing acknowledged, nothing landed */
    assert_true(kill_outcome_ok(0xFFFFFFFEu, 0xFFFFFFFFu)); /* nothing acknowledged, one landed */
    assert_false(kill_outcome_ok(0xFFFFFFFDu, 0xFFFFFFFFu)); /* two unacknowledged: impossible */
    assert_false(kill_outcome_ok(0xFFFFFFFFu, 0xFFFFFFFEu)); /* an acknowledged decrement lost */
    assert_true(kill_outcome_ok(0u, 0u));
    assert_true(kill_outcome_ok(0u, 1u));
    assert_false(kill_outcome_ok(1u, 0u));
    assert_false(kill_outcome_ok(0u, 2u));
    assert_true(kill_outcome_ok(1000u, 1000u));
    assert_false(kill_outcome_ok(998u, 1000u));
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
    unsigned long total_acked = 0, unacked_landed = 0, violations = 0, acked_before_kill = 0;
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
        uint32_t last = prev;
        uint8_t b[4];
        size_t have = 0;
        bool immediate = i % 10 == 0;
        if (!immediate) {
            /* wait (up to 30 s) for the first acknowledgement: the child is in its loop */
            struct pollfd pf = {.fd = p[0], .events = POLLIN};
            int pr;
            do {
                pr = poll(&pf, 1, 30000);
            } while (pr < 0 && errno == EINTR);
            if (pr != 1) {
                kill(pid, SIGKILL);
                (void)waitpid(pid, NULL, 0);
                fail_msg("kill %d: no acknowledgement from the child within 30 s", i);
            }
            struct timespec ts = {0, (long)(rand() % 8000000)};
            nanosleep(&ts, NULL);
        }
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status)) { /* it was still decrementing (or opening) when killed */
            fail_msg("kill %d: the child exited by itself with status %d", i, WEXITSTATUS(status));
        }
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
        if (!immediate && last == prev) {
            fail_msg("kill %d: waited for an acknowledgement but read none", i);
        }
        acked_before_kill += last != prev;
        close(p[0]);
        uint32_t now = read_counter(); /* the device opens after every kill */
        if (!kill_outcome_ok(now, last)) {
            violations++;
            print_message("kill %d: counter %u, last acknowledged %u\n", i, now, last);
        }
        unacked_landed += now != last;
        prev = now;
    }
    print_message("sigkill: %d kills (%lu after at least one acknowledgement), %lu acknowledged decrements, "
                  "%lu unacknowledged ones landed, %lu violations\n",
                  KILLS, acked_before_kill, total_acked, unacked_landed, violations);
    unlink(path);
    rmdir(dir);
    assert_int_equal(violations, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regress_8_sigkill_wrap),
        cmocka_unit_test(test_sigkill_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
