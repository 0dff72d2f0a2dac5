/* Shared CLI helpers: option parsing, numbers and hex, device files, output. See cli.h. */
#include "cli.h"
#include "port/posix/nvm_file.h"
#include "vsafe/sim.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/secure.h"

#include "vsafe/se_wire.h"

int vsafe_cli_is_global(vsafe_cli_t *cli, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "--json") == 0) {
        cli->json = 1;
        return 1;
    }
    if (strcmp(a, "--trace") == 0) {
        cli->trace = 1;
        return 1;
    }
    if (strncmp(a, "--device=", 9) == 0) {
        cli->device_dir = a + 9;
        cli->device_given = 1;
        return 1;
    }
    if (strcmp(a, "--device") == 0 && *i + 1 < argc) {
        cli->device_dir = argv[++*i];
        cli->device_given = 1;
        return 1;
    }
    return 0;
}

/* ---- Help ---- */

static const vsafe_cli_global_t globals[] = {
    {"--device", "DIR", "the device directory (default: $VSAFE_DEVICE, else ./vsafe-device)"},
    {"--connect", "ADDR", "reach a served device (vsafe serve): a socket path or HOST:PORT; default $VSAFE_CONNECT"},
    {"--json", NULL, "machine-readable output: one JSON object on stdout, also for every failure"},
    {"--trace", NULL, "every I2C frame both ways, decoded, on stderr (secrets never shown)"},
    {"--pcap", "FILE", "write every I2C transaction to FILE as a pcap capture (link type 209, I2C Linux: tshark -r FILE)"},
    {"--wait", "SECONDS", "when another process holds the device, retry for up to SECONDS (default: fail at once with ERR_LOCKED)"},
    {"--cut-after", "N", "cut power at the N-th NVM program or erase of the command; the next command recovers"},
    {"--cut-model", "M", "how the cut write ends: dropped, torn-unit (default), torn-page or reordered"},
    {"--version", NULL, "print \"vsafe VERSION\" and exit (also -V)"},
    {"--help", NULL, "print this help and exit (also -h); after a command, that command's help"},
};

const vsafe_cli_global_t *vsafe_cli_globals(size_t *count)
{
    *count = sizeof globals / sizeof globals[0];
    return globals;
}

static const char *opt_arg(const vsafe_cli_opt_t *o)
{
    return o->arg != NULL ? o->arg : "VALUE";
}

/* --help: the command's usage, summary and every option, on stdout (exit 0); or, while `vsafe
 * help` walks the commands, the same as a JSON object appended to cli->help_all. */
static int help(vsafe_cli_t *cli, const vsafe_cli_opt_t *opts, int *done)
{
    if (done != NULL) {
        *done = 1;
    }
    const char *usage = cli->usage != NULL ? cli->usage : cli->command;
    if (cli->help_all != NULL) {
        json_t *arr = json_array();
        for (const vsafe_cli_opt_t *o = opts; o != NULL && o->name != NULL; o++) {
            json_t *j = json_pack("{s:s, s:s?, s:s?}", "name", o->name, "arg", o->has_arg ? opt_arg(o) : NULL,
                                  "help", o->help);
            json_array_append_new(arr, j);
        }
        const char *cmd = cli->sub != NULL && cli->group != NULL ? cli->group : cli->command;
        json_array_append_new(cli->help_all,
                              json_pack("{s:s, s:s?, s:s, s:s?, s:s?, s:o}", "command", cmd, "sub", cli->sub, "usage",
                                        usage, "summary", cli->summary, "text", cli->help, "options", arr));
        return VSAFE_CLI_EXIT_OK;
    }
    printf("usage: vsafe %s\n", usage);
    if (cli->summary != NULL) {
        printf("\n%s\n", cli->summary);
    }
    if (cli->help != NULL) {
        /* a subcommand's own description of what it does and of its options */
        printf("\n%s", cli->help);
    }
    int described = 0;
    for (const vsafe_cli_opt_t *o = opts; o != NULL && o->name != NULL; o++) {
        described |= o->help != NULL;
    }
    if (described) {
        printf("\noptions:\n");
        for (const vsafe_cli_opt_t *o = opts; o->name != NULL; o++) {
            if (o->help == NULL) {
                continue; /* described in cli->help */
            }
            char left[64];
            snprintf(left, sizeof left, "--%s%s%s", o->name, o->has_arg ? " " : "", o->has_arg ? opt_arg(o) : "");
            printf("  %-26s %s\n", left, o->help != NULL ? o->help : "");
        }
    }
    printf("\nglobal options: --device DIR, --json, --trace, --cut-after N [--cut-model M], -h/--help "
           "(see vsafe --help)\n");
    return VSAFE_CLI_EXIT_OK;
}

int vsafe_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            return 0;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return 1;
        }
    }
    return 0;
}


int vsafe_cli_parse(vsafe_cli_t *cli, int argc, char **argv, const vsafe_cli_opt_t *opts, const char **pos,
                    size_t pos_min, size_t pos_max, size_t *pos_count, int *done)
{
    size_t n = 0;
    int only_pos = 0;
    if (done != NULL) {
        *done = 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (!only_pos && strcmp(a, "-h") == 0) {
            return help(cli, opts, done);
        }
        if (!only_pos && a[0] == '-' && a[1] == '-') {
            if (vsafe_cli_is_global(cli, argc, argv, &i)) {
                continue;
            }
            if (strcmp(a, "--help") == 0) {
                return help(cli, opts, done);
            }
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
            const vsafe_cli_opt_t *o = opts;
            for (; o != NULL && o->name != NULL; o++) {
                if (strlen(o->name) == name_len && strncmp(o->name, name, name_len) == 0) {
                    break;
                }
            }
            if (o == NULL || o->name == NULL) {
                return vsafe_cli_usage_error(cli, "unknown option '%s'", a);
            }
            if (o->has_arg) {
                if (eq != NULL) {
                    *o->value = eq + 1;
                } else if (i + 1 < argc) {
                    *o->value = argv[++i];
                } else {
                    return vsafe_cli_usage_error(cli, "option --%s needs a value", o->name);
                }
            } else {
                if (eq != NULL) {
                    return vsafe_cli_usage_error(cli, "option --%s takes no value", o->name);
                }
                *o->flag = 1;
            }
            continue;
        }
        if (n >= pos_max) {
            return vsafe_cli_usage_error(cli, "unexpected argument '%s'", a);
        }
        pos[n++] = a;
    }
    if (n < pos_min) {
        return vsafe_cli_usage_error(cli, "missing argument");
    }
    if (pos_count != NULL) {
        *pos_count = n;
    }
    return 0;
}

static void vfail_hint(vsafe_cli_t *cli, const char *name, const char *message, const char *hint, const char *fmt,
                       va_list ap)
{
    char ctx[512];
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    const char *h = hint != NULL && hint[0] != '\0' ? hint : NULL;
    if (message != NULL && strstr(ctx, message) != NULL) {
        /* The context already says what the status says: print it once, not "X: NAME: X". */
        message = NULL;
    }
    if (cli->json) {
        char msg[768];
        if (message != NULL) {
            snprintf(msg, sizeof msg, "%s: %s", ctx, message);
        } else {
            snprintf(msg, sizeof msg, "%s", ctx);
        }
        json_t *o = json_pack("{s:s, s:s}", "error", name, "message", msg);
        if (h != NULL) {
            json_object_set_new(o, "hint", json_string(h));
        }
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    }
    /* One line, naming the status; what to do about it last, in parentheses. */
    if (message != NULL) {
        fprintf(stderr, "vsafe: %s: %s: %s%s%s%s\n", ctx, name, message, h ? " (" : "", h ? h : "", h ? ")" : "");
    } else {
        fprintf(stderr, "vsafe: %s: %s%s%s%s\n", ctx, name, h ? " (" : "", h ? h : "", h ? ")" : "");
    }
}

static void vfail(vsafe_cli_t *cli, const char *name, const char *message, const char *fmt, va_list ap)
{
    vfail_hint(cli, name, message, NULL, fmt, ap);
}

int vsafe_cli_fail_hint(vsafe_cli_t *cli, int status, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_hint(cli, vsafe_status_name(status), vsafe_status_message(status), hint, fmt, ap);
    va_end(ap);
    return VSAFE_CLI_EXIT_FAIL;
}

int vsafe_cli_usage_error(vsafe_cli_t *cli, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cli->json) {
        json_t *o = json_pack("{s:s, s:s}", "error", "USAGE", "message", msg);
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    }
    fprintf(stderr, "vsafe %s: %s\nusage: vsafe %s\n", cli->command != NULL ? cli->command : "", msg,
            cli->usage != NULL ? cli->usage : "");
    return VSAFE_CLI_EXIT_USAGE;
}

int vsafe_cli_fail(vsafe_cli_t *cli, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(cli, vsafe_status_name(status), vsafe_status_message(status), fmt, ap);
    va_end(ap);
    return VSAFE_CLI_EXIT_FAIL;
}

int vsafe_cli_fail_named(vsafe_cli_t *cli, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(cli, name, NULL, fmt, ap);
    va_end(ap);
    return VSAFE_CLI_EXIT_FAIL;
}

int vsafe_cli_parse_u32(vsafe_cli_t *cli, const char *what, const char *s, uint32_t min, uint32_t max,
                        uint32_t *out)
{
    if (s == NULL || s[0] == '\0' || s[0] == '-' || s[0] == '+' || isspace((unsigned char)s[0])) {
        return vsafe_cli_usage_error(cli, "%s: '%s' is not a number", what, s != NULL ? s : "");
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0') {
        return vsafe_cli_usage_error(cli, "%s: '%s' is not a number (decimal or 0x hex)", what, s);
    }
    if (v < min || v > max) {
        return vsafe_cli_usage_error(cli, "%s: %s is out of range (%u..%u)", what, s, (unsigned)min,
                                     (unsigned)max);
    }
    *out = (uint32_t)v;
    return 0;
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

int vsafe_cli_parse_hex(vsafe_cli_t *cli, const char *what, const char *s, uint8_t **out, size_t *len)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
    }
    uint8_t *buf = malloc(strlen(s) / 2 + 1);
    if (buf == NULL) {
        return vsafe_cli_fail(cli, VSAFE_ERR_NO_MEMORY, "%s", what);
    }
    size_t n = 0;
    int hi = -1;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == ' ' || *p == ':' || *p == '\t') {
            if (hi >= 0) {
                break;
            }
            continue;
        }
        int d = hex_digit((unsigned char)*p);
        if (d < 0) {
            free(buf);
            return vsafe_cli_usage_error(cli, "%s: '%c' is not a hex digit", what, *p);
        }
        if (hi < 0) {
            hi = d;
        } else {
            buf[n++] = (uint8_t)(hi << 4 | d);
            hi = -1;
        }
    }
    if (hi >= 0) {
        free(buf);
        return vsafe_cli_usage_error(cli, "%s: odd number of hex digits", what);
    }
    *out = buf;
    *len = n;
    return 0;
}

char *vsafe_cli_hex(const uint8_t *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(2 * len + 1);
    if (s == NULL) {
        abort();
    }
    for (size_t i = 0; i < len; i++) {
        s[2 * i] = digits[buf[i] >> 4];
        s[2 * i + 1] = digits[buf[i] & 15];
    }
    s[2 * len] = '\0';
    return s;
}

const char *vsafe_cli_device_file(const vsafe_cli_t *cli, const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", cli->device_dir, name);
    return path;
}

/* ---- Fault injection: the command runs on a simulated copy of the state file ---- */

int vsafe_cli_cut_model(const char *name)
{
    static const struct {
        const char *name;
        int model;
    } models[] = {{"dropped", VSAFE_SIM_CUT_DROPPED},
                  {"torn-unit", VSAFE_SIM_CUT_TORN_UNIT},
                  {"torn-page", VSAFE_SIM_CUT_TORN_PAGE},
                  {"reordered", VSAFE_SIM_CUT_REORDERED}};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        if (strcmp(name, models[i].name) == 0) {
            return models[i].model;
        }
    }
    return -1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int vsafe_cli_retry_locked(vsafe_cli_t *cli, int rc, double *start)
{
    if (rc != VSAFE_ERR_LOCKED || cli->wait_s <= 0) {
        return 0;
    }
    double t = now_s();
    if (*start == 0) {
        *start = t;
    }
    if (t - *start >= cli->wait_s) {
        return 0;
    }
    /* The holder is usually one short CLI command or a server: poll at 20 ms. */
    struct timespec nap = {0, 20 * 1000 * 1000};
    nanosleep(&nap, NULL);
    return 1;
}

/* Run number `name` of a seeded device: DIR/<name> holds the next one in decimal. creating = the
 * run that creates the device (run 0; the file is restarted). The file is locked while it is read
 * and advanced, so two processes waiting on one device still get different runs. */
static int seed_run(vsafe_cli_t *cli, const char *name, int creating, uint64_t *run)
{
    *run = 0;
    /* Not vsafe_cli_device_file: its buffer holds the caller's state file path. */
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", cli->device_dir, name) >= (int)sizeof path) {
        return vsafe_cli_fail(cli, VSAFE_ERR_ARGUMENT, "device directory path too long: '%s'", cli->device_dir);
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == ENOENT && creating && mkdir(cli->device_dir, 0700) == 0) {
        /* The MCU's first command may come before any secure element: it creates the directory. */
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    }
    if (fd < 0) {
        return vsafe_cli_fail(cli, VSAFE_ERR_IO, "cannot open the seeded random generator's run counter '%s': %s",
                              path, strerror(errno));
    }
    int rc = 0;
    char buf[32] = "";
    if (lockf(fd, F_LOCK, 0) != 0) {
        rc = vsafe_cli_fail(cli, VSAFE_ERR_IO, "cannot lock '%s': %s", path, strerror(errno));
    } else if (!creating) {
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        /* A device created before the counter existed had its creating run only. */
        *run = buf[0] != '\0' ? strtoull(buf, NULL, 10) : 1u;
    }
    if (rc == 0) {
        int len = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)(*run + 1u));
        if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
            rc = vsafe_cli_fail(cli, VSAFE_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        }
    }
    (void)close(fd); /* releases the lock */
    return rc;
}

/* The generator's seed for run `run` of a device seeded with `seed`: the seed itself for the run
 * that created the device (so a seed gives the same device as it always did), a different one for
 * each later run (SplitMix64's finalizer over seed + run * golden ratio: a seed derivation for
 * repeatable tests, not cryptography); never 0, which means OS randomness. */
static uint64_t seed_for_run(uint64_t seed, uint64_t run)
{
    if (run == 0) {
        return seed;
    }
    uint64_t z = seed + run * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z != 0 ? z : 1u;
}

int vsafe_cli_seed(vsafe_cli_t *cli, const char *env, const char *counter, int creating, uint64_t *seed)
{
    *seed = 0;
    const char *s = getenv(env);
    if (s == NULL || s[0] == '\0') {
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
        return vsafe_cli_usage_error(cli, "%s='%s' is not a number (decimal or 0x hex)", env, s);
    }
    if (v == 0) {
        return 0;
    }
    uint64_t run = 0;
    int rc = seed_run(cli, counter, creating, &run);
    if (rc != 0) {
        return rc;
    }
    *seed = seed_for_run(v, run);
    return 0;
}

int vsafe_cli_se_seed(vsafe_cli_t *cli, int creating, uint64_t *seed)
{
    return vsafe_cli_seed(cli, "VSAFE_SE_SEED", "se.seed-run", creating, seed);
}

int vsafe_cli_cut_attach(vsafe_cli_t *cli, const char *path, int which, struct vsafe_nvm **nvm)
{
    struct vsafe_file_nvm **lock = which ? &cli->mcu_sim_lock : &cli->sim_lock;
    struct vsafe_sim_nvm **sim = which ? &cli->mcu_sim : &cli->sim;
    /* Hold the file's write lock for the whole run, like a normal open. */
    int rc;
    double start = 0;
    do {
        rc = vsafe_file_nvm_open(lock, path, 0, 0);
    } while (vsafe_cli_retry_locked(cli, rc, &start));
    if (rc != VSAFE_OK) {
        *lock = NULL;
        return vsafe_cli_fail(cli, rc, "cannot open state file '%s'", path);
    }
    vsafe_nvm_geometry_t geo = vsafe_file_nvm_port(*lock)->geo;
    geo.page_count = 0; /* from the file */
    rc = vsafe_sim_nvm_from_file(sim, path, &geo, (uint64_t)cli->cut_after * 2654435761u);
    if (rc == VSAFE_OK) {
        rc = vsafe_sim_nvm_arm_cut(*sim, cli->cut_after,
                                   (vsafe_sim_cut_model_t)(cli->cut_model ? cli->cut_model : VSAFE_SIM_CUT_TORN_UNIT));
    }
    if (rc != VSAFE_OK) {
        return vsafe_cli_fail(cli, rc, "fault injection on '%s'", path);
    }
    *nvm = vsafe_sim_nvm_port(*sim);
    return 0;
}

/* Writes a simulated state file back; returns 1 when its cut happened, 0 when not, -1 on error. */
static int cut_detach(vsafe_cli_t *cli, struct vsafe_sim_nvm **sim, struct vsafe_file_nvm **lock, const char *name)
{
    int result = -1;
    if (*sim != NULL) {
        bool cut = vsafe_sim_nvm_cut_happened(*sim);
        int wrc = vsafe_sim_nvm_to_file(*sim, vsafe_cli_device_file(cli, name));
        vsafe_sim_nvm_free(*sim);
        *sim = NULL;
        if (wrc != VSAFE_OK) {
            (void)vsafe_cli_fail(cli, wrc, "cannot write %s back after fault injection", name);
        } else {
            result = cut ? 1 : 0;
        }
    }
    vsafe_file_nvm_close(*lock);
    *lock = NULL;
    return result;
}

int vsafe_cli_finish(vsafe_cli_t *cli, int rc)
{
    vsafe_host_close(cli->host);
    cli->host = NULL;
    vsafe_host_conn_close(cli->conn);
    cli->conn = NULL;
    vsafe_se_close(cli->se);
    cli->se = NULL;
    if (cli->pcap != NULL) {
        int prc = vsafe_pcap_close(cli->pcap);
        cli->pcap = NULL;
        if (prc != VSAFE_OK) {
            fprintf(stderr, "vsafe: --pcap %s: %s: the capture is incomplete\n", cli->pcap_path,
                    vsafe_status_message(prc));
            rc = rc == VSAFE_CLI_EXIT_OK ? VSAFE_CLI_EXIT_FAIL : rc;
        }
    }
    if (cli->cut_after == 0) {
        vsafe_file_nvm_close(cli->sim_lock);
        vsafe_file_nvm_close(cli->mcu_sim_lock);
        return rc;
    }
    int attached = cli->sim != NULL || cli->mcu_sim != NULL;
    int se_cut = cli->sim != NULL ? cut_detach(cli, &cli->sim, &cli->sim_lock, "se.nvm") : 0;
    int mcu_cut = cli->mcu_sim != NULL ? cut_detach(cli, &cli->mcu_sim, &cli->mcu_sim_lock, "mcu.nvm") : 0;
    vsafe_file_nvm_close(cli->sim_lock);
    vsafe_file_nvm_close(cli->mcu_sim_lock);
    cli->sim_lock = cli->mcu_sim_lock = NULL;
    if (se_cut < 0 || mcu_cut < 0) {
        return VSAFE_CLI_EXIT_FAIL;
    }
    if (!attached) {
        /* Never silently ignored: a command that opened no state file could not be cut. */
        if (rc == VSAFE_CLI_EXIT_OK || rc == VSAFE_CLI_EXIT_FAIL) {
            fprintf(stderr, "vsafe: --cut-after: '%s' opened no state file, so nothing could be cut\n",
                    cli->command != NULL ? cli->command : "");
        }
        return rc == VSAFE_CLI_EXIT_OK ? VSAFE_CLI_EXIT_USAGE : rc;
    }
    if (se_cut > 0 || mcu_cut > 0) {
        fprintf(stderr, "vsafe: power cut at NVM operation %lu of this command (%s); the state file keeps what the cut "
                        "left, and the next command recovers it\n",
                cli->cut_after, mcu_cut > 0 ? "mcu.nvm" : "se.nvm");
        return rc == VSAFE_CLI_EXIT_OK ? VSAFE_CLI_EXIT_FAIL : rc;
    }
    fprintf(stderr, "vsafe: no power cut: the command ended before NVM operation %lu\n", cli->cut_after);
    return rc;
}

int vsafe_cli_state_file_present(vsafe_cli_t *cli, const char *name)
{
    const char *path = vsafe_cli_device_file(cli, name);
    struct stat st;
    if (lstat(path, &st) != 0) {
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        /* A symlink planted in place of a state file could redirect writes anywhere. */
        (void)vsafe_cli_fail_named(cli, "BAD_STATE_FILE", "'%s' is %s, not a regular file: refused", path,
                                   S_ISLNK(st.st_mode) ? "a symbolic link" : "not a file");
        return -1;
    }
    return 1;
}

/* ---- Secrets ---- */

int vsafe_cli_secret_given(const vsafe_cli_secret_t *s)
{
    return s->value != NULL || s->file != NULL || s->fd != NULL || s->env != NULL;
}

/* Reads fd to its end into out[cap]; returns the length or -1: a read error (errno set) or longer
 * than cap (errno 0). */
static long read_fd_all(int fd, char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, out + n, cap - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -1;
        }
        if (r == 0) {
            return (long)n;
        }
        n += (size_t)r;
        if (n == cap) {
            errno = 0; /* too long, not a read error */
            return -1;
        }
    }
}

int vsafe_cli_secret_read(vsafe_cli_t *cli, const char *name, const vsafe_cli_secret_t *s, char *out, size_t cap,
                          size_t *len)
{
    int ways = (s->value != NULL) + (s->file != NULL) + (s->fd != NULL) + (s->env != NULL);
    if (ways != 1) {
        return vsafe_cli_usage_error(cli, "give the %s in one way: --%s, --%s-file F, --%s-fd N or --%s-env VAR", name,
                                     name, name, name, name);
    }
    long n = -1;
    int stripped = 0;
    if (s->value != NULL || s->env != NULL) {
        const char *v = s->value;
        if (s->env != NULL && (v = getenv(s->env)) == NULL) {
            return vsafe_cli_fail_named(cli, "NO_SECRET", "--%s-env: environment variable '%s' is not set", name, s->env);
        }
        size_t vl = strlen(v);
        if (vl < cap) {
            memcpy(out, v, vl);
            n = (long)vl;
        }
    } else {
        int fd = -1, close_fd = 0;
        if (s->file != NULL) {
            fd = open(s->file, O_RDONLY | O_CLOEXEC);
            close_fd = 1;
            if (fd < 0) {
                int e = errno;
                return vsafe_cli_fail_named(cli, vsafe_status_name(e == ENOENT || e == ENOTDIR ? VSAFE_ERR_NOT_FOUND : VSAFE_ERR_IO),
                                            "--%s-file: cannot read %s file '%s': %s", name, name, s->file, strerror(e));
            }
        } else {
            uint32_t v = 0;
            if (vsafe_cli_parse_u32(cli, "--fd", s->fd, 0, 1u << 20, &v) != 0) {
                return VSAFE_CLI_EXIT_USAGE;
            }
            fd = (int)v;
        }
        errno = 0;
        n = read_fd_all(fd, out, cap);
        int e = errno;
        if (close_fd) {
            close(fd);
        }
        if (n < 0) {
            vsafe_wipe(out, cap);
            const char *from = s->file != NULL ? s->file : s->fd;
            if (e != 0 && s->file != NULL) {
                return vsafe_cli_fail_named(cli, "BAD_SECRET", "--%s-file: cannot read %s file '%s': %s", name, name,
                                            from, strerror(e));
            }
            if (e != 0) {
                return vsafe_cli_fail_named(cli, "BAD_SECRET", "--%s-fd: cannot read descriptor %s: %s", name, from,
                                            strerror(e));
            }
            return vsafe_cli_fail_named(cli, "BAD_SECRET", "--%s-%s: '%s' holds more than %zu bytes", name,
                                        s->file != NULL ? "file" : "fd", from, cap - 1u);
        }
        stripped = 1;
    }
    if (n < 0) {
        return vsafe_cli_usage_error(cli, "--%s: longer than %zu bytes", name, cap - 1u);
    }
    if (stripped && n > 0 && out[n - 1] == '\n') {
        n--;
        if (n > 0 && out[n - 1] == '\r') {
            n--;
        }
    }
    if (memchr(out, '\0', (size_t)n) != NULL) {
        vsafe_wipe(out, cap);
        return vsafe_cli_usage_error(cli, "--%s: contains a NUL byte", name);
    }
    out[n] = '\0';
    *len = (size_t)n;
    return 0;
}

static void trace_print(void *ctx, const vsafe_host_trace_t *ev)
{
    (void)ctx;
    char text[8192];
    int rc = vsafe_host_trace_decode(ev, text, sizeof text);
    fprintf(stderr, "%s%s\n", text, rc == VSAFE_OK ? "" : " ...");
}

int vsafe_cli_connect(vsafe_cli_t *cli)
{
    char msg[300] = "";
    const char *name = cli->device_given ? cli->device_dir : NULL;
    int rc = vsafe_host_conn_open(&cli->conn, cli->connect, name, msg, sizeof msg);
    if (rc != 0) {
        cli->conn = NULL;
        return vsafe_cli_fail(cli, rc, "cannot reach %s%s at %s%s%s", name != NULL ? "device " : "the device",
                              name != NULL ? name : "", cli->connect, msg[0] ? ": " : "", msg);
    }
    return 0;
}

int vsafe_cli_write_durability(vsafe_cli_t *cli, const char *level)
{
    const char *path = vsafe_cli_device_file(cli, "durability");
    FILE *f = fopen(path, "w");
    int e = f == NULL ? errno : 0;
    if (f != NULL && fprintf(f, "%s\n", level) < 0) {
        e = errno != 0 ? errno : EIO;
    }
    if (f != NULL && fclose(f) != 0 && e == 0) {
        e = errno;
    }
    if (e != 0) {
        return vsafe_cli_fail_named(cli, vsafe_status_name(e == ENOENT || e == ENOTDIR ? VSAFE_ERR_NOT_FOUND : VSAFE_ERR_IO),
                                    "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}

void vsafe_cli_profile_name(vsafe_cli_t *cli, char *out, size_t cap)
{
    out[0] = '\0';
    if (cli->se != NULL) {
        (void)vsafe_se_profile_name(cli->se, out, cap);
        return;
    }
    if (cli->conn == NULL) {
        return;
    }
    /* HELLO again with the same name re-chooses the same device; its reply ends with the profile. */
    const char *name = cli->device_given ? cli->device_dir : "";
    uint8_t r[5 + 64 + 32];
    size_t rl = 0;
    int32_t st = 0;
    if (vsafe_host_conn_request(cli->conn, 0x01, (const uint8_t *)name, strlen(name), &st, r, sizeof r, &rl) != 0 ||
        st != 0 || rl < 4 || rl > sizeof r || (size_t)r[3] + 5u > rl) {
        return;
    }
    size_t at = 4u + r[3], pl = r[at];
    if (at + 1u + pl > rl || pl >= cap) {
        return;
    }
    memcpy(out, r + at + 1, pl);
    out[pl] = '\0';
}

static int open_host_connected(vsafe_cli_t *cli)
{
    int rc = vsafe_cli_connect(cli);
    if (rc != 0) {
        return rc;
    }
    rc = vsafe_host_open_conn(&cli->host, cli->conn);
    if (rc != 0) {
        cli->host = NULL;
        return vsafe_cli_fail(cli, rc, "cannot open host handle");
    }
    if (cli->trace) {
        vsafe_host_set_trace(cli->host, trace_print, cli);
    }
    vsafe_host_set_pcap(cli->host, cli->pcap);
    rc = vsafe_host_init(cli->host);
    if (rc != 0) {
        /* A served device NACKs every frame while it is powered off (ctl power off). */
        return vsafe_cli_fail_hint(cli, rc,
                                   rc == VSAFE_ERR_HOST_NACK ? "a served device does not answer while it is powered "
                                                               "off: vsafe --connect ADDR ctl power on"
                                                             : NULL,
                                   "first query of the served device at %s", cli->connect);
    }
    return 0;
}

int vsafe_cli_open_host(vsafe_cli_t *cli)
{
    if (cli->connect != NULL) {
        return open_host_connected(cli);
    }
    int present = vsafe_cli_state_file_present(cli, "se.nvm");
    if (present < 0) {
        return VSAFE_CLI_EXIT_FAIL;
    }
    const char *path = vsafe_cli_device_file(cli, "se.nvm");
    if (present == 0) {
        return vsafe_cli_fail_named(cli, "NO_DEVICE", "no device in '%s' (create one with: vsafe --device %s init)",
                                    cli->device_dir, cli->device_dir);
    }
    vsafe_se_options_t opt = {.profile = NULL, .state_path = path};
    char why[512] = "";
    vsafe_se_open_ext_t ext = {.error_message = why, .error_message_cap = sizeof why};
    int src = vsafe_cli_se_seed(cli, 0, &ext.rng_seed);
    if (src != 0) {
        return src;
    }
    if (cli->cut_after > 0 && !cli->cut_mcu) {
        struct vsafe_nvm *nvm = NULL;
        int frc = vsafe_cli_cut_attach(cli, path, 0, &nvm);
        if (frc != 0) {
            return frc;
        }
        ext.nvm = nvm;
        ext.one_sync = 1;
    }
    int rc;
    double start = 0;
    do {
        why[0] = '\0';
        rc = vsafe_se_open_ex(&cli->se, &opt, &ext);
    } while (rc != 0 && vsafe_cli_retry_locked(cli, rc, &start));
    if (rc != 0) {
        cli->se = NULL;
        if (rc == VSAFE_ERR_LOCKED) {
            return vsafe_cli_fail_hint(cli, rc,
                                       cli->wait_s > 0 ? "still held when --wait ran out; a device that vsafe serve "
                                                         "holds is reached with --connect ADDR"
                                                       : "--wait SECONDS waits for it; a device that vsafe serve "
                                                         "holds is reached with --connect ADDR",
                                       "cannot open device %s", path);
        }
        return vsafe_cli_fail(cli, rc, "cannot open device: %s", why[0] ? why : path);
    }
    rc = vsafe_host_open_se(&cli->host, cli->se);
    if (rc != 0) {
        cli->host = NULL;
        return vsafe_cli_fail(cli, rc, "cannot open host handle");
    }
    if (cli->trace) {
        vsafe_host_set_trace(cli->host, trace_print, cli);
    }
    vsafe_host_set_pcap(cli->host, cli->pcap);
    rc = vsafe_host_init(cli->host);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "init");
    }
    return 0;
}

int vsafe_cli_open_no_args(vsafe_cli_t *cli, int argc, char **argv, int *done)
{
    static const vsafe_cli_opt_t opts[] = {VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, done);
    if (rc != 0 || *done) {
        return rc;
    }
    return vsafe_cli_open_host(cli);
}

int vsafe_cli_json_out(vsafe_cli_t *cli, json_t *obj)
{
    (void)cli;
    char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s == NULL) {
        json_decref(obj);
        return vsafe_cli_fail(cli, VSAFE_ERR_NO_MEMORY, "json");
    }
    printf("%s\n", s);
    free(s);
    json_decref(obj);
    return VSAFE_CLI_EXIT_OK;
}

const char *vsafe_cli_ac_name(uint8_t ac)
{
    switch (ac) {
    case VSAFE_SE_AC_ALWAYS:
        return "always";
    case VSAFE_SE_AC_HOST:
        return "host";
    default:
        return "never";
    }
}

int vsafe_cli_lock_hostkey_ctrl(vsafe_host_t *host, int *was_open)
{
    uint8_t ctrl[2];
    int rc = vsafe_host_query_key_ctrl(host, ctrl);
    *was_open = 0;
    if (rc != VSAFE_OK || (ctrl[0] & 0x08u) == 0u) {
        return rc;
    }
    *was_open = 1;
    /* Change right (0x08) and re-provisioning (0x04) cleared; the other bits stay as they are. */
    const uint8_t locked[2] = {(uint8_t)(ctrl[0] & ~0x0Cu), ctrl[1]};
    return vsafe_host_put_key_ctrl(host, VSAFE_HOST_PROT_TABLE, locked);
}
