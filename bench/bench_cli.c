/* make bench, the command-line tool: one `vsafe` call end to end, from the process's start to its
 * exit, as a shell script or a test harness pays for it (fork, exec, the device file opened and
 * locked, one command, its commit, the output, exit), on a file-backed SPL05 device.
 *   vsafe_bench_cli [--json] [--targets FILE] VSAFE_CLI [SECONDS_PER_ROW] */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_report.h"
#include "vsafe/se.h"

static const char *g_vsafe;
static char g_dir[64];

typedef struct {
    const char *args[8]; /* after vsafe --device DIR */
} call_t;

/* One call, stdout and stderr to /dev/null; success when it exits 0. */
static int do_call(void *arg)
{
    const call_t *c = arg;
    const char *argv[12] = {g_vsafe, "--device", g_dir};
    int n = 3;
    for (int i = 0; c->args[i] != NULL && n < 11; i++) {
        argv[n++] = c->args[i];
    }
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(g_vsafe, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
    vsafe_bench_init("cli", &argc, argv);
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: vsafe_bench_cli [--json] [--targets FILE] VSAFE_CLI [SECONDS_PER_ROW]\n");
        return 2;
    }
    g_vsafe = argv[1];
    double secs = argc > 2 ? atof(argv[2]) : 1.0;
    snprintf(g_dir, sizeof g_dir, "/tmp/vsafe-bench-cli-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        return 1;
    }
    /* The device made through the library without an identity (no CA is touched); the CLI then
     * finds DIR/se.nvm as it would after vsafe init. */
    char path[128];
    snprintf(path, sizeof path, "%s/se.nvm", g_dir);
    vsafe_se_t *se = NULL;
    vsafe_se_options_t o = {.profile = NULL, .state_path = path};
    vsafe_se_open_ext_t ext = {.no_identity = 1};
    vsafe_bench_need(vsafe_se_open_ex(&se, &o, &ext) == VSAFE_OK, "creating the device");
    vsafe_se_close(se);

    static const struct {
        const char *name;
        uint8_t hdr;
        call_t call;
    } rows[] = {
        {"vsafe read 1 --length 16", 0x05, {{"read", "1", "--length", "16", NULL}}},
        {"vsafe update 1 --data (16 B)", 0x06, {{"update", "1", "--data", "00112233445566778899aabbccddeeff", NULL}}},
        {"vsafe decrement 5", 0x04, {{"decrement", "5", NULL}}},
        {"vsafe random 32", 0x02, {{"random", "32", NULL}}},
        {"vsafe --json decrement 5", 0x04, {{"--json", "decrement", "5", NULL}}},
    };
    char how[160];
    snprintf(how, sizeof how, "fork + exec of %s, to its exit; file-backed device in %s; %.1f s per row", g_vsafe,
             g_dir, secs);
    vsafe_bench_section("One vsafe CLI call, process start to exit", how, 1);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        vsafe_bench_result_t r;
        vsafe_bench_measure(do_call, (void *)&rows[i].call, secs, 10, &r);
        vsafe_bench_op(rows[i].name, vsafe_se_command_time_ms(&rows[i].hdr, 1), &r);
    }
    vsafe_bench_note("chip: the chip's processing time of the one command alone, without a host program around it");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    int rc = system(cmd) == 0 ? 0 : 1;
    vsafe_bench_finish();
    return rc;
}
