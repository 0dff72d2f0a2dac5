/* Host library internals of the API layer (host.c, provision.c): the handle and the one transfer
 * every command goes through. The layers below are session.h (secure channel, trace) and
 * transport.h (frames on a bus); they never call back up. Not installed. */
#ifndef VSAFE_HOST_INTERNAL_H
#define VSAFE_HOST_INTERNAL_H

#include <stdint.h>

#include "session.h"
#include "transport.h"
#include "vsafe/host.h"
#include "vsafe/se_wire.h"

struct vsafe_host {
    host_transport_t *transport; /* owned */
    host_session_t session;
    int initialised;
    uint8_t product[64];
    size_t product_len;
    vsafe_host_cmd_table_t table;
};

/* The protection a command will actually get: 0 plain, 1 MAC, 2 MAC + encryption flags (enc
 * returned in *enc). VSAFE_ERR_HOST_NO_SESSION when it needs a MAC and no session is open. */
int host_protection(const vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len, uint8_t *enc);

/* One command with the protection the caller's choice and the cached command table give. hdr is
 * 1 or 2 bytes. On success the response payload (decrypted, R-MAC removed) is in rsp; a non-zero
 * device status is returned as VSAFE_DEV_STATUS(w). Statuses: host_session_transfer's. */
VSAFE_MUST_CHECK int host_transfer(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len,
                                   const uint8_t *payload, size_t payload_len, uint8_t *rsp, size_t rsp_cap,
                                   size_t *rsp_len);

/* Largest command payload (after the header) for this command given its protection. */
size_t host_max_cmd_payload(const vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len);
/* Largest response payload (plaintext) for this command given its protection. */
size_t host_max_rsp_payload(const vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len);

#endif
