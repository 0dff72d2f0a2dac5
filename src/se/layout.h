/* Byte layout of the secure element's state image (the bytes the store keeps in NVM).
 * Every field is at a fixed offset and big-endian; nothing is a raw struct. Specified for readers
 * in docs/NVM-FORMAT.md ("SE image"). Version 2 (se/layout_svc.h: the key-services region after
 * the zone data); a version-1 image is migrated at mount. Only ever add fields in reserved space. */
#ifndef VSAFE_SE_LAYOUT_H
#define VSAFE_SE_LAYOUT_H

#include <stdint.h>

#include "common/bytes.h" /* every field is read and written with these */

#define VSAFE_SE_IMG_MAGIC 0x56535345u /* "VSSE" */
#define VSAFE_SE_IMG_VERSION 2u    /* what this code writes */
#define VSAFE_SE_IMG_VERSION_V1 1u /* zones only: migrated at mount */

/* Header */
#define SE_OFF_MAGIC 0x000u          /* u32 */
#define SE_OFF_VERSION 0x004u        /* u16 */
#define SE_OFF_ZONE_COUNT 0x006u     /* u8 */
#define SE_OFF_LCS 0x007u            /* u8 life-cycle state (Query 0x08) */
#define SE_OFF_I2C_ADDR 0x008u       /* u8 7-bit address */
#define SE_OFF_PD_LEN 0x009u         /* u8 product data length */
#define SE_OFF_CMD_CR 0x00Au         /* u8 command table change rights */
#define SE_OFF_CMD_COUNT 0x00Bu      /* u8 command table records */
#define SE_OFF_USER_NVM_LEN 0x00Cu   /* u32 sum of the zones' data lengths */
#define SE_OFF_PROFILE_NAME 0x010u   /* char[32], NUL padded */
#define SE_OFF_PRODUCT_DATA 0x040u   /* u8[32] */

/* Host key slot v2 */
#define SE_OFF_HK_PRESENT 0x060u     /* u8 0 = empty, 1 = present */
#define SE_OFF_HK_TYPE 0x061u        /* u8 0 = AES-128, 1 = AES-256 */
#define SE_OFF_HK_CTRL0 0x062u       /* u8 provisioning control fields (Query 0x4A byte 0) */
#define SE_OFF_HK_CTRL1 0x063u       /* u8 authentication key slot (Query 0x4A byte 1) */
#define SE_OFF_HK_COUNTER 0x064u     /* u32 host C-MAC sequence counter */
#define SE_OFF_HK_MAC_KEY 0x068u     /* u8[32] */
#define SE_OFF_HK_CIPHER_KEY 0x088u  /* u8[32] */
#define SE_OFF_HK_BLOCKED 0x0A8u     /* u8 1 = counter maximum reached, slot unusable */

/* Command authorization table: 64 records of {header, ext, ac, enc} */
#define SE_OFF_CMD_TABLE 0x0C0u
#define SE_CMD_REC_SIZE 4u
#define SE_CMD_MAX 64u

/* Zone table: 64 records of 16 bytes, sorted by zone index */
#define SE_OFF_ZONE_TABLE 0x1C0u
#define SE_ZONE_REC_SIZE 16u
#define SE_ZONE_MAX 64u
#define SE_ZREC_INDEX 0u   /* u8 */
#define SE_ZREC_TYPE 1u    /* u8 0 data, 1 counter */
#define SE_ZREC_AC 2u      /* u8 zone info record: b7 read CR, b6..4 read AC, b3 update CR, b2..0 update AC */
#define SE_ZREC_LENGTH 4u  /* u16 data segment length */
#define SE_ZREC_DATA 8u    /* u32 offset of the data segment in the image */
#define SE_ZREC_COUNTER 12u /* u32 counter value (counter zones) */

/* Zone data segments follow, in zone order. */
#define SE_OFF_DATA 0x5C0u

static inline uint32_t se_zone_rec(uint32_t slot) { return SE_OFF_ZONE_TABLE + slot * SE_ZONE_REC_SIZE; }

#endif
