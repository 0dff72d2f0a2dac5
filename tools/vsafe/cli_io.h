/* Shared CLI helpers for the key-service commands: byte input from the command line, a file or
 * stdin; byte output to a file or stdout; subcommand groups with their help. */
#ifndef VSAFE_CLI_IO_H
#define VSAFE_CLI_IO_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* ---- Byte input ----
 * An input NAME is given as `--NAME HEX` or `--NAME-file F` (the file's bytes as they are; F "-"
 * is stdin), never both. */
typedef struct {
    const char *hex;
    const char *file;
} vsafe_cli_input_t;
#define VSAFE_CLI_INPUT_OPTS(NAME, in) {NAME, 1, &(in).hex, NULL, "HEX", NULL}, {NAME "-file", 1, &(in).file, NULL, "FILE", NULL}

int vsafe_cli_input_given(const vsafe_cli_input_t *in);
/* Reads input NAME into *out (malloc'd, free it; never NULL on success) and *len. Usage error
 * when both ways are given, when neither is and required is set (then *out is NULL, *len 0 when
 * not required), when the input is longer than max bytes, or shorter than min. Fails (ERR_IO)
 * when the file cannot be read. */
int vsafe_cli_input_read(vsafe_cli_t *cli, const char *name, const vsafe_cli_input_t *in, int required, size_t min,
                         size_t max, uint8_t **out, size_t *len);
/* Reads a whole file (path "-": stdin) into *out (malloc'd) of at most max bytes. Returns 0 or an
 * exit status (the failure printed, naming the option opt and the path with the system's reason:
 * "OPT: cannot open 'PATH': No such file or directory", ERR_NOT_FOUND or ERR_IO). */
int vsafe_cli_read_file(vsafe_cli_t *cli, const char *opt, const char *path, size_t max, uint8_t **out, size_t *len);
/* The same for a key file (PEM, DER or raw key, certificate): a failure says "OPT: cannot read key
 * file 'PATH': <the system's reason>" (ERR_NOT_FOUND or ERR_IO). */
int vsafe_cli_read_key_file(vsafe_cli_t *cli, const char *opt, const char *path, size_t max, uint8_t **out,
                            size_t *len);

/* The status a file error is reported as: VSAFE_ERR_NOT_FOUND when the path names nothing (ENOENT,
 * ENOTDIR), VSAFE_ERR_IO for any other errno. */
int vsafe_cli_errno_status(int err);

/* ---- Byte output ----
 * `--out F` writes raw bytes to F ("-": stdout, refused with --json). Secret outputs (shared
 * secrets, keys, decrypted data) are created mode 0600. Returns 0 or an exit status. */
int vsafe_cli_out_check(vsafe_cli_t *cli, const char *opt, const char *path);
int vsafe_cli_write_file(vsafe_cli_t *cli, const char *opt, const char *path, const uint8_t *buf, size_t len,
                         int secret);
/* Whether path is "-" (the command then prints nothing else on stdout). */
int vsafe_cli_out_is_stdout(const char *path);

/* ---- Device ---- */
/* Opens the device (vsafe_cli_open_host) and, with a host key file, a host session: *prot is then
 * VSAFE_HOST_PROT_MAC, else VSAFE_HOST_PROT_TABLE. Returns 0 or an exit status. */
int vsafe_cli_open_prot(vsafe_cli_t *cli, const char *host_key, vsafe_host_prot_t *prot);
/* A slot number 0..max, or with allow_ephemeral "ephemeral" / 0xFF too. Returns 0 or a usage error. */
int vsafe_cli_parse_slot(vsafe_cli_t *cli, const char *what, const char *s, unsigned max, int allow_ephemeral,
                         uint8_t *slot);

/* ---- Subcommand groups ----
 * `vsafe GROUP SUB [OPTIONS]`: dispatch picks SUB from the table (global options may come before
 * it), sets cli->command to "GROUP SUB", cli->usage and cli->help to the entry's, and calls it
 * with argv[0] = SUB. `vsafe GROUP --help`/`-h` lists the subcommands (exit 0); a missing or
 * unknown SUB is a usage error. When def is not NULL, a group with no SUB runs that entry. */
typedef struct {
    const char *name;
    vsafe_cli_fn fn;
    const char *usage; /* after "vsafe " */
    const char *help;  /* what it does and every option, one per line, ends with "\n" */
} vsafe_cli_sub_t;

int vsafe_cli_dispatch(vsafe_cli_t *cli, int argc, char **argv, const vsafe_cli_sub_t *subs, size_t count,
                       const char *summary, const char *def);

/* Standard help lines shared by the commands that talk to the device. */
#define VSAFE_CLI_HELP_COMMON                                                                              \
    "  --host-key F    open a host session with the key file F first (C-MAC/R-MAC, encryption as the\n" \
    "                  command table says)\n"                                                           \
    "  --json          one JSON object on stdout; --trace: every frame decoded on stderr (secrets\n"    \
    "                  never shown); --device DIR: the device directory\n"

#endif
