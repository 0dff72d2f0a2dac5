/* Command handlers of the device core and the descriptor table that dispatches to them.
 *
 * A handler takes the parsed request and a cursor over its plaintext payload (the dispatcher has
 * already checked the payload length against the command's descriptor). It stages its NVM changes
 * in core->txn, writes its response payload to core->out/out_len and returns a wire status. It
 * never writes the image directly, never calls another handler, and on return (success or not)
 * core->out_len covers every byte it wrote to core->out, so the core can wipe exactly that.
 *
 * Adding a command: one line in the descriptor table (dispatch.c) and its handler here. */
#ifndef VSAFE_SE_CMD_H
#define VSAFE_SE_CMD_H

#include "common/cursor.h"
#include "se/core.h"

typedef uint8_t (*vsafe_se_handler_t)(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);

/* One command as the dispatcher knows it. The dispatcher answers 0x04 for a (code, ext) not in
 * the table and 0x02 for a plaintext payload outside [min_len, max_len]; only then does it call
 * the handler. A command whose refusals come in an order where some other check goes before the
 * length (e.g. a permission check first) keeps wide bounds and checks the length itself, so the
 * wire answer stays what the device has always given. */
typedef struct {
    uint8_t code;       /* header command code (bits 4..0) */
    uint8_t ext;        /* extended code when code is 0x1F, else 0 */
    uint16_t min_len;   /* payload bytes, after decryption, header and MAC excluded */
    uint16_t max_len;   /* VSAFE_SE_PAYLOAD_ANY: bounded by the frame only */
    vsafe_se_handler_t handler;
} vsafe_se_cmd_desc_t;

/* No bound beyond the frame's: a frame of at most 752 bytes cannot carry more. */
#define VSAFE_SE_PAYLOAD_ANY VSAFE_SE_FRAME_MAX

/* Query (0x14) and Put attribute (0x10) subjects that live in other rooms than query.c: the
 * dispatcher routes (code, tag) here before the generic Query/Put handler, with the cursor past
 * the tag byte and the bounds counted after it. A tag not in this table goes to query.c. */
typedef struct {
    uint8_t code;       /* VSAFE_SE_CMD_QUERY or VSAFE_SE_CMD_PUT_ATTRIBUTE */
    uint8_t tag;
    uint16_t min_len;   /* payload bytes after the tag */
    uint16_t max_len;
    vsafe_se_handler_t handler;
} vsafe_se_tag_desc_t;

/* The descriptor of (code, ext), or NULL (code may carry protection bits). */
const vsafe_se_cmd_desc_t *vsafe_se_dispatch_find(uint8_t code, uint8_t ext);
/* Runs req through its descriptor: bounds, then handler. Returns a wire status. */
uint8_t vsafe_se_dispatch(vsafe_se_core_t *core, const vsafe_se_req_t *req);

/* partition.c */
uint8_t vsafe_se_cmd_read(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_update(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_decrement(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
/* query.c */
uint8_t vsafe_se_cmd_query(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_put(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
/* hostkey.c: extended 0x07, 0x0B, 0x03, 0x06, 0x08, 0x18 */
uint8_t vsafe_se_cmd_hk_write_plain(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_hk_generate_ecdhe(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_hk_start_kek(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_hk_stop_kek(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_hk_write_wrapped(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_hk_establish(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);

/* keys.c: private key slots (Query 0x14, Generate key 0x11, signatures 0x16/0x17, Establish key
 * 0x18, Decompress 1F 1A) */
uint8_t vsafe_se_cmd_query_priv_table(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_generate_key(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_sign(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_verify(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_establish_key(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_decompress(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);

/* Symmetric key services (their shared lookups: se/symslot.h).
 * hash.c: extended 0x00, 0x01, 0x02 */
uint8_t vsafe_se_cmd_hash_start(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_hash_process(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_hash_finish(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
/* symkeys.c: Query 0x23, Query / Put 0x4B, extended 0x17, 0x09, 0x04, 0x05, 0x19 */
uint8_t vsafe_se_cmd_query_sym_table(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_query_sym_ctrl(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_put_sym_ctrl(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_sym_write_plain(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_sym_write_wrapped(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_sym_establish(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_sym_confirm(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_sym_erase(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
/* aes.c: Encrypt 0x1B, Decrypt 0x1C */
uint8_t vsafe_se_cmd_encrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_decrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
/* aes.c: chunked AES, extended 0x11-0x13 (encrypt) and 0x14-0x16 (decrypt) */
uint8_t vsafe_se_cmd_aes_start_encrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_aes_process_encrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_aes_finish_encrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_aes_start_decrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_aes_process_decrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_aes_finish_decrypt(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
/* derive.c: Derive keys, extended 0x10 */
uint8_t vsafe_se_cmd_derive(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
/* mac.c: Generate MAC 0x09, Verify MAC 0x0A */
uint8_t vsafe_se_cmd_mac_generate(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_mac_verify(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
/* envelope.c: Generate key tag 0x07, Wrap 0x0E, Unwrap 0x0F, Query 0x07 */
uint8_t vsafe_se_cmd_env_generate(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_env_wrap(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_env_unwrap(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_query_env_table(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
/* password.c: Verify password 0x1A, Delete 0x0C */
uint8_t vsafe_se_cmd_password_verify(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_delete(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);

/* pubkeys.c: generic public key slots (Query 0x48 / 0x4C, Write public key 1F 0A, Put 0x4D) and
 * entity authentication (1F 0E challenge, 1F 0F verify entity signature) */
uint8_t vsafe_se_cmd_query_gpub_table(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_query_gpub_slot(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_put_gpub_flags(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_write_gpub(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_entity_challenge(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);
uint8_t vsafe_se_cmd_entity_verify(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in);

/* Payload sizes of the host-key commands that the descriptors and handlers share. */
#define VSAFE_SE_HK_CURVE_ID_LEN 10u
/* Start hash: the 11-byte hash identifier and at least one data byte. */
#define VSAFE_SE_HASH_START_MIN 12u
#define VSAFE_SE_HK_PUB_LEN 69u /* 04 00 20 X 00 20 Y */
#define VSAFE_SE_HK_START_KEK_LEN (VSAFE_SE_HK_CURVE_ID_LEN + VSAFE_SE_HK_PUB_LEN + 1u)
#define VSAFE_SE_HK_ESTABLISH_LEN (VSAFE_SE_HK_CURVE_ID_LEN + VSAFE_SE_HK_PUB_LEN + 2u)

#endif
