/* `vsafe mcu ...`: the host MCU of the board in DIR (DIR/mcu.nvm). The board stays powered
 * between two invocations: a state change stays pending until `vsafe mcu reset`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_io.h"
#include "cmd_mcu.h"
#include "common/secure.h"

/* part: the part of an MCU created now (NULL or "": $VSAFE_MCU_PART, else the default STM32H573). */
static int open_mcu_part(vsafe_cli_t *cli, vsafe_mcu_t **mcu, int read_only, const char *part)
{
    vsafe_mcu_options_t o = {.state_path = vsafe_cli_device_file(cli, "mcu.nvm")};
    int present = vsafe_cli_state_file_present(cli, "mcu.nvm");
    if (present < 0) {
        return VSAFE_CLI_EXIT_FAIL;
    }
    if (present == 0 && read_only) {
        /* A query must not create the MCU: its SoC ID and secrets are drawn at creation. */
        return vsafe_cli_fail_named(cli, "NO_MCU", "no MCU in '%s' yet (the first command that changes it creates "
                                                   "it, e.g. vsafe mcu trustzone on)",
                                    cli->device_dir);
    }
    /* The part, hence the device ID the ADAC SoC class reports, is chosen when the MCU is created. */
    if (part == NULL || part[0] == '\0') {
        part = getenv("VSAFE_MCU_PART");
    }
    if (present == 0 && part != NULL && part[0] != '\0') {
        int prc = vsafe_mcu_part_parse(part, &o.soc_class);
        if (prc != VSAFE_OK) {
            return vsafe_cli_fail(cli, prc, "MCU part %s: one of STM32H573, H563, H562 (device ID 0x484), "
                                  "H533, H523 (0x478), H503 (0x474)",
                                  part);
        }
    }
    int src = vsafe_cli_seed(cli, "VSAFE_MCU_SEED", "mcu.seed-run", present == 0, &o.rng_seed);
    if (src != 0) {
        return src;
    }
    if (cli->cut_after > 0) {
        if (present == 0) {
            return vsafe_cli_usage_error(cli, "--cut-after: there is no MCU state file to cut yet (%s)", o.state_path);
        }
        int frc = vsafe_cli_cut_attach(cli, o.state_path, 1, &o.nvm);
        if (frc != 0) {
            return frc;
        }
    }
    int rc;
    double start = 0;
    do {
        rc = vsafe_mcu_open(mcu, &o);
    } while (rc != VSAFE_OK && vsafe_cli_retry_locked(cli, rc, &start));
    if (rc != VSAFE_OK) {
        return vsafe_cli_fail(cli, rc, "opening the MCU (%s)", o.state_path);
    }
    return 0;
}

int vsafe_cli_open_mcu(vsafe_cli_t *cli, vsafe_mcu_t **mcu, int read_only)
{
    return open_mcu_part(cli, mcu, read_only, NULL);
}

static const char *yes(bool b) { return b ? "yes" : "no"; }

static char *mask_hex(const uint8_t m[16]) { return vsafe_cli_hex(m, 16); }

static int show(vsafe_cli_t *cli, vsafe_mcu_t *m)
{
    vsafe_mcu_info_t i;
    int rc = vsafe_mcu_info(m, &i);
    if (rc != VSAFE_OK) {
        return vsafe_cli_fail(cli, rc, "mcu show");
    }
    char *id = vsafe_cli_hex(i.soc_id, 16), *dm = mask_hex(i.da_mask), *gr = mask_hex(i.debug_grant);
    bool dbg[2][3];
    for (unsigned d = 0; d < 2; d++) {
        for (unsigned h = 1; h <= 3; h++) {
            dbg[d][h - 1] = vsafe_mcu_debug_access(m, (vsafe_mcu_domain_t)d, h);
        }
    }
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "state", json_string(vsafe_mcu_state_name(i.state)));
        json_object_set_new(o, "state_code", json_integer(i.state));
        json_object_set_new(o, "pending", i.pending_set ? json_string(vsafe_mcu_state_name(i.pending)) : json_null());
        json_object_set_new(o, "inert", json_boolean(i.pending_set));
        json_object_set_new(o, "trustzone", json_boolean(i.trustzone));
        json_object_set_new(o, "hdpl", json_integer(i.hdpl));
        json_object_set_new(o, "psa_lifecycle", json_integer(i.psa_lifecycle));
        json_object_set_new(o, "psa_lifecycle_name", json_string(vsafe_mcu_psa_name(i.psa_lifecycle)));
        json_object_set_new(o, "da_provisioned", json_boolean(i.da_provisioned));
        json_object_set_new(o, "da_mask", json_string(dm));
        json_object_set_new(o, "da_attempts", json_integer(i.da_attempts));
        json_object_set_new(o, "da_attempt_limit", json_integer(i.da_attempt_limit));
        json_object_set_new(o, "debug_grant", json_string(gr));
        json_t *d = json_object();
        static const char *const names[2][3] = {{"ns_hdpl1", "ns_hdpl2", "ns_hdpl3"}, {"s_hdpl1", "s_hdpl2", "s_hdpl3"}};
        for (unsigned a = 0; a < 2; a++) {
            for (unsigned h = 0; h < 3; h++) {
                json_object_set_new(d, names[a][h], json_boolean(dbg[a][h]));
            }
        }
        json_object_set_new(o, "debug", d);
        json_object_set_new(o, "soc_class", json_integer(i.soc_class));
        json_object_set_new(o, "part", json_string(vsafe_mcu_part_name(i.soc_class)));
        json_object_set_new(o, "soc_id", json_string(id));
        json_object_set_new(o, "dhuk_epoch", json_integer(i.dhuk_epoch));
        json_object_set_new(o, "host_keys", json_boolean(i.host_keys));
        free(id), free(dm), free(gr);
        return vsafe_cli_json_out(cli, json_pack("{s:o}", "mcu_show", o));
    }
    printf("product state   %s (0x%02X)%s\n", vsafe_mcu_state_name(i.state), (unsigned)i.state,
           i.pending_set ? "" : "");
    if (i.pending_set) {
        printf("pending         %s: takes effect at reset; the MCU is inert until then\n",
               vsafe_mcu_state_name(i.pending));
    }
    printf("TrustZone       %s (TZEN 0x%02X)\n", i.trustzone ? "on" : "off",
           i.trustzone ? VSAFE_MCU_TZEN_ON : VSAFE_MCU_TZEN_OFF);
    printf("HDPL            %u\n", i.hdpl);
    printf("PSA lifecycle   0x%04X %s\n", i.psa_lifecycle, vsafe_mcu_psa_name(i.psa_lifecycle));
    printf("DA config       %s%s%s\n", i.da_provisioned ? "provisioned, mask " : "not provisioned",
           i.da_provisioned ? dm : "", "");
    printf("DA attempts     %u failed of %u allowed\n", i.da_attempts, i.da_attempt_limit);
    printf("debug access    NS: HDPL1 %s, HDPL2 %s, HDPL3 %s; S: HDPL1 %s, HDPL2 %s, HDPL3 %s\n", yes(dbg[0][0]),
           yes(dbg[0][1]), yes(dbg[0][2]), yes(dbg[1][0]), yes(dbg[1][1]), yes(dbg[1][2]));
    if (i.soc_class == VSAFE_MCU_DEVID_H503) {
        printf("host keys       none (no OBK on this part)\n");
    } else {
        printf("host keys       %s (OBK HDPL3-S)\n", i.host_keys ? "present" : "absent");
    }
    printf("SoC             class 0x%08X (%s), ID %s\n", i.soc_class, vsafe_mcu_part_name(i.soc_class), id);
    printf("DHUK epoch      %u\n", i.dhuk_epoch);
    free(id), free(dm), free(gr);
    return 0;
}

static void explain(unsigned w, vsafe_mcu_state_t to)
{
    if (w & VSAFE_MCU_WARN_NO_DA_CONFIG) {
        fprintf(stderr, "  - no valid debug-authentication configuration is provisioned: once %s, nothing can\n"
                        "    regress this device or reopen its debug port (provision one first: vsafe da provision)\n",
                vsafe_mcu_state_name(to));
    }
    if (w & VSAFE_MCU_WARN_LOCKING) {
        fprintf(stderr, "  - LOCKED is final: no debug authentication, no regression, ever\n");
    }
    if (w & VSAFE_MCU_WARN_DA_EXHAUSTED) {
        fprintf(stderr, "  - every debug-authentication attempt is already spent: once %s, nothing can regress\n"
                        "    this device or reopen its debug port\n",
                vsafe_mcu_state_name(to));
    }
    if (w & VSAFE_MCU_WARN_HOST_KEYS_MISMATCH) {
        fprintf(stderr, "  - the secure element does not hold the host keys of OBK HDPL3-S: the product will\n"
                        "    not be able to open the secure channel (provision both: vsafe mcu hostkeys)\n");
    }
    if (w & VSAFE_MCU_WARN_NO_HOST_KEYS) {
        fprintf(stderr, "  - no host keys in OBK HDPL3-S: the product will not be able to open the secure\n"
                        "    channel to its secure element (provision them first: vsafe mcu hostkeys)\n");
    }
}

static int cmd_state(vsafe_cli_t *cli, vsafe_mcu_t *m, int argc, char **argv)
{
    int force = 0;
    const char *pos[1];
    int done = 0;
    vsafe_cli_opt_t opts[] = {{"force", 0, NULL, &force, NULL, "do it although a check warns (host keys differ, DA attempts spent)"}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 1, 1, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    vsafe_mcu_state_t to;
    if (vsafe_mcu_state_parse(pos[0], &to) != VSAFE_OK) {
        return vsafe_cli_usage_error(cli, "unknown state '%s' (OPEN, PROVISIONING, iROT_PROVISIONED, TZ_CLOSED, CLOSED, "
                                          "LOCKED)", pos[0]);
    }
    bool allowed = vsafe_mcu_transition_allowed(m, to);
    unsigned w = allowed ? vsafe_mcu_footguns(m, to) : 0u;
    bool closing = to == VSAFE_MCU_STATE_TZ_CLOSED || to == VSAFE_MCU_STATE_CLOSED || to == VSAFE_MCU_STATE_LOCKED;
    int why = VSAFE_OK;
    vsafe_mcu_info_t part;
    /* An STM32H503 has no OBK to keep host keys in: the board binding is not checked there. */
    bool no_obk = vsafe_mcu_info(m, &part) == VSAFE_OK && part.soc_class == VSAFE_MCU_DEVID_H503;
    if (allowed && closing && !no_obk && (w & VSAFE_MCU_WARN_NO_HOST_KEYS) == 0u) {
        /* The keys in OBK must be the ones the secure element holds (asked to the SE itself). */
        int have_se = vsafe_cli_state_file_present(cli, "se.nvm");
        if (have_se < 0) {
            return VSAFE_CLI_EXIT_FAIL;
        }
        why = have_se == 0 ? VSAFE_ERR_NOT_FOUND : vsafe_cli_open_host(cli);
        if (why == VSAFE_OK) {
            why = vsafe_board_hostkeys_verify(m, cli->host);
        } else if (have_se) {
            why = VSAFE_ERR_IO; /* the open error is already printed */
        }
        if (why != VSAFE_OK) {
            w |= VSAFE_MCU_WARN_HOST_KEYS_MISMATCH;
        }
    }
    vsafe_mcu_info_t info;
    if (allowed && closing && vsafe_mcu_info(m, &info) == VSAFE_OK && info.da_attempts > 0u &&
        info.da_attempts < info.da_attempt_limit && !cli->json) {
        fprintf(stderr, "vsafe mcu state %s: warning: %u of the %u debug-authentication attempts are already spent; "
                        "the closed device keeps only %u\n",
                vsafe_mcu_state_name(to), info.da_attempts, info.da_attempt_limit,
                info.da_attempt_limit - info.da_attempts);
    }
    if ((w & VSAFE_MCU_WARN_HOST_KEYS_MISMATCH) && !cli->json) {
        fprintf(stderr, "vsafe mcu state %s: checking the secure element's host keys: %s (%s)\n",
                vsafe_mcu_state_name(to), vsafe_status_name(why),
                why == VSAFE_ERR_NOT_FOUND ? "no secure element state file, or nothing to read" : vsafe_status_message(why));
    }
    if (w != 0u && !force) {
        if (!cli->json) {
            fprintf(stderr, "vsafe mcu state %s: refused without --force:\n", vsafe_mcu_state_name(to));
            explain(w, to);
        }
        return vsafe_cli_fail(cli, VSAFE_ERR_MCU_NEEDS_FORCE, "mcu state %s", vsafe_mcu_state_name(to));
    }
    rc = vsafe_mcu_program_state(m, to);
    if (rc != VSAFE_OK) {
        return vsafe_cli_fail(cli, rc, "mcu state %s from %s", vsafe_mcu_state_name(to),
                              vsafe_mcu_state_name(vsafe_mcu_state(m)));
    }
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "state", json_string(vsafe_mcu_state_name(vsafe_mcu_state(m))));
        json_object_set_new(o, "pending", json_string(vsafe_mcu_state_name(to)));
        return vsafe_cli_json_out(cli, json_pack("{s:o}", "mcu_state", o));
    }
    printf("PRODUCT_STATE programmed to %s (0x%02X); takes effect at reset (vsafe mcu reset)\n",
           vsafe_mcu_state_name(to), (unsigned)to);
    return 0;
}

/* The result of a subcommand that only changes the MCU: {"<key>": {"state": ..., "ok": true, ...}},
 * extra (may be NULL) adding its own fields. */
static int simple_ok(vsafe_cli_t *cli, vsafe_mcu_t *m, const char *key, json_t *extra, const char *what)
{
    if (cli->json) {
        json_t *o = extra != NULL ? extra : json_object();
        json_object_set_new(o, "state", json_string(vsafe_mcu_state_name(vsafe_mcu_state(m))));
        json_object_set_new(o, "ok", json_true());
        return vsafe_cli_json_out(cli, json_pack("{s:o}", key, o));
    }
    json_decref(extra);
    printf("%s; product state %s\n", what, vsafe_mcu_state_name(vsafe_mcu_state(m)));
    return 0;
}

static int parse_domain(vsafe_cli_t *cli, const char *s, vsafe_mcu_domain_t *d)
{
    if (s == NULL || strcmp(s, "s") == 0 || strcmp(s, "secure") == 0) {
        *d = VSAFE_MCU_SECURE;
    } else if (strcmp(s, "ns") == 0 || strcmp(s, "non-secure") == 0) {
        *d = VSAFE_MCU_NONSECURE;
    } else {
        return vsafe_cli_usage_error(cli, "--domain must be s or ns");
    }
    return 0;
}

static int cmd_obk(vsafe_cli_t *cli, vsafe_mcu_t *m, int argc, char **argv)
{
    const char *pos[2], *off_s = NULL, *len_s = NULL, *dom_s = NULL;
    vsafe_cli_secret_t data_s = {0}; /* OBK holds keys: --data is a secret option */
    int done = 0;
    vsafe_cli_opt_t opts[] = {VSAFE_CLI_SECRET_OPTS_H("data", data_s, "the bytes to write (hex)"), {"offset", 1, &off_s, NULL, "N", "byte offset in the OBK area"},
                              {"length", 1, &len_s, NULL, "N", "bytes to read (default: the rest of the area)"}, {"domain", 1, &dom_s, NULL, "s|ns", "secure (s, default) or non-secure (ns) OBK area"}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 2, 2, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    vsafe_mcu_obk_t area;
    vsafe_mcu_domain_t dom = VSAFE_MCU_SECURE;
    if (vsafe_mcu_obk_parse(pos[1], &area) != VSAFE_OK) {
        return vsafe_cli_usage_error(cli, "unknown OBK area '%s' (HDPL0, HDPL1, HDPL2, HDPL3-S, HDPL3-NS)", pos[1]);
    }
    if (parse_domain(cli, dom_s != NULL ? dom_s : (area == VSAFE_MCU_OBK_HDPL3_NS ? "ns" : "s"), &dom) != 0) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    uint32_t off = 0, size = vsafe_mcu_obk_size(area), len = 0;
    if (off_s != NULL && vsafe_cli_parse_u32(cli, "--offset", off_s, 0, size, &off) != 0) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    if (strcmp(pos[0], "write") == 0) {
        uint8_t *buf;
        size_t n, text_len = 0;
        if (!vsafe_cli_secret_given(&data_s)) {
            return vsafe_cli_usage_error(cli, "obk write needs --data HEX (or --data-file, --data-fd, --data-env)");
        }
        static char text[4 * VSAFE_MCU_OBK_WRITE_MAX + 64];
        if ((rc = vsafe_cli_secret_read(cli, "data", &data_s, text, sizeof text, &text_len)) != 0) {
            return rc;
        }
        rc = vsafe_cli_parse_hex(cli, "--data", text, &buf, &n);
        vsafe_wipe(text, sizeof text);
        if (rc != 0) {
            return VSAFE_CLI_EXIT_USAGE;
        }
        rc = vsafe_mcu_obk_write(m, dom, area, off, buf, n);
        vsafe_wipe(buf, n);
        free(buf);
        if (rc != VSAFE_OK) {
            return vsafe_cli_fail(cli, rc, "obk write %s", vsafe_mcu_obk_name(area));
        }
        return simple_ok(cli, m, "mcu_obk_write",
                         json_pack("{s:s, s:i, s:i}", "area", vsafe_mcu_obk_name(area), "offset", (int)off, "length", (int)n),
                         "OBK written");
    }
    if (strcmp(pos[0], "read") != 0) {
        return vsafe_cli_usage_error(cli, "obk read|write AREA");
    }
    len = size - off;
    if (len_s != NULL && vsafe_cli_parse_u32(cli, "--length", len_s, 0, size - off, &len) != 0) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    uint8_t buf[3072];
    rc = vsafe_mcu_obk_read(m, dom, area, off, buf, len);
    if (rc != VSAFE_OK) {
        const char *hint = rc == VSAFE_ERR_STATE && vsafe_mcu_state(m) == VSAFE_MCU_STATE_OPEN
                               ? "option-byte keys are not readable in OPEN: the DHUK that protects them does not "
                                 "exist until PROVISIONING"
                               : NULL;
        return vsafe_cli_fail_hint(cli, rc, hint, "obk read %s", vsafe_mcu_obk_name(area));
    }
    char *hex = vsafe_cli_hex(buf, len);
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "area", json_string(vsafe_mcu_obk_name(area)));
        json_object_set_new(o, "offset", json_integer(off));
        json_object_set_new(o, "data", json_string(hex));
        free(hex);
        return vsafe_cli_json_out(cli, json_pack("{s:o}", "mcu_obk_read", o));
    }
    printf("%s\n", hex);
    free(hex);
    return 0;
}

static int cmd_graph(vsafe_cli_t *cli, vsafe_mcu_t *m)
{
    static const vsafe_mcu_state_t st[] = {VSAFE_MCU_STATE_OPEN,      VSAFE_MCU_STATE_PROVISIONING,
                                           VSAFE_MCU_STATE_IROT_PROVISIONED, VSAFE_MCU_STATE_TZ_CLOSED,
                                           VSAFE_MCU_STATE_CLOSED,    VSAFE_MCU_STATE_LOCKED};
    static const char *const edges =
        "  OPEN -> PROVISIONING [label=\"T1\"];\n  OPEN -> iROT_PROVISIONED [label=\"T2\"];\n"
        "  PROVISIONING -> iROT_PROVISIONED; PROVISIONING -> TZ_CLOSED; PROVISIONING -> CLOSED; PROVISIONING -> LOCKED;\n"
        "  iROT_PROVISIONED -> TZ_CLOSED; iROT_PROVISIONED -> CLOSED; iROT_PROVISIONED -> LOCKED;\n"
        "  TZ_CLOSED -> CLOSED; TZ_CLOSED -> LOCKED; CLOSED -> LOCKED [label=\"T5\"];\n"
        "  PROVISIONING -> OPEN [style=dashed, color=red, label=\"T7 full regression\"];\n"
        "  iROT_PROVISIONED -> OPEN [style=dashed, color=red];\n  TZ_CLOSED -> OPEN [style=dashed, color=red];\n"
        "  CLOSED -> OPEN [style=dashed, color=red];\n"
        "  CLOSED -> TZ_CLOSED [style=dashed, color=orange, label=\"T8 partial (TZ on)\"];\n"
        "  CLOSED -> CLOSED [style=dotted, label=\"T9 debug reopen\"];\n";
    vsafe_mcu_state_t cur = vsafe_mcu_state(m);
    vsafe_mcu_info_t info;
    if (vsafe_mcu_info(m, &info) != VSAFE_OK) {
        return vsafe_cli_fail(cli, VSAFE_ERR_MCU_INVALID_STATE, "mcu graph");
    }
    size_t cap = 4096, len = 0;
    char *dot = malloc(cap);
    if (dot == NULL) {
        return vsafe_cli_fail(cli, VSAFE_ERR_NO_MEMORY, "mcu graph");
    }
    len += (size_t)snprintf(dot + len, cap - len, "digraph product_state {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n");
    for (size_t i = 0; i < 6; i++) {
        bool here = st[i] == cur, pend = info.pending_set && st[i] == info.pending;
        len += (size_t)snprintf(dot + len, cap - len, "  %s [label=\"%s\\n0x%02X\"%s%s];\n", vsafe_mcu_state_name(st[i]),
                                vsafe_mcu_state_name(st[i]), (unsigned)st[i],
                                here ? ", style=\"rounded,filled,bold\", fillcolor=gold, penwidth=3" : "",
                                pend ? ", style=\"rounded,dashed\", color=blue" : "");
    }
    len += (size_t)snprintf(dot + len, cap - len, "%s}\n", edges);
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "state", json_string(vsafe_mcu_state_name(cur)));
        json_object_set_new(o, "dot", json_string(dot));
        free(dot);
        return vsafe_cli_json_out(cli, json_pack("{s:o}", "mcu_graph", o));
    }
    fputs(dot, stdout);
    free(dot);
    return 0;
}

static int cmd_hostkeys(vsafe_cli_t *cli, vsafe_mcu_t *m, int argc, char **argv);

int vsafe_cli_open_mcu_args(vsafe_cli_t *cli, int argc, char **argv, size_t pmax, const char **pos, int read_only,
                            vsafe_mcu_t **m)
{
    int done = 0;
    vsafe_cli_opt_t none[] = {VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, none, pos, pmax, pmax, NULL, &done);
    if (rc != 0 || done) {
        return done ? -1 : rc;
    }
    return vsafe_cli_open_mcu(cli, m, read_only);
}

/* `vsafe mcu create [--part NAME]`: the board's MCU, of the part given; the part is fixed then, as
 * in silicon. Any other command that changes the MCU creates it too, as $VSAFE_MCU_PART or the
 * default STM32H573. */
static int sub_create(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *part = NULL;
    int done = 0;
    vsafe_cli_opt_t opts[] = {{"part", 1, &part, NULL, "NAME", "STM32H573 (default), H563, H562, H533, H523 or H503"},
                              VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    int present = vsafe_cli_state_file_present(cli, "mcu.nvm");
    if (present != 0) {
        return present < 0 ? VSAFE_CLI_EXIT_FAIL
                           : vsafe_cli_fail_named(cli, "MCU_EXISTS", "'%s' already has an MCU: its part was fixed when "
                                                                     "it was created (see vsafe mcu show)",
                                                  cli->device_dir);
    }
    vsafe_mcu_t *m = NULL;
    if ((rc = open_mcu_part(cli, &m, 0, part != NULL ? part : "STM32H573")) != 0) {
        return rc;
    }
    vsafe_mcu_info_t i;
    int s = vsafe_mcu_info(m, &i);
    vsafe_mcu_close(m);
    if (s != VSAFE_OK) {
        return vsafe_cli_fail(cli, s, "mcu create");
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:s, s:i}}", "mcu_create", "part", vsafe_mcu_part_name(i.soc_class),
                                                 "soc_class", (int)i.soc_class));
    }
    printf("MCU created: %s (device ID 0x%03X); product state %s\n", vsafe_mcu_part_name(i.soc_class), i.soc_class,
           vsafe_mcu_state_name(i.state));
    return 0;
}

static int sub_show(vsafe_cli_t *cli, int argc, char **argv)
{
    vsafe_mcu_t *m = NULL;
    int rc = vsafe_cli_open_mcu_args(cli, argc, argv, 0, NULL, 1, &m);
    if (rc != 0) {
        return rc < 0 ? VSAFE_CLI_EXIT_OK : rc;
    }
    rc = show(cli, m);
    vsafe_mcu_close(m);
    return rc;
}

static int sub_graph(vsafe_cli_t *cli, int argc, char **argv)
{
    vsafe_mcu_t *m = NULL;
    int rc = vsafe_cli_open_mcu_args(cli, argc, argv, 0, NULL, 1, &m);
    if (rc != 0) {
        return rc < 0 ? VSAFE_CLI_EXIT_OK : rc;
    }
    rc = cmd_graph(cli, m);
    vsafe_mcu_close(m);
    return rc;
}

static int sub_reset(vsafe_cli_t *cli, int argc, char **argv)
{
    vsafe_mcu_t *m = NULL;
    int rc = vsafe_cli_open_mcu_args(cli, argc, argv, 0, NULL, 0, &m);
    if (rc != 0) {
        return rc < 0 ? VSAFE_CLI_EXIT_OK : rc;
    }
    int s = vsafe_mcu_reset(m);
    rc = s != VSAFE_OK ? vsafe_cli_fail(cli, s, "mcu reset") : simple_ok(cli, m, "mcu_reset", NULL, "reset done");
    vsafe_mcu_close(m);
    return rc;
}

static int sub_trustzone(vsafe_cli_t *cli, int argc, char **argv)
{
    vsafe_mcu_t *m = NULL;
    const char *pos[1] = {NULL};
    int rc = vsafe_cli_open_mcu_args(cli, argc, argv, 1, pos, 0, &m);
    if (rc != 0) {
        return rc < 0 ? VSAFE_CLI_EXIT_OK : rc;
    }
    bool on = strcmp(pos[0], "on") == 0;
    if (!on && strcmp(pos[0], "off") != 0) {
        rc = vsafe_cli_usage_error(cli, "trustzone on|off");
    } else {
        int s = vsafe_mcu_set_trustzone(m, on);
        rc = s != VSAFE_OK ? vsafe_cli_fail(cli, s, "mcu trustzone %s", pos[0])
                           : simple_ok(cli, m, "mcu_trustzone", json_pack("{s:b}", "trustzone", on),
                                       on ? "TrustZone on" : "TrustZone off");
    }
    vsafe_mcu_close(m);
    return rc;
}

static int sub_hdpl(vsafe_cli_t *cli, int argc, char **argv)
{
    vsafe_mcu_t *m = NULL;
    const char *pos[1] = {NULL};
    int rc = vsafe_cli_open_mcu_args(cli, argc, argv, 1, pos, 0, &m);
    if (rc != 0) {
        return rc < 0 ? VSAFE_CLI_EXIT_OK : rc;
    }
    uint32_t lvl;
    if (vsafe_cli_parse_u32(cli, "HDPL", pos[0], 1, 3, &lvl) != 0) {
        rc = VSAFE_CLI_EXIT_USAGE;
    } else {
        int s = vsafe_mcu_hdpl_raise(m, lvl);
        rc = s != VSAFE_OK ? vsafe_cli_fail(cli, s, "mcu hdpl %u", lvl)
                           : simple_ok(cli, m, "mcu_hdpl", json_pack("{s:i}", "hdpl", (int)lvl), "HDPL raised");
    }
    vsafe_mcu_close(m);
    return rc;
}

/* state, obk and hostkeys parse their own options, before they use the MCU: for --help they run
 * without one. */
static int with_mcu(vsafe_cli_t *cli, int argc, char **argv, int read_only,
                    int (*fn)(vsafe_cli_t *, vsafe_mcu_t *, int, char **))
{
    if (vsafe_cli_wants_help(argc, argv)) {
        return fn(cli, NULL, argc, argv);
    }
    vsafe_mcu_t *m = NULL;
    int rc = vsafe_cli_open_mcu(cli, &m, read_only);
    if (rc != 0) {
        return rc;
    }
    rc = fn(cli, m, argc, argv);
    vsafe_mcu_close(m);
    return rc;
}

static int sub_state(vsafe_cli_t *cli, int argc, char **argv)
{
    return with_mcu(cli, argc, argv, 0, cmd_state);
}

static int sub_obk(vsafe_cli_t *cli, int argc, char **argv)
{
    return with_mcu(cli, argc, argv, argc >= 2 && strcmp(argv[1], "read") == 0, cmd_obk);
}

static int sub_hostkeys(vsafe_cli_t *cli, int argc, char **argv)
{
    return with_mcu(cli, argc, argv, 0, cmd_hostkeys);
}

int vsafe_cmd_mcu(vsafe_cli_t *cli, int argc, char **argv)
{
    static const vsafe_cli_sub_t subs[] = {
        {"create", sub_create, "mcu create [--part NAME]",
         "create the board's MCU as the part given (STM32H573 by default; H503: no OBK, no TrustZone)\n"},
        {"show", sub_show, "mcu show", "product state, TrustZone, HDPL, OBK areas, DA configuration and attempts\n"},
        {"state", sub_state, "mcu state STATE [--force]",
         "move the product state forward (OPEN, PROVISIONING, iROT_PROVISIONED, TZ_CLOSED, CLOSED, LOCKED)\n"},
        {"trustzone", sub_trustzone, "mcu trustzone on|off", "set TrustZone (the TZEN option byte)\n"},
        {"reset", sub_reset, "mcu reset", "reset the MCU: HDPL back to 1, volatile state lost\n"},
        {"hdpl", sub_hdpl, "mcu hdpl N", "raise the hide protection level to N (1..3; only upward until reset)\n"},
        {"graph", sub_graph, "mcu graph", "the product-state transitions as a Graphviz graph\n"},
        {"obk", sub_obk, "mcu obk write|read AREA [--data HEX] [--offset N] [--length N] [--domain s|ns]",
         "write or read an option-byte key area (HDPL1..3, secure or non-secure)\n"},
        {"hostkeys", sub_hostkeys, "mcu hostkeys [--aes256] [--keep-open]",
         "fresh host keys into OBK HDPL3-S and the secure element, all or nothing\n"},
    };
    cli->cut_mcu = 1;
    return vsafe_cli_dispatch(cli, argc, argv, subs, sizeof subs / sizeof subs[0], cli->summary, NULL);
}

/* `vsafe mcu hostkeys`: fresh host keys into OBK HDPL3-S and the same keys into the secure element,
 * all or nothing (vsafe_board_install_hostkeys); then the secure element's provisioning control
 * fields are locked unless --keep-open. */
static int cmd_hostkeys(vsafe_cli_t *cli, vsafe_mcu_t *m, int argc, char **argv)
{
    int aes256 = 0, done = 0, keep_open = 0;
    vsafe_cli_opt_t opts[] = {{"aes256", 0, NULL, &aes256, NULL, "AES-256 host keys (default AES-128)"}, {"keep-open", 0, NULL, &keep_open, NULL, "leave the secure element's provisioning control fields open"}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    if ((rc = vsafe_cli_open_host(cli)) != 0) {
        return rc;
    }
    uint8_t rec[VSAFE_MCU_HOSTKEY_LEN];
    int s = vsafe_board_hostkeys_generate(aes256 != 0, rec);
    if (s == VSAFE_OK) {
        s = vsafe_board_install_hostkeys(m, cli->host, rec);
    }
    vsafe_wipe(rec, sizeof rec);
    if (s != VSAFE_OK) {
        vsafe_mcu_info_t info;
        bool in_obk = vsafe_mcu_info(m, &info) == VSAFE_OK && info.host_keys;
        /* A refusal by the secure element: say which of its control fields refused the write. */
        const char *why = vsafe_status_wire(s) >= 0 ? vsafe_cli_plaintext_hostkey_refusal(cli->host) : NULL;
        return vsafe_cli_fail_hint(cli, s, why, "provisioning host keys into OBK HDPL3-S and the secure element (%s)",
                                   in_obk ? "OBK HDPL3-S keeps host keys: check with vsafe mcu state" : "nothing changed");
    }
    int was_open = 0;
    if (!keep_open && (s = vsafe_cli_lock_hostkey_ctrl(cli->host, &was_open)) != VSAFE_OK) {
        return vsafe_cli_fail(cli, s, "host keys provisioned, but the control fields could not be locked "
                                      "(run: vsafe hostkey lock)");
    }
    if (!cli->json && was_open) {
        printf("secure element's provisioning control fields locked (no re-provisioning, no further change)\n");
    }
    return simple_ok(cli, m, "mcu_hostkeys",
                     json_pack("{s:s}", "key_type", aes256 ? "aes256" : "aes128"),
                     aes256 ? "AES-256 host keys in OBK HDPL3-S and in the secure element"
                                    : "AES-128 host keys in OBK HDPL3-S and in the secure element");
}
