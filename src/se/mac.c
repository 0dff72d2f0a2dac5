/* MAC services: Generate MAC 0x09 (sub-command 0x03) and Verify MAC 0x0A (sub-command 0x02),
 * AES-CMAC for a CMAC slot and HMAC-SHA-256 for an HMAC slot.
 *
 * Invariants:
 *  1. Checks in order: sub-command 0x03; slot 0x10 / 0x0A; mode not CMAC or HMAC 0x1C; usage bit
 *     0x1B; MAC_LEN below the slot's minimum or above the algorithm's tag 0x1D.
 *  2. Verify compares the first MAC_LEN bytes in constant time; a mismatch is status 0x00 with
 *     VERIFIED 0x00. Full tags computed here are wiped before returning.
 *  3. Neither command changes state.
 */
#include <string.h>

#include "common/cursor.h"
#include "common/secure.h"
#include "se/layout_svc.h"
#include "se/se_cmd.h"
#include "se/symslot.h"

/* SUB SLOT MAC_LEN: checks of invariant 1; *full_len = the algorithm's tag length. */
static uint8_t mac_slot(vsafe_se_core_t *core, vsafe_cursor_t *in, uint8_t want_sub, uint8_t use,
                        const uint8_t **rec, uint8_t *mac_len, size_t *full_len)
{
    uint8_t sub, slot;
    if (!vsafe_cursor_u8(in, &sub) || !vsafe_cursor_u8(in, &slot) || !vsafe_cursor_u8(in, mac_len)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (sub != want_sub) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    uint8_t st = vsafe_se_sym_use(core, slot, rec);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    uint8_t mode = (*rec)[SVC_SREC_MODE];
    if (mode != VSAFE_SYM_CMAC && mode != VSAFE_SYM_HMAC) {
        return VSAFE_SE_ST_WRONG_MODE_OF_OPERATION;
    }
    if (((*rec)[SVC_SREC_USAGE + 1] & use) == 0u) {
        return VSAFE_SE_ST_WRONG_KEY_USAGE;
    }
    *full_len = mode == VSAFE_SYM_CMAC ? 16u : 32u;
    if (*mac_len < (*rec)[SVC_SREC_PARAMS] || *mac_len == 0u || *mac_len > *full_len) {
        return VSAFE_SE_ST_WRONG_MAC_LENGTH;
    }
    return VSAFE_SE_ST_OK;
}

static int mac_compute(const vsafe_se_core_t *core, const uint8_t *rec, const uint8_t *msg, size_t len,
                       uint8_t full[32])
{
    const vsafe_crypto_t *c = core->crypto;
    if (rec[SVC_SREC_MODE] == VSAFE_SYM_CMAC) {
        return c->cmac_raw(c->ctx, rec + SVC_SREC_KEY, rec[SVC_SREC_KEY_LEN], msg, len, full);
    }
    return c->hmac_sha256(c->ctx, rec + SVC_SREC_KEY, rec[SVC_SREC_KEY_LEN], msg, len, full);
}

static bool mac_supported(const vsafe_crypto_t *c) { return c != NULL && c->cmac_raw != NULL && c->hmac_sha256 != NULL; }

/* 09 03 SLOT MAC_LEN MESSAGE -> MAC(MAC_LEN) */
uint8_t vsafe_se_cmd_mac_generate(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const uint8_t *rec, *msg;
    uint8_t mac_len, full[32];
    size_t full_len, n;
    (void)req;
    if (!mac_supported(core->crypto)) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    uint8_t st = mac_slot(core, in, 0x03u, VSAFE_SYM_USE_MAC_GEN, &rec, &mac_len, &full_len);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    vsafe_cursor_rest(in, &msg, &n);
    if (mac_compute(core, rec, msg, n, full) != VSAFE_OK) {
        st = VSAFE_SE_ST_UNEXPECTED_ERROR;
    } else {
        memcpy(core->out, full, mac_len);
        core->out_len = mac_len;
    }
    vsafe_wipe(full, sizeof full);
    return st;
}

/* 0A 02 SLOT MAC_LEN MAC MESSAGE -> VERIFIED(1) */
uint8_t vsafe_se_cmd_mac_verify(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const uint8_t *rec, *msg, *mac;
    uint8_t mac_len, full[32];
    size_t full_len, n;
    (void)req;
    if (!mac_supported(core->crypto)) {
        return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
    }
    uint8_t st = mac_slot(core, in, 0x02u, VSAFE_SYM_USE_MAC_VERIFY, &rec, &mac_len, &full_len);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if (!vsafe_cursor_bytes(in, mac_len, &mac)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    vsafe_cursor_rest(in, &msg, &n);
    if (mac_compute(core, rec, msg, n, full) != VSAFE_OK) {
        st = VSAFE_SE_ST_UNEXPECTED_ERROR;
    } else {
        core->out[0] = vsafe_ct_equal(full, mac, mac_len) ? 1u : 0u;
        core->out_len = 1;
    }
    vsafe_wipe(full, sizeof full);
    return st;
}
