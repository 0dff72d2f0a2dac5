/* Host secure channel of the device: C-MAC verification with the sequence
 * counter, command table enforcement, command decryption, response encryption and R-MAC. A layer
 * below the dispatcher (se/channel.h): it reads the command table through se/state.h and calls
 * nothing above it.
 *
 * Invariants:
 *  1. A frame with a C-MAC is checked before anything else about it is believed. A wrong C-MAC
 *     (0x16), no key (0x0A) or a counter at its maximum (0x09) stage nothing: the counter is
 *     unchanged and no handler runs.
 *  2. A valid C-MAC stages counter+1 at SE_OFF_HK_COUNTER and sets chan->cmac/chan->counter
 *     before any later check can fail, so the core commits the advance even when the command
 *     then fails: host and device count the same commands.
 *  3. Every use of the new counter (command IV, response IV, R-MAC) takes chan->counter, the value
 *     after the increment. The counter never wraps: at 0xFFFFFFFF the slot answers 0x09 until it
 *     is provisioned again.
 *  4. The command table decides protection, never the header: AC NEVER/ADMIN, AC HOST without a
 *     C-MAC and encryption flags without a C-MAC are refused with 0x1E.
 *  5. Host keys go into the crypto port's HOST_MAC/HOST_CIPHER slots once and stay there until a
 *     reset, mount or key write clears core->host_keys_loaded; a key write changes them only
 *     after its commit, so the response to that write is still sealed with the old key.
 *  6. MAC tags are compared with vsafe_ct_equal, in constant time, and the decision is checked twice.
 *     Key temporaries (full CMAC tags, IVs) are wiped before returning; decrypted data lives only
 *     in core->plain, whose used length core->plain_len the core wipes at the end of the command.
 *  7. The frame is parsed with a cursor: header, extended code, payload, C-MAC trailer; a frame
 *     too short for the fields its header announces is 0x02.
 */
#include "se/channel.h"

#include <string.h>

#include "common/bytes.h"
#include "common/cursor.h"
#include "common/secure.h"
#include "se/layout.h"
#include "se/state.h"

#define CHAN_SUBJECT_CMAC 0x00u
#define CHAN_SUBJECT_RMAC 0x40u
#define CHAN_SUBJECT_CMD_IV 0x80u
#define CHAN_SUBJECT_RSP_IV 0xC0u

static void chan_block(uint8_t blk[16], uint32_t ctr, uint8_t subject)
{
    memset(blk, 0, 16);
    vsafe_put_be32(blk, ctr);
    blk[4] = subject;
    blk[5] = 0x80;
}

/* Loads the slot's keys into the crypto port once (invariant 5). */
static uint8_t chan_load_keys(vsafe_se_core_t *core)
{
    const vsafe_crypto_t *c = core->crypto;
    const uint8_t *img = core->image;
    if (core->host_keys_loaded) {
        return VSAFE_SE_ST_OK;
    }
    if (img[SE_OFF_HK_TYPE] > 1u) {
        return VSAFE_SE_ST_WRONG_KEY_TYPE;
    }
    size_t klen = img[SE_OFF_HK_TYPE] == 1u ? 32u : 16u;
    if (c == NULL || c->key_set(c->ctx, VSAFE_KEY_HOST_MAC, img + SE_OFF_HK_MAC_KEY, klen) != VSAFE_OK ||
        c->key_set(c->ctx, VSAFE_KEY_HOST_CIPHER, img + SE_OFF_HK_CIPHER_KEY, klen) != VSAFE_OK) {
        if (c != NULL) {
            c->key_clear(c->ctx, VSAFE_KEY_HOST_MAC);
            c->key_clear(c->ctx, VSAFE_KEY_HOST_CIPHER);
        }
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    core->host_keys_loaded = true;
    return VSAFE_SE_ST_OK;
}

/* MAC over B0 || lead || a || mid || b, truncated to 4 bytes. */
static int chan_mac(vsafe_se_core_t *core, uint32_t ctr, uint8_t subject, const uint8_t *lead, size_t lead_len,
                    const uint8_t *a, size_t a_len, const uint8_t *mid, size_t mid_len, const uint8_t *b,
                    size_t b_len, uint8_t tag[VSAFE_SE_MAC_LEN])
{
    uint8_t b0[16], full[16];
    chan_block(b0, ctr, subject);
    vsafe_iov_t iov[5] = {{b0, 16}, {lead, lead_len}, {a, a_len}, {mid, mid_len}, {b, b_len}};
    int rc = core->crypto->cmac(core->crypto->ctx, VSAFE_KEY_HOST_MAC, iov, 5, full);
    memcpy(tag, full, VSAFE_SE_MAC_LEN);
    vsafe_wipe(full, sizeof full);
    return rc;
}

static int chan_iv(vsafe_se_core_t *core, uint32_t ctr, uint8_t subject, uint8_t iv[16])
{
    uint8_t blk[16];
    chan_block(blk, ctr, subject);
    return core->crypto->aes_ecb_encrypt(core->crypto->ctx, VSAFE_KEY_HOST_CIPHER, blk, iv);
}

/* Decrypts the command payload into core->plain and strips ISO/IEC 9797-1 method 2 padding.
 * core->plain_len is set before anything is written there, so the core's end-of-command wipe
 * covers a refused decryption too. */
static uint8_t chan_decrypt(vsafe_se_core_t *core, const vsafe_se_chan_t *chan, vsafe_se_req_t *req)
{
    uint8_t iv[16];
    uint8_t st = VSAFE_SE_ST_UNEXPECTED_ERROR;
    size_t n = req->payload_len;
    if (n == 0u || n % 16u != 0u || n > sizeof core->plain) {
        return VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR;
    }
    core->plain_len = n;
    if (chan_iv(core, chan->counter, CHAN_SUBJECT_CMD_IV, iv) != VSAFE_OK ||
        core->crypto->aes_cbc(core->crypto->ctx, VSAFE_KEY_HOST_CIPHER, 0, iv, req->payload, n, core->plain) !=
            VSAFE_OK) {
        goto done;
    }
    size_t end = n;
    while (end > 0u && core->plain[end - 1u] == 0x00u) {
        end--;
    }
    if (end == 0u || core->plain[end - 1u] != 0x80u || n - (end - 1u) > 16u) {
        st = VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR;
        goto done;
    }
    req->payload = core->plain;
    req->payload_len = end - 1u;
    st = VSAFE_SE_ST_OK;
done:
    vsafe_wipe(iv, sizeof iv);
    return st;
}

/* The C-MAC of the frame under counter ctr, compared with the received one (invariant 6). */
static uint8_t chan_verify_cmac(vsafe_se_core_t *core, const uint8_t *body, const vsafe_se_req_t *req,
                                const uint8_t *payload, size_t plen, const uint8_t *cmac_rx, uint32_t ctr)
{
    uint8_t lead[5], tag[VSAFE_SE_MAC_LEN];
    uint8_t st = VSAFE_SE_ST_INVALID_C_MAC;
    size_t lead_len = 0;
    lead[lead_len++] = 0x00; /* MAC type: command */
    memcpy(lead + lead_len, body, req->hdr_len);
    lead_len += req->hdr_len;
    vsafe_put_be16(lead + lead_len, (uint16_t)plen);
    lead_len += 2u;
    if (chan_mac(core, ctr, CHAN_SUBJECT_CMAC, lead, lead_len, payload, plen, NULL, 0, NULL, 0, tag) != VSAFE_OK) {
        st = VSAFE_SE_ST_UNEXPECTED_ERROR;
    } else if (vsafe_ct_equal(tag, cmac_rx, VSAFE_SE_MAC_LEN)) {
        /* Re-checked after the branch: a single skipped comparison must not authenticate. */
        if (vsafe_ct_equal(cmac_rx, tag, VSAFE_SE_MAC_LEN)) {
            st = VSAFE_SE_ST_OK;
        }
    }
    vsafe_wipe(tag, sizeof tag);
    return st;
}

uint8_t vsafe_se_channel_open(vsafe_se_core_t *core, const uint8_t *body, size_t body_len, vsafe_se_req_t *req,
                              vsafe_se_chan_t *chan)
{
    const uint8_t *img = core->image;
    vsafe_cursor_t in = vsafe_cursor(body, body_len);
    memset(req, 0, sizeof *req);
    memset(chan, 0, sizeof *chan);
    if (!vsafe_cursor_u8(&in, &req->hdr)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    req->code = req->hdr & VSAFE_SE_HDR_CODE;
    req->hdr_len = 1;
    if (req->code == VSAFE_SE_CMD_EXTENDED) {
        if (!vsafe_cursor_u8(&in, &req->ext)) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        req->hdr_len = 2;
    }
    const uint8_t *rec = vsafe_se_state_cmd_record(core, req->code, req->ext);
    uint8_t ac = rec != NULL ? rec[2] : VSAFE_SE_CMD_AC_FREE;
    uint8_t enc = rec != NULL ? (uint8_t)(rec[3] & (VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP)) : 0u;

    if ((req->hdr & VSAFE_SE_HDR_CMAC) == 0u) {
        /* An R-MAC needs the counter a C-MAC advances: asking for one alone is malformed. */
        if ((req->hdr & VSAFE_SE_HDR_RMAC) != 0u) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        if (ac != VSAFE_SE_CMD_AC_FREE || enc != 0u) {
            return VSAFE_SE_ST_COMMAND_NOT_AUTHORIZED;
        }
        vsafe_cursor_rest(&in, &req->payload, &req->payload_len);
        return VSAFE_SE_ST_OK;
    }

    /* ---- C-MAC present (invariant 1) ---- */
    const uint8_t *cmac_rx;
    if (!vsafe_cursor_tail(&in, VSAFE_SE_MAC_LEN, &cmac_rx)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if ((req->hdr & VSAFE_SE_HDR_HOST) == 0u) {
        return VSAFE_SE_ST_SESSION_ERROR; /* "session" channel type: no such session on this device */
    }
    if (img[SE_OFF_HK_PRESENT] == 0u) {
        return VSAFE_SE_ST_KEY_NOT_FOUND;
    }
    uint32_t ctr = vsafe_get_be32(img + SE_OFF_HK_COUNTER);
    if (img[SE_OFF_HK_BLOCKED] != 0u || ctr == UINT32_MAX) {
        return VSAFE_SE_ST_C_MAC_COUNTER_MAXIMUM_REACHED;
    }
    uint8_t st = chan_load_keys(core);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    const uint8_t *payload;
    size_t plen;
    vsafe_cursor_rest(&in, &payload, &plen);
    st = chan_verify_cmac(core, body, req, payload, plen, cmac_rx, ctr);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }

    /* ---- Authenticated: the advance is earned (invariant 2) ---- */
    chan->cmac = true;
    chan->counter = ctr + 1u;
    vsafe_txn_put_u32(&core->txn, SE_OFF_HK_COUNTER, chan->counter);
    chan->rmac = (req->hdr & VSAFE_SE_HDR_RMAC) != 0u;
    req->authenticated = true;
    req->payload = payload;
    req->payload_len = plen;

    if (ac != VSAFE_SE_CMD_AC_FREE && ac != VSAFE_SE_CMD_AC_HOST) {
        return VSAFE_SE_ST_COMMAND_NOT_AUTHORIZED; /* NEVER, ADMIN (no admin session), unknown */
    }
    chan->enc_rsp = (enc & VSAFE_SE_ENC_RSP) != 0u;
    if ((enc & VSAFE_SE_ENC_CMD) != 0u) {
        return chan_decrypt(core, chan, req);
    }
    return VSAFE_SE_ST_OK;
}

uint8_t vsafe_se_channel_seal(vsafe_se_core_t *core, const vsafe_se_req_t *req, const uint8_t *body,
                              size_t body_len, const vsafe_se_chan_t *chan)
{
    uint8_t iv[16];
    uint8_t st = VSAFE_SE_ST_UNEXPECTED_ERROR;
    if (!chan->cmac) {
        return VSAFE_SE_ST_OK; /* nothing to protect: an R-MAC alone was refused at open */
    }
    if (chan->enc_rsp && core->out_len > 0u) {
        size_t n = core->out_len;
        size_t padded = (n / 16u + 1u) * 16u;
        if (padded > sizeof core->out || 1u + padded + VSAFE_SE_MAC_LEN > VSAFE_SE_FRAME_MAX) {
            st = VSAFE_SE_ST_BUFFER_LENGTH_EXCEEDED;
            goto done;
        }
        core->out_len = padded; /* from here on the padding is written */
        core->out[n] = 0x80;
        memset(core->out + n + 1u, 0, padded - n - 1u);
        if (chan_iv(core, chan->counter, CHAN_SUBJECT_RSP_IV, iv) != VSAFE_OK ||
            core->crypto->aes_cbc(core->crypto->ctx, VSAFE_KEY_HOST_CIPHER, 1, iv, core->out, padded, core->out) !=
                VSAFE_OK) {
            goto done;
        }
    }
    if (chan->rmac) {
        if (core->out_len + VSAFE_SE_MAC_LEN > sizeof core->out) {
            st = VSAFE_SE_ST_BUFFER_LENGTH_EXCEEDED;
            goto done;
        }
        size_t cmd_len = body_len - req->hdr_len - VSAFE_SE_MAC_LEN;
        size_t data_len = core->out_len;
        uint8_t lead[5], mid[3];
        size_t lead_len = 0;
        lead[lead_len++] = 0x80; /* MAC type: response */
        memcpy(lead + lead_len, body, req->hdr_len);
        lead_len += req->hdr_len;
        vsafe_put_be16(lead + lead_len, (uint16_t)cmd_len);
        lead_len += 2u;
        mid[0] = VSAFE_SE_ST_OK; /* the raw response header byte, upper bits 0 */
        vsafe_put_be16(mid + 1, (uint16_t)data_len);
        core->out_len = data_len + VSAFE_SE_MAC_LEN; /* the tag is written even if the MAC fails */
        if (chan_mac(core, chan->counter, CHAN_SUBJECT_RMAC, lead, lead_len, body + req->hdr_len, cmd_len, mid,
                     sizeof mid, core->out, data_len, core->out + data_len) != VSAFE_OK) {
            goto done;
        }
    }
    st = VSAFE_SE_ST_OK;
done:
    vsafe_wipe(iv, sizeof iv);
    return st;
}
