/* The device core: one complete command frame in, one complete response frame out.
 * No heap, no I/O: state lives in a caller-provided image kept by the store; the world is
 * reached only through the port (vsafe_nvm_t, vsafe_crypto_t). */
#ifndef VSAFE_SE_CORE_H
#define VSAFE_SE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se/profile.h"
#include "store/store.h"
#include "vsafe/se_port.h"
#include "vsafe/se_wire.h"

/* A parsed request as handlers see it: payload is the plaintext (decrypted if the command table
 * says the command is encrypted), without header, C-MAC and CRC. */
typedef struct {
    uint8_t hdr;        /* first header byte as sent (protection bits included) */
    uint8_t code;       /* hdr & 0x1F */
    uint8_t ext;        /* extended code, when code == 0x1F */
    uint8_t hdr_len;    /* 1 or 2 */
    const uint8_t *payload;
    size_t payload_len;
    bool authenticated; /* arrived with a valid C-MAC */
} vsafe_se_req_t;

typedef struct vsafe_se_core {
    vsafe_store_t store;
    const vsafe_crypto_t *crypto;
    uint8_t *image;
    uint32_t image_len;
    uint8_t zone_slot[256]; /* zone index -> slot in the zone table; 0xFF = no such zone */
    uint8_t cmd_slot[64];   /* command table position: [code] standard, [32 + ext] extended; 0xFF none */

    /* I2C view */
    uint8_t addr7;
    bool have_response;
    bool read_only;
    uint16_t rsp_len;
    uint8_t rsp[VSAFE_SE_RSP_WIRE_MAX + 16];

    /* Per-command working state */
    vsafe_txn_t txn;
    uint8_t plain[VSAFE_SE_FRAME_MAX + 16]; /* decrypted command payload */
    uint8_t out[VSAFE_SE_FRAME_MAX + 16];   /* response payload being built */
    size_t out_len;

    /* Secure channel, volatile (lost at reset) */
    bool host_keys_loaded;  /* host keys are in the crypto slots */
    bool ecdhe_ready;       /* Generate ECDHE key done, ephemeral held by the crypto port */
    bool kek_active;        /* volatile KEK session open */
    uint8_t kek_base[32];
    uint32_t kek_counter;
    uint8_t ecdhe_pub[64];  /* device ephemeral public key X||Y of the last Generate ECDHE */

    /* Timing model */
    bool timing;
    uint64_t busy_until_us;
} vsafe_se_core_t;

/* Size of the image a profile needs; 0 if the profile cannot be laid out. */
uint32_t vsafe_se_core_image_size(const vsafe_profile_t *p);
/* Lays out a fresh image for p. VSAFE_ERR_BAD_PROFILE, VSAFE_ERR_BUFFER_TOO_SMALL. */
VSAFE_MUST_CHECK int vsafe_se_core_build_image(const vsafe_profile_t *p, uint8_t *image, uint32_t image_len);

/* Formats nvm with the given (freshly built) image and starts the device. nvm NULL = volatile. */
VSAFE_MUST_CHECK int vsafe_se_core_create(vsafe_se_core_t *core, const vsafe_nvm_t *nvm,
                                          const vsafe_crypto_t *crypto, uint8_t *image, uint32_t image_len);
/* Recovers the device from nvm into image (image_len from vsafe_store_probe). */
VSAFE_MUST_CHECK int vsafe_se_core_mount(vsafe_se_core_t *core, const vsafe_nvm_t *nvm,
                                         const vsafe_crypto_t *crypto, uint8_t *image, uint32_t image_len);

/* Executes one command frame (CRC included) and leaves the response frame in core->rsp. */
void vsafe_se_core_process(vsafe_se_core_t *core, const uint8_t *frame, size_t len);

/* I2C view (contract semantics, see include/vsafe/se.h). */
int vsafe_se_core_i2c_write(vsafe_se_core_t *core, uint8_t addr7, const uint8_t *buf, size_t len);
int vsafe_se_core_i2c_read(vsafe_se_core_t *core, uint8_t addr7, uint8_t *buf, size_t len);

/* Volatile reset (command 0x01 and power cycle): drops sessions, keeps NVM. */
void vsafe_se_core_reset(vsafe_se_core_t *core);

/* ---- Secure channel hooks (src/se/channel.c) ---- */
typedef struct {
    bool cmac;          /* C-MAC present and verified */
    bool rmac;          /* R-MAC requested */
    bool enc_rsp;       /* response payload to be encrypted */
    uint32_t counter;   /* counter after the increment (valid when cmac) */
} vsafe_se_chan_t;

/* Checks protection of the incoming frame (body = header..payload..C-MAC, CRC excluded) against
 * the host key slot and the command table; on success fills req (payload decrypted) and chan and
 * stages the counter advance. Returns a wire status (0 = proceed). */
uint8_t vsafe_se_channel_open(vsafe_se_core_t *core, const uint8_t *body, size_t body_len,
                              vsafe_se_req_t *req, vsafe_se_chan_t *chan);
/* Protects a successful response payload in core->out in place (encryption, then R-MAC appended).
 * Returns a wire status. */
uint8_t vsafe_se_channel_seal(vsafe_se_core_t *core, const vsafe_se_req_t *req, const uint8_t *body,
                              size_t body_len, const vsafe_se_chan_t *chan, uint8_t status);
/* Handlers for the host-key commands (extended 0x03, 0x06, 0x07, 0x08, 0x0B, 0x18). */
uint8_t vsafe_se_cmd_hostkey(vsafe_se_core_t *core, const vsafe_se_req_t *req);

/* Command-table lookup (src/se/core.c): the record {header, ext, ac, enc} in the image for
 * (code, ext), or NULL when the command is absent from the table (FREE, unencrypted). */
const uint8_t *vsafe_se_cmd_record(const vsafe_se_core_t *core, uint8_t code, uint8_t ext);
/* Rebuilds the derived lookups (zone_slot, cmd_slot) from the image; after mount and after a
 * commit that changed the tables. VSAFE_ERR_STORE_MISMATCH if the image is inconsistent. */
VSAFE_MUST_CHECK int vsafe_se_core_index(vsafe_se_core_t *core);

/* Put attribute handlers for the tables the secure channel owns (src/se/channel.c):
 * tag 0x29 (command AC), 0x2A (encryption flags), 0x4A (host-key provisioning control).
 * value/len: the bytes after the tag. Return a wire status; stage changes in core->txn. */
uint8_t vsafe_se_put_cmd_table(vsafe_se_core_t *core, uint8_t tag, const uint8_t *value, size_t len);
uint8_t vsafe_se_put_hostkey_ctrl(vsafe_se_core_t *core, const uint8_t *value, size_t len);

#endif
