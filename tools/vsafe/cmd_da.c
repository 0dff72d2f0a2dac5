/* `vsafe da ...`: debug authentication of the board's MCU, with ST's own file formats.
 * Key material lives in DIR/da/ unless told otherwise, named as in STM32CubeH5's
 * ROT_Provisioning/DA: key_1_root.pem, key_2_intermediate.pem, key_3_leaf.pem (PEM, OpenSSL) and
 * cert_root.b64, cert_intermediate.b64, cert_leaf.b64, cert_leaf_chain.b64 (base64 ADAC
 * certificates, the chain root first). */
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
#include "common/bytes.h"
#include "common/secure.h"

/* The longest DA password (the device takes 4 to 16 characters) plus room to detect a longer one. */
#define PASSWORD_CAP 64u
#define FILE_CAP 65536u

/* Reads a small file whole (ST's artifacts are a few hundred bytes). Caller frees. */
static int slurp(const char *path, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return VSAFE_ERR_NOT_FOUND;
    }
    uint8_t *b = malloc(FILE_CAP + 1u);
    size_t n = 0;
    ssize_t r = 0;
    while (b != NULL && n <= FILE_CAP && (r = read(fd, b + n, FILE_CAP + 1u - n)) > 0) {
        n += (size_t)r;
    }
    close(fd);
    if (b == NULL || r < 0 || n > FILE_CAP) {
        free(b);
        return b == NULL ? VSAFE_ERR_NO_MEMORY : VSAFE_ERR_IO;
    }
    *buf = b;
    *len = n;
    return VSAFE_OK;
}

static void trace_frame(void *ctx, int dir, const uint8_t *f, size_t len)
{
    (void)ctx;
    static const char *const cmds[] = {"?", "Discovery", "Authentication Start", "Authentication Response", "?",
                                       "Resume Boot", "Lock Debug", "Change Life-cycle State"};
    unsigned code = len >= 4u ? (unsigned)(f[2] | (f[3] << 8)) : 0u;
    if (dir == 0) {
        fprintf(stderr, "da >> %s (0x%04X), %zu bytes:", code < 8u ? cmds[code] : "?", code, len);
    } else {
        fprintf(stderr, "da << status 0x%04X, %zu bytes:", code, len);
    }
    for (size_t i = 0; i < len; i++) {
        fprintf(stderr, "%s%02x", i % 32u == 0u ? "\n   " : " ", f[i]);
    }
    fputc('\n', stderr);
}

static void trace_setup(vsafe_cli_t *cli)
{
    if (cli->trace) {
        vsafe_da_set_trace(trace_frame, cli);
    }
}

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
        vsafe_put_le32(mask, VSAFE_DA_PRODUCT_MASK); /* every product permission (ST's 0x00005077) */
        return 0;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) { /* the 32-bit SoC mask, as in ST's XML */
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(s, &end, 16);
        if (errno != 0 || end == s + 2 || *end != '\0' || v > 0xFFFFFFFFul) {
            return vsafe_cli_usage_error(cli, "--mask 0x...: a 32-bit value");
        }
        vsafe_put_le32(mask, (uint32_t)v);
        return 0;
    }
    uint8_t *b;
    size_t n;
    if (vsafe_cli_parse_hex(cli, "--mask", s, &b, &n) != 0) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    if (n == 0 || n > 16) {
        free(b);
        return vsafe_cli_usage_error(cli, "--mask takes 0x followed by a 32-bit value (e.g. 0x00005077), or 1 to 16 "
                                          "bytes of hex (byte 0 holds bits 0..7)");
    }
    memcpy(mask, b, n);
    free(b);
    return 0;
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    int s = (fd >= 0 && write(fd, data, len) == (ssize_t)len && fsync(fd) == 0) ? VSAFE_OK : VSAFE_ERR_IO;
    if (fd >= 0 && close(fd) != 0) {
        s = VSAFE_ERR_IO;
    }
    return s;
}

/* The board MCU's SoC class and ID, from its Discovery (in process or over --connect). Returns 0 or
 * an exit status (printed). */
static int bind_to_board(vsafe_cli_t *cli, uint32_t *soc_class, uint8_t soc_id[16]);

/* A key from FILE when given (private PEM), else a fresh one. */
static int key_from(const char *path, vsafe_da_key_t **k)
{
    return path != NULL ? vsafe_da_key_load(k, path) : vsafe_da_key_generate(k);
}

static int keygen(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *dir = NULL, *mask_s = NULL, *root_s = NULL, *inter_s = NULL, *leaf_s = NULL;
    int bind = 0, done = 0, force = 0;
    vsafe_cli_opt_t opts[] = {
        {"out-dir", 1, &dir, NULL, "DIR", "where the keys and certificates go (created 0700; default: DIR/da of the device)"},
        {"mask", 1, &mask_s, NULL, "HEX", "permission mask of the certificates: 0x + the 32-bit SoC mask (default 0x00005077) or hex bytes"},
        {"bind", 0, NULL, &bind, NULL, "bind the leaf certificate to this MCU's SoC class and ID"},
        {"force", 0, NULL, &force, NULL, "replace existing DA keys"},
        {"root-key", 1, &root_s, NULL, "FILE", "use this root private key (PEM) instead of a fresh one"},
        {"intermediate-key", 1, &inter_s, NULL, "FILE", "use this intermediate private key (PEM) instead of a fresh one"},
        {"leaf-key", 1, &leaf_s, NULL, "FILE", "use this leaf private key (PEM) instead of a fresh one"},
        VSAFE_CLI_OPT_END};
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
    if (bind && (rc = bind_to_board(cli, &soc_class, soc_id)) != 0) {
        return rc;
    }
    char *d = da_path(cli, dir, "");
    d[strlen(d) - 1] = '\0';
    if (make_dirs(d) != 0) {
        return vsafe_cli_fail(cli, VSAFE_ERR_IO, "creating the directory %s", d);
    }
    static const char *const key_names[3] = {"key_1_root.pem", "key_2_intermediate.pem", "key_3_leaf.pem"};
    static const char *const cert_names[3] = {"cert_root.b64", "cert_intermediate.b64", "cert_leaf.b64"};
    struct stat st;
    if (!force && lstat(da_path(cli, dir, key_names[0]), &st) == 0) {
        /* A root key may be the only way back into a closed device: never replaced silently. */
        return vsafe_cli_fail(cli, VSAFE_ERR_EXISTS, "%s exists: give --force to replace the DA keys",
                              da_path(cli, dir, key_names[0]));
    }
    vsafe_da_key_t *k[3] = {NULL, NULL, NULL};
    const char *given[3] = {root_s, inter_s, leaf_s};
    uint8_t chain[3][VSAFE_DA_CERT_LEN];
    int s = VSAFE_OK;
    for (int i = 0; i < 3 && s == VSAFE_OK; i++) {
        s = key_from(given[i], &k[i]);
    }
    /* Root (self-signed, any SoC), intermediate (by the root), leaf (by the intermediate; bound
     * to this SoC with --bind), all with the same mask, as ST's sample chain. */
    if (s == VSAFE_OK) {
        s = vsafe_da_cert_make(k[0], k[0], VSAFE_DA_ROLE_ROOT, 0, NULL, mask, chain[0]);
    }
    if (s == VSAFE_OK) {
        s = vsafe_da_cert_make(k[1], k[0], VSAFE_DA_ROLE_INTERMEDIATE, 0, NULL, mask, chain[1]);
    }
    if (s == VSAFE_OK) {
        s = vsafe_da_cert_make(k[2], k[1], VSAFE_DA_ROLE_LEAF, soc_class, soc_id, mask, chain[2]);
    }
    for (int i = 0; i < 3 && s == VSAFE_OK; i++) {
        s = vsafe_da_key_save(k[i], da_path(cli, dir, key_names[i]));
    }
    char b64[1400];
    size_t bl = 0;
    for (int i = 0; i < 3 && s == VSAFE_OK; i++) {
        s = vsafe_da_chain_to_b64(&chain[i], 1, b64, sizeof b64, &bl);
        if (s == VSAFE_OK) {
            s = write_file(da_path(cli, dir, cert_names[i]), b64, bl, 0644);
        }
    }
    if (s == VSAFE_OK) {
        s = vsafe_da_chain_to_b64((const uint8_t(*)[VSAFE_DA_CERT_LEN])chain, 2, b64, sizeof b64, &bl);
    }
    if (s == VSAFE_OK) {
        s = write_file(da_path(cli, dir, "cert_intermediate_chain.b64"), b64, bl, 0644);
    }
    if (s == VSAFE_OK) {
        s = vsafe_da_chain_to_b64((const uint8_t(*)[VSAFE_DA_CERT_LEN])chain, 3, b64, sizeof b64, &bl);
    }
    if (s == VSAFE_OK) {
        s = write_file(da_path(cli, dir, "cert_leaf_chain.b64"), b64, bl, 0644);
    }
    for (int i = 0; i < 3; i++) {
        vsafe_da_key_free(k[i]);
    }
    if (s != VSAFE_OK) {
        return vsafe_cli_fail(cli, s, "da keygen");
    }
    uint32_t m32 = vsafe_get_le32(mask);
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "root_key", json_string(da_path(cli, dir, key_names[0])));
        json_object_set_new(o, "intermediate_key", json_string(da_path(cli, dir, key_names[1])));
        json_object_set_new(o, "leaf_key", json_string(da_path(cli, dir, key_names[2])));
        json_object_set_new(o, "chain", json_string(da_path(cli, dir, "cert_leaf_chain.b64")));
        json_object_set_new(o, "mask", json_integer(m32));
        json_object_set_new(o, "soc_bound", json_boolean(bind));
        return vsafe_cli_json_out(cli, json_pack("{s:o}", "da_keygen", o));
    }
    printf("root key          %s%s\n", da_path(cli, dir, key_names[0]), root_s != NULL ? " (given)" : "");
    printf("intermediate key  %s%s\n", da_path(cli, dir, key_names[1]), inter_s != NULL ? " (given)" : "");
    printf("leaf key          %s%s\n", da_path(cli, dir, key_names[2]), leaf_s != NULL ? " (given)" : "");
    printf("chain             %s (root, intermediate, leaf; mask 0x%08X%s)\n", da_path(cli, dir, "cert_leaf_chain.b64"),
           m32, bind ? ", leaf bound to this SoC" : "");
    return 0;
}

/* STM32H503: the password hash goes to OTP, once (vsafe_mcu_otp_provision_password). hash_file is
 * ST's board_password.bin (the 32-byte hash) or NULL for the password given. */
static int provision_otp(vsafe_cli_t *cli, vsafe_mcu_t *m, const char *hash_file, const char *pw, size_t pw_len)
{
    uint8_t hash[32];
    int s = VSAFE_OK;
    if (hash_file != NULL) {
        uint8_t *f = NULL;
        size_t n = 0;
        s = slurp(hash_file, &f, &n);
        if (s == VSAFE_OK && n != sizeof hash) {
            s = VSAFE_ERR_PARSE;
        }
        if (s == VSAFE_OK) {
            memcpy(hash, f, sizeof hash);
        }
        free(f);
        if (s != VSAFE_OK) {
            return vsafe_cli_fail(cli, s, "da provision --otp %s (ST's board_password.bin: the 32-byte SHA-256 of the "
                                  "password)", hash_file);
        }
    } else if ((s = vsafe_da_password_hash((const uint8_t *)pw, pw_len, hash)) != VSAFE_OK) {
        return vsafe_cli_usage_error(cli, "the password must have 4 to 16 characters");
    }
    s = vsafe_mcu_otp_provision_password(m, hash);
    vsafe_mcu_state_t now = vsafe_mcu_state(m);
    if (s != VSAFE_OK) {
        return vsafe_cli_fail(cli, s, s == VSAFE_ERR_STATE ? "da provision (the STM32H503 takes its DA password hash "
                                                             "into OTP in OPEN or PROVISIONING; the state is %s)"
                                                           : "da provision (STM32H503 OTP; the state is %s)",
                              vsafe_mcu_state_name(now));
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:s, s:s, s:b}}", "da_provision", "method", "password", "where",
                                                 "OTP", "da_provisioned", 1));
    }
    printf("DA password hash written to OTP (STM32H503: once; it survives every regression)\n");
    return 0;
}

static int provision(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *root_s = NULL, *mask_s = NULL, *obk_s = NULL, *otp_s = NULL;
    vsafe_cli_secret_t pw_s = {0};
    int force = 0, done = 0;
    vsafe_cli_opt_t opts[] = {
        {"obk", 1, &obk_s, NULL, "FILE", "an ST .obk file (e.g. DA_Config.obk): header and payload, written at its OBK address"},
        {"otp", 1, &otp_s, NULL, "FILE", "STM32H503: ST's board_password.bin (SHA-256 of the password) into OTP, once"},
        {"root-key", 1, &root_s, NULL, "FILE", "the DA root public or private key (PEM) whose hash is provisioned"},
        VSAFE_CLI_SECRET_OPTS_H("password", pw_s, "the DA password"),
        {"mask", 1, &mask_s, NULL, "HEX", "permission mask the DA configuration allows: 0x + 32-bit value (default 0x00005077) or hex bytes"},
        {"force", 0, NULL, &force, NULL, "replace a DA configuration of a closed device, or use the wrong method (warns)"},
        VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    if (cli->connect != NULL) {
        /* Refused, never run on a local DIR by surprise. */
        return vsafe_cli_usage_error(cli, "da provision writes the MCU's option-byte keys and cannot go through "
                                          "--connect (the server carries the secure element and the MCU's DA mailbox "
                                          "only): run it on the board's directory before serving it");
    }
    uint8_t mask[16], cfg[VSAFE_DA_CONFIG_LEN];
    if (parse_mask(cli, mask_s, mask) != 0) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    bool use_pw = vsafe_cli_secret_given(&pw_s);
    if ((use_pw && root_s != NULL) || (obk_s != NULL && (use_pw || root_s != NULL || mask_s != NULL)) ||
        (otp_s != NULL && (use_pw || root_s != NULL || mask_s != NULL || obk_s != NULL))) {
        return vsafe_cli_usage_error(cli, "give one of --obk FILE, --otp FILE, --password, --root-key");
    }
    /* ST's .obk (DA_Config.obk, DA_ConfigWithPassword.obk): header, then the payload as it goes
     * to OBK. Its method is read from the payload: a password configuration carries SHA-256 of
     * a password, which cannot be told from a key hash, so it is judged by what TrustZone takes. */
    uint8_t *obk = NULL;
    size_t obk_len = 0, payload_len = 0;
    const uint8_t *payload = NULL;
    vsafe_mcu_obk_t obk_area = VSAFE_MCU_OBK_HDPL1;
    uint32_t obk_off = 0;
    bool obk_encrypt = false;
    if (obk_s != NULL) {
        int ls = slurp(obk_s, &obk, &obk_len);
        if (ls == VSAFE_OK) {
            ls = vsafe_da_obk_parse(obk, obk_len, &obk_area, &obk_off, &payload, &payload_len, &obk_encrypt);
        }
        if (ls != VSAFE_OK) {
            free(obk);
            return vsafe_cli_fail(cli, ls, "da provision --obk %s (an ST .obk file: u32 address, u32 length, u32 "
                                  "encryption flag, payload)", obk_s);
        }
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
    if (s == VSAFE_OK && (info.soc_class == VSAFE_MCU_DEVID_H503 || otp_s != NULL)) {
        if (info.soc_class != VSAFE_MCU_DEVID_H503) {
            s = VSAFE_ERR_UNSUPPORTED;
            rc = vsafe_cli_fail(cli, s, "da provision --otp: only an STM32H503 keeps its DA password in OTP; this %s "
                                "takes it in OBK HDPL1 (--password, --obk)", vsafe_mcu_part_name(info.soc_class));
        } else if (!use_pw && otp_s == NULL) {
            rc = vsafe_cli_fail(cli, VSAFE_ERR_MCU_NO_OBK, "da provision: an STM32H503 has no OBK and only the password "
                                                           "method: give --password or --otp board_password.bin");
        } else {
            rc = provision_otp(cli, m, otp_s, pw, pw_len);
        }
        vsafe_mcu_close(m);
        vsafe_wipe(pw, sizeof pw);
        free(obk);
        return rc;
    }
    bool wrong_method = s == VSAFE_OK && obk_s == NULL && use_pw == info.trustzone;
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
        free(obk);
        return vsafe_cli_fail(cli, VSAFE_ERR_MCU_NEEDS_FORCE, "da provision");
    }
    if (s == VSAFE_OK && obk_s != NULL) {
        s = vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, obk_area, obk_off, payload, payload_len);
        vsafe_mcu_info_t after;
        bool valid = s == VSAFE_OK && vsafe_mcu_info(m, &after) == VSAFE_OK && after.da_provisioned;
        vsafe_mcu_close(m);
        free(obk);
        if (s != VSAFE_OK) {
            return vsafe_cli_fail(cli, s, "da provision --obk (OBK %s: needs HDPL1 and a state past OPEN)",
                                  vsafe_mcu_obk_name(obk_area));
        }
        if (cli->json) {
            return vsafe_cli_json_out(cli, json_pack("{s:{s:s, s:s, s:i, s:i, s:b, s:b}}", "da_provision", "method", "obk",
                                                     "area", vsafe_mcu_obk_name(obk_area), "offset", (int)obk_off,
                                                     "length", (int)payload_len, "encrypt", obk_encrypt,
                                                     "da_provisioned", valid));
        }
        printf("%zu bytes written to OBK %s + 0x%X (ST .obk, encryption flag %d)%s\n", payload_len,
               vsafe_mcu_obk_name(obk_area), obk_off, obk_encrypt ? 1 : 0,
               obk_area == VSAFE_MCU_OBK_HDPL1 && obk_off == 0u
                   ? (valid ? "; DA configuration valid" : "; warning: not a valid DA configuration (its hash does not match)")
                   : "");
        return 0;
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
        s = vsafe_da_key_load_public(&root, root_s != NULL ? root_s : da_path(cli, NULL, "key_1_root.pem"));
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
    vsafe_mcu_state_t state_now = vsafe_mcu_state(m);
    vsafe_mcu_info_t after;
    bool valid = s == VSAFE_OK && vsafe_mcu_info(m, &after) == VSAFE_OK && after.da_provisioned;
    vsafe_mcu_close(m);
    if (s != VSAFE_OK) {
        return vsafe_cli_fail(cli, s, "da provision (the DA configuration goes to OBK HDPL1: it needs the product "
                                      "state PROVISIONING or later at HDPL1; the state is %s)",
                              vsafe_mcu_state_name(state_now));
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:s, s:s, s:i, s:i, s:b, s:b}}", "da_provision", "method",
                                                 use_pw ? "password" : "certificate", "area",
                                                 vsafe_mcu_obk_name(VSAFE_MCU_OBK_HDPL1), "offset", 0, "length",
                                                 (int)sizeof cfg, "encrypt", 0, "da_provisioned", valid));
    }
    printf("DA configuration (%s) written to OBK HDPL1\n", use_pw ? "password hash" : "root public key hash, mask");
    return 0;
}

/* ---- The DA mailbox, in process or over --connect ----
 * discover, regress, open-debug, close-debug and keygen --bind talk to the MCU only through a link
 * (vsafe_da_link_t): the board's MCU opened here from DIR/mcu.nvm, or the served board's MCU over
 * the socket (DA_EXCHANGE). Everything they print comes from the frames the MCU answers (a
 * Discovery before, and after, an authentication), so the output is the same either way. */
typedef struct {
    vsafe_da_link_t link;
    vsafe_mcu_t *mcu; /* opened here; NULL over --connect (the connection is cli->conn) */
} da_target_t;

static int target_open(vsafe_cli_t *cli, da_target_t *t, int read_only)
{
    memset(t, 0, sizeof *t);
    int rc;
    if (cli->connect != NULL) {
        rc = cli->conn != NULL ? 0 : vsafe_cli_connect(cli);
        t->link.conn = cli->conn;
    } else {
        rc = vsafe_cli_open_mcu(cli, &t->mcu, read_only);
        t->link.mcu = t->mcu;
    }
    trace_setup(cli);
    return rc;
}

static void target_close(da_target_t *t)
{
    vsafe_mcu_close(t->mcu);
    t->mcu = NULL;
    t->link.mcu = NULL;
}

/* A failed exchange. rsp_len 0: no MCU answered; over the socket the server says why, and a served
 * board without DIR/mcu.nvm is NO_MCU, as a query on a directory without one is. */
static int target_fail(vsafe_cli_t *cli, const da_target_t *t, int s, size_t rsp_len, const char *what)
{
    if (rsp_len == 0u && t->link.conn != NULL && s == VSAFE_ERR_NOT_FOUND) {
        return vsafe_cli_fail_named(cli, "NO_MCU", "%s: the served board has no MCU (%s)", what, t->link.why);
    }
    if (rsp_len == 0u && t->link.why[0] != '\0') {
        return vsafe_cli_fail(cli, s, "%s (server: %s)", what, t->link.why);
    }
    return vsafe_cli_fail(cli, s, "%s", what);
}

/* A Discovery TLV of at most 4 bytes as an unsigned little-endian number. */
static int tlv_u32(const uint8_t *rsp, size_t rn, uint16_t type, uint32_t *x)
{
    const uint8_t *v;
    size_t vl;
    int s = vsafe_da_response_tlv(rsp, rn, type, &v, &vl);
    if (s != VSAFE_OK || vl == 0u || vl > 4u) {
        return s != VSAFE_OK ? s : VSAFE_ERR_PARSE;
    }
    *x = 0;
    for (size_t j = vl; j-- > 0;) {
        *x = *x << 8 | v[j];
    }
    return VSAFE_OK;
}

static int tlv_bytes(const uint8_t *rsp, size_t rn, uint16_t type, uint8_t *out, size_t len)
{
    const uint8_t *v;
    size_t vl;
    int s = vsafe_da_response_tlv(rsp, rn, type, &v, &vl);
    if (s == VSAFE_OK && vl != len) {
        s = VSAFE_ERR_PARSE;
    }
    if (s == VSAFE_OK) {
        memcpy(out, v, len);
    }
    return s;
}

/* What the CLI needs to know of the MCU, as its Discovery response says it. */
typedef struct {
    uint32_t state, tzen, attempts_left, soc_class;
    uint8_t soc_id[16], grant[16];
} da_facts_t;

/* Sends Discovery; rsp[cap] gets the response (*rn its length, 0 when no MCU answered). */
static int target_discover(da_target_t *t, uint8_t *rsp, size_t cap, size_t *rn, da_facts_t *f)
{
    uint8_t req[8];
    size_t n;
    *rn = 0;
    int s = vsafe_da_frame_begin(VSAFE_DA_CMD_DISCOVERY, req, sizeof req, &n);
    if (s == VSAFE_OK) {
        s = vsafe_da_link_exchange(&t->link, req, n, rsp, cap, rn);
    }
    if (s == VSAFE_OK && f != NULL) {
        int p = tlv_u32(rsp, *rn, VSAFE_DA_TLV_PRODUCT_STATE, &f->state);
        if (p == VSAFE_OK) {
            p = tlv_u32(rsp, *rn, VSAFE_DA_TLV_TZEN, &f->tzen);
        }
        if (p == VSAFE_OK) {
            p = tlv_u32(rsp, *rn, VSAFE_DA_TLV_ATTEMPTS_LEFT, &f->attempts_left);
        }
        if (p == VSAFE_OK) {
            p = tlv_u32(rsp, *rn, VSAFE_DA_TLV_SOC_CLASS, &f->soc_class);
        }
        if (p == VSAFE_OK) {
            p = tlv_bytes(rsp, *rn, VSAFE_DA_TLV_SOC_ID, f->soc_id, 16);
        }
        if (p == VSAFE_OK) {
            p = tlv_bytes(rsp, *rn, VSAFE_DA_TLV_DEBUG_GRANT, f->grant, 16);
        }
        s = p != VSAFE_OK ? VSAFE_ERR_PARSE : s; /* not this MCU model's Discovery */
    }
    return s;
}

static int bind_to_board(vsafe_cli_t *cli, uint32_t *soc_class, uint8_t soc_id[16])
{
    da_target_t t;
    int rc = target_open(cli, &t, 1);
    if (rc == 0) {
        uint8_t rsp[512];
        size_t rn = 0;
        da_facts_t f;
        int s = target_discover(&t, rsp, sizeof rsp, &rn, &f);
        if (s != VSAFE_OK) {
            rc = target_fail(cli, &t, s, rn, "da keygen --bind: Discovery");
        } else {
            *soc_class = f.soc_class;
            memcpy(soc_id, f.soc_id, 16);
        }
    }
    target_close(&t);
    return rc;
}

/* A subcommand without options: parses them (--help included: *done), then opens the target.
 * Returns 0 with t open, or an exit status (t then closed). */
static int open_no_options(vsafe_cli_t *cli, int argc, char **argv, da_target_t *t, int read_only, int *done)
{
    vsafe_cli_opt_t none[] = {VSAFE_CLI_OPT_END};
    memset(t, 0, sizeof *t);
    int rc = vsafe_cli_parse(cli, argc, argv, none, NULL, 0, 0, NULL, done);
    if (rc != 0 || *done) {
        return rc;
    }
    if ((rc = target_open(cli, t, read_only)) != 0) {
        target_close(t);
    }
    return rc;
}

static const char *state_name(uint32_t code) { return vsafe_mcu_state_name((vsafe_mcu_state_t)code); }

static int sub_discover(vsafe_cli_t *cli, int argc, char **argv)
{
    int done = 0;
    da_target_t t;
    int rc = open_no_options(cli, argc, argv, &t, 1, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t rsp[512];
    size_t rn = 0;
    da_facts_t facts;
    int s = target_discover(&t, rsp, sizeof rsp, &rn, &facts);
    if (s != VSAFE_OK) {
        rc = target_fail(cli, &t, s, rn, "da discover");
        target_close(&t);
        return rc;
    }
    target_close(&t);
    /* kind: 0 = unsigned little-endian number (printed in hex: codes and flags), 1 = hex bytes,
     * 2 = a count (printed in decimal) */
    static const struct {
        uint16_t type;
        const char *name;
        int hex;
    } f[] = {{VSAFE_DA_TLV_AUTH_VERSION, "adac_version", 1},     {VSAFE_DA_TLV_VENDOR_ID, "vendor_id", 0},
             {VSAFE_DA_TLV_SOC_CLASS, "soc_class", 0},           {VSAFE_DA_TLV_SOC_ID, "soc_id", 1},
             {VSAFE_DA_TLV_HW_PERMISSIONS_MASK, "product_mask", 1}, {VSAFE_DA_TLV_PSA_LIFECYCLE, "psa_lifecycle", 0},
             {VSAFE_DA_TLV_TOKEN_FORMATS, "token_formats", 0},   {VSAFE_DA_TLV_CERT_FORMATS, "cert_formats", 0},
             {VSAFE_DA_TLV_CRYPTOSYSTEMS, "cryptosystems", 1},   {VSAFE_DA_TLV_ST_PROVISIONED, "st_provisioned", 0},
             {VSAFE_DA_TLV_PROVISIONED_MASK, "provisioned_mask", 1}, {VSAFE_DA_TLV_PRODUCT_STATE, "product_state", 0},
             {VSAFE_DA_TLV_TZEN, "tzen", 0},                     {VSAFE_DA_TLV_ATTEMPTS_LEFT, "attempts_left", 2},
             {VSAFE_DA_TLV_DEBUG_GRANT, "debug_grant", 1}};
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        const uint8_t *v;
        size_t vl;
        if (vsafe_da_response_tlv(rsp, rn, f[i].type, &v, &vl) != VSAFE_OK) {
            continue;
        }
        if (f[i].hex == 1 || vl > 4u) {
            char *h = vsafe_cli_hex(v, vl);
            json_object_set_new(o, f[i].name, json_string(h));
            if (!cli->json) {
                printf("%-17s %s\n", f[i].name, h);
            }
            free(h);
        } else {
            uint32_t x = 0;
            for (size_t j = vl; j-- > 0;) {
                x = x << 8 | v[j];
            }
            json_object_set_new(o, f[i].name, json_integer(x));
            if (!cli->json) {
                printf(f[i].hex == 2 ? "%-17s %u\n" : "%-17s 0x%X\n", f[i].name, x);
            }
        }
    }
    json_object_set_new(o, "product_state_name", json_string(state_name(facts.state)));
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:o}", "da_discover", o));
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

/* The chain from a .b64 file (ST's cert_leaf_chain.b64 or what da keygen writes). */
static int load_chain(const char *path, uint8_t (*chain)[VSAFE_DA_CERT_LEN], size_t max, size_t *n)
{
    uint8_t *text;
    size_t len;
    int s = slurp(path, &text, &len);
    if (s == VSAFE_OK) {
        s = vsafe_da_chain_parse_b64((const char *)text, len, chain, max, n);
        free(text);
    }
    return s;
}

/* Which states a regression starts from (what the MCU grants, src/mcu: T7 full, T8 partial). */
#define FULL_FROM "PROVISIONING, iROT_PROVISIONED, TZ_CLOSED or CLOSED"
#define PARTIAL_FROM "CLOSED with TrustZone on"

/* regress --full|--partial, open-debug: one authentication with the chain/leaf key or password. */
static int authenticate(vsafe_cli_t *cli, const char *sub, int argc, char **argv)
{
    const char *chain_s = NULL, *key_s = NULL, *dom_s = NULL, *hdpl_s = NULL, *per_s = NULL;
    vsafe_cli_secret_t pw_s = {0};
    int full = 0, partial = 0, done = 0;
    bool regress = strcmp(sub, "regress") == 0;
    /* One parser, two option sets: regress takes --full|--partial, open-debug --domain and --hdpl. */
    const vsafe_cli_opt_t only_regress[] = {
        {"full", 0, NULL, &full, NULL, "full regression to OPEN: erases flash, SRAM and OBK"},
        {"partial", 0, NULL, &partial, NULL, "partial regression (CLOSED, TrustZone on, to TZ_CLOSED): erases the non-secure side only"},
        {"per", 1, &per_s, NULL, "a|b", "CubeProgrammer's permission letter instead: a full, b partial regression"}};
    const vsafe_cli_opt_t only_open[] = {
        {"domain", 1, &dom_s, NULL, "s|ns", "which domain to open, secure (s) or non-secure (ns, the default)"},
        {"hdpl", 1, &hdpl_s, NULL, "N", "the HDPL at which debug opens (DBG_AUTH_HDPL, 1..3; default 3)"},
        {"per", 1, &per_s, NULL, "c..h", "CubeProgrammer's permission letter instead: c..e secure debug at HDPL1..3, f..h non-secure"}};
    const vsafe_cli_opt_t common[] = {
        {"chain", 1, &chain_s, NULL, "FILE", "certificate chain, base64 ADAC certificates as ST's cert_leaf_chain.b64 (default: DIR/da/cert_leaf_chain.b64)"},
        {"key", 1, &key_s, NULL, "FILE", "private key of the chain's leaf certificate (PEM; default DIR/da/key_3_leaf.pem)"},
        VSAFE_CLI_SECRET_OPTS_H("password", pw_s, "the DA password, for a full regression only (--password-file also takes ST's password.bin)"),
        VSAFE_CLI_OPT_END};
    vsafe_cli_opt_t opts[sizeof only_regress / sizeof only_regress[0] + sizeof common / sizeof common[0]];
    _Static_assert(sizeof only_regress == sizeof only_open, "both option sets fill opts");
    memcpy(opts, regress ? only_regress : only_open, sizeof only_regress);
    memcpy(opts + sizeof only_regress / sizeof only_regress[0], common, sizeof common);
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    int bit;
    if (per_s != NULL) {
        bit = per_s[0] != '\0' && per_s[1] == '\0' ? vsafe_da_per_bit(per_s[0]) : -1;
        if (bit < 0 || full || partial || dom_s != NULL || hdpl_s != NULL) {
            return vsafe_cli_usage_error(cli, "--per takes one of CubeProgrammer's letters a..h, alone (a full "
                                              "regression, b partial, c..e secure debug at HDPL1..3, f..h "
                                              "non-secure debug at HDPL1..3)");
        }
        bool is_regress = bit == VSAFE_DA_PERM_REGRESS_FULL || bit == VSAFE_DA_PERM_REGRESS_PARTIAL;
        if (is_regress != regress) {
            return vsafe_cli_usage_error(cli, "--per %s is %s: use da %s", per_s, is_regress ? "a regression" : "a debug opening",
                                         is_regress ? "regress" : "open-debug");
        }
    } else if (regress) {
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
        bit = (int)((secure ? VSAFE_DA_PERM_DEBUG_S_HDPL1 : VSAFE_DA_PERM_DEBUG_NS_HDPL1) + h - 1u);
    }
    /* The credential, read before anything is sent: ST's password.bin (an ADAC TLV) by
     * --password-file, the other secret forms, or the chain and the leaf key. */
    uint8_t pw[PASSWORD_CAP];
    size_t pw_len = 0;
    bool use_pw = vsafe_cli_secret_given(&pw_s);
    if (use_pw && bit != VSAFE_DA_PERM_REGRESS_FULL) {
        /* A password grants nothing but a full regression: sent for anything else, it would
         * erase the device. */
        return vsafe_cli_usage_error(cli, "da %s: the password method grants a full regression only (da regress "
                                          "--full); a partial regression or a debug opening needs --chain and --key",
                                     sub);
    }
    if (use_pw && pw_s.file != NULL && pw_s.value == NULL && pw_s.fd == NULL && pw_s.env == NULL) {
        uint8_t *f;
        size_t fl;
        const uint8_t *p;
        int ls = slurp(pw_s.file, &f, &fl);
        if (ls != VSAFE_OK) {
            return vsafe_cli_fail(cli, ls, "--password-file: cannot read '%s'", pw_s.file);
        }
        if (vsafe_da_password_file_parse(f, fl, &p, &pw_len) == VSAFE_OK) {
            memcpy(pw, p, pw_len);
        } else {
            /* a plain text file: the password, one trailing newline dropped */
            pw_len = fl;
            if (pw_len > 0 && f[pw_len - 1] == '\n') {
                pw_len--;
            }
            if (pw_len > 0 && f[pw_len - 1] == '\r') {
                pw_len--;
            }
            if (pw_len > 16u || memchr(f, 0, pw_len) != NULL) {
                vsafe_wipe(f, fl);
                free(f);
                return vsafe_cli_usage_error(cli, "--password-file: neither ST's password.bin nor a text password "
                                                  "of at most 16 characters");
            }
            memcpy(pw, f, pw_len);
        }
        vsafe_wipe(f, fl);
        free(f);
    } else if (use_pw && (rc = vsafe_cli_secret_read(cli, "password", &pw_s, (char *)pw, sizeof pw, &pw_len)) != 0) {
        return rc;
    }
    uint8_t chain[4][VSAFE_DA_CERT_LEN];
    size_t n = 0;
    vsafe_da_key_t *leaf = NULL;
    if (!use_pw) {
        const char *cp = chain_s != NULL ? chain_s : da_path(cli, NULL, "cert_leaf_chain.b64");
        int s = load_chain(cp, chain, 4, &n);
        if (s == VSAFE_ERR_NOT_FOUND && chain_s == NULL) {
            /* No credential given and none from da keygen: say what the command needs. */
            return vsafe_cli_fail_hint(cli, s,
                                       "give --password PW or --password-file F for a password DA configuration, or "
                                       "--chain F --key F for a certificate one, as da keygen writes them to DIR/da",
                                       "da %s: no credential: no --password, no --chain, and no %s; nothing was sent",
                                       sub, cp);
        }
        if (s != VSAFE_OK) {
            return vsafe_cli_fail(cli, s, "da %s: reading the certificate chain %s (base64 ADAC certificates, as ST's "
                                  "cert_leaf_chain.b64; nothing was sent)", sub, cp);
        }
        const char *kp = key_s != NULL ? key_s : da_path(cli, NULL, "key_3_leaf.pem");
        s = vsafe_da_key_load(&leaf, kp);
        if (s != VSAFE_OK) {
            return vsafe_cli_fail(cli, s, "da %s: reading the leaf key %s (nothing was sent)", sub, kp);
        }
    }
    da_target_t t;
    if ((rc = target_open(cli, &t, 0)) != 0) {
        target_close(&t);
        vsafe_wipe(pw, sizeof pw);
        vsafe_da_key_free(leaf);
        return rc;
    }
    /* Discovery first, as a debugger does: the state it reports decides whether to go on. */
    uint8_t drsp[512];
    size_t dn = 0;
    da_facts_t before, after;
    int s = target_discover(&t, drsp, sizeof drsp, &dn, &before);
    char what[320];
    const char *refusal = NULL;
    if (s != VSAFE_OK) {
        snprintf(what, sizeof what, "da %s: Discovery", sub);
        refusal = what;
    } else if (before.state == VSAFE_MCU_STATE_OPEN) {
        /* Nothing to gain in OPEN (debug is open, there is nothing to regress), and each try
         * would cost one of the device's lifetime attempts. */
        if (!regress) {
            target_close(&t);
            vsafe_wipe(pw, sizeof pw);
            vsafe_da_key_free(leaf);
            if (cli->json) {
                return vsafe_cli_json_out(cli, json_pack("{s:{s:s, s:s, s:b}}", "da_open_debug", "from", "OPEN", "state",
                                                         "OPEN", "no_op", 1));
            }
            printf("debug is already open in OPEN: nothing to authenticate (no attempt used)\n");
            return 0;
        }
        s = VSAFE_ERR_MCU_TRANSITION;
        snprintf(what, sizeof what, "da regress: the product is OPEN, there is nothing to regress: a full regression "
                                    "needs " FULL_FROM ", a partial one " PARTIAL_FROM " (no attempt used)");
        refusal = what;
    } else if (bit == VSAFE_DA_PERM_REGRESS_PARTIAL &&
               (before.state != VSAFE_MCU_STATE_CLOSED || before.tzen != VSAFE_MCU_TZEN_ON)) {
        s = VSAFE_ERR_MCU_TRANSITION;
        snprintf(what, sizeof what, "da regress: a partial regression needs " PARTIAL_FROM "; the product is %s with "
                                    "TrustZone %s (no attempt used; --full regresses to OPEN)",
                 state_name(before.state), before.tzen == VSAFE_MCU_TZEN_ON ? "on" : "off");
        refusal = what;
    }
    if (refusal != NULL) {
        rc = target_fail(cli, &t, s, dn, refusal);
        target_close(&t);
        vsafe_wipe(pw, sizeof pw);
        vsafe_da_key_free(leaf);
        return rc;
    }
    double t0 = now_ms();
    if (use_pw) {
        s = vsafe_da_link_authenticate_password(&t.link, pw, pw_len);
    } else {
        uint8_t perm[16] = {0};
        const uint8_t *ptr[4];
        perm[bit / 8] = (uint8_t)(1u << (bit % 8));
        for (size_t i = 0; i < n; i++) {
            ptr[i] = chain[i];
        }
        s = vsafe_da_link_authenticate(&t.link, ptr, n, leaf, perm);
    }
    double ms = now_ms() - t0;
    vsafe_wipe(pw, sizeof pw);
    vsafe_da_key_free(leaf);
    bool transport_failed = t.link.why[0] != '\0';
    char why[sizeof t.link.why];
    memcpy(why, t.link.why, sizeof why);
    /* Discovery again: the state the exchange left and the attempts that remain. */
    int sa = transport_failed ? s : target_discover(&t, drsp, sizeof drsp, &dn, &after);
    target_close(&t);
    if (s != VSAFE_OK) {
        char left[64] = "";
        if (sa == VSAFE_OK) {
            snprintf(left, sizeof left, " (attempts left: %u)", after.attempts_left);
        }
        if (transport_failed) {
            return vsafe_cli_fail(cli, s, "da %s (server: %s)", sub, why);
        }
        if (s == VSAFE_ERR_MCU_TRANSITION) {
            return vsafe_cli_fail(cli, s, "da %s: authenticated, but %s needs %s; the product is %s%s", sub,
                                  bit == VSAFE_DA_PERM_REGRESS_PARTIAL ? "a partial regression" : "a full regression",
                                  bit == VSAFE_DA_PERM_REGRESS_PARTIAL ? PARTIAL_FROM : FULL_FROM,
                                  state_name(sa == VSAFE_OK ? after.state : before.state), left);
        }
        return vsafe_cli_fail(cli, s, "da %s%s", sub, left);
    }
    if (sa != VSAFE_OK) {
        /* Granted, but the MCU no longer answers Discovery: the state is not known here. */
        return vsafe_cli_fail(cli, sa, "da %s: granted, then Discovery failed", sub);
    }
    bool secure = bit < VSAFE_DA_PERM_DEBUG_NS_HDPL1;
    unsigned level = (unsigned)bit - (secure ? VSAFE_DA_PERM_DEBUG_S_HDPL1 : VSAFE_DA_PERM_DEBUG_NS_HDPL1) + 1u;
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "from", json_string(state_name(before.state)));
        json_object_set_new(o, "state", json_string(state_name(after.state)));
        json_object_set_new(o, "granted_bit", json_integer(bit));
        json_object_set_new(o, "attempts_left", json_integer(after.attempts_left));
        if (!regress) {
            json_object_set_new(o, "domain", json_string(secure ? "s" : "ns"));
            json_object_set_new(o, "hdpl", json_integer(level));
            json_object_set_new(o, "no_op", json_false());
        }
        json_object_set_new(o, "elapsed_ms", json_real(ms));
        return vsafe_cli_json_out(cli, json_pack("{s:o}", regress ? "da_regress" : "da_open_debug", o));
    }
    if (regress) {
        printf("%s regression granted: %s -> %s (device reset; %.2f ms)\n",
               bit == VSAFE_DA_PERM_REGRESS_FULL ? "full" : "partial", state_name(before.state),
               state_name(after.state), ms);
    } else {
        printf("debug reopened: %s domain at HDPL%u (DBG_AUTH_HDPL) until the next reset (%.2f ms)\n",
               secure ? "secure" : "non-secure", level, ms);
    }
    return 0;
}

/* Lock Debug: closes what a debug authentication opened, without a reset. */
static int close_debug(vsafe_cli_t *cli, int argc, char **argv)
{
    int done = 0;
    da_target_t t;
    int rc = open_no_options(cli, argc, argv, &t, 0, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t req[8], rsp[512];
    size_t n, rn = 0;
    da_facts_t before;
    int s = target_discover(&t, rsp, sizeof rsp, &rn, &before);
    if (s == VSAFE_OK) {
        s = vsafe_da_frame_begin(VSAFE_DA_CMD_LOCK_DEBUG, req, sizeof req, &n);
    }
    if (s == VSAFE_OK) {
        s = vsafe_da_link_exchange(&t.link, req, n, rsp, sizeof rsp, &rn);
    }
    if (s != VSAFE_OK) {
        rc = target_fail(cli, &t, s, rn, "da close-debug");
        target_close(&t);
        return rc;
    }
    target_close(&t);
    static const uint8_t none16[16];
    bool was_open = memcmp(before.grant, none16, 16) != 0;
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:b, s:b}}", "da_close_debug", "was_open", was_open, "closed", 1));
    }
    printf("%s\n", was_open ? "authenticated debug closed (Lock Debug)" : "no authenticated debug was open");
    return 0;
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
        {"keygen", keygen,
         "da keygen [--out-dir DIR] [--bind] [--mask HEX] [--root-key F] [--intermediate-key F] [--leaf-key F] [--force]",
         "create a three-level ADAC certificate chain (root, intermediate, leaf) in ST's files and names\n"},
        {"provision", provision,
         "da provision [--obk FILE | --root-key F | --password PW | --otp board_password.bin] [--mask HEX] [--force]",
         "write the DA configuration (ST .obk, root key hash or password) into OBK HDPL1 (STM32H503: the password "
         "hash into OTP, once)\n"},
        {"discover", sub_discover, "da discover", "what the MCU's debug authentication announces (Discovery)\n"},
        {"regress", sub_regress,
         "da regress --full|--partial|--per a|b [--chain F --key F] | --full --password PW|--password-file F",
         "authenticate and regress the product state (full: to OPEN; partial: non-secure side)\n"},
        {"open-debug", sub_open_debug,
         "da open-debug [--domain s|ns] [--hdpl N] | --per c..h [--chain F --key F]",
         "authenticate and reopen debug at one HDPL\n"},
        {"close-debug", close_debug, "da close-debug", "Lock Debug: close what da open-debug opened, without a reset\n"},
    };
    cli->cut_mcu = 1;
    return vsafe_cli_dispatch(cli, argc, argv, subs, sizeof subs / sizeof subs[0], cli->summary, NULL);
}
