/* A compiled personalization profile: everything needed to lay out a fresh device image.
 * Built-in profiles are const data (src/se/profile_spl05.c); profile files are parsed into this
 * struct by src/profile (the only place that allocates for it). */
#ifndef VSAFE_SE_PROFILE_H
#define VSAFE_SE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsafe/status.h"

#define VSAFE_PROFILE_MAX_ZONES 64u
#define VSAFE_PROFILE_MAX_CMDS 64u
#define VSAFE_PROFILE_MAX_PRODUCT_DATA 32u
/* All zone data together (the device's User-NVM). */
#define VSAFE_PROFILE_MAX_USER_NVM 65536u

typedef struct {
    uint8_t index;
    uint8_t type;          /* VSAFE_SE_ZONE_DATA or VSAFE_SE_ZONE_COUNTER */
    uint8_t read_ac;       /* 0..7 */
    uint8_t update_ac;     /* 0..7 */
    bool read_ac_cr;       /* change right */
    bool update_ac_cr;
    uint16_t length;       /* data segment length */
    uint32_t counter;      /* initial counter (counter zones) */
    const uint8_t *content; /* initial content, may be NULL (zeros) */
    uint16_t content_len;  /* <= length */
} vsafe_profile_zone_t;

typedef struct {
    uint8_t header; /* command code, or 0x1F for extended */
    uint8_t ext;    /* extended code when header == 0x1F */
    uint8_t ac;     /* VSAFE_SE_CMD_AC_* (0..3) */
    uint8_t enc;    /* VSAFE_SE_ENC_CMD | VSAFE_SE_ENC_RSP */
} vsafe_profile_cmd_t;

/* The key-services facts of a profile (private, generic public, symmetric and envelope key
 * slots). Mode and flag words are the two bytes the device reports in Query 0x14 / 0x4C, first
 * byte in the high half. */
typedef struct {
    uint8_t priv_count;          /* static private key slots (<= 5) */
    uint16_t priv_mode[5];       /* mode of operation of each static slot */
    uint16_t eph_mode;           /* mode of operation of the ephemeral slot 0xFF */
    uint16_t global_usage_limit; /* largest usage limit Generate key accepts */
    uint8_t gpub_count;          /* generic public key slots (<= 4) */
    uint16_t gpub_flags;         /* factory configuration flags of every generic public key slot */
    uint8_t sym_count;           /* symmetric key slots (<= 16) */
    uint8_t sym_ctrl[3];         /* factory provisioning control fields of every symmetric slot */
    uint8_t env_count;           /* local envelope key slots (<= 2) */
} vsafe_profile_svc_t;

/* SPL05 with vsafe's decisions: 5 static private slots (slot 0 signs only, Generate key
 * forbidden; slots 1..4 sign and establish, Generate key free, change right), the ephemeral slot
 * establishes only, global usage limit 0xFFFF, 4 generic public key slots flagged 00 01 (change
 * right only), 16 symmetric slots with control fields 08 FF FF, 2 envelope slots. */
extern const vsafe_profile_svc_t vsafe_profile_svc_spl05;

typedef struct {
    char name[32];
    uint8_t product_data[VSAFE_PROFILE_MAX_PRODUCT_DATA];
    uint8_t product_data_len;
    uint8_t life_cycle_state;      /* Query 0x08 */
    uint8_t i2c_addr;              /* 7-bit */
    uint8_t cmd_change_rights;     /* bit0 encryption-flag CR, bit1 command-AC CR */
    uint8_t cmd_count;
    vsafe_profile_cmd_t cmds[VSAFE_PROFILE_MAX_CMDS];
    uint8_t hostkey_ctrl[2];       /* Query 0x4A: control fields, auth key slot */
    uint8_t zone_count;
    vsafe_profile_zone_t zones[VSAFE_PROFILE_MAX_ZONES];
    const vsafe_profile_svc_t *svc; /* key-services facts; NULL = vsafe_profile_svc_spl05 */
} vsafe_profile_t;

/* The built-in SPL05 profile: the STSAFE-A120 SPL05 personalization with vsafe's factory choices. */
extern const vsafe_profile_t vsafe_profile_spl05;

/* Looks up a built-in profile by name ("spl05"); NULL if there is none. */
const vsafe_profile_t *vsafe_profile_builtin(const char *name);

/* Checks that a profile describes a real device. On failure returns VSAFE_ERR_BAD_PROFILE and
 * writes a message naming the offending field (e.g. "zones[3].length: ...") into msg. */
VSAFE_MUST_CHECK int vsafe_profile_validate(const vsafe_profile_t *p, char *msg, size_t msg_cap);

#endif
