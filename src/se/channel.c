/* TEMPORARY secure-channel stand-in, to be replaced whole by the secure-channel implementation.
 * It lets unprotected commands through and refuses what needs a host key.
 * (vsafe_se_cmd_record lives in core.c.) */
#include <string.h>

#include "se/layout.h"
#include "se/core.h"

uint8_t vsafe_se_channel_open(vsafe_se_core_t *core, const uint8_t *body, size_t body_len, vsafe_se_req_t *req,
                              vsafe_se_chan_t *chan)
{
    memset(req, 0, sizeof *req);
    memset(chan, 0, sizeof *chan);
    req->hdr = body[0];
    req->code = body[0] & VSAFE_SE_HDR_CODE;
    req->hdr_len = 1;
    if (req->code == VSAFE_SE_CMD_EXTENDED) {
        if (body_len < 2) {
            return VSAFE_SE_ST_INCONSISTENT_COMMAND_DATA;
        }
        req->ext = body[1];
        req->hdr_len = 2;
    }
    if ((body[0] & VSAFE_SE_HDR_CMAC) != 0) {
        return core->image[SE_OFF_HK_PRESENT] ? VSAFE_SE_ST_INVALID_C_MAC : VSAFE_SE_ST_KEY_NOT_FOUND;
    }
    const uint8_t *rec = vsafe_se_cmd_record(core, req->code, req->ext);
    if (rec != NULL && (rec[2] != VSAFE_SE_CMD_AC_FREE || rec[3] != 0)) {
        return VSAFE_SE_ST_COMMAND_NOT_AUTHORIZED;
    }
    req->payload = body + req->hdr_len;
    req->payload_len = body_len - req->hdr_len;
    return VSAFE_SE_ST_OK;
}

uint8_t vsafe_se_channel_seal(vsafe_se_core_t *core, const vsafe_se_req_t *req, const uint8_t *body,
                              size_t body_len, const vsafe_se_chan_t *chan, uint8_t status)
{
    return status;
}

uint8_t vsafe_se_cmd_hostkey(vsafe_se_core_t *core, const vsafe_se_req_t *req)
{
    return VSAFE_SE_ST_COMMAND_CODE_NOT_SUPPORTED;
}

uint8_t vsafe_se_put_cmd_table(vsafe_se_core_t *core, uint8_t tag, const uint8_t *value, size_t len)
{
    return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
}

uint8_t vsafe_se_put_hostkey_ctrl(vsafe_se_core_t *core, const uint8_t *value, size_t len)
{
    return VSAFE_SE_ST_ACCESS_CONDITION_NOT_SATISFIED;
}
