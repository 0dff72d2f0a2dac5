/* Command handlers of the device core (internal). Each takes the parsed request, stages its NVM
 * changes in core->txn, writes its response payload to core->out/out_len and returns a wire
 * status. A handler never writes the image directly. */
#ifndef VSAFE_SE_CMD_H
#define VSAFE_SE_CMD_H

#include "se/core.h"

uint8_t vsafe_se_cmd_read(vsafe_se_core_t *core, const vsafe_se_req_t *req);
uint8_t vsafe_se_cmd_update(vsafe_se_core_t *core, const vsafe_se_req_t *req);
uint8_t vsafe_se_cmd_decrement(vsafe_se_core_t *core, const vsafe_se_req_t *req);
uint8_t vsafe_se_cmd_query(vsafe_se_core_t *core, const vsafe_se_req_t *req);
uint8_t vsafe_se_cmd_put(vsafe_se_core_t *core, const vsafe_se_req_t *req);

#endif
