/* vsafe: the command-line tool. `vsafe [--device DIR] [--json] [--trace] COMMAND [OPTIONS]`.
 *
 * To add a command group: write `int vsafe_cmd_NAME(vsafe_cli_t *, int, char **)` in its own file
 * (tools/vsafe/cmd_NAME.c, using cli.h) and add ONE line to VSAFE_CLI_COMMANDS below. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vsafe/version.h>

#include "cli.h"

/* X(name, function, usage after "vsafe", one-line summary) */
#define VSAFE_CLI_COMMANDS(X)                                                                                 \
    X("init", vsafe_cmd_init, "init [--profile NAME|FILE] [--force] [--ca-cert F --ca-key F] [--durability power|process]", \
      "create a new device from a profile, its identity signed by the CA given (else the local vsafe CA)")      \
    X("identity", vsafe_cmd_identity, "identity [--ca-cert F] | identity export [--cert F] [--ca F] [--der] [--ca-cert F]",           \
      "show the device certificate (checked against slot 0 by a signature) or export it and the CA")           \
    X("key", vsafe_cmd_key, "key table|generate|show|sign|verify|ecdh|ecdhe|decompress ...",                   \
      "private key slots: generate, show, sign, verify, ECDH (vsafe key --help)")                               \
    X("pubkey", vsafe_cmd_pubkey, "pubkey table|show|write|flags|authenticate ...",                          \
      "generic public key slots and entity authentication (vsafe pubkey --help)")                              \
    X("hash", vsafe_cmd_hash, "hash [--alg ALG] (--data HEX|--data-file F|F|-) [--out F]",                      \
      "hash data on the device (sha256, sha384, sha512, sha3-*)")                                              \
    X("symkey", vsafe_cmd_symkey, "symkey table|ctrl|write|establish|erase ...",                              \
      "symmetric key slots: provisioning control, plaintext/wrapped writes, ECDHE establishment")              \
    X("aes", vsafe_cmd_aes, "aes encrypt|decrypt|gmac --slot N ...", "AES-ECB, CCM*, GCM and GMAC with a slot's key") \
    X("mac", vsafe_cmd_mac, "mac generate|verify --slot N ...", "AES-CMAC and HMAC-SHA-256 with a slot's key")    \
    X("derive", vsafe_cmd_derive, "derive (--ikm HEX|--ikm-file F|--ikm-slot N) [--salt ...] [--info ...] "      \
      "[--length L,...] [--to-slot ...]", "HKDF-SHA256 on the device, keys to the host or into slots")           \
    X("envelope", vsafe_cmd_envelope, "envelope keygen|table ...", "local envelope keys (for wrap / unwrap)")      \
    X("wrap", vsafe_cmd_wrap, "wrap --slot N (--data HEX|--data-file F) [--out F]",                              \
      "wrap a payload in a local envelope (AES key wrap)")                                                      \
    X("unwrap", vsafe_cmd_unwrap, "unwrap --slot N (--data HEX|--data-file F) [--out F]",                        \
      "unwrap a local envelope")                                                                                \
    X("password", vsafe_cmd_password, "password verify --password HEX ...", "verify the device password")        \
    X("zones", vsafe_cmd_zones, "zones", "show the partition table")                                          \
    X("read", vsafe_cmd_read, "read ZONE [--offset N] [--length N] [--out FILE] [--host-key FILE]", "read a zone")           \
    X("update", vsafe_cmd_update, "update ZONE [--offset N] (--data HEX | --data-file FILE) [--atomic] [--host-key FILE]",            \
      "write into a data zone")                                                                               \
    X("decrement", vsafe_cmd_decrement,                                                                        \
      "decrement ZONE [--amount N] [--offset N] [--data HEX | --data-file FILE] [--host-key FILE]",                               \
      "decrement a counter zone, writing associated data")                                                    \
    X("ac", vsafe_cmd_ac, "ac ZONE --read|--update always|host|never [--lock] [--amount N] [--host-key FILE]",   \
      "make a zone access condition stricter")                                                                \
    X("info", vsafe_cmd_info, "info", "product data, life cycle, host key slot")                               \
    X("random", vsafe_cmd_random, "random N [--host-key FILE]", "N random bytes from the device")                                \
    X("echo", vsafe_cmd_echo, "echo HEX [--host-key FILE]", "echo bytes through the device")                                     \
    X("check", vsafe_cmd_check, "check", "report the state of the device's storage without changing it")       \
    X("status", vsafe_cmd_status, "status [NAME|NUMBER] [--list] [--markdown]", "explain status codes")        \
    X("hostkey", vsafe_cmd_hostkey,                                                                            \
      "hostkey provision [--key-file F | --mac-key HEX --cipher-key HEX] [--aes256] "                          \
      "[--method plaintext|wrapped|ecdh] [--out F [--force]] [--keep-open] | hostkey show | hostkey lock",      \
      "provision, show or lock the host key")                                                                       \
    X("cmdac", vsafe_cmd_cmdac,                                                                                \
      "cmdac show | cmdac set CMD --ac free|host|never [--encrypt-cmd] [--encrypt-rsp] [--lock] [--host-key F] " \
      "| cmdac lock",                                                                                          \
      "show or set the command access table")                                                                 \
    X("mcu", vsafe_cmd_mcu,                                                                                    \
      "mcu show | state STATE [--force] | trustzone on|off | reset | hdpl N | graph | "                         \
      "obk write|read AREA [--data HEX] [--offset N] [--length N] [--domain s|ns] | hostkeys [--aes256] "     \
      "[--keep-open]",                                                                                         \
      "the board's MCU: product state, TrustZone, HDPL, option-byte keys")                                    \
    X("da", vsafe_cmd_da,                                                                                      \
      "da keygen [--out-dir DIR] [--bind] [--mask HEX] [--root-key F] [--intermediate-key F] [--leaf-key F] "   \
      "[--force] | provision [--obk F | --root-key F | --password PW] [--mask HEX] [--force] | discover | "      \
      "regress --full|--partial|--per a|b [--chain F --key F] | regress --full --password PW | open-debug "     \
      "[--domain s|ns] [--hdpl N] | --per c..h [--chain F --key F] | close-debug  (--password also as "          \
      "--password-file F, -fd N, -env VAR; discover, regress, open-debug and close-debug also with --connect)",  \
      "debug authentication of the MCU (ADAC)")                                                            \
    X("sfi", vsafe_cmd_sfi,                                                                                    \
      "sfi pubkey | pack --region irot|s|ns --version N --key F --in F --out F [--device-key HEX --soc-id HEX] " \
      "| install IMAGE | show",                                                                                \
      "secure firmware install: images of the three parties, licensed to one MCU")                          \
    X("serve", vsafe_cmd_serve,                                                                                \
      "serve [--device DIR | --root DIR] --socket PATH | --listen 127.0.0.1:PORT [--allow-remote] "             \
      "[--pid-file F] [--durability power|process] [--no-group-commit] [--max-clients N] [--sync-delay-ms N] "  \
      "[--pcap FILE]",                                                                                         \
      "serve devices to other processes over a socket until SIGTERM (docs/SOCKET.md)")                        \
    X("ctl", vsafe_cmd_ctl,                                                                                    \
      "ctl power off|on | reset | cut-after N [--cut-model M] | timing on|off | stats | "                      \
      "state save|load FILE | list  (with --connect)",                                                         \
      "control a served device: power, reset, power cuts, timing, statistics, state")                       \
    X("help", vsafe_cmd_help, "help [COMMAND [SUB]] | help --man | --completion | --markdown | --json",         \
      "help on a command; the man page, bash completion and command reference, generated")

#define DECLARE(name, fn, use, summary) int fn(vsafe_cli_t *cli, int argc, char **argv);
VSAFE_CLI_COMMANDS(DECLARE)
#undef DECLARE

static const vsafe_cli_command_t commands[] = {
#define ENTRY(name, fn, use, summary) {name, fn, use, summary},
    VSAFE_CLI_COMMANDS(ENTRY)
#undef ENTRY
};

const vsafe_cli_command_t *vsafe_cli_commands(size_t *count)
{
    *count = sizeof commands / sizeof commands[0];
    return commands;
}

void vsafe_cli_main_usage(FILE *f)
{
    fprintf(f, "usage: vsafe [GLOBAL OPTIONS] COMMAND [SUBCOMMAND] [OPTIONS]\n\n"
               "A virtual STSAFE-A120-class secure element and the lifecycle of the MCU in front of it. The\n"
               "device lives in DIR (its state files). Exit status: 0 success, 1 failure or device refusal,\n"
               "2 bad arguments. vsafe COMMAND --help describes a command and every option.\n\n"
               "global options:\n");
    size_t ng = 0;
    const vsafe_cli_global_t *g = vsafe_cli_globals(&ng);
    for (size_t i = 0; i < ng; i++) {
        char left[48];
        snprintf(left, sizeof left, "%s%s%s", g[i].name, g[i].arg ? " " : "", g[i].arg ? g[i].arg : "");
        fprintf(f, "  %-18s %s\n", left, g[i].help);
    }
    fprintf(f, "\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    }
}

/* A usage error before any command ran: one line on stderr, the JSON error object with --json. */
static int main_usage_error(const vsafe_cli_t *cli, const char *fmt, const char *what)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, what);
    if (cli->json) {
        json_t *o = json_pack("{s:s, s:s}", "error", "USAGE", "message", msg);
        char *text = json_dumps(o, JSON_COMPACT);
        printf("%s\n", text != NULL ? text : "{\"error\":\"USAGE\"}");
        free(text);
        json_decref(o);
    }
    fprintf(stderr, "vsafe: %s (vsafe --help lists the commands and options)\n", msg);
    return VSAFE_CLI_EXIT_USAGE;
}

/* A refusal before the command ran (exit status rc): one stderr line, the JSON error object with --json. */
static int main_refuse(const vsafe_cli_t *cli, int rc, const char *name, const char *msg)
{
    if (cli->json) {
        json_t *o = json_pack("{s:s, s:s}", "error", name, "message", msg);
        char *text = json_dumps(o, JSON_COMPACT);
        printf("%s\n", text != NULL ? text : "{\"error\":\"USAGE\"}");
        free(text);
        json_decref(o);
    }
    if (strcmp(name, "USAGE") == 0) {
        fprintf(stderr, "vsafe: %s\n", msg);
    } else {
        fprintf(stderr, "vsafe: %s: %s\n", msg, name); /* the line shape of every failure */
    }
    return rc;
}

/* Levenshtein distance of two short words (one row of the table: O(len b) memory); words longer
 * than the buffer count as far from everything. */
static size_t main_edit_distance(const char *a, const char *b)
{
    size_t lb = strlen(b);
    size_t row[33];
    if (strlen(a) >= sizeof row / sizeof row[0] || lb >= sizeof row / sizeof row[0]) {
        return (size_t)-1;
    }
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; a[i - 1] != '\0'; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (up + 1 < best) {
                best = up + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The command nearest to WORD by edit distance, if it is near enough to be a typo (at most 2
 * edits, and fewer than the word's length so "x" does not suggest everything); NULL otherwise. */
static const char *main_nearest_command(const char *word)
{
    const char *best = NULL;
    size_t best_d = 3;
    size_t len = strlen(word);
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
        size_t d = main_edit_distance(word, commands[c].name);
        if (d < best_d && d < len) {
            best_d = d;
            best = commands[c].name;
        }
    }
    return best;
}

int main(int argc, char **argv)
{
    vsafe_cli_t cli = {0};
    cli.prog = "vsafe";
    cli.device_dir = getenv("VSAFE_DEVICE");
    if (cli.device_dir == NULL || cli.device_dir[0] == '\0') {
        cli.device_dir = "./vsafe-device";
    }
    cli.connect = getenv("VSAFE_CONNECT");
    if (cli.connect != NULL && cli.connect[0] == '\0') {
        cli.connect = NULL;
    }
    /* --json anywhere (before "--") makes every failure a JSON object, usage errors included. */
    for (int k = 1; k < argc && strcmp(argv[k], "--") != 0; k++) {
        if (strcmp(argv[k], "--json") == 0) {
            cli.json = 1;
        }
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
            cli.device_given = 1;
        } else if (strncmp(a, "--device=", 9) == 0) {
            cli.device_dir = a + 9;
            cli.device_given = 1;
        } else if (strcmp(a, "--pcap") == 0 && i + 1 < argc) {
            cli.pcap_path = argv[++i];
        } else if (strcmp(a, "--connect") == 0 && i + 1 < argc) {
            cli.connect = argv[++i];
        } else if (strncmp(a, "--connect=", 10) == 0) {
            cli.connect = a + 10;
        } else if (strcmp(a, "--cut-after") == 0 && i + 1 < argc) {
            char *end = NULL;
            cli.cut_after = strtoul(argv[++i], &end, 0);
            if (end == NULL || *end != '\0' || cli.cut_after == 0) {
                return main_usage_error(&cli, "%s takes a number of NVM operations >= 1", "--cut-after");
            }
        } else if (strcmp(a, "--cut-model") == 0 && i + 1 < argc) {
            cli.cut_model = vsafe_cli_cut_model(argv[++i]);
            if (cli.cut_model < 0) {
                return main_usage_error(&cli, "%s is one of dropped, torn-unit, torn-page, reordered", "--cut-model");
            }
        } else if (strcmp(a, "--wait") == 0 && i + 1 < argc) {
            char *end = NULL;
            cli.wait_s = strtod(argv[++i], &end);
            if (end == NULL || end == argv[i] || *end != '\0' || !(cli.wait_s >= 0 && cli.wait_s <= 86400)) {
                return main_usage_error(&cli, "%s takes a number of seconds (0..86400)", "--wait");
            }
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            printf("vsafe %s\n", vsafe_version());
            return VSAFE_CLI_EXIT_OK;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            vsafe_cli_main_usage(stdout);
            return VSAFE_CLI_EXIT_OK;
        } else if (strcmp(a, "--device") == 0 || strcmp(a, "--pcap") == 0 || strcmp(a, "--wait") == 0 || strcmp(a, "--cut-after") == 0 || strcmp(a, "--cut-model") == 0) {
            return main_usage_error(&cli, "option %s needs a value", a);
        } else {
            return main_usage_error(&cli, "unknown option '%s'", a);
        }
    }
    if (i >= argc) {
        if (cli.json) {
            return main_usage_error(&cli, "%s", "missing command");
        }
        vsafe_cli_main_usage(stderr);
        return VSAFE_CLI_EXIT_USAGE;
    }
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
        if (strcmp(argv[i], commands[c].name) == 0) {
            cli.command = commands[c].name;
            cli.usage = commands[c].usage;
            cli.summary = commands[c].summary;
            /* da goes through --connect for the DA mailbox (da provision refuses itself there). */
            static const char *const local_only[] = {"init", "check", "mcu", "sfi"};
            for (size_t u = 0; cli.connect != NULL && u < sizeof local_only / sizeof local_only[0]; u++) {
                if (strcmp(argv[i], local_only[u]) == 0) {
                    /* Refused, never run on a local DIR by surprise: the served device is not here. */
                    char msg[300];
                    snprintf(msg, sizeof msg, "'%s' works on a device directory and cannot go through --connect%s",
                             argv[i], u < 2 ? " (run it where the server's device directory is)"
                                            : " (the server carries the secure element and the MCU's DA mailbox "
                                              "only: vsafe da discover|regress|open-debug|close-debug)");
                    return main_refuse(&cli, VSAFE_CLI_EXIT_USAGE, "USAGE", msg);
                }
            }
            if (cli.connect != NULL && cli.cut_after > 0) {
                return main_refuse(&cli, VSAFE_CLI_EXIT_USAGE, "USAGE",
                                   "--cut-after cannot go through --connect: use 'vsafe --connect ADDR ctl cut-after N' "
                                   "before the command");
            }
            static const char *const uncut[] = {"init", "check", "status", "help"};
            for (size_t u = 0; cli.cut_after > 0 && u < sizeof uncut / sizeof uncut[0]; u++) {
                if (strcmp(argv[i], uncut[u]) == 0) {
                    /* Refused, never ignored: these commands do not run on an existing state file. */
                    char why[160];
                    snprintf(why, sizeof why, "--cut-after does not apply to '%s' (it %s)", argv[i],
                             u == 0 ? "creates the state files" : u == 1 ? "only reads the state files" : "opens no device");
                    return main_usage_error(&cli, "%s", why);
                }
            }
            if (cli.pcap_path != NULL) {
                errno = 0;
                int prc = vsafe_pcap_open(&cli.pcap, cli.pcap_path);
                int e = errno;
                if (prc != VSAFE_OK) {
                    char msg[4200];
                    snprintf(msg, sizeof msg, "--pcap: cannot create '%s': %s", cli.pcap_path,
                             prc == VSAFE_ERR_IO && e != 0 ? strerror(e) : vsafe_status_message(prc));
                    return main_refuse(&cli, VSAFE_CLI_EXIT_FAIL, vsafe_status_name(prc), msg);
                }
            }
            return vsafe_cli_finish(&cli, commands[c].fn(&cli, argc - i, argv + i));
        }
    }
    /* A typo gets one line naming the nearest command, not the whole usage. */
    const char *near = main_nearest_command(argv[i]);
    if (near != NULL) {
        char msg[200];
        snprintf(msg, sizeof msg, "unknown command '%.64s': did you mean '%s'?", argv[i], near);
        return main_usage_error(&cli, "%s", msg);
    }
    return main_usage_error(&cli, "unknown command '%s'", argv[i]);
}
