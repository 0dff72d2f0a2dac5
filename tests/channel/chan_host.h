/* A minimal, independent host side of the secure channel for the channel tests (C-MAC, R-MAC, sequence counter, command and response encryption):
 * builds C-MAC'd and encrypted frames, checks the response CRC and R-MAC, decrypts, and keeps the
 * sequence counter the way STSELib does (advance on every device status except 0x16 and 0x01).
 * It has its own crypto port instance, so nothing is shared with the device under test.
 *
 * Two transports: a device core driven directly (th_core_*; lets tests inspect and snapshot the
 * image) or the public I2C contract (th_se_*). */
#ifndef VSAFE_TESTS_CHAN_HOST_H
#define VSAFE_TESTS_CHAN_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "test_util.h"
#include "vsafe/se.h"

#define TH_MAC_KEY "00112233445566778899AABBCCDDEEFF"
#define TH_CIPHER_KEY "0123456789ABCDEF0123456789ABCDEF"

/* Host-side results that are not device statuses. */
#define TH_ERR_TRANSPORT (-1)
#define TH_ERR_CRC (-2)
#define TH_ERR_RMAC (-3)
#define TH_ERR_FRAME (-4)

typedef int (*th_xfer_fn)(void *ctx, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap, size_t *rsp_len);

typedef struct {
    th_xfer_fn xfer;
    void *xctx;
    vsafe_openssl_crypto_t *oc;
    const vsafe_crypto_t *c;
    size_t klen; /* 0 = no session */
    uint32_t counter;
    /* last exchange */
    uint8_t frame[VSAFE_SE_FRAME_MAX + 8];
    size_t frame_len;
    uint8_t rsp[VSAFE_SE_RSP_WIRE_MAX + 16];
    size_t rsp_len;
    uint8_t data[VSAFE_SE_FRAME_MAX + 16]; /* response payload, decrypted */
    size_t data_len;
} th_t;

/* ---- transports ---- */

static inline int th_core_xfer(void *ctx, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap, size_t *rsp_len)
{
    vsafe_se_core_t *core = ctx;
    vsafe_se_core_process(core, cmd, n);
    if (!core->have_response || core->rsp_len > cap) {
        return TH_ERR_TRANSPORT;
    }
    memcpy(rsp, core->rsp, core->rsp_len);
    *rsp_len = core->rsp_len;
    return 0;
}

static inline int th_se_xfer(void *ctx, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap, size_t *rsp_len)
{
    /* As STSELib reads: 5 bytes, then LEN + 3 bytes from byte 0 again. */
    vsafe_se_t *se = ctx;
    uint8_t first[5];
    if (vsafe_se_i2c_write(se, VSAFE_SE_DEFAULT_I2C_ADDR, cmd, n) != 0 ||
        vsafe_se_i2c_read(se, VSAFE_SE_DEFAULT_I2C_ADDR, first, 5) != 0) {
        return TH_ERR_TRANSPORT;
    }
    size_t len = (((size_t)first[1] << 8) | first[2]) + 3u;
    if (len > cap || vsafe_se_i2c_read(se, VSAFE_SE_DEFAULT_I2C_ADDR, rsp, len) != 0) {
        return TH_ERR_TRANSPORT;
    }
    *rsp_len = len;
    return 0;
}

/* A transport that answers with a fixed response (to feed tampered responses to the host). */
typedef struct {
    uint8_t rsp[VSAFE_SE_RSP_WIRE_MAX + 16];
    size_t len;
} th_canned_t;

static inline int th_canned_xfer(void *ctx, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap,
                                 size_t *rsp_len)
{
    th_canned_t *k = ctx;
    (void)cmd;
    (void)n;
    if (k->len > cap) {
        return TH_ERR_TRANSPORT;
    }
    memcpy(rsp, k->rsp, k->len);
    *rsp_len = k->len;
    return 0;
}

static inline void th_init(th_t *th, th_xfer_fn xfer, void *xctx)
{
    memset(th, 0, sizeof *th);
    th->xfer = xfer;
    th->xctx = xctx;
    if (vsafe_openssl_crypto_new(&th->oc, 99) != VSAFE_OK) {
        abort();
    }
    th->c = vsafe_openssl_crypto_port(th->oc);
}

static inline void th_free(th_t *th) { vsafe_openssl_crypto_free(th->oc); }

/* Opens a host session with the given keys (hex) and counter. */
static inline void th_session(th_t *th, const char *mac_hex, const char *cipher_hex, uint32_t counter)
{
    uint8_t k[32];
    size_t n = tu_hex(mac_hex, k, sizeof k);
    if (th->c->key_set(th->c->ctx, VSAFE_KEY_HOST_MAC, k, n) != 0) {
        abort();
    }
    n = tu_hex(cipher_hex, k, sizeof k);
    if (th->c->key_set(th->c->ctx, VSAFE_KEY_HOST_CIPHER, k, n) != 0) {
        abort();
    }
    th->klen = n;
    th->counter = counter;
}

static inline void th_block(uint8_t b[16], uint32_t ctr, uint8_t subject)
{
    memset(b, 0, 16);
    vsafe_put_be32(b, ctr);
    b[4] = subject;
    b[5] = 0x80;
}

static inline void th_mac(th_t *th, const vsafe_iov_t *iov, size_t n, uint8_t tag[4])
{
    uint8_t full[16];
    if (th->c->cmac(th->c->ctx, VSAFE_KEY_HOST_MAC, iov, n, full) != 0) {
        abort();
    }
    memcpy(tag, full, 4);
}

static inline void th_cbc(th_t *th, int enc, uint32_t ctr, uint8_t subject, uint8_t *buf, size_t n)
{
    uint8_t blk[16], iv[16];
    th_block(blk, ctr, subject);
    if (th->c->aes_ecb_encrypt(th->c->ctx, VSAFE_KEY_HOST_CIPHER, blk, iv) != 0 ||
        th->c->aes_cbc(th->c->ctx, VSAFE_KEY_HOST_CIPHER, enc, iv, buf, n, buf) != 0) {
        abort();
    }
}

/* Builds the frame into th->frame: hdr (protection bits included), ext when hdr's code is 0x1F,
 * payload (encrypted when enc_cmd), C-MAC when hdr has bit 7, CRC. */
static inline void th_build(th_t *th, uint8_t hdr, uint8_t ext, const uint8_t *payload, size_t plen, bool enc_cmd)
{
    size_t n = 0, hl;
    th->frame[n++] = hdr;
    if ((hdr & 0x1F) == 0x1F) {
        th->frame[n++] = ext;
    }
    hl = n;
    memcpy(th->frame + n, payload, plen);
    n += plen;
    if (enc_cmd) {
        size_t padded = (plen / 16 + 1) * 16;
        th->frame[n] = 0x80;
        memset(th->frame + n + 1, 0, padded - plen - 1);
        th_cbc(th, 1, th->counter + 1, 0x80, th->frame + hl, padded);
        n = hl + padded;
    }
    if (hdr & 0x80) {
        uint8_t b0[16], lead[5];
        size_t ll = 0;
        th_block(b0, th->counter, 0x00);
        lead[ll++] = 0x00;
        memcpy(lead + ll, th->frame, hl);
        ll += hl;
        vsafe_put_be16(lead + ll, (uint16_t)(n - hl));
        ll += 2;
        vsafe_iov_t iov[3] = {{b0, 16}, {lead, ll}, {th->frame + hl, n - hl}};
        th_mac(th, iov, 3, th->frame + n);
        n += 4;
    }
    th->frame_len = tu_crc(th->frame, n);
}

/* Sends th->frame as is and parses the response as the host would. Returns the device status,
 * or a TH_ERR_*. Advances the counter like STSELib for a C-MAC'd frame. */
static inline int th_send(th_t *th, bool enc_rsp)
{
    uint8_t hdr = th->frame[0];
    size_t hl = (hdr & 0x1F) == 0x1F ? 2 : 1;
    bool cmac = (hdr & 0x80) != 0, rmac = (hdr & 0x40) != 0;
    th->data_len = 0;
    if (th->xfer(th->xctx, th->frame, th->frame_len, th->rsp, sizeof th->rsp, &th->rsp_len) != 0) {
        return TH_ERR_TRANSPORT;
    }
    if (th->rsp_len < 5) {
        return TH_ERR_FRAME;
    }
    size_t len = ((size_t)th->rsp[1] << 8) | th->rsp[2];
    if (len + 3 != th->rsp_len || len < 2) {
        return TH_ERR_FRAME;
    }
    size_t body = len - 2; /* payload [+ R-MAC] */
    uint16_t crc = vsafe_crc16(th->rsp, 1);
    crc = vsafe_crc16_continue(crc, th->rsp + 3, body);
    if (crc != (uint16_t)((th->rsp[3 + body] << 8) | th->rsp[4 + body])) {
        return TH_ERR_CRC;
    }
    int status = th->rsp[0] & 0x1F;
    uint32_t ctr = th->counter;
    if (cmac && status != 0x16 && status != 0x01) {
        th->counter++;
    }
    if (status != 0) {
        return status;
    }
    if (cmac && rmac) {
        if (body < 4) {
            return TH_ERR_FRAME;
        }
        body -= 4;
        uint8_t b0[16], lead[5], mid[3], tag[4];
        size_t ll = 0;
        th_block(b0, ctr + 1, 0x40);
        lead[ll++] = 0x80;
        memcpy(lead + ll, th->frame, hl);
        ll += hl;
        size_t cmd_len = th->frame_len - 2 - 4 - hl;
        vsafe_put_be16(lead + ll, (uint16_t)cmd_len);
        ll += 2;
        mid[0] = th->rsp[0];
        vsafe_put_be16(mid + 1, (uint16_t)body);
        vsafe_iov_t iov[5] = {{b0, 16}, {lead, ll}, {th->frame + hl, cmd_len}, {mid, 3}, {th->rsp + 3, body}};
        th_mac(th, iov, 5, tag);
        if (memcmp(tag, th->rsp + 3 + body, 4) != 0) {
            return TH_ERR_RMAC;
        }
    }
    memcpy(th->data, th->rsp + 3, body);
    th->data_len = body;
    if (enc_rsp && body > 0) {
        if (body % 16 != 0) {
            return TH_ERR_FRAME;
        }
        th_cbc(th, 0, ctr + 1, 0xC0, th->data, body);
        size_t end = body;
        while (end > 0 && th->data[end - 1] == 0) {
            end--;
        }
        if (end == 0 || th->data[end - 1] != 0x80) {
            return TH_ERR_FRAME;
        }
        th->data_len = end - 1;
    }
    return 0;
}

static inline int th_cmd(th_t *th, uint8_t hdr, uint8_t ext, const uint8_t *payload, size_t plen, uint8_t enc)
{
    th_build(th, hdr, ext, payload, plen, (enc & VSAFE_SE_ENC_CMD) != 0);
    return th_send(th, (enc & VSAFE_SE_ENC_RSP) != 0);
}

static inline int th_cmd_hex(th_t *th, uint8_t hdr, uint8_t ext, const char *payload_hex, uint8_t enc)
{
    uint8_t p[VSAFE_SE_FRAME_MAX];
    size_t n = tu_hex(payload_hex, p, sizeof p);
    return th_cmd(th, hdr, ext, p, n, enc);
}

/* Query 0x47 (plain): the device's counter, or -1. */
static inline int64_t th_query_counter(th_t *th)
{
    if (th_cmd_hex(th, 0x14, 0, "47", 0) != 0 || th->data_len != 6) {
        return -1;
    }
    return vsafe_get_be32(th->data + 2);
}

/* A device core on a fresh SPL05 image (volatile unless nvm is given), for white-box tests. */
typedef struct {
    vsafe_se_core_t core;
    vsafe_openssl_crypto_t *oc;
    uint8_t *image;
    uint32_t image_len;
} th_dev_t;

static inline void th_dev_new(th_dev_t *d, const vsafe_nvm_t *nvm, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    d->image_len = vsafe_se_core_image_size(&vsafe_profile_spl05);
    d->image = calloc(1, d->image_len);
    if (d->image == NULL || vsafe_openssl_crypto_new(&d->oc, seed) != 0 ||
        vsafe_se_core_build_image(&vsafe_profile_spl05, d->image, d->image_len) != 0 ||
        vsafe_se_core_create(&d->core, nvm, vsafe_openssl_crypto_port(d->oc), d->image, d->image_len) != 0) {
        abort();
    }
}

/* Remounts from nvm (power cycle): a fresh core on the same crypto port. Returns the mount status. */
static inline int th_dev_remount(th_dev_t *d, const vsafe_nvm_t *nvm)
{
    memset(d->image, 0, d->image_len);
    return vsafe_se_core_mount(&d->core, nvm, vsafe_openssl_crypto_port(d->oc), d->image, d->image_len);
}

static inline void th_dev_free(th_dev_t *d)
{
    vsafe_openssl_crypto_free(d->oc);
    free(d->image);
}

/* Provisions the SDK's AES-128 test host keys (02_Host_key_provisioning) in plaintext (AES-128) and opens the host session at 0. */
static inline int th_provision_test_keys(th_t *th)
{
    int st = th_cmd_hex(th, 0x1F, 0x07, "000000 00 " TH_MAC_KEY " " TH_CIPHER_KEY, 0);
    if (st == 0) {
        th_session(th, TH_MAC_KEY, TH_CIPHER_KEY, 0);
    }
    return st;
}

#endif
