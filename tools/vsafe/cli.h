/* Shared helpers of the vsafe command-line tool.
 *
 * A command is a function `int cmd(vsafe_cli_t *cli, int argc, char **argv)` registered by one
 * line in the table of main.c. argv[0] is the command name; the global options (--device, --json,
 * --trace) have already been removed from the part before the command, and vsafe_cli_parse also
 * accepts them after it. The function returns the process exit status:
 *   VSAFE_CLI_EXIT_OK (0)     success
 *   VSAFE_CLI_EXIT_FAIL (1)   the operation failed (device refusal, I/O, missing device...)
 *   VSAFE_CLI_EXIT_USAGE (2)  bad arguments (a usage message was printed)
 *
 * Output: with --json, exactly one JSON object on stdout, also on failure
 * ({"error": NAME, "message": TEXT}); otherwise human text on stdout and errors on stderr as one
 * line "vsafe: <what>: <STATUS_NAME> (<message>)". */
#ifndef VSAFE_CLI_H
#define VSAFE_CLI_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vsafe/host.h"
#include "vsafe/se.h"

#define VSAFE_CLI_EXIT_OK 0
#define VSAFE_CLI_EXIT_FAIL 1
#define VSAFE_CLI_EXIT_USAGE 2

typedef struct vsafe_cli {
    const char *prog;       /* "vsafe" */
    const char *device_dir; /* --device, else $VSAFE_DEVICE, else ./vsafe-device */
    const char *command;    /* current command name */
    const char *usage;      /* current command's usage line (for usage errors) */
    const char *help;       /* current command's option descriptions, printed after the usage line by
                             * --help / -h (NULL: the usage line alone) */
    const char *summary;    /* current command's one-line summary (for --help) */
    const char *group;      /* in a subcommand: the group's name ("key"); command is then "key sign" */
    const char *sub;        /* current subcommand name, NULL when the command has none */
    /* `vsafe help --json|--man|--completion|--markdown` walks every command and subcommand with
     * --help: then vsafe_cli_parse appends the command's description to this array instead of
     * printing it (see help.c). NULL otherwise. */
    json_t *help_all;
    int json;               /* --json */
    double wait_s;          /* --wait S: retry for up to S seconds while another process holds the device */
    int trace;              /* --trace: every frame both ways on stderr */
    const char *pcap_path;  /* --pcap FILE: every I2C transaction of the command, as pcap */
    vsafe_pcap_t *pcap;     /* open from main until vsafe_cli_finish; attached to the host handle */
    /* Open handles (vsafe_cli_open_host); closed by main after the command returns. */
    vsafe_se_t *se;
    vsafe_host_t *host;
    /* Fault injection (--cut-after N [--cut-model M]): the command runs on a simulated copy of
     * DIR/se.nvm that loses power at the N-th NVM program or erase; what the cut left is written
     * back to the file when the command ends (vsafe_cli_finish). */
    unsigned long cut_after;
    int cut_model;
    struct vsafe_sim_nvm *sim;
    struct vsafe_file_nvm *sim_lock;
    /* The same for DIR/mcu.nvm: `mcu` and `da` commands cut the MCU's state file (the secure
     * element, if they use it, runs uncut). */
    struct vsafe_sim_nvm *mcu_sim;
    struct vsafe_file_nvm *mcu_sim_lock;
    int cut_mcu; /* set by `mcu` and `da`: the cut goes to mcu.nvm, never to se.nvm */
    /* --connect ADDR (or $VSAFE_CONNECT): commands reach a served device (vsafe serve) instead of
     * DIR; an explicit --device NAME (device_given) then names the device on the server. */
    const char *connect;
    int device_given;
    struct vsafe_host_conn *conn; /* open connection (vsafe_cli_connect); closed by finish */
} vsafe_cli_t;

/* Connects to cli->connect (choosing --device NAME when given) into cli->conn. Returns 0 or an
 * exit status (error already printed). */
int vsafe_cli_connect(vsafe_cli_t *cli);
/* Writes DIR/durability ("power" or "process"). Returns 0 or an exit status. */
int vsafe_cli_write_durability(vsafe_cli_t *cli, const char *level);

/* Ends a command: closes handles; after a fault-injected run writes the simulated NVM back to
 * the state file and reports the cut. Returns the exit status to use (rc, or FAIL after a cut). */
int vsafe_cli_finish(vsafe_cli_t *cli, int rc);
/* Attaches fault injection to an existing state file (path): fills *nvm with the simulated NVM
 * to open the device on. which: 0 the secure element, 1 the MCU. Returns 0 or an exit status. */
struct vsafe_nvm;
int vsafe_cli_cut_attach(vsafe_cli_t *cli, const char *path, int which, struct vsafe_nvm **nvm);
/* Parses a --cut-model name ("dropped", "torn-unit", "torn-page", "reordered"); -1 if unknown. */
int vsafe_cli_cut_model(const char *name);

typedef int (*vsafe_cli_fn)(vsafe_cli_t *cli, int argc, char **argv);

/* The command table of main.c (help.c walks it). */
typedef struct {
    const char *name;
    vsafe_cli_fn fn;
    const char *usage;
    const char *summary;
} vsafe_cli_command_t;
const vsafe_cli_command_t *vsafe_cli_commands(size_t *count);
/* `vsafe --help`: global options and the command list. */
void vsafe_cli_main_usage(FILE *f);

/* Global options, accepted before the command (and --json, --trace, --device after it): the one
 * list the usage text, the man page and the completion script are made from. */
typedef struct {
    const char *name; /* "--device" */
    const char *arg;  /* "DIR", or NULL for a flag */
    const char *help;
} vsafe_cli_global_t;
const vsafe_cli_global_t *vsafe_cli_globals(size_t *count);

/* Whether argv[1..] asks for help (--help or -h before any "--"). */
int vsafe_cli_wants_help(int argc, char **argv);

/* ---- Option parsing ----
 * A command describes its options in a table ending with {NULL}. Options are `--name VALUE` or
 * `--name=VALUE` when has_arg, `--name` otherwise (the int at flag is set to 1). Positional
 * arguments are collected in pos[] (at most pos_max). --json, --trace, --device DIR and --help
 * are accepted by every command, and -h as --help.
 * Every option has a help line: `vsafe COMMAND --help`, the man page, docs/CLI-REFERENCE.md and the
 * completion script are made from these tables (test cli_help checks none is missing). */
typedef struct {
    const char *name;   /* without the leading "--" */
    int has_arg;
    const char **value; /* has_arg: where the argument goes */
    int *flag;          /* !has_arg: set to 1 when present */
    const char *arg;    /* has_arg: what the value is, for help ("N", "FILE", "HEX"); NULL = "VALUE".
                         * A name ending in FILE or DIR (or "F") makes the completion offer file names. */
    const char *help;   /* one line */
} vsafe_cli_opt_t;
#define VSAFE_CLI_OPT_END {NULL, 0, NULL, NULL, NULL, NULL}

/* Returns 0, or an exit status (2 after a usage message; 0 after --help or -h, with *done set:
 * the usage line and cli->help are printed on stdout). */
int vsafe_cli_parse(vsafe_cli_t *cli, int argc, char **argv, const vsafe_cli_opt_t *opts, const char **pos,
                    size_t pos_min, size_t pos_max, size_t *pos_count, int *done);

/* Whether argv[*i] is a global option (--json, --trace, --device DIR / --device=DIR); applies it
 * to cli and advances *i past its value. */
int vsafe_cli_is_global(vsafe_cli_t *cli, int argc, char **argv, int *i);

/* Prints "vsafe COMMAND: <message>" and the usage line to stderr (or the JSON error object) and
 * returns VSAFE_CLI_EXIT_USAGE. */
int vsafe_cli_usage_error(vsafe_cli_t *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Numbers: decimal or 0x-hex, within [min, max]. On error prints a usage error naming `what`
 * and returns VSAFE_CLI_EXIT_USAGE; 0 on success. */
int vsafe_cli_parse_u32(vsafe_cli_t *cli, const char *what, const char *s, uint32_t min, uint32_t max,
                        uint32_t *out);
/* Hex bytes ("0a1b", "0x0a1b", spaces and colons allowed). *out is malloc'd (free it); an empty
 * string gives length 0. Returns 0 or VSAFE_CLI_EXIT_USAGE. */
int vsafe_cli_parse_hex(vsafe_cli_t *cli, const char *what, const char *s, uint8_t **out, size_t *len);

/* Lowercase hex of a buffer in a malloc'd string (never NULL; aborts on out of memory). */
char *vsafe_cli_hex(const uint8_t *buf, size_t len);

/* ---- Secrets ----
 * A secret option NAME (password, mac-key, cipher-key) is given in exactly one of four ways:
 *   --NAME VALUE       on the command line (visible to other users in the process list)
 *   --NAME-file F      the contents of file F
 *   --NAME-fd N        everything read from file descriptor N (e.g. a pipe from a secret manager)
 *   --NAME-env VAR     the value of environment variable VAR
 * One trailing "\n" (or "\r\n") of a file or descriptor is dropped; NUL bytes are refused. */
typedef struct {
    const char *value, *file, *fd, *env;
} vsafe_cli_secret_t;
#define VSAFE_CLI_SECRET_OPTS(NAME, s) VSAFE_CLI_SECRET_OPTS_H(NAME, s, "the " NAME)
#define VSAFE_CLI_SECRET_OPTS_H(NAME, s, WHAT)                                                          \
    {NAME, 1, &(s).value, NULL, "VALUE", WHAT " (visible in the process list: prefer the next three)"},   \
        {NAME "-file", 1, &(s).file, NULL, "FILE", WHAT ", read from FILE"},                               \
        {NAME "-fd", 1, &(s).fd, NULL, "N", WHAT ", read from file descriptor N"},                         \
        {NAME "-env", 1, &(s).env, NULL, "VAR", WHAT ", from environment variable VAR"}
/* Whether any of the four ways was used. */
int vsafe_cli_secret_given(const vsafe_cli_secret_t *s);
/* Reads the secret named name (for messages) into out[cap] (NUL-terminated; *len without it).
 * Usage error when none or more than one way was given, or when it is longer than cap - 1; fail
 * when the file, descriptor or variable cannot be read. The caller wipes out (vsafe_wipe). */
int vsafe_cli_secret_read(vsafe_cli_t *cli, const char *name, const vsafe_cli_secret_t *s, char *out, size_t cap,
                          size_t *len);

/* ---- Device ---- */
/* After an open failed with rc: when it is VSAFE_ERR_LOCKED (another process holds the state
 * file) and --wait time remains since *start (set it to 0 before the first try), sleeps a little
 * and returns 1: try again. Else 0. */
int vsafe_cli_retry_locked(vsafe_cli_t *cli, int rc, double *start);
/* A device's random seed for this run from $env (decimal or 0x hex; 0 or unset: OS randomness,
 * *seed = 0). The run that creates the device (creating) gets the seed itself; every later run a
 * different seed derived from it and the run number kept in DIR/counter, so the same seed and the
 * same commands give the same bytes, and two runs never repeat each other's. Returns 0, or an exit
 * status (bad value, counter file unusable). */
int vsafe_cli_seed(vsafe_cli_t *cli, const char *env, const char *counter, int creating, uint64_t *seed);
/* vsafe_cli_seed for the secure element: VSAFE_SE_SEED, DIR/se.seed-run. */
int vsafe_cli_se_seed(vsafe_cli_t *cli, int creating, uint64_t *seed);
/* Path of a file in the device directory, e.g. vsafe_cli_device_file(cli, "se.nvm"). Static
 * buffer; valid until the next call. */
const char *vsafe_cli_device_file(const vsafe_cli_t *cli, const char *name);
/* Whether DIR/name exists as a regular file. A symlink (or anything else) in its place is refused
 * with an error printed: returns -1 then. 0 absent, 1 present. */
int vsafe_cli_state_file_present(vsafe_cli_t *cli, const char *name);
/* Opens DIR/se.nvm (which must exist) and a host handle over it, with the --trace hook, and
 * runs vsafe_host_init. Stores both in cli. Returns 0 or an exit status (error already printed). */
int vsafe_cli_open_host(vsafe_cli_t *cli);

/* For commands that take no arguments of their own: parses (global options and --help only),
 * then opens the device as vsafe_cli_open_host does. Returns 0 or an exit status; *done is set
 * after --help. */
int vsafe_cli_open_no_args(vsafe_cli_t *cli, int argc, char **argv, int *done);

/* Loads a host key file (see docs/CLI.md, "Key files") and opens a host session on cli->host;
 * *prot becomes VSAFE_HOST_PROT_MAC. key_file VSAFE_CLI_OBK_HOST_KEY instead opens the session
 * with the host keys the board's MCU holds in OBK HDPL3-S (vsafe_board_session_open).
 * Returns 0 or an exit status (error already printed). */
#define VSAFE_CLI_OBK_HOST_KEY "obk:HDPL3-S"
int vsafe_cli_session(vsafe_cli_t *cli, const char *key_file, vsafe_host_prot_t *prot);

/* Locks the host-key provisioning control fields (Put 0x4A, plain: Put is never in the command
 * table): clears the change right and re-provisioning, keeps the other bits. *was_open is set
 * when they were still open (a Put was sent). Returns a vsafe status (nothing printed). */
VSAFE_MUST_CHECK int vsafe_cli_lock_hostkey_ctrl(vsafe_host_t *host, int *was_open);

/* Why the secure element refuses a plaintext host-key write (1F 07) now, from its key slot and
 * control fields asked again: a sentence, or NULL when they allow it or cannot be read. */
const char *vsafe_cli_plaintext_hostkey_refusal(vsafe_host_t *host);

/* The profile recorded in the open device (local: its state; served: the server's HELLO reply)
 * into out[cap]; "" when it cannot be told. */
void vsafe_cli_profile_name(vsafe_cli_t *cli, char *out, size_t cap);

/* ---- Output ---- */
/* Reports a failure: JSON error object on stdout with --json, else one stderr line
 * "vsafe: <context>: <STATUS_NAME>: <message>". Returns VSAFE_CLI_EXIT_FAIL. */
int vsafe_cli_fail(vsafe_cli_t *cli, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* As vsafe_cli_fail, with what the user can do about it (NULL or "": none): stderr gets it at the
 * end of the line in parentheses, the JSON error object a "hint" field. */
int vsafe_cli_fail_hint(vsafe_cli_t *cli, int status, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* As vsafe_cli_fail, with a name of the caller's choice (no vsafe status). */
int vsafe_cli_fail_named(vsafe_cli_t *cli, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints the object (compact + newline) on stdout and releases it. Returns VSAFE_CLI_EXIT_OK. */
int vsafe_cli_json_out(vsafe_cli_t *cli, json_t *obj);

/* Names of access conditions as the contract spells them: "always", "host", "never". */
const char *vsafe_cli_ac_name(uint8_t ac);

#endif
