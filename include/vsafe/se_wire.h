/* STSAFE-A120 wire constants shared by the device core and the host library
 * (the STSAFE-A120 command/response protocol over I2C). Frozen: these are bytes on the wire. */
#ifndef VSAFE_SE_WIRE_H
#define VSAFE_SE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest command frame: header + payload + C-MAC, CRC excluded. */
#define VSAFE_SE_FRAME_MAX 752u
/* Largest complete response on the wire: status, LEN, 752 bytes, CRC. */
#define VSAFE_SE_RSP_WIRE_MAX (VSAFE_SE_FRAME_MAX + 4u)
#define VSAFE_SE_MAC_LEN 4u
#define VSAFE_SE_CRC_LEN 2u

/* Command header bits: protection in bits 7..5, command code in 4..0. */
#define VSAFE_SE_HDR_CMAC 0x80u
#define VSAFE_SE_HDR_RMAC 0x40u
#define VSAFE_SE_HDR_HOST 0x20u
#define VSAFE_SE_HDR_CODE 0x1Fu
#define VSAFE_SE_HDR_PROT 0xE0u

/* Command codes. */
enum {
    VSAFE_SE_CMD_ECHO = 0x00,
    VSAFE_SE_CMD_RESET = 0x01,
    VSAFE_SE_CMD_RANDOM = 0x02,
    VSAFE_SE_CMD_DECREMENT = 0x04,
    VSAFE_SE_CMD_READ = 0x05,
    VSAFE_SE_CMD_UPDATE = 0x06,
    VSAFE_SE_CMD_PUT_ATTRIBUTE = 0x10,
    VSAFE_SE_CMD_QUERY = 0x14,
    VSAFE_SE_CMD_VERIFY_PASSWORD = 0x1A,
    VSAFE_SE_CMD_EXTENDED = 0x1F
};

/* Extended codes (second header byte after 0x1F). */
enum {
    VSAFE_SE_EXT_START_KEK = 0x03,
    VSAFE_SE_EXT_STOP_KEK = 0x06,
    VSAFE_SE_EXT_WRITE_HOST_KEY_PLAIN = 0x07,
    VSAFE_SE_EXT_WRITE_HOST_KEY_WRAPPED = 0x08,
    VSAFE_SE_EXT_GENERATE_ECDHE = 0x0B,
    VSAFE_SE_EXT_ESTABLISH_HOST_KEY = 0x18
};

/* Query / Put attribute tags. */
enum {
    VSAFE_SE_TAG_LIFE_CYCLE = 0x08,
    VSAFE_SE_TAG_I2C_PARAMS = 0x0A,
    VSAFE_SE_TAG_PRODUCT_DATA = 0x11,
    VSAFE_SE_TAG_PARTITIONS = 0x12,
    VSAFE_SE_TAG_CMD_AUTH = 0x24,
    VSAFE_SE_TAG_CMD_AC = 0x29,
    VSAFE_SE_TAG_CMD_ENC = 0x2A,
    VSAFE_SE_TAG_HOST_KEY_V2 = 0x47,
    VSAFE_SE_TAG_HOST_KEY_CTRL = 0x4A
};

/* Response status bytes, from the one table vsafe/wire_status.def. */
enum {
#define VSAFE_WIRE_OK(name, byte, msg, when) VSAFE_SE_ST_##name = (byte),
#define VSAFE_WIRE_ERROR(name, byte, msg, when) VSAFE_SE_ST_##name = (byte),
#include "vsafe/wire_status.def"
#undef VSAFE_WIRE_OK
#undef VSAFE_WIRE_ERROR
    VSAFE_SE_ST_COUNT /* one past the last status byte (0x20) */
};

/* Zone access conditions and command access conditions. */
enum { VSAFE_SE_AC_ALWAYS = 0, VSAFE_SE_AC_HOST = 1, VSAFE_SE_AC_NEVER = 7 };
enum { VSAFE_SE_ZONE_DATA = 0, VSAFE_SE_ZONE_COUNTER = 1 };
enum {
    VSAFE_SE_CMD_AC_NEVER = 0,
    VSAFE_SE_CMD_AC_FREE = 1,
    VSAFE_SE_CMD_AC_ADMIN = 2,
    VSAFE_SE_CMD_AC_HOST = 3
};
#define VSAFE_SE_ENC_CMD 0x02u
#define VSAFE_SE_ENC_RSP 0x01u

/* Option byte of Read / Update / Decrement. */
#define VSAFE_SE_OPT_AC_MASK 0x07u
#define VSAFE_SE_OPT_CR 0x08u
#define VSAFE_SE_OPT_CHANGE_AC 0x10u
#define VSAFE_SE_OPT_ATOMIC 0x80u

/* CRC-16/X-25 over the frame. The value goes on the wire high byte first. */
uint16_t vsafe_crc16(const uint8_t *data, size_t len);
/* Continues from a previous *final* value, as the STSELib PAL's Accumulate does. */
uint16_t vsafe_crc16_continue(uint16_t crc_final, const uint8_t *data, size_t len);

/* Name of a wire status byte ("ACCESS_CONDITION_NOT_SATISFIED"), "OK" for 0, "UNKNOWN" otherwise. */
const char *vsafe_se_wire_status_name(uint8_t status);
/* Name of a command code / extended code ("Read", "Write host key V2 plaintext"), NULL if unknown. */
const char *vsafe_se_command_name(uint8_t code, uint8_t ext);

#ifdef __cplusplus
}
#endif
#endif
