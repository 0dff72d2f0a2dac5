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
} vsafe_profile_t;

/* The built-in SPL05 profile: the STSAFE-A120 SPL05 personalization with vsafe's factory choices. */
extern const vsafe_profile_t vsafe_profile_spl05;

/* Looks up a built-in profile by name ("spl05"); NULL if there is none. */
const vsafe_profile_t *vsafe_profile_builtin(const char *name);

/* Checks that a profile describes a real device. On failure returns VSAFE_ERR_BAD_PROFILE and
 * writes a message naming the offending field (e.g. "zones[3].length: ...") into msg. */
VSAFE_MUST_CHECK int vsafe_profile_validate(const vsafe_profile_t *p, char *msg, size_t msg_cap);

#endif
