/* vsafe status codes: one table (status.def) gives every value, its name and its message.
 * VSAFE_OK is 0, every error is negative; values are stable and only ever added. */
#ifndef VSAFE_STATUS_H
#define VSAFE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define VSAFE_MUST_CHECK __attribute__((warn_unused_result))
#else
#define VSAFE_MUST_CHECK
#endif

typedef enum {
#define X(name, value, msg) VSAFE_##name = (value),
#include "vsafe/status.def"
#undef X
} vsafe_status_t;

/* A device answered with wire status byte w (1..0x1F): the host-side status is this. */
#define VSAFE_DEV_STATUS(w) (-500 - (int)(w))
/* Inverse: the wire status byte carried by a VSAFE_ERR_DEV_* status, or -1 if it is not one. */
int vsafe_status_wire(int status);

/* "ERR_ACCESS..." style symbolic name without the VSAFE_ prefix; "UNKNOWN" if not in the table.
 * For VSAFE_ERR_DEV_* statuses the name is the device status name (e.g.
 * "ACCESS_CONDITION_NOT_SATISFIED"), as the CLI contract prints it. */
const char *vsafe_status_name(int status);
/* Human-readable one-line message. Never NULL. */
const char *vsafe_status_message(int status);

/* Positive: the device did not acknowledge an I2C transaction (contract, se.h). */
#define VSAFE_I2C_NACK 1

#ifdef __cplusplus
}
#endif
#endif
