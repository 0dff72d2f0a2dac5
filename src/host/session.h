/* Host session layer: the middle of the host library. It turns one command (header + plaintext
 * payload) into a frame, plain or protected by the host secure channel (C-MAC, R-MAC, command and
 * response encryption, the MAC sequence counter), sends it through the transport below
 * (transport.h) and gives back the verified, decrypted response payload. It also emits the trace
 * events, because only it sees both the wire bytes and the plaintext.
 *
 * It calls only the transport and the crypto port; which commands need which protection (the
 * command table) and what the commands mean are decided above it, in host.c. Not installed. */
#ifndef VSAFE_HOST_SESSION_H
#define VSAFE_HOST_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"
#include "vsafe/host.h"
#include "vsafe/se_port.h"
#include "vsafe/se_wire.h"

/* Host-side size rule: the reference host buffers LEN + 3 <= 755 bytes, so a response's status +
 * payload + R-MAC stays within 750. Commands: header + payload + C-MAC <= 752. */
#define HOST_RSP_BODY_MAX 750u

struct vsafe_openssl_crypto;

typedef struct {
    host_transport_t *transport; /* not owned */
    vsafe_host_trace_fn trace;
    void *trace_ctx;
    /* Secure channel. The keys live only in the crypto port's slots; wiped by host_session_end. */
    int open;
    unsigned key_type;
    size_t key_len;
    uint32_t mac_counter; /* CTR of the next protected command */
    struct vsafe_openssl_crypto *crypto; /* created on first use */
    uint8_t tx[VSAFE_SE_FRAME_MAX + VSAFE_SE_CRC_LEN];
    uint8_t rx[VSAFE_SE_RSP_WIRE_MAX];
} host_session_t;

/* Binds s to the transport t (which must outlive it) and routes t's NACKs to the trace. */
void host_session_init(host_session_t *s, host_transport_t *t);
/* Ends the session, frees the crypto port (wiping its keys) and wipes the frame buffers. */
void host_session_destroy(host_session_t *s);

void host_session_set_trace(host_session_t *s, vsafe_host_trace_fn fn, void *ctx);

/* Loads the keys (key_len 16 or 32 bytes each) and starts the channel at counter.
 * VSAFE_ERR_CRYPTO (then no session is open). */
VSAFE_MUST_CHECK int host_session_start(host_session_t *s, const uint8_t *mac_key, const uint8_t *cipher_key,
                                        unsigned key_type, uint32_t counter);
/* Clears the keys from the crypto port's slots; no session is open afterwards. */
void host_session_end(host_session_t *s);

/* One command. protect 0: plain (enc ignored); otherwise C-MAC and R-MAC, with the command
 * payload encrypted when enc has VSAFE_SE_ENC_CMD and the response when VSAFE_SE_ENC_RSP.
 * hdr is 1 or 2 bytes (protection bits clear). On VSAFE_OK the response payload (R-MAC removed,
 * decrypted) is in rsp[0..*rsp_len). A device status other than OK is VSAFE_DEV_STATUS(w).
 * VSAFE_ERR_FRAME_TOO_LONG, VSAFE_ERR_HOST_NO_SESSION (protect without a session),
 * VSAFE_ERR_HOST_RMAC, VSAFE_ERR_HOST_FRAME (also: response longer than rsp_cap), the
 * transport's statuses, VSAFE_ERR_CRYPTO.
 * Counter (protected): advances after every exchange that produced a device status except
 * INVALID_C_MAC and COMMUNICATION_ERROR; never on a transport failure. */
VSAFE_MUST_CHECK int host_session_transfer(host_session_t *s, int protect, uint8_t enc, const uint8_t *hdr,
                                           size_t hdr_len, const uint8_t *payload, size_t payload_len, uint8_t *rsp,
                                           size_t rsp_cap, size_t *rsp_len);

/* Largest command payload (after the header) and response payload (plaintext) a frame can carry
 * under that protection. */
size_t host_session_max_cmd_payload(int protect, uint8_t enc, size_t hdr_len);
size_t host_session_max_rsp_payload(int protect, uint8_t enc);

/* The crypto port the session uses (created on first use), for host-side key derivation in
 * provisioning; NULL when OpenSSL cannot set it up. */
const vsafe_crypto_t *host_session_crypto(host_session_t *s);

/* Wipes the frame buffers now (after a frame that carried key material in plaintext). */
void host_session_wipe_frames(host_session_t *s);

#endif
