/* Host session layer (session.h): plain and protected exchanges, the secure channel's MACs,
 * encryption and counter, and the trace events.
 *
 * Invariants:
 *  1. C-MAC over B0(CTR, 0x00) || 00 || header as sent || LEN || payload as sent; R-MAC over
 *     B0(CTR+1, 0x40) || 80 || header || LEN || command payload || STATUS || LEN || response payload.
 *  2. The counter advances after every exchange that produced a device status except
 *     INVALID_C_MAC and COMMUNICATION_ERROR; never on a transport or frame failure.
 *  3. Nothing from a response is used before its R-MAC verified (vsafe_ct_equal).
 *  4. Stack temporaries that hold plaintext or key-derived bytes (padded command payload before
 *     encryption, derived IVs, decrypted response, full CMAC) are wiped on every exit path: each
 *     such function has one exit label, and every return after the first temporary is written
 *     goes through it. Wipes are sized to the bytes used, not to the buffers.
 *  5. Trace: one COMMAND event before each frame is written; one RESPONSE event for each response
 *     frame read. A response that fails the frame checks (LEN, CRC) is traced as read, without
 *     protection fields; a protected one that passed them is traced once the outcome is known,
 *     with the decrypted payload when there is one.
 *  6. Only the transport is called below this file; nothing above it (host.c) is. */
#include "session.h"

#include <string.h>

#include "common/bytes.h"
#include "common/secure.h"
#include "port/posix/crypto_openssl.h"

/* ---- Trace ---- */

static void on_nack(void *ctx)
{
    host_session_t *s = ctx;
    if (s->trace != NULL) {
        vsafe_host_trace_t ev = {.dir = VSAFE_HOST_TRACE_NACK};
        s->trace(s->trace_ctx, &ev);
    }
}

static void trace_command(host_session_t *s, size_t frame_len, int protected_frame, uint32_t counter,
                          const uint8_t *plain, size_t plain_len)
{
    if (s->trace != NULL) {
        vsafe_host_trace_t ev = {
            .dir = VSAFE_HOST_TRACE_COMMAND,
            .frame = s->tx,
            .len = frame_len,
            .protected_frame = protected_frame,
            .mac_counter = counter,
            .plain = plain,
            .plain_len = plain_len,
        };
        s->trace(s->trace_ctx, &ev);
    }
}

static void trace_response(host_session_t *s, size_t cmd_len, size_t rsp_wire_len, int protected_frame,
                           uint32_t counter, const uint8_t *plain, size_t plain_len)
{
    if (s->trace != NULL && rsp_wire_len > 0) {
        vsafe_host_trace_t ev = {
            .dir = VSAFE_HOST_TRACE_RESPONSE,
            .frame = s->rx,
            .len = rsp_wire_len,
            .command = s->tx,
            .command_len = cmd_len,
            .protected_frame = protected_frame,
            .mac_counter = counter,
            .plain = plain,
            .plain_len = plain_len,
        };
        s->trace(s->trace_ctx, &ev);
    }
}

/* ---- Lifetime ---- */

void host_session_init(host_session_t *s, host_transport_t *t)
{
    memset(s, 0, sizeof *s);
    s->transport = t;
    host_transport_set_nack_hook(t, on_nack, s);
}

void host_session_set_trace(host_session_t *s, vsafe_host_trace_fn fn, void *ctx)
{
    s->trace = fn;
    s->trace_ctx = ctx;
}

void host_session_wipe_frames(host_session_t *s)
{
    vsafe_wipe(s->tx, sizeof s->tx);
    vsafe_wipe(s->rx, sizeof s->rx);
}

void host_session_destroy(host_session_t *s)
{
    host_session_end(s);
    vsafe_openssl_crypto_free(s->crypto); /* wipes every slot */
    s->crypto = NULL;
    host_session_wipe_frames(s);
}

/* The session's crypto goes through the OpenSSL port (src/port/posix/crypto_openssl.c): the host
 * keys are loaded into its slots once at session start, so no context is set up per command. */
const vsafe_crypto_t *host_session_crypto(host_session_t *s)
{
    if (s->crypto == NULL && vsafe_openssl_crypto_new(&s->crypto, 0) != VSAFE_OK) {
        s->crypto = NULL;
        return NULL;
    }
    return vsafe_openssl_crypto_port(s->crypto);
}

int host_session_start(host_session_t *s, const uint8_t *mac_key, const uint8_t *cipher_key, unsigned key_type,
                       uint32_t counter)
{
    host_session_end(s);
    size_t key_len = key_type == VSAFE_HOST_KEY_AES256 ? 32u : 16u;
    const vsafe_crypto_t *c = host_session_crypto(s);
    if (c == NULL || c->key_set(c->ctx, VSAFE_KEY_HOST_MAC, mac_key, key_len) != VSAFE_OK ||
        c->key_set(c->ctx, VSAFE_KEY_HOST_CIPHER, cipher_key, key_len) != VSAFE_OK) {
        host_session_end(s);
        return VSAFE_ERR_CRYPTO;
    }
    s->key_type = key_type;
    s->key_len = key_len;
    s->mac_counter = counter;
    s->open = 1;
    return VSAFE_OK;
}

void host_session_end(host_session_t *s)
{
    if (s->crypto != NULL) {
        const vsafe_crypto_t *c = vsafe_openssl_crypto_port(s->crypto);
        c->key_clear(c->ctx, VSAFE_KEY_HOST_MAC);
        c->key_clear(c->ctx, VSAFE_KEY_HOST_CIPHER);
    }
    s->open = 0;
    s->key_len = 0;
}

/* ---- Sizes ---- */

size_t host_session_max_cmd_payload(int protect, uint8_t enc, size_t hdr_len)
{
    if (!protect) {
        return VSAFE_SE_FRAME_MAX - hdr_len;
    }
    size_t room = VSAFE_SE_FRAME_MAX - hdr_len - VSAFE_SE_MAC_LEN;
    if (enc & VSAFE_SE_ENC_CMD) {
        return (room / 16u) * 16u - 1u; /* at least one padding byte */
    }
    return room;
}

size_t host_session_max_rsp_payload(int protect, uint8_t enc)
{
    size_t room = HOST_RSP_BODY_MAX - 1u;
    if (!protect) {
        return room;
    }
    room -= VSAFE_SE_MAC_LEN;
    if (enc & VSAFE_SE_ENC_RSP) {
        return (room / 16u) * 16u - 1u;
    }
    return room;
}

/* ---- Crypto helpers ---- */

static int cmac4(const vsafe_crypto_t *c, const vsafe_iov_t *iov, size_t count, uint8_t mac[4])
{
    uint8_t full[16];
    int rc = c->cmac(c->ctx, VSAFE_KEY_HOST_MAC, iov, count, full);
    if (rc == VSAFE_OK) {
        memcpy(mac, full, 4);
    }
    vsafe_wipe(full, sizeof full);
    return rc;
}

/* B0 block of the channel: CTR, subject, 0x80, zeros. */
static void block(uint8_t b[16], uint32_t ctr, uint8_t subject)
{
    memset(b, 0, 16);
    vsafe_put_be32(b, ctr);
    b[4] = subject;
    b[5] = 0x80;
}

/* ---- Plain exchange ---- */

static int plain_transfer(host_session_t *s, const uint8_t *hdr, size_t hdr_len, const uint8_t *payload,
                          size_t payload_len, uint8_t *rsp, size_t rsp_cap, size_t *rsp_len)
{
    if (hdr_len + payload_len > VSAFE_SE_FRAME_MAX) {
        return VSAFE_ERR_FRAME_TOO_LONG;
    }
    memcpy(s->tx, hdr, hdr_len);
    if (payload_len > 0) {
        memcpy(s->tx + hdr_len, payload, payload_len);
    }
    size_t n = host_frame_seal(s->tx, hdr_len + payload_len);
    trace_command(s, n, 0, 0, NULL, 0);
    host_response_t r;
    int rc = host_transport_exchange(s->transport, s->tx, n, s->rx, sizeof s->rx, &r);
    trace_response(s, n, r.wire_len, 0, 0, NULL, 0);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (r.status != VSAFE_SE_ST_OK) {
        return VSAFE_DEV_STATUS(r.status);
    }
    if (r.body_len > rsp_cap) {
        return VSAFE_ERR_HOST_FRAME;
    }
    if (r.body_len > 0) {
        memcpy(rsp, r.body, r.body_len);
    }
    *rsp_len = r.body_len;
    return VSAFE_OK;
}

/* ---- Protected exchange ---- */

/* Removes the ISO padding (0x80 then zeros, 1..16 bytes) from len bytes; 0 on a bad padding. */
static int unpad(const uint8_t *p, size_t len, size_t *out_len)
{
    size_t k = len;
    while (k > 0 && p[k - 1] == 0x00) {
        k--;
    }
    if (k == 0 || p[k - 1] != 0x80 || len - k >= 16u) {
        return 0;
    }
    *out_len = k - 1;
    return 1;
}

static int protected_transfer(host_session_t *s, uint8_t enc, const uint8_t *hdr, size_t hdr_len,
                              const uint8_t *payload, size_t payload_len, uint8_t *rsp, size_t rsp_cap,
                              size_t *rsp_len)
{
    static const uint8_t cmd_type = 0x00, rsp_type = 0x80;
    const uint32_t ctr = s->mac_counter;
    const uint8_t sent_hdr[2] = {(uint8_t)(hdr[0] | VSAFE_SE_HDR_PROT), hdr_len > 1 ? hdr[1] : 0};
    uint8_t b[16], iv[16], mac[4], rmac[4], lenbuf[2], rlen[2];
    uint8_t body[VSAFE_SE_FRAME_MAX]; /* the command payload as sent: padded and encrypted in place */
    uint8_t plain[VSAFE_SE_FRAME_MAX]; /* decrypted response */
    size_t body_used = 0, plain_used = 0, frame_len = 0, wire_len = 0;
    const uint8_t *sent = payload; /* the payload bytes on the wire */
    size_t sent_len = payload_len;
    int traced = 0;
    int rc = VSAFE_ERR_CRYPTO;
    const vsafe_crypto_t *c = host_session_crypto(s);
    if (c == NULL) {
        goto exit;
    }

    if (enc & VSAFE_SE_ENC_CMD) {
        sent_len = (payload_len / 16u + 1u) * 16u;
        if (hdr_len + sent_len + VSAFE_SE_MAC_LEN > VSAFE_SE_FRAME_MAX) {
            rc = VSAFE_ERR_FRAME_TOO_LONG;
            goto exit;
        }
        body_used = sent_len;
        if (payload_len > 0) {
            memcpy(body, payload, payload_len);
        }
        body[payload_len] = 0x80;
        memset(body + payload_len + 1, 0, sent_len - payload_len - 1);
        block(b, ctr + 1u, 0x80);
        if ((rc = c->aes_ecb_encrypt(c->ctx, VSAFE_KEY_HOST_CIPHER, b, iv)) != VSAFE_OK ||
            (rc = c->aes_cbc(c->ctx, VSAFE_KEY_HOST_CIPHER, 1, iv, body, sent_len, body)) != VSAFE_OK) {
            goto exit;
        }
        sent = body;
    } else if (hdr_len + payload_len + VSAFE_SE_MAC_LEN > VSAFE_SE_FRAME_MAX) {
        rc = VSAFE_ERR_FRAME_TOO_LONG;
        goto exit;
    }
    vsafe_put_be16(lenbuf, (uint16_t)sent_len);
    block(b, ctr, 0x00);
    const vsafe_iov_t cparts[] = {{b, 16}, {&cmd_type, 1}, {sent_hdr, hdr_len}, {lenbuf, 2}, {sent, sent_len}};
    if ((rc = cmac4(c, cparts, 5, mac)) != VSAFE_OK) {
        goto exit;
    }
    memcpy(s->tx, sent_hdr, hdr_len);
    if (sent_len > 0) {
        memcpy(s->tx + hdr_len, sent, sent_len);
    }
    memcpy(s->tx + hdr_len + sent_len, mac, 4);
    frame_len = host_frame_seal(s->tx, hdr_len + sent_len + 4);

    trace_command(s, frame_len, 1, ctr, (enc & VSAFE_SE_ENC_CMD) ? payload : NULL, payload_len);
    host_response_t r;
    rc = host_transport_exchange(s->transport, s->tx, frame_len, s->rx, sizeof s->rx, &r);
    wire_len = r.wire_len;
    if (rc != VSAFE_OK) {
        trace_response(s, frame_len, wire_len, 0, 0, NULL, 0);
        traced = 1;
        goto exit;
    }
    if (r.status != VSAFE_SE_ST_INVALID_C_MAC && r.status != VSAFE_SE_ST_COMMUNICATION_ERROR) {
        s->mac_counter = ctr + 1u;
    }
    if (r.status != VSAFE_SE_ST_OK) {
        rc = VSAFE_DEV_STATUS(r.status);
        goto exit;
    }
    if (r.body_len < 4) {
        rc = VSAFE_ERR_HOST_FRAME;
        goto exit;
    }
    const uint8_t *rp = r.body;
    size_t rp_len = r.body_len - 4;
    vsafe_put_be16(rlen, (uint16_t)rp_len);
    block(b, ctr + 1u, 0x40);
    const vsafe_iov_t rparts[] = {{b, 16},          {&rsp_type, 1},     {sent_hdr, hdr_len}, {lenbuf, 2},
                                  {sent, sent_len}, {&r.raw_status, 1}, {rlen, 2},           {rp, rp_len}};
    if ((rc = cmac4(c, rparts, 8, rmac)) != VSAFE_OK) {
        goto exit;
    }
    if (!vsafe_ct_equal(rmac, rp + rp_len, 4)) {
        rc = VSAFE_ERR_HOST_RMAC;
        goto exit;
    }
    const uint8_t *out = rp;
    size_t out_len = rp_len;
    if ((enc & VSAFE_SE_ENC_RSP) && rp_len > 0) {
        if (rp_len % 16u != 0) {
            rc = VSAFE_ERR_HOST_FRAME;
            goto exit;
        }
        block(b, ctr + 1u, 0xC0);
        plain_used = rp_len;
        if ((rc = c->aes_ecb_encrypt(c->ctx, VSAFE_KEY_HOST_CIPHER, b, iv)) != VSAFE_OK ||
            (rc = c->aes_cbc(c->ctx, VSAFE_KEY_HOST_CIPHER, 0, iv, rp, rp_len, plain)) != VSAFE_OK) {
            goto exit;
        }
        if (!unpad(plain, rp_len, &out_len)) {
            rc = VSAFE_ERR_HOST_FRAME;
            goto exit;
        }
        out = plain;
        trace_response(s, frame_len, wire_len, 1, ctr + 1u, plain, out_len);
        traced = 1;
    }
    if (out_len > rsp_cap) {
        rc = VSAFE_ERR_HOST_FRAME;
        goto exit;
    }
    if (out_len > 0) {
        memcpy(rsp, out, out_len);
    }
    *rsp_len = out_len;
    rc = VSAFE_OK;
exit:
    if (!traced && wire_len > 0) {
        trace_response(s, frame_len, wire_len, 1, ctr + 1u, NULL, 0);
    }
    vsafe_wipe(iv, sizeof iv);
    vsafe_wipe(body, body_used);
    vsafe_wipe(plain, plain_used);
    return rc;
}

int host_session_transfer(host_session_t *s, int protect, uint8_t enc, const uint8_t *hdr, size_t hdr_len,
                          const uint8_t *payload, size_t payload_len, uint8_t *rsp, size_t rsp_cap, size_t *rsp_len)
{
    if (!protect) {
        return plain_transfer(s, hdr, hdr_len, payload, payload_len, rsp, rsp_cap, rsp_len);
    }
    if (!s->open) {
        return VSAFE_ERR_HOST_NO_SESSION;
    }
    return protected_transfer(s, enc, hdr, hdr_len, payload, payload_len, rsp, rsp_cap, rsp_len);
}
