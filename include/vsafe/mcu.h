/* vsafe MCU: the host microcontroller's product lifecycle (STM32H5-class), with debug
 * authentication (Arm PSA ADAC framing). User guide:
 * docs/LIFECYCLE.md.
 *
 * Everything the MCU keeps (product state, TrustZone, option-byte keys, flash and SRAM regions,
 * the attempt counter, and the "volatile" part a continuously powered board keeps between two
 * tool invocations: HDPL, debug grants, outstanding challenge) lives in one byte image held by
 * the power-fail-safe store. Every call that changes state is one atomic NVM commit, except a
 * regression, which is made of several commits resumed at the next reset (the pending
 * REGRESSION / NS_REGRESSION request code stays recorded until the last one lands).
 *
 * Every status-returning call returns VSAFE_OK or a negative vsafe status. Calls that change
 * state may also return any store/NVM error (VSAFE_ERR_POWER_LOSS, VSAFE_ERR_STORE_FAILED, ...);
 * after one, reopen the MCU (that is a power-on reset). */
#ifndef VSAFE_MCU_H
#define VSAFE_MCU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsafe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vsafe_mcu vsafe_mcu_t;

/* PRODUCT_STATE option byte: the real 8-bit codes. INVALID is a decode result, never stored. */
typedef enum {
    VSAFE_MCU_STATE_INVALID = 0x00,
    VSAFE_MCU_STATE_OPEN = 0xED,
    VSAFE_MCU_STATE_PROVISIONING = 0x17,
    VSAFE_MCU_STATE_IROT_PROVISIONED = 0x2E,
    VSAFE_MCU_STATE_TZ_CLOSED = 0xC6,
    VSAFE_MCU_STATE_CLOSED = 0x72,
    VSAFE_MCU_STATE_LOCKED = 0x5C,
    VSAFE_MCU_STATE_REGRESSION = 0x9A,    /* transient: full regression requested */
    VSAFE_MCU_STATE_NS_REGRESSION = 0xA3  /* transient: partial regression requested */
} vsafe_mcu_state_t;

#define VSAFE_MCU_TZEN_ON 0xB4u
#define VSAFE_MCU_TZEN_OFF 0xC3u

/* PSA lifecycle (attestation view). */
#define VSAFE_MCU_PSA_UNKNOWN 0x0000u
#define VSAFE_MCU_PSA_ASSEMBLY_AND_TEST 0x1000u
#define VSAFE_MCU_PSA_ROT_PROVISIONING 0x2000u
#define VSAFE_MCU_PSA_SECURED 0x3000u
#define VSAFE_MCU_PSA_NON_PSA_ROT_DEBUG 0x4000u
#define VSAFE_MCU_PSA_RECOVERABLE_PSA_ROT_DEBUG 0x5000u

typedef enum { VSAFE_MCU_NONSECURE = 0, VSAFE_MCU_SECURE = 1 } vsafe_mcu_domain_t;

/* Option-byte key areas. Sizes: 256, 2048, 768, 3072, 2032 bytes. */
typedef enum {
    VSAFE_MCU_OBK_HDPL0 = 0,
    VSAFE_MCU_OBK_HDPL1 = 1,
    VSAFE_MCU_OBK_HDPL2 = 2,
    VSAFE_MCU_OBK_HDPL3_S = 3,
    VSAFE_MCU_OBK_HDPL3_NS = 4,
    VSAFE_MCU_OBK_COUNT = 5
} vsafe_mcu_obk_t;

/* Largest OBK write (one atomic store transaction). */
#define VSAFE_MCU_OBK_WRITE_MAX 1024u

/* Named memory regions (small models of the real ones; erased flash reads 0xFF, SRAM 0x00). */
typedef enum {
    VSAFE_MCU_FLASH_S = 0,
    VSAFE_MCU_FLASH_NS = 1,
    VSAFE_MCU_SRAM_S = 2,
    VSAFE_MCU_SRAM_NS = 3,
    VSAFE_MCU_MEM_COUNT = 4
} vsafe_mcu_mem_t;

/* Debug-authentication permissions: bit n of the 128-bit ADAC permission mask is byte n/8, bit n%8
 * (the SoC-specific part is the first 32 bits, u32 little-endian). The assignment of the bits to
 * actions is in docs/LIFECYCLE.md ("Permission bits"); every bit is inside ST's sample mask
 * 0x00005077. The product (hardware) mask is exactly these eight bits. */
enum {
    VSAFE_DA_PERM_DEBUG_S_HDPL1 = 0,  /* + (hdpl - 1): secure debug opens at that HDPL */
    VSAFE_DA_PERM_DEBUG_NS_HDPL1 = 4, /* + (hdpl - 1): non-secure debug opens at that HDPL */
    VSAFE_DA_PERM_REGRESS_PARTIAL = 12,
    VSAFE_DA_PERM_REGRESS_FULL = 14
};
#define VSAFE_DA_PRODUCT_MASK 0x00005077u
/* CubeProgrammer's per= letter (a..h) to a permission bit; -1 for any other character. */
int vsafe_da_per_bit(char per);

/* STM32H5 device IDs (DBGMCU_IDCODE.DEV_ID), used as the ADAC SoC class. */
#define VSAFE_MCU_DEVID_H56X_H57X 0x484u
#define VSAFE_MCU_DEVID_H52X_H53X 0x478u
#define VSAFE_MCU_DEVID_H503 0x474u
/* Part name ("STM32H573", "H563", "h533", "H503", ...) to its device ID; VSAFE_ERR_ARGUMENT if
 * unknown. */
VSAFE_MUST_CHECK int vsafe_mcu_part_parse(const char *name, uint32_t *soc_class);
/* The parts a device ID stands for ("STM32H562/H563/H573", "STM32H523/H533", "STM32H503"), or
 * "unknown part". */
const char *vsafe_mcu_part_name(uint32_t soc_class);
/* The STM32H503 variant (device ID 0x474, docs/LIFECYCLE.md): no option-byte keys (every OBK call
 * answers VSAFE_ERR_MCU_NO_OBK), no TrustZone (turning it on: VSAFE_ERR_MCU_NO_TRUSTZONE), hence no
 * TZ_CLOSED, no partial regression and no certificate method; debug authentication is by password
 * only and grants a full regression. Its DA password hash is written once to OTP
 * (vsafe_mcu_otp_provision_password) and survives every regression. */

/* The DA configuration at the start of OBK HDPL1 (docs/LIFECYCLE.md, debug authentication). */
#define VSAFE_DA_CONFIG_LEN 0x60u
/* The host-key record at the start of OBK HDPL3-S: "HKEY", type (0 AES-128, 1 AES-256), 3 zero
 * bytes, MAC key (32, AES-128 uses the first 16), cipher key (32). */
#define VSAFE_MCU_HOSTKEY_LEN 72u

/* Footgun bits (vsafe_mcu_footguns): what a tool must explain and refuse without --force. */
enum {
    VSAFE_MCU_WARN_NO_DA_CONFIG = 1u << 0, /* closing/locking without a valid DA configuration */
    VSAFE_MCU_WARN_LOCKING = 1u << 1,      /* LOCKED is terminal */
    VSAFE_MCU_WARN_NO_HOST_KEYS = 1u << 2, /* closing with no host keys in OBK HDPL3-S */
    /* Board check, set by tools (not by vsafe_mcu_footguns): the secure element does not hold the
     * host keys of OBK HDPL3-S (vsafe_board_hostkeys_verify failed). */
    VSAFE_MCU_WARN_HOST_KEYS_MISMATCH = 1u << 3,
    VSAFE_MCU_WARN_DA_EXHAUSTED = 1u << 4 /* closing with every DA attempt spent: no regression */
};

typedef struct {
    const char *state_path;   /* MCU NVM file (created when absent); ignored if nvm is set */
    struct vsafe_nvm *nvm;    /* caller NVM (sim, fault injection); formatted if blank */
    /* Blank caller NVM for a migration from an older image version that does not fit nvm (an NVM
     * sized for the smaller image): the migrated image is formatted there and nvm is not written.
     * A state file grows the same way by itself (a new file renamed over the old one). */
    struct vsafe_nvm *grow_nvm;
    uint64_t rng_seed;        /* 0 = OS randomness; else deterministic (nonces, secrets) */
    uint32_t da_attempt_limit; /* 0 = default 16; used when the image is created */
    uint32_t soc_class;        /* device ID used as the ADAC SoC class when the image is created,
                                * which also chooses the part's features (vsafe_mcu_part_parse);
                                * 0 = VSAFE_MCU_DEVID_H56X_H57X (STM32H573) */
    /* 1: opening is a power-on reset (pending changes take effect, debug grants revoked).
     * 0: attach to a board that stayed powered (the CLI). */
    int power_on_reset;
} vsafe_mcu_options_t;

typedef struct {
    vsafe_mcu_state_t state;   /* effective state (decoded; INVALID on any mismatch) */
    vsafe_mcu_state_t pending; /* programmed, effective at reset; INVALID (0) if none */
    bool pending_set;          /* a change is programmed: the MCU is inert until reset */
    bool trustzone;
    unsigned hdpl;             /* 1..3 (HDPL0 is the ROM, before any user code) */
    uint32_t psa_lifecycle;
    bool da_provisioned;
    uint8_t da_mask[16];       /* provisioned permission mask */
    uint32_t da_attempts;      /* failed attempts so far */
    uint32_t da_attempt_limit;
    uint8_t debug_grant[16];   /* DA-granted debug permissions, until reset */
    uint32_t soc_class;
    uint8_t soc_id[16];
    uint32_t dhuk_epoch;       /* number of full regressions */
    bool host_keys;            /* a host-key record is present in OBK HDPL3-S */
} vsafe_mcu_info_t;

/* ---- Open / close (outer library: file or caller NVM, OpenSSL crypto) ---- */
VSAFE_MUST_CHECK int vsafe_mcu_open(vsafe_mcu_t **mcu, const vsafe_mcu_options_t *options);
void vsafe_mcu_close(vsafe_mcu_t *mcu);

/* ---- Queries ---- */
VSAFE_MUST_CHECK int vsafe_mcu_info(const vsafe_mcu_t *mcu, vsafe_mcu_info_t *info);
vsafe_mcu_state_t vsafe_mcu_state(const vsafe_mcu_t *mcu);
const char *vsafe_mcu_state_name(vsafe_mcu_state_t s); /* "OPEN", ..., "INVALID" */
/* Name (case-insensitive, "IROT_PROVISIONED" or "iROT_PROVISIONED") to state; ERR_ARGUMENT. */
VSAFE_MUST_CHECK int vsafe_mcu_state_parse(const char *name, vsafe_mcu_state_t *out);
uint32_t vsafe_mcu_psa_lifecycle(const vsafe_mcu_t *mcu);
const char *vsafe_mcu_psa_name(uint32_t psa);
/* Whether a debugger may attach to code of domain at level hdpl (1..3) right now. */
bool vsafe_mcu_debug_access(const vsafe_mcu_t *mcu, vsafe_mcu_domain_t domain, unsigned hdpl);
/* Whether the transition from the current state to `to` is allowed by option-byte program. */
bool vsafe_mcu_transition_allowed(const vsafe_mcu_t *mcu, vsafe_mcu_state_t to);
/* VSAFE_MCU_WARN_* bits for programming `to` now. */
unsigned vsafe_mcu_footguns(const vsafe_mcu_t *mcu, vsafe_mcu_state_t to);
uint32_t vsafe_mcu_obk_size(vsafe_mcu_obk_t area);
uint32_t vsafe_mcu_mem_size(vsafe_mcu_mem_t region);
const char *vsafe_mcu_obk_name(vsafe_mcu_obk_t area); /* "HDPL0", ..., "HDPL3-S", "HDPL3-NS" */
VSAFE_MUST_CHECK int vsafe_mcu_obk_parse(const char *name, vsafe_mcu_obk_t *out);

/* ---- Lifecycle ---- */
/* Option-byte program of PRODUCT_STATE (forward transitions T1, T2, T4, T5). The change is
 * recorded as pending (one commit) and takes effect at vsafe_mcu_reset; until then the MCU is
 * inert. ERR_MCU_TRANSITION (T3, T6, to TZ_CLOSED with TrustZone off, request codes),
 * ERR_MCU_LOCKED (T10), ERR_MCU_INVALID_STATE, ERR_MCU_INERT (a change is already pending). */
VSAFE_MUST_CHECK int vsafe_mcu_program_state(vsafe_mcu_t *mcu, vsafe_mcu_state_t to);
/* HDPL1 firmware requests a regression: programs REGRESSION (full) or NS_REGRESSION (partial),
 * effective at reset. ERR_MCU_HDPL unless the HDPL is 1; ERR_MCU_TRANSITION when the state does
 * not allow it (OPEN; partial needs CLOSED with TrustZone on); ERR_MCU_LOCKED. */
VSAFE_MUST_CHECK int vsafe_mcu_fw_regression(vsafe_mcu_t *mcu, bool full);
/* Reset (option-byte launch): applies a pending change with its erase effects (resumable: a
 * power cut mid-way leaves the request recorded and the next reset finishes it), then HDPL = 1,
 * DA grants revoked, challenge discarded. */
VSAFE_MUST_CHECK int vsafe_mcu_reset(vsafe_mcu_t *mcu);
/* TZEN option byte: in OPEN and PROVISIONING (as on the STM32H5). Disabling erases the secure
 * flash and SRAM. ERR_MCU_TZEN_FROZEN in any other state, ERR_MCU_INERT; ERR_MCU_NO_TRUSTZONE
 * when turning it on in a part without TrustZone (STM32H503). */
VSAFE_MUST_CHECK int vsafe_mcu_set_trustzone(vsafe_mcu_t *mcu, bool on);
/* Raises the HDPL to level (2 or 3; never lowers). ERR_MCU_HDPL when level is lower or > 3. */
VSAFE_MUST_CHECK int vsafe_mcu_hdpl_raise(vsafe_mcu_t *mcu, unsigned level);

/* ---- Option-byte keys ---- */
/* Code of domain at the current HDPL may access an area of its own level or higher; with
 * TrustZone on, only the secure domain reaches HDPL1..HDPL3-S and the non-secure domain only
 * HDPL3-NS. Not available in OPEN (no DHUK) nor INVALID (ERR_STATE). A write is all-or-nothing
 * (one commit), len <= VSAFE_MCU_OBK_WRITE_MAX. ERR_MCU_HDPL, ERR_ARGUMENT, ERR_MCU_INERT;
 * ERR_MCU_NO_OBK on a part without OBK (STM32H503), whatever the arguments. */
VSAFE_MUST_CHECK int vsafe_mcu_obk_write(vsafe_mcu_t *mcu, vsafe_mcu_domain_t domain, vsafe_mcu_obk_t area,
                                         uint32_t offset, const uint8_t *data, size_t len);
VSAFE_MUST_CHECK int vsafe_mcu_obk_read(const vsafe_mcu_t *mcu, vsafe_mcu_domain_t domain,
                                        vsafe_mcu_obk_t area, uint32_t offset, uint8_t *out, size_t len);

/* ---- OTP (STM32H503) ----
 * The DA password hash (SHA-256 of the password, 32 bytes: ST's board_password.bin) goes to the
 * OTP at 0x08FFF000, once: the model keeps it as a DA configuration (docs/LIFECYCLE.md) that no
 * regression and no other call changes. In OPEN or PROVISIONING (written by the provisioning
 * tool through the debug port; VSAFE_ERR_STATE in any other state), one commit.
 * VSAFE_ERR_MCU_OTP_LOCKED when the OTP is already programmed (any byte of it not erased);
 * VSAFE_ERR_UNSUPPORTED on a part with OBK (its DA configuration goes to OBK HDPL1);
 * VSAFE_ERR_MCU_INERT, VSAFE_ERR_MCU_INVALID_STATE; NVM errors. */
VSAFE_MUST_CHECK int vsafe_mcu_otp_provision_password(vsafe_mcu_t *mcu, const uint8_t pw_hash[32]);

/* ---- Memory regions (contents kept in the image so erase effects are observable) ---- */
VSAFE_MUST_CHECK int vsafe_mcu_mem_write(vsafe_mcu_t *mcu, vsafe_mcu_mem_t region, uint32_t offset,
                                         const uint8_t *data, size_t len);
VSAFE_MUST_CHECK int vsafe_mcu_mem_read(const vsafe_mcu_t *mcu, vsafe_mcu_mem_t region, uint32_t offset,
                                        uint8_t *out, size_t len);

/* ---- Derived hardware unique key ----
 * Wrap: out = tag(16) || AES-256-CBC(data, iv = tag), tag = CMAC over data, both keys derived from
 * the DHUK, which changes at every full regression. in_len a multiple of 16, at most 256.
 * Refused in OPEN (no DHUK): ERR_STATE. Unwrap: ERR_CRYPTO when the tag does not verify. */
VSAFE_MUST_CHECK int vsafe_mcu_dhuk_wrap(vsafe_mcu_t *mcu, const uint8_t *in, size_t in_len, uint8_t *out,
                                         size_t out_cap, size_t *out_len);
VSAFE_MUST_CHECK int vsafe_mcu_dhuk_unwrap(vsafe_mcu_t *mcu, const uint8_t *in, size_t in_len, uint8_t *out,
                                           size_t out_cap, size_t *out_len);

/* ---- Debug authentication (Arm PSA ADAC; byte formats in docs/LIFECYCLE.md) ----
 * One request frame in, one response frame out (always produced when out_cap >= 8). Returns the
 * outcome: VSAFE_OK (ADAC SUCCESS, or NEED_MORE_DATA after an accepted certificate), or ERR_DA_* /
 * ERR_MCU_* / ERR_PARSE; the response carries the ADAC status and, on failure, TLV 0x80F0 with the
 * vsafe status. A LOCKED MCU answers nothing but ERR_MCU_LOCKED, Discovery included. A successful
 * regression resets the MCU. */
VSAFE_MUST_CHECK int vsafe_mcu_da_request(vsafe_mcu_t *mcu, const uint8_t *in, size_t in_len, uint8_t *out,
                                          size_t out_cap, size_t *out_len);

/* ---- Host-side debug-authentication tooling (outer library, OpenSSL) ----
 * Formats are Arm PSA ADAC's, as ST's STM32H5 uses them (byte tables in docs/LIFECYCLE.md):
 * Certificate (212 bytes, ECDSA P-256): format version 1.0 (2), signature type 1, key type 1, role
 * (1 root, 2 intermediate, 3 leaf), usage 1, 2 reserved, lifecycle u16, OEM constraint u16,
 * extensions bytes u32 (0), SoC class u32 (0 = any), SoC ID (16, all zero = any), permission mask
 * (16), public key X||Y (64), extensions hash (32, zero), signature r||s (64) by the parent's key
 * (the root signs itself) over SHA-256 of bytes 0..147. Multi-byte fields little-endian.
 * Token (120 bytes): format version 1.0, signature type 1, reserved, extensions bytes u32 (0),
 * requested permissions (16), extensions hash (32), signature r||s by the leaf key over
 * SHA-256(token bytes 0..55 || challenge vector (32)).
 * Challenge (Authentication Start response, 36 bytes): version 1.0, 2 reserved, vector (32). */
#define VSAFE_DA_CERT_LEN 212u
#define VSAFE_DA_TOKEN_LEN 120u
#define VSAFE_DA_CHALLENGE_LEN 36u
enum { VSAFE_DA_ROLE_ROOT = 1, VSAFE_DA_ROLE_INTERMEDIATE = 2, VSAFE_DA_ROLE_LEAF = 3 };
enum {
    VSAFE_DA_CMD_DISCOVERY = 0x01,
    VSAFE_DA_CMD_AUTH_START = 0x02,
    VSAFE_DA_CMD_AUTH_RESPONSE = 0x03,
    VSAFE_DA_CMD_RESUME_BOOT = 0x05,
    VSAFE_DA_CMD_LOCK_DEBUG = 0x06,
    VSAFE_DA_CMD_LCS_CHANGE = 0x07 /* ADAC has it; the STM32H5 changes state by option bytes: 0x0003 */
};
/* ADAC response statuses. */
enum {
    VSAFE_DA_ST_SUCCESS = 0x0000,
    VSAFE_DA_ST_FAILURE = 0x0001,
    VSAFE_DA_ST_NEED_MORE_DATA = 0x0002,
    VSAFE_DA_ST_UNSUPPORTED = 0x0003,
    VSAFE_DA_ST_UNAUTHORIZED = 0x0004,
    VSAFE_DA_ST_INVALID_PARAMETERS = 0x0005,
    VSAFE_DA_ST_INVALID_COMMAND = 0x7FFF
};
/* TLV type IDs: psa-adac's for Discovery and the response fragments; 0x8000 is ST's (Discovery:
 * provisioning integrity 0xEAEAEAEA when a DA configuration is provisioned; Response: the
 * password); 0x80F0.. are this model's own. */
enum {
    VSAFE_DA_TLV_AUTH_VERSION = 0x0001,
    VSAFE_DA_TLV_VENDOR_ID = 0x0002,
    VSAFE_DA_TLV_SOC_CLASS = 0x0003,
    VSAFE_DA_TLV_SOC_ID = 0x0004,
    VSAFE_DA_TLV_HW_PERMISSIONS_FIXED = 0x0006,
    VSAFE_DA_TLV_HW_PERMISSIONS_MASK = 0x0007,
    VSAFE_DA_TLV_PSA_LIFECYCLE = 0x0008,
    VSAFE_DA_TLV_TOKEN_FORMATS = 0x0100,
    VSAFE_DA_TLV_CERT_FORMATS = 0x0101,
    VSAFE_DA_TLV_CRYPTOSYSTEMS = 0x0102,
    VSAFE_DA_TLV_TOKEN = 0x0200,
    VSAFE_DA_TLV_CERT = 0x0201,
    VSAFE_DA_TLV_PASSWORD = 0x8000,
    VSAFE_DA_TLV_ST_PROVISIONED = 0x8000,
    VSAFE_DA_TLV_VSAFE_STATUS = 0x80F0, /* failure responses: the vsafe status, i32 LE */
    VSAFE_DA_TLV_PROVISIONED_MASK = 0x80F1,
    VSAFE_DA_TLV_PRODUCT_STATE = 0x80F2,
    VSAFE_DA_TLV_TZEN = 0x80F3,
    VSAFE_DA_TLV_ATTEMPTS_LEFT = 0x80F4,
    VSAFE_DA_TLV_DEBUG_GRANT = 0x80F5 /* Discovery: the debug permissions granted since reset [16] */
};

typedef struct vsafe_da_key vsafe_da_key_t; /* an ECDSA P-256 key pair */
VSAFE_MUST_CHECK int vsafe_da_key_generate(vsafe_da_key_t **key);
VSAFE_MUST_CHECK int vsafe_da_key_load(vsafe_da_key_t **key, const char *pem_path); /* ERR_IO, ERR_PARSE */
VSAFE_MUST_CHECK int vsafe_da_key_save(const vsafe_da_key_t *key, const char *pem_path); /* private, 0600 */
void vsafe_da_key_free(vsafe_da_key_t *key);
VSAFE_MUST_CHECK int vsafe_da_key_public(const vsafe_da_key_t *key, uint8_t pub[64]);
/* ECDSA P-256 over a SHA-256 digest, r||s. */
VSAFE_MUST_CHECK int vsafe_da_key_sign(const vsafe_da_key_t *key, const uint8_t digest[32], uint8_t sig[64]);

VSAFE_MUST_CHECK int vsafe_da_cert_make(const vsafe_da_key_t *subject, const vsafe_da_key_t *issuer, uint8_t role,
                                        uint32_t soc_class, const uint8_t soc_id[16], const uint8_t mask[16],
                                        uint8_t cert[VSAFE_DA_CERT_LEN]);
VSAFE_MUST_CHECK int vsafe_da_token_make(const vsafe_da_key_t *leaf, const uint8_t nonce[32], const uint8_t perm[16],
                                         uint8_t token[VSAFE_DA_TOKEN_LEN]);
/* Loads a public key (SPKI PEM, as ST's key_1_root_pub.pem) as a key with no private part: it
 * can give its public key but not sign. */
VSAFE_MUST_CHECK int vsafe_da_key_load_public(vsafe_da_key_t **key, const char *pem_path);

/* ---- ST's files ----
 * A certificate file (.b64): base64 of ADAC TLVs {u16 0, u16 0x0201, u32 212, certificate}, root
 * first. Parses up to max certificates into certs; ERR_PARSE on anything else (bad base64, another
 * TLV type or length, trailing bytes), ERR_BUFFER_TOO_SMALL when there are more than max. */
VSAFE_MUST_CHECK int vsafe_da_chain_parse_b64(const char *text, size_t text_len, uint8_t (*certs)[VSAFE_DA_CERT_LEN],
                                              size_t max, size_t *count);
/* The .b64 text of certificates (no newline); out_cap >= 4 * ceil(count*220/3) + 1 (NUL added). */
VSAFE_MUST_CHECK int vsafe_da_chain_to_b64(const uint8_t (*certs)[VSAFE_DA_CERT_LEN], size_t count, char *out,
                                           size_t out_cap, size_t *out_len);
/* An .obk file: u32 LE destination address, u32 LE payload length, u32 LE encryption flag (0 or
 * 1), then the payload. The address must fall in the OBK map (HDPL1 at 0x0FFD0100, HDPL2
 * 0x0FFD0900, HDPL3-S 0x0FFD0C00, HDPL3-NS 0x0FFD1800; HDPL0 is refused) with the payload inside
 * its area. Gives the area, offset and payload (pointing into file). ERR_PARSE otherwise. */
#define VSAFE_DA_OBK_HEADER_LEN 12u
VSAFE_MUST_CHECK int vsafe_da_obk_parse(const uint8_t *file, size_t file_len, vsafe_mcu_obk_t *area,
                                        uint32_t *offset, const uint8_t **payload, size_t *payload_len,
                                        bool *encrypt);
/* ST's password.bin: one ADAC TLV {u16 0, u16 0x8000, u32 n, n bytes (4..16)}. Gives the password
 * (pointing into file). ERR_PARSE otherwise. */
VSAFE_MUST_CHECK int vsafe_da_password_file_parse(const uint8_t *file, size_t file_len, const uint8_t **pw,
                                                  size_t *pw_len);
/* DA configuration payloads for OBK HDPL1 offset 0 (docs/LIFECYCLE.md). Password: 4..16 characters. */
VSAFE_MUST_CHECK int vsafe_da_config_cert(const uint8_t root_pub[64], const uint8_t mask[16],
                                          uint8_t cfg[VSAFE_DA_CONFIG_LEN]);
VSAFE_MUST_CHECK int vsafe_da_config_password(const char *password, uint8_t cfg[VSAFE_DA_CONFIG_LEN]);
/* SHA-256 of a password of 4..16 bytes (any bytes, as in ST's user_password.bin): what an STM32H503
 * keeps in OTP (ST's board_password.bin). ERR_ARGUMENT for another length. */
VSAFE_MUST_CHECK int vsafe_da_password_hash(const uint8_t *pw, size_t pw_len, uint8_t hash[32]);

/* ADAC request framing: header, then TLVs appended one by one (value padded to words). */
VSAFE_MUST_CHECK int vsafe_da_frame_begin(uint16_t command, uint8_t *out, size_t out_cap, size_t *out_len);
VSAFE_MUST_CHECK int vsafe_da_frame_tlv(uint16_t type, const uint8_t *value, size_t len, uint8_t *out,
                                        size_t out_cap, size_t *out_len);
/* Parses a response: ADAC status, and the first TLV of type (value, len); ERR_NOT_FOUND. */
VSAFE_MUST_CHECK int vsafe_da_response_status(const uint8_t *rsp, size_t rsp_len, uint16_t *adac_status);
VSAFE_MUST_CHECK int vsafe_da_response_tlv(const uint8_t *rsp, size_t rsp_len, uint16_t type, const uint8_t **value,
                                           size_t *len);

/* ---- The DA mailbox the tooling talks to ----
 * A link is where the host side's frames go: the MCU in this process (mcu), or the MCU of a board
 * that `vsafe serve` serves (conn: one DA_EXCHANGE request per frame, docs/SOCKET.md). Exactly one
 * of the two is set; the host side of ADAC below is the same code for both. */
struct vsafe_host_conn;
typedef struct {
    vsafe_mcu_t *mcu;
    struct vsafe_host_conn *conn;
    char why[256]; /* after a transport failure: the server's one-line reason ("" if none) */
} vsafe_da_link_t;
/* One request frame, one response frame, through the trace hook. Returns the MCU's outcome for the
 * frame (what vsafe_mcu_da_request returns: VSAFE_OK, ERR_DA_*, ERR_MCU_*, ERR_PARSE...), with its
 * response frame in rsp. When no MCU answered, *rsp_len is 0 and the status is the transport's:
 * VSAFE_ERR_HOST_TRANSPORT, VSAFE_ERR_PROTO_*, VSAFE_ERR_BUFFER_TOO_SMALL (the response does not fit
 * rsp_cap), or the server's refusal (VSAFE_ERR_NOT_FOUND: the served board has no MCU), its reason
 * in link->why. */
VSAFE_MUST_CHECK int vsafe_da_link_exchange(vsafe_da_link_t *link, const uint8_t *req, size_t req_len, uint8_t *rsp,
                                            size_t rsp_cap, size_t *rsp_len);
/* Whole exchanges, as psa-adac's host does them: Authentication Start, then one Authentication
 * Response per certificate (root first; the MCU answers NEED_MORE_DATA), then one with the token
 * for perm signed by leaf; or one Response with the password TLV (0..16 bytes). Stops at the first
 * refusal. Returns what the MCU (or the transport) returned. */
VSAFE_MUST_CHECK int vsafe_da_link_authenticate(vsafe_da_link_t *link, const uint8_t *const *chain, size_t chain_len,
                                                const vsafe_da_key_t *leaf, const uint8_t perm[16]);
VSAFE_MUST_CHECK int vsafe_da_link_authenticate_password(vsafe_da_link_t *link, const uint8_t *pw, size_t pw_len);

/* The same on an MCU in this process (a link with mcu set). */
VSAFE_MUST_CHECK int vsafe_da_authenticate(vsafe_mcu_t *mcu, const uint8_t *const *chain, size_t chain_len,
                                           const vsafe_da_key_t *leaf, const uint8_t perm[16]);
VSAFE_MUST_CHECK int vsafe_da_authenticate_password(vsafe_mcu_t *mcu, const char *password);
VSAFE_MUST_CHECK int vsafe_da_authenticate_password_bytes(vsafe_mcu_t *mcu, const uint8_t *pw, size_t pw_len);
/* Every DA frame the tooling exchanges over any link, both ways (dir 0 = to the MCU, 1 = from it),
 * is passed to fn (NULL: none). One hook per process (the CLI's --trace). */
typedef void (*vsafe_da_trace_fn)(void *ctx, int dir, const uint8_t *frame, size_t len);
void vsafe_da_set_trace(vsafe_da_trace_fn fn, void *ctx);
/* vsafe_da_link_exchange on an MCU in this process. */
VSAFE_MUST_CHECK int vsafe_da_exchange(vsafe_mcu_t *mcu, const uint8_t *req, size_t req_len, uint8_t *rsp,
                                       size_t rsp_cap, size_t *rsp_len);

/* ---- Secure firmware install (SFI) and the three parties (docs/LIFECYCLE.md) ----
 * Regions: 1 iROT (flash S 0..511, the iROT owner's), 2 secure (flash S 512..1023, the secure
 * owner's), 3 non-secure (flash NS 0..1023, the non-secure owner's). Image (one region, one
 * device): "VSFI", format 1, region, 2 reserved, version u32 BE, payload length u32 BE, owner
 * public key X||Y (64) | license: ephemeral public key (64), wrapped image key (32 + GCM tag 16),
 * image IV (12), 4 reserved | ciphertext (length), image GCM tag (16) | owner signature r||s (64)
 * over SHA-256 of everything before it. KEK = HKDF-SHA-256(salt = SoC ID, ikm = ECDH(ephemeral,
 * device provisioning key), info = "vsafe SFI v1 KEK" || header bytes 0..15); the image key is
 * AES-256-GCM under the KEK (zero IV: one KEK per ephemeral key), the image AES-256-GCM under the
 * image key; both take header bytes 0..79 as AAD. */
enum { VSAFE_MCU_SFI_IROT = 1, VSAFE_MCU_SFI_SECURE = 2, VSAFE_MCU_SFI_NONSECURE = 3 };
#define VSAFE_SFI_OFF_OWNER 16u
#define VSAFE_SFI_OFF_EPHEMERAL 80u
#define VSAFE_SFI_OFF_WRAPPED 144u
#define VSAFE_SFI_OFF_IV 192u
#define VSAFE_SFI_HEADER_LEN 208u
#define VSAFE_SFI_PAYLOAD_MAX 0x10000u /* the largest region (secure, non-secure: 64 KiB) */
#define VSAFE_SFI_IMAGE_MAX (VSAFE_SFI_HEADER_LEN + VSAFE_SFI_PAYLOAD_MAX + 16u + 64u)
/* Bytes of a region (0 for an unknown one). */
uint32_t vsafe_mcu_sfi_region_size(unsigned region);
/* Where region begins in its flash (vsafe_mcu_sfi_region_mem), 0 for an unknown region. Regions:
 * iROT flash S 0..16 KiB, secure flash S 16..80 KiB, non-secure flash NS 0..64 KiB. */
uint32_t vsafe_mcu_sfi_region_offset(unsigned region);
vsafe_mcu_mem_t vsafe_mcu_sfi_region_mem(unsigned region);
/* This device's provisioning public key (P-256, drawn when the MCU is created), which images are
 * packed for. ERR_UNSUPPORTED when the port could not generate one. */
VSAFE_MUST_CHECK int vsafe_mcu_sfi_pubkey(const vsafe_mcu_t *mcu, uint8_t pub[64]);
/* Owner (SHA-256 of its public key; all zero = free) and installed version of a region. */
VSAFE_MUST_CHECK int vsafe_mcu_sfi_region_info(const vsafe_mcu_t *mcu, unsigned region, uint8_t owner_hash[32],
                                               uint32_t *version);
/* Installs an image into its region, in one commit (a power cut leaves the region wholly old or
 * wholly new). States: iROT region in PROVISIONING only, secure region also in iROT_PROVISIONED,
 * non-secure region also in TZ_CLOSED (ERR_SFI_STATE otherwise). ERR_PARSE (malformed, too long
 * for the region), ERR_SFI_FOREIGN_REGION (the region is owned by another key), ERR_SFI_SIGNATURE,
 * ERR_SFI_REPLAY (version not above the installed one), ERR_SFI_WRONG_DEVICE (the license does not
 * unwrap here), ERR_SFI_TAMPERED (the image tag fails), ERR_MCU_INERT; NVM errors. A refusal
 * changes nothing. The first image into a free region makes its signer the owner. */
VSAFE_MUST_CHECK int vsafe_mcu_sfi_install(vsafe_mcu_t *mcu, const uint8_t *img, size_t img_len);

/* Host side (OpenSSL): packs payload for region of the device whose provisioning key and SoC ID
 * are given, signed by owner. out_cap >= VSAFE_SFI_HEADER_LEN + payload_len + 80. */
typedef struct {
    unsigned region;
    uint32_t version;
    const vsafe_da_key_t *owner;
    const uint8_t *device_pub;    /* 64 bytes: vsafe_mcu_sfi_pubkey */
    const uint8_t *device_soc_id; /* 16 bytes: vsafe_mcu_info_t.soc_id */
    const uint8_t *payload;
    size_t payload_len; /* 1 .. the region's size */
} vsafe_sfi_pack_t;
VSAFE_MUST_CHECK int vsafe_sfi_pack(const vsafe_sfi_pack_t *p, uint8_t *out, size_t out_cap, size_t *out_len);

/* ---- Board: one MCU and its secure element (outer library) ----
 * The host keys live in OBK HDPL3-S as the record described at VSAFE_MCU_HOSTKEY_LEN. */
struct vsafe_host;
/* Fresh random host keys as an OBK record. */
VSAFE_MUST_CHECK int vsafe_board_hostkeys_generate(bool aes256, uint8_t rec[VSAFE_MCU_HOSTKEY_LEN]);
/* Provisions the record's keys into the secure element (plaintext host-key write 1F 07). */
VSAFE_MUST_CHECK int vsafe_board_hostkeys_to_se(struct vsafe_host *host, const uint8_t rec[VSAFE_MCU_HOSTKEY_LEN]);
/* All or nothing across the two parts: writes the record to OBK HDPL3-S (secure code at HDPL <= 3;
 * one commit), then to the secure element. If the secure element refuses (or is seen not to hold
 * the keys after a lost answer), OBK HDPL3-S gets its previous 72 bytes back and the secure
 * element's status is returned: the board is as before. A power cut between the two commits
 * leaves the keys in OBK only, which vsafe_board_hostkeys_verify reports. OBK errors (ERR_STATE in
 * OPEN, ERR_MCU_HDPL), host and device errors. */
VSAFE_MUST_CHECK int vsafe_board_install_hostkeys(vsafe_mcu_t *mcu, struct vsafe_host *host,
                                                  const uint8_t rec[VSAFE_MCU_HOSTKEY_LEN]);
/* Generates host keys and installs them (vsafe_board_install_hostkeys). */
VSAFE_MUST_CHECK int vsafe_board_provision_hostkeys(vsafe_mcu_t *mcu, struct vsafe_host *host, bool aes256);
/* Whether the secure element holds the host keys of OBK HDPL3-S: opens a session with them and
 * sends one authenticated Read of one byte of the first readable data zone (the device checks the
 * C-MAC, the host the R-MAC; the C-MAC counter advances by one). VSAFE_OK when they match;
 * VSAFE_ERR_NOT_FOUND when OBK holds no host keys or no data zone is readable; OBK errors; else
 * what the channel said (ERR_DEV_KEY_NOT_FOUND: the SE has no key, ERR_DEV_INVALID_C_MAC or
 * ERR_DEV_WRONG_KEY_TYPE: it has other keys, ERR_HOST_RMAC). The session is closed afterwards. */
VSAFE_MUST_CHECK int vsafe_board_hostkeys_verify(vsafe_mcu_t *mcu, struct vsafe_host *host);
/* What the board's secure firmware does at boot: reads the host keys from OBK HDPL3-S and opens
 * the host session with them. VSAFE_ERR_NOT_FOUND when OBK holds no host keys (e.g. after a full
 * regression); OBK errors (ERR_STATE in OPEN, ERR_MCU_HDPL); session errors from the host. */
VSAFE_MUST_CHECK int vsafe_board_session_open(vsafe_mcu_t *mcu, struct vsafe_host *host);

#ifdef __cplusplus
}
#endif
#endif
