/* The command descriptor table and the dispatcher (se/se_cmd.h), with the three commands too
 * small for a room of their own: Echo, Reset, Generate random.
 *
 * Invariants:
 *  1. A handler runs only for a (code, ext) in the command table, or a (code, tag) in the subject
 *     table, and a plaintext payload inside its descriptor's [min_len, max_len] (both
 *     descriptors' when both exist); everything else is refused here, before any handler state
 *     is touched: 0x04 for an unknown command, 0x02 for a payload of the wrong length.
 *  2. The bounds reproduce the device's wire behaviour: where a command's first refusal is its
 *     length, the bounds are exact; where another check goes first, the bounds are wide and the
 *     handler checks the length in its place (se_cmd.h).
 *  3. The dispatcher calls handlers only; handlers call below themselves only (state.c, the
 *     store, common), never the dispatcher or the core.
 */
#include <string.h>

#include "se/se_cmd.h"
#include "se/state.h"

/* DATA(...): the same bytes back. */
static uint8_t cmd_echo(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const uint8_t *p;
    size_t n;
    (void)req;
    vsafe_cursor_rest(in, &p, &n);
    memcpy(core->out, p, n);
    core->out_len = n;
    return VSAFE_SE_ST_OK;
}

/* (empty): drops the volatile session state; NVM is kept. */
static uint8_t cmd_reset(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    (void)req;
    if (!vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    vsafe_se_state_drop_sessions(core);
    return VSAFE_SE_ST_OK;
}

/* OPT(1) LENGTH(1) -> LENGTH random bytes */
static uint8_t cmd_random(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    uint8_t opt, n;
    (void)req;
    if (!vsafe_cursor_u8(in, &opt) || !vsafe_cursor_u8(in, &n) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (n == 0) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (core->crypto == NULL || core->crypto->random == NULL) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    core->out_len = n; /* covers the bytes written even if the port fails half way */
    if (core->crypto->random(core->crypto->ctx, core->out, n) != VSAFE_OK) {
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    return VSAFE_SE_ST_OK;
}

/* One line per command. The table is indexed by the command's key (the code for a standard
 * command, 32 + ext for an extended one) so that finding a descriptor costs one load; each entry
 * still names its code and extended code, and the key is computed from them. */
#define CMD_KEY(code, ext) ((code) == VSAFE_SE_CMD_EXTENDED ? 32u + (ext) : (code))
#define CMD(code, min, max, fn) [CMD_KEY(code, 0u)] = {(code), 0u, (min), (max), (fn)}
#define XCMD(ext, min, max, fn) [CMD_KEY(VSAFE_SE_CMD_EXTENDED, ext)] = {VSAFE_SE_CMD_EXTENDED, (ext), (min), (max), (fn)}
#define ANY VSAFE_SE_PAYLOAD_ANY

/* Bounds: invariant 2. Write host key plaintext and wrapped check their permission before their
 * length; Start KEK and Establish refuse a longer payload with 0x0A when it names an
 * authentication key: those keep the upper (or both) bounds open. */
static const vsafe_se_cmd_desc_t cmd_table[64] = {
    /*   code / ext                           min                        max  handler */
    CMD(VSAFE_SE_CMD_ECHO,                    0,                         ANY, cmd_echo),
    CMD(VSAFE_SE_CMD_RESET,                   0,                         0,   cmd_reset),
    CMD(VSAFE_SE_CMD_RANDOM,                  2,                         2,   cmd_random),
    CMD(VSAFE_SE_CMD_DECREMENT,               8,                         ANY, vsafe_se_cmd_decrement),
    CMD(VSAFE_SE_CMD_READ,                    6,                         6,   vsafe_se_cmd_read),
    CMD(VSAFE_SE_CMD_UPDATE,                  4,                         ANY, vsafe_se_cmd_update),
    CMD(VSAFE_SE_CMD_PUT_ATTRIBUTE,           1,                         ANY, vsafe_se_cmd_put),
    CMD(VSAFE_SE_CMD_QUERY,                   1,                         ANY, vsafe_se_cmd_query),
    CMD(0x11 /* Generate key */,              1,                         ANY, vsafe_se_cmd_generate_key),
    CMD(0x16 /* Generate signature */,        3,                         ANY, vsafe_se_cmd_sign),
    CMD(0x17 /* Verify signature */,          1,                         ANY, vsafe_se_cmd_verify),
    CMD(0x18 /* Establish key */,             1,                         ANY, vsafe_se_cmd_establish_key),
    XCMD(0x1A /* Decompress public key */,    3,                         ANY, vsafe_se_cmd_decompress),
    XCMD(0x0A /* Write generic public key */, 1,                         ANY, vsafe_se_cmd_write_gpub),
    XCMD(0x0E /* Generate challenge */,       0,                         0,   vsafe_se_cmd_entity_challenge),
    XCMD(0x0F /* Verify entity signature */,  2,                         ANY, vsafe_se_cmd_entity_verify),
    CMD(0x09 /* Generate MAC */,              3,                         ANY, vsafe_se_cmd_mac_generate),
    CMD(0x0A /* Verify MAC */,                3,                         ANY, vsafe_se_cmd_mac_verify),
    CMD(0x0C /* Delete */,                    1,                         1,   vsafe_se_cmd_delete),
    CMD(0x0E /* Wrap local envelope */,       1,                         ANY, vsafe_se_cmd_env_wrap),
    CMD(0x0F /* Unwrap local envelope */,     1,                         ANY, vsafe_se_cmd_env_unwrap),
    CMD(VSAFE_SE_CMD_VERIFY_PASSWORD,         16,                        16,  vsafe_se_cmd_password_verify),
    CMD(0x1B /* Encrypt */,                   2,                         ANY, vsafe_se_cmd_encrypt),
    CMD(0x1C /* Decrypt */,                   2,                         ANY, vsafe_se_cmd_decrypt),
    XCMD(0x10 /* Derive keys */,              1,                         ANY, vsafe_se_cmd_derive),
    XCMD(0x11 /* Start encrypt (chunks) */,   1,                         ANY, vsafe_se_cmd_aes_start_encrypt),
    XCMD(0x12 /* Process encrypt */,          0,                         ANY, vsafe_se_cmd_aes_process_encrypt),
    XCMD(0x13 /* Finish encrypt */,           0,                         ANY, vsafe_se_cmd_aes_finish_encrypt),
    XCMD(0x14 /* Start decrypt (chunks) */,   1,                         ANY, vsafe_se_cmd_aes_start_decrypt),
    XCMD(0x15 /* Process decrypt */,          0,                         ANY, vsafe_se_cmd_aes_process_decrypt),
    XCMD(0x16 /* Finish decrypt */,           0,                         ANY, vsafe_se_cmd_aes_finish_decrypt),
    XCMD(0x00 /* Start hash */,               VSAFE_SE_HASH_START_MIN,   ANY, vsafe_se_cmd_hash_start),
    XCMD(0x01 /* Process hash */,             1,                         ANY, vsafe_se_cmd_hash_process),
    XCMD(0x02 /* Finish hash */,              0,                         ANY, vsafe_se_cmd_hash_finish),
    XCMD(0x04 /* Establish symmetric keys */, 2,                         ANY, vsafe_se_cmd_sym_establish),
    XCMD(0x05 /* Confirm symmetric keys */,   0,                         ANY, vsafe_se_cmd_sym_confirm),
    XCMD(0x09 /* Write symmetric key wrapped */, 0,                      ANY, vsafe_se_cmd_sym_write_wrapped),
    XCMD(0x17 /* Write symmetric key plaintext */, 2,                    ANY, vsafe_se_cmd_sym_write_plain),
    XCMD(0x19 /* Erase symmetric key slot */, 1,                         1,   vsafe_se_cmd_sym_erase),
    XCMD(VSAFE_SE_EXT_START_KEK,              VSAFE_SE_HK_START_KEK_LEN, ANY, vsafe_se_cmd_hk_start_kek),
    XCMD(VSAFE_SE_EXT_STOP_KEK,               0,                         0,   vsafe_se_cmd_hk_stop_kek),
    XCMD(VSAFE_SE_EXT_WRITE_HOST_KEY_PLAIN,   0,                         ANY, vsafe_se_cmd_hk_write_plain),
    XCMD(VSAFE_SE_EXT_WRITE_HOST_KEY_WRAPPED, 0,                         ANY, vsafe_se_cmd_hk_write_wrapped),
    XCMD(VSAFE_SE_EXT_GENERATE_ECDHE,         2,                         11,  vsafe_se_cmd_hk_generate_ecdhe),
    XCMD(VSAFE_SE_EXT_ESTABLISH_HOST_KEY,     VSAFE_SE_HK_ESTABLISH_LEN, ANY, vsafe_se_cmd_hk_establish),
};

/* Query / Put / Generate key subjects of the key-service rooms (se_cmd.h); bounds after the tag
 * byte. */
#define DISPATCH_GENERATE_KEY 0x11u
#define QTAG(tag, min, max, fn) {VSAFE_SE_CMD_QUERY, (tag), (min), (max), (fn)}
#define PTAG(tag, min, max, fn) {VSAFE_SE_CMD_PUT_ATTRIBUTE, (tag), (min), (max), (fn)}
#define GTAG(tag, min, max, fn) {DISPATCH_GENERATE_KEY, (tag), (min), (max), (fn)}
static const vsafe_se_tag_desc_t tag_table[] = {
    QTAG(0x14, 0, 0, vsafe_se_cmd_query_priv_table),
    QTAG(0x48, 0, 0, vsafe_se_cmd_query_gpub_table),
    QTAG(0x4C, 1, 1, vsafe_se_cmd_query_gpub_slot),
    PTAG(0x4D, 3, 3, vsafe_se_cmd_put_gpub_flags),
    QTAG(0x07, 0, 0, vsafe_se_cmd_query_env_table),
    QTAG(0x23, 0, 0, vsafe_se_cmd_query_sym_table),
    QTAG(0x4B, 1, 1, vsafe_se_cmd_query_sym_ctrl),
    PTAG(0x4B, 4, 4, vsafe_se_cmd_put_sym_ctrl),
    GTAG(0x07, 2, 2, vsafe_se_cmd_env_generate),
};
#undef GTAG
#undef PTAG
#undef QTAG

#undef ANY
#undef XCMD
#undef CMD

static const vsafe_se_tag_desc_t *tag_find(const vsafe_se_req_t *req)
{
    uint8_t code = req->code & VSAFE_SE_HDR_CODE;
    if ((code != VSAFE_SE_CMD_QUERY && code != VSAFE_SE_CMD_PUT_ATTRIBUTE && code != DISPATCH_GENERATE_KEY) ||
        req->payload_len == 0u) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof tag_table / sizeof tag_table[0]; i++) {
        if (tag_table[i].code == code && tag_table[i].tag == req->payload[0]) {
            return &tag_table[i];
        }
    }
    return NULL;
}

const vsafe_se_cmd_desc_t *vsafe_se_dispatch_find(uint8_t code, uint8_t ext)
{
    code &= VSAFE_SE_HDR_CODE;
    if (code == VSAFE_SE_CMD_EXTENDED && ext >= 32u) {
        return NULL; /* no extended code above 0x1F exists */
    }
    const vsafe_se_cmd_desc_t *d = &cmd_table[CMD_KEY(code, ext)];
    return d->handler != NULL ? d : NULL;
}

uint8_t vsafe_se_dispatch(vsafe_se_core_t *core, const vsafe_se_req_t *req)
{
    const vsafe_se_cmd_desc_t *d = vsafe_se_dispatch_find(req->code, req->ext);
    const vsafe_se_tag_desc_t *t = tag_find(req);
    if (d == NULL && t == NULL) { /* an empty slot of the tables */
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    if (d != NULL && (req->payload_len < d->min_len || req->payload_len > d->max_len)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    vsafe_cursor_t in = vsafe_cursor(req->payload, req->payload_len);
    if (t != NULL) {
        size_t n = req->payload_len - 1u;
        if (n < t->min_len || n > t->max_len) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        uint8_t tag;
        if (!vsafe_cursor_u8(&in, &tag)) { /* payload_len >= 1: always taken */
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        return t->handler(core, req, &in);
    }
    return d->handler(core, req, &in);
}

#undef CMD_KEY
