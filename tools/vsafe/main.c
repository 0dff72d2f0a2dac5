/* vsafe: the command-line tool. `vsafe [--device DIR] [--json] [--trace] COMMAND [OPTIONS]`.
 *
 * To add a command group: write `int vsafe_cmd_NAME(vsafe_cli_t *, int, char **)` in its own file
 * (tools/vsafe/cmd_NAME.c, using cli.h) and add ONE line to VSAFE_CLI_COMMANDS below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* X(name, function, one-line summary) */
#define VSAFE_CLI_COMMANDS(X)                                                                         \
    X("init", vsafe_cmd_init, "create a new device from a profile: init [--profile NAME|FILE] [--force]") \
    X("zones", vsafe_cmd_zones, "show the partition table")                                          \
    X("read", vsafe_cmd_read, "read a zone: read ZONE [--offset N] [--length N]")                    \
    X("update", vsafe_cmd_update, "write a data zone: update ZONE [--offset N] --data HEX [--atomic]") \
    X("decrement", vsafe_cmd_decrement, "decrement a counter: decrement ZONE [--amount N] [--offset N] [--data HEX]") \
    X("ac", vsafe_cmd_ac, "change a zone access condition: ac ZONE --read|--update always|host|never [--lock]") \
    X("info", vsafe_cmd_info, "product data, life cycle, host key slot")                             \
    X("random", vsafe_cmd_random, "random bytes from the device: random N")                          \
    X("echo", vsafe_cmd_echo, "echo bytes through the device: echo HEX")                             \
    X("status", vsafe_cmd_status, "explain a status: status NAME|NUMBER, or status --list")           \
    X("hostkey", vsafe_cmd_hostkey, "host keys: hostkey provision|show")                             \
    X("cmdac", vsafe_cmd_cmdac, "command access table: cmdac show|set")

#define DECLARE(name, fn, summary) int fn(vsafe_cli_t *cli, int argc, char **argv);
VSAFE_CLI_COMMANDS(DECLARE)
#undef DECLARE

typedef struct {
    const char *name;
    vsafe_cli_fn fn;
    const char *summary;
} command_t;

static const command_t commands[] = {
#define ENTRY(name, fn, summary) {name, fn, summary},
    VSAFE_CLI_COMMANDS(ENTRY)
#undef ENTRY
};

static void usage(FILE *f)
{
    fprintf(f, "usage: vsafe [--device DIR] [--json] [--trace] COMMAND [OPTIONS]\n\n"
               "DIR holds the virtual device (default: $VSAFE_DEVICE, else ./vsafe-device).\n"
               "Every command accepts --json (machine-readable output) and --trace (every I2C frame,\n"
               "decoded, on stderr). Exit status: 0 success, 1 failure or device refusal, 2 bad arguments.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    }
}

int main(int argc, char **argv)
{
    vsafe_cli_t cli = {0};
    cli.prog = "vsafe";
    cli.device_dir = getenv("VSAFE_DEVICE");
    if (cli.device_dir == NULL || cli.device_dir[0] == '\0') {
        cli.device_dir = "./vsafe-device";
    }
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            cli.json = 1;
        } else if (strcmp(a, "--trace") == 0) {
            cli.trace = 1;
        } else if (strcmp(a, "--device") == 0 && i + 1 < argc) {
            cli.device_dir = argv[++i];
        } else if (strncmp(a, "--device=", 9) == 0) {
            cli.device_dir = a + 9;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return VSAFE_CLI_EXIT_OK;
        } else {
            fprintf(stderr, "vsafe: unknown option '%s'\n", a);
            usage(stderr);
            return VSAFE_CLI_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return VSAFE_CLI_EXIT_USAGE;
    }
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
        if (strcmp(argv[i], commands[c].name) == 0) {
            cli.command = commands[c].name;
            cli.usage = commands[c].summary;
            int rc = commands[c].fn(&cli, argc - i, argv + i);
            vsafe_host_close(cli.host);
            vsafe_se_close(cli.se);
            return rc;
        }
    }
    fprintf(stderr, "vsafe: unknown command '%s'\n", argv[i]);
    usage(stderr);
    return VSAFE_CLI_EXIT_USAGE;
}
