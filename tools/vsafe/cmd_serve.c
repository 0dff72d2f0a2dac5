/* `vsafe serve` (the device server of src/server) and `vsafe ctl` (its control requests, sent
 * through --connect). The protocol is docs/SOCKET.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/bytes.h"
#include "server/proto.h"
#include "server/server.h"
#include "vsafe/sim.h"

static int parse_durability(const char *s)
{
    if (s == NULL) {
        return -1;
    }
    if (strcmp(s, "power") == 0) {
        return VSAFE_PROTO_DURABLE_POWER;
    }
    if (strcmp(s, "process") == 0) {
        return VSAFE_PROTO_DURABLE_PROCESS;
    }
    return -2;
}

static const char SERVE_HELP[] =
    "  --device DIR          serve this device directory (default $VSAFE_DEVICE, else ./vsafe-device)\n"
    "  --root DIR            serve every DIR/NAME holding NAME/se.nvm; clients choose NAME\n"
    "  --socket PATH         listen on this Unix socket (a stale one is replaced, a live one refused)\n"
    "  --listen HOST:PORT    listen on TCP instead (loopback only; PORT 0 picks one, printed when ready)\n"
    "  --allow-remote        accept a non-loopback --listen address (no authentication: warned)\n"
    "  --pid-file F          write the server's pid to F (removed at exit)\n"
    "  --durability L        power (sync before each reply) or process (no sync), for every device;\n"
    "                        default: each device's DIR/durability (vsafe init --durability)\n"
    "  --no-group-commit     one fdatasync per durable command instead of shared sync rounds\n"
    "  --max-clients N       connections at once (default 256)\n"
    "  --sync-delay-ms N     test knob: every sync round sleeps N ms first\n"
    "Prints the address once ready; SIGTERM or SIGINT stops it (exit 0). Protocol: docs/SOCKET.md.\n";

static const char CTL_HELP[] =
    "  power off|on          off: a power loss (volatile state lost, NACKs); on: boot from NVM\n"
    "  reset                 power off then on\n"
    "  cut-after N           lose power at the N-th NVM program/erase of the coming commands (0 disarms)\n"
    "  --cut-model M         with cut-after: dropped, torn-unit (default), torn-page or reordered\n"
    "  timing on|off         the timing model (reads NACKed for each command's processing time)\n"
    "  stats                 the device's and the server's counters (--json: {\"ctl\": {\"stats\": {...}}})\n"
    "  state save|load FILE  the whole device state as a blob (load refuses one that does not mount)\n"
    "  list                  the devices the server serves\n"
    "Needs --connect ADDR (or VSAFE_CONNECT); --device NAME on a server of several devices.\n";

int vsafe_cmd_serve(vsafe_cli_t *cli, int argc, char **argv)
{
    cli->help = SERVE_HELP;
    const char *root = NULL, *sock = NULL, *listen = NULL, *pid_file = NULL, *dur = NULL, *delay = NULL,
               *maxc = NULL, *pcap_path = NULL;
    int allow_remote = 0, no_group = 0, done = 0;
    const vsafe_cli_opt_t opts[] = {{"root", 1, &root, NULL, "DIR", "serve every device directory below DIR (a client names one)"},
                                    {"socket", 1, &sock, NULL, "PATH", "the Unix socket to serve on (a stale one is replaced, a live one refused)"},
                                    {"listen", 1, &listen, NULL, "HOST:PORT", "serve on TCP instead (127.0.0.1 only unless --allow-remote; PORT 0: any free port)"},
                                    {"allow-remote", 0, NULL, &allow_remote, NULL, "accept a non-loopback --listen address (no authentication: anyone reaching it controls the devices)"},
                                    {"pid-file", 1, &pid_file, NULL, "FILE", "write the server's pid here (removed at exit)"},
                                    {"durability", 1, &dur, NULL, "power|process", "for every device, overriding its own level: power (durable against power loss) or process"},
                                    {"no-group-commit", 0, NULL, &no_group, NULL, "one sync per durable command instead of shared sync rounds"},
                                    {"sync-delay-ms", 1, &delay, NULL, "N", "test and benchmark knob: every sync round sleeps N ms first"},
                                    {"max-clients", 1, &maxc, NULL, "N", "most clients at once (default 256; one more is refused with ERR_SERVER_BUSY)"},
                                    {"pcap", 1, &pcap_path, NULL, "FILE", "every I2C transaction of every device as a pcap capture, each device its own bus number (docs/CAPTURES.md)"},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    if ((sock == NULL) == (listen == NULL)) {
        return vsafe_cli_usage_error(cli, "give exactly one of --socket PATH and --listen HOST:PORT");
    }
    if (root != NULL && cli->device_given) {
        return vsafe_cli_usage_error(cli, "--device and --root exclude each other");
    }
    int durability = parse_durability(dur);
    if (durability == -2) {
        return vsafe_cli_usage_error(cli, "--durability is power or process, not '%s'", dur);
    }
    uint32_t delay_ms = 0, max_clients = 0;
    if (delay != NULL && vsafe_cli_parse_u32(cli, "--sync-delay-ms", delay, 0, 10000, &delay_ms) != 0) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    if (maxc != NULL && vsafe_cli_parse_u32(cli, "--max-clients", maxc, 1, 4096, &max_clients) != 0) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    /* --pcap after the command, or the global one before it (already open in cli->pcap). */
    vsafe_pcap_t *own_pcap = NULL;
    if (pcap_path != NULL) {
        int prc = vsafe_pcap_open(&own_pcap, pcap_path);
        if (prc != VSAFE_OK) {
            return vsafe_cli_fail(cli, prc, "serve: --pcap %s", pcap_path);
        }
    }
    vsafe_server_cfg_t cfg = {.device_dir = root == NULL ? cli->device_dir : NULL,
                              .root = root,
                              .socket_path = sock,
                              .listen = listen,
                              .allow_remote = allow_remote,
                              .pid_file = pid_file,
                              .durability = durability,
                              .no_group_commit = no_group,
                              .sync_delay_ms = delay_ms,
                              .max_clients = max_clients,
                              .pcap = own_pcap != NULL ? own_pcap : cli->pcap,
                              .ready = stdout,
                              .log = stderr};
    rc = vsafe_server_run(&cfg);
    if (own_pcap != NULL && vsafe_pcap_close(own_pcap) != VSAFE_OK) {
        fprintf(stderr, "vsafe serve: --pcap %s: the capture is incomplete\n", pcap_path);
        rc = rc == VSAFE_OK ? VSAFE_ERR_IO : rc;
    }
    if (rc != VSAFE_OK) {
        if (cli->json) {
            return vsafe_cli_fail(cli, rc, "serve");
        }
        return VSAFE_CLI_EXIT_FAIL; /* the server printed why */
    }
    return VSAFE_CLI_EXIT_OK;
}

/* ---- ctl ---- */

/* One control request; prints the failure (server status and its message) and returns an exit
 * status, or 0 with the reply data in out. */
static int ctl_request(vsafe_cli_t *cli, const char *what, uint8_t op, const uint8_t *args, size_t args_len,
                       uint8_t *out, size_t out_cap, size_t *out_len)
{
    int32_t st = 0;
    size_t n = 0;
    uint8_t local[512];
    uint8_t *buf = out != NULL ? out : local;
    size_t cap = out != NULL ? out_cap : sizeof local;
    int rc = vsafe_host_conn_request(cli->conn, op, args, args_len, &st, buf, cap, &n);
    if (rc != VSAFE_OK) {
        return vsafe_cli_fail(cli, rc, "ctl %s: no reply from %s", what, cli->connect);
    }
    if (st != 0) {
        size_t k = n < cap ? n : cap;
        return vsafe_cli_fail(cli, st, "ctl %s: %.*s", what, (int)(k < 300 ? k : 300), (const char *)buf);
    }
    if (out_len != NULL) {
        *out_len = n;
    }
    return 0;
}

static int ctl_done(vsafe_cli_t *cli, const char *key, const char *value, const char *text)
{
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:s}}", "ctl", key, value));
    }
    printf("%s\n", text);
    return VSAFE_CLI_EXIT_OK;
}

static int on_off(vsafe_cli_t *cli, const char *s, uint8_t *v)
{
    if (s != NULL && strcmp(s, "on") == 0) {
        *v = 1;
        return 0;
    }
    if (s != NULL && strcmp(s, "off") == 0) {
        *v = 0;
        return 0;
    }
    return vsafe_cli_usage_error(cli, "expected on or off, not '%s'", s != NULL ? s : "");
}

static int ctl_stats(vsafe_cli_t *cli)
{
    uint8_t out[1 + 8 * 64];
    size_t n = 0;
    int rc = ctl_request(cli, "stats", VSAFE_PROTO_STATS, NULL, 0, out, sizeof out, &n);
    if (rc != 0) {
        return rc;
    }
    if (n < 1 || n > sizeof out || n != 1u + 8u * out[0]) {
        return vsafe_cli_fail(cli, VSAFE_ERR_PROTO_MALFORMED, "ctl stats: reply of %zu bytes", n);
    }
    unsigned count = out[0];
    json_t *o = json_object();
    for (unsigned i = 0; i < count; i++) {
        uint64_t v = vsafe_get_be64(out + 1 + 8 * i);
        if (i < VSAFE_PROTO_STAT_COUNT) {
            json_object_set_new(o, vsafe_proto_stat_name(i), json_integer((json_int_t)v));
        }
        if (!cli->json && i < VSAFE_PROTO_STAT_COUNT) {
            printf("%-24s %llu\n", vsafe_proto_stat_name(i), (unsigned long long)v);
        }
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:o}}", "ctl", "stats", o));
    }
    json_decref(o);
    return VSAFE_CLI_EXIT_OK;
}

static int ctl_state(vsafe_cli_t *cli, const char *verb, const char *file)
{
    if (strcmp(verb, "save") == 0) {
        uint8_t *blob = malloc(VSAFE_PROTO_MAX_MSG);
        size_t n = 0;
        int rc = blob == NULL ? vsafe_cli_fail(cli, VSAFE_ERR_NO_MEMORY, "ctl state save")
                              : ctl_request(cli, "state save", VSAFE_PROTO_STATE_GET, NULL, 0, blob,
                                            VSAFE_PROTO_MAX_MSG, &n);
        if (rc == 0) {
            FILE *f = fopen(file, "wb");
            if (f == NULL || fwrite(blob, 1, n, f) != n || fclose(f) != 0) {
                rc = vsafe_cli_fail(cli, VSAFE_ERR_IO, "ctl state save: cannot write '%s'", file);
            }
        }
        free(blob);
        if (rc != 0) {
            return rc;
        }
        char text[4200];
        snprintf(text, sizeof text, "saved the device state (%zu bytes) to %s", n, file);
        return ctl_done(cli, "state_saved", file, text);
    }
    if (strcmp(verb, "load") == 0) {
        FILE *f = fopen(file, "rb");
        if (f == NULL) {
            return vsafe_cli_fail(cli, VSAFE_ERR_NOT_FOUND, "ctl state load: cannot open '%s'", file);
        }
        uint8_t *blob = malloc(VSAFE_PROTO_MAX_MSG);
        size_t n = blob != NULL ? fread(blob, 1, VSAFE_PROTO_MAX_MSG - 16, f) : 0;
        fclose(f);
        int rc = blob == NULL ? vsafe_cli_fail(cli, VSAFE_ERR_NO_MEMORY, "ctl state load")
                              : ctl_request(cli, "state load", VSAFE_PROTO_STATE_SET, blob, n, NULL, 0, NULL);
        free(blob);
        if (rc != 0) {
            return rc;
        }
        char text[4200];
        snprintf(text, sizeof text, "restored the device state from %s (the device booted on it)", file);
        return ctl_done(cli, "state_loaded", file, text);
    }
    return vsafe_cli_usage_error(cli, "state save FILE or state load FILE");
}

int vsafe_cmd_ctl(vsafe_cli_t *cli, int argc, char **argv)
{
    cli->help = CTL_HELP;
    const char *model_s = NULL;
    const char *pos[3] = {NULL, NULL, NULL};
    size_t npos = 0;
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"cut-model", 1, &model_s, NULL, "M", "ctl cut-after: how the cut write ends: dropped, torn-unit (default), torn-page or reordered"}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 1, 3, &npos, &done);
    if (rc != 0 || done) {
        return rc;
    }
    if (cli->connect == NULL) {
        return vsafe_cli_usage_error(cli, "ctl talks to a served device: give --connect ADDR or set VSAFE_CONNECT");
    }
    const char *verb = pos[0];
    size_t want = strcmp(verb, "power") == 0 || strcmp(verb, "cut-after") == 0 || strcmp(verb, "timing") == 0 ? 2
                  : strcmp(verb, "state") == 0                                                                 ? 3
                                                                                                               : 1;
    if (npos != want) {
        return vsafe_cli_usage_error(cli, "'ctl %s' takes %zu argument%s", verb, want - 1, want == 2 ? "" : "s");
    }
    if (model_s != NULL && strcmp(verb, "cut-after") != 0) {
        return vsafe_cli_usage_error(cli, "--cut-model goes with cut-after");
    }
    int model = model_s != NULL ? vsafe_cli_cut_model(model_s) : VSAFE_SIM_CUT_TORN_UNIT;
    if (model < 0) {
        return vsafe_cli_usage_error(cli, "--cut-model is one of dropped, torn-unit, torn-page, reordered");
    }
    uint8_t v = 0;
    uint32_t n = 0;
    if ((strcmp(verb, "power") == 0 || strcmp(verb, "timing") == 0) && on_off(cli, pos[1], &v) != 0) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    if (strcmp(verb, "cut-after") == 0 && vsafe_cli_parse_u32(cli, "N", pos[1], 0, 0xFFFFFFFFu, &n) != 0) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    static const char *const verbs[] = {"power", "reset", "cut-after", "timing", "stats", "state", "list"};
    int known = 0;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        known |= strcmp(verb, verbs[i]) == 0;
    }
    if (!known) {
        return vsafe_cli_usage_error(cli, "unknown ctl request '%s'", verb);
    }
    if ((rc = vsafe_cli_connect(cli)) != 0) {
        return rc;
    }
    if (strcmp(verb, "power") == 0) {
        rc = ctl_request(cli, "power", VSAFE_PROTO_POWER, &v, 1, NULL, 0, NULL);
        return rc != 0 ? rc : ctl_done(cli, "power", v ? "on" : "off", v ? "power on" : "power off");
    }
    if (strcmp(verb, "reset") == 0) {
        rc = ctl_request(cli, "reset", VSAFE_PROTO_RESET, NULL, 0, NULL, 0, NULL);
        return rc != 0 ? rc : ctl_done(cli, "reset", "done", "reset: the device booted again from its NVM");
    }
    if (strcmp(verb, "timing") == 0) {
        rc = ctl_request(cli, "timing", VSAFE_PROTO_TIMING, &v, 1, NULL, 0, NULL);
        return rc != 0 ? rc : ctl_done(cli, "timing", v ? "on" : "off", v ? "timing model on" : "timing model off");
    }
    if (strcmp(verb, "cut-after") == 0) {
        uint8_t args[5];
        vsafe_put_be32(args, n);
        args[4] = (uint8_t)model;
        rc = ctl_request(cli, "cut-after", VSAFE_PROTO_CUT, args, sizeof args, NULL, 0, NULL);
        if (rc != 0) {
            return rc;
        }
        char text[200];
        if (n == 0) {
            snprintf(text, sizeof text, "power cut disarmed");
        } else {
            snprintf(text, sizeof text, "power cut armed at NVM operation %u of the coming commands (%s)", n,
                     model_s != NULL ? model_s : "torn-unit");
        }
        if (cli->json) {
            return vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:s}}", "ctl", "cut_after", (json_int_t)n, "cut_model",
                                                     model_s != NULL ? model_s : "torn-unit"));
        }
        printf("%s\n", text);
        return VSAFE_CLI_EXIT_OK;
    }
    if (strcmp(verb, "stats") == 0) {
        return ctl_stats(cli);
    }
    if (strcmp(verb, "state") == 0) {
        return ctl_state(cli, pos[1], pos[2]);
    }
    uint8_t out[8192];
    size_t len = 0;
    rc = ctl_request(cli, "list", VSAFE_PROTO_LIST, NULL, 0, out, sizeof out - 1, &len);
    if (rc != 0) {
        return rc;
    }
    len = len < sizeof out - 1 ? len : sizeof out - 1;
    out[len] = '\0';
    if (cli->json) {
        json_t *a = json_array();
        for (char *save = NULL, *t = strtok_r((char *)out, "\n", &save); t != NULL; t = strtok_r(NULL, "\n", &save)) {
            json_array_append_new(a, json_string(t));
        }
        return vsafe_cli_json_out(cli, json_pack("{s:{s:o}}", "ctl", "devices", a));
    }
    fputs((const char *)out, stdout);
    return VSAFE_CLI_EXIT_OK;
}
