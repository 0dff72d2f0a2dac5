/* Host library, key services part 3 (services.h): hash, AES (ECB, CCM* and GCM one-shot and
 * chunked, GMAC), MAC generate/verify, Derive keys, local envelopes, password.
 *
 * Invariants:
 *  1. Responses are parsed against their exact layout (with the cursor of common/cursor.h, or as
 *     one length known before any byte is read); anything else is VSAFE_ERR_HOST_FRAME and no
 *     output is written.
 *  2. The device chooses the AES mode from the slot; the host lays the frame out for the mode the
 *     caller names, so a mode that disagrees with the slot is refused by the device (or fails the
 *     response length check), never silently reinterpreted.
 *  3. Plaintext, derived keys and unwrapped payloads pass through stack buffers that are wiped on
 *     every exit path, sized to the bytes used; command buffers that carried plaintext too. */
#include <string.h>

#include "common/bytes.h"
#include "common/cursor.h"
#include "common/secure.h"
#include "services.h"

static const uint8_t HDR_X[1] = {VSAFE_SE_CMD_EXTENDED};

static int ext(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t code, const uint8_t *p, size_t n, uint8_t *rsp,
               size_t cap, size_t *len)
{
    const uint8_t hdr[2] = {HDR_X[0], code};
    return svc_transfer(h, prot, 0, hdr, 2, p, n, rsp, cap, len);
}

/* ---- Hash ---- */

int vsafe_host_hash_start(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned alg, const uint8_t *data, size_t len)
{
    const uint8_t *id = svc_hash_id(alg);
    if (h == NULL || id == NULL || data == NULL || len == 0 || len > VSAFE_SE_FRAME_MAX - 2u - SVC_HASH_ID_LEN) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t p[VSAFE_SE_FRAME_MAX];
    memcpy(p, id, SVC_HASH_ID_LEN);
    memcpy(p + SVC_HASH_ID_LEN, data, len);
    const uint8_t hdr[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_HASH_START};
    int rc = svc_status_only(h, prot, 0, hdr, 2, p, SVC_HASH_ID_LEN + len);
    vsafe_wipe(p + SVC_HASH_ID_LEN, len);
    return rc;
}

int vsafe_host_hash_process(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *data, size_t len)
{
    if (h == NULL || data == NULL || len == 0) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_HASH_PROCESS};
    return svc_status_only(h, prot, 0, hdr, 2, data, len);
}

int vsafe_host_hash_finish(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned alg, const uint8_t *data, size_t len,
                           uint8_t *digest, size_t digest_cap, size_t *digest_len)
{
    size_t size = vsafe_host_hash_size(alg);
    if (h == NULL || size == 0 || (data == NULL && len > 0) || digest == NULL || digest_len == NULL ||
        digest_cap < size) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t rsp[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = ext(h, prot, SVC_EXT_HASH_FINISH, data, len, rsp, sizeof rsp, &n);
    if (rc != VSAFE_OK) {
        return rc;
    }
    vsafe_cursor_t c = vsafe_cursor(rsp, n);
    const uint8_t *d = NULL;
    uint16_t dl = 0;
    if (!vsafe_cursor_be16(&c, &dl) || dl != size || !vsafe_cursor_bytes(&c, size, &d) || !vsafe_cursor_at_end(&c)) {
        return VSAFE_ERR_HOST_FRAME;
    }
    memcpy(digest, d, size);
    *digest_len = size;
    return VSAFE_OK;
}

/* STSELib's chunk limit: 752 - CRC (2) - 1 = 749 payload bytes after the extended header, of which
 * Start spends 11 on the hash identifier. */
#define HASH_CHUNK 749u

int vsafe_host_hash(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned alg, const uint8_t *data, size_t len,
                    uint8_t *digest, size_t digest_cap, size_t *digest_len)
{
    if (h == NULL || data == NULL || len == 0) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[2] = {VSAFE_SE_CMD_EXTENDED, SVC_EXT_HASH_START};
    size_t room = host_max_cmd_payload(h, prot, hdr, 2);
    size_t chunk = room < HASH_CHUNK ? room : HASH_CHUNK;
    size_t first = chunk - SVC_HASH_ID_LEN;
    size_t n = len < first ? len : first;
    int rc = vsafe_host_hash_start(h, prot, alg, data, n);
    for (size_t done = n; rc == VSAFE_OK && done < len; done += n) {
        n = len - done < chunk ? len - done : chunk;
        rc = vsafe_host_hash_process(h, prot, data + done, n);
    }
    if (rc != VSAFE_OK) {
        return rc;
    }
    return vsafe_host_hash_finish(h, prot, alg, NULL, 0, digest, digest_cap, digest_len);
}

/* ---- AES ---- */

int vsafe_host_aes_ecb(vsafe_host_t *h, vsafe_host_prot_t prot, int encrypt, uint8_t slot, const uint8_t *in,
                       size_t len, uint8_t *out)
{
    if (h == NULL || in == NULL || out == NULL || len == 0 || len % 16u != 0 || len > VSAFE_SE_FRAME_MAX - 3u) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {encrypt ? SVC_CMD_ENCRYPT : SVC_CMD_DECRYPT};
    uint8_t p[VSAFE_SE_FRAME_MAX], rsp[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    p[0] = 0x02;
    p[1] = slot;
    memcpy(p + 2, in, len);
    int rc = svc_transfer(h, prot, 0, hdr, 1, p, 2 + len, rsp, sizeof rsp, &n);
    if (rc == VSAFE_OK && n != len) {
        rc = VSAFE_ERR_HOST_FRAME;
    }
    if (rc == VSAFE_OK) {
        memcpy(out, rsp, len);
    }
    vsafe_wipe(p + 2, len);
    vsafe_wipe(rsp, rc == VSAFE_OK || rc == VSAFE_ERR_HOST_FRAME ? n : 0);
    return rc;
}

static int aead_args(const vsafe_host_aead_t *a, int one_shot)
{
    if (a == NULL || (a->aad == NULL && a->aad_len > 0) || a->aad_len > 0xFFFFu || a->nonce == NULL ||
        a->nonce_len == 0 || a->nonce_len > 0xFFFFu || a->tag_len > 16u) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (a->mode == VSAFE_AEAD_CCM) {
        if (one_shot ? a->nonce_len != 13u : (a->nonce_len < 7u || a->nonce_len > 13u)) {
            return VSAFE_ERR_ARGUMENT;
        }
        return VSAFE_OK;
    }
    return a->mode == VSAFE_AEAD_GCM ? VSAFE_OK : VSAFE_ERR_ARGUMENT;
}

/* Writes n bytes of src at p[*i], failing when the command would not fit. */
static int put(uint8_t *p, size_t cap, size_t *i, const uint8_t *src, size_t n)
{
    if (n > cap - *i) {
        return VSAFE_ERR_FRAME_TOO_LONG;
    }
    if (n > 0) {
        memcpy(p + *i, src, n);
    }
    *i += n;
    return VSAFE_OK;
}

static int put16(uint8_t *p, size_t cap, size_t *i, size_t v)
{
    uint8_t b[2];
    if (v > 0xFFFFu) {
        return VSAFE_ERR_ARGUMENT;
    }
    vsafe_put_be16(b, (uint16_t)v);
    return put(p, cap, i, b, 2);
}

/* The one-shot frame after the sub-command: SLOT, then for CCM* NONCE(13) AAD_LEN AAD LEN, for GCM
 * IV_LEN IV AAD_LEN AAD LEN; then DATA (and the tag). len_field is the LEN value to send. */
static int oneshot_frame(const vsafe_host_aead_t *a, size_t len_field, const uint8_t *data, size_t len,
                         const uint8_t *tag, size_t tag_len, uint8_t *p, size_t cap, size_t *out_len)
{
    size_t i = 0;
    int rc;
    p[i++] = 0x02;
    p[i++] = a->slot;
    if (a->mode == VSAFE_AEAD_GCM && (rc = put16(p, cap, &i, a->nonce_len)) != VSAFE_OK) {
        return rc;
    }
    if ((rc = put(p, cap, &i, a->nonce, a->nonce_len)) != VSAFE_OK || (rc = put16(p, cap, &i, a->aad_len)) != VSAFE_OK ||
        (rc = put(p, cap, &i, a->aad, a->aad_len)) != VSAFE_OK || (rc = put16(p, cap, &i, len_field)) != VSAFE_OK ||
        (rc = put(p, cap, &i, data, len)) != VSAFE_OK || (rc = put(p, cap, &i, tag, tag_len)) != VSAFE_OK) {
        return rc;
    }
    *out_len = i;
    return VSAFE_OK;
}

/* CTR_PRESENT(1) [COUNTER(4)] at p[0..n): exactly one or five bytes (five when always_counter). */
static int ccm_counter(const uint8_t *p, size_t n, int always_counter, vsafe_host_ccm_ctr_t *ctr)
{
    vsafe_cursor_t c = vsafe_cursor(p, n);
    uint8_t present = 0;
    uint32_t counter = 0;
    if (!vsafe_cursor_u8(&c, &present) || present > 1 ||
        ((always_counter || present == 1) && !vsafe_cursor_be32(&c, &counter)) || !vsafe_cursor_at_end(&c)) {
        return VSAFE_ERR_HOST_FRAME;
    }
    if (ctr != NULL) {
        ctr->present = present;
        ctr->counter = counter;
    }
    return VSAFE_OK;
}

int vsafe_host_aead_encrypt(vsafe_host_t *h, vsafe_host_prot_t prot, const vsafe_host_aead_t *a, const uint8_t *in,
                            size_t len, uint8_t *out, uint8_t *tag, vsafe_host_ccm_ctr_t *ctr)
{
    if (h == NULL || aead_args(a, 1) != VSAFE_OK || (in == NULL && len > 0) || (out == NULL && len > 0) ||
        (tag == NULL && a->tag_len > 0)) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {SVC_CMD_ENCRYPT};
    uint8_t p[VSAFE_SE_FRAME_MAX], rsp[VSAFE_SE_FRAME_MAX];
    size_t plen = 0, n = 0;
    int rc = oneshot_frame(a, len, in, len, NULL, 0, p, VSAFE_SE_FRAME_MAX - 1u, &plen);
    if (rc == VSAFE_OK) {
        rc = svc_transfer(h, prot, 0, hdr, 1, p, plen, rsp, sizeof rsp, &n);
    }
    size_t used = rc == VSAFE_OK ? n : 0;
    vsafe_host_ccm_ctr_t c = {0};
    if (rc == VSAFE_OK) {
        if (n < len + a->tag_len) {
            rc = VSAFE_ERR_HOST_FRAME;
        } else if (a->mode == VSAFE_AEAD_CCM) {
            rc = ccm_counter(rsp + len + a->tag_len, n - len - a->tag_len, 0, &c);
        } else if (n != len + a->tag_len) {
            rc = VSAFE_ERR_HOST_FRAME;
        }
    }
    if (rc == VSAFE_OK) {
        if (len > 0) {
            memcpy(out, rsp, len);
        }
        if (a->tag_len > 0) {
            memcpy(tag, rsp + len, a->tag_len);
        }
        if (ctr != NULL) {
            *ctr = c;
        }
    }
    vsafe_wipe(p, plen);
    vsafe_wipe(rsp, used);
    return rc;
}

/* VERIFIED(1) PLAINTEXT(len): out written only when verified. */
static int verified_output(const uint8_t *rsp, size_t n, size_t len, uint8_t *out, int *verified)
{
    if (n != 1u + len || rsp[0] > 1) {
        return VSAFE_ERR_HOST_FRAME;
    }
    *verified = rsp[0];
    if (rsp[0] == 1 && len > 0) {
        memcpy(out, rsp + 1, len);
    }
    return VSAFE_OK;
}

int vsafe_host_aead_decrypt(vsafe_host_t *h, vsafe_host_prot_t prot, const vsafe_host_aead_t *a, const uint8_t *in,
                            size_t len, const uint8_t *tag, uint8_t *out, int *verified)
{
    if (verified != NULL) {
        *verified = 0;
    }
    if (h == NULL || verified == NULL || aead_args(a, 1) != VSAFE_OK || (in == NULL && len > 0) ||
        (out == NULL && len > 0) || (tag == NULL && a->tag_len > 0)) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {SVC_CMD_DECRYPT};
    uint8_t p[VSAFE_SE_FRAME_MAX], rsp[VSAFE_SE_FRAME_MAX];
    size_t plen = 0, n = 0;
    /* CCM*: the length field counts the tag; GCM: it does not. */
    size_t len_field = a->mode == VSAFE_AEAD_CCM ? len + a->tag_len : len;
    int rc = oneshot_frame(a, len_field, in, len, tag, a->tag_len, p, VSAFE_SE_FRAME_MAX - 1u, &plen);
    if (rc == VSAFE_OK) {
        rc = svc_transfer(h, prot, 0, hdr, 1, p, plen, rsp, sizeof rsp, &n);
    }
    size_t used = rc == VSAFE_OK ? n : 0;
    if (rc == VSAFE_OK) {
        rc = verified_output(rsp, n, len, out, verified);
    }
    vsafe_wipe(rsp, used);
    return rc;
}

int vsafe_host_gmac_compute(vsafe_host_t *h, vsafe_host_prot_t prot, const vsafe_host_aead_t *a, uint8_t *tag)
{
    if (a == NULL || a->mode != VSAFE_AEAD_GCM || a->tag_len == 0) {
        return VSAFE_ERR_ARGUMENT;
    }
    return vsafe_host_aead_encrypt(h, prot, a, NULL, 0, NULL, tag, NULL);
}

int vsafe_host_gmac_verify(vsafe_host_t *h, vsafe_host_prot_t prot, const vsafe_host_aead_t *a, const uint8_t *tag,
                           int *verified)
{
    if (verified != NULL) {
        *verified = 0;
    }
    if (a == NULL || a->mode != VSAFE_AEAD_GCM || a->tag_len == 0) {
        return VSAFE_ERR_ARGUMENT;
    }
    return vsafe_host_aead_decrypt(h, prot, a, NULL, 0, tag, NULL, verified);
}

/* ---- Chunked AEAD ---- */

int vsafe_host_aead_start(vsafe_host_t *h, vsafe_host_prot_t prot, int encrypt, const vsafe_host_aead_t *a,
                          size_t total_aad, size_t total_len, const uint8_t *in, size_t len, uint8_t *out,
                          vsafe_host_ccm_ctr_t *ctr)
{
    if (h == NULL || aead_args(a, 0) != VSAFE_OK || (in == NULL && len > 0) || (out == NULL && len > 0) ||
        (a->mode == VSAFE_AEAD_CCM && (total_aad > 0xFFFFu || total_len > 0xFFFFu || total_aad < a->aad_len ||
                                       total_len < len))) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t p[VSAFE_SE_FRAME_MAX], rsp[VSAFE_SE_FRAME_MAX];
    size_t i = 0, n = 0, cap = VSAFE_SE_FRAME_MAX - 2u;
    int rc;
    p[i++] = a->slot;
    if ((rc = put16(p, cap, &i, a->nonce_len)) != VSAFE_OK || (rc = put(p, cap, &i, a->nonce, a->nonce_len)) != VSAFE_OK) {
        return rc;
    }
    if (a->mode == VSAFE_AEAD_CCM) {
        uint8_t tot[4];
        vsafe_put_be32(tot, (uint32_t)total_len);
        if ((rc = put16(p, cap, &i, total_aad)) != VSAFE_OK || (rc = put(p, cap, &i, tot, 4)) != VSAFE_OK) {
            return rc;
        }
    }
    if ((rc = put16(p, cap, &i, a->aad_len)) != VSAFE_OK || (rc = put(p, cap, &i, a->aad, a->aad_len)) != VSAFE_OK ||
        (rc = put16(p, cap, &i, len)) != VSAFE_OK || (rc = put(p, cap, &i, in, len)) != VSAFE_OK) {
        vsafe_wipe(p, i);
        return rc;
    }
    rc = ext(h, prot, encrypt ? SVC_EXT_START_ENCRYPT : SVC_EXT_START_DECRYPT, p, i, rsp, sizeof rsp, &n);
    size_t used = rc == VSAFE_OK ? n : 0;
    vsafe_host_ccm_ctr_t c = {0};
    if (rc == VSAFE_OK) {
        /* CCM* Start encrypt: CIPHERTEXT CTR_PRESENT COUNTER(4), the counter always sent. */
        if (encrypt && a->mode == VSAFE_AEAD_CCM) {
            rc = n < len ? VSAFE_ERR_HOST_FRAME : ccm_counter(rsp + len, n - len, 1, &c);
        } else if (n != len) {
            rc = VSAFE_ERR_HOST_FRAME;
        }
    }
    if (rc == VSAFE_OK) {
        if (len > 0) {
            memcpy(out, rsp, len);
        }
        if (ctr != NULL) {
            *ctr = c;
        }
    }
    vsafe_wipe(p, i);
    vsafe_wipe(rsp, used);
    return rc;
}

/* AAD_LEN AAD LEN DATA [TAG] of Process and Finish. */
static int chunk_frame(const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, const uint8_t *tag,
                       size_t tag_len, uint8_t *p, size_t *plen)
{
    size_t i = 0, cap = VSAFE_SE_FRAME_MAX - 2u;
    int rc;
    if ((aad == NULL && aad_len > 0) || (in == NULL && len > 0)) {
        return VSAFE_ERR_ARGUMENT;
    }
    if ((rc = put16(p, cap, &i, aad_len)) != VSAFE_OK || (rc = put(p, cap, &i, aad, aad_len)) != VSAFE_OK ||
        (rc = put16(p, cap, &i, len)) != VSAFE_OK || (rc = put(p, cap, &i, in, len)) != VSAFE_OK ||
        (rc = put(p, cap, &i, tag, tag_len)) != VSAFE_OK) {
        vsafe_wipe(p, i);
        return rc;
    }
    *plen = i;
    return VSAFE_OK;
}

int vsafe_host_aead_process(vsafe_host_t *h, vsafe_host_prot_t prot, int encrypt, const uint8_t *aad,
                            size_t aad_len, const uint8_t *in, size_t len, uint8_t *out)
{
    if (h == NULL || (out == NULL && len > 0)) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t p[VSAFE_SE_FRAME_MAX], rsp[VSAFE_SE_FRAME_MAX];
    size_t plen = 0, n = 0;
    int rc = chunk_frame(aad, aad_len, in, len, NULL, 0, p, &plen);
    if (rc != VSAFE_OK) {
        return rc;
    }
    rc = ext(h, prot, encrypt ? SVC_EXT_PROCESS_ENCRYPT : SVC_EXT_PROCESS_DECRYPT, p, plen, rsp, sizeof rsp, &n);
    size_t used = rc == VSAFE_OK ? n : 0;
    if (rc == VSAFE_OK && n != len) {
        rc = VSAFE_ERR_HOST_FRAME;
    }
    if (rc == VSAFE_OK && len > 0) {
        memcpy(out, rsp, len);
    }
    vsafe_wipe(p, plen);
    vsafe_wipe(rsp, used);
    return rc;
}

int vsafe_host_aead_finish_encrypt(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *aad, size_t aad_len,
                                   const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag, size_t tag_len)
{
    if (h == NULL || (out == NULL && len > 0) || (tag == NULL && tag_len > 0) || tag_len > 16u) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t p[VSAFE_SE_FRAME_MAX], rsp[VSAFE_SE_FRAME_MAX];
    size_t plen = 0, n = 0;
    int rc = chunk_frame(aad, aad_len, in, len, NULL, 0, p, &plen);
    if (rc != VSAFE_OK) {
        return rc;
    }
    rc = ext(h, prot, SVC_EXT_FINISH_ENCRYPT, p, plen, rsp, sizeof rsp, &n);
    size_t used = rc == VSAFE_OK ? n : 0;
    if (rc == VSAFE_OK && n != len + tag_len) {
        rc = VSAFE_ERR_HOST_FRAME;
    }
    if (rc == VSAFE_OK) {
        if (len > 0) {
            memcpy(out, rsp, len);
        }
        if (tag_len > 0) {
            memcpy(tag, rsp + len, tag_len);
        }
    }
    vsafe_wipe(p, plen);
    vsafe_wipe(rsp, used);
    return rc;
}

int vsafe_host_aead_finish_decrypt(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *aad, size_t aad_len,
                                   const uint8_t *in, size_t len, const uint8_t *tag, size_t tag_len, uint8_t *out,
                                   int *verified)
{
    if (verified != NULL) {
        *verified = 0;
    }
    if (h == NULL || verified == NULL || (out == NULL && len > 0) || (tag == NULL && tag_len > 0) || tag_len > 16u) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t p[VSAFE_SE_FRAME_MAX], rsp[VSAFE_SE_FRAME_MAX];
    size_t plen = 0, n = 0;
    int rc = chunk_frame(aad, aad_len, in, len, tag, tag_len, p, &plen);
    if (rc != VSAFE_OK) {
        return rc;
    }
    rc = ext(h, prot, SVC_EXT_FINISH_DECRYPT, p, plen, rsp, sizeof rsp, &n);
    size_t used = rc == VSAFE_OK ? n : 0;
    if (rc == VSAFE_OK) {
        rc = verified_output(rsp, n, len, out, verified);
    }
    vsafe_wipe(rsp, used);
    return rc;
}

/* ---- MAC ---- */

int vsafe_host_mac_generate(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, const uint8_t *msg,
                            size_t msg_len, uint8_t *mac, size_t mac_len)
{
    if (h == NULL || (msg == NULL && msg_len > 0) || msg_len > 255u || mac == NULL || mac_len == 0 ||
        mac_len > 255u) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {SVC_CMD_GENERATE_MAC};
    uint8_t p[3 + 255]; /* not zero-initialised: only the 3 + msg_len bytes written are sent */
    p[0] = 0x03, p[1] = slot, p[2] = (uint8_t)mac_len;
    if (msg_len > 0) {
        memcpy(p + 3, msg, msg_len);
    }
    uint8_t rsp[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    int rc = svc_transfer(h, prot, 0, hdr, 1, p, 3 + msg_len, rsp, sizeof rsp, &n);
    if (rc == VSAFE_OK && n != mac_len) {
        rc = VSAFE_ERR_HOST_FRAME;
    }
    if (rc == VSAFE_OK) {
        memcpy(mac, rsp, mac_len);
    }
    vsafe_wipe(p + 3, msg_len);
    return rc;
}

int vsafe_host_mac_verify(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, const uint8_t *mac, size_t mac_len,
                          const uint8_t *msg, size_t msg_len, int *verified)
{
    if (verified != NULL) {
        *verified = 0;
    }
    if (h == NULL || verified == NULL || mac == NULL || mac_len == 0 || mac_len > 255u ||
        (msg == NULL && msg_len > 0) || 3u + mac_len + msg_len > VSAFE_SE_FRAME_MAX - 1u) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {SVC_CMD_VERIFY_MAC};
    uint8_t p[VSAFE_SE_FRAME_MAX]; /* not zero-initialised: only the bytes written are sent */
    p[0] = 0x02, p[1] = slot, p[2] = (uint8_t)mac_len;
    memcpy(p + 3, mac, mac_len);
    if (msg_len > 0) {
        memcpy(p + 3 + mac_len, msg, msg_len);
    }
    uint8_t rsp[16];
    size_t n = 0;
    int rc = svc_transfer(h, prot, 0, hdr, 1, p, 3 + mac_len + msg_len, rsp, sizeof rsp, &n);
    vsafe_wipe(p + 3 + mac_len, msg_len);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (n != 1 || rsp[0] > 1) {
        return VSAFE_ERR_HOST_FRAME;
    }
    *verified = rsp[0];
    return VSAFE_OK;
}

/* ---- Derive keys ---- */

#define DERIVE_OUT_MAX 32u

int vsafe_host_derive(vsafe_host_t *h, vsafe_host_prot_t prot, const vsafe_host_derive_t *d, uint8_t *prk_slot,
                      uint8_t *keys, size_t keys_cap, size_t *keys_len, uint8_t *slots)
{
    if (h == NULL || d == NULL || (!d->extract && !d->expand) || (d->ikm_from_slot == 0 && (d->ikm == NULL ||
        d->ikm_len == 0 || d->ikm_len > 0xFFFFu)) || (d->extract && !d->salt_from_slot && d->salt == NULL &&
        d->salt_len > 0) || (d->expand && (d->out == NULL || d->out_count == 0 || d->out_count > DERIVE_OUT_MAX ||
        (d->info == NULL && d->info_len > 0))) || (!d->expand && (d->out_count != 0 || prk_slot == NULL))) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint8_t p[VSAFE_SE_FRAME_MAX], rsp[VSAFE_SE_FRAME_MAX];
    size_t i = 0, n = 0, cap = VSAFE_SE_FRAME_MAX - 2u, host_total = 0;
    int rc = VSAFE_OK;
    if (d->ikm_from_slot) {
        const uint8_t in[2] = {0x02, d->ikm_slot};
        rc = put(p, cap, &i, in, 2);
    } else {
        const uint8_t in[2] = {0x00, 0x04}; /* in the command, mode HKDF */
        if ((rc = put(p, cap, &i, in, 2)) == VSAFE_OK && (rc = put16(p, cap, &i, d->ikm_len)) == VSAFE_OK) {
            rc = put(p, cap, &i, d->ikm, d->ikm_len);
        }
    }
    const uint8_t flags = (uint8_t)((d->extract ? 0x02u : 0u) | (d->expand ? 0x01u : 0u));
    if (rc == VSAFE_OK && (rc = put(p, cap, &i, &flags, 1)) == VSAFE_OK) {
        rc = put(p, cap, &i, svc_hash_id(VSAFE_HASH_SHA256), SVC_HASH_ID_LEN);
    }
    if (rc == VSAFE_OK && d->extract) {
        if (d->salt_from_slot) {
            const uint8_t s[2] = {0x02, d->salt_slot};
            rc = put(p, cap, &i, s, 2);
        } else {
            const uint8_t s = 0x00;
            if ((rc = put(p, cap, &i, &s, 1)) == VSAFE_OK && (rc = put16(p, cap, &i, d->salt_len)) == VSAFE_OK) {
                rc = put(p, cap, &i, d->salt, d->salt_len);
            }
        }
    }
    if (rc == VSAFE_OK && d->expand) {
        if ((rc = put16(p, cap, &i, d->info_len)) == VSAFE_OK) {
            rc = put(p, cap, &i, d->info, d->info_len);
        }
        for (size_t k = 0; rc == VSAFE_OK && k < d->out_count; k++) {
            const vsafe_host_derive_out_t *o = &d->out[k];
            uint8_t desc[1 + 16];
            size_t dl = 0;
            desc[0] = o->dest;
            if (o->dest == VSAFE_HOST_DERIVE_TO_HOST) {
                if (o->key_len == 0) {
                    rc = VSAFE_ERR_ARGUMENT;
                    break;
                }
                vsafe_put_be16(desc + 1, o->key_len);
                dl = 3;
                host_total += o->key_len;
            } else if (o->dest == VSAFE_HOST_DERIVE_TO_SLOT) {
                rc = vsafe_host_symkey_info_encode(&o->info, 0, desc + 1, sizeof desc - 1, &dl);
                dl += 1;
            } else {
                rc = VSAFE_ERR_ARGUMENT;
            }
            if (rc == VSAFE_OK && (rc = put16(p, cap, &i, dl)) == VSAFE_OK) {
                rc = put(p, cap, &i, desc, dl);
            }
        }
    }
    if (rc == VSAFE_OK && host_total > 0 && (keys == NULL || keys_len == NULL || keys_cap < host_total)) {
        rc = VSAFE_ERR_ARGUMENT;
    }
    if (rc == VSAFE_OK) {
        rc = ext(h, prot, SVC_EXT_DERIVE, p, i, rsp, sizeof rsp, &n);
    }
    size_t used = rc == VSAFE_OK ? n : 0;
    if (rc == VSAFE_OK && !d->expand) {
        if (n != 1) {
            rc = VSAFE_ERR_HOST_FRAME;
        } else {
            *prk_slot = rsp[0];
        }
    } else if (rc == VSAFE_OK) {
        size_t want = 0;
        for (size_t k = 0; k < d->out_count; k++) {
            want += d->out[k].dest == VSAFE_HOST_DERIVE_TO_HOST ? d->out[k].key_len : 1u;
        }
        if (n != want) {
            rc = VSAFE_ERR_HOST_FRAME;
        } else {
            size_t r = 0, kb = 0;
            for (size_t k = 0; k < d->out_count; k++) {
                if (d->out[k].dest == VSAFE_HOST_DERIVE_TO_HOST) {
                    memcpy(keys + kb, rsp + r, d->out[k].key_len);
                    kb += d->out[k].key_len;
                    r += d->out[k].key_len;
                    if (slots != NULL) {
                        slots[k] = 0xFF;
                    }
                } else {
                    if (slots != NULL) {
                        slots[k] = rsp[r];
                    }
                    r++;
                }
            }
            if (keys_len != NULL) {
                *keys_len = kb;
            }
        }
    }
    vsafe_wipe(p, i); /* the IKM and salt */
    vsafe_wipe(rsp, used);
    return rc;
}

/* ---- Local envelopes ---- */

int vsafe_host_envelope_keygen(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, unsigned key_type)
{
    if (h == NULL || key_type > VSAFE_HOST_SYM_AES256) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {SVC_CMD_GENERATE_KEY};
    const uint8_t p[3] = {SVC_TAG_LOCAL_ENVELOPE, slot, (uint8_t)key_type};
    return svc_status_only(h, prot, 0, hdr, 1, p, sizeof p);
}

int vsafe_host_wrap(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, const uint8_t *payload, size_t len,
                    uint8_t *env, size_t env_cap)
{
    if (h == NULL || payload == NULL || len == 0 || len > 480u || env == NULL || env_cap < len + 8u) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {SVC_CMD_WRAP};
    uint8_t p[1 + 480], rsp[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    p[0] = slot;
    memcpy(p + 1, payload, len);
    int rc = svc_transfer(h, prot, 0, hdr, 1, p, 1 + len, rsp, sizeof rsp, &n);
    if (rc == VSAFE_OK && n != len + 8u) {
        rc = VSAFE_ERR_HOST_FRAME;
    }
    if (rc == VSAFE_OK) {
        memcpy(env, rsp, n);
    }
    vsafe_wipe(p + 1, len);
    return rc;
}

int vsafe_host_unwrap(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, const uint8_t *env, size_t len,
                      uint8_t *payload, size_t payload_cap)
{
    if (h == NULL || env == NULL || len < 8u || len > 488u || payload == NULL || payload_cap < len - 8u) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {SVC_CMD_UNWRAP};
    uint8_t p[1 + 488], rsp[VSAFE_SE_FRAME_MAX];
    size_t n = 0;
    p[0] = slot;
    memcpy(p + 1, env, len);
    int rc = svc_transfer(h, prot, 0, hdr, 1, p, 1 + len, rsp, sizeof rsp, &n);
    size_t used = rc == VSAFE_OK ? n : 0;
    if (rc == VSAFE_OK && n != len - 8u) {
        rc = VSAFE_ERR_HOST_FRAME;
    }
    if (rc == VSAFE_OK && n > 0) {
        memcpy(payload, rsp, n);
    }
    vsafe_wipe(rsp, used);
    return rc;
}

/* ---- Password ---- */

int vsafe_host_verify_password(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t password[16], int *verified,
                               uint8_t *remaining)
{
    if (verified != NULL) {
        *verified = 0;
    }
    if (h == NULL || password == NULL || verified == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {VSAFE_SE_CMD_VERIFY_PASSWORD};
    uint8_t rsp[16];
    size_t n = 0;
    int rc = svc_transfer(h, prot, 0, hdr, 1, password, 16, rsp, sizeof rsp, &n);
    host_session_wipe_frames(&h->session); /* the frame carried the password */
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (n != 2 || rsp[0] > 1) {
        return VSAFE_ERR_HOST_FRAME;
    }
    *verified = rsp[0];
    if (remaining != NULL) {
        *remaining = rsp[1];
    }
    return VSAFE_OK;
}

int vsafe_host_delete_password(vsafe_host_t *h)
{
    if (h == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    const uint8_t hdr[1] = {SVC_CMD_DELETE};
    const uint8_t tag = SVC_TAG_PASSWORD;
    return svc_status_only(h, VSAFE_HOST_PROT_NONE, 1, hdr, 1, &tag, 1);
}
