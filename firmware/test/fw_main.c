/* The test firmware for QEMU's mps2-an505: the device core, the store and the RAM NVM on a
 * Cortex-M33 replay the host's golden traces and refusal cases and go through a power cut at every
 * NVM operation of a short workload. Its last line is "N passed, M failed"; it exits through
 * semihosting with M as status. */
#include <string.h>

#include "crypto_none.h"
#include "fw_test.h"
#include "semihost.h"

static uint32_t passed, failed;
static uint32_t command_stack_max; /* deepest stack any vsafe_se_core_i2c_write used */

#define PAINT_WORDS 512u /* 2 KiB below the caller: past the static bound of a command (a deeper
                            use shows as 2 KiB, still above the bound, and fails the run) */

bool fw_check(bool ok, const char *suite, const char *name, const char *detail)
{
    if (ok) {
        passed++;
        return true;
    }
    failed++;
    vsafe_fw_puts("FAIL ");
    vsafe_fw_puts(suite);
    vsafe_fw_puts(": ");
    vsafe_fw_puts(name);
    if (detail != NULL) {
        vsafe_fw_puts(": ");
        vsafe_fw_puts(detail);
    }
    vsafe_fw_puts("\n");
    return false;
}

void fw_note(const char *suite, const char *text, uint32_t value)
{
    vsafe_fw_puts(suite);
    vsafe_fw_puts(": ");
    vsafe_fw_puts(text);
    vsafe_fw_put_u32(value);
    vsafe_fw_puts("\n");
}

uint32_t fw_failed(void) { return failed; }

static int dev_start(fw_dev_t *d, bool create, uint64_t seed)
{
    const vsafe_profile_t *p = &vsafe_profile_spl05;
    d->image_len = vsafe_se_core_image_size(p);
    if (d->image_len == 0u || d->image_len > sizeof d->image) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    uint32_t bytes = vsafe_store_nvm_bytes(d->image_len, FW_NVM_JOURNAL, FW_NVM_PAGE);
    if (bytes == 0u || bytes > sizeof d->mem) {
        return VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    d->geo = (vsafe_nvm_geometry_t){.prog_unit = 16, .page_size = FW_NVM_PAGE, .page_count = bytes / FW_NVM_PAGE,
                                    .erased = 0xFF, .may_reorder = 0};
    int rc;
    if (create) {
        rc = vsafe_fw_nvm_init(&d->nvm, &d->geo, d->mem, sizeof d->mem, seed);
        if (rc == VSAFE_OK) {
            rc = vsafe_se_core_build_image(p, d->image, d->image_len);
        }
        if (rc == VSAFE_OK) {
            rc = vsafe_se_core_create(&d->core, vsafe_fw_nvm_port(&d->nvm), vsafe_fw_crypto_none(), d->image,
                                      d->image_len);
        }
        return rc;
    }
    rc = vsafe_fw_nvm_attach(&d->nvm, &d->geo, d->mem, sizeof d->mem, seed);
    if (rc == VSAFE_OK) {
        rc = vsafe_se_core_mount(&d->core, vsafe_fw_nvm_port(&d->nvm), vsafe_fw_crypto_none(), d->image,
                                 sizeof d->image); /* capacity: room for a format migration */
    }
    return rc;
}

int fw_dev_create(fw_dev_t *d, uint64_t seed) { return dev_start(d, true, seed); }

int fw_dev_mount(fw_dev_t *d)
{
    /* keep the seed stream of the injector: only power comes back */
    uint64_t rng = d->nvm.rng;
    return dev_start(d, false, rng);
}

bool fw_exchange(fw_dev_t *d, const uint8_t *frame, size_t len, uint8_t *status, uint8_t *payload, size_t cap,
                 size_t *payload_len)
{
    static uint8_t cmd[VSAFE_SE_FRAME_MAX + 8];
    static uint8_t raw[VSAFE_SE_RSP_WIRE_MAX + 8];
    uint8_t addr = d->core.addr7;
    if (len + 2u > sizeof cmd) {
        return false;
    }
    memcpy(cmd, frame, len);
    uint16_t crc = vsafe_crc16(cmd, len);
    cmd[len] = (uint8_t)(crc >> 8);
    cmd[len + 1] = (uint8_t)crc;
    /* Measure the command's stack: paint below the current stack pointer (inline, no call, so no
     * frame of ours is down there; the firmware takes no interrupts), run, see how deep it wrote.
     * What earlier, deeper calls left there is recorded first for the high-water mark. */
    volatile uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    uint32_t dirty = PAINT_WORDS;
    while (dirty > 0u && sp[-(int32_t)dirty] == vsafe_fw_stack_paint) {
        dirty--;
    }
    vsafe_fw_stack_seen((const uint32_t *)(sp - dirty));
    for (uint32_t i = 1; i <= PAINT_WORDS; i++) {
        sp[-(int32_t)i] = vsafe_fw_stack_paint;
    }
    int wrc = vsafe_se_core_i2c_write(&d->core, addr, cmd, len + 2u);
    uint32_t w = PAINT_WORDS;
    while (w > 0u && sp[-(int32_t)w] == vsafe_fw_stack_paint) {
        w--;
    }
    if (4u * w > command_stack_max) {
        command_stack_max = 4u * w;
    }
    if (wrc != 0 || vsafe_se_core_i2c_read(&d->core, addr, raw, 5) != 0) {
        return false;
    }
    size_t total = ((size_t)raw[1] << 8 | raw[2]) + 3u;
    if (total < 5u || total > sizeof raw || total - 5u > cap ||
        vsafe_se_core_i2c_read(&d->core, addr, raw, total) != 0) {
        return false;
    }
    size_t n = total - 5u;
    crc = vsafe_crc16_continue(vsafe_crc16(raw, 1), raw + 3, n);
    if (raw[total - 2u] != (uint8_t)(crc >> 8) || raw[total - 1u] != (uint8_t)crc) {
        return false;
    }
    *status = raw[0];
    memcpy(payload, raw + 3, n);
    *payload_len = n;
    return true;
}

static fw_dev_t dev;

int main(void)
{
    vsafe_fw_puts("vsafe test firmware: Cortex-M33 (mps2-an505), device core + store + RAM NVM\n");
    fw_note("memory", "device core object bytes ", (uint32_t)sizeof dev.core);
    fw_suite_protocol(&dev);
    fw_note("memory", "SPL05 image bytes ", dev.image_len);
    fw_suite_powercut(&dev);
    fw_note("memory", "stack high-water bytes ", vsafe_fw_stack_high_water());
    fw_note("memory", "deepest command stack bytes ", command_stack_max);
    vsafe_fw_put_u32(passed);
    vsafe_fw_puts(" passed, ");
    vsafe_fw_put_u32(failed);
    vsafe_fw_puts(" failed\n");
    return (int)failed;
}
