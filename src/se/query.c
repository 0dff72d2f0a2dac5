/* Query (0x14) and Put attribute (0x10): the device's self-description (spec §4).
 *
 * Invariants:
 *  1. Query never changes state. Both 0x24 responses STSELib asks for in a row are identical,
 *     because they are built from the committed image only.
 *  2. Every response fits one frame: the partition table is bounded by the profile checks
 *     (64 zones x 9 bytes < 752), the command table by 64 records.
 *  3. Put stages its change; the table owners (src/se/channel.c) enforce the one-way rights.
 */
#include <string.h>

#include "se/layout.h"
#include "se/se_cmd.h"

static size_t query_partitions(const vsafe_se_core_t *core, uint8_t *out)
{
    const uint8_t *img = core->image;
    size_t n = 0;
    out[n++] = img[SE_OFF_ZONE_COUNT];
    for (unsigned slot = 0; slot < img[SE_OFF_ZONE_COUNT]; slot++) {
        const uint8_t *rec = img + se_zone_rec(slot);
        out[n++] = rec[SE_ZREC_INDEX];
        out[n++] = rec[SE_ZREC_TYPE];
        out[n++] = rec[SE_ZREC_AC];
        out[n++] = rec[SE_ZREC_LENGTH];
        out[n++] = rec[SE_ZREC_LENGTH + 1];
        if (rec[SE_ZREC_TYPE] == VSAFE_SE_ZONE_COUNTER) {
            memcpy(out + n, rec + SE_ZREC_COUNTER, 4);
            n += 4;
        }
    }
    return n;
}

static size_t query_command_table(const vsafe_se_core_t *core, uint8_t *out)
{
    const uint8_t *img = core->image;
    size_t n = 0;
    out[n++] = img[SE_OFF_CMD_CR];
    out[n++] = img[SE_OFF_CMD_COUNT];
    for (unsigned i = 0; i < img[SE_OFF_CMD_COUNT]; i++) {
        const uint8_t *rec = img + SE_OFF_CMD_TABLE + i * SE_CMD_REC_SIZE;
        out[n++] = rec[0];
        if ((rec[0] & VSAFE_SE_HDR_CODE) == VSAFE_SE_CMD_EXTENDED) {
            out[n++] = rec[1];
        }
        out[n++] = rec[2];
        out[n++] = rec[3];
    }
    return n;
}

uint8_t vsafe_se_cmd_query(vsafe_se_core_t *core, const vsafe_se_req_t *req)
{
    const uint8_t *img = core->image;
    uint8_t *out = core->out;
    if (req->payload_len != 1u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    switch (req->payload[0]) {
    case VSAFE_SE_TAG_LIFE_CYCLE:
        out[0] = img[SE_OFF_LCS];
        core->out_len = 1;
        break;
    case VSAFE_SE_TAG_I2C_PARAMS:
        out[0] = (uint8_t)(img[SE_OFF_I2C_ADDR] << 1);
        out[1] = 0;
        core->out_len = 2;
        break;
    case VSAFE_SE_TAG_PRODUCT_DATA:
        memcpy(out, img + SE_OFF_PRODUCT_DATA, img[SE_OFF_PD_LEN]);
        core->out_len = img[SE_OFF_PD_LEN];
        break;
    case VSAFE_SE_TAG_PARTITIONS:
        core->out_len = query_partitions(core, out);
        break;
    case VSAFE_SE_TAG_CMD_AUTH:
        core->out_len = query_command_table(core, out);
        break;
    case VSAFE_SE_TAG_HOST_KEY_V2:
        out[0] = img[SE_OFF_HK_PRESENT];
        out[1] = img[SE_OFF_HK_TYPE];
        memcpy(out + 2, img + SE_OFF_HK_COUNTER, 4);
        core->out_len = 6;
        break;
    case VSAFE_SE_TAG_HOST_KEY_CTRL:
        out[0] = img[SE_OFF_HK_CTRL0];
        out[1] = img[SE_OFF_HK_CTRL1];
        core->out_len = 2;
        break;
    default:
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    return VSAFE_SE_ST_OK;
}

uint8_t vsafe_se_cmd_put(vsafe_se_core_t *core, const vsafe_se_req_t *req)
{
    if (req->payload_len < 1u) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    const uint8_t *value = req->payload + 1;
    size_t len = req->payload_len - 1u;
    switch (req->payload[0]) {
    case VSAFE_SE_TAG_CMD_AC:
    case VSAFE_SE_TAG_CMD_ENC:
        return vsafe_se_put_cmd_table(core, req->payload[0], value, len);
    case VSAFE_SE_TAG_HOST_KEY_CTRL:
        return vsafe_se_put_hostkey_ctrl(core, value, len);
    case VSAFE_SE_TAG_I2C_PARAMS: {
        if (len != 2u) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        uint8_t addr = (uint8_t)(value[0] >> 1);
        if ((value[0] & 1u) != 0 || addr < 0x08u || addr > 0x77u) {
            return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
        }
        /* Takes effect at the next reset, so the host can still read this response. */
        vsafe_txn_put_u8(&core->txn, SE_OFF_I2C_ADDR, addr);
        return VSAFE_SE_ST_OK;
    }
    case VSAFE_SE_TAG_LIFE_CYCLE:
        /* Changing the life-cycle state needs the password flow, which this device lacks. */
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    default:
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
}
