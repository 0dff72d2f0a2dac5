/* vsafe envelope (keygen, table), vsafe wrap, vsafe unwrap: local envelopes (AES key wrap under a
 * key that never leaves the device); vsafe password verify. An unwrapped payload and the password
 * are secrets: written 0600, wiped after use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_io.h"
#include "common/secure.h"
#include "vsafe/se_wire.h"

#define ENV_PAYLOAD_MAX 480u

static const char *const keygen_help =
    "Generates a local envelope key in the device (Generate wrap/unwrap key 0x11 0x07); an occupied slot\n"
    "is refused.\n"
    "  --slot N          the local envelope key slot\n"
    "  --aes256          an AES-256 key (default AES-128)\n"
    "  JSON: {\"envelope_keygen\": {\"slot\", \"key_type\": \"aes128\"|\"aes256\"}}\n" VSAFE_CLI_HELP_COMMON;

static int envelope_keygen(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *key_s = NULL;
    int aes256 = 0, done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL}, {"aes256", 0, NULL, &aes256, NULL, NULL},
                                    {"host-key", 1, &key_s, NULL, NULL, NULL}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t slot = 0;
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFE, 0, &slot)) != 0 ||
        (rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        return rc;
    }
    const char *type = aes256 ? "aes256" : "aes128";
    if ((rc = vsafe_host_envelope_keygen(cli->host, prot, slot, aes256 ? VSAFE_HOST_SYM_AES256 : VSAFE_HOST_SYM_AES128)) !=
        0) {
        /* Envelope keys are never replaced: say so when the table shows the slot taken. */
        const uint8_t q[2] = {VSAFE_SE_CMD_QUERY, 0x07};
        uint8_t t[64];
        size_t tn = 0;
        int full = 0;
        if (rc == VSAFE_DEV_STATUS(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED) &&
            vsafe_host_raw(cli->host, q, sizeof q, t, sizeof t, &tn) == 0 && tn >= 1 && tn == 1u + 3u * t[0]) {
            for (size_t i = 0; i < t[0]; i++) {
                full |= t[1 + 3 * i] == slot && t[2 + 3 * i] == 1;
            }
        }
        return vsafe_cli_fail_hint(cli, rc, full ? "the slot already holds a key, and a local envelope key is never "
                                                   "replaced"
                                                 : NULL,
                                   "generate an %s local envelope key in slot %u", type, slot);
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:s}}", "envelope_keygen", "slot", slot, "key_type", type));
    }
    printf("local envelope key slot %u: %s key generated\n", slot, type);
    return VSAFE_CLI_EXIT_OK;
}

static const char *const table_help = "Lists the local envelope key slots (Query 0x14 0x07): presence and key type.\n"
                                      "  JSON: {\"envelope_table\": [{\"slot\", \"present\", \"key_type\"}]}\n"
                                      VSAFE_CLI_HELP_COMMON;

static int envelope_table(vsafe_cli_t *cli, int argc, char **argv)
{
    int done = 0;
    int rc = vsafe_cli_open_no_args(cli, argc, argv, &done);
    if (rc != 0 || done) {
        return rc;
    }
    /* The host library has no function for this query (STSELib never sends it): the tool reads
     * COUNT, then SLOT PRESENCE KEYLEN per slot, and checks the length exactly. */
    const uint8_t cmd[2] = {VSAFE_SE_CMD_QUERY, 0x07};
    uint8_t rsp[64];
    size_t n = 0;
    if ((rc = vsafe_host_raw(cli->host, cmd, sizeof cmd, rsp, sizeof rsp, &n)) != 0) {
        return vsafe_cli_fail(cli, rc, "local envelope key table (Query 0x07)");
    }
    if (n < 1 || n != 1u + 3u * rsp[0]) {
        return vsafe_cli_fail(cli, VSAFE_ERR_HOST_FRAME, "local envelope key table: %zu bytes for %u slots", n,
                              n > 0 ? rsp[0] : 0);
    }
    json_t *arr = json_array();
    if (!cli->json) {
        printf("slot  key\n");
    }
    for (size_t i = 0; i < rsp[0]; i++) {
        const uint8_t *r = rsp + 1 + 3 * i;
        const char *type = r[2] == 0 ? "aes128" : r[2] == 1 ? "aes256" : "unknown";
        if (cli->json) {
            json_array_append_new(arr, json_pack("{s:i, s:b, s:s?}", "slot", r[0], "present", r[1] == 1, "key_type",
                                                 r[1] == 1 ? type : NULL));
        } else {
            printf("%4u  %s\n", r[0], r[1] == 1 ? type : "empty");
        }
    }
    if (!cli->json) {
        json_decref(arr);
        return VSAFE_CLI_EXIT_OK;
    }
    return vsafe_cli_json_out(cli, json_pack("{s:o}", "envelope_table", arr));
}

static const char *const wrap_help =
    "Wraps a payload with a local envelope key (Wrap 0x0E, AES key wrap): the envelope is 8 bytes longer.\n"
    "  --slot N          the local envelope key slot\n"
    "  --data HEX | --data-file F     the payload: 16..480 bytes, a multiple of 8\n"
    "  --out F           write the envelope to F (- for stdout)\n"
    "  JSON: {\"wrap\": {\"slot\", \"envelope\": HEX, \"out\"}}\n" VSAFE_CLI_HELP_COMMON;

static const char *const unwrap_help =
    "Unwraps an envelope with a local envelope key (Unwrap 0x0F); a damaged envelope is refused.\n"
    "  --slot N          the local envelope key slot\n"
    "  --data HEX | --data-file F     the envelope (24..488 bytes)\n"
    "  --out F           write the payload to F (mode 0600; - for stdout) instead of printing it\n"
    "  JSON: {\"unwrap\": {\"slot\", \"payload\": HEX (without --out), \"out\"}}\n" VSAFE_CLI_HELP_COMMON;

static int wrap_run(vsafe_cli_t *cli, int argc, char **argv, int wrap)
{
    const char *slot_s = NULL, *out = NULL, *key_s = NULL;
    vsafe_cli_input_t data = {NULL, NULL};
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL}, VSAFE_CLI_INPUT_OPTS("data", data),
                                    {"out", 1, &out, NULL, NULL, NULL},     {"host-key", 1, &key_s, NULL, NULL, NULL},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t slot = 0;
    if ((rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFE, 0, &slot)) != 0 ||
        (rc = vsafe_cli_out_check(cli, "--out", out)) != 0) {
        return rc;
    }
    uint8_t *in = NULL;
    size_t len = 0;
    /* AES key wrap takes whole 8-byte blocks, two at least: no device could take anything else. */
    if ((rc = vsafe_cli_input_read(cli, "data", &data, 1, wrap ? 16u : 24u, wrap ? ENV_PAYLOAD_MAX : ENV_PAYLOAD_MAX + 8u,
                                   &in, &len)) != 0) {
        return rc;
    }
    if (len % 8u != 0) {
        vsafe_wipe(in, len);
        free(in);
        return vsafe_cli_usage_error(cli, "--data: %zu bytes, not a multiple of 8 (AES key wrap takes 8-byte blocks)",
                                     len);
    }
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        vsafe_wipe(in, len);
        free(in);
        return rc;
    }
    uint8_t res[ENV_PAYLOAD_MAX + 8u];
    size_t rl = wrap ? len + 8u : len - 8u;
    rc = wrap ? vsafe_host_wrap(cli->host, prot, slot, in, len, res, sizeof res)
              : vsafe_host_unwrap(cli->host, prot, slot, in, len, res, sizeof res);
    vsafe_wipe(in, len);
    free(in);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "%s %zu bytes with local envelope key slot %u", wrap ? "wrap" : "unwrap", len, slot);
    }
    if (out != NULL && (rc = vsafe_cli_write_file(cli, "--out", out, res, rl, !wrap)) != 0) {
        vsafe_wipe(res, sizeof res);
        return rc;
    }
    char *hex = out == NULL ? vsafe_cli_hex(res, rl) : NULL;
    vsafe_wipe(res, sizeof res);
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:s?, s:s?}}", wrap ? "wrap" : "unwrap", "slot", slot,
                                               wrap ? "envelope" : "payload", hex, "out", out));
    } else if (hex != NULL) {
        printf("%s\n", hex);
    } else if (!vsafe_cli_out_is_stdout(out)) {
        printf("%s (%zu bytes) written to %s\n", wrap ? "envelope" : "payload", rl, out);
    }
    if (hex != NULL) {
        vsafe_wipe(hex, strlen(hex));
        free(hex);
    }
    return rc;
}

int vsafe_cmd_wrap(vsafe_cli_t *cli, int argc, char **argv)
{
    cli->help = wrap_help;
    return wrap_run(cli, argc, argv, 1);
}

int vsafe_cmd_unwrap(vsafe_cli_t *cli, int argc, char **argv)
{
    cli->help = unwrap_help;
    return wrap_run(cli, argc, argv, 0);
}

static const vsafe_cli_sub_t env_subs[] = {
    {"keygen", envelope_keygen, "envelope keygen --slot N [--aes256]", keygen_help},
    {"table", envelope_table, "envelope table", table_help},
};

int vsafe_cmd_envelope(vsafe_cli_t *cli, int argc, char **argv)
{
    return vsafe_cli_dispatch(cli, argc, argv, env_subs, sizeof env_subs / sizeof env_subs[0],
                              "Local envelope keys (vsafe wrap / unwrap use them).", NULL);
}

static const char *const password_help =
    "Verifies the device password (Verify password 0x1A); exit status 1 when it is wrong.\n"
    "  --password HEX | --password-file F | --password-fd N | --password-env VAR   16 bytes in hex\n"
    "  JSON: {\"password_verify\": {\"verified\": BOOL, \"remaining_tries\": N}}\n" VSAFE_CLI_HELP_COMMON;

static int password_verify(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *key_s = NULL;
    vsafe_cli_secret_t sec = {NULL, NULL, NULL, NULL};
    int done = 0;
    const vsafe_cli_opt_t opts[] = {VSAFE_CLI_SECRET_OPTS("password", sec), {"host-key", 1, &key_s, NULL, NULL, NULL},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    char hex[80];
    size_t hl = 0;
    if ((rc = vsafe_cli_secret_read(cli, "password", &sec, hex, sizeof hex, &hl)) != 0) {
        return rc;
    }
    uint8_t *pw = NULL;
    size_t pl = 0;
    rc = vsafe_cli_parse_hex(cli, "--password", hex, &pw, &pl);
    vsafe_wipe(hex, sizeof hex);
    if (rc != 0) {
        return rc;
    }
    if (pl != 16) {
        vsafe_wipe(pw, pl);
        free(pw);
        return vsafe_cli_usage_error(cli, "--password: %zu bytes, the device password is 16", pl);
    }
    vsafe_host_prot_t prot;
    int verified = 0;
    uint8_t remaining = 0;
    if ((rc = vsafe_cli_open_prot(cli, key_s, &prot)) == 0) {
        rc = vsafe_host_verify_password(cli->host, prot, pw, &verified, &remaining);
        if (rc != 0) {
            rc = vsafe_cli_fail(cli, rc, "verify the password");
        }
    }
    vsafe_wipe(pw, pl);
    free(pw);
    if (rc != 0) {
        return rc;
    }
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:{s:b, s:i}}", "password_verify", "verified", verified,
                                               "remaining_tries", remaining));
    } else {
        printf("password %s (%u tries left)\n", verified ? "correct" : "WRONG", remaining);
    }
    return verified && rc == 0 ? VSAFE_CLI_EXIT_OK : VSAFE_CLI_EXIT_FAIL;
}

static const vsafe_cli_sub_t pw_subs[] = {
    {"verify", password_verify, "password verify (--password HEX|--password-file F|--password-fd N|--password-env V)",
     password_help},
};

int vsafe_cmd_password(vsafe_cli_t *cli, int argc, char **argv)
{
    return vsafe_cli_dispatch(cli, argc, argv, pw_subs, sizeof pw_subs / sizeof pw_subs[0], "The device password.",
                              NULL);
}
