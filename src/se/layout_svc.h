/* Byte layout of the key-services region of the secure element's state image (image version 2).
 *
 * Version 1 images end with the zone data segments. Version 2 appends one region after them,
 * found through the header field SE_OFF_SVC (u32, the region's offset in the image; 0 in a
 * version-1 image, whose mount migrates it by appending a factory-fresh region in one commit).
 * Every field is big-endian at a fixed offset, nothing is a raw struct; docs/NVM-FORMAT.md
 * ("SE image, key services") specifies it for readers.
 *
 * Region layout (offsets relative to the region start):
 *   0x000  header (SVC_HDR_LEN bytes)
 *   PRIV   SVC_PRIV_SLOTS private key slot records (slots 0..4; the ephemeral slot is RAM only)
 *   GPUB   SVC_GPUB_SLOTS generic public key slot records
 *   SYM    SVC_SYM_SLOTS symmetric key slot records
 *   ENV    SVC_ENV_SLOTS local envelope key records
 * Slot counts actually in use are in the header (<= the maxima below); records past the count
 * stay zero. */
#ifndef VSAFE_SE_LAYOUT_SVC_H
#define VSAFE_SE_LAYOUT_SVC_H

#include <stdint.h>

#define VSAFE_SE_IMG_VERSION_SVC 2u

/* In the image header (reserved space of version 1, zero there). */
#define SE_OFF_SVC 0x0ACu /* u32 offset of the key-services region; 0 = none (version 1) */

/* ---- Region header ---- */
#define SVC_OFF_MAGIC 0x00u          /* u32 "VSVC" */
#define SVC_MAGIC 0x56535643u
#define SVC_OFF_PRIV_COUNT 0x04u     /* u8 static private slots (SPL05: 5) */
#define SVC_OFF_GPUB_COUNT 0x05u     /* u8 generic public key slots (SPL05: 4) */
#define SVC_OFF_SYM_COUNT 0x06u      /* u8 symmetric key slots (SPL05: 16) */
#define SVC_OFF_ENV_COUNT 0x07u      /* u8 local envelope key slots (SPL05: 2) */
#define SVC_OFF_GLOBAL_LIMIT 0x08u   /* u16 largest usage limit Generate key accepts */
#define SVC_OFF_EPH_MODE 0x0Au       /* u16 mode of operation of the ephemeral slot 0xFF */
#define SVC_OFF_PASSWORD 0x0Cu       /* u8 0 = no password provisioned */
#define SVC_HDR_LEN 0x20u

/* ---- Private key slot record ---- */
#define SVC_PRIV_SLOTS 5u
#define SVC_PRIV_REC 208u
#define SVC_PREC_PRESENT 0u     /* u8 1 = key present */
#define SVC_PREC_CURVE 1u       /* u8 enum vsafe_curve */
#define SVC_PREC_MODE 2u        /* u16 mode of operation, the two bytes of Query 0x14 as sent */
#define SVC_PREC_LIMIT 4u       /* u16 usage limit given at generation (0 = none) */
#define SVC_PREC_REMAINING 6u   /* u16 uses left (meaningful when LIMIT != 0) */
#define SVC_PREC_PRIV 8u        /* u8[66] private key, left-aligned, curve key size used */
#define SVC_PREC_PUB 74u        /* u8[132] public key X||Y or K */
/* 74 + 132 = 206; 2 bytes reserved */

/* ---- Generic public key slot record ---- */
#define SVC_GPUB_SLOTS 4u
#define SVC_GPUB_REC 136u
#define SVC_GREC_PRESENT 0u     /* u8 */
#define SVC_GREC_CURVE 1u       /* u8 enum vsafe_curve */
#define SVC_GREC_FLAGS 2u       /* u16 configuration flags, the two bytes of Query 0x4C as sent */
#define SVC_GREC_PUB 4u         /* u8[132] */

/* ---- Symmetric key slot record ---- */
#define SVC_SYM_SLOTS 16u
#define SVC_SYM_REC 56u
#define SVC_SREC_B0 0u          /* u8 bit0 present, bits 2..1 lock (0 unlocked, 1 locked, 2 erasable) */
#define SVC_SREC_TYPE 1u        /* u8 0 AES-128, 1 AES-256, 2 generic secret */
#define SVC_SREC_MODE 2u        /* u8 0 CCM*, 1 CMAC, 2 ECB, 3 GCM, 4 HKDF, 5 HMAC */
#define SVC_SREC_USAGE 3u       /* u16 usage, the two bytes as on the wire */
#define SVC_SREC_PARAMS 5u      /* u8[6] mode parameters as in the key information record */
#define SVC_SREC_PARAMS_LEN 11u /* u8 how many of PARAMS are meaningful */
#define SVC_SREC_CTRL 12u       /* u8[3] provisioning control fields (tag 0x4B) */
#define SVC_SREC_KEY_LEN 15u    /* u8 key bytes (16, 32, or the generic secret length) */
#define SVC_SREC_KEY 16u        /* u8[32] */
#define SVC_SREC_COUNTER 48u    /* u32 CCM* counter */
/* 52..55 reserved */

/* ---- Local envelope key record ---- */
#define SVC_ENV_SLOTS 2u
#define SVC_ENV_REC 36u
#define SVC_EREC_PRESENT 0u     /* u8 */
#define SVC_EREC_KEYLEN 1u      /* u8 0 = AES-128, 1 = AES-256 (as Generate key tag 0x07) */
#define SVC_EREC_KEY 2u         /* u8[32] */

#define SVC_OFF_PRIV SVC_HDR_LEN
#define SVC_OFF_GPUB (SVC_OFF_PRIV + SVC_PRIV_SLOTS * SVC_PRIV_REC)
#define SVC_OFF_SYM (SVC_OFF_GPUB + SVC_GPUB_SLOTS * SVC_GPUB_REC)
#define SVC_OFF_ENV (SVC_OFF_SYM + SVC_SYM_SLOTS * SVC_SYM_REC)
#define SVC_REGION_LEN (SVC_OFF_ENV + SVC_ENV_SLOTS * SVC_ENV_REC)

static inline uint32_t svc_priv_rec(uint32_t region, uint32_t slot) { return region + SVC_OFF_PRIV + slot * SVC_PRIV_REC; }
static inline uint32_t svc_gpub_rec(uint32_t region, uint32_t slot) { return region + SVC_OFF_GPUB + slot * SVC_GPUB_REC; }
static inline uint32_t svc_sym_rec(uint32_t region, uint32_t slot) { return region + SVC_OFF_SYM + slot * SVC_SYM_REC; }
static inline uint32_t svc_env_rec(uint32_t region, uint32_t slot) { return region + SVC_OFF_ENV + slot * SVC_ENV_REC; }

#endif
