/* Device core: frame in, response out, one NVM commit per command.
 *
 * Invariants:
 *  1. Every command runs as: check CRC -> secure channel (C-MAC, command table, decryption) ->
 *     dispatcher (descriptor: known command, payload bounds) -> handler -> seal (encryption,
 *     R-MAC) -> one store commit -> response. Nothing reaches the image except through core->txn
 *     and vsafe_store_commit. This file calls only below itself (se/core.h lists the layers).
 *  2. A handler that fails leaves no trace: its staged patches are dropped; only the host C-MAC
 *     counter advance (already earned by a valid C-MAC) is committed, so host and device stay in
 *     sync: the host advances its counter on every answer to a C-MAC'd frame but 0x16 / 0x01.
 *  3. The response is built only after the commit returned: a response that can be read describes
 *     a durable state. If the commit fails, the answer is UNEXPECTED_ERROR and nothing changed.
 *  4. The I2C view never consumes the response: every read starts at its byte 0, as
 *     the part restarts a response read from its first byte.
 *  5. No heap, no I/O: the world is reached through core->crypto and the store's NVM.
 *  6. Secrets leave no trace: at the end of every command that got past the CRC check (success,
 *     refusal, failed commit, power loss) the decrypted payload core->plain[0..plain_len), the
 *     staged transaction core->txn.buf[0..txn.len) and the response working buffer
 *     core->out[0..high-water mark) are wiped, sized to what the command used. Patches a refused
 *     command staged are wiped when they are dropped. core->rsp keeps the response frame (what
 *     the bus may read; an encrypted response is ciphertext there). Frames refused before the
 *     channel (short, long, bad CRC) touch none of these buffers.
 */
#include "se/core.h"

#include <string.h>

#include "common/bytes.h"
#include "common/secure.h"
#include "se/channel.h"
#include "se/layout.h"
#include "se/layout_svc.h"
#include "se/se_cmd.h"
#include "se/state.h"

/* ---- Image construction ---- */

static uint32_t zones_end(const vsafe_profile_t *p)
{
    uint32_t total = SE_OFF_DATA;
    for (unsigned i = 0; i < p->zone_count; i++) {
        total += p->zones[i].length;
    }
    return total;
}

uint32_t vsafe_se_core_image_size(const vsafe_profile_t *p)
{
    if (p == NULL || p->zone_count > SE_ZONE_MAX || p->cmd_count > SE_CMD_MAX) {
        return 0;
    }
    return zones_end(p) + SVC_REGION_LEN;
}

/* The key-services region factory-fresh: every key slot empty, modes and control fields from
 * the profile. region is SVC_REGION_LEN zero bytes. */
static int svc_build(const vsafe_profile_svc_t *f, uint8_t *region)
{
    if (f->priv_count > SVC_PRIV_SLOTS || f->gpub_count > SVC_GPUB_SLOTS || f->sym_count > SVC_SYM_SLOTS ||
        f->env_count > SVC_ENV_SLOTS) {
        return VSAFE_ERR_BAD_PROFILE;
    }
    vsafe_put_be32(region + SVC_OFF_MAGIC, SVC_MAGIC);
    region[SVC_OFF_PRIV_COUNT] = f->priv_count;
    region[SVC_OFF_GPUB_COUNT] = f->gpub_count;
    region[SVC_OFF_SYM_COUNT] = f->sym_count;
    region[SVC_OFF_ENV_COUNT] = f->env_count;
    vsafe_put_be16(region + SVC_OFF_GLOBAL_LIMIT, f->global_usage_limit);
    vsafe_put_be16(region + SVC_OFF_EPH_MODE, f->eph_mode);
    region[SVC_OFF_PASSWORD] = 0;
    for (unsigned i = 0; i < f->priv_count; i++) {
        vsafe_put_be16(region + svc_priv_rec(0, i) + SVC_PREC_MODE, f->priv_mode[i]);
    }
    for (unsigned i = 0; i < f->gpub_count; i++) {
        vsafe_put_be16(region + svc_gpub_rec(0, i) + SVC_GREC_FLAGS, f->gpub_flags);
    }
    for (unsigned i = 0; i < f->sym_count; i++) {
        memcpy(region + svc_sym_rec(0, i) + SVC_SREC_CTRL, f->sym_ctrl, 3);
    }
    return VSAFE_OK;
}

int vsafe_se_core_build_image(const vsafe_profile_t *p, uint8_t *image, uint32_t image_len)
{
    uint32_t need = vsafe_se_core_image_size(p);
    if (need == 0) {
        return VSAFE_ERR_BAD_PROFILE;
    }
    if (image_len < need) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    if (p->product_data_len > VSAFE_PROFILE_MAX_PRODUCT_DATA || p->i2c_addr > 0x7F) {
        return VSAFE_ERR_BAD_PROFILE;
    }
    memset(image, 0, image_len);
    vsafe_put_be32(image + SE_OFF_MAGIC, VSAFE_SE_IMG_MAGIC);
    vsafe_put_be16(image + SE_OFF_VERSION, VSAFE_SE_IMG_VERSION);
    image[SE_OFF_ZONE_COUNT] = p->zone_count;
    image[SE_OFF_LCS] = p->life_cycle_state;
    image[SE_OFF_I2C_ADDR] = p->i2c_addr;
    image[SE_OFF_PD_LEN] = p->product_data_len;
    image[SE_OFF_CMD_CR] = p->cmd_change_rights;
    image[SE_OFF_CMD_COUNT] = p->cmd_count;
    vsafe_put_be32(image + SE_OFF_USER_NVM_LEN, zones_end(p) - SE_OFF_DATA);
    vsafe_put_be32(image + SE_OFF_SVC, zones_end(p));
    int rc = svc_build(p->svc != NULL ? p->svc : &vsafe_profile_svc_spl05, image + zones_end(p));
    if (rc != VSAFE_OK) {
        return rc;
    }
    for (size_t i = 0; i < sizeof p->name && p->name[i] != '\0'; i++) {
        image[SE_OFF_PROFILE_NAME + i] = (uint8_t)p->name[i];
    }
    image[SE_OFF_PROFILE_NAME + 31] = 0;
    memcpy(image + SE_OFF_PRODUCT_DATA, p->product_data, p->product_data_len);
    image[SE_OFF_HK_CTRL0] = p->hostkey_ctrl[0];
    image[SE_OFF_HK_CTRL1] = p->hostkey_ctrl[1];
    for (unsigned i = 0; i < p->cmd_count; i++) {
        uint8_t *rec = image + SE_OFF_CMD_TABLE + i * SE_CMD_REC_SIZE;
        rec[0] = p->cmds[i].header;
        rec[1] = p->cmds[i].ext;
        rec[2] = p->cmds[i].ac;
        rec[3] = p->cmds[i].enc;
    }

    /* Zones in increasing index order (the partition query lists them so). */
    uint32_t data_off = SE_OFF_DATA;
    int last = -1;
    for (unsigned slot = 0; slot < p->zone_count; slot++) {
        const vsafe_profile_zone_t *z = NULL;
        for (unsigned i = 0; i < p->zone_count; i++) {
            if ((int)p->zones[i].index > last && (z == NULL || p->zones[i].index < z->index)) {
                z = &p->zones[i];
            }
        }
        if (z == NULL || z->type > VSAFE_SE_ZONE_COUNTER || z->read_ac > 7 || z->update_ac > 7 ||
            z->content_len > z->length) {
            return VSAFE_ERR_BAD_PROFILE;
        }
        last = z->index;
        uint8_t *rec = image + se_zone_rec(slot);
        rec[SE_ZREC_INDEX] = z->index;
        rec[SE_ZREC_TYPE] = z->type;
        rec[SE_ZREC_AC] = (uint8_t)((z->read_ac_cr ? 0x80u : 0u) | (uint8_t)(z->read_ac << 4) |
                                    (z->update_ac_cr ? 0x08u : 0u) | z->update_ac);
        vsafe_put_be16(rec + SE_ZREC_LENGTH, z->length);
        vsafe_put_be32(rec + SE_ZREC_DATA, data_off);
        vsafe_put_be32(rec + SE_ZREC_COUNTER, z->type == VSAFE_SE_ZONE_COUNTER ? z->counter : 0u);
        if (z->content != NULL && z->content_len > 0) {
            memcpy(image + data_off, z->content, z->content_len);
        }
        data_off += z->length;
    }
    return VSAFE_OK;
}

int vsafe_se_core_image_set_identity(uint8_t *image, uint32_t image_len, const uint8_t priv[32], const uint8_t pub[64],
                                     const uint8_t *cert, size_t cert_len)
{
    if (image_len < SE_OFF_DATA || vsafe_get_be16(image + SE_OFF_VERSION) != VSAFE_SE_IMG_VERSION) {
        return VSAFE_ERR_ARGUMENT;
    }
    uint32_t svc = vsafe_get_be32(image + SE_OFF_SVC);
    if (svc > image_len || image_len - svc < SVC_REGION_LEN || image[svc + SVC_OFF_PRIV_COUNT] == 0u) {
        return VSAFE_ERR_ARGUMENT;
    }
    for (unsigned slot = 0; slot < image[SE_OFF_ZONE_COUNT] && slot < SE_ZONE_MAX; slot++) {
        uint8_t *rec = image + se_zone_rec(slot);
        uint32_t off = vsafe_get_be32(rec + SE_ZREC_DATA);
        uint32_t len = vsafe_get_be16(rec + SE_ZREC_LENGTH);
        if (rec[SE_ZREC_INDEX] != 0u || rec[SE_ZREC_TYPE] != VSAFE_SE_ZONE_DATA || cert_len > len || off > image_len ||
            len > image_len - off) {
            continue;
        }
        memset(image + off, 0, len);
        memcpy(image + off, cert, cert_len);
        uint8_t *p = image + svc_priv_rec(svc, 0);
        p[SVC_PREC_PRESENT] = 1;
        p[SVC_PREC_CURVE] = VSAFE_CURVE_P256;
        vsafe_put_be16(p + SVC_PREC_LIMIT, 0);
        vsafe_put_be16(p + SVC_PREC_REMAINING, 0);
        memset(p + SVC_PREC_PRIV, 0, VSAFE_EC_MAX_KEY);
        memcpy(p + SVC_PREC_PRIV, priv, 32);
        memset(p + SVC_PREC_PUB, 0, VSAFE_EC_MAX_PUB);
        memcpy(p + SVC_PREC_PUB, pub, 64);
        return VSAFE_OK;
    }
    return VSAFE_ERR_ARGUMENT;
}

/* ---- Lifecycle ---- */

static int core_start(vsafe_se_core_t *core, const vsafe_crypto_t *crypto, uint8_t *image, uint32_t image_len)
{
    core->crypto = crypto;
    core->image = image;
    core->image_len = image_len;
    core->have_response = false;
    core->power_lost = false;
    core->rsp_len = 0;
    core->timing = false;
    core->busy_until_us = 0;
    core->read_only = false;
    vsafe_se_core_reset(core);
    return vsafe_se_state_index(core);
}

int vsafe_se_core_create(vsafe_se_core_t *core, const vsafe_nvm_t *nvm, const vsafe_crypto_t *crypto,
                         uint8_t *image, uint32_t image_len)
{
    memset(core, 0, sizeof *core);
    int rc = vsafe_store_format(&core->store, nvm, image, image_len, VSAFE_STORE_TAG_SE);
    if (rc != VSAFE_OK) {
        return rc;
    }
    return core_start(core, crypto, image, image_len);
}

uint32_t vsafe_se_core_mount_capacity(uint32_t stored_len)
{
    return stored_len > UINT32_MAX - SVC_REGION_LEN ? 0u : stored_len + SVC_REGION_LEN;
}

/* Version 1 -> 2: the factory-fresh key-services region (SPL05 facts: the profile a version-1
 * image was made from is not kept in it) appended after the zone data, and the header's version
 * and region offset, in one resize commit. Until it lands, NVM holds the version-1 state. */
static int core_migrate_v1(vsafe_se_core_t *core, uint8_t *image, uint32_t len, uint32_t cap, bool in_ram_only,
                           uint32_t *new_len)
{
    if (vsafe_get_be32(image + SE_OFF_SVC) != 0u || vsafe_get_be32(image + SE_OFF_USER_NVM_LEN) != len - SE_OFF_DATA) {
        return VSAFE_ERR_STORE_MISMATCH; /* a version-1 image ends with its zone data */
    }
    if (cap < len || cap - len < SVC_REGION_LEN) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    memset(image + len, 0, SVC_REGION_LEN);
    int rc = svc_build(&vsafe_profile_svc_spl05, image + len);
    if (rc != VSAFE_OK) {
        return rc;
    }
    vsafe_txn_t *t = &core->txn;
    vsafe_txn_begin(t);
    vsafe_txn_put_u16(t, SE_OFF_VERSION, VSAFE_SE_IMG_VERSION);
    vsafe_txn_put_u32(t, SE_OFF_SVC, len);
    if (in_ram_only) {
        /* A read-only open sees the migrated view; NVM keeps version 1 until a writer opens it. */
        vsafe_put_be16(image + SE_OFF_VERSION, VSAFE_SE_IMG_VERSION);
        vsafe_put_be32(image + SE_OFF_SVC, len);
        rc = VSAFE_OK;
    } else {
        rc = vsafe_store_commit_resize(&core->store, len + SVC_REGION_LEN, t);
    }
    vsafe_txn_begin(t);
    if (rc == VSAFE_OK) {
        *new_len = len + SVC_REGION_LEN;
    }
    return rc;
}

int vsafe_se_core_mount_ex(vsafe_se_core_t *core, const vsafe_nvm_t *nvm, const vsafe_crypto_t *crypto,
                           uint8_t *image, uint32_t image_cap, bool read_only)
{
    uint32_t len = 0, tag = 0;
    memset(core, 0, sizeof *core);
    int rc = vsafe_store_probe(nvm, &len, &tag);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (tag != VSAFE_STORE_TAG_SE) {
        return VSAFE_ERR_STORE_MISMATCH;
    }
    if (len > image_cap) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    rc = vsafe_store_mount(&core->store, nvm, image, len, VSAFE_STORE_TAG_SE);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (len >= SE_OFF_DATA && vsafe_get_be32(image + SE_OFF_MAGIC) == VSAFE_SE_IMG_MAGIC &&
        vsafe_get_be16(image + SE_OFF_VERSION) == VSAFE_SE_IMG_VERSION_V1) {
        rc = core_migrate_v1(core, image, len, image_cap, read_only, &len);
        if (rc != VSAFE_OK) {
            return rc;
        }
    }
    return core_start(core, crypto, image, len);
}

int vsafe_se_core_mount(vsafe_se_core_t *core, const vsafe_nvm_t *nvm, const vsafe_crypto_t *crypto,
                        uint8_t *image, uint32_t image_cap)
{
    return vsafe_se_core_mount_ex(core, nvm, crypto, image, image_cap, false);
}

/* Invariant 6: the per-command working memory, wiped over the bytes this command used. */
static void wipe_working(vsafe_se_core_t *core, size_t out_used)
{
    if (core->plain_len > 0u) { /* only encrypted commands use it: skip the call otherwise */
        vsafe_wipe(core->plain, core->plain_len);
        core->plain_len = 0;
    }
    if (!vsafe_txn_empty(&core->txn) || core->txn.error != VSAFE_OK) { /* a Read stages nothing */
        vsafe_wipe(core->txn.buf, core->txn.len);
        vsafe_txn_begin(&core->txn);
    }
    vsafe_wipe(core->out, out_used);
}

void vsafe_se_core_reset(vsafe_se_core_t *core)
{
    vsafe_se_state_drop_sessions(core);
    /* Outside a command these are clean already; wiped whole so that a reset is a clean slate
     * whatever happened before it. */
    vsafe_wipe(core->plain, sizeof core->plain);
    core->plain_len = 0;
    vsafe_wipe(&core->txn, sizeof core->txn);
    vsafe_txn_begin(&core->txn);
    vsafe_wipe(core->out, sizeof core->out);
    core->out_len = 0;
}

/* ---- Processing ---- */

static void respond(vsafe_se_core_t *core, uint8_t status)
{
    size_t n = status == VSAFE_SE_ST_OK ? core->out_len : 0;
    core->rsp[0] = status;
    vsafe_put_be16(core->rsp + 1, (uint16_t)(n + 2u));
    memcpy(core->rsp + 3, core->out, n);
    /* The CRC covers STATUS and payload, not the LEN bytes. */
    uint16_t crc = vsafe_crc16(core->rsp, 1);
    crc = vsafe_crc16_continue(crc, core->rsp + 3, n);
    vsafe_put_be16(core->rsp + 3 + n, crc);
    core->rsp_len = (uint16_t)(n + 5u);
    core->have_response = true;
}

static size_t padded_len(size_t n) { return (n / 16u + 1u) * 16u; }

void vsafe_se_core_process(vsafe_se_core_t *core, const uint8_t *frame, size_t len)
{
    uint8_t status;
    vsafe_se_req_t req;
    vsafe_se_chan_t chan;
    size_t out_used = 0; /* high-water mark of core->out in this command (invariant 6) */

    core->out_len = 0;
    core->slow_curve = false;
    if (len < 3u) {
        respond(core, VSAFE_SE_ST_COMMUNICATION_ERROR);
        return;
    }
    if (len > VSAFE_SE_FRAME_MAX + VSAFE_SE_CRC_LEN) {
        respond(core, VSAFE_SE_ST_BUFFER_LENGTH_EXCEEDED);
        return;
    }
    size_t body_len = len - VSAFE_SE_CRC_LEN;
    if (vsafe_crc16(frame, body_len) != vsafe_get_be16(frame + body_len)) {
        respond(core, VSAFE_SE_ST_COMMUNICATION_ERROR);
        return;
    }

    /* core->txn is empty here: every command ends in wipe_working. */
    status = vsafe_se_channel_open(core, frame, body_len, &req, &chan);
    if (status == VSAFE_SE_ST_OK) {
        status = vsafe_se_dispatch(core, &req);
        out_used = core->out_len;
    }
    if (status == VSAFE_SE_ST_OK) {
        size_t wire = chan.enc_rsp && core->out_len > 0 ? padded_len(core->out_len) : core->out_len;
        if (1u + wire + (chan.rmac ? VSAFE_SE_MAC_LEN : 0u) > VSAFE_SE_FRAME_MAX) {
            status = VSAFE_SE_ST_BUFFER_LENGTH_EXCEEDED;
        }
    }
    if (status == VSAFE_SE_ST_OK && chan.cmac) {
        status = vsafe_se_channel_seal(core, &req, frame, body_len, &chan);
        out_used = core->out_len > out_used ? core->out_len : out_used;
    }
    if (status != VSAFE_SE_ST_OK) {
        /* Invariant 2: drop the handler's changes, keep the earned counter advance. */
        vsafe_wipe(core->txn.buf, core->txn.len);
        vsafe_txn_begin(&core->txn);
        if (chan.cmac) {
            vsafe_txn_put_u32(&core->txn, SE_OFF_HK_COUNTER, chan.counter);
        }
        core->out_len = 0;
    }

    if (!vsafe_txn_empty(&core->txn)) {
        int rc = core->txn.error;
        if (rc == VSAFE_OK) {
            rc = core->read_only ? VSAFE_ERR_STATE : vsafe_store_commit(&core->store, &core->txn);
        }
        if (rc == VSAFE_ERR_POWER_LOSS) {
            /* Power failed mid-commit: a real part gives no answer at all, and its RAM is gone:
             * sessions, ECDHE, ephemeral, hash and chunked-AEAD contexts with it. */
            core->have_response = false;
            core->power_lost = true;
            vsafe_se_state_drop_sessions(core);
            wipe_working(core, out_used);
            return;
        }
        if (rc != VSAFE_OK) {
            status = VSAFE_SE_ST_UNEXPECTED_ERROR;
        }
        /* No re-index: commands change table values, never the table shapes. */
    }
    respond(core, status);
    wipe_working(core, out_used);
}

/* ---- I2C view ---- */

/* Processing time per command code in ms (the A120's datasheet figures), for the timing model. */
uint32_t vsafe_se_core_command_time_ms(const uint8_t *frame, size_t len)
{
    static const uint16_t ms[32] = {2,  2,   4,   22,  23, 23,  22, 26, 500, 23, 23,  500, 500, 500, 3, 3,
                                    500, 32, 500, 500, 5,  500, 37, 62, 83,  500, 500, 5,   6,   500, 500, 500};
    return len == 0 ? 0 : ms[frame[0] & VSAFE_SE_HDR_CODE];
}

static bool core_busy(const vsafe_se_core_t *core)
{
    if (!core->timing || core->crypto == NULL || core->crypto->now_us == NULL) {
        return false;
    }
    return core->crypto->now_us(core->crypto->ctx) < core->busy_until_us;
}

int vsafe_se_core_i2c_write(vsafe_se_core_t *core, uint8_t addr7, const uint8_t *buf, size_t len)
{
    if (addr7 != core->addr7 || core_busy(core)) {
        return VSAFE_I2C_NACK;
    }
    core->power_lost = false;
    vsafe_se_core_process(core, buf, len);
    if (core->timing && core->crypto != NULL && core->crypto->now_us != NULL) {
        uint64_t ms = (uint64_t)vsafe_se_core_command_time_ms(buf, len) * (core->slow_curve ? 2u : 1u);
        core->busy_until_us = core->crypto->now_us(core->crypto->ctx) + 1000ull * ms;
    }
    return 0;
}

int vsafe_se_core_i2c_read(vsafe_se_core_t *core, uint8_t addr7, uint8_t *buf, size_t len)
{
    if (addr7 != core->addr7 || !core->have_response || core_busy(core)) {
        return VSAFE_I2C_NACK;
    }
    size_t n = len < core->rsp_len ? len : core->rsp_len;
    memcpy(buf, core->rsp, n);
    if (len > n) {
        memset(buf + n, 0xFF, len - n); /* the bus reads idle-high past the frame */
    }
    return 0;
}
