/* `vsafe da ...`: debug authentication of the board's MCU.
 * Key material lives in DIR/da/ unless told otherwise: root.pem, leaf.pem (PEM, OpenSSL) and
 * chain.bin (root certificate then leaf certificate, 168 bytes each). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_io.h"
#include "cmd_mcu.h"
#include "common/secure.h"

/* The longest DA password (the device takes 4 to 16 characters) plus room to detect a longer one. */
#define PASSWORD_CAP 64u

/* mkdir -p with mode 0700 for what it creates (the DA keys are private). */
static int make_dirs(const char *dir)
{
    char buf[1024];
    size_t n = strlen(dir);
    if (n == 0u || n >= sizeof buf) {
        return -1;
    }
    memcpy(buf, dir, n + 1u);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
                return -1;
            }
            buf[i] = c;
        }
    }
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

static char *da_path(vsafe_cli_t *cli, const char *dir, const char *name)
{
    static char buf[3][1024];
    static int k;
    k = (k + 1) % 3;
    if (dir != NULL) {
        snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    } else {
        snprintf(buf[k], sizeof buf[k], "%s/da/%s", cli->device_dir, name);
    }
    return buf[k];
}

static int parse_mask(vsafe_cli_t *cli, const char *s, uint8_t mask[16])
{
    memset(mask, 0, 16);
    if (s == NULL) {
        mask[0] = 0xFF; /* every product permission */
        return 0;
    }
    uint8_t *b;
    size_t n;
    if (vsafe_cli_parse_hex(cli, "--mask", s, &b, &n) != 0) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    if (n == 0 || n > 16) {
        free(b);
        return vsafe_cli_usage_error(cli, "--mask takes 1 to 16 bytes of hex (byte 0 holds bits 0..7)");
    }
    memcpy(mask, b, n);
    free(b);
    return 0;
}

static int keygen(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *dir = NULL, *mask_s = NULL;
    int bind = 0, done = 0, force = 0;
    vsafe_cli_opt_t opts[] = {{"out-dir", 1, &dir, NULL, "DIR", "where the keys and certificates go (created 0700; default: the device directory)"}, {"mask", 1, &mask_s, NULL, "HEX", "permission mask the certificates grant / the DA configuration allows (32-bit hex)"}, {"bind", 0, NULL, &bind, NULL, "also provision the new root key's hash into the device's DA configuration"},
                              {"force", 0, NULL, &force, NULL, "replace existing keys, or a DA configuration of a closed device (warns)"}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    if (cli->cut_after > 0 && !bind) {
        return vsafe_cli_usage_error(cli, "--cut-after: da keygen writes no state file (only key files), so there is "
                                          "nothing to cut");
    }
    uint8_t mask[16], soc_id[16] = {0};
    uint32_t soc_class = 0;
    if (parse_mask(cli, mask_s, mask) != 0) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    if (bind) { /* bind the leaf to this board's MCU */
        vsafe_mcu_t *m;
        vsafe_mcu_info_t info;
        if ((rc = vsafe_cli_open_mcu(cli, &m, 1)) != 0) {
            return rc;
        }
        int s = vsafe_mcu_info(m, &info);
        vsafe_mcu_close(m);
        if (s != VSAFE_OK) {
            return vsafe_cli_fail(cli, s, "da keygen");
        }
        memcpy(soc_id, info.soc_id, 16);
        soc_class = info.soc_class;
    }
    char *d = da_path(cli, dir, "");
    d[strlen(d) - 1] = '\0';
    if (make_dirs(d) != 0) {
        return vsafe_cli_fail(cli, VSAFE_ERR_IO, "creating the directory %s", d);
    }
    struct stat st;
    if (!force && lstat(da_path(cli, dir, "root.pem"), &st) == 0) {
        /* A root key may be the only way back into a closed device: never replaced silently. */
        return vsafe_cli_fail(cli, VSAFE_ERR_EXISTS, "%s exists: give --force to replace the DA keys",
                              da_path(cli, dir, "root.pem"));
    }
    vsafe_da_key_t *root = NULL, *leaf = NULL;
    uint8_t chain[2][VSAFE_DA_CERT_LEN];
    int s = vsafe_da_key_generate(&root);
    if (s == VSAFE_OK) {
        s = vsafe_da_key_generate(&leaf);
    }
    if (s == VSAFE_OK) {
        s = vsafe_da_cert_make(root, root, VSAFE_DA_ROLE_ROOT, 0, NULL, mask, chain[0]);
    }
    if (s == VSAFE_OK) {
        s = vsafe_da_cert_make(leaf, root, VSAFE_DA_ROLE_LEAF, soc_class, soc_id, mask, chain[1]);
    }
    if (s == VSAFE_OK) {
        s = vsafe_da_key_save(root, da_path(cli, dir, "root.pem"));
    }
    if (s == VSAFE_OK) {
        s = vsafe_da_key_save(leaf, da_path(cli, dir, "leaf.pem"));
    }
    vsafe_da_key_free(root);
    vsafe_da_key_free(leaf);
    if (s == VSAFE_OK) {
        int fd = open(da_path(cli, dir, "chain.bin"), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        s = (fd >= 0 && write(fd, chain, sizeof chain) == (ssize_t)sizeof chain && fsync(fd) == 0) ? VSAFE_OK
                                                                                                  : VSAFE_ERR_IO;
        if (fd >= 0 && close(fd) != 0) {
            s = VSAFE_ERR_IO;
        }
    }
    if (s != VSAFE_OK) {
        return vsafe_cli_fail(cli, s, "da keygen");
    }
    char *mh = vsafe_cli_hex(mask, 16);
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "root_key", json_string(da_path(cli, dir, "root.pem")));
        json_object_set_new(o, "leaf_key", json_string(da_path(cli, dir, "leaf.pem")));
        json_object_set_new(o, "chain", json_string(da_path(cli, dir, "chain.bin")));
        json_object_set_new(o, "mask", json_string(mh));
        json_object_set_new(o, "soc_bound", json_boolean(bind));
        free(mh);
        return vsafe_cli_json_out(cli, o);
    }
    printf("root key   %s\nleaf key   %s\nchain      %s (root, leaf; mask %s%s)\n", da_path(cli, dir, "root.pem"),
           da_path(cli, dir, "leaf.pem"), da_path(cli, dir, "chain.bin"), mh, bind ? ", bound to this SoC" : "");
    free(mh);
    return 0;
}

static int provision(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *root_s = NULL, *mask_s = NULL;
    vsafe_cli_secret_t pw_s = {0};
    int force = 0, done = 0;
    vsafe_cli_opt_t opts[] = {{"root-key", 1, &root_s, NULL, "FILE", "the DA root public or private key (PEM) whose hash is provisioned"}, VSAFE_CLI_SECRET_OPTS_H("password", pw_s, "the DA password"),
                              {"mask", 1, &mask_s, NULL, "HEX", "permission mask the certificates grant / the DA configuration allows (32-bit hex)"},     {"force", 0, NULL, &force, NULL, "replace existing keys, or a DA configuration of a closed device (warns)"},
                              VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t mask[16], cfg[VSAFE_DA_CONFIG_LEN];
    if (parse_mask(cli, mask_s, mask) != 0) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    bool use_pw = vsafe_cli_secret_given(&pw_s);
    if (use_pw && root_s != NULL) {
        return vsafe_cli_usage_error(cli, "give either --password or --root-key");
    }
    char pw[PASSWORD_CAP];
    size_t pw_len = 0;
    if (use_pw && (rc = vsafe_cli_secret_read(cli, "password", &pw_s, pw, sizeof pw, &pw_len)) != 0) {
        return rc;
    }
    vsafe_mcu_t *m;
    if ((rc = vsafe_cli_open_mcu(cli, &m, 0)) != 0) {
        vsafe_wipe(pw, sizeof pw);
        return rc;
    }
    vsafe_mcu_info_t info;
    int s = vsafe_mcu_info(m, &info);
    bool wrong_method = s == VSAFE_OK && use_pw == info.trustzone;
    bool closed = s == VSAFE_OK && (info.state == VSAFE_MCU_STATE_TZ_CLOSED || info.state == VSAFE_MCU_STATE_CLOSED);
    bool replacing = closed && info.da_provisioned;
    if ((wrong_method || replacing) && !cli->json) {
        fprintf(stderr, "vsafe da provision: %s\n", force ? "warning (--force):" : "refused without --force:");
        if (wrong_method) {
            fprintf(stderr, "  - TrustZone is %s: the device only accepts the %s method, so this configuration could "
                            "never be used\n",
                    info.trustzone ? "on" : "off", info.trustzone ? "certificate" : "password");
        }
        if (replacing) {
            fprintf(stderr, "  - the device is %s and already has a debug-authentication configuration: this replaces\n"
                            "    its root of trust; if the new key or password is lost or wrong, nothing can regress\n"
                            "    this device or reopen its debug port\n",
                    vsafe_mcu_state_name(info.state));
        }
    }
    if ((wrong_method || replacing) && !force) {
        vsafe_mcu_close(m);
        vsafe_wipe(pw, sizeof pw);
        return vsafe_cli_fail(cli, VSAFE_ERR_MCU_NEEDS_FORCE, "da provision");
    }
    if (s == VSAFE_OK && use_pw) {
        s = vsafe_da_config_password(pw, cfg);
        vsafe_wipe(pw, sizeof pw);
        if (s != VSAFE_OK) {
            vsafe_mcu_close(m);
            return vsafe_cli_usage_error(cli, "the password must have 4 to 16 characters");
        }
    } else if (s == VSAFE_OK) {
        vsafe_da_key_t *root = NULL;
        uint8_t pub[64];
        s = vsafe_da_key_load(&root, root_s != NULL ? root_s : da_path(cli, NULL, "root.pem"));
        if (s == VSAFE_OK) {
            s = vsafe_da_key_public(root, pub);
        }
        vsafe_da_key_free(root);
        if (s == VSAFE_OK) {
            s = vsafe_da_config_cert(pub, mask, cfg);
        }
    }
    if (s == VSAFE_OK) {
        s = vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL1, 0, cfg, sizeof cfg);
    }
    vsafe_mcu_close(m);
    if (s != VSAFE_OK) {
        return vsafe_cli_fail(cli, s, "da provision (DA config goes to OBK HDPL1: needs HDPL1, not OPEN)");
    }
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "method", json_string(use_pw ? "password" : "certificate"));
        json_object_set_new(o, "provisioned", json_true());
        return vsafe_cli_json_out(cli, o);
    }
    printf("DA configuration (%s) written to OBK HDPL1\n", use_pw ? "password hash" : "root public key hash, mask");
    return 0;
}

static uint32_t rd32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int discover(vsafe_cli_t *cli, vsafe_mcu_t *m)
{
    uint8_t req[8], rsp[512];
    size_t n, rn;
    int s = vsafe_da_frame_begin(VSAFE_DA_CMD_DISCOVERY, req, sizeof req, &n);
    if (s == VSAFE_OK) {
        s = vsafe_mcu_da_request(m, req, n, rsp, sizeof rsp, &rn);
    }
    if (s != VSAFE_OK) {
        return vsafe_cli_fail(cli, s, "da discover");
    }
    static const struct { uint16_t type; const char *name; int hex; } f[] = {
        {0x0002, "soc_class", 0}, {0x0003, "soc_id", 1}, {0x0004, "psa_lifecycle", 0}, {0x0005, "product_mask", 1},
        {0x0006, "provisioned_mask", 1}, {0x000A, "product_state", 0}, {0x000B, "tzen", 0},
        {0x000C, "attempts_left", 0}, {0x8000, "st_provisioned", 0}};
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        const uint8_t *v;
        size_t vl;
        if (vsafe_da_response_tlv(rsp, rn, f[i].type, &v, &vl) != VSAFE_OK) {
            continue;
        }
        if (f[i].hex) {
            char *h = vsafe_cli_hex(v, vl);
            json_object_set_new(o, f[i].name, json_string(h));
            if (!cli->json) {
                printf("%-17s %s\n", f[i].name, h);
            }
            free(h);
        } else {
            json_object_set_new(o, f[i].name, json_integer(rd32le(v)));
            if (!cli->json) {
                printf("%-17s 0x%X\n", f[i].name, rd32le(v));
            }
        }
    }
    json_object_set_new(o, "product_state_name", json_string(vsafe_mcu_state_name(vsafe_mcu_state(m))));
    if (cli->json) {
        return vsafe_cli_json_out(cli, o);
    }
    json_decref(o);
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* regress --full|--partial, open-debug: one authentication with the chain/leaf key or password. */
static int authenticate(vsafe_cli_t *cli, const char *sub, int argc, char **argv)
{
    const char *chain_s = NULL, *key_s = NULL, *dom_s = NULL, *hdpl_s = NULL;
    vsafe_cli_secret_t pw_s = {0};
    int full = 0, partial = 0, done = 0;
    vsafe_cli_opt_t opts[] = {{"full", 0, NULL, &full, NULL, "full regression to OPEN: erases flash, SRAM and OBK"},        {"partial", 0, NULL, &partial, NULL, "partial regression (TrustZone on): erases the non-secure side only"},
                              {"chain", 1, &chain_s, NULL, "FILE", "certificate chain to authenticate with (default: the keygen chain in the device directory)"},    {"key", 1, &key_s, NULL, "FILE", "private key of the chain's leaf certificate (PEM)"},
                              VSAFE_CLI_SECRET_OPTS_H("password", pw_s, "the DA password"), {"domain", 1, &dom_s, NULL, "s|ns", "open-debug: which domain to open, secure (s) or non-secure (ns)"},
                              {"hdpl", 1, &hdpl_s, NULL, "N", "open-debug: the hide protection level at which debug reopens (1..3)"},      VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    unsigned bit;
    bool regress = strcmp(sub, "regress") == 0;
    if (regress) {
        if (full == partial) {
            return vsafe_cli_usage_error(cli, "da regress needs exactly one of --full, --partial");
        }
        bit = full ? VSAFE_DA_PERM_REGRESS_FULL : VSAFE_DA_PERM_REGRESS_PARTIAL;
    } else {
        uint32_t h = 3;
        if (hdpl_s != NULL && vsafe_cli_parse_u32(cli, "--hdpl", hdpl_s, 1, 3, &h) != 0) {
            return VSAFE_CLI_EXIT_USAGE;
        }
        bool secure = dom_s != NULL && (strcmp(dom_s, "s") == 0 || strcmp(dom_s, "secure") == 0);
        if (dom_s != NULL && !secure && strcmp(dom_s, "ns") != 0 && strcmp(dom_s, "non-secure") != 0) {
            return vsafe_cli_usage_error(cli, "--domain must be s or ns");
        }
        bit = (secure ? VSAFE_DA_PERM_DEBUG_S_HDPL1 : VSAFE_DA_PERM_DEBUG_NS_HDPL1) + h - 1u;
    }
    char pw[PASSWORD_CAP];
    size_t pw_len = 0;
    bool use_pw = vsafe_cli_secret_given(&pw_s);
    if (use_pw && (rc = vsafe_cli_secret_read(cli, "password", &pw_s, pw, sizeof pw, &pw_len)) != 0) {
        return rc;
    }
    vsafe_mcu_t *m;
    if ((rc = vsafe_cli_open_mcu(cli, &m, 0)) != 0) {
        vsafe_wipe(pw, sizeof pw);
        return rc;
    }
    vsafe_mcu_state_t before = vsafe_mcu_state(m);
    if (before == VSAFE_MCU_STATE_OPEN) {
        /* Nothing to gain in OPEN (debug is open, there is nothing to regress), and each try
         * would cost one of the device's lifetime attempts. */
        vsafe_mcu_close(m);
        vsafe_wipe(pw, sizeof pw);
        if (!regress) {
            if (cli->json) {
                return vsafe_cli_json_out(cli, json_pack("{s:s, s:s, s:b}", "from", "OPEN", "state", "OPEN", "no_op", 1));
            }
            printf("debug is already open in OPEN: nothing to authenticate (no attempt used)\n");
            return 0;
        }
        return vsafe_cli_fail(cli, VSAFE_ERR_MCU_TRANSITION,
                              "da regress: the MCU is OPEN, there is nothing to regress (no attempt used)");
    }
    double t0 = now_ms();
    int s;
    if (use_pw) {
        s = vsafe_da_authenticate_password(m, pw);
        vsafe_wipe(pw, sizeof pw);
    } else {
        uint8_t chain[4][VSAFE_DA_CERT_LEN];
        const uint8_t *ptr[4];
        size_t n = 0;
        FILE *f = fopen(chain_s != NULL ? chain_s : da_path(cli, NULL, "chain.bin"), "rb");
        if (f != NULL) {
            n = fread(chain, VSAFE_DA_CERT_LEN, 4, f);
            fclose(f);
        }
        vsafe_da_key_t *leaf = NULL;
        s = n >= 1 ? vsafe_da_key_load(&leaf, key_s != NULL ? key_s : da_path(cli, NULL, "leaf.pem")) : VSAFE_ERR_NOT_FOUND;
        if (s == VSAFE_OK) {
            uint8_t perm[16] = {0};
            perm[bit / 8u] = (uint8_t)(1u << (bit % 8u));
            for (size_t i = 0; i < n; i++) {
                ptr[i] = chain[i];
            }
            /* Discovery first, as a debugger would */
            uint8_t req[8], rsp[512];
            size_t rl, rn;
            s = vsafe_da_frame_begin(VSAFE_DA_CMD_DISCOVERY, req, sizeof req, &rl);
            if (s == VSAFE_OK) {
                s = vsafe_mcu_da_request(m, req, rl, rsp, sizeof rsp, &rn);
            }
            if (s == VSAFE_OK) {
                s = vsafe_da_authenticate(m, ptr, n, leaf, perm);
            }
        }
        vsafe_da_key_free(leaf);
    }
    double ms = now_ms() - t0;
    vsafe_mcu_info_t info;
    int si = vsafe_mcu_info(m, &info);
    vsafe_mcu_close(m);
    if (s != VSAFE_OK) {
        return vsafe_cli_fail(cli, s, "da %s (attempts used: %u of %u)", sub, si == VSAFE_OK ? info.da_attempts : 0u,
                              si == VSAFE_OK ? info.da_attempt_limit : 0u);
    }
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "from", json_string(vsafe_mcu_state_name(before)));
        json_object_set_new(o, "state", json_string(vsafe_mcu_state_name(info.state)));
        json_object_set_new(o, "granted_bit", json_integer(bit));
        json_object_set_new(o, "elapsed_ms", json_real(ms));
        return vsafe_cli_json_out(cli, o);
    }
    if (regress) {
        printf("%s regression granted: %s -> %s (device reset; %.2f ms)\n", full ? "full" : "partial",
               vsafe_mcu_state_name(before), vsafe_mcu_state_name(info.state), ms);
    } else {
        printf("debug reopened: %s domain from HDPL%u until the next reset (%.2f ms)\n",
               bit >= VSAFE_DA_PERM_DEBUG_S_HDPL1 ? "secure" : "non-secure",
               bit - (bit >= VSAFE_DA_PERM_DEBUG_S_HDPL1 ? VSAFE_DA_PERM_DEBUG_S_HDPL1 : VSAFE_DA_PERM_DEBUG_NS_HDPL1) + 1u, ms);
    }
    return 0;
}

static int sub_discover(vsafe_cli_t *cli, int argc, char **argv)
{
    int done = 0;
    vsafe_cli_opt_t none[] = {VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, none, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    vsafe_mcu_t *m;
    if ((rc = vsafe_cli_open_mcu(cli, &m, 1)) != 0) {
        return rc;
    }
    rc = discover(cli, m);
    vsafe_mcu_close(m);
    return rc;
}

static int sub_regress(vsafe_cli_t *cli, int argc, char **argv)
{
    return authenticate(cli, "regress", argc, argv);
}

static int sub_open_debug(vsafe_cli_t *cli, int argc, char **argv)
{
    return authenticate(cli, "open-debug", argc, argv);
}

int vsafe_cmd_da(vsafe_cli_t *cli, int argc, char **argv)
{
    static const vsafe_cli_sub_t subs[] = {
        {"keygen", keygen, "da keygen [--out-dir DIR] [--bind] [--mask HEX] [--force]",
         "create a DA root key and certificate chain (and, with --bind, provision it)\n"},
        {"provision", provision, "da provision --root-key F | --password PW [--mask HEX] [--force]",
         "write the DA configuration (root key hash or password) into OBK HDPL1\n"},
        {"discover", sub_discover, "da discover", "what the MCU's debug authentication announces (Discovery)\n"},
        {"regress", sub_regress,
         "da regress --full|--partial [--chain F --key F | --password PW]",
         "authenticate and regress the product state (full: to OPEN; partial: non-secure side)\n"},
        {"open-debug", sub_open_debug, "da open-debug [--domain s|ns] [--hdpl N] [--chain F --key F | --password PW]",
         "authenticate and reopen debug\n"},
    };
    cli->cut_mcu = 1;
    return vsafe_cli_dispatch(cli, argc, argv, subs, sizeof subs / sizeof subs[0], cli->summary, NULL);
}
