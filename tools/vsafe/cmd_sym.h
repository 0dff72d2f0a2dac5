/* Shared parts of the symmetric-key commands (symkey, derive, aes, mac): the key information
 * record as options, names of modes and usages, and the host signer of authenticated
 * provisioning. */
#ifndef VSAFE_CLI_CMD_SYM_H
#define VSAFE_CLI_CMD_SYM_H

#include "cli.h"

/* The options of a key information record (write, establish, derive to a slot). */
typedef struct {
    const char *type, *mode, *usage, *tag_len, *ctr_off, *min_mac, *key_len, *lock;
    int allow_host;
} vsafe_cli_keyinfo_opts_t;
#define VSAFE_CLI_KEYINFO_OPTS(k)                                                                              \
    {"type", 1, &(k).type, NULL, NULL, NULL}, {"mode", 1, &(k).mode, NULL, NULL, NULL}, {"usage", 1, &(k).usage, NULL, NULL, NULL},              \
        {"tag-len", 1, &(k).tag_len, NULL, NULL, NULL}, {"counter-offset", 1, &(k).ctr_off, NULL, NULL, NULL},                      \
        {"min-mac-len", 1, &(k).min_mac, NULL, NULL, NULL}, {"key-len", 1, &(k).key_len, NULL, NULL, NULL},                          \
        {"lock", 1, &(k).lock, NULL, NULL, NULL}, {"allow-host", 0, NULL, &(k).allow_host, NULL, NULL}
#define VSAFE_CLI_KEYINFO_HELP                                                                                 \
    "  --mode M          ccm, cmac, ecb, gcm, hkdf or hmac (required)\n"                                      \
    "  --type T          aes128 (default for the AES modes), aes256, generic (hkdf and hmac: the default)\n"  \
    "  --usage LIST      comma-separated: encrypt, decrypt, encrypt-chunks, decrypt-chunks, mac-generate,\n"  \
    "                    mac-verify, derive (default: encrypt,decrypt for ccm/gcm/ecb, mac-generate,\n"       \
    "                    mac-verify for cmac/hmac, derive for hkdf)\n"                                        \
    "  --tag-len N       ccm: 0, 4, 8 or 16; gcm: 4, 8, 12..16 (default 16)\n"                              \
    "  --counter-offset N  ccm: a device counter at byte N (0..9) of the nonce\n"                             \
    "  --min-mac-len N   cmac and hmac: the shortest MAC the key makes or accepts (default 4)\n"             \
    "  --key-len N       generic keys: 16..32 bytes (default 32)\n"                                           \
    "  --allow-host      hkdf: keys derived from this one may be returned to the host\n"                      \
    "  --lock L          unlocked (default: may be overwritten or erased), locked, erasable\n"

/* Builds info from the options (slot is set by the caller). Returns 0 or a usage error. */
int vsafe_cli_keyinfo(vsafe_cli_t *cli, const vsafe_cli_keyinfo_opts_t *o, vsafe_host_symkey_info_t *info);

const char *vsafe_cli_sym_type_name(uint8_t t); /* "aes128", "aes256", "generic" */
const char *vsafe_cli_sym_mode_name(uint8_t m); /* "ccm", "cmac", ... */
const char *vsafe_cli_sym_lock_name(uint8_t l); /* "unlocked", "locked", "erasable" */
/* JSON array of usage names. */
json_t *vsafe_cli_sym_usage_json(uint8_t usage);

/* Authenticated provisioning by a generic public key slot: --auth-slot S --auth-key F [--auth-hash H]. */
typedef struct {
    const char *slot, *key, *hash;
} vsafe_cli_auth_opts_t;
#define VSAFE_CLI_AUTH_OPTS(a)                                                                                 \
    {"auth-slot", 1, &(a).slot, NULL, NULL, NULL}, {"auth-key", 1, &(a).key, NULL, NULL, NULL}, {"auth-hash", 1, &(a).hash, NULL, NULL, NULL}
#define VSAFE_CLI_AUTH_HELP                                                                                    \
    "  --auth-slot S     authenticate the session by generic public key slot S, signing on the host with\n"   \
    "  --auth-key F      the PEM private key F of that slot's public key; --auth-hash ALG (ECDSA, default\n"  \
    "                    sha256)\n"
typedef struct vsafe_cli_auth vsafe_cli_auth_t;
/* Loads the signer when --auth-slot is given: *auth points into *state then (else NULL). Release
 * with vsafe_cli_auth_free. Returns 0 or an exit status. */
int vsafe_cli_auth_load(vsafe_cli_t *cli, const vsafe_cli_auth_opts_t *o, vsafe_cli_auth_t **state,
                        const vsafe_host_auth_t **auth);
void vsafe_cli_auth_free(vsafe_cli_auth_t *state);

/* The symmetric key table's record of slot: 0, or an exit status (EMPTY_SLOT when absent). */
int vsafe_cli_symkey_slot(vsafe_cli_t *cli, uint8_t slot, vsafe_host_symkey_slot_t *out, int *present);

#endif
