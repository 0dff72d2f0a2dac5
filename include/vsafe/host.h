/* vsafe host library: drive an STSAFE-A120 (the virtual one, or any device reachable through I2C
 * callbacks) as STSELib does, frame for frame: framing and CRC, queries, data partition, host
 * secure channel and host-key provisioning of the STSAFE-A120 wire protocol.
 *
 * The library never reaches into the device: it only writes command frames and reads responses
 * through a transport. One handle serves one device; it is not thread-safe.
 *
 * Statuses: every function returns VSAFE_OK (0) or a negative status from include/vsafe/status.def.
 * Common to every function that talks to the device:
 *   VSAFE_ERR_ARGUMENT            NULL handle/buffer, length or value out of the protocol's range
 *   VSAFE_ERR_FRAME_TOO_LONG      the command would exceed the 752-byte frame limit
 *   VSAFE_ERR_HOST_NACK           the device never acknowledged the write (retries exhausted)
 *   VSAFE_ERR_HOST_TIMEOUT        the device stayed busy (read NACKed) through every retry
 *   VSAFE_ERR_HOST_CRC            response CRC mismatch
 *   VSAFE_ERR_HOST_FRAME          response LEN impossible, or payload length not what the command returns
 *   VSAFE_ERR_HOST_TRANSPORT      the transport callback returned a negative status (the status itself
 *                                 is returned when it is a vsafe status; this one otherwise)
 *   VSAFE_DEV_STATUS(w)           the device answered with wire status w (named by vsafe_status_name,
 *                                 e.g. "ACCESS_CONDITION_NOT_SATISFIED"; docs/STATUS.md)
 *   VSAFE_ERR_HOST_NO_SESSION     the command needs a MAC (command table or VSAFE_HOST_PROT_MAC) but
 *                                 no host session is open
 *   VSAFE_ERR_HOST_RMAC           the response MAC did not verify (session only)
 * The per-function comments list only what is specific to each. */
#ifndef VSAFE_HOST_H
#define VSAFE_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "vsafe/se.h"
#include "vsafe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vsafe_host vsafe_host_t;

/* ---- Transport ---- */
/* Caller-supplied I2C: one call = one bus transaction to the 7-bit address addr7.
 * Return 0 (ACK), VSAFE_I2C_NACK (address not acknowledged: busy or absent), or < 0 on failure. */
typedef int (*vsafe_host_i2c_write_fn)(void *ctx, uint8_t addr7, const uint8_t *buf, size_t len);
typedef int (*vsafe_host_i2c_read_fn)(void *ctx, uint8_t addr7, uint8_t *buf, size_t len);

typedef struct {
    vsafe_host_i2c_write_fn write;
    vsafe_host_i2c_read_fn read;
    void *ctx;
    uint8_t addr7;        /* 0 = VSAFE_SE_DEFAULT_I2C_ADDR (0x20) */
    unsigned max_retries; /* NACK polling: attempts per transaction; 0 = 100 (STSELib's default) */
    /* Called between polling attempts (e.g. sleep 10 ms); NULL = retry at once. */
    void (*delay_ms)(void *ctx, unsigned ms);
    unsigned poll_interval_ms; /* passed to delay_ms; 0 = 10 */
} vsafe_host_transport_t;

/* Opens a handle over caller-supplied I2C callbacks. No bus traffic (call vsafe_host_init).
 * VSAFE_ERR_ARGUMENT, VSAFE_ERR_NO_MEMORY. */
VSAFE_MUST_CHECK int vsafe_host_open(vsafe_host_t **h, const vsafe_host_transport_t *transport);
/* Opens a handle over an in-process device (vsafe_se_i2c_write/read at address 0x20). The device
 * must outlive the handle. VSAFE_ERR_ARGUMENT, VSAFE_ERR_NO_MEMORY. */
VSAFE_MUST_CHECK int vsafe_host_open_se(vsafe_host_t **h, vsafe_se_t *se);
/* Closes the handle and wipes its session keys. NULL is fine. */
void vsafe_host_close(vsafe_host_t *h);

/* ---- Trace ---- */
typedef enum {
    VSAFE_HOST_TRACE_COMMAND = 0,  /* a command frame as written (CRC included) */
    VSAFE_HOST_TRACE_RESPONSE = 1, /* a complete response as read (STATUS, LEN, ..., CRC) */
    VSAFE_HOST_TRACE_NACK = 2      /* the device NACKed; frame = NULL */
} vsafe_host_trace_dir_t;

typedef struct {
    vsafe_host_trace_dir_t dir;
    const uint8_t *frame; /* bytes on the wire */
    size_t len;
    /* For a response: the command frame it answers (so it can be decoded); else NULL. */
    const uint8_t *command;
    size_t command_len;
    /* Host secure channel: set when the frame carries a C-MAC / R-MAC. */
    int protected_frame;
    uint32_t mac_counter;    /* counter in the MAC's B0 block (CTR for a command, CTR+1 for a response) */
    const uint8_t *plain;    /* decrypted payload (after the header / status) when encrypted, else NULL */
    size_t plain_len;
} vsafe_host_trace_t;

typedef void (*vsafe_host_trace_fn)(void *ctx, const vsafe_host_trace_t *event);

/* Installs (or with fn NULL removes) a hook called for every frame both ways. */
void vsafe_host_set_trace(vsafe_host_t *h, vsafe_host_trace_fn fn, void *ctx);

/* Renders one trace event as readable text (one or more lines, no trailing newline):
 * direction, the hex bytes, then the decoding: command name, fields (zone, offset, length, amount,
 * option bits, data, tag), the status name, MAC and CRC (with "ok"/"BAD" for the CRC).
 * VSAFE_ERR_ARGUMENT, VSAFE_ERR_BUFFER_TOO_SMALL (out is then truncated but terminated). */
VSAFE_MUST_CHECK int vsafe_host_trace_decode(const vsafe_host_trace_t *event, char *out, size_t out_cap);

/* ---- Protection of one command ---- */
typedef enum {
    /* As the device's command table requires (cached by vsafe_host_init): plain when the command
     * is FREE and unencrypted, MACed when its AC is HOST (or anything but FREE), MACed and
     * encrypted when it has encryption flags. */
    VSAFE_HOST_PROT_TABLE = 0,
    /* Plain, whatever the table says (the device will refuse what it requires a MAC for). */
    VSAFE_HOST_PROT_NONE = 1,
    /* C-MAC and R-MAC, plus encryption when the table sets encryption flags. */
    VSAFE_HOST_PROT_MAC = 2
} vsafe_host_prot_t;

/* ---- Init and device information ---- */
/* Queries product data (0x11: mask-ID check, A120 = mask number >= 0x6000) and the command
 * authorization table (0x24), which is cached in the handle.
 * VSAFE_ERR_HOST_DEVICE_TYPE: the mask ID is missing or not an A120. */
VSAFE_MUST_CHECK int vsafe_host_init(vsafe_host_t *h);

/* The product data payload cached by vsafe_host_init. VSAFE_ERR_STATE before init,
 * VSAFE_ERR_BUFFER_TOO_SMALL. */
VSAFE_MUST_CHECK int vsafe_host_product_data(const vsafe_host_t *h, uint8_t *out, size_t out_cap, size_t *out_len);

#define VSAFE_HOST_CMD_TABLE_MAX 64u
typedef struct {
    uint8_t header;  /* command code (0x1F for extended) */
    uint8_t ext;     /* extended code when header == 0x1F, else 0 */
    uint8_t ac;      /* VSAFE_SE_CMD_AC_* */
    uint8_t enc;     /* VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP */
} vsafe_host_cmd_ac_t;

typedef struct {
    uint8_t change_rights; /* bit0: encryption flags may change, bit1: ACs may change */
    size_t count;
    vsafe_host_cmd_ac_t rec[VSAFE_HOST_CMD_TABLE_MAX];
} vsafe_host_cmd_table_t;

/* Copies the cached command table. VSAFE_ERR_STATE before init. */
VSAFE_MUST_CHECK int vsafe_host_command_table(const vsafe_host_t *h, vsafe_host_cmd_table_t *out);
/* Re-queries the table (0x24) and refreshes the cache. */
VSAFE_MUST_CHECK int vsafe_host_refresh_command_table(vsafe_host_t *h);

/* Generic Query: out receives the response payload. VSAFE_ERR_BUFFER_TOO_SMALL. */
VSAFE_MUST_CHECK int vsafe_host_query(vsafe_host_t *h, uint8_t tag, uint8_t *out, size_t out_cap, size_t *out_len);

typedef struct {
    int present;      /* a host key is provisioned */
    uint8_t key_type; /* 0 = AES-128, 1 = AES-256 */
    uint32_t counter; /* C-MAC sequence counter */
} vsafe_host_key_slot_t;
/* Query 0x47. VSAFE_ERR_HOST_FRAME when the payload is not 6 bytes. */
VSAFE_MUST_CHECK int vsafe_host_query_key_slot(vsafe_host_t *h, vsafe_host_key_slot_t *out);
/* Query 0x4A: the two host-key provisioning control bytes (control field, auth key slot). */
VSAFE_MUST_CHECK int vsafe_host_query_key_ctrl(vsafe_host_t *h, uint8_t fields[2]);
/* Query 0x08: life-cycle state byte. */
VSAFE_MUST_CHECK int vsafe_host_query_life_cycle(vsafe_host_t *h, uint8_t *lcs);

/* ---- Partition ---- */
typedef struct {
    uint8_t index;
    uint8_t type;       /* VSAFE_SE_ZONE_DATA / VSAFE_SE_ZONE_COUNTER */
    uint16_t length;    /* data segment length */
    uint8_t read_ac;    /* VSAFE_SE_AC_*: 0 always, 1 host, 2..7 never */
    uint8_t update_ac;
    uint8_t read_ac_cr; /* 1 = the read AC may still be changed */
    uint8_t update_ac_cr;
    uint32_t counter;   /* counter zones only */
} vsafe_host_zone_t;

/* Query 0x12: the partition table. *count is the number of zones on the device, even when it is
 * larger than cap (then VSAFE_ERR_BUFFER_TOO_SMALL and the first cap zones are filled).
 * VSAFE_ERR_HOST_FRAME on a malformed table. */
VSAFE_MUST_CHECK int vsafe_host_zones(vsafe_host_t *h, vsafe_host_zone_t *zones, size_t cap, size_t *count);

/* ---- Data storage. Every call takes a protection (above). ---- */
/* Reads len bytes of a data zone from offset, in as many Read commands as the frame limit needs.
 * Device refusals: ENTRY_NOT_FOUND, ACCESS_CONDITION_NOT_SATISFIED, BOUNDARY_EXCEEDED. */
VSAFE_MUST_CHECK int vsafe_host_read_zone(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint16_t offset,
                                          uint8_t *out, size_t len);
/* Reads a counter zone: the counter and len bytes of its data from offset (len may be 0).
 * *counter is the value reported by the last chunk. Refusals as vsafe_host_read_zone. */
VSAFE_MUST_CHECK int vsafe_host_read_counter_zone(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone,
                                                  uint16_t offset, uint8_t *out, size_t len, uint32_t *counter);
/* Writes data at offset. Atomic: one command with OPT bit 7 (VSAFE_ERR_FRAME_TOO_LONG if it does
 * not fit one frame). Non-atomic: split into as many Updates as needed.
 * Device refusals: ENTRY_NOT_FOUND, ACCESS_CONDITION_NOT_SATISFIED, WRONG_ZONE_TYPE, BOUNDARY_EXCEEDED. */
VSAFE_MUST_CHECK int vsafe_host_update_zone(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint16_t offset,
                                            const uint8_t *data, size_t len, int atomic);
/* Decrements a counter zone by amount (>= 1) and writes the associated data (may be empty) at offset.
 * new_counter may be NULL. VSAFE_ERR_ARGUMENT for amount 0. Device refusals: ENTRY_NOT_FOUND,
 * ACCESS_CONDITION_NOT_SATISFIED, WRONG_ZONE_TYPE, COUNTER_LIMIT_EXCEEDED, BOUNDARY_EXCEEDED. */
VSAFE_MUST_CHECK int vsafe_host_decrement(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint32_t amount,
                                          uint16_t offset, const uint8_t *data, size_t len, uint32_t *new_counter);

/* Access-condition changes: the new AC must be equal or stricter and the current
 * change right set, else ACCESS_CONDITION_NOT_SATISFIED and nothing changes. change_right = 0
 * clears the right for good. ac: VSAFE_SE_AC_ALWAYS / _HOST / _NEVER. */
/* A Read with OPT 0x10|cr<<3|ac and length 0. */
VSAFE_MUST_CHECK int vsafe_host_change_read_ac(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint8_t ac,
                                               int change_right);
/* An Update with the AC change in its option byte, writing data (may be empty) at offset.
 * For a counter zone use vsafe_host_change_decrement_ac. */
VSAFE_MUST_CHECK int vsafe_host_change_update_ac(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint8_t ac,
                                                 int change_right, uint16_t offset, const uint8_t *data,
                                                 size_t len, int atomic);
/* A Decrement with the AC change in its option byte (amount >= 1). new_counter may be NULL. */
VSAFE_MUST_CHECK int vsafe_host_change_decrement_ac(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone,
                                                    uint8_t ac, int change_right, uint32_t amount, uint16_t offset,
                                                    const uint8_t *data, size_t len, uint32_t *new_counter);

/* ---- Other commands ---- */
/* Echo: out receives the same len bytes (len <= 747). VSAFE_ERR_HOST_FRAME if they differ in length. */
VSAFE_MUST_CHECK int vsafe_host_echo(vsafe_host_t *h, const uint8_t *in, size_t len, uint8_t *out);
/* len random bytes from the device, in Generate Random commands of at most 255 bytes. */
VSAFE_MUST_CHECK int vsafe_host_random(vsafe_host_t *h, uint8_t *out, size_t len);
/* Reset (0x01). */
VSAFE_MUST_CHECK int vsafe_host_reset(vsafe_host_t *h);

/* Sends any command frame (header byte(s) + payload, no CRC) plainly and returns the response
 * payload. For tools and tests. VSAFE_ERR_BUFFER_TOO_SMALL. */
VSAFE_MUST_CHECK int vsafe_host_raw(vsafe_host_t *h, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t rsp_cap,
                                    size_t *rsp_len);

/* ---- Host secure channel (C-MAC / R-MAC, encryption, MAC sequence counter) ---- */
#define VSAFE_HOST_KEY_AES128 0u
#define VSAFE_HOST_KEY_AES256 1u

/* Opens a host session: Query 0x47 (the slot must hold a key of key_type), then every protected
 * command uses these keys (16 bytes for AES-128, 32 for AES-256; copied into the handle and wiped
 * at close) and the counter read from the device.
 * VSAFE_ERR_DEV_KEY_NOT_FOUND: the slot is empty; VSAFE_ERR_DEV_WRONG_KEY_TYPE: the slot holds
 * the other key type. */
VSAFE_MUST_CHECK int vsafe_host_session_open(vsafe_host_t *h, const uint8_t *mac_key, const uint8_t *cipher_key,
                                             unsigned key_type);
/* Ends the session and wipes the keys. */
void vsafe_host_session_close(vsafe_host_t *h);
/* The session's current C-MAC counter (the next command's CTR). VSAFE_ERR_HOST_NO_SESSION. */
VSAFE_MUST_CHECK int vsafe_host_session_counter(const vsafe_host_t *h, uint32_t *counter);

/* Host key provisioning. key_type VSAFE_HOST_KEY_AES128/256; keys of 16 or 32 bytes each.
 * The device refuses with ACCESS_CONDITION_NOT_SATISFIED when the control fields (0x4A) forbid the
 * method, or a key is present and re-provisioning is not allowed. */
/* Plaintext: 1F 07 00 00 00 TYPE MAC CIPHER. */
VSAFE_MUST_CHECK int vsafe_host_provision_plaintext(vsafe_host_t *h, unsigned key_type, const uint8_t *mac_key,
                                                    const uint8_t *cipher_key);
/* Wrapped: Generate ECDHE (1F 0B), Start volatile KEK session (1F 03), Write wrapped (1F 08,
 * HKDF-SHA256 and AES-256 key wrap), Stop KEK session (1F 06). VSAFE_ERR_CRYPTO on a host crypto failure. */
VSAFE_MUST_CHECK int vsafe_host_provision_wrapped(vsafe_host_t *h, unsigned key_type, const uint8_t *mac_key,
                                                  const uint8_t *cipher_key);
/* ECDH: Generate ECDHE (1F 0B), Establish host key (1F 18); both sides derive the keys with
 * HKDF-SHA256. mac_key_out and cipher_key_out receive 16 or 32 bytes each (the caller wipes them). */
VSAFE_MUST_CHECK int vsafe_host_provision_ecdh(vsafe_host_t *h, unsigned key_type, uint8_t *mac_key_out,
                                               uint8_t *cipher_key_out);
/* As vsafe_host_provision_ecdh, but calls ready(ctx, key_type, mac_key, cipher_key) with the derived
 * keys (16 or 32 bytes each, valid during the call) after Generate ECDHE and before Establish is
 * sent, so the caller can store them durably first: a non-zero return is returned as is and
 * Establish is never sent (the device then holds no new key). ready may be NULL. */
typedef int (*vsafe_host_keys_ready_fn)(void *ctx, unsigned key_type, const uint8_t *mac_key,
                                        const uint8_t *cipher_key);
VSAFE_MUST_CHECK int vsafe_host_provision_ecdh_ex(vsafe_host_t *h, unsigned key_type, vsafe_host_keys_ready_fn ready,
                                                  void *ctx, uint8_t *mac_key_out, uint8_t *cipher_key_out);

/* Put attribute: command access conditions (0x29) and encryption flags (0x2A) for one command
 * (ext used when header == 0x1F), and the host key control fields (0x4A). Refusal after the
 * change right was cleared: ACCESS_CONDITION_NOT_SATISFIED. */
VSAFE_MUST_CHECK int vsafe_host_put_command_ac(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t header, uint8_t ext,
                                               uint8_t ac);
VSAFE_MUST_CHECK int vsafe_host_put_command_enc(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t header, uint8_t ext,
                                                uint8_t enc);
/* Both at once for several commands in one Put (the device's table is one-time programmable: each
 * Put of a tag may consume its change right). tag VSAFE_SE_TAG_CMD_AC uses rec[i].ac,
 * VSAFE_SE_TAG_CMD_ENC uses rec[i].enc. The cached table is refreshed after success. */
VSAFE_MUST_CHECK int vsafe_host_put_command_table(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t tag,
                                                  const vsafe_host_cmd_ac_t *rec, size_t count);
VSAFE_MUST_CHECK int vsafe_host_put_key_ctrl(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t fields[2]);

#ifdef __cplusplus
}
#endif
#endif
