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
#include "vsafe/se_port.h"
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

/* ---- A served device (`vsafe serve`, the socket protocol of docs/SOCKET.md) ----
 * address: a Unix socket path, or HOST:PORT for TCP (an address without '/' that ends in
 * ":DIGITS", for example "127.0.0.1:7070" or "[::1]:7070"; "unix:PATH" forces a path).
 * device: the device's name on a server of several (--root), or NULL for a server of one. */
typedef struct vsafe_host_conn vsafe_host_conn_t;

/* Connects and, with a device name, chooses that device (HELLO). msg (may be NULL) receives the server's one-line
 * reason on failure. VSAFE_ERR_HOST_TRANSPORT (cannot connect), VSAFE_ERR_SERVER_NO_DEVICE, the
 * server's status, VSAFE_ERR_PROTO_*, VSAFE_ERR_NO_MEMORY, VSAFE_ERR_ARGUMENT. */
VSAFE_MUST_CHECK int vsafe_host_conn_open(vsafe_host_conn_t **c, const char *address, const char *device, char *msg,
                                          size_t msg_cap);
void vsafe_host_conn_close(vsafe_host_conn_t *c);
/* One request of the protocol: op and its argument bytes; the reply's STATUS in *status (0,
 * VSAFE_I2C_NACK, 2 for TRANSCEIVE without response, or a negative status) and its data in out
 * (truncated to out_cap; *out_len is the full length). Returns VSAFE_OK when a reply arrived,
 * VSAFE_ERR_HOST_TRANSPORT when the connection failed, VSAFE_ERR_PROTO_* for a bad reply. */
VSAFE_MUST_CHECK int vsafe_host_conn_request(vsafe_host_conn_t *c, uint8_t op, const uint8_t *args, size_t args_len,
                                             int32_t *status, uint8_t *out, size_t out_cap, size_t *out_len);
/* Opens a host handle on a connection (which must outlive the handle): each command is one
 * TRANSCEIVE. A write the device does not acknowledge is VSAFE_ERR_HOST_NACK, a command with no
 * response (power lost) VSAFE_ERR_HOST_TIMEOUT, as on the bus after its retries. */
VSAFE_MUST_CHECK int vsafe_host_open_conn(vsafe_host_t **h, vsafe_host_conn_t *c);
/* vsafe_host_conn_open and vsafe_host_open_conn in one; the handle owns the connection. */
VSAFE_MUST_CHECK int vsafe_host_open_socket(vsafe_host_t **h, const char *address, const char *device);

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

/* ---- Capture: every I2C transaction in a pcap file (docs/CAPTURES.md) ----
 * Link type LINKTYPE_I2C_LINUX (209): each packet is a 5-byte pseudo-header (bus number, then
 * 32-bit flags, big-endian, bit 0 = read) and the address byte (addr7 << 1 | R/W) followed by the
 * bytes written or read. A transaction the device did not acknowledge (NACK) is recorded as the
 * address byte alone. A capture holds what the bus carries, plaintext secrets included (a host key
 * written in plaintext, for instance): treat the file as secret as the keys it may hold.
 * A capture may be shared by several handles and threads; each record is flushed as written. */
#define VSAFE_PCAP_LINKTYPE 209u
#define VSAFE_PCAP_FLAG_READ 0x00000001u
typedef struct vsafe_pcap vsafe_pcap_t;

/* Creates (or truncates) path and writes the pcap file header. VSAFE_ERR_ARGUMENT,
 * VSAFE_ERR_NO_MEMORY, VSAFE_ERR_IO (cannot create or write the file). */
VSAFE_MUST_CHECK int vsafe_pcap_open(vsafe_pcap_t **p, const char *path);
/* Appends one transaction: bus number (0..127), 7-bit address, direction, the bytes moved, and
 * whether the address was acknowledged (when not, data is ignored and only the address byte is
 * recorded). VSAFE_ERR_ARGUMENT (bus or address out of range, len over 65529), VSAFE_ERR_IO (the
 * file could not be written; the capture stays failed). */
VSAFE_MUST_CHECK int vsafe_pcap_record(vsafe_pcap_t *p, uint8_t bus, uint8_t addr7, int is_read,
                                            const uint8_t *data, size_t len, int acked);
/* Records written so far. */
unsigned long vsafe_pcap_count(vsafe_pcap_t *p);
/* Closes the file. VSAFE_ERR_IO when any record could not be written or the close failed.
 * NULL is fine (VSAFE_OK). */
VSAFE_MUST_CHECK int vsafe_pcap_close(vsafe_pcap_t *p);
/* Records every I2C transaction h's transport makes (bus 0) into p, or with NULL stops. p must
 * stay open while attached. A record that cannot be written does not fail the command; the
 * failure is reported by vsafe_pcap_close. */
void vsafe_host_set_pcap(vsafe_host_t *h, vsafe_pcap_t *p);

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
 * not fit one frame). Non-atomic: split into as many Updates as needed, the one holding the last
 * byte first, so that a device refusal comes before any byte is written (a refused update changes
 * nothing); a failure after that first Update (power loss) may leave the write partial.
 * Device refusals: ENTRY_NOT_FOUND, ACCESS_CONDITION_NOT_SATISFIED, WRONG_ZONE_TYPE, BOUNDARY_EXCEEDED. */
VSAFE_MUST_CHECK int vsafe_host_update_zone(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t zone, uint16_t offset,
                                            const uint8_t *data, size_t len, int atomic);
/* The most data bytes one Update (cmd VSAFE_SE_CMD_UPDATE) or Decrement (VSAFE_SE_CMD_DECREMENT)
 * command carries with the protection prot gives it (a C-MAC and command encryption take room):
 * the limit of an atomic Update and of a Decrement's associated data. 0 for another cmd or NULL h. */
size_t vsafe_host_zone_data_max(const vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t cmd);
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
/* The same two with the protection given (a host session's C-MAC/R-MAC or encryption), for a
 * command access table that requires a session for Echo or Generate Random; the two above use
 * VSAFE_HOST_PROT_TABLE. */
VSAFE_MUST_CHECK int vsafe_host_echo_prot(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *in, size_t len,
                                          uint8_t *out);
VSAFE_MUST_CHECK int vsafe_host_random_prot(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t *out, size_t len);
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

/* =====================================================================================================
 * Key services: private key slots, signatures, key establishment, generic public keys, entity
 * authentication, hash, symmetric keys, AES, MAC, key derivation, local envelopes, password.
 * (src/host/keys.c, src/host/symkeys.c, src/host/services.c)
 *
 * Conventions of this section:
 *  - Curves, hashes and AEAD modes are the port's enums (vsafe/se_port.h): enum vsafe_curve
 *    (VSAFE_CURVE_P256 ... VSAFE_CURVE_ED25519), enum vsafe_hash, enum vsafe_aead. On the wire the
 *    library writes the curve's CURVE_ID bytes and the hash's 11-byte identifier.
 *  - Public keys in and out are X||Y (the curve's coordinate size each) for the NIST and Brainpool
 *    curves and the 32-byte K for X25519 and Ed25519; signatures are R||S (each half the curve's
 *    signature size). The library writes them in the wire form each command uses.
 *  - A function with a vsafe_host_prot_t argument sends its command through the command table
 *    (plain, MACed, or MACed and encrypted, as the zone functions do). A function without one
 *    sends a command that is always plain (queries and Puts of these subjects, Delete password).
 *  - A response is parsed exactly: a missing, extra or inconsistent byte is VSAFE_ERR_HOST_FRAME
 *    (also when a response carries a curve identifier the library does not know).
 *  - "valid"/"verified" results: a signature, MAC or tag that does not verify is VSAFE_OK with the
 *    result 0, as the device reports it; on any error status the result is set to 0.
 *  - Secret outputs (shared secrets, derived keys, decrypted data) are written only on VSAFE_OK;
 *    the library's own copies are wiped. Keys and plaintext never reach the trace.
 * Statuses beyond the common ones (top of this header) are listed per function; device refusals
 * are VSAFE_DEV_STATUS(w) with the wire status w.
 * ===================================================================================================== */

/* Sizes of a curve (0 for an unknown curve): coordinate / private key size, public key as the
 * API takes it (X||Y or K), signature R||S (0 for X25519), shared secret (0 for Ed25519). */
size_t vsafe_host_curve_key_size(unsigned curve);
size_t vsafe_host_curve_pub_size(unsigned curve);
size_t vsafe_host_curve_sig_size(unsigned curve);
size_t vsafe_host_curve_secret_size(unsigned curve);
/* "NIST P-256", ..., "Ed25519"; NULL for an unknown curve. */
const char *vsafe_host_curve_name(unsigned curve);
/* Digest length of enum vsafe_hash (0 if unknown) and its name ("SHA-256", ...; NULL if unknown). */
size_t vsafe_host_hash_size(unsigned alg);
const char *vsafe_host_hash_name(unsigned alg);

/* ---- Private key slots ---- */
#define VSAFE_HOST_EPHEMERAL_SLOT 0xFFu

/* mode_of_operation as the table reports it (two bytes, host bit order). */
#define VSAFE_HOST_PK_MODE_EPH_GEN 0x0001u        /* byte 0 bit 0: Ed25519 ephemeral nonce method */
#define VSAFE_HOST_PK_MODE_CHANGE_RIGHT 0x0080u   /* byte 0 bit 7 */
#define VSAFE_HOST_PK_MODE_KEY_ESTABLISH 0x0100u  /* byte 1 bit 0 */
#define VSAFE_HOST_PK_MODE_SIGN_EXTERNAL 0x0400u  /* byte 1 bit 2 */
#define VSAFE_HOST_PK_MODE_SIGN_INTERNAL 0x0800u  /* byte 1 bit 3 */
#define VSAFE_HOST_PK_MODE_GENKEY_AC(m) (((m) >> 12) & 3u)  /* 0 free, 1 host, 2/3 forbidden */
#define VSAFE_HOST_PK_MODE_EDDSA_VARIANT(m) (((m) >> 14) & 3u) /* 0 pure, 1 pre-hashed */

typedef struct {
    uint8_t slot;     /* 0x00..0x04, 0xFF ephemeral */
    int present;      /* a key is in the slot */
    uint16_t mode;    /* byte 0 in bits 7..0, byte 1 in bits 15..8 (the macros above) */
    unsigned curve;   /* enum vsafe_curve of the key; VSAFE_CURVE_NONE when absent */
} vsafe_host_privkey_t;

/* Query 14 14 (plain): the private key table. *count is the device's slot count, even when larger
 * than cap (then VSAFE_ERR_BUFFER_TOO_SMALL and the first cap records are filled).
 * global_usage_limit may be NULL. */
VSAFE_MUST_CHECK int vsafe_host_privkey_table(vsafe_host_t *h, vsafe_host_privkey_t *slots, size_t cap,
                                              size_t *count, uint16_t *global_usage_limit);

/* Generate key 11 13: a new key pair of curve in slot (1..4, or VSAFE_HOST_EPHEMERAL_SLOT) with a
 * usage limit (0 = none). pub receives the public key (pub_cap >= vsafe_host_curve_pub_size).
 * Device refusals: ACCESS_CONDITION_NOT_SATISFIED (slot forbidden, or its Generate Key AC needs a
 * C-MAC: use VSAFE_HOST_PROT_MAC), ENTRY_NOT_FOUND, VALUE_OUT_OF_RANGE, WRONG_KEY_TYPE. */
VSAFE_MUST_CHECK int vsafe_host_generate_key(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, unsigned curve,
                                             uint16_t usage_limit, uint8_t *pub, size_t pub_cap, size_t *pub_len);

/* Generate ECDHE 1F 0B: the device's ephemeral public key of curve (not Ed25519: VSAFE_ERR_ARGUMENT),
 * held by the device for the one following command. The echoed CURVE_ID must match. */
VSAFE_MUST_CHECK int vsafe_host_generate_ecdhe(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned curve,
                                               uint8_t *pub, size_t pub_cap, size_t *pub_len);

/* Generate signature 16 over msg (1..748 bytes; ECDSA: msg is the digest; Ed25519: the message, or
 * the 64-byte pre-hash when the slot is pre-hashed). curve is the slot key's curve: it sizes R and S
 * (both halves must have its size). sig receives R||S.
 * Device refusals: KEY_NOT_FOUND, WRONG_KEY_USAGE, WRONG_KEY_TYPE, KEY_BLOCKED, ENTRY_NOT_FOUND,
 * VALUE_OUT_OF_RANGE. */
VSAFE_MUST_CHECK int vsafe_host_sign(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, unsigned curve,
                                     const uint8_t *msg, size_t msg_len, uint8_t *sig, size_t sig_cap,
                                     size_t *sig_len);

/* Verify signature 17 00: sig (R||S) over msg with the public key pub of curve (not X25519).
 * eddsa_variant (Ed25519 only; ignored otherwise): 0 pure, 1 pre-hashed (msg is the 64-byte
 * SHA-512 pre-hash). *valid = 1 valid, 0 invalid. Device refusal: INVALID_PUBLIC_KEY. */
VSAFE_MUST_CHECK int vsafe_host_verify_signature(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned curve,
                                                 const uint8_t *pub, size_t pub_len, unsigned eddsa_variant,
                                                 const uint8_t *sig, size_t sig_len, const uint8_t *msg,
                                                 size_t msg_len, int *valid);

/* Establish key 18: ECDH of the key in slot with peer_pub (of curve, the slot key's curve).
 * secret receives the shared secret (vsafe_host_curve_secret_size bytes).
 * Device refusals: KEY_NOT_FOUND, WRONG_KEY_TYPE, WRONG_KEY_USAGE, INVALID_PUBLIC_KEY, KEY_BLOCKED. */
VSAFE_MUST_CHECK int vsafe_host_establish_key(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, unsigned curve,
                                              const uint8_t *peer_pub, size_t peer_len, uint8_t *secret,
                                              size_t secret_cap, size_t *secret_len);

/* Decompress public key 1F 1A: y (the coordinate size) from x and the prefix 0x02/0x03 (NIST and
 * Brainpool curves). Device refusals: VALUE_OUT_OF_RANGE, INVALID_PUBLIC_KEY. */
VSAFE_MUST_CHECK int vsafe_host_decompress_key(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned curve,
                                               uint8_t prefix, const uint8_t *x, size_t x_len, uint8_t *y,
                                               size_t y_cap);

/* ---- Generic public key slots ---- */
/* Flags, byte 1 (byte 0 is 0). */
#define VSAFE_HOST_GPK_CHANGE_RIGHT 0x01u
#define VSAFE_HOST_GPK_SYMKEY_ESTABLISH 0x02u
#define VSAFE_HOST_GPK_KEK_SESSION 0x04u
#define VSAFE_HOST_GPK_ENTITY_AUTH 0x08u
#define VSAFE_HOST_GPK_HOST_KEY_ESTABLISH 0x10u

typedef struct {
    uint8_t slot;
    int present;
    uint8_t flags[2];
    unsigned curve;                   /* VSAFE_CURVE_NONE when absent */
    uint8_t pub[VSAFE_EC_MAX_PUB];    /* 14 4C only: X||Y or K */
    size_t pub_len;
} vsafe_host_pubkey_slot_t;

/* Query 14 48 (plain): COUNT, then per slot SLOT PRESENCE FLAGS(2) [CURVE_ID]. Counting and
 * VSAFE_ERR_BUFFER_TOO_SMALL as vsafe_host_privkey_table. pub_len is 0 in these records. */
VSAFE_MUST_CHECK int vsafe_host_pubkey_table(vsafe_host_t *h, vsafe_host_pubkey_slot_t *slots, size_t cap,
                                             size_t *count);
/* Query 14 4C SLOT (plain): presence, flags, and when present the curve and key. An X25519 key is
 * accepted in the short form (00 20 K) or the point form (04 00 20 K 00 20 Y, K taken).
 * Device refusal: ENTRY_NOT_FOUND. */
VSAFE_MUST_CHECK int vsafe_host_pubkey_slot(vsafe_host_t *h, uint8_t slot, vsafe_host_pubkey_slot_t *out);
/* Write public key 1F 0A: pub of curve into a write-once slot.
 * Device refusals: ACCESS_CONDITION_NOT_SATISFIED (present), ENTRY_NOT_FOUND, VALUE_OUT_OF_RANGE,
 * INVALID_PUBLIC_KEY. */
VSAFE_MUST_CHECK int vsafe_host_write_pubkey(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, unsigned curve,
                                             const uint8_t *pub, size_t pub_len);
/* Put 10 4D SLOT FLAGS (plain). Device refusal: ACCESS_CONDITION_NOT_SATISFIED (change right gone). */
VSAFE_MUST_CHECK int vsafe_host_put_pubkey_flags(vsafe_host_t *h, uint8_t slot, const uint8_t flags[2]);

/* ---- Entity authentication ---- */
/* Generate challenge 1F 0E: exactly 16 bytes. */
VSAFE_MUST_CHECK int vsafe_host_entity_challenge(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t challenge[16]);
/* Verify entity signature 1F 0F 00 SLOT R S: sig (R||S, of an even length 2..132) by the key in
 * generic public key slot over the last challenge. *valid = 1 when it verified.
 * Device refusals: CHALLENGE_MISSING, KEY_NOT_FOUND, ACCESS_CONDITION_NOT_SATISFIED. */
VSAFE_MUST_CHECK int vsafe_host_entity_verify(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot,
                                              const uint8_t *sig, size_t sig_len, int *valid);

/* ---- Hash (one context on the device) ---- */
/* Start hash 1F 00 HASH_ID DATA (len >= 1), Process hash 1F 01 DATA (len >= 1), Finish hash 1F 02
 * [DATA] (len may be 0) -> the digest of alg (digest_cap >= vsafe_host_hash_size(alg)).
 * Device refusals: VALUE_OUT_OF_RANGE (algorithm), CHALLENGE_MISSING (no Start). */
VSAFE_MUST_CHECK int vsafe_host_hash_start(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned alg,
                                           const uint8_t *data, size_t len);
VSAFE_MUST_CHECK int vsafe_host_hash_process(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *data,
                                             size_t len);
VSAFE_MUST_CHECK int vsafe_host_hash_finish(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned alg,
                                            const uint8_t *data, size_t len, uint8_t *digest, size_t digest_cap,
                                            size_t *digest_len);
/* The whole message in one call, chunked as STSELib does: Start with up to 738 bytes, Process
 * frames of up to 749, then an empty Finish (chunks shrink only when a MAC must fit the frame).
 * len >= 1. */
VSAFE_MUST_CHECK int vsafe_host_hash(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned alg, const uint8_t *data,
                                     size_t len, uint8_t *digest, size_t digest_cap, size_t *digest_len);

/* ---- Symmetric key slots ---- */
enum { VSAFE_HOST_SYM_AES128 = 0, VSAFE_HOST_SYM_AES256 = 1, VSAFE_HOST_SYM_GENERIC = 2 };
enum {
    VSAFE_HOST_SYM_CCM = 0,
    VSAFE_HOST_SYM_CMAC = 1,
    VSAFE_HOST_SYM_ECB = 2,
    VSAFE_HOST_SYM_GCM = 3,
    VSAFE_HOST_SYM_HKDF = 4,
    VSAFE_HOST_SYM_HMAC = 5
};
enum { VSAFE_HOST_SYM_UNLOCKED = 0, VSAFE_HOST_SYM_LOCKED = 1, VSAFE_HOST_SYM_ERASABLE = 2 };
/* Usage bits (USAGE byte 1). */
#define VSAFE_HOST_SYM_USE_MAC_VERIFY 0x01u
#define VSAFE_HOST_SYM_USE_MAC_GENERATE 0x02u
#define VSAFE_HOST_SYM_USE_DECRYPT 0x04u
#define VSAFE_HOST_SYM_USE_ENCRYPT 0x08u
#define VSAFE_HOST_SYM_USE_DECRYPT_CHUNKS 0x10u
#define VSAFE_HOST_SYM_USE_ENCRYPT_CHUNKS 0x20u
#define VSAFE_HOST_SYM_USE_DERIVE 0x40u
/* Provisioning control fields, byte 0. */
#define VSAFE_HOST_SYM_CTRL_ECDHE_ANON 0x01u
#define VSAFE_HOST_SYM_CTRL_WRAPPED_ANON 0x02u
#define VSAFE_HOST_SYM_CTRL_PUT_KEY 0x04u
#define VSAFE_HOST_SYM_CTRL_CHANGE_RIGHT 0x08u
#define VSAFE_HOST_SYM_CTRL_PLAINTEXT 0x10u
#define VSAFE_HOST_SYM_CTRL_DERIVED 0x20u

/* A key information record: the attributes a key is written with. The parameters used depend on
 * the mode: CCM* tag_len and ctr_byte (bit 7 counter present, bits 6..0 its offset in the nonce);
 * CMAC min_mac_len; GCM tag_len; HKDF hkdf_flags (bit 0: derived output may go to the host) and
 * generic_key_len; HMAC min_mac_len and generic_key_len; ECB none. */
typedef struct {
    uint8_t lock;     /* VSAFE_HOST_SYM_UNLOCKED / _LOCKED / _ERASABLE */
    uint8_t slot;     /* target slot (ignored by Derive keys: the device picks the slot) */
    uint8_t key_type; /* VSAFE_HOST_SYM_AES128 / _AES256 / _GENERIC */
    uint8_t mode;     /* VSAFE_HOST_SYM_CCM ... _HMAC */
    uint8_t usage;    /* VSAFE_HOST_SYM_USE_* */
    uint8_t tag_len;
    uint8_t ctr_byte;
    uint8_t min_mac_len;
    uint8_t hkdf_flags;
    uint8_t generic_key_len;
} vsafe_host_symkey_info_t;

/* The record's wire bytes: LOCK SLOT KEY_TYPE MODE USAGE(2) PARAMS, or without the SLOT byte when
 * with_slot is 0 (Derive keys). VSAFE_ERR_ARGUMENT for an unknown mode, VSAFE_ERR_BUFFER_TOO_SMALL. */
VSAFE_MUST_CHECK int vsafe_host_symkey_info_encode(const vsafe_host_symkey_info_t *info, int with_slot,
                                                   uint8_t *out, size_t out_cap, size_t *out_len);
/* Length of the key written with info: 16 (AES-128), 32 (AES-256), generic_key_len (generic). */
size_t vsafe_host_symkey_key_len(const vsafe_host_symkey_info_t *info);

typedef struct {
    int present;
    uint8_t lock;
    uint8_t key_type;
    uint8_t mode;
    uint8_t usage;
    uint8_t tag_len;     /* CCM*, GCM */
    uint8_t ctr_byte;    /* CCM* */
    uint32_t counter;    /* CCM*, when ctr_byte bit 7 is set */
    uint8_t min_mac_len; /* CMAC */
} vsafe_host_symkey_slot_t;

/* Query 14 23 (plain): the symmetric key table, slot 0 first. Counting as vsafe_host_privkey_table. */
VSAFE_MUST_CHECK int vsafe_host_symkey_table(vsafe_host_t *h, vsafe_host_symkey_slot_t *slots, size_t cap,
                                             size_t *count);
/* Query 14 4B SLOT / Put 10 4B SLOT B0 B1 B2 (plain): provisioning control fields (B0 the
 * VSAFE_HOST_SYM_CTRL_* bits, B1 the generic public key slot that must authenticate wrapped
 * provisioning, B2 the one for ECDHE provisioning; 0xFF none). Put refusal:
 * ACCESS_CONDITION_NOT_SATISFIED once the change right is cleared. */
VSAFE_MUST_CHECK int vsafe_host_symkey_ctrl(vsafe_host_t *h, uint8_t slot, uint8_t fields[3]);
VSAFE_MUST_CHECK int vsafe_host_put_symkey_ctrl(vsafe_host_t *h, uint8_t slot, const uint8_t fields[3]);

/* Write symmetric key plaintext 1F 17 KEY_INFO KEY (key_len = vsafe_host_symkey_key_len(info)).
 * Device refusals: ACCESS_CONDITION_NOT_SATISFIED, INCONSISTENT_COMMAND_DATA,
 * WRONG_MODE_OF_OPERATION, WRONG_KEY_USAGE, WRONG_MAC_LENGTH, VALUE_OUT_OF_RANGE, ENTRY_NOT_FOUND. */
VSAFE_MUST_CHECK int vsafe_host_symkey_write_plain(vsafe_host_t *h, vsafe_host_prot_t prot,
                                                   const vsafe_host_symkey_info_t *info, const uint8_t *key,
                                                   size_t key_len);

/* Authentication of a KEK session or a key establishment by a generic public key slot: the library
 * builds TBS = CURVE_ID || host_pub || device_pub (the wire forms of the ECDHE curve) and calls
 * sign(ctx, tbs, tbs_len, sig, sig_cap, &sig_len), which must return R||S by the private key
 * whose public key is in sig_slot: ECDSA over hash(TBS) with hash, or Ed25519 over TBS (set
 * ed25519 = 1; hash is then not sent). A non-zero return is returned as is. */
typedef int (*vsafe_host_sign_fn)(void *ctx, const uint8_t *tbs, size_t tbs_len, uint8_t *sig, size_t sig_cap,
                                  size_t *sig_len);
typedef struct {
    uint8_t sig_slot;
    unsigned hash; /* enum vsafe_hash (ECDSA) */
    int ed25519;
    vsafe_host_sign_fn sign;
    void *ctx;
} vsafe_host_auth_t;

/* Write symmetric key wrapped: Generate ECDHE (1F 0B, curve: a NIST/Brainpool curve or X25519),
 * Start volatile KEK session (1F 03 ... 01 [auth]), Write wrapped (1F 09 envelope of KEY_INFO ||
 * KEY || 80 00.., AES-256 key wrap under the session's first working KEK), Stop (1F 06, also sent
 * when the write failed). key_len: 32 for AES-256, 16 for every other type (as STSELib). auth NULL:
 * an anonymous session. VSAFE_ERR_CRYPTO on a host crypto failure. Device refusals:
 * CHALLENGE_MISSING, SESSION_ERROR, COMMAND_DECRYPTION_ERROR, ACCESS_CONDITION_NOT_SATISFIED and
 * those of vsafe_host_symkey_write_plain. */
VSAFE_MUST_CHECK int vsafe_host_symkey_write_wrapped(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned curve,
                                                     const vsafe_host_auth_t *auth,
                                                     const vsafe_host_symkey_info_t *info, const uint8_t *key,
                                                     size_t key_len);
/* Host-side pieces of the wrapped write, for tools and tests (no bus traffic):
 * working KEK = HKDF-SHA256(salt, base_kek, info 10 11 CTR, 32);
 * envelope = AES-256-KW(working KEK(ctr), KEY_INFO || KEY || 80 00..) (env_cap >= padded + 8). */
VSAFE_MUST_CHECK int vsafe_host_working_kek(const uint8_t base_kek[32], uint8_t ctr, uint8_t kek[32]);
VSAFE_MUST_CHECK int vsafe_host_symkey_envelope(const uint8_t base_kek[32], uint8_t ctr,
                                                const vsafe_host_symkey_info_t *info, const uint8_t *key,
                                                size_t key_len, uint8_t *env, size_t env_cap, size_t *env_len);

/* Establish symmetric keys: Generate ECDHE (1F 0B), Establish (1F 04 ... 02 [auth]), Confirm
 * (1F 05 MAC { LEN KEY_INFO } x count), count 1..16. Both sides derive OKM = HKDF-SHA256(salt,
 * shared secret, 12 13, 32 + sum of key lengths) (32 for AES-256, else 16 each); the confirmation
 * MAC is AES-256-CMAC under OKM[0..32) over the records as sent, first 8 bytes. keys receives the
 * keys in record order (keys_cap >= their sum; the caller wipes them). Device refusals:
 * CHALLENGE_MISSING, INCONSISTENT_COMMAND_DATA (confirmation MAC), ACCESS_CONDITION_NOT_SATISFIED
 * and those of vsafe_host_symkey_write_plain. */
VSAFE_MUST_CHECK int vsafe_host_symkey_establish(vsafe_host_t *h, vsafe_host_prot_t prot, unsigned curve,
                                                 const vsafe_host_auth_t *auth,
                                                 const vsafe_host_symkey_info_t *infos, size_t count,
                                                 uint8_t *keys, size_t keys_cap, size_t *keys_len);
/* Host-side piece of the establishment (no bus traffic): from the shared secret, the Confirm
 * payload (MAC then the records; payload_cap >= 8 + sum of (2 + record)) and the keys. */
VSAFE_MUST_CHECK int vsafe_host_symkey_confirm(const uint8_t *secret, size_t secret_len,
                                               const vsafe_host_symkey_info_t *infos, size_t count,
                                               uint8_t *payload, size_t payload_cap, size_t *payload_len,
                                               uint8_t *keys, size_t keys_cap, size_t *keys_len);

/* Erase symmetric key slot 1F 19. Device refusals: ACCESS_CONDITION_NOT_SATISFIED (locked),
 * ENTRY_NOT_FOUND. */
VSAFE_MUST_CHECK int vsafe_host_symkey_erase(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot);

/* ---- AES (the device takes the mode from the slot; the host lays the frame out for mode) ---- */
/* ECB: Encrypt 1B 02 / Decrypt 1C 02 SLOT DATA; len a non-zero multiple of 16, out gets len bytes. */
VSAFE_MUST_CHECK int vsafe_host_aes_ecb(vsafe_host_t *h, vsafe_host_prot_t prot, int encrypt, uint8_t slot,
                                        const uint8_t *in, size_t len, uint8_t *out);

typedef struct {
    unsigned mode;        /* VSAFE_AEAD_CCM (nonce 13 bytes one-shot, 7..13 chunked) / VSAFE_AEAD_GCM (IV >= 1) */
    uint8_t slot;
    const uint8_t *nonce; /* CCM nonce or GCM IV */
    size_t nonce_len;
    const uint8_t *aad;
    size_t aad_len;
    size_t tag_len;       /* the slot's tag length (CCM* 0/4/8/16, GCM 4..16) */
} vsafe_host_aead_t;

/* CCM* encryption's counter report (slots with a counter). */
typedef struct {
    int present;      /* CTR_PRESENT byte */
    uint32_t counter; /* the counter the device used (when present) */
} vsafe_host_ccm_ctr_t;

/* One-shot AEAD encrypt (1B 02): out gets len bytes of ciphertext, tag tag_len bytes. ctr may be
 * NULL; for CCM* it receives the CTR_PRESENT report (GCM: present = 0). */
VSAFE_MUST_CHECK int vsafe_host_aead_encrypt(vsafe_host_t *h, vsafe_host_prot_t prot, const vsafe_host_aead_t *a,
                                             const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag,
                                             vsafe_host_ccm_ctr_t *ctr);
/* One-shot AEAD decrypt (1C 02): *verified = 1 and out gets len bytes when the tag matched;
 * *verified = 0 (out untouched) when it did not. */
VSAFE_MUST_CHECK int vsafe_host_aead_decrypt(vsafe_host_t *h, vsafe_host_prot_t prot, const vsafe_host_aead_t *a,
                                             const uint8_t *in, size_t len, const uint8_t *tag, uint8_t *out,
                                             int *verified);
/* GMAC: GCM with no message. compute (1B 02 ... 00 00) -> tag (a->tag_len bytes); verify (1C 02
 * ... 00 00 TAG) -> *verified. a->mode must be VSAFE_AEAD_GCM. */
VSAFE_MUST_CHECK int vsafe_host_gmac_compute(vsafe_host_t *h, vsafe_host_prot_t prot, const vsafe_host_aead_t *a,
                                             uint8_t *tag);
VSAFE_MUST_CHECK int vsafe_host_gmac_verify(vsafe_host_t *h, vsafe_host_prot_t prot, const vsafe_host_aead_t *a,
                                            const uint8_t *tag, int *verified);

/* Chunked AEAD (one context on the device). Start encrypt 1F 11 / decrypt 1F 14 with the first
 * chunk (a->aad is the first AAD chunk); for CCM* also the totals (total_aad, total_len: message
 * or ciphertext without the tag) and, when encrypting, the counter report (ctr may be NULL).
 * Process 1F 12 / 1F 15 and Finish 1F 13 / 1F 16 with further AAD and data chunks (GCM: all AAD
 * before any data). Each chunk's output is as long as its input. Finish encrypt writes the tag
 * (tag_len bytes); Finish decrypt sends the tag and sets *verified (out written only when 1). */
VSAFE_MUST_CHECK int vsafe_host_aead_start(vsafe_host_t *h, vsafe_host_prot_t prot, int encrypt,
                                           const vsafe_host_aead_t *a, size_t total_aad, size_t total_len,
                                           const uint8_t *in, size_t len, uint8_t *out, vsafe_host_ccm_ctr_t *ctr);
VSAFE_MUST_CHECK int vsafe_host_aead_process(vsafe_host_t *h, vsafe_host_prot_t prot, int encrypt,
                                             const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                                             uint8_t *out);
VSAFE_MUST_CHECK int vsafe_host_aead_finish_encrypt(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *aad,
                                                    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                                                    uint8_t *tag, size_t tag_len);
VSAFE_MUST_CHECK int vsafe_host_aead_finish_decrypt(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t *aad,
                                                    size_t aad_len, const uint8_t *in, size_t len,
                                                    const uint8_t *tag, size_t tag_len, uint8_t *out,
                                                    int *verified);

/* ---- MAC (CMAC or HMAC-SHA-256 by the slot's mode) ---- */
/* Generate MAC 09 03 SLOT MAC_LEN MSG (msg_len <= 255): mac gets mac_len bytes.
 * Device refusals: KEY_NOT_FOUND, WRONG_MODE_OF_OPERATION, WRONG_KEY_USAGE, WRONG_MAC_LENGTH. */
VSAFE_MUST_CHECK int vsafe_host_mac_generate(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot,
                                             const uint8_t *msg, size_t msg_len, uint8_t *mac, size_t mac_len);
/* Verify MAC 0A 02 SLOT MAC_LEN MAC MSG: *verified = 1 when the MAC is correct. */
VSAFE_MUST_CHECK int vsafe_host_mac_verify(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot,
                                           const uint8_t *mac, size_t mac_len, const uint8_t *msg, size_t msg_len,
                                           int *verified);

/* ---- Derive keys (HKDF-SHA256) 1F 10 ---- */
enum { VSAFE_HOST_DERIVE_TO_HOST = 1, VSAFE_HOST_DERIVE_TO_SLOT = 2 };
typedef struct {
    uint8_t dest;                  /* VSAFE_HOST_DERIVE_TO_HOST / _TO_SLOT */
    uint16_t key_len;              /* to the host: bytes returned */
    vsafe_host_symkey_info_t info; /* to a slot: the attributes (info.slot is not sent) */
} vsafe_host_derive_out_t;

typedef struct {
    /* Input key material: from a slot (ikm_from_slot) or in the command (ikm, ikm_len 1..). */
    int ikm_from_slot;
    uint8_t ikm_slot;
    const uint8_t *ikm;
    size_t ikm_len;
    int extract; /* at least one of extract and expand */
    int expand;
    /* Extract: salt from a slot, or in the command (salt_len 0: HashLen zero bytes). */
    int salt_from_slot;
    uint8_t salt_slot;
    const uint8_t *salt;
    size_t salt_len;
    /* Expand: info and 1..32 outputs (none for extract only). */
    const uint8_t *info;
    size_t info_len;
    const vsafe_host_derive_out_t *out;
    size_t out_count;
} vsafe_host_derive_t;

/* Derive keys. Extract only: *prk_slot receives the slot the device stored the PRK in. Expand:
 * keys receives the host outputs concatenated in order (keys_cap >= their sum; the caller wipes
 * them) and slots[i] the slot chosen for output i (0xFF for host outputs; slots may be NULL).
 * prk_slot, keys, slots may be NULL when unused. Device refusals: VALUE_OUT_OF_RANGE,
 * INCONSISTENT_COMMAND_DATA, KEY_NOT_FOUND, WRONG_KEY_TYPE, WRONG_KEY_USAGE,
 * ACCESS_CONDITION_NOT_SATISFIED, BOUNDARY_EXCEEDED, BUFFER_LENGTH_EXCEEDED. */
VSAFE_MUST_CHECK int vsafe_host_derive(vsafe_host_t *h, vsafe_host_prot_t prot, const vsafe_host_derive_t *d,
                                       uint8_t *prk_slot, uint8_t *keys, size_t keys_cap, size_t *keys_len,
                                       uint8_t *slots);

/* ---- Local envelopes ---- */
/* Generate wrap/unwrap key 11 07 SLOT KEYLEN (key_type VSAFE_HOST_SYM_AES128 / _AES256).
 * Device refusals: ACCESS_CONDITION_NOT_SATISFIED (occupied), ENTRY_NOT_FOUND. */
VSAFE_MUST_CHECK int vsafe_host_envelope_keygen(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot,
                                                unsigned key_type);
/* Wrap 0E SLOT PAYLOAD (1..480 bytes) -> envelope of len + 8 bytes (env_cap >= len + 8). */
VSAFE_MUST_CHECK int vsafe_host_wrap(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, const uint8_t *payload,
                                     size_t len, uint8_t *env, size_t env_cap);
/* Unwrap 0F SLOT ENVELOPE (8..488 bytes) -> payload of len - 8 bytes (payload_cap >= len - 8).
 * Device refusals: COMMAND_DECRYPTION_ERROR, KEY_NOT_FOUND, INCONSISTENT_COMMAND_DATA. */
VSAFE_MUST_CHECK int vsafe_host_unwrap(vsafe_host_t *h, vsafe_host_prot_t prot, uint8_t slot, const uint8_t *env,
                                       size_t len, uint8_t *payload, size_t payload_cap);

/* ---- Password ---- */
/* Verify password 1A PASSWORD(16): *verified (1 = correct) and *remaining tries (may be NULL). */
VSAFE_MUST_CHECK int vsafe_host_verify_password(vsafe_host_t *h, vsafe_host_prot_t prot, const uint8_t password[16],
                                                int *verified, uint8_t *remaining);
/* Delete password 0C 09 (plain). Device refusal: ACCESS_CONDITION_NOT_SATISFIED. */
VSAFE_MUST_CHECK int vsafe_host_delete_password(vsafe_host_t *h);


#ifdef __cplusplus
}
#endif
#endif
