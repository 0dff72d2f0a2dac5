/* One served device: a secure element on its state file (DIR/se.nvm), behind a mutex, with the
 * server's view of its NVM (counting, deferred sync for group commit, power cuts) and its power
 * switch. Every function below except open takes the device's lock itself: the device's commands
 * are serialised, different devices run concurrently. Not installed. */
#ifndef VSAFE_SERVER_DEVICE_H
#define VSAFE_SERVER_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "server/proto.h"
#include "vsafe/host.h"
#include "vsafe/status.h"

typedef struct vsafe_server_dev vsafe_server_dev_t;
typedef struct vsafe_server_committer vsafe_server_committer_t;

/* Opens DIR/se.nvm (which must exist) for serving. durability: VSAFE_PROTO_DURABLE_* or -1 to
 * take it from DIR/durability ("power" or "process"; absent = power). committer makes the
 * durable commands' writes durable (group commit); NULL syncs each command itself.
 * Errors: the device open's (VSAFE_ERR_LOCKED when another process holds it, VSAFE_ERR_STORE_*),
 * with a one-line reason in why. */
VSAFE_MUST_CHECK int vsafe_server_dev_open(vsafe_server_dev_t **out, const char *dir, const char *name,
                                           int durability, vsafe_server_committer_t *committer, char *why,
                                           size_t why_cap);
void vsafe_server_dev_close(vsafe_server_dev_t *d);
const char *vsafe_server_dev_name(const vsafe_server_dev_t *d);
int vsafe_server_dev_durability(const vsafe_server_dev_t *d);

/* The state file's descriptor and its filesystem, for the committer. */
int vsafe_server_dev_fd(const vsafe_server_dev_t *d);

/* I2C as on the bus: 0 ACK, VSAFE_I2C_NACK, or a negative status. A write that executes a command
 * returns only once the command is durable at the device's level (power: after the sync that
 * covers it; process: after its writes reached the kernel). Powered off: NACK. */
/* Records every I2C transaction of the device (also those of TRANSCEIVE) in pcap as bus number
 * bus (0..127); NULL stops. The capture must outlive the device or be detached first. */
/* The profile recorded in the device's state ("" if none). */
const char *vsafe_server_dev_profile(const vsafe_server_dev_t *d);
void vsafe_server_dev_set_pcap(vsafe_server_dev_t *d, vsafe_pcap_t *pcap, uint8_t bus);

int vsafe_server_dev_i2c_write(vsafe_server_dev_t *d, uint8_t addr7, const uint8_t *buf, size_t len);
int vsafe_server_dev_i2c_read(vsafe_server_dev_t *d, uint8_t addr7, uint8_t *buf, size_t len);
/* Write, then (waiting out the timing model, at most 2 s) the whole response frame into rsp.
 * VSAFE_I2C_NACK when the write is not acknowledged, VSAFE_PROTO_POWER_LOST when it was and an
 * armed cut took the power during the command, VSAFE_PROTO_NO_RESPONSE when no response can be
 * read otherwise (busy for more than 2 s). */
int vsafe_server_dev_transceive(vsafe_server_dev_t *d, uint8_t addr7, const uint8_t *cmd, size_t cmd_len,
                                uint8_t *rsp, size_t rsp_cap, size_t *rsp_len);

/* Power: off drops the device object (volatile state, response) as a power loss does; on mounts
 * it again from NVM. Reset is off then on. */
VSAFE_MUST_CHECK int vsafe_server_dev_power(vsafe_server_dev_t *d, int on, char *why, size_t why_cap);
VSAFE_MUST_CHECK int vsafe_server_dev_reset(vsafe_server_dev_t *d, char *why, size_t why_cap);
/* Arms a power cut at the n-th NVM program or erase from now, counted over the coming commands,
 * under model (vsafe_sim_cut_model_t); n 0 disarms. */
VSAFE_MUST_CHECK int vsafe_server_dev_cut(vsafe_server_dev_t *d, uint32_t n, int model, char *why, size_t why_cap);
VSAFE_MUST_CHECK int vsafe_server_dev_timing(vsafe_server_dev_t *d, int on);
/* STATS fields (enum vsafe_proto_stat) of this device; server-wide ones are left 0. */
void vsafe_server_dev_stats(vsafe_server_dev_t *d, uint64_t out[VSAFE_PROTO_STAT_COUNT]);
/* The state blob (proto.h): *blob is malloc'd. */
VSAFE_MUST_CHECK int vsafe_server_dev_state_get(vsafe_server_dev_t *d, uint8_t **blob, size_t *blob_len);
/* Replaces the device's state with a blob after checking that it mounts; the device is then
 * powered on afresh. VSAFE_ERR_SERVER_STATE_BLOB (why says what is wrong), I/O errors. */
VSAFE_MUST_CHECK int vsafe_server_dev_state_set(vsafe_server_dev_t *d, const uint8_t *blob, size_t blob_len,
                                                char *why, size_t why_cap);

/* One debug-authentication frame to the board's MCU (DIR/mcu.nvm, opened at the first call and
 * kept open, under the device's lock) and its response frame. Returns VSAFE_OK when the MCU took
 * the frame, with *outcome what vsafe_mcu_da_request returned (its ADAC outcome); or
 * VSAFE_ERR_NOT_FOUND (the directory has no mcu.nvm), VSAFE_ERR_SYMLINK, the MCU open's error,
 * with a one-line reason in why. The MCU does not follow the secure element's POWER switch. */
VSAFE_MUST_CHECK int vsafe_server_dev_da(vsafe_server_dev_t *d, const uint8_t *in, size_t in_len, uint8_t *out,
                                         size_t out_cap, size_t *out_len, int *outcome, char *why, size_t why_cap);

/* ---- The committer (commit.c): makes files durable, many devices' commands per round ---- */
typedef struct {
    int group;              /* 1: group commit (one round for everything waiting); 0: one sync per command */
    unsigned delay_ms;      /* test knob: each round sleeps this long before syncing */
} vsafe_server_commit_cfg_t;

VSAFE_MUST_CHECK int vsafe_server_committer_new(vsafe_server_committer_t **out, const vsafe_server_commit_cfg_t *cfg);
/* Frees (no waiter may be left: call after every device thread ended). NULL is fine. */
void vsafe_server_committer_free(vsafe_server_committer_t *c);
/* Blocks until everything written to fd before the call is durable. 0 or VSAFE_ERR_IO. */
VSAFE_MUST_CHECK int vsafe_server_committer_wait(vsafe_server_committer_t *c, int fd);
/* Server-wide counters: sync calls made (fdatasync or syncfs) and commands made durable. */
void vsafe_server_committer_counts(vsafe_server_committer_t *c, uint64_t *sync_calls, uint64_t *durable);

#endif
