/* vsafe hash: a digest computed by the device's hash service (Start / Process / Finish hash,
 * chunked by the host library as STSELib does). */
#include <stdio.h>
#include <stdlib.h>

#include "cli_io.h"
#include "keyfmt.h"

/* The whole input is held in memory and sent in frames of at most 749 bytes. */
#define HASH_INPUT_MAX (64u * 1024u * 1024u)

static const char *const hash_help =
    "Hashes data on the device (Start hash 0x1F 0x00, Process 0x1F 0x01, Finish 0x1F 0x02).\n"
    "  --alg ALG                        " VSAFE_CLI_HASHES " (default sha256)\n"
    "  --data HEX | --data-file F | F   the data (at least 1 byte; F - or a lone - is stdin)\n"
    "  --out F                          write the raw digest to F (- for stdout) instead of printing it\n"
    "  JSON: {\"hash\": {\"alg\", \"length\" (input bytes), \"digest\": HEX}}\n" VSAFE_CLI_HELP_COMMON;

int vsafe_cmd_hash(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *alg_s = NULL, *out = NULL, *key_s = NULL, *pos[1] = {NULL};
    vsafe_cli_input_t data = {NULL, NULL};
    int done = 0;
    size_t npos = 0;
    cli->help = hash_help;
    const vsafe_cli_opt_t opts[] = {{"alg", 1, &alg_s, NULL, NULL, NULL}, VSAFE_CLI_INPUT_OPTS("data", data),
                                    {"out", 1, &out, NULL, NULL, NULL}, {"host-key", 1, &key_s, NULL, NULL, NULL},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, pos, 0, 1, &npos, &done);
    if (rc != 0 || done) {
        return rc;
    }
    unsigned alg = alg_s != NULL ? vsafe_cli_hash_parse(alg_s) : VSAFE_HASH_SHA256;
    if (alg == 0) {
        return vsafe_cli_usage_error(cli, "--alg: '%s' is not one of %s", alg_s, VSAFE_CLI_HASHES);
    }
    if (npos == 1) {
        if (vsafe_cli_input_given(&data)) {
            return vsafe_cli_usage_error(cli, "give the data once: --data, --data-file or a file argument");
        }
        data.file = pos[0];
    }
    if ((rc = vsafe_cli_out_check(cli, "--out", out)) != 0) {
        return rc;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    if ((rc = vsafe_cli_input_read(cli, "data", &data, 1, 1, HASH_INPUT_MAX, &buf, &len)) != 0) {
        return rc;
    }
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        free(buf);
        return rc;
    }
    uint8_t digest[64];
    size_t dl = 0;
    rc = vsafe_host_hash(cli->host, prot, alg, buf, len, digest, sizeof digest, &dl);
    free(buf);
    if (rc != 0) {
        return vsafe_cli_fail(cli, rc, "%s of %zu bytes", vsafe_cli_hash_label(alg), len);
    }
    if (out != NULL && (rc = vsafe_cli_write_file(cli, "--out", out, digest, dl, 0)) != 0) {
        return rc;
    }
    char *hex = vsafe_cli_hex(digest, dl);
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:{s:s, s:I, s:s, s:s?}}", "hash", "alg", vsafe_cli_hash_label(alg),
                                               "length", (json_int_t)len, "digest", hex, "out", out));
    } else if (!vsafe_cli_out_is_stdout(out)) {
        printf("%s\n", hex);
    }
    free(hex);
    return rc;
}
