/* Lookups derived from the state image, and the volatile session state (se/state.h).
 *
 * Invariants:
 *  1. zone_slot[i] is the slot of zone index i in the zone table, or 0xFF; cmd_slot[k] the
 *     position of command k ([code] standard, [32 + ext] extended) in the command table, or 0xFF.
 *     Both are rebuilt from the image only (vsafe_se_state_index), and every zone they point at
 *     lies inside the image.
 *  2. Nothing here writes the image.
 */
#include "se/state.h"

#include <string.h>

#include "common/bytes.h"
#include "common/secure.h"
#include "se/layout.h"
#include "se/layout_svc.h"

int vsafe_se_state_index(vsafe_se_core_t *core)
{
    const uint8_t *img = core->image;
    if (core->image_len < SE_OFF_DATA || vsafe_get_be32(img + SE_OFF_MAGIC) != VSAFE_SE_IMG_MAGIC ||
        vsafe_get_be16(img + SE_OFF_VERSION) != VSAFE_SE_IMG_VERSION || img[SE_OFF_ZONE_COUNT] > SE_ZONE_MAX ||
        img[SE_OFF_CMD_COUNT] > SE_CMD_MAX || img[SE_OFF_PD_LEN] > VSAFE_PROFILE_MAX_PRODUCT_DATA) {
        return VSAFE_ERR_STORE_MISMATCH;
    }
    memset(core->zone_slot, 0xFF, sizeof core->zone_slot);
    memset(core->cmd_slot, 0xFF, sizeof core->cmd_slot);
    for (unsigned slot = 0; slot < img[SE_OFF_ZONE_COUNT]; slot++) {
        const uint8_t *rec = img + se_zone_rec(slot);
        uint32_t off = vsafe_get_be32(rec + SE_ZREC_DATA);
        uint32_t len = vsafe_get_be16(rec + SE_ZREC_LENGTH);
        if (off < SE_OFF_DATA || off > core->image_len || len > core->image_len - off ||
            core->zone_slot[rec[SE_ZREC_INDEX]] != 0xFF || rec[SE_ZREC_TYPE] > VSAFE_SE_ZONE_COUNTER) {
            return VSAFE_ERR_STORE_MISMATCH;
        }
        core->zone_slot[rec[SE_ZREC_INDEX]] = (uint8_t)slot;
    }
    for (unsigned i = 0; i < img[SE_OFF_CMD_COUNT]; i++) {
        const uint8_t *rec = img + SE_OFF_CMD_TABLE + i * SE_CMD_REC_SIZE;
        uint8_t code = rec[0] & VSAFE_SE_HDR_CODE;
        unsigned key = code == VSAFE_SE_CMD_EXTENDED ? 32u + (rec[1] & 31u) : code;
        if (code == VSAFE_SE_CMD_EXTENDED && rec[1] > 31u) {
            return VSAFE_ERR_STORE_MISMATCH;
        }
        core->cmd_slot[key] = (uint8_t)i;
    }
    /* The key-services region: after the zone data, inside the image, counts within the layout. */
    uint32_t svc = vsafe_get_be32(img + SE_OFF_SVC);
    uint32_t zones = vsafe_get_be32(img + SE_OFF_USER_NVM_LEN);
    if (zones > core->image_len - SE_OFF_DATA || svc < SE_OFF_DATA + zones || svc > core->image_len ||
        core->image_len - svc < SVC_REGION_LEN) {
        return VSAFE_ERR_STORE_MISMATCH;
    }
    const uint8_t *r = img + svc;
    if (vsafe_get_be32(r + SVC_OFF_MAGIC) != SVC_MAGIC || r[SVC_OFF_PRIV_COUNT] > SVC_PRIV_SLOTS ||
        r[SVC_OFF_GPUB_COUNT] > SVC_GPUB_SLOTS || r[SVC_OFF_SYM_COUNT] > SVC_SYM_SLOTS ||
        r[SVC_OFF_ENV_COUNT] > SVC_ENV_SLOTS) {
        return VSAFE_ERR_STORE_MISMATCH;
    }
    for (unsigned i = 0; i < r[SVC_OFF_PRIV_COUNT]; i++) {
        const uint8_t *p = img + svc_priv_rec(svc, i);
        if (p[SVC_PREC_PRESENT] > 1u || (p[SVC_PREC_PRESENT] == 1u && (p[SVC_PREC_CURVE] == VSAFE_CURVE_NONE ||
                                                                     p[SVC_PREC_CURVE] >= VSAFE_CURVE_COUNT))) {
            return VSAFE_ERR_STORE_MISMATCH;
        }
    }
    for (unsigned i = 0; i < r[SVC_OFF_GPUB_COUNT]; i++) {
        const uint8_t *g = img + svc_gpub_rec(svc, i);
        if (g[SVC_GREC_PRESENT] > 1u || (g[SVC_GREC_PRESENT] == 1u && (g[SVC_GREC_CURVE] == VSAFE_CURVE_NONE ||
                                                                     g[SVC_GREC_CURVE] >= VSAFE_CURVE_COUNT))) {
            return VSAFE_ERR_STORE_MISMATCH;
        }
    }
    core->svc = svc;
    core->addr7 = img[SE_OFF_I2C_ADDR];
    return VSAFE_OK;
}

const uint8_t *vsafe_se_state_cmd_record(const vsafe_se_core_t *core, uint8_t code, uint8_t ext)
{
    code &= VSAFE_SE_HDR_CODE;
    unsigned key = code == VSAFE_SE_CMD_EXTENDED ? 32u + ext : code;
    if (key >= 64u || core->cmd_slot[key] == 0xFF) {
        return NULL;
    }
    return core->image + SE_OFF_CMD_TABLE + core->cmd_slot[key] * SE_CMD_REC_SIZE;
}

void vsafe_se_state_forget_keys(vsafe_se_core_t *core)
{
    if (core->crypto != NULL && core->crypto->forget_keys != NULL) {
        core->crypto->forget_keys(core->crypto->ctx);
    }
}

void vsafe_se_state_sym_changed(vsafe_se_core_t *core)
{
    core->aead_active = false;
    core->aead_data_seen = false;
    core->aead_total_aad = 0;
    core->aead_total_len = 0;
    core->aead_aad_done = 0;
    core->aead_len_done = 0;
    if (core->crypto != NULL) {
        if (core->crypto->aead_clear != NULL) {
            core->crypto->aead_clear(core->crypto->ctx);
        }
    }
    vsafe_se_state_forget_keys(core);
}

void vsafe_se_state_drop_sessions(vsafe_se_core_t *core)
{
    core->host_keys_loaded = false;
    core->ecdhe_ready = false;
    core->kek_active = false;
    vsafe_wipe(core->kek_base, sizeof core->kek_base);
    core->kek_counter = 0;
    core->ecdhe_curve = VSAFE_CURVE_NONE;
    vsafe_wipe(core->ecdhe_priv, sizeof core->ecdhe_priv);
    vsafe_wipe(core->ecdhe_pub, sizeof core->ecdhe_pub);
    core->kek_auth_slot = 0xFF;
    core->hash_active = false;
    core->sym_pending = false;
    core->sym_auth_slot = 0xFF;
    core->sym_secret_len = 0;
    vsafe_wipe(core->sym_secret, sizeof core->sym_secret);
    core->entity_pending = false;
    core->entity_authenticated = false;
    vsafe_wipe(core->entity_challenge, sizeof core->entity_challenge);
    core->eph_present = false;
    core->eph_curve = VSAFE_CURVE_NONE;
    vsafe_wipe(core->eph_priv, sizeof core->eph_priv);
    vsafe_wipe(core->eph_pub, sizeof core->eph_pub);
    if (core->image != NULL) {
        core->addr7 = core->image[SE_OFF_I2C_ADDR]; /* a new I2C address takes effect at reset */
    }
    if (core->crypto != NULL) {
        if (core->crypto->key_clear != NULL) {
            for (unsigned s = 0; s < VSAFE_KEY_SLOTS; s++) {
                core->crypto->key_clear(core->crypto->ctx, s);
            }
        }
        if (core->crypto->ecdh_clear != NULL) {
            core->crypto->ecdh_clear(core->crypto->ctx);
        }
        if (core->crypto->hash_clear != NULL) {
            core->crypto->hash_clear(core->crypto->ctx);
        }
    }
    vsafe_se_state_sym_changed(core); /* ends the chunked-AEAD context, forgets cached keys */
}
