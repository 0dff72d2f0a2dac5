/* Host library internals shared by src/host/. Not installed. */
#ifndef VSAFE_HOST_INTERNAL_H
#define VSAFE_HOST_INTERNAL_H

#include <stdint.h>

#include "vsafe/host.h"
#include "vsafe/se_wire.h"

/* Host-side size rule (spec §1.3): the reference PAL buffers LEN + 3 <= 755 bytes, so the response's
 * status + payload + R-MAC stays within 750. Commands: header + payload + C-MAC <= 752. */
#define HOST_RSP_BODY_MAX 750u

struct vsafe_host {
    vsafe_host_transport_t t;
    vsafe_se_t *se; /* in-process transport, else NULL */
    vsafe_host_trace_fn trace;
    void *trace_ctx;
    int initialised;
    uint8_t product[64];
    size_t product_len;
    vsafe_host_cmd_table_t table;
    /* Session (spec §6). Keys are wiped at close. */
    int session_open;
    unsigned key_type;
    size_t key_len;
    struct vsafe_openssl_crypto *crypto; /* session keys live in its slots (session.c) */
    uint32_t mac_counter;
    uint8_t tx[VSAFE_SE_FRAME_MAX + VSAFE_SE_CRC_LEN];
    uint8_t rx[VSAFE_SE_RSP_WIRE_MAX];
};

/* One plain exchange: sends header+payload (+ optional extra tail such as a C-MAC) with CRC,
 * reads the response (5 bytes, then LEN + 3 bytes), checks the CRC. On success *status is the
 * wire status (low 5 bits), *body points into h->rx at the bytes after LEN (payload [+ R-MAC]),
 * *body_len their count (CRC excluded). Returns 0 or a transport/frame status; a device error
 * status is NOT converted here. trace_extra fills the protected fields of the trace events. */
typedef struct {
    int protected_frame;
    uint32_t cmd_counter;
    const uint8_t *cmd_plain;
    size_t cmd_plain_len;
} host_trace_info_t;

int host_exchange(vsafe_host_t *h, const uint8_t *frame, size_t frame_len, const host_trace_info_t *info,
                  uint8_t *status, const uint8_t **body, size_t *body_len);

/* Emits the response trace event for a protected exchange after decryption. */
void host_trace_response(vsafe_host_t *h, const uint8_t *cmd, size_t cmd_len, size_t rsp_wire_len,
                         int protected_frame, uint32_t counter, const uint8_t *plain, size_t plain_len);

/* Full transfer with protection (plain or secure channel). hdr is 1 or 2 bytes. On success the
 * response payload (decrypted, R-MAC removed) is copied to rsp; a non-zero device status is
 * returned as VSAFE_DEV_STATUS(w). */
int host_transfer(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len, const uint8_t *payload,
                  size_t payload_len, uint8_t *rsp, size_t rsp_cap, size_t *rsp_len);

/* The protection a command will actually get: 0 plain, 1 MAC, 2 MAC + encryption flags (enc
 * returned in *enc). VSAFE_ERR_HOST_NO_SESSION when it needs a MAC and no session is open. */
int host_protection(const vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len, uint8_t *enc);

/* Secure-channel transfer (session.c). */
int host_session_transfer(vsafe_host_t *h, uint8_t enc, const uint8_t *hdr, size_t hdr_len, const uint8_t *payload,
                          size_t payload_len, uint8_t *rsp, size_t rsp_cap, size_t *rsp_len);

/* Largest command payload for this command given its protection (after header). */
size_t host_max_cmd_payload(const vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len);
/* Largest response payload (plaintext) for this command given its protection. */
size_t host_max_rsp_payload(const vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *hdr, size_t hdr_len);

void host_put_be16(uint8_t *p, uint16_t v);
void host_put_be32(uint8_t *p, uint32_t v);
uint32_t host_get_be32(const uint8_t *p);

#endif
