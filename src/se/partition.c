/* User-NVM partition: Read (0x05), Update (0x06), Decrement (0x04) with zone access conditions
 * and their one-way changes.
 *
 * Invariants:
 *  1. Check order: frame shape (0x02) -> zone exists (0x10) -> zone type (0x12) -> access
 *     condition (0x11) -> AC change allowed (0x11) -> value checks (0x03, 0x13) -> bounds (0x14).
 *     Only when every check passed is anything staged; so a refusal writes nothing.
 *  2. A counter only goes down: the staged value is always counter - amount with amount >= 1
 *     and amount <= counter.
 *  3. An access condition only gets stricter (Always < Host < Never; 2..6 count as Never), and a
 *     change right once cleared stays cleared.
 *  4. Access and AC change are one command and so one commit.
 *  5. Requests are parsed with a cursor (common/cursor.h); the dispatcher has checked the minimum
 *     lengths (Read: exactly 6, Update: 4, Decrement: 8), the rest of the payload is the data.
 */
#include <string.h>

#include "common/bytes.h"
#include "se/layout.h"
#include "se/se_cmd.h"

/* Strictness rank of an AC value: Always 0 < Host 1 < Never 2 (2..7 are all Never). */
static unsigned ac_rank(uint8_t ac) { return ac == VSAFE_SE_AC_ALWAYS ? 0u : ac == VSAFE_SE_AC_HOST ? 1u : 2u; }

static bool ac_allows(uint8_t ac, bool authenticated)
{
    unsigned r = ac_rank(ac);
    if (r == 0u) {
        return true;
    }
    if (r == 1u) {
        return authenticated;
    }
    return false;
}

typedef struct {
    uint32_t rec;      /* offset of the zone record in the image */
    uint8_t type;
    uint8_t zir;       /* AC byte */
    uint16_t length;
    uint32_t data;     /* offset of the data segment */
    uint32_t counter;
} zone_t;

static inline bool zone_get(const vsafe_se_core_t *core, uint8_t index, zone_t *z)
{
    uint8_t slot = core->zone_slot[index];
    if (slot == 0xFF) {
        return false;
    }
    const uint8_t *rec = core->image + se_zone_rec(slot);
    z->rec = se_zone_rec(slot);
    z->type = rec[SE_ZREC_TYPE];
    z->zir = rec[SE_ZREC_AC];
    z->length = vsafe_get_be16(rec + SE_ZREC_LENGTH);
    z->data = vsafe_get_be32(rec + SE_ZREC_DATA);
    z->counter = vsafe_get_be32(rec + SE_ZREC_COUNTER);
    return true;
}

/* Applies an option byte's AC change to one half of the zone info record (shift 4 = read,
 * 0 = update). Returns a wire status; stages the new AC byte on success. */
static uint8_t stage_ac_change(vsafe_se_core_t *core, const zone_t *z, uint8_t opt, unsigned shift)
{
    if ((opt & VSAFE_SE_OPT_CHANGE_AC) == 0) {
        return VSAFE_SE_ST_OK;
    }
    uint8_t half = (uint8_t)((z->zir >> shift) & 0x0Fu);
    bool cr = (half & 0x08u) != 0;
    uint8_t cur_ac = half & 0x07u;
    uint8_t new_ac = opt & VSAFE_SE_OPT_AC_MASK;
    bool new_cr = (opt & VSAFE_SE_OPT_CR) != 0;
    if (!cr || ac_rank(new_ac) < ac_rank(cur_ac)) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    uint8_t new_half = (uint8_t)(new_ac | ((cr && new_cr) ? 0x08u : 0u));
    uint8_t zir = (uint8_t)((z->zir & ~(0x0Fu << shift)) | (unsigned)(new_half << shift));
    vsafe_txn_put_u8(&core->txn, z->rec + SE_ZREC_AC, zir);
    return VSAFE_SE_ST_OK;
}

/* OPT(1) ZONE(1) OFFSET(2) LENGTH(2) -> [COUNTER(4)] DATA(LENGTH) */
uint8_t vsafe_se_cmd_read(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    zone_t z;
    uint8_t opt, index;
    uint16_t offset, length;
    if (!vsafe_cursor_u8(in, &opt) || !vsafe_cursor_u8(in, &index) || !vsafe_cursor_be16(in, &offset) ||
        !vsafe_cursor_be16(in, &length) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (!zone_get(core, index, &z)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    if (!ac_allows((uint8_t)((z.zir >> 4) & 7u), req->authenticated)) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    uint8_t st = stage_ac_change(core, &z, opt, 4);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if ((uint32_t)offset + length > z.length) {
        return VSAFE_SE_ST_BOUNDARY_EXCEEDED;
    }
    size_t n = z.type == VSAFE_SE_ZONE_COUNTER ? 4u : 0u;
    if (n + length > VSAFE_SE_FRAME_MAX) {
        return VSAFE_SE_ST_BUFFER_LENGTH_EXCEEDED;
    }
    if (n > 0) {
        vsafe_put_be32(core->out, z.counter);
    }
    memcpy(core->out + n, core->image + z.data + offset, length);
    core->out_len = n + length;
    return VSAFE_SE_ST_OK;
}

/* The checks Update and Decrement share (invariant 1 up to the AC change): the zone exists and
 * has the command's type, its update AC is met, and an AC change in opt is allowed (then staged). */
static uint8_t write_access(vsafe_se_core_t *core, const vsafe_se_req_t *req, uint8_t opt, uint8_t index,
                            uint8_t type, zone_t *z)
{
    if (!zone_get(core, index, z)) {
        return VSAFE_SE_ST_ENTRY_NOT_FOUND;
    }
    if (z->type != type) {
        return VSAFE_SE_ST_WRONG_ZONE_TYPE;
    }
    if (!ac_allows(z->zir & 7u, req->authenticated)) {
        return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
    }
    return stage_ac_change(core, z, opt, 0);
}

/* OPT(1) ZONE(1) OFFSET(2) DATA(...) */
uint8_t vsafe_se_cmd_update(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    zone_t z;
    uint8_t opt, index;
    uint16_t offset;
    const uint8_t *data;
    size_t n;
    if (!vsafe_cursor_u8(in, &opt) || !vsafe_cursor_u8(in, &index) || !vsafe_cursor_be16(in, &offset)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    vsafe_cursor_rest(in, &data, &n);
    if ((opt & 0x60u) != 0) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    uint8_t st = write_access(core, req, opt, index, VSAFE_SE_ZONE_DATA, &z);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if ((uint32_t)offset + n > z.length) {
        return VSAFE_SE_ST_BOUNDARY_EXCEEDED;
    }
    /* Atomic (OPT bit 7) and non-atomic updates both commit as one record here: the store never
     * tears a record, which is within what the part promises for non-atomic updates. */
    if (n > 0) {
        vsafe_txn_put(&core->txn, z.data + offset, data, (uint32_t)n);
    }
    return VSAFE_SE_ST_OK;
}

/* OPT(1) ZONE(1) OFFSET(2) AMOUNT(4) DATA(...) -> NEW_COUNTER(4) */
uint8_t vsafe_se_cmd_decrement(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    zone_t z;
    uint8_t opt, index;
    uint16_t offset;
    uint32_t amount;
    const uint8_t *data;
    size_t n;
    if (!vsafe_cursor_u8(in, &opt) || !vsafe_cursor_u8(in, &index) || !vsafe_cursor_be16(in, &offset) ||
        !vsafe_cursor_be32(in, &amount)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    vsafe_cursor_rest(in, &data, &n);
    if ((opt & 0xE0u) != 0) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    uint8_t st = write_access(core, req, opt, index, VSAFE_SE_ZONE_COUNTER, &z);
    if (st != VSAFE_SE_ST_OK) {
        return st;
    }
    if (amount == 0) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    if (amount > z.counter) {
        return VSAFE_SE_ST_COUNTER_LIMIT_EXCEEDED;
    }
    if ((uint32_t)offset + n > z.length) {
        return VSAFE_SE_ST_BOUNDARY_EXCEEDED;
    }
    uint32_t value = z.counter - amount;
    vsafe_txn_put_u32(&core->txn, z.rec + SE_ZREC_COUNTER, value);
    if (n > 0) {
        vsafe_txn_put(&core->txn, z.data + offset, data, (uint32_t)n);
    }
    vsafe_put_be32(core->out, value);
    core->out_len = 4;
    return VSAFE_SE_ST_OK;
}
