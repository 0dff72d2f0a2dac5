/* Observing the device on the target the way tests/model's model_observe does on the host, but in
 * raw frames (the host library is not part of the firmware): Query partitions, Query host key,
 * Query command authorization, and the data of every zone readable Always while Read is FREE and
 * unencrypted, read in pieces that fit one response. Nothing here changes the device's state. */
#include <string.h>

#include "fw_test.h"
#include "common/bytes.h"

static uint8_t rsp[VSAFE_SE_FRAME_MAX + 8];

static bool query(fw_dev_t *d, uint8_t tag, size_t *len)
{
    uint8_t f[2] = {VSAFE_SE_CMD_QUERY, tag}, st = 0xFF;
    return fw_exchange(d, f, sizeof f, &st, rsp, sizeof rsp, len) && st == VSAFE_SE_ST_OK;
}

int fw_observe(fw_dev_t *d, model_t *obs, uint32_t *data_mask)
{
    size_t n = 0;
    memset(obs, 0, sizeof *obs);
    *data_mask = 0;
    /* partitions: count, then index, type, AC byte, length u16 (+ counter u32 for counter zones) */
    if (!query(d, VSAFE_SE_TAG_PARTITIONS, &n) || n < 1u || rsp[0] > MODEL_ZONES_MAX) {
        return VSAFE_ERR_HOST_FRAME;
    }
    size_t i = 1;
    obs->zone_count = rsp[0];
    for (size_t k = 0; k < obs->zone_count; k++) {
        if (i + 5u > n || rsp[i] != k) {
            return VSAFE_ERR_HOST_FRAME;
        }
        model_zone_t *z = &obs->z[k];
        z->type = rsp[i + 1];
        z->rcr = (rsp[i + 2] >> 7) & 1u;
        z->rac = (rsp[i + 2] >> 4) & 7u;
        z->ucr = (rsp[i + 2] >> 3) & 1u;
        z->uac = rsp[i + 2] & 7u;
        z->len = (uint16_t)(rsp[i + 3] << 8 | rsp[i + 4]);
        i += 5u;
        if (z->type == VSAFE_SE_ZONE_COUNTER) {
            if (i + 4u > n) {
                return VSAFE_ERR_HOST_FRAME;
            }
            z->ctr = vsafe_get_be32(rsp + i);
            i += 4u;
        }
        if (z->len > MODEL_ZONE_DATA_MAX) {
            return VSAFE_ERR_HOST_FRAME;
        }
    }
    /* host key slot: present, key type, C-MAC counter u32 */
    if (!query(d, VSAFE_SE_TAG_HOST_KEY_V2, &n) || n != 6u) {
        return VSAFE_ERR_HOST_FRAME;
    }
    obs->key_present = rsp[0] != 0;
    obs->key_type = rsp[0] ? rsp[1] : 0;
    obs->mac_ctr = rsp[0] ? vsafe_get_be32(rsp + 2) : 0;
    /* command table: change rights, count, records {header, [ext if 0x1F], AC, enc} */
    if (!query(d, VSAFE_SE_TAG_CMD_AUTH, &n) || n < 2u) {
        return VSAFE_ERR_HOST_FRAME;
    }
    obs->table_cr = rsp[0];
    for (int k = 0; k < MODEL_TCMD_COUNT; k++) {
        obs->cmd_ac[k] = VSAFE_SE_CMD_AC_FREE; /* a command absent from the table is FREE */
        obs->cmd_enc[k] = 0;
    }
    i = 2;
    for (unsigned r = 0; r < rsp[1]; r++) {
        bool ext = rsp[i] == VSAFE_SE_CMD_EXTENDED;
        if (i + (ext ? 4u : 3u) > n) {
            return VSAFE_ERR_HOST_FRAME;
        }
        for (int k = 0; k < MODEL_TCMD_COUNT && !ext; k++) {
            if (rsp[i] == model_tcmd_code[k]) {
                obs->cmd_ac[k] = rsp[i + 1];
                obs->cmd_enc[k] = rsp[i + 2];
            }
        }
        i += ext ? 4u : 3u;
    }
    if (obs->cmd_ac[MODEL_TCMD_READ] != VSAFE_SE_CMD_AC_FREE || obs->cmd_enc[MODEL_TCMD_READ] != 0) {
        return VSAFE_OK; /* no zone data can be read without a C-MAC */
    }
    for (size_t k = 0; k < obs->zone_count; k++) {
        model_zone_t *z = &obs->z[k];
        if (z->rac != VSAFE_SE_AC_ALWAYS) {
            continue;
        }
        bool counter = z->type == VSAFE_SE_ZONE_COUNTER;
        size_t piece = counter ? VSAFE_SE_FRAME_MAX - 5u : VSAFE_SE_FRAME_MAX - 1u; /* status (+ counter) */
        for (size_t off = 0; off < z->len; off += piece) {
            size_t want = z->len - off < piece ? z->len - off : piece;
            uint8_t f[7] = {VSAFE_SE_CMD_READ, 0, (uint8_t)k, (uint8_t)(off >> 8), (uint8_t)off,
                            (uint8_t)(want >> 8), (uint8_t)want};
            uint8_t st = 0xFF;
            size_t got = 0;
            if (!fw_exchange(d, f, sizeof f, &st, rsp, sizeof rsp, &got) || st != VSAFE_SE_ST_OK ||
                got != want + (counter ? 4u : 0u)) {
                return VSAFE_ERR_HOST_FRAME;
            }
            memcpy(z->data + off, rsp + (counter ? 4u : 0u), want);
        }
        *data_mask |= 1u << k;
    }
    return VSAFE_OK;
}

/* Field by field as model_matches compares, without its formatted message. */
bool fw_model_equal(const model_t *e, const model_t *o, uint32_t data_mask, const char **why)
{
    if (e->zone_count != o->zone_count) {
        *why = "zone count";
        return false;
    }
    for (size_t i = 0; i < e->zone_count; i++) {
        const model_zone_t *a = &e->z[i], *b = &o->z[i];
        if (a->type != b->type || a->len != b->len || a->rac != b->rac || a->uac != b->uac || a->rcr != b->rcr ||
            a->ucr != b->ucr || a->ctr != b->ctr) {
            *why = "a zone's type, length, access conditions or counter";
            return false;
        }
        if ((data_mask & (1u << i)) && memcmp(a->data, b->data, a->len) != 0) {
            *why = "a zone's data";
            return false;
        }
    }
    if (e->key_present != o->key_present || e->key_type != o->key_type || e->mac_ctr != o->mac_ctr) {
        *why = "the host key slot";
        return false;
    }
    if (e->table_cr != o->table_cr) {
        *why = "the command table change rights";
        return false;
    }
    for (int k = 0; k < MODEL_TCMD_COUNT; k++) {
        if (e->cmd_ac[k] != o->cmd_ac[k] || e->cmd_enc[k] != o->cmd_enc[k]) {
            *why = "a command's access condition or encryption flags";
            return false;
        }
    }
    return true;
}
