/* Arm semihosting for the test firmware (BKPT 0xAB, Thumb): console output and exit with a
 * status. QEMU serves it with -semihosting-config enable=on,target=native. Output is unbuffered
 * and goes to the standard output of QEMU. */
#ifndef VSAFE_FW_SEMIHOST_H
#define VSAFE_FW_SEMIHOST_H

#include <stdint.h>

void vsafe_fw_puts(const char *s);               /* writes s, no newline added */
void vsafe_fw_put_u32(uint32_t v);               /* decimal */
void vsafe_fw_put_hex(uint32_t v, unsigned digits);
/* Ends the run: QEMU exits with status (0..255; larger values are reported as 255). */
__attribute__((noreturn)) void vsafe_fw_exit(uint32_t status);

#endif
