/* Query (0x14) and Put attribute (0x10): the device's self-description and the few attributes a
 * host may change (the command table's ACs and encryption flags, the host-key provisioning
 * control fields, the I2C address).
 *
 * Invariants:
 *  1. Query never changes state. Both 0x24 responses STSELib asks for in a row are identical,
 *     because they are built from the committed image only.
 *  2. Every response fits one frame: the partition table is bounded by the profile checks
 *     (64 zones x 9 bytes < 752), the command table by 64 records.
 *  3. Put stages its change in core->txn, and only after every check passed: a refused Put
 *     changes nothing.
 *  4. Put 0x29 / 0x2A are one-time programmable ("the table is one-time programmable", as ST's
 *     SDK puts it): a successful Put clears its own change right (0x29: bit1, 0x2A: bit0), so the
 *     next answers 0x11. A Put with a record count of 0 only locks. Commands absent from the table
 *     cannot be added (0x10): the table's shape is fixed by the profile.
 *  5. The host-key control change right is one-way: once written 0, no Put 0x4A is accepted.
 *  6. Requests are parsed with a cursor (common/cursor.h); leftover bytes are 0x02.
 */
#include <string.h>

#include "common/bytes.h"
#include "se/layout.h"
#include "se/se_cmd.h"
#include "se/state.h"

/* Host key control fields (Query 0x4A byte 0): bit3 is the change right of the fields. */
#define HK_CTRL_CHANGE_RIGHT 0x08u

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

/* TAG(1) */
uint8_t vsafe_se_cmd_query(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const uint8_t *img = core->image;
    uint8_t *out = core->out;
    uint8_t tag;
    (void)req;
    if (!vsafe_cursor_u8(in, &tag) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    switch (tag) {
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

/* ---- Put attribute ---- */

/* Codes STSELib's full command list names but the device does not execute: 0x08 (Derive LoRa
 * key), 0x15 (Get signature), extended 0x0C and 0x0D. */
static bool reserved_command(uint8_t hdr, uint8_t ext)
{
    return hdr == 0x08u || hdr == 0x15u || (hdr == VSAFE_SE_CMD_EXTENDED && (ext == 0x0Cu || ext == 0x0Du));
}

/* 0x29 / 0x2A: COUNT(1) then COUNT records HEADER(1) [EXT(1) when HEADER is 0x1F] VALUE(1)
 * (invariant 4). Pass 1 validates everything, pass 2 stages: a refused Put changes nothing. */
static uint8_t put_cmd_table(vsafe_se_core_t *core, uint8_t tag, vsafe_cursor_t *in)
{
    const uint8_t right = tag == VSAFE_SE_TAG_CMD_AC ? 0x02u : 0x01u;
    const uint32_t field = tag == VSAFE_SE_TAG_CMD_AC ? 2u : 3u;
    uint8_t cr = core->image[SE_OFF_CMD_CR];
    uint8_t count;
    if ((cr & right) == 0u) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    if (!vsafe_cursor_u8(in, &count)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    for (int pass = 0; pass < 2; pass++) {
        vsafe_cursor_t c = *in;
        for (unsigned i = 0; i < count; i++) {
            uint8_t hdr, ext = 0, v;
            if (!vsafe_cursor_u8(&c, &hdr)) {
                return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
            }
            if (hdr > VSAFE_SE_CMD_EXTENDED) {
                return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
            }
            if (hdr == VSAFE_SE_CMD_EXTENDED && !vsafe_cursor_u8(&c, &ext)) {
                return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
            }
            if (!vsafe_cursor_u8(&c, &v)) {
                return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
            }
            if (v > 3u) {
                /* ACs: only 0..3 are reported by the command table query; flags: two bits. */
                return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
            }
            const uint8_t *rec = vsafe_se_state_cmd_record(core, hdr, ext);
            if (rec == NULL && reserved_command(hdr, ext)) {
                /* The factory table leaves the reserved codes out (they answer 0x04), but ST's
                 * provisioning example still puts the full 45-record list: accept and ignore
                 * those records, as the command they name cannot run in any case. */
                continue;
            }
            if (rec == NULL) {
                return VSAFE_SE_ST_ENTRY_NOT_FOUND;
            }
            if (pass == 1) {
                vsafe_txn_put_u8(&core->txn, (uint32_t)(rec - core->image) + field, v);
            }
        }
        if (!vsafe_cursor_at_end(&c)) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
    }
    vsafe_txn_put_u8(&core->txn, SE_OFF_CMD_CR, (uint8_t)(cr & ~right));
    return VSAFE_SE_ST_OK;
}

/* 0x4A: CONTROL(1) AUTH_SLOT(1) (invariant 5). */
static uint8_t put_hostkey_ctrl(vsafe_se_core_t *core, vsafe_cursor_t *in)
{
    uint8_t ctrl, slot;
    if ((core->image[SE_OFF_HK_CTRL0] & HK_CTRL_CHANGE_RIGHT) == 0u) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    if (vsafe_cursor_left(in) != 2u || !vsafe_cursor_u8(in, &ctrl) || !vsafe_cursor_u8(in, &slot)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if ((ctrl & 0xF0u) != 0u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    vsafe_txn_put_u8(&core->txn, SE_OFF_HK_CTRL0, ctrl);
    vsafe_txn_put_u8(&core->txn, SE_OFF_HK_CTRL1, slot);
    return VSAFE_SE_ST_OK;
}

/* 0x0A: ADDRESS << 1 (1) RESERVED(1). Takes effect at the next reset, so the host can still read
 * this response at the old address. */
static uint8_t put_i2c_params(vsafe_se_core_t *core, vsafe_cursor_t *in)
{
    uint8_t a, reserved;
    if (vsafe_cursor_left(in) != 2u || !vsafe_cursor_u8(in, &a) || !vsafe_cursor_u8(in, &reserved)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    uint8_t addr = (uint8_t)(a >> 1);
    if ((a & 1u) != 0 || addr < 0x08u || addr > 0x77u) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    vsafe_txn_put_u8(&core->txn, SE_OFF_I2C_ADDR, addr);
    return VSAFE_SE_ST_OK;
}

/* TAG(1) VALUE(...) */
uint8_t vsafe_se_cmd_put(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    uint8_t tag;
    (void)req;
    if (!vsafe_cursor_u8(in, &tag)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    switch (tag) {
    case VSAFE_SE_TAG_CMD_AC:
    case VSAFE_SE_TAG_CMD_ENC:
        return put_cmd_table(core, tag, in);
    case VSAFE_SE_TAG_HOST_KEY_CTRL:
        return put_hostkey_ctrl(core, in);
    case VSAFE_SE_TAG_I2C_PARAMS:
        return put_i2c_params(core, in);
    case VSAFE_SE_TAG_LIFE_CYCLE:
        /* Changing the life-cycle state needs the password flow, which this device lacks. */
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    default:
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
}
