/* Names of wire status bytes and command codes, for traces and messages. */
#include "vsafe/se_wire.h"

/* Indexed by the status byte; from the one table vsafe/wire_status.def. */
static const char *const wire_status_names[VSAFE_SE_ST_COUNT] = {
#define VSAFE_WIRE_OK(name, byte, msg, when) [byte] = #name,
#define VSAFE_WIRE_ERROR(name, byte, msg, when) [byte] = #name,
#include "vsafe/wire_status.def"
#undef VSAFE_WIRE_OK
#undef VSAFE_WIRE_ERROR
};

const char *vsafe_se_wire_status_name(uint8_t status)
{
    return status < VSAFE_SE_ST_COUNT && wire_status_names[status] != NULL ? wire_status_names[status] : "UNKNOWN";
}

static const char *const command_names[32] = {
    "Echo", "Reset", "Generate random", "Start session", "Decrement", "Read", "Update", "Increment",
    "Derive LoRa key", "Generate MAC", "Verify MAC", "Unwrap issuer envelope", "Delete", "Hibernate",
    "Wrap local envelope", "Unwrap local envelope", "Put attribute", "Generate key", "Put key", "Configure",
    "Query", "Get signature", "Generate signature", "Verify signature", "Establish key", "Standby",
    "Verify password", "Encrypt", "Decrypt", NULL, "Chunk prefix", "Extended",
};

static const char *const extended_names[27] = {
    "Start hash", "Process hash", "Finish hash", "Start volatile KEK session", "Establish symmetric keys",
    "Confirm symmetric keys", "Stop volatile KEK session", "Write host key V2 plaintext",
    "Write host key V2 wrapped", "Write symmetric key wrapped", "Write public key", "Generate ECDHE key",
    NULL, NULL, "Generate challenge", "Verify entity signature", "Derive keys", "Start encrypt",
    "Process encrypt", "Finish encrypt", "Start decrypt", "Process decrypt", "Finish decrypt",
    "Write symmetric key plaintext", "Establish host key V2", "Erase symmetric key slot",
    "Decompress public key",
};

const char *vsafe_se_command_name(uint8_t code, uint8_t ext)
{
    code &= VSAFE_SE_HDR_CODE;
    if (code == VSAFE_SE_CMD_EXTENDED) {
        return ext < 27u ? extended_names[ext] : NULL;
    }
    return command_names[code];
}
