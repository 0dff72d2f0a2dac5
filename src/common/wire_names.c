/* Names of wire status bytes and command codes, for traces and messages. */
#include "vsafe/se_wire.h"

static const char *const wire_status_names[32] = {
    "OK", "COMMUNICATION_ERROR", "INCONSISTENT_COMMAND_DATA", "VALUE_OUT_OF_RANGE",
    "COMMAND_CODE_NOT_SUPPORTED", "UNEXPECTED_ERROR", "BUFFER_LENGTH_EXCEEDED", "SESSION_ERROR",
    "TOO_MANY_MESSAGES_LOST", "C_MAC_COUNTER_MAXIMUM_REACHED", "KEY_NOT_FOUND", "KEY_BLOCKED",
    "WRONG_KEY_TYPE", "SESSION_COUNTER_OUT_OF_RANGE", "UNDEFINED_0E", "INVALID_LIFE_CYCLE_STATE",
    "ENTRY_NOT_FOUND", "ACCESS_CONDITION_NOT_SATISFIED", "WRONG_ZONE_TYPE", "COUNTER_LIMIT_EXCEEDED",
    "BOUNDARY_EXCEEDED", "INVALID_PRIVATE_KEY", "INVALID_C_MAC", "CHALLENGE_MISSING",
    "COMMAND_DECRYPTION_ERROR", "INVALID_PUBLIC_KEY", "PASSWORD_BLOCKED", "WRONG_KEY_USAGE",
    "WRONG_MODE_OF_OPERATION", "WRONG_MAC_LENGTH", "COMMAND_NOT_AUTHORIZED", "OLD_MESSAGE",
};

const char *vsafe_se_wire_status_name(uint8_t status)
{
    return status < 32u ? wire_status_names[status] : "UNKNOWN";
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
