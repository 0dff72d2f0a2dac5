/* vsafe symkey: the symmetric key table (table, ctrl, write, establish, erase), and the helpers the
 * other symmetric-key commands share (cmd_sym.h). Keys given on the command line are secrets
 * (cli.h, "Secrets") and are wiped after use; an established key is printed or written only
 * because the user asked for it. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_io.h"
#include "cmd_sym.h"
#include "common/secure.h"
#include "keyfmt.h"
#include "vsafe/se_wire.h"

#define SYM_SLOTS_MAX 16

static const char *const mode_names[6] = {"ccm", "cmac", "ecb", "gcm", "hkdf", "hmac"};
static const char *const usage_names[7] = {"mac-verify", "mac-generate", "decrypt", "encrypt",
                                           "decrypt-chunks", "encrypt-chunks", "derive"};

const char *vsafe_cli_sym_type_name(uint8_t t)
{
    return t == VSAFE_HOST_SYM_AES128 ? "aes128" : t == VSAFE_HOST_SYM_AES256 ? "aes256" : t == VSAFE_HOST_SYM_GENERIC ? "generic" : "unknown";
}

const char *vsafe_cli_sym_mode_name(uint8_t m)
{
    return m < 6 ? mode_names[m] : "unknown";
}

const char *vsafe_cli_sym_lock_name(uint8_t l)
{
    return l == 0 ? "unlocked" : l == 1 ? "locked" : l == 2 ? "erasable" : "unknown";
}

json_t *vsafe_cli_sym_usage_json(uint8_t usage)
{
    json_t *a = json_array();
    for (unsigned b = 0; b < 7; b++) {
        if (usage & (1u << b)) {
            json_array_append_new(a, json_string(usage_names[b]));
        }
    }
    return a;
}

static void usage_text(uint8_t usage, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned b = 0; b < 7; b++) {
        if (usage & (1u << b)) {
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", usage_names[b]);
        }
    }
    if (n == 0) {
        snprintf(out, cap, "none");
    }
}

static int name_index(const char *s, const char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(s, names[i]) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int vsafe_cli_keyinfo(vsafe_cli_t *cli, const vsafe_cli_keyinfo_opts_t *o, vsafe_host_symkey_info_t *info)
{
    memset(info, 0, sizeof *info);
    if (o->mode == NULL) {
        return vsafe_cli_usage_error(cli, "--mode is required (ccm, cmac, ecb, gcm, hkdf, hmac)");
    }
    int m = name_index(o->mode, mode_names, 6);
    if (m < 0) {
        return vsafe_cli_usage_error(cli, "--mode: '%s' is not ccm, cmac, ecb, gcm, hkdf or hmac", o->mode);
    }
    info->mode = (uint8_t)m;
    int generic_mode = m == VSAFE_HOST_SYM_HKDF || m == VSAFE_HOST_SYM_HMAC;
    info->key_type = generic_mode ? VSAFE_HOST_SYM_GENERIC : VSAFE_HOST_SYM_AES128;
    if (o->type != NULL) {
        static const char *const types[3] = {"aes128", "aes256", "generic"};
        int t = name_index(o->type, types, 3);
        if (t < 0) {
            return vsafe_cli_usage_error(cli, "--type: '%s' is not aes128, aes256 or generic", o->type);
        }
        info->key_type = (uint8_t)t;
    }
    static const uint8_t default_usage[6] = {0x0C, 0x03, 0x0C, 0x0C, 0x40, 0x03};
    info->usage = default_usage[m];
    if (o->usage != NULL) {
        info->usage = 0;
        char buf[256];
        snprintf(buf, sizeof buf, "%s", o->usage);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
            int u = name_index(t, usage_names, 7);
            if (u < 0) {
                return vsafe_cli_usage_error(cli, "--usage: unknown usage '%s'", t);
            }
            info->usage |= (uint8_t)(1u << u);
        }
    }
    uint32_t v = 0;
    int rc;
    info->tag_len = 16;
    if (o->tag_len != NULL) {
        if ((rc = vsafe_cli_parse_u32(cli, "--tag-len", o->tag_len, 0, 16, &v)) != 0) {
            return rc;
        }
        info->tag_len = (uint8_t)v;
    }
    if (o->ctr_off != NULL) {
        if ((rc = vsafe_cli_parse_u32(cli, "--counter-offset", o->ctr_off, 0, 0x7F, &v)) != 0) {
            return rc;
        }
        info->ctr_byte = (uint8_t)(0x80u | v);
    }
    info->min_mac_len = 4;
    if (o->min_mac != NULL) {
        if ((rc = vsafe_cli_parse_u32(cli, "--min-mac-len", o->min_mac, 0, 255, &v)) != 0) {
            return rc;
        }
        info->min_mac_len = (uint8_t)v;
    }
    info->generic_key_len = 32;
    if (o->key_len != NULL) {
        if ((rc = vsafe_cli_parse_u32(cli, "--key-len", o->key_len, 1, 255, &v)) != 0) {
            return rc;
        }
        info->generic_key_len = (uint8_t)v;
    }
    info->hkdf_flags = o->allow_host ? 1u : 0u;
    if (o->lock != NULL) {
        static const char *const locks[3] = {"unlocked", "locked", "erasable"};
        int l = name_index(o->lock, locks, 3);
        if (l < 0) {
            return vsafe_cli_usage_error(cli, "--lock: '%s' is not unlocked, locked or erasable", o->lock);
        }
        info->lock = (uint8_t)l;
    }
    return 0;
}

struct vsafe_cli_auth {
    EVP_PKEY *key;
    unsigned curve;
    unsigned hash;
    vsafe_host_auth_t auth;
};

static int auth_sign(void *ctx, const uint8_t *tbs, size_t tbs_len, uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
    const vsafe_cli_auth_t *a = ctx;
    return vsafe_cli_priv_sign(a->key, a->curve, a->hash, tbs, tbs_len, sig, sig_cap, sig_len) == 0 ? 0
                                                                                                   : VSAFE_ERR_CRYPTO;
}

int vsafe_cli_auth_load(vsafe_cli_t *cli, const vsafe_cli_auth_opts_t *o, vsafe_cli_auth_t **state,
                        const vsafe_host_auth_t **auth)
{
    *state = NULL;
    *auth = NULL;
    if (o->slot == NULL) {
        return o->key != NULL || o->hash != NULL ? vsafe_cli_usage_error(cli, "--auth-key and --auth-hash go with --auth-slot")
                                                 : 0;
    }
    uint8_t slot = 0;
    int rc = vsafe_cli_parse_slot(cli, "--auth-slot", o->slot, 0xFF, 0, &slot);
    if (rc != 0) {
        return rc;
    }
    if (o->key == NULL) {
        return vsafe_cli_usage_error(cli, "--auth-slot needs --auth-key F (the PEM private key)");
    }
    unsigned hash = o->hash != NULL ? vsafe_cli_hash_parse(o->hash) : VSAFE_HASH_SHA256;
    if (hash == 0) {
        return vsafe_cli_usage_error(cli, "--auth-hash: '%s' is not one of %s", o->hash, VSAFE_CLI_HASHES);
    }
    vsafe_cli_auth_t *a = calloc(1, sizeof *a);
    if (a == NULL) {
        return vsafe_cli_fail(cli, VSAFE_ERR_NO_MEMORY, "--auth-key");
    }
    if ((rc = vsafe_cli_priv_load(cli, "--auth-key", o->key, &a->key, &a->curve)) != 0) {
        free(a);
        return rc;
    }
    a->hash = hash;
    a->auth = (vsafe_host_auth_t){.sig_slot = slot, .hash = hash, .ed25519 = a->curve == VSAFE_CURVE_ED25519,
                                  .sign = auth_sign, .ctx = a};
    *state = a;
    *auth = &a->auth;
    return 0;
}

void vsafe_cli_auth_free(vsafe_cli_auth_t *state)
{
    if (state != NULL) {
        EVP_PKEY_free(state->key);
        free(state);
    }
}

/* "n" before a key type that starts with a vowel sound: "an aes128", "a generic". */
static const char *article_n(uint8_t key_type)
{
    return key_type == VSAFE_HOST_SYM_GENERIC ? "" : "n";
}

static int read_table(vsafe_cli_t *cli, vsafe_host_symkey_slot_t *slots, size_t *count)
{
    int rc = vsafe_host_symkey_table(cli->host, slots, SYM_SLOTS_MAX, count);
    return rc != 0 ? vsafe_cli_fail(cli, rc, "symmetric key table (Query 0x23)") : 0;
}

int vsafe_cli_symkey_slot(vsafe_cli_t *cli, uint8_t slot, vsafe_host_symkey_slot_t *out, int *present)
{
    vsafe_host_symkey_slot_t slots[SYM_SLOTS_MAX];
    size_t count = 0;
    int rc = read_table(cli, slots, &count);
    if (rc != 0) {
        return rc;
    }
    *present = slot < count && slots[slot].present;
    if (*present) {
        *out = slots[slot];
    }
    return 0;
}

static json_t *slot_json(size_t i, const vsafe_host_symkey_slot_t *s)
{
    json_t *o = json_pack("{s:i, s:b}", "slot", (int)i, "present", s->present);
    if (!s->present) {
        return o;
    }
    json_object_set_new(o, "lock", json_string(vsafe_cli_sym_lock_name(s->lock)));
    json_object_set_new(o, "key_type", json_string(vsafe_cli_sym_type_name(s->key_type)));
    json_object_set_new(o, "mode", json_string(vsafe_cli_sym_mode_name(s->mode)));
    json_object_set_new(o, "usage", vsafe_cli_sym_usage_json(s->usage));
    if (s->mode == VSAFE_HOST_SYM_CCM || s->mode == VSAFE_HOST_SYM_GCM) {
        json_object_set_new(o, "tag_len", json_integer(s->tag_len));
    }
    if (s->mode == VSAFE_HOST_SYM_CCM) {
        int has = (s->ctr_byte & 0x80u) != 0;
        json_object_set_new(o, "counter_offset", has ? json_integer(s->ctr_byte & 0x7Fu) : json_null());
        json_object_set_new(o, "counter", has ? json_integer(s->counter) : json_null());
    }
    if (s->mode == VSAFE_HOST_SYM_CMAC) {
        json_object_set_new(o, "min_mac_len", json_integer(s->min_mac_len));
    }
    return o;
}

static const char *const table_help = "Lists the symmetric key slots (Query 0x23): type, mode, usages, parameters.\n"
                                      "  JSON: {\"symkey_table\": [{\"slot\", \"present\", \"lock\", \"key_type\", \"mode\",\n"
                                      "         \"usage\": [...], \"tag_len\", \"counter_offset\", \"counter\", \"min_mac_len\"}]}\n"
                                      VSAFE_CLI_HELP_COMMON;

static int symkey_table(vsafe_cli_t *cli, int argc, char **argv)
{
    int done = 0;
    int rc = vsafe_cli_open_no_args(cli, argc, argv, &done);
    if (rc != 0 || done) {
        return rc;
    }
    vsafe_host_symkey_slot_t slots[SYM_SLOTS_MAX];
    size_t count = 0;
    if ((rc = read_table(cli, slots, &count)) != 0) {
        return rc;
    }
    if (cli->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < count; i++) {
            json_array_append_new(arr, slot_json(i, &slots[i]));
        }
        return vsafe_cli_json_out(cli, json_pack("{s:o}", "symkey_table", arr));
    }
    printf("slot  type     mode  lock      usage\n");
    for (size_t i = 0; i < count; i++) {
        const vsafe_host_symkey_slot_t *s = &slots[i];
        if (!s->present) {
            printf("%4zu  empty\n", i);
            continue;
        }
        char u[160];
        usage_text(s->usage, u, sizeof u);
        printf("%4zu  %-7s  %-4s  %-8s  %s", i, vsafe_cli_sym_type_name(s->key_type), vsafe_cli_sym_mode_name(s->mode),
               vsafe_cli_sym_lock_name(s->lock), u);
        if (s->mode == VSAFE_HOST_SYM_CCM || s->mode == VSAFE_HOST_SYM_GCM) {
            printf("  tag %u", s->tag_len);
        }
        if (s->mode == VSAFE_HOST_SYM_CCM && (s->ctr_byte & 0x80u)) {
            printf("  counter %u at nonce byte %u", s->counter, s->ctr_byte & 0x7Fu);
        }
        if (s->mode == VSAFE_HOST_SYM_CMAC) {
            printf("  min MAC %u", s->min_mac_len);
        }
        printf("\n");
    }
    return VSAFE_CLI_EXIT_OK;
}

static const struct {
    uint8_t bit;
    const char *name, *json;
} ctrl_names[] = {
    {VSAFE_HOST_SYM_CTRL_ECDHE_ANON, "ecdhe", "ecdhe"},         {VSAFE_HOST_SYM_CTRL_WRAPPED_ANON, "wrapped", "wrapped"},
    {VSAFE_HOST_SYM_CTRL_PUT_KEY, "put-key", "put_key"},        {VSAFE_HOST_SYM_CTRL_PLAINTEXT, "plaintext", "plaintext"},
    {VSAFE_HOST_SYM_CTRL_DERIVED, "derived", "derived"},
};
#define CTRL_COUNT (sizeof ctrl_names / sizeof ctrl_names[0])

static json_t *ctrl_json(uint8_t slot, const uint8_t f[3])
{
    json_t *o = json_pack("{s:i, s:b}", "slot", slot, "change_right", (f[0] & VSAFE_HOST_SYM_CTRL_CHANGE_RIGHT) != 0);
    for (size_t i = 0; i < CTRL_COUNT; i++) {
        json_object_set_new(o, ctrl_names[i].json, json_boolean((f[0] & ctrl_names[i].bit) != 0));
    }
    json_object_set_new(o, "wrapped_auth_slot", f[1] == 0xFF ? json_null() : json_integer(f[1]));
    json_object_set_new(o, "ecdhe_auth_slot", f[2] == 0xFF ? json_null() : json_integer(f[2]));
    return o;
}

static void ctrl_print(uint8_t slot, const uint8_t f[3])
{
    char list[128];
    size_t n = 0;
    list[0] = '\0';
    for (size_t i = 0; i < CTRL_COUNT; i++) {
        if (f[0] & ctrl_names[i].bit) {
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? "," : "", ctrl_names[i].name);
        }
    }
    char wa[8] = "none", ea[8] = "none";
    if (f[1] != 0xFF) {
        snprintf(wa, sizeof wa, "%u", f[1]);
    }
    if (f[2] != 0xFF) {
        snprintf(ea, sizeof ea, "%u", f[2]);
    }
    printf("slot %2u: allows %s; change right %s; wrapped auth slot %s; ECDHE auth slot %s\n", slot, n ? list : "nothing",
           (f[0] & VSAFE_HOST_SYM_CTRL_CHANGE_RIGHT) ? "yes" : "no", wa, ea);
}

static int parse_auth_slot(vsafe_cli_t *cli, const char *what, const char *s, uint8_t *out)
{
    if (s == NULL) {
        return 0;
    }
    if (strcmp(s, "none") == 0) {
        *out = 0xFF;
        return 0;
    }
    return vsafe_cli_parse_slot(cli, what, s, 0xFE, 0, out);
}

static const char *const ctrl_help =
    "Shows or sets (once) how symmetric key slots may be provisioned (Query 0x14 0x4B / Put 0x10 0x4B).\n"
    "Without --set: shows the slot's fields (every slot's without --slot).\n"
    "  --slot N          the slot\n"
    "  --set LIST        what the slot allows, comma-separated: plaintext (symkey write), wrapped\n"
    "                    (symkey write --wrapped, anonymous), ecdhe (symkey establish, anonymous),\n"
    "                    derived (derive output), put-key; or none\n"
    "  --wrapped-auth S  wrapped writes must be authenticated by generic public key slot S (or none)\n"
    "  --ecdhe-auth S    establishments must be authenticated by generic public key slot S (or none)\n"
    "  --keep-open       keep the change right; without it the fields are fixed for good\n"
    "  JSON: {\"symkey_ctrl\": {\"slot\", \"change_right\", \"plaintext\", \"wrapped\", \"ecdhe\", \"derived\",\n"
    "         \"put_key\", \"wrapped_auth_slot\", \"ecdhe_auth_slot\"}} (a list of them without --slot)\n"
    VSAFE_CLI_HELP_COMMON;

static int symkey_ctrl(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *set_s = NULL, *wauth_s = NULL, *eauth_s = NULL;
    int keep = 0, done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL},          {"set", 1, &set_s, NULL, NULL, NULL},
                                    {"wrapped-auth", 1, &wauth_s, NULL, NULL, NULL}, {"ecdhe-auth", 1, &eauth_s, NULL, NULL, NULL},
                                    {"keep-open", 0, NULL, &keep, NULL, NULL},       VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    uint8_t slot = 0;
    if (slot_s != NULL && (rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFE, 0, &slot)) != 0) {
        return rc;
    }
    int put = set_s != NULL;
    if (!put && (wauth_s != NULL || eauth_s != NULL || keep)) {
        return vsafe_cli_usage_error(cli, "--wrapped-auth, --ecdhe-auth and --keep-open go with --set");
    }
    if (put && slot_s == NULL) {
        return vsafe_cli_usage_error(cli, "--set needs --slot N");
    }
    uint8_t f[3] = {keep ? VSAFE_HOST_SYM_CTRL_CHANGE_RIGHT : 0, 0xFF, 0xFF};
    if (put && strcmp(set_s, "none") != 0) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", set_s);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
            size_t i = 0;
            for (; i < CTRL_COUNT && strcmp(ctrl_names[i].name, t) != 0; i++) {
            }
            if (i == CTRL_COUNT) {
                return vsafe_cli_usage_error(cli, "--set: unknown field '%s'", t);
            }
            f[0] |= ctrl_names[i].bit;
        }
    }
    if ((rc = parse_auth_slot(cli, "--wrapped-auth", wauth_s, &f[1])) != 0 ||
        (rc = parse_auth_slot(cli, "--ecdhe-auth", eauth_s, &f[2])) != 0) {
        return rc;
    }
    if ((rc = vsafe_cli_open_host(cli)) != 0) {
        return rc;
    }
    if (put) {
        if ((rc = vsafe_host_put_symkey_ctrl(cli->host, slot, f)) != 0) {
            return vsafe_cli_fail(cli, rc, "set the provisioning control fields of symmetric key slot %u", slot);
        }
        if (cli->json) {
            return vsafe_cli_json_out(cli, json_pack("{s:o}", "symkey_ctrl", ctrl_json(slot, f)));
        }
        ctrl_print(slot, f);
        return VSAFE_CLI_EXIT_OK;
    }
    size_t first = slot, last = slot;
    if (slot_s == NULL) {
        vsafe_host_symkey_slot_t slots[SYM_SLOTS_MAX];
        size_t count = 0;
        if ((rc = read_table(cli, slots, &count)) != 0) {
            return rc;
        }
        first = 0;
        last = count > 0 ? count - 1u : 0u;
        if (count == 0) {
            return cli->json ? vsafe_cli_json_out(cli, json_pack("{s:[]}", "symkey_ctrl")) : VSAFE_CLI_EXIT_OK;
        }
    }
    json_t *arr = json_array();
    for (size_t s = first; s <= last; s++) {
        if ((rc = vsafe_host_symkey_ctrl(cli->host, (uint8_t)s, f)) != 0) {
            json_decref(arr);
            return vsafe_cli_fail(cli, rc, "provisioning control fields of symmetric key slot %zu", s);
        }
        if (cli->json) {
            json_array_append_new(arr, ctrl_json((uint8_t)s, f));
        } else {
            ctrl_print((uint8_t)s, f);
        }
    }
    if (!cli->json) {
        json_decref(arr);
        return VSAFE_CLI_EXIT_OK;
    }
    if (slot_s != NULL) {
        json_t *one = json_incref(json_array_get(arr, 0));
        json_decref(arr);
        return vsafe_cli_json_out(cli, json_pack("{s:o}", "symkey_ctrl", one));
    }
    return vsafe_cli_json_out(cli, json_pack("{s:o}", "symkey_ctrl", arr));
}

static const char *const write_help =
    "Writes a key into a symmetric key slot: plaintext (Write symmetric key 0x1F 0x17), or --wrapped under\n"
    "a KEK from an ECDHE exchange (0x1F 0x0B, 0x1F 0x03, 0x1F 0x09, 0x1F 0x06). The slot's control\n"
    "fields must allow the method (symkey ctrl --set).\n"
    "  --slot N          the slot\n"
    "  --key HEX | --key-file F | --key-fd N | --key-env VAR   the key in hex (16 or 32 bytes, or\n"
    "                    --key-len for generic keys)\n" VSAFE_CLI_KEYINFO_HELP
    "  --wrapped         write it wrapped (16 key bytes for every type but aes256)\n"
    "  --curve NAME      the ECDHE curve of --wrapped (default P-256)\n" VSAFE_CLI_AUTH_HELP
    "  JSON: {\"symkey_write\": {\"slot\", \"key_type\", \"mode\", \"usage\", \"method\"}}\n" VSAFE_CLI_HELP_COMMON;

#define KEY_HEX_MAX 80u

/* The key of --key*: hex, key_len bytes (what: the expectation, for the message). Returns 0 or an
 * exit status. */
static int read_key(vsafe_cli_t *cli, const vsafe_cli_secret_t *sec, size_t key_len, const char *what, uint8_t *key)
{
    char hex[KEY_HEX_MAX + 1];
    size_t hl = 0;
    int rc = vsafe_cli_secret_read(cli, "key", sec, hex, sizeof hex, &hl);
    if (rc != 0) {
        return rc;
    }
    uint8_t *b = NULL;
    size_t bl = 0;
    /* Messages about the key name its length, never its bytes. */
    int ok = vsafe_cli_parse_hex(cli, "--key", hex, &b, &bl) == 0;
    vsafe_wipe(hex, sizeof hex);
    if (!ok) {
        return VSAFE_CLI_EXIT_USAGE;
    }
    if (bl != key_len) {
        vsafe_wipe(b, bl);
        free(b);
        return vsafe_cli_usage_error(cli, "--key: %zu byte%s given, %s", bl, bl == 1 ? "" : "s", what);
    }
    memcpy(key, b, bl);
    vsafe_wipe(b, bl);
    free(b);
    return 0;
}

static int symkey_write(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *curve_s = NULL, *key_s = NULL;
    vsafe_cli_secret_t sec = {NULL, NULL, NULL, NULL};
    vsafe_cli_keyinfo_opts_t ko = {0};
    vsafe_cli_auth_opts_t ao = {NULL, NULL, NULL};
    int wrapped = 0, done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL},    VSAFE_CLI_SECRET_OPTS("key", sec),
                                    VSAFE_CLI_KEYINFO_OPTS(ko),    {"wrapped", 0, NULL, &wrapped, NULL, NULL},
                                    {"curve", 1, &curve_s, NULL, NULL, NULL},  VSAFE_CLI_AUTH_OPTS(ao),
                                    {"host-key", 1, &key_s, NULL, NULL, NULL}, VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    vsafe_host_symkey_info_t info;
    uint8_t slot = 0;
    if ((rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFE, 0, &slot)) != 0 ||
        (rc = vsafe_cli_keyinfo(cli, &ko, &info)) != 0) {
        return rc;
    }
    info.slot = slot;
    unsigned curve = VSAFE_CURVE_P256;
    if (curve_s != NULL && !wrapped) {
        return vsafe_cli_usage_error(cli, "--curve goes with --wrapped");
    }
    if (curve_s != NULL && (curve = vsafe_cli_curve_parse(curve_s)) == VSAFE_CURVE_NONE) {
        return vsafe_cli_usage_error(cli, "--curve: '%s' is not a curve vsafe knows (%s)", curve_s, VSAFE_CLI_CURVES);
    }
    if (ao.slot != NULL && !wrapped) {
        return vsafe_cli_usage_error(cli, "--auth-slot goes with --wrapped");
    }
    if (wrapped && ko.key_len != NULL) {
        return vsafe_cli_usage_error(cli, "--key-len does not go with --wrapped: a wrapped write carries 16 key bytes "
                                     "for every type but aes256");
    }
    /* A wrapped write carries 16 key bytes for every type but AES-256 (as STSELib sends it). */
    size_t key_len = wrapped && info.key_type != VSAFE_HOST_SYM_AES256 ? 16u : vsafe_host_symkey_key_len(&info);
    if (key_len == 0 || key_len > 32u) {
        return vsafe_cli_usage_error(cli, "--key-len: %zu is not a key length (16..32)", key_len);
    }
    char what[128];
    if (wrapped && info.key_type != VSAFE_HOST_SYM_AES256) {
        snprintf(what, sizeof what, "a wrapped write of a%s %s key carries 16 bytes",
                 info.key_type == VSAFE_HOST_SYM_AES128 ? "n" : "", vsafe_cli_sym_type_name(info.key_type));
    } else if (info.key_type == VSAFE_HOST_SYM_GENERIC) {
        snprintf(what, sizeof what, "a generic key of --key-len %zu is %zu bytes", key_len, key_len);
    } else {
        snprintf(what, sizeof what, "an %s key (--type %s) is %zu bytes", vsafe_cli_sym_type_name(info.key_type),
                 vsafe_cli_sym_type_name(info.key_type), key_len);
    }
    uint8_t key[32];
    if ((rc = read_key(cli, &sec, key_len, what, key)) != 0) {
        return rc;
    }
    vsafe_cli_auth_t *as = NULL;
    const vsafe_host_auth_t *auth = NULL;
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_auth_load(cli, &ao, &as, &auth)) != 0 || (rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        vsafe_wipe(key, sizeof key);
        vsafe_cli_auth_free(as);
        return rc;
    }
    if (wrapped) {
        rc = vsafe_host_symkey_write_wrapped(cli->host, prot, curve, auth, &info, key, key_len);
    } else {
        rc = vsafe_host_symkey_write_plain(cli->host, prot, &info, key, key_len);
    }
    vsafe_wipe(key, sizeof key);
    unsigned auth_curve = as != NULL ? as->curve : VSAFE_CURVE_NONE;
    uint8_t auth_slot = auth != NULL ? auth->sig_slot : 0;
    vsafe_cli_auth_free(as);
    const char *method = wrapped ? (auth != NULL ? "wrapped-authenticated" : "wrapped") : "plaintext";
    if (rc != 0) {
        /* A refusal by the slot's control fields (a fresh slot allows nothing): say which, and how. */
        char hint[256] = "";
        uint8_t cf[3];
        uint8_t need = wrapped ? VSAFE_HOST_SYM_CTRL_WRAPPED_ANON : VSAFE_HOST_SYM_CTRL_PLAINTEXT;
        if (rc == VSAFE_DEV_STATUS(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED) && strcmp(method, "wrapped-authenticated") != 0 &&
            vsafe_host_symkey_ctrl(cli->host, slot, cf) == 0 && (cf[0] & need) == 0) {
            snprintf(hint, sizeof hint, "slot %u's provisioning control fields do not allow %s writes: vsafe symkey "
                     "ctrl --slot %u --set %s", slot, wrapped ? "wrapped" : "plaintext", slot,
                     wrapped ? "wrapped" : "plaintext");
        } else if (auth != NULL) {
            /* An authenticated write refused: the signing key may not be the slot's. */
            vsafe_cli_gpk_hint(cli, "--auth-key", ao.key, auth_curve, auth_slot, 0, NULL, hint, sizeof hint);
        }
        return vsafe_cli_fail_hint(cli, rc, hint, "write a%s %s %s key into symmetric key slot %u (%s)",
                                   article_n(info.key_type), vsafe_cli_sym_type_name(info.key_type),
                                   vsafe_cli_sym_mode_name(info.mode), slot, method);
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:s, s:s, s:o, s:s}}", "symkey_write", "slot", slot,
                                                 "key_type", vsafe_cli_sym_type_name(info.key_type), "mode",
                                                 vsafe_cli_sym_mode_name(info.mode), "usage",
                                                 vsafe_cli_sym_usage_json(info.usage), "method", method));
    }
    printf("symmetric key slot %u: %s %s key written (%s)\n", slot, vsafe_cli_sym_type_name(info.key_type),
           vsafe_cli_sym_mode_name(info.mode), method);
    return VSAFE_CLI_EXIT_OK;
}

static const char *const establish_help =
    "Establishes a key in a symmetric key slot by ECDHE with the device (0x1F 0x0B, Establish 0x1F 0x04,\n"
    "Confirm 0x1F 0x05): both sides derive it; the tool prints it (or writes it with --out). The slot's\n"
    "control fields must allow it (symkey ctrl --set ecdhe).\n"
    "  --slot N          the slot\n" VSAFE_CLI_KEYINFO_HELP
    "  --curve NAME      the ECDHE curve (default P-256)\n" VSAFE_CLI_AUTH_HELP
    "  --out F           write the key to F (mode 0600; - for stdout) instead of printing it\n"
    "  JSON: {\"symkey_establish\": {\"slot\", \"key_type\", \"mode\", \"usage\", \"key\" (without --out), \"out\"}}\n"
    VSAFE_CLI_HELP_COMMON;

static int symkey_establish(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *curve_s = NULL, *key_s = NULL, *out = NULL;
    vsafe_cli_keyinfo_opts_t ko = {0};
    vsafe_cli_auth_opts_t ao = {NULL, NULL, NULL};
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL},   VSAFE_CLI_KEYINFO_OPTS(ko),
                                    {"curve", 1, &curve_s, NULL, NULL, NULL}, VSAFE_CLI_AUTH_OPTS(ao),
                                    {"out", 1, &out, NULL, NULL, NULL},       {"host-key", 1, &key_s, NULL, NULL, NULL},
                                    VSAFE_CLI_OPT_END};
    int rc = vsafe_cli_parse(cli, argc, argv, opts, NULL, 0, 0, NULL, &done);
    if (rc != 0 || done) {
        return rc;
    }
    vsafe_host_symkey_info_t info;
    uint8_t slot = 0;
    if ((rc = vsafe_cli_parse_slot(cli, "--slot", slot_s, 0xFE, 0, &slot)) != 0 ||
        (rc = vsafe_cli_keyinfo(cli, &ko, &info)) != 0 || (rc = vsafe_cli_out_check(cli, "--out", out)) != 0) {
        return rc;
    }
    if (ko.key_len != NULL) {
        /* The establishment derives 16 key bytes for every type but AES-256, whatever was asked. */
        return vsafe_cli_usage_error(cli, "--key-len does not go with establish: an established key is 16 bytes for "
                                     "every type but aes256");
    }
    info.slot = slot;
    unsigned curve = VSAFE_CURVE_P256;
    if (curve_s != NULL && (curve = vsafe_cli_curve_parse(curve_s)) == VSAFE_CURVE_NONE) {
        return vsafe_cli_usage_error(cli, "--curve: '%s' is not a curve vsafe knows (%s)", curve_s, VSAFE_CLI_CURVES);
    }
    vsafe_cli_auth_t *as = NULL;
    const vsafe_host_auth_t *auth = NULL;
    vsafe_host_prot_t prot;
    if ((rc = vsafe_cli_auth_load(cli, &ao, &as, &auth)) != 0 || (rc = vsafe_cli_open_prot(cli, key_s, &prot)) != 0) {
        vsafe_cli_auth_free(as);
        return rc;
    }
    uint8_t key[32];
    size_t kl = 0;
    rc = vsafe_host_symkey_establish(cli->host, prot, curve, auth, &info, 1, key, sizeof key, &kl);
    unsigned auth_curve = as != NULL ? as->curve : VSAFE_CURVE_NONE;
    uint8_t auth_slot = auth != NULL ? auth->sig_slot : 0;
    vsafe_cli_auth_free(as);
    if (rc != 0) {
        char hint[256] = "";
        uint8_t cf[3];
        if (auth != NULL) {
            vsafe_cli_gpk_hint(cli, "--auth-key", ao.key, auth_curve, auth_slot, 0, NULL, hint, sizeof hint);
        } else if (rc == VSAFE_DEV_STATUS(VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED) &&
                   vsafe_host_symkey_ctrl(cli->host, slot, cf) == 0 && (cf[0] & VSAFE_HOST_SYM_CTRL_ECDHE_ANON) == 0) {
            snprintf(hint, sizeof hint, "slot %u's provisioning control fields do not allow anonymous ECDHE "
                     "establishment: vsafe symkey ctrl --slot %u --set ecdhe", slot, slot);
        }
        return vsafe_cli_fail_hint(cli, rc, hint, "establish a%s %s %s key in symmetric key slot %u",
                                   article_n(info.key_type), vsafe_cli_sym_type_name(info.key_type),
                                   vsafe_cli_sym_mode_name(info.mode), slot);
    }
    if (out != NULL && (rc = vsafe_cli_write_file(cli, "--out", out, key, kl, 1)) != 0) {
        vsafe_wipe(key, sizeof key);
        return rc;
    }
    char *hex = out == NULL ? vsafe_cli_hex(key, kl) : NULL;
    vsafe_wipe(key, sizeof key);
    if (cli->json) {
        rc = vsafe_cli_json_out(cli, json_pack("{s:{s:i, s:s, s:s, s:o, s:s?, s:s?}}", "symkey_establish", "slot", slot,
                                               "key_type", vsafe_cli_sym_type_name(info.key_type), "mode",
                                               vsafe_cli_sym_mode_name(info.mode), "usage",
                                               vsafe_cli_sym_usage_json(info.usage), "key", hex, "out", out));
    } else if (!vsafe_cli_out_is_stdout(out)) {
        printf("symmetric key slot %u: %s %s key established%s%s\n", slot, vsafe_cli_sym_type_name(info.key_type),
               vsafe_cli_sym_mode_name(info.mode), out != NULL ? ", written to " : "", out != NULL ? out : "");
        if (hex != NULL) {
            printf("%s\n", hex);
        }
    }
    if (hex != NULL) {
        vsafe_wipe(hex, strlen(hex));
        free(hex);
    }
    return rc;
}

static const char *const erase_help = "Erases a symmetric key slot (Erase symmetric key slot 0x1F 0x19); a locked key\n"
                                      "is refused, an empty slot is fine. The control fields stay.\n"
                                      "  --slot N          the slot\n"
                                      "  JSON: {\"symkey_erase\": {\"slot\"}}\n" VSAFE_CLI_HELP_COMMON;

static int symkey_erase(vsafe_cli_t *cli, int argc, char **argv)
{
    const char *slot_s = NULL, *key_s = NULL;
    int done = 0;
    const vsafe_cli_opt_t opts[] = {{"slot", 1, &slot_s, NULL, NULL, NULL}, {"host-key", 1, &key_s, NULL, NULL, NULL}, VSAFE_CLI_OPT_END};
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
    if ((rc = vsafe_host_symkey_erase(cli->host, prot, slot)) != 0) {
        return vsafe_cli_fail(cli, rc, "erase symmetric key slot %u", slot);
    }
    if (cli->json) {
        return vsafe_cli_json_out(cli, json_pack("{s:{s:i}}", "symkey_erase", "slot", slot));
    }
    printf("symmetric key slot %u erased\n", slot);
    return VSAFE_CLI_EXIT_OK;
}

static const vsafe_cli_sub_t subs[] = {
    {"table", symkey_table, "symkey table", table_help},
    {"ctrl", symkey_ctrl, "symkey ctrl [--slot N] [--set LIST|none [--wrapped-auth S] [--ecdhe-auth S] [--keep-open]]",
     ctrl_help},
    {"write", symkey_write,
     "symkey write --slot N --mode M [--type T] [--usage LIST] [--tag-len N] [--counter-offset N] "
     "[--min-mac-len N] [--key-len N] [--allow-host] [--lock L] (--key HEX|--key-file F|--key-fd N|--key-env V) "
     "[--wrapped [--curve C] [--auth-slot S --auth-key F [--auth-hash H]]]",
     write_help},
    {"establish", symkey_establish,
     "symkey establish --slot N --mode M [--type T] [--usage LIST] [--tag-len N] [--counter-offset N] "
     "[--min-mac-len N] [--key-len N] [--allow-host] [--lock L] [--curve C] [--auth-slot S --auth-key F "
     "[--auth-hash H]] [--out F]",
     establish_help},
    {"erase", symkey_erase, "symkey erase --slot N", erase_help},
};

int vsafe_cmd_symkey(vsafe_cli_t *cli, int argc, char **argv)
{
    return vsafe_cli_dispatch(cli, argc, argv, subs, sizeof subs / sizeof subs[0],
                              "Symmetric key slots: the table, provisioning control fields, plaintext and wrapped "
                              "writes, ECDHE establishment, erase.",
                              NULL);
}
