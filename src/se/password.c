/* Password: Verify password 0x1A and Delete password (0x0C tag 0x09).
 *
 * This device is personalised without a password (key-services header byte SVC_OFF_PASSWORD is
 * 0, and no command provisions one), so:
 *  - Verify password answers status 0x00 with VERIFIED 0x00 and REMAINING_TRIES 0x00: there is
 *    nothing a password could match, and no try is counted;
 *  - Delete password answers 0x11: nothing to delete and no right to delete it.
 * Neither command changes state. */
#include "common/cursor.h"
#include "se/se_cmd.h"

#define PASSWORD_LEN 16u
#define DELETE_TAG_PASSWORD 0x09u

/* 1A PASSWORD(16) -> VERIFIED(1) REMAINING_TRIES(1) */
uint8_t vsafe_se_cmd_password_verify(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    const uint8_t *pw;
    (void)req;
    if (!vsafe_cursor_bytes(in, PASSWORD_LEN, &pw) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    (void)pw; /* no password is provisioned: nothing to compare with */
    core->out[0] = 0x00;
    core->out[1] = 0x00;
    core->out_len = 2;
    return VSAFE_SE_ST_OK;
}

/* 0C TAG: only tag 0x09 (password slot) exists */
uint8_t vsafe_se_cmd_delete(vsafe_se_core_t *core, const vsafe_se_req_t *req, vsafe_cursor_t *in)
{
    uint8_t tag;
    (void)req;
    (void)core;
    if (!vsafe_cursor_u8(in, &tag) || !vsafe_cursor_at_end(in)) {
        return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
    }
    if (tag != DELETE_TAG_PASSWORD) {
        return VSAFE_SE_ST_VALUE_OUT_OF_RANGE;
    }
    return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
}
