/* The device side of the host secure channel (channel.c). A layer below the dispatcher: the core
 * opens a frame here before dispatching it and seals the response here after; the channel calls
 * nothing above it (it reads the command table through se/state.h). */
#ifndef VSAFE_SE_CHANNEL_H
#define VSAFE_SE_CHANNEL_H

#include "se/core.h"

typedef struct {
    bool cmac;          /* C-MAC present and verified */
    bool rmac;          /* R-MAC requested */
    bool enc_rsp;       /* response payload to be encrypted */
    uint32_t counter;   /* counter after the increment (valid when cmac) */
} vsafe_se_chan_t;

/* Checks protection of the incoming frame (body = header..payload..C-MAC, CRC excluded) against
 * the host key slot and the command table; on success fills req (payload decrypted into
 * core->plain when the table says so; core->plain_len covers every byte written there) and
 * chan, and stages the counter advance in core->txn. Returns a wire status (0 = proceed); when
 * chan->cmac is set the advance is earned even if the status is not 0. */
uint8_t vsafe_se_channel_open(vsafe_se_core_t *core, const uint8_t *body, size_t body_len, vsafe_se_req_t *req,
                              vsafe_se_chan_t *chan);

/* Protects the successful response payload core->out[0..out_len) in place: encryption (ISO/IEC
 * 9797-1 method 2 padding), then the R-MAC appended. On return, success or not, core->out_len
 * covers every byte of core->out written, so the caller can wipe exactly that. Returns a wire
 * status; on error the caller drops the response and the handler's changes. */
uint8_t vsafe_se_channel_seal(vsafe_se_core_t *core, const vsafe_se_req_t *req, const uint8_t *body,
                              size_t body_len, const vsafe_se_chan_t *chan);

#endif
