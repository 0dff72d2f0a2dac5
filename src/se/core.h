/* The device core: one complete command frame in, one complete response frame out.
 * No heap, no I/O: state lives in a caller-provided image kept by the store; the world is
 * reached only through the port (vsafe_nvm_t, vsafe_crypto_t).
 *
 * The core's layers; each calls only the layers below it (scripts/check-layers.sh checks it):
 *   core.c      entry points: frame check, one store commit per command, response, I2C view
 *   dispatch.c  the command descriptor table: code -> payload bounds -> handler
 *   channel.c   secure channel: C-MAC, command table, decryption, encryption, R-MAC
 *   partition.c, query.c, hostkey.c   command handlers (se_cmd.h); they do not call each other
 *   state.c     lookups derived from the image and the volatile session state
 *   src/store, src/common             journaled store, byte order, cursor, wipe, CRC */
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
    uint32_t svc;           /* offset of the key-services region (se/layout_svc.h) */

    /* I2C view */
    uint8_t addr7;
    bool have_response;
    /* The supply failed during the last command (the NVM reported VSAFE_ERR_POWER_LOSS mid-commit):
     * the bus sees only NACKs, as on a real part; vsafe_se_power_lost lets an in-process host say why. */
    bool power_lost;
    bool read_only;
    uint16_t rsp_len;
    uint8_t rsp[VSAFE_SE_RSP_WIRE_MAX + 16];

    /* Per-command working state */
    vsafe_txn_t txn;
    uint8_t plain[VSAFE_SE_FRAME_MAX + 16]; /* decrypted command payload */
    size_t plain_len;                       /* bytes of plain written by this command */
    uint8_t out[VSAFE_SE_FRAME_MAX + 16];   /* response payload being built */
    size_t out_len;

    /* Secure channel, volatile (lost at reset) */
    bool host_keys_loaded;  /* host keys are in the crypto slots */
    bool ecdhe_ready;       /* Generate ECDHE key done: ecdhe_curve/priv/pub hold it (RAM only) */
    bool kek_active;        /* volatile KEK session open */
    uint8_t kek_base[32];
    uint32_t kek_counter;
    uint8_t ecdhe_curve;    /* enum vsafe_curve of the last Generate ECDHE */
    uint8_t ecdhe_priv[VSAFE_EC_MAX_KEY];
    uint8_t ecdhe_pub[VSAFE_EC_MAX_PUB]; /* X||Y, or K for X25519 */

    /* Entity authentication (1F 0E / 1F 0F), volatile */
    bool entity_pending;            /* a challenge was generated and not yet used */
    bool entity_authenticated;      /* the last Verify entity signature succeeded */
    uint8_t entity_challenge[16];

    /* Private key slot 0xFF (Generate key into the ephemeral slot), RAM only: single use, wiped
     * after its one Establish key, at reset and at power loss. Not the ECDHE context above. */
    bool eph_present;
    uint8_t eph_curve;                      /* enum vsafe_curve */
    uint8_t eph_priv[VSAFE_EC_MAX_KEY];
    uint8_t eph_pub[VSAFE_EC_MAX_PUB];

    /* Symmetric key services, volatile: lost at reset and power loss (se/state.c drops them).
     * The hash and chunked-AEAD contexts themselves are held by the port; these flags say
     * whether one was started since the last reset. */
    bool hash_active;          /* Start hash done, Finish not yet (se/hash.c) */
    bool aead_active;          /* chunked AEAD context open (se/aes.c) */
    bool aead_encrypt;
    bool aead_data_seen;       /* message bytes were given (GCM: no AAD after them) */
    uint8_t aead_mode;         /* enum vsafe_aead */
    uint8_t aead_tag_len;
    uint32_t aead_total_aad;   /* CCM*: totals announced at Start */
    uint32_t aead_total_len;
    uint32_t aead_aad_done;    /* bytes given so far */
    uint32_t aead_len_done;
    bool sym_pending;          /* Establish symmetric keys done, Confirm not yet (se/symkeys.c) */
    uint8_t sym_auth_slot;     /* generic public key slot that signed it; 0xFF anonymous */
    uint8_t sym_secret_len;
    uint8_t sym_secret[VSAFE_EC_MAX_KEY];
    uint8_t kek_auth_slot;     /* generic public key slot that signed Start KEK; 0xFF anonymous */

    /* Timing model */
    bool timing;
    bool slow_curve;        /* this command used NIST P-521 or Brainpool P-512: twice the time */
    uint64_t busy_until_us;
} vsafe_se_core_t;

/* The timing model counts twice the command's processing time for an operation on NIST P-521 or
 * Brainpool P-512 (a project choice; the chip's per-curve times are not published). Handlers
 * name the curve they use; vsafe_se_core_process clears the mark at the start of each command. */
static inline void vsafe_se_core_note_curve(vsafe_se_core_t *core, unsigned curve)
{
    if (curve == VSAFE_CURVE_P521 || curve == VSAFE_CURVE_BP512) {
        core->slow_curve = true;
    }
}

/* Size of the image a profile needs; 0 if the profile cannot be laid out. */
uint32_t vsafe_se_core_image_size(const vsafe_profile_t *p);
/* Lays out a fresh image for p. VSAFE_ERR_BAD_PROFILE, VSAFE_ERR_BUFFER_TOO_SMALL. */
VSAFE_MUST_CHECK int vsafe_se_core_build_image(const vsafe_profile_t *p, uint8_t *image, uint32_t image_len);

/* Writes a device identity into a freshly built image (before vsafe_se_core_create): the P-256
 * key pair (priv 32 bytes, pub X||Y) into private key slot 0 (present, no usage limit) and cert
 * (DER) at the start of zone 0, the rest of the zone zero. VSAFE_ERR_ARGUMENT when the image has
 * no zone 0 large enough or no private key slot. */
VSAFE_MUST_CHECK int vsafe_se_core_image_set_identity(uint8_t *image, uint32_t image_len, const uint8_t priv[32],
                                                      const uint8_t pub[64], const uint8_t *cert, size_t cert_len);

/* Formats nvm with the given (freshly built) image and starts the device. nvm NULL = volatile. */
VSAFE_MUST_CHECK int vsafe_se_core_create(vsafe_se_core_t *core, const vsafe_nvm_t *nvm,
                                          const vsafe_crypto_t *crypto, uint8_t *image, uint32_t image_len);
/* Recovers the device from nvm into image (image_cap bytes: at least
 * vsafe_se_core_mount_capacity(the length vsafe_store_probe reports)). A version-1 image is
 * migrated to version 2 in one atomic store commit (vsafe_store_commit_resize): power may fail
 * during it, and the next mount finds the version-1 state and migrates again. core->image_len is
 * the mounted (migrated) length. read_only: the migration is done in RAM only, NVM untouched.
 * Store statuses; VSAFE_ERR_STORE_MISMATCH for state that is not a secure element's,
 * VSAFE_ERR_BUFFER_TOO_SMALL when image_cap cannot hold the (migrated) image. */
VSAFE_MUST_CHECK int vsafe_se_core_mount_ex(vsafe_se_core_t *core, const vsafe_nvm_t *nvm,
                                            const vsafe_crypto_t *crypto, uint8_t *image, uint32_t image_cap,
                                            bool read_only);
VSAFE_MUST_CHECK int vsafe_se_core_mount(vsafe_se_core_t *core, const vsafe_nvm_t *nvm,
                                         const vsafe_crypto_t *crypto, uint8_t *image, uint32_t image_cap);
/* Buffer bytes a mount of a stored image of stored_len bytes needs (room for a migration). */
uint32_t vsafe_se_core_mount_capacity(uint32_t stored_len);

/* Executes one command frame (CRC included) and leaves the response frame in core->rsp. */
void vsafe_se_core_process(vsafe_se_core_t *core, const uint8_t *frame, size_t len);

/* I2C view (contract semantics, see include/vsafe/se.h). */
int vsafe_se_core_i2c_write(vsafe_se_core_t *core, uint8_t addr7, const uint8_t *buf, size_t len);
int vsafe_se_core_i2c_read(vsafe_se_core_t *core, uint8_t addr7, uint8_t *buf, size_t len);
/* The timing model's processing time of the command frame (its header's code), in ms; 0 for len 0.
 * One time per code: an extended command (code 0x1F) has the one time of that code. */
uint32_t vsafe_se_core_command_time_ms(const uint8_t *frame, size_t len);

/* Volatile reset (command 0x01 and power cycle): drops sessions, keeps NVM. */
void vsafe_se_core_reset(vsafe_se_core_t *core);

#endif
