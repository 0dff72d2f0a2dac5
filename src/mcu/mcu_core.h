/* MCU model internals: the state image layout and the caller-allocated MCU object.
 * No heap, no I/O: the image is kept by the store, the world reached through the port. */
#ifndef VSAFE_MCU_CORE_H
#define VSAFE_MCU_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "vsafe/mcu.h"
#include "vsafe/se_port.h"

/* ---- Image layout, version 3: big-endian fields at fixed offsets (docs/LIFECYCLE.md) ----
 * Version 1 was 0x2D00 bytes with the same fields below 0x2D00; version 2 (0x3000 bytes) appended
 * the ADAC verification context and the SFI records; version 3 moves the memory regions from
 * 0x2100 (1 KiB flash each, too small for a firmware image) to 0x3000, with flash sized for the
 * three parties' images. A version-1 or -2 image is migrated when it is opened
 * (vsafe_mcu_core_start_grow: one atomic grow, vsafe_store_commit_spans, or a fresh NVM when the
 * old one cannot hold the new image). */
#define VSAFE_MCU_IMG_MAGIC 0x56534D43u /* "VSMC" */
#define VSAFE_MCU_IMG_VERSION 3u
#define MCU_IMAGE_LEN_V1 0x2D00u
#define MCU_IMAGE_LEN_V2 0x3000u
#define MCU_OFF_MEM_V2 0x2100u /* versions 1, 2: flash S, flash NS (1024 each), SRAM S, SRAM NS (512 each) */
#define MCU_MEM_LEN_V2 0x0C00u /* reserved (zero) from version 3 on */

#define MCU_OFF_MAGIC 0x000u        /* u32 */
#define MCU_OFF_VERSION 0x004u      /* u16 */
#define MCU_OFF_SOC_CLASS 0x008u    /* u32 */
#define MCU_OFF_SOC_ID 0x010u       /* u8[16] */
#define MCU_OFF_HUK 0x020u          /* u8[32] hardware unique secret, drawn at creation */
#define MCU_OFF_DHUK_SALT 0x040u    /* u8[32] redrawn at every full regression */
#define MCU_OFF_DHUK_EPOCH 0x060u   /* u32 full regressions so far */
#define MCU_OFF_ATTEMPTS 0x064u     /* u32 failed DA attempts */
#define MCU_OFF_ATTEMPTS_INV 0x068u /* u32 bitwise complement of ATTEMPTS */
#define MCU_OFF_ATTEMPT_LIMIT 0x06Cu /* u32 */
#define MCU_OFF_LC 0x070u           /* lifecycle record (8): effective product state */
#define MCU_OFF_LC_PENDING 0x078u   /* lifecycle record (8): programmed, all zero = none */
#define MCU_OFF_TZEN 0x080u         /* lifecycle record (8) holding the TZEN code */
/* Volatile part of a continuously powered board: reset clears it. */
#define MCU_OFF_HDPL 0x088u         /* u8 1..3 */
#define MCU_OFF_CHAL_VALID 0x089u   /* u8 0xA5 = a challenge is outstanding */
#define MCU_OFF_AUTH_PHASE 0x08Au   /* u8 mcu_auth_phase_t: where the ADAC exchange is (v2) */
#define MCU_OFF_AUTH_CERTS 0x08Bu   /* u8 certificates accepted in this exchange (v2) */
#define MCU_OFF_GRANT 0x090u        /* u8[16] DA-granted debug permissions */
#define MCU_OFF_NONCE 0x0A0u        /* u8[32] current challenge nonce */
#define MCU_OFF_AUTH_MASK 0x0C0u    /* u8[16] AND of the masks seen so far in this exchange (v2) */
#define MCU_OFF_OBK 0x100u          /* OBK areas back to back, in vsafe_mcu_obk_t order */
#define MCU_OFF_AUTH_KEY 0x2D00u    /* u8[64] key of the last accepted certificate (v2, volatile) */
#define MCU_OFF_SFI 0x2D40u         /* SFI records (v2), see mcu_sfi.c: */
#define MCU_OFF_SFI_PRIV 0x2D40u    /*   u8[32] device provisioning private key (P-256) */
#define MCU_OFF_SFI_PUB 0x2D60u     /*   u8[64] its public key */
#define MCU_OFF_SFI_REGIONS 0x2DA0u /*   per region 1..3: owner hash [32], version u32, 4 reserved */
#define MCU_SFI_REC_LEN 40u
/* Version 3: the memory regions, back to back in vsafe_mcu_mem_t order. Flash S holds the iROT
 * region (16 KiB) and the secure region (64 KiB), flash NS the non-secure region (64 KiB). */
#define MCU_OFF_MEM 0x3000u
#define MCU_FLASH_S_LEN 0x14000u
#define MCU_FLASH_NS_LEN 0x10000u
#define MCU_SRAM_S_LEN 0x200u
#define MCU_SRAM_NS_LEN 0x200u
#define MCU_IMAGE_LEN (MCU_OFF_MEM + MCU_FLASH_S_LEN + MCU_FLASH_NS_LEN + MCU_SRAM_S_LEN + MCU_SRAM_NS_LEN)
/* The largest SFI region: an install decrypts the payload here before it is committed. */
#define MCU_SFI_STAGE_LEN 0x10000u

/* Phases of one ADAC exchange (psa-adac's authenticator states). */
typedef enum {
    MCU_AUTH_IDLE = 0,
    MCU_AUTH_CHALLENGE = 1, /* Start answered; nothing received yet (the next Response is counted) */
    MCU_AUTH_ROOT = 2,      /* root certificate accepted */
    MCU_AUTH_CHAIN = 3,     /* an intermediate accepted */
    MCU_AUTH_LEAF = 4       /* leaf accepted: only the token may follow */
} mcu_auth_phase_t;

#define MCU_REC_LEN 8u /* code u8, 0x5A, sparse word u32, CRC-16/X-25 u16 over the first 6 bytes */
#define MCU_CHAL_MAGIC 0xA5u
#define MCU_DEFAULT_ATTEMPT_LIMIT 16u
#define MCU_SOC_CLASS 0x00000484u /* default device ID (STM32H56x/H57x), the ADAC SoC class */

struct vsafe_mcu {
    vsafe_store_t store;
    const vsafe_crypto_t *crypto;
    uint8_t image[MCU_IMAGE_LEN];
    vsafe_txn_t txn;
    /* An SFI install's plaintext until its tag verifies and it is committed (wiped after). */
    uint8_t sfi_stage[MCU_SFI_STAGE_LEN];
    void *owner; /* outer library's resources (file NVM, crypto); NULL in core-only use */
};

/* Starts the core on nvm (NULL = volatile): mounts, or formats a blank NVM with a fresh image
 * (random SoC ID and secrets from the port RNG). power_on_reset applies pending changes. */
VSAFE_MUST_CHECK int vsafe_mcu_core_start(struct vsafe_mcu *m, const vsafe_nvm_t *nvm, const vsafe_crypto_t *crypto,
                                          uint32_t attempt_limit, int power_on_reset);
/* As vsafe_mcu_core_start, with the device ID of a new image (0 = MCU_SOC_CLASS). */
VSAFE_MUST_CHECK int vsafe_mcu_core_start_ex(struct vsafe_mcu *m, const vsafe_nvm_t *nvm, const vsafe_crypto_t *crypto,
                                             uint32_t attempt_limit, uint32_t soc_class, int power_on_reset);
/* As vsafe_mcu_core_start_ex. An image of an older version whose migration does not fit nvm (an
 * NVM sized for the smaller image: VSAFE_ERR_STORE_FULL without grow_nvm) is migrated into
 * grow_nvm instead, a blank NVM of at least vsafe_store_nvm_bytes(MCU_IMAGE_LEN, ...), formatted
 * with the migrated image; nvm is then left exactly as it was, and *moved (may be NULL) says so:
 * the caller makes grow_nvm take nvm's place (the file backend: rename over the old file). A
 * power cut while grow_nvm is written leaves nvm, which the next open migrates again. */
VSAFE_MUST_CHECK int vsafe_mcu_core_start_grow(struct vsafe_mcu *m, const vsafe_nvm_t *nvm, const vsafe_nvm_t *grow_nvm,
                                               const vsafe_crypto_t *crypto, uint32_t attempt_limit,
                                               uint32_t soc_class, int power_on_reset, bool *moved);

/* ---- shared between mcu_lc.c and mcu_da.c ---- */
uint32_t mcu_sparse_word(uint8_t code);   /* 0 if code is not a lifecycle/TZEN code */
vsafe_mcu_state_t mcu_decode_rec(const uint8_t *rec);
bool mcu_tz_on(const struct vsafe_mcu *m);
bool mcu_inert(const struct vsafe_mcu *m);
bool mcu_da_config_valid(const struct vsafe_mcu *m);
uint32_t mcu_attempts(const struct vsafe_mcu *m); /* UINT32_MAX when the copies disagree */
uint32_t mcu_obk_off(vsafe_mcu_obk_t area);
uint32_t mcu_mem_off(vsafe_mcu_mem_t region);
/* Draws the device provisioning key pair (into txn, or straight into the image when txn is NULL:
 * an image being built). VSAFE_OK without a key when the port has no EC key generation. */
VSAFE_MUST_CHECK int mcu_sfi_keygen(struct vsafe_mcu *m, vsafe_txn_t *txn);
void mcu_stage_rec(vsafe_txn_t *txn, uint32_t off, uint8_t code);
/* Performs a granted regression: records the request code, then resets (erase, new state). */
VSAFE_MUST_CHECK int mcu_request_regression(struct vsafe_mcu *m, bool full, vsafe_txn_t *txn);
static inline bool mcu_bit(const uint8_t mask[16], unsigned bit) { return (mask[bit / 8u] >> (bit % 8u)) & 1u; }

static inline uint32_t mcu_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* The STM32H503 variant (device ID 0x474): no OBK, no TrustZone. It reuses the bytes of OBK HDPL1
 * (2048, the size of its OTP) as its OTP, which holds the DA configuration at offset 0; the other
 * OBK areas stay erased and unused. Invariant: on this part nothing but
 * vsafe_mcu_otp_provision_password writes OBK HDPL1, and only while it is erased; no regression
 * erases it. */
#define MCU_OTP_AREA VSAFE_MCU_OBK_HDPL1
static inline bool mcu_part_h503(const struct vsafe_mcu *m)
{
    return mcu_get32(m->image + MCU_OFF_SOC_CLASS) == VSAFE_MCU_DEVID_H503;
}

#endif
