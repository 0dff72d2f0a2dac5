/* Host secure channel of the device (spec §6.3–§6.6, §13): C-MAC verification with the sequence
 * counter, command table enforcement, command decryption, response encryption and R-MAC, and the
 * Put attribute handlers of the tables the channel owns (0x29, 0x2A, 0x4A).
 *
 * Invariants:
 *  1. A frame with a C-MAC is checked before anything else about it is believed. A wrong C-MAC
 *     (0x16), no key (0x0A) or a counter at its maximum (0x09) stage nothing: the counter is
 *     unchanged and no handler runs.
 *  2. A valid C-MAC stages counter+1 at SE_OFF_HK_COUNTER and sets chan->cmac/chan->counter
 *     before any later check can fail, so the core commits the advance even when the command
 *     then fails (spec §6.5): host and device count the same commands.
 *  3. Every use of the new counter (command IV, response IV, R-MAC) takes chan->counter, the value
 *     after the increment. The counter never wraps: at 0xFFFFFFFF the slot answers 0x09 until it
 *     is provisioned again.
 *  4. The command table decides protection, never the header: AC NEVER/ADMIN, AC HOST without a
 *     C-MAC and encryption flags without a C-MAC are refused with 0x1E.
 *  5. Host keys go into the crypto port's HOST_MAC/HOST_CIPHER slots once and stay there until a
 *     reset, mount or key write clears core->host_keys_loaded; a key write changes them only
 *     after its commit, so the response to that write is still sealed with the old key.
 *  6. MAC tags are compared in constant time and the decision is checked twice. Decrypted data of
 *     a refused command and every key temporary are wiped before returning.
 *  7. Put 0x29 / 0x2A are one-time programmable (SDK: "the table is one-time programmable"): a
 *     successful Put clears its own change right (0x29: bit1, 0x2A: bit0), so the next answers
 *     0x11. A Put with a record count of 0 only locks. Commands absent from the table cannot be
 *     added (0x10): the table's shape is fixed by the profile.
 */
#include <string.h>

#include "se/core.h"
#include "se/layout.h"

#define CHAN_SUBJECT_CMAC 0x00u
#define CHAN_SUBJECT_RMAC 0x40u
#define CHAN_SUBJECT_CMD_IV 0x80u
#define CHAN_SUBJECT_RSP_IV 0xC0u

/* Host key control fields (Query 0x4A byte 0). */
#define HK_CTRL_CHANGE_RIGHT 0x08u

static void chan_wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n-- > 0u) {
        *v++ = 0;
    }
}

static int mac4_differs(const uint8_t *a, const uint8_t *b)
{
    volatile uint8_t d = 0;
    for (unsigned i = 0; i < VSAFE_SE_MAC_LEN; i++) {
        d |= (uint8_t)(a[i] ^ b[i]);
    }
    return d != 0;
}

static void chan_block(uint8_t blk[16], uint32_t ctr, uint8_t subject)
{
    memset(blk, 0, 16);
    se_put32(blk, ctr);
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
    chan_wipe(full, sizeof full);
    return rc;
}

static int chan_iv(vsafe_se_core_t *core, uint32_t ctr, uint8_t subject, uint8_t iv[16])
{
    uint8_t blk[16];
    chan_block(blk, ctr, subject);
    return core->crypto->aes_ecb_encrypt(core->crypto->ctx, VSAFE_KEY_HOST_CIPHER, blk, iv);
}

/* Decrypts the command payload into core->plain and strips ISO/IEC 9797-1 method 2 padding. */
static uint8_t chan_decrypt(vsafe_se_core_t *core, const vsafe_se_chan_t *chan, vsafe_se_req_t *req)
{
    uint8_t iv[16];
    size_t n = req->payload_len;
    if (n == 0u || n % 16u != 0u || n > sizeof core->plain) {
        return VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR;
    }
    if (chan_iv(core, chan->counter, CHAN_SUBJECT_CMD_IV, iv) != VSAFE_OK ||
        core->crypto->aes_cbc(core->crypto->ctx, VSAFE_KEY_HOST_CIPHER, 0, iv, req->payload, n, core->plain) !=
            VSAFE_OK) {
        chan_wipe(core->plain, n);
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    size_t end = n;
    while (end > 0u && core->plain[end - 1u] == 0x00u) {
        end--;
    }
    if (end == 0u || core->plain[end - 1u] != 0x80u || n - (end - 1u) > 16u) {
        chan_wipe(core->plain, n);
        return VSAFE_SE_ST_COMMAND_DECRYPTION_ERROR;
    }
    req->payload = core->plain;
    req->payload_len = end - 1u;
    return VSAFE_SE_ST_OK;
}

uint8_t vsafe_se_channel_open(vsafe_se_core_t *core, const uint8_t *body, size_t body_len, vsafe_se_req_t *req,
                              vsafe_se_chan_t *chan)
{
    const uint8_t *img = core->image;
    memset(req, 0, sizeof *req);
    memset(chan, 0, sizeof *chan);
    if (body_len < 1u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    req->hdr = body[0];
    req->code = body[0] & VSAFE_SE_HDR_CODE;
    req->hdr_len = 1;
    if (req->code == VSAFE_SE_CMD_EXTENDED) {
        if (body_len < 2u) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        req->ext = body[1];
        req->hdr_len = 2;
    }
    const uint8_t *rec = vsafe_se_cmd_record(core, req->code, req->ext);
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
        req->payload = body + req->hdr_len;
        req->payload_len = body_len - req->hdr_len;
        return VSAFE_SE_ST_OK;
    }

    /* ---- C-MAC present (invariant 1) ---- */
    if (body_len < (size_t)req->hdr_len + VSAFE_SE_MAC_LEN) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if ((req->hdr & VSAFE_SE_HDR_HOST) == 0u) {
        return VSAFE_SE_ST_SESSION_ERROR; /* "session" channel type: no such session on this device */
    }
    if (img[SE_OFF_HK_PRESENT] == 0u) {
        return VSAFE_SE_ST_KEY_NOT_FOUND;
    }
    uint32_t ctr = se_get32(img + SE_OFF_HK_COUNTER);
    if (img[SE_OFF_HK_BLOCKED] != 0u || ctr == UINT32_MAX) {
        return VSAFE_SE_ST_C_MAC_COUNTER_MAXIMUM_REACHED;
    }
    uint8_t st = chan_load_keys(core);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    size_t plen = body_len - req->hdr_len - VSAFE_SE_MAC_LEN;
    const uint8_t *payload = body + req->hdr_len;
    const uint8_t *cmac_rx = payload + plen;
    uint8_t lead[5], tag[VSAFE_SE_MAC_LEN];
    size_t lead_len = 0;
    lead[lead_len++] = 0x00; /* MAC type: command */
    memcpy(lead + lead_len, body, req->hdr_len);
    lead_len += req->hdr_len;
    se_put16(lead + lead_len, (uint16_t)plen);
    lead_len += 2u;
    if (chan_mac(core, ctr, CHAN_SUBJECT_CMAC, lead, lead_len, payload, plen, NULL, 0, NULL, 0, tag) != VSAFE_OK) {
        chan_wipe(tag, sizeof tag);
        return VSAFE_SE_ST_UNEXPECTED_ERROR;
    }
    if (mac4_differs(tag, cmac_rx)) {
        chan_wipe(tag, sizeof tag);
        return VSAFE_SE_ST_INVALID_C_MAC;
    }
    /* Re-checked after the branch: a single skipped comparison must not authenticate. */
    if (mac4_differs(cmac_rx, tag)) {
        chan_wipe(tag, sizeof tag);
        return VSAFE_SE_ST_INVALID_C_MAC;
    }
    chan_wipe(tag, sizeof tag);

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
                              size_t body_len, const vsafe_se_chan_t *chan, uint8_t status)
{
    uint8_t iv[16];
    if (status != VSAFE_SE_ST_OK || !chan->cmac) {
        return status;
    }
    if (chan->enc_rsp && core->out_len > 0u) {
        size_t n = core->out_len;
        size_t padded = (n / 16u + 1u) * 16u;
        if (padded > sizeof core->out || 1u + padded + VSAFE_SE_MAC_LEN > VSAFE_SE_FRAME_MAX) {
            status = VSAFE_SE_ST_BUFFER_LENGTH_EXCEEDED;
            goto fail;
        }
        core->out[n] = 0x80;
        memset(core->out + n + 1u, 0, padded - n - 1u);
        if (chan_iv(core, chan->counter, CHAN_SUBJECT_RSP_IV, iv) != VSAFE_OK ||
            core->crypto->aes_cbc(core->crypto->ctx, VSAFE_KEY_HOST_CIPHER, 1, iv, core->out, padded, core->out) !=
                VSAFE_OK) {
            status = VSAFE_SE_ST_UNEXPECTED_ERROR;
            goto fail;
        }
        core->out_len = padded;
    }
    if (chan->rmac) {
        if (core->out_len + VSAFE_SE_MAC_LEN > sizeof core->out) {
            status = VSAFE_SE_ST_BUFFER_LENGTH_EXCEEDED;
            goto fail;
        }
        size_t cmd_len = body_len - req->hdr_len - VSAFE_SE_MAC_LEN;
        uint8_t lead[5], mid[3];
        size_t lead_len = 0;
        lead[lead_len++] = 0x80; /* MAC type: response */
        memcpy(lead + lead_len, body, req->hdr_len);
        lead_len += req->hdr_len;
        se_put16(lead + lead_len, (uint16_t)cmd_len);
        lead_len += 2u;
        mid[0] = status; /* the raw response header byte: upper bits always 0 (§13) */
        se_put16(mid + 1, (uint16_t)core->out_len);
        if (chan_mac(core, chan->counter, CHAN_SUBJECT_RMAC, lead, lead_len, body + req->hdr_len, cmd_len, mid,
                     sizeof mid, core->out, core->out_len, core->out + core->out_len) != VSAFE_OK) {
            status = VSAFE_SE_ST_UNEXPECTED_ERROR;
            goto fail;
        }
        core->out_len += VSAFE_SE_MAC_LEN;
    }
    chan_wipe(iv, sizeof iv);
    return VSAFE_SE_ST_OK;

fail:
    /* Keep the core's invariant: a failed command commits only the earned counter advance. */
    chan_wipe(iv, sizeof iv);
    chan_wipe(core->out, sizeof core->out);
    core->out_len = 0;
    vsafe_txn_begin(&core->txn);
    vsafe_txn_put_u32(&core->txn, SE_OFF_HK_COUNTER, chan->counter);
    return status;
}

/* ---- Put attribute 0x29 / 0x2A (invariant 7) ---- */

uint8_t vsafe_se_put_cmd_table(vsafe_se_core_t *core, uint8_t tag, const uint8_t *value, size_t len)
{
    const uint8_t right = tag == VSAFE_SE_TAG_CMD_AC ? 0x02u : 0x01u;
    const uint32_t field = tag == VSAFE_SE_TAG_CMD_AC ? 2u : 3u;
    uint8_t cr = core->image[SE_OFF_CMD_CR];
    if (tag != VSAFE_SE_TAG_CMD_AC && tag != VSAFE_SE_TAG_CMD_ENC) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if ((cr & right) == 0u) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    if (len < 1u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    /* Pass 1 validates everything, pass 2 stages: a refused Put changes nothing. */
    for (int pass = 0; pass < 2; pass++) {
        size_t pos = 1;
        for (unsigned i = 0; i < value[0]; i++) {
            uint8_t hdr, ext = 0;
            if (pos >= len) {
                return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
            }
            hdr = value[pos++];
            if (hdr > VSAFE_SE_CMD_EXTENDED) {
                return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
            }
            if (hdr == VSAFE_SE_CMD_EXTENDED) {
                if (pos >= len) {
                    return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
                }
                ext = value[pos++];
            }
            if (pos >= len) {
                return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
            }
            uint8_t v = value[pos++];
            if (v > 3u) {
                /* ACs: only 0..3 are reported (spec §4.4); flags: two bits. */
                return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
            }
            const uint8_t *rec = vsafe_se_cmd_record(core, hdr, ext);
            if (rec == NULL) {
                return VSAFE_SE_ST_ENTRY_NOT_FOUND;
            }
            if (pass == 1) {
                vsafe_txn_put_u8(&core->txn, (uint32_t)(rec - core->image) + field, v);
            }
        }
        if (pos != len) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
    }
    vsafe_txn_put_u8(&core->txn, SE_OFF_CMD_CR, (uint8_t)(cr & ~right));
    return VSAFE_SE_ST_OK;
}

/* ---- Put attribute 0x4A: host key provisioning control fields ---- */

uint8_t vsafe_se_put_hostkey_ctrl(vsafe_se_core_t *core, const uint8_t *value, size_t len)
{
    if ((core->image[SE_OFF_HK_CTRL0] & HK_CTRL_CHANGE_RIGHT) == 0u) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    if (len != 2u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if ((value[0] & 0xF0u) != 0u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    /* The change right is one-way: once written 0 it cannot come back (no Put is accepted). */
    vsafe_txn_put_u8(&core->txn, SE_OFF_HK_CTRL0, value[0]);
    vsafe_txn_put_u8(&core->txn, SE_OFF_HK_CTRL1, value[1]);
    return VSAFE_SE_ST_OK;
}
