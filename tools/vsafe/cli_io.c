/* Byte input and output and subcommand groups of the CLI (cli_io.h). */
#include "cli_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secure.h"

int vsafe_cli_input_given(const vsafe_cli_input_t *in)
{
    return in->hex != NULL || in->file != NULL;
}

int vsafe_cli_errno_status(int err)
{
    return err == ENOENT || err == ENOTDIR ? VSAFE_ERR_NOT_FOUND : VSAFE_ERR_IO;
}

/* A file that could not be opened or read, with the system's reason. */
static int file_fail(vsafe_cli_t *cli, const char *opt, const char *verb, const char *path, int err)
{
    return vsafe_cli_fail_named(cli, vsafe_status_name(vsafe_cli_errno_status(err)), "%s: %s '%s': %s", opt, verb,
                                path, strerror(err));
}

static int read_any(vsafe_cli_t *cli, const char *opt, const char *path, size_t max, int key, uint8_t **out,
                    size_t *len)
{
    int is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return file_fail(cli, opt, key ? "cannot read key file" : "cannot open", path, errno);
    }
    /* One byte more than max is read, so an over-long input is refused rather than cut. */
    size_t cap = max + 1u, n = 0;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) {
        if (!is_stdin) {
            close(fd);
        }
        return vsafe_cli_fail(cli, VSAFE_ERR_NO_MEMORY, "%s", opt);
    }
    int err = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            err = errno;
            break;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    if (!is_stdin) {
        close(fd);
    }
    if (err != 0) {
        vsafe_wipe(buf, cap);
        free(buf);
        return file_fail(cli, opt, key ? "cannot read key file" : "cannot read", path, err);
    }
    if (n > max) {
        vsafe_wipe(buf, cap);
        free(buf);
        return vsafe_cli_usage_error(cli, "%s: '%s' is longer than %zu bytes", opt, path, max);
    }
    *out = buf;
    *len = n;
    return 0;
}

int vsafe_cli_read_file(vsafe_cli_t *cli, const char *opt, const char *path, size_t max, uint8_t **out, size_t *len)
{
    return read_any(cli, opt, path, max, 0, out, len);
}

int vsafe_cli_read_key_file(vsafe_cli_t *cli, const char *opt, const char *path, size_t max, uint8_t **out,
                            size_t *len)
{
    return read_any(cli, opt, path, max, 1, out, len);
}

int vsafe_cli_input_read(vsafe_cli_t *cli, const char *name, const vsafe_cli_input_t *in, int required, size_t min,
                         size_t max, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (in->hex != NULL && in->file != NULL) {
        return vsafe_cli_usage_error(cli, "give --%s HEX or --%s-file F, not both", name, name);
    }
    if (!vsafe_cli_input_given(in)) {
        return required ? vsafe_cli_usage_error(cli, "--%s HEX or --%s-file F is required", name, name) : 0;
    }
    int rc;
    char opt[64];
    if (in->hex != NULL) {
        snprintf(opt, sizeof opt, "--%s", name);
        rc = vsafe_cli_parse_hex(cli, opt, in->hex, out, len);
    } else {
        snprintf(opt, sizeof opt, "--%s-file", name);
        rc = vsafe_cli_read_file(cli, opt, in->file, max, out, len);
    }
    if (rc != 0) {
        return rc;
    }
    if (*len > max || *len < min) {
        size_t n = *len;
        vsafe_wipe(*out, n);
        free(*out);
        *out = NULL;
        *len = 0;
        if (min == max) {
            return vsafe_cli_usage_error(cli, "%s: %zu bytes given, %zu expected", opt, n, min);
        }
        return vsafe_cli_usage_error(cli, "%s: %zu bytes given, %zu..%zu expected", opt, n, min, max);
    }
    return 0;
}

int vsafe_cli_out_is_stdout(const char *path)
{
    return path != NULL && strcmp(path, "-") == 0;
}

int vsafe_cli_out_check(vsafe_cli_t *cli, const char *opt, const char *path)
{
    if (vsafe_cli_out_is_stdout(path) && cli->json) {
        return vsafe_cli_usage_error(cli, "%s -: raw bytes on stdout cannot go with --json (give a file)", opt);
    }
    return 0;
}

int vsafe_cli_write_file(vsafe_cli_t *cli, const char *opt, const char *path, const uint8_t *buf, size_t len,
                         int secret)
{
    int is_stdout = vsafe_cli_out_is_stdout(path);
    int fd = is_stdout ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0600 : 0644);
    if (fd < 0) {
        return vsafe_cli_fail(cli, VSAFE_ERR_IO, "%s: cannot create '%s' (%s)", opt, path, strerror(errno));
    }
    /* An existing file keeps its mode through O_TRUNC: a secret narrows it explicitly. */
    if (!is_stdout && secret && fchmod(fd, 0600) != 0) {
        int e = errno;
        close(fd);
        return vsafe_cli_fail(cli, VSAFE_ERR_IO, "%s: cannot restrict '%s' to its owner (%s)", opt, path, strerror(e));
    }
    if (is_stdout) {
        fflush(stdout);
    }
    size_t n = 0;
    int err = 0;
    while (n < len) {
        ssize_t w = write(fd, buf + n, len - n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            err = w < 0 ? errno : EIO;
            break;
        }
        n += (size_t)w;
    }
    if (!is_stdout && close(fd) != 0 && err == 0) {
        err = errno;
    }
    if (err != 0) {
        return vsafe_cli_fail(cli, VSAFE_ERR_IO, "%s: cannot write '%s' (%s)", opt, path, strerror(err));
    }
    return 0;
}

int vsafe_cli_open_prot(vsafe_cli_t *cli, const char *host_key, vsafe_host_prot_t *prot)
{
    *prot = VSAFE_HOST_PROT_TABLE;
    int rc = vsafe_cli_open_host(cli);
    if (rc == 0 && host_key != NULL) {
        rc = vsafe_cli_session(cli, host_key, prot);
    }
    return rc;
}

int vsafe_cli_parse_slot(vsafe_cli_t *cli, const char *what, const char *s, unsigned max, int allow_ephemeral,
                         uint8_t *slot)
{
    if (s == NULL) {
        return vsafe_cli_usage_error(cli, "%s N is required", what);
    }
    if (allow_ephemeral && strcmp(s, "ephemeral") == 0) {
        *slot = 0xFFu;
        return 0;
    }
    uint32_t v = 0;
    int rc = vsafe_cli_parse_u32(cli, what, s, 0, 0xFF, &v);
    if (rc != 0) {
        return rc;
    }
    if (v > max && !(allow_ephemeral && v == 0xFFu)) {
        return vsafe_cli_usage_error(cli, "%s: %s is out of range (0..%u%s)", what, s, max,
                                     allow_ephemeral ? ", or ephemeral / 0xFF" : "");
    }
    *slot = (uint8_t)v;
    return 0;
}

static void group_help(const vsafe_cli_t *cli, FILE *f, const vsafe_cli_sub_t *subs, size_t count,
                       const char *summary)
{
    fprintf(f, "usage: vsafe %s\n\n%s\n\nsubcommands (vsafe %s SUB --help describes each one's options):\n",
            cli->usage != NULL ? cli->usage : cli->command, summary, cli->command);
    for (size_t i = 0; i < count; i++) {
        fprintf(f, "  vsafe %s\n", subs[i].usage);
    }
}

int vsafe_cli_dispatch(vsafe_cli_t *cli, int argc, char **argv, const vsafe_cli_sub_t *subs, size_t count,
                       const char *summary, const char *def)
{
    if (cli->help_all != NULL) {
        /* `vsafe help` walks the commands: every subcommand describes itself (cli.c, help()). */
        const char *group = cli->command;
        for (size_t s = 0; s < count; s++) {
            static char command[64];
            snprintf(command, sizeof command, "%s %s", group, subs[s].name);
            char *av[] = {(char *)subs[s].name, (char *)"--help", NULL};
            cli->command = command;
            cli->group = group;
            cli->sub = subs[s].name;
            cli->usage = subs[s].usage;
            cli->help = subs[s].help;
            cli->summary = NULL;
            (void)subs[s].fn(cli, 2, av);
        }
        cli->command = group;
        cli->group = cli->sub = NULL;
        return VSAFE_CLI_EXIT_OK;
    }
    int i = 1;
    for (; i < argc; i++) {
        if (vsafe_cli_is_global(cli, argc, argv, &i)) {
            continue;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            group_help(cli, stdout, subs, count, summary);
            return VSAFE_CLI_EXIT_OK;
        }
        break;
    }
    const char *name = i < argc ? argv[i] : def;
    if (name == NULL) {
        group_help(cli, stderr, subs, count, summary);
        return vsafe_cli_usage_error(cli, "a subcommand is required");
    }
    if (name[0] == '-') {
        return vsafe_cli_usage_error(cli, "'%s': give the subcommand first (vsafe %s --help lists them)", name,
                                     cli->command);
    }
    for (size_t s = 0; s < count; s++) {
        if (strcmp(subs[s].name, name) == 0) {
            static char command[64];
            snprintf(command, sizeof command, "%s %s", cli->command, subs[s].name);
            cli->group = cli->command;
            cli->sub = subs[s].name;
            cli->command = command;
            cli->usage = subs[s].usage;
            cli->help = subs[s].help;
            cli->summary = NULL; /* the group's; the entry's help says what the subcommand does */
            if (i >= argc) {
                /* The default subcommand with no arguments: a one-element argv naming it. */
                static char *none[2];
                none[0] = (char *)subs[s].name;
                return subs[s].fn(cli, 1, none);
            }
            return subs[s].fn(cli, argc - i, argv + i);
        }
    }
    return vsafe_cli_usage_error(cli, "unknown subcommand '%s' (vsafe %s --help lists them)", name, cli->command);
}
