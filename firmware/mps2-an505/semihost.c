/* Semihosting calls (firmware/mps2-an505/semihost.h). A call is: operation number in r0, argument
 * pointer in r1, BKPT 0xAB; the result comes back in r0. */
#include "semihost.h"

#define SH_SYS_WRITE0 0x04u
#define SH_SYS_EXIT_EXTENDED 0x20u
#define SH_ADP_STOPPED_APPLICATION_EXIT 0x20026u

static uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ __volatile__("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void vsafe_fw_puts(const char *s) { (void)semihost_call(SH_SYS_WRITE0, s); }

void vsafe_fw_put_u32(uint32_t v)
{
    char buf[11];
    unsigned i = sizeof buf - 1u;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    vsafe_fw_puts(buf + i);
}

void vsafe_fw_put_hex(uint32_t v, unsigned digits)
{
    char buf[9];
    if (digits == 0u || digits > 8u) {
        digits = 8u;
    }
    for (unsigned i = 0; i < digits; i++) {
        buf[digits - 1u - i] = "0123456789ABCDEF"[(v >> (4u * i)) & 0xFu];
    }
    buf[digits] = '\0';
    vsafe_fw_puts(buf);
}

void vsafe_fw_exit(uint32_t status)
{
    /* SYS_EXIT_EXTENDED: the 32-bit SYS_EXIT carries no status code, this one does. */
    const uint32_t block[2] = {SH_ADP_STOPPED_APPLICATION_EXIT, status > 255u ? 255u : status};
    for (;;) {
        (void)semihost_call(SH_SYS_EXIT_EXTENDED, block);
    }
}
