/* vsafe secure element: the virtual STSAFE-A120 as seen on its I2C bus.
 *
 * The first part of this header is the stable contract: keep it working.
 * Extensions follow it. */
#ifndef VSAFE_SE_H
#define VSAFE_SE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsafe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vsafe_se vsafe_se_t;

typedef struct {
    const char *profile;    /* built-in profile name ("spl05") or path to a profile file; NULL = "spl05" */
    const char *state_path; /* persistent NVM image; created from the profile when absent; NULL = volatile */
} vsafe_se_options_t;

/* Opens a device. With a state_path that exists, the device is loaded from it (the profile is then
 * only used when the file must be created). Returns 0 or a negative status:
 * VSAFE_ERR_ARGUMENT, VSAFE_ERR_NO_MEMORY, VSAFE_ERR_PROFILE_*, VSAFE_ERR_BAD_PROFILE,
 * VSAFE_ERR_STORE_* (corrupt, truncated, unknown version: never silently reset),
 * VSAFE_ERR_LOCKED (another process has the state file open), VSAFE_ERR_IO. */
VSAFE_MUST_CHECK int vsafe_se_open(vsafe_se_t **se, const vsafe_se_options_t *options);
void vsafe_se_close(vsafe_se_t *se);

/* The device as seen on its I2C bus. addr7 is the 7-bit address (default 0x20).
 * write: one complete command frame (header, payload, C-MAC if any, CRC) in one transaction.
 *        The command executes and is durable before the write returns.
 * read:  copies the first len bytes of the current response, always from its byte 0.
 * Both return 0 when the device ACKs, VSAFE_I2C_NACK when it does not (wrong address, no
 * response yet, busy), or a negative status on a host-side error (NULL pointers). */
int vsafe_se_i2c_write(vsafe_se_t *se, uint8_t addr7, const uint8_t *buf, size_t len);
int vsafe_se_i2c_read(vsafe_se_t *se, uint8_t addr7, uint8_t *buf, size_t len);

/* ---- Extensions (not part of the frozen contract) ---- */

#define VSAFE_SE_DEFAULT_I2C_ADDR 0x20u

struct vsafe_nvm;
struct vsafe_crypto;

/* Further open options. Zero-initialise and set what you need. */
typedef struct {
    /* Caller-supplied NVM (for example a vsafe_sim_nvm_t with fault injection). When set,
     * state_path is ignored; the NVM is formatted from the profile if it holds no valid state.
     * The caller keeps ownership and must keep it alive until vsafe_se_close. */
    struct vsafe_nvm *nvm;
    /* Seed for the device's random generator; 0 = OS randomness. Tests use it for repeatable runs. */
    uint64_t rng_seed;
    /* Timing model: when non-zero, the device NACKs reads for the command's processing time
     * (the A120's published processing time of each command) as measured by the port clock;
     * twice that for an operation on NIST P-521 or Brainpool P-512 (a choice: the chip's
     * per-curve times are not published). */
    int timing;
    /* Open an existing state file for reading only (no lock, no writes, commands that change
     * state fail). Used by `vsafe check`. */
    int read_only;
    /* When set, a failed open writes a one-line explanation here (for example the profile file,
     * line and field at fault, or what is wrong with the state file). */
    char *error_message;
    size_t error_message_cap;
    /* With nvm: commit with one sync per command, as file-backed devices do (so a simulated copy
     * of a state file sees the same NVM operations as the file itself). */
    int one_sync;
    /* Device identity at creation: the CA that signs the new device's zone-0 certificate, as PEM
     * certificate and PEM private key files (both or neither). Neither: the local vsafe CA
     * ($VSAFE_CA_DIR, else $XDG_DATA_HOME/vsafe/ca, else ~/.local/share/vsafe/ca), created on
     * first use. Ignored when an existing state is opened. */
    const char *ca_cert_path;
    const char *ca_key_path;
    /* Create the device without an identity: slot 0 stays empty and zone 0 keeps the profile's
     * content. Every real device has one; this is for fuzzing and for tests that create
     * thousands of devices, where a key generation, a CA load and a certificate signature per
     * device would dominate. Ignored when an existing state is opened. */
    int no_identity;
} vsafe_se_open_ext_t;

VSAFE_MUST_CHECK int vsafe_se_open_ex(vsafe_se_t **se, const vsafe_se_options_t *options,
                                      const vsafe_se_open_ext_t *ext);

/* Whole-command helper: writes a frame and reads the complete response (for tools and tests;
 * equivalent to one I2C write followed by one full read). Returns 0, VSAFE_I2C_NACK or < 0. */
int vsafe_se_transceive(vsafe_se_t *se, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t rsp_cap,
                        size_t *rsp_len);

/* Store statistics since open (for check, bench and tests). */
typedef struct {
    uint64_t commits;         /* NVM commits performed */
    uint64_t bytes_programmed; /* bytes handed to NVM program operations */
    uint64_t program_ops;
    uint64_t erase_ops;
    uint64_t compactions;     /* snapshot rewrites */
    uint32_t sequence;        /* sequence number of the newest committed record */
    uint32_t image_bytes;     /* size of the device state image */
} vsafe_se_stats_t;
int vsafe_se_stats(const vsafe_se_t *se, vsafe_se_stats_t *stats);

/* True when the device lost its supply during the last command written to it (fault injection:
 * its NVM failed with VSAFE_ERR_POWER_LOSS mid-commit). The bus then sees only NACKs, as with a
 * real part; an in-process host uses this to report a power loss instead of a timeout. False for
 * NULL. Cleared by the next command written. */
bool vsafe_se_power_lost(const vsafe_se_t *se);

/* The name of the profile the device was created from, as recorded in its state (at most 31
 * characters; "" when none was recorded), NUL-terminated into out[cap]. VSAFE_OK, VSAFE_ERR_ARGUMENT. */
int vsafe_se_profile_name(const vsafe_se_t *se, char *out, size_t cap);
/* Turns the timing model (see vsafe_se_open_ext_t.timing) on or off on an open device; the
 * volatile state is kept. VSAFE_ERR_ARGUMENT for NULL. */
int vsafe_se_set_timing(vsafe_se_t *se, int on);

/* The real A120's processing time, in milliseconds, of the command whose frame (header byte
 * first; the CRC may follow or not) is given, as the timing model applies it: one figure per
 * command code from the chip's published processing times (for example Echo 2, Generate random 4,
 * Decrement 23, Read 23, Update 22, Generate key 32, Generate signature 37, Verify signature 62,
 * Establish key 83, Generate MAC 23, Encrypt 5). All the extended commands (code 0x1F: hash,
 * chunked AES, key derivation, ...) share one figure, 500 ms. An operation on NIST P-521 or
 * Brainpool P-512 takes twice the figure under the model. 0 for len 0. No device needed. */
unsigned vsafe_se_command_time_ms(const uint8_t *frame, size_t len);

/* Bytes of memory the open device holds (its state, buffers and port contexts). */
size_t vsafe_se_memory(const vsafe_se_t *se);

#ifdef __cplusplus
}
#endif
#endif
