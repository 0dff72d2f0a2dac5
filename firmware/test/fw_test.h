/* The test firmware's harness: a tally of checks, a device on the RAM NVM, and frame exchange
 * through the core's I2C view. Every check counts once; a failed one prints what was expected. */
#ifndef VSAFE_FW_TEST_H
#define VSAFE_FW_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "nvm_ram.h"
#include "se/core.h"

/* The SPL05 image and the NVM the tests run on: STM32H5-like flash (16-byte program unit, 8 KiB
 * pages) with a small journal so a short workload also compacts. */
#define FW_IMAGE_MAX 32768u
#define FW_NVM_PAGE 8192u
#define FW_NVM_JOURNAL 2048u
#define FW_NVM_MAX (8u * FW_NVM_PAGE)

typedef struct {
    vsafe_fw_nvm_t nvm;
    uint8_t mem[FW_NVM_MAX];
    vsafe_nvm_geometry_t geo;
    vsafe_se_core_t core;
    uint8_t image[FW_IMAGE_MAX];
    uint32_t image_len;
} fw_dev_t;

/* Counts one check; prints "FAIL suite: name: detail" when ok is false. Returns ok. */
bool fw_check(bool ok, const char *suite, const char *name, const char *detail);
void fw_note(const char *suite, const char *text, uint32_t value); /* an informational line */
uint32_t fw_failed(void);

/* Erases the NVM and creates a fresh SPL05 device on it. VSAFE_OK or the core's status. */
int fw_dev_create(fw_dev_t *d, uint64_t seed);
/* Mounts the device from whatever the NVM holds now (a reboot). */
int fw_dev_mount(fw_dev_t *d);

/* Sends frame (CRC appended here) and reads the response the way STSELib does: 5 bytes, then
 * LEN + 3 from byte 0. Returns false if the device gave no answer (NACK) or the response frame is
 * malformed (bad LEN or CRC). status, payload (rsp_cap bytes at most) and *len are filled. */
bool fw_exchange(fw_dev_t *d, const uint8_t *frame, size_t len, uint8_t *status, uint8_t *payload, size_t cap,
                 size_t *payload_len);

/* The device's state as a host sees it (tests/model's observation, in frames): the partition
 * table, the host key slot, the command table and the data of every zone readable Always.
 * *data_mask: the zones whose data was read. VSAFE_OK or VSAFE_ERR_HOST_FRAME. */
int fw_observe(fw_dev_t *d, model_t *obs, uint32_t *data_mask);
/* Whether obs equals the model e in every field (zone data where data_mask has the zone's bit);
 * if not, *why names the first field that differs. */
bool fw_model_equal(const model_t *e, const model_t *obs, uint32_t data_mask, const char **why);

void fw_suite_protocol(fw_dev_t *d);
void fw_suite_powercut(fw_dev_t *d);

/* Stack use (firmware/mps2-an505/startup.c): the region is painted with vsafe_fw_stack_paint at
 * reset; the high-water mark is how much of it was ever overwritten. */
extern const uint32_t vsafe_fw_stack_paint;
uint32_t vsafe_fw_stack_high_water(void);
/* Records that the stack was used down to p (before a test repaints a region). */
void vsafe_fw_stack_seen(const uint32_t *p);

#endif
